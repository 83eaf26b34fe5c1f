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
    /// v262's table and JSON show an empty one as the type name for a foreign entry of a
    /// known type, and as `-` otherwise.
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

impl PlannedPartition {
    /// Whether the new table writes this entry (creates, grows or names it): foreign,
    /// dropped and deferred partitions leave their slots as they are.
    pub fn is_written(&self) -> bool {
        !self.foreign && !self.dropped && !self.deferred
    }
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
    /// Definitions in order, then foreign entries. v262's table and JSON show the ones not
    /// dropped, sorted by offset.
    pub partitions: Vec<PlannedPartition>,
    /// Messages for the log, in the order v262 prints them before its table: "Can't fit
    /// partition FILE of priority N, dropping." for each new partition of a dropped priority
    /// level and "Can't grow existing partition LABEL of priority N, ignoring." for each
    /// existing one.
    pub notes: Vec<String>,
    /// The partitions fit only with existing partitions charged no more than the space
    /// physically there: v262 refuses this disk ("Can't fit requested partitions"; see
    /// docs/compat.md, item 29).
    pub capped_existing_charges: bool,
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
        notes: ctx.notes.clone(),
        capped_existing_charges: ctx.cap_existing_charges,
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
    // v262 checks deferral for every partition it would write, existing ones included
    // (foreign ones are never written anyway).
    let deferred = !part.dropped
        && !part.is_foreign()
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

#[cfg(test)]
mod tests {
    use super::super::tests_support::*;
    use super::*;

    const NIL: &str = "00000000-0000-0000-0000-000000000000";

    fn blank_root(size: u64) -> super::super::ExistingPartition {
        let mut root = existing(0, "root", 2048, 2048 + size - 1, "");
        root.uuid = uuid(NIL);
        root
    }

    #[test]
    fn filling_a_label_or_uuid_alone_changes_nothing() {
        let plan = plan_on(
            &disk(256, vec![blank_root(32768)]),
            &["10-root:SizeMaxBytes=16M"],
        );
        let root = &plan.partitions[0];
        assert!(root.fills_label && root.fills_uuid);
        assert_eq!(root.label, "root-x86-64");
        assert_eq!(root.uuid, uuid("b08c4df5-f14d-44a6-b87b-5d48dbb3ffe9"));
        assert_eq!(root.activity, Activity::Unchanged);
        assert!(!plan.changed);
        // With growth the table is written, and the fills with it.
        let plan = plan_on(&disk(256, vec![blank_root(32768)]), &["10-root"]);
        assert!(plan.changed && plan.partitions[0].fills_label);
    }

    #[test]
    fn an_all_zero_disk_guid_is_replaced_by_the_derived_one() {
        let mut d = disk(256, vec![existing(0, "root", 2048, 4095, "root")]);
        d.disk_guid = Some(uuid(NIL));
        let plan = plan_on(&d, &["10-root"]);
        assert!(plan.fills_disk_guid && !plan.new_table);
        assert_eq!(plan.disk_guid, uuid("88037571-2d10-4560-ad11-28550017e775"));
        d.disk_guid = Some(uuid("bbbbbbbb-0000-4000-8000-000000000001"));
        let plan = plan_on(&d, &["10-root"]);
        assert!(!plan.fills_disk_guid);
        assert_eq!(plan.disk_guid, uuid("bbbbbbbb-0000-4000-8000-000000000001"));
    }

    #[test]
    fn a_foreignized_partition_is_reported_but_never_filled() {
        // core.md §9.4: v262 assigns a label and UUID, then drops the priority level and
        // aborts when writing. We leave the entry untouched.
        let d = disk(
            128,
            vec![
                blank_root(40960),
                existing(1, "linux-generic", 43008, 45055, "blocker"),
            ],
        );
        let plan = plan_on(
            &d,
            &[
                "10-root:SizeMinBytes=100M:Priority=1",
                "20-home:SizeMinBytes=20M",
            ],
        );
        let root = &plan.partitions[0];
        assert!(root.foreign && !root.fills_label && !root.fills_uuid);
        assert_eq!(root.label, "root-x86-64");
        assert!(plan.changed);
        // v262 names it by the label it assigned, the entry's own being empty.
        assert_eq!(
            plan.notes,
            ["Can't grow existing partition root-x86-64 of priority 1, ignoring."]
        );
    }

    #[test]
    fn deferral_applies_to_existing_partitions_too() {
        let mut o = options();
        o.defer = vec![uuid("4f68bce3-e8cd-4db1-96e7-fbcaf984b709")];
        let plan = plan_with(&disk(256, vec![blank_root(32768)]), &["10-root"], &o);
        let root = &plan.partitions[0];
        assert!(root.deferred && root.existing);
        assert_eq!(root.activity, Activity::Resize);
        assert!(!root.fills_label && !root.fills_uuid);
    }

    #[test]
    fn factory_reset_deletions_are_listed_and_force_a_write() {
        let mut o = options();
        o.factory_reset = true;
        let d = disk(
            256,
            vec![
                existing(0, "root", 2048, 2048 + 262143, "root"),
                existing(1, "home", 264192, 264192 + 20479, "home"),
            ],
        );
        let plan = plan_with(
            &d,
            &[
                "10-root:SizeMaxBytes=128M",
                "20-home:FactoryReset=yes:SizeMaxBytes=10M",
            ],
            &o,
        );
        assert_eq!(
            plan.deleted,
            [DeletedPartition {
                slot: 1,
                offset: 264192 * 512,
                size: 20480 * 512
            }]
        );
        assert!(plan.changed);
        let home = &plan.partitions[1];
        assert_eq!((home.activity, home.slot), (Activity::Create, Some(1)));
    }
}
