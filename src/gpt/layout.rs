//! Where things lie on the disk, in sectors: the regions of a GPT must stay inside the disk
//! and must not overlap each other.

use crate::error::{Error, ErrorKind, Result};

/// The largest entry array accepted, in bytes: 1 MiB, which is 8192 entries of 128 bytes
/// (every partitioning tool writes 16 KiB by default). This bounds what a hostile header can
/// make the parser read and allocate: two arrays plus their decoded entries, a few MiB.
pub const MAX_ENTRY_ARRAY_BYTES: u64 = 1 << 20;

/// A run of sectors `[start, end)` with a name for error messages. The end is 128-bit so
/// that no sector number from a header can overflow it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Region {
    pub what: &'static str,
    pub start: u128,
    pub end: u128,
}

impl Region {
    /// The single sector `lba`.
    pub fn sector(what: &'static str, lba: u64) -> Region {
        Region::run(what, lba, 1)
    }

    /// `count` sectors from `lba`.
    pub fn run(what: &'static str, lba: u64, count: u64) -> Region {
        Region {
            what,
            start: u128::from(lba),
            end: u128::from(lba) + u128::from(count),
        }
    }

    /// The inclusive range `first..=last`; an error when first > last.
    pub fn inclusive(what: &'static str, first: u64, last: u64) -> Result<Region> {
        if first > last {
            return Err(Error::new(
                ErrorKind::Corrupt,
                format!("the {what} is empty: first LBA {first} > last LBA {last}"),
            ));
        }
        Ok(Region {
            what,
            start: u128::from(first),
            end: u128::from(last) + 1,
        })
    }

    fn describe(&self) -> String {
        format!(
            "{} (LBA {}..={})",
            self.what,
            self.start,
            self.end.saturating_sub(1)
        )
    }
}

/// Checks that every non-empty region lies inside a disk of `disk_sectors` sectors and that
/// no two overlap. The list is short (at most six regions), so pairs are simply compared.
pub(crate) fn check(regions: &[Region], disk_sectors: u64) -> Result<()> {
    let used = || regions.iter().filter(|r| r.start < r.end);
    for r in used() {
        if r.end > u128::from(disk_sectors) {
            return Err(Error::new(
                ErrorKind::Corrupt,
                format!(
                    "the {} lies beyond the end of the disk (last LBA {})",
                    r.describe(),
                    disk_sectors.saturating_sub(1)
                ),
            ));
        }
    }
    for (i, a) in used().enumerate() {
        for b in used().skip(i + 1) {
            if a.start < b.end && b.start < a.end {
                return Err(Error::new(
                    ErrorKind::Corrupt,
                    format!("the {} overlaps the {}", a.describe(), b.describe()),
                ));
            }
        }
    }
    Ok(())
}

/// Sectors needed for `bytes` bytes.
pub(crate) fn sectors_for(bytes: u64, sector_size: u32) -> u64 {
    bytes.div_ceil(u64::from(sector_size.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_overlaps_and_overruns() {
        let mbr = Region::sector("protective MBR", 0);
        let array = Region::run("entry array", 2, 32);
        let usable = Region::inclusive("usable range", 34, 99).unwrap();
        check(&[mbr, array, usable], 100).unwrap();
        let err = check(&[mbr, array, usable], 99).unwrap_err();
        assert!(
            err.to_string()
                .contains("usable range (LBA 34..=99) lies beyond"),
            "{err}"
        );
        let usable = Region::inclusive("usable range", 33, 99).unwrap();
        let err = check(&[mbr, array, usable], 100).unwrap_err();
        assert_eq!(
            err.message(),
            "the entry array (LBA 2..=33) overlaps the usable range (LBA 33..=99)"
        );
        // Empty runs occupy nothing.
        let empty = Region::run("entry array", 0, 0);
        check(&[mbr, empty], 1).unwrap();
        let huge = Region::run("entry array", u64::MAX, 2);
        assert!(check(&[huge], u64::MAX).is_err());
        assert!(check(&[Region::sector("backup header", u64::MAX)], u64::MAX).is_err());
        assert!(Region::inclusive("usable range", 5, 4).is_err());
        assert_eq!(sectors_for(7168, 4096), 2);
        assert_eq!(sectors_for(16384, 512), 32);
    }
}
