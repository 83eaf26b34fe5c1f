//! Varlink IPC: systemd-repart 262's `io.systemd.Repart` interface (`Run` with progress,
//! `ListCandidateDevices` with subscriptions) and `org.varlink.service`, wire-compatible with
//! systemd's clients (`varlinkctl`, installers using sd-varlink).
//!
//! The protocol: NUL-terminated JSON objects over an AF_UNIX stream socket; a call names a
//! method and may ask for `more` (a stream of replies, all but the last with `continues`)
//! or `oneway` (no reply). Calls on a connection are answered one after the other; a peer
//! that breaks the protocol (bad JSON, a message over [`wire::MAX_MESSAGE`], unknown keys)
//! has its connection closed, as v262 does.
//!
//! How the service is started:
//! * socket activation ([`activated`]): systemd's `Accept=yes` socket unit, or
//!   `varlinkctl call exec:/usr/bin/repart ...`, which pass a connected socket as fd 3 with
//!   `LISTEN_FDS=1`, `LISTEN_PID` and `LISTEN_FDNAMES=varlink`;
//! * `--varlink=PATH` ([`listen`]): a socket of our own, for initrds without systemd.
//!
//! `Run` drives the same pipeline as the command line ([`crate::run::execute`]); a caller
//! that disconnects stops it before anything is written, never in the middle of writing.

mod activation;
mod call;
mod devices;
mod errno;
mod idl;
mod listen;
mod method_list;
mod method_run;
mod params;
mod reply;
mod service;
mod uevent;
mod wire;

use std::io::IsTerminal;
use std::path::Path;

use crate::cli::Options;
use crate::error::{Error, Result};

pub use activation::{Activated, activated};
pub use devices::{Candidate, Filter, candidates};
pub use wire::MAX_MESSAGE;

/// Serves the socket systemd (or `varlinkctl exec:`) passed: one connection until the peer
/// closes it, or every connection of a listening socket.
pub fn serve_activated(socket: Activated, base: &Options) -> Result<()> {
    match socket {
        Activated::Connection(stream) => {
            let mut conn = wire::Connection::new(stream)?;
            service::serve(&mut conn, base);
            Ok(())
        }
        Activated::Listener(listener) => listen::serve_listener(&listener, base, None),
    }
}

/// `--varlink=PATH`: creates the socket and serves connections, one at a time, forever.
pub fn listen(path: &Path, base: &Options) -> Result<()> {
    listen::listen(path, base)
}

/// `--list-devices`: prints the candidate devices, each node followed by its
/// `/dev/disk/by-*` links (indented on a terminal, grey when colours are on).
pub fn print_devices(grey: &str) -> Result<()> {
    let paths = crate::disk::SystemPaths::default();
    let list = candidates(&paths, &Filter::default())?;
    let stdout = std::io::stdout();
    let on_tty = stdout.is_terminal();
    devices::print_list(&mut stdout.lock(), &list, on_tty, grey)
        .map_err(|e| Error::io("writing the device list", e))
}
