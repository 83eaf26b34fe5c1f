//! Reading a disk: classify LBA 0, load and check both GPT copies, pick one, repair in
//! memory what a write would repair (a damaged copy, a backup that is not at the end).

use super::entry;
use super::header::Header;
use super::mbr::{self, MbrKind};
use super::source::ReadAt;
use super::table::{Table, check_sector_size};
use crate::error::{Error, ErrorKind, Result};

/// What [`read`] found on a disk.
#[derive(Debug)]
pub enum Probe {
    /// No GPT: LBA 0 holds no MBR (`None`; the disk is empty as far as partition tables go)
    /// or a DOS partition table (`Plain`; callers must not write a GPT over it unless told to
    /// start from scratch).
    NoTable(MbrKind),
    /// A GPT, possibly repaired in memory.
    Gpt(Loaded),
}

/// A GPT read from a disk.
#[derive(Debug)]
pub struct Loaded {
    /// The table, already repaired in memory: built from the backup when the primary was
    /// damaged, and with the backup moved to the last LBA when the disk has grown.
    pub table: Table,
    /// What LBA 0 holds: `Protective`, `Hybrid` (see [`Loaded::ensure_rewritable`]) or `None`
    /// when the protective MBR is missing (it is written with the table).
    pub mbr: MbrKind,
    /// Things worth telling the user (damaged copy used, disk grown, ...), one sentence each.
    pub notices: Vec<String>,
    /// True when the table on disk differs from what [`Table::serialize`] writes for an
    /// unchanged table because of a repair (damaged copy, moved backup, missing protective
    /// MBR): writing it back is worthwhile even without other changes.
    pub needs_rewrite: bool,
}

impl Loaded {
    /// Refuses disks whose LBA 0 must not be replaced: a hybrid MBR carries MBR partitions
    /// that rewriting the protective MBR would drop.
    pub fn ensure_rewritable(&self) -> Result<()> {
        match self.mbr {
            MbrKind::Hybrid => Err(Error::new(
                ErrorKind::Unsupported,
                format!("LBA 0 holds {}; refusing to rewrite it", self.mbr),
            )),
            _ => Ok(()),
        }
    }
}

/// One GPT copy whose header and entry array passed their checks.
struct Copy {
    header: Header,
    /// The entry array; left empty for a backup compared with a valid primary (the table is
    /// then built from the primary).
    array: Vec<u8>,
    /// The entry array is the same as the valid primary's (only ever true for a backup).
    same_as_primary: bool,
}

/// Reads and validates both GPT copies of a disk of `disk_bytes` bytes with `sector_size`-byte
/// sectors (512 or 4096).
///
/// * A DOS MBR at LBA 0 gives `NoTable(Plain)`, whatever follows it (as libfdisk does).
/// * The backup is looked for at the primary's alternate LBA and at the last LBA. A damaged
///   copy is replaced by the other one (with a notice and `needs_rewrite`); two damaged
///   copies are [`ErrorKind::Corrupt`]. Two valid copies that disagree on the disk GUID,
///   usable range or entries are what a write interrupted between the backup and the primary
///   leaves: the primary wins (with a notice and `needs_rewrite`), as in firmware and the
///   kernel.
/// * A GPT written for the other sector size is [`ErrorKind::Corrupt`] with a message saying
///   so, not "no table".
/// * A protective or hybrid MBR without any GPT header is [`ErrorKind::Corrupt`].
/// * Overlapping partitions, partitions outside the usable range and duplicate unique GUIDs
///   are [`ErrorKind::Corrupt`], naming the partition numbers (see [`Table::validate`]).
/// * Failed reads are errors, never taken as a damaged copy.
///
/// Memory use is bounded by the entry array limit
/// ([`MAX_ENTRY_ARRAY_BYTES`](super::MAX_ENTRY_ARRAY_BYTES)), whatever the input.
pub fn read(src: &mut impl ReadAt, disk_bytes: u64, sector_size: u32) -> Result<Probe> {
    check_sector_size(sector_size)?;
    let disk_sectors = disk_bytes / u64::from(sector_size);
    if disk_sectors == 0 {
        return Ok(Probe::NoTable(MbrKind::None));
    }
    let mut lba0 = [0u8; MAX_SECTOR];
    let lba0 = read_sector(src, 0, sector_size, &mut lba0)?;
    let mbr = mbr::classify(lba0);
    if mbr == MbrKind::Plain {
        return Ok(Probe::NoTable(MbrKind::Plain));
    }
    let disk = Disk {
        sectors: disk_sectors,
        sector_size,
    };
    let mut notices = Vec::new();
    let mut needs_rewrite = false;

    let (primary_alternate, primary) = match disk.header(src, 1)? {
        Ok(header) => (Some(header.alternate_lba), disk.entries(src, header, None)?),
        Err(e) => (None, Err(e)),
    };
    // The backup: at the primary's alternate LBA if the primary header can be trusted
    // for that, then at the last LBA.
    let last = disk_sectors - 1;
    let at_end = (last > 1 && primary_alternate != Some(last)).then_some(last);
    let backup_lbas = [primary_alternate, at_end].into_iter().flatten();
    // While the primary is valid, the backup's entries are only compared with it (the
    // table is built from the primary), so they are checked as they are read and not kept.
    let primary_array = primary.as_ref().ok().map(|p| p.array.as_slice());
    let mut backup_errors = Vec::new();
    let mut backup = None;
    for lba in backup_lbas {
        let found = match disk.header(src, lba)? {
            Ok(header) => disk.entries(src, header, primary_array)?,
            Err(e) => Err(e),
        };
        match found {
            Ok(copy) => {
                backup = Some(copy);
                break;
            }
            Err(e) => backup_errors.push(e),
        }
    }
    let backup = backup.ok_or(backup_errors);

    let mut table = match (primary, backup) {
        (Ok(p), Ok(b)) => {
            // The UEFI write order puts the backup on disk before the primary, so a valid
            // primary next to a valid backup that says something else is what an interrupted
            // write leaves: the primary is the table from before it. Firmware and the kernel
            // use the primary too; a rerun then rewrites both copies.
            if let Some(difference) = difference(&p, &b) {
                notices.push(format!(
                    "The backup GPT at LBA {} differs from the primary ({difference}), as an \
                     interrupted write leaves it; the primary is used, and the backup will be \
                     rewritten.",
                    b.header.my_lba
                ));
                needs_rewrite = true;
                // The primary keeps its own idea of where its backup belongs: on a grown
                // disk that is the old end, so the relocation below raises the usable range
                // exactly as it did before the interrupted write.
                let alternate_lba = p.header.alternate_lba;
                let backup_entries_lba = alternate_lba
                    .checked_sub(disk.array_sectors(&p.header))
                    .unwrap_or(alternate_lba);
                drop(b);
                build(p, alternate_lba, backup_entries_lba, &disk)
            } else {
                if p.header.alternate_lba != b.header.my_lba {
                    notices.push(format!(
                        "The primary GPT header's alternate LBA {} does not point at the \
                         backup header, found at LBA {}; it will be corrected by the next \
                         write.",
                        p.header.alternate_lba, b.header.my_lba
                    ));
                    needs_rewrite = true;
                }
                if b.header.alternate_lba != 1 {
                    notices.push(format!(
                        "The backup GPT header at LBA {} gives alternate LBA {} instead of 1; \
                         it will be corrected by the next write.",
                        b.header.my_lba, b.header.alternate_lba
                    ));
                    needs_rewrite = true;
                }
                let backup_entries_lba = b.header.entries_lba;
                let alternate_lba = b.header.my_lba;
                drop(b);
                build(p, alternate_lba, backup_entries_lba, &disk)
            }
        }
        (Ok(p), Err(errors)) => {
            notices.push(format!(
                "The backup GPT is damaged or missing ({}); the primary is used, and the \
                 backup will be rewritten.",
                describe(&errors)
            ));
            needs_rewrite = true;
            let alternate_lba = p.header.alternate_lba;
            let backup_entries_lba = alternate_lba
                .checked_sub(disk.array_sectors(&p.header))
                .unwrap_or(alternate_lba);
            build(p, alternate_lba, backup_entries_lba, &disk)
        }
        (Err(error), Ok(b)) => {
            notices.push(format!(
                "The primary GPT is damaged ({error}); the backup at LBA {} is used, and the \
                 primary will be rewritten.",
                b.header.my_lba
            ));
            needs_rewrite = true;
            let alternate_lba = b.header.my_lba;
            let backup_entries_lba = b.header.entries_lba;
            let mut table = build(b, alternate_lba, backup_entries_lba, &disk);
            // As libfdisk does when it rebuilds the primary from the backup.
            table.entries_lba = 2;
            table
        }
        (Err(error), Err(errors)) => {
            let absent = error.kind() == ErrorKind::NoTable
                && errors.iter().all(|e| e.kind() == ErrorKind::NoTable);
            if !absent {
                return Err(Error::new(
                    ErrorKind::Corrupt,
                    format!(
                        "both GPT copies are damaged: primary: {error}; backup: {}",
                        describe(&errors)
                    ),
                ));
            }
            return no_gpt(src, disk_bytes, &disk, mbr);
        }
    };

    if table.alternate_lba != last {
        let (old_backup, old_last_usable) = (table.alternate_lba, table.last_usable_lba);
        table.relocate_backup(disk_sectors)?;
        notices.push(format!(
            "The backup GPT header at LBA {old_backup} is not at the end of the disk (LBA \
             {last}): the disk has grown. The backup moves to the end and the last usable LBA \
             from {old_last_usable} to {}.",
            table.last_usable_lba
        ));
        needs_rewrite = true;
    }
    match mbr {
        MbrKind::None => {
            notices
                .push("LBA 0 holds no protective MBR; one will be written with the table.".into());
            needs_rewrite = true;
        }
        _ => {
            let want = mbr::protective_size_for(disk_sectors);
            if let Some(size) = mbr::protective_size(lba0)
                && size != want
                && size != u32::MAX
            {
                // Left by a write interrupted before its last piece (or by another tool):
                // worth a rewrite, or nothing would ever correct it.
                notices.push(format!(
                    "The protective MBR covers {size} sectors instead of {want}; it will be \
                     corrected by the next write."
                ));
                needs_rewrite = true;
            }
        }
    }
    table.validate()?;
    Ok(Probe::Gpt(Loaded {
        table,
        mbr,
        notices,
        needs_rewrite,
    }))
}

/// Finds which sector size (512 or 4096, tried in this order) a GPT on the disk was written
/// for: the first one for which a valid header sits at LBA 1 or at the last LBA. `None` when
/// there is none. Only headers are checked, not entry arrays.
pub fn detect_sector_size(src: &mut impl ReadAt, disk_bytes: u64) -> Result<Option<u32>> {
    for sector_size in [512, 4096] {
        if has_valid_header(src, disk_bytes, sector_size)? {
            return Ok(Some(sector_size));
        }
    }
    Ok(None)
}

fn has_valid_header(src: &mut impl ReadAt, disk_bytes: u64, sector_size: u32) -> Result<bool> {
    let disk = Disk {
        sectors: disk_bytes / u64::from(sector_size),
        sector_size,
    };
    let last = disk.sectors.saturating_sub(1);
    for lba in [1, last] {
        if lba >= 1 && disk.header(src, lba)?.is_ok() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// No GPT signature at either place: explain why, or report no table.
fn no_gpt(src: &mut impl ReadAt, disk_bytes: u64, disk: &Disk, mbr: MbrKind) -> Result<Probe> {
    let other = if disk.sector_size == 512 { 4096 } else { 512 };
    if has_valid_header(src, disk_bytes, other)? {
        return Err(Error::new(
            ErrorKind::Corrupt,
            format!(
                "GPT for {other}-byte sectors found on a device with {}-byte sectors",
                disk.sector_size
            ),
        ));
    }
    match mbr {
        MbrKind::None => Ok(Probe::NoTable(MbrKind::None)),
        _ => Err(Error::new(
            ErrorKind::Corrupt,
            format!(
                "LBA 0 holds {mbr}, but there is no GPT header at LBA 1 or at the last LBA {}",
                disk.sectors - 1
            ),
        )),
    }
}

/// The geometry `read` works with.
struct Disk {
    sectors: u64,
    sector_size: u32,
}

impl Disk {
    fn array_sectors(&self, header: &Header) -> u64 {
        super::layout::sectors_for(header.entry_array_bytes(), self.sector_size)
    }

    /// The header at `lba`: the outer error is a failed read, the inner one a missing
    /// (`NoTable`) or invalid (`Corrupt`) header.
    fn header(&self, src: &mut impl ReadAt, lba: u64) -> Result<Result<Header>> {
        if lba >= self.sectors {
            return Ok(Err(Error::new(
                ErrorKind::NoTable,
                format!("GPT header at LBA {lba}: beyond the end of the disk"),
            )));
        }
        let mut sector = [0u8; MAX_SECTOR];
        let sector = read_sector(src, lba, self.sector_size, &mut sector)?;
        Ok(Header::parse(sector, lba, self.sectors, self.sector_size))
    }

    /// The entry array of a valid header, checked against its CRC as it is read in pieces
    /// through a buffer on the stack. Given `primary` (the valid primary's array: this is a
    /// backup), the bytes are only compared with it and not kept: a backup next to a valid
    /// primary is never built into the table, so it needs no allocation of its own (16 KiB,
    /// page faults and a mapping, on every run).
    fn entries(
        &self,
        src: &mut impl ReadAt,
        header: Header,
        primary: Option<&[u8]>,
    ) -> Result<Result<Copy>> {
        // Header::parse bounded the array to MAX_ENTRY_ARRAY_BYTES inside the disk.
        let len = header.entry_array_bytes() as usize;
        let offset = header.entries_lba * u64::from(self.sector_size);
        let mut chunk = [0u8; READ_CHUNK];
        let mut crc = crc32fast::Hasher::new();
        let mut array = Vec::with_capacity(if primary.is_some() { 0 } else { len });
        let mut same = primary.is_some_and(|p| p.len() == len);
        let mut at = 0;
        while at < len {
            let n = (len - at).min(READ_CHUNK);
            let piece = &mut chunk[..n];
            src.read_exact_at(offset + at as u64, piece).map_err(|e| {
                e.context(format!(
                    "reading the GPT entry array at LBA {}",
                    header.entries_lba
                ))
            })?;
            crc.update(piece);
            match primary {
                Some(p) => same = same && p.get(at..at + n).is_some_and(|p| same_bytes(p, piece)),
                None => array.extend_from_slice(piece),
            }
            at += n;
        }
        if let Err(e) = check_entries_crc(&header, crc.finalize()) {
            return Ok(Err(e));
        }
        Ok(Ok(Copy {
            header,
            array,
            same_as_primary: same,
        }))
    }
}

/// An entry array's CRC, as computed, against the one its header stores.
fn check_entries_crc(header: &Header, computed: u32) -> Result<()> {
    if computed == header.entries_crc {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Corrupt,
        format!(
            "GPT entry array at LBA {} (of the header at LBA {}): CRC mismatch (stored \
             {:#010x}, computed {computed:#010x})",
            header.entries_lba, header.my_lba, header.entries_crc
        ),
    ))
}

/// The pieces an entry array is read in.
const READ_CHUNK: usize = 4096;

/// The largest sector size [`check_sector_size`] lets through.
const MAX_SECTOR: usize = 4096;

/// Reads sector `lba` into `buf` (on the caller's stack: a run reads a handful of single
/// sectors, each of which would otherwise be an allocation of its own). `sector_size` passed
/// [`check_sector_size`], so it fits.
fn read_sector<'b>(
    src: &mut impl ReadAt,
    lba: u64,
    sector_size: u32,
    buf: &'b mut [u8; MAX_SECTOR],
) -> Result<&'b [u8]> {
    let sector = &mut buf[..(sector_size as usize).min(MAX_SECTOR)];
    // Callers only ask for sectors inside the disk, whose size in bytes fits in 64 bits.
    src.read_exact_at(lba * u64::from(sector_size), sector)
        .map_err(|e| e.context(format!("reading LBA {lba}")))?;
    Ok(sector)
}

/// Two valid copies must describe the same table.
/// How two valid copies differ in content, if they do.
fn difference(p: &Copy, b: &Copy) -> Option<String> {
    let (ph, bh) = (&p.header, &b.header);
    let mut differences = Vec::new();
    if ph.disk_guid != bh.disk_guid {
        differences.push(format!("disk GUID {} vs {}", ph.disk_guid, bh.disk_guid));
    }
    if (ph.first_usable_lba, ph.last_usable_lba) != (bh.first_usable_lba, bh.last_usable_lba) {
        differences.push(format!(
            "usable range LBA {}..={} vs {}..={}",
            ph.first_usable_lba, ph.last_usable_lba, bh.first_usable_lba, bh.last_usable_lba
        ));
    }
    if (ph.entry_count, ph.entry_size) != (bh.entry_count, bh.entry_size) {
        differences.push(format!(
            "{} entries of {} bytes vs {} of {}",
            ph.entry_count, ph.entry_size, bh.entry_count, bh.entry_size
        ));
    } else if !b.same_as_primary {
        differences.push("partition entries".into());
    }
    (!differences.is_empty()).then(|| differences.join(", "))
}

/// Whether `a` and `b` hold the same bytes, compared eight at a time. Slice equality calls
/// `memcmp`, which musl does a byte at a time: comparing two 16 KiB entry arrays that way was
/// an eighth of a whole run's instructions.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let (words_a, words_b) = (a.chunks_exact(8), b.chunks_exact(8));
    a.len() == b.len()
        && words_a.remainder() == words_b.remainder()
        && words_a.zip(words_b).all(|(x, y)| word(x) == word(y))
}

/// Eight bytes as one integer (`chunks_exact(8)` hands out only eight-byte slices).
fn word(bytes: &[u8]) -> u64 {
    bytes.try_into().map_or(0, u64::from_ne_bytes)
}

/// The table of a valid copy, with the backup where the caller says it is.
fn build(copy: Copy, alternate_lba: u64, backup_entries_lba: u64, disk: &Disk) -> Table {
    let Copy { header, array, .. } = copy;
    let entries = entry::decode_array(&array, header.entry_size as usize);
    Table {
        sector_size: disk.sector_size,
        disk_guid: header.disk_guid,
        first_usable_lba: header.first_usable_lba,
        last_usable_lba: header.last_usable_lba,
        entry_size: header.entry_size,
        entries_lba: header.entries_lba,
        alternate_lba,
        backup_entries_lba,
        header_extra: header.extra,
        entries,
    }
}

fn describe(errors: &[Error]) -> String {
    if errors.is_empty() {
        return "the disk has no room for it".into();
    }
    let parts: Vec<String> = errors.iter().map(Error::to_string).collect();
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::same_bytes;

    #[test]
    fn same_bytes_sees_every_byte() {
        let a: Vec<u8> = (0..=255u8).cycle().take(16 * 1024 + 3).collect();
        assert!(same_bytes(&a, &a.clone()));
        for at in [0, 7, 8, 4095, 16 * 1024, 16 * 1024 + 2] {
            let mut b = a.clone();
            b[at] ^= 0x40;
            assert!(!same_bytes(&a, &b), "byte {at}");
        }
        assert!(!same_bytes(&a, &a[..a.len() - 1]));
        assert!(same_bytes(&[], &[]));
    }
}
