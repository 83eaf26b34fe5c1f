//! The bar under the table: the whole disk scaled to the terminal width, one cell per
//! `disk size / (columns - 2)` bytes, then one tree line per partition pointing at the cell
//! where it starts.

use super::rows::Row;
use super::style::{ColorMode, GREEN, Glyphs, RESET, YELLOW};
use super::text::width;

/// The bar line and the tree lines, each ending in a newline.
pub fn render(
    rows: &[Row],
    disk_size: u64,
    columns: usize,
    glyphs: Glyphs,
    colors: ColorMode,
) -> String {
    // The leftmost and rightmost terminal cells stay unused.
    let cells = columns.saturating_sub(2);
    let mut owner: Vec<Option<usize>> = vec![None; cells];
    let mut starts = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let from = scale(row.offset, cells, disk_size);
        let to = scale(row.offset.saturating_add(row.raw_size), cells, disk_size);
        // Later partitions take over cells shared with earlier ones.
        for cell in owner.iter_mut().take(to).skip(from) {
            *cell = Some(i);
        }
        starts.push(from);
    }
    let mut out = String::from(" ");
    let paint = |out: &mut String, seq: &str| {
        if colors.enabled() {
            out.push_str(seq);
        }
    };
    let mut green = false;
    let mut previous = None;
    for &cell in &owner {
        match cell {
            Some(_) => {
                if cell != previous {
                    green = !green;
                }
                paint(&mut out, if green { GREEN } else { YELLOW });
                out.push_str(glyphs.dark_shade());
            }
            None => {
                paint(&mut out, RESET);
                out.push_str(glyphs.light_shade());
            }
        }
        previous = cell;
    }
    paint(&mut out, RESET);
    out.push('\n');
    tree_lines(&mut out, rows, &starts, cells, glyphs);
    out
}

/// The cell of byte `at` on a bar of `cells` cells for a disk of `total` bytes.
fn scale(at: u64, cells: usize, total: u64) -> usize {
    if total == 0 {
        return 0;
    }
    let cell = u128::from(at.min(total)) * cells as u128 / u128::from(total);
    usize::try_from(cell).unwrap_or(cells)
}

/// What a tree line shows at a cell of the bar.
#[derive(Debug, Clone, Copy)]
enum Mark {
    /// A partition that starts here and is labelled further down.
    Vertical,
    /// The partition of row `row`, labelled on this line after `corner`.
    Label { corner: &'static str, row: usize },
}

/// Line `i` labels partition `n - 1 - i` (the last partition first) and draws a vertical
/// for every partition before it. Partitions after it are not drawn on that line. A
/// partition starting one cell after another one's vertical is hidden behind the glyph's
/// blank half, as in v262. One line buffer serves every line and nothing is copied into
/// it: a table of a hundred partitions draws as many lines, each with up to a hundred
/// verticals.
fn tree_lines(out: &mut String, rows: &[Row], starts: &[usize], cells: usize, glyphs: Glyphs) {
    let n = rows.len();
    let mut line: Vec<Option<Mark>> = vec![None; cells];
    for i in 0..n {
        let labelled = n - 1 - i;
        line.fill(None);
        for (j, &start) in starts.iter().enumerate().take(labelled + 1) {
            let Some(slot) = line.get_mut(start) else {
                continue;
            };
            *slot = Some(if j < labelled {
                Mark::Vertical
            } else {
                let corner = if matches!(slot, Some(Mark::Vertical)) {
                    glyphs.tree_branch()
                } else {
                    glyphs.tree_right()
                };
                Mark::Label { corner, row: j }
            });
        }
        out.push(' ');
        let mut at = 0;
        while let Some(&mark) = line.get(at) {
            match mark {
                Some(Mark::Vertical) => {
                    let vertical = glyphs.tree_vertical();
                    out.push_str(vertical);
                    at += width(vertical).max(1);
                }
                Some(Mark::Label { corner, row }) => {
                    let hint = rows.get(row).map_or("", Row::hint);
                    out.push_str(corner);
                    out.push(' ');
                    out.push_str(hint);
                    at += width(corner) + 1 + width(hint);
                }
                None => {
                    out.push(' ');
                    at += 1;
                }
            }
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::scale;

    #[test]
    fn scaling_rounds_down_and_never_overflows() {
        assert_eq!(scale(1048576, 98, 268435456), 0);
        assert_eq!(scale(9437184, 98, 268435456), 3);
        assert_eq!(scale(u64::MAX, 1000, u64::MAX), 1000);
        assert_eq!(scale(5, 10, 0), 0);
        assert_eq!(scale(20, 10, 10), 10);
    }
}
