//! A text table laid out like systemd's format-table prints one: columns as wide as their
//! widest line, one space between them, cells padded on the side their alignment says, the
//! header underlined and empty cells grey when colours are on, multi-line cells, and on a
//! terminal the columns shrunk (with ellipses) to fit its width.

use super::style::{ColorMode, Glyphs, HEADER_UNDERLINE, RESET, UNDERLINE};
use super::text::{ellipsize, width};

/// Which side of a cell the padding goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// How a cell is highlighted when colours are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paint {
    Plain,
    Grey,
    Underline,
}

/// One cell: zero lines for an empty cell (grey, like v262's empty cells), several for a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    pub lines: Vec<String>,
    pub paint: Paint,
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell {
            lines: vec![s.into()],
            paint: Paint::Plain,
        }
    }

    pub fn empty() -> Cell {
        Cell {
            lines: Vec::new(),
            paint: Paint::Grey,
        }
    }

    /// A list, one item per line; empty when there are none.
    pub fn list(items: &[String]) -> Cell {
        if items.is_empty() {
            return Cell::empty();
        }
        Cell {
            lines: items.to_vec(),
            paint: Paint::Plain,
        }
    }

    pub fn painted(mut self, paint: Paint) -> Cell {
        self.paint = paint;
        self
    }
}

/// A column: its header (already upper case) and alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub header: &'static str,
    pub align: Align,
}

/// How to print a grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub header: bool,
    /// Shrink to this many cells when wider.
    pub max_width: Option<usize>,
    pub glyphs: Glyphs,
    pub colors: ColorMode,
}

/// The printed table, each line ending in a newline.
pub fn render(columns: &[Column], rows: &[Vec<Cell>], layout: &Layout) -> String {
    let requested = requested_widths(columns, rows, layout.header);
    let widths = match layout.max_width {
        Some(max) => fit(&requested, max),
        None => requested,
    };
    let mut out = String::new();
    if layout.header {
        for (j, (column, &w)) in columns.iter().zip(&widths).enumerate() {
            let (header, align) = (column.header, column.align);
            if layout.colors.enabled() {
                if j > 0 {
                    out.push_str(HEADER_UNDERLINE);
                    out.push(' ');
                    out.push_str(RESET);
                }
                out.push_str(HEADER_UNDERLINE);
                push_aligned(&mut out, header, w, align, layout.glyphs, false);
                out.push_str(RESET);
            } else {
                if j > 0 {
                    out.push(' ');
                }
                let last = j + 1 == columns.len();
                push_aligned(&mut out, header, w, align, layout.glyphs, last);
            }
        }
        out.push('\n');
    }
    for row in rows {
        let height = row.iter().map(|c| c.lines.len()).max().unwrap_or(0).max(1);
        for k in 0..height {
            for (j, ((column, &w), cell)) in columns.iter().zip(&widths).zip(row).enumerate() {
                if j > 0 {
                    out.push(' ');
                }
                let line = cell.lines.get(k).map_or("", String::as_str);
                let paint = match (layout.colors, cell.paint) {
                    (ColorMode::Off, _) | (_, Paint::Plain) => "",
                    (mode, Paint::Grey) => mode.grey(),
                    (_, Paint::Underline) => UNDERLINE,
                };
                if paint.is_empty() {
                    let last = j + 1 == columns.len();
                    push_aligned(&mut out, line, w, column.align, layout.glyphs, last);
                } else {
                    out.push_str(paint);
                    push_aligned(&mut out, line, w, column.align, layout.glyphs, false);
                    out.push_str(RESET);
                }
            }
            out.push('\n');
        }
    }
    out
}

/// Appends `s` padded to `w` cells, or ellipsized when wider; with `last` (an uncoloured
/// cell of the last column) without trailing blanks, as v262 prints it. An ellipsized cell
/// is not padded even when a wide character left it one cell short (v262 prints `日…` in a
/// 4-cell column). Written straight into `out`: a table is a few hundred cells.
fn push_aligned(out: &mut String, s: &str, w: usize, align: Align, glyphs: Glyphs, last: bool) {
    const BLANKS: [char; 4] = [' ', '\t', '\n', '\r'];
    let cells = width(s);
    if cells > w {
        let cut = ellipsize(s, w, glyphs);
        out.push_str(if last {
            cut.trim_end_matches(BLANKS)
        } else {
            &cut
        });
        return;
    }
    let pad = w - cells;
    let text = if last { s.trim_end_matches(BLANKS) } else { s };
    match align {
        // Trailing padding is blanks too: the last column drops it.
        Align::Left => {
            out.push_str(text);
            if !last {
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        // Padding in front of nothing but blanks is dropped with them.
        Align::Right => {
            if !(last && text.is_empty()) {
                out.extend(std::iter::repeat_n(' ', pad));
            }
            out.push_str(text);
        }
    }
}

/// Each column's natural width: its widest line (the header's too if shown), at least 1.
fn requested_widths(columns: &[Column], rows: &[Vec<Cell>], header: bool) -> Vec<usize> {
    columns
        .iter()
        .enumerate()
        .map(|(j, column)| {
            let head = if header { width(column.header) } else { 0 };
            rows.iter()
                .filter_map(|row| row.get(j))
                .flat_map(|cell| cell.lines.iter())
                .map(|line| width(line))
                .fold(head, usize::max)
                .max(1)
        })
        .collect()
}

/// Column widths for a table at most `max` cells wide (never below one cell per column),
/// distributing the room above the minimum the way v262's format-table does with equal
/// column weights: in rounds, each column still open is offered an equal share of what is
/// left; a column whose share covers its natural width takes exactly that and the round
/// starts over, and once no column is satisfied the open ones take their shares in order.
fn fit(requested: &[usize], max: usize) -> Vec<usize> {
    let n = requested.len();
    let separators = n.saturating_sub(1);
    let natural: usize = requested.iter().sum::<usize>() + separators;
    if natural <= max {
        return requested.to_vec();
    }
    let mut extra = max.saturating_sub(n + separators);
    let mut open = n;
    let mut widths: Vec<Option<usize>> = vec![None; n];
    let mut finalize = false;
    // Every round but the last assigns one column, so n + 1 rounds always suffice.
    for _ in 0..=n {
        let mut satisfied = false;
        for j in 0..n {
            if widths[j].is_some() || open == 0 {
                continue;
            }
            let mut w = 1 + extra / open;
            if w >= requested[j] {
                w = requested[j];
                satisfied = true;
            } else if !finalize {
                continue;
            }
            widths[j] = Some(w);
            extra -= w - 1;
            open -= 1;
            if satisfied && !finalize {
                break;
            }
        }
        if finalize {
            break;
        }
        if !satisfied {
            finalize = true;
        }
    }
    widths.into_iter().map(|w| w.unwrap_or(1)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_matches_v262_on_a_terminal() {
        // The foreign-partition table (TYPE LABEL UUID PART FILE RAW SIZE SIZE PADDING),
        // measured on v262 with --no-pager on a pseudo-terminal.
        let req = [36, 11, 36, 4, 12, 9, 8, 11];
        assert_eq!(fit(&req, 100), [19, 11, 19, 4, 12, 9, 8, 11]);
        assert_eq!(fit(&req, 60), [7, 7, 7, 4, 7, 7, 7, 7]);
        assert_eq!(fit(&req, 30), [2, 3, 3, 3, 3, 3, 3, 3]);
        assert_eq!(fit(&req, 20), [1, 1, 1, 2, 2, 2, 2, 2]);
        assert_eq!(fit(&req, 17), [1, 1, 1, 1, 1, 1, 2, 2]);
        assert_eq!(fit(&req, 15), [1; 8]);
        assert_eq!(fit(&req, 3), [1; 8]);
        assert_eq!(fit(&req, 200), req);
        // With the DROP-IN FILES column.
        let req = [11, 11, 36, 4, 12, 9, 10, 7, 41];
        assert_eq!(fit(&req, 80), [8, 8, 9, 4, 9, 9, 9, 7, 9]);
    }

    fn table(colors: ColorMode, header: bool) -> String {
        let columns = [
            Column {
                header: "NAME",
                align: Align::Left,
            },
            Column {
                header: "N",
                align: Align::Right,
            },
            Column {
                header: "LIST",
                align: Align::Left,
            },
        ];
        let rows = vec![
            vec![
                Cell::text("a"),
                Cell::text("10").painted(Paint::Underline),
                Cell::list(&["x".into(), "yy".into()]),
            ],
            vec![Cell::empty(), Cell::text("7"), Cell::list(&[])],
        ];
        let layout = Layout {
            header,
            max_width: None,
            glyphs: Glyphs::Utf8,
            colors,
        };
        render(&columns, &rows, &layout)
    }

    #[test]
    fn plain_layout_trims_only_the_last_column() {
        assert_eq!(
            table(ColorMode::Off, true),
            "NAME  N LIST\na    10 x\n        yy\n      7 \n"
        );
        assert_eq!(table(ColorMode::Off, false), "a 10 x\n     yy\n   7 \n");
    }

    #[test]
    fn colours_wrap_whole_padded_cells() {
        let t = table(ColorMode::Ansi16, true);
        let expected = "\x1b[4mNAME\x1b[0m\x1b[4m \x1b[0m\x1b[4m N\x1b[0m\x1b[4m \x1b[0m\x1b[4mLIST\x1b[0m\n\
                        a    \x1b[0;4m10\x1b[0m x\n     \x1b[0;4m  \x1b[0m yy\n\
                        \x1b[0;90m    \x1b[0m  7 \x1b[0;90m    \x1b[0m\n";
        assert_eq!(t, expected);
    }
}
