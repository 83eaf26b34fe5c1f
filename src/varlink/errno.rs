//! Failures as Varlink errors: v262 answers a failed run with `io.systemd.System` carrying
//! the errno (`{"origin":"linux","errno":2,"errnoName":"ENOENT"}`). Errors of ours without an
//! errno get the one that says the same thing.

use rustix::io::Errno;

use crate::error::{Error, ErrorKind};
use crate::json::Object;

/// The names of the errnos a run can end with (`errnoName` is left out for others).
const NAMES: &[(Errno, &str)] = &[
    (Errno::PERM, "EPERM"),
    (Errno::NOENT, "ENOENT"),
    (Errno::INTR, "EINTR"),
    (Errno::IO, "EIO"),
    (Errno::NXIO, "ENXIO"),
    (Errno::TOOBIG, "E2BIG"),
    (Errno::BADF, "EBADF"),
    (Errno::AGAIN, "EAGAIN"),
    (Errno::NOMEM, "ENOMEM"),
    (Errno::ACCESS, "EACCES"),
    (Errno::NOTBLK, "ENOTBLK"),
    (Errno::BUSY, "EBUSY"),
    (Errno::EXIST, "EEXIST"),
    (Errno::NODEV, "ENODEV"),
    (Errno::NOTDIR, "ENOTDIR"),
    (Errno::ISDIR, "EISDIR"),
    (Errno::INVAL, "EINVAL"),
    (Errno::MFILE, "EMFILE"),
    (Errno::NOTTY, "ENOTTY"),
    (Errno::FBIG, "EFBIG"),
    (Errno::NOSPC, "ENOSPC"),
    (Errno::ROFS, "EROFS"),
    (Errno::PIPE, "EPIPE"),
    (Errno::RANGE, "ERANGE"),
    (Errno::NAMETOOLONG, "ENAMETOOLONG"),
    (Errno::NOSYS, "ENOSYS"),
    (Errno::LOOP, "ELOOP"),
    (Errno::NODATA, "ENODATA"),
    (Errno::PROTO, "EPROTO"),
    (Errno::BADMSG, "EBADMSG"),
    (Errno::OVERFLOW, "EOVERFLOW"),
    (Errno::OPNOTSUPP, "EOPNOTSUPP"),
    (Errno::TIMEDOUT, "ETIMEDOUT"),
    (Errno::UCLEAN, "EUCLEAN"),
    (Errno::NOMEDIUM, "ENOMEDIUM"),
    (Errno::MEDIUMTYPE, "EMEDIUMTYPE"),
];

/// The errno for `e`: the failed system call's, else the one matching its kind.
pub fn errno_of(e: &Error) -> i32 {
    if let Some(errno) = e.raw_os_error().filter(|&n| n > 0) {
        return errno;
    }
    let errno = match e.kind() {
        ErrorKind::Usage | ErrorKind::Config => Errno::INVAL,
        ErrorKind::Corrupt => Errno::BADMSG,
        ErrorKind::NoDevice => Errno::NODEV,
        ErrorKind::NoSpace => Errno::NOSPC,
        ErrorKind::Unsupported => Errno::OPNOTSUPP,
        ErrorKind::Busy => Errno::BUSY,
        _ => Errno::IO,
    };
    errno.raw_os_error()
}

/// The parameters of `io.systemd.System` for `e`.
pub fn system_error(e: &Error) -> Object {
    let errno = errno_of(e);
    let mut parameters = Object::new().with("origin", "linux").with("errno", errno);
    if let Some((_, name)) = NAMES.iter().find(|(n, _)| n.raw_os_error() == errno) {
        parameters.insert("errnoName", *name);
    }
    parameters
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carries_the_errno_of_a_failed_call() {
        let e = Error::io("opening /x", std::io::Error::from_raw_os_error(2));
        assert_eq!(
            crate::json::Value::Object(system_error(&e)).to_short(),
            r#"{"origin":"linux","errno":2,"errnoName":"ENOENT"}"#
        );
    }

    #[test]
    fn gives_our_own_errors_a_matching_errno() {
        let config = Error::new(ErrorKind::Config, "x.conf:2: bad type");
        assert_eq!(errno_of(&config), 22);
        let unsupported = Error::new(ErrorKind::Unsupported, "Format=ext4");
        assert_eq!(
            system_error(&unsupported)
                .get("errnoName")
                .and_then(|v| v.as_str()),
            Some("EOPNOTSUPP")
        );
        let odd = Error::io("x", std::io::Error::from_raw_os_error(200));
        let p = system_error(&odd);
        assert!(p.get("errnoName").is_none());
        assert_eq!(p.get("errno").and_then(|v| v.as_u64()), Some(200));
    }
}
