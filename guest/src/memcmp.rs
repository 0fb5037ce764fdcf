//! `memcmp` for the component, eight bytes at a time.
//!
//! wasi-libc's `memcmp` compares one byte per loop iteration, and under
//! wasmtime every iteration also pays an epoch (time limit) check. Parquet's
//! text statistics compare every value with the column's min and max
//! (`compare_greater`), mostly over long shared prefixes (`SRR1000123`,
//! names), so on batches of 1,000 runs that loop was 6% of the component's
//! instructions against 1% natively. Defined here, the linker takes this
//! one and leaves wasi-libc's out.

/// # Safety
/// `a` and `b` must be valid for reads of `n` bytes (the C contract).
#[cfg(target_arch = "wasm32")]
#[no_mangle]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: the caller's contract is compare's.
    unsafe { compare(a, b, n) }
}

/// The sign of the first differing byte (as unsigned), 0 when equal.
///
/// # Safety
/// `a` and `b` must be valid for reads of `n` bytes.
#[inline(always)]
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
unsafe fn compare(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: i + 8 <= n, and both are valid for n bytes.
        let (x, y) = unsafe {
            (
                a.add(i).cast::<u64>().read_unaligned(),
                b.add(i).cast::<u64>().read_unaligned(),
            )
        };
        if x != y {
            // Little endian: the lowest differing byte comes first.
            i += ((x ^ y).trailing_zeros() / 8) as usize;
            break;
        }
        i += 8;
    }
    while i < n {
        // SAFETY: i < n.
        let (x, y) = unsafe { (*a.add(i), *b.add(i)) };
        if x != y {
            return i32::from(x) - i32::from(y);
        }
        i += 1;
    }
    0
}

#[cfg(test)]
mod tests {
    use super::compare;

    fn sign(a: &[u8], b: &[u8]) -> i32 {
        assert_eq!(a.len(), b.len());
        // SAFETY: both slices hold a.len() bytes.
        unsafe { compare(a.as_ptr(), b.as_ptr(), a.len()) }.signum()
    }

    #[test]
    fn orders_as_slices_do() {
        let base: Vec<u8> = (0..40u8).map(|i| i.wrapping_mul(37)).collect();
        assert_eq!(sign(&base, &base), 0);
        assert_eq!(sign(&[], &[]), 0);
        for len in [1, 7, 8, 9, 16, 23, 40] {
            for at in 0..len {
                for (x, y) in [(0u8, 1u8), (1, 0), (0x7f, 0x80), (0x80, 0x7f), (0, 0xff)] {
                    let (mut a, mut b) = (base[..len].to_vec(), base[..len].to_vec());
                    a[at] = x;
                    b[at] = y;
                    // A later difference must not decide.
                    if at + 1 < len {
                        a[len - 1] = 0xff;
                        b[len - 1] = 0;
                    }
                    let want = a.cmp(&b) as i32;
                    assert_eq!(
                        sign(&a, &b),
                        want,
                        "len {len}, differing at {at}: {x} vs {y}"
                    );
                }
            }
        }
    }
}
