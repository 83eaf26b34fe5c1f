//! Fitting (core.md §7.4): first-fit of the new partitions into the free areas sorted by
//! usable space, un-merging supplements, and dropping priority levels until it fits.

use super::Shortfall;
use super::list::Context;
use super::size;

/// v262's GPT metadata allowance for `--size=auto`: 1 MiB before the first partition, the
/// backup header sector and a 16 KiB backup entry array.
fn metadata_size(sector_size: u64) -> u64 {
    (1u64 << 20)
        .saturating_add(sector_size)
        .saturating_add(16384)
}

/// Tries to fit, dropping priorities as needed. Returns false when nothing more can be
/// dropped and it still does not fit.
pub fn fit(ctx: &mut Context) -> bool {
    // Each round drops at least one priority level or stops, so it ends.
    for _ in 0..=ctx.parts.len() {
        if allocate(ctx) || unmerge_and_allocate(ctx) {
            drop_suppressed(ctx);
            return true;
        }
        if !drop_one_priority(ctx) {
            return false;
        }
    }
    false
}

/// One first-fit attempt over the areas sorted by the space they have for new partitions.
fn allocate(ctx: &mut Context) -> bool {
    for a in &mut ctx.areas {
        a.allocated = 0;
    }
    for p in &mut ctx.parts {
        p.area = None;
    }
    let mut order: Vec<usize> = (0..ctx.areas.len()).collect();
    // A stable sort: equal areas keep their creation order, as with glibc's merge sort.
    order.sort_by_key(|&a| ctx.area_available(a));
    ctx.area_order = order;
    if (0..ctx.areas.len()).any(|a| ctx.area_current_end(a) < ctx.area_min_end(a)) {
        return false;
    }
    for p in 0..ctx.parts.len() {
        let part = &ctx.parts[p];
        if part.dropped || part.is_foreign() || ctx.is_suppressed(p) {
            continue;
        }
        let required = size::min_size_with_padding(ctx, p);
        if part.exists() {
            if !existing_partition_fits(ctx, p, required) {
                return false;
            }
            continue;
        }
        let found = ctx
            .area_order
            .iter()
            .copied()
            .find(|&a| ctx.area_available(a) >= required);
        let Some(a) = found else {
            return false;
        };
        ctx.parts[p].area = Some(a);
        ctx.areas[a].allocated = ctx.areas[a].allocated.saturating_add(required);
    }
    true
}

/// Whether existing partition `p` has room for `required`, its minimum size and padding
/// rounded up so that whatever follows starts on the grain (v262's charge).
///
/// v262 compares that charge with the partition's size plus the free space after it counted
/// in whole grains. A partition that does not end on the grain (an unaligned size or offset
/// from another tool, or `--grain-size=` above the table's alignment) is then charged more
/// than can physically be there, e.g. when it ends at the last usable LBA, and a disk on which
/// every partition already exists fails with "Can't fit requested partitions" on every run.
/// In the retry after v262's rules failed (`Context::cap_existing_charges`), the charge is
/// capped at what the partition can actually have: its size plus the free bytes up to the
/// next partition or the end of the usable range. The cap forgives the rounding only: the
/// unrounded minimum size and padding must still be there, and the size itself must be one
/// the growth step can give (it grows a partition only into the grain-aligned free space
/// after it, so one without any already has its minimum size).
fn existing_partition_fits(ctx: &Context, p: usize, required: u64) -> bool {
    let Some(c) = &ctx.parts[p].current else {
        return true;
    };
    let counted = c.size.saturating_add(c.padding);
    if required <= counted {
        return true;
    }
    if !ctx.cap_existing_charges {
        return false;
    }
    let physical = c.size.saturating_add(c.free_after);
    let min_size = size::min_size(ctx, p);
    let unrounded = min_size.saturating_add(size::min_padding(ctx, p));
    let capped = if unrounded <= physical {
        required.min(physical)
    } else {
        required
    };
    capped <= physical && min_size <= counted
}

/// How many allocation attempts the supplement search may make. v262's search tries every
/// order of un-merging, which grows factorially; real configurations have a handful of
/// supplements and stay far below this.
const UNMERGE_BUDGET: usize = 10_000;

/// Un-merges supplements, one first and then more (in v262's order), until the allocation
/// succeeds.
fn unmerge_and_allocate(ctx: &mut Context) -> bool {
    let mut budget = UNMERGE_BUDGET;
    unmerge_search(ctx, &mut budget)
}

fn unmerge_search(ctx: &mut Context, budget: &mut usize) -> bool {
    let targets: Vec<usize> = (0..ctx.parts.len())
        .filter(|&p| ctx.parts[p].suppressing.is_some())
        .collect();
    for &t in &targets {
        if *budget == 0 {
            return false;
        }
        *budget -= 1;
        let s = ctx.parts[t].suppressing.take();
        if allocate(ctx) {
            return true;
        }
        ctx.parts[t].suppressing = s;
    }
    // Each level un-merges one more supplement, so the recursion is as deep as there are
    // supplements.
    for &t in &targets {
        let s = ctx.parts[t].suppressing.take();
        if unmerge_search(ctx, budget) {
            return true;
        }
        ctx.parts[t].suppressing = s;
    }
    false
}

/// Supplements still merged after a successful allocation are not created.
fn drop_suppressed(ctx: &mut Context) {
    for p in 0..ctx.parts.len() {
        if ctx.is_suppressed(p) {
            ctx.parts[p].dropped = true;
        }
    }
}

/// Drops (new) or foreignizes (existing) every partition of the highest priority level, if
/// that level is above 0.
fn drop_one_priority(ctx: &mut Context) -> bool {
    let top = (0..ctx.parts.len())
        .filter(|&p| !ctx.parts[p].dropped)
        .map(|p| size::priority(ctx, p))
        .fold(0, i32::max);
    if top <= 0 {
        return false;
    }
    for p in 0..ctx.parts.len() {
        let part = &ctx.parts[p];
        if part.dropped || part.is_foreign() || size::priority(ctx, p) < top {
            continue;
        }
        let note = drop_note(ctx, p, top);
        ctx.notes.push(note);
        if ctx.parts[p].exists() {
            foreignize(ctx, p);
        } else {
            ctx.parts[p].dropped = true;
            ctx.parts[p].area = None;
            // A dropped supplement no longer limits its target.
            if let Some(t) = ctx.parts[p].supplement_for {
                if ctx.parts[t].suppressing == Some(p) {
                    ctx.parts[t].suppressing = None;
                }
            }
        }
    }
    true
}

/// v262's message for a partition of a dropped priority level: a new partition is named by
/// its definition file, an existing one by its label.
fn drop_note(ctx: &Context, p: usize, priority: i32) -> String {
    let part = &ctx.parts[p];
    if part.exists() {
        let label = part.new_label.as_deref().unwrap_or_default();
        format!("Can't grow existing partition {label} of priority {priority}, ignoring.")
    } else {
        let file = part
            .managed_def(ctx.defs)
            .map(|d| d.path.display().to_string())
            .unwrap_or_default();
        format!("Can't fit partition {file} of priority {priority}, dropping.")
    }
}

/// An existing partition that cannot grow becomes foreign: it keeps its size and loses its
/// supplement links. The label and UUID assigned to it stay as v262 reports them, but a
/// foreign entry's are never written (see `PlannedPartition::fills_label`).
fn foreignize(ctx: &mut Context, p: usize) {
    ctx.parts[p].foreignized = true;
    if let Some(t) = ctx.parts[p].supplement_for.take() {
        if ctx.parts[t].suppressing == Some(p) {
            ctx.parts[t].suppressing = None;
        }
    }
    if let Some(s) = ctx.parts[p].suppressing.take() {
        ctx.parts[s].supplement_for = None;
    }
    for q in &mut ctx.parts {
        if q.supplement_for == Some(p) {
            q.supplement_for = None;
        }
    }
}

/// `--size=auto`: metadata plus the minimum (with padding) of every partition still wanted.
pub fn minimal_size(ctx: &Context) -> u64 {
    (0..ctx.parts.len())
        .filter(|&p| !ctx.parts[p].dropped && !ctx.is_suppressed(p))
        .map(|p| size::min_size_with_padding(ctx, p))
        .fold(metadata_size(ctx.sector_size), u64::saturating_add)
}

/// The numbers behind a failed fit, after all priorities were dropped.
pub fn shortfall(ctx: &Context) -> Shortfall {
    let foreign_size = ctx
        .parts
        .iter()
        .filter(|p| p.is_foreign())
        .filter_map(|p| p.current_size())
        .fold(0, u64::saturating_add);
    let needed = (0..ctx.parts.len())
        .filter(|&p| {
            let part = &ctx.parts[p];
            !part.dropped && !part.is_foreign() && !part.exists() && !ctx.is_suppressed(p)
        })
        .map(|p| size::min_size_with_padding(ctx, p))
        .fold(0, u64::saturating_add);
    let largest_free_area = ctx.area_order.last().map_or(0, |&a| ctx.area_available(a));
    let used_size = match ctx.disk_guid {
        None => 0,
        Some(_) => ctx
            .parts
            .iter()
            .filter_map(|p| p.current_size())
            .fold(metadata_size(ctx.sector_size), u64::saturating_add),
    };
    Shortfall {
        minimal_size: minimal_size(ctx),
        foreign_size,
        disk_size: ctx.disk_size,
        used_size,
        needed,
        largest_free_area,
        notes: ctx.notes.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests_support::*;
    use super::super::{ErrorKind, layout, minimal_size, plan};

    /// Three foreign blockers leave gaps of 20 MiB, 100 MiB and the rest of a 256 MiB disk.
    fn gappy() -> super::super::DiskLayout {
        disk(
            256,
            vec![
                existing(0, "linux-generic", 2048, 4095, "a"),
                existing(1, "linux-generic", 45056, 47103, "b"),
                existing(2, "linux-generic", 251904, 253951, "c"),
            ],
        )
    }

    #[test]
    fn new_partitions_go_to_the_smallest_area_that_fits() {
        let plan = plan_on(
            &gappy(),
            &[
                "10-home:SizeMinBytes=30M",
                "20-srv",
                "30-var:SizeMinBytes=90M",
            ],
        );
        let start = |i: usize| plan.partitions[i].offset / 512;
        // home (30M) skips the 20M gap for the 100M one; srv (10M) takes the 20M gap; var
        // (90M) no longer fits the 100M gap and goes to the end.
        assert_eq!(start(1), 4096);
        assert_eq!(start(0), 47104);
        assert_eq!(start(2), 253952);
    }

    #[test]
    fn priority_levels_drop_from_the_top_and_never_below_one() {
        let specs = [
            "10-root:SizeMinBytes=20M",
            "20-home:SizeMinBytes=20M:Priority=3",
            "30-srv:SizeMinBytes=20M:Priority=2",
            "40-var:SizeMinBytes=20M:Priority=1",
        ];
        let planned = plan_on(&disk(50, vec![]), &specs);
        let dropped: Vec<bool> = planned.partitions.iter().map(|p| p.dropped).collect();
        assert_eq!(dropped, [false, true, true, false]);
        // One message per partition dropped, level by level, in list order (v262's wording).
        assert_eq!(
            planned.notes,
            [
                "Can't fit partition /defs/20-home.conf of priority 3, dropping.",
                "Can't fit partition /defs/30-srv.conf of priority 2, dropping.",
            ]
        );
        let defs = defs(&[
            "10-root:SizeMinBytes=30M:Priority=-5",
            "20-home:SizeMinBytes=30M",
        ]);
        let r = layout(&disk(40, vec![]), &defs, &options()).unwrap();
        assert!(r.is_err(), "levels <= 0 are never dropped");
        let e = plan(&disk(40, vec![]), &defs, &options()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NoSpace);
        // A failure reports what was dropped before giving up.
        let defs = super::super::tests_support::defs(&[
            "10-root:SizeMinBytes=30M",
            "20-home:SizeMinBytes=30M:Priority=1",
        ]);
        let s = layout(&disk(20, vec![]), &defs, &options())
            .unwrap()
            .unwrap_err();
        assert_eq!(
            s.notes,
            ["Can't fit partition /defs/20-home.conf of priority 1, dropping."]
        );
    }

    #[test]
    fn existing_partitions_that_cannot_grow_become_foreign() {
        let d = disk(
            128,
            vec![
                existing(0, "root", 2048, 2048 + 40959, "root"),
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
        assert!(root.foreign && root.existing && !root.dropped);
        assert_eq!(root.new_size, root.old_size);
        assert_eq!(plan.partitions[1].activity, super::super::Activity::Create);
        // Named by its label, as v262 does.
        assert_eq!(
            plan.notes,
            ["Can't grow existing partition root of priority 1, ignoring."]
        );
    }

    /// A root from LBA 2048 up to the last usable LBA of a 64 MiB disk: 512 bytes short of
    /// the 4K grain, so v262 charges it 3.5K more than the disk has.
    fn root_to_the_end() -> super::super::DiskLayout {
        disk(64, vec![existing(0, "root", 2048, 131038, "root")])
    }

    #[test]
    fn a_disk_v262_refuses_for_rounding_alone_plans_without_changes() {
        let d = root_to_the_end();
        let defs = defs(&["10-root"]);
        let plan = layout(&d, &defs, &options()).unwrap().unwrap();
        assert!(plan.capped_existing_charges);
        assert!(!plan.changed);
        let root = &plan.partitions[0];
        assert_eq!((root.new_size, root.new_padding), (root.old_size, 0));
        // v262's rules alone refuse it.
        let mut ctx = super::super::prepare(&d, &defs, &options()).unwrap();
        assert!(!super::fit(&mut ctx));
        // The same with 4K-aligned partitions under a 1 MiB grain, a few sectors free after
        // each: the charges are capped at what is there, the sizes stay.
        let d = disk(
            256,
            vec![
                existing(0, "root", 2048, 42999, "root"),
                existing(1, "home", 43008, 524247, "home"),
            ],
        );
        let mut o = options();
        o.grain_size = Some(1 << 20);
        let plan = plan_with(&d, &["10-root", "20-home"], &o);
        assert!(plan.capped_existing_charges && !plan.changed);
    }

    #[test]
    fn the_retry_fits_what_v262_dropped_and_leaves_v262_fits_alone() {
        // A root up to the end of a 128 MiB disk and 20M free before it: v262 drops home
        // (priority 1) and still fails on the root; the retry keeps home.
        let d = disk(128, vec![existing(0, "root", 43008, 262110, "root")]);
        let plan = plan_on(&d, &["10-root", "20-home:SizeMinBytes=10M:Priority=1"]);
        assert!(plan.capped_existing_charges && plan.notes.is_empty());
        assert_eq!(plan.partitions[1].activity, super::super::Activity::Create);
        assert_eq!(plan.partitions[1].offset, 1 << 20);
        // Where v262's rules fit, the retry never runs.
        let plan = plan_on(&disk(64, vec![]), &["10-root"]);
        assert!(!plan.capped_existing_charges);
    }

    #[test]
    fn the_retry_still_refuses_what_is_not_there() {
        // More than the disk has: v262's shortfall, numbers and messages.
        let d = root_to_the_end();
        let too_big = defs(&["10-root:SizeMinBytes=100M", "20-home:Priority=1"]);
        let s = layout(&d, &too_big, &options()).unwrap().unwrap_err();
        assert_eq!(
            s.notes,
            ["Can't fit partition /defs/20-home.conf of priority 1, dropping."]
        );
        assert_eq!(s.minimal_size, (1 << 20) + 512 + 16384 + (100 << 20));
        assert!(s.disk_too_small());
        // 512 bytes short of its 10M minimum with 1K free after it: the growth step cannot
        // give it the unaligned 1K, so it does not fit either.
        let d = disk(
            64,
            vec![
                existing(0, "root", 2048, 22526, "root"),
                existing(1, "linux-generic", 22530, 24577, "x"),
            ],
        );
        let r = layout(&d, &defs(&["10-root"]), &options()).unwrap();
        assert!(r.is_err());
        // A minimum padding the space after it does not have.
        let d = root_to_the_end();
        let r = layout(&d, &defs(&["10-root:PaddingMinBytes=4K"]), &options()).unwrap();
        assert!(r.is_err());
    }

    #[test]
    fn supplement_search_is_bounded() {
        // 12 targets with a supplement each on a disk too small for any of them: v262 would
        // try 12! orders of un-merging.
        let names: Vec<String> = (0..12)
            .flat_map(|i| {
                [
                    format!("{i:02}a:Type=linux-generic:SizeMinBytes=10M"),
                    format!("{i:02}b:Type=linux-generic:SupplementFor={i:02}a"),
                ]
            })
            .collect();
        let specs: Vec<&str> = names.iter().map(String::as_str).collect();
        let defs = defs(&specs);
        let r = layout(&disk(8, vec![]), &defs, &options()).unwrap();
        assert!(r.is_err());
        // With room, the merges hold: one partition per target.
        let p = plan_on(&disk(512, vec![]), &specs);
        assert_eq!(p.partitions.iter().filter(|p| !p.dropped).count(), 12);
    }

    #[test]
    fn minimal_size_counts_metadata_and_every_minimum() {
        let specs = [
            "50-root",
            "60-home",
            "70-swap:SizeMinBytes=64M:SizeMaxBytes=1G",
        ];
        let defs = defs(&specs);
        let empty = disk_sectors(100, 34, vec![]);
        assert_eq!(minimal_size(&empty, &defs, &options()).unwrap(), 89145856);
        let mut big = empty.clone();
        big.sector_size = 4096;
        assert_eq!(minimal_size(&big, &defs, &options()).unwrap(), 89149440);
    }

    #[test]
    fn shortfall_names_the_numbers() {
        let d = disk(
            64,
            vec![existing(0, "linux-generic", 2048, 2048 + 81919, "f")],
        );
        let defs = defs(&["10-home:SizeMinBytes=30M"]);
        let s = layout(&d, &defs, &options()).unwrap().unwrap_err();
        assert_eq!(s.minimal_size, 74465792);
        assert_eq!(s.foreign_size, 40 << 20);
        assert!(!s.disk_too_small());
        assert_eq!(s.need_free(), 30 << 20);
        assert_eq!(s.needed, 30 << 20);
        let e = plan(&d, &defs, &options()).unwrap_err();
        assert!(e.to_string().contains("need 31457280 bytes"), "{e}");
    }
}
