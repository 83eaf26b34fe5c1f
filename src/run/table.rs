//! The table the plan starts from: what is on the disk, judged by `--empty=`, or a new one.

use std::path::Path;

use crate::cli::Empty;
use crate::disk::Disk;
use crate::error::{Error, ErrorKind, Result};
use crate::gpt::{self, Loaded, MbrKind, Probe, Table};
use crate::plan::{DiskLayout, ExistingPartition};

/// The starting point of a run.
pub enum Start {
    /// The disk's GPT, repaired and relocated in memory where needed.
    Existing(Loaded),
    /// A new, empty table.
    New(Table),
}

impl Start {
    /// The table as the planner sees it.
    pub fn layout(&self, disk_size: u64) -> DiskLayout {
        let (table, guid) = match self {
            Start::Existing(loaded) => (&loaded.table, Some(loaded.table.disk_guid)),
            Start::New(table) => (table, None),
        };
        DiskLayout {
            sector_size: u64::from(table.sector_size),
            disk_size,
            first_usable_lba: table.first_usable_lba,
            last_usable_lba: table.last_usable_lba,
            entry_count: table.entries.len(),
            disk_guid: guid,
            partitions: table
                .entries
                .iter()
                .enumerate()
                .filter(|(_, e)| e.is_used())
                .map(|(slot, e)| ExistingPartition {
                    slot,
                    type_uuid: e.type_guid,
                    uuid: e.unique_guid,
                    first_lba: e.first_lba,
                    last_lba: e.last_lba,
                    attributes: e.attributes,
                    label: e.name_lossy(),
                })
                .collect(),
        }
    }

    /// The table read from the disk, if any.
    pub fn existing(&self) -> Option<&Loaded> {
        match self {
            Start::Existing(loaded) => Some(loaded),
            Start::New(_) => None,
        }
    }

    /// The table read from the disk, if any, given up to be written anew.
    pub fn into_existing(self) -> Option<Loaded> {
        match self {
            Start::Existing(loaded) => Some(loaded),
            Start::New(_) => None,
        }
    }
}

/// Reads the disk's table and applies `--empty=`: a missing GPT is exit 77 with `refuse`; a
/// non-GPT label is exit 77 with `allow`; any label is exit 77 with `require`; `force` and
/// `create` start from scratch without reading. `size` is the disk size to plan for (larger
/// than the file when `--size=` grows it in a dry run); a table read from a smaller disk is
/// relocated to it in memory.
pub fn start(disk: &Disk, size: u64, empty: Empty) -> Result<Start> {
    let node = disk.path();
    // The planner derives the new table's disk GUID; this one only gives the geometry.
    let new = || Table::new(uuid::Uuid::nil(), size, disk.sector_size()).map(Start::New);
    if matches!(empty, Empty::Force | Empty::Create) {
        return new();
    }
    let mut reader = disk;
    let probe = gpt::read(&mut reader, disk.size(), disk.sector_size())
        .map_err(|e| e.context(format!("reading the partition table of {}", node.display())))?;
    match (probe, empty) {
        (Probe::NoTable(MbrKind::None), Empty::Allow | Empty::Require) => new(),
        (Probe::NoTable(MbrKind::Plain), Empty::Allow) => Err(no_table(
            node,
            "has a non-GPT disk label, not repartitioning",
        )),
        (Probe::NoTable(_), Empty::Refuse) => {
            Err(no_table(node, "has no GPT disk label, not repartitioning"))
        }
        (Probe::NoTable(_) | Probe::Gpt(_), _) if empty == Empty::Require => Err(no_table(
            node,
            "already has a disk label, refusing (--empty=require)",
        )),
        (Probe::Gpt(mut loaded), _) => {
            let sectors = size / u64::from(disk.sector_size());
            if loaded.table.disk_sectors() < sectors {
                loaded.table.relocate_backup(sectors)?;
                loaded.needs_rewrite = true;
            }
            Ok(Start::Existing(loaded))
        }
        (Probe::NoTable(_), _) => Err(no_table(node, "has no GPT disk label, not repartitioning")),
    }
}

fn no_table(node: &Path, what: &str) -> Error {
    Error::new(
        ErrorKind::NoTable,
        format!("Disk {} {what}.", node.display()),
    )
}
