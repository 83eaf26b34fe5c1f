//! Command-line flags, with systemd-repart's names, defaults and checks.
//!
//! Flags that would change what is written and that repart-rs does not implement are
//! refused by name rather than ignored.

use std::ffi::OsString;
use std::path::PathBuf;

use lexopt::prelude::*;
use uuid::Uuid;

use crate::config::size::{SIZE_FORMS, parse_bool, parse_size};
use crate::config::types::{Arch, PartitionType};
use crate::error::{Error, ErrorKind, Result};

/// `--empty=`: what to do with a disk that lacks a partition table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Empty {
    Refuse,
    Allow,
    Require,
    Force,
    Create,
}

/// `--json=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonMode {
    Off,
    Short,
    Pretty,
}

/// `--seed=`: where partition UUIDs come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seed {
    /// The machine ID under `--root` (random when there is none).
    MachineId,
    Random,
    Fixed(Uuid),
}

/// `--size=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeArg {
    Bytes(u64),
    Auto,
}

/// The positional argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// None given: find the disk behind the root file system.
    Discover,
    /// `-` or an empty string: only compute the minimal image size.
    NoDevice,
    /// A block device node or an image file, relative to the host (never to `--root`).
    Path(PathBuf),
}

/// What the invocation asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Run,
    Help,
    Version,
    /// `--list-devices`: print the candidate block devices.
    ListDevices,
}

/// Every option, after validation.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub command: Command,
    pub target: Target,
    pub dry_run: bool,
    pub empty: Empty,
    pub discard: bool,
    pub sector_size: Option<u32>,
    pub grain_size: Option<u64>,
    pub architecture: Option<Arch>,
    pub size: Option<SizeArg>,
    pub seed: Seed,
    pub pretty: Option<bool>,
    pub json: JsonMode,
    pub legend: bool,
    pub factory_reset: Option<bool>,
    pub can_factory_reset: bool,
    /// repart-rs only: after a reset that `FactoryResetRequest` asked for, complete it as
    /// `systemd-factory-reset complete` does (for initrds without systemd).
    pub complete_factory_reset: bool,
    pub root: Option<PathBuf>,
    pub definitions: Vec<PathBuf>,
    pub include_partitions: Option<Vec<PartitionType>>,
    pub exclude_partitions: Option<Vec<PartitionType>>,
    pub defer_partitions: Vec<PartitionType>,
    pub defer_partitions_empty: bool,
    pub defer_partitions_factory_reset: bool,
    /// `--varlink=PATH`: serve Varlink on a socket created at PATH instead of running.
    pub varlink: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            command: Command::Run,
            target: Target::Discover,
            dry_run: true,
            empty: Empty::Refuse,
            discard: true,
            sector_size: None,
            grain_size: None,
            architecture: None,
            size: None,
            seed: Seed::MachineId,
            pretty: None,
            json: JsonMode::Off,
            legend: true,
            factory_reset: None,
            can_factory_reset: false,
            complete_factory_reset: false,
            root: None,
            definitions: Vec::new(),
            include_partitions: None,
            exclude_partitions: None,
            defer_partitions: Vec::new(),
            defer_partitions_empty: false,
            defer_partitions_factory_reset: false,
            varlink: None,
        }
    }
}

/// Flags of systemd-repart 262 that repart-rs does not implement: refused by name.
const UNSUPPORTED: &[&str] = &[
    "image",
    "image-policy",
    "split",
    "private-key",
    "private-key-source",
    "certificate",
    "certificate-source",
    "join-signature",
    "key-file",
    "tpm2-device",
    "tpm2-device-key",
    "tpm2-seal-key-handle",
    "tpm2-pcrs",
    "tpm2-public-key",
    "tpm2-public-key-policyref",
    "tpm2-public-key-pcrs",
    "tpm2-pcrlock",
    "copy-source",
    "copy-from",
    "make-ddi",
    "append-fstab",
    "generate-fstab",
    "generate-crypttab",
    "el-torito",
    "el-torito-system",
    "el-torito-volume",
    "el-torito-publisher",
];

pub const HELP: &str = "\
repart [OPTION...] [DEVICE]

Grow and add partitions to a partition table (a systemd-repart work-alike).

Options:
  -h --help                        Show this help
     --version                     Show package version
     --list-devices                List candidate block devices to operate on
     --varlink=PATH                Serve io.systemd.Repart on a Varlink socket at PATH
     --no-pager                    Do not start a pager (accepted; there is none)
     --no-legend                   Do not show headers and footers

Operation:
  -n                               Run dry-run operation
     --dry-run=BOOL                Whether to run dry-run operation (default: yes)
     --empty=MODE                  How to handle empty disks lacking partition tables
                                   (refuse, allow, require, force, create)
     --offline=BOOL                Accepted; repart-rs never sets up loop devices
     --discard=BOOL                Whether to discard backing blocks for new partitions
     --cow=BOOL|auto               Accepted for compatibility; has no effect
     --sector-size=SIZE            Set the logical sector size for the image
     --grain-size=BYTES            Set the grain size for partition alignment
     --architecture=ARCH           Set the generic architecture for the image
     --size=BYTES|auto             Grow loopback file to specified size
     --seed=UUID|random            128-bit seed UUID to derive all UUIDs from

Output:
     --pretty=BOOL                 Whether to show pretty summary before doing changes
     --json=FORMAT                 Generate JSON output (pretty, short, or off)

Factory Reset:
     --factory-reset=BOOL          Whether to remove data partitions before recreating them
     --can-factory-reset           Test whether factory reset is defined
     --complete-factory-reset=BOOL After a reset requested by the EFI variable
                                   FactoryResetRequest, complete it as
                                   systemd-factory-reset complete does (initrds
                                   without systemd; default: no)

Configuration:
     --root=PATH                   Operate relative to root path
     --definitions=DIR             Find partition definitions in specified directory

Partition Control:
     --include-partitions=PART1,PART2...
                                   Ignore partitions not of the specified types
     --exclude-partitions=PART1,PART2...
                                   Ignore partitions of the specified types
     --defer-partitions=PART1,PART2...
                                   Take partitions of the specified types into account
                                   but don't populate them yet
     --defer-partitions-empty=BOOL Defer all partitions marked for formatting as empty
     --defer-partitions-factory-reset=BOOL
                                   Defer all partitions marked for factory reset
";

fn usage(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Usage, message)
}

/// The value of `--flag=VALUE` (or `--flag VALUE`), as UTF-8.
fn value(parser: &mut lexopt::Parser, flag: &str) -> Result<String> {
    let v = parser
        .value()
        .map_err(|_| usage(format!("option '--{flag}' requires an argument")))?;
    v.into_string().map_err(|v| {
        usage(format!(
            "--{flag}=: not valid UTF-8: {}",
            v.to_string_lossy()
        ))
    })
}

fn boolean(value: &str, flag: &str) -> Result<bool> {
    parse_bool(value).ok_or_else(|| {
        usage(format!(
            "Failed to parse boolean argument to '{flag}=': {value} (accepted: yes/no, true/false, on/off, 1/0)"
        ))
    })
}

fn type_list(value: &str) -> Result<Vec<PartitionType>> {
    value
        .split(',')
        .map(|word| {
            PartitionType::parse(word).ok_or_else(|| {
                usage(format!(
                    "'{word}' is not a valid partition type identifier or GUID"
                ))
            })
        })
        .collect()
}

fn size(value: &str, flag: &str) -> Result<u64> {
    parse_size(value).map_err(|_| {
        usage(format!(
            "Failed to parse {flag}= parameter: {value} (accepted: {SIZE_FORMS})"
        ))
    })
}

/// Parses the arguments (without the program name).
pub fn parse<I: IntoIterator<Item = OsString>>(args: I) -> Result<Options> {
    let mut o = Options::default();
    let mut parser = lexopt::Parser::from_args(args);
    let mut positional: Vec<OsString> = Vec::new();
    while let Some(arg) = parser.next().map_err(|e| usage(e.to_string()))? {
        match arg {
            Short('h') | Long("help") => o.command = Command::Help,
            Long("version") => o.command = Command::Version,
            Long("list-devices") => o.command = Command::ListDevices,
            Long("varlink") => {
                let path = value(&mut parser, "varlink")?;
                if path.is_empty() {
                    return Err(usage(
                        "--varlink= requires the path of the socket to create",
                    ));
                }
                o.varlink = Some(PathBuf::from(path));
            }
            Long("no-pager") => {}
            Long("no-legend") => o.legend = false,
            Short('n') => o.dry_run = true,
            Long("dry-run") => o.dry_run = boolean(&value(&mut parser, "dry-run")?, "--dry-run")?,
            Long("empty") => {
                o.empty = match value(&mut parser, "empty")?.as_str() {
                    "refuse" => Empty::Refuse,
                    "allow" => Empty::Allow,
                    "require" => Empty::Require,
                    "force" => Empty::Force,
                    "create" => {
                        o.dry_run = false;
                        Empty::Create
                    }
                    other => {
                        return Err(usage(format!(
                            "Failed to parse --empty= parameter: {other} (accepted: refuse, allow, require, force, create)"
                        )));
                    }
                }
            }
            Long("offline") => {
                boolean(&value(&mut parser, "offline")?, "--offline")?;
            }
            Long("discard") => o.discard = boolean(&value(&mut parser, "discard")?, "--discard")?,
            Long("cow") => {
                let v = value(&mut parser, "cow")?;
                if v != "auto" {
                    boolean(&v, "--cow")?;
                }
            }
            Long("sector-size") => {
                let v = value(&mut parser, "sector-size")?;
                let size = size(&v, "--sector-size")?;
                if !(512..=4096).contains(&size) || !size.is_power_of_two() {
                    return Err(usage(format!(
                        "Sector size not between 512 and 4096 or not a power of 2: {v}"
                    )));
                }
                o.sector_size = Some(size as u32);
            }
            Long("grain-size") => {
                let size = size(&value(&mut parser, "grain-size")?, "--grain-size")?;
                if size < 512 || !size.is_power_of_two() {
                    return Err(usage("Grain size must be a power of 2 >= 512."));
                }
                o.grain_size = Some(size);
            }
            Long("architecture") => {
                let v = value(&mut parser, "architecture")?;
                o.architecture = Some(
                    Arch::from_name(&v)
                        .ok_or_else(|| usage(format!("Invalid architecture '{v}'.")))?,
                );
            }
            Long("size") => {
                let v = value(&mut parser, "size")?;
                o.size = Some(if v == "auto" {
                    SizeArg::Auto
                } else {
                    SizeArg::Bytes(size(&v, "--size")?)
                });
            }
            Long("seed") => {
                let v = value(&mut parser, "seed")?;
                o.seed = match v.as_str() {
                    "" => Seed::MachineId,
                    "random" => Seed::Random,
                    _ => Seed::Fixed(
                        crate::id128::parse(&v)
                            .ok_or_else(|| usage(format!("Failed to parse seed: {v}")))?,
                    ),
                };
            }
            Long("pretty") => o.pretty = Some(boolean(&value(&mut parser, "pretty")?, "--pretty")?),
            Long("json") => {
                o.json = match value(&mut parser, "json")?.as_str() {
                    "pretty" => JsonMode::Pretty,
                    "short" => JsonMode::Short,
                    "off" => JsonMode::Off,
                    other => {
                        return Err(usage(format!(
                            "Unknown argument to --json= switch: {other} (accepted: pretty, short, off)"
                        )));
                    }
                }
            }
            Long("factory-reset") => {
                o.factory_reset = Some(boolean(
                    &value(&mut parser, "factory-reset")?,
                    "--factory-reset",
                )?)
            }
            Long("can-factory-reset") => o.can_factory_reset = true,
            Long("complete-factory-reset") => {
                o.complete_factory_reset = boolean(
                    &value(&mut parser, "complete-factory-reset")?,
                    "--complete-factory-reset",
                )?
            }
            Long("root") => {
                let v = value(&mut parser, "root")?;
                o.root = if v.is_empty() {
                    None
                } else {
                    Some(PathBuf::from(v))
                };
            }
            Long("definitions") => {
                // An empty value is ignored, as v262 does (it is not a reset).
                let dir = PathBuf::from(value(&mut parser, "definitions")?);
                if !dir.as_os_str().is_empty() && !o.definitions.contains(&dir) {
                    o.definitions.push(dir);
                }
            }
            Long("include-partitions") => {
                o.include_partitions = Some(type_list(&value(&mut parser, "include-partitions")?)?)
            }
            Long("exclude-partitions") => {
                o.exclude_partitions = Some(type_list(&value(&mut parser, "exclude-partitions")?)?)
            }
            Long("defer-partitions") => {
                o.defer_partitions = type_list(&value(&mut parser, "defer-partitions")?)?
            }
            Long("defer-partitions-empty") => {
                o.defer_partitions_empty = boolean(
                    &value(&mut parser, "defer-partitions-empty")?,
                    "--defer-partitions-empty",
                )?
            }
            Long("defer-partitions-factory-reset") => {
                o.defer_partitions_factory_reset = boolean(
                    &value(&mut parser, "defer-partitions-factory-reset")?,
                    "--defer-partitions-factory-reset",
                )?
            }
            Long(flag) if UNSUPPORTED.contains(&flag) => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    format!("--{flag} is not supported by repart-rs"),
                ));
            }
            Short(c @ ('s' | 'S' | 'C' | 'P')) => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    format!("-{c} is not supported by repart-rs"),
                ));
            }
            Value(v) => positional.push(v),
            _ => return Err(usage(arg.unexpected().to_string())),
        }
    }
    if o.command != Command::Run {
        return Ok(o);
    }
    o.target = match positional.len() {
        0 => Target::Discover,
        1 => {
            let p = positional.remove(0);
            if p.is_empty() || p == "-" {
                Target::NoDevice
            } else {
                Target::Path(PathBuf::from(p))
            }
        }
        _ => {
            return Err(usage(
                "Expected at most one argument, the path to the block device or image file.",
            ));
        }
    };
    validate(&mut o)?;
    Ok(o)
}

/// The cross-flag rules systemd-repart enforces, and the architecture remapping of the
/// type lists.
fn validate(o: &mut Options) -> Result<()> {
    if o.factory_reset == Some(true)
        && matches!(o.empty, Empty::Force | Empty::Require | Empty::Create)
    {
        return Err(usage(
            "Combination of --factory-reset=yes and --empty=force/--empty=require/--empty=create is invalid.",
        ));
    }
    if o.include_partitions.is_some() && o.exclude_partitions.is_some() {
        return Err(usage(
            "Combination of --include-partitions= and --exclude-partitions= is invalid.",
        ));
    }
    if o.empty == Empty::Create && o.size.is_none() {
        return Err(usage(
            "If --empty=create is specified, --size= must be specified, too.",
        ));
    }
    if o.target == Target::Discover
        && matches!(o.empty, Empty::Force | Empty::Require | Empty::Create)
    {
        return Err(usage(
            "A path to a device node or image file must be specified when --empty=force, --empty=require or --empty=create are used.",
        ));
    }
    if o.can_factory_reset {
        o.dry_run = true;
    }
    if o.json != JsonMode::Off && o.pretty.is_none() {
        o.pretty = Some(false);
    }
    if let Some(arch) = o.architecture {
        let remap = |list: &mut Vec<PartitionType>| {
            for t in list.iter_mut() {
                *t = t.for_arch(arch);
            }
        };
        o.include_partitions.as_mut().map(remap);
        o.exclude_partitions.as_mut().map(remap);
        remap(&mut o.defer_partitions);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_args(args: &[&str]) -> Result<Options> {
        parse(args.iter().map(OsString::from))
    }

    #[test]
    fn defaults_match_systemd_repart() {
        let o = parse_args(&[]).unwrap();
        assert!(o.dry_run && o.discard && o.legend);
        assert_eq!(o.empty, Empty::Refuse);
        assert_eq!(o.target, Target::Discover);
        assert_eq!(o.seed, Seed::MachineId);
        assert_eq!(o.json, JsonMode::Off);
    }

    #[test]
    fn parses_a_typical_run() {
        let o = parse_args(&[
            "--dry-run=no",
            "--empty=allow",
            "--seed=e2f1a58f-2c2a-4a4b-9f3e-7c1c0de5a5a1",
            "--definitions=a",
            "--definitions=b",
            "--definitions=a",
            "--json=short",
            "--complete-factory-reset=yes",
            "--sector-size=4096",
            "--grain-size=1M",
            "disk.img",
        ])
        .unwrap();
        assert!(!o.dry_run);
        assert_eq!(o.empty, Empty::Allow);
        assert_eq!(o.definitions, vec![PathBuf::from("a"), PathBuf::from("b")]);
        assert_eq!(o.target, Target::Path("disk.img".into()));
        assert_eq!(o.sector_size, Some(4096));
        assert_eq!(o.grain_size, Some(1 << 20));
        assert_eq!(o.pretty, Some(false));
        assert!(matches!(o.seed, Seed::Fixed(_)));
        assert!(o.complete_factory_reset);
    }

    #[test]
    fn refuses_bad_and_unsupported_flags() {
        for args in [
            &["--dry-run"][..],
            &["--dry-run=maybe"],
            &["--empty=create", "x.img"],
            &["--empty=force"],
            &["--factory-reset=yes", "--empty=force", "x"],
            &["--include-partitions=root", "--exclude-partitions=home"],
            &["--sector-size=8192"],
            &["--sector-size=1000"],
            &["--grain-size=256"],
            &["--size=1X"],
            &["a", "b"],
            &["--json=foo"],
            &["--seed=xyz"],
            &["--architecture=aarch64"],
            &["--include-partitions=foo"],
            &["--frobnicate"],
            &["--split=yes"],
            &["--image=x.img"],
            &["-S"],
        ] {
            assert!(parse_args(args).is_err(), "{args:?} was accepted");
        }
        let e = parse_args(&["--make-ddi=sysext"]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert!(e.to_string().contains("--make-ddi"));
    }

    #[test]
    fn dash_means_no_device_and_create_implies_a_real_run() {
        assert_eq!(parse_args(&["-"]).unwrap().target, Target::NoDevice);
        let o = parse_args(&["--empty=create", "--size=1G", "new.img"]).unwrap();
        assert!(!o.dry_run);
        assert_eq!(o.size, Some(SizeArg::Bytes(1 << 30)));
        assert_eq!(
            parse_args(&["--size=auto", "x.img"]).unwrap().size,
            Some(SizeArg::Auto)
        );
    }

    #[test]
    fn list_devices_and_varlink_socket() {
        assert_eq!(
            parse_args(&["--list-devices"]).unwrap().command,
            Command::ListDevices
        );
        let o = parse_args(&["--varlink=/run/repart-rs/io.systemd.Repart"]).unwrap();
        assert_eq!(
            o.varlink.as_deref(),
            Some(std::path::Path::new("/run/repart-rs/io.systemd.Repart"))
        );
        assert_eq!(o.command, Command::Run);
        assert!(parse_args(&["--varlink="]).is_err());
        assert!(parse_args(&["--varlink"]).is_err());
    }

    #[test]
    fn architecture_remaps_the_type_lists() {
        let o = parse_args(&["--architecture=arm64", "--defer-partitions=root,home"]).unwrap();
        let names: Vec<_> = o.defer_partitions.iter().map(|t| t.name()).collect();
        assert_eq!(names, [Some("root-arm64"), Some("home")]);
    }
}
