//! The new GPT, built from the table on disk (or a new one) and the plan. Pure.

use crate::error::{Error, ErrorKind, Result};
use crate::gpt::{Entry, Table};
use crate::plan::{Activity, Plan};

/// The table to write: `old` (already repaired and relocated in memory by the reader) with
/// the factory-reset deletions, growth, filled-in names and UUIDs and new entries of `plan`;
/// or, for a new label, an empty table for a disk of `disk_bytes` with them.
///
/// Foreign, dropped and deferred partitions leave their slots as they are. Existing entries
/// keep everything but what the plan changes: their end (when grown), an empty name and an
/// all-zero UUID.
pub fn build(old: Option<Table>, plan: &Plan, disk_bytes: u64) -> Result<Table> {
    let mut table = match old {
        Some(t) if !plan.new_table => t,
        _ => Table::new(plan.disk_guid, disk_bytes, sector_size(plan)?)?,
    };
    if (table.first_usable_lba, table.last_usable_lba)
        != (plan.first_usable_lba, plan.last_usable_lba)
    {
        return Err(Error::new(
            ErrorKind::Corrupt,
            format!(
                "the plan's usable range (LBA {}..={}) differs from the table's (LBA {}..={})",
                plan.first_usable_lba,
                plan.last_usable_lba,
                table.first_usable_lba,
                table.last_usable_lba
            ),
        ));
    }
    if plan.fills_disk_guid {
        table.disk_guid = plan.disk_guid;
    }
    let ss = u64::from(table.sector_size);
    for deleted in &plan.deleted {
        *slot_mut(&mut table, deleted.slot)? = Entry::default();
    }
    for p in &plan.partitions {
        if !p.is_written() {
            continue;
        }
        let Some(slot) = p.slot else { continue };
        let last_lba = (p.offset + p.new_size) / ss - 1;
        let entry = slot_mut(&mut table, slot)?;
        if p.existing {
            if p.activity == Activity::Resize {
                entry.last_lba = last_lba;
            }
            if p.fills_label {
                entry.name = name(&p.label)?;
            }
            if p.fills_uuid {
                entry.unique_guid = p.uuid;
            }
        } else {
            *entry = Entry {
                type_guid: p.type_uuid,
                unique_guid: p.uuid,
                first_lba: p.offset / ss,
                last_lba,
                attributes: p.attributes,
                name: name(&p.label)?,
                tail: Vec::new(),
            };
        }
    }
    table.validate()?;
    Ok(table)
}

fn sector_size(plan: &Plan) -> Result<u32> {
    u32::try_from(plan.sector_size).map_err(|_| {
        Error::new(
            ErrorKind::Usage,
            format!("sector size {} is out of range", plan.sector_size),
        )
    })
}

fn slot_mut(table: &mut Table, slot: usize) -> Result<&mut Entry> {
    let count = table.entries.len();
    table.entries.get_mut(slot).ok_or_else(|| {
        Error::new(
            ErrorKind::Corrupt,
            format!(
                "partition {} is beyond the table's {count} entries",
                slot + 1
            ),
        )
    })
}

/// The stored form of a label; the parser already refused labels that do not fit.
fn name(label: &str) -> Result<[u16; crate::gpt::NAME_UNITS]> {
    Entry::encode_name(label).ok_or_else(|| {
        Error::new(
            ErrorKind::Config,
            format!("label \"{label}\" does not fit in a GPT entry (36 UTF-16 code units)"),
        )
    })
}
