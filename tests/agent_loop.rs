//! The first-boot agent (`repart --dry-run=no`) on real loop devices: the table it writes
//! (compared with the reference systemd-repart 262 run on a copy of the same image), what
//! the kernel knows afterwards (sysfs, 512-byte units), erased signatures, untouched
//! existing partitions, factory reset, mounted partitions, `--empty=force` with stale kernel
//! partitions, 4096-byte sectors, discard, read-only devices and exit codes.
//!
//! The host kernel has no GPT parser: partitions only appear through BLKPG, so the tests use
//! `partx -a` where a booting kernel would have read the table. Needs root.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// A real run of the standard flags on `target`.
fn agent(defs: &Path, target: &Path, extra: &[&str]) -> Outcome {
    Agent::plain().run(&real_run_args(defs, target, extra))
}

/// The reference's real run on `image` (a file in `dir`), with the same flags.
fn reference(dir: &Path, defs: &Path, image: &Path, extra: &[&str]) -> Outcome {
    let args = real_run_args(defs, image, extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    oracle(dir, &args)
}

/// A copy of `image` named `name`, next to it.
fn copy_of(image: &Path, name: &str) -> PathBuf {
    let copy = image.with_file_name(name);
    copy_sparse(image, &copy);
    copy
}

/// Grow + create on a grown 512-byte-sector disk: the table is the reference's, the backup
/// is at the end, the kernel knows exactly the table's partitions, root's bytes are untouched,
/// home has no signature, swap has the reference's swap signature, and a second run changes
/// nothing.
#[test]
fn grow_root_and_create_home_and_swap() {
    let s = Scratch::new("grow");
    let defs = standard_defs(&s);
    let image = grown_disk(&s, "disk.img", 512);
    let reference_image = copy_of(&image, "reference.img");
    reference(&s.dir, &defs, &reference_image, &[]).ok("reference");
    let root_bytes = hash(&image, MIB, 16 * MIB);

    let lo = Loop::attach(&image, &[]);
    lo.partx_add();
    assert_eq!(lo.kernel_view(), [(1, 2048, 32768)]);
    let out = agent(&defs, &lo.node, &[]);
    out.ok("grow + create");
    assert!(out.logged("Informing kernel about changed partitions..."));

    let table = clean_gpt(&lo.node, 512);
    let expected = clean_gpt(&reference_image, 512);
    assert_eq!(table, expected);
    assert_eq!(
        gpt_regions(&lo.node, &table),
        gpt_regions(&reference_image, &expected)
    );
    let sectors = 128 * MIB / 512;
    assert_eq!(table.alternate_lba, sectors - 1);
    assert_eq!(table.last_usable_lba, sectors - 34);
    let root = part(&table, "root-x86-64");
    let home = part(&table, "home");
    let swap = part(&table, "swap");
    assert_eq!((root.number, home.number, swap.number), (1, 2, 3));
    assert_eq!(root.first_lba, 2048);
    assert_eq!(root.last_lba + 1, home.first_lba);
    assert_eq!(home.size(512), 32 * MIB);
    assert_eq!(swap.size(512), 8 * MIB);
    assert!(swap.last_lba <= table.last_usable_lba);

    assert_eq!(lo.kernel_view(), kernel_units(&table));
    assert_eq!(hash(&image, MIB, 16 * MIB), root_bytes);
    let dump = sfdisk_dump(&lo.node, 512);
    assert!(dump.contains("name=\"home\""), "{dump}");

    assert_eq!(wipefs(&lo.partition(2), None), Vec::<String>::new());
    assert_eq!(blkid(&lo.partition(2), None), Vec::<String>::new());
    let swap_id = blkid(&lo.partition(3), None);
    assert!(swap_id.contains(&"TYPE=swap".to_owned()), "{swap_id:?}");
    assert_eq!(
        swap_id,
        blkid(&reference_image, Some((swap.offset(512), swap.size(512))))
    );
    assert_eq!(wipefs(&lo.partition(3), None), ["0xff6 swap"]);

    let before = hash_all(&image);
    let again = agent(&defs, &lo.node, &[]);
    again.ok("second run");
    assert!(again.logged("No changes."), "{}", again.stderr);
    assert_eq!(hash_all(&image), before);
    assert_eq!(lo.kernel_view(), kernel_units(&table));
}

/// What a test leaves in the space the new partitions get, before the run.
#[derive(Debug, Clone, Copy)]
enum Leftover {
    Ext4,
    Gpt,
    Swap,
    /// LUKS magic at the start of a range.
    Luks,
    /// An MD 1.2 superblock 4 KiB into home, an MD 0.90 one at the end of home.
    Md,
}

/// Writes a signature of `kind` into `len` bytes at `offset` of `image`.
fn plant(s: &Scratch, image: &Path, kind: Leftover, offset: u64, len: u64) {
    let scratch_file = |tool: &str, args: &[&str]| {
        let file = s.image("leftover.img", len);
        let mut all = args.to_vec();
        all.push(file.to_str().unwrap());
        sh(tool, &all);
        let bytes = read_bytes(&file, 0, len);
        write_bytes(image, offset, &bytes);
        std::fs::remove_file(&file).unwrap();
    };
    match kind {
        Leftover::Ext4 => scratch_file("mkfs.ext4", &["-q", "-F"]),
        Leftover::Swap => scratch_file("mkswap", &["-q"]),
        Leftover::Gpt => {
            let file = s.image("leftover.img", len);
            sh_input(
                "sfdisk",
                &["-q", "leftover.img"],
                &s.dir,
                &[],
                "label: gpt\nsize=1MiB\n",
            );
            write_bytes(image, offset, &read_bytes(&file, 0, len));
            std::fs::remove_file(&file).unwrap();
        }
        Leftover::Luks => write_bytes(image, offset, b"LUKS\xba\xbe\x00\x01"),
        Leftover::Md => {
            // MD 1.2: the superblock 4 KiB in, with its own sector number and checksum.
            let mut sb = [0u8; 256];
            sb[0..4].copy_from_slice(&0xa92b_4efcu32.to_le_bytes());
            sb[4..8].copy_from_slice(&1u32.to_le_bytes());
            sb[144..152].copy_from_slice(&8u64.to_le_bytes());
            let sum: u64 = sb
                .chunks(4)
                .map(|w| u64::from(u32::from_le_bytes(w.try_into().unwrap())))
                .sum();
            let sum = (sum & 0xffff_ffff) + (sum >> 32);
            sb[216..220].copy_from_slice(&(sum as u32).to_le_bytes());
            write_bytes(image, offset + 4096, &sb);
            // MD 0.90: in the last 64 KiB-aligned 64 KiB block.
            let at = offset + (len & !0xffff) - 0x10000;
            write_bytes(
                image,
                at,
                &[0xfc, 0x4e, 0x2b, 0xa9, 0, 0, 0, 0, 0x5a, 0, 0, 0],
            );
        }
    }
}

/// Leaves `kind` in home's and swap's future space, then grows + creates with
/// `--discard=no` (so only the signature erasure can remove them): no prober finds anything
/// in home, and swap holds exactly its new swap signature.
fn leftovers_are_erased(kind: Leftover) {
    let s = Scratch::new("leftover");
    let defs = standard_defs(&s);
    let image = grown_disk(&s, "disk.img", 512);
    // Where home and swap will be.
    let trial = copy_of(&image, "trial.img");
    agent(&defs, &trial, &[]).ok("trial run on an image copy");
    let planned = clean_gpt(&trial, 512);
    let (home, swap) = (part(&planned, "home"), part(&planned, "swap"));
    for p in [&home, &swap] {
        let range = (p.offset(512), p.size(512));
        let planted = if matches!(kind, Leftover::Md) && p.name == "swap" {
            Leftover::Luks
        } else {
            kind
        };
        plant(&s, &image, planted, range.0, range.1);
        assert!(
            !blkid(&image, Some(range)).is_empty() || !wipefs(&image, Some(range)).is_empty(),
            "{planted:?} in {}: not detected before the run",
            p.name
        );
    }
    let root_bytes = hash(&image, MIB, 16 * MIB);

    let lo = Loop::attach(&image, &[]);
    lo.partx_add();
    agent(&defs, &lo.node, &["--discard=no"]).ok("grow + create");
    assert_eq!(clean_gpt(&lo.node, 512), planned);
    assert_eq!(lo.kernel_view(), kernel_units(&planned));
    assert_eq!(
        wipefs(&lo.partition(2), None),
        Vec::<String>::new(),
        "{kind:?}"
    );
    assert_eq!(
        blkid(&lo.partition(2), None),
        Vec::<String>::new(),
        "{kind:?}"
    );
    assert_eq!(wipefs(&lo.partition(3), None), ["0xff6 swap"], "{kind:?}");
    let swap_id = blkid(&lo.partition(3), None);
    assert!(
        swap_id.contains(&"TYPE=swap".to_owned()),
        "{kind:?}: {swap_id:?}"
    );
    assert_eq!(hash(&image, MIB, 16 * MIB), root_bytes);
}

#[test]
fn old_ext4_is_erased_from_new_partitions() {
    leftovers_are_erased(Leftover::Ext4);
}

#[test]
fn old_gpt_is_erased_from_new_partitions() {
    leftovers_are_erased(Leftover::Gpt);
}

#[test]
fn old_swap_is_erased_from_new_partitions() {
    leftovers_are_erased(Leftover::Swap);
}

#[test]
fn luks_magic_is_erased_from_new_partitions() {
    leftovers_are_erased(Leftover::Luks);
}

#[test]
fn md_superblocks_are_erased_from_new_partitions() {
    leftovers_are_erased(Leftover::Md);
}

/// Where the mounted old partition is relative to the new layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OldLayout {
    /// At another start: the kernel's partition must be deleted.
    Moved,
    /// At the same start with another size: the kernel's partition would only be resized.
    Resized,
    /// Exactly where a new partition goes: the kernel needs no change at all.
    Same,
}

/// `--empty=force` while an old partition is mounted: refused with a Busy error before
/// anything is written (disk bytes and kernel partitions unchanged), wherever that partition
/// is: the whole disk is erased.
fn force_refused_while_mounted(old: OldLayout) {
    let s = Scratch::new("force-mounted");
    let defs = standard_defs(&s);
    let image = s.image("disk.img", 128 * MIB);
    let script = match old {
        OldLayout::Moved => "label: gpt\nstart=2MiB, size=20MiB\nsize=20MiB\n",
        OldLayout::Resized => "label: gpt\nstart=1MiB, size=20MiB\nsize=20MiB\n",
        OldLayout::Same => "",
    };
    if old == OldLayout::Same {
        agent(&defs, &image, &["--empty=force"]).ok("first layout");
    } else {
        sh_input("sfdisk", &["-q", "disk.img"], &s.dir, &[], script);
    }
    let lo = Loop::attach(&image, &[]);
    lo.partx_add();
    sh(
        "mkfs.ext4",
        &["-q", "-F", lo.partition(1).to_str().unwrap()],
    );
    let _mount = Mount::new(
        &["-o", "ro", lo.partition(1).to_str().unwrap()],
        &s.path("mnt"),
    );
    let kernel_before = lo.kernel_view();
    let before = hash_all(&image);

    let out = agent(&defs, &lo.node, &["--empty=force"]);
    out.expect(1, "--empty=force with a mounted partition");
    assert!(
        out.stderr.contains(&format!(
            "partition 1 (/dev/{}p1) is in use, but ",
            lo.name()
        )) && out.stderr.contains("; nothing was written"),
        "{old:?}: {}",
        out.stderr
    );
    assert_eq!(hash_all(&image), before, "{old:?}");
    assert_eq!(lo.kernel_view(), kernel_before, "{old:?}");
}

#[test]
fn empty_force_refuses_to_move_a_mounted_partition() {
    force_refused_while_mounted(OldLayout::Moved);
}

#[test]
fn empty_force_refuses_to_wipe_under_a_mounted_partition_it_would_resize() {
    force_refused_while_mounted(OldLayout::Resized);
}

#[test]
fn empty_force_refuses_to_wipe_under_a_mounted_partition_it_would_recreate() {
    force_refused_while_mounted(OldLayout::Same);
}

/// A run that finds nothing to change on disk still brings the kernel's partitions in line
/// with the table: after a run interrupted between writing the table and telling the kernel
/// (here: the table written through the image file while the kernel knew the old one), the
/// next run says "No changes." and the kernel knows the new partitions.
#[test]
fn no_changes_run_tells_the_kernel_about_the_table() {
    let s = Scratch::new("no-changes-kernel");
    let defs = standard_defs(&s);
    let image = grown_disk(&s, "disk.img", 512);
    let lo = Loop::attach(&image, &[]);
    lo.partx_add();
    agent(&defs, &image, &[]).ok("run on the backing file");
    let table = clean_gpt(&lo.node, 512);
    assert_eq!(lo.kernel_view(), [(1, 2048, 32768)]);
    let before = hash_all(&image);

    let out = agent(&defs, &lo.node, &[]);
    out.ok("rerun on the loop device");
    assert!(out.logged("No changes."), "{}", out.stderr);
    assert!(out.logged("Informing kernel about changed partitions..."));
    assert_eq!(lo.kernel_view(), kernel_units(&table));
    assert_eq!(hash_all(&image), before);

    // A dry run never touches the kernel.
    sh("partx", &["-d", "--nr", "2:3", lo.node.to_str().unwrap()]);
    Agent::plain()
        .run(&[
            &format!("--definitions={}", defs.display()),
            lo.node.to_str().unwrap(),
        ])
        .ok("dry run");
    assert_eq!(lo.kernel_view(), kernel_units(&table)[..1]);
}
