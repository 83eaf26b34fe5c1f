//! The `--json=` output: an array with one object per reported partition.

use super::rows::Row;
use super::table::optional_columns;
use crate::json::{Object, Value};

/// The array v262 prints; `debug` adds the human `size` and `padding` strings.
pub fn render(rows: &[Row], debug: bool) -> Value {
    let (roothash, dropins) = optional_columns(rows);
    let items = rows
        .iter()
        .map(|row| {
            let mut o = Object::new()
                .with("type", row.type_name.as_str())
                .with("label", row.label.as_str())
                .with("uuid", row.uuid.hyphenated().to_string())
                .with("partno", row.partno)
                .with("file", row.definition.map(|d| d.file.as_str()))
                .with("node", row.node.as_str())
                .with("offset", row.offset)
                .with("old_size", row.old_size)
                .with("raw_size", row.raw_size);
            if debug {
                o.insert("size", row.size.as_str());
            }
            o.insert("old_padding", row.old_padding);
            o.insert("raw_padding", row.raw_padding);
            if debug {
                o.insert("padding", row.padding.as_str());
            }
            o.insert("activity", row.activity.as_str());
            if roothash {
                o.insert(
                    "roothash",
                    row.definition.and_then(|d| d.roothash.as_deref()),
                );
            }
            if dropins {
                let list = row.definition.filter(|d| !d.dropins.is_empty()).map(|d| {
                    Value::Array(d.dropins.iter().map(|p| Value::from(p.as_str())).collect())
                });
                // The spelling v262 keeps for compatibility.
                o.insert("drop-in_files", list);
            }
            Value::Object(o)
        })
        .collect();
    Value::Array(items)
}
