//! Per-partition limits (core.md §7.3): minimum and maximum size and padding, weights,
//! priority, and the attributes of new partitions.

use super::area::{round_down, round_up};
use super::list::Context;
use crate::config::definition::{Definition, Encrypt, Verity};
use crate::config::types::Designator;

const MIB: u64 = 1024 * 1024;
/// `SizeMinBytes=` when unset.
const DEFAULT_MIN_SIZE: u64 = 10 * MIB;
/// No new partition is smaller.
const HARD_MIN_SIZE: u64 = 4096;
/// The fixed size of verity signature partitions.
const VERITY_SIG_SIZE: u64 = 16384;
/// LUKS2 keeps twice its 16 MiB header free for offline encryption.
const LUKS_OVERHEAD: u64 = 32 * MIB;

/// GPT attribute bits the tristates control.
const FLAG_NO_AUTO: u64 = 1 << 63;
const FLAG_READ_ONLY: u64 = 1 << 60;
const FLAG_GROW_FS: u64 = 1 << 59;
/// libfdisk accepts numeric attribute bits only from 48 up; any lower bit makes it reject the
/// whole list, and the entry is written with no attributes at all.
const LIBFDISK_REJECTED_BITS: u64 = (1 << 48) - 1;

/// The smallest a file system can be, where v262 knows it.
fn fs_min_size(ctx: &Context, def: &Definition, format: &str) -> Option<u64> {
    let esp_like = matches!(
        def.partition_type.designator(),
        Some(Designator::Esp | Designator::Xbootldr)
    );
    if esp_like && format == "vfat" {
        let fs_ss = def
            .fs_sector_size
            .unwrap_or(ctx.default_fs_sector_size)
            .max(ctx.sector_size);
        return Some(if fs_ss >= 4096 { 260 * MIB } else { 100 * MIB });
    }
    match format {
        "ext4" => Some(32 * MIB),
        "xfs" => Some(300 * MIB),
        "btrfs" => Some(256 * MIB),
        _ => None,
    }
}

/// Read-only file systems need no minimum: their image decides the size.
fn is_read_only_fs(format: &str) -> bool {
    matches!(format, "squashfs" | "erofs")
}

/// `Format=` as it affects sizes: `empty` means no file system.
fn format(def: &Definition) -> Option<&str> {
    def.format.as_deref().filter(|f| *f != "empty")
}

/// The merged `SizeMinBytes=` of a target and its supplement. v262 compares "unset" as the
/// largest value, so an unset supplement minimum unsets the target's.
fn merged_size_min(def: &Definition, supplement: Option<&Definition>) -> Option<u64> {
    match supplement {
        None => def.size_min,
        Some(s) => match (def.size_min, s.size_min) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (None, b) => b,
            (Some(_), None) => None,
        },
    }
}

fn merged_size_max(def: &Definition, supplement: Option<&Definition>) -> Option<u64> {
    let s = supplement.and_then(|s| s.size_max);
    match (def.size_max, s) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Verity signature partitions are 16 KiB. v262 would shrink a larger existing one (and
/// abort on an assertion); existing partitions are never shrunk, so it keeps its size.
fn verity_sig_size(current: Option<u64>) -> u64 {
    current.map_or(VERITY_SIG_SIZE, |c| c.max(VERITY_SIG_SIZE))
}

/// The smallest size the partition may have.
pub fn min_size(ctx: &Context, p: usize) -> u64 {
    let part = &ctx.parts[p];
    let Some(def) = part.managed_def(ctx.defs) else {
        return part.current_size().unwrap_or(0);
    };
    if def.partition_type.is_verity_sig() {
        return verity_sig_size(part.current_size());
    }
    let g = ctx.grain;
    let mut sz = part.current_size().unwrap_or(HARD_MIN_SIZE);
    if !part.exists() {
        let mut d: u64 = 0;
        let encrypted = def.encrypt != Encrypt::Off;
        if encrypted {
            d = d.saturating_add(round_up(LUKS_OVERHEAD, g));
        }
        if format(def).is_some() || encrypted {
            let f = format(def).and_then(|f| fs_min_size(ctx, def, f));
            d = d.saturating_add(f.map_or(g, |f| round_up(f, g)));
        }
        sz = sz.max(d);
    }
    let m = merged_size_min(def, ctx.suppressed_def(p)).unwrap_or_else(|| {
        if format(def).is_some_and(is_read_only_fs) || def.verity != Verity::Off {
            1
        } else {
            DEFAULT_MIN_SIZE
        }
    });
    round_up(m, g).max(sz)
}

/// The largest size the partition may have (`u64::MAX` for unlimited).
pub fn max_size(ctx: &Context, p: usize) -> u64 {
    let part = &ctx.parts[p];
    let Some(def) = part.managed_def(ctx.defs) else {
        return part.current_size().unwrap_or(0);
    };
    if def.partition_type.is_verity_sig() {
        return verity_sig_size(part.current_size());
    }
    let Some(m) = merged_size_max(def, ctx.suppressed_def(p)) else {
        return u64::MAX;
    };
    let mut s = round_down(m, ctx.grain);
    if let Some(current) = part.current_size() {
        s = s.max(current);
    }
    s.max(min_size(ctx, p))
}

/// The smallest padding after the partition. An unset supplement minimum unsets the
/// target's, as in v262.
pub fn min_padding(ctx: &Context, p: usize) -> u64 {
    let Some(def) = ctx.parts[p].managed_def(ctx.defs) else {
        return 0;
    };
    match ctx.suppressed_def(p) {
        None => def.padding_min.unwrap_or(0),
        Some(s) => match (def.padding_min, s.padding_min) {
            (Some(a), Some(b)) => a.max(b),
            _ => 0,
        },
    }
}

/// The largest padding after the partition (`u64::MAX` for unlimited).
pub fn max_padding(ctx: &Context, p: usize) -> u64 {
    let Some(def) = ctx.parts[p].managed_def(ctx.defs) else {
        return u64::MAX;
    };
    let s = ctx.suppressed_def(p).and_then(|s| s.padding_max);
    match (def.padding_max, s) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b).unwrap_or(u64::MAX),
    }
}

/// The space the partition needs with its padding, so that what follows starts on the grain.
pub fn min_size_with_padding(ctx: &Context, p: usize) -> u64 {
    let sz = min_size(ctx, p).saturating_add(min_padding(ctx, p));
    match (&ctx.parts[p].current, ctx.parts[p].offset) {
        (Some(_), Some(offset)) => {
            round_up(offset.saturating_add(sz), ctx.grain).saturating_sub(offset)
        }
        _ => round_up(sz, ctx.grain),
    }
}

/// `Weight=`; a merged target takes its supplement's; foreign partitions weigh 1000.
pub fn weight(ctx: &Context, p: usize) -> u64 {
    let def = ctx
        .suppressed_def(p)
        .or_else(|| ctx.parts[p].managed_def(ctx.defs));
    def.map_or(1000, |d| u64::from(d.weight))
}

/// `PaddingWeight=`, taken like [`weight`].
pub fn padding_weight(ctx: &Context, p: usize) -> u64 {
    let def = ctx
        .suppressed_def(p)
        .or_else(|| ctx.parts[p].managed_def(ctx.defs));
    def.map_or(0, |d| u64::from(d.padding_weight))
}

/// `Priority=`; foreign partitions have 0.
pub fn priority(ctx: &Context, p: usize) -> i32 {
    ctx.parts[p].managed_def(ctx.defs).map_or(0, |d| d.priority)
}

/// The attributes a new partition is written with: `Flags=` with the tristates applied for
/// types that know them, then libfdisk's rejection of low bits.
pub fn new_attributes(def: &Definition) -> u64 {
    let t = &def.partition_type;
    let mut f = def.flags;
    let mut apply = |known: bool, setting: Option<bool>, bit: u64| {
        if let (true, Some(on)) = (known, setting) {
            if on {
                f |= bit;
            } else {
                f &= !bit;
            }
        }
    };
    apply(t.knows_no_auto(), def.no_auto, FLAG_NO_AUTO);
    apply(t.knows_read_only(), def.read_only, FLAG_READ_ONLY);
    apply(t.knows_grow_fs(), def.grow_file_system, FLAG_GROW_FS);
    if f & LIBFDISK_REJECTED_BITS != 0 {
        0
    } else {
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::types::PartitionType;
    use std::path::PathBuf;

    fn def(t: &str) -> Definition {
        Definition::new(
            PathBuf::from("/x/10-a.conf"),
            PartitionType::parse(t).unwrap(),
        )
    }

    #[test]
    fn attributes_follow_tristates_and_the_libfdisk_quirk() {
        let mut d = def("home");
        d.grow_file_system = Some(true);
        assert_eq!(new_attributes(&d), 1 << 59);
        d.no_auto = Some(true);
        assert_eq!(new_attributes(&d), (1 << 59) | (1 << 63));
        d.flags = 1;
        assert_eq!(new_attributes(&d), 0);
        d.flags = 1 << 48;
        assert_eq!(new_attributes(&d), (1 << 48) | (1 << 59) | (1 << 63));
        let mut esp = def("esp");
        esp.no_auto = Some(true);
        esp.flags = 1 << 60;
        assert_eq!(new_attributes(&esp), 1 << 60);
        let mut verity = def("root-verity");
        verity.read_only = Some(true);
        verity.flags = 1 << 59;
        assert_eq!(new_attributes(&verity), (1 << 59) | (1 << 60));
    }

    #[test]
    fn supplement_merging_treats_unset_as_largest() {
        let mut t = def("esp");
        let mut s = def("xbootldr");
        t.size_min = Some(50 * MIB);
        assert_eq!(merged_size_min(&t, None), Some(50 * MIB));
        assert_eq!(merged_size_min(&t, Some(&s)), None);
        s.size_min = Some(100 * MIB);
        assert_eq!(merged_size_min(&t, Some(&s)), Some(100 * MIB));
        t.size_max = Some(300 * MIB);
        assert_eq!(merged_size_max(&t, Some(&s)), Some(300 * MIB));
        s.size_max = Some(200 * MIB);
        assert_eq!(merged_size_max(&t, Some(&s)), Some(200 * MIB));
    }
}

#[cfg(test)]
mod minimum_tests {
    use super::super::tests_support::{context_with, existing};
    use super::*;

    fn min_of(spec: &str) -> u64 {
        let ctx = context_with(&[spec], &[], |_| {});
        min_size(&ctx, 0)
    }

    #[test]
    fn file_system_minimums_of_v262() {
        assert_eq!(min_of("10-home"), 10 * MIB);
        assert_eq!(min_of("10-home:SizeMaxBytes=4K:Format=ext4"), 32 * MIB);
        assert_eq!(min_of("10-home:Format=xfs"), 300 * MIB);
        assert_eq!(min_of("10-home:Format=btrfs"), 256 * MIB);
        assert_eq!(min_of("10-esp:Format=vfat"), 260 * MIB);
        assert_eq!(min_of("10-xbootldr:Format=vfat:SizeMinBytes=1M"), 260 * MIB);
        assert_eq!(min_of("10-home:Format=vfat:SizeMinBytes=4K"), 4096);
        assert_eq!(min_of("10-swap:SizeMinBytes=4K"), 4096);
        assert_eq!(min_of("10-home:Format=erofs"), 4096);
        assert_eq!(min_of("10-home:Format=empty:SizeMinBytes=4K"), 4096);
        assert_eq!(min_of("10-home:SizeMinBytes=5000"), 8192);
        assert_eq!(min_of("10-root-verity-sig:Type=root-verity-sig"), 16384);
    }

    #[test]
    fn esp_minimum_follows_the_file_system_sector_size() {
        let mut ctx = context_with(&["10-esp:Format=vfat"], &[], |_| {});
        ctx.default_fs_sector_size = 512;
        assert_eq!(min_size(&ctx, 0), 100 * MIB);
        ctx.sector_size = 4096;
        assert_eq!(min_size(&ctx, 0), 260 * MIB);
    }

    #[test]
    fn encryption_and_verity_change_the_minimum() {
        let mut ctx = context_with(&["10-home:SizeMinBytes=4K"], &[], |_| {});
        let mut d = ctx.defs[0].clone();
        d.encrypt = Encrypt::KeyFile;
        d.format = Some("ext4".into());
        let leaked: &'static [Definition] = Box::leak(vec![d.clone()].into_boxed_slice());
        ctx.defs = leaked;
        assert_eq!(min_size(&ctx, 0), LUKS_OVERHEAD + 32 * MIB);
        d.encrypt = Encrypt::Off;
        d.format = None;
        d.size_min = None;
        d.verity = Verity::Data;
        ctx.defs = Box::leak(vec![d].into_boxed_slice());
        assert_eq!(min_size(&ctx, 0), 4096);
    }

    #[test]
    fn existing_partitions_never_shrink() {
        let disk = [existing(0, "home", 2048, 2048 + 40959, "")];
        let ctx = context_with(&["10-home:SizeMaxBytes=8M"], &disk, |_| {});
        assert_eq!(min_size(&ctx, 0), 20 * MIB);
        assert_eq!(max_size(&ctx, 0), 20 * MIB);
        let sig = [existing(0, "root-verity-sig", 2048, 4095, "")];
        let ctx = context_with(&["10-sig:Type=root-verity-sig"], &sig, |_| {});
        assert_eq!((min_size(&ctx, 0), max_size(&ctx, 0)), (MIB, MIB));
        // Unaligned starts need room to end on the grain.
        let odd = [existing(0, "home", 2049, 2049 + 20479, "")];
        let ctx = context_with(&["10-home:PaddingMinBytes=4K"], &odd, |_| {});
        assert_eq!(
            min_size_with_padding(&ctx, 0),
            round_up(2049 * 512 + 10 * MIB + 4096, 4096) - 2049 * 512
        );
    }

    #[test]
    fn foreign_partitions_are_fixed() {
        let disk = [existing(0, "var", 2048, 2048 + 2047, "")];
        let ctx = context_with(&["10-home"], &disk, |_| {});
        assert_eq!((min_size(&ctx, 1), max_size(&ctx, 1)), (MIB, MIB));
        assert_eq!(
            (weight(&ctx, 1), padding_weight(&ctx, 1), priority(&ctx, 1)),
            (1000, 0, 0)
        );
        assert_eq!((min_padding(&ctx, 1), max_padding(&ctx, 1)), (0, u64::MAX));
    }
}
