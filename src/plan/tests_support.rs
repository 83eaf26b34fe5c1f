//! Compact builders for the planner's unit tests.

use std::path::PathBuf;

use uuid::Uuid;

use super::list::Context;
use super::{DiskLayout, ExistingPartition, PlanOptions};
use crate::config::definition::{Definition, UuidSetting};
use crate::config::types::PartitionType;

pub const SEED: &str = "e2f1a58f-2c2a-4a4b-9f3e-7c1c0de5a5a1";
const MIB: u64 = 1 << 20;

/// A definition from `NAME[:Key=Value]...`; the type defaults to the part of NAME after the
/// first `-` (`10-home` is a home partition). Sizes are in bytes or with a K/M/G suffix.
pub fn def(spec: &str) -> Definition {
    let mut fields = spec.split(':');
    let name = fields.next().unwrap();
    let default_type = name.split_once('-').map_or(name, |(_, t)| t);
    let mut d = Definition::new(
        PathBuf::from(format!("/defs/{name}.conf")),
        PartitionType::parse(default_type)
            .unwrap_or(PartitionType::parse("linux-generic").unwrap()),
    );
    for f in fields {
        let (k, v) = f.split_once('=').unwrap();
        match k {
            "Type" => d.partition_type = PartitionType::parse(v).unwrap(),
            "Label" => d.label = Some(v.to_owned()),
            "UUID" if v == "null" => d.uuid = UuidSetting::Null,
            "UUID" => d.uuid = UuidSetting::Fixed(Uuid::parse_str(v).unwrap()),
            "Priority" => d.priority = v.parse().unwrap(),
            "Weight" => d.weight = v.parse().unwrap(),
            "PaddingWeight" => d.padding_weight = v.parse().unwrap(),
            "SizeMinBytes" => d.size_min = Some(size(v).div_ceil(4096) * 4096),
            "SizeMaxBytes" => d.size_max = Some(size(v) / 4096 * 4096),
            "PaddingMinBytes" => d.padding_min = Some(size(v).div_ceil(4096) * 4096),
            "PaddingMaxBytes" => d.padding_max = Some(size(v) / 4096 * 4096),
            "FactoryReset" => d.factory_reset = v == "yes",
            "Format" => d.format = Some(v.to_owned()),
            "SupplementFor" => d.supplement_for = Some(v.to_owned()),
            _ => panic!("unknown key {k}"),
        }
    }
    let t = d.partition_type;
    if t.is_verity() && d.read_only.is_none() {
        d.read_only = Some(true);
    }
    if t.knows_grow_fs() && d.read_only != Some(true) {
        d.grow_file_system = Some(true);
    }
    if t.designator() == Some(crate::config::types::Designator::Swap) && d.format.is_none() {
        d.format = Some("swap".into());
    }
    d
}

pub fn size(v: &str) -> u64 {
    let (n, unit) = match v.as_bytes().last() {
        Some(b'K') => (&v[..v.len() - 1], 1 << 10),
        Some(b'M') => (&v[..v.len() - 1], MIB),
        Some(b'G') => (&v[..v.len() - 1], 1 << 30),
        _ => (v, 1),
    };
    n.parse::<u64>().unwrap() * unit
}

pub fn defs(specs: &[&str]) -> Vec<Definition> {
    specs.iter().map(|s| def(s)).collect()
}

/// An existing entry of a known type name, with a fixed UUID derived from the slot.
pub fn existing(slot: usize, t: &str, first: u64, last: u64, label: &str) -> ExistingPartition {
    ExistingPartition {
        slot,
        type_uuid: PartitionType::parse(t).unwrap().uuid,
        uuid: Uuid::from_u128(0xaaaa_aaaa_0000_4000_8000_0000_0000_0000 + slot as u128 + 1),
        first_lba: first,
        last_lba: last,
        attributes: 0,
        label: label.to_owned(),
    }
}

/// A 512-byte-sector disk of `mib` MiB as libfdisk lays out a table on it.
pub fn disk(mib: u64, partitions: Vec<ExistingPartition>) -> DiskLayout {
    disk_sectors(mib * MIB / 512, 2048, partitions)
}

/// A 512-byte-sector disk of `n` sectors with a 128-entry table and the given first LBA.
pub fn disk_sectors(n: u64, first: u64, partitions: Vec<ExistingPartition>) -> DiskLayout {
    DiskLayout {
        sector_size: 512,
        disk_size: n * 512,
        first_usable_lba: first,
        last_usable_lba: n - 34,
        entry_count: 128,
        disk_guid: if partitions.is_empty() {
            None
        } else {
            Some(Uuid::from_u128(0x1234))
        },
        partitions,
    }
}

pub fn options() -> PlanOptions {
    PlanOptions {
        seed: Uuid::parse_str(SEED).unwrap(),
        grain_size: None,
        factory_reset: false,
        include: None,
        exclude: None,
        defer: Vec::new(),
        defer_empty: false,
        defer_factory_reset: false,
        default_fs_sector_size: 4096,
        fallback_entropy: [0; 32],
    }
}

/// A loaded context (256 MiB disk) for the definitions in `specs`, after running `f` on it.
pub fn context_with(
    specs: &[&str],
    parts: &[ExistingPartition],
    f: impl FnOnce(&mut Context<'static>),
) -> Context<'static> {
    let defs: &'static [Definition] = Box::leak(defs(specs).into_boxed_slice());
    let disk = disk(256, parts.to_vec());
    let mut ctx = Context::load(&disk, defs, &options()).unwrap();
    f(&mut ctx);
    ctx
}

pub fn part_label(ctx: &Context, p: usize) -> String {
    ctx.parts[p].new_label.clone().unwrap_or_default()
}

/// Plans `specs` on `disk` with default options.
pub fn plan_on(disk: &DiskLayout, specs: &[&str]) -> super::Plan {
    plan_with(disk, specs, &options())
}

pub fn plan_with(disk: &DiskLayout, specs: &[&str], options: &PlanOptions) -> super::Plan {
    let defs = defs(specs);
    match super::layout(disk, &defs, options) {
        Ok(Ok(plan)) => plan,
        Ok(Err(s)) => panic!("does not fit: {s}"),
        Err(e) => panic!("{e}"),
    }
}

/// The written table, compactly: (entry number, start sector, sectors, label), by entry.
pub fn table(plan: &super::Plan) -> Vec<(usize, u64, u64, String)> {
    let mut t: Vec<_> = plan
        .partitions
        .iter()
        .filter(|p| !p.dropped)
        .map(|p| {
            let slot = p.slot.unwrap_or(usize::MAX);
            (slot + 1, p.offset / 512, p.new_size / 512, p.label.clone())
        })
        .collect();
    t.sort();
    t
}

/// `table` with string labels, for literal expectations.
pub fn rows(r: &[(usize, u64, u64, &str)]) -> Vec<(usize, u64, u64, String)> {
    r.iter()
        .map(|(a, b, c, d)| (*a, *b, *c, (*d).to_owned()))
        .collect()
}

pub fn uuid(s: &str) -> Uuid {
    Uuid::parse_str(s).unwrap()
}
