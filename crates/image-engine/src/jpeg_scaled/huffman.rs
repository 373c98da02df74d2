//! Huffman tables built for one lookup per symbol: an entry indexed by the next `FAST_BITS` bits
//! holds the code length plus the extra bits, the zero run and the sign-extended value, so a
//! short code and its coefficient are consumed together (stb_image's "fast AC", extended to DC).

use super::FastPathError::{self, Corrupt};
use super::bits::BitReader;

/// Bits looked up at once. At 10, 95.6 % of a q92 camera JPEG's AC symbols resolve (code + extra
/// bits); 11 measured faster than 10 and 12 (whose larger tables crowd L1).
pub(super) const FAST_BITS: u32 = 11;

/// Entry flag: the lookup did not resolve the symbol and its value; call [`HuffTable::slow`].
pub(super) const SLOW: u32 = 1 << 5;

/// A skip entry that always fails `k + pre < 64`, sending the decoder to the one-symbol path.
pub(super) const NO_SKIP: u32 = 127 << 8;

/// Which coefficients a table codes: the DC difference or (run, size) AC pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Class {
    Dc,
    Ac,
}

/// One Huffman table with its lookup.
///
/// `fast` entries: bits 0-4 the bits to consume, bit 5 [`SLOW`], bits 8-15 the zero run before
/// the coefficient (63 for end-of-block, so the block loop ends), bits 16-31 the value as i16.
/// A [`SLOW`] entry with a length is a known code whose extra bits did not fit: bits 0-4 the
/// code length, 8-15 the run, 16-19 the number of extra bits to read. One without a length is a
/// prefix of a longer code, of an invalid symbol, or of no code at all: [`HuffTable::slow`].
pub(super) struct HuffTable {
    pub fast: Box<[u32; 1 << FAST_BITS]>,
    /// For coefficients that are decoded only to be dropped: up to three whole symbols that
    /// fit in the next `FAST_BITS` bits. Bits 0-4 their total length, 8-14 the positions all
    /// but the last advance `k` by, 16-22 what the last adds (64 for end-of-block). Taking an
    /// entry is valid while `k + pre < 64`: the block does not end before its last symbol.
    /// [`NO_SKIP`] where not even one symbol resolves.
    pub skip: Box<[u32; 1 << FAST_BITS]>,
    /// Largest code of each length (index 1..=16), -1 when there is none.
    maxcode: [i32; 17],
    /// Index into `values` of a length's first code, minus that code.
    delta: [i32; 17],
    values: [u8; 256],
    class: Class,
}

impl HuffTable {
    /// Builds a table from a DHT's 16 code counts and its symbols.
    pub(super) fn new(
        counts: &[u8; 16],
        symbols: &[u8],
        class: Class,
    ) -> Result<Self, FastPathError> {
        let mut values = [0u8; 256];
        values
            .get_mut(..symbols.len())
            .ok_or(Corrupt("more than 256 Huffman symbols"))?
            .copy_from_slice(symbols);
        let mut maxcode = [-1i32; 17];
        let mut delta = [0i32; 17];
        let mut fast = Box::new([SLOW; 1 << FAST_BITS]);
        let mut code = 0u32;
        let mut index = 0usize;
        for len in 1..=16u32 {
            let count = usize::from(counts[len as usize - 1]);
            if count > 0 {
                if code + count as u32 > (1 << len) {
                    return Err(Corrupt("bad Huffman code lengths"));
                }
                delta[len as usize] = index as i32 - code as i32;
                maxcode[len as usize] = (code + count as u32 - 1) as i32;
            }
            for _ in 0..count {
                let symbol = *symbols
                    .get(index)
                    .ok_or(Corrupt("too few Huffman symbols"))?;
                if len <= FAST_BITS {
                    let free = FAST_BITS - len;
                    for suffix in 0..1u32 << free {
                        fast[((code << free) | suffix) as usize] =
                            entry(class, symbol, len, suffix, free);
                    }
                }
                code += 1;
                index += 1;
            }
            code <<= 1;
        }
        let skip = skip_table(&fast);
        Ok(Self {
            fast,
            skip,
            maxcode,
            delta,
            values,
            class,
        })
    }

    /// Decodes the next symbol when its fast entry was [`SLOW`]; returns (zero run, value) with
    /// the same meaning as a fast entry, and the reader after them (by value, see [`BitReader`]).
    #[cold]
    #[inline(never)]
    pub(super) fn slow<'a>(
        &self,
        mut bits: BitReader<'a>,
    ) -> Result<(usize, i16, BitReader<'a>), FastPathError> {
        // 56 bits: the longest code (16) and the most extra bits (15) fit.
        bits.refill();
        let peek = bits.peek(16) as i32;
        let mut found = None;
        for len in 1..=16 {
            let code = peek >> (16 - len);
            if code <= self.maxcode[len as usize] {
                found = Some((len, code + self.delta[len as usize]));
                break;
            }
        }
        let (len, index) = found.ok_or(Corrupt("invalid Huffman code"))?;
        bits.consume(len);
        let index = usize::try_from(index).map_err(|_| Corrupt("invalid Huffman code"))?;
        let symbol = *self
            .values
            .get(index)
            .ok_or(Corrupt("invalid Huffman code"))?;
        let size = u32::from(symbol & 15);
        match self.class {
            Class::Dc => {
                if symbol > 11 {
                    return Err(Corrupt("DC difference category above 11"));
                }
                Ok((0, bits.receive_extend(u32::from(symbol)), bits))
            }
            Class::Ac => match (symbol >> 4, size) {
                (0, 0) => Ok((63, 0, bits)),
                (15, 0) => Ok((15, 0, bits)),
                (_, 0) => Err(Corrupt("end-of-band run in a sequential scan")),
                (run, size) => Ok((usize::from(run), bits.receive_extend(size), bits)),
            },
        }
    }
}

/// Chains fast entries: each index's leading bits decoded as up to three resolved symbols.
fn skip_table(fast: &[u32; 1 << FAST_BITS]) -> Box<[u32; 1 << FAST_BITS]> {
    let mask = (1u32 << FAST_BITS) - 1;
    let mut skip = Box::new([NO_SKIP; 1 << FAST_BITS]);
    for (index, slot) in skip.iter_mut().enumerate() {
        let (mut used, mut pre, mut last) = (0u32, 0u32, 0u32);
        for n in 0..3 {
            // The bits after `used`, zero-filled: an entry that reads no further is exact.
            let e = fast[(((index as u32) << used) & mask) as usize];
            let len = e & 31;
            if e & SLOW != 0 || used + len > FAST_BITS {
                break;
            }
            let advance = ((e >> 8) & 0xFF) + 1;
            if n > 0 {
                pre += last;
            }
            last = advance;
            used += len;
            *slot = used | pre << 8 | last << 16;
            if advance > 63 {
                break; // end of block: what follows belongs to the next block
            }
        }
    }
    skip
}

/// The fast entry for `symbol` (a code of `len` bits) followed by the `free` bits `suffix`.
fn entry(class: Class, symbol: u8, len: u32, suffix: u32, free: u32) -> u32 {
    let (run, size) = match class {
        Class::Dc if symbol > 11 => return SLOW,
        Class::Dc => (0, u32::from(symbol)),
        Class::Ac => match (symbol >> 4, symbol & 15) {
            (0, 0) => return resolved(len, 63, 0),
            (15, 0) => return resolved(len, 15, 0),
            (_, 0) => return SLOW,
            (run, size) => (u32::from(run), u32::from(size)),
        },
    };
    if size == 0 {
        resolved(len, run, 0)
    } else if size <= free {
        let raw = (suffix >> (free - size)) & ((1 << size) - 1);
        resolved(len + size, run, extend(raw, size))
    } else {
        SLOW | len | run << 8 | size << 16
    }
}

fn resolved(len: u32, run: u32, value: i16) -> u32 {
    len | run << 8 | u32::from(value as u16) << 16
}

/// Turns `size` raw bits into the signed value they code (JPEG F.2.2.1, "EXTEND"); wraps as
/// `jpeg-decoder` does for the sizes above 15 no valid stream uses.
pub(super) fn extend(raw: u32, size: u32) -> i16 {
    if size == 0 {
        0
    } else if raw < 1 << (size - 1) {
        (raw as i32 - (1 << size) + 1) as i16
    } else {
        raw as i16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extend_gives_the_signed_values_of_the_standard() {
        assert_eq!(extend(0, 1), -1);
        assert_eq!(extend(1, 1), 1);
        assert_eq!(extend(0, 3), -7);
        assert_eq!(extend(3, 3), -4);
        assert_eq!(extend(4, 3), 4);
        assert_eq!(extend(2047, 11), 2047);
        assert_eq!(extend(0, 11), -2047);
    }

    #[test]
    fn over_full_code_lengths_are_refused() {
        let mut counts = [0u8; 16];
        counts[0] = 3; // three 1-bit codes cannot exist
        assert!(HuffTable::new(&counts, &[0, 1, 2], Class::Dc).is_err());
    }

    #[test]
    fn a_short_code_and_its_value_resolve_in_one_entry() {
        // Codes: 0 -> 0x01 (run 0, size 1), 10 -> 0x00 (EOB), 11 -> 0xF0 (ZRL).
        let mut counts = [0u8; 16];
        counts[0] = 1;
        counts[1] = 2;
        let t = HuffTable::new(&counts, &[0x01, 0x00, 0xF0], Class::Ac).unwrap();
        // "0" then value bit "1": +1, two bits.
        let e = t.fast[0b01 << (FAST_BITS - 2)];
        assert_eq!(e & (SLOW | 31), 2);
        assert_eq!((e >> 16) as i16, 1);
        // "0" then "0": -1.
        assert_eq!((t.fast[0] >> 16) as u16 as i16, -1);
        // EOB ends the block.
        assert_eq!((t.fast[0b10 << (FAST_BITS - 2)] >> 8) & 0xFF, 63);
        assert_eq!((t.fast[0b11 << (FAST_BITS - 2)] >> 8) & 0xFF, 15);
    }
}
