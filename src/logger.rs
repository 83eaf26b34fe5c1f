//! Our `log` backend: where log lines go and how they look, as systemd tools do it.
//!
//! Targets:
//! * **kmsg** (in the initrd, or when stderr is unusable): one record per `write()` to
//!   `/dev/kmsg`, `<P>ident[pid]: text`, where `P` is the syslog priority with systemd's
//!   facility, daemon (3): `<27>` error, `<28>` warning, `<29>` notice, `<30>` info, `<31>`
//!   debug. (A facility of 0 would be relabelled "user" by the kernel.) Each line of a
//!   message is its own record, and records are cut at [`MAX_KMSG_RECORD`] bytes (older
//!   kernels reject longer writes), the rest following in further records. The kernel
//!   rate-limits each open `/dev/kmsg` file (`printk.devkmsg=ratelimit`, its default,
//!   allows bursts of 10 records per 5 s and drops the rest), and one run logs more than
//!   10 lines, the last ones (the outcome) included. So every record opens `/dev/kmsg`
//!   anew, as dracut's shell logging does ([`KmsgFile`]).
//! * **journal stream** (stderr is the stream `$JOURNAL_STREAM` names, as under systemd):
//!   `<N>text` per line on stderr, `N` the bare level 0–7, which journald turns into the
//!   priority.
//! * **console** (a terminal or anything else): plain `text` lines on stderr.
//!
//! `$SYSTEMD_LOG_TARGET` forces one: `console`, `console-prefixed` and `journal` (the
//! `<N>` stderr form; we do not speak journald's native protocol), `kmsg`, `null`, or
//! `auto`/`journal-or-kmsg`/`syslog-or-kmsg` (the automatic choice).
//!
//! `$SYSTEMD_LOG_LEVEL` takes what systemd 262 takes (measured): the names `emerg alert
//! crit err warning notice info debug` (lower case only) or `0`–`7`, optionally a comma
//! list with `TARGET:LEVEL` items that further restrict one target (`err,console:info`
//! still shows errors only). Anything else is ignored with a warning. The default is info.
//!
//! `log` has no notice level: log at info with `target: "notice"` ([`NOTICE_TARGET`]) to
//! get priority 5, which systemd uses for, e.g., "Refusing to repartition, please re-run
//! with --dry-run=no.". Trace logs as debug.

use std::io::Write;
use std::sync::Mutex;

use crate::error::{Error, ErrorKind, Result};

/// The `log` target that marks an info record as a notice (syslog priority 5).
pub const NOTICE_TARGET: &str = "notice";
/// The largest `/dev/kmsg` record written, newline included (the kernel's limit was 992
/// bytes of text before 5.10, 1024 after).
pub const MAX_KMSG_RECORD: usize = 992;
/// The environment variable that sets the level.
pub const LEVEL_ENV: &str = "SYSTEMD_LOG_LEVEL";
/// The environment variable that forces a target.
pub const TARGET_ENV: &str = "SYSTEMD_LOG_TARGET";

const LOG_DAEMON: u8 = 3 << 3;
const DEFAULT_LEVEL: u8 = 6;
const LEVEL_NAMES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

/// Where log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Plain lines on stderr.
    Console,
    /// `<N>`-prefixed lines on stderr (a journal stream, or `console-prefixed`).
    Prefixed,
    /// Records on `/dev/kmsg`.
    Kmsg,
    /// Nowhere.
    Null,
}

impl Target {
    /// The name used in `$SYSTEMD_LOG_LEVEL`'s `TARGET:LEVEL` items.
    fn level_name(self) -> &'static str {
        match self {
            Target::Console => "console",
            Target::Prefixed => "journal",
            Target::Kmsg => "kmsg",
            Target::Null => "null",
        }
    }
}

/// What the logger needs to know about stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stderr {
    /// `fstat(2)` failed: there is no usable stderr.
    Unusable,
    /// stderr is open, with this device and inode number.
    Open {
        /// `st_dev`.
        dev: u64,
        /// `st_ino`.
        ino: u64,
    },
}

/// The chosen target and level, plus warnings about ignored settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where lines go.
    pub target: Target,
    /// The highest syslog level written (0 emerg … 7 debug).
    pub max_level: u8,
    /// Problems with the environment, to log once the logger is running.
    pub warnings: Vec<String>,
}

impl Config {
    /// Chooses target and level from the environment and the facts about stderr.
    pub fn choose(env: &dyn Fn(&str) -> Option<String>, in_initrd: bool, stderr: Stderr) -> Config {
        let mut warnings = Vec::new();
        let journal = match (stderr, env("JOURNAL_STREAM")) {
            (Stderr::Open { dev, ino }, Some(stream)) => parse_dev_ino(&stream) == Some((dev, ino)),
            _ => false,
        };
        let auto = if journal {
            Target::Prefixed
        } else if in_initrd || stderr == Stderr::Unusable {
            Target::Kmsg
        } else {
            Target::Console
        };
        let target = match env(TARGET_ENV).as_deref() {
            None | Some("auto" | "journal-or-kmsg" | "syslog-or-kmsg") => auto,
            Some("console") => Target::Console,
            Some("console-prefixed" | "journal") => Target::Prefixed,
            Some("kmsg") => Target::Kmsg,
            Some("null") => Target::Null,
            Some(other) => {
                warnings.push(format!("Failed to parse log target '{other}', ignoring."));
                auto
            }
        };
        let max_level = match env(LEVEL_ENV) {
            None => DEFAULT_LEVEL,
            Some(spec) => parse_level_spec(&spec, target).unwrap_or_else(|| {
                warnings.push(format!("Failed to parse log level '{spec}', ignoring."));
                DEFAULT_LEVEL
            }),
        };
        Config {
            target,
            max_level,
            warnings,
        }
    }
}

/// Parses `$SYSTEMD_LOG_LEVEL` for `target`: the effective level, or `None` if invalid.
fn parse_level_spec(spec: &str, target: Target) -> Option<u8> {
    if spec.is_empty() {
        return Some(DEFAULT_LEVEL);
    }
    let mut general = DEFAULT_LEVEL;
    let mut for_target = None;
    for item in spec.split(',') {
        match item.split_once(':') {
            Some((name, level)) => {
                let level = parse_level(level)?;
                if name == target.level_name() {
                    for_target = Some(level);
                }
            }
            None => general = parse_level(item)?,
        }
    }
    Some(for_target.map_or(general, |t| t.min(general)))
}

/// A syslog level by name or number.
fn parse_level(s: &str) -> Option<u8> {
    if let Some(n) = LEVEL_NAMES.iter().position(|name| *name == s) {
        return u8::try_from(n).ok();
    }
    s.parse::<u8>().ok().filter(|n| *n <= 7)
}

fn parse_dev_ino(s: &str) -> Option<(u64, u64)> {
    let (dev, ino) = s.split_once(':')?;
    Some((dev.parse().ok()?, ino.parse().ok()?))
}

/// The syslog level of a record.
fn syslog_level(record: &log::Metadata<'_>) -> u8 {
    match record.level() {
        log::Level::Error => 3,
        log::Level::Warn => 4,
        log::Level::Info if record.target() == NOTICE_TARGET => 5,
        log::Level::Info => 6,
        log::Level::Debug | log::Level::Trace => 7,
    }
}

/// Formats `message` for `target`, calling `emit` once per write the target needs: once
/// for the stderr forms, once per record for kmsg.
fn format_message(
    target: Target,
    level: u8,
    ident: &str,
    pid: u32,
    message: &str,
    emit: &mut dyn FnMut(&[u8]),
) {
    let mut lines: Vec<&str> = message.lines().collect();
    if lines.is_empty() {
        lines.push("");
    }
    match target {
        Target::Null => {}
        Target::Console | Target::Prefixed => {
            let mut out = Vec::with_capacity(message.len() + 4 * lines.len());
            for line in lines {
                if target == Target::Prefixed {
                    out.extend_from_slice(format!("<{level}>").as_bytes());
                }
                out.extend_from_slice(line.as_bytes());
                out.push(b'\n');
            }
            emit(&out);
        }
        Target::Kmsg => {
            let prefix = format!("<{}>{ident}[{pid}]: ", LOG_DAEMON | level);
            // Room for text in one record; at least one character always fits.
            let room = MAX_KMSG_RECORD.saturating_sub(prefix.len() + 1).max(4);
            for line in lines {
                let mut rest = line;
                loop {
                    let (chunk, tail) = split_at_char(rest, room);
                    let mut record = Vec::with_capacity(prefix.len() + chunk.len() + 1);
                    record.extend_from_slice(prefix.as_bytes());
                    record.extend_from_slice(chunk.as_bytes());
                    record.push(b'\n');
                    emit(&record);
                    if tail.is_empty() {
                        break;
                    }
                    rest = tail;
                }
            }
        }
    }
}

/// Splits `s` after at most `max` bytes (at least one character), on a char boundary.
fn split_at_char(s: &str, max: usize) -> (&str, &str) {
    if s.len() <= max {
        return (s, "");
    }
    let mut cut = max;
    while cut > 0 && !s.is_char_boundary(cut) {
        cut -= 1;
    }
    if cut == 0 {
        cut = s.chars().next().map_or(s.len(), char::len_utf8);
    }
    s.split_at(cut)
}

/// A `log` backend writing to one sink in one of the [`Target`] forms.
pub struct Logger {
    target: Target,
    max_level: u8,
    ident: String,
    pid: u32,
    sink: Mutex<Box<dyn Write + Send>>,
}

impl Logger {
    /// A logger for `config` that writes to `sink` (stderr or `/dev/kmsg` in real use),
    /// naming itself `ident` in kmsg records.
    pub fn new(config: &Config, ident: impl Into<String>, sink: Box<dyn Write + Send>) -> Logger {
        Logger {
            target: config.target,
            max_level: config.max_level,
            ident: ident.into(),
            pid: std::process::id(),
            sink: Mutex::new(sink),
        }
    }

    /// The `log` crate's coarse filter matching the syslog level.
    fn level_filter(&self) -> log::LevelFilter {
        match self.max_level {
            0..=2 => log::LevelFilter::Off,
            3 => log::LevelFilter::Error,
            4 => log::LevelFilter::Warn,
            5 | 6 => log::LevelFilter::Info,
            _ => log::LevelFilter::Trace,
        }
    }
}

impl log::Log for Logger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        self.target != Target::Null && syslog_level(metadata) <= self.max_level
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let message = record.args().to_string();
        let level = syslog_level(record.metadata());
        let mut sink = self
            .sink
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let kmsg = self.target == Target::Kmsg;
        // Logging has nowhere to report its own failures.
        format_message(
            self.target,
            level,
            &self.ident,
            self.pid,
            message.as_str(),
            &mut |bytes| {
                if kmsg {
                    let _ = sink.write(bytes);
                } else {
                    let _ = sink.write_all(bytes);
                }
            },
        );
    }

    fn flush(&self) {
        let mut sink = self
            .sink
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let _ = sink.flush();
    }
}

/// A `/dev/kmsg`-like file opened anew for every record: the kernel keeps its rate limit per
/// open file, so a run's dozen or so lines are not cut off after the tenth.
pub struct KmsgFile {
    path: std::path::PathBuf,
}

impl KmsgFile {
    /// Checks that `path` opens for writing.
    pub fn open(path: impl Into<std::path::PathBuf>) -> std::io::Result<KmsgFile> {
        let path = path.into();
        Self::open_for_record(&path)?;
        Ok(KmsgFile { path })
    }

    fn open_for_record(path: &std::path::Path) -> std::io::Result<std::fs::File> {
        std::fs::OpenOptions::new().append(true).open(path)
    }
}

impl Write for KmsgFile {
    fn write(&mut self, record: &[u8]) -> std::io::Result<usize> {
        Self::open_for_record(&self.path)?.write(record)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the logger for this process: the target and level from the environment and
/// `in_initrd`, `/dev/kmsg` opened if chosen (falling back to the console if it cannot be
/// opened for writing), and the program name from `argv[0]`. Warnings about ignored
/// settings are logged once it runs. Fails only if a logger is already installed.
pub fn init(in_initrd: bool) -> Result<()> {
    let stderr = match rustix::fs::fstat(rustix::stdio::stderr()) {
        Ok(stat) => Stderr::Open {
            dev: stat.st_dev,
            ino: stat.st_ino,
        },
        Err(_) => Stderr::Unusable,
    };
    let mut config = Config::choose(&|name| std::env::var(name).ok(), in_initrd, stderr);
    let sink: Box<dyn Write + Send> = if config.target == Target::Kmsg {
        match KmsgFile::open("/dev/kmsg") {
            Ok(kmsg) => Box::new(kmsg),
            Err(_) => {
                config.target = Target::Console;
                Box::new(std::io::stderr())
            }
        }
    } else {
        Box::new(std::io::stderr())
    };
    let ident = std::env::args_os()
        .next()
        .and_then(|arg0| {
            std::path::Path::new(&arg0)
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "repart".to_owned());
    let logger = Logger::new(&config, ident, sink);
    let filter = logger.level_filter();
    log::set_boxed_logger(Box::new(logger))
        .map_err(|e| Error::new(ErrorKind::Usage, format!("installing the logger: {e}")))?;
    log::set_max_level(filter);
    for warning in &config.warnings {
        log::warn!("{warning}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use log::Log;
    use std::sync::Arc;

    /// A sink that keeps every `write()` as its own record.
    #[derive(Clone, Default)]
    struct Recorder(Arc<Mutex<Vec<Vec<u8>>>>);

    impl Write for Recorder {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().push(buf.to_vec());
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Recorder {
        fn records(&self) -> Vec<String> {
            self.0
                .lock()
                .unwrap()
                .iter()
                .map(|r| String::from_utf8(r.clone()).unwrap())
                .collect()
        }
    }

    fn config(target: Target, max_level: u8) -> Config {
        Config {
            target,
            max_level,
            warnings: vec![],
        }
    }

    fn log_all(logger: &Logger) {
        let emit = |level, target, text: &str| {
            logger.log(
                &log::Record::builder()
                    .level(level)
                    .target(target)
                    .args(format_args!("{text}"))
                    .build(),
            )
        };
        emit(log::Level::Error, "x", "bad");
        emit(log::Level::Warn, "x", "careful");
        emit(log::Level::Info, NOTICE_TARGET, "notice this");
        emit(log::Level::Info, "x", "two\nlines");
        emit(log::Level::Debug, "x", "details");
        emit(log::Level::Trace, "x", "more details");
    }

    fn run(target: Target, max_level: u8) -> Vec<String> {
        let sink = Recorder::default();
        let logger = Logger::new(&config(target, max_level), "repart", Box::new(sink.clone()));
        log_all(&logger);
        sink.records()
    }

    #[test]
    fn console_is_plain_lines_one_write_per_message() {
        assert_eq!(
            run(Target::Console, 6),
            ["bad\n", "careful\n", "notice this\n", "two\nlines\n"]
        );
    }

    #[test]
    fn journal_stream_prefixes_every_line() {
        assert_eq!(
            run(Target::Prefixed, 7),
            [
                "<3>bad\n",
                "<4>careful\n",
                "<5>notice this\n",
                "<6>two\n<6>lines\n",
                "<7>details\n",
                "<7>more details\n"
            ]
        );
    }

    #[test]
    fn kmsg_writes_one_record_per_line_with_daemon_facility() {
        let pid = std::process::id();
        let want: Vec<String> = [
            "<27>repart[P]: bad\n",
            "<28>repart[P]: careful\n",
            "<29>repart[P]: notice this\n",
            "<30>repart[P]: two\n",
            "<30>repart[P]: lines\n",
        ]
        .iter()
        .map(|r| r.replace('P', &pid.to_string()))
        .collect();
        assert_eq!(run(Target::Kmsg, 6), want);
    }

    #[test]
    fn levels_filter_including_notice() {
        assert_eq!(
            run(Target::Console, 5),
            ["bad\n", "careful\n", "notice this\n"]
        );
        assert_eq!(run(Target::Console, 3), ["bad\n"]);
        assert!(run(Target::Console, 2).is_empty());
        assert!(run(Target::Null, 7).is_empty());
    }

    #[test]
    fn kmsg_file_opens_the_file_for_every_record() {
        let dir = std::env::temp_dir().join(format!("repart-kmsg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("kmsg");
        std::fs::write(&path, "").unwrap();
        let mut kmsg = KmsgFile::open(&path).unwrap();
        assert_eq!(kmsg.write(b"<30>one\n").unwrap(), 8);
        // A fresh open per record: a file replaced between records gets the next one.
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, "").unwrap();
        kmsg.write_all(b"<30>two\n").unwrap();
        kmsg.write_all(b"<30>three\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"<30>two\n<30>three\n");
        std::fs::remove_file(&path).unwrap();
        assert!(kmsg.write(b"<30>gone\n").is_err());
        assert!(KmsgFile::open(dir.join("missing")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn long_kmsg_lines_are_cut_into_bounded_records() {
        let mut records = Vec::new();
        let text = "é".repeat(1500);
        format_message(Target::Kmsg, 6, "repart", 1, &text, &mut |r| {
            records.push(r.to_vec())
        });
        assert!(records.len() >= 4);
        let mut joined = String::new();
        for r in &records {
            assert!(r.len() <= MAX_KMSG_RECORD, "{}", r.len());
            let r = std::str::from_utf8(r).expect("cut on char boundaries");
            let body = r
                .strip_prefix("<30>repart[1]: ")
                .unwrap()
                .strip_suffix('\n')
                .unwrap();
            joined.push_str(body);
        }
        assert_eq!(joined, text);
        let mut empty = Vec::new();
        format_message(Target::Kmsg, 3, "r", 1, "", &mut |r| empty.push(r.to_vec()));
        assert_eq!(empty, [b"<27>r[1]: \n".to_vec()]);
        // A huge ident still leaves room for progress.
        let mut count = 0;
        format_message(
            Target::Kmsg,
            3,
            &"i".repeat(2000),
            1,
            "abcdefgh",
            &mut |_| count += 1,
        );
        assert_eq!(count, 2);
    }

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    const TTY: Stderr = Stderr::Open { dev: 5, ino: 7 };

    #[test]
    fn chooses_the_target_automatically() {
        let none = env_of(&[]);
        assert_eq!(Config::choose(&none, false, TTY).target, Target::Console);
        assert_eq!(Config::choose(&none, true, TTY).target, Target::Kmsg);
        assert_eq!(
            Config::choose(&none, false, Stderr::Unusable).target,
            Target::Kmsg
        );
        let journal = env_of(&[("JOURNAL_STREAM", "5:7")]);
        assert_eq!(Config::choose(&journal, true, TTY).target, Target::Prefixed);
        let stale = env_of(&[("JOURNAL_STREAM", "5:8")]);
        assert_eq!(Config::choose(&stale, false, TTY).target, Target::Console);
        let garbage = env_of(&[("JOURNAL_STREAM", "x")]);
        assert_eq!(Config::choose(&garbage, false, TTY).target, Target::Console);
        assert_eq!(
            Config::choose(&journal, false, Stderr::Unusable).target,
            Target::Kmsg
        );
    }

    #[test]
    fn target_can_be_forced() {
        for (name, want) in [
            ("console", Target::Console),
            ("console-prefixed", Target::Prefixed),
            ("journal", Target::Prefixed),
            ("kmsg", Target::Kmsg),
            ("null", Target::Null),
            ("auto", Target::Kmsg),
            ("journal-or-kmsg", Target::Kmsg),
        ] {
            let env = move |n: &str| (n == TARGET_ENV).then(|| name.to_owned());
            let c = Config::choose(&env, true, TTY);
            assert_eq!(c.target, want, "{name}");
            assert!(c.warnings.is_empty());
        }
        let c = Config::choose(&env_of(&[(TARGET_ENV, "bogus")]), false, TTY);
        assert_eq!(c.target, Target::Console);
        assert_eq!(
            c.warnings,
            ["Failed to parse log target 'bogus', ignoring."]
        );
    }

    #[test]
    fn levels_as_systemd_262_accepts_them() {
        let level = |spec: &'static str, target: &'static str| {
            let env = move |n: &str| (n == LEVEL_ENV).then(|| spec.to_owned());
            let forced = move |n: &str| match n {
                TARGET_ENV => Some(target.to_owned()),
                _ => env(n),
            };
            let c = Config::choose(&forced, false, TTY);
            (c.max_level, c.warnings.len())
        };
        assert_eq!(level("debug", "console"), (7, 0));
        assert_eq!(level("7", "console"), (7, 0));
        assert_eq!(level("notice", "console"), (5, 0));
        assert_eq!(level("err", "console"), (3, 0));
        assert_eq!(level("emerg", "console"), (0, 0));
        assert_eq!(level("", "console"), (6, 0));
        for bad in ["error", "warn", "ERR", "8", "-1", "info,", "x:y"] {
            assert_eq!(level(bad, "console"), (6, 1), "{bad}");
        }
        assert_eq!(level("console:err", "console"), (3, 0));
        assert_eq!(level("err,console:info", "console"), (3, 0));
        assert_eq!(level("console:err,info", "console"), (3, 0));
        assert_eq!(level("kmsg:err,info", "console"), (6, 0));
        assert_eq!(level("kmsg:err,info", "kmsg"), (3, 0));
        assert_eq!(level("journal:debug,debug", "journal"), (7, 0));
        let c = Config::choose(&env_of(&[(LEVEL_ENV, "error")]), false, TTY);
        assert_eq!(c.warnings, ["Failed to parse log level 'error', ignoring."]);
    }

    #[test]
    fn coarse_filter_lets_the_precise_one_decide() {
        let sink = || Box::new(Recorder::default());
        let filter =
            |level| Logger::new(&config(Target::Console, level), "r", sink()).level_filter();
        assert_eq!(filter(2), log::LevelFilter::Off);
        assert_eq!(filter(3), log::LevelFilter::Error);
        assert_eq!(filter(4), log::LevelFilter::Warn);
        assert_eq!(filter(5), log::LevelFilter::Info);
        assert_eq!(filter(6), log::LevelFilter::Info);
        assert_eq!(filter(7), log::LevelFilter::Trace);
    }
}
