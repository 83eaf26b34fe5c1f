//! One partition definition: the typed result of a repart.d file and its drop-ins.

use std::fmt;
use std::path::PathBuf;

use uuid::Uuid;

use super::types::PartitionType;

/// Where a value was set: a file and a 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file as messages name it (see [`Definition::display_path`]).
    pub file: PathBuf,
    pub line: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// How a partition's UUID is chosen when it is created (or an existing one is all-zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UuidSetting {
    /// Derived from the seed (HMAC-SHA256), the default.
    #[default]
    Derived,
    /// `UUID=null`: written as all zeros.
    Null,
    /// An explicit `UUID=`.
    Fixed(Uuid),
}

/// `Encrypt=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encrypt {
    #[default]
    Off,
    KeyFile,
    Tpm2,
    KeyFileTpm2,
}

/// `Verity=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verity {
    #[default]
    Off,
    Data,
    Hash,
    Signature,
}

/// `Minimize=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Minimize {
    #[default]
    Off,
    Best,
    Guess,
}

/// A content key that was set, and where: what a new partition would need us to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentKey {
    pub key: &'static str,
    pub at: Location,
}

/// A `[Partition]` definition after all drop-ins, defaults and validation.
///
/// Sizes are in bytes and already rounded to 4096 the way v262 does at parse time (minimums
/// up, maximums down). `None` means "unset".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Definition {
    /// The main file as found in the search path (with the `--root` prefix); for a
    /// symlinked file, the link's path.
    pub path: PathBuf,
    /// How v262 names the main file in its JSON `file` field and in messages: relative to
    /// the root with `--root` (`usr/lib/repart.d/50-root.conf`), else absolute (also for
    /// `--definitions=` directories, which are made absolute with symlinks resolved).
    pub display_path: String,
    /// Drop-in files applied after the main file, in order.
    pub dropins: Vec<PathBuf>,
    /// The file name without `.conf`, which `SupplementFor=` refers to.
    pub name: String,
    pub partition_type: PartitionType,
    /// `Label=` after specifier expansion; `Some("")` is an explicit empty label.
    pub label: Option<String>,
    pub uuid: UuidSetting,
    pub priority: i32,
    pub weight: u32,
    pub padding_weight: u32,
    pub size_min: Option<u64>,
    pub size_max: Option<u64>,
    pub padding_min: Option<u64>,
    pub padding_max: Option<u64>,
    pub factory_reset: bool,
    /// `Flags=`: the GPT attribute word before the tristates below are applied.
    pub flags: u64,
    /// Tristates after v262's defaults; only honoured for types that know the bit.
    pub no_auto: Option<bool>,
    pub read_only: Option<bool>,
    pub grow_file_system: Option<bool>,
    /// `SplitName=`, unexpanded; `None` for `-`.
    pub split_name: Option<String>,
    /// `SupplementFor=`: the name of another definition.
    pub supplement_for: Option<String>,
    /// `Format=`, after v262's implied defaults (`swap` for Type=swap, ...).
    pub format: Option<String>,
    /// `CopyBlocks=` (a path or `auto`).
    pub copy_blocks: Option<String>,
    pub encrypt: Encrypt,
    pub verity: Verity,
    /// `VerityMatchKey=`: the definitions of one verity set share it.
    pub verity_match_key: Option<String>,
    pub minimize: Minimize,
    /// `FileSystemSectorSize=`.
    pub fs_sector_size: Option<u64>,
    /// Every key that asks for content to be written into a new partition (Format=,
    /// CopyFiles=, Encrypt=, ...), with where it was set, in file order.
    pub content_keys: Vec<ContentKey>,
}

impl Definition {
    /// A definition with systemd-repart's defaults for every key, as if the file held only
    /// `Type=`.
    pub fn new(path: PathBuf, partition_type: PartitionType) -> Definition {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .map(|n| n.strip_suffix(".conf").unwrap_or(n).to_owned())
            .unwrap_or_default();
        Definition {
            display_path: path.display().to_string(),
            path,
            dropins: Vec::new(),
            name,
            partition_type,
            label: None,
            uuid: UuidSetting::Derived,
            priority: 0,
            weight: 1000,
            padding_weight: 0,
            size_min: None,
            size_max: None,
            padding_min: None,
            padding_max: None,
            factory_reset: false,
            flags: 0,
            no_auto: None,
            read_only: None,
            grow_file_system: None,
            split_name: Some("%t".to_owned()),
            supplement_for: None,
            format: None,
            copy_blocks: None,
            encrypt: Encrypt::Off,
            verity: Verity::Off,
            verity_match_key: None,
            minimize: Minimize::Off,
            fs_sector_size: None,
            content_keys: Vec::new(),
        }
    }
}
