//! os-release(5): `<root>/etc/os-release`, else `<root>/usr/lib/os-release`.
//!
//! The format is shell-like `KEY=value` lines. Values may be double-quoted (where `\"`,
//! `\\`, `` \` `` and `\$` are escapes and other backslashes stay), single-quoted
//! (literal) or bare (a backslash escapes the next character); quoted and bare pieces
//! concatenate, a backslash before a newline continues the line, and trailing blanks of a
//! bare value are dropped. Lines starting with `#` or `;` are comments. Lines without `=`
//! or with an invalid key are ignored, as are values that are not UTF-8. The last
//! assignment of a key wins.

use std::path::{Path, PathBuf};

use super::read_bounded;
use crate::error::Result;

/// The largest os-release file accepted.
pub const MAX_OS_RELEASE_BYTES: usize = 64 * 1024;

/// The fields of an os-release file, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OsRelease {
    fields: Vec<(String, String)>,
}

impl OsRelease {
    /// Parses an os-release file's bytes.
    pub fn parse(bytes: &[u8]) -> OsRelease {
        let mut fields: Vec<(String, String)> = Vec::new();
        let mut lexer = Lexer { bytes, pos: 0 };
        while let Some((key, value)) = lexer.next_assignment() {
            let (Ok(key), Ok(value)) = (String::from_utf8(key), String::from_utf8(value)) else {
                continue;
            };
            fields.retain(|(k, _)| *k != key);
            fields.push((key, value));
        }
        OsRelease { fields }
    }

    /// The value of `key`, if assigned.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `ID=`.
    pub fn id(&self) -> Option<&str> {
        self.get("ID")
    }

    /// `VERSION_ID=`.
    pub fn version_id(&self) -> Option<&str> {
        self.get("VERSION_ID")
    }

    /// `IMAGE_ID=`.
    pub fn image_id(&self) -> Option<&str> {
        self.get("IMAGE_ID")
    }

    /// `IMAGE_VERSION=`.
    pub fn image_version(&self) -> Option<&str> {
        self.get("IMAGE_VERSION")
    }
}

/// Reads the os-release of the tree at `root`; `None` if it has neither file.
///
/// An absolute symlink at `etc/os-release` is followed inside `root`, not on the host.
pub fn read(root: &Path) -> Result<Option<OsRelease>> {
    for relative in ["etc/os-release", "usr/lib/os-release"] {
        let path = resolve_in_root(root, &root.join(relative));
        if let Some(os) = read_bounded(&path, MAX_OS_RELEASE_BYTES, OsRelease::parse)? {
            return Ok(Some(os));
        }
    }
    Ok(None)
}

/// Follows one absolute symlink at `path` relative to `root`.
fn resolve_in_root(root: &Path, path: &Path) -> PathBuf {
    match std::fs::read_link(path) {
        Ok(target) if target.is_absolute() => {
            root.join(target.strip_prefix("/").unwrap_or(&target))
        }
        _ => path.to_path_buf(),
    }
}

struct Lexer<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_line(&mut self) {
        while let Some(b) = self.peek() {
            self.pos += 1;
            if b == b'\n' {
                break;
            }
        }
    }

    /// The next valid `KEY=value`, skipping comments, blank and invalid lines.
    fn next_assignment(&mut self) -> Option<(Vec<u8>, Vec<u8>)> {
        loop {
            while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
                self.pos += 1;
            }
            let first = self.peek()?;
            if first == b'#' || first == b';' {
                self.skip_line();
                continue;
            }
            let start = self.pos;
            while matches!(self.peek(), Some(b) if b != b'=' && b != b'\n') {
                self.pos += 1;
            }
            if self.peek() != Some(b'=') {
                continue; // no '=' on this line
            }
            let key = self
                .bytes
                .get(start..self.pos)
                .unwrap_or_default()
                .trim_ascii();
            self.pos += 1;
            let value = self.value();
            if valid_key(key) {
                return Some((key.to_vec(), value));
            }
        }
    }

    /// Reads a value up to the end of its (possibly continued) line.
    fn value(&mut self) -> Vec<u8> {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
        let mut out = Vec::new();
        // Blanks of a bare value are held back until something follows them.
        let mut blanks = Vec::new();
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                b'\n' => break,
                b' ' | b'\t' | b'\r' => blanks.push(b),
                _ => {
                    out.append(&mut blanks);
                    match b {
                        b'"' => self.double_quoted(&mut out),
                        b'\'' => self.single_quoted(&mut out),
                        b'\\' => match self.peek() {
                            None => {}
                            Some(b'\n') => self.pos += 1,
                            Some(next) => {
                                self.pos += 1;
                                out.push(next);
                            }
                        },
                        _ => out.push(b),
                    }
                }
            }
        }
        out
    }

    fn double_quoted(&mut self, out: &mut Vec<u8>) {
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                b'"' => return,
                b'\\' => match self.peek() {
                    Some(c @ (b'"' | b'\\' | b'`' | b'$')) => {
                        self.pos += 1;
                        out.push(c);
                    }
                    Some(b'\n') => self.pos += 1,
                    _ => out.push(b'\\'),
                },
                _ => out.push(b),
            }
        }
    }

    fn single_quoted(&mut self, out: &mut Vec<u8>) {
        while let Some(b) = self.peek() {
            self.pos += 1;
            if b == b'\'' {
                return;
            }
            out.push(b);
        }
    }
}

/// An environment variable name: `[A-Za-z_][A-Za-z0-9_]*`.
fn valid_key(key: &[u8]) -> bool {
    match key.split_first() {
        Some((first, rest)) => {
            (first.is_ascii_alphabetic() || *first == b'_')
                && rest.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::test_dir::TestDir;

    #[test]
    fn parses_the_shell_like_syntax() {
        let text = br#"# comment
PRETTY_NAME="Debian GNU/Linux forky/sid"
ID=debian
  ; also a comment
VERSION_ID='13'
IMAGE_ID=my\ image
QUOTED="a \"b\" \\ \$x \`y\` \n"
MIXED="a"'b'c
BARE=value with spaces   
EMPTY=
 SPACED = x
CONT="one\
two"
MULTI="line1
line2"
BAD-KEY=1
1BAD=2
noequals
ID=override
"#;
        let mut text = text.to_vec();
        text.extend_from_slice(b"LATIN=caf\xe9\n");
        let os = OsRelease::parse(&text);
        assert_eq!(os.get("PRETTY_NAME"), Some("Debian GNU/Linux forky/sid"));
        assert_eq!(os.id(), Some("override"));
        assert_eq!(os.version_id(), Some("13"));
        assert_eq!(os.image_id(), Some("my image"));
        assert_eq!(os.get("QUOTED"), Some(r#"a "b" \ $x `y` \n"#));
        assert_eq!(os.get("MIXED"), Some("abc"));
        assert_eq!(os.get("BARE"), Some("value with spaces"));
        assert_eq!(os.get("EMPTY"), Some(""));
        assert_eq!(os.get("SPACED"), Some("x"));
        assert_eq!(os.get("CONT"), Some("onetwo"));
        assert_eq!(os.get("MULTI"), Some("line1\nline2"));
        assert_eq!(os.get("BAD-KEY"), None);
        assert_eq!(os.get("1BAD"), None);
        assert_eq!(os.get("noequals"), None);
        assert_eq!(os.get("LATIN"), None, "not UTF-8");
        assert_eq!(os.image_version(), None);
    }

    #[test]
    fn never_panics_on_truncation() {
        let text = b"A=\"x\\\ny' B='q\\";
        for end in 0..=text.len() {
            let _ = OsRelease::parse(&text[..end]);
        }
        assert_eq!(
            OsRelease::parse(b"A=\"unterminated").get("A"),
            Some("unterminated")
        );
        assert_eq!(OsRelease::parse(b"A=x\\").get("A"), Some("x"));
    }

    #[test]
    fn reads_etc_then_usr_lib_inside_the_root() {
        let root = TestDir::new("os-release");
        assert_eq!(read(root.path()).unwrap(), None);
        root.write("usr/lib/os-release", "ID=usr\n");
        assert_eq!(read(root.path()).unwrap().unwrap().id(), Some("usr"));
        // An absolute symlink resolves inside the root, not on the host.
        std::fs::create_dir_all(root.path().join("etc")).unwrap();
        std::os::unix::fs::symlink("/usr/lib/os-release", root.path().join("etc/os-release"))
            .unwrap();
        assert_eq!(read(root.path()).unwrap().unwrap().id(), Some("usr"));
        std::fs::remove_file(root.path().join("etc/os-release")).unwrap();
        root.write("etc/os-release", "ID=etc\n");
        assert_eq!(read(root.path()).unwrap().unwrap().id(), Some("etc"));
    }
}
