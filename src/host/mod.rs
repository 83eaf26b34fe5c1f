//! Facts about the running system: initrd or not, the kernel command line, EFI variables,
//! machine-id, os-release, boot ID, and the factory-reset decision built from them.
//!
//! Each fact has a pure parser over bytes or strings and a thin reader on top. Readers
//! take a [`System`], which says where the running system's files are (a prefix, `/`
//! normally) and how to look up environment variables, so tests run on temporary
//! directories with a made-up environment. Files of the *target* root (machine-id,
//! os-release under `--root` or `/sysroot`) take that root as a plain path instead.

pub mod cmdline;
pub mod efivars;
pub mod factory_reset;
pub mod identity;
pub mod initrd;
pub mod os_release;
#[cfg(test)]
mod test_dir;

use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};

/// Looks up an environment variable by name.
pub type EnvLookup = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Where the running system's files are and what its environment holds.
pub struct System {
    prefix: PathBuf,
    env: EnvLookup,
}

impl System {
    /// The real system: files under `/`, variables from the process environment
    /// (variables that are not valid UTF-8 count as unset).
    pub fn live() -> System {
        System::new("/", |name| std::env::var(name).ok())
    }

    /// A system whose absolute paths live under `prefix`, with `env` as its environment.
    pub fn new(
        prefix: impl Into<PathBuf>,
        env: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> System {
        System {
            prefix: prefix.into(),
            env: Box::new(env),
        }
    }

    /// The location of the running system's absolute path `absolute` (such as
    /// `/proc/cmdline`).
    pub fn path(&self, absolute: &str) -> PathBuf {
        self.prefix.join(absolute.trim_start_matches('/'))
    }

    /// The value of environment variable `name`, if set.
    pub fn var(&self, name: &str) -> Option<String> {
        (self.env)(name)
    }

    /// The efivarfs mount: `/sys/firmware/efi/efivars`.
    pub fn efivars_dir(&self) -> PathBuf {
        self.path(efivars::EFIVARS_DIR)
    }
}

impl fmt::Debug for System {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("System")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// Parses a boolean the way systemd does: `1 yes y true t on` and `0 no n false f off`,
/// in any case. Anything else, including the empty string, is not a boolean.
fn parse_bool(s: &str) -> Option<bool> {
    const TRUE: [&str; 6] = ["1", "yes", "y", "true", "t", "on"];
    const FALSE: [&str; 6] = ["0", "no", "n", "false", "f", "off"];
    if TRUE.iter().any(|t| t.eq_ignore_ascii_case(s)) {
        Some(true)
    } else if FALSE.iter().any(|f| f.eq_ignore_ascii_case(s)) {
        Some(false)
    } else {
        None
    }
}

/// Reads a whole small file, refusing files over `max` bytes, and hands its bytes to `parse`;
/// `None` if it does not exist.
///
/// A file that fits in [`STACK_READ`] bytes (a command line, an ID, os-release) is read into
/// a buffer on the stack with one read(2), and costs no allocation at all; a growing heap
/// buffer took a read per doubling from 32 bytes (procfs reports no size) and as many
/// reallocations.
fn read_bounded<T>(path: &Path, max: usize, parse: impl FnOnce(&[u8]) -> T) -> Result<Option<T>> {
    let mut chunk = [0u8; STACK_READ];
    Ok(match read_into(path, max, &mut chunk)? {
        None => None,
        Some(Contents::InChunk(n)) => Some(parse(&chunk[..n.min(STACK_READ)])),
        Some(Contents::Heap(bytes)) => Some(parse(&bytes)),
    })
}

/// Where [`read_into`] left a file's bytes.
enum Contents {
    /// The first `n` bytes of the stack buffer.
    InChunk(usize),
    /// A file larger than the stack buffer.
    Heap(Vec<u8>),
}

/// The reading half of [`read_bounded`], kept out of its instances (one per parser).
fn read_into(path: &Path, max: usize, chunk: &mut [u8; STACK_READ]) -> Result<Option<Contents>> {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(format!("opening {}", path.display()), e)),
    };
    let mut read = |buf: &mut [u8]| loop {
        match file.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other.map_err(|e| Error::io(format!("reading {}", path.display()), e)),
        }
    };
    let too_big = || {
        Error::new(
            ErrorKind::Corrupt,
            format!("{}: larger than {max} bytes", path.display()),
        )
    };
    let mut n = 0;
    // Fill the stack buffer; a file that ends inside it is parsed from there.
    while n < chunk.len() {
        match read(&mut chunk[n..])? {
            0 if n > max => return Err(too_big()),
            0 => return Ok(Some(Contents::InChunk(n))),
            got => n += got,
        }
    }
    let mut bytes = chunk.to_vec();
    loop {
        let got = read(chunk)?;
        if got == 0 {
            break;
        }
        if bytes.len() + got > max {
            return Err(too_big());
        }
        bytes.extend_from_slice(&chunk[..got]);
    }
    if bytes.len() > max {
        return Err(too_big());
    }
    Ok(Some(Contents::Heap(bytes)))
}

/// The size of [`read_bounded`]'s stack buffer.
const STACK_READ: usize = 4096;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_as_systemd_reads_them() {
        for t in ["1", "yes", "Y", "TRUE", "t", "On"] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for f in ["0", "NO", "n", "False", "F", "off"] {
            assert_eq!(parse_bool(f), Some(false), "{f}");
        }
        for bad in ["", "2", "yes ", " on", "enable", "nope"] {
            assert_eq!(parse_bool(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn paths_live_under_the_prefix() {
        let sys = System::new("/tmp/x", |n| (n == "A").then(|| "b".to_owned()));
        assert_eq!(sys.path("/proc/cmdline"), Path::new("/tmp/x/proc/cmdline"));
        assert_eq!(
            sys.efivars_dir(),
            Path::new("/tmp/x/sys/firmware/efi/efivars")
        );
        assert_eq!(sys.var("A").as_deref(), Some("b"));
        assert_eq!(sys.var("B"), None);
        assert!(format!("{sys:?}").contains("/tmp/x"));
        assert_eq!(System::live().path("/etc"), Path::new("/etc"));
    }

    #[test]
    fn bounded_reads_refuse_big_files_and_report_missing_ones() {
        let scratch = test_dir::TestDir::new("host-read");
        let dir = scratch.path();
        let file = scratch.write("f", b"12345");
        let read = |path: &Path, max| read_bounded(path, max, <[u8]>::to_vec);
        assert_eq!(read(&file, 5).unwrap().as_deref(), Some(&b"12345"[..]));
        let e = read(&file, 4).unwrap_err();
        assert!(e.to_string().ends_with("larger than 4 bytes"), "{e}");
        assert_eq!(read(&dir.join("missing"), 4).unwrap(), None);
        assert!(read(dir, 4).is_err());
        // Past the stack buffer: read on into the heap, bounded the same way.
        let big: Vec<u8> = (0..3 * STACK_READ + 7).map(|i| i as u8).collect();
        let file = scratch.write("big", &big);
        assert_eq!(read(&file, big.len()).unwrap(), Some(big.clone()));
        let e = read(&file, big.len() - 1).unwrap_err();
        assert!(e.to_string().ends_with("bytes"), "{e}");
        let exact = scratch.write("exact", &big[..STACK_READ]);
        assert_eq!(
            read(&exact, STACK_READ).unwrap().as_deref(),
            Some(&big[..STACK_READ])
        );
        assert!(read(&exact, STACK_READ - 1).is_err());
    }
}
