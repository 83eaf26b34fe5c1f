//! Where the parser reads from: a tiny positioned-read trait, so parsing stays pure and is
//! tested on memory; the `disk` module implements it for real devices.

use crate::error::{Error, ErrorKind, Result};

/// Positioned reads of a whole buffer. A read that cannot be satisfied completely (past the
/// end, or a failed system call) is an error, never a short read.
pub trait ReadAt {
    /// Fills `buf` with the bytes starting at byte `offset`.
    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()>;
}

impl ReadAt for &[u8] {
    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let bytes: &[u8] = self;
        let found = usize::try_from(offset)
            .ok()
            .and_then(|start| Some(start..start.checked_add(buf.len())?))
            .and_then(|range| bytes.get(range));
        match found {
            Some(src) => {
                buf.copy_from_slice(src);
                Ok(())
            }
            None => Err(past_end(offset, buf.len(), bytes.len() as u64)),
        }
    }
}

/// A sparse disk in memory: `size` bytes that read as zero except where something was written.
/// Used by tests, the fuzzer and dry-run checks to apply [`Piece`](super::Piece)s and read the
/// result back. Memory grows with what is written, not with the disk size.
#[derive(Clone, Debug, Default)]
pub struct MemDisk {
    size: u64,
    /// Written extents, oldest first; later ones win where they overlap.
    extents: Vec<(u64, Vec<u8>)>,
}

impl MemDisk {
    /// An all-zero disk of `size` bytes.
    pub fn new(size: u64) -> MemDisk {
        MemDisk {
            size,
            extents: Vec::new(),
        }
    }

    /// The disk size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Writes `bytes` at byte `offset`; an error if that reaches past the end of the disk.
    pub fn write_at(&mut self, offset: u64, bytes: &[u8]) -> Result<()> {
        match offset.checked_add(bytes.len() as u64) {
            Some(end) if end <= self.size => {
                self.extents.push((offset, bytes.to_vec()));
                Ok(())
            }
            _ => Err(past_end(offset, bytes.len(), self.size)),
        }
    }

    /// Writes each piece, in order, as the `apply` step would.
    pub fn write_pieces(&mut self, pieces: &[super::Piece]) -> Result<()> {
        pieces
            .iter()
            .try_for_each(|piece| self.write_at(piece.offset, &piece.bytes))
    }
}

impl ReadAt for MemDisk {
    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let end = match offset.checked_add(buf.len() as u64) {
            Some(end) if end <= self.size => end,
            _ => return Err(past_end(offset, buf.len(), self.size)),
        };
        buf.fill(0);
        for (start, data) in &self.extents {
            let data_end = start + data.len() as u64;
            let from = offset.max(*start);
            let to = end.min(data_end);
            if from < to {
                // All four values lie inside `buf` or `data`, whose lengths are usize.
                let dst = (from - offset) as usize..(to - offset) as usize;
                let src = (from - start) as usize..(to - start) as usize;
                if let (Some(d), Some(s)) = (buf.get_mut(dst), data.get(src)) {
                    d.copy_from_slice(s);
                }
            }
        }
        Ok(())
    }
}

impl<T: ReadAt + ?Sized> ReadAt for &mut T {
    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        (**self).read_exact_at(offset, buf)
    }
}

fn past_end(offset: u64, len: usize, size: u64) -> Error {
    Error::new(
        ErrorKind::Io,
        format!(
            "reading {len} bytes at byte offset {offset}: past the end of the disk ({size} bytes)"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_refuse_reads_past_the_end() {
        let mut disk: &[u8] = &[1, 2, 3, 4];
        let mut buf = [0u8; 2];
        disk.read_exact_at(2, &mut buf).unwrap();
        assert_eq!(buf, [3, 4]);
        let err = disk.read_exact_at(3, &mut buf).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io);
        assert!(err.to_string().contains("byte offset 3"), "{err}");
        assert!(disk.read_exact_at(u64::MAX, &mut buf).is_err());
    }

    #[test]
    fn mem_disk_overlays_writes_in_order() {
        let mut disk = MemDisk::new(16);
        disk.write_at(2, &[1, 1, 1, 1]).unwrap();
        disk.write_at(4, &[2, 2]).unwrap();
        let mut buf = [9u8; 8];
        disk.read_exact_at(0, &mut buf).unwrap();
        assert_eq!(buf, [0, 0, 1, 1, 2, 2, 0, 0]);
        assert!(disk.write_at(15, &[0, 0]).is_err());
        assert!(disk.read_exact_at(u64::MAX - 1, &mut buf).is_err());
        assert!(disk.read_exact_at(9, &mut buf).is_err());
    }
}
