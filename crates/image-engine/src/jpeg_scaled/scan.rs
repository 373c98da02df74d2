//! Decodes the single scan MCU by MCU, each block straight into its component's reduced plane.
//! A large scan without restart markers is shared with a second thread when a core is free
//! (`split.rs`): it decodes the second half while this one decodes the first.

use super::FastPathError::{self, Corrupt};
use super::bits::BitReader;
use super::huffman::{FAST_BITS, HuffTable, SLOW};
use super::idct;
use super::markers::Header;
use super::split::{self, Seek, Threads};

/// One component's samples at the reduced scale, block-aligned (the partial blocks at the right
/// and bottom edges are decoded in full and cropped later).
pub(super) struct Plane {
    pub data: Vec<u8>,
    pub stride: usize,
}

/// One component's tables and quantisers.
pub(super) struct Slot<'a> {
    pub dc: &'a HuffTable,
    pub ac: &'a HuffTable,
    quant: [i32; 16],
    /// Blocks per MCU across and down.
    h: usize,
    v: usize,
}

/// How the scan is laid out: what every reader of it needs.
pub(super) struct Layout<'a> {
    pub slots: Vec<Slot<'a>>,
    /// The blocks of one MCU in stream order: (component, column, row within the MCU).
    pub blocks: Vec<(usize, usize, usize)>,
    mcus_x: usize,
    mcus_y: usize,
}

impl<'a> Layout<'a> {
    fn new<const DS: usize>(header: &'a Header) -> Result<Self, FastPathError> {
        let (width, height) = (usize::from(header.width), usize::from(header.height));
        let single = header.components.len() == 1;
        let hmax = header.components.iter().map(|c| c.h).max().unwrap_or(1);
        let vmax = header.components.iter().map(|c| c.v).max().unwrap_or(1);
        // A single-component scan is never interleaved: its MCU is one block, whatever the
        // factors.
        let (mcus_x, mcus_y) = if single {
            (width.div_ceil(8), height.div_ceil(8))
        } else {
            (width.div_ceil(8 * hmax), height.div_ceil(8 * vmax))
        };
        let mut slots = Vec::with_capacity(header.components.len());
        let mut blocks = Vec::new();
        for (index, c) in header.components.iter().enumerate() {
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
            for row in 0..v {
                for column in 0..h {
                    blocks.push((index, column, row));
                }
            }
        }
        Ok(Self {
            slots,
            blocks,
            mcus_x,
            mcus_y,
        })
    }

    /// Blocks in the whole scan.
    pub fn total_blocks(&self) -> usize {
        self.mcus_x * self.mcus_y * self.blocks.len()
    }

    fn planes<const DS: usize>(&self) -> Vec<Plane> {
        self.slots
            .iter()
            .map(|slot| {
                let stride = self.mcus_x * slot.h * DS;
                Plane {
                    data: vec![0; stride * self.mcus_y * slot.v * DS],
                    stride,
                }
            })
            .collect()
    }

    /// Writes block number `index` of the scan, its coefficients in `coef`, into its plane.
    #[inline(always)]
    fn put<const DS: usize>(&self, planes: &mut [Plane], index: usize, coef: &[i16; 128]) {
        let per_mcu = self.blocks.len();
        let (mcu, b) = (index / per_mcu, index % per_mcu);
        let (my, mx) = (mcu / self.mcus_x, mcu % self.mcus_x);
        let (component, h, v) = self.blocks[b];
        self.put_at::<DS>(planes, component, mx, my, h, v, coef);
    }

    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn put_at<const DS: usize>(
        &self,
        planes: &mut [Plane],
        component: usize,
        mx: usize,
        my: usize,
        h: usize,
        v: usize,
        coef: &[i16; 128],
    ) {
        let slot = &self.slots[component];
        let plane = &mut planes[component];
        let at = (my * slot.v + v) * DS * plane.stride + (mx * slot.h + h) * DS;
        match DS {
            1 => idct::idct1(coef, &slot.quant, &mut plane.data, at),
            2 => idct::idct2(coef, &slot.quant, &mut plane.data, at, plane.stride),
            _ => idct::idct4(coef, &slot.quant, &mut plane.data, at, plane.stride),
        }
    }
}

/// Decodes the scan of `header` at `DS` output samples per block side (1, 2 or 4); also says
/// whether a helper thread decoded part of it.
pub(super) fn decode<const DS: usize>(
    header: &Header,
    bytes: &[u8],
    threads: Threads,
) -> Result<(Vec<Plane>, bool), FastPathError> {
    let busy = crate::cores::Busy::enter();
    let share = threads.share(header, bytes, &busy);
    let layout = Layout::new::<DS>(header)?;
    let mut planes = layout.planes::<DS>();
    let helped = std::thread::scope(|scope| {
        let mut helper = if share {
            split::Helper::start::<DS>(scope, &layout, bytes, header.scan_start)
        } else {
            None
        };
        let synced = decode_blocks::<DS>(header, bytes, &layout, &mut planes, helper.as_mut())?;
        match (synced, helper) {
            (Some(at), Some(helper)) => {
                helper.finish::<DS>(&layout, &mut planes, at).map(|()| true)
            }
            _ => Ok(false),
        }
    })?;
    Ok((planes, helped))
}

/// Where the first thread met the second: the scan's block number, the second thread's record
/// of the same block, and the DC predictors before it.
pub(super) struct SyncPoint {
    pub block: usize,
    pub record: usize,
    pub predictors: [i16; 3],
}

/// Decodes blocks from the start of the scan: to the end, or until `helper` has decoded the
/// same point of the stream in the same place of an MCU (everything after it is the helper's).
fn decode_blocks<const DS: usize>(
    header: &Header,
    bytes: &[u8],
    layout: &Layout<'_>,
    planes: &mut [Plane],
    mut helper: Option<&mut split::Helper<'_>>,
) -> Result<Option<SyncPoint>, FastPathError> {
    let mut bits = BitReader::new(bytes, header.scan_start);
    let mut predictors = [0i16; 3];
    let mut coef = [0i16; 128];
    let interval = header.restart_interval;
    let mut left = interval;
    let mut next_rst = 0u8;
    let per_mcu = layout.blocks.len();
    for my in 0..layout.mcus_y {
        for mx in 0..layout.mcus_x {
            if interval > 0 {
                if left == 0 {
                    bits = bits.restart(next_rst)?;
                    next_rst = (next_rst + 1) & 7;
                    predictors = [0; 3];
                    left = interval;
                }
                left -= 1;
            }
            for (b, &(component, h, v)) in layout.blocks.iter().enumerate() {
                if let Some(seeker) = helper.as_deref_mut() {
                    match seeker.seek(&bits, b) {
                        Seek::Ahead => {}
                        Seek::Lost => helper = None,
                        Seek::Met(record) => {
                            return Ok(Some(SyncPoint {
                                block: (my * layout.mcus_x + mx) * per_mcu + b,
                                record,
                                predictors,
                            }));
                        }
                    }
                }
                let slot = &layout.slots[component];
                decode_block(
                    &mut bits,
                    slot.dc,
                    slot.ac,
                    &mut predictors[component],
                    &mut coef,
                    idct::kept(DS),
                )?;
                layout.put_at::<DS>(planes, component, mx, my, h, v, &coef);
            }
        }
    }
    if bits.overrun() {
        return Err(Corrupt("scan data ends early"));
    }
    Ok(None)
}

/// Writes the helper's blocks from `at` on into the planes: DC differences accumulated from the
/// first thread's predictors, the kept coefficients as decoded.
pub(super) fn replay<const DS: usize>(
    layout: &Layout<'_>,
    planes: &mut [Plane],
    first_block: usize,
    predictors: &mut [i16; 3],
    records: &[i16],
) {
    let keep = idct::kept(DS);
    let per_mcu = layout.blocks.len();
    let mut coef = [0i16; 128];
    for (i, record) in records.chunks_exact(keep).enumerate() {
        let index = first_block + i;
        let component = layout.blocks[index % per_mcu].0;
        let pred = &mut predictors[component];
        *pred = pred.wrapping_add(record[0]);
        coef[0] = *pred;
        coef[1..keep].copy_from_slice(&record[1..]);
        layout.put::<DS>(planes, index, &coef);
    }
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
pub(super) fn decode_block(
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
