//! repart.d: finding the files, parsing them, and the typed definitions they yield.
//!
//! [`load`] is the whole job: search the directories ([`files`]), parse each definition with
//! its drop-ins ([`parse_definition`]: [`ini`] syntax, then every `[Partition]` key), apply
//! v262's defaults and per-definition checks, then the checks across definitions (verity
//! siblings, `SupplementFor=`). Warnings are logged through the `log` crate and name
//! `file:line`; fatal problems are [`ErrorKind::Config`] errors that do too.

mod checks;
mod content;
pub mod definition;
pub mod files;
pub mod ini;
mod parse;
pub mod size;
pub mod specifier;
pub mod types;

use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};
use definition::Definition;
pub use parse::{ParseContext, Source, parse_definition};
use specifier::SpecifierContext;
use types::Arch;

/// A message about a definition that does not stop the run, with the level to log it at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub level: log::Level,
    /// The full message, starting with `file:line: ` where there is one.
    pub message: String,
}

impl Diagnostic {
    pub(crate) fn warn(message: String) -> Diagnostic {
        Diagnostic {
            level: log::Level::Warn,
            message,
        }
    }

    pub(crate) fn info(message: String) -> Diagnostic {
        Diagnostic {
            level: log::Level::Info,
            message,
        }
    }

    pub(crate) fn debug(message: String) -> Diagnostic {
        Diagnostic {
            level: log::Level::Debug,
            message,
        }
    }
}

/// What [`load`] needs from the command line and the host.
#[derive(Clone, Copy)]
pub struct LoadOptions<'a> {
    /// `--root=`: the standard directories are searched below it (`None` or `/`: the host).
    pub root: Option<&'a Path>,
    /// `--definitions=` in command-line order; when not empty, it replaces the standard
    /// directories, and is not prefixed with the root.
    pub definitions: &'a [PathBuf],
    /// `--architecture=`: per-architecture types are remapped to it.
    pub architecture: Option<Arch>,
    /// Gathers the values of `%` specifiers (os-release, boot ID, host name, ...). Called at
    /// most once, and only when a definition or drop-in holds a `%`: most runs use none.
    pub specifiers: &'a dyn Fn() -> Result<SpecifierContext>,
}

/// The most bytes read from one definition or drop-in file. v262 has no such limit, only
/// 1 MiB per line; real files are a few hundred bytes.
pub const MAX_FILE_SIZE: u64 = 2 << 20;

/// Finds, reads and parses every definition, in definition order.
pub fn load(opts: &LoadOptions) -> Result<Vec<Definition>> {
    let mut diagnostics = Vec::new();
    let found = files::find(opts.root, opts.definitions, &mut diagnostics);
    emit(&mut diagnostics);
    let found = found?;
    let unused = SpecifierContext::default();
    let mut specifiers = None;
    let mut definitions = Vec::with_capacity(found.len());
    for definition in &found {
        let main = read_limited(&definition.main.read_path)?;
        let dropin_bytes = definition
            .dropins
            .iter()
            .map(|d| read_limited(&d.read_path))
            .collect::<Result<Vec<_>>>()?;
        // Without a `%`, nothing can be expanded: the values are never looked at.
        let has_percent = |bytes: &[u8]| bytes.contains(&b'%');
        if specifiers.is_none()
            && (has_percent(&main) || dropin_bytes.iter().any(|b| has_percent(b)))
        {
            specifiers = Some((opts.specifiers)()?);
        }
        let ctx = ParseContext {
            specifiers: specifiers.as_ref().unwrap_or(&unused),
            architecture: opts.architecture,
        };
        let dropins: Vec<Source> = definition
            .dropins
            .iter()
            .zip(&dropin_bytes)
            .map(|(d, bytes)| Source {
                path: &d.path,
                display: &d.display,
                bytes,
            })
            .collect();
        let main = Source {
            path: &definition.main.path,
            display: &definition.main.display,
            bytes: &main,
        };
        let parsed = parse::parse_with_lines(&main, &dropins, &ctx, &mut diagnostics);
        emit(&mut diagnostics);
        definitions.push(parsed?);
    }
    checks::check_all(&definitions)?;
    Ok(definitions.into_iter().map(|(d, _)| d).collect())
}

/// Reads a whole file, refusing more than [`MAX_FILE_SIZE`] bytes.
fn read_limited(path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(Error::new(
            ErrorKind::Config,
            format!(
                "{}: larger than {MAX_FILE_SIZE} bytes, refusing to read it",
                path.display()
            ),
        ));
    }
    Ok(bytes)
}

/// Logs and clears the collected diagnostics.
fn emit(diagnostics: &mut Vec<Diagnostic>) {
    for d in diagnostics.drain(..) {
        log::log!(d.level, "{}", d.message);
    }
}
