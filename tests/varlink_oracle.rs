//! The reference's own client, `varlinkctl` from the systemd 262 chroot, drives repart and
//! systemd-repart 262 (`exec:` transport: a socketpair as fd 3) through the same calls on
//! the same disks, and every reply is compared field by field: introspection, dry runs,
//! real runs on image files and loop devices (and the tables they write), the errors, and
//! `ListCandidateDevices` (the reference needs udev data, made by hand here; repart reads
//! sysfs and the `/dev/disk` links, made by hand too).
//!
//! Needs root (loop devices, mount namespaces) and the reference (tests/oracle/setup.sh).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use common::*;
use repart_rs::json::{self, Value};

const REFERENCE: &str = "/usr/bin/systemd-repart";

/// A scratch directory with a copy of our binary in it (the chroot sees only the working
/// directory).
struct Bench {
    s: Scratch,
    ours: PathBuf,
}

impl Bench {
    fn new(name: &str) -> Bench {
        let s = Scratch::new(name);
        let ours = s.path("repart");
        std::fs::copy(env!("CARGO_BIN_EXE_repart"), &ours).unwrap();
        Bench { s, ours }
    }

    fn varlinkctl(&self, args: &[&str]) -> Outcome {
        oracle_tool(&self.s.dir, "varlinkctl", args)
    }

    /// `varlinkctl --more --collect -j call exec:SERVICE io.systemd.Repart.METHOD PARAMS`:
    /// the replies' parameters (the error's parameters on failure), the exit status and the
    /// "Method call failed" line.
    fn call(&self, service: &str, method: &str, params: &str) -> Called {
        let out = self.varlinkctl(&[
            "--more",
            "--collect",
            "-j",
            "call",
            &format!("exec:{service}"),
            &format!("io.systemd.Repart.{method}"),
            params,
        ]);
        Called {
            code: out.code,
            replies: out.stdout.trim().to_owned(),
            failure: out
                .stderr
                .lines()
                .filter(|l| l.starts_with("Method call"))
                .map(str::to_owned)
                .collect(),
        }
    }

    /// The same call to both services: the replies must be equal.
    fn same(&self, method: &str, params_ours: &str, params_reference: &str) -> Called {
        let ours = self.call(self.ours.to_str().unwrap(), method, params_ours);
        let reference = self.call(REFERENCE, method, params_reference);
        assert_eq!(ours, reference, "{method} {params_ours}");
        ours
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Called {
    code: Option<i32>,
    replies: String,
    failure: Vec<String>,
}

fn run_params(node: &Path, empty: &str, dry_run: bool, defs: &Path) -> String {
    format!(
        r#"{{"node":"{}","empty":"{empty}","dryRun":{dry_run},"seed":"{SEED}","definitions":["{}"]}}"#,
        node.display(),
        defs.display()
    )
}

/// Root (grows), home (32M), swap (8M, formatted) and a `Format=empty` var partition (4M).
fn four_definitions(s: &Scratch) -> PathBuf {
    s.defs(
        "defs",
        &[
            ("10-root.conf", "[Partition]\nType=root\n"),
            (
                "20-home.conf",
                "[Partition]\nType=home\nSizeMinBytes=32M\nSizeMaxBytes=32M\n",
            ),
            (
                "30-swap.conf",
                "[Partition]\nType=swap\nFormat=swap\nSizeMinBytes=8M\nSizeMaxBytes=8M\n",
            ),
            (
                "40-var.conf",
                "[Partition]\nType=var\nFormat=empty\nSizeMinBytes=4M\nSizeMaxBytes=4M\n",
            ),
        ],
    )
}

fn sfdisk_input(image: &Path, script: &str) {
    sh_input(
        "sfdisk",
        &["-q", image.to_str().unwrap()],
        image.parent().unwrap(),
        &[],
        script,
    );
}

#[test]
fn introspection_matches() {
    let b = Bench::new("introspect");
    let ours = b.varlinkctl(&["introspect", &format!("exec:{}", b.ours.display())]);
    let reference = b.varlinkctl(&["introspect", &format!("exec:{REFERENCE}")]);
    ours.ok("introspecting repart");
    reference.ok("introspecting the reference");
    assert_eq!(ours.stdout, reference.stdout);
    let info = b.varlinkctl(&["info", &format!("exec:{}", b.ours.display())]);
    info.ok("info");
    assert!(info.stdout.contains("Vendor: repart-rs"), "{}", info.stdout);
    for file in ["io.systemd.Repart", "io.systemd", "org.varlink.service"] {
        let copy = b.s.path(&format!("{file}.varlink"));
        std::fs::copy(
            manifest_dir().join(format!("src/varlink/interfaces/{file}.varlink")),
            &copy,
        )
        .unwrap();
        b.varlinkctl(&["validate-idl", copy.to_str().unwrap()])
            .ok(file);
    }
}

#[test]
fn runs_on_image_files_match() {
    let b = Bench::new("images");
    let defs = four_definitions(&b.s);
    let ours = b.s.image("ours.img", 128 * MIB);
    let reference = b.s.image("reference.img", 128 * MIB);
    // Refused, dry, real, dry again, nothing to do, refused again.
    for (empty, dry) in [
        ("refuse", true),
        ("allow", true),
        ("force", true),
        ("allow", false),
        ("allow", true),
        ("refuse", false),
        ("require", true),
    ] {
        let called = b.same(
            "Run",
            &run_params(&ours, empty, dry, &defs),
            &run_params(&reference, empty, dry, &defs),
        );
        if (empty, dry) == ("allow", false) {
            assert_eq!(called.code, Some(0));
            assert!(called.replies.contains("writing_table"), "{called:?}");
        }
    }
    // Byte for byte the same disk, swap signature included.
    assert_eq!(hash(&ours, 0, 128 * MIB), hash(&reference, 0, 128 * MIB));

    // The errors of a disk too small, and of one that would do if emptied.
    let big = b.s.defs(
        "big",
        &[
            (
                "10-root.conf",
                "[Partition]\nType=root\nSizeMinBytes=100M\n",
            ),
            ("20-home.conf", "[Partition]\nType=home\nSizeMinBytes=50M\n"),
        ],
    );
    let called = b.same(
        "Run",
        &run_params(&ours, "allow", true, &big),
        &run_params(&reference, "allow", true, &big),
    );
    assert!(called.failure[0].ends_with("io.systemd.Repart.DiskTooSmall"));
    let busy = b.s.image("busy.img", 128 * MIB);
    sfdisk_input(
        &busy,
        "label: gpt\nstart=2048,size=204800,type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n",
    );
    let root = b.s.defs(
        "root",
        &[("10-root.conf", "[Partition]\nType=root\nSizeMinBytes=50M\n")],
    );
    let params = run_params(&busy, "refuse", false, &root);
    let called = b.same("Run", &params, &params);
    assert!(called.failure[0].ends_with("io.systemd.Repart.InsufficientFreeSpace"));
    // No node: the minimal size.
    let params = format!(
        r#"{{"empty":"allow","dryRun":true,"definitions":["{}"]}}"#,
        defs.display()
    );
    b.same("Run", &params, &params);
}

/// Real runs on loop devices: a grown disk whose root grows, with new partitions placed
/// before and after it (v262 reports them by offset), and a disk with a foreign partition.
#[test]
fn runs_on_loop_devices_match() {
    let b = Bench::new("loops");
    let defs = four_definitions(&b.s);
    let root_fixed = b.s.defs(
        "fixed",
        &[
            ("10-root.conf", "[Partition]\nType=root\nSizeMaxBytes=16M\n"),
            (
                "20-home.conf",
                "[Partition]\nType=home\nSizeMinBytes=32M\nSizeMaxBytes=32M\n",
            ),
            (
                "30-swap.conf",
                "[Partition]\nType=swap\nFormat=swap\nSizeMinBytes=4M\nSizeMaxBytes=4M\n",
            ),
            (
                "40-var.conf",
                "[Partition]\nType=var\nFormat=empty\nSizeMinBytes=4M\nSizeMaxBytes=4M\n",
            ),
        ],
    );
    let root = "type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709";
    let esp = "type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
    // (name, table, size when the table is made, size after, definitions)
    for (name, script, made, grown, defs) in [
        (
            "grown",
            format!("label: gpt\nstart=2048,size=32768,{root}\n"),
            64 * MIB,
            128 * MIB,
            &defs,
        ),
        (
            "gap",
            format!("label: gpt\nstart=18432,size=32768,{root},name=root-x86-64\n"),
            128 * MIB,
            128 * MIB,
            &root_fixed,
        ),
        (
            "foreign",
            format!(
                "label: gpt\nstart=2048,size=32768,{root},name=root-x86-64\nstart=34816,size=8192,{esp},name=esp\n"
            ),
            128 * MIB,
            128 * MIB,
            &defs,
        ),
    ] {
        let image = b.s.image(&format!("{name}.img"), made);
        sfdisk_input(&image, &script);
        std::fs::File::options()
            .write(true)
            .open(&image)
            .unwrap()
            .set_len(grown)
            .unwrap();
        let copy = image.with_file_name(format!("{name}-reference.img"));
        copy_sparse(&image, &copy);
        let ours = Loop::attach(&image, &[]);
        let reference = Loop::attach(&copy, &[]);
        for dry in [true, false, true] {
            let called = b.same(
                "Run",
                &run_params(&ours.node, "refuse", dry, defs),
                &run_params(&reference.node, "refuse", dry, defs),
            );
            assert_eq!(called.code, Some(0), "{name}: {called:?}");
            if !dry {
                assert!(called.replies.contains("rereading_table"), "{name}");
            }
        }
        let dump = |node: &Path| sfdisk_dump(node, 512).replace(node.to_str().unwrap(), "DISK");
        assert_eq!(dump(&ours.node), dump(&reference.node), "{name}");
        assert_eq!(ours.kernel_view(), reference.kernel_view(), "{name}");
    }
}

/// Runs a service from the chroot with hand-made udev data (for the reference) and
/// `/dev/disk` links (for repart), both in a private mount namespace: a tmpfs on the
/// chroot's /run, and one on /dev/disk (which is created on the host if it is missing, as
/// udev would). The working directory's mount point is made as tests/oracle/run.sh makes
/// it, on a private /tmp, so none is left in the chroot.
const WITH_UDEV_DATA: &str = r#"
set -eu
dir=${REPART_ORACLE:-/opt/repart-oracle} cwd=$(pwd -P) udev=$1 links=$2; shift 2
mkdir -p /dev/disk
exec unshare --mount --propagation private /bin/sh -ec '
    dir=$1 cwd=$2 udev=$3 links=$4; shift 4
    mount -t proc proc "$dir/proc"
    mount --rbind /sys "$dir/sys"
    mount --rbind /dev "$dir/dev"
    mount -t tmpfs tmpfs "$dir/tmp"
    mkdir -p "$dir$cwd"
    mount --bind "$cwd" "$dir$cwd"
    mount -t tmpfs tmpfs "$dir/run"
    mkdir -p "$dir/run/udev"
    cp -r "$udev" "$dir/run/udev/data"
    mount -t tmpfs tmpfs "$dir/dev/disk"
    cp -a "$links/." "$dir/dev/disk/"
    exec chroot "$dir" /bin/sh -c "cd \"\$0\" && exec \"\$@\"" "$cwd" "$@"
' sh "$dir" "$cwd" "$udev" "$links" "$@"
"#;

/// Loop devices come and go in every test of this file; the listing tests take turns.
static LISTING: Mutex<()> = Mutex::new(());

#[test]
fn candidate_devices_match() {
    let _turn = LISTING.lock().unwrap_or_else(|e| e.into_inner());
    let b = Bench::new("devices");
    let image = b.s.image("disk.img", 32 * MIB);
    let read_only_image = b.s.image("ro.img", 32 * MIB);
    let lo = Loop::attach(&image, &[]);
    let ro = Loop::attach(&read_only_image, &["-r"]);
    let udev = b.s.subdir("udev");
    let links = b.s.subdir("links");
    for l in [&lo, &ro] {
        let name = l.name();
        let devnum = l.devnum();
        std::fs::write(
            udev.join(format!("b{}:{}", devnum.major, devnum.minor)),
            format!("I:1\nS:disk/by-id/test-{name}\nS:disk/by-label/zz-{name}\n"),
        )
        .unwrap();
        for dir in ["by-id", "by-label"] {
            std::fs::create_dir_all(links.join(dir)).unwrap();
        }
        std::os::unix::fs::symlink(
            format!("../../{name}"),
            links.join(format!("by-id/test-{name}")),
        )
        .unwrap();
        std::os::unix::fs::symlink(
            format!("../../{name}"),
            links.join(format!("by-label/zz-{name}")),
        )
        .unwrap();
    }
    let list = |service: &str, params: &str, timeout: Option<&str>| -> (Vec<Value>, Option<i32>) {
        let mut args = vec!["varlinkctl", "--more", "-j"];
        args.extend(timeout);
        args.extend([
            "call",
            service,
            "io.systemd.Repart.ListCandidateDevices",
            params,
        ]);
        let out = Command::new("sh")
            .arg("-c")
            .arg(WITH_UDEV_DATA)
            .arg("sh")
            .arg(&udev)
            .arg(&links)
            .args(&args)
            .current_dir(&b.s.dir)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let replies = String::from_utf8_lossy(&out.stdout)
            .lines()
            // With --more, varlinkctl writes a JSON sequence (RFC 7464: RS before each).
            .map(|l| l.trim_start_matches('\u{1e}'))
            .filter(|l| !l.is_empty())
            .map(|l| json::parse(l.as_bytes()).unwrap())
            .collect();
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("unshare"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (replies, out.status.code())
    };
    let ours_exec = format!("exec:{}", b.ours.display());
    let ours_exec = ours_exec.as_str();
    let reference_exec = format!("exec:{REFERENCE}");
    let node = lo.node.display().to_string();
    let about = |replies: &[Value], node: &str| -> Vec<String> {
        replies
            .iter()
            .filter(|r| {
                r.get("node").and_then(Value::as_str) == Some(node)
                    || r.get("action").and_then(Value::as_str) == Some("ready")
            })
            .map(Value::to_short)
            .collect()
    };
    for params in [r#"{}"#, r#"{"ignoreEmpty":true}"#] {
        let (ours, code) = list(ours_exec, params, None);
        assert_eq!(code, Some(0), "{ours:?}");
        let (reference, code) = list(&reference_exec, params, None);
        assert_eq!(code, Some(0));
        let mine = about(&ours, &node);
        assert_eq!(mine, about(&reference, &node), "{params}");
        assert_eq!(mine.len(), 1, "{ours:?}");
        assert!(
            mine[0].contains(&format!("/dev/disk/by-id/test-{}", lo.name())),
            "{mine:?}"
        );
        // Read-only disks are never candidates.
        let ro_node = ro.node.display().to_string();
        assert!(about(&ours, &ro_node).is_empty());
        assert!(about(&reference, &ro_node).is_empty());
    }
    // A subscription: the same `add` for the disk, then `ready`; it never ends by itself.
    let params = r#"{"subscribe":true}"#;
    let (ours, _) = list(ours_exec, params, Some("--timeout=3"));
    let (reference, _) = list(&reference_exec, params, Some("--timeout=3"));
    let mine = about(&ours, &node);
    assert_eq!(mine, about(&reference, &node));
    assert_eq!(mine.len(), 2, "{ours:?}");
    assert!(
        mine[0].starts_with(r#"{"action":"add","node":"#),
        "{mine:?}"
    );
    assert_eq!(mine[1], r#"{"action":"ready"}"#);
}
