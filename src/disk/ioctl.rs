//! Typed wrappers over the block-device and btrfs ioctls the program needs.
//!
//! This is the only module of the crate that contains `unsafe`: every call goes through
//! `rustix::ioctl` with an argument type that matches what the kernel reads or writes for that
//! request, and each call site says why that holds. Nothing here allocates. The safe rustix
//! helpers (`ioctl_blksszget`, `ioctl_blkpbszget`, `flock`, `fallocate`, ...) are used directly
//! by the callers and are not wrapped again.
#![allow(unsafe_code)]

use rustix::fd::AsFd;
use rustix::io;
use rustix::ioctl::{Getter, NoArg, Opcode, Setter, Updater, ioctl, opcode};

/// `_IOR(0x12, 114, size_t)`: the kernel writes a `u64` even though the request number encodes
/// `sizeof(size_t)`, which is why the opcode is built from `usize` and the buffer is a `u64`.
const BLKGETSIZE64: Opcode = opcode::read::<usize>(0x12, 114);
/// `_IO(0x12, 94)`: the kernel writes an `int` (0 = read-write) through the pointer argument.
const BLKROGET: Opcode = opcode::none(0x12, 94);
/// `_IO(0x12, 95)`: no argument.
const BLKRRPART: Opcode = opcode::none(0x12, 95);
/// `_IO(0x12, 105)`: the argument points to a `struct blkpg_ioctl_arg`.
const BLKPG: Opcode = opcode::none(0x12, 105);
/// `_IO(0x12, 119)`: the argument points to `uint64_t range[2]` = {start, length} in bytes.
const BLKDISCARD: Opcode = opcode::none(0x12, 119);
/// `_IO(0x12, 127)`: the argument points to `uint64_t range[2]` = {start, length} in bytes.
const BLKZEROOUT: Opcode = opcode::none(0x12, 127);
/// `_IOR(0x94, 31, struct btrfs_ioctl_fs_info_args)`.
const BTRFS_IOC_FS_INFO: Opcode = opcode::read::<BtrfsFsInfoArgs>(0x94, 31);
/// `_IOWR(0x94, 30, struct btrfs_ioctl_dev_info_args)`.
const BTRFS_IOC_DEV_INFO: Opcode = opcode::read_write::<BtrfsDevInfoArgs>(0x94, 30);

const BLKPG_ADD_PARTITION: i32 = 1;
const BLKPG_DEL_PARTITION: i32 = 2;
const BLKPG_RESIZE_PARTITION: i32 = 3;

/// `struct blkpg_partition` from `<linux/blkpg.h>` (152 bytes on every ABI).
#[repr(C)]
struct BlkpgPartition {
    start: i64,
    length: i64,
    pno: i32,
    devname: [u8; 64],
    volname: [u8; 64],
}

/// `struct blkpg_ioctl_arg` from `<linux/blkpg.h>`.
#[repr(C)]
struct BlkpgIoctlArg {
    op: i32,
    flags: i32,
    datalen: i32,
    data: *mut BlkpgPartition,
}

/// `struct btrfs_ioctl_fs_info_args` from `<linux/btrfs.h>` (1024 bytes).
#[repr(C)]
struct BtrfsFsInfoArgs {
    max_id: u64,
    num_devices: u64,
    fsid: [u8; 16],
    nodesize: u32,
    sectorsize: u32,
    clone_alignment: u32,
    csum_type: u16,
    csum_size: u16,
    flags: u64,
    generation: u64,
    metadata_uuid: [u8; 16],
    reserved: [u8; 944],
}

/// `struct btrfs_ioctl_dev_info_args` from `<linux/btrfs.h>` (4096 bytes).
#[repr(C)]
struct BtrfsDevInfoArgs {
    devid: u64,
    uuid: [u8; 16],
    bytes_used: u64,
    total_bytes: u64,
    unused: [u64; 379],
    path: [u8; BTRFS_DEVICE_PATH_NAME_MAX],
}

/// The size of the `path` buffer in `struct btrfs_ioctl_dev_info_args`.
pub const BTRFS_DEVICE_PATH_NAME_MAX: usize = 1024;

/// `BLKGETSIZE64`: the size of a block device in bytes.
pub fn block_size_bytes<Fd: AsFd>(fd: Fd) -> io::Result<u64> {
    // SAFETY: BLKGETSIZE64 writes exactly one u64 through its pointer argument, and `Getter`
    // hands the kernel a pointer to an owned, properly aligned u64.
    unsafe { ioctl(fd, Getter::<BLKGETSIZE64, u64>::new()) }
}

/// `BLKROGET`: whether the block device is read-only.
pub fn block_read_only<Fd: AsFd>(fd: Fd) -> io::Result<bool> {
    // SAFETY: BLKROGET writes one `int` through its pointer argument (the kernel's
    // `put_int`), and `Getter` provides an owned, aligned i32.
    let flag = unsafe { ioctl(fd, Getter::<BLKROGET, i32>::new())? };
    Ok(flag != 0)
}

/// `BLKDISCARD`: discards `len` bytes from byte `start`; both must be multiples of the
/// device's logical sector size (the kernel answers EINVAL otherwise).
pub fn block_discard<Fd: AsFd>(fd: Fd, start: u64, len: u64) -> io::Result<()> {
    // SAFETY: BLKDISCARD only reads a `uint64_t[2]` through its pointer argument; `Setter`
    // passes a pointer to the owned array, which lives until the call returns.
    unsafe { ioctl(fd, Setter::<BLKDISCARD, [u64; 2]>::new([start, len])) }
}

/// `BLKZEROOUT`: makes `len` bytes from byte `start` read as zeros (the device's write-zeroes
/// command where it has one, zero pages written by the kernel where not), dropping the page
/// cache over the range first; both must be multiples of 512 (the kernel answers EINVAL
/// otherwise).
pub fn block_zero_out<Fd: AsFd>(fd: Fd, start: u64, len: u64) -> io::Result<()> {
    // SAFETY: BLKZEROOUT only reads a `uint64_t[2]` through its pointer argument; `Setter`
    // passes a pointer to the owned array, which lives until the call returns.
    unsafe { ioctl(fd, Setter::<BLKZEROOUT, [u64; 2]>::new([start, len])) }
}

/// `BLKRRPART`: asks the kernel to drop and re-scan all partitions of a whole disk.
pub fn block_reread_partitions<Fd: AsFd>(fd: Fd) -> io::Result<()> {
    // SAFETY: BLKRRPART takes no argument and touches no user memory.
    unsafe { ioctl(fd, NoArg::<BLKRRPART>::new()) }
}

/// One `BLKPG` partition request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlkpgRequest {
    /// `BLKPG_ADD_PARTITION`: create partition `number` over the byte range.
    Add {
        number: u32,
        start: u64,
        length: u64,
    },
    /// `BLKPG_RESIZE_PARTITION`: change the length of partition `number` (same start).
    Resize {
        number: u32,
        start: u64,
        length: u64,
    },
    /// `BLKPG_DEL_PARTITION`: remove partition `number`.
    Delete { number: u32 },
}

/// `BLKPG`: adds, resizes or deletes one kernel partition of a whole disk.
///
/// Numbers and byte values that do not fit the kernel's signed fields are refused with
/// EOVERFLOW before any call.
pub fn blkpg<Fd: AsFd>(fd: Fd, request: BlkpgRequest) -> io::Result<()> {
    let (op, number, start, length) = match request {
        BlkpgRequest::Add {
            number,
            start,
            length,
        } => (BLKPG_ADD_PARTITION, number, start, length),
        BlkpgRequest::Resize {
            number,
            start,
            length,
        } => (BLKPG_RESIZE_PARTITION, number, start, length),
        BlkpgRequest::Delete { number } => (BLKPG_DEL_PARTITION, number, 0, 0),
    };
    let signed = |v: u64| i64::try_from(v).map_err(|_| io::Errno::OVERFLOW);
    let mut partition = BlkpgPartition {
        start: signed(start)?,
        length: signed(length)?,
        pno: i32::try_from(number).map_err(|_| io::Errno::OVERFLOW)?,
        devname: [0; 64],
        volname: [0; 64],
    };
    let arg = BlkpgIoctlArg {
        op,
        flags: 0,
        datalen: size_of::<BlkpgPartition>() as i32,
        data: &mut partition,
    };
    // SAFETY: BLKPG reads a `struct blkpg_ioctl_arg` through its pointer argument and then
    // copies `datalen` bytes from `data`; both structs are `repr(C)` copies of the kernel's
    // layout, `data` points to `partition`, which outlives the call, and the kernel writes
    // to neither.
    unsafe { ioctl(fd, Setter::<BLKPG, BlkpgIoctlArg>::new(arg)) }
}

/// What `BTRFS_IOC_FS_INFO` says about a mounted btrfs file system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BtrfsFsInfo {
    /// The highest device id in use.
    pub max_id: u64,
    /// How many devices the file system spans.
    pub num_devices: u64,
}

/// `BTRFS_IOC_FS_INFO` on any fd inside a mounted btrfs.
pub fn btrfs_fs_info<Fd: AsFd>(fd: Fd) -> io::Result<BtrfsFsInfo> {
    // The kernel reads `flags` as input, so the whole struct starts zeroed.
    let mut args = BtrfsFsInfoArgs {
        max_id: 0,
        num_devices: 0,
        fsid: [0; 16],
        nodesize: 0,
        sectorsize: 0,
        clone_alignment: 0,
        csum_type: 0,
        csum_size: 0,
        flags: 0,
        generation: 0,
        metadata_uuid: [0; 16],
        reserved: [0; 944],
    };
    // SAFETY: BTRFS_IOC_FS_INFO reads and writes one `struct btrfs_ioctl_fs_info_args`
    // through its pointer argument; `args` is an initialized repr(C) copy of that layout and
    // is borrowed mutably for the duration of the call.
    unsafe {
        ioctl(
            &fd,
            Updater::<BTRFS_IOC_FS_INFO, BtrfsFsInfoArgs>::new(&mut args),
        )?
    };
    Ok(BtrfsFsInfo {
        max_id: args.max_id,
        num_devices: args.num_devices,
    })
}

/// `BTRFS_IOC_DEV_INFO` for device id `devid`: copies the device's path (as the kernel knows
/// it, NUL-terminated) into `path` and returns its length without the NUL.
pub fn btrfs_dev_path<Fd: AsFd>(
    fd: Fd,
    devid: u64,
    path: &mut [u8; BTRFS_DEVICE_PATH_NAME_MAX],
) -> io::Result<usize> {
    let mut args = BtrfsDevInfoArgs {
        devid,
        uuid: [0; 16],
        bytes_used: 0,
        total_bytes: 0,
        unused: [0; 379],
        path: [0; BTRFS_DEVICE_PATH_NAME_MAX],
    };
    // SAFETY: BTRFS_IOC_DEV_INFO reads and writes one `struct btrfs_ioctl_dev_info_args`
    // through its pointer argument; `args` is an initialized repr(C) copy of that layout and
    // is borrowed mutably for the duration of the call.
    unsafe {
        ioctl(
            &fd,
            Updater::<BTRFS_IOC_DEV_INFO, BtrfsDevInfoArgs>::new(&mut args),
        )?
    };
    *path = args.path;
    Ok(path.iter().position(|&b| b == 0).unwrap_or(path.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argument_layouts_match_the_kernel_headers() {
        assert_eq!(size_of::<BlkpgPartition>(), 152);
        assert_eq!(size_of::<BtrfsFsInfoArgs>(), 1024);
        assert_eq!(size_of::<BtrfsDevInfoArgs>(), 4096);
        #[cfg(target_pointer_width = "64")]
        assert_eq!(size_of::<BlkpgIoctlArg>(), 24);
    }

    /// The generic `_IOC` encoding (x86, arm, riscv); values taken from the C headers.
    #[cfg(all(
        target_pointer_width = "64",
        any(
            target_arch = "x86_64",
            target_arch = "aarch64",
            target_arch = "riscv64"
        )
    ))]
    #[test]
    fn request_numbers_match_the_kernel_headers() {
        assert_eq!(BLKGETSIZE64, 0x8008_1272);
        assert_eq!(BLKROGET, 0x125e);
        assert_eq!(BLKRRPART, 0x125f);
        assert_eq!(BLKPG, 0x1269);
        assert_eq!(BLKDISCARD, 0x1277);
        assert_eq!(BLKZEROOUT, 0x127f);
        assert_eq!(BTRFS_IOC_FS_INFO, 0x8400_941f);
        assert_eq!(BTRFS_IOC_DEV_INFO, 0xd000_941e);
    }

    #[test]
    fn blkpg_refuses_values_the_kernel_cannot_hold() {
        let file = std::fs::File::open("/dev/null").unwrap();
        let too_far = BlkpgRequest::Add {
            number: 1,
            start: u64::MAX,
            length: 512,
        };
        assert_eq!(blkpg(&file, too_far), Err(io::Errno::OVERFLOW));
        let bad_number = BlkpgRequest::Delete { number: u32::MAX };
        assert_eq!(blkpg(&file, bad_number), Err(io::Errno::OVERFLOW));
    }
}
