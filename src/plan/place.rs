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
