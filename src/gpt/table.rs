//! The partition table: everything needed to write both GPT copies, and its consistency rules.

use uuid::Uuid;

use super::entry::Entry;
use super::header::{self, Header, MIN_ENTRY_SIZE};
use super::layout::{self, Region};
use crate::error::{Error, ErrorKind, Result};

/// Entries in a new table, as libfdisk makes it.
const NEW_ENTRY_COUNT: u32 = 128;
/// Disks larger than this get a first usable LBA of 1 MiB in a new table (libfdisk).
const SMALL_DISK_BYTES: u64 = 4 << 20;
/// The alignment libfdisk gives the first usable LBA of a new table on larger disks.
const NEW_FIRST_USABLE_BYTES: u64 = 1 << 20;
/// At most this many problems are spelled out in one error.
const MAX_REPORTED: usize = 8;

/// A GUID partition table: both copies are written from it.
///
/// The backup header is always on the last LBA of the disk (a table read from a grown disk is
/// relocated when it is loaded), so the disk has `alternate_lba + 1` sectors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// Logical sector size in bytes: 512 or 4096.
    pub sector_size: u32,
    /// The disk GUID, in textual order (possibly nil: the caller decides what that means).
    pub disk_guid: Uuid,
    /// First sector partitions may use.
    pub first_usable_lba: u64,
    /// Last sector partitions may use (inclusive).
    pub last_usable_lba: u64,
    /// Bytes per entry: a multiple of 128.
    pub entry_size: u32,
    /// Where the primary entry array starts.
    pub entries_lba: u64,
    /// Where the backup header is: the last LBA of the disk.
    pub alternate_lba: u64,
    /// Where the backup entry array starts.
    pub backup_entries_lba: u64,
    /// Header bytes after the 92 defined by UEFI (header size - 92), kept verbatim.
    pub header_extra: Vec<u8>,
    /// One entry per slot (the header's entry count); partition number = index + 1.
    pub entries: Vec<Entry>,
}

impl Table {
    /// A new, empty table as libfdisk makes it (core.md §7.1): 128 entries of 128 bytes at
    /// LBA 2, first usable `max(2+E, 1 MiB/SS if the disk is larger than 4 MiB)`, last usable
    /// `N-2-E`, backup entries at `N-1-E` and backup header at `N-1`, where N is the number of
    /// sectors and E the sectors of the entry array.
    pub fn new(disk_guid: Uuid, disk_bytes: u64, sector_size: u32) -> Result<Table> {
        check_sector_size(sector_size)?;
        let ss = u64::from(sector_size);
        let disk_sectors = disk_bytes / ss;
        let array_sectors = layout::sectors_for(
            u64::from(NEW_ENTRY_COUNT) * u64::from(MIN_ENTRY_SIZE),
            sector_size,
        );
        let aligned = if disk_bytes > SMALL_DISK_BYTES {
            NEW_FIRST_USABLE_BYTES / ss
        } else {
            0
        };
        let first_usable_lba = (2 + array_sectors).max(aligned);
        let too_small = || {
            Error::new(
                ErrorKind::NoSpace,
                format!(
                    "a disk of {disk_bytes} bytes is too small for a GPT with {NEW_ENTRY_COUNT} \
                     entries and {sector_size}-byte sectors"
                ),
            )
        };
        let last_usable_lba = disk_sectors
            .checked_sub(2 + array_sectors)
            .filter(|&last| last >= first_usable_lba)
            .ok_or_else(too_small)?;
        Ok(Table {
            sector_size,
            disk_guid,
            first_usable_lba,
            last_usable_lba,
            entry_size: MIN_ENTRY_SIZE,
            entries_lba: 2,
            alternate_lba: disk_sectors - 1,
            backup_entries_lba: disk_sectors - 1 - array_sectors,
            header_extra: Vec::new(),
            entries: vec![Entry::default(); NEW_ENTRY_COUNT as usize],
        })
    }

    /// The number of sectors of the disk: the backup header is on its last one.
    pub fn disk_sectors(&self) -> u64 {
        self.alternate_lba.saturating_add(1)
    }

    /// The size of one entry array in bytes.
    pub fn entry_array_bytes(&self) -> u64 {
        (self.entries.len() as u64).saturating_mul(u64::from(self.entry_size))
    }

    /// The sectors one entry array occupies.
    pub fn entry_array_sectors(&self) -> u64 {
        layout::sectors_for(self.entry_array_bytes(), self.sector_size)
    }

    /// Moves the backup to the end of a disk of `disk_sectors` sectors, as libfdisk does on a
    /// grown disk: backup header at `N-1`, backup entries at `N-1-E`, last usable `N-2-E`
    /// (whatever it was before, measured with sfdisk 2.42 `--relocate gpt-bak-std`).
    pub fn relocate_backup(&mut self, disk_sectors: u64) -> Result<()> {
        let array_sectors = self.entry_array_sectors();
        let backup_entries_lba = disk_sectors
            .checked_sub(1 + array_sectors)
            .filter(|&lba| lba > 0)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Corrupt,
                    format!(
                        "a disk of {disk_sectors} sectors cannot hold a backup GPT with \
                         {array_sectors} sectors of entries"
                    ),
                )
            })?;
        self.alternate_lba = disk_sectors - 1;
        self.backup_entries_lba = backup_entries_lba;
        self.last_usable_lba = backup_entries_lba - 1;
        Ok(())
    }

    /// Checks everything a writer relies on: the sector size, the entry geometry, that the
    /// MBR, both headers, both entry arrays and the usable range are disjoint, and that the
    /// used entries lie inside the usable range, do not overlap, and have distinct non-nil
    /// unique GUIDs. Entry problems name the partition numbers; all are
    /// [`ErrorKind::Corrupt`].
    pub fn validate(&self) -> Result<()> {
        self.validate_layout()
            .and_then(|()| self.validate_entries())
            .map_err(|e| e.context("GPT"))
    }

    fn validate_layout(&self) -> Result<()> {
        check_sector_size(self.sector_size)?;
        let count = u32::try_from(self.entries.len()).map_err(|_| {
            Error::new(
                ErrorKind::Corrupt,
                format!("{} entries do not fit a GPT header", self.entries.len()),
            )
        })?;
        header::check_entry_geometry(count, self.entry_size)?;
        let max_extra = self.sector_size as usize - header::MIN_SIZE;
        if self.header_extra.len() > max_extra {
            return Err(Error::new(
                ErrorKind::Corrupt,
                format!(
                    "header size {} is larger than the {}-byte sector",
                    header::MIN_SIZE + self.header_extra.len(),
                    self.sector_size
                ),
            ));
        }
        let max_tail = (self.entry_size - MIN_ENTRY_SIZE) as usize;
        if let Some(i) = self.entries.iter().position(|e| e.tail.len() > max_tail) {
            return Err(Error::new(
                ErrorKind::Corrupt,
                format!(
                    "entry {} has {} extra bytes, more than the {}-byte entry size allows",
                    i + 1,
                    self.entries[i].tail.len(),
                    self.entry_size
                ),
            ));
        }
        // Offsets in bytes must fit in 64 bits.
        let disk_sectors = self.disk_sectors();
        if disk_sectors
            .checked_mul(u64::from(self.sector_size))
            .is_none()
        {
            return Err(Error::new(
                ErrorKind::Corrupt,
                format!("backup header LBA {} is out of range", self.alternate_lba),
            ));
        }
        let array_sectors = self.entry_array_sectors();
        layout::check(
            &[
                Region::sector("protective MBR", 0),
                Region::sector("primary header", 1),
                Region::run("primary entry array", self.entries_lba, array_sectors),
                Region::inclusive("usable range", self.first_usable_lba, self.last_usable_lba)?,
                Region::run("backup entry array", self.backup_entries_lba, array_sectors),
                Region::sector("backup header", self.alternate_lba),
            ],
            disk_sectors,
        )
    }

    fn validate_entries(&self) -> Result<()> {
        let mut problems = Vec::new();
        let used = || self.entries.iter().enumerate().filter(|(_, e)| e.is_used());
        let mut in_range = Vec::with_capacity(used().count());
        for (i, e) in used() {
            if e.first_lba > e.last_lba {
                problems.push(format!(
                    "partition {} ends before it starts (first LBA {}, last LBA {})",
                    i + 1,
                    e.first_lba,
                    e.last_lba
                ));
            } else if e.first_lba < self.first_usable_lba || e.last_lba > self.last_usable_lba {
                problems.push(format!(
                    "partition {} (LBA {}..={}) lies outside the usable range (LBA {}..={})",
                    i + 1,
                    e.first_lba,
                    e.last_lba,
                    self.first_usable_lba,
                    self.last_usable_lba
                ));
            } else {
                in_range.push((i, e));
            }
        }
        // Sorted by start, a partition overlaps a later one exactly when that one starts
        // before the furthest end seen so far.
        in_range.sort_by_key(|&(i, e)| (e.first_lba, i));
        let mut furthest: Option<(usize, &Entry)> = None;
        for &(i, e) in &in_range {
            if let Some((j, f)) = furthest {
                if e.first_lba <= f.last_lba {
                    problems.push(format!(
                        "partitions {} (LBA {}..={}) and {} (LBA {}..={}) overlap",
                        j.min(i) + 1,
                        self.entries[j.min(i)].first_lba,
                        self.entries[j.min(i)].last_lba,
                        j.max(i) + 1,
                        self.entries[j.max(i)].first_lba,
                        self.entries[j.max(i)].last_lba,
                    ));
                }
                if e.last_lba <= f.last_lba {
                    continue;
                }
            }
            furthest = Some((i, e));
        }
        let mut guids: Vec<(Uuid, usize)> = used()
            .filter(|(_, e)| !e.unique_guid.is_nil())
            .map(|(i, e)| (e.unique_guid, i))
            .collect();
        guids.sort();
        for pair in guids.windows(2) {
            if let [(a, i), (b, j)] = pair
                && a == b
            {
                problems.push(format!(
                    "partitions {} and {} have the same unique GUID {a}",
                    i + 1,
                    j + 1
                ));
            }
        }
        if problems.is_empty() {
            return Ok(());
        }
        let total = problems.len();
        problems.truncate(MAX_REPORTED);
        let mut message = problems.join("; ");
        if total > MAX_REPORTED {
            message.push_str(&format!("; and {} more problems", total - MAX_REPORTED));
        }
        Err(Error::new(ErrorKind::Corrupt, message))
    }

    /// The primary and backup headers for this table, with `entries_crc` filled in.
    pub(crate) fn headers(&self, entries_crc: u32) -> (Header, Header) {
        let primary = Header {
            my_lba: 1,
            alternate_lba: self.alternate_lba,
            first_usable_lba: self.first_usable_lba,
            last_usable_lba: self.last_usable_lba,
            disk_guid: self.disk_guid,
            entries_lba: self.entries_lba,
            entry_count: self.entries.len() as u32,
            entry_size: self.entry_size,
            entries_crc,
            extra: self.header_extra.clone(),
        };
        let backup = Header {
            my_lba: self.alternate_lba,
            alternate_lba: 1,
            entries_lba: self.backup_entries_lba,
            ..primary.clone()
        };
        (primary, backup)
    }
}

/// Only 512- and 4096-byte logical sectors are supported.
pub(crate) fn check_sector_size(sector_size: u32) -> Result<()> {
    match sector_size {
        512 | 1024 | 2048 | 4096 => Ok(()),
        _ => Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "sector size {sector_size} is not supported (512, 1024, 2048 or 4096, as \
                 --sector-size= accepts)"
            ),
        )),
    }
}
