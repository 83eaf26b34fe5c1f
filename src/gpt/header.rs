//! The GPT header (UEFI layout): parse and validate one copy, encode one copy.

use uuid::Uuid;

use super::layout::{self, MAX_ENTRY_ARRAY_BYTES, Region};
use crate::error::{Error, ErrorKind, Result};

/// "EFI PART".
pub(crate) const SIGNATURE: [u8; 8] = *b"EFI PART";
/// Revision 1.0, the only one there is.
const REVISION: u32 = 0x0001_0000;
/// The size of the fields defined by UEFI; larger headers carry reserved bytes after them.
pub(crate) const MIN_SIZE: usize = 92;
/// Where the header CRC lives; it is zero while the CRC is computed.
const CRC_FIELD: core::ops::Range<usize> = 16..20;
/// Entries are at least this large, and their size is a multiple of it.
pub(crate) const MIN_ENTRY_SIZE: u32 = 128;

/// One copy of the header, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub my_lba: u64,
    pub alternate_lba: u64,
    pub first_usable_lba: u64,
    pub last_usable_lba: u64,
    pub disk_guid: Uuid,
    pub entries_lba: u64,
    pub entry_count: u32,
    pub entry_size: u32,
    pub entries_crc: u32,
    /// Bytes 92..header_size (reserved by UEFI), kept so the CRC and bytes round-trip.
    pub extra: Vec<u8>,
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut v = [0u8; 4];
    if let Some(src) = b.get(at..at + 4) {
        v.copy_from_slice(src);
    }
    u32::from_le_bytes(v)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut v = [0u8; 8];
    if let Some(src) = b.get(at..at + 8) {
        v.copy_from_slice(src);
    }
    u64::from_le_bytes(v)
}

fn corrupt(message: String) -> Error {
    Error::new(ErrorKind::Corrupt, message)
}

/// The CRC32 of the first `size` bytes of `sector` with the CRC field taken as zero.
fn header_crc(sector: &[u8], size: usize) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&sector[..CRC_FIELD.start]);
    hasher.update(&[0; 4]);
    hasher.update(&sector[CRC_FIELD.end..size]);
    hasher.finalize()
}

impl Header {
    /// Size of the entry array in bytes (at most [`MAX_ENTRY_ARRAY_BYTES`] once parsed).
    pub fn entry_array_bytes(&self) -> u64 {
        u64::from(self.entry_count) * u64::from(self.entry_size)
    }

    /// Parses and checks the header in `sector`, read from `lba` of a disk of `disk_sectors`
    /// sectors of `sector_size` bytes. A missing signature is [`ErrorKind::NoTable`]; every
    /// other failed check is [`ErrorKind::Corrupt`]. Errors are prefixed with the LBA.
    pub fn parse(sector: &[u8], lba: u64, disk_sectors: u64, sector_size: u32) -> Result<Header> {
        Header::parse_unprefixed(sector, lba, disk_sectors, sector_size)
            .map_err(|e| e.context(format!("GPT header at LBA {lba}")))
    }

    fn parse_unprefixed(
        sector: &[u8],
        lba: u64,
        disk_sectors: u64,
        sector_size: u32,
    ) -> Result<Header> {
        if sector.get(..8) != Some(&SIGNATURE[..]) {
            return Err(Error::new(ErrorKind::NoTable, "no GPT signature"));
        }
        let revision = u32_at(sector, 8);
        if revision != REVISION {
            return Err(corrupt(format!(
                "unsupported revision {revision:#010x} (expected {REVISION:#010x})"
            )));
        }
        let size = u32_at(sector, 12);
        let limit = sector.len().min(sector_size as usize);
        let size_ok = usize::try_from(size).is_ok_and(|s| (MIN_SIZE..=limit).contains(&s));
        if !size_ok {
            return Err(corrupt(format!(
                "header size {size} is outside {MIN_SIZE}..={limit}"
            )));
        }
        let size = size as usize;
        let stored = u32_at(sector, CRC_FIELD.start);
        let computed = header_crc(sector, size);
        if stored != computed {
            return Err(corrupt(format!(
                "CRC mismatch (stored {stored:#010x}, computed {computed:#010x})"
            )));
        }
        let mut guid = [0u8; 16];
        guid.copy_from_slice(&sector[56..72]);
        let header = Header {
            my_lba: u64_at(sector, 24),
            alternate_lba: u64_at(sector, 32),
            first_usable_lba: u64_at(sector, 40),
            last_usable_lba: u64_at(sector, 48),
            disk_guid: Uuid::from_bytes_le(guid),
            entries_lba: u64_at(sector, 72),
            entry_count: u32_at(sector, 80),
            entry_size: u32_at(sector, 84),
            entries_crc: u32_at(sector, 88),
            extra: sector[MIN_SIZE..size].to_vec(),
        };
        header.check(lba, disk_sectors, sector_size)?;
        Ok(header)
    }

    fn check(&self, lba: u64, disk_sectors: u64, sector_size: u32) -> Result<()> {
        if self.my_lba != lba {
            return Err(corrupt(format!(
                "my LBA is {} (expected {lba}, where the header was found)",
                self.my_lba
            )));
        }
        let last_lba = disk_sectors.saturating_sub(1);
        if self.alternate_lba >= disk_sectors {
            return Err(corrupt(format!(
                "alternate LBA {} is beyond the end of the disk (last LBA {last_lba})",
                self.alternate_lba
            )));
        }
        if self.alternate_lba == self.my_lba {
            return Err(corrupt(format!(
                "alternate LBA {} points at the header itself",
                self.alternate_lba
            )));
        }
        check_entry_geometry(self.entry_count, self.entry_size)?;
        let array_sectors = layout::sectors_for(self.entry_array_bytes(), sector_size);
        layout::check(
            &[
                Region::sector("protective MBR", 0),
                Region::sector("header", self.my_lba),
                Region::sector("alternate header", self.alternate_lba),
                Region::run("entry array", self.entries_lba, array_sectors),
                Region::inclusive("usable range", self.first_usable_lba, self.last_usable_lba)?,
            ],
            disk_sectors,
        )
    }

    /// The header sector (`sector_size` bytes, zero after the header) with its CRC.
    pub fn encode(&self, sector_size: usize) -> Vec<u8> {
        let size = MIN_SIZE + self.extra.len();
        let mut sector = vec![0u8; sector_size.max(size)];
        sector[..8].copy_from_slice(&SIGNATURE);
        sector[8..12].copy_from_slice(&REVISION.to_le_bytes());
        sector[12..16].copy_from_slice(&(size as u32).to_le_bytes());
        sector[24..32].copy_from_slice(&self.my_lba.to_le_bytes());
        sector[32..40].copy_from_slice(&self.alternate_lba.to_le_bytes());
        sector[40..48].copy_from_slice(&self.first_usable_lba.to_le_bytes());
        sector[48..56].copy_from_slice(&self.last_usable_lba.to_le_bytes());
        sector[56..72].copy_from_slice(&self.disk_guid.to_bytes_le());
        sector[72..80].copy_from_slice(&self.entries_lba.to_le_bytes());
        sector[80..84].copy_from_slice(&self.entry_count.to_le_bytes());
        sector[84..88].copy_from_slice(&self.entry_size.to_le_bytes());
        sector[88..92].copy_from_slice(&self.entries_crc.to_le_bytes());
        sector[MIN_SIZE..size].copy_from_slice(&self.extra);
        let crc = header_crc(&sector, size);
        sector[CRC_FIELD].copy_from_slice(&crc.to_le_bytes());
        sector
    }
}

/// At least one entry; entry size a multiple of 128 and at least 128; the array at most
/// [`MAX_ENTRY_ARRAY_BYTES`].
pub(crate) fn check_entry_geometry(count: u32, size: u32) -> Result<()> {
    // An empty array would have no place on disk to check, and UEFI asks for 16 KiB anyway.
    if count == 0 {
        return Err(corrupt("entry count is 0".into()));
    }
    if size < MIN_ENTRY_SIZE || size % MIN_ENTRY_SIZE != 0 {
        return Err(corrupt(format!(
            "entry size {size} is not a multiple of {MIN_ENTRY_SIZE} of at least {MIN_ENTRY_SIZE}"
        )));
    }
    let bytes = u64::from(count) * u64::from(size);
    if bytes > MAX_ENTRY_ARRAY_BYTES {
        return Err(corrupt(format!(
            "entry array of {count} entries of {size} bytes ({bytes} bytes) is larger than the \
             supported {MAX_ENTRY_ARRAY_BYTES} bytes"
        )));
    }
    Ok(())
}
