//! Telling the kernel: a BLKPG diff between its partitions of the disk and the new table,
//! deletions before anything is written (so a partition in use stops the run while the disk
//! is untouched), resizes and additions after the table is on disk, then a read-back.

use log::{debug, info};

use super::erase::Range;
use super::failpoint;
use crate::disk::{self, DevNum, Disk, DiskKind, KernelOp, SystemPaths, WantedPartition};
use crate::error::{Error, ErrorKind, Result};
use crate::gpt::Table;

/// What the kernel has to be told about one disk.
pub struct KernelUpdate {
    paths: SystemPaths,
    disk: DevNum,
    wanted: Vec<WantedPartition>,
    ops: Vec<KernelOp>,
}

/// The partitions of `table` as the kernel should see them.
fn wanted(table: &Table) -> Vec<WantedPartition> {
    let ss = u64::from(table.sector_size);
    table
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.is_used())
        .map(|(slot, e)| WantedPartition {
            number: slot as u32 + 1,
            start: e.first_lba * ss,
            size: (e.last_lba + 1 - e.first_lba) * ss,
        })
        .collect()
}

/// The kernel update for `table` on `disk`, checked before anything is written: `None` for
/// image files and devices without partition scanning (a loop device without `-P`). Fails
/// with `Busy`, writing nothing, when a partition that must be removed or moved is in use,
/// or when one in use lies where `erased` (the ranges the run zeroes or discards) reaches:
/// the kernel may know partitions the table on disk does not list (a disk emptied with
/// `--empty=force` under a mounted file system, or a table changed behind its back).
pub fn prepare(
    disk: &Disk,
    table: &Table,
    paths: &SystemPaths,
    erased: &[Range],
) -> Result<Option<KernelUpdate>> {
    let DiskKind::BlockDevice { devnum, .. } = disk.kind() else {
        debug!(
            "Not telling the kernel about partitions: {} is an image file.",
            disk.path().display()
        );
        return Ok(None);
    };
    if !disk::partscan_supported(&paths.sysfs, disk)? {
        info!(
            "Not telling kernel to reread partition table, because selected image does not \
             support kernel partition block devices."
        );
        return Ok(None);
    }
    let current = disk::kernel_partitions(&paths.sysfs, devnum)?;
    let wanted = wanted(table);
    let ops = disk::diff(&current, &wanted);
    for k in &current {
        let extent = Range::new(k.start.saturating_mul(512), k.size.saturating_mul(512));
        let removed = ops.contains(&KernelOp::Delete { number: k.number });
        let erased_inside = erased.iter().find(|r| r.overlaps(&extent));
        if !removed && erased_inside.is_none() {
            continue;
        }
        if !disk::is_partition_busy(paths, k)? {
            continue;
        }
        let why = match erased_inside {
            Some(r) => format!(
                "this run erases bytes {}..{} of the disk, which lie inside it",
                r.offset,
                r.end()
            ),
            None => "the new table removes or moves it".to_owned(),
        };
        return Err(Error::new(
            ErrorKind::Busy,
            format!(
                "partition {} (/dev/{}) is in use, but {why}; nothing was written",
                k.number, k.name
            ),
        ));
    }
    Ok(Some(KernelUpdate {
        paths: paths.clone(),
        disk: devnum,
        wanted,
        ops,
    }))
}

impl KernelUpdate {
    /// Removes the kernel's partitions the new table drops or moves. Safe before the table
    /// is written: until the next boot or rescan the kernel simply knows fewer partitions.
    pub fn remove_stale(&self, disk: &Disk) -> Result<()> {
        for op in self
            .ops
            .iter()
            .filter(|op| matches!(op, KernelOp::Delete { .. }))
        {
            disk::apply_ops(disk, std::slice::from_ref(op))?;
            if let KernelOp::Delete { number } = op {
                debug!("Removed partition {number} from the kernel.");
                failpoint::reached(&format!("kernel-delete-{number}"));
            }
        }
        Ok(())
    }

    /// After the table is written: resizes and adds, then checks that the kernel's view is
    /// the table's. If it is not and no partition is in use, asks the kernel to re-read the
    /// whole table (BLKRRPART) once and checks again.
    pub fn finish(&self, disk: &Disk) -> Result<()> {
        if self.ops.is_empty() {
            debug!("The kernel's partitions already match the table.");
        } else {
            info!("Informing kernel about changed partitions...");
        }
        for op in self
            .ops
            .iter()
            .filter(|op| !matches!(op, KernelOp::Delete { .. }))
        {
            disk::apply_ops(disk, std::slice::from_ref(op))?;
            let name = match *op {
                KernelOp::Add { number, .. } => format!("kernel-add-{number}"),
                KernelOp::Resize { number, .. } => format!("kernel-resize-{number}"),
                KernelOp::Delete { number } => format!("kernel-delete-{number}"),
            };
            failpoint::reached(&name);
        }
        let Err(mismatch) = self.verify() else {
            return Ok(());
        };
        let current = disk::kernel_partitions(&self.paths.sysfs, self.disk)?;
        for k in &current {
            if disk::is_partition_busy(&self.paths, k)? {
                return Err(mismatch);
            }
        }
        info!("{mismatch}; asking the kernel to re-read the partition table.");
        disk::reread(disk)?;
        self.verify()
    }

    /// Fails, naming the first difference, unless the kernel's partitions are the table's.
    fn verify(&self) -> Result<()> {
        let now = disk::kernel_partitions(&self.paths.sysfs, self.disk)?;
        let seen: Vec<WantedPartition> = now
            .iter()
            .map(|k| WantedPartition {
                number: k.number,
                start: k.start * 512,
                size: k.size * 512,
            })
            .collect();
        for w in &self.wanted {
            if !seen.contains(w) {
                return Err(mismatch(format!(
                    "partition {} should start at byte {} with {} bytes",
                    w.number, w.start, w.size
                )));
            }
        }
        if let Some(extra) = seen.iter().find(|s| !self.wanted.contains(s)) {
            return Err(mismatch(format!(
                "partition {} (start {}, {} bytes) is not in the table",
                extra.number, extra.start, extra.size
            )));
        }
        Ok(())
    }
}

fn mismatch(what: String) -> Error {
    Error::new(
        ErrorKind::Io,
        format!("the kernel's partitions differ from the table written: {what}"),
    )
}
