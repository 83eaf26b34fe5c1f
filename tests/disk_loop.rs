//! The disk module on real loop devices: sizes and sector sizes, the whole-disk flock,
//! read-only refusal, BLKDISCARD, BLKZEROOUT and hole punching, BLKPG add/resize/delete as sysfs sees it,
//! a resize next to a mounted partition, and root discovery. Needs root (as in CI).
//!
//! Every test uses its own image and loop device; guards detach and unmount also when an
//! assertion fails.

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use repart_rs::disk::{
    self, Access, DevNum, Discard, Disk, DiskKind, FoundVia, KernelOp, SystemPaths, Target,
    WantedPartition,
};
use repart_rs::error::ErrorKind;
use rustix::fs::{FlockOperation, SeekFrom};

const MIB: u64 = 1 << 20;

/// A scratch directory, removed on drop (declare it first so mounts and loops go before it).
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new(name: &str) -> Scratch {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "repart-rs-disk-loop-{}-{}-{name}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch { dir }
    }

    /// A sparse image of `size` bytes.
    fn image(&self, name: &str, size: u64) -> PathBuf {
        let path = self.dir.join(name);
        let file = std::fs::File::create(&path).unwrap();
        file.set_len(size).unwrap();
        path
    }

    fn subdir(&self, name: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::create_dir_all(&path).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// An attached loop device, detached on drop.
struct Loop {
    node: PathBuf,
}

impl Loop {
    fn attach(image: &Path, extra: &[&str]) -> Loop {
        let mut args = vec!["--find", "--show"];
        args.extend_from_slice(extra);
        args.push(image.to_str().unwrap());
        let node = PathBuf::from(run("losetup", &args).trim());
        Loop { node }
    }

    fn devnum(&self) -> DevNum {
        use std::os::unix::fs::MetadataExt;
        DevNum::from_dev(std::fs::metadata(&self.node).unwrap().rdev())
    }

    fn partition_node(&self, number: u32) -> PathBuf {
        PathBuf::from(format!("{}p{number}", self.node.display()))
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = Command::new("losetup").arg("-d").arg(&self.node).status();
    }
}

/// A mounted file system, unmounted on drop.
struct Mount {
    dir: PathBuf,
}

impl Mount {
    fn new(args: &[&str], dir: &Path) -> Mount {
        let mut all = args.to_vec();
        all.push(dir.to_str().unwrap());
        run("mount", &all);
        Mount {
            dir: dir.to_owned(),
        }
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
    }
}

fn sysfs() -> PathBuf {
    PathBuf::from("/sys")
}

/// Kernel partitions as (number, start, size) in sysfs's 512-byte units.
fn kernel_view(devnum: DevNum) -> Vec<(u32, u64, u64)> {
    disk::kernel_partitions(&sysfs(), devnum)
        .unwrap()
        .iter()
        .map(|p| (p.number, p.start, p.size))
        .collect()
}

/// Makes the kernel's partitions of `disk` equal `wanted`.
fn reconcile(disk: &Disk, devnum: DevNum, wanted: &[WantedPartition]) -> Vec<KernelOp> {
    let ops = disk::diff(&disk::kernel_partitions(&sysfs(), devnum).unwrap(), wanted);
    disk::apply_ops(disk, &ops).unwrap();
    ops
}

fn want(number: u32, start: u64, size: u64) -> WantedPartition {
    WantedPartition {
        number,
        start,
        size,
    }
}

fn try_lock(path: &Path, operation: FlockOperation) -> rustix::io::Result<()> {
    let file = std::fs::File::open(path).unwrap();
    rustix::fs::flock(&file, operation)
}

#[test]
fn sizes_and_sector_sizes() {
    let scratch = Scratch::new("sizes");
    let image = scratch.image("d.img", 64 * MIB);
    let small = Loop::attach(&image, &["-P"]);
    let disk = Disk::open(&small.node, Access::ReadOnly, None).unwrap();
    assert_eq!(disk.size(), 64 * MIB);
    assert_eq!(disk.sector_size(), 512);
    assert_eq!(disk.device_sector_size(), 512);
    assert!(disk.physical_sector_size() >= 512);
    assert_eq!(
        disk.kind(),
        DiskKind::BlockDevice {
            devnum: small.devnum(),
            whole_disk: small.devnum()
        }
    );
    assert!(disk.is_locked());
    assert!(!disk.is_read_only());

    let image4k = scratch.image("d4k.img", 64 * MIB);
    let big = Loop::attach(&image4k, &["-P", "--sector-size", "4096"]);
    let disk = Disk::open(&big.node, Access::ReadOnly, None).unwrap();
    assert_eq!((disk.size(), disk.sector_size()), (64 * MIB, 4096));
    assert_eq!(disk.physical_sector_size(), 4096);
    // --sector-size= overrides the device's sector size for the table, as in v262, but
    // discards stay aligned to the device's own sector size.
    let disk = Disk::open(&big.node, Access::ReadOnly, Some(512)).unwrap();
    assert_eq!((disk.sector_size(), disk.device_sector_size()), (512, 4096));
    assert!(disk.is_block_device());
}

#[test]
fn whole_disk_flock_excludes_others() {
    let scratch = Scratch::new("flock");
    let image = scratch.image("d.img", 16 * MIB);
    let dev = Loop::attach(&image, &["-P"]);
    let writer = Disk::open(&dev.node, Access::ReadWrite, None).unwrap();
    assert!(writer.is_locked());
    assert_eq!(
        try_lock(&dev.node, FlockOperation::NonBlockingLockExclusive),
        Err(rustix::io::Errno::WOULDBLOCK)
    );
    // udev's probe (LOCK_SH|LOCK_NB) is kept out too.
    assert_eq!(
        try_lock(&dev.node, FlockOperation::NonBlockingLockShared),
        Err(rustix::io::Errno::WOULDBLOCK)
    );
    drop(writer);
    assert_eq!(
        try_lock(&dev.node, FlockOperation::NonBlockingLockExclusive),
        Ok(())
    );

    let reader = Disk::open(&dev.node, Access::ReadOnly, None).unwrap();
    assert_eq!(
        try_lock(&dev.node, FlockOperation::NonBlockingLockShared),
        Ok(())
    );
    assert_eq!(
        try_lock(&dev.node, FlockOperation::NonBlockingLockExclusive),
        Err(rustix::io::Errno::WOULDBLOCK)
    );
    drop(reader);
}

#[test]
fn partition_nodes_are_opened_without_a_lock() {
    let scratch = Scratch::new("partnode");
    let image = scratch.image("d.img", 32 * MIB);
    let dev = Loop::attach(&image, &["-P"]);
    let whole = Disk::open(&dev.node, Access::ReadWrite, None).unwrap();
    reconcile(&whole, dev.devnum(), &[want(1, MIB, 8 * MIB)]);
    drop(whole);
    let part = Disk::open(&dev.partition_node(1), Access::ReadWrite, None).unwrap();
    let DiskKind::BlockDevice { devnum, whole_disk } = part.kind() else {
        panic!("a block device expected");
    };
    assert_eq!(whole_disk, dev.devnum());
    assert_ne!(devnum, whole_disk);
    assert!(!part.is_locked());
    assert_eq!(part.size(), 8 * MIB);
    assert_eq!(
        try_lock(&dev.node, FlockOperation::NonBlockingLockExclusive),
        Ok(())
    );
    // Telling the kernel about partitions needs the whole disk.
    let err = disk::reread(&part).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
}

#[test]
fn read_only_device_is_refused_for_writing() {
    let scratch = Scratch::new("ro");
    let image = scratch.image("d.img", 16 * MIB);
    let dev = Loop::attach(&image, &["-r"]);
    let err = Disk::open(&dev.node, Access::ReadWrite, None).unwrap_err();
    assert!(
        err.to_string()
            .contains("is a read-only block device, refusing to open it for writing"),
        "{err}"
    );
    // Refused before locking: the lock is free.
    assert_eq!(
        try_lock(&dev.node, FlockOperation::NonBlockingLockExclusive),
        Ok(())
    );
    let disk = Disk::open(&dev.node, Access::ReadOnly, None).unwrap();
    assert_eq!(disk.size(), 16 * MIB);
    assert!(disk.is_read_only());
}

/// Fills `path` with non-zero data so that punched holes are visible.
fn fill(path: &Path, size: u64) {
    let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    let chunk = vec![0xa5u8; MIB as usize];
    for i in 0..size / MIB {
        file.write_all_at(&chunk, i * MIB).unwrap();
    }
    file.sync_all().unwrap();
}

/// Where the next data starts at or after `offset` in the file at `path`.
fn next_data(path: &Path, offset: u64) -> u64 {
    let file = std::fs::File::open(path).unwrap();
    rustix::fs::seek(&file, SeekFrom::Data(offset)).unwrap()
}

fn next_hole(path: &Path, offset: u64) -> u64 {
    let file = std::fs::File::open(path).unwrap();
    rustix::fs::seek(&file, SeekFrom::Hole(offset)).unwrap()
}

#[test]
fn blkdiscard_on_loop_punches_holes_in_the_backing_file() {
    let scratch = Scratch::new("discard");
    let image = scratch.image("d.img", 16 * MIB);
    fill(&image, 16 * MIB);
    let dev = Loop::attach(&image, &["-P"]);
    let disk = Disk::open(&dev.node, Access::ReadWrite, None).unwrap();
    assert_eq!(next_hole(&image, 0), 16 * MIB);
    // An unaligned range shrinks to whole sectors.
    assert_eq!(
        disk.discard(MIB - 100, 4 * MIB + 200).unwrap(),
        Discard::Done {
            offset: MIB,
            len: 4 * MIB
        }
    );
    assert_eq!(next_hole(&image, 0), MIB);
    assert_eq!(next_data(&image, MIB), 5 * MIB);
    let mut buf = vec![0xffu8; 4096];
    disk.read_exact_at(2 * MIB, &mut buf).unwrap();
    assert!(buf.iter().all(|&b| b == 0));
    disk.read_exact_at(MIB - 4096, &mut buf).unwrap();
    assert!(buf.iter().all(|&b| b == 0xa5));
    assert_eq!(disk.discard(MIB + 1, 510).unwrap(), Discard::Skipped);
}

#[test]
fn blkdiscard_on_4k_loop_aligns_to_4096() {
    let scratch = Scratch::new("discard4k");
    let image = scratch.image("d.img", 16 * MIB);
    fill(&image, 16 * MIB);
    let dev = Loop::attach(&image, &["--sector-size", "4096"]);
    let disk = Disk::open(&dev.node, Access::ReadWrite, Some(512)).unwrap();
    assert_eq!(
        disk.discard(MIB + 512, MIB).unwrap(),
        Discard::Done {
            offset: MIB + 4096,
            len: MIB - 4096
        }
    );
    assert_eq!(disk.discard(MIB + 512, 3584).unwrap(), Discard::Skipped);
}

#[test]
fn blkzeroout_on_loop_zeroes_the_range_only() {
    let scratch = Scratch::new("zeroout");
    let image = scratch.image("d.img", 16 * MIB);
    fill(&image, 16 * MIB);
    let dev = Loop::attach(&image, &["-P"]);
    let disk = Disk::open(&dev.node, Access::ReadWrite, None).unwrap();
    assert!(
        !disk.zero_out(MIB, 2 * MIB, false).unwrap(),
        "deallocation not allowed"
    );
    assert!(disk.zero_out(MIB, 2 * MIB, true).unwrap());
    let mut buf = vec![0xffu8; 2 * MIB as usize];
    disk.read_exact_at(MIB, &mut buf).unwrap();
    assert!(buf.iter().all(|&b| b == 0));
    let mut edge = vec![0u8; 4096];
    disk.read_exact_at(MIB - 4096, &mut edge).unwrap();
    assert!(edge.iter().all(|&b| b == 0xa5));
    disk.read_exact_at(3 * MIB, &mut edge).unwrap();
    assert!(edge.iter().all(|&b| b == 0xa5));
    // Unaligned: the kernel refuses, and the caller is told to write the zeros itself.
    assert!(!disk.zero_out(MIB + 1, 512, true).unwrap());
    disk.read_exact_at(3 * MIB, &mut edge).unwrap();
    assert!(edge.iter().all(|&b| b == 0xa5));
}

#[test]
fn zero_out_without_hole_punching_falls_back() {
    let scratch = Scratch::new("zeroout-ramfs");
    let mnt = scratch.subdir("ramfs");
    let _ramfs = Mount::new(&["-t", "ramfs", "none"], &mnt);
    let image = mnt.join("d.img");
    std::fs::write(&image, vec![1u8; 4 * MIB as usize]).unwrap();
    let disk = Disk::open(&image, Access::ReadWrite, None).unwrap();
    assert!(!disk.zero_out(0, MIB, true).unwrap());
    let mut buf = vec![0u8; 4096];
    disk.read_exact_at(0, &mut buf).unwrap();
    assert!(buf.iter().all(|&b| b == 1));
}

#[test]
fn image_files_get_holes_punched() {
    let scratch = Scratch::new("punch");
    let image = scratch.image("d.img", 8 * MIB);
    fill(&image, 8 * MIB);
    let disk = Disk::open(&image, Access::ReadWrite, None).unwrap();
    assert_eq!(
        disk.discard(2 * MIB, 2 * MIB).unwrap(),
        Discard::Done {
            offset: 2 * MIB,
            len: 2 * MIB
        }
    );
    assert_eq!(next_hole(&image, 0), 2 * MIB);
    assert_eq!(next_data(&image, 2 * MIB), 4 * MIB);
    assert_eq!(std::fs::metadata(&image).unwrap().len(), 8 * MIB);
}

#[test]
fn discard_on_storage_without_hole_punching_is_unsupported() {
    // ramfs has no fallocate at all: punching holes in a file there fails with EOPNOTSUPP,
    // and a loop device over such a file has no discard support.
    let scratch = Scratch::new("ramfs");
    let mnt = scratch.subdir("ramfs");
    let _ramfs = Mount::new(&["-t", "ramfs", "none"], &mnt);
    let image = mnt.join("d.img");
    std::fs::write(&image, vec![1u8; 4 * MIB as usize]).unwrap();
    let disk = Disk::open(&image, Access::ReadWrite, None).unwrap();
    assert_eq!(disk.discard(0, MIB).unwrap(), Discard::Unsupported);
    drop(disk);
    let dev = Loop::attach(&image, &[]);
    let disk = Disk::open(&dev.node, Access::ReadWrite, None).unwrap();
    assert_eq!(disk.discard(0, MIB).unwrap(), Discard::Unsupported);
}

/// BLKPG add, resize, move and delete, checked in sysfs, on a disk with `sector_size`-byte
/// sectors: sysfs start/size are in 512-byte units either way.
fn blkpg_round_trip(sector_size: &str) {
    let scratch = Scratch::new("blkpg");
    let image = scratch.image("d.img", 64 * MIB);
    let dev = Loop::attach(&image, &["-P", "--sector-size", sector_size]);
    let devnum = dev.devnum();
    let disk = Disk::open(&dev.node, Access::ReadWrite, None).unwrap();
    assert!(disk::partscan_supported(&sysfs(), &disk).unwrap());
    assert_eq!(kernel_view(devnum), []);

    let ops = reconcile(
        &disk,
        devnum,
        &[want(1, MIB, 8 * MIB), want(2, 9 * MIB, 8 * MIB)],
    );
    assert_eq!(ops.len(), 2);
    assert_eq!(kernel_view(devnum), [(1, 2048, 16384), (2, 18432, 16384)]);
    assert!(dev.partition_node(2).exists());

    let layout = [want(1, MIB, 8 * MIB), want(2, 9 * MIB, 16 * MIB)];
    let ops = reconcile(&disk, devnum, &layout);
    assert_eq!(
        ops,
        [KernelOp::Resize {
            number: 2,
            start: 9 * MIB,
            size: 16 * MIB
        }]
    );
    assert_eq!(kernel_view(devnum), [(1, 2048, 16384), (2, 18432, 32768)]);
    assert_eq!(reconcile(&disk, devnum, &layout), []);

    // Partition 1 moves to after partition 2 and a new partition 3 takes its place.
    let layout = [
        want(1, 25 * MIB, 4 * MIB),
        want(2, 9 * MIB, 16 * MIB),
        want(3, MIB, 8 * MIB),
    ];
    let ops = reconcile(&disk, devnum, &layout);
    assert_eq!(ops.len(), 3);
    assert_eq!(
        kernel_view(devnum),
        [(1, 51200, 8192), (2, 18432, 32768), (3, 2048, 16384)]
    );

    reconcile(&disk, devnum, &[want(3, MIB, 8 * MIB)]);
    assert_eq!(kernel_view(devnum), [(3, 2048, 16384)]);
    assert!(!dev.partition_node(1).exists());

    // With nothing in use, BLKRRPART works: the kernel (without a GPT parser here, and with
    // nothing on the disk anyway) drops all partitions.
    disk::reread(&disk).unwrap();
    assert_eq!(kernel_view(devnum), []);
}

#[test]
fn blkpg_add_resize_delete_512() {
    blkpg_round_trip("512");
}

#[test]
fn blkpg_add_resize_delete_4096() {
    blkpg_round_trip("4096");
}

#[test]
fn loop_without_partscan_has_no_kernel_partitions() {
    let scratch = Scratch::new("noscan");
    let image = scratch.image("d.img", 16 * MIB);
    let dev = Loop::attach(&image, &[]);
    let disk = Disk::open(&dev.node, Access::ReadWrite, None).unwrap();
    assert!(!disk::partscan_supported(&sysfs(), &disk).unwrap());
    let image_disk = Disk::open(&image, Access::ReadOnly, None).unwrap();
    assert!(!disk::partscan_supported(&sysfs(), &image_disk).unwrap());
    let listed = disk::whole_disks(&SystemPaths::default()).unwrap();
    let me = listed.iter().find(|d| d.devnum == dev.devnum()).unwrap();
    assert!(me.is_loop && !me.partscan && !me.is_zram);
    assert_eq!((me.size, &me.node), (16 * MIB, &dev.node));
}

#[test]
fn mounted_partition_resizes_with_blkpg_while_blkrrpart_is_busy() {
    let scratch = Scratch::new("mounted");
    let image = scratch.image("d.img", 64 * MIB);
    let dev = Loop::attach(&image, &["-P"]);
    let devnum = dev.devnum();
    let disk = Disk::open(&dev.node, Access::ReadWrite, None).unwrap();
    reconcile(
        &disk,
        devnum,
        &[want(1, MIB, 16 * MIB), want(2, 17 * MIB, 8 * MIB)],
    );
    let p1 = dev.partition_node(1);
    run("mkfs.ext4", &["-q", "-F", p1.to_str().unwrap()]);
    let mnt = scratch.subdir("mnt");
    let _mounted = Mount::new(&[p1.to_str().unwrap()], &mnt);

    let paths = SystemPaths {
        volatile_root: scratch.dir.join("no-volatile-root"),
        ..SystemPaths::default()
    };
    let parts = disk::kernel_partitions(&paths.sysfs, devnum).unwrap();
    assert!(disk::is_partition_busy(&paths, &parts[0]).unwrap());
    assert!(!disk::is_partition_busy(&paths, &parts[1]).unwrap());

    // Growing the mounted partition (the file system stays as it is) works with BLKPG.
    let ops = reconcile(&disk, devnum, &[want(1, MIB, 32 * MIB)]);
    assert_eq!(
        ops,
        [
            KernelOp::Delete { number: 2 },
            KernelOp::Resize {
                number: 1,
                start: MIB,
                size: 32 * MIB
            }
        ]
    );
    assert_eq!(kernel_view(devnum), [(1, 2048, 65536)]);
    // Deleting it does not.
    let err = disk::apply_ops(&disk, &[KernelOp::Delete { number: 1 }]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Busy);
    assert!(
        err.to_string().starts_with(&format!(
            "deleting partition 1 of {} with BLKPG",
            dev.node.display()
        )),
        "{err}"
    );
    let err = disk::reread(&disk).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Busy, "{err}");
    assert_eq!(kernel_view(devnum), [(1, 2048, 65536)]);

    // Discovery: the root "file system" at mnt is on p1 of the loop device.
    let found = disk::find_root_disk(&mnt, &paths).unwrap();
    assert_eq!(found.node, dev.node);
    assert_eq!(found.disk, devnum);
    assert_eq!(found.via, FoundVia::Directory(mnt.clone()));
    assert_eq!(found.partition.map(|(_, n)| n), Some(1));
    assert_eq!(found.backing, parts[0].devnum);
    assert!(disk::is_mount_point(&mnt).unwrap());
    assert!(!disk::is_mount_point(&scratch.dir).unwrap());

    // An explicit partition node maps to its whole disk.
    let Target::Disk(found) = disk::resolve_target(&p1, &paths).unwrap() else {
        panic!("a block device expected");
    };
    assert_eq!(
        (found.node, found.partition.map(|(_, n)| n)),
        (dev.node.clone(), Some(1))
    );
    assert_eq!(found.via, FoundVia::Node(p1.clone()));
}

#[test]
fn tmpfs_root_is_not_backed_by_a_block_device() {
    let scratch = Scratch::new("tmpfs");
    let root = scratch.subdir("root");
    let _tmpfs = Mount::new(&["-t", "tmpfs", "none"], &root);
    let paths = SystemPaths {
        volatile_root: scratch.dir.join("no-volatile-root"),
        ..SystemPaths::default()
    };
    // No <root>/usr: an ordinary error (exit 1), as in v262.
    let err = disk::find_root_disk(&root, &paths).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert_eq!(err.kind().exit_code(), 1);
    std::fs::create_dir(root.join("usr")).unwrap();
    let err = disk::find_root_disk(&root, &paths).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoDevice, "{err}");
    assert_eq!(err.kind().exit_code(), 76);
    // <root>/usr is resolved inside the root: an absolute symlink to / means <root>, not the
    // host's / (which is on a real disk here).
    std::fs::remove_dir(root.join("usr")).unwrap();
    std::os::unix::fs::symlink("/", root.join("usr")).unwrap();
    let err = disk::find_root_disk(&root, &paths).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoDevice, "{err}");
}

#[test]
fn volatile_root_link_names_the_device() {
    let scratch = Scratch::new("volatile");
    let image = scratch.image("d.img", 32 * MIB);
    let dev = Loop::attach(&image, &["-P"]);
    let disk = Disk::open(&dev.node, Access::ReadWrite, None).unwrap();
    reconcile(&disk, dev.devnum(), &[want(1, MIB, 8 * MIB)]);
    drop(disk);
    let paths = SystemPaths {
        volatile_root: scratch.dir.join("volatile-root"),
        ..SystemPaths::default()
    };
    std::os::unix::fs::symlink(dev.partition_node(1), &paths.volatile_root).unwrap();
    // The root itself is not consulted (it does not even exist).
    let found = disk::find_root_disk(&scratch.dir.join("nowhere"), &paths).unwrap();
    assert_eq!(found.node, dev.node);
    assert_eq!(found.via, FoundVia::VolatileRoot(dev.partition_node(1)));
}
