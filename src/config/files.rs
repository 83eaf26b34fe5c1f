//! Finding the definition files and their drop-ins, as systemd-repart 262 does.
//!
//! Measured on v262 (see tests/config_files.rs): the four standard directories are searched
//! below `--root`, or the `--definitions=` directories instead (made absolute with symlinks
//! resolved, duplicates dropped, never prefixed with the root). Only `*.conf` names count,
//! names starting with `.` are skipped, and the first directory holding a name wins. An
//! entry that resolves to `/dev/null` (inside the root, even if the root has no `/dev`), to
//! any character device, or to an empty regular file masks that name. Entries that cannot
//! be resolved (warning) or are not regular files (debug message) are skipped and do not
//! hide the same name in later directories. Symlinks are followed inside the root. The
//! result is sorted by name; drop-ins `NAME.conf.d/*.conf` are gathered from every
//! directory the same way, masks included, and sorted by name too.

use std::collections::{BTreeMap, VecDeque};
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileTypeExt;
use std::path::{Component, Path, PathBuf};

use super::Diagnostic;
use crate::error::{Error, ErrorKind, Result};

/// The standard search directories of v262, highest priority first.
pub const SEARCH_DIRS: [&str; 4] = [
    "/etc/repart.d",
    "/run/repart.d",
    "/usr/local/lib/repart.d",
    "/usr/lib/repart.d",
];

/// The most `*.conf` entries taken from one directory (v262 has no limit; a GPT has room
/// for 128 partitions).
pub const MAX_ENTRIES_PER_DIR: usize = 1024;

/// How many symlinks one path may go through (Linux's limit).
const MAX_SYMLINKS: usize = 40;

/// One file found by the search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundFile {
    /// The path as found, with the root prefix; for a symlink, the link itself.
    pub path: PathBuf,
    /// How v262 names the file: relative to the root with `--root`, else absolute.
    pub display: String,
    /// Where to read it: the link's target resolved inside the root.
    pub read_path: PathBuf,
}

/// A definition file with its drop-ins, in the order to apply them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundDefinition {
    pub main: FoundFile,
    pub dropins: Vec<FoundFile>,
}

/// The directories to search and how to resolve and show the paths in them.
struct Search {
    /// `/` for the host.
    root: PathBuf,
    /// Show paths relative to the root (`--root`) rather than absolute.
    relative_display: bool,
    /// Absolute paths inside the root, highest priority first.
    dirs: Vec<PathBuf>,
    /// The directories are canonical paths of existing directories already.
    dirs_resolved: bool,
}

/// A `*.conf` name in a directory.
struct Name {
    name: OsString,
    /// The directory entry is a symlink, or its type is unknown.
    maybe_link: bool,
}

/// What a directory entry turned out to be.
enum Entry {
    File(FoundFile),
    Mask,
}

/// Finds every definition and its drop-ins, sorted by file name.
pub fn find(
    root: Option<&Path>,
    definitions: &[PathBuf],
    diags: &mut Vec<Diagnostic>,
) -> Result<Vec<FoundDefinition>> {
    let search = search_dirs(root, definitions, diags);
    // Each search directory is resolved once: the drop-in directories below it are then
    // resolved from there, not from the root again (a path walk per component each).
    let resolved: Vec<io::Result<(PathBuf, bool)>> = search
        .dirs
        .iter()
        .map(|dir| {
            if search.dirs_resolved {
                Ok((dir.clone(), true))
            } else {
                chase(&search.root, dir)
            }
        })
        .collect();
    let mut bases = Vec::with_capacity(search.dirs.len());
    let mut mains: BTreeMap<OsString, Entry> = BTreeMap::new();
    for (dir, resolution) in search.dirs.iter().zip(resolved) {
        bases.push(match &resolution {
            Ok((resolved, true)) => Some(resolved.clone()),
            _ => None,
        });
        if let Some((dir, names)) = search.conf_names(dir, resolution, diags)? {
            search.merge(&mut mains, &dir, names, diags);
        }
    }
    let mut found = Vec::with_capacity(mains.len());
    for (name, main) in mains {
        let Entry::File(main) = main else { continue };
        let mut dropin_dir_name = name;
        dropin_dir_name.push(".d");
        let mut dropins = BTreeMap::new();
        for (dir, base) in search.dirs.iter().zip(&bases) {
            let resolution = match base {
                Some(base) => chase_below(&search.root, base, Path::new(&dropin_dir_name)),
                None => chase(&search.root, &dir.join(&dropin_dir_name)),
            };
            let dropin_dir = dir.join(&dropin_dir_name);
            if let Some((dir, names)) = search.conf_names(&dropin_dir, resolution, diags)? {
                search.merge(&mut dropins, &dir, names, diags);
            }
        }
        let dropins = dropins
            .into_values()
            .filter_map(|entry| match entry {
                Entry::File(f) => Some(f),
                Entry::Mask => None,
            })
            .collect();
        found.push(FoundDefinition { main, dropins });
    }
    Ok(found)
}

/// The search directories for these options.
fn search_dirs(
    root: Option<&Path>,
    definitions: &[PathBuf],
    diags: &mut Vec<Diagnostic>,
) -> Search {
    if definitions.is_empty() {
        let root = root
            .map(|r| std::fs::canonicalize(r).unwrap_or_else(|_| r.to_owned()))
            .filter(|r| r != Path::new("/"));
        return Search {
            relative_display: root.is_some(),
            root: root.unwrap_or_else(|| PathBuf::from("/")),
            dirs: SEARCH_DIRS.iter().map(PathBuf::from).collect(),
            dirs_resolved: false,
        };
    }
    let mut dirs: Vec<PathBuf> = Vec::with_capacity(definitions.len());
    for dir in definitions {
        match std::fs::canonicalize(dir) {
            Ok(dir) if !dirs.contains(&dir) => dirs.push(dir),
            Ok(_) => {}
            Err(e) => diags.push(Diagnostic::debug(format!(
                "{}: cannot resolve definitions directory, skipping it: {e}",
                dir.display()
            ))),
        }
    }
    // canonicalize() resolved them on the host, which is the root they are searched in.
    Search {
        root: PathBuf::from("/"),
        relative_display: false,
        dirs,
        dirs_resolved: true,
    }
}

impl Search {
    fn host_path(&self, inside: &Path) -> PathBuf {
        self.root.join(inside.strip_prefix("/").unwrap_or(inside))
    }

    fn display(&self, inside: &Path) -> String {
        let shown = if self.relative_display {
            inside.strip_prefix("/").unwrap_or(inside)
        } else {
            inside
        };
        shown.display().to_string()
    }

    /// Adds the `names` of the (resolved) directory `dir` to `merged`: an earlier directory
    /// with a usable entry (file or mask) wins for each name.
    fn merge(
        &self,
        merged: &mut BTreeMap<OsString, Entry>,
        dir: &Path,
        names: Vec<Name>,
        diags: &mut Vec<Diagnostic>,
    ) {
        for Name { name, maybe_link } in names {
            if merged.contains_key(&name) {
                diags.push(Diagnostic::debug(format!(
                    "{}: overridden by an earlier directory",
                    self.display(&dir.join(&name))
                )));
                continue;
            }
            if let Some(entry) = self.classify(&dir.join(&name), maybe_link, diags) {
                merged.insert(name, entry);
            }
        }
    }

    /// The directory `dir` as `resolution` resolved it inside the root (with symlinks
    /// resolved, which is how v262 names the files in it: measured, with
    /// `etc/repart.d -> /usr/lib/repart.d` it shows `usr/lib/repart.d/a.conf`), and its
    /// `*.conf` names not starting with a dot; `None` when there is no such directory.
    fn conf_names(
        &self,
        dir: &Path,
        resolution: io::Result<(PathBuf, bool)>,
        diags: &mut Vec<Diagnostic>,
    ) -> Result<Option<(PathBuf, Vec<Name>)>> {
        let resolved = match resolution {
            Ok((resolved, true)) => resolved,
            Ok((_, false)) => return Ok(None),
            Err(e) => {
                diags.push(Diagnostic::warn(format!(
                    "{}: cannot resolve directory, ignoring it: {e}",
                    self.display(dir)
                )));
                return Ok(None);
            }
        };
        let entries = match std::fs::read_dir(self.host_path(&resolved)) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                diags.push(Diagnostic::warn(format!(
                    "{}: cannot read directory, ignoring it: {e}",
                    self.display(dir)
                )));
                return Ok(None);
            }
        };
        let dir = &resolved;
        let mut names = Vec::new();
        for entry in entries {
            let (name, file_type) = match entry {
                Ok(entry) => (entry.file_name(), entry.file_type()),
                Err(e) => {
                    diags.push(Diagnostic::warn(format!(
                        "{}: error while reading directory: {e}",
                        self.display(dir)
                    )));
                    break;
                }
            };
            let bytes = name.as_bytes();
            if bytes.starts_with(b".") {
                continue;
            }
            if !bytes.ends_with(b".conf") {
                diags.push(Diagnostic::debug(format!(
                    "{}: name does not end in .conf, skipping",
                    self.display(&dir.join(&name))
                )));
                continue;
            }
            if names.len() == MAX_ENTRIES_PER_DIR {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "{}: more than {MAX_ENTRIES_PER_DIR} .conf files, refusing",
                        self.display(dir)
                    ),
                ));
            }
            // The type comes with the directory entry on most file systems; where it does
            // not (and the lookup fails), the entry is chased as a link would be.
            let maybe_link = file_type.map_or(true, |t| t.is_symlink());
            names.push(Name { name, maybe_link });
        }
        Ok(Some((resolved, names)))
    }

    /// Resolves one entry of a resolved directory: a usable file, a mask, or nothing (with a
    /// message). Only an entry that `maybe_link` is chased: anything else in a resolved
    /// directory is where it is.
    fn classify(
        &self,
        inside: &Path,
        maybe_link: bool,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<Entry> {
        let shown = self.display(inside);
        let resolution = if maybe_link {
            chase(&self.root, inside)
        } else {
            Ok((inside.to_owned(), true))
        };
        let resolved = match resolution {
            Ok((resolved, _)) if resolved == Path::new("/dev/null") => {
                diags.push(Diagnostic::debug(format!(
                    "{shown}: masked (links to /dev/null)"
                )));
                return Some(Entry::Mask);
            }
            Ok((resolved, true)) => resolved,
            Ok((_, false)) => {
                diags.push(Diagnostic::warn(format!(
                    "{shown}: dangling symlink, skipping"
                )));
                return None;
            }
            Err(e) => {
                diags.push(Diagnostic::warn(format!(
                    "{shown}: cannot follow symlink, skipping: {e}"
                )));
                return None;
            }
        };
        let read_path = self.host_path(&resolved);
        let metadata = match std::fs::metadata(&read_path) {
            Ok(m) => m,
            Err(e) => {
                diags.push(Diagnostic::warn(format!("{shown}: {e}")));
                return None;
            }
        };
        let file_type = metadata.file_type();
        if file_type.is_char_device() || (file_type.is_file() && metadata.len() == 0) {
            diags.push(Diagnostic::debug(format!(
                "{shown}: masked (empty or a device)"
            )));
            return Some(Entry::Mask);
        }
        if !file_type.is_file() {
            diags.push(Diagnostic::debug(format!(
                "{shown}: not a regular file, skipping"
            )));
            return None;
        }
        Some(Entry::File(FoundFile {
            path: self.host_path(inside),
            display: shown,
            read_path,
        }))
    }
}

/// Resolves `path` (absolute, inside `root`) component by component, following symlinks
/// with absolute targets and `..` kept inside `root`. When a component does not exist, the
/// rest is appended as it is and the second value is `false` (so a dangling link to
/// `/dev/null` still resolves to `/dev/null`).
pub fn chase(root: &Path, path: &Path) -> io::Result<(PathBuf, bool)> {
    chase_below(root, Path::new("/"), path)
}

/// [`chase`] of `base` joined with `rest`, where `base` (inside `root`) is already resolved
/// and exists: only the components of `rest` are looked at.
fn chase_below(root: &Path, base: &Path, rest: &Path) -> io::Result<(PathBuf, bool)> {
    let mut resolved: Vec<OsString> = components(base).collect();
    let mut todo: VecDeque<OsString> = components(rest).collect();
    let mut symlinks = 0;
    while let Some(name) = todo.pop_front() {
        if name == ".." {
            resolved.pop();
            continue;
        }
        let mut candidate = root.to_owned();
        candidate.extend(resolved.iter());
        candidate.push(&name);
        let metadata = match std::fs::symlink_metadata(&candidate) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                resolved.push(name);
                for rest in todo {
                    if rest == ".." {
                        resolved.pop();
                    } else {
                        resolved.push(rest);
                    }
                }
                return Ok((inside_path(&resolved), false));
            }
            Err(e) => return Err(e),
        };
        if !metadata.file_type().is_symlink() {
            resolved.push(name);
            continue;
        }
        symlinks += 1;
        if symlinks > MAX_SYMLINKS {
            return Err(io::Error::from_raw_os_error(
                rustix::io::Errno::LOOP.raw_os_error(),
            ));
        }
        let target = std::fs::read_link(&candidate)?;
        if target.is_absolute() {
            resolved.clear();
        }
        for component in components(&target).rev() {
            todo.push_front(component);
        }
    }
    Ok((inside_path(&resolved), true))
}

/// The normal components of a path, `..` kept, `.` and `/` dropped.
fn components(path: &Path) -> impl DoubleEndedIterator<Item = OsString> + '_ {
    path.components().filter_map(|c| match c {
        Component::Normal(n) => Some(n.to_owned()),
        Component::ParentDir => Some(OsString::from("..")),
        Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
    })
}

fn inside_path(components: &[OsString]) -> PathBuf {
    let mut path = PathBuf::from("/");
    path.extend(components.iter().map(OsStr::new));
    path
}
