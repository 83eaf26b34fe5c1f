//! One partition definition: the typed result of a repart.d file and its drop-ins.

use std::fmt;
use std::path::PathBuf;

use uuid::Uuid;

use super::types::{Designator, PartitionType};

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
    /// The key's name as written in repart.d (`Format`, `CopyFiles`, `TPM2PCRs`, ...).
    pub key: &'static str,
    /// Its last assignment.
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
    /// `Label=` after specifier expansion (at most 36 bytes); `Some("")` is an explicit
    /// empty label. `Format=empty` without `Label=` gives `_empty`.
    pub label: Option<String>,
    pub uuid: UuidSetting,
    pub priority: i32,
    pub weight: u32,
    pub padding_weight: u32,
    /// `SizeMinBytes=`; `None` when unset, so v262's default minimum applies. A value that
    /// rounds up past the largest multiple of 4096 is v262's "unset" too.
    pub size_min: Option<u64>,
    /// `SizeMaxBytes=`; `None` when unset (no maximum).
    pub size_max: Option<u64>,
    pub padding_min: Option<u64>,
    pub padding_max: Option<u64>,
    pub factory_reset: bool,
    /// `Flags=`: the GPT attribute word before the tristates below are applied.
    pub flags: u64,
    /// `NoAuto=` (bit 63): `Some(true)` by default for `Format=empty`. Like the two below,
    /// `None` whenever the type does not have the flag (a warning was logged if it was set).
    pub no_auto: Option<bool>,
    /// `ReadOnly=` (bit 60): `Some(true)` by default for verity and verity-sig types and
    /// for `Verity=data`/`Verity=signature`.
    pub read_only: Option<bool>,
    /// `GrowFileSystem=` (bit 59): v262 makes it `Some(true)` whenever the type has the flag
    /// and `read_only` is not `Some(true)`, even over an explicit `GrowFileSystem=no`.
    pub grow_file_system: Option<bool>,
    /// `SplitName=`, unexpanded; `None` for `-`.
    pub split_name: Option<String>,
    /// `SupplementFor=`: the name of another definition.
    pub supplement_for: Option<String>,
    /// `Format=`, after v262's implied defaults: `swap` for Type=swap; `ext4` (`vfat` on
    /// esp and xbootldr) when files are to be written or the partition is encrypted without
    /// `CopyBlocks=`. `Format=empty` is `Some("empty")`.
    pub format: Option<String>,
    /// `CopyBlocks=`: `auto`, or an absolute path (specifiers expanded, slashes simplified).
    pub copy_blocks: Option<String>,
    pub encrypt: Encrypt,
    pub verity: Verity,
    /// `VerityMatchKey=`: the definitions of one verity set share it.
    pub verity_match_key: Option<String>,
    pub minimize: Minimize,
    /// `FileSystemSectorSize=`.
    pub fs_sector_size: Option<u64>,
    /// Every content key (all keys but the placement ones) whose final value is not its
    /// default, with where it was last set, in the order of those assignments. Lists count
    /// when not empty; `Encrypt=`, `Verity=`, `Minimize=` and `Integrity=` when not off;
    /// everything else when set to anything. Implied formats are not listed. Keys such as
    /// `MountPoint=` or `TPM2PCRs=` are listed although they change nothing on their own.
    pub content_keys: Vec<ContentKey>,
}

impl Definition {
    /// A definition with systemd-repart's defaults for every key, as if the file held only
    /// `Type=`: the same as parsing such a file, including v262's type-dependent defaults
    /// (`read_only`, `grow_file_system`, `format` for swap).
    pub fn new(path: PathBuf, partition_type: PartitionType) -> Definition {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .map(|n| n.strip_suffix(".conf").unwrap_or(n).to_owned())
            .unwrap_or_default();
        let read_only = partition_type.is_verity().then_some(true);
        let grow_file_system =
            (partition_type.knows_grow_fs() && read_only != Some(true)).then_some(true);
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
            read_only,
            grow_file_system,
            split_name: Some("%t".to_owned()),
            supplement_for: None,
            format: (partition_type.designator() == Some(Designator::Swap))
                .then(|| "swap".to_owned()),
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
