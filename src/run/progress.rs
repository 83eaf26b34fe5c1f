//! The phases of a run a front end can follow (Varlink's `Run` with `more`), named and
//! ordered as systemd-repart 262 reports them.
//!
//! The phases of writing are derived from the plan and all reported before the first write
//! (the writer is one step), so a front end that fails them stops the run with the disk
//! untouched; only `rereading_table` follows the write.

use crate::config::definition::Definition;
use crate::error::Result;
use crate::plan::{Activity, Plan, PlannedPartition};

/// A step of a run, as v262's `io.systemd.Repart.ProgressPhase` names it. repart-rs never
/// goes through `opening_copy_block_sources`, `minimizing` or `copying_partition`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    LoadingDefinitions,
    LoadingTable,
    AcquiringPartitionLabels,
    Placing,
    WipingDisk,
    WipingPartition,
    FormattingPartition,
    AdjustingPartition,
    WritingTable,
    RereadingTable,
}

impl Phase {
    /// The Varlink enum value.
    pub fn name(self) -> &'static str {
        match self {
            Phase::LoadingDefinitions => "loading_definitions",
            Phase::LoadingTable => "loading_table",
            Phase::AcquiringPartitionLabels => "acquiring_partition_labels",
            Phase::Placing => "placing",
            Phase::WipingDisk => "wiping_disk",
            Phase::WipingPartition => "wiping_partition",
            Phase::FormattingPartition => "formatting_partition",
            Phase::AdjustingPartition => "adjusting_partition",
            Phase::WritingTable => "writing_table",
            Phase::RereadingTable => "rereading_table",
        }
    }
}

/// Told about each phase as the run reaches it.
pub trait Progress {
    /// `object` is the definition file the phase works on, if any. An error stops the run;
    /// for every phase but `rereading_table` that happens before anything is written.
    fn phase(&mut self, phase: Phase, object: Option<&str>) -> Result<()>;
}

/// A front end that follows nothing (the command line).
pub struct Silent;

impl Progress for Silent {
    fn phase(&mut self, _: Phase, _: Option<&str>) -> Result<()> {
        Ok(())
    }
}

/// The phases of writing `plan`, with their objects, in v262's order: the disk wipe for a
/// new table; then, by offset, a wipe for each partition created now, a format for each of
/// those with a file system, an adjustment for every partition in the table that is
/// written (a foreign one without an object); then the table write. Deferred and dropped
/// partitions are left out, as v262 does.
pub fn write_phases(plan: &Plan, definitions: &[Definition]) -> Vec<(Phase, Option<String>)> {
    let mut written: Vec<&PlannedPartition> = plan
        .partitions
        .iter()
        .filter(|p| !p.dropped && !p.deferred && p.slot.is_some())
        .collect();
    written.sort_by_key(|p| p.offset);
    let definition = |p: &PlannedPartition| {
        p.definition
            .filter(|_| !p.foreign)
            .and_then(|d| definitions.get(d))
    };
    let object = |p: &PlannedPartition| definition(p).map(|d| d.display_path.clone());
    let created = || {
        written
            .iter()
            .filter(|p| !p.existing && p.activity == Activity::Create)
    };
    let mut phases = Vec::new();
    if plan.new_table {
        phases.push((Phase::WipingDisk, None));
    }
    phases.extend(created().map(|p| (Phase::WipingPartition, object(p))));
    phases.extend(
        created()
            .filter(|p| {
                definition(p)
                    .and_then(|d| d.format.as_deref())
                    .is_some_and(|f| f != "empty")
            })
            .map(|p| (Phase::FormattingPartition, object(p))),
    );
    phases.extend(
        written
            .iter()
            .map(|p| (Phase::AdjustingPartition, object(p))),
    );
    phases.push((Phase::WritingTable, None));
    phases
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use uuid::Uuid;

    use super::*;
    use crate::config::types::PartitionType;

    fn definition(name: &str, type_name: &str, format: Option<&str>) -> Definition {
        let path = PathBuf::from(format!("/defs/{name}.conf"));
        let mut d = Definition::new(path.clone(), PartitionType::parse(type_name).unwrap());
        d.display_path = path.display().to_string();
        d.format = format.map(str::to_owned);
        d
    }

    fn partition(definition: Option<usize>, existing: bool, offset: u64) -> PlannedPartition {
        PlannedPartition {
            definition,
            foreign: definition.is_none(),
            existing,
            dropped: false,
            deferred: false,
            activity: if existing {
                Activity::Unchanged
            } else {
                Activity::Create
            },
            slot: Some(0),
            type_uuid: Uuid::nil(),
            label: String::new(),
            uuid: Uuid::nil(),
            fills_label: false,
            fills_uuid: false,
            offset,
            old_size: 0,
            new_size: 1 << 20,
            old_padding: 0,
            new_padding: 0,
            attributes: 0,
        }
    }

    fn plan(partitions: Vec<PlannedPartition>, new_table: bool) -> Plan {
        Plan {
            sector_size: 512,
            grain: 4096,
            first_usable_lba: 2048,
            last_usable_lba: 100_000,
            entry_count: 128,
            disk_guid: Uuid::nil(),
            new_table,
            fills_disk_guid: false,
            changed: true,
            deleted: Vec::new(),
            partitions,
            notes: Vec::new(),
            capped_existing_charges: false,
        }
    }

    fn names(phases: &[(Phase, Option<String>)]) -> Vec<String> {
        phases
            .iter()
            .map(|(p, o)| match o {
                Some(o) => format!("{} {o}", p.name()),
                None => p.name().to_owned(),
            })
            .collect()
    }

    /// The order measured on v262 with an existing root at 9 MiB, a foreign ESP, and new
    /// home, swap and `Format=empty` partitions of which swap and var land before root.
    #[test]
    fn by_offset_with_wipes_then_formats_then_adjustments() {
        let defs = [
            definition("10-root", "root", None),
            definition("20-home", "home", None),
            definition("30-swap", "swap", Some("swap")),
            definition("40-var", "var", Some("empty")),
        ];
        let mut deferred = partition(Some(1), false, 900);
        deferred.deferred = true;
        let mut dropped = partition(Some(1), false, 950);
        dropped.dropped = true;
        let p = plan(
            vec![
                partition(Some(0), true, 300),
                partition(Some(1), false, 500),
                partition(Some(2), false, 100),
                partition(Some(3), false, 200),
                partition(None, true, 400),
                deferred,
                dropped,
            ],
            false,
        );
        assert_eq!(
            names(&write_phases(&p, &defs)),
            [
                "wiping_partition /defs/30-swap.conf",
                "wiping_partition /defs/40-var.conf",
                "wiping_partition /defs/20-home.conf",
                "formatting_partition /defs/30-swap.conf",
                "adjusting_partition /defs/30-swap.conf",
                "adjusting_partition /defs/40-var.conf",
                "adjusting_partition /defs/10-root.conf",
                "adjusting_partition",
                "adjusting_partition /defs/20-home.conf",
                "writing_table",
            ]
        );
    }

    #[test]
    fn a_new_table_wipes_the_disk_first() {
        let defs = [definition("10-root", "root", None)];
        let p = plan(vec![partition(Some(0), false, 100)], true);
        assert_eq!(
            names(&write_phases(&p, &defs)),
            [
                "wiping_disk",
                "wiping_partition /defs/10-root.conf",
                "adjusting_partition /defs/10-root.conf",
                "writing_table",
            ]
        );
    }
}
