//! Adler-32 (RFC 1950 §9), the checksum that ends every zlib stream, summed
//! beside a raw inflate (`zlib.rs`) rather than inside it, so the fastest sum
//! for the target is ours to choose.
//!
//! Natively it is zlib-rs's own (AVX2 when the CPU has it, chosen at run
//! time). In a Wasm guest built with `relaxed-simd` it is `relaxed`: zlib-rs's
//! simd128 sum widens every byte and multiplies in 16-bit lanes, about 29
//! instructions per 32 bytes on x86-64, while `i16x8.relaxed_dot_i8x16_i7x16_s`
//! is one `pmaddubsw` there. Without the feature the guest uses zlib-rs's
//! simd128 sum.

/// The Adler-32 of `data` continued from `adler` (1 for a new stream).
pub(crate) fn update(adler: u32, data: &[u8]) -> u32 {
    #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
    return relaxed::update(adler, data);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "relaxed-simd")))]
    zlib_rs::adler32::adler32(adler, data)
}

/// The largest prime below 2^16.
#[cfg_attr(not(any(test, target_feature = "relaxed-simd")), allow(dead_code))]
const MOD: u32 = 65521;

/// The sum one byte at a time: the definition, for the tail of a buffer and
/// as the reference the tests hold the fast sums to.
#[cfg_attr(not(any(test, target_feature = "relaxed-simd")), allow(dead_code))]
fn update_bytewise(adler: u32, data: &[u8]) -> u32 {
    let (mut a, mut b) = (adler & 0xffff, adler >> 16);
    // 5552 bytes is the most that can be summed before b could pass 2^32.
    for piece in data.chunks(5552) {
        for &byte in piece {
            a += u32::from(byte);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

/// Adler-32 with Wasm relaxed SIMD, 64 bytes a step.
///
/// `relaxed_dot_i8x16_i7x16` multiplies signed bytes by weights; engines may
/// differ only where a weight has its top bit set, so with weights of 1-64
/// every engine gives the same result. Each data byte `x` is fed as the
/// signed `s = x ^ 0x80 = x - 128`, and the 128s taken from every byte are
/// added back once per piece: a step's plain sum is `Σs + 64·128` and its
/// weighted sum (weights 64 down to 1) `Σ(w·s) + 128·Σw`.
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
mod relaxed {
    use super::{update_bytewise, MOD};
    use core::arch::wasm32::*;

    /// Bytes per step: the most whose weights (64 down to 1) fit in 7 bits.
    /// Cranelift keeps a loop's vectors on the stack between iterations, so
    /// the longer the step, the less of that per byte.
    const STEP: usize = 64;
    /// Steps summed in vector lanes before they are folded into `a` and `b`:
    /// a lane of the running plain sum gains at most 16·128 a step, and the
    /// lane summing those running sums at most 2048·n after n steps, so after
    /// 512 steps it holds under 2^29, well inside an `i32`.
    const STEPS_PER_PIECE: usize = 512;
    /// `Σw` for the weights 64, 63, ... 1.
    const WEIGHT_SUM: i64 = (STEP * (STEP + 1) / 2) as i64;

    pub(super) fn update(adler: u32, data: &[u8]) -> u32 {
        let (mut a, mut b) = (i64::from(adler & 0xffff), i64::from(adler >> 16));
        let mut pieces = data.chunks_exact(STEP * STEPS_PER_PIECE);
        for piece in &mut pieces {
            sum_steps(&mut a, &mut b, piece);
        }
        let rest = pieces.remainder();
        let whole = rest.len() - rest.len() % STEP;
        sum_steps(&mut a, &mut b, &rest[..whole]);
        update_bytewise(((b as u32) << 16) | a as u32, &rest[whole..])
    }

    /// Folds `steps` (a whole number of steps, at most a piece) into `a` and
    /// `b`, leaving both reduced mod 65521. Never inlined: inlined into the
    /// inflate loop, even more of its vectors went through the stack.
    #[inline(never)]
    #[target_feature(enable = "simd128,relaxed-simd")]
    fn sum_steps(a: &mut i64, b: &mut i64, steps: &[u8]) {
        let n = (steps.len() / STEP) as i64;
        let flip = u8x16_splat(0x80);
        let ones = i8x16_splat(1);
        let weights = [
            i8x16(64, 63, 62, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49),
            i8x16(48, 47, 46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33),
            i8x16(32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17),
            i8x16(16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1),
        ];
        // plain: Σs so far; running: Σ over steps of `plain` before each
        // step; weighted: Σ(w·s). Lanes are summed at the end.
        let (mut plain, mut running, mut weighted) = (i32x4_splat(0), i32x4_splat(0), i32x4_splat(0));
        for step in steps.chunks_exact(STEP) {
            // SAFETY: `chunks_exact` gives 64 bytes; unaligned 16-byte loads.
            let s = unsafe {
                let at = step.as_ptr() as *const v128;
                [0, 1, 2, 3].map(|i| v128_xor(at.add(i).read_unaligned(), flip))
            };
            let dot = |i: usize, w: v128| i16x8_relaxed_dot_i8x16_i7x16(s[i], w);
            running = i32x4_add(running, plain);
            // i16 lanes hold these: four pair sums of bytes, |x| <= 1024.
            let sums = i16x8_add(
                i16x8_add(dot(0, ones), dot(1, ones)),
                i16x8_add(dot(2, ones), dot(3, ones)),
            );
            plain = i32x4_add(plain, i32x4_extadd_pairwise_i16x8(sums));
            // Two weighted pair sums per i16 lane: at most 128·(64+63+48+47).
            let high = i16x8_add(dot(0, weights[0]), dot(1, weights[1]));
            let low = i16x8_add(dot(2, weights[2]), dot(3, weights[3]));
            weighted = i32x4_add(weighted, i32x4_extadd_pairwise_i16x8(high));
            weighted = i32x4_add(weighted, i32x4_extadd_pairwise_i16x8(low));
        }
        let lanes = |v: v128| -> i64 {
            i64::from(i32x4_extract_lane::<0>(v))
                + i64::from(i32x4_extract_lane::<1>(v))
                + i64::from(i32x4_extract_lane::<2>(v))
                + i64::from(i32x4_extract_lane::<3>(v))
        };
        let flipped = 128 * STEP as i64;
        // Each step adds STEP·(a before it) to b, plus its weighted sum.
        let plain_before = lanes(running) + flipped * n * (n - 1) / 2;
        *b += STEP as i64 * (n * *a + plain_before) + lanes(weighted) + 128 * WEIGHT_SUM * n;
        *a += lanes(plain) + flipped * n;
        *a = a.rem_euclid(i64::from(MOD));
        *b = b.rem_euclid(i64::from(MOD));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 1950's own example and the empty input.
    #[test]
    fn known_sums() {
        assert_eq!(update(1, b""), 1);
        assert_eq!(update(1, b"Wikipedia"), 0x11E6_0398);
        assert_eq!(update_bytewise(1, b"Wikipedia"), 0x11E6_0398);
    }

    /// Every length around the step and piece sizes, all-0xff bytes (the
    /// largest sums) and mixed ones, continued from a sum part way through.
    #[test]
    fn matches_the_definition_at_every_boundary() {
        let mixed: Vec<u8> = (0..70_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let full = vec![0xffu8; 70_000];
        for data in [&mixed, &full] {
            for len in [
                0,
                1,
                31,
                32,
                33,
                63,
                64,
                65,
                5551,
                5552,
                5553,
                32 * 1024 - 1,
                32 * 1024,
                32 * 1024 + 1,
                70_000,
            ] {
                let data = &data[..len];
                assert_eq!(update(1, data), update_bytewise(1, data), "len {len}");
                let split = len / 3;
                let continued = update(update(1, &data[..split]), &data[split..]);
                assert_eq!(continued, update_bytewise(1, data), "len {len} split at {split}");
            }
        }
    }
}
