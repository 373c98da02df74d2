//! The entropy-coded bit stream: a 64-bit buffer, most significant bit next, refilled eight
//! bytes at a time when none of them is 0xFF (the common case), byte by byte otherwise to undo
//! the 0xFF 0x00 stuffing and stop at a marker.

use super::FastPathError::{self, Corrupt};

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Reads the bits of one scan.
///
/// It is `Copy` and its slow paths take and return it by value, so the decode loop can keep
/// `buf` and `bits` in registers: a `&mut` handed to an out-of-line function would pin them to
/// memory, and a store-to-load round trip per symbol costs more than the lookup itself.
#[derive(Clone, Copy)]
pub(super) struct BitReader<'a> {
    data: &'a [u8],
    /// Next byte to load.
    pos: usize,
    /// Unconsumed bits, left-aligned. Below the valid ones the buffer may hold (only) the true
    /// next bits of the stream, which is why refills can OR whole words in.
    buf: u64,
    /// Valid bits in `buf`.
    bits: u32,
    /// Zero bytes appended after a marker or the end of the data (they decode as something, but
    /// consuming any of them means the scan ran short).
    padding: u32,
    /// At a marker or the end: only zeros follow.
    stopped: bool,
    /// Stuffing bytes (the 0x00 after a data 0xFF) before `pos`, counted from the scan's first
    /// byte, so [`Self::bit_position`] is the same for every reader at the same point.
    stuffed: usize,
}

impl<'a> BitReader<'a> {
    /// Starts reading `data` at `pos`, the first entropy-coded byte.
    pub(super) fn new(data: &'a [u8], pos: usize) -> Self {
        Self::resume(data, pos, 0)
    }

    /// Starts reading `data` at `pos`, somewhere inside the scan, with `stuffed` stuffing bytes
    /// between the scan's first byte and `pos`.
    pub(super) fn resume(data: &'a [u8], pos: usize, stuffed: usize) -> Self {
        Self {
            data,
            pos,
            buf: 0,
            bits: 0,
            padding: 0,
            stopped: false,
            stuffed,
        }
    }

    /// Where the next unconsumed bit is, in bits of unstuffed data (plus a constant, the scan's
    /// offset): equal for two readers exactly when they are at the same point of the stream,
    /// however differently their buffers were filled. Meaningful until the data ends (and in a
    /// scan without restart markers: [`Self::restart`] skips bytes it does not count).
    #[inline(always)]
    pub(super) fn bit_position(&self) -> u64 {
        (self.pos - self.stuffed) as u64 * 8 - u64::from(self.bits)
    }

    /// The next byte to load (an upper bound on where the reader is).
    #[inline(always)]
    pub(super) fn byte_position(&self) -> usize {
        self.pos
    }

    /// Whether the reader has met a marker or the end of the data.
    pub(super) fn stopped(&self) -> bool {
        self.stopped
    }

    /// A reader at the next byte to load, its buffered bits dropped: where a reader that lost
    /// its way starts over.
    pub(super) fn skip_buffered(self) -> Self {
        Self::resume(self.data, self.pos, self.stuffed)
    }

    /// Makes at least 56 bits available. Cheap enough to call unconditionally: the eight-byte
    /// load's address was fixed by the previous refill, so only the shift by `bits` waits on
    /// the symbols decoded since.
    #[inline(always)]
    pub(super) fn refill(&mut self) {
        if let Some(word) = self.data.get(self.pos..).and_then(|s| s.first_chunk::<8>()) {
            let word = u64::from_be_bytes(*word);
            // Exact test for "some byte is 0xFF" (a zero byte in !word).
            if (!word).wrapping_sub(ONES) & word & HIGHS == 0 {
                self.buf |= word >> self.bits;
                self.pos += ((63 - self.bits) >> 3) as usize;
                self.bits |= 56;
                return;
            }
        }
        *self = self.refill_slow();
    }

    #[cold]
    #[inline(never)]
    fn refill_slow(mut self) -> Self {
        while self.bits < 56 {
            let byte = if self.stopped {
                0
            } else {
                match self.data.get(self.pos) {
                    Some(0xFF) if self.data.get(self.pos + 1) == Some(&0x00) => {
                        self.pos += 2;
                        self.stuffed += 1;
                        0xFF
                    }
                    Some(&b) if b != 0xFF => {
                        self.pos += 1;
                        b
                    }
                    _ => {
                        self.stopped = true;
                        0
                    }
                }
            };
            if self.stopped {
                self.padding += 1;
            }
            self.buf |= u64::from(byte) << (56 - self.bits);
            self.bits += 8;
        }
        self
    }

    /// The next `n` (1..=16) bits without consuming them.
    #[inline(always)]
    pub(super) fn peek(&self, n: u32) -> u32 {
        (self.buf >> (64 - n)) as u32
    }

    /// The index into a fast table: the next `FAST_BITS` bits.
    #[inline(always)]
    pub(super) fn peek_fast(&self) -> usize {
        (self.buf >> (64 - super::huffman::FAST_BITS)) as usize
    }

    /// Drops `n` (0..=32) bits.
    #[inline(always)]
    pub(super) fn consume(&mut self, n: u32) {
        self.buf <<= n;
        self.bits = self.bits.wrapping_sub(n);
    }

    /// Reads `size` (0..=15) bits and sign-extends them.
    #[inline(always)]
    pub(super) fn receive_extend(&mut self, size: u32) -> i16 {
        if size == 0 {
            return 0;
        }
        let raw = self.peek(size);
        self.consume(size);
        super::huffman::extend(raw, size)
    }

    /// Whether bits past the real data have been consumed.
    pub(super) fn overrun(&self) -> bool {
        self.padding * 8 > self.bits
    }

    /// Ends a restart interval: checks the interval's data sufficed, skips its padding and
    /// expects marker RSTn with n = `expected`.
    pub(super) fn restart(mut self, expected: u8) -> Result<Self, FastPathError> {
        if self.overrun() {
            return Err(Corrupt("restart interval ends early"));
        }
        // A well-formed interval ends in at most seven padding bits; a few stray bytes are
        // tolerated as jpeg-decoder (which reads ahead up to its buffer) tolerates them.
        let mut skipped = 0;
        loop {
            match (self.data.get(self.pos), self.data.get(self.pos + 1)) {
                (Some(0xFF), Some(0xFF)) => self.pos += 1,
                (Some(0xFF), Some(0x00)) => {
                    self.pos += 2;
                    skipped += 1;
                }
                (Some(0xFF), Some(&m)) if m == 0xD0 + expected => {
                    self.pos += 2;
                    break;
                }
                (Some(0xFF), _) => return Err(Corrupt("missing or misnumbered RST marker")),
                (Some(_), _) => {
                    self.pos += 1;
                    skipped += 1;
                }
                (None, _) => return Err(Corrupt("data ends inside a restart interval")),
            }
            if skipped > 8 {
                return Err(Corrupt("stray data before an RST marker"));
            }
        }
        self.buf = 0;
        self.bits = 0;
        self.padding = 0;
        self.stopped = false;
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(data: &[u8], n: usize) -> Vec<u8> {
        let mut r = BitReader::new(data, 0);
        (0..n)
            .map(|_| {
                r.refill();
                let b = r.peek(8) as u8;
                r.consume(8);
                b
            })
            .collect()
    }

    #[test]
    fn stuffed_bytes_are_unstuffed_on_both_refill_paths() {
        let mut data: Vec<u8> = (1..=20).collect();
        data.splice(10..10, [0xFF, 0x00]);
        let mut want: Vec<u8> = (1..=20).collect();
        want.insert(10, 0xFF);
        assert_eq!(read_all(&data, want.len()), want);
    }

    #[test]
    fn a_marker_stops_the_stream_and_counts_as_overrun_once_read_into() {
        let data = [0x12, 0x34, 0xFF, 0xD9, 0x56];
        let mut r = BitReader::new(&data, 0);
        r.refill();
        assert_eq!(r.peek(16), 0x1234);
        r.consume(16);
        assert!(!r.overrun());
        assert_eq!(r.peek(8), 0);
        r.consume(1);
        assert!(r.overrun());
    }

    #[test]
    fn odd_bit_counts_read_across_words() {
        // 0b1010_1010 repeated: every odd bit is 1.
        let data = [0xAA; 100];
        let mut r = BitReader::new(&data, 0);
        for _ in 0..100 {
            r.refill();
            assert_eq!(r.peek(3), 0b101);
            r.consume(3);
            r.refill();
            assert_eq!(r.peek(3), 0b010);
            r.consume(3);
        }
    }

    #[test]
    fn restart_skips_padding_and_checks_the_number() {
        let data = [0xFF, 0xD3, 0x00];
        assert!(BitReader::new(&data, 0).restart(2).is_err());
        assert!(BitReader::new(&data, 0).restart(3).is_ok());
    }
}
