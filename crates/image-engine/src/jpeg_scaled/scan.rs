//! Decodes the single scan MCU by MCU, each block straight into its component's reduced plane.

use super::FastPathError::{self, Corrupt};
use super::bits::BitReader;
use super::huffman::{FAST_BITS, HuffTable, SLOW};
use super::idct;
use super::markers::Header;

/// One component's samples at the reduced scale, block-aligned (the partial blocks at the right
/// and bottom edges are decoded in full and cropped later).
pub(super) struct Plane {
    pub data: Vec<u8>,
    pub stride: usize,
}

struct Slot<'a> {
    dc: &'a HuffTable,
    ac: &'a HuffTable,
    quant: [i32; 16],
    /// Blocks per MCU across and down.
    h: usize,
    v: usize,
}

/// Decodes the scan of `header` at `DS` output samples per block side (1, 2 or 4).
pub(super) fn decode<const DS: usize>(
    header: &Header,
    bytes: &[u8],
) -> Result<Vec<Plane>, FastPathError> {
    let (width, height) = (usize::from(header.width), usize::from(header.height));
    let single = header.components.len() == 1;
    let hmax = header.components.iter().map(|c| c.h).max().unwrap_or(1);
    let vmax = header.components.iter().map(|c| c.v).max().unwrap_or(1);
    // A single-component scan is never interleaved: its MCU is one block, whatever the factors.
    let (mcus_x, mcus_y) = if single {
        (width.div_ceil(8), height.div_ceil(8))
    } else {
        (width.div_ceil(8 * hmax), height.div_ceil(8 * vmax))
    };
    let mut slots = Vec::with_capacity(header.components.len());
    let mut planes = Vec::with_capacity(header.components.len());
    for c in &header.components {
        let (h, v) = if single { (1, 1) } else { (c.h, c.v) };
        let (dc, ac) = match (&header.dc_tables[c.dc], &header.ac_tables[c.ac]) {
            (Some(dc), Some(ac)) => (dc, ac),
            _ => return Err(Corrupt("scan uses an undefined Huffman table")),
        };
        slots.push(Slot {
            dc,
            ac,
            quant: idct::quantisers::<DS>(&c.quant),
            h,
            v,
        });
        let stride = mcus_x * h * DS;
        planes.push(Plane {
            data: vec![0; stride * mcus_y * v * DS],
            stride,
        });
    }

    let mut bits = BitReader::new(bytes, header.scan_start);
    let mut predictors = [0i16; 3];
    let mut coef = [0i16; 128];
    let interval = header.restart_interval;
    let mut left = interval;
    let mut next_rst = 0u8;
    for my in 0..mcus_y {
        for mx in 0..mcus_x {
            if interval > 0 {
                if left == 0 {
                    bits = bits.restart(next_rst)?;
                    next_rst = (next_rst + 1) & 7;
                    predictors = [0; 3];
                    left = interval;
                }
                left -= 1;
            }
            for ((slot, plane), pred) in slots.iter().zip(&mut planes).zip(&mut predictors) {
                for v in 0..slot.v {
                    let row = (my * slot.v + v) * DS * plane.stride;
                    for h in 0..slot.h {
                        decode_block(&mut bits, slot.dc, slot.ac, pred, &mut coef, idct::kept(DS))?;
                        let at = row + (mx * slot.h + h) * DS;
                        match DS {
                            1 => idct::idct1(&coef, &slot.quant, &mut plane.data, at),
                            2 => idct::idct2(&coef, &slot.quant, &mut plane.data, at, plane.stride),
                            _ => idct::idct4(&coef, &slot.quant, &mut plane.data, at, plane.stride),
                        }
                    }
                }
            }
        }
    }
    if bits.overrun() {
        return Err(Corrupt("scan data ends early"));
    }
    Ok(planes)
}

/// Decodes one block: the DC difference into the predictor, then every AC symbol. Coefficients
/// land at their zig-zag position in `coef`; only the first `keep` are cleared and meaningful,
/// the rest are written (unconditionally, cheaper than a branch) and ignored.
///
/// The bit buffer is refilled unconditionally before every group of [`GROUP`] symbols instead
/// of testing its level before each one: a lookup-resolved symbol consumes at most `FAST_BITS`
/// (11) bits, so 56 bits last a group, and a data-dependent "refill now?" branch, mispredicted
/// every few symbols, cost more than the refill itself. Symbols whose extra bits did not fit in
/// the lookup refill before reading them.
#[inline(always)]
fn decode_block(
    bits: &mut BitReader,
    dc: &HuffTable,
    ac: &HuffTable,
    pred: &mut i16,
    coef: &mut [i16; 128],
    keep: usize,
) -> Result<(), FastPathError> {
    const GROUP: usize = 4;
    const _: () = assert!(GROUP as u32 * FAST_BITS <= 56);
    coef[1..keep].fill(0);
    bits.refill();
    let e = dc.fast[bits.peek_fast()];
    let diff = if e & SLOW == 0 {
        bits.consume(e & 31);
        (e >> 16) as i16
    } else if e & 31 != 0 {
        bits.consume(e & 31);
        bits.refill();
        bits.receive_extend(e >> 16)
    } else {
        let (_, diff, after) = dc.slow(*bits)?;
        *bits = after;
        diff
    };
    // Hostile streams can overflow the predictor; jpeg-decoder wraps, and so do we.
    *pred = pred.wrapping_add(diff);
    coef[0] = *pred;
    let mut k = 1usize;
    // The coefficients the reduced IDCT reads, one symbol (and value) per lookup.
    while k < keep {
        bits.refill();
        for _ in 0..GROUP {
            k = symbol(bits, ac, coef, k)?;
            if k >= keep {
                break;
            }
        }
    }
    // The rest only has to be skipped: up to three symbols per lookup.
    while k < 64 {
        bits.refill();
        for _ in 0..GROUP {
            let m = ac.skip[bits.peek_fast()];
            let pre = ((m >> 8) & 0x7F) as usize;
            if k + pre < 64 {
                bits.consume(m & 31);
                k += pre + (m >> 16) as usize;
            } else {
                k = symbol(bits, ac, coef, k)?;
            }
            if k >= 64 {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Decodes one AC symbol at position `k` (below 64), stores its value and returns the next
/// position. Consumes at most `FAST_BITS` bits unless it refills first.
#[inline(always)]
fn symbol(
    bits: &mut BitReader,
    ac: &HuffTable,
    coef: &mut [i16; 128],
    k: usize,
) -> Result<usize, FastPathError> {
    let e = ac.fast[bits.peek_fast()];
    let (run, value) = if e & SLOW == 0 {
        bits.consume(e & 31);
        (((e >> 8) & 0xFF) as usize, (e >> 16) as i16)
    } else if e & 31 != 0 {
        // A known code with more extra bits than the lookup covers.
        bits.consume(e & 31);
        bits.refill();
        (((e >> 8) & 0xFF) as usize, bits.receive_extend(e >> 16))
    } else {
        let (run, value, after) = ac.slow(*bits)?;
        *bits = after;
        (run, value)
    };
    // A run past the block's end is dropped, as jpeg-decoder drops it (and ends the block);
    // end-of-block is a run of 63.
    let k = k + run;
    coef[k & 127] = value;
    Ok(k + 1)
}
