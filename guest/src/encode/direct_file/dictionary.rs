//! A text column chunk's dictionary: its distinct values in order of
//! first appearance and an index from value to entry.

use crate::scan::{ends, extend_short, same, word_at};

/// A text column chunk's distinct values in order of first appearance, as
/// the plain dictionary page holds them, with an open-addressing index.
#[derive(Default)]
pub(super) struct Dictionary {
    /// The dictionary page: each entry's length (u32 LE), then its bytes.
    pub(super) plain: Vec<u8>,
    entries: usize,
    /// Per slot, its entry's index + 1 (0: empty) and where the entry's
    /// bytes start in `plain` (its length just before them): a lookup
    /// reads the slot and then `plain`, two places in memory.
    slots: Vec<(u32, u32)>,
}

impl Dictionary {
    /// Empties the dictionary for a chunk of `values` values: a table of at
    /// least twice that many slots, so that it never grows during the
    /// chunk and a small chunk's table stays small (in cache).
    pub(super) fn clear(&mut self, values: usize) {
        self.plain.clear();
        self.entries = 0;
        let size = (2 * values).next_power_of_two().max(16);
        self.slots.clear();
        self.slots.resize(size, (0, 0));
    }

    pub(super) fn len(&self) -> usize {
        self.entries
    }

    /// The index of `value`, added if new (and whether it was).
    pub(super) fn insert(&mut self, value: &[u8]) -> (u32, bool) {
        let mask = self.slots.len() - 1;
        let mut slot = hash(value) as usize & mask;
        loop {
            let (entry, start) = self.slots[slot];
            if entry == 0 {
                break;
            }
            if same(self.entry_at(start), value) {
                return (entry - 1, false);
            }
            slot = (slot + 1) & mask;
        }
        let index = self.entries as u32;
        self.entries += 1;
        self.plain
            .extend_from_slice(&(value.len() as u32).to_le_bytes());
        let start = self.plain.len() as u32;
        extend_short(&mut self.plain, value);
        self.slots[slot] = (index + 1, start);
        if self.entries * 2 > self.slots.len() {
            self.grow();
        }
        (index, true)
    }

    /// The bytes of the entry starting at `start` in `plain` (its length
    /// is the four bytes before).
    fn entry_at(&self, start: u32) -> &[u8] {
        let start = start as usize;
        let len = u32::from_le_bytes(self.plain[start - 4..start].try_into().expect("4 bytes"));
        &self.plain[start..start + len as usize]
    }

    /// Doubles the table and places every entry again (only when a chunk
    /// holds more values than [`Dictionary::clear`] was told).
    fn grow(&mut self) {
        let old = std::mem::take(&mut self.slots);
        self.slots.resize(old.len() * 2, (0, 0));
        let mask = self.slots.len() - 1;
        for (entry, start) in old.into_iter().filter(|s| s.0 != 0) {
            let mut slot = hash(self.entry_at(start)) as usize & mask;
            while self.slots[slot].0 != 0 {
                slot = (slot + 1) & mask;
            }
            self.slots[slot] = (entry, start);
        }
    }
}

/// A hash of text (FxHash's step, then a final mix so that the low bits,
/// which pick the slot, depend on every byte). Text of up to 32 bytes (most
/// dictionary values: accessions, family names, coverage strings) takes no
/// loop: a loop iteration costs an epoch check in the component.
fn hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let (first, last) = ends(bytes);
    let mut h = (bytes.len() as u64).wrapping_mul(K) ^ first;
    h = (h.rotate_left(5) ^ last).wrapping_mul(K);
    if (17..=32).contains(&bytes.len()) {
        // Coverage strings (25 bytes): the middle words, still no loop.
        let n = bytes.len();
        h = (h.rotate_left(5) ^ word_at(bytes, 8)).wrapping_mul(K);
        h = (h.rotate_left(5) ^ word_at(bytes, n - 16)).wrapping_mul(K);
    } else if bytes.len() > 32 {
        for word in bytes[8..bytes.len() - 8].chunks(8) {
            let mut w = [0u8; 8];
            w[..word.len()].copy_from_slice(word);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
    }
    h ^ (h >> 29)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Texts of every length up to 40 differing from each other in one byte
    /// at every position: `same` agrees with `==`, and equal texts hash alike.
    #[test]
    fn same_and_hash_agree_with_equality() {
        for len in 0..=40 {
            let base: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(same(&base, &base.clone()));
            assert_eq!(hash(&base), hash(&base.clone()));
            for at in 0..len {
                let mut other = base.clone();
                other[at] = b'#';
                assert!(!same(&base, &other), "{len} bytes, differing at {at}");
                assert_ne!(hash(&base), hash(&other), "{len} bytes, differing at {at}");
            }
            let longer = [&base[..], b"x"].concat();
            assert!(!same(&base, &longer));
        }
    }

    #[test]
    fn dictionary_indexes_in_order_of_first_appearance() {
        let mut dictionary = Dictionary::default();
        // Told of fewer values than it gets: it grows, in the same order.
        dictionary.clear(100);
        let values: Vec<String> = (0..3000).map(|i| format!("value {}", i % 1700)).collect();
        for (i, value) in values.iter().enumerate() {
            let (index, new) = dictionary.insert(value.as_bytes());
            assert_eq!(index as usize, i % 1700);
            assert_eq!(new, i < 1700);
        }
        // A new chunk starts empty.
        dictionary.clear(1);
        assert_eq!(dictionary.insert(b"value 5"), (0, true));
        assert_eq!(dictionary.len(), 1);
        assert_eq!(&dictionary.plain[..], b"\x07\0\0\0value 5");
    }
}
