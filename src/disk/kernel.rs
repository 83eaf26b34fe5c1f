//! The kernel's view of a disk's partitions and how to change it.
//!
//! After the GPT is written the kernel has to learn about it. `BLKRRPART` (re-read
//! everything) fails with EBUSY as soon as any partition of the disk is in use, which is the
//! normal case on a running system, so the table is compared with what sysfs lists and the
//! difference is applied partition by partition with `BLKPG`, which works next to mounted
//! partitions. Sysfs is updated synchronously by `BLKPG`, so nothing here waits or polls.

use std::path::Path;

use super::device::{Disk, DiskKind};
use super::ioctl::{self, BlkpgRequest};
use super::sysfs::{self, DevNum, SystemPaths};
use crate::error::{Error, ErrorKind, Result};

/// The most partitions the kernel gives one disk (its partition numbers stay below
/// `DISK_MAX_PARTS`, 256).
pub const MAX_KERNEL_PARTITIONS: usize = 256;

/// One partition as the kernel currently knows it (from sysfs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelPartition {
    /// The partition number (`partition` attribute; the `BLKPG` `pno`).
    pub number: u32,
    /// First sector, in 512-byte units whatever the disk's sector size (`start`).
    pub start: u64,
    /// Length, in 512-byte units whatever the disk's sector size (`size`).
    pub size: u64,
    /// The partition's device number.
    pub devnum: DevNum,
    /// Its node name under /dev (`DEVNAME=`), e.g. `loop0p1`.
    pub name: String,
}

/// The partitions the kernel has for whole disk `disk`, ordered by number.
pub fn kernel_partitions(sysfs: &Path, disk: DevNum) -> Result<Vec<KernelPartition>> {
    let dir = sysfs::device_dir(sysfs, disk);
    let entries =
        std::fs::read_dir(&dir).map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
    let mut partitions = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
        // Partitions are real subdirectories; attributes and links (`bdi`, `device`) are not.
        let is_dir = entry
            .file_type()
            .map_err(|e| Error::io(format!("listing {}", dir.display()), e))?
            .is_dir();
        if !is_dir {
            continue;
        }
        let sub = entry.path();
        let Some(number) = sysfs::read_number_if_present(&sub.join("partition"))? else {
            continue;
        };
        if partitions.len() == MAX_KERNEL_PARTITIONS {
            return Err(Error::new(
                ErrorKind::Corrupt,
                format!(
                    "{}: more than {MAX_KERNEL_PARTITIONS} partitions",
                    dir.display()
                ),
            ));
        }
        let number = u32::try_from(number).map_err(|_| {
            Error::new(
                ErrorKind::Corrupt,
                format!("{}/partition: out of range: {number}", sub.display()),
            )
        })?;
        let uevent_path = sub.join("uevent");
        let uevent = sysfs::read_attribute(&uevent_path)?;
        let name = match sysfs::uevent_value(&uevent, "DEVNAME") {
            Some(name) => name.to_owned(),
            None => entry.file_name().to_string_lossy().into_owned(),
        };
        partitions.push(KernelPartition {
            number,
            start: sysfs::read_number(&sub.join("start"))?,
            size: sysfs::read_number(&sub.join("size"))?,
            devnum: sysfs::read_devnum(&sub.join("dev"))?,
            name,
        });
    }
    partitions.sort_by_key(|p| p.number);
    Ok(partitions)
}

/// Whether the kernel can have partition devices for `disk` at all, so that telling it about
/// a new table makes sense. Image files: no. Block devices: sysfs `partscan` (Linux 6.10+);
/// on older kernels no for partitions, for loop devices without `loop/partscan`, for
/// `ext_range` ≤ 1, and when `capability` has the kernel's "no partitions" flag.
pub fn partscan_supported(sysfs: &Path, disk: &Disk) -> Result<bool> {
    match disk.kind() {
        DiskKind::ImageFile => Ok(false),
        DiskKind::BlockDevice { devnum, .. } => {
            partscan_supported_at(&sysfs::device_dir(sysfs, devnum))
        }
    }
}

/// [`partscan_supported`] for the block device whose sysfs directory is `dir`.
pub fn partscan_supported_at(dir: &Path) -> Result<bool> {
    let flag = |name: &str| -> Result<Option<bool>> {
        Ok(sysfs::read_number_if_present(&dir.join(name))?.map(|v| v != 0))
    };
    let facts = PartscanFacts {
        partscan: flag("partscan")?,
        is_partition: dir.join("partition").exists(),
        loop_partscan: flag("loop/partscan")?,
        ext_range: sysfs::read_number_if_present(&dir.join("ext_range"))?,
        capability: match sysfs::read_attribute_if_present(&dir.join("capability"))? {
            None => None,
            Some(text) => Some(u64::from_str_radix(text.trim(), 16).map_err(|_| {
                Error::new(
                    ErrorKind::Corrupt,
                    format!("{}/capability: not a hex number: {text:?}", dir.display()),
                )
            })?),
        },
    };
    Ok(facts.decide(kernel_version()))
}

/// What sysfs says about a device's partition scanning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PartscanFacts {
    partscan: Option<bool>,
    is_partition: bool,
    loop_partscan: Option<bool>,
    ext_range: Option<u64>,
    capability: Option<u64>,
}

impl PartscanFacts {
    fn decide(self, kernel: (u32, u32)) -> bool {
        if let Some(partscan) = self.partscan {
            return partscan;
        }
        if self.is_partition || self.loop_partscan == Some(false) {
            return false;
        }
        match (self.ext_range, self.capability) {
            (Some(range), Some(capability)) if range > 1 => {
                // The "no partitions" disk flag was 0x200 (GENHD_FL_NO_PART_SCAN) until Linux
                // 5.17 renumbered the flags and made it 0x4 (GENHD_FL_NO_PART).
                let no_partitions = if kernel >= (5, 17) { 0x4 } else { 0x200 };
                capability & no_partitions == 0
            }
            _ => false,
        }
    }
}

/// The running kernel's (major, minor) version; (0, 0) if `uname` says something unexpected.
fn kernel_version() -> (u32, u32) {
    let uname = rustix::system::uname();
    parse_kernel_version(&uname.release().to_string_lossy())
}

fn parse_kernel_version(release: &str) -> (u32, u32) {
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    let major = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let minor = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (major, minor)
}

/// A partition the new table has: number and byte range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WantedPartition {
    /// The partition number (GPT entry index + 1).
    pub number: u32,
    /// First byte.
    pub start: u64,
    /// Length in bytes.
    pub size: u64,
}

/// One change to the kernel's partitions, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelOp {
    /// Create partition `number`.
    Add {
        /// Partition number.
        number: u32,
        /// First byte.
        start: u64,
        /// Length in bytes.
        size: u64,
    },
    /// Change the length of partition `number`, which keeps its start.
    Resize {
        /// Partition number.
        number: u32,
        /// First byte (unchanged).
        start: u64,
        /// New length in bytes.
        size: u64,
    },
    /// Remove partition `number`.
    Delete {
        /// Partition number.
        number: u32,
    },
}

/// What has to change so that the kernel's partitions match `wanted`: a partition the kernel
/// lacks is added; one with the same start and another size is resized; one whose start moved
/// is deleted and added again; one the table lacks is deleted; identical ones are left alone.
///
/// The operations are ordered so that each can succeed given the previous ones: all deletes,
/// then resizes (a partition keeping its start never overlaps another one of the final
/// layout), then adds, each group by partition number.
pub fn diff(kernel: &[KernelPartition], wanted: &[WantedPartition]) -> Vec<KernelOp> {
    let mut deletes = Vec::new();
    let mut resizes = Vec::new();
    let mut adds = Vec::new();
    for k in kernel {
        let (start, size) = (k.start.saturating_mul(512), k.size.saturating_mul(512));
        match wanted.iter().find(|w| w.number == k.number) {
            None => deletes.push(KernelOp::Delete { number: k.number }),
            Some(w) if w.start != start => {
                deletes.push(KernelOp::Delete { number: k.number });
                adds.push(KernelOp::Add {
                    number: w.number,
                    start: w.start,
                    size: w.size,
                });
            }
            Some(w) if w.size != size => resizes.push(KernelOp::Resize {
                number: w.number,
                start: w.start,
                size: w.size,
            }),
            Some(_) => {}
        }
    }
    for w in wanted {
        if !kernel.iter().any(|k| k.number == w.number) {
            adds.push(KernelOp::Add {
                number: w.number,
                start: w.start,
                size: w.size,
            });
        }
    }
    let number = |op: &KernelOp| match *op {
        KernelOp::Add { number, .. }
        | KernelOp::Resize { number, .. }
        | KernelOp::Delete { number } => number,
    };
    deletes.sort_by_key(number);
    resizes.sort_by_key(number);
    adds.sort_by_key(number);
    deletes.extend(resizes);
    deletes.extend(adds);
    deletes
}

/// Applies `ops` to the kernel's partitions of `disk` with `BLKPG`, in order, stopping at the
/// first failure (EBUSY: the partition is in use, or an add overlaps an existing one).
pub fn apply_ops(disk: &Disk, ops: &[KernelOp]) -> Result<()> {
    require_whole_disk(disk, "changing kernel partitions")?;
    for op in ops {
        let (request, what) = match *op {
            KernelOp::Add {
                number,
                start,
                size,
            } => (
                BlkpgRequest::Add {
                    number,
                    start,
                    length: size,
                },
                format!("adding partition {number} (start {start}, size {size} bytes)"),
            ),
            KernelOp::Resize {
                number,
                start,
                size,
            } => (
                BlkpgRequest::Resize {
                    number,
                    start,
                    length: size,
                },
                format!("resizing partition {number} (start {start}) to {size} bytes"),
            ),
            KernelOp::Delete { number } => (
                BlkpgRequest::Delete { number },
                format!("deleting partition {number}"),
            ),
        };
        ioctl::blkpg(disk, request)
            .map_err(|e| Error::io(format!("{what} of {} with BLKPG", disk.path().display()), e))?;
    }
    Ok(())
}

/// Whether `partition` is in use in a way that makes `BLKRRPART` and `BLKPG` deletion fail:
/// something is stacked on it (`holders/`: device-mapper, md) or it is claimed exclusively
/// (mounted, swap, an `O_EXCL` opener). Plain opens by other processes are not visible here.
pub fn is_partition_busy(paths: &SystemPaths, partition: &KernelPartition) -> Result<bool> {
    let holders = sysfs::device_dir(&paths.sysfs, partition.devnum).join("holders");
    match std::fs::read_dir(&holders) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Ok(true);
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(format!("listing {}", holders.display()), e)),
    }
    let node = paths.dev.join(&partition.name);
    // An O_EXCL open of a block device claims it; it fails with EBUSY exactly when someone
    // else holds a claim. The claim ends when the file is closed right away.
    match rustix::fs::open(
        &node,
        rustix::fs::OFlags::RDONLY
            | rustix::fs::OFlags::EXCL
            | rustix::fs::OFlags::CLOEXEC
            | rustix::fs::OFlags::NOCTTY
            | rustix::fs::OFlags::NONBLOCK,
        rustix::fs::Mode::empty(),
    ) {
        Ok(_) => Ok(false),
        Err(rustix::io::Errno::BUSY) => Ok(true),
        Err(e) => Err(Error::io(
            format!("opening {} exclusively", node.display()),
            e,
        )),
    }
}

/// Asks the kernel to drop and re-scan all partitions of `disk` (`BLKRRPART`). Fails with
/// [`ErrorKind::Busy`] while any partition is in use; prefer [`apply_ops`].
pub fn reread(disk: &Disk) -> Result<()> {
    require_whole_disk(disk, "re-reading the partition table")?;
    ioctl::block_reread_partitions(disk).map_err(|e| {
        Error::io(
            format!(
                "asking the kernel to re-read the partition table of {}",
                disk.path().display()
            ),
            e,
        )
    })
}

fn require_whole_disk(disk: &Disk, what: &str) -> Result<()> {
    match disk.kind() {
        DiskKind::BlockDevice { devnum, whole_disk } if devnum == whole_disk => Ok(()),
        _ => Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "{what}: {} is not a whole-disk block device",
                disk.path().display()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::super::sysfs::fake::FakeSystem;
    use super::*;

    fn kp(number: u32, start: u64, size: u64) -> KernelPartition {
        KernelPartition {
            number,
            start,
            size,
            devnum: DevNum {
                major: 259,
                minor: number,
            },
            name: format!("vdap{number}"),
        }
    }

    fn want(number: u32, start: u64, size: u64) -> WantedPartition {
        WantedPartition {
            number,
            start,
            size,
        }
    }

    #[test]
    fn identical_partitions_need_nothing() {
        let kernel = [kp(1, 2048, 4096), kp(2, 6144, 2048)];
        let wanted = [
            want(1, 2048 * 512, 4096 * 512),
            want(2, 6144 * 512, 2048 * 512),
        ];
        assert_eq!(diff(&kernel, &wanted), []);
        assert_eq!(diff(&[], &[]), []);
    }

    #[test]
    fn missing_partitions_are_added() {
        let wanted = [want(2, 1 << 20, 1 << 24), want(1, 1 << 24, 1 << 20)];
        assert_eq!(
            diff(&[], &wanted),
            [
                KernelOp::Add {
                    number: 1,
                    start: 1 << 24,
                    size: 1 << 20
                },
                KernelOp::Add {
                    number: 2,
                    start: 1 << 20,
                    size: 1 << 24
                },
            ]
        );
    }

    #[test]
    fn same_start_other_size_is_a_resize() {
        let kernel = [kp(2, 524_247, 8)];
        let wanted = [want(2, 268_414_464, 134_217_728)];
        assert_eq!(
            diff(&kernel, &wanted),
            [KernelOp::Resize {
                number: 2,
                start: 268_414_464,
                size: 134_217_728
            }]
        );
    }

    #[test]
    fn moved_start_is_delete_then_add_and_extra_partitions_go() {
        let kernel = [kp(1, 2048, 100), kp(2, 4096, 100), kp(3, 8192, 100)];
        let wanted = [
            want(1, 2048 * 512, 200 * 512),
            want(2, 5000 * 512, 100 * 512),
        ];
        assert_eq!(
            diff(&kernel, &wanted),
            [
                KernelOp::Delete { number: 2 },
                KernelOp::Delete { number: 3 },
                KernelOp::Resize {
                    number: 1,
                    start: 2048 * 512,
                    size: 200 * 512
                },
                KernelOp::Add {
                    number: 2,
                    start: 5000 * 512,
                    size: 100 * 512
                },
            ]
        );
    }

    #[test]
    fn renumbered_partition_is_deleted_before_it_is_added() {
        let kernel = [kp(3, 2048, 100)];
        let wanted = [want(1, 2048 * 512, 100 * 512)];
        assert_eq!(
            diff(&kernel, &wanted),
            [
                KernelOp::Delete { number: 3 },
                KernelOp::Add {
                    number: 1,
                    start: 2048 * 512,
                    size: 100 * 512
                },
            ]
        );
    }

    #[test]
    fn sysfs_units_are_512_bytes_on_any_disk() {
        // A 4096-byte-sector disk still reports start/size in 512-byte units.
        let kernel = [kp(1, 256 * 8, 1024 * 8)];
        let wanted = [want(1, 256 * 4096, 1024 * 4096)];
        assert_eq!(diff(&kernel, &wanted), []);
    }

    #[test]
    fn reads_kernel_partitions_from_sysfs() {
        let sys = FakeSystem::new();
        let disk = DevNum { major: 7, minor: 0 };
        let dir = sys.disk("virtual", "loop0", disk, 131_072);
        sys.partition(
            &dir,
            "loop0p2",
            DevNum {
                major: 259,
                minor: 1,
            },
            2,
            22528,
            20480,
        );
        sys.partition(
            &dir,
            "loop0p1",
            DevNum {
                major: 259,
                minor: 0,
            },
            1,
            2048,
            20480,
        );
        let parts = kernel_partitions(&sys.sysfs(), disk).unwrap();
        assert_eq!(
            parts,
            [
                KernelPartition {
                    number: 1,
                    start: 2048,
                    size: 20480,
                    devnum: DevNum {
                        major: 259,
                        minor: 0
                    },
                    name: "loop0p1".into()
                },
                KernelPartition {
                    number: 2,
                    start: 22528,
                    size: 20480,
                    devnum: DevNum {
                        major: 259,
                        minor: 1
                    },
                    name: "loop0p2".into()
                },
            ]
        );
    }

    #[test]
    fn holders_make_a_partition_busy() {
        let sys = FakeSystem::new();
        let vda = sys.disk(
            "virtio1",
            "vda",
            DevNum {
                major: 254,
                minor: 0,
            },
            1 << 20,
        );
        let vda2 = sys.partition(
            &vda,
            "vda2",
            DevNum {
                major: 254,
                minor: 2,
            },
            2,
            2048,
            4096,
        );
        let dm0 = sys.disk(
            "virtual",
            "dm-0",
            DevNum {
                major: 252,
                minor: 0,
            },
            4096,
        );
        sys.stack(&dm0, &vda2);
        let parts = kernel_partitions(
            &sys.sysfs(),
            DevNum {
                major: 254,
                minor: 0,
            },
        )
        .unwrap();
        assert!(is_partition_busy(&sys.paths(), &parts[0]).unwrap());
    }

    fn facts() -> PartscanFacts {
        PartscanFacts {
            partscan: None,
            is_partition: false,
            loop_partscan: None,
            ext_range: Some(256),
            capability: Some(0),
        }
    }

    #[test]
    fn partscan_attribute_wins() {
        let on = PartscanFacts {
            partscan: Some(true),
            ..facts()
        };
        let off = PartscanFacts {
            partscan: Some(false),
            ..facts()
        };
        assert!(on.decide((6, 18)));
        assert!(!off.decide((6, 18)));
    }

    #[test]
    fn partscan_on_older_kernels() {
        assert!(facts().decide((6, 1)));
        let partition = PartscanFacts {
            is_partition: true,
            ..facts()
        };
        assert!(!partition.decide((6, 1)));
        let plain_loop = PartscanFacts {
            loop_partscan: Some(false),
            ..facts()
        };
        assert!(!plain_loop.decide((6, 1)));
        let single_minor = PartscanFacts {
            ext_range: Some(1),
            ..facts()
        };
        assert!(!single_minor.decide((6, 1)));
        let no_part_new = PartscanFacts {
            capability: Some(0x4),
            ..facts()
        };
        assert!(!no_part_new.decide((5, 17)));
        // Before 5.17, 0x4 meant something else and 0x200 was "no partition scan".
        assert!(no_part_new.decide((5, 15)));
        let no_part_old = PartscanFacts {
            capability: Some(0x250),
            ..facts()
        };
        assert!(!no_part_old.decide((5, 10)));
        let unknown = PartscanFacts {
            capability: None,
            ..facts()
        };
        assert!(!unknown.decide((6, 1)));
    }

    #[test]
    fn parses_kernel_releases() {
        assert_eq!(parse_kernel_version("6.18.44-fc-v657"), (6, 18));
        assert_eq!(parse_kernel_version("5.17.0"), (5, 17));
        assert_eq!(parse_kernel_version("6.10-rc1"), (6, 10));
        assert_eq!(parse_kernel_version("weird"), (0, 0));
    }
}
