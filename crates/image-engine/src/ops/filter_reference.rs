//! Plain versions of the filters, kept for tests: the extended box passes sample by sample with
//! clamped indices (the fast loops in `filter.rs` must stay within one grey level of these), and
//! the exact gaussian convolution the box approximation is measured against.
#![allow(dead_code)]

use image::DynamicImage;

use super::BoxPass;

/// One extended-box pass over `len` samples read through `at(i)` (indices clamped to the
/// edges), in plain 64-bit arithmetic.
fn box_pass(len: usize, p: BoxPass, at: impl Fn(usize) -> u8) -> Vec<u8> {
    let l = p.l as i64;
    let sample = |i: i64| i64::from(at(i.clamp(0, len as i64 - 1) as usize));
    let extra = i64::from(p.extra as i32);
    (0..len as i64)
        .map(|x| {
            let window: i64 = (x - l..=x + l).map(sample).sum();
            let ends = sample(x - l - 1) + sample(x + l + 1);
            let v = window * i64::from(p.inner) + ends * i64::from(p.outer) + sample(x) * extra;
            ((v + (1 << (p.shift - 1))) >> p.shift) as u8
        })
        .collect()
}

/// The blurred bytes of an 8-bit image: the image padded with three reaches of repeated
/// edges, three horizontal passes, three vertical ones, the padding cut off again.
pub(super) fn blurred(img: &DynamicImage, sigma: f32) -> Vec<u8> {
    let n = usize::from(img.color().channel_count());
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w == 0 || h == 0 {
        return img.as_bytes().to_vec();
    }
    let p = BoxPass::for_sigma(sigma);
    let m = 3 * (p.l + 1);
    let (pw, ph) = (w + 2 * m, h + 2 * m);
    let src = img.as_bytes();
    let mut px: Vec<u8> = (0..pw * ph * n)
        .map(|i| {
            let (c, x, y) = (i % n, i / n % pw, i / n / pw);
            let (sx, sy) = (
                x.saturating_sub(m).min(w - 1),
                y.saturating_sub(m).min(h - 1),
            );
            src[(sy * w + sx) * n + c]
        })
        .collect();
    for _ in 0..3 {
        for y in 0..ph {
            for c in 0..n {
                let line = box_pass(pw, p, |x| px[(y * pw + x) * n + c]);
                for (x, v) in line.into_iter().enumerate() {
                    px[(y * pw + x) * n + c] = v;
                }
            }
        }
    }
    for _ in 0..3 {
        for x in 0..pw {
            for c in 0..n {
                let line = box_pass(ph, p, |y| px[(y * pw + x) * n + c]);
                for (y, v) in line.into_iter().enumerate() {
                    px[(y * pw + x) * n + c] = v;
                }
            }
        }
    }
    (0..w * h * n)
        .map(|i| {
            let (c, x, y) = (i % n, i / n % w, i / n / w);
            px[((y + m) * pw + x + m) * n + c]
        })
        .collect()
}

/// Extended-box blur with standard deviation `sigma`.
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

/// The exact gaussian of `sigma` (normalised, radius ⌈4σ⌉, edges repeated) of every channel,
/// unrounded: what the extended boxes approximate.
pub(super) fn exact_gaussian(img: &DynamicImage, sigma: f64) -> Vec<f64> {
    let n = usize::from(img.color().channel_count());
    let (w, h) = (img.width() as usize, img.height() as usize);
    let r = (4.0 * sigma).ceil() as i64;
    let mut k: Vec<f64> = (-r..=r)
        .map(|d| (-(d * d) as f64 / (2.0 * sigma * sigma)).exp())
        .collect();
    let total: f64 = k.iter().sum();
    for v in &mut k {
        *v /= total;
    }
    let src: Vec<f64> = img.as_bytes().iter().map(|&v| f64::from(v)).collect();
    let conv = |src: &[f64], len: usize, idx: &dyn Fn(usize) -> usize| -> Vec<f64> {
        (0..len as i64)
            .map(|i| {
                k.iter()
                    .zip(-r..=r)
                    .map(|(wt, d)| wt * src[idx((i + d).clamp(0, len as i64 - 1) as usize)])
                    .sum()
            })
            .collect()
    };
    let mut tmp = vec![0.0; src.len()];
    for y in 0..h {
        for c in 0..n {
            let line = conv(&src, w, &|x| (y * w + x) * n + c);
            for (x, v) in line.into_iter().enumerate() {
                tmp[(y * w + x) * n + c] = v;
            }
        }
    }
    let mut out = vec![0.0; src.len()];
    for x in 0..w {
        for c in 0..n {
            let line = conv(&tmp, h, &|y| (y * w + x) * n + c);
            for (y, v) in line.into_iter().enumerate() {
                out[(y * w + x) * n + c] = v;
            }
        }
    }
    out
}
