//! Who this system is: machine-id, boot ID, host name, kernel release, and fresh random IDs.

use std::io::Read;
use std::path::Path;

use uuid::Uuid;

use super::{System, read_bounded};
use crate::error::{Error, ErrorKind, Result};
use crate::id128;

/// The machine-id file, relative to the target root.
pub const MACHINE_ID: &str = "etc/machine-id";
/// The kernel's ID of the current boot.
pub const BOOT_ID: &str = "/proc/sys/kernel/random/boot_id";

/// Parses `/etc/machine-id`. Measured on systemd-repart 262: 32 hex digits in any case,
/// optionally followed by one newline, is an ID; an empty file, `uninitialized` (with or
/// without its newline) and the all-zero ID mean "not set" (`None`: the caller uses a
/// random seed and logs "No machine ID set, using randomized partition UUIDs."); anything
/// else (dashes, blanks, a second newline, CRLF) is an error.
pub fn parse_machine_id(bytes: &[u8]) -> Result<Option<Uuid>> {
    let text = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if bytes.is_empty() || text == b"uninitialized" {
        return Ok(None);
    }
    let id = std::str::from_utf8(text)
        .ok()
        .filter(|t| t.len() == 32)
        .and_then(id128::parse)
        .ok_or_else(|| Error::new(ErrorKind::Corrupt, "not 32 hexadecimal digits"))?;
    Ok((!id.is_nil()).then_some(id))
}

/// Reads `<root>/etc/machine-id`; `None` if it is missing or not set.
pub fn read_machine_id(root: &Path) -> Result<Option<Uuid>> {
    let path = root.join(MACHINE_ID);
    match read_bounded(&path, 64, parse_machine_id)? {
        None => Ok(None),
        Some(id) => id.map_err(|e| e.context(path.display().to_string())),
    }
}

/// Parses the kernel's boot ID file: a dashed UUID and a newline.
pub fn parse_boot_id(bytes: &[u8]) -> Result<Uuid> {
    let text = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    std::str::from_utf8(text)
        .ok()
        .and_then(id128::parse)
        .ok_or_else(|| Error::new(ErrorKind::Corrupt, "not a 128-bit ID"))
}

/// Reads the ID of the current boot from `/proc/sys/kernel/random/boot_id`.
pub fn read_boot_id(sys: &System) -> Result<Uuid> {
    let path = sys.path(BOOT_ID);
    read_bounded(&path, 64, parse_boot_id)?
        .ok_or_else(|| {
            Error::io(
                format!("reading {}", path.display()),
                std::io::Error::from(std::io::ErrorKind::NotFound),
            )
        })?
        .map_err(|e| e.context(path.display().to_string()))
}

/// The host name (`uname -n`), as systemd's `%H` specifier sees it.
pub fn hostname() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

/// The running kernel's release (`uname -r`), for the `%v` specifier.
pub fn kernel_release() -> String {
    rustix::system::uname()
        .release()
        .to_string_lossy()
        .into_owned()
}

/// A random version-4 UUID from `/dev/urandom`, like systemd's `sd_id128_randomize`.
pub fn random_id128() -> Result<Uuid> {
    let mut bytes = [0u8; 16];
    fill_random(&mut bytes)?;
    Ok(uuid::Builder::from_random_bytes(bytes).into_uuid())
}

/// Fills `bytes` from `/dev/urandom`, in one read.
pub fn fill_random(bytes: &mut [u8]) -> Result<()> {
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(bytes))
        .map_err(|e| Error::io("reading /dev/urandom", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::test_dir::TestDir;

    const ID: Uuid = Uuid::from_u128(0xe2f1a58f2c2a4a4b9f3e7c1c0de5a5a1);

    #[test]
    fn machine_id_forms_as_systemd_reads_them() {
        let parse = |b: &[u8]| parse_machine_id(b);
        assert_eq!(
            parse(b"e2f1a58f2c2a4a4b9f3e7c1c0de5a5a1\n").unwrap(),
            Some(ID)
        );
        assert_eq!(
            parse(b"E2F1A58F2C2A4A4B9F3E7C1C0DE5A5A1\n").unwrap(),
            Some(ID)
        );
        assert_eq!(
            parse(b"e2f1a58f2c2a4a4b9f3e7c1c0de5a5a1").unwrap(),
            Some(ID)
        );
        for unset in [
            &b""[..],
            b"uninitialized\n",
            b"uninitialized",
            b"00000000000000000000000000000000\n",
        ] {
            assert_eq!(parse(unset).unwrap(), None, "{unset:?}");
        }
        for bad in [
            &b"\n"[..],
            b"garbage\n",
            b"uninitialized\n\n",
            b"e2f1a58f-2c2a-4a4b-9f3e-7c1c0de5a5a1\n",
            b"e2f1a58f2c2a4a4b9f3e7c1c0de5a5a1\n\n",
            b"e2f1a58f2c2a4a4b9f3e7c1c0de5a5a1 \n",
            b"e2f1a58f2c2a4a4b9f3e7c1c0de5a5a1\r\n",
            b"e2f1a58f2c2a4a4b9f3e7c1c0de5a5a1\0",
            b"\xffe2f1a58f2c2a4a4b9f3e7c1c0de5a5a",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn reads_machine_id_under_the_root() {
        let root = TestDir::new("machine-id");
        assert_eq!(read_machine_id(root.path()).unwrap(), None);
        root.write(MACHINE_ID, "e2f1a58f2c2a4a4b9f3e7c1c0de5a5a1\n");
        assert_eq!(read_machine_id(root.path()).unwrap(), Some(ID));
        root.write(MACHINE_ID, "garbage\n");
        let e = read_machine_id(root.path()).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("etc/machine-id: not 32 hexadecimal digits"),
            "{e}"
        );
    }

    #[test]
    fn reads_boot_id() {
        let sys_root = TestDir::new("boot-id");
        let sys = System::new(sys_root.path(), |_| None);
        assert!(read_boot_id(&sys).is_err());
        sys_root.write(BOOT_ID, "e2f1a58f-2c2a-4a4b-9f3e-7c1c0de5a5a1\n");
        assert_eq!(read_boot_id(&sys).unwrap(), ID);
        sys_root.write(BOOT_ID, "nope\n");
        assert!(read_boot_id(&sys).is_err());
        // The real one parses too.
        assert!(!read_boot_id(&System::live()).unwrap().is_nil());
    }

    #[test]
    fn uname_and_random_ids() {
        assert!(!kernel_release().is_empty());
        assert_eq!(
            hostname(),
            String::from_utf8_lossy(&std::fs::read("/proc/sys/kernel/hostname").unwrap())
                .trim_end()
        );
        let a = random_id128().unwrap();
        let b = random_id128().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.get_version_num(), 4);
        assert_eq!(a.get_variant(), uuid::Variant::RFC4122);
    }
}
