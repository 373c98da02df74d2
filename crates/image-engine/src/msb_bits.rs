//! A most-significant-bit-first reader for codec headers (AV1 sequence headers, HEVC parameter
//! sets) that the probe reads before anything is decoded.

/// Reads bits most-significant first; every read is `None` once past the end.
pub(crate) struct MsbBits<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> MsbBits<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Self {
        Self { b, at: 0 }
    }

    pub(crate) fn bit(&mut self) -> Option<u32> {
        let byte = *self.b.get(self.at / 8)?;
        let v = (byte >> (7 - self.at % 8)) & 1;
        self.at += 1;
        Some(u32::from(v))
    }

    /// An `n`-bit unsigned value, `n` ≤ 32.
    pub(crate) fn bits(&mut self, n: u32) -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            v = (v << 1) | self.bit()?;
        }
        Some(v)
    }

    /// Skips `n` bits; `None` if that passes the end.
    pub(crate) fn skip(&mut self, n: usize) -> Option<()> {
        self.at = self.at.checked_add(n)?;
        (self.at <= self.b.len() * 8).then_some(())
    }
}
