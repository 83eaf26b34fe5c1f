//! systemd's unit-file syntax, as systemd-repart 262 reads repart.d files.
//!
//! Measured on v262 (see the tests): lines end at `\n`, `\r` or NUL, where one `\n` and one
//! `\r` in either order, optionally followed by a NUL, form a single line end. A UTF-8 BOM
//! at the start is skipped. Comment lines (first non-blank character `#` or `;`) are dropped
//! before continuation lines are joined, so a comment inside a continued value is skipped. A
//! line ending in an odd number of backslashes continues on the next line, the last
//! backslash becoming a space. Every other line must be UTF-8 without non-characters, or the
//! whole file fails. Messages name the last physical line of a continued line.

use super::Diagnostic;
use super::size::WHITESPACE;
use crate::error::{Error, ErrorKind, Result};

/// The longest physical line v262 accepts: a line of 1 MiB is "Line too long".
const LINE_MAX: usize = (1 << 20) - 1;

/// The longest joined continuation line v262 accepts.
const CONTINUATION_MAX: usize = 1 << 20;

/// One `key=value` line of the wanted section, both sides stripped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub key: String,
    pub value: String,
    /// 1-based; for a continued line, the line of its last part.
    pub line: usize,
}

/// Where the parser is: before any section, in the wanted one, or in one to skip.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    None,
    Wanted,
    Skipped,
}

/// Parses `bytes` (the file shown as `file` in messages) and returns the assignments found
/// in sections named `section` (all of them, in order). Warnings go to `diagnostics`.
pub fn parse(
    bytes: &[u8],
    file: &str,
    section: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<Vec<Assignment>> {
    let mut parser = Parser {
        file,
        wanted: section,
        section: Section::None,
        continuation: None,
        assignments: Vec::new(),
        diagnostics,
    };
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut pos = 0;
    let mut line = 0;
    while pos < bytes.len() {
        let content_len = bytes[pos..]
            .iter()
            .position(|c| matches!(c, b'\n' | b'\r' | b'\0'))
            .unwrap_or(bytes.len() - pos);
        line += 1;
        // v262 names the line before the long one here; we name the long one.
        if content_len > LINE_MAX {
            return Err(parser.error(line, format!("line too long (more than {LINE_MAX} bytes)")));
        }
        let content = &bytes[pos..pos + content_len];
        pos += content_len;
        pos += line_end_len(&bytes[pos..]);
        parser.physical_line(content, line)?;
    }
    if let Some(joined) = parser.continuation.take() {
        parser.logical_line(&joined, line)?;
    }
    Ok(parser.assignments)
}

/// How many bytes at the start of `rest` form one line end: each of `\n` and `\r` at most
/// once, in any order, and a NUL ends it.
fn line_end_len(rest: &[u8]) -> usize {
    let mut seen_lf = false;
    let mut seen_cr = false;
    for (i, c) in rest.iter().enumerate() {
        match c {
            b'\n' if !seen_lf => seen_lf = true,
            b'\r' if !seen_cr => seen_cr = true,
            b'\0' => return i + 1,
            _ => return i,
        }
    }
    rest.len()
}

struct Parser<'a> {
    file: &'a str,
    wanted: &'a str,
    section: Section,
    /// The joined text of a continued line so far (its backslash already a space).
    continuation: Option<Vec<u8>>,
    assignments: Vec<Assignment>,
    diagnostics: &'a mut Vec<Diagnostic>,
}

impl Parser<'_> {
    fn error(&self, line: usize, message: String) -> Error {
        Error::new(
            ErrorKind::Config,
            format!("{}:{line}: {message}", self.file),
        )
    }

    fn warn(&mut self, line: usize, message: String) {
        self.diagnostics
            .push(Diagnostic::warn(format!("{}:{line}: {message}", self.file)));
    }

    fn physical_line(&mut self, content: &[u8], line: usize) -> Result<()> {
        if matches!(strip(content).first(), Some(b'#' | b';')) {
            return Ok(());
        }
        let trailing_backslashes = content.iter().rev().take_while(|c| **c == b'\\').count();
        let continues = trailing_backslashes % 2 == 1;
        let joined = match self.continuation.take() {
            Some(mut joined) => {
                if joined.len() + content.len() > CONTINUATION_MAX {
                    return Err(self.error(
                        line,
                        format!("continued line too long (more than {CONTINUATION_MAX} bytes)"),
                    ));
                }
                joined.extend_from_slice(content);
                joined
            }
            None => content.to_vec(),
        };
        if continues {
            let mut joined = joined;
            if let Some(last) = joined.last_mut() {
                *last = b' ';
            }
            self.continuation = Some(joined);
            return Ok(());
        }
        self.logical_line(&joined, line)
    }

    fn logical_line(&mut self, raw: &[u8], line: usize) -> Result<()> {
        let Some(text) = systemd_utf8(raw) else {
            return Err(self.error(
                line,
                "not valid UTF-8 (systemd also refuses U+FDD0..U+FDEF and U+xFFFE/U+xFFFF)"
                    .to_owned(),
            ));
        };
        let text = strip_str(text);
        if text.is_empty() {
            return Ok(());
        }
        if text.starts_with('[') {
            return self.section_header(text, line);
        }
        match self.section {
            Section::None => {
                self.warn(
                    line,
                    "assignment outside of any section, ignoring".to_owned(),
                );
                return Ok(());
            }
            Section::Skipped => return Ok(()),
            Section::Wanted => {}
        }
        let Some((key, value)) = text.split_once('=') else {
            self.warn(line, format!("missing '=' in \"{text}\", ignoring line"));
            return Ok(());
        };
        let key = strip_str(key);
        if key.is_empty() {
            self.warn(
                line,
                format!("missing key name before '=' in \"{text}\", ignoring line"),
            );
            return Ok(());
        }
        self.assignments.push(Assignment {
            key: key.to_owned(),
            value: strip_str(value).to_owned(),
            line,
        });
        Ok(())
    }

    fn section_header(&mut self, text: &str, line: usize) -> Result<()> {
        let Some(name) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) else {
            return Err(self.error(
                line,
                format!("invalid section header \"{text}\" (accepted: [NAME])"),
            ));
        };
        let unsafe_char = |c: char| c.is_ascii_control() || matches!(c, '"' | '\'' | '\\' | '[');
        if name.is_empty() || name.contains(unsafe_char) {
            return Err(self.error(
                line,
                format!(
                    "invalid section header \"{text}\" (a section name must not be empty nor \
                     contain control characters, quotes, backslashes or '[')"
                ),
            ));
        }
        self.section = if name == self.wanted {
            Section::Wanted
        } else {
            if !name.starts_with("X-") {
                self.warn(line, format!("unknown section [{name}], ignoring it"));
            }
            Section::Skipped
        };
        Ok(())
    }
}

/// Strips systemd's `WHITESPACE` from both ends.
fn strip(s: &[u8]) -> &[u8] {
    let start = s.iter().take_while(|c| WHITESPACE.contains(c)).count();
    let s = &s[start..];
    let end = s.len()
        - s.iter()
            .rev()
            .take_while(|c| WHITESPACE.contains(c))
            .count();
    &s[..end]
}

fn strip_str(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_ascii() && WHITESPACE.contains(&(c as u8)))
}

/// `raw` as text if systemd's `utf8_is_valid()` accepts it: UTF-8 without the
/// non-characters U+FDD0..U+FDEF and U+xFFFE/U+xFFFF (measured on v262: both are refused).
fn systemd_utf8(raw: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(raw).ok()?;
    let noncharacter = |c: char| {
        let c = u32::from(c);
        (0xFDD0..=0xFDEF).contains(&c) || c & 0xFFFE == 0xFFFE
    };
    (!text.contains(noncharacter)).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &[u8]) -> (Result<Vec<Assignment>>, Vec<String>) {
        let mut diags = Vec::new();
        let result = parse(input, "f.conf", "Partition", &mut diags);
        (result, diags.into_iter().map(|d| d.message).collect())
    }

    fn pairs(input: &[u8]) -> Vec<(String, String, usize)> {
        run(input)
            .0
            .unwrap()
            .into_iter()
            .map(|a| (a.key, a.value, a.line))
            .collect()
    }

    fn one(key: &str, value: &str, line: usize) -> Vec<(String, String, usize)> {
        vec![(key.to_owned(), value.to_owned(), line)]
    }

    #[test]
    fn continuation_skips_comments_and_names_the_last_line() {
        assert_eq!(
            pairs(b"[Partition]\nLabel=foo\\\n# c\nbar\n"),
            one("Label", "foo bar", 4)
        );
        assert_eq!(
            pairs(b"[Partition]\nLabel=foo\\\n   ; c\nbar\n"),
            one("Label", "foo bar", 4)
        );
        // An empty line ends the continuation; the trailing space is stripped.
        assert_eq!(
            pairs(b"[Partition]\nLabel=foo\\\n\nx=1\n"),
            vec![
                ("Label".into(), "foo".into(), 3),
                ("x".into(), "1".into(), 4)
            ]
        );
        assert_eq!(
            pairs(b"[Partition]\nWeight=x\\\ny\n"),
            one("Weight", "x y", 3)
        );
        assert_eq!(
            pairs(b"[Partition]\nLabel=a\\\n  b  \n"),
            one("Label", "a   b", 3)
        );
        assert_eq!(
            pairs(b"[Partition]\nLabel=a\\\n\\\nb\n"),
            one("Label", "a  b", 4)
        );
        // Even backslash counts do not continue; odd ones do.
        assert_eq!(
            pairs(b"[Partition]\nLabel=foo\\\\\n"),
            one("Label", "foo\\\\", 2)
        );
        assert_eq!(
            pairs(b"[Partition]\nLabel=foo\\\\\\\nbar\n"),
            one("Label", "foo\\\\ bar", 3)
        );
        // A backslash followed by a blank is not a continuation.
        assert_eq!(pairs(b"[Partition]\nLabel=a\\ \n").len(), 1);
        // A continuation pending at the end of the file is used.
        assert_eq!(pairs(b"[Partition]\nLabel=a\\"), one("Label", "a", 2));
        assert_eq!(pairs(b"[Partition]\nLabel=a\\\n"), one("Label", "a", 2));
        // A continued line may even become a section header.
        assert_eq!(pairs(b"\\\n[Partition]\nA=1\n"), one("A", "1", 3));
        assert_eq!(
            pairs(b"[Partition]\nLabel=a\\\n[Partition]\n"),
            one("Label", "a [Partition]", 3)
        );
    }

    #[test]
    fn line_ends_as_measured() {
        assert_eq!(pairs(b"[Partition]\r\nA=1\r\nW=x\r\n")[1].2, 3);
        assert_eq!(pairs(b"[Partition]\rA=1\rW=x\r")[1].2, 3);
        assert_eq!(pairs(b"[Partition]\n\rA=1\nW=x\n")[1].2, 3);
        assert_eq!(pairs(b"[Partition]\nA=1\0\nW=x\n")[1].2, 4);
        assert_eq!(pairs(b"[Partition]\nA=1\n\0W=x\n")[1].2, 3);
        assert_eq!(pairs(b"[Partition]\nA=1\r\n\0W=x\n")[1].2, 3);
        assert_eq!(pairs(b"[Partition]\nA=1\r\n\rW=x\n")[1].2, 4);
        assert_eq!(pairs(b"[Partition]\nA=1\r\rW=x\n")[1].2, 4);
        assert_eq!(pairs(b"[Partition]\nA=1\0\0W=x\n")[1].2, 4);
        // A carriage return or NUL inside a value ends the line there.
        let (result, warnings) = run(b"[Partition]\nLabel=a\rb\n");
        assert_eq!(result.unwrap()[0].value, "a");
        assert_eq!(warnings, ["f.conf:3: missing '=' in \"b\", ignoring line"]);
        assert_eq!(
            pairs(b"[Partition]\nLabel=a\\\r\nb\n"),
            one("Label", "a b", 3)
        );
    }

    #[test]
    fn bom_blanks_and_splitting() {
        let (result, warnings) = run(b"\xef\xbb\xbfFoo=bar\n[Partition]\n  Weight = 5  \n");
        assert_eq!(
            warnings,
            ["f.conf:1: assignment outside of any section, ignoring"]
        );
        assert_eq!(result.unwrap()[0].value, "5");
        assert_eq!(
            pairs(b"[Partition]\nLabel=a=b=c\n"),
            one("Label", "a=b=c", 2)
        );
        assert_eq!(
            pairs(b"[Partition]\nType =home # x\n"),
            one("Type", "home # x", 2)
        );
        assert_eq!(
            pairs(b"[Partition]\nLabel=\"a b\"\n"),
            one("Label", "\"a b\"", 2)
        );
        // Only space, tab, CR and LF are blanks: \v and \f stay.
        assert_eq!(
            pairs(b"[Partition]\nLabel= \x0ba\x0c \n"),
            one("Label", "\x0ba\x0c", 2)
        );
        let (_, warnings) = run(b"[Partition]\n\x0b#x\n");
        assert_eq!(warnings.len(), 1);
        // A BOM anywhere else is an ordinary character.
        assert_eq!(
            pairs(b"[Partition]\nL=a\xef\xbb\xbf\n"),
            one("L", "a\u{feff}", 2)
        );
        assert!(pairs(b"").is_empty());
        assert!(pairs(b"\n\n").is_empty());
    }

    #[test]
    fn sections_as_measured() {
        let (result, warnings) = run(
            b"[Other]\nfoo\n=x\nA=1\n[X-a]\nbar\n[Partition]\nB=2\n[Other]\nC=3\n[Partition]\nD=4\n",
        );
        assert_eq!(
            warnings,
            [
                "f.conf:1: unknown section [Other], ignoring it",
                "f.conf:9: unknown section [Other], ignoring it"
            ]
        );
        let keys: Vec<_> = result.unwrap().into_iter().map(|a| a.key).collect();
        assert_eq!(keys, ["B", "D"]);
        // Lower-case x- is not the extension prefix; names are not stripped.
        let (_, warnings) = run(b"[x-foo]\n[ Partition ]\n[Partition]]\n[a b]\n[a/b]\n[a]b]\n");
        assert_eq!(warnings.len(), 6);
        for bad in [
            &b"[Partition"[..],
            b"[Partition]x",
            b"[",
            b"[]",
            b"[a\tb]",
            b"[a'b]",
            b"[a\"b]",
            b"[a\\b]",
            b"[a\x01b]",
            b"[a[b]",
            b"[a\x7fb]",
            b"[a\x1fb]",
            b"[[]",
            b"[[Partition]",
        ] {
            let (result, _) = run(bad);
            let e = result.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config);
            assert!(
                e.to_string()
                    .starts_with("f.conf:1: invalid section header"),
                "{e}"
            );
        }
    }

    #[test]
    fn missing_equals_and_keys() {
        let (result, warnings) = run(b"[Partition]\nNoEq\n=val\n = x\nX-Foo=1\n");
        assert_eq!(
            warnings,
            [
                "f.conf:2: missing '=' in \"NoEq\", ignoring line",
                "f.conf:3: missing key name before '=' in \"=val\", ignoring line",
                "f.conf:4: missing key name before '=' in \"= x\", ignoring line",
            ]
        );
        assert_eq!(
            result.unwrap(),
            [Assignment {
                key: "X-Foo".into(),
                value: "1".into(),
                line: 5
            }]
        );
        let (_, warnings) = run(b"]\nA=1\n");
        assert_eq!(warnings.len(), 2);
    }

    #[test]
    fn utf8_is_checked_on_every_line_but_comments() {
        assert!(run(b"[Partition]\n#\xff\n").0.is_ok());
        for bad in [
            &b"[Partition]\nWeight=\xff\n"[..],
            b"[Partition]\nX-Foo=\xff\n",
            b"[Other]\nA=\xff\n",
            b"[Other]\n\xff\n",
            b"[\xff]\n",
            b"\xff\n",
            b"[Partition]\n\xff=1\n",
            b"[Partition]\nL=a\xef\xbf\xbe\n",
            b"[Partition]\nL=a\xef\xbf\xbf\n",
            b"[Partition]\nL=a\xef\xb7\x90\n",
            b"[Partition]\nL=a\xef\xb7\xaf\n",
            b"[Partition]\nL=a\xf0\x9f\xbf\xbe\n",
            b"[Partition]\nL=a\xc0\x80\n",
            b"[Partition]\nL=a\xed\xa0\x80\n",
            b"[Partition]\nL=a\xf4\x90\x80\x80\n",
            b"[Partition]\nL=a\xe0\x80\x80\n",
        ] {
            let e = run(bad).0.unwrap_err();
            assert!(e.to_string().contains("not valid UTF-8"), "{bad:?}: {e}");
        }
        assert!(
            run(b"[Partition]\nL=a\xef\xb7\xb0\xf4\x8f\xbf\xbd\x01\n")
                .0
                .is_ok()
        );
    }

    #[test]
    fn line_length_limits_as_measured() {
        let mut ok = b"[Partition]\nLabel=".to_vec();
        ok.extend(std::iter::repeat_n(b'a', LINE_MAX - 6));
        ok.extend_from_slice(b"\r\n");
        assert!(run(&ok).0.is_ok());
        let mut long = b"[Partition]\n#".to_vec();
        long.extend(std::iter::repeat_n(b'a', LINE_MAX));
        let e = run(&long).0.unwrap_err();
        assert!(e.to_string().starts_with("f.conf:2: line too long"), "{e}");

        let joined = |total: usize| {
            let mut v = b"[Partition]\nLabel=".to_vec();
            v.extend(std::iter::repeat_n(b'a', 600_000 - 7));
            v.extend_from_slice(b"\\\n");
            v.extend(std::iter::repeat_n(b'b', total - 600_000));
            v.push(b'\n');
            v
        };
        assert!(run(&joined(CONTINUATION_MAX)).0.is_ok());
        let e = run(&joined(CONTINUATION_MAX + 1)).0.unwrap_err();
        assert!(
            e.to_string()
                .starts_with("f.conf:3: continued line too long"),
            "{e}"
        );
    }
}
