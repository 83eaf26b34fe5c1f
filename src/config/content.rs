//! Value syntaxes of the content keys: paths, word lists, colon-separated fields, TPM2 PCR
//! lists. Only their syntax is checked here; what the values mean is not our business until
//! repart-rs can write such content.

use super::size::{WHITESPACE, parse_u32};

/// systemd's `PATH_MAX`, the longest path a key may expand to.
pub(super) const PATH_MAX: usize = 4096;

/// systemd's `filename_is_valid()`: not empty, not `.` or `..`, no `/`, at most 255 bytes.
pub(super) fn filename_is_valid(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains('/') && s.len() <= 255
}

/// What is wrong with a path value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PathProblem {
    NotAbsolute,
    NotNormalized,
}

impl PathProblem {
    pub(super) fn describe(self) -> &'static str {
        match self {
            PathProblem::NotAbsolute => "path is not absolute",
            PathProblem::NotNormalized => "path contains \".\" or \"..\" components",
        }
    }
}

/// Checks an absolute path as systemd's `path_simplify_and_warn(…, PATH_CHECK_ABSOLUTE)`
/// does and returns it simplified (repeated and trailing slashes removed).
pub(super) fn absolute_path(path: &str) -> Result<String, PathProblem> {
    if !path.starts_with('/') || path.len() > PATH_MAX {
        return Err(PathProblem::NotAbsolute);
    }
    let components: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    if components.iter().any(|c| *c == "." || *c == "..") {
        return Err(PathProblem::NotNormalized);
    }
    Ok(format!("/{}", components.join("/")))
}

/// A quoting or escaping error in a list value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SyntaxError;

/// Splits a value into whitespace-separated words, removing quotes (`'…'`, `"…"`) and
/// backslash escapes, like systemd's `extract_first_word(…, EXTRACT_UNQUOTE)`.
pub(super) fn words(value: &str) -> Result<Vec<String>, SyntaxError> {
    let mut out = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches(is_blank);
        if rest.is_empty() {
            return Ok(out);
        }
        let (word, after) = one_word(rest, is_blank, true)?;
        out.push(word);
        rest = after;
    }
}

/// Splits a value at every `separator` (empty fields kept), optionally removing quotes;
/// backslash escapes are always removed.
pub(super) fn fields(
    value: &str,
    separator: char,
    unquote: bool,
) -> Result<Vec<String>, SyntaxError> {
    let mut out = Vec::new();
    let mut rest = value;
    loop {
        let (field, after) = one_word(rest, |c| c == separator, unquote)?;
        out.push(field);
        match after.strip_prefix(separator) {
            Some(next) => rest = next,
            None => return Ok(out),
        }
    }
}

fn is_blank(c: char) -> bool {
    c.is_ascii() && WHITESPACE.contains(&(c as u8))
}

/// Reads one word up to (not including) a separator; returns it and the rest.
fn one_word(
    s: &str,
    is_separator: impl Fn(char) -> bool,
    unquote: bool,
) -> Result<(String, &str), SyntaxError> {
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            (_, '\\') => word.push(chars.next().ok_or(SyntaxError)?.1),
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') if unquote => quote = Some(c),
            (None, c) if is_separator(c) => return Ok((word, &s[i..])),
            (None, c) => word.push(c),
        }
    }
    if quote.is_some() {
        return Err(SyntaxError);
    }
    Ok((word, ""))
}

/// The PCR names systemd accepts in PCR lists, with their index.
const PCR_NAMES: [(&str, u32); 17] = [
    ("platform-code", 0),
    ("platform-config", 1),
    ("external-code", 2),
    ("external-config", 3),
    ("boot-loader-code", 4),
    ("boot-loader-config", 5),
    ("host-platform", 6),
    ("secure-boot-policy", 7),
    ("kernel-initrd", 9),
    ("ima", 10),
    ("kernel-boot", 11),
    ("kernel-config", 12),
    ("sysexts", 13),
    ("shim-policy", 14),
    ("system-identity", 15),
    ("debug", 16),
    ("application-support", 23),
];

/// PCR banks and their digest sizes in bytes.
const PCR_BANKS: [(&str, usize); 4] =
    [("sha1", 20), ("sha256", 32), ("sha384", 48), ("sha512", 64)];

/// The accepted forms of a PCR list, for messages.
pub(super) const PCR_FORMS: &str = "PCR[:BANK[=HEX]] items separated by '+' or ',', where PCR is \
     0…23 or a name such as secure-boot-policy, and BANK is sha1, sha256, sha384 or sha512";

/// One PCR of a `TPM2PCRs=` list: its index and, if given, its bank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Pcr {
    index: u32,
    bank: Option<&'static str>,
}

/// Parses a `TPM2PCRs=` value (systemd's PCR list syntax) and appends it to `list`, as v262
/// does across assignments. A PCR listed twice is an error unless both name different
/// banks (measured: `7` with `7:sha256` is refused, `7:sha256` with `7:sha1` is not).
pub(super) fn add_pcrs(list: &mut Vec<Pcr>, value: &str) -> Result<(), String> {
    for item in value.split(['+', ',']).filter(|i| !i.is_empty()) {
        let (name, bank) = match item.split_once(':') {
            Some((name, bank)) => (name, Some(bank)),
            None => (item, None),
        };
        let known = PCR_NAMES.iter().find(|(n, _)| *n == name).map(|(_, i)| *i);
        let index = match known.or_else(|| parse_u32(name).ok()) {
            Some(index) if index <= 23 => index,
            _ => return Err(format!("\"{name}\" is not a PCR")),
        };
        let pcr = Pcr {
            index,
            bank: bank.map(pcr_bank).transpose()?.flatten(),
        };
        let clash = |p: &&Pcr| {
            p.index == pcr.index && (p.bank.is_none() || pcr.bank.is_none() || p.bank == pcr.bank)
        };
        if list.iter().any(|p| clash(&p)) {
            return Err(format!("PCR {index} is listed twice"));
        }
        list.push(pcr);
    }
    Ok(())
}

/// The `BANK[=HEX]` part of a PCR item: the bank's name, or `None` when empty.
fn pcr_bank(spec: &str) -> Result<Option<&'static str>, String> {
    let (bank, digest) = match spec.split_once('=') {
        Some((bank, digest)) => (bank, Some(digest)),
        None => (spec, None),
    };
    if bank.is_empty() && digest.is_none() {
        return Ok(None);
    }
    let Some((name, size)) = PCR_BANKS.iter().find(|(n, _)| n.eq_ignore_ascii_case(bank)) else {
        return Err(format!("\"{bank}\" is not a PCR bank"));
    };
    let digest = digest.unwrap_or("");
    if digest.len() % 2 != 0 || !digest.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!("\"{digest}\" is not an even number of hex digits"));
    }
    if !digest.is_empty() && digest.len() != size * 2 {
        return Err(format!(
            "a {bank} digest has {size} bytes, not {}",
            digest.len() / 2
        ));
    }
    Ok(Some(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_as_v262_checks_them() {
        assert_eq!(absolute_path("//a//b/").as_deref(), Ok("/a/b"));
        assert_eq!(absolute_path("/").as_deref(), Ok("/"));
        assert_eq!(absolute_path("rel"), Err(PathProblem::NotAbsolute));
        assert_eq!(absolute_path(""), Err(PathProblem::NotAbsolute));
        assert_eq!(absolute_path("/a/../b"), Err(PathProblem::NotNormalized));
        assert_eq!(absolute_path("/a/./b"), Err(PathProblem::NotNormalized));
        assert_eq!(absolute_path("/a/.."), Err(PathProblem::NotNormalized));
        assert!(absolute_path("/a/.b/..c").is_ok());
    }

    #[test]
    fn filenames() {
        assert!(filename_is_valid("ext4") && filename_is_valid("a b") && filename_is_valid("-x"));
        assert!(filename_is_valid(&"a".repeat(255)));
        for bad in ["", ".", "..", "a/b", &"a".repeat(256)] {
            assert!(!filename_is_valid(bad), "{bad}");
        }
    }

    #[test]
    fn word_and_field_splitting() {
        assert_eq!(words("\"/a b\" /c").unwrap(), ["/a b", "/c"]);
        assert_eq!(words("  /a\\ b\t'/c d'x  ").unwrap(), ["/a b", "/c dx"]);
        assert_eq!(words("").unwrap(), Vec::<String>::new());
        assert_eq!(words("\"/a b"), Err(SyntaxError));
        assert_eq!(words("/a\\"), Err(SyntaxError));
        assert_eq!(fields("/a::", ':', false).unwrap(), ["/a", "", ""]);
        assert_eq!(fields("\"/a b\"", ':', false).unwrap(), ["\"/a b\""]);
        assert_eq!(
            fields("\"/p:c\":\"z:1\"", ':', true).unwrap(),
            ["/p:c", "z:1"]
        );
        assert_eq!(fields("", ':', true).unwrap(), [""]);
    }

    /// Measured on v262: these `TPM2PCRs=` values are accepted or fatal.
    #[test]
    fn pcr_lists_measured_on_v262() {
        let zeros = |n: usize| "0".repeat(n);
        for ok in [
            "7".to_owned(),
            "7+11".into(),
            "7,11".into(),
            "7:sha256+7:sha1".into(),
            "0".into(),
            "23".into(),
            "+7".into(),
            "7+".into(),
            "7++11".into(),
            "7,,11".into(),
            ",".into(),
            "+".into(),
            "0x7".into(),
            "07".into(),
            "secure-boot-policy".into(),
            "application-support".into(),
            "application-support:".into(),
            "7:".into(),
            "7:sha256".into(),
            "7:sha256=".into(),
            "7:sha512".into(),
            format!("7:sha1={}", zeros(40)),
            format!("7:SHA256={}", zeros(64)),
            format!("secure-boot-policy:sha256={}", zeros(64)),
        ] {
            assert_eq!(add_pcrs(&mut Vec::new(), &ok), Ok(()), "{ok}");
        }
        for name in PCR_NAMES.iter().map(|(n, _)| n) {
            assert_eq!(add_pcrs(&mut Vec::new(), name), Ok(()), "{name}");
        }
        for bad in [
            "bad".to_owned(),
            "24".into(),
            "99".into(),
            "-1".into(),
            "7 11".into(),
            "Secure-Boot-Policy".into(),
            "7=00".into(),
            format!("7={}", zeros(64)),
            "7:foo=00".into(),
            "7:md5".into(),
            "7:sm3_256".into(),
            "7:sha1=00".into(),
            "7:sha384=00".into(),
            "7:sha256=0".into(),
            "7:sha256=00:11".into(),
            format!("7:sha256={}G", zeros(63)),
            ":sha256".into(),
        ] {
            assert!(add_pcrs(&mut Vec::new(), &bad).is_err(), "{bad}");
        }
        // Assignments accumulate; a PCR may repeat only with different banks.
        let mut list = Vec::new();
        assert_eq!(add_pcrs(&mut list, "7+11"), Ok(()));
        assert_eq!(
            add_pcrs(&mut list, "7"),
            Err("PCR 7 is listed twice".to_owned())
        );
        for twice in [
            "7+7",
            "7,secure-boot-policy",
            "7+7:sha256",
            "7:+7",
            "7:SHA256+7:sha256",
        ] {
            assert!(add_pcrs(&mut Vec::new(), twice).is_err(), "{twice}");
        }
        assert_eq!(add_pcrs(&mut Vec::new(), "7:sha256+7:sha1"), Ok(()));
    }
}
