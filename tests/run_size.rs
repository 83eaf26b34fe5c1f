//! `--size=` on an image file with a table: the grown file's table is written back with its
//! backup at the new end before planning, as systemd-repart 262 does ("Resized partition
//! table."), so the image is consistent even when the plan then fails, and a plan without
//! changes says "No changes." (found by the conformance suite).

use std::fs;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use repart_rs::gpt::{self, Entry, Probe, Table};
use uuid::Uuid;

const MIB: u64 = 1 << 20;
const ROOT_X86_64: &str = "4f68bce3-e8cd-4db1-96e7-fbcaf984b709";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("repart-run-size-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("defs")).unwrap();
    dir
}

/// A 64 MiB image whose table holds a 16 MiB root partition at 1 MiB.
fn image_with_root(path: &Path) {
    let mut table = Table::new(Uuid::from_u128(0xb1), 64 * MIB, 512).unwrap();
    table.entries[0] = Entry {
        type_guid: Uuid::parse_str(ROOT_X86_64).unwrap(),
        unique_guid: Uuid::from_u128(0xa1),
        first_lba: 2048,
        last_lba: 2048 + 32768 - 1,
        name: Entry::encode_name("root").unwrap(),
        ..Entry::default()
    };
    let file = fs::File::create(path).unwrap();
    file.set_len(64 * MIB).unwrap();
    for piece in table.serialize(None).unwrap() {
        file.write_all_at(&piece.bytes, piece.offset).unwrap();
    }
}

fn repart(dir: &Path, size: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_repart"))
        .current_dir(dir)
        .args([
            "--dry-run=no",
            "--empty=allow",
            "--seed=e2f1a58f-2c2a-4a4b-9f3e-7c1c0de5a5a1",
            "--definitions=defs",
            size,
            "img",
        ])
        .output()
        .unwrap()
}

/// The table on the image, and whether reading it found something to repair.
fn table_of(path: &Path) -> (Table, bool) {
    let bytes = fs::read(path).unwrap();
    let mut reader = bytes.as_slice();
    match gpt::read(&mut reader, bytes.len() as u64, 512).unwrap() {
        Probe::Gpt(loaded) => (loaded.table, loaded.needs_rewrite),
        Probe::NoTable(kind) => panic!("no GPT on {}: {kind:?}", path.display()),
    }
}

#[test]
fn a_failing_plan_leaves_the_grown_image_with_its_table_resized() {
    let dir = scratch("fail");
    image_with_root(&dir.join("img"));
    fs::write(
        dir.join("defs/10-home.conf"),
        "[Partition]\nType=home\nSizeMinBytes=1G\n",
    )
    .unwrap();
    let out = repart(&dir, "--size=128M");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("Resized partition table."), "{stderr}");
    assert_eq!(fs::metadata(dir.join("img")).unwrap().len(), 128 * MIB);
    let (table, needs_rewrite) = table_of(&dir.join("img"));
    assert!(!needs_rewrite, "the backup GPT was left short of the end");
    assert_eq!(table.alternate_lba, 128 * MIB / 512 - 1);
    assert_eq!(table.entries[0].last_lba, 2048 + 32768 - 1);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn growth_alone_is_no_change_once_the_table_is_resized() {
    let dir = scratch("nochange");
    image_with_root(&dir.join("img"));
    fs::write(
        dir.join("defs/10-root.conf"),
        "[Partition]\nType=root\nSizeMaxBytes=16M\n",
    )
    .unwrap();
    let out = repart(&dir, "--size=128M");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("Resized partition table."), "{stderr}");
    assert!(stderr.contains("No changes."), "{stderr}");
    let (table, needs_rewrite) = table_of(&dir.join("img"));
    assert!(!needs_rewrite);
    assert_eq!(table.last_usable_lba, 128 * MIB / 512 - 34);
    fs::remove_dir_all(&dir).unwrap();
}
