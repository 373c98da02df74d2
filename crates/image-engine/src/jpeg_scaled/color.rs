//! From reduced planes to packed output: crops grey, or upsamples chroma ("fancy", triangle
//! filter, as libjpeg and `jpeg-decoder` do it) and converts YCbCr to RGB at the reduced size.

use super::FastPathError::{self, Corrupt};
use super::markers::Header;
use super::scan::Plane;

/// Packs the planes into an image of `ceil(width * ds / 8)` x `ceil(height * ds / 8)`:
/// returns (pixels, width, height).
pub(super) fn compose(
    header: &Header,
    planes: &[Plane],
    ds: usize,
) -> Result<(Vec<u8>, u32, u32), FastPathError> {
    let (width, height) = (usize::from(header.width), usize::from(header.height));
    let out_w = (width * ds).div_ceil(8);
    let out_h = (height * ds).div_ceil(8);
    let size = |w: usize, h: usize| (w as u32, h as u32);
    match planes {
        [y] => {
            let mut out = Vec::with_capacity(out_w * out_h);
            for row in y.data.chunks_exact(y.stride).take(out_h) {
                out.extend_from_slice(&row[..out_w]);
            }
            if out.len() != out_w * out_h {
                return Err(Corrupt("luma plane too small"));
            }
            let (w, h) = size(out_w, out_h);
            Ok((out, w, h))
        }
        [y, cb, cr] => {
            let luma = &header.components[0];
            let (hmax, vmax) = (luma.h, luma.v);
            // Chroma's own extent at this scale (jpeg-decoder's component size).
            let cw = (width * ds).div_ceil(8 * hmax);
            let ch = (height * ds).div_ceil(8 * vmax);
            let mut out = vec![0u8; out_w * out_h * 3];
            let mut cb_row = vec![0u8; cw * hmax];
            let mut cr_row = vec![0u8; cw * hmax];
            let mut sums = vec![0u16; cw];
            for (row, rgb) in out.chunks_exact_mut(out_w * 3).enumerate() {
                let (near, far) = if vmax == 2 {
                    let k = row / 2;
                    let far = if row % 2 == 0 {
                        k.saturating_sub(1)
                    } else {
                        (k + 1).min(ch - 1)
                    };
                    (k, far)
                } else {
                    (row, row)
                };
                upsample_row(cb, near, far, vmax == 2, hmax == 2, &mut sums, &mut cb_row)?;
                upsample_row(cr, near, far, vmax == 2, hmax == 2, &mut sums, &mut cr_row)?;
                let y_row = y
                    .data
                    .get(row * y.stride..row * y.stride + out_w)
                    .ok_or(Corrupt("luma plane too small"))?;
                ycbcr_to_rgb(y_row, &cb_row[..out_w], &cr_row[..out_w], rgb);
            }
            let (w, h) = size(out_w, out_h);
            Ok((out, w, h))
        }
        _ => Err(Corrupt("component count")),
    }
}

/// One output row of a chroma plane: the vertical triangle filter into `sums` (4x scale), then
/// the horizontal one (or none) into `out`.
fn upsample_row(
    plane: &Plane,
    near: usize,
    far: usize,
    vertical: bool,
    horizontal: bool,
    sums: &mut [u16],
    out: &mut [u8],
) -> Result<(), FastPathError> {
    let n = sums.len();
    let row = |r: usize| {
        plane
            .data
            .get(r * plane.stride..r * plane.stride + n)
            .ok_or(Corrupt("chroma plane too small"))
    };
    let near = row(near)?;
    if vertical {
        let far = row(far)?;
        for ((s, &a), &b) in sums.iter_mut().zip(near).zip(far) {
            *s = 3 * u16::from(a) + u16::from(b);
        }
    } else {
        for (s, &a) in sums.iter_mut().zip(near) {
            *s = 4 * u16::from(a);
        }
    }
    if !horizontal {
        for (o, &s) in out.iter_mut().zip(sums.iter()) {
            *o = ((s + 2) >> 2) as u8;
        }
        return Ok(());
    }
    let out = out
        .get_mut(..2 * n)
        .ok_or(Corrupt("chroma row too small"))?;
    let first = ((sums[0] + 2) >> 2) as u8;
    let last = ((sums[n - 1] + 2) >> 2) as u8;
    out[0] = first;
    for (i, pair) in sums.windows(2).enumerate() {
        let (t0, t1) = (u32::from(pair[0]), u32::from(pair[1]));
        out[2 * i + 1] = ((3 * t0 + t1 + 8) >> 4) as u8;
        out[2 * i + 2] = ((3 * t1 + t0 + 8) >> 4) as u8;
    }
    out[2 * n - 1] = last;
    Ok(())
}

const FIXED: u32 = 20;

/// `stbi_f2f` at 20 bits, rounded as `jpeg-decoder`'s scalar converter rounds it.
const fn f2f(x: f32) -> i32 {
    (x * (1 << FIXED) as f32 + 0.5) as i32
}

/// BT.601 full-range YCbCr to RGB, `jpeg-decoder`'s scalar formula (after libjpeg-turbo).
fn ycbcr_to_rgb(y: &[u8], cb: &[u8], cr: &[u8], rgb: &mut [u8]) {
    const CR_R: i32 = f2f(1.402);
    const CB_G: i32 = f2f(0.344_14);
    const CR_G: i32 = f2f(0.714_14);
    const CB_B: i32 = f2f(1.772);
    let clamp = |v: i32| (v >> FIXED).clamp(0, 255) as u8;
    for (((px, &y), &cb), &cr) in rgb.chunks_exact_mut(3).zip(y).zip(cb).zip(cr) {
        let y = (i32::from(y) << FIXED) + (1 << (FIXED - 1));
        let cb = i32::from(cb) - 128;
        let cr = i32::from(cr) - 128;
        px[0] = clamp(y + CR_R * cr);
        px[1] = clamp(y - CB_G * cb - CR_G * cr);
        px[2] = clamp(y + CB_B * cb);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grey_chroma_gives_grey_rgb() {
        let mut rgb = [0u8; 6];
        ycbcr_to_rgb(&[0, 200], &[128, 128], &[128, 128], &mut rgb);
        assert_eq!(rgb, [0, 0, 0, 200, 200, 200]);
    }

    #[test]
    fn horizontal_upsampling_blends_three_to_one() {
        let plane = Plane {
            data: vec![0, 100],
            stride: 2,
        };
        let mut sums = [0u16; 2];
        let mut out = [0u8; 4];
        upsample_row(&plane, 0, 0, false, true, &mut sums, &mut out).unwrap();
        assert_eq!(out, [0, 25, 75, 100]);
    }
}
