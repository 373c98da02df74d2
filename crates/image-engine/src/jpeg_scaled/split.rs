//! A second thread for one scan, when a core is free.
//!
//! Without restart markers the entropy-coded data can only be read from its start: where a
//! block begins is known once the one before it is decoded. But Huffman codes resynchronise. A
//! helper thread starts reading at a byte in the middle of the scan, as if a block of the MCU's
//! first component began there; what it decodes at first is noise, but within a few blocks it
//! lands on the true block boundaries and stays on them. It records where each of its first
//! [`WINDOW`] blocks began (bit position and place in the MCU) and keeps every block's kept
//! coefficients, with the DC as a difference (it cannot know the predictors).
//!
//! The first thread decodes from the start as usual. Once it reaches the helper's starting
//! byte it compares, block by block, its own position and place in the MCU with the helper's
//! records. Both are the whole state of the parse, so when they agree everything the helper
//! decoded from that block on is exactly what the first thread would have decoded: it stops,
//! and writes the helper's blocks into the planes with the DC predictors it has. If the helper
//! never agrees within its window, the first thread tells it to stop and decodes on alone; the
//! result is the same either way, only slower.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::{Scope, ScopedJoinHandle};

use super::FastPathError::{self, Corrupt, Unsupported};
use super::bits::BitReader;
use super::idct;
use super::markers::Header;
use super::scan::{Layout, Plane, SyncPoint, decode_block, replay};
use crate::cores::Busy;

/// Scans smaller than this are decoded on one thread: a second would hardly pay for itself.
const MIN_SCAN_BYTES: usize = 256 * 1024;
/// How many of its first blocks' starting points the helper offers the first thread.
const WINDOW: usize = 4096;
/// Blocks of coefficients per hand-over once the window is out.
const BATCH: usize = 4096;

/// How many threads decode a scan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Threads {
    /// Two when the scan is large and a core is free, else one.
    Auto,
    /// One.
    One,
    /// Two whenever the scan can be shared at all, however small (for tests).
    Two,
}

impl Threads {
    /// Whether to start a helper for this scan; `busy` is this decode, counted in.
    pub(super) fn share(self, header: &Header, bytes: &[u8], busy: &Busy) -> bool {
        // Restart markers would make the positions jump (and their intervals could be split
        // exactly instead; cameras that write them are not the common case).
        let shareable = header.restart_interval == 0;
        match self {
            Self::One => false,
            Self::Two => shareable,
            Self::Auto => {
                shareable
                    && bytes.len().saturating_sub(header.scan_start) >= MIN_SCAN_BYTES
                    && busy.core_free()
            }
        }
    }
}

/// What [`Helper::seek`] found at a block.
pub(super) enum Seek {
    /// Not met yet: decode this block.
    Ahead,
    /// Past the helper's window without meeting it: decode on alone.
    Lost,
    /// The helper's record with this number is this block.
    Met(usize),
}

/// How the helper's reading ended.
struct Ending {
    /// Blocks decoded since its last start.
    count: usize,
    /// Whether it had read past the data after its last block.
    overrun: bool,
    /// The error it stopped at, if any.
    error: Option<FastPathError>,
}

/// The first thread's side of a shared scan.
pub(super) struct Helper<'scope> {
    /// The byte the helper started at.
    start: usize,
    per_mcu: usize,
    starts: mpsc::Receiver<Vec<u64>>,
    window: Option<Vec<u64>>,
    cursor: usize,
    batches: mpsc::Receiver<Vec<i16>>,
    stop: Arc<AtomicBool>,
    thread: Option<ScopedJoinHandle<'scope, Ending>>,
}

impl<'scope> Helper<'scope> {
    /// Starts the helper in the middle of the scan; `None` when there is no good place to
    /// start or no thread to be had.
    pub fn start<'env, const DS: usize>(
        scope: &'scope Scope<'scope, 'env>,
        layout: &'scope Layout<'scope>,
        bytes: &'scope [u8],
        scan_start: usize,
    ) -> Option<Self> {
        let mut start = scan_start + bytes.len().saturating_sub(scan_start) / 2;
        // Not between a 0xFF and its stuffing byte.
        if bytes.get(start.checked_sub(1)?) == Some(&0xFF) {
            start += 1;
        }
        if start >= bytes.len() {
            return None;
        }
        let (starts_tx, starts) = mpsc::sync_channel(1);
        let (batches_tx, batches) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("jpeg-scan-helper".into())
                .spawn_scoped(scope, move || {
                    let reader = Reader {
                        layout,
                        bytes,
                        stop: &stop,
                        starts: starts_tx,
                        batches: batches_tx,
                    };
                    reader.read::<DS>(scan_start, start)
                })
                .ok()?
        };
        Some(Self {
            start,
            per_mcu: layout.blocks.len(),
            starts,
            window: None,
            cursor: 0,
            batches,
            stop,
            thread: Some(thread),
        })
    }

    /// Called before each block the first thread decodes, `phase` being its place in the MCU.
    #[inline(always)]
    pub fn seek(&mut self, bits: &BitReader<'_>, phase: usize) -> Seek {
        if bits.byte_position() < self.start {
            return Seek::Ahead;
        }
        if bits.stopped() {
            // Past a marker, positions count padding: not comparable.
            self.stop.store(true, Ordering::Relaxed);
            return Seek::Lost;
        }
        self.meet(bits.bit_position(), phase)
    }

    fn meet(&mut self, at: u64, phase: usize) -> Seek {
        let starts = &self.starts;
        let window = self
            .window
            .get_or_insert_with(|| starts.recv().unwrap_or_default());
        while window.get(self.cursor).is_some_and(|&p| p < at) {
            self.cursor += 1;
        }
        match window.get(self.cursor) {
            None => {
                self.stop.store(true, Ordering::Relaxed);
                Seek::Lost
            }
            Some(&p) if p == at && self.cursor % self.per_mcu == phase => Seek::Met(self.cursor),
            Some(_) => Seek::Ahead,
        }
    }

    /// Writes the helper's blocks from the meeting point on into the planes as they arrive, then
    /// checks that its reading covered the rest of the scan, as the first thread would have.
    pub fn finish<const DS: usize>(
        mut self,
        layout: &Layout<'_>,
        planes: &mut [Plane],
        at: SyncPoint,
    ) -> Result<(), FastPathError> {
        let keep = idct::kept(DS);
        let needed = layout.total_blocks() - at.block;
        let end = at.record + needed;
        let mut predictors = at.predictors;
        // Records received so far; the next batch starts with this one.
        let mut received = 0usize;
        // Ends when the helper is done and drops its sender.
        for batch in self.batches.iter() {
            let n = batch.len() / keep;
            let from = at.record.saturating_sub(received).min(n);
            let to = end.saturating_sub(received).min(n);
            if from < to {
                let first_block = at.block + (received + from - at.record);
                replay::<DS>(
                    layout,
                    planes,
                    first_block,
                    &mut predictors,
                    &batch[from * keep..to * keep],
                );
            }
            received += n;
        }
        let ending = match self.thread.take().map(ScopedJoinHandle::join) {
            Some(Ok(ending)) => ending,
            _ => return Err(Unsupported("the scan helper thread failed")),
        };
        if received < end {
            return Err(ending.error.unwrap_or(Corrupt("scan data ends early")));
        }
        if received == end && ending.overrun {
            return Err(Corrupt("scan data ends early"));
        }
        debug_assert_eq!(received, ending.count);
        Ok(())
    }
}

impl Drop for Helper<'_> {
    // However the first thread finishes (met, lost, failed), the helper stops soon.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The helper thread's side.
struct Reader<'a> {
    layout: &'a Layout<'a>,
    bytes: &'a [u8],
    stop: &'a AtomicBool,
    starts: mpsc::SyncSender<Vec<u64>>,
    batches: mpsc::Sender<Vec<i16>>,
}

impl Reader<'_> {
    /// Reads from byte `start` to the end of the data (or until told to stop).
    fn read<const DS: usize>(self, scan_start: usize, start: usize) -> Ending {
        let none = Ending {
            count: 0,
            overrun: false,
            error: None,
        };
        let Some(stuffed) = stuffing(self.bytes, scan_start, start) else {
            let _ = self.starts.send(Vec::new());
            return none;
        };
        let keep = idct::kept(DS);
        let layout = self.layout;
        let per_mcu = layout.blocks.len();
        // Never more than the scan's blocks plus the noise before the first thread can meet it.
        let cap = layout.total_blocks() + WINDOW;
        let mut bits = BitReader::resume(self.bytes, start, stuffed);
        let mut starts = Vec::with_capacity(WINDOW);
        let mut batch = Vec::with_capacity(WINDOW * keep);
        let mut coef = [0i16; 128];
        let mut count = 0usize;
        let mut published = false;
        let mut error = None;
        while count < cap {
            if count.is_multiple_of(per_mcu) && self.stop.load(Ordering::Relaxed) {
                break;
            }
            if bits.overrun() {
                break;
            }
            if !published {
                if bits.stopped() {
                    // Past a marker, positions count padding: none to compare from here on.
                    published = true;
                    let _ = self.starts.send(std::mem::take(&mut starts));
                } else {
                    starts.push(bits.bit_position());
                }
            }
            let slot = &layout.slots[layout.blocks[count % per_mcu].0];
            // A zero predictor leaves the DC difference itself in coef[0].
            let mut diff = 0i16;
            if let Err(e) = decode_block(&mut bits, slot.dc, slot.ac, &mut diff, &mut coef, keep) {
                if published || bits.stopped() {
                    error = Some(e);
                    break;
                }
                // Still in the noise before it found its footing: start over a little further.
                bits = bits.skip_buffered();
                starts.clear();
                batch.clear();
                count = 0;
                continue;
            }
            batch.extend_from_slice(&coef[..keep]);
            count += 1;
            if !published && count == WINDOW {
                published = true;
                let _ = self.starts.send(std::mem::take(&mut starts));
            }
            if published && batch.len() >= BATCH * keep {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH * keep));
                if self.batches.send(full).is_err() {
                    break;
                }
            }
        }
        if !published {
            let _ = self.starts.send(starts);
        }
        if !batch.is_empty() {
            let _ = self.batches.send(batch);
        }
        Ending {
            count,
            overrun: bits.overrun(),
            error,
        }
    }
}

/// Stuffing bytes between the scan's first byte and `start`; `None` if a 0xFF there is not
/// stuffed (a marker inside the scan: the first thread would stop at it, so the helper's
/// positions would not be comparable).
fn stuffing(bytes: &[u8], scan_start: usize, start: usize) -> Option<usize> {
    let data = bytes.get(scan_start..start)?;
    let mut stuffed = 0;
    for at in memchr::memchr_iter(0xFF, data) {
        if bytes.get(scan_start + at + 1) != Some(&0x00) {
            return None;
        }
        stuffed += 1;
    }
    Some(stuffed)
}
