//! Random planner inputs and the invariants every plan must hold: shared by
//! tests/plan_robustness.rs (seeded) and the `plan` fuzz target (fuzzer-driven).
//! Included with `#[path]`, so it is not part of the product.

use std::path::PathBuf;

use repart_rs::config::definition::{Definition, UuidSetting};
use repart_rs::config::types::{PartitionType, TYPES};
use repart_rs::plan::{self, DiskLayout, ExistingPartition, PlanOptions};
use uuid::Uuid;

/// Where the generator's decisions come from: a seeded generator in the tests, the fuzzer's
/// bytes in the fuzz target.
pub trait Entropy {
    fn next(&mut self) -> u64;
}

/// The decisions of the generator, with helpers to shape them.
pub struct Rng<E: Entropy>(pub E);

impl<E: Entropy> Rng<E> {
    pub fn next(&mut self) -> u64 {
        self.0.next()
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    /// Mostly small, sometimes huge or extreme values.
    fn size(&mut self, typical: u64) -> u64 {
        match self.below(20) {
            0 => u64::MAX,
            1 => self.next(),
            2 => 0,
            _ => self.below(typical.max(1)),
        }
    }
}

fn random_type<E: Entropy>(r: &mut Rng<E>) -> PartitionType {
    if r.chance(10) {
        return PartitionType::from_uuid(Uuid::from_u128(u128::from(r.next()) | 1));
    }
    let common = [
        "root",
        "home",
        "srv",
        "var",
        "swap",
        "esp",
        "linux-generic",
        "root-verity-sig",
    ];
    if r.chance(80) {
        return PartitionType::parse(common[r.below(common.len() as u64) as usize]).unwrap();
    }
    PartitionType::from_uuid(TYPES[r.below(TYPES.len() as u64) as usize].uuid)
}

pub fn random_disk<E: Entropy>(r: &mut Rng<E>) -> DiskLayout {
    let sector_size = [512, 512, 512, 4096, 1024, 0, 1 << 40][r.below(7) as usize];
    let sectors = if r.chance(5) {
        r.next()
    } else {
        64 + r.below(8 << 20)
    };
    let first = if r.chance(5) {
        r.next()
    } else {
        2 + r.below(4096)
    };
    let last = if r.chance(5) {
        r.next()
    } else {
        sectors.saturating_sub(34)
    };
    let entry_count = if r.chance(10) {
        r.below(300) as usize
    } else {
        128
    };
    let mut partitions = Vec::new();
    let mut pos = first;
    for i in 0..r.below(10) {
        let start = if r.chance(10) {
            r.next()
        } else {
            pos.saturating_add(r.below(20000))
        };
        let len = if r.chance(5) {
            r.next()
        } else {
            1 + r.below(200_000)
        };
        partitions.push(ExistingPartition {
            slot: if r.chance(5) {
                r.below(300) as usize
            } else {
                (i * 3 + r.below(3)) as usize
            },
            type_uuid: if r.chance(3) {
                Uuid::nil()
            } else {
                random_type(r).uuid
            },
            uuid: if r.chance(20) {
                Uuid::nil()
            } else {
                Uuid::from_u128(u128::from(r.next()))
            },
            first_lba: start,
            last_lba: start.saturating_add(len).saturating_sub(1),
            attributes: r.next(),
            label: ["", "home", "root-x86-64", "x"][r.below(4) as usize].to_owned(),
        });
        pos = start.saturating_add(len);
    }
    DiskLayout {
        sector_size,
        disk_size: sectors.saturating_mul(sector_size.max(1)),
        first_usable_lba: first,
        last_usable_lba: last,
        entry_count,
        disk_guid: if r.chance(20) {
            None
        } else {
            Some(Uuid::from_u128(u128::from(r.next())))
        },
        partitions: if r.chance(20) { Vec::new() } else { partitions },
    }
}

pub fn random_definitions<E: Entropy>(r: &mut Rng<E>) -> Vec<Definition> {
    let n = r.below(9);
    let mut defs: Vec<Definition> = (0..n)
        .map(|i| {
            let mut d = Definition::new(PathBuf::from(format!("/d/{i:02}.conf")), random_type(r));
            d.weight = if r.chance(10) {
                r.next() as u32
            } else {
                r.below(3000) as u32
            };
            d.padding_weight = if r.chance(30) {
                r.below(3000) as u32
            } else {
                0
            };
            d.priority = if r.chance(10) {
                r.next() as i32
            } else {
                r.below(5) as i32 - 1
            };
            let mb = 64 << 20;
            if r.chance(40) {
                d.size_min = Some(r.size(mb));
            }
            if r.chance(40) {
                d.size_max = Some(r.size(2 * mb));
            }
            if r.chance(20) {
                d.padding_min = Some(r.size(mb));
            }
            if r.chance(20) {
                d.padding_max = Some(r.size(mb));
            }
            if r.chance(10) {
                d.label = Some(["", "home", "data"][r.below(3) as usize].to_owned());
            }
            if r.chance(10) {
                d.uuid = [UuidSetting::Null, UuidSetting::Fixed(Uuid::from_u128(7))]
                    [r.below(2) as usize];
            }
            if r.chance(10) {
                d.format =
                    Some(["ext4", "vfat", "swap", "empty", "squashfs"][r.below(5) as usize].into());
            }
            d.factory_reset = r.chance(10);
            d.flags = if r.chance(10) { r.next() } else { 0 };
            d
        })
        .collect();
    if defs.len() >= 2 && r.chance(20) {
        let target = defs[0].name.clone();
        defs[1].supplement_for = Some(target);
    }
    defs
}

pub fn random_options<E: Entropy>(r: &mut Rng<E>, defs: &[Definition]) -> PlanOptions {
    let pick = |r: &mut Rng<E>| -> Vec<Uuid> {
        defs.iter()
            .filter(|_| r.chance(30))
            .map(|d| d.partition_type.uuid)
            .collect()
    };
    PlanOptions {
        seed: Uuid::from_u128(u128::from(r.next())),
        grain_size: match r.below(10) {
            0 => Some(1 << 20),
            1 => Some(r.next()),
            2 => Some(8192),
            _ => None,
        },
        factory_reset: r.chance(10),
        include: if r.chance(5) { Some(pick(r)) } else { None },
        exclude: if r.chance(5) { Some(pick(r)) } else { None },
        defer: if r.chance(10) { pick(r) } else { Vec::new() },
        defer_empty: r.chance(5),
        defer_factory_reset: r.chance(5),
        default_fs_sector_size: [512, 4096][r.below(2) as usize],
        fallback_entropy: [r.next() as u8; 32],
    }
}

pub fn check(disk: &DiskLayout, plan: &plan::Plan) -> Result<(), String> {
    let ss = plan.sector_size;
    let lo = plan.first_usable_lba * ss;
    let hi = (plan.last_usable_lba + 1) * ss;
    let live: Vec<_> = plan
        .partitions
        .iter()
        .filter(|p| !p.dropped && (p.existing || !p.deferred))
        .collect();
    for (i, p) in live.iter().enumerate() {
        let slot = p.slot.ok_or("no slot")?;
        if slot >= plan.entry_count {
            return Err(format!("slot {slot} out of range"));
        }
        if p.new_size % ss != 0 {
            return Err(format!(
                "slot {slot}: size {} is not whole sectors",
                p.new_size
            ));
        }
        if p.foreign && p.new_size != p.old_size {
            return Err(format!("foreign slot {slot} resized"));
        }
        if p.existing {
            let e = disk
                .partitions
                .iter()
                .find(|e| e.slot == slot)
                .ok_or("lost entry")?;
            if p.offset != e.first_lba * ss || p.new_size < p.old_size {
                return Err(format!("existing slot {slot} moved or shrunk"));
            }
        } else if p.offset % plan.grain != 0 || p.new_size == 0 {
            return Err(format!("new slot {slot} misaligned or empty"));
        } else if p.offset.saturating_add(p.new_size) > hi / plan.grain * plan.grain {
            // Free areas end on the grain: the rest of the usable range is never handed out.
            return Err(format!("new slot {slot} ends past the last grain"));
        }
        if p.offset < lo || p.offset.saturating_add(p.new_size) > hi {
            return Err(format!("slot {slot} outside the usable range"));
        }
        for q in &live[i + 1..] {
            if q.slot == p.slot {
                return Err(format!("slot {slot} twice"));
            }
            if p.offset < q.offset + q.new_size && q.offset < p.offset + p.new_size {
                return Err(format!("slot {slot} overlaps {:?}", q.slot));
            }
        }
    }
    Ok(())
}
