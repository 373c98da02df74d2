//! The straightforward separable blur and unsharp mask the optimised loops in `filter.rs`
//! replaced, kept for tests: the fast versions must stay within one grey level of these.
#![allow(dead_code)]

use image::DynamicImage;

/// Normalised gaussian weights for `sigma`, radius ⌈3σ⌉.
pub(super) fn kernel(sigma: f32) -> Vec<f32> {
    let r = (3.0 * sigma).ceil().max(1.0) as usize;
    let two_s2 = 2.0 * sigma * sigma;
    let mut k: Vec<f32> = (0..=2 * r)
        .map(|i| {
            let d = i as f32 - r as f32;
            (-d * d / two_s2).exp()
        })
        .collect();
    let sum: f32 = k.iter().sum();
    for w in &mut k {
        *w /= sum;
    }
    k
}

/// Blurs the rows `y` of `src` horizontally into `out` (edge pixels repeat).
pub(super) fn blur_row(row: &[u8], n: usize, k: &[f32], pad: &mut Vec<f32>, out: &mut [f32]) {
    let r = k.len() / 2;
    let w = row.len() / n;
    pad.clear();
    for i in 0..w + 2 * r {
        let x = i.saturating_sub(r).min(w - 1);
        pad.extend(row[x * n..x * n + n].iter().map(|&v| f32::from(v)));
    }
    out.fill(0.0);
    for (j, &wt) in k.iter().enumerate() {
        let src = &pad[j * n..j * n + w * n];
        for (o, s) in out.iter_mut().zip(src) {
            *o += wt * s;
        }
    }
}

/// Gaussian-blurs every channel of an 8-bit image, calling `emit(y, blurred_row)` for each row
/// in order.
pub(super) fn convolve(img: &DynamicImage, sigma: f32, mut emit: impl FnMut(usize, &[f32])) {
    let k = kernel(sigma);
    let r = k.len() / 2;
    let n = usize::from(img.color().channel_count());
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w == 0 || h == 0 {
        return;
    }
    let stride = w * n;
    let bytes = img.as_bytes();
    let ring_len = k.len().min(h + 2 * r);
    let mut ring = vec![0f32; ring_len * stride];
    let mut ring_row: Vec<Option<usize>> = vec![None; ring_len];
    let mut pad = Vec::with_capacity((w + 2 * r) * n);
    let mut acc = vec![0f32; stride];
    for y in 0..h {
        acc.fill(0.0);
        for (j, &wt) in k.iter().enumerate() {
            let sy = (y + j).saturating_sub(r).min(h - 1);
            let slot = sy % ring_len;
            let row = &mut ring[slot * stride..(slot + 1) * stride];
            if ring_row[slot] != Some(sy) {
                blur_row(&bytes[sy * stride..(sy + 1) * stride], n, &k, &mut pad, row);
                ring_row[slot] = Some(sy);
            }
            for (a, s) in acc.iter_mut().zip(row.iter()) {
                *a += wt * s;
            }
        }
        emit(y, &acc);
    }
}

/// From this sigma on, three box blurs stand in for the gaussian (as Pillow does): the cost no
/// longer grows with the radius, and the difference from a true gaussian is below a grey level
/// on photos. Smaller sigmas keep the exact kernel, where three boxes would be too coarse.
pub(super) const BOX_FROM_SIGMA: f32 = 2.0;

/// Widths of three box blurs whose succession approximates a gaussian of `sigma`
/// (Kovesi, "Fast almost-Gaussian filtering").
pub(super) fn box_widths(sigma: f32) -> [usize; 3] {
    let ideal = (12.0 * sigma * sigma / 3.0 + 1.0).sqrt();
    let mut lo = ideal.floor() as usize;
    if lo.is_multiple_of(2) {
        lo = lo.saturating_sub(1).max(1);
    }
    let lo_f = lo as f32;
    let m = ((12.0 * sigma * sigma - 3.0 * lo_f * lo_f - 12.0 * lo_f - 9.0) / (-4.0 * lo_f - 4.0))
        .round()
        .clamp(0.0, 3.0) as usize;
    std::array::from_fn(|i| if i < m { lo } else { lo + 2 })
}

/// 2^24 / `width`, rounded.
pub(super) fn reciprocal(width: usize) -> u64 {
    ((1u64 << 24) + width as u64 / 2) / width as u64
}

/// `sum / width` rounded, via the reciprocal.
pub(super) fn scale(sum: u32, inv: u64) -> u8 {
    ((u64::from(sum) * inv + (1 << 23)) >> 24) as u8
}

/// One horizontal box pass of radius `r` over interleaved rows (edges repeat).
pub(super) fn box_h(src: &[u8], dst: &mut [u8], w: usize, n: usize, r: usize) {
    // Multiply by a 24-bit reciprocal instead of dividing: an integer division per sample cost
    // more than the whole rest of the pass.
    let inv = reciprocal(2 * r + 1);
    for (row, out) in src.chunks_exact(w * n).zip(dst.chunks_exact_mut(w * n)) {
        for c in 0..n {
            let at = |x: usize| u32::from(row[x.min(w - 1) * n + c]);
            let mut sum = (r as u32 + 1) * at(0) + (1..=r).map(at).sum::<u32>();
            for x in 0..w {
                out[x * n + c] = scale(sum, inv);
                sum = sum + at(x + r + 1) - at(x.saturating_sub(r));
            }
        }
    }
}

/// One vertical box pass of radius `r`: a running sum per column, updated a whole row at a time
/// so the inner loops are contiguous.
pub(super) fn box_v(src: &[u8], dst: &mut [u8], stride: usize, h: usize, r: usize) {
    let inv = reciprocal(2 * r + 1);
    let row = |y: usize| &src[y.min(h - 1) * stride..(y.min(h - 1) + 1) * stride];
    let mut sum: Vec<u32> = row(0)
        .iter()
        .map(|&v| (r as u32 + 1) * u32::from(v))
        .collect();
    for y in 1..=r {
        for (s, &v) in sum.iter_mut().zip(row(y)) {
            *s += u32::from(v);
        }
    }
    for y in 0..h {
        for (d, &s) in dst[y * stride..(y + 1) * stride].iter_mut().zip(&sum) {
            *d = scale(s, inv);
        }
        let (add, sub) = (row(y + r + 1), row(y.saturating_sub(r)));
        for ((s, &a), &b) in sum.iter_mut().zip(add).zip(sub) {
            *s = *s + u32::from(a) - u32::from(b);
        }
    }
}

/// The blurred bytes of an 8-bit image (every channel, alpha included).
pub(super) fn blurred(img: &DynamicImage, sigma: f32) -> Vec<u8> {
    let n = usize::from(img.color().channel_count());
    let (w, h) = (img.width() as usize, img.height() as usize);
    let stride = w * n;
    if w == 0 || h == 0 {
        return img.as_bytes().to_vec();
    }
    if sigma < BOX_FROM_SIGMA {
        let mut out = vec![0u8; stride * h];
        convolve(img, sigma, |y, row| {
            for (d, v) in out[y * stride..(y + 1) * stride].iter_mut().zip(row) {
                // `as` saturates, so adding 0.5 rounds and clamps in one step.
                *d = (v + 0.5) as u8;
            }
        });
        return out;
    }
    let mut a = img.as_bytes().to_vec();
    let mut b = vec![0u8; a.len()];
    for width in box_widths(sigma) {
        let r = width / 2;
        box_h(&a, &mut b, w, n, r);
        box_v(&b, &mut a, stride, h, r);
    }
    a
}

/// Gaussian blur with standard deviation `sigma` pixels.
pub(super) fn blur(img: &DynamicImage, sigma: f32) -> DynamicImage {
    let mut out = img.clone();
    crate::ops::bytes_mut(&mut out).copy_from_slice(&blurred(img, sigma));
    out
}

/// Unsharp mask: adds `amount` × (image − blur) where that difference reaches `threshold`.
/// Alpha is left as it is.
pub(super) fn sharpen(img: &DynamicImage, sigma: f32, amount: f32, threshold: u8) -> DynamicImage {
    let mut out = img.clone();
    let n = usize::from(img.color().channel_count());
    let alpha = img.color().has_alpha();
    let blur = blurred(img, sigma);
    let src = img.as_bytes();
    let threshold = f32::from(threshold);
    for (i, ((d, &s), &b)) in crate::ops::bytes_mut(&mut out)
        .iter_mut()
        .zip(src)
        .zip(&blur)
        .enumerate()
    {
        if alpha && i % n == n - 1 {
            continue;
        }
        let s = f32::from(s);
        let diff = s - f32::from(b);
        if diff.abs() >= threshold {
            *d = (s + amount * diff + 0.5) as u8;
        }
    }
    out
}
