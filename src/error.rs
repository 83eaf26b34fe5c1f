//! The one error type of the program.
//!
//! An [`Error`] is a small [`ErrorKind`] (which decides the exit code and the Varlink error
//! name) plus a message and a path of context, outermost first, so that it reads as the path
//! of what failed: `reading /dev/vda: GPT header at LBA 1: CRC mismatch (stored 0x1, computed
//! 0x2)`. An optional `std::io::Error` carries the errno of a failed system call.

use std::fmt;

/// What went wrong, coarsely: enough to pick an exit code or a Varlink error.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad command-line flags or IPC parameters.
    Usage,
    /// A repart.d file that cannot be used.
    Config,
    /// On-disk data that cannot be parsed or is inconsistent (a damaged GPT, ...).
    Corrupt,
    /// The root file system is not backed by a block device (exit status 76).
    NoDevice,
    /// The disk has no GPT, or its label conflicts with `--empty=` (exit status 77).
    NoTable,
    /// The partitions do not fit on the disk.
    NoSpace,
    /// Something the definitions ask for is not implemented.
    Unsupported,
    /// A system call failed.
    Io,
    /// A resource is in use (a mounted partition, a lock held elsewhere).
    Busy,
}

impl ErrorKind {
    /// The process exit status systemd-repart uses for this kind of failure.
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorKind::NoDevice => 76,
            ErrorKind::NoTable => 77,
            _ => 1,
        }
    }
}

/// An error with its kind, message, context path and optional I/O cause.
pub struct Error {
    kind: ErrorKind,
    message: String,
    context: Vec<String>,
    source: Option<std::io::Error>,
}

/// The result type used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of `kind` described by `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            context: Vec::new(),
            source: None,
        }
    }

    /// A failed system call: `what` names the operation ("opening /dev/vda").
    pub fn io(what: impl Into<String>, source: impl Into<std::io::Error>) -> Error {
        let source = source.into();
        let kind = match source.raw_os_error() {
            Some(code) if code == rustix::io::Errno::BUSY.raw_os_error() => ErrorKind::Busy,
            _ => ErrorKind::Io,
        };
        Error {
            kind,
            message: what.into(),
            context: Vec::new(),
            source: Some(source),
        }
    }

    /// Adds an outer step to the context path ("reading /dev/vda").
    pub fn context(mut self, outer: impl Into<String>) -> Error {
        self.context.insert(0, outer.into());
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The innermost message, without context.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The errno of the failed system call, if this is one.
    pub fn raw_os_error(&self) -> Option<i32> {
        self.source.as_ref().and_then(std::io::Error::raw_os_error)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for step in &self.context {
            write!(f, "{step}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {self}", self.kind)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Adds context to the error of a `Result`, lazily.
pub trait Context<T> {
    /// Prefixes the error, if any, with the step named by `outer()`.
    fn context<S: Into<String>>(self, outer: impl FnOnce() -> S) -> Result<T>;
}

impl<T> Context<T> for Result<T> {
    fn context<S: Into<String>>(self, outer: impl FnOnce() -> S) -> Result<T> {
        self.map_err(|e| e.context(outer()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_as_a_path() {
        let e = Error::new(ErrorKind::Corrupt, "CRC mismatch")
            .context("GPT header at LBA 1")
            .context("reading /dev/vda");
        assert_eq!(
            e.to_string(),
            "reading /dev/vda: GPT header at LBA 1: CRC mismatch"
        );
        assert_eq!(e.kind().exit_code(), 1);
    }

    #[test]
    fn io_errors_carry_errno_and_busy_kind() {
        let e = Error::io("adding partition 2", std::io::Error::from_raw_os_error(16));
        assert_eq!(e.kind(), ErrorKind::Busy);
        assert_eq!(e.raw_os_error(), Some(16));
        assert!(e.to_string().starts_with("adding partition 2: "));
    }

    #[test]
    fn exit_codes_match_systemd_repart() {
        assert_eq!(ErrorKind::NoDevice.exit_code(), 76);
        assert_eq!(ErrorKind::NoTable.exit_code(), 77);
        assert_eq!(ErrorKind::NoSpace.exit_code(), 1);
    }
}
