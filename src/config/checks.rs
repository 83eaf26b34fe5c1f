//! v262's defaults and consistency checks, for one definition after all its drop-ins
//! ([`finish`]) and across all definitions ([`check_all`]).
//!
//! Order matters and follows v262 as measured: the combinations that involve an explicit
//! `Format=` are checked first, then the implied formats are filled in (`swap` for
//! Type=swap, ext4 or vfat when files are to be written or the partition is encrypted), and
//! only then come the checks that see the implied format (`Minimize=`, `Verity=hash`).
//!
//! v262 names line 1 of the main file in all these messages; we name the line of the key
//! at fault, which is more useful and points into the right drop-in.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::Diagnostic;
use super::content::filename_is_valid;
use super::definition::{ContentKey, Definition, Encrypt, Location, Minimize, Verity};
use super::parse::{Draft, FormatSetting, ParseContext, Source};
use super::types::{Designator, PartitionType};
use crate::error::{Error, ErrorKind, Result};

/// Where each key of a definition was last set, for messages about combinations.
pub(super) type KeyLines = BTreeMap<&'static str, Location>;

/// The definition's file with the line of `key` if it was set, else line 1 (as v262 names
/// every combination error).
fn at(lines: &KeyLines, display: &str, key: &str) -> Location {
    lines.get(key).cloned().unwrap_or_else(|| Location {
        file: PathBuf::from(display),
        line: 1,
    })
}

fn config_error(at: &Location, message: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Config, format!("{at}: {message}"))
}

/// File systems v262 can only create populated and read-only (`Minimize=best` works).
fn is_read_only_fs(fs: &str) -> bool {
    matches!(fs, "squashfs" | "erofs")
}

/// Applies v262's defaults to a parsed definition and checks it on its own.
pub(super) fn finish(
    draft: Draft,
    main: &Source,
    dropins: &[Source],
    ctx: &ParseContext,
    diags: &mut Vec<Diagnostic>,
) -> Result<(Definition, KeyLines)> {
    let lines = draft.set_at.clone();
    let display = main.display;
    let at = |key: &str| at(&lines, display, key);

    let mut partition_type = draft.partition_type.ok_or_else(|| {
        Error::new(
            ErrorKind::Config,
            format!("{display}: Type= is not set, neither in the file nor in its drop-ins"),
        )
    })?;
    if let Some(arch) = ctx.architecture {
        partition_type = partition_type.for_arch(arch);
    }

    if draft.verity == Verity::Signature && (draft.size_min.is_some() || draft.size_max.is_some()) {
        let key = if draft.size_min.is_some() {
            "SizeMinBytes"
        } else {
            "SizeMaxBytes"
        };
        return Err(config_error(
            &at(key),
            "SizeMinBytes=/SizeMaxBytes= cannot be used with Verity=signature (its size is fixed)",
        ));
    }
    // A minimum that rounded up to u64::MAX is v262's "unset".
    let size_min = draft.size_min.filter(|m| *m != u64::MAX);
    let padding_min = draft.padding_min.filter(|m| *m != u64::MAX);
    if let (Some(min), Some(max)) = (size_min, draft.size_max) {
        if min > max {
            return Err(config_error(
                &at("SizeMaxBytes"),
                format!(
                    "SizeMinBytes= ({min}) is larger than SizeMaxBytes= ({max}), after rounding both to 4096"
                ),
            ));
        }
    }
    if let (Some(min), Some(max)) = (padding_min, draft.padding_max) {
        if min > max {
            return Err(config_error(
                &at("PaddingMaxBytes"),
                format!(
                    "PaddingMinBytes= ({min}) is larger than PaddingMaxBytes= ({max}), after rounding both to 4096"
                ),
            ));
        }
    }

    let populate_key = populate_key(&draft);
    check_explicit_format(&draft, populate_key, &at)?;
    let format = implied_format(&draft, partition_type, populate_key.is_some());
    check_content(&draft, &format, populate_key, &at, diags)?;

    let mut definition = Definition::new(main.path.to_owned(), partition_type);
    definition.display_path = display.to_owned();
    definition.dropins = dropins.iter().map(|d| d.path.to_owned()).collect();
    definition.label = draft.label.clone();
    definition.uuid = draft.uuid;
    definition.priority = draft.priority;
    definition.weight = draft.weight.unwrap_or(1000);
    definition.padding_weight = draft.padding_weight;
    definition.size_min = size_min;
    definition.size_max = draft.size_max;
    definition.padding_min = padding_min;
    definition.padding_max = draft.padding_max;
    definition.factory_reset = draft.factory_reset;
    definition.flags = draft.flags;
    definition.split_name = match &draft.split_name {
        None => Some("%t".to_owned()),
        Some(name) => name.clone(),
    };
    definition.supplement_for = draft.supplement_for.clone();
    definition.copy_blocks = draft.copy_blocks.clone();
    definition.encrypt = draft.encrypt;
    definition.verity = draft.verity;
    definition.verity_match_key = draft.verity_match_key.clone();
    definition.minimize = draft.minimize;
    definition.fs_sector_size = draft.fs_sector_size;
    definition.format = match &format {
        FormatSetting::Unset => None,
        FormatSetting::Empty => Some("empty".to_owned()),
        FormatSetting::Fs(fs) => Some(fs.clone()),
    };
    apply_flag_defaults(&mut definition, &draft, &format, &at, diags);
    let mut content: Vec<_> = draft.content.iter().collect();
    content.sort_by_key(|(_, (seq, _))| *seq);
    definition.content_keys = content
        .into_iter()
        .map(|(key, (_, at))| ContentKey {
            key,
            at: at.clone(),
        })
        .collect();
    Ok((definition, lines))
}

/// The first key (in a fixed order) that asks for files to be written into a new file
/// system: v262's "populate" (CopyFiles=, MakeDirectories=, MakeSymlinks=, AddValidateFS=yes).
fn populate_key(draft: &Draft) -> Option<&'static str> {
    if !draft.copy_files.is_empty() {
        Some("CopyFiles")
    } else if !draft.make_directories.is_empty() {
        Some("MakeDirectories")
    } else if !draft.make_symlinks.is_empty() {
        Some("MakeSymlinks")
    } else if draft.add_validate_fs == Some(true) {
        Some("AddValidateFS")
    } else {
        None
    }
}

/// The combinations v262 refuses before it fills in implied formats.
fn check_explicit_format(
    draft: &Draft,
    populate: Option<&'static str>,
    at: &impl Fn(&str) -> Location,
) -> Result<()> {
    if draft.copy_blocks.is_some() && (draft.format != FormatSetting::Unset || populate.is_some()) {
        let other = if draft.format != FormatSetting::Unset {
            "Format"
        } else {
            populate.unwrap_or("Format")
        };
        return Err(config_error(
            &at("CopyBlocks"),
            format!(
                "CopyBlocks= cannot be combined with {other}= (set at line {})",
                at(other).line
            ),
        ));
    }
    if let Some(key) = populate {
        let clash = match &draft.format {
            FormatSetting::Fs(fs) if fs == "swap" => Some("Format=swap"),
            // v262 aborts on an assertion here; refusing is the sensible outcome.
            FormatSetting::Empty => Some("Format=empty"),
            _ => None,
        };
        if let Some(clash) = clash {
            return Err(config_error(
                &at("Format"),
                format!(
                    "{clash} cannot be combined with {key}= (set at line {}): there is no file system to write files into",
                    at(key).line
                ),
            ));
        }
    }
    Ok(())
}

/// `Format=` after v262's implications.
fn implied_format(draft: &Draft, partition_type: PartitionType, populate: bool) -> FormatSetting {
    if draft.format != FormatSetting::Unset || draft.copy_blocks.is_some() {
        return draft.format.clone();
    }
    if partition_type.designator() == Some(Designator::Swap) {
        return FormatSetting::Fs("swap".to_owned());
    }
    if populate || draft.encrypt != Encrypt::Off {
        let fs = match partition_type.designator() {
            Some(Designator::Esp | Designator::Xbootldr) => "vfat",
            _ => "ext4",
        };
        return FormatSetting::Fs(fs.to_owned());
    }
    FormatSetting::Unset
}

/// The per-definition combination checks that see the implied format.
fn check_content(
    draft: &Draft,
    format: &FormatSetting,
    populate: Option<&'static str>,
    at: &impl Fn(&str) -> Location,
    diags: &mut Vec<Diagnostic>,
) -> Result<()> {
    let fs = match format {
        FormatSetting::Fs(fs) => Some(fs.as_str()),
        FormatSetting::Unset | FormatSetting::Empty => None,
    };
    if draft.minimize != Minimize::Off && draft.verity != Verity::Hash {
        match fs {
            None => {
                return Err(config_error(
                    &at("Minimize"),
                    "Minimize= needs Format= (or one that is implied) or Verity=hash",
                ));
            }
            Some(fs)
                if draft.minimize == Minimize::Best && !is_read_only_fs(fs) && fs != "btrfs" =>
            {
                return Err(config_error(
                    &at("Minimize"),
                    format!(
                        "Minimize=best works only with squashfs, erofs, btrfs or Verity=hash, not with {fs}"
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    // A read-only file system is built from its source files. AddValidateFS= defaults to
    // yes for such file systems and counts as something to write (measured: only an
    // explicit AddValidateFS=no without files fails).
    if let Some(fs) = fs.filter(|fs| is_read_only_fs(fs)) {
        if populate.is_none() && draft.add_validate_fs == Some(false) {
            return Err(config_error(
                &at("Format"),
                format!(
                    "Format={fs} needs something to put in it (CopyFiles=, MakeDirectories=, \
                     MakeSymlinks=), or AddValidateFS= not set to no"
                ),
            ));
        }
    }
    match (draft.verity, &draft.verity_match_key) {
        (Verity::Off, Some(_)) => {
            return Err(config_error(
                &at("VerityMatchKey"),
                "VerityMatchKey= needs Verity= to be data, hash or signature",
            ));
        }
        (Verity::Data | Verity::Hash | Verity::Signature, None) => {
            return Err(config_error(
                &at("Verity"),
                "Verity= needs VerityMatchKey= to find its sibling partitions",
            ));
        }
        _ => {}
    }
    if matches!(draft.verity, Verity::Hash | Verity::Signature) {
        let what = match (fs, populate) {
            (Some(fs), _) => Some(format!("Format={fs} (given or implied)")),
            (None, Some(key)) => Some(format!("{key}=")),
            (None, None) => None,
        };
        if let Some(what) = what {
            return Err(config_error(
                &at("Verity"),
                format!("Verity=hash and Verity=signature partitions hold verity data, not {what}"),
            ));
        }
    }
    if draft.integrity_inline {
        if draft.encrypt == Encrypt::Off {
            return Err(config_error(
                &at("Integrity"),
                "Integrity=inline needs Encrypt=",
            ));
        }
        if draft.discard == Some(true) {
            return Err(config_error(
                &at("Integrity"),
                "Integrity=inline cannot be combined with Discard=yes",
            ));
        }
    }
    if let Some(default) = &draft.default_subvolume {
        if !draft.subvolumes.contains(default) {
            return Err(config_error(
                &at("DefaultSubvolume"),
                format!("DefaultSubvolume={default} is not one of the paths in Subvolumes="),
            ));
        }
    }
    if let Some(name) = &draft.volume_name {
        if !filename_is_valid(name) {
            return Err(config_error(
                &at("VolumeName"),
                format!("VolumeName={name} is not a valid file name"),
            ));
        }
        if draft.encrypt == Encrypt::Off {
            return Err(config_error(
                &at("VolumeName"),
                "VolumeName= needs Encrypt=",
            ));
        }
        if draft.block_device_replace.is_none() {
            return Err(config_error(
                &at("VolumeName"),
                "VolumeName= needs BlockDeviceReplace=",
            ));
        }
    }
    if let Some(target) = &draft.supplement_for {
        if !filename_is_valid(target) {
            return Err(config_error(
                &at("SupplementFor"),
                format!(
                    "SupplementFor={target}: not a definition name (a file name without .conf)"
                ),
            ));
        }
    }
    if draft.encrypt == Encrypt::Off {
        if draft.encrypt_kdf.is_some() {
            diags.push(Diagnostic::info(format!(
                "{}: EncryptKDF= has no effect with Encrypt=off",
                at("EncryptKDF")
            )));
        }
        if draft.discard == Some(true) {
            diags.push(Diagnostic::info(format!(
                "{}: Discard=yes has no effect with Encrypt=off",
                at("Discard")
            )));
        }
    }
    Ok(())
}

/// The `_empty` label and the NoAuto=/ReadOnly=/GrowFileSystem= defaults of v262, then the
/// warning for a flag the type does not have (the setting is dropped).
fn apply_flag_defaults(
    definition: &mut Definition,
    draft: &Draft,
    format: &FormatSetting,
    at: &impl Fn(&str) -> Location,
    diags: &mut Vec<Diagnostic>,
) {
    let t = definition.partition_type;
    if *format == FormatSetting::Empty {
        definition.label.get_or_insert_with(|| "_empty".to_owned());
        if draft.no_auto.is_none() && t.knows_no_auto() {
            definition.no_auto = Some(true);
        } else {
            definition.no_auto = draft.no_auto;
        }
    } else {
        definition.no_auto = draft.no_auto;
    }
    definition.read_only = draft.read_only;
    if definition.read_only.is_none()
        && (t.is_verity() || matches!(draft.verity, Verity::Data | Verity::Signature))
    {
        definition.read_only = Some(true);
    }
    // v262 sets this whenever the type has the flag and ReadOnly is not yes, overriding an
    // explicit GrowFileSystem=no (measured: the flag stays set).
    definition.grow_file_system = if t.knows_grow_fs() && definition.read_only != Some(true) {
        Some(true)
    } else {
        draft.grow_file_system
    };
    let name = t.name().map_or_else(|| t.uuid.to_string(), str::to_owned);
    let checks: [(&str, &mut Option<bool>, bool); 3] = [
        ("NoAuto", &mut definition.no_auto, t.knows_no_auto()),
        ("ReadOnly", &mut definition.read_only, t.knows_read_only()),
        (
            "GrowFileSystem",
            &mut definition.grow_file_system,
            t.knows_grow_fs(),
        ),
    ];
    for (key, value, known) in checks {
        if let (Some(v), false) = (*value, known) {
            diags.push(Diagnostic::warn(format!(
                "{}: {key}={}: partition type {name} has no such flag, ignoring",
                at(key),
                if v { "yes" } else { "no" }
            )));
            *value = None;
        }
    }
}

/// The checks across definitions: verity siblings and `SupplementFor=`.
pub(super) fn check_all(definitions: &[(Definition, KeyLines)]) -> Result<()> {
    check_verity_siblings(definitions)?;
    check_supplements(definitions)
}

fn verity_name(v: Verity) -> &'static str {
    match v {
        Verity::Off => "off",
        Verity::Data => "data",
        Verity::Hash => "hash",
        Verity::Signature => "signature",
    }
}

fn check_verity_siblings(definitions: &[(Definition, KeyLines)]) -> Result<()> {
    for (i, (d, lines)) in definitions.iter().enumerate() {
        let Some(key) = d
            .verity_match_key
            .as_deref()
            .filter(|_| d.verity != Verity::Off)
        else {
            continue;
        };
        let here = at(lines, &d.display_path, "VerityMatchKey");
        let siblings: Vec<&Definition> = definitions
            .iter()
            .enumerate()
            .filter(|(j, (s, _))| {
                *j != i && s.verity != Verity::Off && s.verity_match_key.as_deref() == Some(key)
            })
            .map(|(_, (s, _))| s)
            .collect();
        for wanted in [Verity::Data, Verity::Hash, Verity::Signature] {
            if wanted == d.verity {
                continue;
            }
            let found: Vec<&&Definition> = siblings.iter().filter(|s| s.verity == wanted).collect();
            let problem = match found.len() {
                0 if wanted != Verity::Signature => "no",
                0 | 1 => continue,
                _ => "more than one",
            };
            return Err(config_error(
                &here,
                format!(
                    "there is {problem} Verity={} partition with VerityMatchKey={key} for this Verity={} partition",
                    verity_name(wanted),
                    verity_name(d.verity)
                ),
            ));
        }
        for s in &siblings {
            if s.priority != d.priority {
                return Err(config_error(
                    &here,
                    format!(
                        "Priority={} differs from Priority={} of its verity sibling {} (VerityMatchKey={key})",
                        d.priority, s.priority, s.display_path
                    ),
                ));
            }
        }
        if d.verity == Verity::Hash {
            let data = siblings.iter().find(|s| s.verity == Verity::Data);
            if let Some(data) = data {
                if d.minimize != Minimize::Off
                    && data.copy_blocks.is_none()
                    && data.minimize == Minimize::Off
                {
                    return Err(config_error(
                        &at(lines, &d.display_path, "Minimize"),
                        format!(
                            "Minimize= on a Verity=hash partition needs CopyBlocks= or Minimize= on its data partition {}",
                            data.display_path
                        ),
                    ));
                }
                if d.copy_blocks.is_some() && data.copy_blocks.is_none() {
                    return Err(config_error(
                        &at(lines, &d.display_path, "CopyBlocks"),
                        format!(
                            "CopyBlocks= on a Verity=hash partition needs CopyBlocks= on its data partition {}",
                            data.display_path
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

fn check_supplements(definitions: &[(Definition, KeyLines)]) -> Result<()> {
    let mut supplemented_by: Vec<Option<&Path>> = vec![None; definitions.len()];
    for (i, (d, lines)) in definitions.iter().enumerate() {
        let Some(target_name) = &d.supplement_for else {
            continue;
        };
        let here = at(lines, &d.display_path, "SupplementFor");
        let Some(t) = definitions
            .iter()
            .enumerate()
            .position(|(j, (t, _))| j != i && t.name == *target_name)
        else {
            return Err(config_error(
                &here,
                format!("SupplementFor={target_name}: there is no definition {target_name}.conf"),
            ));
        };
        let target = &definitions[t].0;
        if target.supplement_for.is_some() {
            return Err(config_error(
                &here,
                format!(
                    "SupplementFor={target_name}: {} is itself a supplement",
                    target.display_path
                ),
            ));
        }
        if let Some(other) = supplemented_by[t] {
            return Err(config_error(
                &here,
                format!(
                    "SupplementFor={target_name}: {} already has the supplement {}",
                    target.display_path,
                    other.display()
                ),
            ));
        }
        supplemented_by[t] = Some(&d.path);
        let uses_content = |x: &Definition| {
            x.copy_blocks.is_some() || x.encrypt != Encrypt::Off || x.verity != Verity::Off
        };
        if uses_content(d) {
            return Err(config_error(
                &here,
                "SupplementFor= cannot be combined with CopyBlocks=, Encrypt= or Verity=",
            ));
        }
        if uses_content(target) {
            return Err(config_error(
                &here,
                format!(
                    "SupplementFor={target_name}: {} uses CopyBlocks=, Encrypt= or Verity=",
                    target.display_path
                ),
            ));
        }
        let larger = |a: Option<u64>, b: Option<u64>| a.max(b);
        let smaller = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let merged = [
            (
                "SizeMinBytes",
                "SizeMaxBytes",
                larger(d.size_min, target.size_min),
                smaller(d.size_max, target.size_max),
            ),
            (
                "PaddingMinBytes",
                "PaddingMaxBytes",
                larger(d.padding_min, target.padding_min),
                smaller(d.padding_max, target.padding_max),
            ),
        ];
        for (min_key, max_key, min, max) in merged {
            if let (Some(min), Some(max)) = (min, max) {
                if min > max {
                    return Err(config_error(
                        &here,
                        format!(
                            "merged with {}, {min_key}= ({min}) is larger than {max_key}= ({max})",
                            target.display_path
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}
