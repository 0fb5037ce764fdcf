//! A text column chunk's dictionary: its distinct values in order of
//! first appearance and an index from value to entry.

/// A text column chunk's distinct values in order of first appearance, as
/// the plain dictionary page holds them, with an open-addressing index.
#[derive(Default)]
pub(super) struct Dictionary {
    /// The dictionary page: each entry's length (u32 LE), then its bytes.
    pub(super) plain: Vec<u8>,
    /// Each entry's bytes in `plain`.
    entries: Vec<(u32, u32)>,
    /// Entry index + 1 per slot, valid where the slot's stamp is `stamp`
    /// (clearing is a new stamp, not a pass over the table).
    slots: Vec<(u32, u32)>,
    stamp: u32,
}

impl Dictionary {
    pub(super) fn clear(&mut self) {
        self.plain.clear();
        self.entries.clear();
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.slots.iter_mut().for_each(|s| *s = (0, 0));
            self.stamp = 1;
        }
        if self.slots.is_empty() {
            self.slots = vec![(0, 0); 1024];
        }
    }

    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The index of `value`, added if new (and whether it was).
    pub(super) fn insert(&mut self, value: &[u8]) -> (u32, bool) {
        let mask = self.slots.len() - 1;
        let mut slot = hash(value) as usize & mask;
        loop {
            let (stamp, entry) = self.slots[slot];
            if stamp != self.stamp {
                break;
            }
            let (start, end) = self.entries[entry as usize - 1];
            if same(&self.plain[start as usize..end as usize], value) {
                return (entry - 1, false);
            }
            slot = (slot + 1) & mask;
        }
        let index = self.entries.len() as u32;
        self.plain
            .extend_from_slice(&(value.len() as u32).to_le_bytes());
        let start = self.plain.len() as u32;
        self.plain.extend_from_slice(value);
        self.entries.push((start, self.plain.len() as u32));
        self.slots[slot] = (self.stamp, index + 1);
        if self.entries.len() * 2 > self.slots.len() {
            self.grow();
        }
        (index, true)
    }

    /// Doubles the table and places every entry again.
    fn grow(&mut self) {
        let size = self.slots.len() * 2;
        self.slots.clear();
        self.slots.resize(size, (0, 0));
        let mask = size - 1;
        for (index, &(start, end)) in self.entries.iter().enumerate() {
            let mut slot = hash(&self.plain[start as usize..end as usize]) as usize & mask;
            while self.slots[slot].0 == self.stamp {
                slot = (slot + 1) & mask;
            }
            self.slots[slot] = (self.stamp, index as u32 + 1);
        }
    }
}

/// A hash of text (FxHash's step, then a final mix so that the low bits,
/// which pick the slot, depend on every byte). Text of up to 16 bytes (most
/// dictionary values: accessions, family names) takes no loop: a loop
/// iteration costs an epoch check in the component.
fn hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let (first, last) = ends(bytes);
    let mut h = (bytes.len() as u64).wrapping_mul(K) ^ first;
    h = (h.rotate_left(5) ^ last).wrapping_mul(K);
    if bytes.len() > 16 {
        for word in bytes[8..bytes.len() - 8].chunks(8) {
            let mut w = [0u8; 8];
            w[..word.len()].copy_from_slice(word);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
    }
    h ^ (h >> 29)
}

/// Whether two texts are equal; up to 16 bytes without a loop.
#[inline(always)]
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && (a.len() > 16 && a == b || a.len() <= 16 && ends(a) == ends(b))
}

/// Words that hold every byte of a text of up to 16 bytes: its first and
/// last eight (overlapping below 16; for shorter text, halves of four, or
/// its first, middle and last byte).
#[inline(always)]
fn ends(bytes: &[u8]) -> (u64, u64) {
    let n = bytes.len();
    let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    let half = |at: usize| {
        u64::from(u32::from_le_bytes(
            bytes[at..at + 4].try_into().expect("4 bytes"),
        ))
    };
    match n {
        8.. => (word(0), word(n - 8)),
        4..=7 => (half(0) | half(n - 4) << 32, 0),
        1..=3 => (
            u64::from(bytes[0]) | u64::from(bytes[n / 2]) << 8 | u64::from(bytes[n - 1]) << 16,
            0,
        ),
        0 => (0, 0),
    }
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
        dictionary.clear();
        let values: Vec<String> = (0..3000).map(|i| format!("value {}", i % 1700)).collect();
        for (i, value) in values.iter().enumerate() {
            let (index, new) = dictionary.insert(value.as_bytes());
            assert_eq!(index as usize, i % 1700);
            assert_eq!(new, i < 1700);
        }
        // A new chunk starts empty, with the grown table.
        dictionary.clear();
        assert_eq!(dictionary.insert(b"value 5"), (0, true));
        assert_eq!(dictionary.len(), 1);
        assert_eq!(&dictionary.plain[..], b"\x07\0\0\0value 5");
    }
}
