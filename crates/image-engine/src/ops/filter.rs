//! Gaussian blur and unsharp mask by the extended box approximation of the gaussian (Gwosdek,
//! Grewenig, Bruhn, Weickert, "Theoretical foundations of gaussian convolution by extended box
//! filtering", SSVM 2011), the filter Pillow's `GaussianBlur` and `UnsharpMask` use: along each
//! axis, three passes of a box whose radius may be fractional (the outermost sample on each side
//! counts in part), sized so the three passes have exactly the gaussian's variance. A pass costs
//! a few operations per sample whatever the sigma and rounds to 8 bits, as Pillow's do; unlike
//! Pillow's, edge pixels repeat once around the source, not after every pass. The inner loops are
//! contiguous sums over slices (no per-sample index arithmetic), so the compiler vectorises them;
//! `filter_reference.rs` keeps the plain per-sample versions they are tested against.

use image::DynamicImage;

/// Box passes per axis: three is the classic trade (Wells 1986) between closeness to a
/// gaussian and cost.
const PASSES: usize = 3;

/// Up to this whole radius a pass sums its taps directly in 16-bit lanes (8 per SSE2 register;
/// a 32-bit multiply has no single SSE2 instruction): weights then have 8 fractional bits, so
/// the sum of 255 × 256 still fits. Wider boxes take running sums with 24-bit weights, where
/// 8-bit weights would be too coarse.
const NARROW_MAX_L: usize = 2;

/// Most taps of a narrow pass: `2 l + 3`.
const NARROW_TAPS: usize = 2 * NARROW_MAX_L + 3;

/// One pass of an extended box in fixed point (weights in units of 2^-`shift`): the `2 l + 1`
/// samples around the centre weigh `inner` each, the next one on each side `outer`, and the
/// centre `extra` on top — the rounding remainder that makes the weights sum to exactly 1, so
/// flat areas stay flat. `extra` is tiny and may be negative: it is stored wrapped, and all the
/// sums wrap, which is exact because the true result is in range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct BoxPass {
    pub(super) l: usize,
    pub(super) inner: u32,
    pub(super) outer: u32,
    pub(super) extra: u32,
    pub(super) shift: u32,
}

impl BoxPass {
    /// The pass of which `PASSES` in succession have the variance `sigma²`.
    pub(super) fn for_sigma(sigma: f32) -> Self {
        let (l, a) = extended_radius(f64::from(sigma.max(0.0)));
        let shift = if l <= NARROW_MAX_L { 8 } else { 24 };
        let one = 1i64 << shift;
        let total = 2.0 * l as f64 + 1.0 + 2.0 * a;
        let inner = (one as f64 / total).round() as i64;
        let outer = (one as f64 * a / total).round() as i64;
        let extra = one - (2 * l as i64 + 1) * inner - 2 * outer;
        Self {
            l,
            inner: inner as u32,
            outer: outer as u32,
            // Two's complement: `extra` is used only in wrapping arithmetic.
            extra: extra as u32,
            shift,
        }
    }

    /// Whether the pass runs in 16-bit lanes.
    fn narrow(self) -> bool {
        self.shift == 8
    }
}

/// Whole radius `l` and fraction `a` (in [0, 1)) of the extended box of which `PASSES`
/// in succession have the variance `sigma²` (Gwosdek et al., eqs. 11 and 14).
pub(super) fn extended_radius(sigma: f64) -> (usize, f64) {
    let s2 = sigma * sigma / PASSES as f64;
    let l = (((12.0 * s2 + 1.0).sqrt() - 1.0) / 2.0).floor();
    let a = (2.0 * l + 1.0) * (l * (l + 1.0) - 3.0 * s2) / (6.0 * (s2 - (l + 1.0) * (l + 1.0)));
    (l as usize, a.clamp(0.0, 1.0))
}

/// One narrow pass: `taps` are the `2 l + 3` input runs (outer ones first and last, the centre
/// in the middle), each at least as long as `out`.
fn stencil16(taps: &[&[u8]], out: &mut [u8], p: BoxPass) {
    // A fixed tap count lets the compiler unroll the taps and vectorise along the run.
    match taps.len() {
        3 => stencil16_k::<3>(taps, out, p),
        5 => stencil16_k::<5>(taps, out, p),
        _ => stencil16_k::<NARROW_TAPS>(taps, out, p),
    }
}

/// [`stencil16`] for `K` taps.
fn stencil16_k<const K: usize>(taps: &[&[u8]], out: &mut [u8], p: BoxPass) {
    let len = out.len();
    let taps: [&[u8]; K] = std::array::from_fn(|j| &taps[j][..len]);
    let (inner, outer, extra) = (p.inner as u16, p.outer as u16, p.extra as u16);
    for (i, o) in out.iter_mut().enumerate() {
        let mut window = 0u16;
        for tap in &taps[1..K - 1] {
            window += u16::from(tap[i]);
        }
        let ends = u16::from(taps[0][i]) + u16::from(taps[K - 1][i]);
        let v = window
            .wrapping_mul(inner)
            .wrapping_add(ends.wrapping_mul(outer))
            .wrapping_add(u16::from(taps[K / 2][i]).wrapping_mul(extra))
            .wrapping_add(128);
        *o = (v >> 8) as u8;
    }
}

/// The margin, in pixels, each pass consumes on either side: its reach `l + 1`.
fn reach(p: BoxPass) -> usize {
    p.l + 1
}

/// Copies the `w` pixels of `row` (`n` bytes each) into the middle of `line`, repeating the
/// first and last over the margins either side.
fn pad_line(row: &[u8], line: &mut [u8], n: usize) {
    let margin = (line.len() - row.len()) / 2;
    let (left, rest) = line.split_at_mut(margin);
    let (mid, right) = rest.split_at_mut(row.len());
    mid.copy_from_slice(row);
    for px in left.chunks_exact_mut(n) {
        px.copy_from_slice(&row[..n]);
    }
    for px in right.chunks_exact_mut(n) {
        px.copy_from_slice(&row[row.len() - n..]);
    }
}

/// `PASSES` narrow horizontal passes over one row of interleaved `n`-channel pixels, in the two
/// line buffers `a` and `b` (so the row stays in L1 through its passes). The row is padded once
/// with `PASSES` reaches of repeated edge pixels, and each pass consumes one reach: the passes
/// then see the same edges a true gaussian does (edges repeated once, not after every pass).
fn narrow_h(row: &[u8], out: &mut [u8], n: usize, p: BoxPass, a: &mut Vec<u8>, b: &mut Vec<u8>) {
    let stride = row.len();
    let step = reach(p) * n;
    a.resize(stride + 2 * PASSES * step, 0);
    b.resize(a.len(), 0);
    pad_line(row, a, n);
    for pass in 1..=PASSES {
        // The pass's output: the row plus the reaches the later passes still consume.
        let len = stride + 2 * (PASSES - pass) * step;
        let taps: [&[u8]; NARROW_TAPS] =
            std::array::from_fn(|j| a.get(j * n..j * n + len).unwrap_or(&[]));
        let taps = &taps[..2 * p.l + 3];
        if pass == PASSES {
            stencil16(taps, out, p);
        } else {
            stencil16(taps, &mut b[..len], p);
            std::mem::swap(a, b);
        }
    }
}

/// The last `slots` rows made by one stage of the narrow pipeline, by image row (rows above
/// and below the image included), `next` the first row not made yet.
struct Ring {
    buf: Vec<u8>,
    stride: usize,
    next: isize,
}

impl Ring {
    fn new(stride: usize, slots: usize, first: isize) -> Self {
        Self {
            buf: vec![0; stride * slots],
            stride,
            next: first,
        }
    }

    fn at(&self, y: isize) -> usize {
        y.rem_euclid((self.buf.len() / self.stride) as isize) as usize * self.stride
    }

    fn row(&self, y: isize) -> &[u8] {
        let at = self.at(y);
        &self.buf[at..at + self.stride]
    }

    fn row_mut(&mut self, y: isize) -> &mut [u8] {
        let at = self.at(y);
        &mut self.buf[at..at + self.stride]
    }
}

/// The narrow blur streamed row by row: `rings[0]` holds horizontally blurred source rows,
/// `rings[k]` the rows of vertical pass `k`, each made when the next stage first needs it. The
/// image is read once and written once (no intermediate images), and the rows in flight
/// (`PASSES` × `2 l + 3`) stay in cache.
struct Stream<'a> {
    src: &'a [u8],
    h: usize,
    n: usize,
    p: BoxPass,
    rings: Vec<Ring>,
    a: Vec<u8>,
    b: Vec<u8>,
}

impl Stream<'_> {
    /// Makes the rows of stage `k` up to `upto`.
    fn advance(&mut self, k: usize, upto: isize) {
        let r = reach(self.p) as isize;
        let stride = self.rings[k].stride;
        // Stage 0 holds the image's own rows: above it, row 0 stands in; below, row h - 1.
        let upto = if k == 0 {
            upto.clamp(0, self.h as isize - 1)
        } else {
            upto
        };
        while self.rings[k].next <= upto {
            let y = self.rings[k].next;
            if k == 0 {
                let at = y as usize * stride;
                let (src, out) = (&self.src[at..at + stride], self.rings[0].row_mut(y));
                narrow_h(src, out, self.n, self.p, &mut self.a, &mut self.b);
            } else {
                self.advance(k - 1, y + r);
                let (before, from_k) = self.rings.split_at_mut(k);
                let taps = vertical_taps(&before[k - 1], k == 1, self.h, y, r);
                stencil16(&taps[..2 * r as usize + 1], from_k[0].row_mut(y), self.p);
            }
            self.rings[k].next += 1;
        }
    }
}

/// The rows `y - r..=y + r` of `ring` for a vertical pass; `clamp`: the ring holds the image's
/// own rows, whose edge rows repeat.
fn vertical_taps(ring: &Ring, clamp: bool, h: usize, y: isize, r: isize) -> [&[u8]; NARROW_TAPS] {
    std::array::from_fn(|j| {
        let sy = y + j as isize - r;
        let sy = if clamp {
            sy.clamp(0, h as isize - 1)
        } else {
            sy
        };
        if j as isize <= 2 * r {
            ring.row(sy)
        } else {
            &[]
        }
    })
}

/// Narrow blur of `src` (`w` × `h`, `n` channels), calling `emit(y, row)` for each row in order.
fn narrow_blur(
    src: &[u8],
    w: usize,
    h: usize,
    n: usize,
    p: BoxPass,
    mut emit: impl FnMut(usize, &[u8]),
) {
    let stride = w * n;
    let r = reach(p) as isize;
    let slots = 2 * reach(p) + 1;
    let mut stream = Stream {
        src,
        h,
        n,
        p,
        // Stage k's first row is above the image by the reaches the later passes consume.
        rings: (0..PASSES)
            .map(|k| {
                let first = if k == 0 { 0 } else { (PASSES - k) as isize * r };
                Ring::new(stride, slots, -first)
            })
            .collect(),
        a: Vec::new(),
        b: Vec::new(),
    };
    let mut out = vec![0u8; stride];
    for y in 0..h as isize {
        stream.advance(PASSES - 1, y + r);
        let taps = vertical_taps(&stream.rings[PASSES - 1], PASSES == 1, h, y, r);
        stencil16(&taps[..2 * r as usize + 1], &mut out, p);
        emit(y as usize, &out);
    }
}

/// Vertical counterpart of the padded lines: `src` holds the image's rows `-from..h + from`
/// (`from` = 0: the image itself, edge rows then repeat), `dst` gets rows `-to..h + to`
/// with `to` = `from` − reach, or any `to` when `from` is 0.
struct Rows {
    h: usize,
    from: usize,
    to: usize,
}

impl Rows {
    /// The index in `src` of image row `y` (relative to `dst`'s first row) + `dy`, clamped.
    fn src_row(&self, y: usize, dy: isize) -> usize {
        let last = self.h + 2 * self.from - 1;
        (y as isize + dy + self.from as isize - self.to as isize).clamp(0, last as isize) as usize
    }

    /// Rows of `dst`.
    fn out_rows(&self) -> usize {
        self.h + 2 * self.to
    }
}

/// The weighted sum of a wide pass, rounded: `window` is the sum of the `2 l + 1` inner
/// samples, `ends` of the two outer ones.
fn wide_one(p: BoxPass, window: u32, ends: u32, centre: u8) -> u8 {
    let v = window
        .wrapping_mul(p.inner)
        .wrapping_add(ends.wrapping_mul(p.outer))
        .wrapping_add(u32::from(centre).wrapping_mul(p.extra))
        .wrapping_add(1 << 23);
    (v >> 24) as u8
}

/// One wide pass along `line` into `out` (`line` is one reach longer than `out` at each end),
/// by a running sum of the inner window.
fn wide_line<'a>(line: &[u8], p: BoxPass, out: impl ExactSizeIterator<Item = &'a mut u8>) {
    let (l, len) = (p.l, out.len());
    let mut window: u32 = line[1..2 * l + 2].iter().map(|&v| u32::from(v)).sum();
    // For output x: the left end line[x], the first inner sample line[x + 1] (it leaves the
    // window next), the centre line[x + l + 1] and the right end line[x + 2l + 2] (it enters).
    let lefts = &line[..len];
    let leaving = &line[1..1 + len];
    let centres = &line[l + 1..l + 1 + len];
    let rights = &line[2 * l + 2..2 * l + 2 + len];
    for ((((o, &f), &g), &c), &r) in out.zip(lefts).zip(leaving).zip(centres).zip(rights) {
        *o = wide_one(p, window, u32::from(f) + u32::from(r), c);
        window = window + u32::from(r) - u32::from(g);
    }
}

/// `PASSES` wide horizontal passes over each row, one channel at a time in two line buffers
/// padded as in [`narrow_h`].
fn wide_h(src: &[u8], dst: &mut [u8], w: usize, n: usize, p: BoxPass) {
    let stride = w * n;
    let step = reach(p);
    let mut a = vec![0u8; w + 2 * PASSES * step];
    let mut b = a.clone();
    let mut channel = vec![0u8; w];
    for (row, out) in src.chunks_exact(stride).zip(dst.chunks_exact_mut(stride)) {
        for c in 0..n {
            for (d, &v) in channel.iter_mut().zip(row.iter().skip(c).step_by(n)) {
                *d = v;
            }
            pad_line(&channel, &mut a, 1);
            for pass in 1..=PASSES {
                let len = w + 2 * (PASSES - pass) * step;
                if pass == PASSES {
                    wide_line(&a, p, out.iter_mut().skip(c).step_by(n));
                } else {
                    wide_line(&a, p, b[..len].iter_mut());
                    std::mem::swap(&mut a, &mut b);
                }
            }
        }
    }
}

/// One wide vertical pass: a running sum per column, updated a whole row at a time so the
/// inner loops are contiguous.
fn wide_v(src: &[u8], dst: &mut [u8], stride: usize, rows: &Rows, p: BoxPass) {
    let l = p.l as isize;
    let row = |y: usize, dy: isize| {
        let sy = rows.src_row(y, dy);
        &src[sy * stride..(sy + 1) * stride]
    };
    let mut window = vec![0u32; stride];
    for dy in -l..=l {
        for (s, &v) in window.iter_mut().zip(row(0, dy)) {
            *s += u32::from(v);
        }
    }
    for (y, out) in dst
        .chunks_exact_mut(stride)
        .take(rows.out_rows())
        .enumerate()
    {
        let (left, centre, right) = (row(y, -l - 1), row(y, 0), row(y, l + 1));
        for ((((o, &s), &f), &c), &r) in
            out.iter_mut().zip(&window).zip(left).zip(centre).zip(right)
        {
            *o = wide_one(p, s, u32::from(f) + u32::from(r), c);
        }
        // The right end enters the window, its first row leaves.
        for ((s, &r), &g) in window.iter_mut().zip(right).zip(row(y, -l)) {
            *s = *s + u32::from(r) - u32::from(g);
        }
    }
}

/// The wide blur: `PASSES` horizontal passes, then `PASSES` vertical ones over whole images.
/// Edges repeat once, around the source (see [`narrow_h`]): the intermediate images carry the
/// rows above and below that the later passes consume.
fn wide_blur(src: &[u8], w: usize, h: usize, n: usize, p: BoxPass) -> Vec<u8> {
    let stride = w * n;
    // Two buffers for all six passes, each as tall as the tallest intermediate image.
    let tallest = stride * (h + 2 * (PASSES - 1) * reach(p));
    let mut a = vec![0u8; tallest];
    let mut b = vec![0u8; tallest];
    wide_h(src, &mut a[..stride * h], w, n, p);
    let mut from = 0;
    for pass in 1..=PASSES {
        let rows = Rows {
            h,
            from,
            to: (PASSES - pass) * reach(p),
        };
        let (input, output) = (
            &a[..stride * (h + 2 * from)],
            &mut b[..stride * rows.out_rows()],
        );
        wide_v(input, output, stride, &rows, p);
        std::mem::swap(&mut a, &mut b);
        from = rows.to;
    }
    a.truncate(stride * h);
    a
}

/// Blurs every channel of an 8-bit image (alpha included), calling `emit(y, row)` for each
/// blurred row in order: `PASSES` horizontal passes, then `PASSES` vertical ones, each rounded
/// to 8 bits.
fn convolve(img: &DynamicImage, sigma: f32, mut emit: impl FnMut(usize, &[u8])) {
    let n = usize::from(img.color().channel_count());
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w == 0 || h == 0 {
        return;
    }
    let p = BoxPass::for_sigma(sigma);
    if p.narrow() {
        narrow_blur(img.as_bytes(), w, h, n, p, emit);
    } else {
        let blurred = wide_blur(img.as_bytes(), w, h, n, p);
        for (y, row) in blurred.chunks_exact(w * n).enumerate() {
            emit(y, row);
        }
    }
}

/// The blurred bytes of an 8-bit image.
fn blurred(img: &DynamicImage, sigma: f32) -> Vec<u8> {
    let mut out = img.as_bytes().to_vec();
    let stride = out.len() / (img.height() as usize).max(1);
    convolve(img, sigma, |y, row| {
        out[y * stride..(y + 1) * stride].copy_from_slice(row);
    });
    out
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

/// Gaussian blur with standard deviation `sigma` pixels (extended boxes, see the module doc).
pub(crate) fn blur(img: &DynamicImage, sigma: f32) -> DynamicImage {
    with_bytes(img, blurred(img, sigma))
}

/// Fractional bits of the sharpen's amount: 11 keeps 10 × 2^11 within an `i16`, so the
/// products below are `i16 × i16` (two SSE2 instructions for 8 lanes), and moves
/// `amount × diff` by at most 255 / 2^12 ≈ 0.06 before rounding.
const AMOUNT_BITS: u32 = 11;

/// The unsharp mask of a run of samples: `src + amount × (src − blur)`, rounded and clamped,
/// where `|src − blur|` reaches `threshold`; `amount` in units of 2^-`AMOUNT_BITS`.
fn sharpen_run(out: &mut [u8], src: &[u8], blur: &[u8], amount: i32, threshold: i32) {
    for ((d, &s), &b) in out.iter_mut().zip(src).zip(blur) {
        let s = i32::from(s);
        let diff = s - i32::from(b);
        let sharp = s + ((diff * amount + (1 << (AMOUNT_BITS - 1))) >> AMOUNT_BITS);
        *d = if diff.abs() >= threshold {
            sharp.clamp(0, 255) as u8
        } else {
            s as u8
        };
    }
}

/// Unsharp mask: adds `amount` × (image − blur) where that difference reaches `threshold`.
/// Alpha is left as it is.
pub(crate) fn sharpen(img: &DynamicImage, sigma: f32, amount: f32, threshold: u8) -> DynamicImage {
    let n = usize::from(img.color().channel_count());
    let src = img.as_bytes();
    let amount = (amount * (1 << AMOUNT_BITS) as f32)
        .round()
        .clamp(0.0, f32::from(i16::MAX)) as i32;
    let threshold = i32::from(threshold);
    let mut out = vec![0u8; src.len()];
    let stride = src.len() / (img.height() as usize).max(1);
    // The blur is consumed row by row as it is made: no blurred image is stored.
    convolve(img, sigma, |y, blur| {
        let at = y * stride..(y + 1) * stride;
        sharpen_run(&mut out[at.clone()], &src[at], blur, amount, threshold);
    });
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
        // 1.5 takes the 16-bit passes, 4.5 the 32-bit ones: both spread symmetrically.
        for sigma in [1.5, 4.5] {
            let out = blur(&DynamicImage::ImageLuma8(g.clone()), sigma);
            let out = out.as_luma8().unwrap();
            assert!(out.get_pixel(10, 10)[0] < 255, "{sigma}");
            assert!(out.get_pixel(11, 10)[0] > 0, "{sigma}");
            assert_eq!(out.get_pixel(11, 10), out.get_pixel(9, 10), "{sigma}");
            assert_eq!(out.get_pixel(10, 11), out.get_pixel(10, 9), "{sigma}");
        }
    }

    /// The variance of `PASSES` passes of `p`, from its fixed-point weights (the centre's
    /// extra weight sits at distance 0 and adds nothing).
    fn variance(p: BoxPass) -> f64 {
        let inner: f64 = (1..=p.l).map(|d| 2.0 * (d * d) as f64).sum();
        let ends = 2.0 * ((p.l + 1) * (p.l + 1)) as f64;
        let pass =
            (f64::from(p.inner) * inner + f64::from(p.outer) * ends) / f64::from(1u32 << p.shift);
        PASSES as f64 * pass
    }

    #[test]
    fn the_box_passes_have_the_gaussians_variance() {
        // Pillow's σ 1: each pass is (1, 4, 1) / 6 — in 8-bit fixed point 43, 171 − 1, 43.
        let p = BoxPass::for_sigma(1.0);
        assert_eq!((p.l, p.inner, p.outer, p.extra as i32), (0, 171, 43, -1));
        // σ 2: whole radius 1 plus 0.375 of the next sample on each side (Pillow's 1.375).
        let (l, a) = extended_radius(2.0);
        assert_eq!(l, 1);
        assert!((a - 0.375).abs() < 1e-9, "{a}");
        for sigma in [
            0.3f32, 0.5, 1.0, 1.5, 2.0, 3.0, 3.4, 3.5, 5.0, 8.0, 20.0, 100.0,
        ] {
            let p = BoxPass::for_sigma(sigma);
            let want = f64::from(sigma).powi(2);
            let got = variance(p);
            // Rounding moves each weight by at most half a unit, so the variance by at most
            // PASSES · Σ|d|² · 2^-(shift + 1) over the taps.
            let taps: f64 = (1..=p.l + 1).map(|d| 2.0 * (d * d) as f64).sum();
            let tol = PASSES as f64 * taps / f64::from(1u32 << (p.shift + 1));
            assert!(
                (got - want).abs() <= tol,
                "σ {sigma}: {got} vs {want} ({p:?})"
            );
            // The weights sum to exactly one.
            let sum = (2 * p.l as u64 + 1) * u64::from(p.inner) + 2 * u64::from(p.outer);
            assert_eq!(
                (sum + u64::from(p.extra)) & ((1 << p.shift) - 1),
                0,
                "σ {sigma}: {p:?}"
            );
        }
    }

    /// Worst absolute difference and PSNR (dB) of rounded 8-bit samples against exact values.
    fn error_against(got: &[u8], exact: &[f64]) -> (f64, f64) {
        let (mut worst, mut sq) = (0f64, 0f64);
        for (&g, &e) in got.iter().zip(exact) {
            let d = f64::from(g) - e;
            worst = worst.max(d.abs());
            sq += d * d;
        }
        let mse = sq / got.len() as f64;
        (worst, 10.0 * (255.0f64 * 255.0 / mse).log10())
    }

    #[test]
    fn the_box_approximation_stays_close_to_the_true_gaussian() {
        // Photo-like texture with hard steps, grey and colour, σ either side of the 16/32-bit
        // switch. Measured (2026-12-05): σ ≥ 1 worst 2.0–3.0 levels, 48.8–53.7 dB; σ 0.5
        // worst 3.3, 49.6 dB; σ 0.3 worst 5.7, 41.3 dB — there the boxes have the variance
        // σ² and the sampled kernel much less (its tails fall between samples), so the two
        // differ by design. Rounding the exact values alone would be ≈ 59 dB.
        for n in [1, 3] {
            let img = textured(97, 61, n);
            for sigma in [0.3f32, 0.5, 1.0, 1.5, 2.0, 3.0, 3.4, 3.5, 5.0, 8.0] {
                let exact = reference::exact_gaussian(&img, f64::from(sigma));
                let (worst, db) = error_against(&blurred(&img, sigma), &exact);
                let (max_worst, min_db) = if sigma < 0.5 {
                    (7.0, 40.0)
                } else {
                    (4.0, 47.0)
                };
                assert!(
                    worst <= max_worst && db >= min_db,
                    "{n} channels, σ {sigma}: worst {worst:.2}, {db:.1} dB"
                );
            }
        }
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
        // Sizes below, at and well above the box radii; sigmas of 16- and 32-bit passes either
        // side of the switch (σ ≈ 3.46); every layout.
        for (w, h) in [(1, 1), (3, 2), (7, 5), (67, 13), (130, 41)] {
            for n in 1..=4 {
                let img = textured(w, h, n);
                for sigma in [0.3, 0.5, 1.0, 1.9, 2.0, 3.3, 3.6, 8.0] {
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
