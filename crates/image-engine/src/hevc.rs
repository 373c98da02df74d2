//! The picture size an HEVC bitstream decodes to, from its sequence parameter sets. libheif 1.15
//! hands libde265 the parameter sets of `hvcC` and the item data as they are, and the decoder
//! allocates what the SPS says whatever the container's `ispe` claims; the probe reads every SPS
//! and holds it to the limits before anything is decoded.

/// HEVC `nal_unit_type` of a sequence parameter set.
const SPS: u8 = 33;

use crate::msb_bits::MsbBits;

/// `ue(v)`: Exp-Golomb, at most 32 bits of value (larger is not a valid SPS field).
fn ue(r: &mut MsbBits<'_>) -> Option<u32> {
    let mut zeros = 0;
    while r.bit()? == 0 {
        zeros += 1;
        if zeros > 31 {
            return None;
        }
    }
    let rest = r.bits(zeros)?;
    ((1u64 << zeros) - 1 + u64::from(rest)).try_into().ok()
}

/// A NAL unit's payload without its emulation prevention bytes (`00 00 03` → `00 00`).
fn rbsp(nal: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(nal.len());
    let mut zeros = 0;
    for &byte in nal {
        if zeros >= 2 && byte == 3 {
            zeros = 0;
            continue;
        }
        zeros = if byte == 0 { zeros + 1 } else { 0 };
        out.push(byte);
    }
    out
}

/// `pic_width_in_luma_samples` and `pic_height_in_luma_samples` of one SPS NAL unit (with its
/// two-byte NAL header), following H.265 7.3.2.2 up to those fields.
fn sps_size(nal: &[u8]) -> Option<(u32, u32)> {
    let body = rbsp(nal.get(2..)?);
    let mut r = MsbBits::new(&body);
    r.skip(4)?; // sps_video_parameter_set_id
    let sub_layers = r.bits(3)? as usize; // sps_max_sub_layers_minus1
    r.skip(1)?; // sps_temporal_id_nesting_flag
    // profile_tier_level(1, sps_max_sub_layers_minus1): the general profile (88 bits) and level.
    r.skip(88 + 8)?;
    let mut present = Vec::with_capacity(sub_layers);
    for _ in 0..sub_layers {
        present.push((r.bit()?, r.bit()?));
    }
    if sub_layers > 0 {
        r.skip(2 * (8 - sub_layers))?;
    }
    for (profile, level) in present {
        r.skip(88 * profile as usize + 8 * level as usize)?;
    }
    ue(&mut r)?; // sps_seq_parameter_set_id
    if ue(&mut r)? == 3 {
        r.skip(1)?; // separate_colour_plane_flag
    }
    let w = ue(&mut r)?;
    let h = ue(&mut r)?;
    Some((w, h))
}

fn nal_type(nal: &[u8]) -> Option<u8> {
    nal.first().map(|h| (h >> 1) & 0x3F)
}

/// The parameter-set NAL units of an `hvcC` box body, and the length-field size its samples use.
fn hvcc_nals(hvcc: &[u8]) -> Result<(Vec<&[u8]>, usize), &'static str> {
    let length_size = usize::from(hvcc.get(21).ok_or("truncated hvcC")? & 3) + 1;
    let arrays = *hvcc.get(22).ok_or("truncated hvcC")?;
    let mut at = 23;
    let mut nals = Vec::new();
    for _ in 0..arrays {
        let count = hvcc
            .get(at + 1..at + 3)
            .ok_or("truncated hvcC")
            .map(|c| u16::from_be_bytes([c[0], c[1]]))?;
        at += 3;
        for _ in 0..count {
            let len = hvcc
                .get(at..at + 2)
                .ok_or("truncated hvcC")
                .map(|c| usize::from(u16::from_be_bytes([c[0], c[1]])))?;
            nals.push(hvcc.get(at + 2..at + 2 + len).ok_or("truncated hvcC")?);
            at += 2 + len;
        }
    }
    Ok((nals, length_size))
}

/// Length-prefixed NAL units of an item's data; a length running past the end is an error.
fn sample_nals(mut data: &[u8], length_size: usize) -> Result<Vec<&[u8]>, &'static str> {
    let mut nals = Vec::new();
    while !data.is_empty() {
        let len_bytes = data.get(..length_size).ok_or("truncated NAL length")?;
        let len = len_bytes
            .iter()
            .fold(0usize, |a, &b| (a << 8) | usize::from(b));
        let nal = data
            .get(length_size..length_size + len)
            .ok_or("NAL unit runs past the end of the item")?;
        nals.push(nal);
        data = &data[length_size + len..];
    }
    Ok(nals)
}

/// The picture size of every SPS in an `hvcC` box body and in the items coded with it. `Err`
/// when the configuration or an SPS cannot be read: the decoder would need it, so the file is
/// broken.
pub(crate) fn picture_sizes(
    hvcc: &[u8],
    items: &[Vec<u8>],
) -> Result<Vec<(u32, u32)>, &'static str> {
    let (mut nals, length_size) = hvcc_nals(hvcc)?;
    for item in items {
        nals.extend(sample_nals(item, length_size)?);
    }
    nals.into_iter()
        .filter(|nal| nal_type(nal) == Some(SPS))
        .map(|nal| sps_size(nal).ok_or("unreadable sequence parameter set"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bits written most-significant first.
    #[derive(Default)]
    struct Writer(Vec<u32>);

    impl Writer {
        fn put(&mut self, v: u32, n: u32) {
            for i in (0..n).rev() {
                self.0.push(v.checked_shr(i).unwrap_or(0) & 1);
            }
        }

        fn ue(&mut self, v: u32) {
            let v = u64::from(v) + 1;
            let bits = 64 - v.leading_zeros();
            self.put(0, bits - 1);
            for i in (0..bits).rev() {
                self.0.push(((v >> i) & 1) as u32);
            }
        }

        fn bytes(mut self) -> Vec<u8> {
            self.0.push(1); // rbsp_stop_one_bit
            self.0
                .chunks(8)
                .map(|c| {
                    c.iter()
                        .enumerate()
                        .fold(0u8, |a, (i, &b)| a | ((b as u8) << (7 - i)))
                })
                .collect()
        }
    }

    /// An SPS NAL unit for a `w`x`h` 4:2:0 picture with `sub_layers` sub-layers that signal
    /// profile and level, zero bits padded so an emulation prevention byte is needed.
    fn sps(w: u32, h: u32, sub_layers: u32) -> Vec<u8> {
        let mut b = Writer::default();
        b.put(0, 4);
        b.put(sub_layers, 3);
        b.put(1, 1);
        b.put(0, 32); // profile space, tier, idc, first compat bits: zeros make 00 00 runs
        b.put(0, 56);
        b.put(90, 8); // general_level_idc
        for _ in 0..sub_layers {
            b.put(1, 1);
            b.put(1, 1);
        }
        if sub_layers > 0 {
            b.put(0, 2 * (8 - sub_layers));
        }
        for _ in 0..sub_layers {
            b.put(0, 88);
            b.put(90, 8);
        }
        b.ue(0);
        b.ue(1);
        b.ue(w);
        b.ue(h);
        // Insert emulation prevention the way an encoder would.
        let mut nal = vec![SPS << 1, 1];
        let mut zeros = 0;
        for byte in b.bytes() {
            if zeros >= 2 && byte <= 3 {
                nal.push(3);
                zeros = 0;
            }
            zeros = if byte == 0 { zeros + 1 } else { 0 };
            nal.push(byte);
        }
        nal
    }

    fn hvcc(nals: &[Vec<u8>]) -> Vec<u8> {
        let mut b = vec![1u8];
        b.extend([0; 20]);
        b.push(0xF3); // lengthSizeMinusOne = 3
        b.push(1);
        b.push(SPS);
        b.extend((nals.len() as u16).to_be_bytes());
        for nal in nals {
            b.extend((nal.len() as u16).to_be_bytes());
            b.extend(nal);
        }
        b
    }

    #[test]
    fn reads_the_picture_size_of_each_sps() {
        let config = hvcc(&[sps(4032, 3024, 0), sps(40_000, 30_000, 2)]);
        assert_eq!(
            picture_sizes(&config, &[]),
            Ok(vec![(4032, 3024), (40_000, 30_000)])
        );
    }

    #[test]
    fn an_sps_inside_the_item_data_counts_too() {
        let config = hvcc(&[sps(64, 64, 0)]);
        let inner = sps(65_536, 64, 0);
        let mut item = (inner.len() as u32).to_be_bytes().to_vec();
        item.extend(&inner);
        item.extend([0, 0, 0, 2, 0x26, 0x01]); // a slice NAL (type 19), not an SPS
        assert_eq!(
            picture_sizes(&config, &[item]),
            Ok(vec![(64, 64), (65_536, 64)])
        );
    }

    #[test]
    fn broken_configurations_and_items_are_errors() {
        let config = hvcc(&[sps(640, 480, 1)]);
        assert!(picture_sizes(&config[..config.len() - 3], &[]).is_err());
        assert!(picture_sizes(&config, &[vec![0, 0, 0, 9, 1]]).is_err());
        let cut = sps(640, 480, 0);
        assert!(picture_sizes(&hvcc(&[cut[..14].to_vec()]), &[]).is_err());
    }
}
