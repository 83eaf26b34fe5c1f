//! Disks on which every partition already exists but which the reference systemd-repart 262
//! refuses, because it charges each existing partition its minimum rounded up to the grain,
//! more than is physically there (docs/compat.md, item 29). The agent runs on every boot: it
//! must leave such a disk alone and succeed, every time.

mod common;

use std::path::{Path, PathBuf};

use common::*;

const HOME: &str = "933ac7e1-2eb4-4f13-b844-0e14e2aef915";

/// An image of `mib` MiB with the table of `script` (sfdisk's input), and definitions for
/// a root and, with `home`, a home partition.
fn disk_and_defs(s: &Scratch, mib: u64, script: &str, home: bool) -> (PathBuf, PathBuf) {
    let image = s.image("disk.img", mib * MIB);
    sh_input("sfdisk", &["-q", "disk.img"], &s.dir, &[], script);
    let mut files = vec![("10-root.conf", "[Partition]\nType=root\n")];
    if home {
        files.push(("20-home.conf", "[Partition]\nType=home\n"));
    }
    (image, s.defs("defs", &files))
}

/// The reference refuses the disk; ours leaves every byte as it is, twice.
fn reference_refuses_and_ours_changes_nothing(
    s: &Scratch,
    image: &Path,
    defs: &Path,
    extra: &[&str],
) {
    let reference_image = image.with_file_name("reference.img");
    copy_sparse(image, &reference_image);
    let args = real_run_args(defs, &reference_image, extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let reference = oracle(&s.dir, &args);
    reference.expect(1, "reference");
    assert!(
        reference
            .stderr
            .contains("Can't fit requested partitions into available free space"),
        "{}",
        reference.stderr
    );

    let before = hash_all(image);
    let first = Agent::plain().run(&real_run_args(defs, image, extra));
    first.ok("first run");
    assert!(first.logged("No changes."), "{}", first.stderr);
    assert!(
        first
            .stderr
            .contains("systemd-repart 262 refuses this disk"),
        "{}",
        first.stderr
    );
    assert_eq!(hash_all(image), before, "the first run changed the image");

    let second = Agent::plain().run(&real_run_args(defs, image, extra));
    second.ok("second run");
    assert!(second.logged("No changes."), "{}", second.stderr);
    assert_eq!(hash_all(image), before, "the second run changed the image");
}

/// sfdisk with an explicit size ends the root at the last usable LBA, 512 bytes short of
/// the 4 KiB grain: v262's defaults refuse it.
#[test]
fn a_root_up_to_the_last_usable_lba_is_left_alone() {
    let s = Scratch::new("capped-last-lba");
    // 64 MiB: the last usable LBA is 131038.
    let script = format!("label: gpt\nstart=2048, size=128991, type={ROOT_X86_64}, name=root\n");
    let (image, defs) = disk_and_defs(&s, 64, &script, false);
    let dump = sfdisk_dump(&image, 512);
    assert!(dump.contains("last-lba: 131038"), "{dump}");
    assert!(
        dump.contains("start=        2048, size=      128991"),
        "{dump}"
    );
    reference_refuses_and_ours_changes_nothing(&s, &image, &defs, &[]);
}

/// Partitions on 4 KiB boundaries (as v262 itself makes them with its default grain), a few
/// sectors apart, under `--grain-size=1M`: each is charged up to the next MiB.
#[test]
fn four_kib_aligned_partitions_under_a_one_mib_grain_are_left_alone() {
    let s = Scratch::new("capped-grain-1m");
    let script = format!(
        "label: gpt\nstart=2048, size=40952, type={ROOT_X86_64}, name=root\n\
         start=43008, size=481240, type={HOME}, name=home\n"
    );
    let (image, defs) = disk_and_defs(&s, 256, &script, true);
    reference_refuses_and_ours_changes_nothing(&s, &image, &defs, &["--grain-size=1M"]);
}
