//! The first-boot agent's write path on image files, where no loop device is needed:
//! whole images compared byte for byte with what the reference systemd-repart 262 makes of
//! the same input, erased leftovers, factory reset, discard (hole punching), dry runs,
//! "No changes." and exit codes.

mod common;

use std::path::{Path, PathBuf};

use common::*;

fn agent(defs: &Path, image: &Path, extra: &[&str]) -> Outcome {
    Agent::plain().run(&real_run_args(defs, image, extra))
}

fn reference(dir: &Path, defs: &Path, image: &Path, extra: &[&str]) -> Outcome {
    let args = real_run_args(defs, image, extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    oracle(dir, &args)
}

fn copy_of(image: &Path, name: &str) -> PathBuf {
    let copy = image.with_file_name(name);
    copy_sparse(image, &copy);
    copy
}

/// Grow + create on a grown image gives exactly the reference's image, every byte (the
/// table, the swap signature, the untouched root), for both sector sizes; a second run
/// changes nothing.
fn same_image_as_the_reference(sector_size: u32) {
    let s = Scratch::new("image-grow");
    let defs = standard_defs(&s);
    let image = grown_disk(&s, "disk.img", sector_size);
    let reference_image = copy_of(&image, "reference.img");
    reference(&s.dir, &defs, &reference_image, &[]).ok("reference");
    let out = agent(&defs, &image, &[]);
    out.ok("grow + create");
    assert!(out.logged("Writing new partition table."), "{}", out.stderr);
    let table = clean_gpt(&image, sector_size);
    assert_eq!(parts(&table).len(), 3);
    assert_eq!(hash_all(&image), hash_all(&reference_image));
    sfdisk_dump(&image, sector_size);

    let again = agent(&defs, &image, &[]);
    again.ok("second run");
    assert!(again.logged("No changes."), "{}", again.stderr);
    assert_eq!(hash_all(&image), hash_all(&reference_image));
}

#[test]
fn grow_and_create_gives_the_reference_image() {
    same_image_as_the_reference(512);
}

#[test]
fn grow_and_create_gives_the_reference_image_on_4096_byte_sectors() {
    same_image_as_the_reference(4096);
}

/// `--empty=create --size=`: a new image, identical to the reference's.
#[test]
fn empty_create_gives_the_reference_image() {
    let s = Scratch::new("image-create");
    let defs = standard_defs(&s);
    let (ours, theirs) = (s.path("ours.img"), s.path("theirs.img"));
    agent(&defs, &ours, &["--empty=create", "--size=96M"]).ok("--empty=create");
    reference(&s.dir, &defs, &theirs, &["--empty=create", "--size=96M"]).ok("reference");
    assert_eq!(disk_size(&ours), 96 * MIB);
    assert_eq!(hash_all(&ours), hash_all(&theirs));
    assert_eq!(parts(&clean_gpt(&ours, 512)).len(), 3);
}

/// `--empty=force` (without discard) on an image full of old signatures: the table is the
/// reference's, and the only signatures left anywhere are the new GPT, its protective MBR
/// and the new swap area.
#[test]
fn empty_force_leaves_no_old_signature() {
    let s = Scratch::new("image-force");
    let defs = standard_defs(&s);
    let image = s.image("disk.img", 128 * MIB);
    sh_input(
        "sfdisk",
        &["-q", "disk.img"],
        &s.dir,
        &[],
        "label: gpt\nstart=2MiB, size=40MiB\nsize=40MiB\nsize=40MiB\n",
    );
    let old = clean_gpt(&image, 512);
    for (p, tool) in parts(&old).iter().zip(["mkfs.ext4", "mkswap", "mkfs.ext4"]) {
        let part = s.image("part.img", p.size(512));
        sh(tool, &["-q", part.to_str().unwrap()]);
        write_bytes(&image, p.offset(512), &read_bytes(&part, 0, p.size(512)));
        std::fs::remove_file(&part).unwrap();
        assert!(!blkid(&image, Some((p.offset(512), p.size(512)))).is_empty());
    }
    let reference_image = copy_of(&image, "reference.img");
    reference(
        &s.dir,
        &defs,
        &reference_image,
        &["--empty=force", "--discard=no"],
    )
    .ok("reference");
    agent(&defs, &image, &["--empty=force", "--discard=no"]).ok("--empty=force");
    let table = clean_gpt(&image, 512);
    assert_eq!(table, clean_gpt(&reference_image, 512));
    assert_eq!(
        gpt_regions(&image, &table),
        gpt_regions(&reference_image, &table)
    );
    let swap = part(&table, "swap");
    let mut found = wipefs(&image, None);
    found.sort();
    assert_eq!(found, ["0x1fe PMBR", "0x200 gpt", "0x7fffe00 gpt"]);
    for p in parts(&table) {
        let range = (p.offset(512), p.size(512));
        let want: &[&str] = if p == swap { &["0xff6 swap"] } else { &[] };
        assert_eq!(wipefs(&image, Some(range)), want, "{}", p.name);
    }
    // The old ext4 at 2 MiB lay in what is now the head of root: erased. (Old signatures in
    // the middle of a new partition, where no prober looks, stay without discard, as in
    // systemd-repart, whose libblkid wipe looks at the same places.)
    assert_eq!(
        blkid(&image, Some((2 * MIB, 40 * MIB))),
        Vec::<String>::new()
    );
}

/// Factory reset on a grown image: the reference's table, and the old home's bytes gone
/// from its whole range (discarded); with `--discard=no`, its signatures are gone.
#[test]
fn factory_reset_gives_the_reference_table_and_erases_the_old_home() {
    for discard in [true, false] {
        let s = Scratch::new("image-reset");
        let defs = factory_reset_defs(&s);
        let image = used_disk_with_home(&s, &defs);
        let old = gpt(&image, 512).unwrap();
        let old_home = part(&old, "home");
        let range = (old_home.offset(512), old_home.size(512));
        assert!(blkid(&image, Some(range)).contains(&"TYPE=ext4".to_owned()));
        let mut flags = vec!["--factory-reset=yes"];
        if !discard {
            flags.push("--discard=no");
        }
        let reference_image = copy_of(&image, "reference.img");
        reference(&s.dir, &defs, &reference_image, &flags).ok("reference");
        agent(&defs, &image, &flags).ok("factory reset");
        let table = clean_gpt(&image, 512);
        assert_eq!(table, clean_gpt(&reference_image, 512), "discard={discard}");
        assert_eq!(
            gpt_regions(&image, &table),
            gpt_regions(&reference_image, &table)
        );
        assert_eq!(
            blkid(&image, Some(range)),
            Vec::<String>::new(),
            "discard={discard}"
        );
        assert_eq!(
            wipefs(&image, Some(range)),
            Vec::<String>::new(),
            "discard={discard}"
        );
        if discard {
            let bytes = read_bytes(&image, range.0, range.1);
            assert!(bytes.iter().all(|&b| b == 0), "old home not erased");
            assert_eq!(data_bytes(&image, range.0, range.1), 0);
        }
        let again = agent(&defs, &image, &[]);
        again.ok("run after the reset");
        assert!(again.logged("No changes."), "{}", again.stderr);
    }
}

/// Discard on an image file punches holes over the new partitions and the gap after them;
/// `--discard=no` punches none.
#[test]
fn discard_punches_holes_only_when_asked() {
    for discard in [true, false] {
        let s = Scratch::new("image-discard");
        let defs = standard_defs(&s);
        let image = grown_disk(&s, "disk.img", 512);
        let trial = copy_of(&image, "trial.img");
        agent(&defs, &trial, &[]).ok("trial run");
        let planned = clean_gpt(&trial, 512);
        let home = part(&planned, "home");
        let end = (planned.last_usable_lba + 1) * 512;
        fill_pattern(&image, home.offset(512), end - home.offset(512), 9);
        let flags: &[&str] = if discard { &[] } else { &["--discard=no"] };
        let out = agent(&defs, &image, flags);
        out.ok("grow + create");
        assert_eq!(clean_gpt(&image, 512), planned);
        let data = data_bytes(&image, home.offset(512), home.size(512));
        if discard {
            assert_eq!(data, 0);
            assert!(out.logged("Successfully discarded data from future partition 1."));
        } else {
            assert_eq!(data, home.size(512));
            assert!(
                !out.stderr
                    .lines()
                    .any(|l| l.contains("discarded") || l.contains("not discarding")),
                "{}",
                out.stderr
            );
        }
        assert_eq!(data_bytes(&image, MIB, 16 * MIB), 16 * MIB);
    }
}

/// An image on ramfs, which cannot punch holes: "discard unsupported" is logged and the run
/// succeeds with the planned table.
#[test]
fn discard_unsupported_on_an_image_is_logged() {
    let s = Scratch::new("image-ramfs");
    let defs = standard_defs(&s);
    let made = grown_disk(&s, "made.img", 512);
    let planned_copy = copy_of(&made, "planned.img");
    agent(&defs, &planned_copy, &[]).ok("planning run");
    let mnt = s.subdir("ramfs");
    let ramfs = Mount::new(&["-t", "ramfs", "none"], &mnt);
    let image = mnt.join("disk.img");
    copy_sparse(&made, &image);
    let out = agent(&defs, &image, &[]);
    out.ok("grow + create on ramfs");
    assert!(
        out.logged("Storage does not support discard, not discarding data in future partition 1."),
        "{}",
        out.stderr
    );
    assert_eq!(hash_all(&image), hash_all(&planned_copy));
    ramfs.unmount();
}

/// A dry run writes nothing and says what a real run would do.
#[test]
fn dry_run_writes_nothing() {
    let s = Scratch::new("image-dry");
    let defs = standard_defs(&s);
    let image = grown_disk(&s, "disk.img", 512);
    let before = hash_all(&image);
    let out = Agent::plain().run(&[
        format!("--definitions={}", defs.display()),
        format!("--seed={SEED}"),
        image.display().to_string(),
    ]);
    out.ok("dry run");
    assert!(
        out.logged("Refusing to repartition, please re-run with --dry-run=no."),
        "{}",
        out.stderr
    );
    assert_eq!(hash_all(&image), before);
}

/// Exit 77 without a GPT under `--empty=refuse` (the default), and with a DOS label under
/// `--empty=allow`; nothing is written either way. A blank image under `--empty=allow` gets
/// the reference's table.
#[test]
fn labels_and_exit_77() {
    let s = Scratch::new("image-77");
    let defs = standard_defs(&s);
    let blank = s.image("blank.img", 64 * MIB);
    let out = agent(&defs, &blank, &[]);
    out.expect(77, "no GPT, --empty=refuse");
    assert!(
        out.stderr
            .contains("has no GPT disk label, not repartitioning."),
        "{}",
        out.stderr
    );
    assert_eq!(data_bytes(&blank, 0, 64 * MIB), 0);

    let dos = s.image("dos.img", 64 * MIB);
    sh_input(
        "sfdisk",
        &["-q", "dos.img"],
        &s.dir,
        &[],
        "label: dos\nsize=8MiB\n",
    );
    let before = hash_all(&dos);
    agent(&defs, &dos, &["--empty=allow"]).expect(77, "DOS label, --empty=allow");
    assert_eq!(hash_all(&dos), before);

    let reference_image = copy_of(&blank, "reference.img");
    reference(&s.dir, &defs, &reference_image, &["--empty=allow"]).ok("reference");
    agent(&defs, &blank, &["--empty=allow"]).ok("--empty=allow on a blank image");
    assert_eq!(hash_all(&blank), hash_all(&reference_image));
}

/// The signature regions of space a partition grows into are zeroed by punching holes in an
/// image file (no data written), or, with `--discard=no`, by writing zeros (the blocks stay
/// allocated).
#[test]
fn grown_space_is_zeroed_by_punching_holes_unless_discard_is_off() {
    for discard in [true, false] {
        let s = Scratch::new("image-grow-zero");
        let defs = s.defs("defs", &[("10-root.conf", "[Partition]\nType=root\n")]);
        let image = grown_disk(&s, "disk.img", 512);
        let trial = copy_of(&image, "trial.img");
        agent(&defs, &trial, &[]).ok("trial run");
        let root = part(&clean_gpt(&trial, 512), "root-x86-64");
        let old_end = 17 * MIB;
        let new_end = root.offset(512) + root.size(512);
        fill_pattern(&image, old_end, new_end - old_end, 5);
        let flags: &[&str] = if discard { &[] } else { &["--discard=no"] };
        agent(&defs, &image, flags).ok("grow");
        let tail = (new_end - 2 * MIB, 2 * MIB);
        let mirror = (root.offset(512) + 64 * MIB, 4096);
        for (offset, len) in [tail, mirror] {
            let bytes = read_bytes(&image, offset, len);
            assert!(
                bytes.iter().all(|&b| b == 0),
                "bytes at {offset} not zeroed"
            );
            let allocated = if discard { 0 } else { len };
            assert_eq!(
                data_bytes(&image, offset, len),
                allocated,
                "discard={discard}"
            );
        }
        // Between the regions the pattern stays: only signature regions are erased.
        assert_eq!(data_bytes(&image, old_end, MIB), MIB);
    }
}
