//! The factory-reset decision end to end on a made-up system tree, case by case as
//! measured on systemd-repart 262 (an emulated efivarfs, `SYSTEMD_PROC_CMDLINE`,
//! `SYSTEMD_IN_INITRD=1`), plus the legacy variable as v252 read it.

use std::path::{Path, PathBuf};

use repart_rs::host::System;
use repart_rs::host::cmdline::{self, Cmdline};
use repart_rs::host::efivars::{self, SYSTEMD_VENDOR, Variable};
use repart_rs::host::factory_reset::{self, Decision, Source, SystemFacts, decide};
use repart_rs::host::initrd::in_initrd;

const CURRENT_BOOT: &str = "aaa82c9b-af36-48fe-8779-e7a650076e09";
const EARLIER_BOOT: &str = "0123456789abcdef0123456789abcdef";

struct Tree(PathBuf);

impl Tree {
    fn new(tag: &str) -> Tree {
        let path =
            std::env::temp_dir().join(format!("repart-host-fr-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        let tree = Tree(path);
        tree.write(
            "proc/sys/kernel/random/boot_id",
            format!("{CURRENT_BOOT}\n").as_bytes(),
        );
        tree.write("etc/os-release", b"ID=debian\n");
        tree.write("etc/initrd-release", b"");
        std::fs::create_dir_all(tree.efivars()).unwrap();
        tree
    }

    fn write(&self, relative: &str, bytes: &[u8]) {
        let path = self.0.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    fn efivars(&self) -> PathBuf {
        self.0.join("sys/firmware/efi/efivars")
    }

    fn set_raw(&self, name: &str, bytes: &[u8]) {
        std::fs::write(
            efivars::variable_path(&self.efivars(), name, SYSTEMD_VENDOR),
            bytes,
        )
        .unwrap();
    }

    fn set_request(&self, json: &str) {
        let v = Variable {
            attributes: 7,
            payload: efivars::encode_utf16(json),
        };
        self.set_raw(factory_reset::REQUEST_VARIABLE, &v.to_bytes());
    }

    fn clear(&self) {
        for entry in std::fs::read_dir(self.efivars()).unwrap() {
            std::fs::remove_file(entry.unwrap().path()).unwrap();
        }
    }

    fn system(&self, cmdline: &str) -> System {
        let cmdline = cmdline.to_owned();
        System::new(&self.0, move |name| {
            (name == cmdline::CMDLINE_ENV).then(|| cmdline.clone())
        })
    }

    fn decide(&self, cmdline: &str) -> repart_rs::error::Result<Decision> {
        let sys = self.system(cmdline);
        let initrd = in_initrd(&sys);
        let line = cmdline::read(&sys, initrd)?;
        decide(None, initrd, &SystemFacts::new(&sys, &line))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn request(boot: &str) -> String {
    format!(r#"{{"osReleaseId":"debian","bootId":"{boot}"}}"#)
}

#[test]
fn request_variable_cases_measured_on_262() {
    let tree = Tree::new("request");
    let current_plain = CURRENT_BOOT.replace('-', "");
    let cases: &[(&str, String, Option<bool>)] = &[
        ("on", request(EARLIER_BOOT), Some(true)),
        ("pending", request(&current_plain), Some(false)),
        (
            "pending, upper case",
            request(&current_plain.to_uppercase()),
            Some(false),
        ),
        (
            "on, dashed",
            request("01234567-89ab-cdef-0123-456789abcdef"),
            Some(true),
        ),
        (
            "other os",
            request(EARLIER_BOOT).replace("debian", "fedora"),
            Some(false),
        ),
        (
            "image id we lack",
            format!(
                r#"{{"osReleaseId":"debian","osReleaseImageId":"foo","bootId":"{EARLIER_BOOT}"}}"#
            ),
            Some(false),
        ),
        (
            "version id is not compared",
            format!(
                r#"{{"osReleaseId":"debian","osReleaseVersionId":"99","bootId":"{EARLIER_BOOT}"}}"#
            ),
            Some(true),
        ),
        (
            "no boot id",
            r#"{"osReleaseId":"debian"}"#.into(),
            Some(false),
        ),
        (
            "bad json",
            r#"{"osReleaseId":"debian","#.into(),
            Some(false),
        ),
        (
            "extra fields",
            request(EARLIER_BOOT).replace('}', r#","x":[1,2]}"#),
            Some(true),
        ),
    ];
    for (what, json, want) in cases {
        tree.clear();
        tree.set_request(json);
        let d = tree.decide("").unwrap();
        assert_eq!(Some(d.reset), *want, "{what}");
        let expected_source = match want {
            Some(true) => Source::Request,
            _ if what.starts_with("pending") => Source::RequestPending,
            _ => Source::Unspecified,
        };
        assert_eq!(d.source, expected_source, "{what}");
    }
}

#[test]
fn raw_variable_shapes() {
    let tree = Tree::new("raw");
    let on = Variable {
        attributes: 7,
        payload: efivars::encode_utf16(&request(EARLIER_BOOT)),
    }
    .to_bytes();
    // Zero size: not set. Attributes only: unparsable, ignored. Two bytes: an error.
    tree.set_raw(factory_reset::REQUEST_VARIABLE, b"");
    assert_eq!(tree.decide("").unwrap().source, Source::Unspecified);
    tree.set_raw(factory_reset::REQUEST_VARIABLE, b"\x07\0\0\0");
    assert_eq!(tree.decide("").unwrap().source, Source::Unspecified);
    tree.set_raw(factory_reset::REQUEST_VARIABLE, b"\x07\0");
    let e = tree.decide("").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("determining the factory reset status: EFI variable"),
        "{e}"
    );
    // ... unless the kernel command line decides first.
    assert_eq!(
        tree.decide("systemd.factory_reset=0").unwrap().source,
        Source::KernelCommandLine
    );
    // Attributes are not checked; no NUL and an odd trailing byte are fine.
    let mut zero_attrs = on.clone();
    zero_attrs[0] = 0;
    tree.set_raw(factory_reset::REQUEST_VARIABLE, &zero_attrs);
    assert!(tree.decide("").unwrap().reset);
    tree.set_raw(factory_reset::REQUEST_VARIABLE, &on[..on.len() - 2]);
    assert!(tree.decide("").unwrap().reset);
    tree.set_raw(factory_reset::REQUEST_VARIABLE, &on[..on.len() - 1]);
    assert!(tree.decide("").unwrap().reset);
}

#[test]
fn command_line_complete_flag_and_environment() {
    let tree = Tree::new("cmdline");
    tree.set_request(&request(EARLIER_BOOT));
    assert_eq!(
        tree.decide("systemd.factory_reset=0").unwrap().source,
        Source::KernelCommandLine
    );
    assert!(!tree.decide("systemd.factory_reset=0").unwrap().reset);
    assert!(tree.decide("systemd.factory-reset").unwrap().reset);
    assert_eq!(
        tree.decide("rd.systemd.factory_reset=0").unwrap().source,
        Source::Request
    );
    let e = tree
        .decide("systemd.factory_reset=1 systemd.factory_reset=bogus")
        .unwrap_err();
    assert_eq!(e.kind().exit_code(), 1);

    let sys = tree.system("");
    factory_reset::complete(&sys).unwrap();
    assert!(
        tree.path()
            .join("run/systemd/factory-reset-complete")
            .exists()
    );
    assert!(
        !efivars::variable_path(
            &tree.efivars(),
            factory_reset::REQUEST_VARIABLE,
            SYSTEMD_VENDOR
        )
        .exists()
    );
    tree.set_request(&request(EARLIER_BOOT));
    let d = tree.decide("systemd.factory_reset=1").unwrap();
    assert_eq!(
        d,
        Decision {
            reset: false,
            source: Source::Complete
        }
    );
    // Completing twice is fine.
    factory_reset::complete(&sys).unwrap();
    std::fs::remove_file(tree.path().join("run/systemd/factory-reset-complete")).unwrap();

    let unsupported = System::new(tree.path(), |name| match name {
        factory_reset::SUPPORTED_ENV => Some("0".into()),
        cmdline::CMDLINE_ENV => Some("systemd.factory_reset=1".into()),
        _ => None,
    });
    let line = cmdline::read(&unsupported, true).unwrap();
    let d = decide(None, true, &SystemFacts::new(&unsupported, &line)).unwrap();
    assert_eq!(d.source, Source::Unsupported);
    for value in ["bogus", ""] {
        let value = value.to_owned();
        let odd = System::new(tree.path(), move |name| {
            (name == factory_reset::SUPPORTED_ENV).then(|| value.clone())
        });
        let line = Cmdline::parse("systemd.factory_reset=1", true);
        assert!(
            decide(None, true, &SystemFacts::new(&odd, &line))
                .unwrap()
                .reset
        );
    }

    // Outside the initrd, nothing but the option counts.
    std::fs::remove_file(tree.path().join("etc/initrd-release")).unwrap();
    assert_eq!(
        tree.decide("systemd.factory_reset=1").unwrap().source,
        Source::NotInInitrd
    );
}

#[test]
fn legacy_variable_as_v252_read_it() {
    let tree = Tree::new("legacy");
    let legacy = |text: &str, nul: bool| {
        let mut payload = efivars::encode_utf16(text);
        if !nul {
            payload.truncate(payload.len() - 2);
        }
        tree.set_raw(
            factory_reset::LEGACY_VARIABLE,
            &Variable {
                attributes: 7,
                payload,
            }
            .to_bytes(),
        );
    };
    legacy("yes", true);
    let d = tree.decide("").unwrap();
    assert_eq!(
        d,
        Decision {
            reset: true,
            source: Source::LegacyVariable
        }
    );
    assert!(d.remove_legacy_variable());
    legacy("1", false);
    assert!(tree.decide("").unwrap().reset);
    legacy("no", true);
    assert!(!tree.decide("").unwrap().reset);
    // The command line and a request both come first.
    legacy("yes", true);
    assert!(!tree.decide("systemd.factory_reset=0").unwrap().reset);
    tree.set_request(&request(CURRENT_BOOT));
    assert_eq!(tree.decide("").unwrap().source, Source::RequestPending);
    std::fs::remove_file(efivars::variable_path(
        &tree.efivars(),
        factory_reset::REQUEST_VARIABLE,
        SYSTEMD_VENDOR,
    ))
    .unwrap();
    for bad in ["bogus", " YES", ""] {
        legacy(bad, true);
        let e = tree.decide("").unwrap_err();
        assert!(e.to_string().contains("is not a boolean"), "{e}");
    }
    legacy("yes", true);
    assert!(factory_reset::remove_legacy_variable(&tree.system("")).unwrap());
    assert_eq!(tree.decide("").unwrap().source, Source::Unspecified);
}
