//! Serializing a table into the five writes that put it on disk.

use std::rc::Rc;

use super::entry;
use super::mbr;
use super::table::Table;
use crate::error::Result;

/// One write: `bytes` at byte `offset` of the disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece {
    /// What the bytes are, for logs and errors ("backup header", ...).
    pub what: &'static str,
    /// Where they go, in bytes from the start of the disk.
    pub offset: u64,
    /// The bytes to write (shared: both entry arrays are the same bytes).
    pub bytes: Rc<Vec<u8>>,
}

impl Table {
    /// The five writes of this table in UEFI order: backup entry array, backup header,
    /// primary entry array, primary header, protective MBR. Write and sync them one after the
    /// other, in this order, so that a crash leaves at least one valid copy.
    ///
    /// * The entry arrays are exactly `entries × entry_size` bytes, as libfdisk writes them:
    ///   when that is not a whole number of sectors, the rest of the last sector is left alone.
    /// * Each header is one whole sector: the header, then zeros.
    /// * The MBR is one whole sector (LBA 0). Given the current LBA 0 in `old_lba0`, it keeps
    ///   what libfdisk 2.42 keeps on an existing label: bytes 0..446 (boot code, disk
    ///   signature) and, on 4096-byte sectors, bytes 512..4096. Pass `None` for a new label on
    ///   a wiped disk (all zero but the protective record).
    ///
    /// Fails, writing nothing, if [`Table::validate`] fails.
    pub fn serialize(&self, old_lba0: Option<&[u8]>) -> Result<[Piece; 5]> {
        self.validate()?;
        Ok(self.pieces(old_lba0))
    }

    /// The pieces of a table that passed [`Table::validate`]; on other tables the offsets may
    /// wrap (tests use this to put invalid tables on disk).
    pub(crate) fn pieces(&self, old_lba0: Option<&[u8]>) -> [Piece; 5] {
        let ss = u64::from(self.sector_size);
        let array = Rc::new(entry::encode_array(&self.entries, self.entry_size as usize));
        let (primary, backup) = self.headers(crc32fast::hash(&array));
        let sector = self.sector_size as usize;
        // validate() checked that (alternate_lba + 1) * ss fits in 64 bits, and every other
        // region lies before the backup header.
        [
            Piece {
                what: "backup entry array",
                offset: self.backup_entries_lba.wrapping_mul(ss),
                bytes: Rc::clone(&array),
            },
            Piece {
                what: "backup header",
                offset: self.alternate_lba.wrapping_mul(ss),
                bytes: Rc::new(backup.encode(sector)),
            },
            Piece {
                what: "primary entry array",
                offset: self.entries_lba.wrapping_mul(ss),
                bytes: array,
            },
            Piece {
                what: "primary header",
                offset: ss,
                bytes: Rc::new(primary.encode(sector)),
            },
            Piece {
                what: "protective MBR",
                offset: 0,
                bytes: Rc::new(mbr::build(old_lba0, sector, self.disk_sectors())),
            },
        ]
    }
}
