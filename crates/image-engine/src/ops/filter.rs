//! Gaussian blur and unsharp mask: a separable convolution whose inner loops are contiguous
//! multiply-adds over slices (no per-sample index arithmetic or bounds checks, so the compiler
//! vectorises them), with a ring of blurred rows so memory stays at a few rows beyond the output.
//! `filter_reference.rs` keeps the plain versions these are tested against.

use image::DynamicImage;

/// Normalised gaussian weights for `sigma`, radius ⌈3σ⌉.
fn kernel(sigma: f32) -> Vec<f32> {
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

/// Blurs one row of `n`-channel pixels horizontally into `out` (edge pixels repeat).
fn blur_row(row: &[u8], n: usize, k: &[f32], pad: &mut Vec<f32>, out: &mut [f32]) {
    let r = k.len() / 2;
    let w = row.len() / n;
    pad.clear();
    pad.resize((w + 2 * r) * n, 0.0);
    let (left, rest) = pad.split_at_mut(r * n);
    let (mid, right) = rest.split_at_mut(w * n);
    for (p, &v) in mid.iter_mut().zip(row) {
        *p = f32::from(v);
    }
    let (first, last) = (&row[..n], &row[row.len() - n..]);
    for px in left.chunks_exact_mut(n) {
        for (p, &v) in px.iter_mut().zip(first) {
            *p = f32::from(v);
        }
    }
    for px in right.chunks_exact_mut(n) {
        for (p, &v) in px.iter_mut().zip(last) {
            *p = f32::from(v);
        }
    }
    out.fill(0.0);
    for (j, &wt) in k.iter().enumerate() {
        for (o, s) in out.iter_mut().zip(&pad[j * n..]) {
            *o += wt * s;
        }
    }
}

/// Columns summed at once by the vertical pass: the partial sums stay in registers while the
/// kernel's rows stream past.
const BLOCK: usize = 64;

/// Gaussian-blurs every channel of an 8-bit image, calling `emit(y, blurred_row)` for each row
/// in order.
fn convolve(img: &DynamicImage, sigma: f32, mut emit: impl FnMut(usize, &[f32])) {
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
    let mut slots = vec![0usize; k.len()];
    for y in 0..h {
        for (j, slot_of) in slots.iter_mut().enumerate() {
            let sy = (y + j).saturating_sub(r).min(h - 1);
            let slot = sy % ring_len;
            if ring_row[slot] != Some(sy) {
                let row = &mut ring[slot * stride..(slot + 1) * stride];
                blur_row(&bytes[sy * stride..(sy + 1) * stride], n, &k, &mut pad, row);
                ring_row[slot] = Some(sy);
            }
            *slot_of = slot;
        }
        for (b, out) in acc.chunks_mut(BLOCK).enumerate() {
            let at = slots.iter().map(|&s| s * stride + b * BLOCK);
            let mut sum = [0f32; BLOCK];
            let sum = &mut sum[..out.len()];
            for (&wt, start) in k.iter().zip(at) {
                for (a, s) in sum.iter_mut().zip(&ring[start..start + out.len()]) {
                    *a += wt * s;
                }
            }
            out.copy_from_slice(sum);
        }
        emit(y, &acc);
    }
}

/// From this sigma on, three box blurs stand in for the gaussian (as Pillow does): the cost no
/// longer grows with the radius, and the difference from a true gaussian is below a grey level
/// on photos. Smaller sigmas keep the exact kernel, where three boxes would be too coarse.
const BOX_FROM_SIGMA: f32 = 2.0;

/// Widths of three box blurs whose succession approximates a gaussian of `sigma`
/// (Kovesi, "Fast almost-Gaussian filtering").
fn box_widths(sigma: f32) -> [usize; 3] {
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

/// `sum / width`, rounded, for box sums: multiplies by a 24-bit reciprocal instead of dividing
/// (an integer division per sample cost more than the whole rest of a pass). Up to a width of
/// 65 535 the product fits in 32 bits (255·2²⁴ + 2²³ + 128·width < 2³²), which vectorises far
/// better than 64-bit multiplies; wider boxes take the 64-bit path.
#[derive(Clone, Copy)]
struct Divider {
    inv: u64,
    narrow: bool,
}

impl Divider {
    fn new(width: usize) -> Self {
        let width = width as u64;
        Self {
            inv: ((1u64 << 24) + width / 2) / width,
            narrow: width <= 65_535,
        }
    }

    /// Writes `sums[i] / width` into `out[i]`.
    fn divide(self, sums: &[u32], out: &mut [u8]) {
        if self.narrow {
            let inv = self.inv as u32;
            for (d, &s) in out.iter_mut().zip(sums) {
                *d = ((s * inv + (1 << 23)) >> 24) as u8;
            }
        } else {
            for (d, &s) in out.iter_mut().zip(sums) {
                *d = ((u64::from(s) * self.inv + (1 << 23)) >> 24) as u8;
            }
        }
    }

    fn one(self, sum: u32) -> u8 {
        ((u64::from(sum) * self.inv + (1 << 23)) >> 24) as u8
    }
}

/// One horizontal box pass of radius `r` over interleaved rows (edges repeat). Each channel of
/// a row is copied into an edge-padded line first, so the running sum reads two plain slices.
fn box_h(src: &[u8], dst: &mut [u8], w: usize, n: usize, r: usize) {
    let div = Divider::new(2 * r + 1);
    let mut line = vec![0u8; w + 2 * r + 1];
    for (row, out) in src.chunks_exact(w * n).zip(dst.chunks_exact_mut(w * n)) {
        if n == 1 {
            // Grey (W3's case): plain slices, no strided iterators.
            line[r..r + w].copy_from_slice(row);
            slide(&mut line, r, w, div, out.iter_mut());
            continue;
        }
        for c in 0..n {
            for (p, &v) in line[r..r + w].iter_mut().zip(row.iter().skip(c).step_by(n)) {
                *p = v;
            }
            slide(&mut line, r, w, div, out.iter_mut().skip(c).step_by(n));
        }
    }
}

/// Pads `line` (its `w` samples at `r..r + w`) with repeated edges and writes the running box
/// sums of radius `r` to `out`.
fn slide<'a>(
    line: &mut [u8],
    r: usize,
    w: usize,
    div: Divider,
    out: impl Iterator<Item = &'a mut u8>,
) {
    let (left, rest) = line.split_at_mut(r);
    let (mid, right) = rest.split_at_mut(w);
    left.fill(mid[0]);
    right.fill(mid[w - 1]);
    let mut sum: u32 = line[..=2 * r].iter().map(|&v| u32::from(v)).sum();
    let adds = &line[2 * r + 1..];
    let subs = &line[..w];
    for ((o, &a), &s) in out.zip(adds).zip(subs) {
        *o = div.one(sum);
        sum = sum + u32::from(a) - u32::from(s);
    }
}

/// One vertical box pass of radius `r`: a running sum per column, updated a whole row at a time
/// so the inner loops are contiguous.
fn box_v(src: &[u8], dst: &mut [u8], stride: usize, h: usize, r: usize) {
    let div = Divider::new(2 * r + 1);
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
    for (y, out) in dst.chunks_exact_mut(stride).take(h).enumerate() {
        div.divide(&sum, out);
        let (add, sub) = (row(y + r + 1), row(y.saturating_sub(r)));
        for ((s, &a), &b) in sum.iter_mut().zip(add).zip(sub) {
            *s = *s + u32::from(a) - u32::from(b);
        }
    }
}

/// Rounds a row of blurred samples to bytes (`as` saturates, so adding 0.5 rounds and clamps
/// in one step).
fn round_row(row: &[f32], out: &mut [u8]) {
    for (d, v) in out.iter_mut().zip(row) {
        *d = (v + 0.5) as u8;
    }
}

/// The blurred bytes of an 8-bit image (every channel, alpha included).
fn blurred(img: &DynamicImage, sigma: f32) -> Vec<u8> {
    let n = usize::from(img.color().channel_count());
    let (w, h) = (img.width() as usize, img.height() as usize);
    let stride = w * n;
    if w == 0 || h == 0 {
        return img.as_bytes().to_vec();
    }
    if sigma < BOX_FROM_SIGMA {
        let mut out = vec![0u8; stride * h];
        convolve(img, sigma, |y, row| {
            round_row(row, &mut out[y * stride..(y + 1) * stride]);
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

/// An image like `like` (size and layout) holding `bytes`.
fn with_bytes(like: &DynamicImage, bytes: Vec<u8>) -> DynamicImage {
    let (w, h) = (like.width(), like.height());
    let rebuilt = match like {
        DynamicImage::ImageLuma8(_) => {
            image::GrayImage::from_raw(w, h, bytes).map(DynamicImage::ImageLuma8)
        }
        DynamicImage::ImageLumaA8(_) => {
            image::GrayAlphaImage::from_raw(w, h, bytes).map(DynamicImage::ImageLumaA8)
        }
        DynamicImage::ImageRgb8(_) => {
            image::RgbImage::from_raw(w, h, bytes).map(DynamicImage::ImageRgb8)
        }
        DynamicImage::ImageRgba8(_) => {
            image::RgbaImage::from_raw(w, h, bytes).map(DynamicImage::ImageRgba8)
        }
        // Not reached: the engine narrows every source to the four 8-bit layouts at decode.
        _ => None,
    };
    rebuilt.unwrap_or_else(|| like.clone())
}

/// Gaussian blur with standard deviation `sigma` pixels.
pub(crate) fn blur(img: &DynamicImage, sigma: f32) -> DynamicImage {
    with_bytes(img, blurred(img, sigma))
}

/// The unsharp mask of one run of samples against their (rounded) blur.
fn sharpen_run(out: &mut [u8], src: &[u8], blur: &[u8], amount: f32, threshold: f32) {
    for ((d, &s), &b) in out.iter_mut().zip(src).zip(blur) {
        let sf = f32::from(s);
        let diff = sf - f32::from(b);
        let sharp = (sf + amount * diff + 0.5) as u8;
        *d = if diff.abs() >= threshold { sharp } else { s };
    }
}

/// Unsharp mask: adds `amount` × (image − blur) where that difference reaches `threshold`.
/// Alpha is left as it is.
pub(crate) fn sharpen(img: &DynamicImage, sigma: f32, amount: f32, threshold: u8) -> DynamicImage {
    let n = usize::from(img.color().channel_count());
    let src = img.as_bytes();
    let threshold = f32::from(threshold);
    let mut out = vec![0u8; src.len()];
    let stride = img.width() as usize * n;
    if sigma < BOX_FROM_SIGMA && stride > 0 {
        // The blur is consumed row by row as it is made: no blurred image is ever stored.
        let mut rounded = vec![0u8; stride];
        convolve(img, sigma, |y, row| {
            round_row(row, &mut rounded);
            let at = y * stride..(y + 1) * stride;
            sharpen_run(&mut out[at.clone()], &src[at], &rounded, amount, threshold);
        });
    } else {
        sharpen_run(&mut out, src, &blurred(img, sigma), amount, threshold);
    }
    if img.color().has_alpha() {
        for (d, s) in out.chunks_exact_mut(n).zip(src.chunks_exact(n)) {
            d[n - 1] = s[n - 1];
        }
    }
    with_bytes(img, out)
}

#[cfg(test)]
#[path = "filter_reference.rs"]
mod reference;
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blur_keeps_a_flat_image_flat() {
        let img = DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
            30,
            20,
            image::Rgb([10, 100, 200]),
        ));
        assert_eq!(blur(&img, 2.0).as_bytes(), img.as_bytes());
    }

    #[test]
    fn blur_spreads_a_single_bright_pixel() {
        let mut g = image::GrayImage::new(21, 21);
        g.put_pixel(10, 10, image::Luma([255]));
        // 1.5 takes the exact kernel, 2.5 the three boxes: both spread symmetrically.
        for sigma in [1.5, 2.5] {
            let out = blur(&DynamicImage::ImageLuma8(g.clone()), sigma);
            let out = out.as_luma8().unwrap();
            assert!(out.get_pixel(10, 10)[0] < 255, "{sigma}");
            assert!(out.get_pixel(11, 10)[0] > 0, "{sigma}");
            assert_eq!(out.get_pixel(11, 10), out.get_pixel(9, 10), "{sigma}");
            assert_eq!(out.get_pixel(10, 11), out.get_pixel(10, 9), "{sigma}");
        }
    }

    #[test]
    fn the_box_approximation_stays_close_to_the_true_gaussian() {
        // Photo-like content: smooth shading with some texture (a sawtooth at the Nyquist
        // limit would show the boxes' side lobes, which photos do not have).
        let img = DynamicImage::ImageLuma8(image::GrayImage::from_fn(64, 48, |x, y| {
            let v = 128.0 + 60.0 * (x as f32 * 0.3).sin() * (y as f32 * 0.2).cos() + x as f32;
            image::Luma([v as u8])
        }));
        let exact = {
            let mut out = vec![0u8; 64 * 48];
            convolve(&img, 3.0, |y, row| {
                for (d, v) in out[y * 64..(y + 1) * 64].iter_mut().zip(row) {
                    *d = (v + 0.5) as u8;
                }
            });
            out
        };
        let approx = blurred(&img, 3.0);
        let diffs: Vec<u8> = exact
            .iter()
            .zip(&approx)
            .map(|(a, b)| a.abs_diff(*b))
            .collect();
        let worst = diffs.iter().copied().max().unwrap_or(0);
        let mean = diffs.iter().map(|&d| f64::from(d)).sum::<f64>() / diffs.len() as f64;
        assert!(worst <= 8 && mean < 2.0, "worst {worst}, mean {mean:.2}");
        assert_eq!(box_widths(2.0), [3, 3, 5]);
    }

    /// Photo-like test content of odd size with `n` channels (alpha varying too).
    fn textured(w: u32, h: u32, n: usize) -> DynamicImage {
        let bytes: Vec<u8> = (0..w * h)
            .flat_map(|i| {
                let (x, y) = ((i % w) as f32, (i / w) as f32);
                (0..n).map(move |c| {
                    let v = 120.0
                        + 70.0 * (x * 0.31 + c as f32).sin() * (y * 0.17).cos()
                        + 40.0 * ((x * y * 0.013).sin())
                        + if (x as u32 / 5 + y as u32 / 7).is_multiple_of(2) {
                            20.0
                        } else {
                            -20.0
                        };
                    v.clamp(0.0, 255.0) as u8
                })
            })
            .collect();
        match n {
            1 => DynamicImage::ImageLuma8(image::GrayImage::from_raw(w, h, bytes).unwrap()),
            2 => DynamicImage::ImageLumaA8(image::GrayAlphaImage::from_raw(w, h, bytes).unwrap()),
            3 => DynamicImage::ImageRgb8(image::RgbImage::from_raw(w, h, bytes).unwrap()),
            _ => DynamicImage::ImageRgba8(image::RgbaImage::from_raw(w, h, bytes).unwrap()),
        }
    }

    fn worst_diff(a: &DynamicImage, b: &DynamicImage) -> u8 {
        assert_eq!(
            (a.width(), a.height(), a.color()),
            (b.width(), b.height(), b.color())
        );
        a.as_bytes()
            .iter()
            .zip(b.as_bytes())
            .map(|(x, y)| x.abs_diff(*y))
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn the_fast_loops_match_the_plain_reference_within_one_level() {
        // Sizes below, at and well above the box and kernel radii, and above one block of the
        // vertical pass; exact-kernel sigmas and box sigmas; every layout.
        for (w, h) in [(1, 1), (3, 2), (7, 5), (67, 13), (130, 41)] {
            for n in 1..=4 {
                let img = textured(w, h, n);
                for sigma in [0.5, 1.0, 1.9, 2.0, 3.3, 8.0] {
                    let fast = blur(&img, sigma);
                    let plain = reference::blur(&img, sigma);
                    let d = worst_diff(&fast, &plain);
                    assert!(d <= 1, "blur {w}x{h}x{n} σ{sigma}: off by {d}");
                    for (amount, threshold) in [(1.0, 0), (2.5, 10)] {
                        let fast = sharpen(&img, sigma, amount, threshold);
                        let plain = reference::sharpen(&img, sigma, amount, threshold);
                        let d = worst_diff(&fast, &plain);
                        assert!(d <= 1, "sharpen {w}x{h}x{n} σ{sigma} {amount}: off by {d}");
                    }
                }
            }
        }
    }

    #[test]
    fn sharpen_increases_edge_contrast() {
        let g =
            image::GrayImage::from_fn(20, 4, |x, _| image::Luma([if x < 10 { 100 } else { 150 }]));
        let out = sharpen(&DynamicImage::ImageLuma8(g), 1.0, 1.0, 0);
        let out = out.as_luma8().unwrap();
        assert!(out.get_pixel(9, 0)[0] < 100);
        assert!(out.get_pixel(10, 0)[0] > 150);
    }
}
