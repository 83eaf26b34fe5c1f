//! Fitting (core.md §7.4): first-fit of the new partitions into the free areas sorted by
//! usable space, un-merging supplements, and dropping priority levels until it fits.

use super::Shortfall;
use super::list::Context;
use super::size;

/// v262's GPT metadata allowance for `--size=auto`: 1 MiB before the first partition, the
/// backup header sector and a 16 KiB backup entry array.
fn metadata_size(sector_size: u64) -> u64 {
    (1 << 20) + sector_size + 16384
}

/// Tries to fit, dropping priorities as needed. Returns false when nothing more can be
/// dropped and it still does not fit.
pub fn fit(ctx: &mut Context) -> bool {
    // Each round drops at least one priority level or stops, so it ends.
    for _ in 0..=ctx.parts.len() {
        if allocate(ctx) || unmerge_and_allocate(ctx, 0) {
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
        if let Some(c) = &part.current {
            if c.size.saturating_add(c.padding) < required {
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

/// Un-merges supplements, one first and then more, until the allocation succeeds.
fn unmerge_and_allocate(ctx: &mut Context, depth: usize) -> bool {
    let targets: Vec<usize> = (0..ctx.parts.len())
        .filter(|&p| ctx.parts[p].suppressing.is_some())
        .collect();
    if targets.is_empty() || depth > ctx.parts.len() {
        return false;
    }
    for &t in &targets {
        let s = ctx.parts[t].suppressing.take();
        if allocate(ctx) {
            return true;
        }
        ctx.parts[t].suppressing = s;
    }
    for &t in &targets {
        let s = ctx.parts[t].suppressing.take();
        if unmerge_and_allocate(ctx, depth + 1) {
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
        if part.exists() {
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
    }
}
