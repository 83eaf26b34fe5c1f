//! What goes to stdout: the human table before changes are made, the JSON array after the
//! run. The report module renders; this decides, from the options and the environment as
//! v262 reads them, whether and how.

use std::io::Write;

use crate::cli::{Empty, JsonMode, Options};
use crate::config::definition::{Definition, Verity};
use crate::disk::Disk;
use crate::plan::Plan;
use crate::report::{self, ColorMode, DefinitionInfo, Glyphs, ReportInput, Style};

/// The printer for one run.
pub struct Output<'a> {
    plan: &'a Plan,
    node: String,
    disk_size: u64,
    definitions: Vec<DefinitionInfo>,
    json: JsonMode,
    pretty: bool,
    style: Style,
}

impl<'a> Output<'a> {
    pub fn new(
        o: &Options,
        disk: &Disk,
        disk_size: u64,
        plan: &'a Plan,
        defs: &[Definition],
    ) -> Self {
        // v262 names block devices and the file it creates (--empty=create) as given, and
        // other image files by their canonical path.
        let node = if disk.is_block_device() || o.empty == Empty::Create {
            disk.path().display().to_string()
        } else {
            std::fs::canonicalize(disk.path())
                .unwrap_or_else(|_| disk.path().to_owned())
                .display()
                .to_string()
        };
        let definitions = defs
            .iter()
            .map(|d| DefinitionInfo {
                file: d.display_path.clone(),
                dropins: d.dropins.iter().map(|p| p.display().to_string()).collect(),
                roothash: (d.verity != Verity::Off).then(|| "TBD".to_owned()),
            })
            .collect();
        Output {
            plan,
            node,
            disk_size,
            definitions,
            json: o.json,
            // Without --json the table is printed unless --pretty=no, TTY or not (v262).
            pretty: o.pretty != Some(false) && o.json == JsonMode::Off,
            style: style(o.legend),
        }
    }

    fn input(&self) -> ReportInput<'_> {
        ReportInput {
            plan: self.plan,
            disk_size: self.disk_size,
            node: &self.node,
            definitions: &self.definitions,
        }
    }

    /// The table and the bar, printed once before anything is written.
    pub fn table(&self) {
        if !self.pretty {
            return;
        }
        if self.plan.partitions.is_empty() {
            log::info!("Empty partition table.");
        }
        print(&report::human(&self.input(), &self.style));
    }

    /// The JSON array, printed once after the run (dry or real).
    pub fn json(&self) {
        if self.json == JsonMode::Off {
            return;
        }
        let value = report::json(&self.input(), self.style.debug, self.style.glyphs);
        let text = if self.json == JsonMode::Pretty {
            value.to_pretty()
        } else {
            value.to_short()
        };
        print(&format!("{text}\n"));
    }
}

fn print(text: &str) {
    let mut stdout = std::io::stdout().lock();
    // A closed stdout (a pipe whose reader went away) must not fail the run.
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
}

/// What v262 reads from the terminal and the environment (`SYSTEMD_COLORS`, `SYSTEMD_UTF8`,
/// the locale, `COLUMNS`, `SYSTEMD_LOG_LEVEL`).
pub(crate) fn style(legend: bool) -> Style {
    let var = |name: &str| std::env::var(name).ok();
    let stdout = std::io::stdout();
    let tty = rustix::termios::isatty(&stdout);
    let columns = var("COLUMNS")
        .and_then(|c| c.parse::<usize>().ok())
        .filter(|&c| c > 0)
        .or_else(|| {
            tty.then(|| rustix::termios::tcgetwinsize(&stdout).ok())
                .flatten()
                .map(|w| usize::from(w.ws_col))
                .filter(|&c| c > 0)
        })
        .unwrap_or(80);
    let locale_ascii = ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|v| var(v).filter(|l| !l.is_empty()))
        .is_some_and(|l| l == "C" || l == "POSIX");
    let glyphs = match var("SYSTEMD_UTF8")
        .as_deref()
        .map(crate::config::size::parse_bool)
    {
        Some(Some(false)) => Glyphs::Ascii,
        Some(Some(true)) => Glyphs::Utf8,
        _ if locale_ascii => Glyphs::Ascii,
        _ => Glyphs::Utf8,
    };
    let colors = match var("SYSTEMD_COLORS").as_deref() {
        Some("16") => ColorMode::Ansi16,
        Some("256") => ColorMode::Ansi256,
        Some("24bit") => ColorMode::Ansi24Bit,
        Some(v) if crate::config::size::parse_bool(v) == Some(false) => ColorMode::Off,
        Some(v) if crate::config::size::parse_bool(v) == Some(true) => deep_colors(&var),
        _ if tty && var("NO_COLOR").is_none() && var("TERM").as_deref() != Some("dumb") => {
            deep_colors(&var)
        }
        _ => ColorMode::Off,
    };
    let debug = var("SYSTEMD_LOG_LEVEL").is_some_and(|l| l == "debug" || l == "7");
    Style {
        glyphs,
        colors,
        columns,
        fit_to_columns: tty,
        legend,
        debug,
    }
}

fn deep_colors(var: &dyn Fn(&str) -> Option<String>) -> ColorMode {
    match var("COLORTERM").as_deref() {
        Some("truecolor" | "24bit") => ColorMode::Ansi24Bit,
        _ => ColorMode::Ansi256,
    }
}
