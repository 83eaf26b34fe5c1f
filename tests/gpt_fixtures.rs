//! The GPT engine against disks made by sfdisk (tests/fixtures/gpt/make.sh): parse and compare
//! with `sfdisk --json`, rewrite byte for byte, recover from damage, relocate like libfdisk.
//! With GPT_FUZZ_CORPUS=DIR set, the seed disks are also written to DIR as fuzz inputs.

use std::path::PathBuf;

use repart_rs::error::{ErrorKind, Result};
use repart_rs::gpt::{self, Loaded, MbrKind, MemDisk, Piece, Probe, ReadAt, Table};
use uuid::Uuid;

// ---------------------------------------------------------------------------------------
// Fixtures

/// A disk as committed: size, sector size and its non-zero 16-byte rows.
struct Fixture {
    name: String,
    size: u64,
    sector_size: u32,
    rows: Vec<(u64, Vec<u8>)>,
}

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gpt")
}

fn load(name: &str) -> Fixture {
    let path = fixture_dir().join(format!("{name}.dump"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let mut fixture = Fixture {
        name: name.to_string(),
        size: 0,
        sector_size: 0,
        rows: Vec::new(),
    };
    for line in text.lines() {
        let (key, value) = line.split_once(' ').expect("two fields");
        match key {
            "size" => fixture.size = value.parse().unwrap(),
            "sector-size" => fixture.sector_size = value.parse().unwrap(),
            offset => {
                let bytes = (0..value.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&value[i..i + 2], 16).unwrap())
                    .collect();
                fixture.rows.push((offset.parse().unwrap(), bytes));
            }
        }
    }
    assert!(fixture.size > 0 && fixture.sector_size > 0, "{name}");
    fixture
}

impl Fixture {
    fn disk(&self) -> MemDisk {
        let mut disk = MemDisk::new(self.size);
        for (offset, bytes) in &self.rows {
            disk.write_at(*offset, bytes).unwrap();
        }
        disk
    }

    fn json(&self) -> Option<Json> {
        let path = fixture_dir().join(format!("{}.json", self.name));
        let text = std::fs::read_to_string(path).ok()?;
        Some(Json::parse(&text))
    }

    fn read(&self) -> Result<Probe> {
        gpt::read(&mut self.disk(), self.size, self.sector_size)
    }

    fn loaded(&self) -> Loaded {
        match self.read() {
            Ok(Probe::Gpt(loaded)) => loaded,
            other => panic!("{}: expected a GPT, got {other:?}", self.name),
        }
    }
}

/// The 512- and 4096-byte fixtures that hold an ordinary GPT.
const PLAIN_GPTS: &[&str] = &[
    "one",
    "several",
    "gapped",
    "len56",
    "len248",
    "empty4194304",
    "empty67108864",
    "grown-relocated",
];

fn plain_gpts() -> Vec<Fixture> {
    let mut all = Vec::new();
    for name in PLAIN_GPTS {
        for ss in [512, 4096] {
            all.push(load(&format!("{name}-{ss}")));
        }
    }
    all.push(load("empty4194816-512"));
    all.push(load("empty4198400-4096"));
    all
}

fn lba0(disk: &mut MemDisk, sector_size: u32) -> Vec<u8> {
    let mut sector = vec![0u8; sector_size as usize];
    disk.read_exact_at(0, &mut sector).unwrap();
    sector
}

fn read_bytes(disk: &mut MemDisk, offset: u64, len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    disk.read_exact_at(offset, &mut bytes).unwrap();
    bytes
}

/// Every piece matches what `disk` holds at its offset.
fn assert_pieces_match(what: &str, disk: &mut MemDisk, pieces: &[Piece]) {
    for piece in pieces {
        let on_disk = read_bytes(disk, piece.offset, piece.bytes.len());
        assert!(
            on_disk == *piece.bytes,
            "{what}: {} at byte {} differs",
            piece.what,
            piece.offset
        );
    }
}

/// `a` and `b` agree on every row either fixture has.
fn assert_same_rows(what: &str, a: &mut MemDisk, b: &mut MemDisk, fixtures: &[&Fixture]) {
    for fixture in fixtures {
        for (offset, row) in &fixture.rows {
            let (x, y) = (
                read_bytes(a, *offset, row.len()),
                read_bytes(b, *offset, row.len()),
            );
            assert_eq!(x, y, "{what}: byte {offset}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// A small JSON reader for `sfdisk --json`

#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Number(i128),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    fn parse(text: &str) -> Json {
        let mut chars = text.chars().peekable();
        let value = Json::value(&mut chars);
        assert!(chars.all(char::is_whitespace), "trailing data");
        value
    }

    /// Skips white space and tells whether `close` comes next (consuming it if so).
    fn closes(c: &mut std::iter::Peekable<std::str::Chars>, close: char) -> bool {
        while c.peek().is_some_and(|ch| ch.is_whitespace()) {
            c.next();
        }
        c.next_if_eq(&close).is_some()
    }

    fn value(c: &mut std::iter::Peekable<std::str::Chars>) -> Json {
        while c.peek().is_some_and(|ch| ch.is_whitespace()) {
            c.next();
        }
        match c.next().expect("a value") {
            '{' => {
                let mut fields = Vec::new();
                if Json::closes(c, '}') {
                    return Json::Object(fields);
                }
                loop {
                    let Json::String(key) = Json::value(c) else {
                        panic!("object key")
                    };
                    Json::expect(c, ':');
                    fields.push((key, Json::value(c)));
                    if Json::separator(c, '}') {
                        return Json::Object(fields);
                    }
                }
            }
            '[' => {
                let mut items = Vec::new();
                if Json::closes(c, ']') {
                    return Json::Array(items);
                }
                loop {
                    items.push(Json::value(c));
                    if Json::separator(c, ']') {
                        return Json::Array(items);
                    }
                }
            }
            '"' => {
                let mut s = String::new();
                let mut pending_high = None;
                loop {
                    match c.next().expect("string end") {
                        '"' => return Json::String(s),
                        '\\' => match c.next().expect("escape") {
                            'u' => {
                                let hex: String = c.take(4).collect();
                                let unit = u32::from_str_radix(&hex, 16).unwrap();
                                if (0xD800..0xDC00).contains(&unit) {
                                    pending_high = Some(unit);
                                } else if let Some(high) = pending_high.take() {
                                    let code = 0x10000 + ((high - 0xD800) << 10) + (unit - 0xDC00);
                                    s.push(char::from_u32(code).unwrap());
                                } else {
                                    s.push(char::from_u32(unit).unwrap());
                                }
                            }
                            'n' => s.push('\n'),
                            't' => s.push('\t'),
                            'r' => s.push('\r'),
                            'b' => s.push('\u{8}'),
                            'f' => s.push('\u{c}'),
                            other => s.push(other),
                        },
                        ch => s.push(ch),
                    }
                }
            }
            't' => Json::word(c, "rue", Json::Bool(true)),
            'f' => Json::word(c, "alse", Json::Bool(false)),
            'n' => Json::word(c, "ull", Json::Null),
            first => {
                let mut number = first.to_string();
                while c.peek().is_some_and(|ch| ch.is_ascii_digit()) {
                    number.push(c.next().unwrap());
                }
                Json::Number(number.parse().unwrap())
            }
        }
    }

    fn word(c: &mut std::iter::Peekable<std::str::Chars>, rest: &str, value: Json) -> Json {
        let got: String = c.take(rest.len()).collect();
        assert_eq!(got, rest);
        value
    }

    fn expect(c: &mut std::iter::Peekable<std::str::Chars>, want: char) {
        let got = c.find(|ch| !ch.is_whitespace());
        assert_eq!(got, Some(want));
    }

    /// After an item: true at the closing bracket, false at a comma.
    fn separator(c: &mut std::iter::Peekable<std::str::Chars>, close: char) -> bool {
        match c.find(|ch| !ch.is_whitespace()) {
            Some(',') => false,
            Some(ch) if ch == close => true,
            other => panic!("expected ',' or {close:?}, got {other:?}"),
        }
    }

    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn str(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(Json::String(s)) => Some(s),
            _ => None,
        }
    }

    fn num(&self, key: &str) -> u64 {
        match self.get(key) {
            Some(Json::Number(n)) => u64::try_from(*n).unwrap(),
            other => panic!("{key}: {other:?}"),
        }
    }
}

#[test]
fn json_reader_reads_what_it_needs() {
    let v =
        Json::parse(r#"{"a": [1, {"b": "x\u00e9\ud83e\udd80\"y"}, [], {}], "c": null, "d": true}"#);
    let Some(Json::Array(a)) = v.get("a") else {
        panic!("{v:?}")
    };
    assert_eq!(a[0], Json::Number(1));
    assert_eq!(a[1].str("b"), Some("xé🦀\"y"));
    assert_eq!(a[2], Json::Array(vec![]));
    assert_eq!(a[3], Json::Object(vec![]));
    assert_eq!(a.len(), 4);
    assert_eq!(v.get("c"), Some(&Json::Null));
    assert_eq!(v.get("d"), Some(&Json::Bool(true)));
}

/// Attributes as libfdisk prints them: UEFI bit names, then "GUID:" and the bits 48..63.
fn attrs_string(attributes: u64) -> Option<String> {
    let names = [
        "RequiredPartition",
        "NoBlockIOProtocol",
        "LegacyBIOSBootable",
    ];
    let mut parts: Vec<String> = names
        .iter()
        .enumerate()
        .filter(|(bit, _)| attributes & (1 << bit) != 0)
        .map(|(_, name)| name.to_string())
        .collect();
    let high: Vec<String> = (48..64)
        .filter(|bit| attributes & (1 << bit) != 0)
        .map(|bit: u32| bit.to_string())
        .collect();
    if !high.is_empty() {
        parts.push(format!("GUID:{}", high.join(",")));
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

fn upper(u: Uuid) -> String {
    u.hyphenated().to_string().to_uppercase()
}

// ---------------------------------------------------------------------------------------
// Parsing and rewriting what sfdisk made

#[test]
fn fixtures_parse_like_sfdisk_json() {
    for fixture in plain_gpts() {
        let name = &fixture.name;
        let loaded = fixture.loaded();
        assert_eq!(loaded.mbr, MbrKind::Protective, "{name}");
        assert!(loaded.notices.is_empty(), "{name}: {:?}", loaded.notices);
        assert!(!loaded.needs_rewrite, "{name}");
        let t = &loaded.table;
        let json = fixture.json().expect("sfdisk --json output");
        let pt = json.get("partitiontable").expect("partitiontable");
        assert_eq!(pt.str("label"), Some("gpt"), "{name}");
        assert_eq!(Some(upper(t.disk_guid).as_str()), pt.str("id"), "{name}");
        assert_eq!(t.first_usable_lba, pt.num("firstlba"), "{name}");
        assert_eq!(t.last_usable_lba, pt.num("lastlba"), "{name}");
        assert_eq!(u64::from(t.sector_size), pt.num("sectorsize"), "{name}");
        assert_eq!(
            t.disk_sectors(),
            fixture.size / u64::from(fixture.sector_size)
        );

        let parts = match pt.get("partitions") {
            Some(Json::Array(parts)) => parts.clone(),
            _ => Vec::new(),
        };
        let mut seen = vec![false; t.entries.len()];
        for part in &parts {
            let node = part.str("node").unwrap();
            let number: usize = node
                .strip_prefix(&format!("{name}.img"))
                .unwrap()
                .parse()
                .unwrap();
            let e = &t.entries[number - 1];
            seen[number - 1] = true;
            assert!(e.is_used(), "{name} {number}");
            assert_eq!(e.first_lba, part.num("start"), "{name} {number}");
            assert_eq!(
                e.last_lba - e.first_lba + 1,
                part.num("size"),
                "{name} {number}"
            );
            assert_eq!(Some(upper(e.type_guid).as_str()), part.str("type"));
            assert_eq!(Some(upper(e.unique_guid).as_str()), part.str("uuid"));
            let label = e.name_lossy();
            assert_eq!(
                part.str("name"),
                (!label.is_empty()).then_some(label.as_str())
            );
            assert_eq!(
                part.str("attrs").map(str::to_string),
                attrs_string(e.attributes),
                "{name} {number}"
            );
        }
        for (i, e) in t.entries.iter().enumerate() {
            assert_eq!(e.is_used(), seen[i], "{name}: slot {}", i + 1);
        }
    }
}

#[test]
fn fixture_details_survive_parsing() {
    let several = load("several-512").loaded().table;
    assert_eq!(several.entries.len(), 128);
    assert_eq!(several.entries[1].name_lossy(), "données");
    assert_eq!(
        several.entries[1].attributes,
        (1 << 59) | (1 << 60) | (1 << 63)
    );
    assert_eq!(several.entries[0].attributes, 0b101);
    assert_eq!(several.entries[2].attributes, 0b10 | (1 << 48) | (1 << 59));
    assert_eq!(several.entries[2].name_lossy(), "日本語 – ß€");
    // A name of exactly 36 code units has no terminating NUL.
    assert!(several.entries[3].name.iter().all(|&u| u != 0));
    let len248 = load("len248-4096").loaded().table;
    assert_eq!(len248.entries.len(), 248);
    assert!(len248.entries[199].is_used() && len248.entries[247].is_used());
    assert_eq!(len248.entry_array_sectors(), 8);
    let len56 = load("len56-4096").loaded().table;
    assert_eq!((len56.entries.len(), len56.entry_array_bytes()), (56, 7168));
    assert_eq!(len56.backup_entries_lba, len56.alternate_lba - 2);
}

#[test]
fn fixtures_rewrite_byte_for_byte() {
    for fixture in plain_gpts() {
        let mut disk = fixture.disk();
        let loaded = fixture.loaded();
        let old = lba0(&mut disk, fixture.sector_size);
        let pieces = loaded.table.serialize(Some(&old)).unwrap();
        let whats: Vec<&str> = pieces.iter().map(|p| p.what).collect();
        assert_eq!(
            whats,
            [
                "backup entry array",
                "backup header",
                "primary entry array",
                "primary header",
                "protective MBR"
            ]
        );
        assert_pieces_match(&fixture.name, &mut disk, &pieces);
        // Written on a blank disk, the pieces are all there is (but for the stale old backup
        // a relocation leaves behind).
        if fixture.name.starts_with("grown-relocated") {
            continue;
        }
        let mut blank = MemDisk::new(fixture.size);
        blank.write_pieces(&pieces).unwrap();
        assert_same_rows(&fixture.name, &mut blank, &mut disk, &[&fixture]);
    }
}

#[test]
fn new_tables_match_sfdisk() {
    for name in [
        "empty4194304-512",
        "empty4194816-512",
        "empty67108864-512",
        "empty4194304-4096",
        "empty4198400-4096",
        "empty67108864-4096",
    ] {
        let fixture = load(name);
        let guid = fixture.loaded().table.disk_guid;
        let table = Table::new(guid, fixture.size, fixture.sector_size).unwrap();
        let pieces = table.serialize(None).unwrap();
        let mut disk = fixture.disk();
        assert_pieces_match(name, &mut disk, &pieces);
        let mut blank = MemDisk::new(fixture.size);
        blank.write_pieces(&pieces).unwrap();
        assert_same_rows(name, &mut blank, &mut disk, &[&fixture]);
    }
    // The 1 MiB rule starts just above 4 MiB.
    let t = Table::new(Uuid::nil(), 4194304, 512).unwrap();
    assert_eq!((t.first_usable_lba, t.last_usable_lba), (34, 8158));
    let t = Table::new(Uuid::nil(), 4194816, 512).unwrap();
    assert_eq!(t.first_usable_lba, 2048);
    let t = Table::new(Uuid::nil(), 64 << 20, 4096).unwrap();
    assert_eq!((t.first_usable_lba, t.last_usable_lba), (256, 16378));
}

// ---------------------------------------------------------------------------------------
// Grown disks

#[test]
fn grown_disks_relocate_like_sfdisk() {
    for ss in [512, 4096] {
        let grown = load(&format!("grown-{ss}"));
        let relocated = load(&format!("grown-relocated-{ss}"));
        let loaded = grown.loaded();
        assert!(loaded.needs_rewrite);
        assert!(
            loaded
                .notices
                .iter()
                .any(|n| n.contains("the disk has grown")),
            "{:?}",
            loaded.notices
        );
        let want = relocated.loaded().table;
        assert_eq!(loaded.table, want);
        assert_eq!(loaded.table.alternate_lba, (64 << 20) / ss - 1);
        // Writing it gives what sfdisk wrote, stale old backup included.
        let mut disk = grown.disk();
        let old = lba0(&mut disk, grown.sector_size);
        disk.write_pieces(&loaded.table.serialize(Some(&old)).unwrap())
            .unwrap();
        let mut expected = relocated.disk();
        assert_same_rows("grown", &mut disk, &mut expected, &[&grown, &relocated]);
        // The old table as sfdisk 2.38 saw it (not relocated) had the old last usable LBA.
        if let Some(json) = grown.json() {
            let old_last = json.get("partitiontable").unwrap().num("lastlba");
            assert!(old_last < loaded.table.last_usable_lba);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Damage

/// Flips one byte at `offset` of a copy of `fixture`'s disk.
fn damaged(fixture: &Fixture, offsets: &[u64]) -> MemDisk {
    let mut disk = fixture.disk();
    for &offset in offsets {
        let mut b = read_bytes(&mut disk, offset, 1);
        b[0] ^= 0x40;
        disk.write_at(offset, &b).unwrap();
    }
    disk
}

/// Byte offsets of interesting fields: (primary header, primary array, backup header,
/// backup array) for a fixture with a standard layout.
fn places(fixture: &Fixture) -> [u64; 4] {
    let t = fixture.loaded().table;
    let ss = u64::from(t.sector_size);
    [
        ss,
        t.entries_lba * ss,
        t.alternate_lba * ss,
        t.backup_entries_lba * ss,
    ]
}

#[test]
fn damaged_primary_is_recovered_from_the_backup() {
    for name in ["several-512", "several-4096", "len248-512", "len56-4096"] {
        let fixture = load(name);
        let original = fixture.loaded().table;
        let [header, array, _, _] = places(&fixture);
        for (what, offset) in [
            ("signature", header),
            ("header CRC", header + 16),
            ("disk GUID", header + 60),
            ("entry array", array + 40),
        ] {
            let mut disk = damaged(&fixture, &[offset]);
            let loaded = match gpt::read(&mut disk, fixture.size, fixture.sector_size) {
                Ok(Probe::Gpt(loaded)) => loaded,
                other => panic!("{name} {what}: {other:?}"),
            };
            assert_eq!(loaded.table, original, "{name} {what}");
            assert!(loaded.needs_rewrite);
            assert!(
                loaded.notices[0].starts_with("The primary GPT is damaged"),
                "{name} {what}: {:?}",
                loaded.notices
            );
            // The rewrite restores the original disk.
            let old = lba0(&mut disk, fixture.sector_size);
            disk.write_pieces(&loaded.table.serialize(Some(&old)).unwrap())
                .unwrap();
            assert_same_rows(name, &mut disk, &mut fixture.disk(), &[&fixture]);
        }
    }
}

#[test]
fn damaged_backup_is_rebuilt_from_the_primary() {
    let fixture = load("gapped-4096");
    let original = fixture.loaded().table;
    let [_, _, header, array] = places(&fixture);
    for offset in [header, header + 16, array + 100] {
        let mut disk = damaged(&fixture, &[offset]);
        let Ok(Probe::Gpt(loaded)) = gpt::read(&mut disk, fixture.size, fixture.sector_size) else {
            panic!("offset {offset}")
        };
        assert_eq!(loaded.table, original);
        assert!(loaded.needs_rewrite);
        assert!(loaded.notices[0].starts_with("The backup GPT is damaged"));
    }
}

#[test]
fn both_copies_damaged_is_a_clear_error() {
    let fixture = load("one-512");
    let [p_header, p_array, b_header, b_array] = places(&fixture);
    for offsets in [[p_header + 16, b_header + 16], [p_array + 1, b_array + 1]] {
        let mut disk = damaged(&fixture, &offsets);
        let err = gpt::read(&mut disk, fixture.size, 512).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupt);
        let msg = err.to_string();
        assert!(
            msg.starts_with("both GPT copies are damaged: primary: "),
            "{msg}"
        );
        assert!(msg.contains("CRC mismatch (stored 0x"), "{msg}");
        assert!(msg.contains("LBA 131071"), "{msg}");
    }
    // A valid primary whose backup says something else (a write interrupted after the
    // backup): the primary wins, and the table is to be rewritten.
    let mut disk = fixture.disk();
    let mut sector = read_bytes(&mut disk, b_header, 512);
    sector[56] ^= 1; // disk GUID
    sector[16..20].fill(0);
    let crc = crc32(&sector[..92]);
    sector[16..20].copy_from_slice(&crc.to_le_bytes());
    disk.write_at(b_header, &sector).unwrap();
    let Probe::Gpt(loaded) = gpt::read(&mut disk, fixture.size, 512).unwrap() else {
        panic!("no table");
    };
    assert!(loaded.needs_rewrite);
    assert_eq!(loaded.table, fixture.loaded().table);
    assert!(
        loaded
            .notices
            .iter()
            .any(|n| n.contains("differs from the primary (disk GUID")),
        "{:?}",
        loaded.notices
    );
}

fn crc32(bytes: &[u8]) -> u32 {
    // Bitwise CRC-32 (IEEE), independent of the implementation under test.
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

// ---------------------------------------------------------------------------------------
// Sector sizes and MBRs

#[test]
fn tables_for_the_other_sector_size_are_named() {
    for (name, view, found) in [("one-4096", 512, 4096), ("several-512", 4096, 512)] {
        let fixture = load(name);
        let err = gpt::read(&mut fixture.disk(), fixture.size, view).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupt);
        assert_eq!(
            err.to_string(),
            format!("GPT for {found}-byte sectors found on a device with {view}-byte sectors")
        );
        let detected = gpt::detect_sector_size(&mut fixture.disk(), fixture.size).unwrap();
        assert_eq!(detected, Some(found));
    }
    for name in ["dos-512", "empty4194304-4096", "len248-512"] {
        let fixture = load(name);
        let detected = gpt::detect_sector_size(&mut fixture.disk(), fixture.size).unwrap();
        let want = (name != "dos-512").then_some(fixture.sector_size);
        assert_eq!(detected, want, "{name}");
    }
    assert_eq!(
        gpt::detect_sector_size(&mut MemDisk::new(1 << 20), 1 << 20).unwrap(),
        None
    );
}

#[test]
fn mbr_kinds_are_reported() {
    let dos = load("dos-512");
    assert!(matches!(dos.read(), Ok(Probe::NoTable(MbrKind::Plain))));

    // A hybrid MBR: a FAT partition next to the protective record.
    let fixture = load("one-512");
    let mut disk = fixture.disk();
    disk.write_at(0x1CE + 4, &[0x0C]).unwrap();
    let Ok(Probe::Gpt(loaded)) = gpt::read(&mut disk, fixture.size, 512) else {
        panic!()
    };
    assert_eq!(loaded.mbr, MbrKind::Hybrid);
    let err = loaded.ensure_rewritable().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert!(err.to_string().contains("hybrid MBR"), "{err}");
    assert!(fixture.loaded().ensure_rewritable().is_ok());

    // No MBR at all in front of a valid GPT: the GPT is used and the PMBR rewritten.
    let mut disk = fixture.disk();
    disk.write_at(0, &[0u8; 512]).unwrap();
    let Ok(Probe::Gpt(loaded)) = gpt::read(&mut disk, fixture.size, 512) else {
        panic!()
    };
    assert_eq!(loaded.mbr, MbrKind::None);
    assert!(loaded.needs_rewrite);
    assert!(loaded.notices[0].contains("no protective MBR"));

    // A protective MBR and nothing else.
    let mut disk = MemDisk::new(fixture.size);
    disk.write_at(0, &lba0(&mut fixture.disk(), 512)).unwrap();
    let err = gpt::read(&mut disk, fixture.size, 512).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt);
    assert!(err.to_string().contains("no GPT header at LBA 1"), "{err}");

    // An empty disk.
    let empty = gpt::read(&mut MemDisk::new(fixture.size), fixture.size, 512);
    assert!(matches!(empty, Ok(Probe::NoTable(MbrKind::None))));
}

#[test]
fn the_protective_mbr_keeps_boot_code_and_disk_signature() {
    let fixture = load("one-4096");
    let table = fixture.loaded().table;
    let mut old = vec![0xA5u8; 4096];
    old[0x1BE..0x200].fill(0);
    let pieces = table.serialize(Some(&old)).unwrap();
    let mbr = &pieces[4].bytes;
    assert_eq!(mbr.len(), 4096);
    assert!(mbr[..0x1BE].iter().all(|&b| b == 0xA5));
    assert!(mbr[0x200..].iter().all(|&b| b == 0xA5));
    assert_eq!(&mbr[0x1FE..0x200], &[0x55, 0xAA]);
    assert_eq!(&mbr[0x1C6..0x1CE], &[1, 0, 0, 0, 0xFF, 0x3F, 0, 0]);
}

// ---------------------------------------------------------------------------------------
// Fuzz seeds

/// Encodes a disk as a `gpt_read` fuzz input (fuzz/fuzz_targets/gpt_read.rs): a flags byte
/// (bit 0: 4096-byte sectors), the disk size (u64 LE), the head length (u32 LE), the head
/// (bytes from offset 0), then the tail (bytes that end at the end of the disk).
fn fuzz_input(
    disk: &mut MemDisk,
    sector_size: u32,
    head_sectors: u64,
    tail_sectors: u64,
) -> Vec<u8> {
    let ss = u64::from(sector_size);
    let size = disk.size();
    let head_len = (head_sectors * ss).min(size);
    let tail_len = (tail_sectors * ss).min(size - head_len);
    let mut input = vec![u8::from(sector_size == 4096)];
    input.extend_from_slice(&size.to_le_bytes());
    input.extend_from_slice(&(head_len as u32).to_le_bytes());
    input.extend(read_bytes(disk, 0, head_len as usize));
    input.extend(read_bytes(disk, size - tail_len, tail_len as usize));
    input
}

#[test]
fn fuzz_seed_corpus() {
    let mut seeds: Vec<(String, Vec<u8>)> = Vec::new();
    let mut fixtures = plain_gpts();
    fixtures.push(load("dos-512"));
    for fixture in &fixtures {
        let ss = u64::from(fixture.sector_size);
        let arrays = match fixture.read() {
            Ok(Probe::Gpt(loaded)) => loaded.table.entry_array_sectors(),
            _ => 0,
        };
        let mut variants = vec![("", fixture.disk())];
        if arrays > 0 {
            let [p_header, p_array, b_header, _] = places(fixture);
            variants.push(("-primary-crc", damaged(fixture, &[p_header + 16])));
            variants.push(("-array-crc", damaged(fixture, &[p_array + 3])));
            variants.push(("-both", damaged(fixture, &[p_header + 16, b_header + 16])));
        }
        for (suffix, mut disk) in variants {
            // Check each seed reads as expected before it is used.
            let probe = gpt::read(&mut disk, fixture.size, fixture.sector_size);
            match suffix {
                "-both" => assert!(probe.is_err()),
                _ => assert!(probe.is_ok(), "{}{suffix}", fixture.name),
            }
            let input = fuzz_input(&mut disk, fixture.sector_size, 2 + arrays, 1 + arrays);
            assert!(input.len() as u64 <= 13 + 2 * (2 + arrays) * ss);
            seeds.push((format!("{}{suffix}", fixture.name), input));
        }
    }
    // A disk that grew by a few sectors, so that the old backup lies in the tail.
    let fixture = load("one-512");
    let mut table = fixture.loaded().table;
    let grown_by = 8;
    let mut disk = MemDisk::new(fixture.size + grown_by * 512);
    disk.write_pieces(&table.serialize(None).unwrap()).unwrap();
    let Ok(Probe::Gpt(loaded)) = gpt::read(&mut disk, fixture.size + grown_by * 512, 512) else {
        panic!()
    };
    table
        .relocate_backup(table.disk_sectors() + grown_by)
        .unwrap();
    assert_eq!(loaded.table, table);
    seeds.push((
        "grown-by-8".into(),
        fuzz_input(&mut disk, 512, 34, 33 + grown_by),
    ));

    assert!(seeds.len() > 50);
    if let Some(dir) = std::env::var_os("GPT_FUZZ_CORPUS") {
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, input) in &seeds {
            std::fs::write(dir.join(name), input).unwrap();
        }
    }
}
