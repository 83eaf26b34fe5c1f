//! Listing the whole-disk block devices of the system (`<sysfs>/block`), for the discovery
//! fallback from `root=PARTUUID=` and for Varlink's `ListCandidateDevices`.

use std::path::PathBuf;

use super::kernel;
use super::sysfs::{self, DevNum, SystemPaths};
use crate::error::{Error, ErrorKind, Result};

/// The most whole disks listed; more is an error rather than an unbounded list.
pub const MAX_DISKS: usize = 4096;

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
}
