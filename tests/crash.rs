//! Crash safety: the agent stopped after every step of a real run (and halfway through every
//! write of the table and of swap signatures), as a power cut or a killed process would stop
//! it, must leave a disk that
//! (a) still parses, as the old table or the new one (our parser; `sfdisk -d` agrees),
//! (b) has every byte of every partition the plan keeps unchanged,
//! (c) converges, when the agent runs again, to exactly the table an uninterrupted run
//!     writes (both GPT regions byte for byte) and, on loop devices, to kernel partitions
//!     equal to that table,
//! (d) and then gives "No changes." without writing anything.
//!
//! The steps are the failpoints the binary passes (`REPART_FAILPOINT=list`), collected from
//! an uninterrupted run of each scenario, so new steps are covered without editing this
//! file. The binary comes from [`Agent::failpoints`]: built with `--features failpoints`
//! (by this test itself unless the tests are built with the feature); never skipped.

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};

use common::*;
use repart_rs::gpt::{Probe, Table};

/// One crash scenario.
struct Scenario {
    name: &'static str,
    sector_size: u32,
    /// Makes the input image in the scratch directory; returns it and the definitions.
    setup: fn(&Scratch) -> (PathBuf, PathBuf),
    /// Flags of the interrupted run and of the run that must converge.
    flags: &'static [&'static str],
    /// Flags of the last run, which must find nothing to do.
    final_flags: &'static [&'static str],
    /// Run on a loop device (with `losetup` flags) instead of the image file.
    loop_flags: Option<&'static [&'static str]>,
    /// On the loop device, partition 1 is mounted (read-only, so that its bytes stay
    /// comparable) during every run, as root is on a running system.
    mount_root: bool,
    /// The disk is emptied first (`--empty=force`): between erasing and writing the table
    /// there is, by design, no table at all.
    may_have_no_table: bool,
    /// Names of the input's partitions the run deletes (and may re-create at the same
    /// place with the same UUID: a factory reset): their bytes are not kept.
    deleted: &'static [&'static str],
}

/// Byte ranges of the input's partitions that the plan keeps, at their old extent.
fn kept_ranges(old: Option<&Table>, new: &Table, deleted: &[&str]) -> Vec<(u64, u64)> {
    let Some(old) = old else { return Vec::new() };
    let ss = old.sector_size;
    parts(old)
        .into_iter()
        .filter(|p| !deleted.contains(&p.name.as_str()))
        .filter(|p| {
            parts(new)
                .iter()
                .any(|n| n.uuid == p.uuid && n.first_lba == p.first_lba)
        })
        .map(|p| (p.offset(ss), p.size(ss)))
        .collect()
}

/// A table in one paragraph, for failure messages.
fn describe(t: &Table) -> String {
    format!(
        "sector {} guid {} usable {}..={} entries {}x{} at {} backup header {} entries {} extra {} bytes; {:?}",
        t.sector_size,
        t.disk_guid,
        t.first_usable_lba,
        t.last_usable_lba,
        t.entries.len(),
        t.entry_size,
        t.entries_lba,
        t.alternate_lba,
        t.backup_entries_lba,
        t.header_extra.len(),
        parts(t)
            .iter()
            .map(|p| (p.number, p.first_lba, p.last_lba, p.name.clone()))
            .collect::<Vec<_>>()
    )
}

fn hashes(image: &Path, ranges: &[(u64, u64)]) -> Vec<[u8; 32]> {
    ranges.iter().map(|&(o, l)| hash(image, o, l)).collect()
}

/// The target of a run: the image, or a loop device over it (unmounted and detached on
/// drop, in this order).
struct Target {
    image: PathBuf,
    mount: Option<Mount>,
    device: Option<Loop>,
}

impl Target {
    fn new(scenario: &Scenario, image: &Path) -> Target {
        let device = scenario.loop_flags.map(|flags| {
            let lo = Loop::attach(image, flags);
            // The kernel knows the table the disk starts with, as after a boot.
            if gpt(image, scenario.sector_size).is_some() {
                lo.partx_add();
            }
            lo
        });
        let mount = match &device {
            Some(lo) if scenario.mount_root => {
                let dir = image.with_extension("mnt");
                let p1 = lo.partition(1);
                Some(Mount::new(&["-o", "ro,noload", p1.to_str().unwrap()], &dir))
            }
            _ => None,
        };
        Target {
            image: image.to_owned(),
            mount,
            device,
        }
    }

    fn path(&self) -> &Path {
        match &self.device {
            Some(lo) => &lo.node,
            None => &self.image,
        }
    }

    fn args(&self, defs: &Path, flags: &[&str]) -> Vec<String> {
        real_run_args(defs, self.path(), flags)
    }

    /// On a loop device: the kernel's partitions must be the table's (and a mounted root
    /// still readable).
    fn check_kernel(&self, table: &Table, what: &str) {
        if let Some(lo) = &self.device {
            assert_eq!(
                lo.kernel_view(),
                kernel_units(table),
                "{what}: kernel partitions"
            );
        }
        if let Some(mount) = &self.mount {
            let found = std::fs::read_to_string(mount.dir.join("marker")).unwrap();
            assert_eq!(found, "root file system", "{what}: mounted root");
        }
    }
}

fn run_scenario(scenario: &Scenario) {
    let agent = Agent::failpoints();
    let s = Scratch::new_in_memory(scenario.name);
    let (input, defs) = (scenario.setup)(&s);
    let ss = scenario.sector_size;

    // The uninterrupted run: the failpoints it passes and the disk it leaves.
    let done = s.path("done.img");
    copy_sparse(&input, &done);
    let (steps, new, done_regions) = {
        let target = Target::new(scenario, &done);
        let out = agent.run_env(
            &target.args(&defs, scenario.flags),
            &[("REPART_FAILPOINT", "list")],
        );
        out.ok(&format!("{}: uninterrupted run", scenario.name));
        let steps: Vec<String> = out
            .stderr
            .lines()
            .filter_map(|l| l.strip_prefix("failpoint: "))
            .map(str::to_owned)
            .collect();
        let new = clean_gpt(target.path(), ss);
        target.check_kernel(&new, "uninterrupted run");
        let regions = gpt_regions(target.path(), &new);
        (steps, new, regions)
    };
    // The old table as it reads on the disk the run leaves (`--size=` grows an image first).
    let old = {
        let grown = s.path("old.img");
        copy_sparse(&input, &grown);
        File::options()
            .write(true)
            .open(&grown)
            .unwrap()
            .set_len(disk_size(&done))
            .unwrap();
        let table = gpt(&grown, ss);
        std::fs::remove_file(grown).unwrap();
        table
    };
    for piece in [
        "gpt-backup-entry-array",
        "gpt-backup-header",
        "gpt-primary-entry-array",
        "gpt-primary-header",
        "gpt-protective-MBR",
    ] {
        assert!(
            steps.iter().any(|s| s == piece),
            "{}: the binary has no failpoints, or skipped {piece}: {steps:?}",
            scenario.name
        );
    }
    let torn = steps
        .iter()
        .filter(|s| s.starts_with("gpt-") || s.starts_with("swap-"))
        .map(|s| format!("torn:{s}"));
    let stops: Vec<String> = steps.iter().cloned().chain(torn).collect();
    let kept = kept_ranges(old.as_ref(), &new, scenario.deleted);
    assert!(old.is_none() || scenario.may_have_no_table || !kept.is_empty());
    let kept_hashes = hashes(&input, &kept);

    for stop in &stops {
        let what = format!("{} stopped at {stop}", scenario.name);
        let image = s.path("work.img");
        let _ = std::fs::remove_file(&image);
        copy_sparse(&input, &image);
        let target = Target::new(scenario, &image);
        let args = target.args(&defs, scenario.flags);
        let out = agent.run_env(&args, &[("REPART_FAILPOINT", stop.as_str())]);
        out.expect(FAILPOINT_EXIT, &what);
        assert!(
            out.logged(&format!("Stopping at failpoint {stop}.")),
            "{what}: {}",
            out.stderr
        );

        // (a) The old table or the new one (or, after emptying the disk, none yet).
        match probe(target.path(), ss) {
            Ok(Probe::Gpt(loaded)) => {
                assert!(
                    Some(&loaded.table) == old.as_ref() || loaded.table == new,
                    "{what}: the disk holds neither the old nor the new table:\n{}\nold: {}\nnew: {}",
                    describe(&loaded.table),
                    old.as_ref().map(describe).unwrap_or_default(),
                    describe(&new)
                );
                // sfdisk agrees, except on a disk being emptied whose protective MBR is
                // erased and not yet rewritten: libfdisk then sees no label at all, while
                // our reader finds the old table's backup (or already the new one's).
                let unlabelled = read_bytes(target.path(), 510, 2) != [0x55, 0xaa];
                if let Err(e) = sfdisk_try(target.path(), ss) {
                    assert!(scenario.may_have_no_table && unlabelled, "{what}: {e}");
                }
            }
            Ok(Probe::NoTable(_)) => {
                assert!(scenario.may_have_no_table, "{what}: no table left")
            }
            Err(e) => panic!("{what}: the disk does not parse: {e}"),
        }
        // (b) Kept partitions are untouched.
        assert_eq!(
            hashes(&image, &kept),
            kept_hashes,
            "{what}: kept partitions"
        );

        // (c) A rerun converges to the uninterrupted run's table and kernel view.
        let again = Agent::plain().run(&args);
        again.ok(&format!("{what}: rerun"));
        let table = clean_gpt(target.path(), ss);
        assert_eq!(table, new, "{what}: rerun table");
        assert!(
            gpt_regions(target.path(), &table) == done_regions,
            "{what}: the GPT regions differ from an uninterrupted run's"
        );
        target.check_kernel(&table, &format!("{what}: after the rerun"));
        assert_eq!(
            hashes(&image, &kept),
            kept_hashes,
            "{what}: kept partitions"
        );

        // (d) Then there is nothing left to do.
        let before = hash_all(&image);
        let last = Agent::plain().run(&target.args(&defs, scenario.final_flags));
        last.ok(&format!("{what}: last run"));
        assert!(last.logged("No changes."), "{what}: {}", last.stderr);
        assert_eq!(hash_all(&image), before, "{what}: the last run wrote");
        target.check_kernel(&table, &format!("{what}: after the last run"));
    }
    eprintln!("{}: {} stops: {stops:?}", scenario.name, stops.len());
}

fn grown_512(s: &Scratch) -> (PathBuf, PathBuf) {
    (grown_disk(s, "input.img", 512), standard_defs(s))
}

/// The standard grown disk with an ext4 file system (holding a file `marker`) in root.
fn grown_512_ext4_root(s: &Scratch) -> (PathBuf, PathBuf) {
    let image = grown_disk(s, "input.img", 512);
    let fs = s.image("root.img", 16 * MIB);
    sh("mkfs.ext4", &["-q", "-F", fs.to_str().unwrap()]);
    let marker = s.path("marker");
    std::fs::write(&marker, "root file system").unwrap();
    let command = format!("write {} marker", marker.display());
    sh("debugfs", &["-w", "-R", &command, fs.to_str().unwrap()]);
    write_bytes(&image, MIB, &read_bytes(&fs, 0, 16 * MIB));
    std::fs::remove_file(&fs).unwrap();
    (image, standard_defs(s))
}

/// The standard disk before it grew: 32 MiB, for `--size=`.
fn small_512(s: &Scratch) -> (PathBuf, PathBuf) {
    let (image, defs) = grown_512(s);
    File::options()
        .write(true)
        .open(&image)
        .unwrap()
        .set_len(32 * MIB)
        .unwrap();
    (image, defs)
}

fn grown_4096(s: &Scratch) -> (PathBuf, PathBuf) {
    (grown_disk(s, "input.img", 4096), standard_defs(s))
}

fn used_with_home(s: &Scratch) -> (PathBuf, PathBuf) {
    let defs = factory_reset_defs(s);
    let image = used_disk_with_home(s, &defs);
    std::fs::rename(&image, s.path("input.img")).unwrap();
    (s.path("input.img"), defs)
}

fn used_with_home_same_size(s: &Scratch) -> (PathBuf, PathBuf) {
    let (image, defs) = used_with_home(s);
    File::options()
        .write(true)
        .open(&image)
        .unwrap()
        .set_len(96 * MIB)
        .unwrap();
    (image, defs)
}

/// Three old partitions where the new layout puts others.
fn three_old_partitions(s: &Scratch) -> (PathBuf, PathBuf) {
    let image = s.image("input.img", 128 * MIB);
    sh_input(
        "sfdisk",
        &["-q", "input.img"],
        &s.dir,
        &[],
        "label: gpt\nstart=2MiB, size=20MiB\nsize=20MiB\nsize=20MiB\n",
    );
    fill_pattern(&image, 2 * MIB, 60 * MIB, 5);
    (image, standard_defs(s))
}

#[test]
fn grow_and_create_on_an_image_file() {
    run_scenario(&Scenario {
        name: "grow-create-image",
        sector_size: 512,
        setup: grown_512,
        flags: &[],
        final_flags: &[],
        loop_flags: None,
        mount_root: false,
        may_have_no_table: false,
        deleted: &[],
    });
}

#[test]
fn grow_and_create_on_a_loop_device() {
    run_scenario(&Scenario {
        name: "grow-create-loop",
        sector_size: 512,
        setup: grown_512,
        flags: &[],
        final_flags: &[],
        loop_flags: Some(&[]),
        mount_root: false,
        may_have_no_table: false,
        deleted: &[],
    });
}

/// `--size=` grows the image file first, then grow + create.
#[test]
fn size_grow_and_create_on_an_image_file() {
    run_scenario(&Scenario {
        name: "size-grow-create-image",
        sector_size: 512,
        setup: small_512,
        flags: &["--size=128M"],
        final_flags: &["--size=128M"],
        loop_flags: None,
        mount_root: false,
        may_have_no_table: false,
        deleted: &[],
    });
}

/// Grow + create while root is mounted: BLKPG resizes it in use at every rerun.
#[test]
fn grow_and_create_on_a_loop_device_with_root_mounted() {
    run_scenario(&Scenario {
        name: "grow-create-loop-mounted",
        sector_size: 512,
        setup: grown_512_ext4_root,
        flags: &[],
        final_flags: &[],
        loop_flags: Some(&[]),
        mount_root: true,
        may_have_no_table: false,
        deleted: &[],
    });
}

/// The disk has grown since home was made: root grows over the old home and the old end of
/// the disk, home is re-created at the new end (over the old backup GPT).
#[test]
fn factory_reset_on_a_grown_loop_device() {
    run_scenario(&Scenario {
        name: "factory-reset-grown-loop",
        sector_size: 512,
        setup: used_with_home,
        flags: &["--factory-reset=yes"],
        final_flags: &[],
        loop_flags: Some(&[]),
        mount_root: false,
        may_have_no_table: false,
        deleted: &["home"],
    });
}

/// The disk has not grown: home is deleted and re-created in its place.
#[test]
fn factory_reset_on_an_image_file() {
    run_scenario(&Scenario {
        name: "factory-reset-image",
        sector_size: 512,
        setup: used_with_home_same_size,
        flags: &["--factory-reset=yes"],
        final_flags: &[],
        loop_flags: None,
        mount_root: false,
        may_have_no_table: false,
        deleted: &["home"],
    });
}

#[test]
fn empty_force_on_a_loop_device_with_stale_kernel_partitions() {
    run_scenario(&Scenario {
        name: "empty-force-loop",
        sector_size: 512,
        setup: three_old_partitions,
        flags: &["--empty=force"],
        final_flags: &[],
        loop_flags: Some(&[]),
        mount_root: false,
        may_have_no_table: true,
        deleted: &[],
    });
}

#[test]
fn grow_and_create_on_a_4096_byte_sector_image() {
    run_scenario(&Scenario {
        name: "grow-create-4k-image",
        sector_size: 4096,
        setup: grown_4096,
        flags: &[],
        final_flags: &[],
        loop_flags: None,
        mount_root: false,
        may_have_no_table: false,
        deleted: &[],
    });
}

#[test]
fn grow_and_create_on_a_4096_byte_sector_loop_device() {
    run_scenario(&Scenario {
        name: "grow-create-4k-loop",
        sector_size: 4096,
        setup: grown_4096,
        flags: &[],
        final_flags: &[],
        loop_flags: Some(&["--sector-size", "4096"]),
        mount_root: false,
        may_have_no_table: false,
        deleted: &[],
    });
}
