//! The Varlink service of `repart` spoken to directly over a socket pair, as systemd's
//! socket activation and `varlinkctl exec:` start it: the service interface, the protocol's
//! error handling, `Run`'s parameters, phases, replies and errors, a client that leaves,
//! and the other ways of starting (`--varlink=PATH`, a listening socket, no activation).
//!
//! Every expected reply below is what systemd-repart 262 sent for the same message
//! (measured with a raw client on the reference; `varlink_oracle.rs` compares live).

mod common;
mod varlink_common;

use std::os::fd::OwnedFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use repart_rs::json::Value;
use varlink_common::*;

const GET_INFO: &str = r#"{"method":"org.varlink.service.GetInfo"}"#;

/// A definitions directory with root (at least 100M) and home (at least 50M).
fn root_and_home(s: &Scratch) -> PathBuf {
    s.defs(
        "defs",
        &[
            (
                "10-root.conf",
                "[Partition]\nType=root\nSizeMinBytes=100M\n",
            ),
            ("20-home.conf", "[Partition]\nType=home\nSizeMinBytes=50M\n"),
        ],
    )
}

fn run_call(params: &str, more: bool) -> String {
    format!(r#"{{"method":"io.systemd.Repart.Run","parameters":{params},"more":{more}}}"#)
}

#[test]
fn service_interface() {
    let s = Scratch::new("service");
    let mut svc = Service::repart(&s.dir);
    let info = svc.call(GET_INFO);
    assert_eq!(info.len(), 1);
    let info = parse(&info[0]);
    let p = info.get("parameters").unwrap();
    assert_eq!(p.get("vendor").and_then(Value::as_str), Some("repart-rs"));
    assert_eq!(
        p.get("version").and_then(Value::as_str),
        Some(env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(
        p.get("interfaces").map(Value::to_short).as_deref(),
        Some(r#"["io.systemd","io.systemd.Repart","org.varlink.service"]"#)
    );
    for (name, text) in [
        (
            "io.systemd.Repart",
            include_str!("../src/varlink/interfaces/io.systemd.Repart.varlink"),
        ),
        (
            "io.systemd",
            include_str!("../src/varlink/interfaces/io.systemd.varlink"),
        ),
        (
            "org.varlink.service",
            include_str!("../src/varlink/interfaces/org.varlink.service.varlink"),
        ),
    ] {
        let reply = svc.call(&format!(
            r#"{{"method":"org.varlink.service.GetInterfaceDescription","parameters":{{"interface":"{name}"}}}}"#
        ));
        let reply = parse(&reply[0]);
        let description = reply.get("parameters").and_then(|p| p.get("description"));
        assert_eq!(description.and_then(Value::as_str), Some(text), "{name}");
    }
    for (call, reply) in [
        (
            r#"{"method":"org.varlink.service.GetInterfaceDescription","parameters":{"interface":"io.foo"}}"#,
            r#"{"error":"org.varlink.service.InterfaceNotFound","parameters":{"interface":"io.foo"}}"#,
        ),
        (
            r#"{"method":"org.varlink.service.GetInterfaceDescription","parameters":{}}"#,
            r#"{"error":"org.varlink.service.InvalidParameter","parameters":{"parameter":"interface"}}"#,
        ),
        (
            r#"{"method":"org.varlink.service.GetInterfaceDescription","parameters":{"interface":5}}"#,
            r#"{"error":"org.varlink.service.InvalidParameter","parameters":{"parameter":"interface"}}"#,
        ),
        (
            r#"{"method":"org.varlink.service.GetInfo","parameters":{"x":1}}"#,
            r#"{"error":"org.varlink.service.InvalidParameter","parameters":{"parameter":"x"}}"#,
        ),
        (
            r#"{"method":"io.systemd.Repart.Frobnicate","parameters":{}}"#,
            r#"{"error":"org.varlink.service.MethodNotFound","parameters":{"method":"io.systemd.Repart.Frobnicate"}}"#,
        ),
        (
            r#"{"method":"io.foo.Bar"}"#,
            r#"{"error":"org.varlink.service.MethodNotFound","parameters":{"method":"io.foo.Bar"}}"#,
        ),
        (
            r#"{"method":""}"#,
            r#"{"error":"org.varlink.service.MethodNotFound","parameters":{"method":""}}"#,
        ),
        (
            r#"{"method":"io.systemd.Repart.ListCandidateDevices","parameters":{"frob":1}}"#,
            r#"{"error":"org.varlink.service.ExpectedMore"}"#,
        ),
        (
            r#"{"method":"io.systemd.Repart.ListCandidateDevices","parameters":{"ignoreRoot":null},"more":true}"#,
            r#"{"error":"org.varlink.service.InvalidParameter","parameters":{"parameter":"ignoreRoot"}}"#,
        ),
    ] {
        assert_eq!(svc.call(call), [reply], "{call}");
    }
    // `more` on a method that has one reply: one reply, without `continues`; `upgrade` is
    // ignored; `parameters` may be null.
    for call in [
        r#"{"method":"org.varlink.service.GetInfo","more":true}"#,
        r#"{"method":"org.varlink.service.GetInfo","upgrade":true,"parameters":null}"#,
    ] {
        let replies = svc.call(call);
        assert_eq!(replies.len(), 1);
        assert!(parse(&replies[0]).get("continues").is_none());
    }
    let (code, _) = svc.finish();
    assert_eq!(code, Some(0), "the service ends with its connection");
}

#[test]
fn calls_are_answered_in_order_and_oneway_calls_not_at_all() {
    let s = Scratch::new("pipelined");
    let mut svc = Service::repart(&s.dir);
    svc.send_raw(
        b"{\"method\":\"org.varlink.service.GetInfo\",\"oneway\":true}\0\
          {\"method\":\"io.x.Y\"}\0 {\"method\":\"org.varlink.service.GetInfo\"} \0",
    );
    let first = svc.receive().unwrap();
    assert_eq!(
        first,
        r#"{"error":"org.varlink.service.MethodNotFound","parameters":{"method":"io.x.Y"}}"#
    );
    let second = parse(&svc.receive().unwrap());
    assert!(
        second
            .get("parameters")
            .and_then(|p| p.get("vendor"))
            .is_some()
    );
    assert_eq!(svc.finish().0, Some(0));
}

/// v262 closes the connection on each of these; so does repart, without crashing and
/// without answering anything after them.
#[test]
fn protocol_violations_close_the_connection() {
    let s = Scratch::new("violations");
    let oversized = {
        let mut m = br#"{"method":"org.varlink.service.GetInfo","parameters":{"x":""#.to_vec();
        m.resize(repart_rs::varlink::MAX_MESSAGE + 4096, b'a');
        m
    };
    let deep = format!(
        r#"{{"method":"org.varlink.service.GetInfo","parameters":{{"a":{}{}}}}}"#,
        "[".repeat(70),
        "]".repeat(70)
    );
    let mut cases: Vec<Vec<u8>> = [
        r#"{"method":"#,
        "[1]",
        r#"{"parameters":{}}"#,
        r#"{"method":5}"#,
        r#"{"method":"org.varlink.service.GetInfo","parameters":[]}"#,
        r#"{"method":"org.varlink.service.GetInfo","more":"yes"}"#,
        r#"{"method":"org.varlink.service.GetInfo","more":true,"oneway":true}"#,
        r#"{"method":"org.varlink.service.GetInfo","frob":true}"#,
        r#"{"method":"org.varlink.service.GetInfo","method":"x"}"#,
        "\u{1}",
        deep.as_str(),
    ]
    .iter()
    .map(|m| {
        let mut bytes = m.as_bytes().to_vec();
        bytes.push(0);
        bytes
    })
    .collect();
    cases.push(b"{\"method\":\"org.varlink.service.GetInfo\"}\xff\0".to_vec());
    cases.push(oversized);
    for bad in cases {
        let mut svc = Service::repart(&s.dir);
        // The service may close before reading everything (the oversized message).
        let _ = std::io::Write::write_all(&mut svc.socket, &bad);
        let _ = std::io::Write::write_all(&mut svc.socket, format!("{GET_INFO}\0").as_bytes());
        assert_eq!(
            svc.receive(),
            None,
            "{}",
            String::from_utf8_lossy(&bad[..bad.len().min(80)])
        );
        let (code, log) = svc.finish();
        assert_eq!(code, Some(0), "{log}");
        assert!(log.contains("closing the connection"), "{log}");
    }
    // A message cut off by the client's leaving.
    let mut svc = Service::repart(&s.dir);
    svc.send_raw(br#"{"method":"org.varlink.servi"#);
    svc.socket.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(svc.receive(), None);
    let (code, log) = svc.finish();
    assert_eq!(code, Some(0));
    assert!(log.contains("inside a message"), "{log}");
}

#[test]
fn run_parameters_are_checked_as_v262_does() {
    let s = Scratch::new("params");
    let defs = root_and_home(&s);
    let image = s.image("disk.img", 64 * MIB);
    let d = defs.display();
    let node = image.display();
    let invalid = |p: &str| {
        format!(
            r#"{{"error":"org.varlink.service.InvalidParameter","parameters":{{"parameter":"{p}"}}}}"#
        )
    };
    let mut svc = Service::repart(&s.dir);
    for (params, reply) in [
        (r#"{"empty":"allow","dryRun":"yes"}"#.to_owned(), invalid("dryRun")),
        (r#"{"empty":"allow"}"#.to_owned(), invalid("dryRun")),
        (r#"{"dryRun":true}"#.to_owned(), invalid("empty")),
        (r#"{"frob":1}"#.to_owned(), invalid("empty")),
        (r#"{"empty":"allow","dryRun":true,"frob":1}"#.to_owned(), invalid("frob")),
        (r#"{"empty":"allow","dryRun":true,"frob":1,"node":5}"#.to_owned(), invalid("node")),
        (r#"{"empty":"create","dryRun":true}"#.to_owned(), invalid("empty")),
        (r#"{"empty":"allow","dryRun":true,"seed":"xyz"}"#.to_owned(), invalid("seed")),
        (r#"{"empty":"allow","dryRun":true,"seed":"random"}"#.to_owned(), invalid("seed")),
        (r#"{"empty":"allow","dryRun":true,"definitions":"x"}"#.to_owned(), invalid("definitions")),
        (r#"{"empty":"allow","dryRun":true,"definitions":[1]}"#.to_owned(), invalid("definitions")),
        (r#"{"empty":"allow","dryRun":true,"definitions":null}"#.to_owned(), invalid("definitions")),
        (r#"{"empty":"allow","dryRun":true,"definitions":["relative"]}"#.to_owned(), invalid("definitions")),
        (r#"{"empty":"allow","dryRun":true,"definitions":["/tmp/./x"]}"#.to_owned(), invalid("definitions")),
        (r#"{"empty":"allow","dryRun":true,"deferPartitionsEmpty":1}"#.to_owned(), invalid("deferPartitionsEmpty")),
        (format!(r#"{{"empty":"allow","dryRun":false,"definitions":["{d}"]}}"#), invalid("dryRun")),
        (
            format!(r#"{{"empty":"allow","dryRun":true,"definitions":["{d}"]}}"#),
            r#"{"parameters":{"minimalSizeBytes":158351872}}"#.to_owned(),
        ),
        (
            r#"{"empty":"allow","dryRun":true,"node":null,"seed":null,"deferPartitionsEmpty":null}"#.to_owned(),
            r#"{"parameters":{"minimalSizeBytes":1065472}}"#.to_owned(),
        ),
        (
            r#"{"node":"/nonexistent","empty":"allow","dryRun":true}"#.to_owned(),
            r#"{"error":"io.systemd.System","parameters":{"origin":"linux","errno":2,"errnoName":"ENOENT"}}"#.to_owned(),
        ),
        (
            r#"{"node":"","empty":"allow","dryRun":true}"#.to_owned(),
            r#"{"error":"io.systemd.System","parameters":{"origin":"linux","errno":22,"errnoName":"EINVAL"}}"#.to_owned(),
        ),
        (
            format!(r#"{{"node":"{node}/","empty":"allow","dryRun":true}}"#),
            r#"{"parameters":{"minimalSizeBytes":1065472,"currentSizeBytes":67108864,"partitionCount":0}}"#.to_owned(),
        ),
        (
            r#"{"node":"disk.img","empty":"allow","dryRun":true,"seed":"E2F1A58F2C2A4A4B9F3E7C1C0DE5A5A1"}"#.to_owned(),
            r#"{"parameters":{"minimalSizeBytes":1065472,"currentSizeBytes":67108864,"partitionCount":0}}"#.to_owned(),
        ),
    ] {
        assert_eq!(svc.call(&run_call(&params, false)), [reply], "{params}");
    }
    // A definition v262 cannot parse either: EINVAL.
    let bad = s.defs("bad", &[("10-x.conf", "[Partition]\nType=frob\n")]);
    assert_eq!(
        svc.call(&run_call(
            &format!(
                r#"{{"empty":"allow","dryRun":true,"definitions":["{}"]}}"#,
                bad.display()
            ),
            true
        )),
        [
            r#"{"parameters":{"phase":"loading_definitions"},"continues":true}"#,
            r#"{"error":"io.systemd.System","parameters":{"origin":"linux","errno":22,"errnoName":"EINVAL"}}"#,
        ]
    );
    assert_eq!(svc.finish().0, Some(0));
}

/// The transcript v262 sends for a dry run of root and home on an empty 320 MiB disk.
fn dry_run_transcript(defs: &Path, final_reply: &str) -> Vec<String> {
    let d = defs.display();
    vec![
        r#"{"parameters":{"phase":"loading_definitions"},"continues":true}"#.to_owned(),
        r#"{"parameters":{"phase":"loading_table"},"continues":true}"#.to_owned(),
        format!(
            r#"{{"parameters":{{"phase":"acquiring_partition_labels","object":"{d}/10-root.conf"}},"continues":true}}"#
        ),
        format!(
            r#"{{"parameters":{{"phase":"acquiring_partition_labels","object":"{d}/20-home.conf"}},"continues":true}}"#
        ),
        r#"{"parameters":{"phase":"placing"},"continues":true}"#.to_owned(),
        final_reply.to_owned(),
    ]
}

#[test]
fn dry_and_real_runs_on_an_image() {
    let s = Scratch::new("runs");
    let defs = root_and_home(&s);
    let image = s.image("disk.img", 320 * MIB);
    let cli_image = s.image("cli.img", 320 * MIB);
    let params = |empty: &str, dry: bool| {
        format!(
            r#"{{"node":"{}","empty":"{empty}","dryRun":{dry},"seed":"{SEED}","definitions":["{}"]}}"#,
            image.display(),
            defs.display()
        )
    };
    let mut svc = Service::repart(&s.dir);
    assert_eq!(
        svc.call(&run_call(&params("refuse", true), false)),
        [r#"{"error":"io.systemd.Repart.ConflictingDiskLabelPresent"}"#]
    );
    assert_eq!(
        svc.call(&run_call(&params("allow", true), true)),
        dry_run_transcript(
            &defs,
            r#"{"parameters":{"minimalSizeBytes":158351872,"currentSizeBytes":335544320,"partitionCount":0}}"#
        )
    );
    assert_eq!(
        svc.call(&run_call(&params("force", true), false)),
        [r#"{"parameters":{"minimalSizeBytes":158351872,"currentSizeBytes":335544320}}"#]
    );
    let d = defs.display();
    let mut real = dry_run_transcript(&defs, "{}");
    real.splice(
        5..5,
        [
            r#"{"parameters":{"phase":"wiping_disk"},"continues":true}"#.to_owned(),
            format!(r#"{{"parameters":{{"phase":"wiping_partition","object":"{d}/10-root.conf"}},"continues":true}}"#),
            format!(r#"{{"parameters":{{"phase":"wiping_partition","object":"{d}/20-home.conf"}},"continues":true}}"#),
            format!(r#"{{"parameters":{{"phase":"adjusting_partition","object":"{d}/10-root.conf"}},"continues":true}}"#),
            format!(r#"{{"parameters":{{"phase":"adjusting_partition","object":"{d}/20-home.conf"}},"continues":true}}"#),
            r#"{"parameters":{"phase":"writing_table"},"continues":true}"#.to_owned(),
        ],
    );
    assert_eq!(svc.call(&run_call(&params("allow", false), true)), real);
    // The same as the command line writes.
    Agent::plain()
        .run(&real_run_args(&defs, &cli_image, &["--empty=allow"]))
        .ok("command line");
    let table = clean_gpt(&image, 512);
    assert_eq!(table, clean_gpt(&cli_image, 512));
    assert_eq!(
        gpt_regions(&image, &table),
        gpt_regions(&cli_image, &table),
        "Varlink and the command line wrote different tables"
    );
    assert_eq!(
        svc.call(&run_call(&params("allow", true), false)),
        [
            r#"{"parameters":{"minimalSizeBytes":335540736,"currentSizeBytes":335544320,"partitionCount":2}}"#
        ]
    );
    assert_eq!(svc.call(&run_call(&params("allow", false), false)), ["{}"]);
    assert_eq!(
        svc.call(&run_call(&params("require", true), true)),
        [
            r#"{"parameters":{"phase":"loading_definitions"},"continues":true}"#,
            r#"{"parameters":{"phase":"loading_table"},"continues":true}"#,
            r#"{"error":"io.systemd.Repart.ConflictingDiskLabelPresent"}"#,
        ]
    );
    let (code, log) = svc.finish();
    assert_eq!(code, Some(0), "{log}");
}

#[test]
fn does_not_fit_errors_carry_v262_numbers() {
    let s = Scratch::new("fit");
    let defs = root_and_home(&s);
    let small = s.image("small.img", 128 * MIB);
    // A foreign 100 MiB partition: the disk would do if emptied.
    let busy = s.image("busy.img", 128 * MIB);
    sh_input(
        "sfdisk",
        &["-q", busy.to_str().unwrap()],
        &s.dir,
        &[],
        "label: gpt\nstart=2048,size=204800,type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n",
    );
    let only_root = s.defs(
        "root",
        &[("10-root.conf", "[Partition]\nType=root\nSizeMinBytes=50M\n")],
    );
    let mut svc = Service::repart(&s.dir);
    let call = |node: &Path, defs: &Path, dry: bool| {
        run_call(
            &format!(
                r#"{{"node":"{}","empty":"allow","dryRun":{dry},"definitions":["{}"]}}"#,
                node.display(),
                defs.display()
            ),
            false,
        )
    };
    for dry in [true, false] {
        assert_eq!(
            svc.call(&call(&small, &defs, dry)),
            [
                r#"{"error":"io.systemd.Repart.DiskTooSmall","parameters":{"currentSizeBytes":134217728,"minimalSizeBytes":158351872}}"#
            ]
        );
        assert_eq!(
            svc.call(&call(&busy, &only_root, dry)),
            [
                r#"{"error":"io.systemd.Repart.InsufficientFreeSpace","parameters":{"currentSizeBytes":134217728,"needFreeBytes":52428800,"minimalSizeBytes":158351872}}"#
            ]
        );
    }
    assert_eq!(svc.finish().0, Some(0));
}

/// A caller that disconnects right after asking for a real run gets nothing written (v262
/// would run on regardless); a `oneway` caller, who asked for no reply, gets the run.
#[test]
fn a_caller_that_leaves_stops_the_run_before_anything_is_written() {
    let s = Scratch::new("leave");
    let defs = root_and_home(&s);
    let image = s.image("disk.img", 320 * MIB);
    let params = format!(
        r#"{{"node":"{}","empty":"allow","dryRun":false,"seed":"{SEED}","definitions":["{}"]}}"#,
        image.display(),
        defs.display()
    );
    for more in [false, true] {
        let mut svc = Service::repart(&s.dir);
        svc.send(&run_call(&params, more));
        let (code, log) = svc.finish();
        assert_eq!(code, Some(0), "{log}");
        assert!(log.contains("disconnected"), "{log}");
        // Not a block allocated: nothing was written (zeros included).
        use std::os::unix::fs::MetadataExt;
        assert_eq!(std::fs::metadata(&image).unwrap().blocks(), 0, "{log}");
    }
    let mut svc = Service::repart(&s.dir);
    svc.send(&format!(
        r#"{{"method":"io.systemd.Repart.Run","parameters":{params},"oneway":true}}"#
    ));
    let (code, log) = svc.finish();
    assert_eq!(code, Some(0), "{log}");
    assert_eq!(parts(&clean_gpt(&image, 512)).len(), 2, "{log}");
}

/// Waits for `path` to appear (a service creating its socket).
fn wait_for(path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn get_info_over(stream: UnixStream) -> Option<String> {
    let mut svc = ClientOnly::new(stream);
    svc.call(GET_INFO)
}

/// A bare client connection (no service process of its own).
struct ClientOnly {
    socket: UnixStream,
}

impl ClientOnly {
    fn new(socket: UnixStream) -> ClientOnly {
        socket.set_read_timeout(Some(REPLY_TIMEOUT)).unwrap();
        ClientOnly { socket }
    }

    fn call(&mut self, message: &str) -> Option<String> {
        use std::io::{Read, Write};
        self.socket
            .write_all(format!("{message}\0").as_bytes())
            .ok()?;
        let mut reply = Vec::new();
        let mut byte = [0u8; 1];
        loop {
            match self.socket.read(&mut byte) {
                Ok(1) if byte[0] == 0 => return Some(String::from_utf8(reply).unwrap()),
                Ok(1) => reply.push(byte[0]),
                _ => return None,
            }
        }
    }
}

#[test]
fn varlink_option_serves_root_one_connection_after_another() {
    let s = Scratch::new("listen");
    let socket = s.path("run/io.systemd.Repart");
    let mut child = Command::new(env!("CARGO_BIN_EXE_repart"))
        .arg(format!("--varlink={}", socket.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&socket);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    for _ in 0..2 {
        let reply = get_info_over(UnixStream::connect(&socket).unwrap()).unwrap();
        assert!(reply.contains(r#""vendor":"repart-rs""#), "{reply}");
    }
    // Another user is refused even when the socket's mode would let it in.
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    // The service closes the connection at once: sending or receiving may fail with it.
    let script = format!(
        "import socket\n\
         s = socket.socket(socket.AF_UNIX)\n\
         s.connect({:?})\n\
         try:\n    s.sendall(b'{GET_INFO}\\0')\n    print(repr(s.recv(100)))\n\
         except (BrokenPipeError, ConnectionResetError):\n    print(\"b''\")\n",
        socket.display().to_string()
    );
    let out = sh(
        "setpriv",
        &[
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "/usr/bin/python3",
            "-c",
            &script,
        ],
    );
    assert_eq!(out.trim(), "b''", "a non-root client got an answer");
    // The service goes on after refusing.
    assert!(get_info_over(UnixStream::connect(&socket).unwrap()).is_some());
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("refusing a Varlink connection from uid 65534"),
        "{log}"
    );
}

#[test]
fn a_passed_listening_socket_is_served_too() {
    let s = Scratch::new("accept-no");
    let path = s.path("sock");
    let listener = UnixListener::bind(&path).unwrap();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("exec 3<&0 0</dev/null; export LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=varlink; exec \"$0\"")
        .arg(env!("CARGO_BIN_EXE_repart"))
        .stdin(Stdio::from(OwnedFd::from(listener)))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..2 {
        let reply = get_info_over(UnixStream::connect(&path).unwrap()).unwrap();
        assert!(reply.contains("io.systemd.Repart"), "{reply}");
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Without `LISTEN_FDNAMES=varlink` for this very process, `repart` is the command line
/// (fd 3 is not touched), as v262 is.
#[test]
fn without_activation_for_us_it_is_the_command_line() {
    let s = Scratch::new("cli");
    let defs = root_and_home(&s);
    for env in [
        "export LISTEN_PID=$$ LISTEN_FDS=1",
        "export LISTEN_PID=1 LISTEN_FDS=1 LISTEN_FDNAMES=varlink",
    ] {
        let (_ours, theirs) = UnixStream::pair().unwrap();
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("exec 3<&0 0</dev/null; {env}; exec \"$0\" \"$@\""))
            .arg(env!("CARGO_BIN_EXE_repart"))
            .arg(format!("--definitions={}", defs.display()))
            .arg("-")
            .stdin(Stdio::from(OwnedFd::from(theirs)))
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{log}");
        assert!(
            log.contains("Automatically determined minimal disk image size as 151M."),
            "{log}"
        );
    }
    // Two descriptors named for Varlink: refused.
    let out = Command::new("sh")
        .arg("-c")
        .arg("export LISTEN_PID=$$ LISTEN_FDS=2 LISTEN_FDNAMES=varlink:varlink; exec \"$0\"")
        .arg(env!("CARGO_BIN_EXE_repart"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("exactly one file descriptor"));
}
