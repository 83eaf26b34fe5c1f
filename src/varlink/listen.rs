//! `--varlink=PATH`: a socket of our own for initrds without systemd. Connections are served
//! one at a time, and only from root (checked with `SO_PEERCRED`), as systemd-repart's
//! service is root-only.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::time::Duration;

use log::{info, warn};

use crate::cli::Options;
use crate::error::{Error, ErrorKind, Result};

use super::service;
use super::wire::Connection;

/// How long a connection may sit without sending its next call before it is closed, so that
/// a forgotten client does not keep everyone else out (a subscription is not affected: it
/// does not wait for calls).
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Creates the socket at `path` (replacing a stale one) and serves connections forever.
pub fn listen(path: &Path, base: &Options) -> Result<()> {
    let listener = bind(path)?;
    info!("Listening for Varlink connections on {}.", path.display());
    serve_listener(&listener, base, Some(IDLE_TIMEOUT))
}

/// Serves the connections of `listener` one at a time, forever.
pub fn serve_listener(
    listener: &UnixListener,
    base: &Options,
    idle_timeout: Option<Duration>,
) -> Result<()> {
    loop {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io("accepting a Varlink connection", e)),
        };
        if let Err(e) = serve_one(stream, base, idle_timeout) {
            warn!("{e}");
        }
    }
}

fn serve_one(stream: UnixStream, base: &Options, idle_timeout: Option<Duration>) -> Result<()> {
    let peer = rustix::net::sockopt::socket_peercred(&stream)
        .map_err(|e| Error::io("reading the Varlink peer's credentials", e))?;
    if peer.uid.as_raw() != 0 {
        return Err(Error::new(
            ErrorKind::Usage,
            format!(
                "refusing a Varlink connection from uid {} (pid {}): only root may repartition",
                peer.uid.as_raw(),
                peer.pid.as_raw_nonzero()
            ),
        ));
    }
    stream
        .set_read_timeout(idle_timeout)
        .map_err(|e| Error::io("setting the Varlink idle timeout", e))?;
    let mut conn = Connection::new(stream)?;
    service::serve(&mut conn, base);
    Ok(())
}

/// Binds a fresh socket at `path`, readable and writable by root only. A socket left there
/// by a process that is gone is replaced; a live one, or anything else, is an error.
fn bind(path: &Path) -> Result<UnixListener> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            if UnixStream::connect(path).is_ok() {
                return Err(Error::new(
                    ErrorKind::Busy,
                    format!("{}: another service is listening there", path.display()),
                ));
            }
            std::fs::remove_file(path)
                .map_err(|e| Error::io(format!("removing the stale {}", path.display()), e))?;
        }
        Ok(_) => {
            return Err(Error::new(
                ErrorKind::Usage,
                format!("{}: exists and is not a socket", path.display()),
            ));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(format!("inspecting {}", path.display()), e)),
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    }
    let listener = UnixListener::bind(path)
        .map_err(|e| Error::io(format!("binding {}", path.display()), e))?;
    // Connections made before this are refused by the credentials check anyway.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| Error::io(format!("restricting {}", path.display()), e))?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_a_stale_socket_but_not_a_live_one_or_a_file() {
        let dir = std::env::temp_dir().join(format!("repart-rs-listen-{}", std::process::id()));
        let path = dir.join("sub/io.systemd.Repart");
        let live = bind(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(bind(&path).unwrap_err().kind(), ErrorKind::Busy);
        drop(live);
        let again = bind(&path).unwrap();
        drop(again);
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, b"x").unwrap();
        assert_eq!(bind(&path).unwrap_err().kind(), ErrorKind::Usage);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
