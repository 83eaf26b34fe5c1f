//! Image files: creating them (`--empty=create`), their sector size, and `--size=`.

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use log::{info, warn};

use super::table::Start;
use super::usage;
use crate::apply;
use crate::cli::{Options, SizeArg};
use crate::config::definition::Definition;
use crate::disk::Disk;
use crate::error::{Error, Result};
use crate::gpt::{self, Table};
use crate::plan::{self, DiskLayout, PlanOptions};
use crate::report::format_bytes;

/// `--size=` values are rounded up to this.
const SIZE_ALIGNMENT: u64 = 4096;

/// Creates the image file of `--empty=create`, refusing to replace anything.
pub fn create(path: &Path) -> Result<()> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)
        .map(drop)
        .map_err(|e| Error::io(format!("creating {}", path.display()), e))
}

/// The sector size a GPT on the opened image was written for, as v262 probes image files
/// given without `--sector-size=`; `None` (512) when there is no table.
pub fn detect_sector_size(disk: &Disk) -> Result<Option<u32>> {
    let mut reader = disk;
    gpt::detect_sector_size(&mut reader, disk.size())
}

/// The disk size to plan for: the device's, or with `--size=` the image's new size. A real
/// run grows the file now (never shrinks it); a dry run only plans for the new size.
pub fn target_size(
    disk: &mut Disk,
    o: &Options,
    definitions: &[Definition],
    options: &PlanOptions,
) -> Result<u64> {
    let Some(size_arg) = o.size else {
        return Ok(disk.size());
    };
    if disk.is_block_device() {
        return Err(usage(format!(
            "--size= is only supported on image files, and {} is a block device",
            disk.path().display()
        )));
    }
    let wanted = match size_arg {
        SizeArg::Bytes(bytes) => {
            let rounded = bytes.div_ceil(SIZE_ALIGNMENT) * SIZE_ALIGNMENT;
            if rounded != bytes {
                warn!("Rounded --size={bytes} up to {rounded}, a multiple of {SIZE_ALIGNMENT}.");
            }
            rounded
        }
        SizeArg::Auto => {
            let minimal = minimal_size_on(disk, o, definitions, options)?;
            info!(
                "Automatically determined minimal disk image size as {}.",
                format_bytes(minimal)
            );
            minimal
        }
    };
    if wanted <= disk.size() {
        return Ok(disk.size());
    }
    if !o.dry_run {
        disk.grow_file(wanted, !o.discard)?;
        info!(
            "Sized '{}' to {}.",
            disk.path().display(),
            format_bytes(wanted)
        );
    }
    Ok(wanted)
}

/// After `--size=` grew the image file, writes its table back with the backup moved to the
/// new end, before planning, as v262 does ("Resized partition table."): the grown image is
/// consistent even when the plan then fails. Tables whose LBA 0 must not be rewritten are
/// left to the plan's own write, which refuses them.
pub fn resize_table(disk: &Disk, start: &mut Start) -> Result<()> {
    let Start::Existing(loaded) = start else {
        return Ok(());
    };
    if !loaded.needs_rewrite || loaded.ensure_rewritable().is_err() {
        return Ok(());
    }
    apply::write_table(disk, &loaded.table)?;
    loaded.needs_rewrite = false;
    info!("Resized partition table.");
    Ok(())
}

/// `--size=auto` on an existing image: the minimal size for its table and the definitions.
fn minimal_size_on(
    disk: &Disk,
    o: &Options,
    definitions: &[Definition],
    options: &PlanOptions,
) -> Result<u64> {
    let start = super::table::start(disk, disk.size().max(nominal_size()), o.empty);
    let layout = match start {
        Ok(start) => start.layout(disk.size()),
        Err(e) => return Err(e),
    };
    plan::minimal_size(&layout, definitions, options)
}

/// The smallest image for the definitions alone (the positional argument `-`).
pub fn minimal_size(
    definitions: &[Definition],
    options: &PlanOptions,
    sector_size: u32,
) -> Result<u64> {
    let table = Table::new(uuid::Uuid::nil(), nominal_size(), sector_size)?;
    let layout = DiskLayout {
        sector_size: u64::from(sector_size),
        disk_size: 0,
        first_usable_lba: table.first_usable_lba,
        last_usable_lba: table.last_usable_lba,
        entry_count: table.entries.len(),
        disk_guid: None,
        partitions: Vec::new(),
    };
    plan::minimal_size(&layout, definitions, options)
}

/// A disk size to lay out a new table on when only the minimal size is wanted, which does
/// not depend on the geometry.
fn nominal_size() -> u64 {
    1 << 40
}
