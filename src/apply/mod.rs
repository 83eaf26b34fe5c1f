//! The only writer: carries out a [`Plan`] on a disk, in an order that survives a power cut
//! at any moment.
//!
//! 1. Everything is computed and checked first (the new table, the erase list, the kernel
//!    update): a refusal leaves the disk untouched.
//! 2. The kernel forgets partitions the new table removes or moves (refused above if one is
//!    in use, as is any partition in use that overlaps space step 3 erases).
//! 3. Space handed out is erased: signature regions zeroed, then discarded; swap signatures
//!    are written into new swap partitions. All of this is free space under the old table,
//!    or belongs to partitions a factory reset deletes, so the old table stays valid.
//! 4. The table is written in UEFI order, each piece synced: backup entries, backup header,
//!    primary entries, primary header, protective MBR. Until the primary entries land, the
//!    old primary is what firmware, the kernel and our reader use (a valid primary beside a
//!    different valid backup is an interrupted write); from then on the new backup (the
//!    primary's checksum no longer matches), and once the primary header lands, the new
//!    primary. A protective MBR left sized for a smaller disk by a stop before the last
//!    piece is a repair the next run makes.
//! 5. The kernel learns the new partitions (BLKPG), and its view is read back and compared.
//!
//! Every step ends at a failpoint (see [`failpoint`]) for the crash tests.

mod erase;
mod failpoint;
mod kernel;
mod swap;
mod table;

use log::{debug, info};

use crate::config::definition::Definition;
use crate::disk::{Discard, Disk, SystemPaths};
use crate::error::{Error, ErrorKind, Result};
use crate::gpt::{Piece, Table};
use crate::plan::{Activity, Plan, file_system_uuid};
use erase::DiscardKind;

pub use erase::{Erase, Range, Region, erase_list, protected_extents, signature_regions};
pub use failpoint::EXIT_STATUS as FAILPOINT_EXIT_STATUS;
pub use table::build as build_table;

/// Zeros are written in pieces of this size (from one buffer that is allocated, and so
/// mapped to the zero page, rather than stored in the binary; allocated only when the
/// kernel cannot zero a range itself).
const ZERO_CHUNK: usize = 256 << 10;

/// What [`apply`] needs besides the plan.
pub struct Request<'a> {
    pub disk: &'a Disk,
    pub plan: &'a Plan,
    pub definitions: &'a [Definition],
    /// The table read from the disk (repaired and relocated in memory), unless the plan
    /// makes a new one. The new table is made from it in place (it is 20 KiB of entries).
    pub old: Option<Table>,
    /// `--discard=`.
    pub discard: bool,
    /// The disk is a file created by this run (`--empty=create`): it holds only zeros.
    pub fresh_file: bool,
    pub paths: &'a SystemPaths,
}

/// A swap signature to write at `offset`.
struct SwapHeader {
    slot: usize,
    offset: u64,
    page: Vec<u8>,
}

/// Writes the plan to the disk. Also used for a table that only needs repairing (a damaged
/// copy, a backup header that is not at the end): the plan then changes nothing else.
pub fn apply(r: Request) -> Result<()> {
    let disk = r.disk;
    let new = table::build(r.old, r.plan, disk.size())?;
    let erase = erase::erase_list(r.plan, disk.size(), r.discard, r.fresh_file);
    if let Some(range) = erase::check_protected(&erase, &erase::protected_extents(r.plan)) {
        return Err(Error::new(
            ErrorKind::Corrupt,
            format!(
                "refusing to erase bytes {}..{} of an existing partition (this is a bug)",
                range.offset,
                range.end()
            ),
        ));
    }
    let swaps = swap_headers(r.plan, r.definitions)?;
    let lba0 = if r.plan.new_table {
        None
    } else {
        let mut sector = vec![0u8; new.sector_size as usize];
        disk.read_exact_at(0, &mut sector)?;
        Some(sector)
    };
    let pieces = new.serialize(lba0.as_deref())?;
    let erased: Vec<Range> = erase
        .iter()
        .map(|e| match e {
            Erase::Zero { range, .. } | Erase::Discard { range, .. } => *range,
        })
        .collect();
    let kernel = kernel::prepare(disk, &new, r.paths, &erased)?;

    // v262 names the disk by its absolute path, whatever form the argument took.
    let node = std::path::absolute(disk.path()).unwrap_or_else(|_| disk.path().to_owned());
    info!("Applying changes to {}.", node.display());
    if let Some(k) = &kernel {
        k.remove_stale(disk)?;
    }
    let mut zeros = Vec::new();
    for (i, step) in erase.iter().enumerate() {
        match step {
            Erase::Zero { what, range } => {
                zero(disk, *range, &mut zeros, r.discard)?;
                disk.sync()?;
                debug!(
                    "Zeroed bytes {}..{} of {what} (signatures).",
                    range.offset,
                    range.end()
                );
                failpoint::reached(&format!("wipe-{i}"));
                if last_zero_step_of(&erase, i) {
                    log_wiped(*what);
                }
            }
            Erase::Discard { what, range } => {
                discard(disk, *what, *range)?;
                failpoint::reached(&format!("discard-{i}"));
            }
        }
    }
    for s in &swaps {
        info!("Formatting future partition {}.", s.slot);
        let name = format!("swap-{}", s.slot + 1);
        failpoint::write_step(disk, &name, s.offset, &s.page)?;
        info!("Successfully formatted future partition {}.", s.slot);
    }
    log_table_changes(r.plan);
    info!("Writing new partition table.");
    write_pieces(disk, "gpt", &pieces)?;
    if let Some(k) = &kernel {
        k.finish(disk)?;
    }
    info!("Partition table written.");
    Ok(())
}

/// Whether step `i` of `erase` zeroes the last region of the range it names.
fn last_zero_step_of(erase: &[Erase], i: usize) -> bool {
    let Some(Erase::Zero { what, .. }) = erase.get(i) else {
        return false;
    };
    !matches!(erase.get(i + 1), Some(Erase::Zero { what: next, .. }) if next == what)
}

/// v262's line for a range whose signatures are gone.
fn log_wiped(what: Region) {
    if what == Region::WholeDisk {
        info!("Wiped block device.");
    } else {
        info!("Successfully wiped file system signatures from {what}.");
    }
}

/// v262's lines for the entries the new table changes, in the plan's order, by 0-based slot
/// as its table shows them.
fn log_table_changes(plan: &Plan) {
    for p in plan.partitions.iter().filter(|p| p.is_written()) {
        let Some(slot) = p.slot else { continue };
        match p.activity {
            Activity::Resize if p.existing => info!("Growing existing partition {slot}."),
            Activity::Create => info!("Adding new partition {slot} to partition table."),
            _ => {}
        }
    }
}

/// Writes `table` back as it is, keeping LBA 0's boot code: for an image file that
/// `--size=` grew, whose table only moves its backup to the new end.
pub fn write_table(disk: &Disk, table: &Table) -> Result<()> {
    let mut lba0 = vec![0u8; table.sector_size as usize];
    disk.read_exact_at(0, &mut lba0)?;
    write_pieces(disk, "resize-gpt", &table.serialize(Some(&lba0))?)
}

/// Writes a table's pieces in their (UEFI) order, each synced, each a failpoint
/// `PREFIX-WHAT`.
fn write_pieces(disk: &Disk, prefix: &str, pieces: &[Piece]) -> Result<()> {
    for piece in pieces {
        let name = format!("{prefix}-{}", piece.what.replace(' ', "-"));
        failpoint::write_step(disk, &name, piece.offset, &piece.bytes)?;
    }
    Ok(())
}

/// Makes the kernel's partitions of `disk` match `table`, which is already on disk: for a
/// real run that has nothing to write. A run stopped after the table was written but before
/// the kernel was told (a crash, a killed unit) leaves them apart, and on a kernel without a
/// GPT parser nothing else would ever bring them together. Refuses, as [`apply`] does, to
/// delete or move a partition in use.
pub fn sync_kernel(disk: &Disk, table: &Table, paths: &SystemPaths) -> Result<()> {
    let Some(kernel) = kernel::prepare(disk, table, paths, &[])? else {
        return Ok(());
    };
    kernel.remove_stale(disk)?;
    kernel.finish(disk)
}

/// Makes `range` read as zeros: zeroed by the kernel when discarding is allowed (BLKZEROOUT
/// on a block device, a hole punched into an image file: writing megabytes of zeros per new
/// partition from here cost more than the rest of a run), otherwise zeros written from
/// `zeros` (`--discard=no` keeps the blocks allocated and written), which is allocated the
/// first time it is needed.
fn zero(disk: &Disk, range: Range, zeros: &mut Vec<u8>, discard: bool) -> Result<()> {
    if disk.zero_out(range.offset, range.len, discard)? {
        return Ok(());
    }
    if zeros.is_empty() {
        *zeros = vec![0u8; ZERO_CHUNK];
    }
    let mut at = range.offset;
    while at < range.end() {
        let n = (range.end() - at).min(zeros.len() as u64) as usize;
        disk.write_all_at(at, &zeros[..n])?;
        at += n as u64;
    }
    Ok(())
}

/// Discards `range`, logging what the storage made of it. Only a gap the kernel refuses as
/// busy is an error, as in systemd-repart.
fn discard(disk: &Disk, what: Region, range: Range) -> Result<()> {
    match disk.discard(range.offset, range.len)? {
        Discard::Done { .. } if what == Region::WholeDisk => {
            info!("Discarded entire block device.")
        }
        Discard::Done { .. } if what.discard_kind() == DiscardKind::Gap => {
            info!("Successfully discarded {what}.")
        }
        Discard::Done { .. } => info!("Successfully discarded data from {what}."),
        Discard::Skipped => debug!("{what} is too short for discard, skipping."),
        Discard::Unsupported => {
            info!("Storage does not support discard, not discarding data in {what}.")
        }
        Discard::Busy if what.discard_kind() == DiscardKind::Partition => {
            info!("Block device is busy, not discarding {what} because it probably is mounted.")
        }
        Discard::Busy => {
            return Err(Error::new(
                ErrorKind::Busy,
                format!(
                    "discarding {what} (bytes {}..{}) of {}: the device is busy",
                    range.offset,
                    range.end(),
                    disk.path().display()
                ),
            ));
        }
    }
    Ok(())
}

/// The swap signatures of new `Format=swap` partitions.
fn swap_headers(plan: &Plan, definitions: &[Definition]) -> Result<Vec<SwapHeader>> {
    let page_size = rustix::param::page_size();
    let mut headers = Vec::new();
    for p in &plan.partitions {
        if p.existing || p.dropped || p.deferred || p.activity != Activity::Create {
            continue;
        }
        let (Some(slot), Some(d)) = (p.slot, p.definition.and_then(|i| definitions.get(i))) else {
            continue;
        };
        if d.format.as_deref() != Some("swap") {
            continue;
        }
        let uuid = file_system_uuid(p.uuid);
        let page = swap::header(p.new_size, page_size, uuid, &p.label)
            .map_err(|e| e.context(d.display_path.clone()))?;
        headers.push(SwapHeader {
            slot,
            offset: p.offset,
            page,
        });
    }
    Ok(headers)
}
