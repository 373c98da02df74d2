//! The largest frame an AV1 bitstream may decode to, from its sequence headers. libheif 1.15
//! trusts the bitstream over the container's `ispe` and dav1d allocates whatever the sequence
//! header allows, so a file can claim 16x16 in its container and decode to 65536x65536; the
//! probe reads these headers too and holds them to the limits.

use crate::msb_bits::MsbBits;

/// `uvlc()` of the AV1 spec (only skipped here).
fn uvlc(r: &mut MsbBits<'_>) -> Option<()> {
    let mut zeros = 0;
    while r.bit()? == 0 {
        zeros += 1;
        if zeros >= 32 {
            return Some(());
        }
    }
    r.bits(zeros).map(|_| ())
}

/// `leb128()`: the value and the bytes it took.
fn leb128(b: &[u8]) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for i in 0..8 {
        let byte = *b.get(i)?;
        v |= u64::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

/// Maximum frame width and height of one sequence header OBU payload.
fn sequence_header(payload: &[u8]) -> Option<(u32, u32)> {
    let mut r = MsbBits::new(payload);
    let _profile = r.bits(3)?;
    let _still = r.bit()?;
    let reduced = r.bit()?;
    if reduced == 1 {
        r.bits(5)?;
    } else {
        let timing = r.bit()?;
        let mut decoder_model = 0;
        let mut buffer_delay_len = 0;
        if timing == 1 {
            r.bits(32)?;
            r.bits(32)?;
            if r.bit()? == 1 {
                uvlc(&mut r)?;
            }
            decoder_model = r.bit()?;
            if decoder_model == 1 {
                buffer_delay_len = r.bits(5)? + 1;
                r.bits(32)?;
                r.bits(5)?;
                r.bits(5)?;
            }
        }
        let initial_display_delay = r.bit()?;
        let points = r.bits(5)? + 1;
        for _ in 0..points {
            r.bits(12)?;
            let level = r.bits(5)?;
            if level > 7 {
                r.bit()?;
            }
            if decoder_model == 1 && r.bit()? == 1 {
                r.bits(buffer_delay_len)?;
                r.bits(buffer_delay_len)?;
                r.bit()?;
            }
            if initial_display_delay == 1 && r.bit()? == 1 {
                r.bits(4)?;
            }
        }
    }
    let width_bits = r.bits(4)? + 1;
    let height_bits = r.bits(4)? + 1;
    let w = r.bits(width_bits)?.checked_add(1)?;
    let h = r.bits(height_bits)?.checked_add(1)?;
    Some((w, h))
}

/// The maximum frame size of every sequence header in a run of OBUs (item data, or an `av1C`
/// box's configOBUs). `Err` when a sequence header is cut short or cannot be read: the decoder
/// would need it, so the file is broken. OBUs without a size field end the walk (they run to
/// the end of the data, and only the last OBU may lack one).
pub(crate) fn frame_sizes(mut b: &[u8]) -> Result<Vec<(u32, u32)>, &'static str> {
    let mut sizes = Vec::new();
    while let Some(&header) = b.first() {
        let kind = (header >> 3) & 0xF;
        let extension = header & 0x04 != 0;
        let has_size = header & 0x02 != 0;
        let mut at = 1 + usize::from(extension);
        let len = if has_size {
            let (len, n) = leb128(b.get(at..).unwrap_or_default()).ok_or("bad OBU size")?;
            at += n;
            usize::try_from(len).map_err(|_| "bad OBU size")?
        } else {
            b.len().saturating_sub(at)
        };
        let payload = at
            .checked_add(len)
            .and_then(|end| b.get(at..end))
            .ok_or("OBU runs past the end of the data")?;
        // OBU_SEQUENCE_HEADER
        if kind == 1 {
            sizes.push(sequence_header(payload).ok_or("unreadable sequence header")?);
        }
        b = &b[at + len..];
    }
    Ok(sizes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reduced still-picture sequence header for a `w`x`h` frame, as an OBU with a size.
    fn reduced_header(w: u32, h: u32) -> Vec<u8> {
        let mut bits: Vec<u32> = Vec::new();
        let mut put = |v: u32, n: u32| {
            for i in (0..n).rev() {
                bits.push((v >> i) & 1);
            }
        };
        put(0, 3); // profile
        put(1, 1); // still_picture
        put(1, 1); // reduced_still_picture_header
        put(8, 5); // seq_level_idx
        put(15, 4); // frame_width_bits_minus_1
        put(15, 4); // frame_height_bits_minus_1
        put(w - 1, 16);
        put(h - 1, 16);
        let payload: Vec<u8> = bits
            .chunks(8)
            .map(|c| {
                c.iter()
                    .enumerate()
                    .fold(0u8, |a, (i, &b)| a | ((b as u8) << (7 - i)))
            })
            .collect();
        let mut obu = vec![(1 << 3) | 0x02, payload.len() as u8];
        obu.extend(payload);
        obu
    }

    #[test]
    fn reads_the_maximum_frame_size_of_a_sequence_header() {
        let mut data = vec![0x12, 0x00]; // temporal delimiter
        data.extend(reduced_header(40_000, 300));
        assert_eq!(frame_sizes(&data), Ok(vec![(40_000, 300)]));
    }

    #[test]
    fn a_sequence_header_cut_short_is_an_error() {
        let data = reduced_header(640, 480);
        assert!(frame_sizes(&data[..data.len() - 2]).is_err());
    }
}
