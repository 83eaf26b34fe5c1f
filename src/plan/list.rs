//! The partition list: definitions bound to existing entries, then foreign entries, plus the
//! geometry every later step needs.

use uuid::Uuid;

use super::area::{self, Area};
use super::{DiskLayout, ExistingPartition, PlanOptions};
use crate::config::definition::{Definition, UuidSetting};
use crate::error::{Error, ErrorKind, Result};

/// The default grain: partitions are placed at multiples of 4 KiB.
const DEFAULT_GRAIN: u64 = 4096;

/// An existing entry, in bytes.
#[derive(Debug, Clone)]
pub struct Current {
    pub offset: u64,
    pub size: u64,
    pub uuid: Uuid,
    pub label: String,
    pub attributes: u64,
    /// Free space after the entry (v262's `current_padding`).
    pub padding: u64,
    /// Free bytes after the entry up to the next one or the end of the usable range, not
    /// rounded to the grain.
    pub free_after: u64,
}

/// One entry of the partition list, with everything the steps compute for it.
#[derive(Debug, Clone)]
pub struct Part {
    /// Index into the definitions; `None` for an entry no definition matched.
    pub def: Option<usize>,
    /// An existing partition whose priority level was dropped: it is handled as foreign.
    pub foreignized: bool,
    pub type_uuid: Uuid,
    pub current: Option<Current>,
    /// The label and UUID the entry will carry (assigned before allocation).
    pub new_label: Option<String>,
    pub new_uuid: Uuid,
    pub dropped: bool,
    /// The free area a new partition was allocated to.
    pub area: Option<usize>,
    /// The free area right after an existing partition.
    pub padding_area: Option<usize>,
    pub new_size: Option<u64>,
    pub new_padding: Option<u64>,
    pub offset: Option<u64>,
    pub slot: Option<usize>,
    /// For a supplement: the list index of its target.
    pub supplement_for: Option<usize>,
    /// For a target: the supplement merged into it, while the merge holds.
    pub suppressing: Option<usize>,
}

impl Part {
    fn new(def: Option<usize>, type_uuid: Uuid) -> Part {
        Part {
            def,
            foreignized: false,
            type_uuid,
            current: None,
            new_label: None,
            new_uuid: Uuid::nil(),
            dropped: false,
            area: None,
            padding_area: None,
            new_size: None,
            new_padding: None,
            offset: None,
            slot: None,
            supplement_for: None,
            suppressing: None,
        }
    }

    pub fn is_foreign(&self) -> bool {
        self.def.is_none() || self.foreignized
    }

    pub fn exists(&self) -> bool {
        self.current.is_some()
    }

    /// The definition, unless the partition is (or became) foreign.
    pub fn managed_def<'a>(&self, defs: &'a [Definition]) -> Option<&'a Definition> {
        if self.foreignized {
            return None;
        }
        self.def.and_then(|i| defs.get(i))
    }

    pub fn current_size(&self) -> Option<u64> {
        self.current.as_ref().map(|c| c.size)
    }
}

/// The whole planning state.
pub struct Context<'a> {
    pub defs: &'a [Definition],
    pub sector_size: u64,
    pub grain: u64,
    pub default_fs_sector_size: u64,
    pub disk_size: u64,
    /// Start of the usable window, rounded up to the grain.
    pub start: u64,
    pub first_usable_lba: u64,
    pub last_usable_lba: u64,
    pub entry_count: usize,
    pub disk_guid: Option<Uuid>,
    pub parts: Vec<Part>,
    pub areas: Vec<Area>,
    /// The order of `areas` left by the last allocation (smallest available space first).
    pub area_order: Vec<usize>,
    /// The entries the factory reset deletes.
    pub deleted: Vec<ExistingPartition>,
    /// What the steps report on the way, as v262 logs it (see [`super::Plan::notes`]).
    pub notes: Vec<String>,
    /// The retry after v262's rules found no fit: existing partitions are charged no more
    /// than the space physically there (see `fit::existing_partition_fits`).
    pub cap_existing_charges: bool,
}

impl<'a> Context<'a> {
    /// Validates the layout, applies the factory reset and builds the list and free areas.
    pub fn load(
        disk: &DiskLayout,
        defs: &'a [Definition],
        options: &PlanOptions,
    ) -> Result<Context<'a>> {
        check_layout(disk)?;
        let grain = options
            .grain_size
            .unwrap_or(DEFAULT_GRAIN)
            .max(disk.sector_size);
        if !grain.is_power_of_two() {
            return Err(Error::new(
                ErrorKind::Usage,
                format!("grain size {grain} is not a power of two"),
            ));
        }
        let start = area::round_up(disk.first_usable_lba * disk.sector_size, grain);
        let mut ctx = Context {
            defs,
            sector_size: disk.sector_size,
            grain,
            default_fs_sector_size: options.default_fs_sector_size,
            disk_size: disk.disk_size,
            start,
            first_usable_lba: disk.first_usable_lba,
            last_usable_lba: disk.last_usable_lba,
            entry_count: disk.entry_count,
            disk_guid: disk.disk_guid,
            parts: Vec::new(),
            areas: Vec::new(),
            area_order: Vec::new(),
            deleted: Vec::new(),
            notes: Vec::new(),
            cap_existing_charges: false,
        };
        ctx.add_definitions(options);
        let mut entries: Vec<&ExistingPartition> = disk.partitions.iter().collect();
        entries.sort_by_key(|e| e.slot);
        if options.factory_reset && disk.disk_guid.is_some() {
            // v262 deletes the bound FactoryReset=yes partitions, writes, re-reads the table and
            // starts over; binding again on the reduced table gives the same final result.
            let doomed = ctx.bind(&entries, disk);
            let doomed: Vec<usize> = doomed
                .iter()
                .filter(|(p, _)| {
                    ctx.parts[*p]
                        .managed_def(defs)
                        .is_some_and(|d| d.factory_reset)
                })
                .map(|(_, slot)| *slot)
                .collect();
            ctx.deleted = entries
                .iter()
                .filter(|e| doomed.contains(&e.slot))
                .map(|e| (*e).clone())
                .collect();
            entries.retain(|e| !doomed.contains(&e.slot));
            ctx.parts.clear();
            ctx.areas.clear();
            ctx.add_definitions(options);
        }
        ctx.bind(&entries, disk);
        ctx.link_supplements()?;
        ctx.add_leading_area(&entries);
        Ok(ctx)
    }

    /// The definitions that pass `--include/--exclude-partitions`, in definition order.
    fn add_definitions(&mut self, options: &PlanOptions) {
        for (i, d) in self.defs.iter().enumerate() {
            let t = d.partition_type.uuid;
            let included = options.include.as_ref().is_none_or(|l| l.contains(&t));
            let excluded = options.exclude.as_ref().is_some_and(|l| l.contains(&t));
            if included && !excluded {
                self.parts.push(Part::new(Some(i), t));
            }
        }
    }

    /// Binds entries (in slot order) to the first unbound definition of their type, appends
    /// the rest as foreign, and adds the free area after each. Returns (list index, slot) of
    /// the bound ones.
    fn bind(&mut self, entries: &[&ExistingPartition], disk: &DiskLayout) -> Vec<(usize, usize)> {
        let mut bound = Vec::new();
        for e in entries {
            let offset = e.first_lba * disk.sector_size;
            let size = (e.last_lba - e.first_lba + 1) * disk.sector_size;
            let padding = area::current_padding(disk, entries, e, self.grain);
            let current = Current {
                offset,
                size,
                uuid: e.uuid,
                label: e.label.clone(),
                attributes: e.attributes,
                padding,
                free_after: area::free_after(disk, entries, e),
            };
            let found = self
                .parts
                .iter()
                .position(|p| p.def.is_some() && p.type_uuid == e.type_uuid && !p.exists());
            let index = match found {
                Some(i) => {
                    bound.push((i, e.slot));
                    i
                }
                None => {
                    self.parts.push(Part::new(None, e.type_uuid));
                    self.parts.len() - 1
                }
            };
            self.parts[index].current = Some(current);
            self.parts[index].slot = Some(e.slot);
            self.parts[index].offset = Some(offset);
            if padding > 0 {
                self.areas.push(Area {
                    after: Some(index),
                    size: padding,
                    allocated: 0,
                });
                self.parts[index].padding_area = Some(self.areas.len() - 1);
            }
        }
        bound
    }

    /// The area before the first partition (or the whole window on an empty table).
    fn add_leading_area(&mut self, entries: &[&ExistingPartition]) {
        let end = area::round_down((self.last_usable_lba + 1) * self.sector_size, self.grain);
        let boundary = entries
            .iter()
            .map(|e| area::round_down(e.first_lba * self.sector_size, self.grain))
            .min()
            .unwrap_or(end);
        if boundary > self.start {
            self.areas.push(Area {
                after: None,
                size: boundary - self.start,
                allocated: 0,
            });
        }
    }

    /// Resolves `SupplementFor=` names and merges every supplement into its target, unless
    /// the supplement already exists on disk.
    fn link_supplements(&mut self) -> Result<()> {
        for i in 0..self.parts.len() {
            let Some(def) = self.parts[i].def.and_then(|d| self.defs.get(d)) else {
                continue;
            };
            let Some(name) = &def.supplement_for else {
                continue;
            };
            let target = self.parts.iter().position(|p| {
                p.def
                    .and_then(|d| self.defs.get(d))
                    .is_some_and(|t| &t.name == name)
            });
            let Some(target) = target.filter(|t| *t != i) else {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "{}: SupplementFor={name}: no such definition",
                        def.path.display()
                    ),
                ));
            };
            self.parts[i].supplement_for = Some(target);
            if !self.parts[i].exists() {
                self.parts[target].suppressing = Some(i);
            }
        }
        Ok(())
    }

    /// Whether `p` is a supplement currently merged into its target.
    pub fn is_suppressed(&self, p: usize) -> bool {
        self.parts[p]
            .supplement_for
            .is_some_and(|t| self.parts[t].suppressing == Some(p))
    }

    /// The definition a partition's limits come from when it is a merged target.
    pub fn suppressed_def(&self, p: usize) -> Option<&'a Definition> {
        let s = self.parts[p].suppressing?;
        self.parts[s].managed_def(self.defs)
    }

    /// The UUID settings of a definition, for the UUID step.
    pub fn uuid_setting(&self, p: usize) -> Option<UuidSetting> {
        self.parts[p].managed_def(self.defs).map(|d| d.uuid)
    }
}

/// Refuses layouts whose numbers would make the byte arithmetic overflow or go backwards.
fn check_layout(disk: &DiskLayout) -> Result<()> {
    let ss = disk.sector_size;
    // The disk layer accepts no other sizes. A larger one would make sizes v262 fixes in
    // bytes (16 KiB verity signatures) fractions of a sector.
    if !(512..=4096).contains(&ss) || !ss.is_power_of_two() {
        return Err(corrupt(format!(
            "sector size {ss} is not one of 512, 1024, 2048, 4096"
        )));
    }
    let end = disk
        .last_usable_lba
        .checked_add(1)
        .and_then(|l| l.checked_mul(ss))
        .and_then(|b| b.checked_add(ss));
    if end.is_none() || disk.first_usable_lba > disk.last_usable_lba.saturating_add(1) {
        return Err(corrupt(format!(
            "usable LBAs {}..{} are out of range",
            disk.first_usable_lba, disk.last_usable_lba
        )));
    }
    let mut slots = std::collections::HashSet::new();
    for p in &disk.partitions {
        let n = p.slot + 1;
        if p.slot >= disk.entry_count || !slots.insert(p.slot) {
            return Err(corrupt(format!(
                "partition {n}: slot out of range or used twice"
            )));
        }
        if p.first_lba > p.last_lba || p.last_lba > disk.last_usable_lba {
            return Err(corrupt(format!(
                "partition {n}: LBAs {}..{} lie outside the usable range {}..{}",
                p.first_lba, p.last_lba, disk.first_usable_lba, disk.last_usable_lba
            )));
        }
        if p.first_lba < disk.first_usable_lba {
            return Err(corrupt(format!(
                "partition {n}: starts at LBA {} before the first usable LBA {}",
                p.first_lba, disk.first_usable_lba
            )));
        }
        if p.type_uuid.is_nil() {
            return Err(corrupt(format!("partition {n}: all-zero type UUID")));
        }
    }
    // Growth is computed from the free space after each partition: overlapping partitions
    // have none, and a plan on top of them would be meaningless. The GPT reader refuses such
    // tables already; the planner does not rely on it.
    let mut extents: Vec<_> = disk.partitions.iter().collect();
    extents.sort_by_key(|p| p.first_lba);
    for pair in extents.windows(2) {
        if pair[1].first_lba <= pair[0].last_lba {
            return Err(corrupt(format!(
                "partitions {} and {} overlap (LBAs {}..={} and {}..={})",
                pair[0].slot + 1,
                pair[1].slot + 1,
                pair[0].first_lba,
                pair[0].last_lba,
                pair[1].first_lba,
                pair[1].last_lba
            )));
        }
    }
    Ok(())
}

fn corrupt(message: String) -> Error {
    Error::new(ErrorKind::Corrupt, message)
}

#[cfg(test)]
mod tests {
    use super::super::tests_support::{defs, disk, existing, options};
    use super::*;

    fn load(
        specs: &[&str],
        parts: Vec<ExistingPartition>,
        o: &PlanOptions,
    ) -> Result<Context<'static>> {
        let defs: &'static [Definition] = Box::leak(defs(specs).into_boxed_slice());
        Context::load(&disk(256, parts), defs, o)
    }

    #[test]
    fn overlapping_partitions_are_refused() {
        let parts = vec![
            existing(2, "linux-generic", 15165, 141529, ""),
            existing(5, "root", 62207, 130082, "root-x86-64"),
        ];
        let err = load(&["10-root"], parts, &options()).err().unwrap();
        assert_eq!(err.kind(), ErrorKind::Corrupt);
        assert!(
            err.to_string().contains("partitions 3 and 6 overlap"),
            "{err}"
        );
    }

    #[test]
    fn entries_bind_in_slot_order_and_foreign_ones_are_appended() {
        // Slot 1 lies before slot 3 on disk only by number: matching goes by slot.
        let parts = vec![
            existing(3, "home", 2048, 4095, "low"),
            existing(1, "home", 8192, 10239, "high"),
            existing(2, "var", 4096, 6143, "v"),
            existing(0, "home", 12288, 14335, "third"),
        ];
        let ctx = load(&["10-home", "20-home", "30-srv"], parts, &options()).unwrap();
        let label = |p: usize| ctx.parts[p].current.as_ref().map(|c| c.label.clone());
        assert_eq!(label(0).as_deref(), Some("third"));
        assert_eq!(label(1).as_deref(), Some("high"));
        assert_eq!(label(2), None);
        // Foreign entries follow the definitions, in slot order.
        assert_eq!(ctx.parts.len(), 5);
        assert!(ctx.parts[3].def.is_none() && ctx.parts[4].def.is_none());
        assert_eq!(label(3).as_deref(), Some("v"));
        assert_eq!(label(4).as_deref(), Some("low"));
    }

    #[test]
    fn type_filters_remove_definitions_entirely() {
        let mut o = options();
        o.exclude = Some(vec![home()]);
        let ctx = load(
            &["10-home", "20-srv"],
            vec![existing(0, "home", 2048, 4095, "")],
            &o,
        )
        .unwrap();
        assert_eq!(ctx.parts.len(), 2);
        assert!(ctx.parts[0].def == Some(1) && ctx.parts[1].is_foreign());
        let mut o = options();
        o.include = Some(vec![home()]);
        let ctx = load(&["10-home", "20-srv"], vec![], &o).unwrap();
        assert_eq!(ctx.parts.len(), 1);
        assert_eq!(ctx.parts[0].def, Some(0));
    }

    #[test]
    fn factory_reset_deletes_bound_partitions_and_binds_again() {
        let parts = vec![
            existing(0, "root", 2048, 4095, "A"),
            existing(1, "root", 4096, 6143, "B"),
            existing(2, "home", 6144, 8191, "H"),
        ];
        let mut o = options();
        o.factory_reset = true;
        let ctx = load(
            &["10-root:FactoryReset=yes", "20-root", "30-home"],
            parts,
            &o,
        )
        .unwrap();
        let slots: Vec<usize> = ctx.deleted.iter().map(|e| e.slot).collect();
        assert_eq!(slots, [0]);
        // B now binds to the first root definition; the second one will be created.
        assert_eq!(ctx.parts[0].current.as_ref().unwrap().label, "B");
        assert!(!ctx.parts[1].exists());
        assert_eq!(ctx.parts[2].current.as_ref().unwrap().label, "H");
        // A's space is free again: the area before the first partition.
        assert!(
            ctx.areas
                .iter()
                .any(|a| a.after.is_none() && a.size == 1 << 20)
        );
    }

    #[test]
    fn corrupt_layouts_are_refused() {
        let bad = |f: &dyn Fn(&mut DiskLayout)| {
            let mut d = disk(64, vec![existing(0, "root", 2048, 4095, "")]);
            f(&mut d);
            let defs: &'static [Definition] = Box::leak(defs(&["10-root"]).into_boxed_slice());
            Context::load(&d, defs, &options()).err().map(|e| e.kind())
        };
        assert_eq!(bad(&|_| {}), None);
        assert_eq!(bad(&|d| d.sector_size = 1000), Some(ErrorKind::Corrupt));
        assert_eq!(bad(&|d| d.sector_size = 2048), None);
        // Found by the robustness test: a new 16 KiB verity signature partition was planned
        // on 64 KiB sectors.
        assert_eq!(bad(&|d| d.sector_size = 65536), Some(ErrorKind::Corrupt));
        assert_eq!(
            bad(&|d| d.partitions[0].first_lba = 100),
            Some(ErrorKind::Corrupt)
        );
        assert_eq!(
            bad(&|d| d.partitions[0].last_lba = u64::MAX),
            Some(ErrorKind::Corrupt)
        );
        assert_eq!(
            bad(&|d| d.partitions[0].last_lba = 10),
            Some(ErrorKind::Corrupt)
        );
        assert_eq!(
            bad(&|d| d.partitions[0].slot = 128),
            Some(ErrorKind::Corrupt)
        );
        assert_eq!(
            bad(&|d| d.last_usable_lba = u64::MAX),
            Some(ErrorKind::Corrupt)
        );
        assert_eq!(
            bad(&|d| d.partitions.push(d.partitions[0].clone())),
            Some(ErrorKind::Corrupt)
        );
        assert_eq!(
            bad(&|d| d.partitions[0].type_uuid = Uuid::nil()),
            Some(ErrorKind::Corrupt)
        );
    }

    #[test]
    fn supplements_link_unless_the_supplement_exists() {
        let specs = ["10-esp", "20-xbootldr:SupplementFor=10-esp"];
        let ctx = load(&specs, vec![], &options()).unwrap();
        assert_eq!(ctx.parts[0].suppressing, Some(1));
        assert!(ctx.is_suppressed(1));
        let ctx = load(
            &specs,
            vec![existing(0, "xbootldr", 2048, 4095, "")],
            &options(),
        )
        .unwrap();
        assert_eq!(ctx.parts[0].suppressing, None);
        assert!(!ctx.is_suppressed(1));
        let err = load(
            &["10-esp", "20-xbootldr:SupplementFor=nope"],
            vec![],
            &options(),
        );
        assert_eq!(err.err().map(|e| e.kind()), Some(ErrorKind::Config));
    }

    fn home() -> Uuid {
        crate::config::types::PartitionType::parse("home")
            .unwrap()
            .uuid
    }
}
