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
            let found = named(&node, paths)?;
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

/// The first whole disk whose GPT has an entry matching `wanted`.
fn scan(paths: &SystemPaths, wanted: impl Fn(&gpt::Entry) -> bool) -> Result<Option<PathBuf>> {
    for candidate in disk::whole_disks(paths)? {
        if candidate.is_zram || candidate.size == 0 {
            continue;
        }
        let disk = match Disk::open(&candidate.node, Access::ReadOnly, None) {
            Ok(d) => d,
            Err(e) => {
                info!("Skipping {}: {e}", candidate.node.display());
                continue;
            }
        };
        let mut reader = &disk;
        let found = match gpt::read(&mut reader, disk.size(), disk.sector_size()) {
            Ok(Probe::Gpt(loaded)) => loaded
                .table
                .entries
                .iter()
                .any(|e| e.is_used() && wanted(e)),
            Ok(Probe::NoTable(_)) => false,
            Err(e) => {
                info!("Skipping {}: {e}", candidate.node.display());
                false
            }
        };
        if found {
            return Ok(Some(candidate.node));
        }
    }
    Ok(None)
}
