//! What to erase before the new table is written, and where. Pure.
//!
//! "Wiping" writes zeros over every place where a file system, RAID, LUKS, LVM, swap or
//! partition-table signature can sit relative to the start or the end of a range, so that no
//! prober (libblkid, wipefs) finds an old signature in space handed to a partition. systemd-
//! repart asks libblkid which magic bytes are there and erases only those; we have no libblkid,
//! so we zero the regions where any known signature can be:
//! * the first 8 MiB: everything at a fixed offset from the start (ext*, xfs, btrfs' primary
//!   superblock at 64 KiB, ISO 9660/UDF descriptors, LVM, MD 1.1/1.2, swap at page size - 10,
//!   LUKS2 and its secondary headers up to 4 MiB, ZFS labels 0 and 1);
//! * the last 2 MiB: everything at a fixed offset from the end (MD 0.90/1.0, ZFS labels 2
//!   and 3, UDF anchors at N-1 and N-257 sectors, a backup GPT, HFS+ and NTFS backups);
//! * 4 KiB at each btrfs superblock mirror (64 MiB, 256 GiB, 1 PiB).
//!
//! "Discarding" (BLKDISCARD, or punching holes in an image file) frees the blocks of new
//! partitions and of the gaps after them, as systemd-repart does, and also the ranges of
//! partitions deleted by a factory reset, so their data cannot reappear in a neighbour that
//! grows over them.
//!
//! Nothing here may touch a partition that exists before and after the run: every range is
//! cut against those extents, and [`check_protected`] verifies it before anything is written.

use crate::plan::{Activity, Plan};

/// Bytes zeroed at the start of a wiped range.
pub const WIPE_HEAD: u64 = 8 << 20;
/// Bytes zeroed at the end of a wiped range.
pub const WIPE_TAIL: u64 = 2 << 20;
/// Offsets of the btrfs superblock mirrors after the primary at 64 KiB.
const BTRFS_MIRRORS: [u64; 3] = [64 << 20, 256 << 30, 1 << 50];
/// The size of a btrfs superblock.
const BTRFS_SUPERBLOCK: u64 = 4096;

/// A byte range of the disk: `[offset, offset + len)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub offset: u64,
    pub len: u64,
}

impl Range {
    pub fn new(offset: u64, len: u64) -> Range {
        Range { offset, len }
    }

    pub fn end(&self) -> u64 {
        self.offset.saturating_add(self.len)
    }

    /// Whether the two ranges share at least one byte.
    pub fn overlaps(&self, other: &Range) -> bool {
        self.offset < other.end() && other.offset < self.end()
    }

    /// The parts of `self` outside every range of `cut`. Only a cut that overlaps a part
    /// splits anything: a range is cut against every partition on the disk, and building
    /// new lists for all of them (100 partitions, 20 new ones: 5 million instructions) is
    /// what this once did.
    fn minus(self, cut: &[Range]) -> Vec<Range> {
        let mut parts = vec![self];
        let mut split = Vec::new();
        for c in cut {
            if !parts.iter().any(|p| p.overlaps(c)) {
                continue;
            }
            split.clear();
            for p in &parts {
                if !p.overlaps(c) {
                    split.push(*p);
                    continue;
                }
                if p.offset < c.offset {
                    split.push(Range::new(p.offset, c.offset - p.offset));
                }
                if c.end() < p.end() {
                    split.push(Range::new(c.end(), p.end() - c.end()));
                }
            }
            std::mem::swap(&mut parts, &mut split);
        }
        parts.retain(|p| p.len > 0);
        parts
    }
}

/// How a discard failing with EBUSY is treated (systemd-repart's rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscardKind {
    /// A partition's range: EBUSY (kernel bug 211167 on disks with mounted partitions) is
    /// logged and the run goes on.
    Partition,
    /// A gap between partitions: EBUSY is an error.
    Gap,
}

/// The range a step erases, named in the log as v262 names it: partitions by their 0-based
/// slot, as the table's PART column shows them ("future partition 1", "gap after partition
/// 1"). v262 has no words for the ranges only we erase (`Deleted`, `AddedTo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    /// The whole disk, which gets a new table.
    WholeDisk,
    /// A new partition.
    Future(usize),
    /// The free space after a new partition, up to the next one or the end.
    GapAfter(usize),
    /// The free space before the first partition.
    GapAtStart,
    /// A partition a factory reset deletes.
    Deleted(usize),
    /// The space an existing partition grows into.
    AddedTo(usize),
}

impl Region {
    /// How EBUSY from discarding it is treated.
    pub fn discard_kind(self) -> DiscardKind {
        match self {
            Region::Future(_) | Region::Deleted(_) | Region::AddedTo(_) => DiscardKind::Partition,
            Region::WholeDisk | Region::GapAfter(_) | Region::GapAtStart => DiscardKind::Gap,
        }
    }
}

impl std::fmt::Display for Region {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Region::WholeDisk => f.write_str("block device"),
            Region::Future(slot) => write!(f, "future partition {slot}"),
            Region::GapAfter(slot) => write!(f, "gap after partition {slot}"),
            Region::GapAtStart => f.write_str("gap at the start of the disk"),
            Region::Deleted(slot) => write!(f, "deleted partition {slot}"),
            Region::AddedTo(slot) => write!(f, "space added to partition {slot}"),
        }
    }
}

/// One step of erasing, in the order they are done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Erase {
    /// Write zeros over `range`.
    Zero { what: Region, range: Range },
    /// Discard `range`.
    Discard { what: Region, range: Range },
}

/// Everything to erase for `plan` on a disk of `disk_bytes`: zeros first, then discards.
/// `fresh_file` is a file just created (`--empty=create`): it holds only zeros, so nothing is
/// erased. Without `discard`, nothing is discarded.
pub fn erase_list(plan: &Plan, disk_bytes: u64, discard: bool, fresh_file: bool) -> Vec<Erase> {
    if fresh_file {
        return Vec::new();
    }
    let protected = protected_extents(plan);
    let mut zero = Vec::new();
    let mut free = Vec::new();
    let ss = plan.sector_size;
    let written: Vec<_> = plan
        .partitions
        .iter()
        .filter(|p| !p.dropped && p.slot.is_some() && (p.existing || !p.deferred))
        .collect();
    if plan.new_table {
        let disk = Range::new(0, disk_bytes);
        zero.extend(
            signature_regions(disk)
                .into_iter()
                .map(|r| (Region::WholeDisk, r)),
        );
        free.push((Region::WholeDisk, disk));
    }
    for deleted in &plan.deleted {
        let what = Region::Deleted(deleted.slot);
        let range = Range::new(deleted.offset, deleted.size);
        zero.extend(signature_regions(range).into_iter().map(|r| (what, r)));
        free.push((what, range));
    }
    for p in &written {
        let Some(slot) = p.slot else { continue };
        let range = Range::new(p.offset, p.new_size);
        if p.activity == Activity::Create {
            let what = Region::Future(slot);
            zero.extend(signature_regions(range).into_iter().map(|r| (what, r)));
            if !plan.new_table {
                free.push((what, range));
                let next = written
                    .iter()
                    .map(|q| q.offset)
                    .filter(|&o| o >= range.end())
                    .min()
                    .unwrap_or((plan.last_usable_lba + 1) * ss);
                if next > range.end() {
                    let gap = Range::new(range.end(), next - range.end());
                    free.push((Region::GapAfter(slot), gap));
                }
            }
        } else if p.activity == Activity::Resize && p.existing && !p.deferred {
            // Only the tail can hold a stale signature a prober would attribute to the grown
            // partition; the cut against its old extent keeps its own bytes out.
            let what = Region::AddedTo(slot);
            zero.extend(signature_regions(range).into_iter().map(|r| (what, r)));
        }
    }
    if !plan.new_table && plan.changed {
        let start = plan.first_usable_lba * ss;
        if let Some(first) = written.iter().map(|p| p.offset).min() {
            if first > start {
                free.push((Region::GapAtStart, Range::new(start, first - start)));
            }
        }
    }
    let mut list = Vec::new();
    for (what, range) in zero {
        for r in range.minus(&protected) {
            list.push(Erase::Zero { what, range: r });
        }
    }
    if discard {
        for (what, range) in free {
            for r in range.minus(&protected) {
                list.push(Erase::Discard { what, range: r });
            }
        }
    }
    list
}

/// The extents that exist before and after the run (foreign, kept, grown, deferred
/// partitions at their old size): never written.
pub fn protected_extents(plan: &Plan) -> Vec<Range> {
    plan.partitions
        .iter()
        .filter(|p| p.existing && p.old_size > 0)
        .map(|p| Range::new(p.offset, p.old_size))
        .collect()
}

/// Where signatures can sit in `range`: its head, its tail and the btrfs mirrors inside it.
pub fn signature_regions(range: Range) -> Vec<Range> {
    let mut regions = vec![Range::new(range.offset, range.len.min(WIPE_HEAD))];
    let tail = range.len.min(WIPE_TAIL);
    if range.len > WIPE_HEAD {
        let start = range.end() - tail;
        let start = start.max(range.offset + WIPE_HEAD);
        regions.push(Range::new(start, range.end() - start));
    }
    for mirror in BTRFS_MIRRORS {
        let at = Range::new(range.offset.saturating_add(mirror), BTRFS_SUPERBLOCK);
        if at.end() <= range.end() && !regions.iter().any(|r| r.overlaps(&at)) {
            regions.push(at);
        }
    }
    regions.retain(|r| r.len > 0);
    regions
}

/// `Some(range)` if an erase step would touch a protected extent: a bug, checked before
/// anything is written.
pub fn check_protected(list: &[Erase], protected: &[Range]) -> Option<Range> {
    list.iter()
        .map(|e| match e {
            Erase::Zero { range, .. } | Erase::Discard { range, .. } => *range,
        })
        .find(|r| protected.iter().any(|p| p.overlaps(r)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_cover_head_tail_and_mirrors() {
        let r = signature_regions(Range::new(1 << 20, 1 << 30));
        assert_eq!(r[0], Range::new(1 << 20, WIPE_HEAD));
        assert_eq!(
            r[1],
            Range::new((1 << 20) + (1 << 30) - WIPE_TAIL, WIPE_TAIL)
        );
        assert_eq!(r[2], Range::new((1 << 20) + (64 << 20), 4096));
        assert_eq!(r.len(), 3);
    }

    #[test]
    fn small_ranges_are_zeroed_whole_once() {
        assert_eq!(
            signature_regions(Range::new(4096, 1 << 20)),
            vec![Range::new(4096, 1 << 20)]
        );
        let r = signature_regions(Range::new(0, WIPE_HEAD + 4096));
        assert_eq!(
            r,
            vec![Range::new(0, WIPE_HEAD), Range::new(WIPE_HEAD, 4096)]
        );
    }

    #[test]
    fn cutting_keeps_only_the_outside() {
        let r = Range::new(0, 100);
        assert_eq!(
            r.minus(&[Range::new(10, 20), Range::new(50, 60)]),
            vec![Range::new(0, 10), Range::new(30, 20)]
        );
        assert_eq!(r.minus(&[Range::new(0, 100)]), vec![]);
        assert_eq!(r.minus(&[Range::new(100, 5)]), vec![r]);
    }
}
