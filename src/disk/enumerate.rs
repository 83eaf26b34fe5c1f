//! Listing the whole-disk block devices of the system (`<sysfs>/block`), for the discovery
//! fallback from `root=PARTUUID=` and for Varlink's `ListCandidateDevices` (with what names
//! a disk to a person: its vendor, model, bus and `/dev/disk/by-*` links).

use std::os::unix::fs::FileTypeExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::kernel;
use super::sysfs::{self, DevNum, SystemPaths};
use crate::error::{Error, ErrorKind, Result};

/// The most whole disks listed; more is an error rather than an unbounded list.
pub const MAX_DISKS: usize = 4096;

/// The most `/dev/disk/by-*` links looked at; a bigger /dev is an error rather than an
/// unbounded scan.
pub const MAX_DISK_LINKS: usize = 65536;

/// The loop driver's fixed major number.
const LOOP_MAJOR: u32 = 7;

/// A whole-disk block device as sysfs describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockDisk {
    /// The kernel's name (`<sysfs>/block/<name>`), e.g. `vda`.
    pub name: String,
    /// The device node (`DEVNAME=` under the /dev root).
    pub node: PathBuf,
    /// The device number.
    pub devnum: DevNum,
    /// The size in bytes (sysfs `size` is in 512-byte units on every disk).
    pub size: u64,
    /// Removable media (`removable`).
    pub removable: bool,
    /// Read-only (`ro`).
    pub read_only: bool,
    /// Whether the kernel can have partition devices for it (see
    /// [`kernel::partscan_supported_at`]).
    pub partscan: bool,
    /// The disk sequence number (`diskseq`, Linux 5.15+).
    pub diskseq: Option<u64>,
    /// A loop device.
    pub is_loop: bool,
    /// A zram device (compressed RAM, never a repartitioning target).
    pub is_zram: bool,
}

/// All whole-disk block devices, sorted by name.
pub fn whole_disks(paths: &SystemPaths) -> Result<Vec<BlockDisk>> {
    let block = paths.sysfs.join("block");
    let entries = std::fs::read_dir(&block)
        .map_err(|e| Error::io(format!("listing {}", block.display()), e))?;
    let mut disks = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(format!("listing {}", block.display()), e))?;
        if disks.len() == MAX_DISKS {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("{}: more than {MAX_DISKS} disks", block.display()),
            ));
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let dir = entry.path();
        let devnum = sysfs::read_devnum(&dir.join("dev"))?;
        let flag = |attribute: &str| -> Result<bool> {
            Ok(sysfs::read_number_if_present(&dir.join(attribute))?.is_some_and(|v| v != 0))
        };
        disks.push(BlockDisk {
            node: sysfs::node_path(paths, devnum)?,
            size: sysfs::read_number(&dir.join("size"))?.saturating_mul(512),
            removable: flag("removable")?,
            read_only: flag("ro")?,
            partscan: kernel::partscan_supported_at(&dir)?,
            diskseq: sysfs::read_number_if_present(&dir.join("diskseq"))?,
            is_loop: devnum.major == LOOP_MAJOR,
            is_zram: name.starts_with("zram"),
            devnum,
            name,
        });
    }
    disks.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(disks)
}

/// What sysfs says about the hardware behind a disk. Attributes that are missing, empty or
/// unreadable are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskIdentity {
    /// The disk's directory under `<sysfs>/devices` (what systemd sorts devices by).
    pub syspath: PathBuf,
    /// `device/vendor`, trimmed.
    pub vendor: Option<String>,
    /// `device/model`, trimmed.
    pub model: Option<String>,
    /// The subsystem (bus) of the device the disk belongs to (`device/subsystem`): `virtio`,
    /// `scsi`, `nvme`, ...; `None` for virtual disks such as loop devices.
    pub subsystem: Option<String>,
}

/// The identity of the disk `<sysfs>/block/<name>`.
pub fn identity(paths: &SystemPaths, name: &str) -> DiskIdentity {
    let dir = paths.sysfs.join("block").join(name);
    let text = |attribute: &str| {
        sysfs::read_attribute_if_present(&dir.join(attribute))
            .ok()
            .flatten()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
    };
    DiskIdentity {
        syspath: std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone()),
        vendor: text("device/vendor"),
        model: text("device/model"),
        subsystem: std::fs::read_link(dir.join("device/subsystem"))
            .ok()
            .and_then(|target| Some(target.file_name()?.to_string_lossy().into_owned())),
    }
}

/// The links in `<dev>/disk/by-*/` (as udev makes them) that lead to a block device, with
/// its device number, sorted by path. No such directory (no udev) is no links.
pub fn disk_links(paths: &SystemPaths) -> Result<Vec<(DevNum, PathBuf)>> {
    let top = paths.dev.join("disk");
    let mut dirs = match read_dir_sorted(&top)? {
        Some(entries) => entries,
        None => return Ok(Vec::new()),
    };
    dirs.retain(|d| {
        d.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("by-"))
    });
    let mut links = Vec::new();
    for dir in dirs {
        for link in read_dir_sorted(&dir)?.unwrap_or_default() {
            if links.len() == MAX_DISK_LINKS {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    format!("{}: more than {MAX_DISK_LINKS} links", top.display()),
                ));
            }
            // A dangling link, or one to anything but a block device, leads nowhere.
            match std::fs::metadata(&link) {
                Ok(meta) if meta.file_type().is_block_device() => {
                    links.push((DevNum::from_dev(meta.rdev()), link));
                }
                _ => {}
            }
        }
    }
    Ok(links)
}

/// The entries of `dir`, sorted; `None` if it does not exist or is not a directory.
fn read_dir_sorted(dir: &Path) -> Result<Option<Vec<PathBuf>>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if matches!(e.raw_os_error(), Some(2 | 20)) => return Ok(None),
        Err(e) => return Err(Error::io(format!("listing {}", dir.display()), e)),
    };
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
        if paths.len() == MAX_DISK_LINKS {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("{}: more than {MAX_DISK_LINKS} entries", dir.display()),
            ));
        }
        paths.push(entry.path());
    }
    paths.sort();
    Ok(Some(paths))
}

#[cfg(test)]
mod tests {
    use super::super::sysfs::fake::FakeSystem;
    use super::*;

    #[test]
    fn lists_whole_disks_with_their_flags() {
        let sys = FakeSystem::new();
        let vda = sys.disk(
            "virtio1",
            "vda",
            DevNum {
                major: 254,
                minor: 0,
            },
            1 << 21,
        );
        sys.partition(
            &vda,
            "vda1",
            DevNum {
                major: 254,
                minor: 1,
            },
            1,
            2048,
            4096,
        );
        let zram = sys.disk(
            "virtual",
            "zram0",
            DevNum {
                major: 253,
                minor: 0,
            },
            0,
        );
        sys.write_attribute(&zram, "partscan", "0\n");
        let loop0 = sys.disk("virtual", "loop0", DevNum { major: 7, minor: 0 }, 8);
        sys.write_attribute(&loop0, "ro", "1\n");
        sys.write_attribute(&loop0, "diskseq", "19\n");
        let disks = whole_disks(&sys.paths()).unwrap();
        let names: Vec<&str> = disks.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["loop0", "vda", "zram0"]);
        let [loop0, vda, zram0] = &disks[..] else {
            panic!("three disks expected");
        };
        assert!(loop0.is_loop && loop0.read_only && !loop0.is_zram);
        assert_eq!(loop0.diskseq, Some(19));
        assert_eq!(vda.size, 1 << 30);
        assert_eq!(vda.node, sys.paths().dev.join("vda"));
        assert!(vda.partscan && !vda.read_only && !vda.removable && vda.diskseq.is_none());
        assert!(zram0.is_zram && !zram0.partscan);
    }

    #[test]
    fn identifies_the_hardware_and_finds_the_links() {
        let sys = FakeSystem::new();
        let sda = sys.disk(
            "pci0/host0/target0/0:0:0:0",
            "sda",
            DevNum { major: 8, minor: 0 },
            8,
        );
        let scsi = sys.sysfs().join("devices/pci0/host0/target0/0:0:0:0");
        sys.write_attribute(&scsi, "vendor", "ATA     \n");
        sys.write_attribute(&scsi, "model", "QEMU HARDDISK   \n");
        std::fs::create_dir_all(sys.sysfs().join("bus/scsi")).unwrap();
        std::os::unix::fs::symlink(sys.sysfs().join("bus/scsi"), scsi.join("subsystem")).unwrap();
        std::os::unix::fs::symlink(&scsi, sda.join("device")).unwrap();
        sys.disk("virtual", "loop0", DevNum { major: 7, minor: 0 }, 8);

        let id = identity(&sys.paths(), "sda");
        assert_eq!(id.syspath, std::fs::canonicalize(&sda).unwrap());
        assert_eq!(id.vendor.as_deref(), Some("ATA"));
        assert_eq!(id.model.as_deref(), Some("QEMU HARDDISK"));
        assert_eq!(id.subsystem.as_deref(), Some("scsi"));
        let id = identity(&sys.paths(), "loop0");
        assert_eq!((id.vendor, id.model, id.subsystem), (None, None, None));

        // No /dev/disk (no udev): no links. Links to anything but a block device are skipped.
        assert!(disk_links(&sys.paths()).unwrap().is_empty());
        let by_id = sys.paths().dev.join("disk/by-id");
        std::fs::create_dir_all(&by_id).unwrap();
        std::fs::create_dir_all(sys.paths().dev.join("disk/other")).unwrap();
        std::os::unix::fs::symlink("/dev/null", by_id.join("null-link")).unwrap();
        std::os::unix::fs::symlink("/nonexistent", by_id.join("dangling")).unwrap();
        // A block device node of our own (device numbers need no device behind them).
        let node = sys.paths().dev.join("sdx");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &node,
            rustix::fs::FileType::BlockDevice,
            rustix::fs::Mode::from_raw_mode(0o600),
            rustix::fs::makedev(8, 16),
        )
        .unwrap();
        std::os::unix::fs::symlink("../../sdx", by_id.join("some-disk")).unwrap();
        std::os::unix::fs::symlink("../../sdx", sys.paths().dev.join("disk/other/x")).unwrap();
        let links = disk_links(&sys.paths()).unwrap();
        assert_eq!(
            links,
            [(
                DevNum {
                    major: 8,
                    minor: 16
                },
                by_id.join("some-disk")
            )]
        );
    }
}
