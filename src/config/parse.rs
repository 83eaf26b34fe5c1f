//! Every `[Partition]` key of systemd-repart 262, parsed into a [`Draft`].
//!
//! Which problems are fatal and which are warnings (the key then keeps its previous value)
//! follows v262 as measured; see the tests here and in tests/config_keys.rs. An empty value
//! resets a key to its default where v262 does so.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::content::{
    self, PATH_MAX, PCR_FORMS, SyntaxError, absolute_path, fields, filename_is_valid, words,
};
use super::definition::{Definition, Encrypt, Location, Minimize, UuidSetting, Verity};
use super::size::{
    NumberError, SIZE_FORMS, parse_bool, parse_i32, parse_size, parse_u32, parse_u64,
};
use super::specifier::{self, SpecifierContext};
use super::types::{Arch, PartitionType};
use super::{Diagnostic, checks, ini};
use crate::error::{Error, ErrorKind, Result};

/// What parsing needs besides the files.
#[derive(Debug, Clone, Copy)]
pub struct ParseContext<'a> {
    pub specifiers: &'a SpecifierContext,
    /// `--architecture=`.
    pub architecture: Option<Arch>,
}

/// One file to parse.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// The file as found (the link name for a symlink); goes into [`Definition::path`].
    pub path: &'a Path,
    /// How messages and JSON name the file.
    pub display: &'a str,
    pub bytes: &'a [u8],
}

/// The longest label, in bytes after specifier expansion (GPT labels hold 36 UTF-16 units;
/// v262 counts UTF-8 bytes here, measured).
pub(super) const LABEL_MAX: usize = 36;

/// The largest `Weight=`/`PaddingWeight=` v262 accepts.
const WEIGHT_MAX: u32 = 1_000_000;

/// The grain v262 rounds the size keys to while parsing, whatever `--grain-size=` says.
const SIZE_ROUNDING: u64 = 4096;

/// Every key of `[Partition]` in v262.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setting {
    Type,
    Label,
    Uuid,
    Priority,
    Weight,
    PaddingWeight,
    SizeMinBytes,
    SizeMaxBytes,
    PaddingMinBytes,
    PaddingMaxBytes,
    FactoryReset,
    CopyBlocks,
    Format,
    CopyFiles,
    MakeDirectories,
    Encrypt,
    Verity,
    VerityMatchKey,
    Flags,
    ReadOnly,
    NoAuto,
    GrowFileSystem,
    SplitName,
    Minimize,
    ExcludeFiles,
    ExcludeFilesTarget,
    Subvolumes,
    VerityDataBlockSizeBytes,
    VerityHashBlockSizeBytes,
    DefaultSubvolume,
    FileSystemSectorSize,
    MountPoint,
    EncryptedVolume,
    Compression,
    CompressionLevel,
    MakeSymlinks,
    SupplementFor,
    AddValidateFs,
    VolumeLabel,
    Tpm2Pcrs,
    KeyFile,
    Integrity,
    IntegrityAlgorithm,
    EncryptKdf,
    Discard,
    BlockDeviceReplace,
    VolumeName,
}

/// The 47 keys of v262 with their names (the list of core.md §2.1).
const KEYS: [(&str, Setting); 47] = [
    ("Type", Setting::Type),
    ("Label", Setting::Label),
    ("UUID", Setting::Uuid),
    ("Priority", Setting::Priority),
    ("Weight", Setting::Weight),
    ("PaddingWeight", Setting::PaddingWeight),
    ("SizeMinBytes", Setting::SizeMinBytes),
    ("SizeMaxBytes", Setting::SizeMaxBytes),
    ("PaddingMinBytes", Setting::PaddingMinBytes),
    ("PaddingMaxBytes", Setting::PaddingMaxBytes),
    ("FactoryReset", Setting::FactoryReset),
    ("CopyBlocks", Setting::CopyBlocks),
    ("Format", Setting::Format),
    ("CopyFiles", Setting::CopyFiles),
    ("MakeDirectories", Setting::MakeDirectories),
    ("Encrypt", Setting::Encrypt),
    ("Verity", Setting::Verity),
    ("VerityMatchKey", Setting::VerityMatchKey),
    ("Flags", Setting::Flags),
    ("ReadOnly", Setting::ReadOnly),
    ("NoAuto", Setting::NoAuto),
    ("GrowFileSystem", Setting::GrowFileSystem),
    ("SplitName", Setting::SplitName),
    ("Minimize", Setting::Minimize),
    ("ExcludeFiles", Setting::ExcludeFiles),
    ("ExcludeFilesTarget", Setting::ExcludeFilesTarget),
    ("Subvolumes", Setting::Subvolumes),
    (
        "VerityDataBlockSizeBytes",
        Setting::VerityDataBlockSizeBytes,
    ),
    (
        "VerityHashBlockSizeBytes",
        Setting::VerityHashBlockSizeBytes,
    ),
    ("DefaultSubvolume", Setting::DefaultSubvolume),
    ("FileSystemSectorSize", Setting::FileSystemSectorSize),
    ("MountPoint", Setting::MountPoint),
    ("EncryptedVolume", Setting::EncryptedVolume),
    ("Compression", Setting::Compression),
    ("CompressionLevel", Setting::CompressionLevel),
    ("MakeSymlinks", Setting::MakeSymlinks),
    ("SupplementFor", Setting::SupplementFor),
    ("AddValidateFS", Setting::AddValidateFs),
    ("VolumeLabel", Setting::VolumeLabel),
    ("TPM2PCRs", Setting::Tpm2Pcrs),
    ("KeyFile", Setting::KeyFile),
    ("Integrity", Setting::Integrity),
    ("IntegrityAlgorithm", Setting::IntegrityAlgorithm),
    ("EncryptKDF", Setting::EncryptKdf),
    ("Discard", Setting::Discard),
    ("BlockDeviceReplace", Setting::BlockDeviceReplace),
    ("VolumeName", Setting::VolumeName),
];

/// `Format=`: unset, the `empty` meta value, or a file system type.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) enum FormatSetting {
    #[default]
    Unset,
    Empty,
    Fs(String),
}

/// Every key's value while the files of one definition are read.
#[derive(Debug, Clone, Default)]
pub(super) struct Draft {
    pub(super) partition_type: Option<PartitionType>,
    pub(super) label: Option<String>,
    pub(super) uuid: UuidSetting,
    pub(super) priority: i32,
    pub(super) weight: Option<u32>,
    pub(super) padding_weight: u32,
    pub(super) size_min: Option<u64>,
    pub(super) size_max: Option<u64>,
    pub(super) padding_min: Option<u64>,
    pub(super) padding_max: Option<u64>,
    pub(super) factory_reset: bool,
    pub(super) flags: u64,
    pub(super) no_auto: Option<bool>,
    pub(super) read_only: Option<bool>,
    pub(super) grow_file_system: Option<bool>,
    /// `None`: the default `%t`; `Some(None)`: `-`.
    pub(super) split_name: Option<Option<String>>,
    pub(super) supplement_for: Option<String>,
    pub(super) format: FormatSetting,
    pub(super) copy_blocks: Option<String>,
    pub(super) copy_files: Vec<String>,
    pub(super) exclude_files: Vec<String>,
    pub(super) exclude_files_target: Vec<String>,
    pub(super) make_directories: Vec<String>,
    pub(super) make_symlinks: Vec<String>,
    /// Subvolume paths (their flags are checked, not kept).
    pub(super) subvolumes: Vec<String>,
    pub(super) default_subvolume: Option<String>,
    pub(super) encrypt: Encrypt,
    pub(super) verity: Verity,
    pub(super) verity_match_key: Option<String>,
    pub(super) verity_data_block_size: Option<u64>,
    pub(super) verity_hash_block_size: Option<u64>,
    pub(super) minimize: Minimize,
    pub(super) compression: Option<String>,
    pub(super) compression_level: Option<String>,
    pub(super) mount_points: Vec<String>,
    pub(super) encrypted_volume: Option<String>,
    pub(super) tpm2_pcrs: Vec<content::Pcr>,
    pub(super) key_file: Option<String>,
    pub(super) integrity_inline: bool,
    pub(super) integrity_algorithm: Option<String>,
    pub(super) encrypt_kdf: Option<String>,
    pub(super) discard: Option<bool>,
    pub(super) volume_label: Option<String>,
    pub(super) volume_name: Option<String>,
    pub(super) block_device_replace: Option<String>,
    pub(super) add_validate_fs: Option<bool>,
    pub(super) fs_sector_size: Option<u64>,
    /// Where each key was last assigned (successfully or not).
    pub(super) set_at: BTreeMap<&'static str, Location>,
    /// Content keys whose value is not the default, with the assignment's sequence number
    /// (for file order) and location.
    pub(super) content: BTreeMap<&'static str, (usize, Location)>,
    /// Counts assignments, to order `content`.
    seq: usize,
}

/// One assignment being applied.
struct Assignment<'a> {
    key: &'static str,
    value: &'a str,
    at: Location,
}

impl Assignment<'_> {
    /// A fatal error naming the line, the assignment, the problem and the accepted forms.
    fn fatal(&self, problem: impl std::fmt::Display, accepted: &str) -> Error {
        Error::new(
            ErrorKind::Config,
            format!(
                "{}: {}={}: {problem} (accepted: {accepted})",
                self.at, self.key, self.value
            ),
        )
    }

    /// A warning for an assignment that is ignored.
    fn ignored(&self, problem: impl std::fmt::Display, accepted: &str) -> Diagnostic {
        Diagnostic::warn(format!(
            "{}: {}={}: {problem}, ignoring (accepted: {accepted})",
            self.at, self.key, self.value
        ))
    }
}

/// Parses a definition: the main file, then its drop-ins in order, then v262's defaults and
/// the checks that need only this definition. Warnings go to `diagnostics`.
pub fn parse_definition(
    main: &Source,
    dropins: &[Source],
    ctx: &ParseContext,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<Definition> {
    parse_with_lines(main, dropins, ctx, diagnostics).map(|(definition, _)| definition)
}

/// [`parse_definition`], also returning where each key was last set.
pub(super) fn parse_with_lines(
    main: &Source,
    dropins: &[Source],
    ctx: &ParseContext,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<(Definition, checks::KeyLines)> {
    let mut draft = Draft::default();
    for source in std::iter::once(main).chain(dropins) {
        for a in ini::parse(source.bytes, source.display, "Partition", diagnostics)? {
            let at = Location {
                file: PathBuf::from(source.display),
                line: a.line,
            };
            draft.apply(&a.key, &a.value, at, ctx.specifiers, diagnostics)?;
        }
    }
    checks::finish(draft, main, dropins, ctx, diagnostics)
}

impl Draft {
    /// Applies one `key=value`.
    fn apply(
        &mut self,
        key: &str,
        value: &str,
        at: Location,
        specifiers: &SpecifierContext,
        diags: &mut Vec<Diagnostic>,
    ) -> Result<()> {
        let Some((name, key)) = KEYS.iter().copied().find(|(n, _)| *n == key) else {
            if !key.starts_with("X-") {
                diags.push(Diagnostic::warn(format!(
                    "{at}: unknown key \"{key}\" in section [Partition], ignoring"
                )));
            }
            return Ok(());
        };
        self.seq += 1;
        self.set_at.insert(name, at.clone());
        let a = Assignment {
            key: name,
            value,
            at,
        };
        match key {
            Setting::Type => self.set_type(&a)?,
            Setting::Label => self.label = label(&a, specifiers, diags).or(self.label.take()),
            Setting::Uuid => self.set_uuid(&a, diags),
            Setting::Priority => match parse_i32(value) {
                Ok(p) => self.priority = p,
                Err(e) => diags.push(a.ignored(e, "an integer from -2147483648 to 2147483647")),
            },
            Setting::Weight => {
                if let Some(w) = weight(&a, diags) {
                    self.weight = Some(w);
                }
            }
            Setting::PaddingWeight => {
                if let Some(w) = weight(&a, diags) {
                    self.padding_weight = w;
                }
            }
            Setting::SizeMinBytes => self.size_min = Some(size_rounded(&a, Round::Up, diags)?),
            Setting::SizeMaxBytes => self.size_max = Some(size_rounded(&a, Round::Down, diags)?),
            Setting::PaddingMinBytes => {
                self.padding_min = Some(size_rounded(&a, Round::Up, diags)?)
            }
            Setting::PaddingMaxBytes => {
                self.padding_max = Some(size_rounded(&a, Round::Down, diags)?)
            }
            Setting::FactoryReset => match parse_bool(value) {
                Some(b) => self.factory_reset = b,
                None => diags.push(a.ignored("not a boolean", BOOLEAN_FORMS)),
            },
            Setting::Flags => match parse_u64(value) {
                Ok(f) => self.flags = f,
                Err(e) => {
                    diags.push(a.ignored(e, "a 64-bit unsigned integer (0x…, 0o…, 0b… or decimal)"))
                }
            },
            Setting::NoAuto => tristate(&a, &mut self.no_auto, diags),
            Setting::ReadOnly => tristate(&a, &mut self.read_only, diags),
            Setting::GrowFileSystem => tristate(&a, &mut self.grow_file_system, diags),
            Setting::SplitName => {
                self.split_name = match value {
                    "" => None,
                    "-" => Some(None),
                    name => Some(Some(name.to_owned())),
                }
            }
            Setting::SupplementFor => self.supplement_for = non_empty(value),
            content => self.apply_content(content, &a, specifiers, diags)?,
        }
        Ok(())
    }

    fn set_type(&mut self, a: &Assignment) -> Result<()> {
        let t = PartitionType::parse(a.value).ok_or_else(|| {
            a.fatal(
                "unknown partition type",
                "a type identifier such as root, root-x86-64, esp, home or linux-generic, \
                 or a UUID",
            )
        })?;
        self.partition_type = Some(t);
        Ok(())
    }

    fn set_uuid(&mut self, a: &Assignment, diags: &mut Vec<Diagnostic>) {
        self.uuid = match a.value {
            "" => UuidSetting::Derived,
            "null" => UuidSetting::Null,
            v => match crate::id128::parse(v) {
                Some(u) if u.is_nil() => UuidSetting::Null,
                Some(u) => UuidSetting::Fixed(u),
                None => {
                    diags.push(a.ignored(
                        "not a UUID",
                        "32 hex digits with or without dashes, \"null\", or empty for the \
                         derived UUID",
                    ));
                    return;
                }
            },
        };
    }

    /// The content keys: parsed and checked, and recorded in `content` when set.
    fn apply_content(
        &mut self,
        key: Setting,
        a: &Assignment,
        specifiers: &SpecifierContext,
        diags: &mut Vec<Diagnostic>,
    ) -> Result<()> {
        let v = a.value;
        match key {
            Setting::Format => {
                if v.is_empty() || !filename_is_valid(v) {
                    diags.push(a.ignored(
                        "not a valid file system type",
                        "a file system name such as ext4, vfat, swap, or \"empty\"",
                    ));
                    return Ok(());
                }
                self.format = if v == "empty" {
                    FormatSetting::Empty
                } else {
                    FormatSetting::Fs(v.to_owned())
                };
            }
            Setting::CopyBlocks => match v {
                "" => self.copy_blocks = None,
                "auto" => self.copy_blocks = Some("auto".to_owned()),
                _ => match expanded_path(a, v, specifiers) {
                    Ok(p) => self.copy_blocks = Some(p),
                    Err(d) => diags.push(d),
                },
            },
            Setting::CopyFiles => self.add_copy_files(a, specifiers, diags)?,
            Setting::ExcludeFiles => {
                path_words(a, &mut self.exclude_files, None, OnBadPath::Stop, diags)
            }
            Setting::ExcludeFilesTarget => path_words(
                a,
                &mut self.exclude_files_target,
                None,
                OnBadPath::Stop,
                diags,
            ),
            Setting::MakeDirectories => path_words(
                a,
                &mut self.make_directories,
                Some(specifiers),
                OnBadPath::Continue,
                diags,
            ),
            Setting::MakeSymlinks => self.add_symlinks(a, specifiers, diags),
            Setting::Subvolumes => self.add_subvolumes(a, diags),
            Setting::DefaultSubvolume => optional_path(a, &mut self.default_subvolume, diags),
            Setting::BlockDeviceReplace => optional_path(a, &mut self.block_device_replace, diags),
            Setting::Encrypt => {
                let parsed = match v {
                    "" | "off" => Some(Encrypt::Off),
                    "key-file" => Some(Encrypt::KeyFile),
                    "tpm2" => Some(Encrypt::Tpm2),
                    "key-file+tpm2" => Some(Encrypt::KeyFileTpm2),
                    _ => parse_bool(v).map(|b| if b { Encrypt::KeyFile } else { Encrypt::Off }),
                };
                match parsed {
                    Some(e) => self.encrypt = e,
                    None => diags.push(a.ignored(
                        "unknown value",
                        "off, key-file, tpm2, key-file+tpm2, or a boolean",
                    )),
                }
            }
            Setting::Verity => match v {
                "" | "off" => self.verity = Verity::Off,
                "data" => self.verity = Verity::Data,
                "hash" => self.verity = Verity::Hash,
                "signature" => self.verity = Verity::Signature,
                _ => diags.push(a.ignored("unknown value", "off, data, hash or signature")),
            },
            Setting::VerityMatchKey => self.verity_match_key = non_empty(v),
            Setting::VerityDataBlockSizeBytes => {
                self.verity_data_block_size = Some(verity_block_size(a)?)
            }
            Setting::VerityHashBlockSizeBytes => {
                self.verity_hash_block_size = Some(verity_block_size(a)?)
            }
            Setting::Minimize => {
                let parsed = match v {
                    "" | "off" => Some(Minimize::Off),
                    "best" => Some(Minimize::Best),
                    "guess" => Some(Minimize::Guess),
                    _ => parse_bool(v).map(|b| if b { Minimize::Best } else { Minimize::Off }),
                };
                match parsed {
                    Some(m) => self.minimize = m,
                    None => {
                        diags.push(a.ignored("unknown value", "off, best, guess, or a boolean"))
                    }
                }
            }
            Setting::Compression => safe_string(a, &mut self.compression, diags),
            Setting::CompressionLevel => safe_string(a, &mut self.compression_level, diags),
            Setting::MountPoint => self.add_mount_point(a, diags),
            Setting::EncryptedVolume => self.set_encrypted_volume(a, diags),
            Setting::Tpm2Pcrs => {
                if v.is_empty() {
                    self.tpm2_pcrs.clear();
                } else {
                    content::add_pcrs(&mut self.tpm2_pcrs, v)
                        .map_err(|problem| a.fatal(problem, PCR_FORMS))?;
                }
            }
            Setting::KeyFile => self.key_file = non_empty(v),
            Setting::Integrity => match v {
                "" | "off" => self.integrity_inline = false,
                "inline" => self.integrity_inline = true,
                _ => match parse_bool(v) {
                    Some(b) => self.integrity_inline = b,
                    None => diags.push(a.ignored("unknown value", "off, inline, or a boolean")),
                },
            },
            Setting::IntegrityAlgorithm => match v {
                "" => self.integrity_algorithm = None,
                "hmac-sha1" | "hmac-sha256" | "hmac-sha512" => {
                    self.integrity_algorithm = Some(v.to_owned())
                }
                _ => diags
                    .push(a.ignored("unknown algorithm", "hmac-sha1, hmac-sha256 or hmac-sha512")),
            },
            Setting::EncryptKdf => match v {
                "" => self.encrypt_kdf = None,
                "argon2id" | "pbkdf2" | "minimal" => self.encrypt_kdf = Some(v.to_owned()),
                _ => diags.push(a.ignored(
                    "unknown key derivation function",
                    "argon2id, pbkdf2 or minimal",
                )),
            },
            Setting::Discard => tristate(a, &mut self.discard, diags),
            Setting::AddValidateFs => tristate(a, &mut self.add_validate_fs, diags),
            Setting::VolumeLabel => {
                self.volume_label = label(a, specifiers, diags).or(self.volume_label.take())
            }
            Setting::VolumeName => safe_string(a, &mut self.volume_name, diags),
            Setting::FileSystemSectorSize => {
                self.fs_sector_size = if v.is_empty() {
                    None
                } else {
                    let size = parse_size(v).map_err(|e| a.fatal(size_problem(e), SIZE_FORMS))?;
                    if !size.is_power_of_two() {
                        return Err(a.fatal("not a power of 2", "a power of 2 such as 512 or 4096"));
                    }
                    Some(size)
                };
            }
            Setting::Type
            | Setting::Label
            | Setting::Uuid
            | Setting::Priority
            | Setting::Weight
            | Setting::PaddingWeight
            | Setting::SizeMinBytes
            | Setting::SizeMaxBytes
            | Setting::PaddingMinBytes
            | Setting::PaddingMaxBytes
            | Setting::FactoryReset
            | Setting::Flags
            | Setting::NoAuto
            | Setting::ReadOnly
            | Setting::GrowFileSystem
            | Setting::SplitName
            | Setting::SupplementFor => return Ok(()),
        }
        let is_set = self.content_is_set(key);
        self.note_content(a, is_set);
        Ok(())
    }

    /// Whether content key `key` now has a value other than its default.
    fn content_is_set(&self, key: Setting) -> bool {
        match key {
            Setting::Format => self.format != FormatSetting::Unset,
            Setting::CopyBlocks => self.copy_blocks.is_some(),
            Setting::CopyFiles => !self.copy_files.is_empty(),
            Setting::ExcludeFiles => !self.exclude_files.is_empty(),
            Setting::ExcludeFilesTarget => !self.exclude_files_target.is_empty(),
            Setting::MakeDirectories => !self.make_directories.is_empty(),
            Setting::MakeSymlinks => !self.make_symlinks.is_empty(),
            Setting::Subvolumes => !self.subvolumes.is_empty(),
            Setting::DefaultSubvolume => self.default_subvolume.is_some(),
            Setting::BlockDeviceReplace => self.block_device_replace.is_some(),
            Setting::Encrypt => self.encrypt != Encrypt::Off,
            Setting::Verity => self.verity != Verity::Off,
            Setting::VerityMatchKey => self.verity_match_key.is_some(),
            Setting::VerityDataBlockSizeBytes => self.verity_data_block_size.is_some(),
            Setting::VerityHashBlockSizeBytes => self.verity_hash_block_size.is_some(),
            Setting::Minimize => self.minimize != Minimize::Off,
            Setting::Compression => self.compression.is_some(),
            Setting::CompressionLevel => self.compression_level.is_some(),
            Setting::MountPoint => !self.mount_points.is_empty(),
            Setting::EncryptedVolume => self.encrypted_volume.is_some(),
            Setting::Tpm2Pcrs => !self.tpm2_pcrs.is_empty(),
            Setting::KeyFile => self.key_file.is_some(),
            Setting::Integrity => self.integrity_inline,
            Setting::IntegrityAlgorithm => self.integrity_algorithm.is_some(),
            Setting::EncryptKdf => self.encrypt_kdf.is_some(),
            Setting::Discard => self.discard.is_some(),
            Setting::AddValidateFs => self.add_validate_fs.is_some(),
            Setting::VolumeLabel => self.volume_label.is_some(),
            Setting::VolumeName => self.volume_name.is_some(),
            Setting::FileSystemSectorSize => self.fs_sector_size.is_some(),
            Setting::Type
            | Setting::Label
            | Setting::Uuid
            | Setting::Priority
            | Setting::Weight
            | Setting::PaddingWeight
            | Setting::SizeMinBytes
            | Setting::SizeMaxBytes
            | Setting::PaddingMinBytes
            | Setting::PaddingMaxBytes
            | Setting::FactoryReset
            | Setting::Flags
            | Setting::NoAuto
            | Setting::ReadOnly
            | Setting::GrowFileSystem
            | Setting::SplitName
            | Setting::SupplementFor => false,
        }
    }

    fn note_content(&mut self, a: &Assignment, is_set: bool) {
        if is_set {
            self.content.insert(a.key, (self.seq, a.at.clone()));
        } else {
            self.content.remove(a.key);
        }
    }

    /// `CopyFiles=SOURCE[:TARGET[:OPTIONS]]`; each assignment adds one entry (an empty value
    /// is an error in v262, not a reset).
    fn add_copy_files(
        &mut self,
        a: &Assignment,
        specifiers: &SpecifierContext,
        diags: &mut Vec<Diagnostic>,
    ) -> Result<()> {
        const FORMS: &str = "SOURCE[:TARGET[:OPTIONS]] with absolute paths; the only option is \
                             fsverity=off|copy";
        let parts = fields(a.value, ':', false).map_err(|_| a.fatal("bad escaping", FORMS))?;
        if parts.len() > 3 {
            return Err(a.fatal("too many ':'-separated fields", FORMS));
        }
        let source = match expanded_path(a, first(&parts), specifiers) {
            Ok(p) => p,
            Err(d) => {
                diags.push(d);
                return Ok(());
            }
        };
        if let Some(target) = parts.get(1) {
            if let Err(d) = expanded_path(a, target, specifiers) {
                diags.push(d);
                return Ok(());
            }
        }
        for option in parts.get(2).map(|o| o.split(',')).into_iter().flatten() {
            match option.split_once('=') {
                Some(("fsverity", "off" | "copy")) => {}
                Some(("fsverity", _)) => {
                    diags.push(a.ignored("fsverity= must be off or copy", FORMS))
                }
                _ if option.is_empty() => {}
                _ => diags.push(a.ignored(format!("unknown option \"{option}\""), FORMS)),
            }
        }
        self.copy_files.push(source);
        Ok(())
    }

    /// `MakeSymlinks=SOURCE:TARGET …`; empty resets.
    fn add_symlinks(
        &mut self,
        a: &Assignment,
        specifiers: &SpecifierContext,
        diags: &mut Vec<Diagnostic>,
    ) {
        const FORMS: &str = "whitespace-separated SOURCE:TARGET pairs, SOURCE an absolute path";
        if a.value.is_empty() {
            self.make_symlinks.clear();
            return;
        }
        let Ok(list) = words(a.value) else {
            return diags.push(a.ignored("bad quoting", FORMS));
        };
        for word in list {
            let Some((source, _target)) = word.split_once(':') else {
                diags.push(a.ignored(format!("\"{word}\" has no ':'"), FORMS));
                continue;
            };
            match expanded_path(a, source, specifiers) {
                Ok(p) => self.make_symlinks.push(p),
                Err(d) => diags.push(d),
            }
        }
    }

    /// `Subvolumes=PATH[:FLAGS] …`, flags `ro` and `nodatacow`; empty resets.
    fn add_subvolumes(&mut self, a: &Assignment, diags: &mut Vec<Diagnostic>) {
        const FORMS: &str = "whitespace-separated absolute paths, each optionally followed by \
                             ':' and comma-separated flags ro, nodatacow";
        if a.value.is_empty() {
            self.subvolumes.clear();
            return;
        }
        let Ok(list) = words(a.value) else {
            return diags.push(a.ignored("bad quoting", FORMS));
        };
        for word in list {
            let mut parts = word.split(':');
            let path = parts.next().unwrap_or_default();
            if let Some(flags) = parts.next() {
                if let Some(bad) = flags.split(',').find(|f| !matches!(*f, "ro" | "nodatacow")) {
                    diags.push(a.ignored(format!("unknown subvolume flag \"{bad}\""), FORMS));
                    continue;
                }
            }
            match absolute_path(path) {
                Ok(p) => self.subvolumes.push(p),
                Err(problem) => diags.push(a.ignored(problem.describe(), FORMS)),
            }
        }
    }

    /// `MountPoint=WHERE[:OPTIONS]`; each assignment adds one; empty resets.
    fn add_mount_point(&mut self, a: &Assignment, diags: &mut Vec<Diagnostic>) {
        const FORMS: &str = "WHERE[:OPTIONS], WHERE an absolute path (quote fields containing ':')";
        if a.value.is_empty() {
            self.mount_points.clear();
            return;
        }
        match fields(a.value, ':', true) {
            Err(SyntaxError) => diags.push(a.ignored("bad quoting", FORMS)),
            Ok(parts) if parts.len() > 2 => {
                diags.push(a.ignored("too many ':'-separated fields", FORMS))
            }
            Ok(parts) => match absolute_path(first(&parts)) {
                Ok(p) => self.mount_points.push(p),
                Err(problem) => diags.push(a.ignored(problem.describe(), FORMS)),
            },
        }
    }

    /// `EncryptedVolume=[NAME][:KEYFILE[:OPTIONS[:EXTRA]]]`; empty resets.
    fn set_encrypted_volume(&mut self, a: &Assignment, diags: &mut Vec<Diagnostic>) {
        const FORMS: &str = "NAME[:KEYFILE[:OPTIONS[:EXTRA]]], EXTRA being fixate-volume-key";
        if a.value.is_empty() {
            self.encrypted_volume = None;
            return;
        }
        let parts = match fields(a.value, ':', true) {
            Ok(parts) if parts.len() <= 4 => parts,
            Ok(_) => return diags.push(a.ignored("too many ':'-separated fields", FORMS)),
            Err(SyntaxError) => return diags.push(a.ignored("bad quoting", FORMS)),
        };
        let name = first(&parts);
        if !name.is_empty() && !filename_is_valid(name) {
            return diags.push(a.ignored(format!("\"{name}\" is not a valid volume name"), FORMS));
        }
        for extra in parts.get(3).map(|e| e.split(',')).into_iter().flatten() {
            if !extra.is_empty() && extra != "fixate-volume-key" {
                diags.push(a.ignored(format!("unknown extra option \"{extra}\""), FORMS));
            }
        }
        self.encrypted_volume = Some(a.value.to_owned());
    }
}

const BOOLEAN_FORMS: &str = "1, yes, y, true, t, on, 0, no, n, false, f or off";

/// A string v262 parses as "safe" (`Compression=`, `CompressionLevel=`, `VolumeName=`): no
/// control characters, quotes or backslashes; empty resets.
fn safe_string(a: &Assignment, slot: &mut Option<String>, diags: &mut Vec<Diagnostic>) {
    if a.value
        .contains(|c: char| c.is_ascii_control() || matches!(c, '"' | '\'' | '\\'))
    {
        diags.push(a.ignored(
            "contains control characters, quotes or backslashes",
            "text without control characters, quotes or backslashes",
        ));
    } else {
        *slot = non_empty(a.value);
    }
}

/// The first of the fields [`fields`] returned (there is always one).
fn first(parts: &[String]) -> &str {
    parts.first().map_or("", String::as_str)
}

fn non_empty(v: &str) -> Option<String> {
    (!v.is_empty()).then(|| v.to_owned())
}

/// A tristate: empty resets to unset; otherwise a boolean.
fn tristate(a: &Assignment, slot: &mut Option<bool>, diags: &mut Vec<Diagnostic>) {
    if a.value.is_empty() {
        *slot = None;
    } else if let Some(b) = parse_bool(a.value) {
        *slot = Some(b);
    } else {
        diags.push(a.ignored(
            "not a boolean",
            &format!("{BOOLEAN_FORMS}, or empty to unset"),
        ));
    }
}

/// `Label=`/`VolumeLabel=`: specifiers expanded, at most [`LABEL_MAX`] bytes; `None` (with
/// a warning) when unusable. An empty value is a valid, empty label.
fn label(
    a: &Assignment,
    specifiers: &SpecifierContext,
    diags: &mut Vec<Diagnostic>,
) -> Option<String> {
    match specifier::expand(a.value, specifiers, LABEL_MAX) {
        Ok(l) => Some(l),
        Err(e) => {
            diags.push(a.ignored(
                e,
                "text of at most 36 bytes after % specifiers are expanded",
            ));
            None
        }
    }
}

fn weight(a: &Assignment, diags: &mut Vec<Diagnostic>) -> Option<u32> {
    const FORMS: &str = "an integer from 0 to 1000000";
    match parse_u32(a.value) {
        Ok(w) if w <= WEIGHT_MAX => Some(w),
        Ok(_) => {
            diags.push(a.ignored("too large", FORMS));
            None
        }
        Err(e) => {
            diags.push(a.ignored(e, FORMS));
            None
        }
    }
}

#[derive(Clone, Copy)]
enum Round {
    Up,
    Down,
}

/// A size key, rounded to 4096 the way v262 does while parsing: minimums up (saturating at
/// `u64::MAX`, which v262 then treats as unset), maximums down, with a notice when the value
/// changes. A parse error is fatal.
fn size_rounded(a: &Assignment, round: Round, diags: &mut Vec<Diagnostic>) -> Result<u64> {
    let size = parse_size(a.value).map_err(|e| a.fatal(size_problem(e), SIZE_FORMS))?;
    let rounded = match round {
        Round::Up => size.div_ceil(SIZE_ROUNDING).saturating_mul(SIZE_ROUNDING),
        Round::Down => size - size % SIZE_ROUNDING,
    };
    if rounded != size {
        diags.push(Diagnostic::info(format!(
            "{}: {}={}: rounded {} to {rounded}, a multiple of {SIZE_ROUNDING}",
            a.at,
            a.key,
            a.value,
            match round {
                Round::Up => "up",
                Round::Down => "down",
            }
        )));
    }
    Ok(rounded)
}

fn size_problem(e: NumberError) -> &'static str {
    match e {
        NumberError::Invalid => "invalid size",
        NumberError::OutOfRange => "size out of range",
    }
}

/// `VerityDataBlockSizeBytes=`/`VerityHashBlockSizeBytes=`: a power of 2 from 512 to 4096;
/// anything else, even empty, is fatal in v262.
fn verity_block_size(a: &Assignment) -> Result<u64> {
    const FORMS: &str = "512, 1K, 2K or 4K";
    let size = parse_size(a.value).map_err(|e| a.fatal(size_problem(e), FORMS))?;
    if !size.is_power_of_two() {
        return Err(a.fatal("not a power of 2", FORMS));
    }
    if !(512..=4096).contains(&size) {
        return Err(a.fatal("not between 512 and 4096", FORMS));
    }
    Ok(size)
}

/// A path with specifiers, expanded and checked; a warning when unusable.
fn expanded_path(
    a: &Assignment,
    path: &str,
    specifiers: &SpecifierContext,
) -> std::result::Result<String, Diagnostic> {
    const FORMS: &str = "an absolute path without \".\" or \"..\" components";
    let expanded =
        specifier::expand(path, specifiers, PATH_MAX).map_err(|e| a.ignored(e, FORMS))?;
    absolute_path(&expanded)
        .map_err(|problem| a.ignored(format!("\"{expanded}\": {}", problem.describe()), FORMS))
}

/// An optional absolute path (`DefaultSubvolume=`, `BlockDeviceReplace=`); empty resets.
fn optional_path(a: &Assignment, slot: &mut Option<String>, diags: &mut Vec<Diagnostic>) {
    if a.value.is_empty() {
        *slot = None;
        return;
    }
    match absolute_path(a.value) {
        Ok(p) => *slot = Some(p),
        Err(problem) => diags.push(a.ignored(
            problem.describe(),
            "an absolute path without \".\" or \"..\" components",
        )),
    }
}

/// A whitespace-separated list of absolute paths (`ExcludeFiles=`, `MakeDirectories=`, …),
/// appended to `list`; empty resets it. Specifiers are expanded when `specifiers` is given.
/// v262 gives up on `ExcludeFiles=`/`ExcludeFilesTarget=` at the first bad path (the
/// paths before it are kept) but goes on with the next word for `MakeDirectories=`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OnBadPath {
    Stop,
    Continue,
}

fn path_words(
    a: &Assignment,
    list: &mut Vec<String>,
    specifiers: Option<&SpecifierContext>,
    on_bad: OnBadPath,
    diags: &mut Vec<Diagnostic>,
) {
    const FORMS: &str = "whitespace-separated absolute paths, quoted where they contain blanks";
    if a.value.is_empty() {
        list.clear();
        return;
    }
    let Ok(paths) = words(a.value) else {
        return diags.push(a.ignored("bad quoting", FORMS));
    };
    for path in paths {
        let checked = match specifiers {
            Some(s) => expanded_path(a, &path, s),
            None => absolute_path(&path)
                .map_err(|problem| a.ignored(format!("\"{path}\": {}", problem.describe()), FORMS)),
        };
        match checked {
            Ok(p) => list.push(p),
            Err(d) => {
                diags.push(d);
                if on_bad == OnBadPath::Stop {
                    return;
                }
            }
        }
    }
}
