//! `logger::init` in a real process: the test re-runs itself as a child with a chosen
//! environment and a file as stderr, and checks what the child wrote there.

use std::os::unix::fs::MetadataExt;
use std::process::{Command, Stdio};

const CHILD: &str = "REPART_LOGGER_TEST_CHILD";

fn child_main() {
    repart_rs::logger::init(false).expect("first logger of this process");
    log::error!("an error");
    log::info!(target: repart_rs::logger::NOTICE_TARGET, "a notice");
    log::info!("some info\nsecond line");
    log::debug!("some debug");
    assert!(
        repart_rs::logger::init(false).is_err(),
        "a second init is refused"
    );
}

/// Runs the child with `env` and returns its stderr.
fn run_child(tag: &str, env: &[(&str, &str)], journal_stream: bool) -> String {
    let path = std::env::temp_dir().join(format!("repart-logger-{tag}-{}", std::process::id()));
    let file = std::fs::File::create(&path).unwrap();
    let meta = file.metadata().unwrap();
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "logger_targets_in_a_real_process",
        "--test-threads=1",
    ])
    .env(CHILD, "1")
    .env_remove("JOURNAL_STREAM")
    .env_remove("SYSTEMD_LOG_LEVEL")
    .env_remove("SYSTEMD_LOG_TARGET")
    .env_remove("SYSTEMD_IN_INITRD")
    .stdout(Stdio::null())
    .stderr(Stdio::from(file));
    if journal_stream {
        cmd.env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()));
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let status = cmd.status().unwrap();
    let out = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(status.success(), "child failed: {out}");
    out
}

#[test]
fn logger_targets_in_a_real_process() {
    if std::env::var_os(CHILD).is_some() {
        child_main();
        return;
    }
    let console = run_child("console", &[], false);
    assert_eq!(console, "an error\na notice\nsome info\nsecond line\n");

    let journal = run_child("journal", &[], true);
    assert_eq!(
        journal,
        "<3>an error\n<5>a notice\n<6>some info\n<6>second line\n"
    );

    let debug = run_child("debug", &[("SYSTEMD_LOG_LEVEL", "debug")], false);
    assert!(debug.ends_with("second line\nsome debug\n"), "{debug}");

    let notice = run_child("notice", &[("SYSTEMD_LOG_LEVEL", "notice")], true);
    assert_eq!(notice, "<3>an error\n<5>a notice\n");

    let bad = run_child("bad", &[("SYSTEMD_LOG_LEVEL", "error")], false);
    assert!(
        bad.starts_with("Failed to parse log level 'error', ignoring.\nan error\n"),
        "{bad}"
    );

    let forced = run_child(
        "forced",
        &[("SYSTEMD_LOG_TARGET", "console-prefixed")],
        false,
    );
    assert!(forced.starts_with("<3>an error\n"), "{forced}");

    let null = run_child("null", &[("SYSTEMD_LOG_TARGET", "null")], true);
    assert_eq!(null, "");
}
