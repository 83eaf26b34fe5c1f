//! The values v262 reports for each partition, shared by the table, the bar and JSON.

use uuid::Uuid;

use super::bytes::format_bytes;
use super::node::partition_node;
use super::style::Glyphs;
use super::{DefinitionInfo, ReportInput};
use crate::config::types::PartitionType;
use crate::plan::{Activity, PlannedPartition};

/// One reported partition.
pub struct Row<'a> {
    /// The type's name, or its UUID for unknown types.
    pub type_name: String,
    /// The label as reported: `-` (grey in the table) when there is none.
    pub label: String,
    pub label_missing: bool,
    pub uuid: Uuid,
    pub partno: u64,
    pub definition: Option<&'a DefinitionInfo>,
    pub node: String,
    pub offset: u64,
    pub old_size: u64,
    pub raw_size: u64,
    /// `old → new`, `→ new` for new partitions, or just the size when unchanged.
    pub size: String,
    pub old_padding: u64,
    pub raw_padding: u64,
    pub padding: String,
    pub activity: Activity,
}

/// The partitions v262 reports, in its order: those not dropped, sorted by offset.
pub fn rows<'a>(input: &ReportInput<'a>, glyphs: Glyphs) -> Vec<Row<'a>> {
    let mut shown: Vec<&PlannedPartition> = input
        .plan
        .partitions
        .iter()
        .filter(|p| !p.dropped)
        .collect();
    shown.sort_by_key(|p| p.offset);
    shown.into_iter().map(|p| row(input, p, glyphs)).collect()
}

fn row<'a>(input: &ReportInput<'a>, p: &PlannedPartition, glyphs: Glyphs) -> Row<'a> {
    let known_type = PartitionType::from_uuid(p.type_uuid).name();
    // An entry without a name shows its type's name if it is foreign and the type is known
    // (v262 never assigned it a label); otherwise it shows as missing.
    let shown_label = match (p.label.as_str(), known_type) {
        ("", Some(name)) if p.foreign => name,
        (label, _) => label,
    };
    let partno = p.slot.unwrap_or(0);
    let (old_size, old_padding) = match p.existing {
        true => (Some(p.old_size), Some(p.old_padding)),
        false => (None, None),
    };
    Row {
        type_name: known_type.map_or_else(|| p.type_uuid.hyphenated().to_string(), str::to_owned),
        label: if shown_label.is_empty() {
            "-"
        } else {
            shown_label
        }
        .to_owned(),
        label_missing: shown_label.is_empty(),
        uuid: p.uuid,
        partno: partno as u64,
        // A partition made foreign (an existing one dropped by priority) has lost its
        // definition in v262: no file in the table, the JSON or the bar.
        definition: p
            .definition
            .filter(|_| !p.foreign)
            .and_then(|d| input.definitions.get(d)),
        node: partition_node(input.node, partno.saturating_add(1)),
        offset: p.offset,
        old_size: p.old_size,
        raw_size: p.new_size,
        size: change(old_size, p.new_size, glyphs),
        old_padding: p.old_padding,
        raw_padding: p.new_padding,
        padding: change(old_padding, p.new_padding, glyphs),
        activity: p.activity,
    }
}

fn change(old: Option<u64>, new: u64, glyphs: Glyphs) -> String {
    match old {
        Some(old) if old == new => format_bytes(old),
        Some(old) => format!(
            "{} {} {}",
            format_bytes(old),
            glyphs.arrow(),
            format_bytes(new)
        ),
        None => format!("{} {}", glyphs.arrow(), format_bytes(new)),
    }
}

impl Row<'_> {
    /// What the bar's tree lines call the partition: the definition's file name, else the
    /// label, else the partition node.
    pub fn hint(&self) -> &str {
        if let Some(d) = self.definition {
            return file_name(&d.file);
        }
        if !self.label_missing {
            return &self.label;
        }
        &self.node
    }
}

/// The last component of a path as printed (`TABLE_PATH_BASENAME`).
pub fn file_name(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    match trimmed.rsplit_once('/') {
        Some((_, name)) if !name.is_empty() => name,
        _ if trimmed.is_empty() => path,
        _ => trimmed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_changes() {
        assert_eq!(change(None, 67108864, Glyphs::Utf8), "→ 64M");
        assert_eq!(
            change(Some(33554432), 200257536, Glyphs::Utf8),
            "32M → 190.9M"
        );
        assert_eq!(change(Some(0), 0, Glyphs::Ascii), "0B");
        assert_eq!(change(Some(250589184), 0, Glyphs::Ascii), "238.9M -> 0B");
    }

    #[test]
    fn file_names() {
        assert_eq!(file_name("/tmp/defs/10-root.conf"), "10-root.conf");
        assert_eq!(file_name("10-root.conf"), "10-root.conf");
        assert_eq!(file_name("defs/x.conf/"), "x.conf");
        assert_eq!(file_name("/"), "/");
    }
}
