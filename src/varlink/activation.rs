//! Socket activation as systemd (and `varlinkctl call exec:`) does it: `LISTEN_FDS=1`,
//! `LISTEN_PID=<our pid>`, `LISTEN_FDNAMES=varlink`, and the socket on fd 3. Without
//! `LISTEN_FDNAMES=varlink` for us, the program runs as the command line, as v262 does.

use std::os::fd::OwnedFd;
use std::os::unix::net::{UnixListener, UnixStream};

use rustix::net::{AddressFamily, SocketType, sockopt};
use rustix::process::{PidfdFlags, PidfdGetfdFlags};

use crate::error::{Error, ErrorKind, Result};

/// The first passed file descriptor (`SD_LISTEN_FDS_START`).
const FIRST_FD: i32 = 3;

/// The socket handed over.
pub enum Activated {
    /// One connection (systemd's `Accept=yes`, `varlinkctl call exec:`).
    Connection(UnixStream),
    /// A listening socket (`Accept=no`): v262 refuses it; repart-rs serves its connections
    /// one at a time, as `--varlink=PATH` does.
    Listener(UnixListener),
}

/// Whether the environment hands a Varlink socket to process `pid` (as sd_listen_fds()
/// reads it: no descriptors, or another process's, means none): an error when it names a
/// Varlink socket but not as exactly one file descriptor.
pub fn is_for_us(
    fds: Option<&str>,
    pid: Option<&str>,
    names: Option<&str>,
    own_pid: u32,
) -> Result<bool> {
    if pid.and_then(|p| p.parse::<u32>().ok()) != Some(own_pid) {
        return Ok(false);
    }
    let count = fds.and_then(|n| n.parse::<u32>().ok()).unwrap_or(0);
    let names = names.unwrap_or_default();
    if count == 0 || !names.split(':').any(|n| n == "varlink") {
        return Ok(false);
    }
    if count != 1 || names != "varlink" {
        return Err(Error::new(
            ErrorKind::Usage,
            format!(
                "socket activation: expected exactly one file descriptor named \"varlink\", got LISTEN_FDS={count} LISTEN_FDNAMES={names}"
            ),
        ));
    }
    Ok(true)
}

/// The socket systemd passed, if the environment says there is one for us.
pub fn activated() -> Result<Option<Activated>> {
    let var = |name: &str| std::env::var(name).ok();
    let own_pid = rustix::process::getpid()
        .as_raw_nonzero()
        .get()
        .unsigned_abs();
    if !is_for_us(
        var("LISTEN_FDS").as_deref(),
        var("LISTEN_PID").as_deref(),
        var("LISTEN_FDNAMES").as_deref(),
        own_pid,
    )? {
        return Ok(None);
    }
    let fd = take_passed_fd()?;
    let what = |e| Error::io(format!("socket activation: inspecting fd {FIRST_FD}"), e);
    let domain = sockopt::socket_domain(&fd).map_err(what)?;
    let kind = sockopt::socket_type(&fd).map_err(what)?;
    if domain != AddressFamily::UNIX || kind != SocketType::STREAM {
        return Err(Error::new(
            ErrorKind::Usage,
            format!("socket activation: fd {FIRST_FD} is not an AF_UNIX stream socket"),
        ));
    }
    Ok(Some(if sockopt::socket_acceptconn(&fd).map_err(what)? {
        Activated::Listener(UnixListener::from(fd))
    } else {
        Activated::Connection(UnixStream::from(fd))
    }))
}

/// A descriptor of our own for fd 3. Taking ownership of an inherited descriptor number
/// would need `unsafe`; duplicating it through a pidfd of this very process does not (Linux
/// 5.6+, always permitted on oneself). The inherited fd 3 stays open until exit.
fn take_passed_fd() -> Result<OwnedFd> {
    let me = rustix::process::pidfd_open(rustix::process::getpid(), PidfdFlags::empty())
        .map_err(|e| Error::io("socket activation: opening a pidfd of this process", e))?;
    rustix::process::pidfd_getfd(&me, FIRST_FD, PidfdGetfdFlags::empty())
        .map_err(|e| Error::io(format!("socket activation: taking over fd {FIRST_FD}"), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_varlink_socket_for_this_process_counts() {
        let yes = |fds, pid, names| is_for_us(fds, pid, names, 42).unwrap();
        assert!(yes(Some("1"), Some("42"), Some("varlink")));
        assert!(!yes(Some("1"), Some("43"), Some("varlink")));
        assert!(!yes(Some("1"), None, Some("varlink")));
        assert!(!yes(Some("1"), Some("42"), None));
        assert!(!yes(Some("1"), Some("42"), Some("other")));
        assert!(!yes(None, None, None));
        assert!(!yes(None, Some("42"), Some("varlink")));
        assert!(!yes(Some("0"), Some("42"), Some("varlink")));
        assert!(is_for_us(Some("2"), Some("42"), Some("varlink:other"), 42).is_err());
        assert!(is_for_us(Some("2"), Some("42"), Some("varlink"), 42).is_err());
    }
}
