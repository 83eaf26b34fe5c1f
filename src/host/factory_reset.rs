//! Whether to factory-reset, and why.
//!
//! Precedence (measured on systemd-repart 262 unless noted):
//! 1. `--factory-reset=BOOL` decides, in the initrd or not;
//! 2. outside the initrd nothing else is consulted: no reset;
//! 3. `$SYSTEMD_FACTORY_RESET_SUPPORTED` false: no reset (unset, empty or not a boolean
//!    counts as supported);
//! 4. `/run/systemd/factory-reset-complete` exists (any type): no reset, it was done;
//! 5. `systemd.factory_reset=` on the kernel command line (last one wins, no `rd.` form,
//!    an invalid value is an error, exit 1);
//! 6. the `FactoryResetRequest` EFI variable: "on" if it was made in an earlier boot,
//!    "pending" (no reset now) if in this boot, ignored if it does not parse or is for
//!    another OS;
//! 7. the legacy `FactoryReset` EFI variable (a UTF-16 boolean string): v252 honoured it
//!    and deleted it after a successful reset; v262 ignores it. We honour it, last. As in
//!    v252, a value that is not a boolean is an error.
//!
//! v262 does not fall back to the `SystemdOptions` EFI variable or `$SYSTEMD_EFI_OPTIONS`
//! for `systemd.factory_reset=` (measured: neither was honoured), so neither do we.

use std::fs::OpenOptions;
use std::path::Path;

use uuid::Uuid;

use super::cmdline::Cmdline;
use super::efivars::{self, SYSTEMD_VENDOR, Variable};
use super::identity::read_boot_id;
use super::os_release::{self, OsRelease};
use super::{System, parse_bool};
use crate::error::{Context, Error, ErrorKind, Result};
use crate::json::{self, Object, Value};

/// The current request variable (systemd 258+).
pub const REQUEST_VARIABLE: &str = "FactoryResetRequest";
/// The legacy request variable (systemd up to 257).
pub const LEGACY_VARIABLE: &str = "FactoryReset";
/// Created once a reset is done; it survives the switch to the real root.
pub const COMPLETE_FLAG: &str = "/run/systemd/factory-reset-complete";
/// The kernel command-line switch.
pub const CMDLINE_KEY: &str = "systemd.factory_reset";
/// The environment switch that can disable resets altogether.
pub const SUPPORTED_ENV: &str = "SYSTEMD_FACTORY_RESET_SUPPORTED";

/// The JSON in a `FactoryResetRequest` variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// os-release `ID=` of the system that asked.
    pub os_release_id: String,
    /// os-release `VERSION_ID=` (informational).
    pub os_release_version_id: Option<String>,
    /// os-release `IMAGE_ID=`; must match ours, both absent counting as equal.
    pub os_release_image_id: Option<String>,
    /// os-release `IMAGE_VERSION=` (informational).
    pub os_release_image_version: Option<String>,
    /// The boot in which the request was made.
    pub boot_id: Uuid,
}

/// What a request variable asks of this boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestMode {
    /// No usable request for this system.
    Unspecified,
    /// Requested during this boot, for the next one.
    Pending,
    /// Requested during an earlier boot: reset now.
    On,
}

impl Request {
    /// Parses the request JSON; `None` unless it is an object with string `osReleaseId`,
    /// a `bootId` of 32 hex digits (dashes allowed, any case) and, where present, string
    /// optional fields (`null` does not count as absent). Other fields are ignored.
    pub fn from_json(text: &[u8]) -> Option<Request> {
        const LIMITS: json::Limits = json::Limits {
            max_bytes: efivars::MAX_PAYLOAD_BYTES,
            max_depth: 16,
        };
        let value = json::parse_with(text, LIMITS).ok()?;
        let object = value.as_object()?;
        let optional = |key: &str| match object.get(key) {
            None => Some(None),
            Some(v) => v.as_str().map(|s| Some(s.to_owned())),
        };
        Some(Request {
            os_release_id: object.get("osReleaseId")?.as_str()?.to_owned(),
            os_release_version_id: optional("osReleaseVersionId")?,
            os_release_image_id: optional("osReleaseImageId")?,
            os_release_image_version: optional("osReleaseImageVersion")?,
            boot_id: object
                .get("bootId")?
                .as_str()
                .and_then(crate::id128::parse)?,
        })
    }

    /// Parses a variable payload: UTF-16LE JSON, ending at the first NUL.
    pub fn from_payload(payload: &[u8]) -> Option<Request> {
        Request::from_json(efivars::decode_utf16(payload).as_bytes())
    }

    /// The variable as systemd writes it: compact JSON in UTF-16LE with a NUL, attributes
    /// non-volatile, boot-service and runtime access.
    pub fn to_variable(&self) -> Variable {
        let mut object = Object::new().with("osReleaseId", self.os_release_id.as_str());
        let optional = [
            ("osReleaseVersionId", &self.os_release_version_id),
            ("osReleaseImageId", &self.os_release_image_id),
            ("osReleaseImageVersion", &self.os_release_image_version),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                object.insert(key, value.as_str());
            }
        }
        object.insert("bootId", self.boot_id.simple().to_string());
        Variable {
            attributes: efivars::ATTRIBUTES_NV_BS_RT,
            payload: efivars::encode_utf16(&Value::from(object).to_short()),
        }
    }

    /// What this request means for the system described by `os` in boot `current_boot`.
    pub fn mode(&self, os: Option<&OsRelease>, current_boot: Uuid) -> RequestMode {
        let os_id = os.and_then(OsRelease::id);
        let image_id = os.and_then(OsRelease::image_id);
        if os_id != Some(self.os_release_id.as_str())
            || image_id != self.os_release_image_id.as_deref()
        {
            RequestMode::Unspecified
        } else if self.boot_id == current_boot {
            RequestMode::Pending
        } else {
            RequestMode::On
        }
    }
}

/// What decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `--factory-reset=` on our own command line.
    Option,
    /// Outside the initrd only the option counts.
    NotInInitrd,
    /// `$SYSTEMD_FACTORY_RESET_SUPPORTED` is false.
    Unsupported,
    /// `/run/systemd/factory-reset-complete` exists.
    Complete,
    /// `systemd.factory_reset=` on the kernel command line.
    KernelCommandLine,
    /// `FactoryResetRequest` from an earlier boot.
    Request,
    /// `FactoryResetRequest` from this boot: meant for the next one.
    RequestPending,
    /// The legacy `FactoryReset` variable.
    LegacyVariable,
    /// Nothing asked for a reset.
    Unspecified,
}

/// The decision and its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether to delete the `FactoryReset=yes` partitions.
    pub reset: bool,
    /// What decided.
    pub source: Source,
}

impl Decision {
    /// Whether the legacy `FactoryReset` variable must be removed after a successful reset
    /// (otherwise every boot would reset again; v252 did this itself).
    pub fn remove_legacy_variable(&self) -> bool {
        self.reset && self.source == Source::LegacyVariable
    }

    /// The message to log (at info) when a reset was asked for by the kernel command line
    /// or an EFI variable.
    pub fn honouring_message(&self) -> Option<&'static str> {
        if !self.reset {
            return None;
        }
        match self.source {
            Source::KernelCommandLine => {
                Some("Honouring factory reset requested via kernel command line.")
            }
            Source::Request => {
                Some("Honouring factory reset requested via EFI variable FactoryResetRequest.")
            }
            Source::LegacyVariable => {
                Some("Honouring factory reset requested via EFI variable FactoryReset.")
            }
            _ => None,
        }
    }
}

/// The facts the decision may need, each read only when the ones before it left the
/// question open (so a broken variable that is not consulted cannot fail the run).
pub trait Facts {
    /// `$SYSTEMD_FACTORY_RESET_SUPPORTED` is not false.
    fn supported(&self) -> bool;
    /// `/run/systemd/factory-reset-complete` exists.
    fn complete(&self) -> bool;
    /// `systemd.factory_reset=` from the kernel command line.
    fn kernel_command_line(&self) -> Result<Option<bool>>;
    /// The `FactoryResetRequest` variable, judged for this system and boot.
    fn request(&self) -> Result<RequestMode>;
    /// The legacy `FactoryReset` variable.
    fn legacy(&self) -> Result<Option<bool>>;
}

/// Decides, given `--factory-reset=` (if any), whether we are in the initrd, and the facts.
pub fn decide(option: Option<bool>, in_initrd: bool, facts: &dyn Facts) -> Result<Decision> {
    let decided = |reset, source| Ok(Decision { reset, source });
    if let Some(reset) = option {
        return decided(reset, Source::Option);
    }
    if !in_initrd {
        return decided(false, Source::NotInInitrd);
    }
    if !facts.supported() {
        return decided(false, Source::Unsupported);
    }
    if facts.complete() {
        return decided(false, Source::Complete);
    }
    let status = || "determining the factory reset status";
    if let Some(reset) = facts.kernel_command_line().context(status)? {
        return decided(reset, Source::KernelCommandLine);
    }
    match facts.request().context(status)? {
        RequestMode::On => return decided(true, Source::Request),
        RequestMode::Pending => return decided(false, Source::RequestPending),
        RequestMode::Unspecified => {}
    }
    match facts.legacy().context(status)? {
        Some(reset) => decided(reset, Source::LegacyVariable),
        None => decided(false, Source::Unspecified),
    }
}

/// The facts of a running system.
#[derive(Debug)]
pub struct SystemFacts<'a> {
    sys: &'a System,
    cmdline: &'a Cmdline,
}

impl<'a> SystemFacts<'a> {
    /// Facts read from `sys`, with its already split kernel command line.
    pub fn new(sys: &'a System, cmdline: &'a Cmdline) -> SystemFacts<'a> {
        SystemFacts { sys, cmdline }
    }
}

impl Facts for SystemFacts<'_> {
    fn supported(&self) -> bool {
        self.sys.var(SUPPORTED_ENV).as_deref().and_then(parse_bool) != Some(false)
    }

    fn complete(&self) -> bool {
        std::fs::metadata(self.sys.path(COMPLETE_FLAG)).is_ok()
    }

    fn kernel_command_line(&self) -> Result<Option<bool>> {
        self.cmdline.bool(CMDLINE_KEY, false)
    }

    fn request(&self) -> Result<RequestMode> {
        let variable =
            efivars::read_variable(&self.sys.efivars_dir(), REQUEST_VARIABLE, SYSTEMD_VENDOR)?;
        let Some(request) = variable.and_then(|v| Request::from_payload(&v.payload)) else {
            return Ok(RequestMode::Unspecified);
        };
        // The running system's os-release: the initrd's own, not the target root's.
        let os = os_release::read(&self.sys.path("/"))?;
        Ok(request.mode(os.as_ref(), read_boot_id(self.sys)?))
    }

    fn legacy(&self) -> Result<Option<bool>> {
        let Some(variable) =
            efivars::read_variable(&self.sys.efivars_dir(), LEGACY_VARIABLE, SYSTEMD_VENDOR)?
        else {
            return Ok(None);
        };
        let text = efivars::decode_utf16(&variable.payload);
        parse_bool(&text).map(Some).ok_or_else(|| {
            Error::new(
                ErrorKind::Corrupt,
                format!("EFI variable {LEGACY_VARIABLE}: {text:?} is not a boolean"),
            )
        })
    }
}

/// Finishes a reset the way `systemd-factory-reset complete` does, for systems without
/// it: removes `FactoryResetRequest` and creates `/run/systemd/factory-reset-complete`, so
/// the reset is not repeated in this boot (the flag survives the switch to the real root)
/// nor in the next one.
pub fn complete(sys: &System) -> Result<()> {
    efivars::remove_variable(&sys.efivars_dir(), REQUEST_VARIABLE, SYSTEMD_VENDOR)?;
    let flag = sys.path(COMPLETE_FLAG);
    if let Some(dir) = flag.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    }
    touch(&flag)
}

/// Removes the legacy `FactoryReset` variable after a reset it asked for; returns whether
/// it existed.
pub fn remove_legacy_variable(sys: &System) -> Result<bool> {
    efivars::remove_variable(&sys.efivars_dir(), LEGACY_VARIABLE, SYSTEMD_VENDOR)
}

fn touch(path: &Path) -> Result<()> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map(drop)
        .map_err(|e| Error::io(format!("creating {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    const BOOT: Uuid = Uuid::from_u128(0x0123456789abcdef0123456789abcdef);
    const OTHER_BOOT: Uuid = Uuid::from_u128(0xaaa82c9baf3648fe8779e7a650076e09);

    fn request_json(text: &str) -> Option<Request> {
        Request::from_json(text.as_bytes())
    }

    #[test]
    fn parses_request_json_as_systemd_262_accepts_it() {
        let r =
            request_json(r#"{"osReleaseId":"debian","bootId":"0123456789abcdef0123456789abcdef"}"#)
                .unwrap();
        assert_eq!(r.os_release_id, "debian");
        assert_eq!(r.boot_id, BOOT);
        assert_eq!(r.os_release_image_id, None);
        let dashed =
            r#"{"osReleaseId":"debian","bootId":"01234567-89AB-cdef-0123-456789abcdef","x":[1]}"#;
        assert_eq!(request_json(dashed).unwrap().boot_id, BOOT);
        for unusable in [
            r#"{"osReleaseId":"debian"}"#,
            r#"{"bootId":"0123456789abcdef0123456789abcdef"}"#,
            r#"{"osReleaseId":"debian","bootId":"xyz"}"#,
            r#"{"osReleaseId":"debian","bootId":5}"#,
            r#"{"osReleaseId":"debian","osReleaseImageId":null,"bootId":"0123456789abcdef0123456789abcdef"}"#,
            r#"{"osReleaseId":"fedora","osReleaseId":"debian","bootId":"0123456789abcdef0123456789abcdef"}"#,
            r#"{"osReleaseId":"debian","#,
            r#"["osReleaseId"]"#,
            "",
        ] {
            assert_eq!(request_json(unusable), None, "{unusable}");
        }
    }

    #[test]
    fn request_round_trips_through_the_variable_format() {
        let r = Request {
            os_release_id: "debian".into(),
            os_release_version_id: None,
            os_release_image_id: None,
            os_release_image_version: None,
            boot_id: Uuid::from_u128(0xa8b68fc1961a4c9481113627ae524f54),
        };
        let v = r.to_variable();
        // The 142-byte variable systemd-factory-reset 262 wrote (spec: plumbing.md §2.3).
        assert_eq!(v.to_bytes().len(), 142);
        assert_eq!(
            efivars::decode_utf16(&v.payload),
            r#"{"osReleaseId":"debian","bootId":"a8b68fc1961a4c9481113627ae524f54"}"#
        );
        assert_eq!(Request::from_payload(&v.payload), Some(r.clone()));
        let full = Request {
            os_release_version_id: Some("13".into()),
            os_release_image_id: Some("img".into()),
            os_release_image_version: Some("1.2".into()),
            ..r
        };
        assert_eq!(
            Request::from_payload(&full.to_variable().payload),
            Some(full)
        );
    }

    #[test]
    fn request_mode_matches_os_and_boot() {
        let debian = OsRelease::parse(b"ID=debian\n");
        let imaged = OsRelease::parse(b"ID=debian\nIMAGE_ID=foo\n");
        let r =
            request_json(r#"{"osReleaseId":"debian","bootId":"0123456789abcdef0123456789abcdef"}"#)
                .unwrap();
        assert_eq!(r.mode(Some(&debian), OTHER_BOOT), RequestMode::On);
        assert_eq!(r.mode(Some(&debian), BOOT), RequestMode::Pending);
        assert_eq!(r.mode(Some(&imaged), OTHER_BOOT), RequestMode::Unspecified);
        assert_eq!(r.mode(None, OTHER_BOOT), RequestMode::Unspecified);
        assert_eq!(
            r.mode(Some(&OsRelease::parse(b"ID=fedora")), OTHER_BOOT),
            RequestMode::Unspecified
        );
        let img = request_json(r#"{"osReleaseId":"debian","osReleaseImageId":"foo","bootId":"0123456789abcdef0123456789abcdef"}"#).unwrap();
        assert_eq!(img.mode(Some(&imaged), OTHER_BOOT), RequestMode::On);
        assert_eq!(
            img.mode(Some(&debian), OTHER_BOOT),
            RequestMode::Unspecified
        );
    }

    /// Facts that count how often each one was consulted.
    struct FakeFacts {
        supported: bool,
        complete: bool,
        cmdline: Result<Option<bool>, ()>,
        request: Result<RequestMode, ()>,
        legacy: Result<Option<bool>, ()>,
        reads: Cell<u32>,
    }

    impl Default for FakeFacts {
        fn default() -> FakeFacts {
            FakeFacts {
                supported: true,
                complete: false,
                cmdline: Ok(None),
                request: Ok(RequestMode::Unspecified),
                legacy: Ok(None),
                reads: Cell::new(0),
            }
        }
    }

    fn fake_error(what: &str) -> Error {
        Error::new(ErrorKind::Corrupt, what.to_owned())
    }

    impl Facts for FakeFacts {
        fn supported(&self) -> bool {
            self.supported
        }
        fn complete(&self) -> bool {
            self.complete
        }
        fn kernel_command_line(&self) -> Result<Option<bool>> {
            self.reads.set(self.reads.get() + 1);
            self.cmdline.map_err(|()| fake_error("cmdline"))
        }
        fn request(&self) -> Result<RequestMode> {
            self.reads.set(self.reads.get() + 1);
            self.request.map_err(|()| fake_error("request"))
        }
        fn legacy(&self) -> Result<Option<bool>> {
            self.reads.set(self.reads.get() + 1);
            self.legacy.map_err(|()| fake_error("legacy"))
        }
    }

    fn decision(reset: bool, source: Source) -> Decision {
        Decision { reset, source }
    }

    #[test]
    fn precedence() {
        let on_everywhere = || FakeFacts {
            cmdline: Ok(Some(true)),
            request: Ok(RequestMode::On),
            legacy: Ok(Some(true)),
            ..FakeFacts::default()
        };
        let f = on_everywhere();
        assert_eq!(
            decide(Some(false), true, &f).unwrap(),
            decision(false, Source::Option)
        );
        assert_eq!(
            decide(Some(true), false, &f).unwrap(),
            decision(true, Source::Option)
        );
        assert_eq!(
            decide(None, false, &f).unwrap(),
            decision(false, Source::NotInInitrd)
        );
        assert_eq!(f.reads.get(), 0, "nothing read when the answer is known");

        let f = FakeFacts {
            supported: false,
            ..on_everywhere()
        };
        assert_eq!(
            decide(None, true, &f).unwrap(),
            decision(false, Source::Unsupported)
        );
        let f = FakeFacts {
            complete: true,
            ..on_everywhere()
        };
        assert_eq!(
            decide(None, true, &f).unwrap(),
            decision(false, Source::Complete)
        );
        let f = FakeFacts {
            cmdline: Ok(Some(false)),
            ..on_everywhere()
        };
        assert_eq!(
            decide(None, true, &f).unwrap(),
            decision(false, Source::KernelCommandLine)
        );
        assert_eq!(f.reads.get(), 1);
        let f = FakeFacts {
            cmdline: Ok(None),
            ..on_everywhere()
        };
        assert_eq!(
            decide(None, true, &f).unwrap(),
            decision(true, Source::Request)
        );
        let f = FakeFacts {
            cmdline: Ok(None),
            request: Ok(RequestMode::Pending),
            ..on_everywhere()
        };
        assert_eq!(
            decide(None, true, &f).unwrap(),
            decision(false, Source::RequestPending)
        );
        let f = FakeFacts {
            cmdline: Ok(None),
            request: Ok(RequestMode::Unspecified),
            ..on_everywhere()
        };
        let d = decide(None, true, &f).unwrap();
        assert_eq!(d, decision(true, Source::LegacyVariable));
        assert!(d.remove_legacy_variable());
        let f = FakeFacts::default();
        assert_eq!(
            decide(None, true, &f).unwrap(),
            decision(false, Source::Unspecified)
        );
    }

    #[test]
    fn errors_only_from_facts_that_are_consulted() {
        let f = FakeFacts {
            cmdline: Err(()),
            ..FakeFacts::default()
        };
        let e = decide(None, true, &f).unwrap_err();
        assert_eq!(
            e.to_string(),
            "determining the factory reset status: cmdline"
        );
        assert_eq!(e.kind().exit_code(), 1);
        let f = FakeFacts {
            cmdline: Ok(Some(true)),
            request: Err(()),
            legacy: Err(()),
            ..FakeFacts::default()
        };
        assert!(decide(None, true, &f).unwrap().reset);
        let f = FakeFacts {
            request: Ok(RequestMode::On),
            legacy: Err(()),
            ..FakeFacts::default()
        };
        assert!(decide(None, true, &f).unwrap().reset);
        let f = FakeFacts {
            legacy: Err(()),
            ..FakeFacts::default()
        };
        assert!(decide(None, true, &f).is_err());
    }

    #[test]
    fn messages_and_legacy_removal() {
        assert_eq!(
            decision(true, Source::KernelCommandLine).honouring_message(),
            Some("Honouring factory reset requested via kernel command line.")
        );
        assert!(
            decision(true, Source::Request)
                .honouring_message()
                .unwrap()
                .contains("FactoryResetRequest")
        );
        assert!(
            decision(true, Source::LegacyVariable)
                .honouring_message()
                .unwrap()
                .ends_with("FactoryReset.")
        );
        assert_eq!(
            decision(false, Source::KernelCommandLine).honouring_message(),
            None
        );
        assert_eq!(decision(true, Source::Option).honouring_message(), None);
        assert!(!decision(false, Source::LegacyVariable).remove_legacy_variable());
        assert!(!decision(true, Source::Request).remove_legacy_variable());
    }
}
