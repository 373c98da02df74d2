//! Choosing the `cover` window by content: `entropy` keeps the busiest histogram, `attention`
//! the most edges, saturated colour and skin tones. Both score a small sample of the image, so
//! the cost does not grow with its size.

use image::DynamicImage;
use shared_protocol::recipe::Gravity;

/// Longest side of the sample the scores are computed on.
const SAMPLE: u32 = 192;
/// Most positions tried along one axis for `entropy`.
const STEPS: u32 = 24;

/// Top-left corner of the `window` to keep from `img` for a smart `gravity`.
pub(crate) fn find(img: &DynamicImage, window: (u32, u32), gravity: Gravity) -> (u32, u32) {
    let (w, h) = (img.width(), img.height());
    let slack = (w.saturating_sub(window.0), h.saturating_sub(window.1));
    if slack == (0, 0) {
        return (0, 0);
    }
    let step = w.max(h).div_ceil(SAMPLE).max(1);
    let rgb = img.to_rgb8();
    let (sw, sh) = (w.div_ceil(step), h.div_ceil(step));
    let sample: Vec<[f32; 3]> = (0..sh)
        .flat_map(|y| (0..sw).map(move |x| (x, y)))
        .map(|(x, y)| {
            let p = rgb.get_pixel((x * step).min(w - 1), (y * step).min(h - 1));
            [f32::from(p[0]), f32::from(p[1]), f32::from(p[2])]
        })
        .collect();
    let (ww, wh) = ((window.0 / step).max(1), (window.1 / step).max(1));
    let (x, y) = if gravity == Gravity::Entropy {
        by_entropy(&sample, (sw, sh), (ww, wh))
    } else {
        by_attention(&sample, (sw, sh), (ww, wh))
    };
    ((x * step).min(slack.0), (y * step).min(slack.1))
}

fn luma(p: &[f32; 3]) -> f32 {
    0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]
}

fn positions(slack: u32) -> impl Iterator<Item = u32> {
    let n = slack.min(STEPS);
    (0..=n).map(move |i| (i * slack).checked_div(n).unwrap_or(0))
}

fn by_entropy(s: &[[f32; 3]], (sw, sh): (u32, u32), (ww, wh): (u32, u32)) -> (u32, u32) {
    let l: Vec<u8> = s.iter().map(|p| luma(p) as u8).collect();
    let mut best = (f32::MIN, (0, 0));
    for y0 in positions(sh.saturating_sub(wh)) {
        for x0 in positions(sw.saturating_sub(ww)) {
            let mut hist = [0u32; 256];
            for y in y0..(y0 + wh).min(sh) {
                for x in x0..(x0 + ww).min(sw) {
                    hist[usize::from(l[(y * sw + x) as usize])] += 1;
                }
            }
            let total: u32 = hist.iter().sum();
            let e: f32 = hist
                .iter()
                .filter(|&&c| c > 0)
                .map(|&c| {
                    let p = c as f32 / total as f32;
                    -p * p.log2()
                })
                .sum();
            if e > best.0 {
                best = (e, (x0, y0));
            }
        }
    }
    best.1
}

fn by_attention(s: &[[f32; 3]], (sw, sh): (u32, u32), (ww, wh): (u32, u32)) -> (u32, u32) {
    let (w, h) = (sw as usize, sh as usize);
    let l: Vec<f32> = s.iter().map(luma).collect();
    let score: Vec<f64> = (0..w * h)
        .map(|i| {
            let (x, y) = (i % w, i / w);
            let at = |xx: usize, yy: usize| l[yy * w + xx];
            let lap = 4.0 * l[i]
                - at(x.saturating_sub(1), y)
                - at((x + 1).min(w - 1), y)
                - at(x, y.saturating_sub(1))
                - at(x, (y + 1).min(h - 1));
            let [r, g, b] = s[i];
            let max = r.max(g).max(b);
            let min = r.min(g).min(b);
            let sat = if max > 0.0 { (max - min) / max } else { 0.0 };
            let skin = r > 95.0 && g > 40.0 && b > 20.0 && r > g && r > b && (r - g) > 15.0;
            f64::from(lap.abs() + 40.0 * sat + if skin { 60.0 } else { 0.0 })
        })
        .collect();
    // Summed-area table, so every window's total costs four reads.
    let mut sat = vec![0f64; (w + 1) * (h + 1)];
    for y in 0..h {
        for x in 0..w {
            sat[(y + 1) * (w + 1) + x + 1] =
                score[y * w + x] + sat[y * (w + 1) + x + 1] + sat[(y + 1) * (w + 1) + x]
                    - sat[y * (w + 1) + x];
        }
    }
    let (ww, wh) = ((ww as usize).min(w), (wh as usize).min(h));
    let mut best = (f64::MIN, (0, 0));
    for y0 in 0..=h - wh {
        for x0 in 0..=w - ww {
            let (x1, y1) = (x0 + ww, y0 + wh);
            let total = sat[y1 * (w + 1) + x1] - sat[y0 * (w + 1) + x1] - sat[y1 * (w + 1) + x0]
                + sat[y0 * (w + 1) + x0];
            if total > best.0 {
                best = (total, (x0 as u32, y0 as u32));
            }
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A flat image with a detailed patch near its right edge.
    fn busy_right() -> DynamicImage {
        DynamicImage::ImageRgb8(image::RgbImage::from_fn(400, 100, |x, y| {
            if x > 300 && (x + y) % 3 == 0 {
                image::Rgb([250, 20, 20])
            } else {
                image::Rgb([128, 128, 128])
            }
        }))
    }

    #[test]
    fn attention_moves_the_window_to_the_detail() {
        let (x, _) = find(&busy_right(), (100, 100), Gravity::Attention);
        assert!(x >= 250, "{x}");
    }

    #[test]
    fn entropy_moves_the_window_to_the_detail() {
        let (x, _) = find(&busy_right(), (100, 100), Gravity::Entropy);
        assert!(x >= 250, "{x}");
    }
}
