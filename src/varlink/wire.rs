//! Varlink framing over an AF_UNIX stream socket: each message is one JSON object followed by
//! a NUL byte.

use std::io::Read;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use rustix::io::Errno;
use rustix::net::SendFlags;

use crate::error::{Error, ErrorKind, Result};
use crate::json::Value;

/// The largest message accepted from a peer, NUL excluded. v262 accepts up to 16 MiB; every
/// message repart-rs understands fits in a few KiB, and a smaller cap bounds the memory a
/// parsed message can take.
pub const MAX_MESSAGE: usize = 4 << 20;

/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 64 << 10;

/// How long a reply may wait for a peer that does not read before the peer counts as gone.
const SEND_TIMEOUT: Duration = Duration::from_secs(60);

/// What went wrong with the byte stream itself: the connection cannot go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Broken {
    /// The peer closed the connection in the middle of a message.
    Truncated,
    /// A message longer than [`MAX_MESSAGE`].
    TooLong,
    /// Reading failed (including a receive timeout).
    Read(String),
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Broken::Truncated => f.write_str("the peer closed the connection inside a message"),
            Broken::TooLong => write!(f, "a message longer than {MAX_MESSAGE} bytes"),
            Broken::Read(e) => write!(f, "reading: {e}"),
        }
    }
}

/// One end of a Varlink connection.
pub struct Connection {
    stream: UnixStream,
    /// Bytes received but not yet returned as a message (at most one partial message plus
    /// whatever followed it in the last read).
    pending: Vec<u8>,
}

impl Connection {
    /// Wraps a connected stream socket.
    pub fn new(stream: UnixStream) -> Result<Connection> {
        stream
            .set_write_timeout(Some(SEND_TIMEOUT))
            .map_err(|e| Error::io("setting the Varlink send timeout", e))?;
        Ok(Connection {
            stream,
            pending: Vec::new(),
        })
    }

    /// The next message without its NUL, or `None` when the peer closed the connection
    /// between messages.
    pub fn receive(&mut self) -> std::result::Result<Option<Vec<u8>>, Broken> {
        let mut searched = 0;
        loop {
            if let Some(end) = self.pending[searched..].iter().position(|&b| b == 0) {
                let end = searched + end;
                let rest = self.pending.split_off(end + 1);
                let mut message = std::mem::replace(&mut self.pending, rest);
                message.truncate(end);
                return Ok(Some(message));
            }
            searched = self.pending.len();
            if self.pending.len() > MAX_MESSAGE {
                return Err(Broken::TooLong);
            }
            let mut chunk = [0u8; READ_CHUNK];
            let n = loop {
                match self.stream.read(&mut chunk) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(Broken::Read(e.to_string())),
                }
            };
            if n == 0 {
                return if self.pending.is_empty() {
                    Ok(None)
                } else {
                    Err(Broken::Truncated)
                };
            }
            self.pending.extend_from_slice(&chunk[..n]);
        }
    }

    /// Sends `message` and its NUL.
    pub fn send(&self, message: &Value) -> Result<()> {
        let mut bytes = message.to_short().into_bytes();
        bytes.push(0);
        let mut sent = 0;
        while sent < bytes.len() {
            match rustix::net::send(&self.stream, &bytes[sent..], SendFlags::NOSIGNAL) {
                Ok(n) => sent += n,
                Err(Errno::INTR) => {}
                Err(e) => return Err(Error::io("sending a Varlink reply", e)),
            }
        }
        Ok(())
    }

    /// Whether the peer can no longer receive replies (it closed the connection, or shut
    /// down its reading side). A peer that only stopped sending can still read.
    pub fn peer_gone(&self) -> bool {
        // A send of nothing fails with EPIPE exactly when the peer's end is closed for
        // reading, and never blocks or writes anything.
        matches!(
            rustix::net::send(&self.stream, &[], SendFlags::NOSIGNAL | SendFlags::DONTWAIT),
            Err(Errno::PIPE | Errno::CONNRESET | Errno::NOTCONN)
        )
    }
}

/// The error for a peer that went away while a call was being answered.
pub fn disconnected() -> Error {
    Error::new(
        ErrorKind::Io,
        "the Varlink client disconnected; stopped before writing anything",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn pair() -> (Connection, UnixStream) {
        let (a, b) = UnixStream::pair().unwrap();
        (Connection::new(a).unwrap(), b)
    }

    #[test]
    fn splits_messages_at_nul_across_reads() {
        let (mut conn, mut peer) = pair();
        peer.write_all(b"{\"a\":1}\0{\"b\"").unwrap();
        assert_eq!(conn.receive().unwrap().unwrap(), b"{\"a\":1}");
        peer.write_all(b":2}\0\0").unwrap();
        assert_eq!(conn.receive().unwrap().unwrap(), b"{\"b\":2}");
        assert_eq!(conn.receive().unwrap().unwrap(), b"");
        drop(peer);
        assert_eq!(conn.receive().unwrap(), None);
    }

    #[test]
    fn a_message_cut_off_by_the_peer_is_broken() {
        let (mut conn, mut peer) = pair();
        peer.write_all(b"{\"a\":").unwrap();
        drop(peer);
        assert_eq!(conn.receive(), Err(Broken::Truncated));
    }

    #[test]
    fn an_endless_message_is_refused_after_the_limit() {
        let (mut conn, peer) = pair();
        let writer = std::thread::spawn(move || {
            let mut peer = peer;
            let chunk = vec![b' '; 1 << 20];
            // The reader stops reading at the limit, so this fails once it is gone.
            for _ in 0..8 {
                if peer.write_all(&chunk).is_err() {
                    break;
                }
            }
        });
        assert_eq!(conn.receive(), Err(Broken::TooLong));
        drop(conn);
        writer.join().unwrap();
    }

    #[test]
    fn sends_nul_terminated_json_and_notices_a_closed_peer() {
        let (conn, mut peer) = pair();
        conn.send(&Value::Object(crate::json::Object::new().with("x", 1u64)))
            .unwrap();
        let mut buf = [0u8; 8];
        peer.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"{\"x\":1}\0");
        assert!(!conn.peer_gone());
        peer.shutdown(std::net::Shutdown::Write).unwrap();
        assert!(
            !conn.peer_gone(),
            "a peer that stopped sending can still read"
        );
        drop(peer);
        assert!(conn.peer_gone());
        assert!(conn.send(&Value::Null).is_err());
    }
}
