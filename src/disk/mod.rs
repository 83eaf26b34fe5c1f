//! Everything that touches devices: opening and locking a disk, ioctls, finding the disk
//! behind the root file system, and telling the kernel about partitions.
//!
//! Deciding what to write is not done here; `apply` calls these pieces in order.

mod device;
mod discover;
mod enumerate;
mod ioctl;
mod kernel;
mod sysfs;

pub use device::{Access, Discard, Disk, DiskKind};
pub use discover::{FoundDisk, FoundVia, Target, find_root_disk, is_mount_point, resolve_target};
pub use enumerate::{
    BlockDisk, DiskIdentity, MAX_DISK_LINKS, MAX_DISKS, disk_links, identity, whole_disks,
};
pub use kernel::{
    KernelOp, KernelPartition, MAX_KERNEL_PARTITIONS, WantedPartition, apply_ops, diff,
    is_partition_busy, kernel_partitions, partscan_supported, partscan_supported_at, reread,
};
#[cfg(test)]
pub(crate) use sysfs::fake;
pub use sysfs::{DevNum, SystemPaths, WholeDisk, node_path, whole_disk_of};
