//! How the human output looks: glyph set, colour mode and the terminal facts v262 reads
//! from the environment (the caller decides them; this module does no I/O).

/// The glyph set: v262 uses UTF-8 glyphs unless `SYSTEMD_UTF8=0` or the locale is not
/// UTF-8 (`LANG=C`, `LC_ALL=POSIX`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Glyphs {
    Utf8,
    Ascii,
}

/// The colour mode, as v262 derives it (measured): `SYSTEMD_COLORS=16|256|24bit` pick a mode
/// and `SYSTEMD_COLORS=0|no` turns colours off; otherwise colours are on with
/// `SYSTEMD_COLORS=1|true`, or on a TTY unless `NO_COLOR` is set or `TERM=dumb`, and then
/// they are 24-bit if `COLORTERM` is `truecolor` or `24bit`, else 256.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorMode {
    Off,
    Ansi16,
    Ansi256,
    Ansi24Bit,
}

/// Everything besides the data that changes the human output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub glyphs: Glyphs,
    pub colors: ColorMode,
    /// The terminal width v262's `columns()` returns: `$COLUMNS` if set, else the TTY's
    /// width, else 80. The bar is `columns - 2` cells wide.
    pub columns: usize,
    /// Shrink the table to `columns`, ellipsizing cells: v262 does so only when stdout is a
    /// TTY and no pager runs (`--no-pager`, or no pager program). Otherwise the table is as
    /// wide as its content.
    pub fit_to_columns: bool,
    /// Print the header row (`--no-legend` turns it off; the bar's tree lines stay).
    pub legend: bool,
    /// `SYSTEMD_LOG_LEVEL=debug`: every column, in the table and in JSON.
    pub debug: bool,
}

impl Glyphs {
    pub(crate) fn arrow(self) -> &'static str {
        match self {
            Glyphs::Utf8 => "→",
            Glyphs::Ascii => "->",
        }
    }

    pub(crate) fn sigma(self) -> &'static str {
        match self {
            Glyphs::Utf8 => "Σ",
            Glyphs::Ascii => "S",
        }
    }

    pub(crate) fn ellipsis(self) -> &'static str {
        match self {
            Glyphs::Utf8 => "…",
            Glyphs::Ascii => "...",
        }
    }

    pub(crate) fn dark_shade(self) -> &'static str {
        match self {
            Glyphs::Utf8 => "▒",
            Glyphs::Ascii => "X",
        }
    }

    pub(crate) fn light_shade(self) -> &'static str {
        match self {
            Glyphs::Utf8 => "░",
            Glyphs::Ascii => "-",
        }
    }

    /// Two cells wide, like every tree glyph: a partition starting right after another one
    /// is hidden behind this glyph's blank half.
    pub(crate) fn tree_vertical(self) -> &'static str {
        match self {
            Glyphs::Utf8 => "│ ",
            Glyphs::Ascii => "| ",
        }
    }

    pub(crate) fn tree_branch(self) -> &'static str {
        match self {
            Glyphs::Utf8 => "├─",
            Glyphs::Ascii => "|-",
        }
    }

    pub(crate) fn tree_right(self) -> &'static str {
        match self {
            Glyphs::Utf8 => "└─",
            Glyphs::Ascii => "`-",
        }
    }
}

/// The escape sequences v262 writes, measured for each mode.
pub(crate) const RESET: &str = "\x1b[0m";
pub(crate) const HEADER_UNDERLINE: &str = "\x1b[4m";
pub(crate) const UNDERLINE: &str = "\x1b[0;4m";
pub(crate) const GREEN: &str = "\x1b[0;32m";
pub(crate) const YELLOW: &str = "\x1b[0;33m";

impl ColorMode {
    pub(crate) fn enabled(self) -> bool {
        self != ColorMode::Off
    }

    /// Empty cells and the `-` of an empty label.
    pub(crate) fn grey(self) -> &'static str {
        match self {
            ColorMode::Off => "",
            ColorMode::Ansi16 => "\x1b[0;90m",
            ColorMode::Ansi256 => "\x1b[0;90m\x1b[0;38:5:245m",
            ColorMode::Ansi24Bit => "\x1b[0;38:5:245m",
        }
    }
}
