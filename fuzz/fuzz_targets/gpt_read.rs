//! Feeds arbitrary bytes to `gpt::read` as a disk and, when a table comes out, checks that it
//! serializes and reads back identical.
//!
//! Input: a flags byte (bit 0: 4096-byte sectors; bit 1: fix the CRCs of the headers at LBA 1
//! and the last LBA, and of their entry arrays, so that mutations reach the checks behind
//! them), the disk size (u64 LE), the head length (u32 LE), the head (bytes from offset 0),
//! then the tail (bytes that end at the end of the disk). Everything else reads as zero, so
//! small inputs describe disks of any size. The
//! seed corpus comes from `GPT_FUZZ_CORPUS=fuzz/corpus/gpt_read cargo test --test
//! gpt_fixtures fuzz_seed_corpus`, which writes this format.
#![no_main]

use libfuzzer_sys::fuzz_target;
use repart_rs::gpt::{self, MemDisk, Probe, ReadAt};

fn disk_from(data: &[u8]) -> Option<(MemDisk, u32)> {
    let (&flags, rest) = data.split_first()?;
    let sector_size = if flags & 1 == 0 { 512 } else { 4096 };
    let (size, rest) = rest.split_first_chunk::<8>()?;
    let (head_len, rest) = rest.split_first_chunk::<4>()?;
    let size = u64::from_le_bytes(*size);
    let head_len = (u32::from_le_bytes(*head_len) as usize).min(rest.len());
    let (head, tail) = rest.split_at(head_len);
    let mut disk = MemDisk::new(size);
    // Data that does not fit the disk is cut.
    let head = &head[..head.len().min(usize::try_from(size).unwrap_or(usize::MAX))];
    disk.write_at(0, head).ok()?;
    let room = size - head.len() as u64;
    let tail = &tail[tail.len() - tail.len().min(usize::try_from(room).unwrap_or(usize::MAX))..];
    disk.write_at(size - tail.len() as u64, tail).ok()?;
    if flags & 2 != 0 {
        let last = (size / u64::from(sector_size)).checked_sub(1)?;
        for lba in [1, last] {
            fix_crcs(&mut disk, lba, sector_size);
        }
    }
    Some((disk, sector_size))
}

/// CRC-32 (IEEE), bitwise: the fuzzer must not share the code under test.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Makes the header at `lba` (if it has a plausible size) and its entry array (if it is at
/// most 1 MiB inside the disk) CRC-correct.
fn fix_crcs(disk: &mut MemDisk, lba: u64, sector_size: u32) {
    let ss = u64::from(sector_size);
    let mut sector = vec![0u8; sector_size as usize];
    let Some(offset) = lba.checked_mul(ss) else {
        return;
    };
    if disk.read_exact_at(offset, &mut sector).is_err() {
        return;
    }
    let field = |at: usize, n: usize| {
        sector[at..at + n]
            .iter()
            .rev()
            .fold(0u64, |v, &b| v << 8 | u64::from(b))
    };
    let header_size = field(12, 4) as usize;
    if !(92..=sector.len()).contains(&header_size) {
        return;
    }
    let (entries_lba, count, entry_size) = (field(72, 8), field(80, 4), field(84, 4));
    let array_len = count * entry_size;
    if array_len <= 1 << 20 {
        let mut array = vec![0u8; array_len as usize];
        if let Some(at) = entries_lba.checked_mul(ss)
            && disk.read_exact_at(at, &mut array).is_ok()
        {
            sector[88..92].copy_from_slice(&crc32(&array).to_le_bytes());
        }
    }
    sector[16..20].fill(0);
    let crc = crc32(&sector[..header_size]);
    sector[16..20].copy_from_slice(&crc.to_le_bytes());
    let _ = disk.write_at(offset, &sector);
}

fuzz_target!(|data: &[u8]| {
    let Some((mut disk, sector_size)) = disk_from(data) else {
        return;
    };
    let size = disk.size();
    let _ = gpt::detect_sector_size(&mut disk, size);
    let Ok(Probe::Gpt(loaded)) = gpt::read(&mut disk, size, sector_size) else {
        return;
    };
    // Whatever read accepts, serialize accepts, and it reads back as the same table.
    let mut lba0 = vec![0u8; sector_size as usize];
    disk.read_exact_at(0, &mut lba0)
        .expect("LBA 0 was read before");
    let pieces = loaded
        .table
        .serialize(Some(&lba0))
        .expect("a loaded table serializes");
    let mut written = MemDisk::new(size);
    written
        .write_pieces(&pieces)
        .expect("pieces lie inside the disk");
    match gpt::read(&mut written, size, sector_size) {
        Ok(Probe::Gpt(again)) => {
            assert_eq!(again.table, loaded.table);
            assert!(!again.needs_rewrite, "{:?}", again.notices);
        }
        other => panic!("a written table does not read back: {other:?}"),
    }
});
