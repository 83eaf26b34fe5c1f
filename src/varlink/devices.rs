//! Candidate devices: the whole disks an installer could repartition (`ListCandidateDevices`
//! and `--list-devices`).
//!
//! v262 lists them from the udev database; repart-rs reads sysfs and scans the
//! `/dev/disk/by-*` links, so it works without udev (there are then no links). A candidate
//! supports partition tables (partition scanning possible), is not zram and is not
//! read-only; `ignoreRoot` leaves out the disk behind `/`, `ignoreEmpty` disks of size zero.

use std::io::Write;
use std::path::PathBuf;

use crate::disk::{self, BlockDisk, DevNum, SystemPaths};
use crate::error::Result;
use crate::json::{Object, Value};

/// Which disks to leave out besides those that can never be candidates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Filter {
    /// The disk of the running system's root file system, if any.
    pub root: Option<DevNum>,
    /// Leave out disks without a medium (size zero).
    pub ignore_empty: bool,
}

impl Filter {
    /// A filter that leaves out the root disk (when `ignore_root`) and empty disks (when
    /// `ignore_empty`).
    pub fn new(paths: &SystemPaths, ignore_root: bool, ignore_empty: bool) -> Filter {
        let root = if ignore_root {
            match disk::find_root_disk(std::path::Path::new("/"), paths) {
                Ok(found) => Some(found.disk),
                Err(e) => {
                    log::debug!("Not leaving out a root disk: {e}");
                    None
                }
            }
        } else {
            None
        };
        Filter { root, ignore_empty }
    }

    fn admits(&self, d: &BlockDisk) -> bool {
        d.partscan
            && !d.is_zram
            && !d.read_only
            && Some(d.devnum) != self.root
            && !(self.ignore_empty && d.size == 0)
    }
}

/// A candidate disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub node: PathBuf,
    /// `/dev/disk/by-*` links to it, sorted.
    pub symlinks: Vec<PathBuf>,
    pub diskseq: Option<u64>,
    pub size: u64,
    pub vendor: Option<String>,
    pub model: Option<String>,
    pub subsystem: Option<String>,
    /// Where sysfs has it (the order of the list).
    syspath: PathBuf,
}

impl Candidate {
    /// The reply fields, in v262's order, leaving out what is unknown or empty.
    pub fn fields(&self) -> Object {
        let mut o = Object::new().with("node", self.node.display().to_string());
        if !self.symlinks.is_empty() {
            let links: Vec<Value> = self
                .symlinks
                .iter()
                .map(|l| Value::from(l.display().to_string()))
                .collect();
            o.insert("symlinks", links);
        }
        if let Some(seq) = self.diskseq {
            o.insert("diskseq", seq);
        }
        o.insert("sizeBytes", self.size);
        for (key, value) in [
            ("model", &self.model),
            ("vendor", &self.vendor),
            ("subsystem", &self.subsystem),
        ] {
            if let Some(v) = value {
                o.insert(key, v.as_str());
            }
        }
        o
    }
}

/// The candidates, in sysfs order (as systemd enumerates devices).
pub fn candidates(paths: &SystemPaths, filter: &Filter) -> Result<Vec<Candidate>> {
    let links = disk::disk_links(paths)?;
    let mut list: Vec<Candidate> = disk::whole_disks(paths)?
        .into_iter()
        .filter(|d| filter.admits(d))
        .map(|d| {
            let id = disk::identity(paths, &d.name);
            let subsystem = id.subsystem;
            Candidate {
                symlinks: links
                    .iter()
                    .filter(|(devnum, _)| *devnum == d.devnum)
                    .map(|(_, link)| link.clone())
                    .collect(),
                diskseq: d.diskseq,
                size: d.size,
                vendor: id
                    .vendor
                    .filter(|v| !v.starts_with("0x"))
                    .map(|v| udev_name(&v, subsystem.as_deref())),
                model: id.model.map(|m| udev_name(&m, subsystem.as_deref())),
                subsystem,
                syspath: id.syspath,
                node: d.node,
            }
        })
        .collect();
    list.sort_by(|a, b| a.syspath.cmp(&b.syspath));
    Ok(list)
}

/// A vendor or model string as udev's `ID_VENDOR`/`ID_MODEL` spell it: SCSI (and ATA behind
/// it) INQUIRY strings with each run of blanks made one `_`; other buses' as they are.
fn udev_name(text: &str, subsystem: Option<&str>) -> String {
    if subsystem != Some("scsi") {
        return text.to_owned();
    }
    text.split_whitespace().collect::<Vec<_>>().join("_")
}

/// `--list-devices`: each node, then its links (indented on a terminal, grey when colours
/// are on), as v262 prints them.
pub fn print_list(
    out: &mut dyn Write,
    list: &[Candidate],
    on_tty: bool,
    grey: &str,
) -> std::io::Result<()> {
    for c in list {
        writeln!(out, "{}", c.node.display())?;
        for link in &c.symlinks {
            let indent = if on_tty { "    " } else { "" };
            let reset = if grey.is_empty() { "" } else { "\x1b[0m" };
            writeln!(out, "{indent}{grey}{}{reset}", link.display())?;
        }
    }
    out.flush()
}

/// What changed between two lists of candidates: the nodes gone, and the candidates that
/// are new or different (a different size, new links, ...), in the new list's order.
pub fn changes<'a>(old: &[Candidate], new: &'a [Candidate]) -> (Vec<PathBuf>, Vec<&'a Candidate>) {
    let removed = old
        .iter()
        .filter(|o| !new.iter().any(|n| n.node == o.node))
        .map(|o| o.node.clone())
        .collect();
    let added = new.iter().filter(|n| !old.contains(n)).collect();
    (removed, added)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::fake::FakeSystem;

    fn candidate(node: &str, size: u64) -> Candidate {
        Candidate {
            node: PathBuf::from(node),
            symlinks: Vec::new(),
            diskseq: None,
            size,
            vendor: None,
            model: None,
            subsystem: None,
            syspath: PathBuf::from(format!("/sys/devices/virtual/block{node}")),
        }
    }

    #[test]
    fn filters_and_orders_like_v262() {
        let sys = FakeSystem::new();
        let vda = sys.disk(
            "pci0/virtio1",
            "vda",
            DevNum {
                major: 254,
                minor: 0,
            },
            1 << 21,
        );
        sys.write_attribute(&vda, "diskseq", "9\n");
        let virtio = sys.sysfs().join("devices/pci0/virtio1");
        sys.write_attribute(&virtio, "vendor", "0x1af4\n");
        std::fs::create_dir_all(sys.sysfs().join("bus/virtio")).unwrap();
        std::os::unix::fs::symlink(sys.sysfs().join("bus/virtio"), virtio.join("subsystem"))
            .unwrap();
        std::os::unix::fs::symlink(&virtio, vda.join("device")).unwrap();
        sys.disk("virtual", "loop0", DevNum { major: 7, minor: 0 }, 65536);
        let ro = sys.disk("virtual", "loop1", DevNum { major: 7, minor: 1 }, 65536);
        sys.write_attribute(&ro, "ro", "1\n");
        let noscan = sys.disk("virtual", "loop2", DevNum { major: 7, minor: 2 }, 65536);
        sys.write_attribute(&noscan, "partscan", "0\n");
        sys.write_attribute(&noscan, "ext_range", "1\n");
        sys.disk("virtual", "loop3", DevNum { major: 7, minor: 3 }, 0);
        sys.disk(
            "virtual",
            "zram0",
            DevNum {
                major: 253,
                minor: 0,
            },
            8,
        );
        let paths = sys.paths();

        let all = candidates(&paths, &Filter::default()).unwrap();
        let nodes: Vec<_> = all.iter().map(|c| c.node.clone()).collect();
        let dev = |n: &str| paths.dev.join(n);
        // /sys/devices/pci0/... sorts before /sys/devices/virtual/...
        assert_eq!(nodes, [dev("vda"), dev("loop0"), dev("loop3")]);
        assert_eq!(
            Value::Object(all[0].fields()).to_short(),
            format!(
                r#"{{"node":"{}","diskseq":9,"sizeBytes":1073741824,"subsystem":"virtio"}}"#,
                dev("vda").display()
            )
        );

        let filter = Filter {
            root: Some(DevNum {
                major: 254,
                minor: 0,
            }),
            ignore_empty: true,
        };
        let some = candidates(&paths, &filter).unwrap();
        assert_eq!(some.len(), 1);
        assert_eq!(some[0].node, dev("loop0"));
    }

    #[test]
    fn names_scsi_hardware_as_udev_does() {
        assert_eq!(udev_name("QEMU HARDDISK", Some("scsi")), "QEMU_HARDDISK");
        assert_eq!(
            udev_name("Samsung SSD 980", Some("nvme")),
            "Samsung SSD 980"
        );
    }

    #[test]
    fn fields_come_in_v262_order() {
        let mut c = candidate("/dev/loop2", 335544320);
        c.symlinks = vec![PathBuf::from("/dev/disk/by-id/test-loop2")];
        c.diskseq = Some(19);
        c.model = Some("TestModel".into());
        c.vendor = Some("TestVendor".into());
        assert_eq!(
            Value::Object(c.fields()).to_short(),
            r#"{"node":"/dev/loop2","symlinks":["/dev/disk/by-id/test-loop2"],"diskseq":19,"sizeBytes":335544320,"model":"TestModel","vendor":"TestVendor"}"#
        );
    }

    #[test]
    fn prints_nodes_then_links() {
        let mut c = candidate("/dev/vda", 1);
        c.symlinks = vec![
            PathBuf::from("/dev/disk/by-id/a"),
            PathBuf::from("/dev/disk/by-path/b"),
        ];
        let list = [c, candidate("/dev/loop0", 1)];
        let mut out = Vec::new();
        print_list(&mut out, &list, false, "").unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "/dev/vda\n/dev/disk/by-id/a\n/dev/disk/by-path/b\n/dev/loop0\n"
        );
        let mut out = Vec::new();
        print_list(&mut out, &list[..1], true, "\x1b[0;90m").unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "/dev/vda\n    \x1b[0;90m/dev/disk/by-id/a\x1b[0m\n    \x1b[0;90m/dev/disk/by-path/b\x1b[0m\n"
        );
    }

    #[test]
    fn changes_are_removals_then_additions_and_updates() {
        let a = candidate("/dev/loop0", 1);
        let b = candidate("/dev/loop1", 1);
        let b2 = candidate("/dev/loop1", 2);
        let c = candidate("/dev/loop2", 1);
        let old = [a.clone(), b];
        let new = [b2.clone(), c.clone()];
        let (removed, added) = changes(&old, &new);
        assert_eq!(removed, [PathBuf::from("/dev/loop0")]);
        assert_eq!(added, [&b2, &c]);
        let (removed, added) = changes(&new, &new);
        assert!(removed.is_empty() && added.is_empty());
    }
}
