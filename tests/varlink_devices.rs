//! Candidate devices without udev: `ListCandidateDevices` (one reply per disk, and a
//! subscription that follows loop devices as they are attached, turned read-only and back,
//! and detached) and `repart --list-devices`. Needs root and the loop driver.

mod common;
mod varlink_common;

use std::process::Command;
use std::sync::Mutex;

use common::*;
use repart_rs::json::Value;
use varlink_common::*;

/// The tests attach and detach loop devices that the others list: they take turns.
static TURN: Mutex<()> = Mutex::new(());

fn sysfs_number(name: &str, attribute: &str) -> u64 {
    std::fs::read_to_string(format!("/sys/block/{name}/{attribute}"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// The record v262 sends for a loop device without udev links (sysfs facts only).
fn record(lo: &Loop) -> String {
    let name = lo.name();
    format!(
        r#""node":"{}","diskseq":{},"sizeBytes":{}"#,
        lo.node.display(),
        sysfs_number(&name, "diskseq"),
        sysfs_number(&name, "size") * 512
    )
}

#[test]
fn lists_candidates_one_reply_each() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let s = Scratch::new("list");
    let lo = Loop::attach(&s.image("disk.img", 32 * MIB), &[]);
    let ro = Loop::attach(&s.image("ro.img", 32 * MIB), &["-r"]);
    let noscan = s.image("noscan.img", 32 * MIB);
    let plain = Loop {
        node: sh("losetup", &["--find", "--show", noscan.to_str().unwrap()])
            .trim()
            .into(),
    };
    let mut svc = Service::repart(&s.dir);
    let replies = svc
        .call(r#"{"method":"io.systemd.Repart.ListCandidateDevices","parameters":{},"more":true}"#);
    let last = replies.len() - 1;
    for (i, r) in replies.iter().enumerate() {
        assert_eq!(r.contains(r#""continues":true"#), i != last, "{replies:?}");
    }
    let ours = format!(r#"{{"parameters":{{{}}}"#, record(&lo));
    assert!(
        replies.iter().any(|r| r.starts_with(&ours)),
        "{ours} not in {replies:?}"
    );
    let node = |l: &Loop| format!(r#""node":"{}""#, l.node.display());
    assert!(!replies.iter().any(|r| r.contains(&node(&ro))), "read-only");
    // `losetup` without -P: no partition scanning, no partition table possible.
    assert!(
        !replies.iter().any(|r| r.contains(&node(&plain))),
        "no partscan"
    );
    assert_eq!(svc.finish().0, Some(0));

    let out = Command::new(env!("CARGO_BIN_EXE_repart"))
        .arg("--list-devices")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let listed = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = listed.lines().collect();
    assert!(lines.contains(&lo.node.to_str().unwrap()), "{listed}");
    assert!(!lines.contains(&ro.node.to_str().unwrap()), "{listed}");
    drop(plain);
}

/// Reads replies until one about `node` with `action` arrives (others' loop devices come
/// and go too).
fn wait_for(svc: &mut Service, action: &str, node: &str) -> Value {
    loop {
        let reply = parse(&svc.receive().expect("the subscription ended"));
        let p = reply.get("parameters").cloned().unwrap();
        assert_eq!(reply.get("continues").and_then(Value::as_bool), Some(true));
        if p.get("action").and_then(Value::as_str) == Some(action)
            && p.get("node").and_then(Value::as_str) == Some(node)
        {
            return p;
        }
    }
}

#[test]
fn a_subscription_follows_the_kernel() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let s = Scratch::new("subscribe");
    let mut svc = Service::repart(&s.dir);
    svc.send(
        r#"{"method":"io.systemd.Repart.ListCandidateDevices","parameters":{"subscribe":true,"ignoreEmpty":true},"more":true}"#,
    );
    // The initial list ends with exactly one `ready`.
    loop {
        let reply = parse(&svc.receive().unwrap());
        let p = reply.get("parameters").unwrap();
        if p.get("action").and_then(Value::as_str) == Some("ready") {
            assert_eq!(p.to_short(), r#"{"action":"ready"}"#);
            break;
        }
        assert_eq!(p.get("action").and_then(Value::as_str), Some("add"));
    }
    let image = s.image("disk.img", 16 * MIB);
    let lo = Loop::attach(&image, &[]);
    let node = lo.node.display().to_string();
    let added = wait_for(&mut svc, "add", &node);
    assert_eq!(
        added.to_short(),
        format!(r#"{{"action":"add",{}}}"#, record(&lo))
    );
    // Read-only: no longer a candidate. BLKROSET makes no uevent; a `change` (what
    // `udevadm trigger` sends) brings it to the subscriber's attention.
    let change = format!("/sys/block/{}/uevent", lo.name());
    sh("blockdev", &["--setro", &node]);
    std::fs::write(&change, "change").unwrap();
    let removed = wait_for(&mut svc, "remove", &node);
    assert_eq!(
        removed.to_short(),
        format!(r#"{{"action":"remove","node":"{node}"}}"#)
    );
    sh("blockdev", &["--setrw", &node]);
    std::fs::write(&change, "change").unwrap();
    wait_for(&mut svc, "add", &node);
    // A bigger medium (the kernel's own RESIZE uevent): `add` again with the new size.
    std::fs::File::options()
        .write(true)
        .open(&image)
        .unwrap()
        .set_len(32 * MIB)
        .unwrap();
    sh("losetup", &["-c", &node]);
    let grown = wait_for(&mut svc, "add", &node);
    assert_eq!(
        grown.get("sizeBytes").and_then(Value::as_u64),
        Some(32 * MIB)
    );
    lo.detach();
    wait_for(&mut svc, "remove", &node);
    // The subscription ends with the caller.
    let started = std::time::Instant::now();
    let (code, log) = svc.finish();
    assert_eq!(code, Some(0), "{log}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn more_is_required_and_parameters_are_checked() {
    let s = Scratch::new("required");
    let mut svc = Service::repart(&s.dir);
    assert_eq!(
        svc.call(r#"{"method":"io.systemd.Repart.ListCandidateDevices","parameters":{}}"#),
        [r#"{"error":"org.varlink.service.ExpectedMore"}"#]
    );
    assert_eq!(
        svc.call(
            r#"{"method":"io.systemd.Repart.ListCandidateDevices","parameters":{"subscribe":"x"},"more":true}"#
        ),
        [r#"{"error":"org.varlink.service.InvalidParameter","parameters":{"parameter":"subscribe"}}"#]
    );
    assert_eq!(svc.finish().0, Some(0));
}
