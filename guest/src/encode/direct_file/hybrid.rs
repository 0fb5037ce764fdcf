//! Parquet's RLE/bit-packed hybrid encoding, byte for byte as parquet-rs
//! writes it: definition levels and dictionary indices.

/// parquet-rs' bound on the bytes of `values` indices of `width` bits in
/// its RLE/bit-packed hybrid (`RleEncoder::max_buffer_size`): what it
/// compares with the page limit.
pub(super) fn rle_max_bytes(width: u8, values: usize) -> usize {
    let runs = values.div_ceil(8);
    let bit_packed = runs + runs * usize::from(width);
    let rle = runs * (1 + usize::from(width).div_ceil(8));
    bit_packed.max(rle)
}

/// Appends a v1 page's definition levels (1 present, 0 null): their length
/// in bytes, then the levels as the RLE/bit-packed hybrid. Returns the nulls.
pub(super) fn push_levels(page: &mut Vec<u8>, levels: impl Iterator<Item = u32>) -> usize {
    let start = page.len();
    page.extend_from_slice(&[0; 4]);
    let mut nulls = 0;
    let mut encoder = HybridEncoder::new(page, 1);
    for level in levels {
        nulls += usize::from(level == 0);
        encoder.put(level);
    }
    encoder.finish();
    let len = (page.len() - start - 4) as u32;
    page[start..start + 4].copy_from_slice(&len.to_le_bytes());
    nulls
}

/// Appends a dictionary-encoded page's values: the bit width of an index
/// into `entries`, then the indices as the RLE/bit-packed hybrid.
pub(super) fn push_indices(page: &mut Vec<u8>, entries: usize, indices: &[u32]) {
    let width = bit_width(entries);
    page.push(width);
    let mut encoder = HybridEncoder::new(page, width);
    for &index in indices {
        encoder.put(index);
    }
    encoder.finish();
}

/// Bits an index into a dictionary of `entries` needs (0 for one entry).
pub(super) fn bit_width(entries: usize) -> u8 {
    (usize::BITS - entries.saturating_sub(1).leading_zeros()) as u8
}

/// parquet-rs' RLE/bit-packed hybrid encoder, step for step, for values of
/// `width` bits (definition levels: 1; dictionary indices): runs of eight
/// or more equal values as RLE runs, the rest in bit-packed groups of
/// eight, at most 63 groups per run.
struct HybridEncoder<'o> {
    out: &'o mut Vec<u8>,
    width: u8,
    buffered: [u32; GROUP],
    buffered_len: usize,
    current: u32,
    repeats: usize,
    bit_packed: usize,
    indicator_at: Option<usize>,
}

const GROUP: usize = 8;

const MAX_GROUPS_PER_RUN: usize = 64;

impl<'o> HybridEncoder<'o> {
    fn new(out: &'o mut Vec<u8>, width: u8) -> Self {
        HybridEncoder {
            out,
            width,
            buffered: [0; GROUP],
            buffered_len: 0,
            current: 0,
            repeats: 0,
            bit_packed: 0,
            indicator_at: None,
        }
    }

    #[inline]
    fn put(&mut self, value: u32) {
        if self.current == value {
            self.repeats += 1;
            if self.repeats > GROUP {
                return;
            }
        } else {
            if self.repeats >= GROUP {
                self.flush_rle_run();
            }
            self.repeats = 1;
            self.current = value;
        }
        self.buffered[self.buffered_len] = value;
        self.buffered_len += 1;
        if self.buffered_len == GROUP {
            self.flush_buffered();
        }
    }

    fn finish(mut self) {
        if self.bit_packed > 0 || self.repeats > 0 || self.buffered_len > 0 {
            let all_repeat = self.bit_packed == 0
                && (self.repeats == self.buffered_len || self.buffered_len == 0);
            if self.repeats > 0 && all_repeat {
                self.flush_rle_run();
            } else {
                if self.buffered_len > 0 {
                    self.buffered[self.buffered_len..].fill(0);
                    self.buffered_len = GROUP;
                }
                self.bit_packed += self.buffered_len;
                self.flush_bit_packed_run(true);
                self.repeats = 0;
            }
        }
    }

    fn flush_rle_run(&mut self) {
        let mut indicator = (self.repeats << 1) as u64;
        while indicator >= 0x80 {
            self.out.push(indicator as u8 | 0x80);
            indicator >>= 7;
        }
        self.out.push(indicator as u8);
        let bytes = usize::from(self.width).div_ceil(8);
        self.out
            .extend_from_slice(&self.current.to_le_bytes()[..bytes]);
        self.buffered_len = 0;
        self.repeats = 0;
    }

    fn flush_bit_packed_run(&mut self, end_run: bool) {
        if self.indicator_at.is_none() {
            self.indicator_at = Some(self.out.len());
            self.out.push(0);
        }
        // A group of eight values takes `width` whole bytes.
        let width = u32::from(self.width);
        let (mut bits, mut filled) = (0u64, 0);
        for &value in &self.buffered[..self.buffered_len] {
            bits |= u64::from(value) << filled;
            filled += width;
            while filled >= 8 {
                self.out.push(bits as u8);
                bits >>= 8;
                filled -= 8;
            }
        }
        self.buffered_len = 0;
        if end_run {
            self.finish_bit_packed_run();
        }
    }

    fn finish_bit_packed_run(&mut self) {
        if let Some(at) = self.indicator_at.take() {
            self.out[at] = (((self.bit_packed / GROUP) << 1) | 1) as u8;
        }
        self.bit_packed = 0;
    }

    fn flush_buffered(&mut self) {
        if self.repeats >= GROUP {
            self.buffered_len = 0;
            if self.bit_packed > 0 {
                self.finish_bit_packed_run();
            }
            return;
        }
        self.bit_packed += self.buffered_len;
        let groups = self.bit_packed / GROUP;
        self.flush_bit_packed_run(groups + 1 >= MAX_GROUPS_PER_RUN);
        self.repeats = 0;
    }
}
