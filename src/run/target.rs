//! Which disk to work on: the one named on the command line, the one behind the root file
//! system, or (in an initrd whose root is not mounted yet) the one the kernel command line
//! or the boot loader points at.

use std::path::{Path, PathBuf};

use log::info;
use uuid::Uuid;

use crate::disk::{self, Access, Disk, FoundDisk, FoundVia, SystemPaths};
use crate::error::{Error, ErrorKind, Result};
use crate::gpt::{self, Probe};
use crate::host::System;
use crate::host::cmdline::{Cmdline, RootSpec};
use crate::host::efivars;

/// The boot loader interface's vendor GUID (systemd-boot and others set LoaderDevicePartUUID).
const LOADER_VENDOR: Uuid = Uuid::from_u128(0x4a67b082_0a4c_41cf_b6c7_440b29bb8c4f);

/// The disk to work on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Located {
    /// An image file.
    Image(PathBuf),
    /// A whole-disk block device, and how it was found (for the log).
    Device { node: PathBuf, how: String },
}

impl Located {
    pub fn path(&self) -> &Path {
        match self {
            Located::Image(p) => p,
            Located::Device { node, .. } => node,
        }
    }
}

/// The disk named on the command line: an image file is used as is; a partition or
/// device-mapper node maps to the whole disk below it.
pub fn named(path: &Path, paths: &SystemPaths) -> Result<Located> {
    match disk::resolve_target(path, paths)? {
        disk::Target::Image(p) => Ok(Located::Image(p)),
        disk::Target::Disk(found) => Ok(device(found)),
    }
}

/// The disk behind the root file system mounted at `root` (systemd-repart's search).
pub fn behind_root(root: &Path, paths: &SystemPaths) -> Result<Located> {
    disk::find_root_disk(root, paths).map(device)
}

fn device(found: FoundDisk) -> Located {
    let mut how = match &found.via {
        FoundVia::VolatileRoot(target) => {
            format!(
                "behind the volatile root's backing file system {}",
                target.display()
            )
        }
        FoundVia::Directory(dir) => format!("behind {}", dir.display()),
        FoundVia::Node(node) => format!("as named ({})", node.display()),
    };
    if let Some((_, number)) = found.partition {
        how.push_str(&format!(", which is on its partition {number}"));
    }
    Located::Device {
        node: found.node,
        how,
    }
}

/// Beyond systemd-repart: in an initrd whose root is not mounted yet, the disk holding the
/// partition that `root=` names (`/dev/...`, `PARTUUID=`, `PARTLABEL=`), else the disk of
/// the partition the boot loader was started from (EFI variable LoaderDevicePartUUID).
pub fn from_boot_config(sys: &System, cmdline: &Cmdline, paths: &SystemPaths) -> Result<Located> {
    let mut tried = Vec::new();
    match cmdline.root() {
        Some(RootSpec::Device(node)) => {
            let found = match named(&node, paths) {
                Ok(found) => found,
                Err(e) if std::fs::symlink_metadata(&node).is_err() => {
                    let Some((disk, number)) = disk_of_missing_partition(&node, paths)? else {
                        return Err(e);
                    };
                    return Ok(Located::Device {
                        node: disk,
                        how: format!(
                            "from root={} on the kernel command line: the kernel has no such \
                             node, but this disk's GPT has partition {number}",
                            node.display()
                        ),
                    });
                }
                Err(e) => return Err(e),
            };
            return Ok(match found {
                Located::Device { node: disk, .. } => Located::Device {
                    node: disk,
                    how: format!("from root={} on the kernel command line", node.display()),
                },
                image => image,
            });
        }
        Some(RootSpec::PartUuid(uuid)) => {
            if let Some(node) = scan(paths, |e| e.unique_guid == uuid)? {
                return Ok(Located::Device {
                    node,
                    how: format!("from root=PARTUUID={uuid} on the kernel command line"),
                });
            }
            tried.push(format!(
                "no disk has a partition with UUID {uuid} (root=PARTUUID=)"
            ));
        }
        Some(RootSpec::PartLabel(label)) => {
            if let Some(node) = scan(paths, |e| e.name_lossy() == label)? {
                return Ok(Located::Device {
                    node,
                    how: format!("from root=PARTLABEL={label} on the kernel command line"),
                });
            }
            tried.push(format!(
                "no disk has a partition named \"{label}\" (root=PARTLABEL=)"
            ));
        }
        Some(other) => tried.push(format!("root={other:?} does not name a GPT partition")),
        None => tried.push("the kernel command line has no root=".to_owned()),
    }
    let dir = sys.efivars_dir();
    match efivars::read_variable(&dir, "LoaderDevicePartUUID", LOADER_VENDOR)? {
        Some(var) => {
            let text = efivars::decode_utf16(&var.payload);
            let Some(uuid) = crate::id128::parse(text.trim()) else {
                return Err(Error::new(
                    ErrorKind::Corrupt,
                    format!("EFI variable LoaderDevicePartUUID holds \"{text}\", not a UUID"),
                ));
            };
            if let Some(node) = scan(paths, |e| e.unique_guid == uuid)? {
                return Ok(Located::Device {
                    node,
                    how: format!(
                        "from the boot loader's partition {uuid} (EFI variable LoaderDevicePartUUID)"
                    ),
                });
            }
            tried.push(format!(
                "no disk has the boot loader's partition {uuid} (LoaderDevicePartUUID)"
            ));
        }
        None => tried.push("the boot loader did not set LoaderDevicePartUUID".to_owned()),
    }
    Err(Error::new(
        ErrorKind::NoDevice,
        format!(
            "the root file system is not mounted yet and no disk could be found from the boot \
             configuration: {}",
            tried.join("; ")
        ),
    ))
}

/// The disk that `node`, a partition node the kernel did not make, names by the kernel's
/// naming rule (partition N of disk D is `DN`, or `DpN` when D ends in a digit), if its GPT
/// (the backup, when the primary is damaged) has partition N. The kernel makes no partition
/// nodes at all when the primary GPT is damaged (it reads the backup only with `gpt` on its
/// command line), which is what a power cut while the primary is written leaves.
fn disk_of_missing_partition(node: &Path, paths: &SystemPaths) -> Result<Option<(PathBuf, u32)>> {
    if node.parent() != Some(paths.dev.as_path()) {
        return Ok(None);
    }
    let Some(name) = node.file_name().and_then(|n| n.to_str()) else {
        return Ok(None);
    };
    for candidate in disk::whole_disks(paths)? {
        let Some(rest) = name.strip_prefix(candidate.name.as_str()) else {
            continue;
        };
        let digits = if candidate.name.ends_with(|c: char| c.is_ascii_digit()) {
            rest.strip_prefix('p')
        } else {
            Some(rest)
        };
        let Some(number) = digits
            .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|d| d.parse::<u32>().ok())
            .filter(|&n| n > 0)
        else {
            continue;
        };
        let index = usize::try_from(number - 1).unwrap_or(usize::MAX);
        let has_it = read_table(&candidate)?
            .is_some_and(|t| t.entries.get(index).is_some_and(gpt::Entry::is_used));
        if has_it {
            return Ok(Some((candidate.node, number)));
        }
    }
    Ok(None)
}

/// The first whole disk whose GPT has an entry matching `wanted`.
fn scan(paths: &SystemPaths, wanted: impl Fn(&gpt::Entry) -> bool) -> Result<Option<PathBuf>> {
    for candidate in disk::whole_disks(paths)? {
        let found = read_table(&candidate)?
            .is_some_and(|t| t.entries.iter().any(|e| e.is_used() && wanted(e)));
        if found {
            return Ok(Some(candidate.node));
        }
    }
    Ok(None)
}

/// The GPT of a candidate disk, or `None` (logged) if it has none or cannot be read.
fn read_table(candidate: &disk::BlockDisk) -> Result<Option<gpt::Table>> {
    if candidate.is_zram || candidate.size == 0 {
        return Ok(None);
    }
    let disk = match Disk::open(&candidate.node, Access::ReadOnly, None) {
        Ok(d) => d,
        Err(e) => {
            info!("Skipping {}: {e}", candidate.node.display());
            return Ok(None);
        }
    };
    let mut reader = &disk;
    match gpt::read(&mut reader, disk.size(), disk.sector_size()) {
        Ok(Probe::Gpt(loaded)) => Ok(Some(loaded.table)),
        Ok(Probe::NoTable(_)) => Ok(None),
        Err(e) => {
            info!("Skipping {}: {e}", candidate.node.display());
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::DevNum;
    use crate::disk::fake::FakeSystem;

    const DISK_BYTES: u64 = 8 << 20;

    /// Adds the fake disk `name` whose node is an image with partition 2 only.
    fn disk_with_partition_2(sys: &FakeSystem, name: &str, devnum: DevNum) -> PathBuf {
        sys.disk("virtio1", name, devnum, DISK_BYTES / 512);
        let mut table = gpt::Table::new(Uuid::from_u128(1), DISK_BYTES, 512).unwrap();
        table.entries[1] = gpt::Entry {
            type_guid: Uuid::from_u128(2),
            unique_guid: Uuid::from_u128(3),
            first_lba: 2048,
            last_lba: 4095,
            ..gpt::Entry::default()
        };
        let mut bytes = vec![0u8; DISK_BYTES as usize];
        for piece in table.serialize(None).unwrap() {
            let at = piece.offset as usize;
            bytes[at..at + piece.bytes.len()].copy_from_slice(&piece.bytes);
        }
        let node = sys.paths().dev.join(name);
        std::fs::write(&node, bytes).unwrap();
        node
    }

    fn locate(sys: &FakeSystem, root: &Path) -> Result<Located> {
        let host = System::new(sys.root.join("host"), |_| None);
        let cmdline = Cmdline::parse(&format!("root={}", root.display()), true);
        from_boot_config(&host, &cmdline, &sys.paths())
    }

    #[test]
    fn a_partition_node_the_kernel_did_not_make_leads_to_its_disk() {
        let sys = FakeSystem::new();
        let vda = disk_with_partition_2(
            &sys,
            "vda",
            DevNum {
                major: 254,
                minor: 0,
            },
        );
        let nvme = disk_with_partition_2(
            &sys,
            "nvme0n1",
            DevNum {
                major: 259,
                minor: 0,
            },
        );
        let dev = sys.paths().dev;
        for (root, disk) in [("vda2", &vda), ("nvme0n1p2", &nvme)] {
            match locate(&sys, &dev.join(root)).unwrap() {
                Located::Device { node, how } => {
                    assert_eq!(&node, disk, "{root}");
                    assert!(how.contains("GPT has partition 2"), "{how}");
                }
                other => panic!("{root}: {other:?}"),
            }
        }
        // Not in the GPT, no such disk, not the kernel's name for a partition, not in /dev.
        for root in ["vda3", "vda0", "vdb2", "vdax", "nvme0n12", "mapper/vda2"] {
            let e = locate(&sys, &dev.join(root)).unwrap_err();
            assert!(e.to_string().contains("No such file"), "{root}: {e}");
        }
    }
}
