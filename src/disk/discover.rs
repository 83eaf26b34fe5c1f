//! Finding the whole disk behind the root file system, or behind a path given on the command
//! line, the way systemd-repart does.
//!
//! Order: the `/run/systemd/volatile-root` symlink (never prefixed by the root), then
//! `<root>/`, then `<root>/usr`. A directory's `st_dev` names its block device; btrfs (whose
//! `st_dev` is anonymous) is asked for its single device; anything else with an anonymous
//! device (tmpfs, overlayfs, ...) is "not backed by a block device". Device-mapper stacks are
//! followed down through `slaves/` as long as every slave ends on the same whole disk — all the
//! way down, where systemd-repart v262 stops after one level — and a partition is mapped to its
//! disk.

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use rustix::fd::OwnedFd;
use rustix::fs::{AtFlags, Mode, OFlags, ResolveFlags, StatxAttributes, StatxFlags};
use rustix::io::Errno;

use super::ioctl;
use super::sysfs::{self, DevNum, SystemPaths};
use crate::error::{Error, ErrorKind, Result};

/// How deep a device-mapper/md stack may be before we give up (real stacks have 2 or 3
/// levels: e.g. dm-crypt on LVM on a partition).
const MAX_STACK_DEPTH: u32 = 16;
/// How many stacked devices one search may visit in total.
const MAX_STACK_VISITS: u32 = 1024;
/// The btrfs device ids probed for the device of a single-device file system.
const MAX_BTRFS_DEVID: u64 = 65_536;
/// `BTRFS_SUPER_MAGIC` from `<linux/magic.h>`.
const BTRFS_SUPER_MAGIC: u64 = 0x9123_683e;

/// How the disk was found, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FoundVia {
    /// Through the `/run/systemd/volatile-root` symlink, which pointed here.
    VolatileRoot(PathBuf),
    /// Through the file system mounted at this directory (`<root>/` or `<root>/usr`).
    Directory(PathBuf),
    /// The block device node given on the command line.
    Node(PathBuf),
}

/// A whole disk found behind a directory or node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundDisk {
    /// The whole disk's node, e.g. `/dev/vda`.
    pub node: PathBuf,
    /// The whole disk's device number.
    pub disk: DevNum,
    /// How it was found.
    pub via: FoundVia,
    /// The device the directory or node is on (a dm device, a partition, or the disk).
    pub backing: DevNum,
    /// The device reached after going down through device-mapper/md (`backing` if nothing is
    /// stacked), which is the disk itself or one of its partitions.
    pub lowest: DevNum,
    /// If `lowest` is a partition: its device number and partition number.
    pub partition: Option<(DevNum, u32)>,
}

/// What a path given on the command line turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A regular file: an image, used as it is.
    Image(PathBuf),
    /// A block device node, mapped to its whole disk.
    Disk(FoundDisk),
}

/// Finds the whole disk behind the root file system below `root` (`/` on the host; the
/// caller picks `/sysusr` or `/sysroot` in the initrd with [`is_mount_point`]).
///
/// Fails with [`ErrorKind::NoDevice`] (exit 76) only when both `<root>/` and `<root>/usr` are
/// not backed by a block device; any other failure (such as a missing `<root>/usr`) is an
/// ordinary error.
pub fn find_root_disk(root: &Path, paths: &SystemPaths) -> Result<FoundDisk> {
    match std::fs::read_link(&paths.volatile_root) {
        Ok(target) => {
            // Absolute and never under the root: it was made before the root was mounted.
            let fd = open_on_host(&paths.volatile_root)?;
            let backing = backing_device(&fd, &target)
                .map_err(|e| e.context(format!("following {}", paths.volatile_root.display())))?;
            return disk_of(backing, FoundVia::VolatileRoot(target), paths);
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(Error::io(
                format!("reading {}", paths.volatile_root.display()),
                e,
            ));
        }
    }
    for (inner, dir) in [(".", root.to_path_buf()), ("usr", root.join("usr"))] {
        let fd = open_in_root(root, inner, &dir)?;
        match backing_device(&fd, &dir) {
            Ok(backing) => return disk_of(backing, FoundVia::Directory(dir), paths),
            Err(e) if e.kind() == ErrorKind::NoDevice => log::debug!("{e}"),
            Err(e) => return Err(e),
        }
    }
    Err(Error::new(
        ErrorKind::NoDevice,
        format!(
            "failed to discover the root block device: neither {} nor {} is backed by a block device",
            root.display(),
            root.join("usr").display()
        ),
    ))
}

/// Resolves a path given on the command line (relative to the host, never to `--root=`): a
/// regular file is an image; a block device node is mapped to its whole disk (a partition or
/// device-mapper node maps to the disk below it; [`FoundDisk::partition`] says which
/// partition it was).
pub fn resolve_target(path: &Path, paths: &SystemPaths) -> Result<Target> {
    let meta = std::fs::metadata(path)
        .map_err(|e| Error::io(format!("inspecting {}", path.display()), e))?;
    if meta.file_type().is_file() {
        return Ok(Target::Image(path.to_owned()));
    }
    if !meta.file_type().is_block_device() {
        return Err(Error::io(
            format!(
                "{}: neither a block device nor a regular file",
                path.display()
            ),
            Errno::NOTBLK,
        ));
    }
    let backing = DevNum::from_dev(meta.rdev());
    disk_of(backing, FoundVia::Node(path.to_owned()), paths).map(Target::Disk)
}

/// Whether `path` is the root of a mount (`STATX_ATTR_MOUNT_ROOT`, or on kernels before 5.8 a
/// different device than its parent). A missing path is not a mount point.
pub fn is_mount_point(path: &Path) -> Result<bool> {
    let shown = path.display();
    match rustix::fs::statx(
        rustix::fs::CWD,
        path,
        AtFlags::SYMLINK_NOFOLLOW,
        StatxFlags::BASIC_STATS,
    ) {
        Ok(stx)
            if stx
                .stx_attributes_mask
                .contains(StatxAttributes::MOUNT_ROOT) =>
        {
            return Ok(stx.stx_attributes.contains(StatxAttributes::MOUNT_ROOT));
        }
        Ok(_) | Err(Errno::NOSYS) => {}
        Err(Errno::NOENT) => return Ok(false),
        Err(e) => return Err(Error::io(format!("inspecting {shown}"), e)),
    }
    let here = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io(format!("inspecting {shown}"), e)),
    };
    let parent = std::fs::metadata(path.join(".."))
        .map_err(|e| Error::io(format!("inspecting {shown}/.."), e))?;
    Ok(here.dev() != parent.dev() || here.ino() == parent.ino())
}

/// Opens `inner` below `root` as if `root` were `/` (symlinks, `..` and absolute paths stay
/// inside it, like systemd's `chase`), without opening a device (`O_PATH`).
fn open_in_root(root: &Path, inner: &str, shown: &Path) -> Result<OwnedFd> {
    let flags = OFlags::PATH | OFlags::CLOEXEC;
    let root_fd = rustix::fs::open(root, flags | OFlags::DIRECTORY, Mode::empty())
        .map_err(|e| Error::io(format!("opening {}", root.display()), e))?;
    match rustix::fs::openat2(&root_fd, inner, flags, Mode::empty(), ResolveFlags::IN_ROOT) {
        // Kernels before 5.6 have no openat2; resolve as the host would.
        Err(Errno::NOSYS) => rustix::fs::openat(&root_fd, inner, flags, Mode::empty()),
        other => other,
    }
    .map_err(|e| Error::io(format!("opening {}", shown.display()), e))
}

/// Opens a path on the host (following symlinks) without opening a device (`O_PATH`).
fn open_on_host(path: &Path) -> Result<OwnedFd> {
    rustix::fs::open(path, OFlags::PATH | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))
}

/// The device number of the block device behind `fd` (an `O_PATH` fd of `path`): a block
/// node's own number, or the device a directory's file system lives on.
fn backing_device(fd: &OwnedFd, path: &Path) -> Result<DevNum> {
    let shown = path.display();
    let stat = rustix::fs::fstat(fd).map_err(|e| Error::io(format!("inspecting {shown}"), e))?;
    let file_type = rustix::fs::FileType::from_raw_mode(stat.st_mode);
    if file_type == rustix::fs::FileType::BlockDevice {
        return Ok(DevNum::from_dev(stat.st_rdev));
    }
    if file_type != rustix::fs::FileType::Directory {
        return Err(Error::io(
            format!("{shown}: neither a directory nor a block device"),
            Errno::NOTBLK,
        ));
    }
    let devnum = DevNum::from_dev(stat.st_dev);
    if devnum.major != 0 {
        return Ok(devnum);
    }
    // An anonymous device: btrfs (which may know its single device) or a virtual file system.
    let statfs =
        rustix::fs::fstatfs(fd).map_err(|e| Error::io(format!("inspecting {shown}"), e))?;
    #[allow(clippy::unnecessary_cast)] // f_type is i64 or u32 depending on the architecture.
    let magic = statfs.f_type as u64 & 0xffff_ffff;
    if magic != BTRFS_SUPER_MAGIC {
        return Err(not_backed(path));
    }
    // The btrfs ioctls need a real (not O_PATH) descriptor of the directory.
    let dir = rustix::fs::openat(
        fd,
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::io(format!("opening {shown}"), e))?;
    btrfs_device(&dir, path)
}

fn not_backed(path: &Path) -> Error {
    Error::new(
        ErrorKind::NoDevice,
        format!("{} is not backed by a block device", path.display()),
    )
}

/// The single device of the btrfs mounted at `path` (`dir` is open on it).
fn btrfs_device(dir: &OwnedFd, path: &Path) -> Result<DevNum> {
    let shown = path.display();
    let info = ioctl::btrfs_fs_info(dir)
        .map_err(|e| Error::io(format!("querying btrfs at {shown}"), e))?;
    if info.num_devices != 1 {
        // systemd-repart v262 turns this into an odd "/run/systemd/inaccessible/blk" error;
        // a file system spread over several devices has no one disk to repartition.
        return Err(Error::new(
            ErrorKind::NoDevice,
            format!(
                "{shown} is on a btrfs spanning {} devices, not on one block device",
                info.num_devices
            ),
        ));
    }
    let mut buf = [0u8; ioctl::BTRFS_DEVICE_PATH_NAME_MAX];
    for devid in 1..=info.max_id.min(MAX_BTRFS_DEVID) {
        let len = match ioctl::btrfs_dev_path(dir, devid, &mut buf) {
            Ok(len) => len,
            Err(Errno::NODEV) => continue,
            Err(e) => {
                return Err(Error::io(
                    format!("querying btrfs device {devid} at {shown}"),
                    e,
                ));
            }
        };
        let Some(device) = buf.get(..len).filter(|p| !p.is_empty()) else {
            continue;
        };
        let device = Path::new(std::ffi::OsStr::from_bytes(device));
        if device == Path::new("/dev/root") {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "btrfs at {shown} reports its device as /dev/root, a kernel pseudo-device \
                     with no node; boot with a root= that names the real device"
                ),
            ));
        }
        let meta = std::fs::metadata(device).map_err(|e| {
            Error::io(
                format!(
                    "inspecting {}, the btrfs device of {shown}",
                    device.display()
                ),
                e,
            )
        })?;
        if !meta.file_type().is_block_device() {
            return Err(Error::io(
                format!("{}, the btrfs device of {shown}", device.display()),
                Errno::NOTBLK,
            ));
        }
        return Ok(DevNum::from_dev(meta.rdev()));
    }
    Err(not_backed(path))
}

/// Goes down from `backing` through stacked devices and up from a partition to its disk.
fn disk_of(backing: DevNum, via: FoundVia, paths: &SystemPaths) -> Result<FoundDisk> {
    let mut visits = 0;
    let lowest = lowest_device(&paths.sysfs, backing, 0, &mut visits)?;
    let whole = sysfs::whole_disk_of(&paths.sysfs, lowest)?;
    Ok(FoundDisk {
        node: sysfs::node_path(paths, whole.disk)?,
        disk: whole.disk,
        via,
        backing,
        lowest,
        partition: whole.partition,
    })
}

/// The device at the bottom of the stack on `devnum`: `devnum` itself if nothing is below it
/// or if its slaves lie on different disks; otherwise (recursively) the lowest device of its
/// slave with the smallest device number.
fn lowest_device(sysfs: &Path, devnum: DevNum, depth: u32, visits: &mut u32) -> Result<DevNum> {
    *visits += 1;
    if depth >= MAX_STACK_DEPTH || *visits > MAX_STACK_VISITS {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!("block device {devnum}: device stack deeper than {MAX_STACK_DEPTH} levels"),
        ));
    }
    let slaves_dir = sysfs::device_dir(sysfs, devnum).join("slaves");
    let entries = match std::fs::read_dir(&slaves_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(devnum),
        Err(e) => return Err(Error::io(format!("listing {}", slaves_dir.display()), e)),
    };
    let mut chosen: Option<(DevNum, DevNum)> = None; // (lowest device, its whole disk)
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(format!("listing {}", slaves_dir.display()), e))?;
        let slave = sysfs::read_devnum(&entry.path().join("dev"))?;
        let lowest = lowest_device(sysfs, slave, depth + 1, visits)?;
        let disk = sysfs::whole_disk_of(sysfs, lowest)?.disk;
        match chosen {
            None => chosen = Some((lowest, disk)),
            Some((_, first_disk)) if first_disk != disk => {
                log::debug!(
                    "block device {devnum} sits on more than one disk ({first_disk}, {disk}); using it as it is"
                );
                return Ok(devnum);
            }
            Some((best, _)) if lowest < best => chosen = Some((lowest, disk)),
            Some(_) => {}
        }
    }
    Ok(chosen.map_or(devnum, |(lowest, _)| lowest))
}

#[cfg(test)]
mod tests {
    use super::super::sysfs::fake::FakeSystem;
    use super::*;

    const VDA: DevNum = DevNum {
        major: 254,
        minor: 0,
    };
    const VDA1: DevNum = DevNum {
        major: 254,
        minor: 1,
    };
    const VDA2: DevNum = DevNum {
        major: 254,
        minor: 2,
    };
    const VDB: DevNum = DevNum {
        major: 254,
        minor: 16,
    };
    const VDB1: DevNum = DevNum {
        major: 254,
        minor: 17,
    };
    const DM0: DevNum = DevNum {
        major: 252,
        minor: 0,
    };
    const DM1: DevNum = DevNum {
        major: 252,
        minor: 1,
    };

    /// vda with partitions 1 and 2, vdb with partition 1.
    fn two_disks(sys: &FakeSystem) -> (PathBuf, PathBuf, PathBuf) {
        let vda = sys.disk("pci0000:00/virtio1", "vda", VDA, 1 << 21);
        let vda1 = sys.partition(&vda, "vda1", VDA1, 1, 2048, 4096);
        let vda2 = sys.partition(&vda, "vda2", VDA2, 2, 6144, 1 << 20);
        let vdb = sys.disk("pci0000:00/virtio2", "vdb", VDB, 1 << 21);
        let _ = sys.partition(&vdb, "vdb1", VDB1, 1, 2048, 4096);
        (vda1, vda2, vdb.join("vdb1"))
    }

    #[test]
    fn partition_maps_to_disk() {
        let sys = FakeSystem::new();
        two_disks(&sys);
        let found = disk_of(VDA2, FoundVia::Directory("/".into()), &sys.paths()).unwrap();
        assert_eq!(found.node, sys.paths().dev.join("vda"));
        assert_eq!(found.disk, VDA);
        assert_eq!((found.backing, found.lowest), (VDA2, VDA2));
        assert_eq!(found.partition, Some((VDA2, 2)));
    }

    #[test]
    fn whole_disk_stays() {
        let sys = FakeSystem::new();
        two_disks(&sys);
        let found = disk_of(VDB, FoundVia::Node("/dev/vdb".into()), &sys.paths()).unwrap();
        assert_eq!((found.disk, found.partition), (VDB, None));
    }

    #[test]
    fn dm_crypt_on_lvm_on_partition_goes_all_the_way_down() {
        let sys = FakeSystem::new();
        let (_, vda2, _) = two_disks(&sys);
        let lvm = sys.disk("virtual", "dm-0", DM0, 1 << 20);
        let crypt = sys.disk("virtual", "dm-1", DM1, 1 << 20);
        sys.stack(&lvm, &vda2);
        sys.stack(&crypt, &lvm);
        let found = disk_of(DM1, FoundVia::Directory("/".into()), &sys.paths()).unwrap();
        assert_eq!(found.disk, VDA);
        assert_eq!((found.backing, found.lowest), (DM1, VDA2));
        assert_eq!(found.partition, Some((VDA2, 2)));
    }

    #[test]
    fn verity_data_and_hash_on_one_disk() {
        let sys = FakeSystem::new();
        let (vda1, vda2, _) = two_disks(&sys);
        let verity = sys.disk("virtual", "dm-0", DM0, 1 << 20);
        sys.stack(&verity, &vda2);
        sys.stack(&verity, &vda1);
        let found = disk_of(DM0, FoundVia::Directory("/usr".into()), &sys.paths()).unwrap();
        assert_eq!(found.disk, VDA);
        assert_eq!(found.lowest, VDA1);
    }

    #[test]
    fn stack_across_two_disks_keeps_the_dm_device() {
        let sys = FakeSystem::new();
        let (_, vda2, vdb1) = two_disks(&sys);
        let raid = sys.disk("virtual", "dm-0", DM0, 1 << 20);
        sys.stack(&raid, &vda2);
        sys.stack(&raid, &vdb1);
        let found = disk_of(DM0, FoundVia::Directory("/".into()), &sys.paths()).unwrap();
        assert_eq!(
            (found.disk, found.lowest, found.partition),
            (DM0, DM0, None)
        );
        assert_eq!(found.node, sys.paths().dev.join("dm-0"));
    }

    #[test]
    fn dm_without_slaves_is_its_own_disk() {
        let sys = FakeSystem::new();
        sys.disk("virtual", "dm-0", DM0, 1 << 20);
        let found = disk_of(DM0, FoundVia::Directory("/".into()), &sys.paths()).unwrap();
        assert_eq!(found.disk, DM0);
    }

    #[test]
    fn a_stack_loop_is_refused() {
        let sys = FakeSystem::new();
        let a = sys.disk("virtual", "dm-0", DM0, 8);
        let b = sys.disk("virtual", "dm-1", DM1, 8);
        sys.stack(&a, &b);
        sys.stack(&b, &a);
        let err = disk_of(DM0, FoundVia::Directory("/".into()), &sys.paths()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
    }

    #[test]
    fn volatile_root_comes_first_and_is_not_prefixed() {
        let sys = FakeSystem::new();
        two_disks(&sys);
        let paths = sys.paths();
        std::fs::create_dir_all(paths.volatile_root.parent().unwrap()).unwrap();
        // The link wins over the root, and what it points to is not looked up under the
        // root; /proc is not backed by a block device, so its failure is the answer.
        std::os::unix::fs::symlink("/proc", &paths.volatile_root).unwrap();
        let err = find_root_disk(Path::new("/nonexistent-root"), &paths).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NoDevice);
        assert!(
            err.to_string().starts_with(&format!(
                "following {}: /proc",
                paths.volatile_root.display()
            )),
            "{err}"
        );
    }

    #[test]
    fn missing_root_is_an_ordinary_error() {
        let sys = FakeSystem::new();
        let err = find_root_disk(Path::new("/nonexistent-root"), &sys.paths()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io);
        assert!(err.to_string().contains("/nonexistent-root"), "{err}");
    }

    #[test]
    fn image_files_are_targets_as_they_are() {
        let sys = FakeSystem::new();
        let image = sys.root.join("disk.img");
        std::fs::write(&image, b"").unwrap();
        assert_eq!(
            resolve_target(&image, &sys.paths()).unwrap(),
            Target::Image(image.clone())
        );
        let err = resolve_target(&sys.root, &sys.paths()).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(Errno::NOTBLK.raw_os_error()));
    }

    #[test]
    fn mount_points() {
        assert!(is_mount_point(Path::new("/")).unwrap());
        assert!(is_mount_point(Path::new("/proc")).unwrap());
        assert!(!is_mount_point(Path::new("/proc/self")).unwrap());
        assert!(!is_mount_point(Path::new("/nonexistent/usr")).unwrap());
    }
}
