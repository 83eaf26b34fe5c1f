//! EFI variables through efivarfs (`/sys/firmware/efi/efivars/NAME-VENDOR`).
//!
//! A variable file is a 4-byte little-endian attribute word followed by the payload. A
//! zero-size read is the kernel's "uncommitted" variable and means "not set"; a file
//! shorter than 4 bytes is an error (systemd 262 fails with ENODATA). efivarfs marks most
//! variables immutable (`FS_IMMUTABLE_FL`), so writing or removing one clears that flag
//! first; a write is one `write()` of attributes and payload, after which the flag is put
//! back. On file systems without inode flags (the tmpfs stand-ins used by tests) the flag
//! steps are skipped.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rustix::fs::IFlags;
use uuid::Uuid;

use super::read_bounded;
use crate::error::{Error, ErrorKind, Result};

/// Where efivarfs is mounted.
pub const EFIVARS_DIR: &str = "/sys/firmware/efi/efivars";
/// systemd's vendor GUID, under which `FactoryResetRequest` and `FactoryReset` live.
pub const SYSTEMD_VENDOR: Uuid = Uuid::from_u128(0x8cf2644b_4b0b_428f_9387_6d876050dc67);
/// `EFI_VARIABLE_NON_VOLATILE | BOOTSERVICE_ACCESS | RUNTIME_ACCESS`, what systemd writes.
pub const ATTRIBUTES_NV_BS_RT: u32 = 0x7;
/// The largest payload read; firmware rarely allows more than 64 KiB per variable.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;

const EFIVARFS_MAGIC: u32 = 0xde5e_81e4;

/// One variable's contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    /// The `EFI_VARIABLE_*` attribute bits.
    pub attributes: u32,
    /// The data after the attribute word.
    pub payload: Vec<u8>,
}

impl Variable {
    /// Parses an efivarfs file's bytes: `None` for an empty ("uncommitted") file, an error
    /// for fewer than 4 bytes.
    pub fn parse(bytes: &[u8]) -> Result<Option<Variable>> {
        if bytes.is_empty() {
            return Ok(None);
        }
        let (head, payload) = bytes.split_first_chunk::<4>().ok_or_else(|| {
            Error::new(
                ErrorKind::Corrupt,
                format!(
                    "{} bytes, shorter than the 4-byte attribute word",
                    bytes.len()
                ),
            )
        })?;
        Ok(Some(Variable {
            attributes: u32::from_le_bytes(*head),
            payload: payload.to_vec(),
        }))
    }

    /// The efivarfs file contents: attributes then payload.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(4 + self.payload.len());
        bytes.extend_from_slice(&self.attributes.to_le_bytes());
        bytes.extend_from_slice(&self.payload);
        bytes
    }
}

/// The efivarfs file of variable `name` under `vendor`: `NAME-8cf2644b-...`.
pub fn variable_path(dir: &Path, name: &str, vendor: Uuid) -> PathBuf {
    dir.join(format!("{name}-{}", vendor.hyphenated()))
}

/// Reads a variable; `None` if it does not exist or is uncommitted.
pub fn read_variable(dir: &Path, name: &str, vendor: Uuid) -> Result<Option<Variable>> {
    let path = variable_path(dir, name, vendor);
    match read_bounded(&path, MAX_PAYLOAD_BYTES + 4, Variable::parse)? {
        None => Ok(None),
        Some(variable) => {
            variable.map_err(|e| e.context(format!("EFI variable {}", path.display())))
        }
    }
}

/// Writes a variable: clears the immutable flag of an existing one, writes attributes and
/// payload in one `write()`, and restores the flag. Does nothing if the variable already
/// holds exactly this value.
pub fn write_variable(dir: &Path, name: &str, vendor: Uuid, variable: &Variable) -> Result<()> {
    if variable.payload.len() > MAX_PAYLOAD_BYTES {
        return Err(Error::new(
            ErrorKind::Usage,
            format!("EFI variable {name}: payload larger than {MAX_PAYLOAD_BYTES} bytes"),
        ));
    }
    if read_variable(dir, name, vendor)?.as_ref() == Some(variable) {
        return Ok(());
    }
    let path = variable_path(dir, name, vendor);
    let what = |step: &str| format!("{step} EFI variable {}", path.display());
    let was_immutable = match File::open(&path) {
        Ok(existing) => clear_immutable(&existing).map_err(|e| Error::io(what("unlocking"), e))?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(e) => return Err(Error::io(what("opening"), e)),
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        // efivarfs cannot be truncated; the one write below replaces the variable.
        .truncate(false)
        .mode(0o644)
        .open(&path)
        .map_err(|e| Error::io(what("opening"), e))?;
    let bytes = variable.to_bytes();
    let written = file
        .write(&bytes)
        .map_err(|e| Error::io(what("writing"), e))?;
    if written != bytes.len() {
        return Err(Error::new(
            ErrorKind::Io,
            format!(
                "{}: short write ({written} of {} bytes)",
                what("writing"),
                bytes.len()
            ),
        ));
    }
    // efivarfs replaces the variable on write; anywhere else the old tail must go.
    let on_efivarfs = rustix::fs::fstatfs(&file)
        // Magic numbers are 32 bits; `f_type` is a signed word whose width varies.
        .map(|s| s.f_type as u32 == EFIVARFS_MAGIC)
        .map_err(|e| Error::io(what("checking the file system of"), e))?;
    if !on_efivarfs {
        file.set_len(bytes.len() as u64)
            .map_err(|e| Error::io(what("truncating"), e))?;
    }
    if was_immutable {
        set_immutable(&file).map_err(|e| Error::io(what("locking"), e))?;
    }
    Ok(())
}

/// Removes a variable: clears its immutable flag and unlinks it. Returns whether it existed.
pub fn remove_variable(dir: &Path, name: &str, vendor: Uuid) -> Result<bool> {
    let path = variable_path(dir, name, vendor);
    let what = |step: &str| format!("{step} EFI variable {}", path.display());
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io(what("opening"), e)),
    };
    let was_immutable = clear_immutable(&file).map_err(|e| Error::io(what("unlocking"), e))?;
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => {
            if was_immutable {
                // Best effort: leave the variable as protected as we found it.
                let _ = set_immutable(&file);
            }
            Err(Error::io(what("removing"), e))
        }
    }
}

/// Decodes a UTF-16LE string payload as systemd does: a trailing odd byte is ignored, the
/// text ends at the first NUL, and unpaired surrogates are skipped (measured on
/// systemd-repart 262: a lone surrogate inside a JSON key did not spoil the key).
pub fn decode_utf16(payload: &[u8]) -> String {
    let units = payload
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .take_while(|&unit| unit != 0);
    char::decode_utf16(units).filter_map(|c| c.ok()).collect()
}

/// Encodes a string payload as systemd writes one: UTF-16LE plus a NUL unit.
pub fn encode_utf16(text: &str) -> Vec<u8> {
    text.encode_utf16()
        .chain(std::iter::once(0))
        .flat_map(u16::to_le_bytes)
        .collect()
}

/// Whether `e` says the file system has no inode flags at all.
fn flags_unsupported(e: rustix::io::Errno) -> bool {
    use rustix::io::Errno;
    e == Errno::NOTTY || e == Errno::OPNOTSUPP || e == Errno::INVAL || e == Errno::NOSYS
}

/// Clears `FS_IMMUTABLE_FL`; returns whether it was set.
fn clear_immutable(file: &File) -> io::Result<bool> {
    let flags = match rustix::fs::ioctl_getflags(file) {
        Ok(flags) => flags,
        Err(e) if flags_unsupported(e) => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    if !flags.contains(IFlags::IMMUTABLE) {
        return Ok(false);
    }
    rustix::fs::ioctl_setflags(file, flags - IFlags::IMMUTABLE)?;
    Ok(true)
}

/// Sets `FS_IMMUTABLE_FL` again.
fn set_immutable(file: &File) -> io::Result<()> {
    let flags = rustix::fs::ioctl_getflags(file)?;
    rustix::fs::ioctl_setflags(file, flags | IFlags::IMMUTABLE)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::test_dir::TestDir;

    #[test]
    fn parses_attribute_word_and_payload() {
        assert_eq!(Variable::parse(b"").unwrap(), None);
        let e = Variable::parse(b"\x07\x00").unwrap_err();
        assert_eq!(
            e.to_string(),
            "2 bytes, shorter than the 4-byte attribute word"
        );
        assert_eq!(
            Variable::parse(b"\x07\x00\x00\x00").unwrap(),
            Some(Variable {
                attributes: 7,
                payload: vec![]
            })
        );
        let v = Variable::parse(b"\x07\x00\x00\x80ab").unwrap().unwrap();
        assert_eq!(v.attributes, 0x8000_0007);
        assert_eq!(v.payload, b"ab");
        assert_eq!(v.to_bytes(), b"\x07\x00\x00\x80ab");
    }

    #[test]
    fn utf16_like_systemd() {
        assert_eq!(encode_utf16("yes"), b"y\0e\0s\0\0\0");
        assert_eq!(decode_utf16(&encode_utf16("ä€😀")), "ä€😀");
        assert_eq!(decode_utf16(b"y\0e\0s\0"), "yes");
        assert_eq!(decode_utf16(b"y\0e\0s\0\0"), "yes", "odd trailing byte");
        assert_eq!(decode_utf16(b"a\0\0\0b\0"), "a", "stops at NUL");
        assert_eq!(
            decode_utf16(b"a\0\x00\xd8b\0"),
            "ab",
            "lone surrogate skipped"
        );
        assert_eq!(decode_utf16(b""), "");
    }

    #[test]
    fn path_names_variable_and_vendor() {
        assert_eq!(
            variable_path(Path::new("/e"), "FactoryResetRequest", SYSTEMD_VENDOR),
            Path::new("/e/FactoryResetRequest-8cf2644b-4b0b-428f-9387-6d876050dc67")
        );
    }

    #[test]
    fn reads_missing_empty_short_and_set_variables() {
        let dir = TestDir::new("efivars-read");
        let read = |name| read_variable(dir.path(), name, SYSTEMD_VENDOR);
        assert_eq!(read("Missing").unwrap(), None);
        dir.write(&format!("Empty-{SYSTEMD_VENDOR}"), b"");
        assert_eq!(read("Empty").unwrap(), None);
        dir.write(&format!("Short-{SYSTEMD_VENDOR}"), b"\x07");
        let e = read("Short").unwrap_err();
        assert!(e.to_string().contains("Short-8cf2644b"), "{e}");
        assert!(
            e.to_string()
                .ends_with("1 bytes, shorter than the 4-byte attribute word")
        );
        dir.write(&format!("Set-{SYSTEMD_VENDOR}"), b"\x07\0\0\0x\0");
        assert_eq!(read("Set").unwrap().unwrap().payload, b"x\0");
        dir.write(
            &format!("Huge-{SYSTEMD_VENDOR}"),
            vec![0u8; MAX_PAYLOAD_BYTES + 5],
        );
        assert!(read("Huge").is_err());
    }

    #[test]
    fn writes_replace_and_removal_unlinks() {
        let dir = TestDir::new("efivars-write");
        let long = Variable {
            attributes: 7,
            payload: encode_utf16("a long value"),
        };
        let short = Variable {
            attributes: 7,
            payload: encode_utf16("no"),
        };
        write_variable(dir.path(), "V", SYSTEMD_VENDOR, &long).unwrap();
        assert_eq!(
            read_variable(dir.path(), "V", SYSTEMD_VENDOR).unwrap(),
            Some(long.clone())
        );
        write_variable(dir.path(), "V", SYSTEMD_VENDOR, &short).unwrap();
        let path = variable_path(dir.path(), "V", SYSTEMD_VENDOR);
        assert_eq!(std::fs::read(&path).unwrap(), short.to_bytes());
        // Writing the same value again leaves the file alone.
        let before = std::fs::metadata(&path).unwrap().modified().unwrap();
        write_variable(dir.path(), "V", SYSTEMD_VENDOR, &short).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().modified().unwrap(),
            before
        );

        assert!(remove_variable(dir.path(), "V", SYSTEMD_VENDOR).unwrap());
        assert!(!path.exists());
        assert!(!remove_variable(dir.path(), "V", SYSTEMD_VENDOR).unwrap());

        let huge = Variable {
            attributes: 7,
            payload: vec![0; MAX_PAYLOAD_BYTES + 1],
        };
        assert!(write_variable(dir.path(), "H", SYSTEMD_VENDOR, &huge).is_err());
    }

    /// Needs root on a file system with inode flags (ext4 here); elsewhere it checks that
    /// the flag steps are skipped instead.
    #[test]
    fn immutable_variables_are_unlocked_for_writing_and_removal() {
        let dir = TestDir::new("efivars-immutable");
        let path = dir.write(&format!("I-{SYSTEMD_VENDOR}"), b"\x07\0\0\0a\0\0\0");
        let file = File::open(&path).unwrap();
        let locked = set_immutable(&file).is_ok();
        let is_immutable =
            || rustix::fs::ioctl_getflags(&file).is_ok_and(|f| f.contains(IFlags::IMMUTABLE));
        assert_eq!(is_immutable(), locked);
        if locked {
            assert!(
                std::fs::remove_file(&path).is_err(),
                "immutable files resist unlink"
            );
        }
        let value = Variable {
            attributes: 7,
            payload: encode_utf16("b"),
        };
        write_variable(dir.path(), "I", SYSTEMD_VENDOR, &value).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), value.to_bytes());
        assert_eq!(is_immutable(), locked, "the flag is restored after writing");
        assert!(remove_variable(dir.path(), "I", SYSTEMD_VENDOR).unwrap());
        assert!(!path.exists());
    }
}
