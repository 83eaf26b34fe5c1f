//! Reading the kernel's block-device tree in sysfs: device numbers, attributes, the whole
//! disk behind a partition, and node names.
//!
//! The sysfs and /dev roots are parameters ([`SystemPaths`]) so that tests can run against a
//! fake tree in a temporary directory. `/sys/dev/block/M:m` is a symlink into
//! `/sys/devices/...`; `..` after it resolves physically, which is what makes
//! `/sys/dev/block/M:m/../dev` the parent disk of a partition.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};

/// The largest sysfs attribute the kernel produces (one page on every architecture we run on;
/// attributes are bounded by PAGE_SIZE).
const MAX_ATTRIBUTE_BYTES: u64 = 4096;

/// Where the kernel's views of the system live. Tests point these into a temporary directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemPaths {
    /// The sysfs mount, normally `/sys`.
    pub sysfs: PathBuf,
    /// The device directory, normally `/dev`.
    pub dev: PathBuf,
    /// The symlink systemd-volatile-root leaves behind, normally
    /// `/run/systemd/volatile-root`. Never prefixed by `--root=`.
    pub volatile_root: PathBuf,
}

impl Default for SystemPaths {
    fn default() -> Self {
        SystemPaths {
            sysfs: PathBuf::from("/sys"),
            dev: PathBuf::from("/dev"),
            volatile_root: PathBuf::from("/run/systemd/volatile-root"),
        }
    }
}

/// A device number, major and minor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DevNum {
    /// The driver's major number.
    pub major: u32,
    /// The minor number within that driver.
    pub minor: u32,
}

impl DevNum {
    /// Splits a kernel `dev_t` (`st_dev`, `st_rdev`).
    pub fn from_dev(dev: rustix::fs::Dev) -> DevNum {
        DevNum {
            major: rustix::fs::major(dev),
            minor: rustix::fs::minor(dev),
        }
    }

    /// Parses sysfs's `MAJOR:MINOR` form (the `dev` attribute, a `/sys/dev/block` entry name).
    pub fn parse(text: &str) -> Option<DevNum> {
        let (major, minor) = text.trim().split_once(':')?;
        Some(DevNum {
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
        })
    }
}

impl fmt::Display for DevNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.major, self.minor)
    }
}

/// `<sysfs>/dev/block/M:m`, the device's directory (through its symlink).
pub fn device_dir(sysfs: &Path, devnum: DevNum) -> PathBuf {
    sysfs.join("dev/block").join(devnum.to_string())
}

/// Reads a sysfs attribute (at most one page), without the trailing newline.
pub fn read_attribute(path: &Path) -> Result<String> {
    read_attribute_if_present(path)?.ok_or_else(|| {
        Error::io(
            format!("reading {}", path.display()),
            rustix::io::Errno::NOENT,
        )
    })
}

/// Reads a sysfs attribute like [`read_attribute`], or `None` if it does not exist.
pub fn read_attribute_if_present(path: &Path) -> Result<Option<String>> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(format!("opening {}", path.display()), e)),
    };
    let mut text = String::new();
    file.take(MAX_ATTRIBUTE_BYTES)
        .read_to_string(&mut text)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let trimmed = text.trim_end_matches('\n').len();
    text.truncate(trimmed);
    Ok(Some(text))
}

/// Reads a decimal number attribute, or `None` if it does not exist.
pub fn read_number_if_present(path: &Path) -> Result<Option<u64>> {
    match read_attribute_if_present(path)? {
        None => Ok(None),
        Some(text) => text.trim().parse().map(Some).map_err(|_| {
            Error::new(
                ErrorKind::Corrupt,
                format!("{}: not a number: {text:?}", path.display()),
            )
        }),
    }
}

/// Reads a decimal number attribute that must exist.
pub fn read_number(path: &Path) -> Result<u64> {
    read_number_if_present(path)?.ok_or_else(|| {
        Error::io(
            format!("reading {}", path.display()),
            rustix::io::Errno::NOENT,
        )
    })
}

/// Reads a `MAJOR:MINOR` attribute (`dev`).
pub fn read_devnum(path: &Path) -> Result<DevNum> {
    let text = read_attribute(path)?;
    DevNum::parse(&text).ok_or_else(|| {
        Error::new(
            ErrorKind::Corrupt,
            format!("{}: not a device number: {text:?}", path.display()),
        )
    })
}

/// Finds `KEY=value` in the text of a `uevent` attribute.
pub fn uevent_value<'a>(uevent: &'a str, key: &str) -> Option<&'a str> {
    uevent.lines().find_map(|line| {
        let (k, v) = line.split_once('=')?;
        (k == key).then_some(v)
    })
}

/// The device node of `devnum`: `DEVNAME=` from its `uevent`, under the /dev root.
pub fn node_path(paths: &SystemPaths, devnum: DevNum) -> Result<PathBuf> {
    let uevent_path = device_dir(&paths.sysfs, devnum).join("uevent");
    let uevent = read_attribute(&uevent_path)?;
    let name = uevent_value(&uevent, "DEVNAME").ok_or_else(|| {
        Error::new(
            ErrorKind::Corrupt,
            format!("{}: no DEVNAME=", uevent_path.display()),
        )
    })?;
    // A DEVNAME is relative to /dev ("vda", "mapper/x" is never used, "cciss/c0d0" is); refuse
    // anything that could climb out of it.
    if name.is_empty() || name.starts_with('/') || name.split('/').any(|c| c == "..") {
        return Err(Error::new(
            ErrorKind::Corrupt,
            format!("{}: unusable DEVNAME={name:?}", uevent_path.display()),
        ));
    }
    Ok(paths.dev.join(name))
}

/// The whole disk a block device belongs to, and which partition of it the device is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WholeDisk {
    /// The whole disk's device number.
    pub disk: DevNum,
    /// If the device was a partition: its device number and partition number.
    pub partition: Option<(DevNum, u32)>,
}

/// Maps a block device to its whole disk: a device with `queue/` is a whole disk; one with a
/// `partition` attribute is a partition whose parent (`../dev`) must have `queue/`.
pub fn whole_disk_of(sysfs: &Path, devnum: DevNum) -> Result<WholeDisk> {
    let dir = device_dir(sysfs, devnum);
    if dir.join("queue").is_dir() {
        return Ok(WholeDisk {
            disk: devnum,
            partition: None,
        });
    }
    let Some(number) = read_number_if_present(&dir.join("partition"))? else {
        return Err(if dir.exists() {
            Error::new(
                ErrorKind::Unsupported,
                format!(
                    "block device {devnum} ({}) is neither a whole disk nor a partition",
                    dir.display()
                ),
            )
        } else {
            Error::io(
                format!("looking up block device {devnum} in {}", dir.display()),
                rustix::io::Errno::NOENT,
            )
        });
    };
    let number = u32::try_from(number).map_err(|_| {
        Error::new(
            ErrorKind::Corrupt,
            format!("{}/partition: out of range: {number}", dir.display()),
        )
    })?;
    let parent = read_devnum(&dir.join("../dev"))?;
    if !dir.join("../queue").is_dir() {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!("parent {parent} of partition {devnum} is not a whole disk"),
        ));
    }
    Ok(WholeDisk {
        disk: parent,
        partition: Some((devnum, number)),
    })
}

#[cfg(test)]
pub(crate) mod fake {
    //! A fake sysfs tree for tests, shaped like the real one: `dev/block/M:m` symlinks into
    //! `devices/...`, partitions as subdirectories of their disk, dm slaves as symlinks.

    use super::DevNum;
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A temporary directory holding `sys/` and `dev/`; removed on drop.
    pub struct FakeSystem {
        pub root: PathBuf,
    }

    impl FakeSystem {
        pub fn new() -> FakeSystem {
            static COUNTER: AtomicU32 = AtomicU32::new(0);
            let root = std::env::temp_dir().join(format!(
                "repart-rs-fake-sys-{}-{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(root.join("sys/dev/block")).unwrap();
            std::fs::create_dir_all(root.join("sys/block")).unwrap();
            std::fs::create_dir_all(root.join("dev")).unwrap();
            FakeSystem { root }
        }

        pub fn paths(&self) -> super::SystemPaths {
            super::SystemPaths {
                sysfs: self.sysfs(),
                dev: self.root.join("dev"),
                volatile_root: self.root.join("run/volatile-root"),
            }
        }

        pub fn sysfs(&self) -> PathBuf {
            self.root.join("sys")
        }

        fn write(&self, path: &Path, text: &str) {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }

        fn link_devnum(&self, devnum: DevNum, rel_dir: &str) {
            let link = self.sysfs().join("dev/block").join(devnum.to_string());
            std::os::unix::fs::symlink(format!("../../{rel_dir}"), link).unwrap();
        }

        fn common(&self, dir: &Path, name: &str, devnum: DevNum, devtype: &str, sectors: u64) {
            self.write(&dir.join("dev"), &format!("{devnum}\n"));
            self.write(&dir.join("size"), &format!("{sectors}\n"));
            self.write(&dir.join("ro"), "0\n");
            self.write(
                &dir.join("uevent"),
                &format!(
                    "MAJOR={}\nMINOR={}\nDEVNAME={name}\nDEVTYPE={devtype}\n",
                    devnum.major, devnum.minor
                ),
            );
            std::fs::create_dir_all(dir.join("holders")).unwrap();
            std::fs::create_dir_all(dir.join("slaves")).unwrap();
        }

        /// Adds a whole disk at `devices/<parent>/block/<name>`; returns its directory.
        pub fn disk(&self, parent: &str, name: &str, devnum: DevNum, sectors: u64) -> PathBuf {
            let rel = format!("devices/{parent}/block/{name}");
            let dir = self.sysfs().join(&rel);
            self.common(&dir, name, devnum, "disk", sectors);
            std::fs::create_dir_all(dir.join("queue")).unwrap();
            self.write(&dir.join("removable"), "0\n");
            self.write(&dir.join("ext_range"), "256\n");
            self.write(&dir.join("capability"), "0\n");
            self.write(&dir.join("partscan"), "1\n");
            self.link_devnum(devnum, &rel);
            std::os::unix::fs::symlink(format!("../{rel}"), self.sysfs().join("block").join(name))
                .unwrap();
            dir
        }

        /// Adds partition `number` of the disk at `disk_dir`; returns its directory.
        pub fn partition(
            &self,
            disk_dir: &Path,
            name: &str,
            devnum: DevNum,
            number: u32,
            start: u64,
            sectors: u64,
        ) -> PathBuf {
            let dir = disk_dir.join(name);
            self.common(&dir, name, devnum, "partition", sectors);
            self.write(&dir.join("partition"), &format!("{number}\n"));
            self.write(&dir.join("start"), &format!("{start}\n"));
            let rel = dir
                .strip_prefix(self.sysfs())
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            self.link_devnum(devnum, &rel);
            let mut uevent = std::fs::read_to_string(dir.join("uevent")).unwrap();
            uevent.push_str(&format!("PARTN={number}\n"));
            self.write(&dir.join("uevent"), &uevent);
            dir
        }

        /// Makes `holder_dir` (a dm device) sit on `slave_dir`: `slaves/` and `holders/` links.
        pub fn stack(&self, holder_dir: &Path, slave_dir: &Path) {
            let slave_name = slave_dir.file_name().unwrap();
            let holder_name = holder_dir.file_name().unwrap();
            std::os::unix::fs::symlink(slave_dir, holder_dir.join("slaves").join(slave_name))
                .unwrap();
            std::os::unix::fs::symlink(holder_dir, slave_dir.join("holders").join(holder_name))
                .unwrap();
        }

        pub fn write_attribute(&self, dir: &Path, name: &str, text: &str) {
            self.write(&dir.join(name), text);
        }
    }

    impl Drop for FakeSystem {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::FakeSystem;
    use super::*;

    const VDA: DevNum = DevNum {
        major: 254,
        minor: 0,
    };
    const VDA2: DevNum = DevNum {
        major: 254,
        minor: 2,
    };

    #[test]
    fn parses_device_numbers() {
        assert_eq!(DevNum::parse("254:2\n"), Some(VDA2));
        assert_eq!(DevNum::parse("254"), None);
        assert_eq!(DevNum::parse("a:1"), None);
        assert_eq!(DevNum::parse("1:-1"), None);
        assert_eq!(DevNum::parse("99999999999:1"), None);
        assert_eq!(VDA2.to_string(), "254:2");
    }

    #[test]
    fn finds_uevent_values() {
        let text = "MAJOR=7\nMINOR=0\nDEVNAME=loop0\nDEVTYPE=disk\n";
        assert_eq!(uevent_value(text, "DEVNAME"), Some("loop0"));
        assert_eq!(uevent_value(text, "DEVNAM"), None);
        assert_eq!(uevent_value(text, "PARTN"), None);
    }

    #[test]
    fn partition_maps_to_its_disk_and_node() {
        let sys = FakeSystem::new();
        let vda = sys.disk("pci0000:00/virtio1", "vda", VDA, 1 << 20);
        sys.partition(&vda, "vda2", VDA2, 2, 2048, 4096);
        let whole = whole_disk_of(&sys.sysfs(), VDA2).unwrap();
        assert_eq!(
            whole,
            WholeDisk {
                disk: VDA,
                partition: Some((VDA2, 2))
            }
        );
        assert_eq!(whole_disk_of(&sys.sysfs(), VDA).unwrap().partition, None);
        let paths = sys.paths();
        assert_eq!(node_path(&paths, VDA).unwrap(), paths.dev.join("vda"));
        assert_eq!(node_path(&paths, VDA2).unwrap(), paths.dev.join("vda2"));
    }

    #[test]
    fn unknown_device_is_an_error_naming_it() {
        let sys = FakeSystem::new();
        let err = whole_disk_of(&sys.sysfs(), VDA).unwrap_err();
        assert!(err.to_string().contains("254:0"), "{err}");
    }

    #[test]
    fn devname_cannot_escape_dev() {
        let sys = FakeSystem::new();
        let vda = sys.disk("virtio1", "vda", VDA, 8);
        sys.write_attribute(
            &vda,
            "uevent",
            "MAJOR=254\nMINOR=0\nDEVNAME=../etc/passwd\n",
        );
        let err = node_path(&sys.paths(), VDA).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupt);
    }

    #[test]
    fn attributes_are_bounded_and_trimmed() {
        let sys = FakeSystem::new();
        let vda = sys.disk("virtio1", "vda", VDA, 8);
        sys.write_attribute(&vda, "big", &"x".repeat(10_000));
        let big = read_attribute(&vda.join("big")).unwrap();
        assert_eq!(big.len(), MAX_ATTRIBUTE_BYTES as usize);
        assert_eq!(read_number(&vda.join("size")).unwrap(), 8);
        assert_eq!(read_number_if_present(&vda.join("nothing")).unwrap(), None);
        sys.write_attribute(&vda, "bad", "12x\n");
        assert_eq!(
            read_number(&vda.join("bad")).unwrap_err().kind(),
            ErrorKind::Corrupt
        );
    }
}
