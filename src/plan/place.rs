//! Placement and slot numbers (core.md §7.6).

use super::area::round_up;
use super::list::Context;
use crate::error::{Error, ErrorKind, Result};

/// Places the new partitions of each area (in the sorted area order) at its start, one after
/// the other in list order, re-aligning to the grain after each, and numbers them.
pub fn place(ctx: &mut Context) -> Result<()> {
    for a in ctx.area_order.clone() {
        let area = &ctx.areas[a];
        let mut start = match area.after.map(|p| &ctx.parts[p]) {
            Some(after) => after
                .offset
                .unwrap_or(0)
                .saturating_add(after.new_size.unwrap_or(0))
                .saturating_add(after.new_padding.unwrap_or(0)),
            None => ctx.start,
        };
        start = round_up(start, ctx.grain);
        let mut left = area.size;
        for p in 0..ctx.parts.len() {
            if ctx.parts[p].area != Some(a) {
                continue;
            }
            let slot = free_slot(ctx, p)?;
            let part = &mut ctx.parts[p];
            part.offset = Some(start);
            part.slot = Some(slot);
            for amount in [part.new_size.unwrap_or(0), part.new_padding.unwrap_or(0)] {
                start = start.saturating_add(amount);
                left = left.saturating_sub(amount);
            }
            // v262 re-aligns the next start unless the area has no room for the gap.
            let gap = round_up(start, ctx.grain) - start;
            if gap <= left {
                start += gap;
                left -= gap;
            }
        }
    }
    Ok(())
}

/// The slot for new partition `p` (v262): the first free slot after the last existing
/// partition of the same type (foreign ones count too), else the first free slot.
fn free_slot(ctx: &Context, p: usize) -> Result<usize> {
    let taken = |s: usize| ctx.parts.iter().any(|q| q.slot == Some(s));
    let t = ctx.parts[p].type_uuid;
    let after_same_type = ctx
        .parts
        .iter()
        .filter(|q| q.exists() && q.type_uuid == t)
        .filter_map(|q| q.slot)
        .max()
        .map_or(0, |s| s + 1);
    (after_same_type..ctx.entry_count)
        .find(|&s| !taken(s))
        .or_else(|| (0..ctx.entry_count).find(|&s| !taken(s)))
        .ok_or_else(|| {
            Error::new(
                ErrorKind::NoSpace,
                format!(
                    "no free entry for a new partition in the {}-entry partition table",
                    ctx.entry_count
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::super::tests_support::*;
    use super::super::{ErrorKind, layout};

    fn slots(plan: &super::super::Plan) -> Vec<Option<usize>> {
        plan.partitions.iter().map(|p| p.slot).collect()
    }

    #[test]
    fn new_partitions_take_the_first_free_slot_after_their_type() {
        let d = disk(
            256,
            vec![
                existing(2, "root", 2048, 22527, "a"),
                existing(5, "linux-generic", 22528, 43007, "x"),
            ],
        );
        let plan = plan_on(
            &d,
            &[
                "10-root:SizeMaxBytes=10M",
                "20-root-b:Type=root:SizeMaxBytes=10M",
                "30-home:SizeMaxBytes=10M",
                "40-srv:SizeMaxBytes=10M",
            ],
        );
        // root-b after the root in slot 2 (3 is free); home and srv fill the gaps from 0.
        assert_eq!(slots(&plan), [Some(2), Some(3), Some(0), Some(1), Some(5)]);
    }

    #[test]
    fn slot_search_wraps_to_the_first_free_one_and_fails_on_a_full_table() {
        let mut d = disk(256, vec![existing(127, "root", 2048, 22527, "a")]);
        let plan = plan_on(
            &d,
            &[
                "10-root:SizeMaxBytes=10M",
                "20-root-b:Type=root:SizeMaxBytes=10M",
            ],
        );
        assert_eq!(slots(&plan), [Some(127), Some(0)]);
        d.entry_count = 1;
        d.partitions[0].slot = 0;
        let defs = defs(&["10-root:SizeMaxBytes=10M", "20-home"]);
        let e = layout(&d, &defs, &options()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NoSpace);
    }

    #[test]
    fn deferred_partitions_reserve_their_slot() {
        let mut o = options();
        o.defer = vec![uuid("933ac7e1-2eb4-4f13-b844-0e14e2aef915")];
        let plan = plan_with(
            &disk(256, vec![]),
            &["10-home:SizeMaxBytes=10M", "20-srv"],
            &o,
        );
        assert!(plan.partitions[0].deferred && !plan.partitions[1].deferred);
        assert_eq!(slots(&plan), [Some(0), Some(1)]);
        assert!(plan.changed);
    }

    #[test]
    fn large_grains_realign_after_small_partitions() {
        let mut o = options();
        o.grain_size = Some(1 << 20);
        let plan = plan_with(
            &disk(64, vec![]),
            &["10:Type=root-verity-sig", "20:Type=home:SizeMaxBytes=4M"],
            &o,
        );
        assert_eq!(plan.partitions[1].offset, 2 << 20);
    }
}
