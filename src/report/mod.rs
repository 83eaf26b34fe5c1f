//! What systemd-repart 262 prints about a plan: the table with its bar (stdout, before any
//! change is made) and the `--json=` array (stdout, once, after the run). Pure: the caller
//! passes what v262 reads from the terminal and the environment in a [`Style`].
//!
//! How v262 wires it (measured; see `tests/fixtures/report/README.md`):
//! * Without `--json`, and unless `--pretty=no`, the table is printed once after planning and
//!   before writing, TTY or not: [`human`] gives the exact bytes (table, an empty line, the
//!   bar and its tree lines, an empty line). The log line that follows is "No changes.",
//!   "Refusing to repartition, please re-run with --dry-run=no." or "Applying changes to
//!   NODE.". When the plan has no partition at all, v262 logs "Empty partition table." (info)
//!   instead of the table and still prints the bar.
//! * With `--json=short|pretty` nothing is printed before writing; after a successful run
//!   (dry or real, with or without changes) the array from [`json`] is printed with a
//!   newline. An empty result is `[]`.

mod bar;
mod bytes;
mod grid;
mod json;
mod node;
mod rows;
mod style;
mod table;
mod text;

pub use bytes::format_bytes;
pub use node::partition_node;
pub use style::{ColorMode, Glyphs, Style};

use crate::plan::Plan;

/// What the report prints about one definition; the planner's definition indices select it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinitionInfo {
    /// The definition file as JSON `file` prints it (v262: absolute, with the definitions
    /// directory's symlinks resolved but not the file's own). The table shows its last
    /// component, and so does the bar when it names the partition.
    pub file: String,
    /// The drop-in files applied to it, as printed, in order.
    pub dropins: Vec<String>,
    /// The root hash column: v262 shows `TBD` for every `Verity=` definition whose hash has
    /// not been computed.
    pub roothash: Option<String>,
}

/// The data a report is made from.
#[derive(Debug, Clone, Copy)]
pub struct ReportInput<'a> {
    pub plan: &'a Plan,
    /// The size of the whole disk in bytes: the bar spans it.
    pub disk_size: u64,
    /// The disk as v262 names it: `/dev/loop2`, or an image's canonical absolute path.
    /// Partition nodes are derived from it with [`partition_node`].
    pub node: &'a str,
    /// Indexed like the definitions given to the planner.
    pub definitions: &'a [DefinitionInfo],
}

/// The table (each line ending in a newline), or `None` when the plan has no partition at
/// all, where v262 logs "Empty partition table." instead. Partitions dropped for lack of
/// space are left out; with all of them dropped only the header remains.
pub fn table(input: &ReportInput, style: &Style) -> Option<String> {
    if input.plan.partitions.is_empty() {
        return None;
    }
    Some(table::render(&rows::rows(input, style.glyphs), style))
}

/// The bar and one tree line per reported partition, each ending in a newline.
pub fn bar(input: &ReportInput, style: &Style) -> String {
    bar::render(
        &rows::rows(input, style.glyphs),
        input.disk_size,
        style.columns,
        style.glyphs,
        style.colors,
    )
}

/// Everything v262 writes to stdout before changing anything (without `--json`).
pub fn human(input: &ReportInput, style: &Style) -> String {
    let mut out = table(input, style).unwrap_or_default();
    out.push('\n');
    out.push_str(&bar(input, style));
    out.push('\n');
    out
}

/// The JSON array; print it with `to_short()` or `to_pretty()` and a newline. `debug`
/// (`SYSTEMD_LOG_LEVEL=debug`) adds the human `size` and `padding` strings, drawn with
/// `glyphs`.
pub fn json(input: &ReportInput, debug: bool, glyphs: Glyphs) -> crate::json::Value {
    json::render(&rows::rows(input, glyphs), debug)
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::plan::{Activity, PlannedPartition};

    fn partition(offset: u64, size: u64, definition: Option<usize>) -> PlannedPartition {
        PlannedPartition {
            definition,
            foreign: definition.is_none(),
            existing: true,
            dropped: false,
            deferred: false,
            activity: Activity::Unchanged,
            slot: Some(0),
            type_uuid: Uuid::from_u128(7),
            label: String::new(),
            uuid: Uuid::from_u128(8),
            fills_label: false,
            fills_uuid: false,
            offset,
            old_size: size,
            new_size: size,
            old_padding: u64::MAX,
            new_padding: u64::MAX,
            attributes: 0,
        }
    }

    fn plan(partitions: Vec<PlannedPartition>) -> Plan {
        Plan {
            sector_size: 512,
            grain: 4096,
            first_usable_lba: 2048,
            last_usable_lba: 4096,
            entry_count: 128,
            disk_guid: Uuid::from_u128(9),
            new_table: false,
            fills_disk_guid: false,
            changed: false,
            deleted: Vec::new(),
            partitions,
            notes: Vec::new(),
            capped_existing_charges: false,
        }
    }

    #[test]
    fn absurd_values_and_tiny_terminals_do_not_panic() {
        // Offsets past the disk's end, sizes that overflow when added, a definition index
        // out of range, an unknown type: the report still prints something.
        let plan = plan(vec![
            partition(u64::MAX, u64::MAX, Some(5)),
            partition(0, u64::MAX, None),
            partition(1 << 20, 0, Some(0)),
        ]);
        let definitions = [DefinitionInfo {
            file: "/".into(),
            dropins: vec![String::new()],
            roothash: Some(String::new()),
        }];
        for disk_size in [0, 1, u64::MAX] {
            let input = ReportInput {
                plan: &plan,
                disk_size,
                node: "",
                definitions: &definitions,
            };
            for columns in 0..6 {
                for glyphs in [Glyphs::Utf8, Glyphs::Ascii] {
                    let style = Style {
                        glyphs,
                        colors: ColorMode::Ansi256,
                        columns,
                        fit_to_columns: columns % 2 == 1,
                        legend: columns % 2 == 0,
                        debug: columns % 3 == 0,
                    };
                    let out = human(&input, &style);
                    let sigma = format!("{} = 15.9E", glyphs.sigma());
                    assert!(style.fit_to_columns || out.contains(&sigma), "{out}");
                    assert_eq!(bar(&input, &style).lines().count(), 4);
                }
            }
            let v = json(&input, true, Glyphs::Utf8);
            assert_eq!(v.as_array().map(<[_]>::len), Some(3));
        }
    }

    #[test]
    fn a_partition_made_foreign_has_no_file() {
        // v262 prints "Can't grow existing partition root of priority 1, ignoring." and
        // forgets the definition: JSON "file" is null, the table's FILE cell is empty and the
        // bar names the partition by its label (measured: foreignize-existing).
        let mut root = partition(1 << 20, 1 << 20, Some(0));
        root.foreign = true;
        root.label = "root".into();
        let plan = plan(vec![root]);
        let definitions = [DefinitionInfo {
            file: "/defs/10-root.conf".into(),
            dropins: Vec::new(),
            roothash: None,
        }];
        let input = ReportInput {
            plan: &plan,
            disk_size: 8 << 20,
            node: "/tmp/img",
            definitions: &definitions,
        };
        let v = json(&input, false, Glyphs::Utf8);
        let row = &v.as_array().unwrap()[0];
        assert!(row.get("file").unwrap().is_null(), "{}", v.to_short());
        let style = Style {
            glyphs: Glyphs::Ascii,
            colors: ColorMode::Off,
            columns: 100,
            fit_to_columns: false,
            legend: true,
            debug: false,
        };
        let out = human(&input, &style);
        assert!(!out.contains("10-root.conf"), "{out}");
        assert!(out.contains("`- root"), "{out}");
    }

    #[test]
    fn an_empty_plan_has_no_table_but_a_bar() {
        let plan = plan(Vec::new());
        let input = ReportInput {
            plan: &plan,
            disk_size: 1 << 20,
            node: "/dev/vda",
            definitions: &[],
        };
        let style = Style {
            glyphs: Glyphs::Ascii,
            colors: ColorMode::Off,
            columns: 6,
            fit_to_columns: false,
            legend: true,
            debug: false,
        };
        assert_eq!(table(&input, &style), None);
        assert_eq!(human(&input, &style), "\n ----\n\n");
        assert_eq!(json(&input, false, Glyphs::Ascii).to_short(), "[]");
    }
}
