//! The planner: (existing disk layout, definitions, options) -> [`Plan`].
//!
//! Pure: no I/O, no clock, and no randomness but [`PlanOptions::fallback_entropy`]. For the
//! same inputs the resulting table (offsets, sizes, slots, types, labels, UUIDs, attributes,
//! disk GUID) is the one systemd-repart 262 writes.
//!
//! The steps, each in its own module:
//! 1. `list`: bind existing entries to definitions, append foreign ones, apply
//!    `--include/--exclude-partitions`, factory-reset deletions and `SupplementFor=`.
//! 2. `label` and `ids`: labels and UUIDs, before allocation as v262 does.
//! 3. `area`: the free areas and the usable window.
//! 4. `fit`: first-fit allocation with priority dropping; where that finds no room, one retry
//!    with existing partitions charged no more than is physically there (see [`layout`]).
//! 5. `grow`: the weight phases that size partitions and paddings per area.
//! 6. `place`: offsets and slot numbers.
//! 7. `content`: refusing content we cannot write yet.

mod area;
mod content;
mod fit;
mod grow;
mod ids;
mod label;
mod list;
mod place;
mod result;
mod size;
#[cfg(test)]
mod tests_examples;
#[cfg(test)]
mod tests_support;

use std::fmt;

use uuid::Uuid;

use crate::config::definition::Definition;
use crate::error::{Error, ErrorKind, Result};

pub use ids::file_system_uuid;
pub use result::{Activity, DeletedPartition, Plan, PlannedPartition};

/// The existing partition table as the planner sees it (built by the caller from the GPT,
/// already relocated in memory on grown disks), or an empty table for a new label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskLayout {
    /// Logical sector size in bytes: 512, 1024, 2048 or 4096.
    pub sector_size: u64,
    /// Size of the whole disk in bytes (reported when the partitions do not fit).
    pub disk_size: u64,
    pub first_usable_lba: u64,
    pub last_usable_lba: u64,
    /// Slots in the entry array (128 for new tables).
    pub entry_count: usize,
    /// `None` for a new table.
    pub disk_guid: Option<Uuid>,
    /// Used entries only, in any order.
    pub partitions: Vec<ExistingPartition>,
}

/// One used entry of the existing table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingPartition {
    /// 0-based index in the entry array.
    pub slot: usize,
    pub type_uuid: Uuid,
    pub uuid: Uuid,
    pub first_lba: u64,
    /// Inclusive.
    pub last_lba: u64,
    pub attributes: u64,
    pub label: String,
}

/// Everything besides the disk and the definitions that changes the result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanOptions {
    /// Resolved by the caller (machine-id, `--seed=`, or random).
    pub seed: Uuid,
    /// `--grain-size=`; the grain is `max(this or 4096, sector size)`.
    pub grain_size: Option<u64>,
    /// `--factory-reset=yes` (the caller has already refused it for dry runs and new tables).
    pub factory_reset: bool,
    /// `--include-partitions=`: definitions of other types are ignored.
    pub include: Option<Vec<Uuid>>,
    /// `--exclude-partitions=`: definitions of these types are ignored.
    pub exclude: Option<Vec<Uuid>>,
    /// `--defer-partitions=`: new partitions of these types are planned but not written.
    pub defer: Vec<Uuid>,
    /// `--defer-partitions-empty=yes`: defer new partitions labelled `_empty`.
    pub defer_empty: bool,
    /// `--defer-partitions-factory-reset=yes`: defer new `FactoryReset=yes` partitions.
    pub defer_factory_reset: bool,
    /// The file system sector size used when a definition has no `FileSystemSectorSize=`:
    /// the sector size of a block device, 4096 for image files, or `--sector-size=`.
    pub default_fs_sector_size: u64,
    /// The only randomness: UUIDs for derived UUIDs that collide with another one.
    pub fallback_entropy: [u8; 32],
}

/// Why the partitions do not fit, with the numbers v262's Varlink errors carry. Computed
/// after every droppable priority level was dropped, as v262 does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortfall {
    /// The smallest disk (bytes) that would hold every partition still wanted, existing and
    /// foreign ones included (`minimalSizeBytes`).
    pub minimal_size: u64,
    /// Bytes taken by foreign partitions.
    pub foreign_size: u64,
    /// The disk's size in bytes (`currentSizeBytes`).
    pub disk_size: u64,
    /// The GPT metadata allowance plus every existing partition (0 for a new table): what
    /// v262 subtracts from `minimal_size` for `needFreeBytes`.
    pub used_size: u64,
    /// Bytes the new partitions need at least, with their padding.
    pub needed: u64,
    /// Bytes usable for new partitions in the largest free area.
    pub largest_free_area: u64,
    /// What the planner reported before giving up (see [`Plan::notes`]).
    pub notes: Vec<String>,
}

impl Shortfall {
    /// Whether the disk is too small even without the foreign partitions (`DiskTooSmall`);
    /// otherwise there is just not enough free space (`InsufficientFreeSpace`).
    pub fn disk_too_small(&self) -> bool {
        self.minimal_size.saturating_sub(self.foreign_size) > self.disk_size
    }

    /// `needFreeBytes` of `InsufficientFreeSpace`.
    pub fn need_free(&self) -> u64 {
        self.minimal_size.saturating_sub(self.used_size)
    }
}

impl fmt::Display for Shortfall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "can't fit the requested partitions into the free space: the new partitions need \
             {} bytes, the largest free area has {} bytes; the disk would need at least {} \
             bytes, it has {}",
            self.needed, self.largest_free_area, self.minimal_size, self.disk_size
        )
    }
}

impl From<Shortfall> for Error {
    fn from(s: Shortfall) -> Error {
        Error::new(ErrorKind::NoSpace, s.to_string())
    }
}

/// Plans the new table. Fails with `NoSpace` when the partitions do not fit even after
/// dropping priorities, and with `Unsupported` when a partition to create asks for content
/// this program cannot write yet.
pub fn plan(disk: &DiskLayout, definitions: &[Definition], options: &PlanOptions) -> Result<Plan> {
    let plan = layout(disk, definitions, options)?.map_err(Error::from)?;
    content::refuse_unsupported(&plan, definitions)?;
    Ok(plan)
}

/// The table v262 would write, without the content check of [`plan`]: `Ok(Err(shortfall))`
/// when the partitions do not fit. Where v262's rules find no fit only because they charge
/// existing partitions more than is physically there (docs/compat.md, item 29), the plan of
/// a retry with those charges capped; the shortfall stays v262's.
pub fn layout(
    disk: &DiskLayout,
    definitions: &[Definition],
    options: &PlanOptions,
) -> Result<std::result::Result<Plan, Shortfall>> {
    let mut ctx = prepare(disk, definitions, options)?;
    if !fit::fit(&mut ctx) {
        let shortfall = fit::shortfall(&ctx);
        ctx = prepare(disk, definitions, options)?;
        ctx.cap_existing_charges = true;
        if !fit::fit(&mut ctx) {
            return Ok(Err(shortfall));
        }
    }
    grow::grow(&mut ctx);
    place::place(&mut ctx)?;
    Ok(Ok(result::build(&ctx, options)))
}

/// The partition list with labels and UUIDs assigned, ready to fit.
fn prepare<'a>(
    disk: &DiskLayout,
    definitions: &'a [Definition],
    options: &PlanOptions,
) -> Result<list::Context<'a>> {
    let mut ctx = list::Context::load(disk, definitions, options)?;
    label::assign(&mut ctx);
    ids::assign(&mut ctx, options);
    Ok(ctx)
}

/// `--can-factory-reset`: the slots of the existing partitions a factory reset would delete
/// (those bound to a `FactoryReset=yes` definition).
pub fn factory_reset_candidates(
    disk: &DiskLayout,
    definitions: &[Definition],
    options: &PlanOptions,
) -> Result<Vec<usize>> {
    let options = PlanOptions {
        factory_reset: true,
        ..options.clone()
    };
    let ctx = list::Context::load(disk, definitions, &options)?;
    Ok(ctx.deleted.iter().map(|e| e.slot).collect())
}

/// `--size=auto`: the minimal disk size in bytes for the definitions and the partitions
/// already on `disk` (v262: GPT metadata of 1 MiB + one sector + 16 KiB, plus every
/// partition's minimum size with padding, before any priority is dropped).
pub fn minimal_size(
    disk: &DiskLayout,
    definitions: &[Definition],
    options: &PlanOptions,
) -> Result<u64> {
    let ctx = list::Context::load(disk, definitions, options)?;
    Ok(fit::minimal_size(&ctx))
}
