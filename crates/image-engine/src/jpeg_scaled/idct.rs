//! Reduced inverse DCTs: an 8x8 block of coefficients to 1x1, 2x2 or 4x4 pixels. The integer
//! arithmetic is `jpeg-decoder` 0.3's (`dequantize_and_idct_block_{1x1,2x2,4x4}`, after Dugad
//! and Ahuja, "A Fast Scheme for Image Size Change in the Compressed Domain"), so the fast path
//! and the general path give the same pixels. Coefficients and quantisers come in zig-zag
//! order; wrapping arithmetic matches the reference on hostile values.

/// Zig-zag position of each natural (row-major) position in the top-left 4x4 corner.
pub(super) const ZIGZAG_4X4: [usize; 16] = [0, 1, 5, 6, 2, 4, 7, 13, 3, 8, 12, 17, 9, 11, 18, 24];

/// Coefficients (zig-zag prefix) a DCT size reads: everything past them is decoded and dropped.
pub(super) const fn kept(ds: usize) -> usize {
    match ds {
        1 => 1,
        2 => 5,
        _ => 25,
    }
}

/// Quantisers premultiplied into the order the IDCT of size `DS` reads them.
pub(super) fn quantisers<const DS: usize>(zigzag: &[u16; 64]) -> [i32; 16] {
    let mut q = [0i32; 16];
    match DS {
        1 => q[0] = i32::from(zigzag[0]),
        2 => {
            // Natural (0,0), (0,1), (1,0), (1,1).
            for (dst, zz) in q.iter_mut().zip([0, 1, 2, 4]) {
                *dst = i32::from(zigzag[zz]);
            }
        }
        _ => {
            for (dst, &zz) in q.iter_mut().zip(&ZIGZAG_4X4) {
                *dst = i32::from(zigzag[zz]);
            }
        }
    }
    q
}

fn clamp(x: i32) -> u8 {
    x.clamp(0, 255) as u8
}

/// DC only: the block's mean.
#[inline(always)]
pub(super) fn idct1(coef: &[i16; 128], q: &[i32; 16], out: &mut [u8], at: usize) {
    let s0 = i32::from(coef[0]).wrapping_mul(q[0]).wrapping_add(128 * 8) / 8;
    if let Some(o) = out.get_mut(at) {
        *o = clamp(s0);
    }
}

/// 2x2 from the four lowest frequencies.
#[inline(always)]
pub(super) fn idct2(coef: &[i16; 128], q: &[i32; 16], out: &mut [u8], at: usize, stride: usize) {
    const SCALE_BITS: u32 = 3;
    let s00 = i32::from(coef[0]).wrapping_mul(q[0]);
    let s01 = i32::from(coef[1]).wrapping_mul(q[1]);
    let s10 = i32::from(coef[2]).wrapping_mul(q[2]);
    let s11 = i32::from(coef[4]).wrapping_mul(q[3]);
    let bias = (1 << (SCALE_BITS - 1)) + (128 << SCALE_BITS);
    let x0 = s00.wrapping_add(s10).wrapping_add(bias);
    let x2 = s00.wrapping_sub(s10).wrapping_add(bias);
    let x1 = s01.wrapping_add(s11);
    let x3 = s01.wrapping_sub(s11);
    if let Some([a, b]) = out.get_mut(at..at + 2) {
        *a = clamp(x0.wrapping_add(x1) >> SCALE_BITS);
        *b = clamp(x0.wrapping_sub(x1) >> SCALE_BITS);
    }
    if let Some([a, b]) = out.get_mut(at + stride..at + stride + 2) {
        *a = clamp(x2.wrapping_add(x3) >> SCALE_BITS);
        *b = clamp(x2.wrapping_sub(x3) >> SCALE_BITS);
    }
}

/// `stbi_f2f`: a constant in 12-bit fixed point, rounded as the reference rounds it.
const fn f2f(x: f32) -> i32 {
    (x * 4096.0 + 0.5) as i32
}

/// 4x4 from the 16 lowest frequencies.
#[inline(always)]
pub(super) fn idct4(coef: &[i16; 128], q: &[i32; 16], out: &mut [u8], at: usize, stride: usize) {
    const CONST_BITS: u32 = 12;
    const PASS1_BITS: u32 = 2;
    const FINAL_BITS: u32 = CONST_BITS + PASS1_BITS + 3;
    const C0: i32 = f2f(0.541_196_1);
    const C1: i32 = f2f(-1.847_759_1);
    const C2: i32 = f2f(0.765_366_9);
    let s = |row: usize, col: usize| {
        let i = row * 4 + col;
        i32::from(coef[ZIGZAG_4X4[i]]).wrapping_mul(q[i])
    };
    let mut temp = [0i32; 16];
    for i in 0..4 {
        let (s0, s1, s2, s3) = (s(0, i), s(1, i), s(2, i), s(3, i));
        let x0 = s0.wrapping_add(s2) << PASS1_BITS;
        let x2 = s0.wrapping_sub(s2) << PASS1_BITS;
        let p1 = s1.wrapping_add(s3).wrapping_mul(C0);
        let t0 =
            p1.wrapping_add(s3.wrapping_mul(C1)).wrapping_add(512) >> (CONST_BITS - PASS1_BITS);
        let t2 =
            p1.wrapping_add(s1.wrapping_mul(C2)).wrapping_add(512) >> (CONST_BITS - PASS1_BITS);
        temp[i] = x0.wrapping_add(t2);
        temp[i + 12] = x0.wrapping_sub(t2);
        temp[i + 4] = x2.wrapping_add(t0);
        temp[i + 8] = x2.wrapping_sub(t0);
    }
    for i in 0..4 {
        let (s0, s1, s2, s3) = (
            temp[i * 4],
            temp[i * 4 + 1],
            temp[i * 4 + 2],
            temp[i * 4 + 3],
        );
        let bias = (1 << (FINAL_BITS - 1)) + (128 << FINAL_BITS);
        let x0 = (s0.wrapping_add(s2) << CONST_BITS).wrapping_add(bias);
        let x2 = (s0.wrapping_sub(s2) << CONST_BITS).wrapping_add(bias);
        let p1 = s1.wrapping_add(s3).wrapping_mul(C0);
        let t0 = p1.wrapping_add(s3.wrapping_mul(C1));
        let t2 = p1.wrapping_add(s1.wrapping_mul(C2));
        let row = at + i * stride;
        if let Some([a, b, c, d]) = out.get_mut(row..row + 4) {
            *a = clamp(x0.wrapping_add(t2) >> FINAL_BITS);
            *d = clamp(x0.wrapping_sub(t2) >> FINAL_BITS);
            *b = clamp(x2.wrapping_add(t0) >> FINAL_BITS);
            *c = clamp(x2.wrapping_sub(t0) >> FINAL_BITS);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The standard zig-zag order: natural index of each zig-zag position.
    const ZIGZAG: [usize; 25] = [
        0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27,
    ];

    #[test]
    fn the_4x4_corner_is_found_in_zigzag_order() {
        for (i, &zz) in ZIGZAG_4X4.iter().enumerate() {
            let natural = (i / 4) * 8 + i % 4;
            assert_eq!(ZIGZAG[zz], natural, "natural ({}, {})", i / 4, i % 4);
        }
        assert_eq!(ZIGZAG_4X4.iter().max(), Some(&(kept(4) - 1)));
    }

    #[test]
    fn the_fixed_point_constants_are_the_references() {
        assert_eq!(
            (f2f(0.541_196_1), f2f(-1.847_759_1), f2f(0.765_366_9)),
            (2217, -7567, 3135)
        );
    }

    #[test]
    fn a_flat_block_gives_flat_pixels_at_every_size() {
        let mut coef = [0i16; 128];
        coef[0] = 40; // DC 40 * q 2 = 80: mean + 80 / 8 = 10 above mid-grey.
        let zz = [2u16; 64];
        let mut out = [0u8; 16];
        idct1(&coef, &quantisers::<1>(&zz), &mut out, 0);
        assert_eq!(out[0], 138);
        idct2(&coef, &quantisers::<2>(&zz), &mut out, 0, 4);
        assert_eq!(&out[..2], &[138, 138]);
        idct4(&coef, &quantisers::<4>(&zz), &mut out, 0, 4);
        assert!(out.iter().all(|&p| p == 138), "{out:?}");
    }
}
