//! Free areas: the space after each existing partition and before the first one.

use super::list::Context;
use super::size;
use super::{DiskLayout, ExistingPartition};

/// A stretch of free space, optionally right after an existing partition (which may grow
/// into it).
#[derive(Debug, Clone)]
pub struct Area {
    /// List index of the partition the area follows.
    pub after: Option<usize>,
    pub size: u64,
    /// Bytes promised to new partitions by the current allocation.
    pub allocated: u64,
}

/// `v` rounded up to a multiple of `g`, saturating at `u64::MAX` as v262 does.
pub fn round_up(v: u64, g: u64) -> u64 {
    v.div_ceil(g).saturating_mul(g)
}

/// `v` rounded down to a multiple of `g`.
pub fn round_down(v: u64, g: u64) -> u64 {
    v / g * g
}

/// Where entry `e` of `entries` ends, and where the free space after it ends: at the next
/// entry that starts at or after its end, or at the end of the usable range (bytes).
fn end_and_next_start(
    disk: &DiskLayout,
    entries: &[&ExistingPartition],
    e: &ExistingPartition,
) -> (u64, u64) {
    let ss = disk.sector_size;
    let end = (e.last_lba + 1) * ss;
    let next = entries
        .iter()
        .map(|q| q.first_lba * ss)
        .filter(|&start| start >= end)
        .min()
        .unwrap_or((disk.last_usable_lba + 1) * ss);
    (end, next)
}

/// The free space after entry `e` of `entries` as v262 counts it: from its end rounded up to
/// the grain to the next entry or the end of the usable range rounded down to the grain.
pub fn current_padding(
    disk: &DiskLayout,
    entries: &[&ExistingPartition],
    e: &ExistingPartition,
    grain: u64,
) -> u64 {
    let (end, next) = end_and_next_start(disk, entries, e);
    round_down(next, grain).saturating_sub(round_up(end, grain))
}

/// The free space physically after entry `e` of `entries`, to the byte: up to the next entry
/// or the end of the usable range.
pub fn free_after(disk: &DiskLayout, entries: &[&ExistingPartition], e: &ExistingPartition) -> u64 {
    let (end, next) = end_and_next_start(disk, entries, e);
    next.saturating_sub(end)
}

impl Context<'_> {
    /// Where the area ends, measured from the preceding partition's current end.
    pub fn area_current_end(&self, a: usize) -> u64 {
        let area = &self.areas[a];
        let free = area.size.saturating_sub(area.allocated);
        match area.after.and_then(|p| self.parts[p].current.as_ref()) {
            Some(c) => round_up(c.offset + c.size, self.grain).saturating_add(free),
            None => free,
        }
    }

    /// Where the preceding partition ends once it has its minimum size and padding.
    pub fn area_min_end(&self, a: usize) -> u64 {
        match self.areas[a].after {
            Some(p) => {
                let offset = self.parts[p].offset.unwrap_or(0);
                round_up(
                    offset.saturating_add(size::min_size_with_padding(self, p)),
                    self.grain,
                )
            }
            None => 0,
        }
    }

    /// The end of the area in bytes: the start of whatever follows it on disk.
    pub fn area_end(&self, a: usize) -> u64 {
        let area = &self.areas[a];
        let start = match area.after.and_then(|p| self.parts[p].current.as_ref()) {
            Some(c) => round_up(c.offset + c.size, self.grain),
            None => self.start,
        };
        start.saturating_add(area.size)
    }

    /// Space in the area that new partitions may use.
    pub fn area_available(&self, a: usize) -> u64 {
        self.area_current_end(a)
            .saturating_sub(self.area_min_end(a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn entry(slot: usize, first: u64, last: u64) -> ExistingPartition {
        ExistingPartition {
            slot,
            type_uuid: Uuid::from_u128(1),
            uuid: Uuid::from_u128(2),
            first_lba: first,
            last_lba: last,
            attributes: 0,
            label: String::new(),
        }
    }

    #[test]
    fn rounding_saturates() {
        assert_eq!(round_up(1, 4096), 4096);
        assert_eq!(round_up(4096, 4096), 4096);
        assert_eq!(round_up(u64::MAX - 5, 4096), u64::MAX);
        assert_eq!(round_down(8191, 4096), 4096);
    }

    #[test]
    fn padding_runs_to_the_next_start_on_the_grain() {
        let disk = DiskLayout {
            sector_size: 512,
            disk_size: 64 << 20,
            first_usable_lba: 34,
            last_usable_lba: 131038,
            entry_count: 128,
            disk_guid: Some(Uuid::from_u128(3)),
            partitions: vec![entry(1, 40, 2000), entry(0, 4100, 5000)],
        };
        let all: Vec<&ExistingPartition> = disk.partitions.iter().collect();
        // End of the first at 2001*512 = 1024512, rounded up to 1028096; next start
        // 4100*512 = 2099200, rounded down to 2097152.
        assert_eq!(current_padding(&disk, &all, all[0], 4096), 1069056);
        // The last one runs to the end of the usable range: 131039*512 rounded down.
        let to_end = round_down(131039 * 512, 4096) - round_up(5001 * 512, 4096);
        assert_eq!(current_padding(&disk, &all, all[1], 4096), to_end);
        // Without the second entry (deleted by a factory reset) the first runs to the end.
        assert_eq!(
            current_padding(&disk, &all[..1], all[0], 4096),
            round_down(131039 * 512, 4096) - round_up(2001 * 512, 4096)
        );
        // An entry ending right before the next leaves nothing.
        let tight = DiskLayout {
            partitions: vec![entry(0, 40, 99), entry(1, 100, 200)],
            ..disk
        };
        let all: Vec<&ExistingPartition> = tight.partitions.iter().collect();
        assert_eq!(current_padding(&tight, &all, all[0], 4096), 0);
        assert_eq!(free_after(&tight, &all, all[0]), 0);
    }

    #[test]
    fn free_space_after_counts_every_byte() {
        // A 1 MiB grain: v262 sees no free space after either entry.
        let disk = DiskLayout {
            sector_size: 512,
            disk_size: 64 << 20,
            first_usable_lba: 2048,
            last_usable_lba: 131038,
            entry_count: 128,
            disk_guid: Some(Uuid::from_u128(3)),
            partitions: vec![entry(0, 2048, 4103), entry(1, 4112, 131038)],
        };
        let all: Vec<&ExistingPartition> = disk.partitions.iter().collect();
        assert_eq!(current_padding(&disk, &all, all[0], 1 << 20), 0);
        assert_eq!(free_after(&disk, &all, all[0]), 8 * 512);
        // The last ends at the last usable LBA.
        assert_eq!(current_padding(&disk, &all, all[1], 1 << 20), 0);
        assert_eq!(free_after(&disk, &all, all[1]), 0);
    }
}
