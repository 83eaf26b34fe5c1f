//! The GPT engine, pure: bytes in, typed values out.
//!
//! [`read`] takes anything that implements [`ReadAt`] and returns a [`Probe`]: no table, or a
//! [`Loaded`] table already repaired in memory (damaged copy replaced by the other one, backup
//! moved to the end of a grown disk) with notices for the user. [`Table::new`] makes a table
//! for an empty disk as libfdisk does. [`Table::serialize`] returns the five writes of a table
//! in UEFI order, for the caller to write and sync one by one.
//!
//! Nothing here panics, loops or allocates without bound on any input: the entry array is at
//! most [`MAX_ENTRY_ARRAY_BYTES`], every sector number is checked against the disk before it
//! is used, and arithmetic on stored values is checked.
//!
//! GUIDs are [`uuid::Uuid`] in textual (RFC 4122) order; they are mixed-endian only on disk.
//!
//! Where this differs from libfdisk (systemd-repart 262), on purpose:
//! * a valid GPT behind an LBA 0 without the 0x55AA signature is read (with a notice, and
//!   the protective MBR is rewritten); libfdisk reports no GPT, and `--empty=allow` would
//!   then replace the table;
//! * a GPT for the other sector size is an error that says so; v262 given the wrong
//!   `--sector-size=` reports "no GPT disk label" (without the option it probes image files
//!   for either size, which [`detect_sector_size`] offers);
//! * overlapping partitions, partitions outside the usable range and duplicate unique GUIDs
//!   are errors; libfdisk lets them be;
//! * a failed read is an error, not a reason to fall back on the other copy.

mod entry;
mod header;
mod layout;
mod mbr;
mod read;
mod source;
mod table;
mod write;

pub use entry::{Entry, NAME_UNITS};
pub use layout::MAX_ENTRY_ARRAY_BYTES;
pub use mbr::MbrKind;
pub use read::{Loaded, Probe, detect_sector_size, read};
pub use source::{MemDisk, ReadAt};
pub use table::Table;
pub use write::Piece;

#[cfg(test)]
mod tests;
