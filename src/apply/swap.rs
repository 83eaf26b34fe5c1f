//! The swap signature `mkswap` writes, for `Format=swap` (implied for `Type=swap` by v262).
//! Pure: the caller writes the page at the start of the partition.

use uuid::Uuid;

use crate::error::{Error, ErrorKind, Result};

const MAGIC: &[u8; 10] = b"SWAPSPACE2";
/// Where the version-1 header starts: after the space kept for boot loaders and disk labels.
const INFO_OFFSET: usize = 1024;
/// Bytes of the volume name field.
const LABEL_BYTES: usize = 16;
/// mkswap refuses smaller swap areas (10 pages).
const MIN_PAGES: u64 = 10;

/// The first page of a swap area of `size` bytes with `uuid` and `label`, as `mkswap -U uuid
/// -L label` writes it for a page size of `page_size`: version 1, last page, no bad pages,
/// the UUID, the label (truncated to 16 bytes, as mkswap does) and the magic at the end.
pub fn header(size: u64, page_size: usize, uuid: Uuid, label: &str) -> Result<Vec<u8>> {
    let pages = size / page_size as u64;
    if pages < MIN_PAGES || page_size < INFO_OFFSET + 64 + MAGIC.len() {
        return Err(Error::new(
            ErrorKind::Config,
            format!(
                "a swap partition of {size} bytes is too small: mkswap needs at least {} bytes",
                MIN_PAGES * page_size as u64
            ),
        ));
    }
    let last_page = u32::try_from(pages - 1).unwrap_or(u32::MAX);
    let mut page = vec![0u8; page_size];
    page[INFO_OFFSET..INFO_OFFSET + 4].copy_from_slice(&1u32.to_le_bytes());
    page[INFO_OFFSET + 4..INFO_OFFSET + 8].copy_from_slice(&last_page.to_le_bytes());
    page[INFO_OFFSET + 12..INFO_OFFSET + 28].copy_from_slice(uuid.as_bytes());
    let label = label.as_bytes();
    let n = label.len().min(LABEL_BYTES);
    page[INFO_OFFSET + 28..INFO_OFFSET + 28 + n].copy_from_slice(&label[..n]);
    page[page_size - MAGIC.len()..].copy_from_slice(MAGIC);
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes `mkswap -L swap -U bfaada97-c30b-4319-ba0b-45e6fcd45b99` (util-linux 2.38)
    /// wrote on a 10 MiB file: everything else in the page is zero.
    #[test]
    fn matches_mkswap() {
        let uuid = Uuid::parse_str("bfaada97-c30b-4319-ba0b-45e6fcd45b99").unwrap();
        let page = header(10 << 20, 4096, uuid, "swap").unwrap();
        let mut want = vec![0u8; 4096];
        want[0x400..0x420].copy_from_slice(&[
            0x01, 0x00, 0x00, 0x00, 0xff, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xbf, 0xaa,
            0xda, 0x97, 0xc3, 0x0b, 0x43, 0x19, 0xba, 0x0b, 0x45, 0xe6, 0xfc, 0xd4, 0x5b, 0x99,
            b's', b'w', b'a', b'p',
        ]);
        want[0xff6..].copy_from_slice(b"SWAPSPACE2");
        assert_eq!(page, want);
    }

    #[test]
    fn refuses_tiny_areas() {
        assert!(header(36 << 10, 4096, Uuid::nil(), "swap").is_err());
        assert!(header(40 << 10, 4096, Uuid::nil(), "").is_ok());
    }
}
