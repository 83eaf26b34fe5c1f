//! Kernel uevents (NETLINK_KOBJECT_UEVENT, multicast group 1): how a subscription learns
//! that block devices came, went or changed, without udev.
//!
//! A kernel uevent is `ACTION@DEVPATH\0` followed by `KEY=VALUE\0` pairs. Only messages from
//! the kernel itself (netlink port 0) are believed; udev's re-broadcasts (group 2) are not
//! listened to.

use std::os::fd::OwnedFd;
use std::time::Duration;

use rustix::io::Errno;
use rustix::net::netlink::{self, SocketAddrNetlink};
use rustix::net::{AddressFamily, RecvFlags, SocketFlags, SocketType, sockopt, sockopt::Timeout};

use crate::error::{Error, Result};

/// The kernel's multicast group for uevents.
const KERNEL_GROUP: u32 = 1;

/// The largest uevent read (the kernel's own buffer is 2 KiB of `KEY=VALUE` pairs plus the
/// header); a longer message is truncated and ignored.
const MAX_UEVENT: usize = 8192;

/// The socket receive buffer asked for, so that a burst of events (many disks at once) is
/// not dropped.
const RECEIVE_BUFFER: usize = 1 << 20;

/// The fields of a uevent repart-rs looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uevent {
    /// `add`, `remove`, `change`, ...
    pub action: String,
    /// The device's path below /sys.
    pub devpath: String,
    pub subsystem: Option<String>,
    /// `disk` or `partition` for block devices.
    pub devtype: Option<String>,
    /// The node's name below /dev.
    pub devname: Option<String>,
}

impl Uevent {
    /// Whether this is about a whole-disk block device.
    pub fn is_block_disk(&self) -> bool {
        self.subsystem.as_deref() == Some("block") && self.devtype.as_deref() == Some("disk")
    }
}

/// Parses one kernel uevent message; `None` if it is not one (udev's `libudev` messages,
/// garbage).
pub fn parse(message: &[u8]) -> Option<Uevent> {
    let mut fields = message.split(|&b| b == 0).filter(|f| !f.is_empty());
    let header = std::str::from_utf8(fields.next()?).ok()?;
    let (action, devpath) = header.split_once('@')?;
    if action.is_empty() || !devpath.starts_with('/') {
        return None;
    }
    let mut event = Uevent {
        action: action.to_owned(),
        devpath: devpath.to_owned(),
        subsystem: None,
        devtype: None,
        devname: None,
    };
    for field in fields {
        let Ok(field) = std::str::from_utf8(field) else {
            continue;
        };
        let Some((key, value)) = field.split_once('=') else {
            continue;
        };
        let slot = match key {
            "ACTION" if value != event.action => return None,
            "SUBSYSTEM" => &mut event.subsystem,
            "DEVTYPE" => &mut event.devtype,
            "DEVNAME" => &mut event.devname,
            _ => continue,
        };
        *slot = Some(value.to_owned());
    }
    Some(event)
}

/// A socket receiving the kernel's uevents.
pub struct Monitor {
    socket: OwnedFd,
}

/// What [`Monitor::next`] saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// A uevent.
    Event(Uevent),
    /// Nothing within the timeout (or a message that was not a kernel uevent).
    Nothing,
    /// The socket's buffer overflowed: events were lost.
    Lost,
}

impl Monitor {
    /// Opens the socket; [`Monitor::next`] waits at most `timeout` for an event.
    pub fn open(timeout: Duration) -> Result<Monitor> {
        let what = |e| Error::io("listening to kernel uevents", e);
        let socket = rustix::net::socket_with(
            AddressFamily::NETLINK,
            SocketType::DGRAM,
            SocketFlags::CLOEXEC,
            Some(netlink::KOBJECT_UEVENT),
        )
        .map_err(what)?;
        // Raising the limit needs CAP_NET_ADMIN; the default is often enough.
        if sockopt::set_socket_recv_buffer_size_force(&socket, RECEIVE_BUFFER).is_err() {
            let _ = sockopt::set_socket_recv_buffer_size(&socket, RECEIVE_BUFFER);
        }
        sockopt::set_socket_timeout(&socket, Timeout::Recv, Some(timeout)).map_err(what)?;
        rustix::net::bind(&socket, &SocketAddrNetlink::new(0, KERNEL_GROUP)).map_err(what)?;
        Ok(Monitor { socket })
    }

    /// The next uevent from the kernel.
    pub fn next(&self) -> Result<Seen> {
        let mut buf = [0u8; MAX_UEVENT];
        match rustix::net::recvfrom(&self.socket, &mut buf[..], RecvFlags::empty()) {
            Ok((n, full, from)) => {
                let from_kernel = from
                    .and_then(|a| SocketAddrNetlink::try_from(a).ok())
                    .is_some_and(|a| a.pid() == 0);
                if !from_kernel || full > n {
                    return Ok(Seen::Nothing);
                }
                Ok(buf
                    .get(..n)
                    .and_then(parse)
                    .map_or(Seen::Nothing, Seen::Event))
            }
            Err(Errno::AGAIN | Errno::INTR) => Ok(Seen::Nothing),
            Err(Errno::NOBUFS) => Ok(Seen::Lost),
            Err(e) => Err(Error::io("receiving a kernel uevent", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_kernel_uevent() {
        let message = b"add@/devices/virtual/block/loop0\0ACTION=add\0DEVPATH=/devices/virtual/block/loop0\0SUBSYSTEM=block\0MAJOR=7\0MINOR=0\0DEVNAME=loop0\0DEVTYPE=disk\0DISKSEQ=19\0SEQNUM=1234\0";
        let e = parse(message).unwrap();
        assert_eq!(e.action, "add");
        assert_eq!(e.devpath, "/devices/virtual/block/loop0");
        assert_eq!(e.devname.as_deref(), Some("loop0"));
        assert!(e.is_block_disk());
        let part = parse(b"change@/devices/x/block/vda/vda1\0SUBSYSTEM=block\0DEVTYPE=partition\0")
            .unwrap();
        assert!(!part.is_block_disk());
    }

    #[test]
    fn refuses_what_is_not_a_kernel_uevent() {
        for bad in [
            &b""[..],
            b"\0\0",
            b"libudev\0\xfe\xed\xca\xfe",
            b"add\0SUBSYSTEM=block\0",
            b"add@relative\0",
            b"@/devices/x\0",
            b"add@/devices/x\0ACTION=remove\0",
            b"\xff\xfe@/x\0",
        ] {
            assert_eq!(parse(bad), None, "{}", String::from_utf8_lossy(bad));
        }
        let odd = parse(b"add@/devices/x\0\xff=1\0NOEQUALS\0SUBSYSTEM=block\0").unwrap();
        assert_eq!(odd.subsystem.as_deref(), Some("block"));
    }
}
