//! Partition entries (UEFI layout): one slot of the entry array.

use uuid::Uuid;

/// Code units in an entry name.
pub const NAME_UNITS: usize = 36;
/// The bytes of an entry defined by UEFI; larger entries carry extra bytes after them.
const DEFINED: usize = 128;

/// One slot of the entry array. A slot whose type GUID is nil is unused, but it keeps its
/// bytes and its place: partition number = slot index + 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The partition type, in textual (RFC 4122) order; mixed-endian only on disk.
    pub type_guid: Uuid,
    /// The partition's own GUID, in textual order.
    pub unique_guid: Uuid,
    /// First sector of the partition.
    pub first_lba: u64,
    /// Last sector of the partition (inclusive).
    pub last_lba: u64,
    /// Attribute bits (bit 63 no-auto, 60 read-only, 59 grow-fs, 0..2 UEFI's own).
    pub attributes: u64,
    /// The name as stored: UTF-16LE code units, zero-padded, not necessarily valid UTF-16.
    pub name: [u16; NAME_UNITS],
    /// Bytes after the first 128 when the table's entry size is larger, kept verbatim. May be
    /// shorter than that (new entries leave it empty): the missing bytes are written as zero.
    pub tail: Vec<u8>,
}

impl Default for Entry {
    /// An unused slot: all zero.
    fn default() -> Entry {
        Entry {
            type_guid: Uuid::nil(),
            unique_guid: Uuid::nil(),
            first_lba: 0,
            last_lba: 0,
            attributes: 0,
            name: [0; NAME_UNITS],
            tail: Vec::new(),
        }
    }
}

impl Entry {
    /// Whether the slot holds a partition (its type GUID is not nil).
    pub fn is_used(&self) -> bool {
        !self.type_guid.is_nil()
    }

    /// The name up to its first NUL, with invalid UTF-16 replaced by U+FFFD.
    pub fn name_lossy(&self) -> String {
        let len = self
            .name
            .iter()
            .position(|&unit| unit == 0)
            .unwrap_or(NAME_UNITS);
        String::from_utf16_lossy(&self.name[..len])
    }

    /// The stored form of `s`, zero-padded; `None` if it needs more than 36 code units.
    pub fn encode_name(s: &str) -> Option<[u16; NAME_UNITS]> {
        let mut name = [0u16; NAME_UNITS];
        let mut units = s.encode_utf16();
        for slot in name.iter_mut() {
            match units.next() {
                Some(unit) => *slot = unit,
                None => return Some(name),
            }
        }
        units.next().is_none().then_some(name)
    }

    /// Decodes one slot of `entry_size` bytes (`bytes.len()`, at least 128).
    pub(crate) fn decode(bytes: &[u8]) -> Entry {
        let mut raw = [0u8; DEFINED];
        let defined = bytes.len().min(DEFINED);
        raw[..defined].copy_from_slice(&bytes[..defined]);
        let guid = |at: usize| {
            let mut b = [0u8; 16];
            b.copy_from_slice(&raw[at..at + 16]);
            Uuid::from_bytes_le(b)
        };
        let word = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&raw[at..at + 8]);
            u64::from_le_bytes(b)
        };
        let mut name = [0u16; NAME_UNITS];
        for (i, unit) in name.iter_mut().enumerate() {
            *unit = u16::from_le_bytes([raw[56 + 2 * i], raw[57 + 2 * i]]);
        }
        Entry {
            type_guid: guid(0),
            unique_guid: guid(16),
            first_lba: word(32),
            last_lba: word(40),
            attributes: word(48),
            name,
            tail: bytes.get(DEFINED..).unwrap_or_default().to_vec(),
        }
    }

    /// Encodes the entry into `slot` (the table's entry size, at least 128 bytes), which must
    /// be zero; a tail longer than the slot allows is cut (the table check refuses it first).
    pub(crate) fn encode_into(&self, slot: &mut [u8]) {
        let mut raw = [0u8; DEFINED];
        raw[0..16].copy_from_slice(&self.type_guid.to_bytes_le());
        raw[16..32].copy_from_slice(&self.unique_guid.to_bytes_le());
        raw[32..40].copy_from_slice(&self.first_lba.to_le_bytes());
        raw[40..48].copy_from_slice(&self.last_lba.to_le_bytes());
        raw[48..56].copy_from_slice(&self.attributes.to_le_bytes());
        for (i, unit) in self.name.iter().enumerate() {
            raw[56 + 2 * i..58 + 2 * i].copy_from_slice(&unit.to_le_bytes());
        }
        let defined = slot.len().min(DEFINED);
        slot[..defined].copy_from_slice(&raw[..defined]);
        if let Some(rest) = slot.get_mut(DEFINED..) {
            let n = rest.len().min(self.tail.len());
            rest[..n].copy_from_slice(&self.tail[..n]);
        }
    }
}

/// Decodes an entry array of `entry_size`-byte slots (the caller bounds its size).
pub(crate) fn decode_array(bytes: &[u8], entry_size: usize) -> Vec<Entry> {
    bytes
        .chunks_exact(entry_size.max(DEFINED))
        .map(Entry::decode)
        .collect()
}

/// Encodes `entries` into an array of `entry_size`-byte slots.
pub(crate) fn encode_array(entries: &[Entry], entry_size: usize) -> Vec<u8> {
    let entry_size = entry_size.max(DEFINED);
    let mut bytes = vec![0u8; entries.len() * entry_size];
    for (entry, slot) in entries.iter().zip(bytes.chunks_exact_mut(entry_size)) {
        entry.encode_into(slot);
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_bounded() {
        let name = Entry::encode_name("données-🦀").unwrap();
        let entry = Entry {
            name,
            ..Entry::default()
        };
        assert_eq!(entry.name_lossy(), "données-🦀");
        // The crab is a surrogate pair: two code units.
        assert_eq!(name.iter().position(|&u| u == 0), Some(10));
        assert!(Entry::encode_name(&"x".repeat(36)).is_some());
        assert!(Entry::encode_name(&"x".repeat(37)).is_none());
        assert!(Entry::encode_name(&format!("{}🦀", "x".repeat(35))).is_none());
        let full = Entry {
            name: Entry::encode_name(&"y".repeat(36)).unwrap(),
            ..Entry::default()
        };
        assert_eq!(full.name_lossy(), "y".repeat(36));
        let broken = Entry {
            name: [0xD800; NAME_UNITS],
            ..Entry::default()
        };
        assert!(broken.name_lossy().starts_with('\u{FFFD}'));
    }

    #[test]
    fn guids_are_mixed_endian_on_disk() {
        // The Linux filesystem type as stored on disk.
        let mut slot = [0u8; 128];
        slot[..16].copy_from_slice(&[
            0xAF, 0x3D, 0xC6, 0x0F, 0x83, 0x84, 0x72, 0x47, 0x8E, 0x79, 0x3D, 0x69, 0xD8, 0x47,
            0x7D, 0xE4,
        ]);
        slot[32] = 0x00;
        slot[33] = 0x08;
        slot[48 + 7] = 0x80;
        let entry = Entry::decode(&slot);
        assert_eq!(
            entry.type_guid.to_string(),
            "0fc63daf-8483-4772-8e79-3d69d8477de4"
        );
        assert!(entry.is_used());
        assert_eq!(entry.first_lba, 2048);
        assert_eq!(entry.attributes, 1 << 63);
        let mut again = [0u8; 128];
        entry.encode_into(&mut again);
        assert_eq!(again, slot);
    }

    #[test]
    fn large_entries_keep_their_tail() {
        let mut array = vec![0u8; 2 * 256];
        for (i, b) in array.iter_mut().enumerate() {
            *b = i as u8;
        }
        let entries = decode_array(&array, 256);
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].tail.len(), 128);
        assert_eq!(encode_array(&entries, 256), array);
        // A short tail is zero-padded.
        let short = Entry {
            tail: vec![7],
            ..Entry::default()
        };
        let bytes = encode_array(&[short], 256);
        assert_eq!(bytes[128], 7);
        assert!(bytes[129..].iter().all(|&b| b == 0));
    }
}
