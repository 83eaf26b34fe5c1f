//! Tests of the whole engine on memory: hostile headers, inconsistent entries, random valid
//! tables round-tripping, and random damage that must never panic.

use uuid::Uuid;

use super::header::Header;
use super::*;
use crate::error::ErrorKind;

/// xorshift64*: a fixed-seed generator, so every run tests the same cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn uuid(&mut self) -> Uuid {
        Uuid::from_u128((u128::from(self.next()) << 64) | u128::from(self.next()))
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

const GUID: Uuid = Uuid::from_u128(0x1d7e0a55_0000_4000_8000_000000000001);
const LINUX: Uuid = Uuid::from_u128(0x0fc63daf_8483_4772_8e79_3d69d8477de4);

fn disk_with(table: &Table, disk_bytes: u64) -> MemDisk {
    let mut disk = MemDisk::new(disk_bytes);
    disk.write_pieces(&table.pieces(None)).unwrap();
    disk
}

fn loaded(disk: &mut MemDisk, sector_size: u32) -> Loaded {
    match read(disk, disk.size(), sector_size) {
        Ok(Probe::Gpt(loaded)) => loaded,
        Ok(Probe::NoTable(mbr)) => panic!("expected a GPT, found none ({mbr})"),
        Err(e) => panic!("expected a GPT: {e}"),
    }
}

fn partition(first: u64, last: u64, unique: u128) -> Entry {
    Entry {
        type_guid: LINUX,
        unique_guid: Uuid::from_u128(unique),
        first_lba: first,
        last_lba: last,
        ..Entry::default()
    }
}

// ---------------------------------------------------------------------------------------
// Hostile headers

/// A 64 MiB, 512-byte-sector disk whose header at `lba` (1 or the last) is re-encoded, with
/// a valid CRC, after `change`; returns the disk and the resulting read error or table.
fn with_header(lba: u64, change: impl FnOnce(&mut Header)) -> MemDisk {
    let table = Table::new(GUID, 64 << 20, 512).unwrap();
    let mut disk = disk_with(&table, 64 << 20);
    let array = entry::encode_array(&table.entries, 128);
    let (primary, backup) = table.headers(crc32fast::hash(&array));
    let mut header = if lba == 1 { primary } else { backup };
    change(&mut header);
    disk.write_at(lba * 512, &header.encode(512)).unwrap();
    disk
}

/// Both headers changed the same way: the error says why each copy failed.
fn both_fail(change: impl Fn(&mut Header) + Copy) -> String {
    let mut disk = with_header(1, change);
    let backup = with_header(131071, change);
    let mut sector = vec![0u8; 512];
    let mut backup = backup;
    backup.read_exact_at(131071 * 512, &mut sector).unwrap();
    disk.write_at(131071 * 512, &sector).unwrap();
    let err = read(&mut disk, 64 << 20, 512).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
    err.to_string()
}

#[test]
fn hostile_entry_count_is_bounded() {
    let msg = both_fail(|h| h.entry_count = u32::MAX);
    assert!(
        msg.contains(
            "GPT header at LBA 1: entry array of 4294967295 entries of 128 bytes \
             (549755813760 bytes) is larger than the supported 1048576 bytes"
        ),
        "{msg}"
    );
    assert!(
        msg.contains("GPT header at LBA 131071: entry array"),
        "{msg}"
    );
    // Only the primary: the backup takes over.
    let mut disk = with_header(1, |h| h.entry_count = u32::MAX);
    let loaded = loaded(&mut disk, 512);
    assert!(loaded.needs_rewrite);
    assert!(
        loaded.notices[0].contains("4294967295 entries"),
        "{:?}",
        loaded.notices
    );
    assert_eq!(loaded.table, Table::new(GUID, 64 << 20, 512).unwrap());
}

/// Found by the fuzzer: an empty entry array skipped the location check, and its LBA then
/// overflowed the byte offset.
#[test]
fn empty_entry_arrays_are_refused() {
    let msg = both_fail(|h| (h.entry_count, h.entries_lba) = (0, u64::MAX));
    assert!(
        msg.contains("GPT header at LBA 1: entry count is 0"),
        "{msg}"
    );
    let mut table = Table::new(GUID, 64 << 20, 512).unwrap();
    table.entries.clear();
    assert!(
        table
            .validate()
            .unwrap_err()
            .to_string()
            .contains("entry count is 0")
    );
}

#[test]
fn hostile_header_size_is_refused() {
    let mut disk = with_header(1, |_| ());
    let mut sector = vec![0u8; 512];
    disk.read_exact_at(512, &mut sector).unwrap();
    sector[12..16].copy_from_slice(&(1u32 << 31).to_le_bytes());
    disk.write_at(512, &sector).unwrap();
    let loaded = loaded(&mut disk, 512);
    assert!(
        loaded.notices[0]
            .contains("GPT header at LBA 1: header size 2147483648 is outside 92..=512"),
        "{:?}",
        loaded.notices
    );
    // Each size from 0 to 1024: never a panic, only 92..=512 can be valid.
    for size in 0..1024u32 {
        sector[12..16].copy_from_slice(&size.to_le_bytes());
        let result = Header::parse(&sector, 1, 131072, 512);
        assert!(result.is_err() || (92..=512).contains(&size));
    }
}

#[test]
fn hostile_locations_are_refused_with_their_values() {
    type Change = fn(&mut Header);
    let cases: [(&str, Change); 8] = [
        (
            "the entry array (LBA 131070..=131101) lies beyond the end of the disk (last LBA \
             131071)",
            |h| h.entries_lba = 131070,
        ),
        (
            "the entry array (LBA 18446744073709551615..=18446744073709551646) lies beyond",
            |h| h.entries_lba = u64::MAX,
        ),
        (
            "alternate LBA 131072 is beyond the end of the disk (last LBA 131071)",
            |h| h.alternate_lba = 131072,
        ),
        (
            "alternate LBA 18446744073709551615 is beyond the end",
            |h| h.alternate_lba = u64::MAX,
        ),
        (
            "the usable range is empty: first LBA 5000 > last LBA 4000",
            |h| (h.first_usable_lba, h.last_usable_lba) = (5000, 4000),
        ),
        (
            "the usable range (LBA 2048..=18446744073709551615) lies beyond the end",
            |h| h.last_usable_lba = u64::MAX,
        ),
        (
            "my LBA is 7 (expected 1, where the header was found)",
            |h| h.my_lba = 7,
        ),
        (
            "entry size 129 is not a multiple of 128 of at least 128",
            |h| h.entry_size = 129,
        ),
    ];
    for (want, change) in cases {
        let msg = both_fail(change);
        assert!(
            msg.contains(&format!("GPT header at LBA 1: {want}")),
            "{msg}"
        );
    }
    assert!(both_fail(|h| h.entry_size = 0).contains("entry size 0 is not"));
    // The backup's own array does not collide with this usable range, so only the table
    // built from it is refused.
    let msg = both_fail(|h| h.first_usable_lba = 20);
    assert!(msg.contains("GPT header at LBA 1: the entry array (LBA 2..=33) overlaps the usable range (LBA 20..=131038)") || msg.contains("the primary entry array (LBA 2..=33) overlaps the usable range (LBA 20..=131038)"), "{msg}");
}

#[test]
fn a_backup_next_to_a_valid_primary_is_checked_and_compared_in_pieces() {
    let mut table = Table::new(GUID, 64 << 20, 512).unwrap();
    // Slot 100 is in the last 4 KiB piece of the 16 KiB array.
    table.entries[100] = partition(4096, 8191, 7);
    let mut other = table.clone();
    other.entries[100].last_lba = 6143;
    let with_backup_of = |backup: &Table| {
        let mut disk = disk_with(&table, 64 << 20);
        disk.write_pieces(&backup.pieces(None)[..2]).unwrap();
        disk
    };
    let same = loaded(&mut with_backup_of(&table), 512);
    assert!(same.notices.is_empty(), "{:?}", same.notices);
    assert!(!same.needs_rewrite);
    let differs = loaded(&mut with_backup_of(&other), 512);
    assert_eq!(differs.table, table);
    assert!(differs.needs_rewrite);
    assert!(
        differs.notices[0].contains("differs from the primary (partition entries)"),
        "{:?}",
        differs.notices
    );
    // A damaged backup array is found while it is compared.
    let mut disk = disk_with(&table, 64 << 20);
    disk.write_at(table.backup_entries_lba * 512 + 100 * 128 + 33, &[0x11])
        .unwrap();
    let damaged = loaded(&mut disk, 512);
    assert_eq!(damaged.table, table);
    assert!(damaged.needs_rewrite);
    assert!(
        damaged.notices[0].contains("The backup GPT is damaged or missing")
            && damaged.notices[0].contains("CRC mismatch"),
        "{:?}",
        damaged.notices
    );
}

#[test]
fn every_sector_size_of_sector_size_option_round_trips() {
    for ss in [512, 1024, 2048, 4096] {
        let table = Table::new(GUID, 64 << 20, ss).unwrap();
        assert_eq!(table.first_usable_lba, (1 << 20) / u64::from(ss));
        let mut disk = disk_with(&table, 64 << 20);
        let Ok(Probe::Gpt(loaded)) = read(&mut disk, 64 << 20, ss) else {
            panic!("{ss}: no table")
        };
        assert_eq!(loaded.table, table, "{ss}");
        assert!(!loaded.needs_rewrite, "{ss}");
    }
    assert!(Table::new(GUID, 64 << 20, 8192).is_err());
}

#[test]
fn tiny_and_odd_disks_do_not_panic() {
    for size in [
        0,
        1,
        511,
        512,
        513,
        1024,
        1536,
        4095,
        4096,
        8192,
        12288,
        34 * 512,
    ] {
        for ss in [512, 4096] {
            let mut disk = MemDisk::new(size);
            assert!(matches!(
                read(&mut disk, size, ss),
                Ok(Probe::NoTable(MbrKind::None))
            ));
            disk.write_at(
                0,
                &super::mbr::build(None, 512, 3)[..size.min(512) as usize],
            )
            .unwrap();
            let _ = read(&mut disk, size, ss);
            assert!(detect_sector_size(&mut disk, size).is_ok());
        }
    }
    // A disk claiming more bytes than the reader has: an I/O error, not a panic.
    let table = Table::new(GUID, 2 << 20, 512).unwrap();
    let mut disk = disk_with(&table, 2 << 20);
    let mut bytes = vec![0u8; 1 << 20];
    disk.read_exact_at(0, &mut bytes).unwrap();
    let mut short: &[u8] = &bytes;
    let err = read(&mut short, 2 << 20, 512).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(err.to_string().contains("reading LBA 4095"), "{err}");
    let mut whole: &[u8] = &bytes;
    // Seen as a 1 MiB disk, the table points past its end (a shrunk disk).
    let err = read(&mut whole, 1 << 20, 512).unwrap_err();
    assert!(
        err.to_string()
            .contains("alternate LBA 4095 is beyond the end of the disk (last LBA 2047)"),
        "{err}"
    );
    assert!(read(&mut whole, 1 << 20, 1024).is_err());
}

#[test]
fn new_tables_refuse_what_cannot_hold_them() {
    let err = Table::new(GUID, 67 * 512, 512).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoSpace);
    assert!(Table::new(GUID, 68 * 512, 512).is_ok());
    assert!(Table::new(GUID, 0, 4096).is_err());
    assert_eq!(
        Table::new(GUID, 1 << 30, 8192).unwrap_err().kind(),
        ErrorKind::Unsupported
    );
    let huge = Table::new(GUID, u64::MAX, 512).unwrap();
    assert_eq!(
        huge.serialize(None).unwrap()[4].bytes[0x1CA..0x1CE],
        [0xFF; 4]
    );
}

// ---------------------------------------------------------------------------------------
// Inconsistent entries

#[test]
fn entry_problems_name_the_partitions() {
    let mut table = Table::new(GUID, 64 << 20, 512).unwrap();
    table.entries[0] = partition(2048, 4095, 1);
    table.entries[1] = partition(4096, 8191, 2);
    table.entries[4] = partition(8000, 9000, 5);
    table.entries[2] = partition(10000, 11000, 1);
    table.entries[3] = partition(20, 100, 4);
    table.entries[5] = partition(200000, 300000, 6);
    table.entries[6] = partition(50000, 40000, 7);
    // Nil unique GUIDs may repeat: repart fills them in.
    table.entries[7] = partition(60000, 60000, 0);
    table.entries[8] = partition(60001, 60001, 0);
    let want = [
        "partition 4 (LBA 20..=100) lies outside the usable range (LBA 2048..=131038)",
        "partition 6 (LBA 200000..=300000) lies outside the usable range",
        "partition 7 ends before it starts (first LBA 50000, last LBA 40000)",
        "partitions 2 (LBA 4096..=8191) and 5 (LBA 8000..=9000) overlap",
        "partitions 1 and 3 have the same unique GUID 00000000-0000-0000-0000-000000000001",
    ];
    let err = table.validate().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt);
    let msg = err.to_string();
    for w in want {
        assert!(msg.contains(w), "{w}\n in {msg}");
    }
    assert!(msg.starts_with("GPT: "), "{msg}");
    assert!(table.serialize(None).is_err());
    // The same table on disk is refused by read.
    let mut disk = disk_with(&table, 64 << 20);
    let err = read(&mut disk, 64 << 20, 512).unwrap_err();
    assert_eq!(err.to_string(), msg);
    // Unused slots are not checked, whatever they hold.
    for i in [1, 2, 3, 5, 6] {
        table.entries[i].type_guid = Uuid::nil();
    }
    table.validate().unwrap();
}

#[test]
fn contained_and_chained_overlaps_are_found() {
    let mut table = Table::new(GUID, 64 << 20, 512).unwrap();
    table.entries[9] = partition(2048, 100000, 10);
    table.entries[3] = partition(4096, 5000, 4);
    table.entries[0] = partition(6000, 7000, 1);
    let msg = table.validate().unwrap_err().to_string();
    assert!(msg.contains("partitions 4 (LBA 4096..=5000) and 10 (LBA 2048..=100000) overlap"));
    assert!(msg.contains("partitions 1 (LBA 6000..=7000) and 10 (LBA 2048..=100000) overlap"));
    // Many problems are summarised.
    let mut table = Table::new(GUID, 64 << 20, 512).unwrap();
    for (i, e) in table.entries.iter_mut().enumerate() {
        *e = partition(3000, 3000, i as u128 + 1);
    }
    let msg = table.validate().unwrap_err().to_string();
    assert!(msg.ends_with("; and 119 more problems"), "{msg}");
}

#[test]
fn table_layout_problems_are_refused() {
    let good = Table::new(GUID, 64 << 20, 512).unwrap();
    let mut t = good.clone();
    t.backup_entries_lba = 131038;
    assert!(
        t.validate()
            .unwrap_err()
            .to_string()
            .contains("overlaps the backup entry array")
    );
    let mut t = good.clone();
    t.entries.push(Entry::default());
    t.entries[0].tail = vec![1];
    assert!(
        t.validate()
            .unwrap_err()
            .to_string()
            .contains("entry 1 has 1 extra bytes")
    );
    let mut t = good.clone();
    t.header_extra = vec![0; 421];
    assert!(
        t.validate()
            .unwrap_err()
            .to_string()
            .contains("header size 513")
    );
    let mut t = good.clone();
    t.alternate_lba = u64::MAX / 256;
    assert!(
        t.validate()
            .unwrap_err()
            .to_string()
            .contains("out of range")
    );
    let mut t = good;
    t.entries = vec![Entry::default(); 8193];
    assert!(
        t.validate()
            .unwrap_err()
            .to_string()
            .contains("8193 entries")
    );
}

// ---------------------------------------------------------------------------------------
// Random valid tables round-trip

fn random_table(rng: &mut Rng) -> Table {
    let sector_size: u32 = if rng.chance(50) { 512 } else { 4096 };
    let entry_size: u32 = 128 * [1, 1, 1, 2, 4, 32][rng.below(6) as usize];
    let max_count = MAX_ENTRY_ARRAY_BYTES / u64::from(entry_size);
    let most = if rng.chance(10) { max_count } else { 300 };
    let most = most.min(max_count);
    let count = 1 + rng.below(most);
    let array_sectors = (count * u64::from(entry_size)).div_ceil(u64::from(sector_size));
    let entries_lba = 2 + rng.below(4);
    let first_usable_lba = entries_lba + array_sectors + rng.below(3000);
    let span = [100, 1 << 20, 1 << 40][rng.below(3) as usize];
    let usable = 1 + rng.below(span);
    let last_usable_lba = first_usable_lba + usable - 1;
    let backup_entries_lba = last_usable_lba + 1 + rng.below(5);
    let alternate_lba = backup_entries_lba + array_sectors + rng.below(3);

    let mut entries = vec![Entry::default(); count as usize];
    for e in entries.iter_mut() {
        if rng.chance(5) {
            // An unused slot with leftovers: kept as it is.
            e.unique_guid = rng.uuid();
            e.first_lba = rng.next();
            e.name[0] = rng.next() as u16;
        }
    }
    let used = rng.below(count.min(20) + 1);
    let segment = usable / used.max(1);
    for k in 0..used {
        let slot = rng.below(count) as usize;
        if entries[slot].is_used() || segment == 0 {
            continue;
        }
        let start = first_usable_lba + k * segment + rng.below(segment);
        let end = first_usable_lba + (k + 1) * segment - 1;
        let tail_len = if rng.chance(80) {
            entry_size as usize - 128
        } else {
            0
        };
        entries[slot] = Entry {
            type_guid: Uuid::from_u128(rng.uuid().as_u128() | 1),
            unique_guid: if rng.chance(10) {
                Uuid::nil()
            } else {
                rng.uuid()
            },
            first_lba: start,
            last_lba: start + rng.below(end - start + 1),
            attributes: rng.next(),
            name: core::array::from_fn(|_| if rng.chance(20) { 0 } else { rng.next() as u16 }),
            tail: rng.bytes(tail_len),
        };
    }
    let extra_len = if rng.chance(20) {
        rng.below(u64::from(sector_size) - 91) as usize
    } else {
        0
    };
    Table {
        sector_size,
        disk_guid: if rng.chance(5) {
            Uuid::nil()
        } else {
            rng.uuid()
        },
        first_usable_lba,
        last_usable_lba,
        entry_size,
        entries_lba,
        alternate_lba,
        backup_entries_lba,
        header_extra: rng.bytes(extra_len),
        entries,
    }
}

/// Tails shorter than the entry are written as zeros and read back full length.
fn padded(mut table: Table) -> Table {
    let len = table.entry_size as usize - 128;
    for e in &mut table.entries {
        e.tail.resize(len, 0);
    }
    table
}

#[test]
fn random_tables_round_trip() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for case in 0..400 {
        let table = random_table(&mut rng);
        table
            .validate()
            .unwrap_or_else(|e| panic!("case {case}: {e}"));
        let ss = u64::from(table.sector_size);
        let disk_bytes = table.disk_sectors() * ss + rng.below(ss);
        let old = rng
            .chance(50)
            .then(|| rng.bytes(table.sector_size as usize));
        let pieces = table.serialize(old.as_deref()).unwrap();
        let mut disk = MemDisk::new(disk_bytes);
        disk.write_pieces(&pieces).unwrap();
        let loaded = loaded(&mut disk, table.sector_size);
        assert_eq!(loaded.table, padded(table.clone()), "case {case}");
        assert!(
            loaded.notices.is_empty(),
            "case {case}: {:?}",
            loaded.notices
        );
        assert!(!loaded.needs_rewrite);
        assert_eq!(loaded.mbr, MbrKind::Protective);
        // Written again, the same bytes.
        assert_eq!(loaded.table.serialize(old.as_deref()).unwrap(), pieces);
    }
}

// ---------------------------------------------------------------------------------------
// Random damage never panics

#[test]
fn random_damage_never_panics() {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let mut outcomes = [0usize; 3];
    for _ in 0..1500 {
        let table = random_table(&mut rng);
        let ss = u64::from(table.sector_size);
        let disk_bytes = table.disk_sectors() * ss;
        let mut disk = disk_with(&table, disk_bytes);
        // Damage header fields and array bytes of either copy, or LBA 0.
        for _ in 0..1 + rng.below(4) {
            let base = match rng.below(4) {
                0 => ss,
                1 => table.alternate_lba * ss,
                2 => table.entries_lba * ss + rng.below(table.entry_array_bytes()),
                _ => rng.below(512),
            };
            let len = 1 + rng.below(8) as usize;
            let offset = base + rng.below(92);
            if offset + len as u64 <= disk_bytes {
                disk.write_at(offset, &rng.bytes(len)).unwrap();
            }
        }
        let claimed = if rng.chance(10) {
            rng.below(disk_bytes * 2)
        } else {
            disk_bytes
        };
        let result = read(&mut disk, claimed.min(disk_bytes), table.sector_size);
        let _ = detect_sector_size(&mut disk, claimed.min(disk_bytes));
        match result {
            Ok(Probe::Gpt(loaded)) => {
                outcomes[0] += 1;
                let pieces = loaded.table.serialize(None).unwrap();
                let mut again = MemDisk::new(claimed.min(disk_bytes));
                again.write_pieces(&pieces).unwrap();
                let reread = self::loaded(&mut again, table.sector_size);
                assert_eq!(reread.table, loaded.table);
            }
            Ok(Probe::NoTable(_)) => outcomes[1] += 1,
            Err(_) => outcomes[2] += 1,
        }
    }
    // Each outcome happens.
    assert!(outcomes.iter().all(|&n| n > 0), "{outcomes:?}");
}
