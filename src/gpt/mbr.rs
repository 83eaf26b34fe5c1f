//! The MBR at LBA 0: recognising what is there, and building the protective MBR.
//!
//! Measured on libfdisk 2.42 (systemd-repart 262) when it rewrites an existing GPT: bytes
//! 0..446 (boot code, disk signature, the two bytes after it) are kept, the four partition
//! records are replaced by one 0xEE record in the first slot, 0x55AA is written, and on
//! 4096-byte sectors the rest of LBA 0 (bytes 512..4096) is kept too. A brand-new libfdisk
//! label keeps only bytes 0..440 and zeroes the rest, but repart wipes and discards the disk
//! before it creates a label, so callers pass no old sector for new tables.

use std::fmt;

/// The boot signature at the end of an MBR.
const SIGNATURE: [u8; 2] = [0x55, 0xAA];
/// Where the four 16-byte partition records start.
const RECORDS: usize = 0x1BE;
/// The partition type of a GPT protective record.
const PROTECTIVE_TYPE: u8 = 0xEE;
/// The bytes of an existing LBA 0 that a rewrite keeps: boot code and disk signature.
const KEPT_PREFIX: usize = RECORDS;
/// The MBR proper; the rest of a larger LBA 0 is kept as it is.
const MBR_LEN: usize = 512;

/// What LBA 0 holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MbrKind {
    /// No 0x55AA boot signature: no MBR at all.
    None,
    /// A GPT protective MBR: a 0xEE record and no other partition.
    Protective,
    /// A hybrid MBR: a 0xEE record next to real MBR partitions. Never rewritten.
    Hybrid,
    /// A plain (DOS) MBR partition table, possibly empty: not a GPT disk.
    Plain,
}

impl fmt::Display for MbrKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MbrKind::None => "no MBR",
            MbrKind::Protective => "a GPT protective MBR",
            MbrKind::Hybrid => "a hybrid MBR (MBR partitions next to the GPT protective one)",
            MbrKind::Plain => "a DOS (MBR) partition table",
        })
    }
}

/// One partition record: (type, size in sectors).
fn record(lba0: &[u8], slot: usize) -> Option<(u8, u32)> {
    let at = RECORDS + 16 * slot;
    let rec = lba0.get(at..at + 16)?;
    let size = u32::from_le_bytes([rec[12], rec[13], rec[14], rec[15]]);
    Some((rec[4], size))
}

/// Classifies LBA 0 (at least its first 512 bytes) as libfdisk does: a 0x55AA sector with a
/// 0xEE record is protective (hybrid if any other record is in use); without 0xEE it is a DOS
/// label, even one without partitions.
pub(crate) fn classify(lba0: &[u8]) -> MbrKind {
    if lba0.get(510..512) != Some(&SIGNATURE[..]) {
        return MbrKind::None;
    }
    let types = (0..4).filter_map(|slot| record(lba0, slot)).map(|(t, _)| t);
    let protective = types.clone().filter(|&t| t == PROTECTIVE_TYPE).count();
    let others = types.filter(|&t| t != PROTECTIVE_TYPE && t != 0).count();
    match (protective, others) {
        (0, _) => MbrKind::Plain,
        (_, 0) => MbrKind::Protective,
        _ => MbrKind::Hybrid,
    }
}

/// The size field of the first 0xEE record, if any.
pub(crate) fn protective_size(lba0: &[u8]) -> Option<u32> {
    (0..4)
        .filter_map(|slot| record(lba0, slot))
        .find(|&(t, _)| t == PROTECTIVE_TYPE)
        .map(|(_, size)| size)
}

/// The size a protective record gives a disk of `disk_sectors` sectors.
pub(crate) fn protective_size_for(disk_sectors: u64) -> u32 {
    u32::try_from(disk_sectors.saturating_sub(1)).unwrap_or(u32::MAX)
}

/// LBA 0 (`sector_size` bytes) with one protective record covering a disk of `disk_sectors`
/// sectors, keeping the boot code of `old` and, past 512 bytes, the rest of its sector.
pub(crate) fn build(old: Option<&[u8]>, sector_size: usize, disk_sectors: u64) -> Vec<u8> {
    let mut lba0 = vec![0u8; sector_size.max(MBR_LEN)];
    if let Some(old) = old {
        let keep = old.len().min(lba0.len());
        lba0[..keep].copy_from_slice(&old[..keep]);
        lba0[KEPT_PREFIX..MBR_LEN].fill(0);
    }
    // Not bootable; start CHS 0/0/2; type 0xEE; end CHS all ones; LBA 1 onwards.
    let rec = &mut lba0[RECORDS..RECORDS + 16];
    rec[..8].copy_from_slice(&[0x00, 0x00, 0x02, 0x00, PROTECTIVE_TYPE, 0xFF, 0xFF, 0xFF]);
    rec[8..12].copy_from_slice(&1u32.to_le_bytes());
    rec[12..16].copy_from_slice(&protective_size_for(disk_sectors).to_le_bytes());
    lba0[510..512].copy_from_slice(&SIGNATURE);
    lba0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_records(types: [u8; 4]) -> Vec<u8> {
        let mut lba0 = vec![0u8; 512];
        for (slot, t) in types.into_iter().enumerate() {
            lba0[RECORDS + 16 * slot + 4] = t;
        }
        lba0[510..].copy_from_slice(&SIGNATURE);
        lba0
    }

    #[test]
    fn classifies_like_libfdisk() {
        assert_eq!(classify(&[0u8; 512]), MbrKind::None);
        assert_eq!(classify(&[0u8; 100]), MbrKind::None);
        assert_eq!(classify(&with_records([0, 0, 0, 0])), MbrKind::Plain);
        assert_eq!(classify(&with_records([0x83, 0, 0x07, 0])), MbrKind::Plain);
        assert_eq!(
            classify(&with_records([0xEE, 0, 0, 0])),
            MbrKind::Protective
        );
        assert_eq!(
            classify(&with_records([0, 0, 0xEE, 0])),
            MbrKind::Protective
        );
        assert_eq!(classify(&with_records([0xEE, 0x0C, 0, 0])), MbrKind::Hybrid);
        let mut no_sig = with_records([0xEE, 0, 0, 0]);
        no_sig[511] = 0;
        assert_eq!(classify(&no_sig), MbrKind::None);
    }

    #[test]
    fn builds_the_measured_protective_record() {
        let lba0 = build(None, 512, 131072);
        assert_eq!(
            &lba0[0x1BE..0x1CE],
            &[
                0, 0, 2, 0, 0xEE, 0xFF, 0xFF, 0xFF, 1, 0, 0, 0, 0xFF, 0xFF, 1, 0
            ]
        );
        assert_eq!(&lba0[510..], &SIGNATURE);
        assert!(lba0[..0x1BE].iter().all(|&b| b == 0));
        assert!(lba0[0x1CE..510].iter().all(|&b| b == 0));
        assert_eq!(protective_size(&lba0), Some(131071));
        assert_eq!(classify(&lba0), MbrKind::Protective);
        assert_eq!(protective_size_for(1 << 40), u32::MAX);
        assert_eq!(protective_size_for(0), 0);
    }

    #[test]
    fn keeps_boot_code_and_the_rest_of_a_large_sector() {
        let mut old = vec![0x5Au8; 4096];
        old[0x1BE] = 0x80;
        old[0x1DE + 4] = 0x83;
        let lba0 = build(Some(&old), 4096, 16384);
        assert!(lba0[..0x1BE].iter().all(|&b| b == 0x5A));
        assert!(lba0[512..].iter().all(|&b| b == 0x5A));
        assert_eq!(lba0[0x1BE], 0);
        assert!(lba0[0x1CE..510].iter().all(|&b| b == 0));
        assert_eq!(classify(&lba0), MbrKind::Protective);
        // A short old sector keeps what it has.
        let lba0 = build(Some(&[7u8; 10]), 512, 100);
        assert_eq!(&lba0[..10], &[7u8; 10]);
        assert!(lba0[10..0x1BE].iter().all(|&b| b == 0));
    }
}
