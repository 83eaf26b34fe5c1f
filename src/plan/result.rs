//! The [`Plan`]: what the apply and report layers need, in v262's terms.

use uuid::Uuid;

use super::PlanOptions;
use super::ids;
use super::list::Context;
use super::size;

/// What happens to a partition, as v262's JSON `activity` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    Create,
    Resize,
    Unchanged,
}

impl Activity {
    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Activity::Create => "create",
            Activity::Resize => "resize",
            Activity::Unchanged => "unchanged",
        }
    }
}

/// One partition of the final list: definitions in order, then foreign entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedPartition {
    /// Index of the definition; `None` for an entry no definition matched.
    pub definition: Option<usize>,
    /// Not managed: no definition matched, or its priority level was dropped while it exists.
    pub foreign: bool,
    /// On disk before the run.
    pub existing: bool,
    /// A new partition left out because its priority level was dropped (or a supplement
    /// merged into its target). Nothing below but the label and UUID is meaningful then.
    pub dropped: bool,
    /// Planned (space, slot) but not written (`--defer-partitions*`): a new partition is not
    /// created, an existing one keeps its on-disk size, name and UUID. v262 reports the
    /// planned values all the same.
    pub deferred: bool,
    pub activity: Activity,
    /// 0-based entry index; `None` when dropped.
    pub slot: Option<usize>,
    pub type_uuid: Uuid,
    /// The GPT name v262 assigns (and reports). New partitions are written with it; an
    /// existing entry only gets it when `fills_label` is set and otherwise keeps its own.
    pub label: String,
    /// The unique GUID v262 assigns (and reports); written like `label`, see `fills_uuid`.
    pub uuid: Uuid,
    /// An existing entry whose empty name is filled in (written only if the table is, and the
    /// partition is not deferred).
    pub fills_label: bool,
    /// An existing entry whose all-zero UUID is filled in (same conditions).
    pub fills_uuid: bool,
    /// Start in bytes.
    pub offset: u64,
    /// Size before the run (0 for new partitions), as JSON `old_size`.
    pub old_size: u64,
    /// Size after the run, as JSON `raw_size`.
    pub new_size: u64,
    /// Free space after the partition before the run, as JSON `old_padding`.
    pub old_padding: u64,
    /// v262's padding after the partition, as JSON `raw_padding`. For the last partition of a
    /// free area it includes the unused rest of the area, which is not a gap before anything.
    pub new_padding: u64,
    /// The attribute word after the run: unchanged for existing entries, `Flags=` with the
    /// tristates for new ones (0 if libfdisk would reject it).
    pub attributes: u64,
}

/// A partition deleted by the factory reset (its range is wiped by apply).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedPartition {
    pub slot: usize,
    pub offset: u64,
    pub size: u64,
}

/// The planned table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub sector_size: u64,
    /// Alignment of new partitions in bytes.
    pub grain: u64,
    pub first_usable_lba: u64,
    pub last_usable_lba: u64,
    pub entry_count: usize,
    /// The disk GUID after the run.
    pub disk_guid: Uuid,
    /// A new table is written (the disk had none).
    pub new_table: bool,
    /// The existing table's all-zero disk GUID is replaced by the derived one (written only
    /// if the table is written; v262 fails on such tables instead).
    pub fills_disk_guid: bool,
    /// Whether the table is written: a new table, a factory reset, or any partition created
    /// or grown. Filling in labels or UUIDs alone writes nothing ("No changes.").
    pub changed: bool,
    pub deleted: Vec<DeletedPartition>,
    pub partitions: Vec<PlannedPartition>,
}

/// Collects the plan from the finished context.
pub fn build(ctx: &Context, options: &PlanOptions) -> Plan {
    let partitions: Vec<PlannedPartition> = (0..ctx.parts.len())
        .map(|p| planned(ctx, p, options))
        .collect();
    let (disk_guid, fills_disk_guid) = match ctx.disk_guid {
        Some(g) if !g.is_nil() => (g, false),
        Some(_) => (ids::disk_guid(options.seed), true),
        None => (ids::disk_guid(options.seed), false),
    };
    let new_table = ctx.disk_guid.is_none();
    let grows = partitions
        .iter()
        .any(|p| !p.dropped && p.activity != Activity::Unchanged);
    Plan {
        sector_size: ctx.sector_size,
        grain: ctx.grain,
        first_usable_lba: ctx.first_usable_lba,
        last_usable_lba: ctx.last_usable_lba,
        entry_count: ctx.entry_count,
        disk_guid,
        new_table,
        fills_disk_guid,
        changed: new_table || !ctx.deleted.is_empty() || grows,
        deleted: ctx
            .deleted
            .iter()
            .map(|e| DeletedPartition {
                slot: e.slot,
                offset: e.first_lba * ctx.sector_size,
                size: (e.last_lba - e.first_lba + 1) * ctx.sector_size,
            })
            .collect(),
        partitions,
    }
}

fn planned(ctx: &Context, p: usize, options: &PlanOptions) -> PlannedPartition {
    let part = &ctx.parts[p];
    let def = part.managed_def(ctx.defs);
    let current = part.current.as_ref();
    let label = part.new_label.clone().unwrap_or_default();
    let new_size = part.new_size.unwrap_or(0);
    let activity = match current {
        None => Activity::Create,
        Some(c) if c.size != new_size => Activity::Resize,
        Some(_) => Activity::Unchanged,
    };
    // v262 checks deferral for every partition it would write, existing ones included.
    let deferred = !part.dropped
        && (options.defer.contains(&part.type_uuid)
            || (options.defer_empty && label == "_empty")
            || (options.defer_factory_reset && def.is_some_and(|d| d.factory_reset)));
    let managed_existing = current.filter(|_| !part.is_foreign() && !part.dropped && !deferred);
    PlannedPartition {
        definition: part.def,
        foreign: part.is_foreign(),
        existing: part.exists(),
        dropped: part.dropped,
        deferred,
        activity,
        slot: part.slot,
        type_uuid: part.type_uuid,
        fills_label: managed_existing.is_some_and(|c| c.label != label),
        fills_uuid: managed_existing.is_some_and(|c| c.uuid != part.new_uuid),
        label,
        uuid: part.new_uuid,
        offset: part.offset.unwrap_or(0),
        old_size: current.map_or(0, |c| c.size),
        new_size,
        old_padding: current.map_or(0, |c| c.padding),
        new_padding: part.new_padding.unwrap_or(0),
        attributes: match (current, def) {
            (Some(c), _) => c.attributes,
            (None, Some(d)) => size::new_attributes(d),
            (None, None) => 0,
        },
    }
}
