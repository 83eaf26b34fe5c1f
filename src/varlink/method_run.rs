//! `io.systemd.Repart.Run`: the same run as the command line's, with the parameters in
//! place of the disk, `--empty=`, `--dry-run=`, `--seed=`, `--definitions=` and
//! `--defer-partitions-*=`. The other flags the process was started with still apply, and
//! the factory-reset logic (flag, kernel command line, EFI variables) is ignored, as in
//! v262. Nothing goes to stdout; the phases go to the caller when it asked for `more`.

use std::path::{Component, Path, PathBuf};

use log::{error, info};

use crate::cli::{Command, Empty, JsonMode, Options, Seed, Target};
use crate::error::{Error, ErrorKind, Result};
use crate::json::Object;
use crate::plan::Shortfall;
use crate::run::progress::{Phase, Progress};
use crate::run::{self, Finished};

use super::errno;
use super::params::{self, Field, Kind};
use super::reply::Replier;
use super::wire;

/// The parameters of `Run`, in v262's order.
const FIELDS: &[Field] = &[
    Field {
        name: "node",
        kind: Kind::OptionalString,
        mandatory: false,
    },
    Field {
        name: "empty",
        kind: Kind::Enum(&["refuse", "allow", "require", "force"]),
        mandatory: true,
    },
    Field {
        name: "dryRun",
        kind: Kind::Bool,
        mandatory: true,
    },
    Field {
        name: "seed",
        kind: Kind::OptionalString,
        mandatory: false,
    },
    Field {
        name: "definitions",
        kind: Kind::StringArray,
        mandatory: false,
    },
    Field {
        name: "deferPartitionsEmpty",
        kind: Kind::OptionalBool,
        mandatory: false,
    },
    Field {
        name: "deferPartitionsFactoryReset",
        kind: Kind::OptionalBool,
        mandatory: false,
    },
];

/// The longest path accepted (`PATH_MAX` less the NUL) and path component (`NAME_MAX`).
const PATH_MAX: usize = 4095;
const NAME_MAX: usize = 255;

/// A checked `Run` call.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub node: Option<PathBuf>,
    pub empty: Empty,
    pub dry_run: bool,
    pub seed: Option<uuid::Uuid>,
    pub definitions: Option<Vec<PathBuf>>,
    pub defer_empty: Option<bool>,
    pub defer_factory_reset: Option<bool>,
}

impl Request {
    /// Checks the parameters as v262 does: types, mandatory and unknown fields first, then
    /// the seed, the definition directories (absolute and normalized) and a real run without
    /// a node. The error is the name of the offending parameter.
    pub fn parse(parameters: &Object) -> std::result::Result<Request, &str> {
        if let Some(bad) = params::check(parameters, FIELDS) {
            return Err(bad);
        }
        let empty = match params::string(parameters, "empty") {
            Some("allow") => Empty::Allow,
            Some("require") => Empty::Require,
            Some("force") => Empty::Force,
            _ => Empty::Refuse,
        };
        let dry_run = params::boolean(parameters, "dryRun").unwrap_or(true);
        let seed = match params::string(parameters, "seed") {
            None => None,
            Some(text) => Some(crate::id128::parse(text).ok_or("seed")?),
        };
        let definitions = match params::strings(parameters, "definitions") {
            None => None,
            Some(dirs) => {
                if !dirs.iter().all(|d| is_normalized_absolute(d)) {
                    return Err("definitions");
                }
                let mut unique: Vec<PathBuf> = Vec::new();
                for dir in dirs.into_iter().map(PathBuf::from) {
                    if !unique.contains(&dir) {
                        unique.push(dir);
                    }
                }
                Some(unique)
            }
        };
        let node = params::string(parameters, "node").map(node_path);
        if node.is_none() && !dry_run {
            return Err("dryRun");
        }
        Ok(Request {
            node,
            empty,
            dry_run,
            seed,
            definitions,
            defer_empty: params::boolean(parameters, "deferPartitionsEmpty"),
            defer_factory_reset: params::boolean(parameters, "deferPartitionsFactoryReset"),
        })
    }

    /// The options of the run: the process's, with the call's in their place, no output,
    /// and no factory reset.
    pub fn options(&self, base: &Options) -> Options {
        let mut o = base.clone();
        o.command = Command::Run;
        o.target = self.node.clone().map_or(Target::NoDevice, Target::Path);
        o.empty = self.empty;
        o.dry_run = self.dry_run;
        if let Some(seed) = self.seed {
            o.seed = Seed::Fixed(seed);
        }
        if let Some(dirs) = &self.definitions {
            o.definitions = dirs.clone();
        }
        if let Some(defer) = self.defer_empty {
            o.defer_partitions_empty = defer;
        }
        if let Some(defer) = self.defer_factory_reset {
            o.defer_partitions_factory_reset = defer;
        }
        o.size = None;
        o.pretty = Some(false);
        o.json = JsonMode::Off;
        o.factory_reset = Some(false);
        o.can_factory_reset = false;
        o
    }
}

/// A node as given, without trailing slashes (v262 accepts `/path/disk.img/`).
fn node_path(text: &str) -> PathBuf {
    let trimmed = text.trim_end_matches('/');
    PathBuf::from(if trimmed.is_empty() && !text.is_empty() {
        "/"
    } else {
        trimmed
    })
}

/// Whether `text` is an absolute path without `.`, `..` or empty components (one trailing
/// slash is fine), within the kernel's length limits: what v262 accepts as a definitions
/// directory.
fn is_normalized_absolute(text: &str) -> bool {
    let Some(rest) = text.strip_prefix('/') else {
        return false;
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    text.len() <= PATH_MAX
        && (rest.is_empty()
            || rest
                .split('/')
                .all(|c| !c.is_empty() && c != "." && c != ".." && c.len() <= NAME_MAX))
        && Path::new(text)
            .components()
            .all(|c| matches!(c, Component::RootDir | Component::Normal(_)))
}

/// Answers a `Run` call.
pub fn call(r: &Replier, parameters: &Object, base: &Options) -> Result<()> {
    let request = match Request::parse(parameters) {
        Ok(request) => request,
        Err(name) => return r.invalid_parameter(name),
    };
    if request.node.as_deref() == Some(Path::new("")) {
        // v262 fails to open "" with EINVAL.
        let e = Error::io("opening the node \"\"", rustix::io::Errno::INVAL);
        return r.error("io.systemd.System", errno::system_error(&e));
    }
    let options = request.options(base);
    let mut follow = Follow { replier: r };
    match run::execute(&options, &mut follow) {
        Ok(Finished::MinimalSize(size)) => r.finish(Object::new().with("minimalSizeBytes", size)),
        Ok(Finished::DryRun {
            minimal_size,
            current_size,
            partition_count,
        }) => {
            let mut reply = Object::new()
                .with("minimalSizeBytes", minimal_size)
                .with("currentSizeBytes", current_size);
            if let Some(count) = partition_count {
                reply.insert("partitionCount", count as u64);
            }
            r.finish(reply)
        }
        Ok(Finished::Applied | Finished::Status(_)) => r.finish(Object::new()),
        Ok(Finished::DoesNotFit(shortfall)) => {
            error!("{}", Error::from(shortfall.clone()));
            let (name, parameters) = does_not_fit(&shortfall);
            r.error(name, parameters)
        }
        Err(e) if e.kind() == ErrorKind::NoTable => {
            info!("{e}");
            r.error(
                "io.systemd.Repart.ConflictingDiskLabelPresent",
                Object::new(),
            )
        }
        Err(e) => {
            error!("{e}");
            r.error("io.systemd.System", errno::system_error(&e))
        }
    }
}

/// v262's error for partitions that do not fit: `DiskTooSmall` when even an empty disk would
/// be too small, else `InsufficientFreeSpace` (with `needFreeBytes` only when not zero).
pub fn does_not_fit(s: &Shortfall) -> (&'static str, Object) {
    if s.disk_too_small() {
        return (
            "io.systemd.Repart.DiskTooSmall",
            Object::new()
                .with("currentSizeBytes", s.disk_size)
                .with("minimalSizeBytes", s.minimal_size),
        );
    }
    let mut parameters = Object::new().with("currentSizeBytes", s.disk_size);
    if s.need_free() != 0 {
        parameters.insert("needFreeBytes", s.need_free());
    }
    parameters.insert("minimalSizeBytes", s.minimal_size);
    ("io.systemd.Repart.InsufficientFreeSpace", parameters)
}

/// Sends the phases to a caller that asked for `more`, and stops the run (before anything is
/// written) when the caller is gone, unless it asked for no reply at all.
struct Follow<'r, 'c> {
    replier: &'r Replier<'c>,
}

impl Progress for Follow<'_, '_> {
    fn phase(&mut self, phase: Phase, object: Option<&str>) -> Result<()> {
        if !self.replier.oneway() && self.replier.connection().peer_gone() {
            return Err(wire::disconnected());
        }
        let mut parameters = Object::new().with("phase", phase.name());
        if let Some(object) = object {
            parameters.insert("object", object);
        }
        self.replier.progress(parameters)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{self, Value};

    fn parse(text: &str) -> std::result::Result<Request, String> {
        let value = json::parse(text.as_bytes()).unwrap();
        Request::parse(value.as_object().unwrap()).map_err(str::to_owned)
    }

    /// Each case was answered so by v262.
    #[test]
    fn checks_parameters_in_v262_order() {
        for (params, bad) in [
            (r#"{"empty":"allow","dryRun":false}"#, "dryRun"),
            (r#"{"empty":"allow","dryRun":true,"seed":"random"}"#, "seed"),
            (r#"{"empty":"allow","dryRun":true,"seed":""}"#, "seed"),
            (r#"{"empty":"create","dryRun":true}"#, "empty"),
            (r#"{"seed":"x","empty":"allow","dryRun":false}"#, "seed"),
            (
                r#"{"seed":"x","definitions":["rel"],"empty":"allow","dryRun":true}"#,
                "seed",
            ),
            (
                r#"{"definitions":["rel"],"empty":"bogus","dryRun":true}"#,
                "empty",
            ),
            (
                r#"{"frob":1,"definitions":["rel"],"empty":"allow","dryRun":true}"#,
                "frob",
            ),
            (
                r#"{"seed":"x","node":5,"empty":"allow","dryRun":true}"#,
                "node",
            ),
            (
                r#"{"empty":"allow","dryRun":true,"definitions":["/a","rel"]}"#,
                "definitions",
            ),
        ] {
            assert_eq!(parse(params).unwrap_err(), bad, "{params}");
        }
    }

    #[test]
    fn definitions_must_be_absolute_and_normalized() {
        for good in ["/", "/tmp/defs", "/tmp/defs/", "/tmp/de\nfs"] {
            assert!(is_normalized_absolute(good), "{good:?}");
        }
        let long_name = format!("/{}", "a".repeat(256));
        let long_path = "/aaaa".repeat(1000);
        for bad in [
            "",
            "rel",
            "//tmp/defs",
            "/tmp//defs",
            "/tmp/./defs",
            "/tmp/defs/..",
            "/tmp/defs//",
            long_name.as_str(),
            long_path.as_str(),
        ] {
            assert!(!is_normalized_absolute(bad), "{bad:?}");
        }
    }

    #[test]
    fn becomes_options_for_the_shared_run() {
        let request = parse(
            r#"{"node":"/tmp/d.img/","empty":"force","dryRun":false,"seed":"e2f1a58f2c2a4a4b9f3e7c1c0de5a5a1","definitions":["/a","/b","/a"],"deferPartitionsEmpty":true,"deferPartitionsFactoryReset":null}"#,
        )
        .unwrap();
        assert_eq!(request.node.as_deref(), Some(Path::new("/tmp/d.img")));
        let base = Options {
            json: JsonMode::Pretty,
            factory_reset: Some(true),
            grain_size: Some(1 << 20),
            defer_partitions_factory_reset: true,
            ..Options::default()
        };
        let o = request.options(&base);
        assert_eq!(o.target, Target::Path(PathBuf::from("/tmp/d.img")));
        assert_eq!(o.empty, Empty::Force);
        assert!(!o.dry_run);
        assert!(matches!(o.seed, Seed::Fixed(_)));
        assert_eq!(o.definitions, [PathBuf::from("/a"), PathBuf::from("/b")]);
        assert!(o.defer_partitions_empty && o.defer_partitions_factory_reset);
        assert_eq!(
            (o.json, o.pretty, o.factory_reset),
            (JsonMode::Off, Some(false), Some(false))
        );
        assert_eq!(o.grain_size, Some(1 << 20));

        let request = parse(r#"{"empty":"refuse","dryRun":true,"node":null}"#).unwrap();
        assert_eq!(request.options(&base).target, Target::NoDevice);
        assert_eq!(node_path("/"), PathBuf::from("/"));
        assert_eq!(node_path(""), PathBuf::from(""));
    }

    #[test]
    fn shortfalls_become_v262_errors() {
        let s = Shortfall {
            minimal_size: 158351872,
            foreign_size: 104857600,
            disk_size: 134217728,
            used_size: 105922560,
            needed: 52428800,
            largest_free_area: 28311552,
            notes: Vec::new(),
        };
        let (name, p) = does_not_fit(&s);
        assert_eq!(name, "io.systemd.Repart.InsufficientFreeSpace");
        assert_eq!(
            Value::Object(p).to_short(),
            r#"{"currentSizeBytes":134217728,"needFreeBytes":52429312,"minimalSizeBytes":158351872}"#
        );
        let small = Shortfall {
            foreign_size: 0,
            ..s
        };
        let (name, p) = does_not_fit(&small);
        assert_eq!(name, "io.systemd.Repart.DiskTooSmall");
        assert_eq!(
            Value::Object(p).to_short(),
            r#"{"currentSizeBytes":134217728,"minimalSizeBytes":158351872}"#
        );
    }
}
