//! [`Disk`]: an open block device or regular image file, with its size, sector sizes and
//! whole-disk lock, and the few operations the rest of the program does on it.

use std::fs::{File, OpenOptions};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::{FileExt, FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use rustix::fs::{FallocateFlags, FlockOperation};
use rustix::io::Errno;

use super::ioctl;
use super::sysfs::{self, DevNum};
use crate::error::{Error, ErrorKind, Result};

/// How a [`Disk`] is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read only, with a shared whole-disk lock (a dry run).
    ReadOnly,
    /// Read and write, with an exclusive whole-disk lock (a real run).
    ReadWrite,
}

/// What a [`Disk`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskKind {
    /// A block device node; `whole_disk` equals `devnum` unless the node is a partition.
    BlockDevice {
        /// The device number of the opened node.
        devnum: DevNum,
        /// The device number of the whole disk it belongs to.
        whole_disk: DevNum,
    },
    /// A regular file holding a disk image.
    ImageFile,
}

/// The outcome of [`Disk::discard`], for the caller to log as it sees fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discard {
    /// The sector-aligned byte range was discarded (or its holes punched).
    Done {
        /// First byte discarded.
        offset: u64,
        /// Number of bytes discarded.
        len: u64,
    },
    /// After rounding to whole sectors nothing was left to discard.
    Skipped,
    /// The storage does not support discarding (EOPNOTSUPP, ENOTTY, ENOSYS).
    Unsupported,
    /// The kernel refused with EBUSY (a mounted partition on the disk: kernel bug 211167).
    Busy,
}

/// The sector sizes systemd-repart accepts (`--sector-size=`).
const SECTOR_SIZES: [u32; 4] = [512, 1024, 2048, 4096];

/// An open disk: a block device or an image file.
///
/// A whole-disk block device is locked with a BSD `flock` right after it is opened (`LOCK_EX`
/// for [`Access::ReadWrite`], `LOCK_SH` for [`Access::ReadOnly`]) and stays locked until the
/// `Disk` is dropped; this is what keeps udev away while the table changes. Partition nodes and
/// image files are not locked.
#[derive(Debug)]
pub struct Disk {
    file: File,
    path: PathBuf,
    kind: DiskKind,
    access: Access,
    size: u64,
    sector_size: u32,
    device_sector_size: u32,
    physical_sector_size: u32,
    read_only: bool,
    locked: bool,
}

impl Disk {
    /// Opens `path` as a disk.
    ///
    /// `sector_size_override` (`--sector-size=`) replaces the logical sector size the table is
    /// read and written with, for image files and, as systemd-repart v262 does, for block
    /// devices too. Without it, images use 512 and block devices their logical block size.
    /// A read-only block device is refused for [`Access::ReadWrite`] before anything is
    /// written or locked.
    pub fn open(path: &Path, access: Access, sector_size_override: Option<u32>) -> Result<Disk> {
        if let Some(size) = sector_size_override {
            if !SECTOR_SIZES.contains(&size) {
                return Err(Error::new(
                    ErrorKind::Usage,
                    format!("sector size {size} is not one of 512, 1024, 2048, 4096"),
                ));
            }
        }
        let shown = path.display();
        // Open read-only first: inspecting a node never needs write access, and a read-only
        // device must be refused before it is opened for writing.
        let probe = open_file(path, Access::ReadOnly)?;
        let meta = probe
            .metadata()
            .map_err(|e| Error::io(format!("inspecting {shown}"), e))?;
        let file_type = meta.file_type();
        let read_only = file_type.is_block_device()
            && ioctl::block_read_only(&probe)
                .map_err(|e| Error::io(format!("querying whether {shown} is read-only"), e))?;
        if read_only && access == Access::ReadWrite {
            return Err(Error::new(
                ErrorKind::Io,
                format!("{shown} is a read-only block device, refusing to open it for writing"),
            ));
        }
        if !file_type.is_block_device() && !file_type.is_file() {
            return Err(Error::io(
                format!("opening {shown}: neither a block device nor a regular file"),
                Errno::NOTBLK,
            ));
        }
        let file = match access {
            Access::ReadOnly => probe,
            Access::ReadWrite => {
                let file = open_file(path, Access::ReadWrite)?;
                let again = file
                    .metadata()
                    .map_err(|e| Error::io(format!("inspecting {shown}"), e))?;
                if (again.dev(), again.ino(), again.rdev()) != (meta.dev(), meta.ino(), meta.rdev())
                {
                    return Err(Error::new(
                        ErrorKind::Io,
                        format!("{shown} was replaced while it was being opened"),
                    ));
                }
                file
            }
        };
        if file_type.is_block_device() {
            let devnum = DevNum::from_dev(meta.rdev());
            Disk::from_block_device(file, path, access, devnum, read_only, sector_size_override)
        } else {
            let sector_size = sector_size_override.unwrap_or(512);
            Ok(Disk {
                file,
                path: path.to_owned(),
                kind: DiskKind::ImageFile,
                access,
                size: meta.len(),
                sector_size,
                device_sector_size: sector_size,
                physical_sector_size: sector_size,
                read_only: false,
                locked: false,
            })
        }
    }

    /// Reads and writes an image file's table with `sector_size`-byte sectors (found from
    /// the table on it) instead of 512. Block devices keep theirs (the kernel's, or
    /// `--sector-size=`): for them this is an error.
    pub fn set_image_sector_size(&mut self, sector_size: u32) -> Result<()> {
        if self.is_block_device() || !SECTOR_SIZES.contains(&sector_size) {
            return Err(Error::new(
                ErrorKind::Usage,
                format!(
                    "{}: cannot use {sector_size}-byte sectors for it",
                    self.path.display()
                ),
            ));
        }
        self.sector_size = sector_size;
        self.device_sector_size = sector_size;
        self.physical_sector_size = sector_size;
        Ok(())
    }

    /// Locks and measures an opened block device node.
    fn from_block_device(
        file: File,
        path: &Path,
        access: Access,
        devnum: DevNum,
        read_only: bool,
        sector_size_override: Option<u32>,
    ) -> Result<Disk> {
        let shown = path.display();
        let whole = sysfs::whole_disk_of(&sysfs::SystemPaths::default().sysfs, devnum)
            .map_err(|e| e.context(format!("finding the whole disk of {shown}")))?;
        let locked = whole.partition.is_none();
        if locked {
            let operation = match access {
                Access::ReadOnly => FlockOperation::LockShared,
                Access::ReadWrite => FlockOperation::LockExclusive,
            };
            rustix::fs::flock(&file, operation)
                .map_err(|e| Error::io(format!("locking {shown}"), e))?;
        }
        let size = ioctl::block_size_bytes(&file)
            .map_err(|e| Error::io(format!("querying the size of {shown}"), e))?;
        let device_sector_size = rustix::fs::ioctl_blksszget(&file)
            .map_err(|e| Error::io(format!("querying the sector size of {shown}"), e))?;
        let physical_sector_size = rustix::fs::ioctl_blkpbszget(&file)
            .map_err(|e| Error::io(format!("querying the physical sector size of {shown}"), e))?;
        if !device_sector_size.is_power_of_two() || device_sector_size < 512 {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("{shown}: unusable logical sector size {device_sector_size}"),
            ));
        }
        Ok(Disk {
            file,
            path: path.to_owned(),
            kind: DiskKind::BlockDevice {
                devnum,
                whole_disk: whole.disk,
            },
            access,
            size,
            sector_size: sector_size_override.unwrap_or(device_sector_size),
            device_sector_size,
            physical_sector_size,
            read_only,
            locked,
        })
    }

    /// The path the disk was opened by.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Block device or image file.
    pub fn kind(&self) -> DiskKind {
        self.kind
    }

    /// How the disk was opened.
    pub fn access(&self) -> Access {
        self.access
    }

    /// Whether this is a block device node.
    pub fn is_block_device(&self) -> bool {
        matches!(self.kind, DiskKind::BlockDevice { .. })
    }

    /// Whether the block device is read-only (`BLKROGET`); always false for image files.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Whether this `Disk` holds the whole-disk `flock`.
    pub fn is_locked(&self) -> bool {
        self.locked
    }

    /// The size in bytes (`BLKGETSIZE64`, or the file size).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The logical sector size the partition table uses (the override, `BLKSSZGET`, or 512).
    pub fn sector_size(&self) -> u32 {
        self.sector_size
    }

    /// The device's own logical block size (`BLKSSZGET`; for images, [`Disk::sector_size`]).
    /// Discards are aligned to it.
    pub fn device_sector_size(&self) -> u32 {
        self.device_sector_size
    }

    /// The physical sector size (`BLKPBSZGET`; for images, [`Disk::sector_size`]).
    pub fn physical_sector_size(&self) -> u32 {
        self.physical_sector_size
    }

    /// Reads exactly `buf.len()` bytes at byte `offset`.
    pub fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.file.read_exact_at(buf, offset).map_err(|e| {
            Error::io(
                format!("reading {} at byte {offset}", self.path.display()),
                e,
            )
        })
    }

    /// Writes all of `buf` at byte `offset`.
    pub fn write_all_at(&self, offset: u64, buf: &[u8]) -> Result<()> {
        self.file.write_all_at(buf, offset).map_err(|e| {
            Error::io(
                format!("writing {} at byte {offset}", self.path.display()),
                e,
            )
        })
    }

    /// Flushes written data to stable storage (`fsync`).
    pub fn sync(&self) -> Result<()> {
        rustix::fs::fsync(&self.file)
            .map_err(|e| Error::io(format!("syncing {}", self.path.display()), e))
    }

    /// Discards `[offset, offset + len)`, shrunk to whole sectors (start rounded up, end
    /// rounded down). Block devices get `BLKDISCARD`; image files get their holes punched
    /// (`FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE`). "Unsupported" and "busy" are answers, not
    /// errors; any other failure is an error.
    pub fn discard(&self, offset: u64, len: u64) -> Result<Discard> {
        let shown = self.path.display();
        let alignment = u64::from(self.sector_size.max(self.device_sector_size));
        let Some((start, aligned_len)) = aligned_range(offset, len, alignment) else {
            return Ok(Discard::Skipped);
        };
        let outcome = match self.kind {
            DiskKind::BlockDevice { .. } => ioctl::block_discard(&self.file, start, aligned_len),
            DiskKind::ImageFile => rustix::fs::fallocate(
                &self.file,
                FallocateFlags::PUNCH_HOLE | FallocateFlags::KEEP_SIZE,
                start,
                aligned_len,
            ),
        };
        match outcome {
            Ok(()) => Ok(Discard::Done {
                offset: start,
                len: aligned_len,
            }),
            Err(Errno::OPNOTSUPP | Errno::NOTTY | Errno::NOSYS) => Ok(Discard::Unsupported),
            Err(Errno::BUSY) => Ok(Discard::Busy),
            Err(e) => Err(Error::io(
                format!("discarding {aligned_len} bytes of {shown} at byte {start}"),
                e,
            )),
        }
    }

    /// Makes `[offset, offset + len)` read as zeros without writing them from user space,
    /// when `may_deallocate` (the storage may then free the blocks, as a discard would): a
    /// block device gets `BLKZEROOUT` (the device's write-zeroes command, or zero pages the
    /// kernel writes), an image file a punched hole (`FALLOC_FL_PUNCH_HOLE|KEEP_SIZE`: no
    /// data written, and a range that is already a hole, most of a sparse image, costs
    /// nothing). `Ok(false)` when `may_deallocate` is unset or the storage cannot (no hole
    /// punching or write-zeroes support, an unaligned range, the kernel refusing to drop the
    /// cache of a disk with mounted partitions): the caller writes the zeros itself.
    pub fn zero_out(&self, offset: u64, len: u64, may_deallocate: bool) -> Result<bool> {
        if !may_deallocate {
            return Ok(false);
        }
        if len == 0 {
            return Ok(true);
        }
        let outcome = match self.kind {
            DiskKind::BlockDevice { .. } => ioctl::block_zero_out(&self.file, offset, len),
            DiskKind::ImageFile => rustix::fs::fallocate(
                &self.file,
                FallocateFlags::PUNCH_HOLE | FallocateFlags::KEEP_SIZE,
                offset,
                len,
            ),
        };
        match outcome {
            Ok(()) => Ok(true),
            Err(Errno::OPNOTSUPP | Errno::NOTTY | Errno::NOSYS | Errno::INVAL | Errno::BUSY) => {
                Ok(false)
            }
            Err(e) => Err(Error::io(
                format!(
                    "zeroing {len} bytes of {} at byte {offset}",
                    self.path.display()
                ),
                e,
            )),
        }
    }

    /// Grows an image file to `new_len` bytes: sparsely (`ftruncate`), or with the new range
    /// allocated (`fallocate`) when `allocate` is set (`--discard=no`). Never shrinks: returns
    /// `false` and does nothing if the file is already at least that large.
    pub fn grow_file(&mut self, new_len: u64, allocate: bool) -> Result<bool> {
        let shown = self.path.display();
        if self.kind != DiskKind::ImageFile {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("{shown} is a block device; only image files can be grown"),
            ));
        }
        if new_len <= self.size {
            return Ok(false);
        }
        if allocate {
            rustix::fs::fallocate(
                &self.file,
                FallocateFlags::empty(),
                self.size,
                new_len - self.size,
            )
            .map_err(|e| Error::io(format!("allocating {shown} up to {new_len} bytes"), e))?;
        } else {
            rustix::fs::ftruncate(&self.file, new_len)
                .map_err(|e| Error::io(format!("growing {shown} to {new_len} bytes"), e))?;
        }
        self.size = new_len;
        Ok(true)
    }
}

impl AsFd for Disk {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

fn open_file(path: &Path, access: Access) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(access == Access::ReadWrite)
        .custom_flags(rustix::fs::OFlags::NOCTTY.bits() as i32)
        .open(path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))
}

/// `[offset, offset + len)` shrunk to whole `alignment`-byte units: the start rounded up, the
/// end rounded down. `None` if nothing is left (or the range overflows). `alignment` is a
/// power of two.
pub(crate) fn aligned_range(offset: u64, len: u64, alignment: u64) -> Option<(u64, u64)> {
    let end = offset.checked_add(len)?;
    let mask = alignment.checked_sub(1)?;
    let start = offset.checked_add(mask)? & !mask;
    let end = end & !mask;
    (end > start).then(|| (start, end - start))
}

/// The GPT reader reads through this; `&Disk` because reading needs no exclusive access.
impl crate::gpt::ReadAt for &Disk {
    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        Disk::read_exact_at(self, offset, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discard_ranges_shrink_to_whole_sectors() {
        assert_eq!(aligned_range(0, 4096, 512), Some((0, 4096)));
        assert_eq!(aligned_range(1, 4096, 512), Some((512, 3584)));
        assert_eq!(aligned_range(512, 511, 512), None);
        assert_eq!(aligned_range(100, 400, 512), None);
        assert_eq!(aligned_range(0, 0, 512), None);
        assert_eq!(aligned_range(4095, 8193, 4096), Some((4096, 8192)));
        assert_eq!(aligned_range(4095, 8192, 4096), Some((4096, 4096)));
        assert_eq!(aligned_range(268414976, 3584, 512), Some((268414976, 3584)));
        assert_eq!(aligned_range(268414976, 3584, 4096), None);
        assert_eq!(aligned_range(u64::MAX - 10, 5, 512), None);
        assert_eq!(aligned_range(10, u64::MAX, 512), None);
        assert_eq!(aligned_range(0, 4096, 0), None);
    }

    /// A file in its own temporary directory, both removed on drop.
    struct ScratchFile(PathBuf);

    impl ScratchFile {
        fn new(test: &str, len: usize) -> ScratchFile {
            let dir = std::env::temp_dir()
                .join(format!("repart-rs-device-{}-{test}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join("disk.img");
            std::fs::write(&path, vec![0u8; len]).unwrap();
            ScratchFile(path)
        }
    }

    impl Drop for ScratchFile {
        fn drop(&mut self) {
            if let Some(dir) = self.0.parent() {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }

    #[test]
    fn image_files_read_write_and_grow() {
        let scratch = ScratchFile::new("grow", 8192);
        let path = &scratch.0;
        let mut disk = Disk::open(path, Access::ReadWrite, None).unwrap();
        assert_eq!(disk.kind(), DiskKind::ImageFile);
        assert_eq!((disk.size(), disk.sector_size()), (8192, 512));
        assert!(!disk.is_locked());
        disk.write_all_at(512, b"EFI PART").unwrap();
        let mut buf = [0u8; 8];
        disk.read_exact_at(512, &mut buf).unwrap();
        assert_eq!(&buf, b"EFI PART");
        disk.sync().unwrap();
        assert!(disk.grow_file(16384, false).unwrap());
        assert!(!disk.grow_file(4096, false).unwrap());
        assert!(disk.grow_file(20480, true).unwrap());
        assert_eq!(std::fs::metadata(path).unwrap().len(), 20480);
        assert_eq!(disk.size(), 20480);
        let err = disk.read_exact_at(20000, &mut [0u8; 1024]).unwrap_err();
        assert!(err.to_string().contains("at byte 20000"), "{err}");
    }

    #[test]
    fn zeroed_image_ranges_are_punched_holes_that_keep_the_size() {
        let scratch = ScratchFile::new("punch", 3 * 4096);
        let disk = Disk::open(&scratch.0, Access::ReadWrite, None).unwrap();
        disk.write_all_at(0, &[0xa5; 3 * 4096]).unwrap();
        // Unaligned on purpose: partial blocks are zeroed, whole ones freed.
        assert!(disk.zero_out(100, 2 * 4096, true).unwrap());
        assert!(disk.zero_out(0, 0, true).unwrap());
        assert!(!disk.zero_out(0, 4096, false).unwrap());
        let mut buf = vec![0u8; 3 * 4096];
        disk.read_exact_at(0, &mut buf).unwrap();
        assert!(buf[..100].iter().all(|&b| b == 0xa5));
        assert!(buf[100..100 + 2 * 4096].iter().all(|&b| b == 0));
        assert!(buf[100 + 2 * 4096..].iter().all(|&b| b == 0xa5));
        assert_eq!(std::fs::metadata(&scratch.0).unwrap().len(), 3 * 4096);
        let read_only = Disk::open(&scratch.0, Access::ReadOnly, None).unwrap();
        let err = read_only.zero_out(0, 4096, true).unwrap_err();
        assert!(
            err.to_string().starts_with("zeroing 4096 bytes of "),
            "{err}"
        );
    }

    #[test]
    fn image_sector_size_override() {
        let scratch = ScratchFile::new("override", 8192);
        let path = &scratch.0;
        let disk = Disk::open(path, Access::ReadOnly, Some(4096)).unwrap();
        assert_eq!(disk.sector_size(), 4096);
        assert_eq!(disk.discard(0, 4095).unwrap(), Discard::Skipped);
        let err = Disk::open(path, Access::ReadOnly, Some(1000)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Usage);
        let err = disk.write_all_at(0, b"x").unwrap_err();
        assert!(err.to_string().starts_with("writing "), "{err}");
        // The size found from the table on an image replaces 512 after opening.
        let mut disk = Disk::open(path, Access::ReadOnly, None).unwrap();
        assert_eq!(disk.sector_size(), 512);
        disk.set_image_sector_size(4096).unwrap();
        assert_eq!(
            (disk.sector_size(), disk.device_sector_size()),
            (4096, 4096)
        );
        let err = disk.set_image_sector_size(1000).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Usage);
        assert_eq!(disk.sector_size(), 4096);
    }

    #[test]
    fn errors_name_the_path_and_operation() {
        let err =
            Disk::open(Path::new("/nonexistent/disk.img"), Access::ReadOnly, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "opening /nonexistent/disk.img: No such file or directory (os error 2)"
        );
        let err = Disk::open(Path::new("/dev/null"), Access::ReadOnly, None).unwrap_err();
        assert!(
            err.to_string()
                .contains("neither a block device nor a regular file")
        );
        let err = Disk::open(Path::new("/"), Access::ReadOnly, None).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(Errno::NOTBLK.raw_os_error()));
    }
}
