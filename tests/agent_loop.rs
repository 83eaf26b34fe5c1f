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
use repart_rs::gpt::Table;

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
    let untouched = Untouched::now(&image, &lo);
    let out = agent(&defs, &lo.node, &["--empty=force"]);
    untouched.assert_refused(&out, 1, &format!("--empty=force, {old:?}"));
}

/// A disk and its kernel partitions as they were before a run that must refuse.
struct Untouched<'a> {
    image: &'a Path,
    lo: &'a Loop,
    bytes: [u8; 32],
    kernel: Vec<(u32, u64, u64)>,
}

impl<'a> Untouched<'a> {
    fn now(image: &'a Path, lo: &'a Loop) -> Untouched<'a> {
        Untouched {
            image,
            lo,
            bytes: hash_all(image),
            kernel: lo.kernel_view(),
        }
    }

    /// Asserts that `out` failed because partition `number` is in use, before anything
    /// was written: the disk's bytes and the kernel's partitions are as they were.
    fn assert_refused(&self, out: &Outcome, number: u32, what: &str) {
        out.expect(1, what);
        let in_use = format!(
            "partition {number} (/dev/{}p{number}) is in use, but ",
            self.lo.name()
        );
        assert!(
            out.stderr.contains(&in_use) && out.stderr.contains("; nothing was written"),
            "{what}: {}",
            out.stderr
        );
        assert_eq!(hash_all(self.image), self.bytes, "{what}");
        assert_eq!(self.lo.kernel_view(), self.kernel, "{what}");
    }
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

/// Factory reset on a grown disk: home (FactoryReset=yes) is deleted and re-created, the
/// table is the reference's for the same inputs, nothing of the old home is left anywhere
/// in its old range, root's old bytes are untouched, the kernel knows the new table, and a
/// following run without the reset changes nothing.
#[test]
fn factory_reset_recreates_home_and_erases_the_old_one() {
    let s = Scratch::new("factory-reset");
    let defs = factory_reset_defs(&s);
    let image = used_disk_with_home(&s, &defs);
    let old = gpt(&image, 512).unwrap();
    let (old_root, old_home) = (part(&old, "root-x86-64"), part(&old, "home"));
    let old_home_range = (old_home.offset(512), old_home.size(512));
    let marker_count = |bytes: &[u8]| {
        bytes
            .windows(OLD_HOME_MARKER.len())
            .filter(|w| *w == OLD_HOME_MARKER)
            .count()
    };
    let markers = marker_count(&read_bytes(&image, old_home_range.0, old_home_range.1));
    assert!(
        markers > 1000,
        "{markers} markers in {old_home_range:?}; {}; whole image: {}",
        describe_parts(&old),
        marker_count(&read_bytes(&image, 0, 128 * MIB))
    );
    assert_eq!(
        blkid(&image, Some(old_home_range)),
        blkid_ext4(&image, old_home_range)
    );
    let root_bytes = hash(&image, old_root.offset(512), old_root.size(512));
    let reference_image = copy_of(&image, "reference.img");
    reference(&s.dir, &defs, &reference_image, &["--factory-reset=yes"]).ok("reference");

    let lo = Loop::attach(&image, &[]);
    lo.partx_add();
    agent(&defs, &lo.node, &["--factory-reset=yes"]).ok("factory reset");
    let table = clean_gpt(&lo.node, 512);
    let expected = clean_gpt(&reference_image, 512);
    assert_eq!(table, expected);
    assert_eq!(
        gpt_regions(&lo.node, &table),
        gpt_regions(&reference_image, &expected)
    );
    let (root, home) = (part(&table, "root-x86-64"), part(&table, "home"));
    assert_eq!(root.first_lba, old_root.first_lba);
    assert!(home.first_lba > old_home.first_lba, "{home:?} {old_home:?}");
    assert_eq!(home.uuid, old_home.uuid);

    let old_range = read_bytes(&image, old_home_range.0, old_home_range.1);
    assert_eq!(marker_count(&old_range), 0);
    assert!(
        old_range.iter().all(|&b| b == 0),
        "old home range not erased"
    );
    assert_eq!(
        blkid(&lo.partition(home.number), None),
        Vec::<String>::new()
    );
    assert_eq!(
        wipefs(&lo.partition(home.number), None),
        Vec::<String>::new()
    );
    assert_eq!(
        hash(&image, old_root.offset(512), old_root.size(512)),
        root_bytes
    );
    assert_eq!(lo.kernel_view(), kernel_units(&table));

    let before = hash_all(&image);
    let again = agent(&defs, &lo.node, &[]);
    again.ok("run after the reset");
    assert!(again.logged("No changes."), "{}", again.stderr);
    assert_eq!(hash_all(&image), before);
}

fn describe_parts(t: &Table) -> String {
    format!("{:?}", parts(t))
}

/// What `blkid` says about an ext4 file system: used to check a precondition.
fn blkid_ext4(image: &Path, range: (u64, u64)) -> Vec<String> {
    let found = blkid(image, Some(range));
    assert!(found.contains(&"TYPE=ext4".to_owned()), "{found:?}");
    found
}

/// Root is mounted (read-write) while the agent grows it and adds partitions: BLKPG resizes
/// the mounted partition, sysfs shows the new size, and the file system stays healthy.
#[test]
fn mounted_root_is_grown_in_the_kernel() {
    let s = Scratch::new("mounted");
    let defs = standard_defs(&s);
    let image = grown_disk(&s, "disk.img", 512);
    let lo = Loop::attach(&image, &[]);
    lo.partx_add();
    let p1 = lo.partition(1);
    sh("mkfs.ext4", &["-q", "-F", p1.to_str().unwrap()]);
    let mnt = s.path("mnt");
    let mount = Mount::new(&[p1.to_str().unwrap()], &mnt);
    std::fs::write(mnt.join("before"), b"written before the run").unwrap();
    sh("sync", &["-f", mnt.to_str().unwrap()]);

    let out = agent(&defs, &lo.node, &[]);
    out.ok("grow + create with root mounted");
    let table = clean_gpt(&lo.node, 512);
    let root = part(&table, "root-x86-64");
    assert!(root.size(512) > 16 * MIB);
    assert_eq!(lo.kernel_view(), kernel_units(&table));
    let sysfs_size =
        std::fs::read_to_string(format!("/sys/class/block/{}p1/size", lo.name())).unwrap();
    assert_eq!(
        sysfs_size.trim().parse::<u64>().unwrap(),
        root.size(512) / 512
    );

    std::fs::write(mnt.join("after"), b"written after the run").unwrap();
    sh("sync", &["-f", mnt.to_str().unwrap()]);
    assert_eq!(
        std::fs::read(mnt.join("before")).unwrap(),
        b"written before the run"
    );
    assert_eq!(
        std::fs::read(mnt.join("after")).unwrap(),
        b"written after the run"
    );
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
    assert!(mounts.contains(&format!("{} {} ext4 rw", p1.display(), mnt.display())));
    mount.unmount();
    sh("e2fsck", &["-f", "-n", p1.to_str().unwrap()]);
}

/// `--empty=force` on a disk whose kernel still knows its three old partitions (none in
/// use): the stale partitions are reconciled (deleted, re-added where they moved), and the
/// table is the reference's.
#[test]
fn empty_force_reconciles_stale_kernel_partitions() {
    let s = Scratch::new("force-stale");
    let defs = standard_defs(&s);
    let image = s.image("disk.img", 128 * MIB);
    sh_input(
        "sfdisk",
        &["-q", "disk.img"],
        &s.dir,
        &[],
        "label: gpt\nstart=2MiB, size=20MiB\nsize=20MiB\nsize=20MiB\n",
    );
    let reference_image = copy_of(&image, "reference.img");
    reference(&s.dir, &defs, &reference_image, &["--empty=force"]).ok("reference");
    let lo = Loop::attach(&image, &[]);
    lo.partx_add();
    assert_eq!(
        lo.kernel_view(),
        [(1, 4096, 40960), (2, 45056, 40960), (3, 86016, 40960)]
    );
    agent(&defs, &lo.node, &["--empty=force"]).ok("--empty=force");
    let table = clean_gpt(&lo.node, 512);
    assert_eq!(table, clean_gpt(&reference_image, 512));
    assert_eq!(lo.kernel_view(), kernel_units(&table));
    assert_eq!(wipefs(&lo.partition(1), None), Vec::<String>::new());
    assert_eq!(wipefs(&lo.partition(2), None), Vec::<String>::new());
}

/// Grow + create on a loop device with 4096-byte sectors: the table (read with 4096-byte
/// sectors) is the reference's, sysfs still counts 512-byte units, and swap is formatted.
#[test]
fn grow_and_create_on_4096_byte_sectors() {
    let s = Scratch::new("grow-4k");
    let defs = standard_defs(&s);
    let image = grown_disk(&s, "disk.img", 4096);
    let reference_image = copy_of(&image, "reference.img");
    reference(&s.dir, &defs, &reference_image, &["--sector-size=4096"]).ok("reference");
    let root_bytes = hash(&image, MIB, 16 * MIB);

    let lo = Loop::attach(&image, &["--sector-size", "4096"]);
    lo.partx_add();
    assert_eq!(lo.kernel_view(), [(1, 2048, 32768)]);
    agent(&defs, &lo.node, &[]).ok("grow + create");
    let table = clean_gpt(&lo.node, 4096);
    let expected = clean_gpt(&reference_image, 4096);
    assert_eq!(table, expected);
    assert_eq!(
        gpt_regions(&lo.node, &table),
        gpt_regions(&reference_image, &expected)
    );
    assert_eq!(table.sector_size, 4096);
    assert_eq!(table.alternate_lba, 128 * MIB / 4096 - 1);
    assert_eq!(lo.kernel_view(), kernel_units(&table));
    assert_eq!(hash(&image, MIB, 16 * MIB), root_bytes);
    let dump = sfdisk_dump(&image, 4096);
    assert!(dump.contains("sector-size: 4096"), "{dump}");
    let swap = part(&table, "swap");
    let swap_id = blkid(&lo.partition(swap.number), None);
    assert!(swap_id.contains(&"TYPE=swap".to_owned()), "{swap_id:?}");
    assert_eq!(
        swap_id,
        blkid(&reference_image, Some((swap.offset(4096), swap.size(4096))))
    );
    let again = agent(&defs, &lo.node, &[]);
    again.ok("second run");
    assert!(again.logged("No changes."), "{}", again.stderr);
}

/// The grown disk with the space home, swap and the gap after swap will get filled with
/// data first (so that holes can only come from discarding); returns the planned table.
fn grown_disk_with_old_data(defs: &Path, image: &Path) -> Table {
    let trial = copy_of(image, "trial.img");
    agent(defs, &trial, &[]).ok("trial run on an image copy");
    let planned = clean_gpt(&trial, 512);
    let home = part(&planned, "home");
    let end = (planned.last_usable_lba + 1) * 512;
    fill_pattern(image, home.offset(512), end - home.offset(512), 7);
    assert_eq!(
        data_bytes(image, home.offset(512), end - home.offset(512)),
        end - home.offset(512)
    );
    std::fs::remove_file(trial).unwrap();
    planned
}

/// Discard on a loop device over an ext4 file: the new partitions and the gap after them
/// become holes in the backing file (swap keeps only its signature page).
#[test]
fn discard_punches_holes_for_new_partitions() {
    let s = Scratch::new("discard");
    let defs = standard_defs(&s);
    let image = grown_disk(&s, "disk.img", 512);
    let planned = grown_disk_with_old_data(&defs, &image);
    let (home, swap) = (part(&planned, "home"), part(&planned, "swap"));
    let lo = Loop::attach(&image, &[]);
    lo.partx_add();
    let out = agent(&defs, &lo.node, &[]);
    out.ok("grow + create");
    assert!(out.logged("Successfully discarded data from future partition 1."));
    assert_eq!(data_bytes(&image, home.offset(512), home.size(512)), 0);
    assert_eq!(data_bytes(&image, swap.offset(512), swap.size(512)), 4096);
    // The gap after swap is 3.5 KiB: its bytes are punched out (read as zeros), but the
    // backing file's 4 KiB block that holds them stays allocated.
    let gap = swap.offset(512) + swap.size(512);
    let gap_len = (planned.last_usable_lba + 1) * 512 - gap;
    assert!(gap_len > 0 && data_bytes(&image, gap, gap_len) < 4096);
    assert!(read_bytes(&image, gap, gap_len).iter().all(|&b| b == 0));
    assert_eq!(data_bytes(&image, MIB, 16 * MIB), 16 * MIB);
}

/// `--discard=no`: nothing is punched; the old data is only erased where signatures live.
#[test]
fn discard_no_punches_nothing() {
    let s = Scratch::new("discard-no");
    let defs = standard_defs(&s);
    let image = grown_disk(&s, "disk.img", 512);
    let planned = grown_disk_with_old_data(&defs, &image);
    let (home, swap) = (part(&planned, "home"), part(&planned, "swap"));
    let lo = Loop::attach(&image, &[]);
    lo.partx_add();
    let out = agent(&defs, &lo.node, &["--discard=no"]);
    out.ok("grow + create");
    assert!(
        !out.stderr
            .lines()
            .any(|l| l.contains("discarded") || l.contains("not discarding")),
        "{}",
        out.stderr
    );
    assert_eq!(
        data_bytes(&image, home.offset(512), home.size(512)),
        home.size(512)
    );
    assert_eq!(
        data_bytes(&image, swap.offset(512), swap.size(512)),
        swap.size(512)
    );
    assert_eq!(clean_gpt(&lo.node, 512), planned);
}

/// A loop device over a file on ramfs (no hole punching) cannot discard: that is logged and
/// the run succeeds with the planned table.
#[test]
fn discard_unsupported_is_logged_and_the_run_succeeds() {
    let s = Scratch::new("discard-ramfs");
    let defs = standard_defs(&s);
    let made = grown_disk(&s, "made.img", 512);
    let planned_copy = copy_of(&made, "planned.img");
    agent(&defs, &planned_copy, &[]).ok("planning run on an image copy");
    let planned = clean_gpt(&planned_copy, 512);
    let mnt = s.subdir("ramfs");
    let _ramfs = Mount::new(&["-t", "ramfs", "none"], &mnt);
    let image = mnt.join("disk.img");
    copy_sparse(&made, &image);
    let lo = Loop::attach(&image, &[]);
    let max = std::fs::read_to_string(format!(
        "/sys/class/block/{}/queue/discard_max_bytes",
        lo.name()
    ))
    .unwrap();
    assert_eq!(max.trim(), "0");
    lo.partx_add();
    let out = agent(&defs, &lo.node, &[]);
    out.ok("grow + create without discard support");
    assert!(
        out.logged("Storage does not support discard, not discarding data in future partition 1."),
        "{}",
        out.stderr
    );
    assert_eq!(clean_gpt(&lo.node, 512), planned);
    assert_eq!(lo.kernel_view(), kernel_units(&planned));
}

/// A read-only loop device: a real run is refused before anything is written; a dry run
/// works and says what it would do.
#[test]
fn read_only_device_refuses_a_real_run() {
    let s = Scratch::new("read-only");
    let defs = standard_defs(&s);
    let image = grown_disk(&s, "disk.img", 512);
    let lo = Loop::attach(&image, &["--read-only"]);
    lo.partx_add();
    let before = hash_all(&image);
    let out = agent(&defs, &lo.node, &[]);
    out.expect(1, "real run on a read-only device");
    assert!(
        out.stderr.contains(&format!(
            "{} is a read-only block device, refusing to open it for writing",
            lo.node.display()
        )),
        "{}",
        out.stderr
    );
    assert_eq!(hash_all(&image), before);
    assert_eq!(lo.kernel_view(), [(1, 2048, 32768)]);

    let dry = Agent::plain().run(&[
        &format!("--definitions={}", defs.display()),
        &format!("--seed={SEED}"),
        lo.node.to_str().unwrap(),
    ]);
    dry.ok("dry run on a read-only device");
    assert!(
        dry.logged("Refusing to repartition, please re-run with --dry-run=no."),
        "{}",
        dry.stderr
    );
    assert_eq!(hash_all(&image), before);
}

/// A loop device without any partition table under the default `--empty=refuse`: exit 77,
/// nothing written.
#[test]
fn disk_without_gpt_is_exit_77() {
    let s = Scratch::new("no-gpt");
    let defs = standard_defs(&s);
    let image = s.image("disk.img", 64 * MIB);
    fill_pattern(&image, 0, MIB, 3);
    let before = hash_all(&image);
    let lo = Loop::attach(&image, &[]);
    let out = agent(&defs, &lo.node, &[]);
    out.expect(77, "no GPT, --empty=refuse");
    assert!(
        out.stderr.contains(&format!(
            "Disk {} has no GPT disk label, not repartitioning.",
            lo.node.display()
        )),
        "{}",
        out.stderr
    );
    assert_eq!(hash_all(&image), before);
}

/// `--root=` pointing at a tmpfs with a `usr/` directory: neither is backed by a block
/// device, which is exit 76 (the unit treats it as success).
#[test]
fn root_on_tmpfs_is_exit_76() {
    let s = Scratch::new("tmpfs-root");
    let root = s.subdir("root");
    let _tmpfs = Mount::new(&["-t", "tmpfs", "none"], &root);
    std::fs::create_dir_all(root.join("usr")).unwrap();
    std::fs::create_dir_all(root.join("etc/repart.d")).unwrap();
    std::fs::write(
        root.join("etc/repart.d/10-root.conf"),
        "[Partition]\nType=root\n",
    )
    .unwrap();
    for extra in [&[][..], &["--dry-run=no"][..]] {
        let mut args = vec![format!("--root={}", root.display())];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let out = Agent::plain().run(&args);
        out.expect(76, "discovery on tmpfs");
    }
}

/// A factory reset while the home it would delete is mounted: refused with a Busy error
/// before anything is written.
#[test]
fn factory_reset_refuses_while_home_is_mounted() {
    let s = Scratch::new("factory-reset-mounted");
    let defs = factory_reset_defs(&s);
    let image = used_disk_with_home(&s, &defs);
    let lo = Loop::attach(&image, &[]);
    lo.partx_add();
    let home = Mount::new(
        &["-o", "ro", lo.partition(2).to_str().unwrap()],
        &s.path("mnt"),
    );
    let untouched = Untouched::now(&image, &lo);
    let out = agent(&defs, &lo.node, &["--factory-reset=yes"]);
    untouched.assert_refused(&out, 2, "factory reset with home mounted");
    home.unmount();
}

/// A partition node on the command line stands for its whole disk (§1.3).
#[test]
fn a_partition_node_names_its_whole_disk() {
    let s = Scratch::new("partition-node");
    let defs = standard_defs(&s);
    let image = grown_disk(&s, "disk.img", 512);
    let lo = Loop::attach(&image, &[]);
    lo.partx_add();
    let out = agent(&defs, &lo.partition(1), &[]);
    out.ok("run on the partition node");
    assert!(
        out.logged(&format!("Applying changes to {}.", lo.node.display())),
        "{}",
        out.stderr
    );
    let table = clean_gpt(&lo.node, 512);
    assert_eq!(parts(&table).len(), 3);
    assert_eq!(lo.kernel_view(), kernel_units(&table));
}

/// A loop device without partition scanning gets the table, and the kernel is left alone
/// (it cannot have partitions there), as systemd-repart does.
#[test]
fn loop_without_partscan_gets_only_the_table() {
    let s = Scratch::new("no-partscan");
    let defs = standard_defs(&s);
    let image = grown_disk(&s, "disk.img", 512);
    let lo = Loop {
        node: PathBuf::from(sh("losetup", &["--find", "--show", image.to_str().unwrap()]).trim()),
    };
    let out = agent(&defs, &lo.node, &[]);
    out.ok("grow + create without partition scanning");
    assert!(
        out.logged(
            "Not telling kernel to reread partition table, because selected image does not \
             support kernel partition block devices."
        ),
        "{}",
        out.stderr
    );
    assert_eq!(parts(&clean_gpt(&lo.node, 512)).len(), 3);
    assert_eq!(lo.kernel_view(), []);
    let again = agent(&defs, &lo.node, &[]);
    again.ok("second run");
    assert!(again.logged("No changes."), "{}", again.stderr);
}
