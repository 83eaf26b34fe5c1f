//! The kernel command line, split and looked up the way systemd does.
//!
//! Measured on systemd-repart 262 (with `SYSTEMD_PROC_CMDLINE`):
//! * words are separated by space, tab, newline or carriage return;
//! * single and double quotes group text into one word and are removed; an unbalanced
//!   quote runs to the end of the line (`a"b systemd.factory_reset=1` is one word);
//! * a backslash is an ordinary character: it is kept and escapes nothing, so
//!   `foo=\"x systemd.factory_reset=1\"` is one word and `x\ y` is two;
//! * keys compare with `-` and `_` equal, and otherwise exactly (case matters, `.` is not
//!   `-`); a key alone means true; only the last occurrence counts, so an invalid value
//!   earlier on is harmless and an invalid last value is an error;
//! * outside the initrd, words starting with `rd.` are dropped; inside they are kept as
//!   they are unless the lookup asks for the `rd.` prefix to be stripped.
//!
//! Not done: systemd reads PID 1's argv instead of `/proc/cmdline` inside a container;
//! repart-rs is not meant to run in one.

use std::ops::Range;
use std::path::PathBuf;

use uuid::Uuid;

use super::{System, parse_bool, read_bounded};
use crate::error::{Error, ErrorKind, Result};
use crate::id128;

/// The environment variable that replaces `/proc/cmdline` (a systemd test override).
pub const CMDLINE_ENV: &str = "SYSTEMD_PROC_CMDLINE";
/// Where the kernel command line is read from.
pub const PROC_CMDLINE: &str = "/proc/cmdline";
/// The longest command line accepted; the kernel's own limit is at most a few KiB.
pub const MAX_CMDLINE_BYTES: usize = 64 * 1024;

/// A split kernel command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cmdline {
    /// The words with their quotes removed, one after the other.
    text: String,
    /// Where each word is in `text`.
    words: Vec<Range<usize>>,
    in_initrd: bool,
}

/// What `root=` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootSpec {
    /// `root=PARTUUID=<uuid>`: a GPT partition UUID.
    PartUuid(Uuid),
    /// `root=PARTLABEL=<label>`: a GPT partition name.
    PartLabel(String),
    /// `root=UUID=<id>`: a file system UUID (not always 128 bits: vfat has 8 hex digits).
    FsUuid(String),
    /// `root=LABEL=<label>`: a file system label.
    FsLabel(String),
    /// `root=/dev/...` or any other absolute path.
    Device(PathBuf),
    /// Anything else (`gpt-auto`, `tmpfs`, MBR `PARTUUID=SSSSSSSS-PP`, `PARTNROFF=`, ...).
    Other(String),
}

impl RootSpec {
    /// Classifies a non-empty `root=` value.
    pub fn parse(value: &str) -> RootSpec {
        if let Some(uuid) = value.strip_prefix("PARTUUID=") {
            return id128::parse(uuid)
                .map_or_else(|| RootSpec::Other(value.to_owned()), RootSpec::PartUuid);
        }
        if let Some(label) = value.strip_prefix("PARTLABEL=") {
            return RootSpec::PartLabel(label.to_owned());
        }
        if let Some(uuid) = value.strip_prefix("UUID=") {
            return RootSpec::FsUuid(uuid.to_owned());
        }
        if let Some(label) = value.strip_prefix("LABEL=") {
            return RootSpec::FsLabel(label.to_owned());
        }
        if value.starts_with('/') {
            return RootSpec::Device(PathBuf::from(value));
        }
        RootSpec::Other(value.to_owned())
    }
}

impl Cmdline {
    /// Splits `text`; `in_initrd` decides what happens to `rd.` words.
    pub fn parse(text: &str, in_initrd: bool) -> Cmdline {
        let (text, words) = split_words(text);
        Cmdline {
            text,
            words,
            in_initrd,
        }
    }

    /// The words that count: all of them in the initrd, all but `rd.*` outside.
    pub fn words(&self) -> impl Iterator<Item = &str> {
        self.words
            .iter()
            .filter_map(|range| self.text.get(range.clone()))
            .filter(|w| self.in_initrd || !w.starts_with("rd."))
    }

    /// The last occurrence of `key`: `Some(None)` for the key alone, `Some(Some(value))`
    /// for `key=value`. With `strip_rd`, `rd.key` counts as `key` too (in the initrd only,
    /// since `rd.` words are dropped outside it).
    pub fn value(&self, key: &str, strip_rd: bool) -> Option<Option<&str>> {
        self.words()
            .filter_map(|word| {
                let word = match word.strip_prefix("rd.") {
                    Some(rest) if strip_rd => rest,
                    _ => word,
                };
                let (name, value) = match word.split_once('=') {
                    Some((name, value)) => (name, Some(value)),
                    None => (word, None),
                };
                keys_equal(name, key).then_some(value)
            })
            .last()
    }

    /// The last occurrence of `key` as a boolean: the key alone is true; a value that is
    /// not a boolean is an error.
    pub fn bool(&self, key: &str, strip_rd: bool) -> Result<Option<bool>> {
        match self.value(key, strip_rd) {
            None => Ok(None),
            Some(None) => Ok(Some(true)),
            Some(Some(value)) => parse_bool(value).map(Some).ok_or_else(|| {
                Error::new(
                    ErrorKind::Config,
                    format!("kernel command line: {key}={value}: not a boolean"),
                )
            }),
        }
    }

    /// The last `root=`, classified; `None` if absent, empty or given without a value.
    pub fn root(&self) -> Option<RootSpec> {
        match self.value("root", false) {
            Some(Some(value)) if !value.is_empty() => Some(RootSpec::parse(value)),
            _ => None,
        }
    }
}

/// Reads the command line from `$SYSTEMD_PROC_CMDLINE`, else `/proc/cmdline`. Bytes that
/// are not UTF-8 are replaced (the keys looked up are ASCII).
pub fn read(sys: &System, in_initrd: bool) -> Result<Cmdline> {
    if let Some(text) = sys.var(CMDLINE_ENV) {
        if text.len() > MAX_CMDLINE_BYTES {
            return Err(Error::new(
                ErrorKind::Config,
                format!("${CMDLINE_ENV}: longer than {MAX_CMDLINE_BYTES} bytes"),
            ));
        }
        return Ok(Cmdline::parse(&text, in_initrd));
    }
    let path = sys.path(PROC_CMDLINE);
    read_bounded(&path, MAX_CMDLINE_BYTES, |bytes| {
        Cmdline::parse(&String::from_utf8_lossy(bytes), in_initrd)
    })?
    .ok_or_else(|| {
        Error::io(
            format!("reading {}", path.display()),
            std::io::Error::from(std::io::ErrorKind::NotFound),
        )
    })
}

/// Compares command-line keys with `-` and `_` equal.
fn keys_equal(a: &str, b: &str) -> bool {
    let fold = |c: u8| if c == b'-' { b'_' } else { c };
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| fold(x) == fold(y))
}

/// Splits on whitespace; quotes group and are removed; backslashes are ordinary. The words
/// are returned one after the other in one string, with where each one is (two allocations
/// for the whole line, not one per word).
fn split_words(text: &str) -> (String, Vec<Range<usize>>) {
    let mut joined = String::with_capacity(text.len());
    // Quotes only join blank-separated pieces: there are no more words than pieces.
    let mut words = Vec::with_capacity(text.split_ascii_whitespace().count());
    let mut word_start = None;
    let mut quote = None;
    for c in text.chars() {
        if quote.is_none() && matches!(c, ' ' | '\t' | '\n' | '\r') {
            if let Some(start) = word_start.take() {
                words.push(start..joined.len());
            }
            continue;
        }
        word_start.get_or_insert(joined.len());
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => joined.push(c),
            None if matches!(c, '"' | '\'') => quote = Some(c),
            None => joined.push(c),
        }
    }
    if let Some(start) = word_start {
        words.push(start..joined.len());
    }
    (joined, words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::test_dir::TestDir;

    fn words(text: &str) -> Vec<String> {
        let (joined, ranges) = split_words(text);
        ranges.into_iter().map(|r| joined[r].to_owned()).collect()
    }

    #[test]
    fn splits_like_systemd() {
        assert_eq!(words(" a\tb\n c\r"), ["a", "b", "c"]);
        assert_eq!(words(r#"foo="bar baz" x"#), ["foo=bar baz", "x"]);
        assert_eq!(words(r#"foo='a "b"' y"#), [r#"foo=a "b""#, "y"]);
        // Backslashes are kept and escape nothing.
        assert_eq!(words(r#"foo=\"x y\" z"#), [r#"foo=\x y\"#, "z"]);
        assert_eq!(words(r"x\ y"), [r"x\", "y"]);
        // Unbalanced quotes run to the end.
        assert_eq!(words(r#"a"b c d"#), ["ab c d"]);
        assert_eq!(words(r#"a"b" c"#), ["ab", "c"]);
        assert_eq!(words(r#"'' x"#), ["", "x"]);
        assert!(words("   ").is_empty());
    }

    #[test]
    fn last_occurrence_wins_and_only_it_is_parsed() {
        let key = "systemd.factory_reset";
        let get = |text: &str| Cmdline::parse(text, true).bool(key, false);
        assert_eq!(get("systemd.factory_reset").unwrap(), Some(true));
        assert_eq!(get("systemd.factory_reset=YES").unwrap(), Some(true));
        assert_eq!(
            get("systemd.factory_reset=1 systemd.factory_reset=0").unwrap(),
            Some(false)
        );
        assert_eq!(
            get("systemd.factory_reset=0 systemd.factory_reset").unwrap(),
            Some(true)
        );
        assert_eq!(
            get("systemd.factory_reset=bogus systemd.factory_reset=1").unwrap(),
            Some(true)
        );
        assert_eq!(get(r#"systemd.factory_reset="1""#).unwrap(), Some(true));
        assert_eq!(get(r#""systemd.factory_reset=1""#).unwrap(), Some(true));
        assert_eq!(get("quiet").unwrap(), None);
        for bad in [
            "systemd.factory_reset=1 systemd.factory_reset=bogus",
            "systemd.factory_reset=",
            r"systemd.factory_reset=1\",
            "systemd.factory_reset='1'x",
        ] {
            let e = get(bad).unwrap_err();
            assert_eq!(e.kind().exit_code(), 1);
            assert!(e.to_string().contains("not a boolean"), "{e}");
        }
    }

    #[test]
    fn keys_match_with_dash_and_underscore_equal_only() {
        let get = |text: &str| {
            Cmdline::parse(text, true)
                .bool("systemd.factory_reset", false)
                .unwrap()
        };
        assert_eq!(get("systemd.factory-reset=1"), Some(true));
        assert_eq!(get("Systemd.factory_reset=1"), None);
        assert_eq!(get("systemd-factory_reset=1"), None);
        assert_eq!(get("systemd.factory_reset_x=1"), None);
        assert_eq!(get(r#"foo="x systemd.factory_reset=1""#), None);
        assert_eq!(get(r#"a"b systemd.factory_reset=1"#), None);
    }

    #[test]
    fn rd_words_depend_on_the_initrd() {
        let text = "rd.systemd.factory_reset=1 rd.x=2";
        let host = Cmdline::parse(text, false);
        let initrd = Cmdline::parse(text, true);
        assert_eq!(host.words().count(), 0);
        assert_eq!(initrd.words().count(), 2);
        // Without stripping, `rd.key` never matches `key`, in or out of the initrd.
        assert_eq!(initrd.bool("systemd.factory_reset", false).unwrap(), None);
        assert_eq!(initrd.value("x", true), Some(Some("2")));
        assert_eq!(host.value("x", true), None);
        let both = Cmdline::parse("rd.x=1 x=2 rd.x=3", true);
        assert_eq!(both.value("x", true), Some(Some("3")));
        assert_eq!(both.value("x", false), Some(Some("2")));
    }

    #[test]
    fn root_is_classified() {
        let root = |text: &str| Cmdline::parse(text, false).root();
        assert_eq!(
            root("root=PARTUUID=E2F1A58F-2C2A-4A4B-9F3E-7C1C0DE5A5A1"),
            Some(RootSpec::PartUuid(Uuid::from_u128(
                0xe2f1a58f2c2a4a4b9f3e7c1c0de5a5a1
            )))
        );
        assert_eq!(
            root("root=PARTUUID=1234abcd-02"),
            Some(RootSpec::Other("PARTUUID=1234abcd-02".into()))
        );
        assert_eq!(
            root(r#"root="PARTLABEL=my root""#),
            Some(RootSpec::PartLabel("my root".into()))
        );
        assert_eq!(
            root("root=UUID=ABCD-1234"),
            Some(RootSpec::FsUuid("ABCD-1234".into()))
        );
        assert_eq!(root("root=LABEL=r"), Some(RootSpec::FsLabel("r".into())));
        assert_eq!(
            root("root=/dev/vda2"),
            Some(RootSpec::Device("/dev/vda2".into()))
        );
        assert_eq!(
            root("root=gpt-auto"),
            Some(RootSpec::Other("gpt-auto".into()))
        );
        assert_eq!(
            root("root=/dev/a root=/dev/b"),
            Some(RootSpec::Device("/dev/b".into()))
        );
        assert_eq!(root("root=/dev/a root="), None);
        assert_eq!(root("root"), None);
        assert_eq!(root("rootflags=x"), None);
    }

    #[test]
    fn reads_env_override_before_proc() {
        let dir = TestDir::new("cmdline");
        dir.write("/proc/cmdline", b"quiet root=/dev/vda2 x=\xff\n");
        let from_proc = read(&System::new(dir.path(), |_| None), false).unwrap();
        assert_eq!(from_proc.root(), Some(RootSpec::Device("/dev/vda2".into())));
        assert_eq!(from_proc.value("x", false), Some(Some("\u{fffd}")));

        let env = System::new(dir.path(), |n| (n == CMDLINE_ENV).then(|| "a=1".to_owned()));
        let from_env = read(&env, false).unwrap();
        assert_eq!(from_env.value("a", false), Some(Some("1")));
        assert_eq!(from_env.root(), None);

        let huge = System::new(dir.path(), |_| Some("x".repeat(MAX_CMDLINE_BYTES + 1)));
        assert!(read(&huge, false).is_err());
        let missing = TestDir::new("cmdline-missing");
        assert!(read(&System::new(missing.path(), |_| None), false).is_err());
    }
}
