//! Byte searches eight bytes at a time (SWAR on `u64` words).
//!
//! The parser's inner loops (line ends, value ends, control characters)
//! ran a byte per iteration. Natively LLVM vectorizes some of them; in the
//! component they stay byte loops, and wasmtime adds an epoch (time limit)
//! check to every loop iteration, so a word per iteration is what keeps
//! the component near native speed. Every search returns exactly what the
//! byte loop would.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `word` equal to `byte`. A flag can be
/// wrong only above a right one (a borrow), so the lowest is exact.
#[inline(always)]
fn equal(word: u64, byte: u8) -> u64 {
    let x = word ^ (ONES * u64::from(byte));
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// The high bit of each byte of `word` equal to `byte`, every flag exact
/// (no borrow: the highest flag is right too, for searches from the end).
#[inline(always)]
fn equal_exact(word: u64, byte: u8) -> u64 {
    let x = word ^ (ONES * u64::from(byte));
    !(((x & !HIGHS) + !HIGHS) | x) & HIGHS
}

/// The high bit of each byte of `word` below `limit` (at most 0x80); the
/// lowest flag is exact, as in [`equal`].
#[inline(always)]
fn below(word: u64, limit: u8) -> u64 {
    word.wrapping_sub(ONES * u64::from(limit)) & !word & HIGHS
}

/// Bytes that may start a control character other than a tab, or be one:
/// C0 controls (tab included, the exact check lets it pass), DEL, and 0xC2
/// (the lead byte of U+0080-U+009F).
#[inline(always)]
fn suspect(word: u64) -> u64 {
    below(word, 0x20) | equal(word, 0x7f) | equal(word, 0xc2)
}

#[inline(always)]
fn suspect_byte(b: u8) -> bool {
    b < 0x20 || b == 0x7f || b == 0xc2
}

/// The eight bytes at `at`, as a little-endian word.
#[inline(always)]
pub(crate) fn word_at(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

/// The four bytes at `at`, as a little-endian word.
#[inline(always)]
fn half_at(bytes: &[u8], at: usize) -> u64 {
    let mut half = [0; 4];
    half.copy_from_slice(&bytes[at..at + 4]);
    u64::from(u32::from_le_bytes(half))
}

/// Words that hold every byte of a text of up to 16 bytes, with no loop:
/// its first and last eight (overlapping below 16), its first and last
/// four below 8, its first, middle and last byte below 4.
#[inline(always)]
pub(crate) fn ends(bytes: &[u8]) -> (u64, u64) {
    let n = bytes.len();
    match n {
        8.. => (word_at(bytes, 0), word_at(bytes, n - 8)),
        4..=7 => (half_at(bytes, 0) | half_at(bytes, n - 4) << 32, 0),
        1..=3 => (
            u64::from(bytes[0]) | u64::from(bytes[n / 2]) << 8 | u64::from(bytes[n - 1]) << 16,
            0,
        ),
        0 => (0, 0),
    }
}

/// Byte equality, texts of up to 32 bytes (keys, accessions, most names,
/// coverage strings) compared a word or four at a time without a loop;
/// longer ones by `memcmp` (eight bytes a step in the component:
/// `memcmp.rs`). Always inlined: where `b` is a constant key, its length
/// picks the branch at compile time.
#[inline(always)]
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    let n = b.len();
    if a.len() != n {
        return false;
    }
    match n {
        0 => true,
        // The first, middle and last bytes are all of them.
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        // The first and the last four (or eight) bytes, overlapping.
        4..=8 => half_at(a, 0) == half_at(b, 0) && half_at(a, n - 4) == half_at(b, n - 4),
        9..=16 => word_at(a, 0) == word_at(b, 0) && word_at(a, n - 8) == word_at(b, n - 8),
        // Coverage strings (25 bytes) and long accessions: four words.
        17..=32 => {
            word_at(a, 0) == word_at(b, 0)
                && word_at(a, 8) == word_at(b, 8)
                && word_at(a, n - 16) == word_at(b, n - 16)
                && word_at(a, n - 8) == word_at(b, n - 8)
        }
        _ => a == b,
    }
}

/// Appends `bytes` to `out`. Text of 4 to 32 bytes (most values) is
/// copied as two overlapping fixed-size moves: a copy of any other length
/// is a `memory.copy`, which the component runs as a call into wasmtime.
#[inline(always)]
pub(crate) fn extend_short(out: &mut Vec<u8>, bytes: &[u8]) {
    let n = bytes.len();
    if !(4..=32).contains(&n) {
        out.extend_from_slice(bytes);
        return;
    }
    out.reserve(n);
    let len = out.len();
    let src = bytes.as_ptr();
    // SAFETY: `out` has room for `n` more bytes, and both moves fall within
    // them (each is at most `n` long, the second ends at `n`); `bytes`
    // holds both ranges read; the `n` bytes are then all written.
    unsafe {
        let dst = out.as_mut_ptr().add(len);
        match n {
            17.. => {
                std::ptr::copy_nonoverlapping(src, dst, 16);
                std::ptr::copy_nonoverlapping(src.add(n - 16), dst.add(n - 16), 16);
            }
            8..=16 => {
                std::ptr::copy_nonoverlapping(src, dst, 8);
                std::ptr::copy_nonoverlapping(src.add(n - 8), dst.add(n - 8), 8);
            }
            _ => {
                std::ptr::copy_nonoverlapping(src, dst, 4);
                std::ptr::copy_nonoverlapping(src.add(n - 4), dst.add(n - 4), 4);
            }
        }
        out.set_len(len + n);
    }
}

/// The high bit of each byte of `v` (bytes at most 0x7f) in `lo..=hi`:
/// exact for every byte, as no sum carries into the next byte.
#[inline(always)]
fn in_range(v: u64, lo: u8, hi: u8) -> u64 {
    let at_least_lo = v + ONES * u64::from(0x80 - lo);
    let above_hi = v + ONES * u64::from(0x7f - hi);
    at_least_lo & !above_hi & HIGHS
}

/// The high bit of each byte of `word` that a key may not hold: anything
/// but ASCII letters, digits and '_'. Exact for every byte.
#[inline(always)]
fn not_key(word: u64) -> u64 {
    let ascii = word & !HIGHS;
    // `| 0x20` folds 'A'..='Z' onto 'a'..='z' and no other byte into it.
    let key = in_range(ascii, b'0', b'9')
        | in_range(ascii | (ONES * 0x20), b'a', b'z')
        | in_range(ascii, b'_', b'_');
    (!key | word) & HIGHS
}

#[inline(always)]
pub(crate) fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The length of the run of key bytes (ASCII letters, digits, '_') that
/// starts `bytes`: a word per step, as keys are mostly 3 to 8 bytes.
#[inline]
pub fn key_end(bytes: &[u8]) -> usize {
    let mut at = 0;
    while at + 8 <= bytes.len() {
        let stops = not_key(word_at(bytes, at));
        if stops != 0 {
            return at + (stops.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    while at < bytes.len() && is_key_byte(bytes[at]) {
        at += 1;
    }
    at
}

/// The position of the first `byte` in `bytes`.
pub fn find(bytes: &[u8], byte: u8) -> Option<usize> {
    let mut at = 0;
    while at + 8 <= bytes.len() {
        let hits = equal(word_at(bytes, at), byte);
        if hits != 0 {
            return Some(at + (hits.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    bytes[at..].iter().position(|b| *b == byte).map(|p| at + p)
}

/// The position of the last `byte` in `bytes`.
pub fn rfind(bytes: &[u8], byte: u8) -> Option<usize> {
    let mut end = bytes.len();
    while end >= 8 {
        let hits = equal_exact(word_at(bytes, end - 8), byte);
        if hits != 0 {
            return Some(end - 8 + (63 - hits.leading_zeros()) as usize / 8);
        }
        end -= 8;
    }
    bytes[..end].iter().rposition(|b| *b == byte)
}

/// `text` split around its last `byte` (an ASCII byte), as `rsplit_once`.
pub fn rsplit_once(text: &str, byte: u8) -> Option<(&str, &str)> {
    let at = rfind(text.as_bytes(), byte)?;
    Some((&text[..at], &text[at + 1..]))
}

/// The position of the first `;` in `bytes`, and whether a byte before it
/// may belong to a control character ([`may_hold_control`]).
pub fn value_end(bytes: &[u8]) -> (Option<usize>, bool) {
    let mut at = 0;
    while at + 8 <= bytes.len() {
        let word = word_at(bytes, at);
        let ends = equal(word, b';');
        let suspects = suspect(word);
        if ends != 0 {
            let end = ends.trailing_zeros();
            // Flags of the bytes before the end: the bits below its byte.
            let before = suspects & ((1u64 << end) - 1);
            return (Some(at + (end / 8) as usize), before != 0);
        }
        if suspects != 0 {
            let end = find(&bytes[at..], b';').map(|p| at + p);
            return (end, true);
        }
        at += 8;
    }
    let mut suspicious = false;
    for (offset, &b) in bytes[at..].iter().enumerate() {
        if b == b';' {
            return (Some(at + offset), suspicious);
        }
        suspicious |= suspect_byte(b);
    }
    (None, suspicious)
}

/// `bytes` as text if it is UTF-8: ASCII eight bytes a step, and each run
/// of other bytes (ASCII bytes around it are character boundaries) by
/// `std::str::from_utf8`, whose own ASCII steps are four bytes in the
/// component (`usize` is 32 bits there).
pub fn utf8(bytes: &[u8]) -> Option<&str> {
    let mut at = 0;
    loop {
        while at + 8 <= bytes.len() && word_at(bytes, at) & HIGHS == 0 {
            at += 8;
        }
        // The first byte past ASCII, and the next ASCII byte after it: a
        // character boundary, so the run between is UTF-8 on its own.
        let Some(start) = bytes[at..].iter().position(|b| !b.is_ascii()) else {
            break;
        };
        let start = at + start;
        let end = bytes[start..]
            .iter()
            .position(u8::is_ascii)
            .map_or(bytes.len(), |p| start + p);
        std::str::from_utf8(&bytes[start..end]).ok()?;
        at = end;
    }
    // SAFETY: every byte is ASCII or in a run just checked as UTF-8.
    Some(unsafe { std::str::from_utf8_unchecked(bytes) })
}

/// Whether `bytes` holds a byte that is or may start a control character
/// other than a tab; false means it holds none.
pub fn may_hold_control(bytes: &[u8]) -> bool {
    let mut at = 0;
    while at + 8 <= bytes.len() {
        if suspect(word_at(bytes, at)) != 0 {
            return true;
        }
        at += 8;
    }
    bytes[at..].iter().any(|&b| suspect_byte(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte value at every position of lines of several lengths,
    /// against the byte loops.
    #[test]
    fn agrees_with_byte_loops() {
        for len in 0..=20 {
            for at in 0..len.max(1) {
                for b in 0..=255u8 {
                    let mut bytes: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
                    if len > 0 {
                        bytes[at] = b;
                    }
                    // A second special byte later must not change the answer.
                    if len > at + 2 {
                        bytes[len - 1] = b';';
                    }
                    let semi = bytes.iter().position(|c| *c == b';');
                    let before = &bytes[..semi.unwrap_or(bytes.len())];
                    let suspicious = before.iter().any(|&c| suspect_byte(c));
                    assert_eq!(find(&bytes, b';'), semi, "{bytes:?}");
                    assert_eq!(find(&bytes, b'\n'), bytes.iter().position(|c| *c == b'\n'));
                    assert_eq!(value_end(&bytes), (semi, suspicious), "{bytes:?}");
                    assert_eq!(
                        may_hold_control(&bytes),
                        bytes.iter().any(|&c| suspect_byte(c)),
                        "{bytes:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn extend_short_appends_every_length() {
        let text: Vec<u8> = (0..60).map(|i| b'0' + i).collect();
        for start in 0..5 {
            for n in 0..=48 {
                let mut out: Vec<u8> = text[..start].to_vec();
                extend_short(&mut out, &text[start..start + n]);
                assert_eq!(out, &text[..start + n]);
            }
        }
    }

    #[test]
    fn rfind_agrees_with_rposition() {
        for len in 0..40 {
            for at in 0..len {
                for other in 0..len {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = b':';
                    bytes[other] = 0xba; // ':' | 0x80: no false flag
                    if other == at + 1 {
                        bytes[other] = b';'; // ':' + 1: no borrow into ':'
                    }
                    let slow = bytes.iter().rposition(|b| *b == b':');
                    assert_eq!(rfind(&bytes, b':'), slow, "{bytes:?}");
                }
            }
            assert_eq!(rfind(&vec![b'a'; len], b':'), None);
        }
        assert_eq!(rsplit_once("a:b:c", b':'), Some(("a:b", "c")));
        assert_eq!(rsplit_once("abc", b':'), None);
    }

    /// ASCII words and runs of other bytes: every cut of texts with
    /// multibyte characters and invalid bytes, before and after full words.
    #[test]
    fn utf8_agrees_with_from_utf8() {
        let samples: [&[u8]; 7] = [
            b"",
            b"plain ascii text of some length",
            "caf\u{e9} \u{4e16}\u{754c}".as_bytes(),
            b"\xff",
            b"abc\xe4\xb8",
            b"12345678\xc3\xa9",
            "ab\u{e9}cdefghijkl\u{4e16}mnopqrstuvw\u{e9}\u{e9}xyz0123456789".as_bytes(),
        ];
        for sample in samples {
            for start in 0..sample.len() {
                for end in start..=sample.len() {
                    let bytes = &sample[start..end];
                    assert_eq!(utf8(bytes), std::str::from_utf8(bytes).ok(), "{bytes:?}");
                }
            }
        }
    }

    /// The key scan against the byte loop: every byte value at every
    /// position, after runs of key bytes of every length, and a second
    /// stop byte later.
    #[test]
    fn key_end_agrees_with_the_byte_loop() {
        let slow = |bytes: &[u8]| {
            bytes
                .iter()
                .position(|&b| !is_key_byte(b))
                .unwrap_or(bytes.len())
        };
        let filler = b"aZ09_zA9bY";
        for len in 0..=24 {
            for at in 0..len.max(1) {
                for b in 0..=255u8 {
                    let mut bytes: Vec<u8> = (0..len).map(|i| filler[i % filler.len()]).collect();
                    if len > 0 {
                        bytes[at] = b;
                    }
                    if len > at + 2 {
                        bytes[len - 1] = b'=';
                    }
                    assert_eq!(key_end(&bytes), slow(&bytes), "{bytes:?}");
                }
            }
        }
        // Adversarial lines: multibyte UTF-8, controls, '=' and ';' at word
        // boundaries, empty keys and values, a long key.
        let long = format!("{}=1;", "k".repeat(10_000));
        let lines: Vec<&[u8]> = vec![
            "séq=1;".as_bytes(),
            "abcdefgh=;".as_bytes(),
            "abcdefg;=x".as_bytes(),
            "abcdefghijklmnop=".as_bytes(),
            "abcdefghijklmno\u{1}=".as_bytes(),
            "abc\tdefgh=".as_bytes(),
            "=abc".as_bytes(),
            "@[`{/:^".as_bytes(),
            "\u{85}abcdefgh".as_bytes(),
            long.as_bytes(),
            b"",
        ];
        for line in lines {
            for start in 0..line.len().min(20) {
                assert_eq!(
                    key_end(&line[start..]),
                    slow(&line[start..]),
                    "{line:?} {start}"
                );
            }
        }
        for b in 0..=255u8 {
            assert_eq!(not_key(u64::from(b)) & 0x80 != 0, !is_key_byte(b), "{b}");
        }
    }

    #[test]
    fn borrows_do_not_hide_the_first_hit() {
        // 0x00 followed by 0x01: the borrow out of the zero byte flags the
        // 0x01 as well; the first flag is still the zero's.
        let bytes = [b'x', 0x00, 0x01, b';', b'x', b'x', b'x', b'x', b'x'];
        assert_eq!(value_end(&bytes), (Some(3), true));
        let bytes = [b'x', b'x', b';', 0x3c, b'x', b'x', b'x', b'x'];
        assert_eq!(value_end(&bytes), (Some(2), false));
    }
}
