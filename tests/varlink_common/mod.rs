//! A Varlink client for the tests: starts a service the way systemd and `varlinkctl
//! exec:` do (a connected socket as fd 3, `LISTEN_FDS=1`, `LISTEN_PID` of the service,
//! `LISTEN_FDNAMES=varlink`) and exchanges NUL-terminated JSON messages with it.

// Each test crate uses a different subset of these helpers.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use repart_rs::json::{self, Value};

/// How long a test waits for a reply before failing.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(60);

/// Moves stdin to fd 3 and sets the activation variables for the process it becomes: the
/// shell's pid is the service's pid after `exec`.
const ACTIVATE: &str =
    "exec 3<&0 0</dev/null; export LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=varlink; exec \"$@\"";

/// A service on the other end of a socket pair.
pub struct Service {
    pub socket: UnixStream,
    child: Option<Child>,
    pending: Vec<u8>,
}

impl Service {
    /// Starts `program args...` socket-activated, in `dir`.
    pub fn start(program: &Path, args: &[&str], dir: &Path) -> Service {
        Service::start_env(program, args, dir, &[])
    }

    /// [`Service::start`] with extra environment variables.
    pub fn start_env(program: &Path, args: &[&str], dir: &Path, env: &[(&str, &str)]) -> Service {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let child = Command::new("sh")
            .arg("-c")
            .arg(ACTIVATE)
            .arg("sh")
            .arg(program)
            .args(args)
            .current_dir(dir)
            .env_remove("SYSTEMD_IN_INITRD")
            .env_remove("JOURNAL_STREAM")
            .envs(env.iter().copied())
            .stdin(Stdio::from(OwnedFd::from(theirs)))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        ours.set_read_timeout(Some(REPLY_TIMEOUT)).unwrap();
        Service {
            socket: ours,
            child: Some(child),
            pending: Vec::new(),
        }
    }

    /// The `repart` binary cargo built, socket-activated.
    pub fn repart(dir: &Path) -> Service {
        Service::start(Path::new(env!("CARGO_BIN_EXE_repart")), &[], dir)
    }

    /// Sends raw bytes.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.socket.write_all(bytes).unwrap();
    }

    /// Sends a message (JSON text) and its NUL.
    pub fn send(&mut self, message: &str) {
        let mut bytes = message.as_bytes().to_vec();
        bytes.push(0);
        self.send_raw(&bytes);
    }

    /// The next message's text, or `None` when the service closed the connection.
    pub fn receive(&mut self) -> Option<String> {
        loop {
            if let Some(end) = self.pending.iter().position(|&b| b == 0) {
                let rest = self.pending.split_off(end + 1);
                let mut message = std::mem::replace(&mut self.pending, rest);
                message.truncate(end);
                return Some(String::from_utf8(message).unwrap());
            }
            let mut buf = [0u8; 65536];
            let n = self.socket.read(&mut buf).expect("no reply in time");
            if n == 0 {
                assert!(
                    self.pending.is_empty(),
                    "the service closed inside a message"
                );
                return None;
            }
            self.pending.extend_from_slice(&buf[..n]);
        }
    }

    /// Sends a call and returns every reply to it (up to the first without `continues`).
    pub fn call(&mut self, message: &str) -> Vec<String> {
        self.send(message);
        self.replies()
    }

    /// The replies to the call sent last, up to the first without `continues`.
    pub fn replies(&mut self) -> Vec<String> {
        let mut replies = Vec::new();
        loop {
            let reply = self.receive().expect("the service closed the connection");
            let more = parse(&reply).get("continues").and_then(Value::as_bool) == Some(true);
            replies.push(reply);
            if !more {
                return replies;
            }
        }
    }

    /// Closes our end and waits for the service: its exit status and its log.
    pub fn finish(mut self) -> (Option<i32>, String) {
        let _ = self.socket.shutdown(std::net::Shutdown::Both);
        let out = self.child.take().unwrap().wait_with_output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = self.socket.shutdown(std::net::Shutdown::Both);
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Parses a message.
pub fn parse(text: &str) -> Value {
    json::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{e}: {text}"))
}
