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
