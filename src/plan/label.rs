//! Partition labels (core.md §5), assigned before allocation as v262 does.

use super::list::Context;

/// Gives every managed partition its label: an existing non-empty name is kept, an explicit
/// `Label=` is used as is, and otherwise the type name is de-duplicated against the
/// partitions earlier in the list (`home`, `home-2`, ...). Foreign partitions keep theirs.
pub fn assign(ctx: &mut Context) {
    for p in 0..ctx.parts.len() {
        let part = &ctx.parts[p];
        let current = part.current.as_ref().map(|c| c.label.clone());
        let label = match part.managed_def(ctx.defs) {
            None => current,
            Some(_) if current.as_ref().is_some_and(|l| !l.is_empty()) => current,
            Some(def) => match &def.label {
                Some(explicit) => Some(explicit.clone()),
                None => Some(derive(ctx, p, def.partition_type.label_prefix())),
            },
        };
        ctx.parts[p].new_label = label;
    }
}

/// `prefix`, or `prefix-K` with the smallest K >= 2 that no earlier partition uses as its
/// current or new label.
fn derive(ctx: &Context, p: usize, prefix: &str) -> String {
    let taken = |candidate: &str| {
        ctx.parts[..p].iter().any(|q| {
            q.current.as_ref().is_some_and(|c| c.label == candidate)
                || q.new_label.as_deref() == Some(candidate)
        })
    };
    if !taken(prefix) {
        return prefix.to_owned();
    }
    // Only the partitions before `p` can take a candidate, so one of the first p+2 is free.
    (2..)
        .take(p + 2)
        .map(|k| format!("{prefix}-{k}"))
        .find(|c| !taken(c))
        .unwrap_or_else(|| format!("{prefix}-{}", p + 2))
}

#[cfg(test)]
mod tests {
    use super::super::tests_support::{context_with, existing, part_label};
    use super::*;

    #[test]
    fn derived_labels_count_up_from_two_against_earlier_partitions_only() {
        let defs = ["10-home", "20-home", "30-srv:Label=home", "40-home"];
        let ctx = context_with(&defs, &[], |ctx| assign(ctx));
        assert_eq!(part_label(&ctx, 0), "home");
        assert_eq!(part_label(&ctx, 1), "home-2");
        assert_eq!(part_label(&ctx, 2), "home");
        assert_eq!(part_label(&ctx, 3), "home-3");
    }

    #[test]
    fn existing_names_are_kept_and_count_for_later_ones() {
        // An existing linux-generic "home" bound to 05-gen (Label=srv is ignored), then new
        // 10-home, 20-srv, 30-srv: core.md §5's measured example.
        let defs = [
            "05-gen:Type=linux-generic:Label=srv",
            "10-home",
            "20-srv",
            "30-srv",
        ];
        let disk = [existing(0, "linux-generic", 2048, 4095, "home")];
        let ctx = context_with(&defs, &disk, |ctx| assign(ctx));
        assert_eq!(part_label(&ctx, 0), "home");
        assert_eq!(part_label(&ctx, 1), "home-2");
        assert_eq!(part_label(&ctx, 2), "srv");
        assert_eq!(part_label(&ctx, 3), "srv-2");
    }

    #[test]
    fn empty_existing_names_are_filled_and_foreign_names_kept() {
        let defs = ["10-home", "20-srv:Label=mine"];
        let disk = [
            existing(0, "home", 2048, 4095, ""),
            existing(1, "srv", 4096, 6143, ""),
            existing(2, "var", 6144, 8191, ""),
        ];
        let ctx = context_with(&defs, &disk, |ctx| assign(ctx));
        assert_eq!(part_label(&ctx, 0), "home");
        assert_eq!(part_label(&ctx, 1), "mine");
        assert_eq!(part_label(&ctx, 2), "");
    }
}
