//! The socket/service pair: `systemd-analyze verify` accepts both units, and systemd's own
//! socket activation in `Accept=yes` mode (`systemd-socket-activate --accept
//! --fdname=varlink`, what repart-rs.socket asks systemd for) starts repart per connection,
//! driven by the reference's `varlinkctl` over the socket path.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// A root directory holding the binary and the units where `make install` puts them.
fn installed(s: &Scratch) -> std::path::PathBuf {
    let root = s.subdir("root");
    let units = root.join("usr/lib/systemd/system");
    std::fs::create_dir_all(&units).unwrap();
    std::fs::create_dir_all(root.join("usr/bin")).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_repart"), root.join("usr/bin/repart")).unwrap();
    for unit in ["repart-rs.socket", "repart-rs@.service"] {
        std::fs::copy(manifest_dir().join("units").join(unit), units.join(unit)).unwrap();
    }
    root
}

#[test]
fn units_verify() {
    let s = Scratch::new("units");
    let root = installed(&s);
    let units = root.join("usr/lib/systemd/system");
    for unit in ["repart-rs.socket", "repart-rs@connection.service"] {
        let out = Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(format!("--root={}", root.display()))
            .arg(units.join(unit))
            .output()
            .unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success() && said.is_empty(), "{unit}: {said}");
    }
    let socket = std::fs::read_to_string(units.join("repart-rs.socket")).unwrap();
    for line in [
        "Accept=yes",
        "FileDescriptorName=varlink",
        "SocketMode=0600",
    ] {
        assert!(socket.lines().any(|l| l == line), "{line}");
    }
}

#[test]
fn systemd_socket_activation_per_connection() {
    let s = Scratch::new("activate");
    let bin = s.path("repart");
    std::fs::copy(env!("CARGO_BIN_EXE_repart"), &bin).unwrap();
    let socket = s.path("io.systemd.Repart");
    let mut activator = Command::new("systemd-socket-activate")
        .arg(format!("--listen={}", socket.display()))
        .args(["--accept", "--fdname=varlink"])
        .arg(&bin)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !socket.exists() {
        assert!(started.elapsed() < Duration::from_secs(30), "no socket");
        std::thread::sleep(Duration::from_millis(20));
    }
    let defs = s.defs(
        "defs",
        &[(
            "10-root.conf",
            "[Partition]\nType=root\nSizeMinBytes=100M\n",
        )],
    );
    let image = s.image("disk.img", 256 * MIB);
    let address = format!("unix:{}", socket.display());
    let info = oracle_tool(&s.dir, "varlinkctl", &["info", &address]);
    let run = oracle_tool(
        &s.dir,
        "varlinkctl",
        &[
            "call",
            "-j",
            &address,
            "io.systemd.Repart.Run",
            &format!(
                r#"{{"node":"{}","empty":"allow","dryRun":true,"definitions":["{}"]}}"#,
                image.display(),
                defs.display()
            ),
        ],
    );
    activator.kill().unwrap();
    let out = activator.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    info.ok(&log);
    assert!(
        info.stdout.contains("Interfaces: io.systemd"),
        "{}",
        info.stdout
    );
    run.ok(&log);
    assert_eq!(
        run.stdout.trim(),
        r#"{"minimalSizeBytes":105923072,"currentSizeBytes":268435456,"partitionCount":0}"#
    );
    // Two connections, two processes: each was accepted and handed over by the activator.
    assert_eq!(
        log.matches("Communication attempt on fd").count(),
        2,
        "{log}"
    );
    assert!(Path::new(&bin).exists());
}
