//! The partition table v262 prints before it changes anything.

use super::bytes::format_bytes;
use super::grid::{self, Align, Cell, Column, Layout, Paint};
use super::rows::{Row, file_name};
use super::style::Style;

/// v262's columns, in order. The normal display shows some of them, debug all of them; the
/// last two only when some partition has a value there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Type,
    Label,
    Uuid,
    Part,
    File,
    Node,
    Offset,
    OldSize,
    RawSize,
    Size,
    OldPadding,
    RawPadding,
    Padding,
    Activity,
    RootHash,
    DropIns,
}

const NORMAL: [Col; 8] = [
    Col::Type,
    Col::Label,
    Col::Uuid,
    Col::Part,
    Col::File,
    Col::RawSize,
    Col::Size,
    Col::Padding,
];

const DEBUG: [Col; 14] = [
    Col::Type,
    Col::Label,
    Col::Uuid,
    Col::Part,
    Col::File,
    Col::Node,
    Col::Offset,
    Col::OldSize,
    Col::RawSize,
    Col::Size,
    Col::OldPadding,
    Col::RawPadding,
    Col::Padding,
    Col::Activity,
];

impl Col {
    fn column(self) -> Column {
        let (header, align) = match self {
            Col::Type => ("TYPE", Align::Left),
            Col::Label => ("LABEL", Align::Left),
            Col::Uuid => ("UUID", Align::Left),
            Col::Part => ("PART", Align::Right),
            Col::File => ("FILE", Align::Left),
            Col::Node => ("NODE", Align::Left),
            Col::Offset => ("OFFSET", Align::Right),
            Col::OldSize => ("OLD SIZE", Align::Right),
            Col::RawSize => ("RAW SIZE", Align::Right),
            Col::Size => ("SIZE", Align::Right),
            // v262 leaves this one left-aligned (measured).
            Col::OldPadding => ("OLD PADDING", Align::Left),
            Col::RawPadding => ("RAW PADDING", Align::Right),
            Col::Padding => ("PADDING", Align::Right),
            Col::Activity => ("ACTIVITY", Align::Left),
            Col::RootHash => ("ROOTHASH", Align::Left),
            Col::DropIns => ("DROP-IN FILES", Align::Left),
        };
        Column { header, align }
    }

    fn cell(self, row: &Row) -> Cell {
        let number = |n: u64| Cell::text(n.to_string());
        match self {
            Col::Type => Cell::text(&row.type_name),
            Col::Label if row.label_missing => Cell::text(&row.label).painted(Paint::Grey),
            Col::Label => Cell::text(&row.label),
            Col::Uuid => Cell::text(row.uuid.hyphenated().to_string()),
            Col::Part => number(row.partno),
            Col::File => row
                .definition
                .map_or_else(Cell::empty, |d| Cell::text(file_name(&d.file))),
            Col::Node => Cell::text(&row.node),
            Col::Offset => number(row.offset),
            Col::OldSize => number(row.old_size),
            Col::RawSize => number(row.raw_size),
            Col::Size => Cell::text(&row.size),
            Col::OldPadding => number(row.old_padding),
            Col::RawPadding => number(row.raw_padding),
            Col::Padding => Cell::text(&row.padding),
            Col::Activity => Cell::text(row.activity.as_str()),
            Col::RootHash => row
                .definition
                .and_then(|d| d.roothash.as_deref())
                .map_or_else(Cell::empty, Cell::text),
            Col::DropIns => row
                .definition
                .map_or_else(Cell::empty, |d| Cell::list(&d.dropins)),
        }
    }
}

/// Whether any partition has a root hash / drop-ins: the optional columns and JSON fields.
pub fn optional_columns(rows: &[Row]) -> (bool, bool) {
    let roothash = rows
        .iter()
        .any(|r| r.definition.is_some_and(|d| d.roothash.is_some()));
    let dropins = rows
        .iter()
        .any(|r| r.definition.is_some_and(|d| !d.dropins.is_empty()));
    (roothash, dropins)
}

/// The table text, each line ending in a newline.
pub fn render(rows: &[Row], style: &Style) -> String {
    let mut cols: Vec<Col> = if style.debug {
        DEBUG.to_vec()
    } else {
        NORMAL.to_vec()
    };
    let (roothash, dropins) = optional_columns(rows);
    if roothash {
        cols.push(Col::RootHash);
    }
    if dropins {
        cols.push(Col::DropIns);
    }
    let sum_size = rows.iter().fold(0u64, |s, r| s.saturating_add(r.raw_size));
    let sum_padding = rows
        .iter()
        .fold(0u64, |s, r| s.saturating_add(r.raw_padding));
    let mut cells: Vec<Vec<Cell>> = rows
        .iter()
        .map(|row| cols.iter().map(|c| c.cell(row)).collect())
        .collect();
    // The sums are underlined on the last row, for the columns whose sum is not zero.
    if let Some(last) = cells.last_mut() {
        for (cell, col) in last.iter_mut().zip(&cols) {
            match col {
                Col::Size if sum_size > 0 => cell.paint = Paint::Underline,
                Col::Padding if sum_padding > 0 => cell.paint = Paint::Underline,
                _ => {}
            }
        }
    }
    if sum_size > 0 || sum_padding > 0 {
        let sigma = style.glyphs.sigma();
        let sums = cols
            .iter()
            .map(|col| match col {
                Col::Size => Cell::text(format!("{sigma} = {}", format_bytes(sum_size))),
                Col::Padding => Cell::text(format!("{sigma} = {}", format_bytes(sum_padding))),
                _ => Cell::empty(),
            })
            .collect();
        cells.push(sums);
    }
    let columns: Vec<Column> = cols.iter().map(|c| c.column()).collect();
    let layout = Layout {
        header: style.legend,
        max_width: style.fit_to_columns.then_some(style.columns),
        glyphs: style.glyphs,
        colors: style.colors,
    };
    grid::render(&columns, &cells, &layout)
}
