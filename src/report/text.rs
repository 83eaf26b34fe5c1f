//! Display width and ellipsizing, as systemd measures text on a terminal.

use super::style::Glyphs;

/// Ranges of characters that take two terminal cells (East Asian Wide and Fullwidth, as
/// systemd's table has them). Everything else, combining marks included, takes one: v262
/// counts `a\u{301}b` as three cells and `⌚` as one (measured).
const WIDE: [(u32, u32); 16] = [
    (0x1100, 0x115F),
    (0x2329, 0x232A),
    (0x2E80, 0x303E),
    (0x3041, 0x33FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xA000, 0xA4CF),
    (0xAC00, 0xD7A3),
    (0xF900, 0xFAFF),
    (0xFE10, 0xFE19),
    (0xFE30, 0xFE6F),
    (0xFF00, 0xFF60),
    (0xFFE0, 0xFFE6),
    (0x1F200, 0x1F251),
    (0x20000, 0x2FFFD),
    (0x30000, 0x3FFFD),
];

fn char_width(c: char) -> usize {
    let c = u32::from(c);
    // Every wide range starts above this: table cells are mostly ASCII.
    if c < 0x1100 {
        return 1;
    }
    if WIDE.iter().any(|&(lo, hi)| (lo..=hi).contains(&c)) {
        2
    } else {
        1
    }
}

/// Terminal cells `s` takes.
pub fn width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

/// `s` cut to at most `max` cells with the ellipsis at the end, as systemd ellipsizes table
/// cells: `…`, or with ASCII glyphs `...` (as many dots as fit below three cells). Text that
/// is not ASCII always gets `…`, whatever the glyph set (measured on v262).
pub fn ellipsize(s: &str, max: usize, glyphs: Glyphs) -> String {
    if width(s) <= max {
        return s.to_owned();
    }
    let ellipsis = if s.is_ascii() {
        glyphs.ellipsis()
    } else {
        Glyphs::Utf8.ellipsis()
    };
    let room = match max.checked_sub(width(ellipsis)) {
        Some(room) => room,
        None => return ".".repeat(max),
    };
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = char_width(c);
        if used + w > room {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push_str(ellipsis);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_and_narrow_characters() {
        assert_eq!(width("日本語ラベル"), 12);
        assert_eq!(width("aＡb"), 4);
        assert_eq!(width("a가b"), 4);
        assert_eq!(width("a\u{301}b"), 3);
        assert_eq!(width("a⌚b"), 3);
        assert_eq!(width("café ✓"), 6);
        assert_eq!(width("→ 0B"), 4);
    }

    #[test]
    fn ellipsizes_like_v262() {
        // Measured on v262 tables shrunk to the terminal.
        assert_eq!(ellipsize("b6dbe879-4c06-45dd", 7, Glyphs::Utf8), "b6dbe8…");
        assert_eq!(ellipsize("1111111", 7, Glyphs::Utf8), "1111111");
        assert_eq!(ellipsize("11111111-2222", 7, Glyphs::Ascii), "1111...");
        assert_eq!(ellipsize("238.9M → 0B", 7, Glyphs::Utf8), "238.9M…");
        assert_eq!(ellipsize("238.9M -> 0B", 7, Glyphs::Ascii), "238....");
        assert_eq!(ellipsize("→ 100M", 2, Glyphs::Utf8), "→…");
        assert_eq!(ellipsize("esp", 1, Glyphs::Utf8), "…");
        assert_eq!(ellipsize("esp", 3, Glyphs::Ascii), "esp");
        assert_eq!(ellipsize("PADDING", 3, Glyphs::Ascii), "...");
        assert_eq!(ellipsize("PADDING", 2, Glyphs::Ascii), "..");
        assert_eq!(ellipsize("PADDING", 1, Glyphs::Ascii), ".");
        assert_eq!(ellipsize("日本語ラベル", 5, Glyphs::Utf8), "日本…");
        assert_eq!(ellipsize("日本語ラベル", 4, Glyphs::Utf8), "日…");
        assert_eq!(ellipsize("café ✓", 5, Glyphs::Utf8), "café…");
        assert_eq!(ellipsize("café✓", 4, Glyphs::Ascii), "caf…");
        assert_eq!(ellipsize("日本語ラベル", 3, Glyphs::Ascii), "日…");
    }
}
