//! EXIF orientation: where it is read from for each container.

use std::io::Cursor;

use image::metadata::Orientation;

use crate::bytes::le32;
use crate::jpeg_scaled::first_exif;
use crate::probe::Kind;

/// The EXIF orientation stored in the file, `None` when absent or unreadable. A malformed EXIF
/// block never fails a job: the pixels are still good, only the hint is lost.
pub(crate) fn exif_orientation(bytes: &[u8], kind: Kind) -> Option<Orientation> {
    let exif = match kind {
        Kind::Jpeg => exif::Reader::new()
            .read_raw(first_exif(bytes)?.to_vec())
            .ok()?,
        Kind::Png | Kind::Tiff => exif::Reader::new()
            .read_from_container(&mut Cursor::new(bytes))
            .ok()?,
        Kind::Webp => exif::Reader::new().read_raw(webp_exif(bytes)?).ok()?,
        // HEIF orients with the container's `irot`/`imir`, which libheif applies while decoding;
        // an EXIF orientation there is informative only (HEIF spec, and what Apple writes), so
        // honouring it too would turn the image twice.
        Kind::Avif | Kind::Heic => return None,
        _ => return None,
    };
    let field = exif.get_field(exif::Tag::Orientation, exif::In::PRIMARY)?;
    let value = field.value.get_uint(0)?;
    Orientation::from_exif(u8::try_from(value).ok()?)
}

/// The TIFF structure in a WebP `EXIF` chunk. Some writers (Pillow among them) keep JPEG's
/// `Exif\0\0` prefix there, which the EXIF parser does not expect, so it is dropped.
fn webp_exif(b: &[u8]) -> Option<Vec<u8>> {
    let mut i = 12usize;
    while let (Some(fourcc), Some(size)) = (b.get(i..i + 4), le32(b, i + 4)) {
        let data = i + 8;
        if fourcc == b"EXIF" {
            let chunk = b.get(data..data.checked_add(size as usize)?)?;
            let chunk = chunk.strip_prefix(b"Exif\0\0").unwrap_or(chunk);
            return Some(chunk.to_vec());
        }
        i = data
            .saturating_add(size as usize)
            .saturating_add((size & 1) as usize);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(code: u8, body: &[u8]) -> Vec<u8> {
        let mut s = vec![0xFF, code];
        s.extend_from_slice(&u16::try_from(body.len() + 2).unwrap().to_be_bytes());
        s.extend_from_slice(body);
        s
    }

    /// A minimal big-endian TIFF block holding one Orientation entry.
    fn tiff(orientation: u16) -> Vec<u8> {
        let mut t = b"MM\0\x2a\0\0\0\x08\0\x01".to_vec();
        t.extend_from_slice(&[0x01, 0x12, 0x00, 0x03, 0, 0, 0, 1]);
        t.extend_from_slice(&orientation.to_be_bytes());
        t.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        t
    }

    fn exif_segment(orientation: u16) -> Vec<u8> {
        segment(0xE1, &[b"Exif\0\0".as_slice(), &tiff(orientation)].concat())
    }

    fn jpeg(parts: &[Vec<u8>]) -> Vec<u8> {
        let mut j = vec![0xFF, 0xD8];
        for p in parts {
            j.extend_from_slice(p);
        }
        j
    }

    #[test]
    fn the_first_exif_segment_before_the_scan_gives_the_orientation() {
        let file = jpeg(&[
            segment(0xE0, b"JFIF\0\x01\x01"),
            segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0<x/>"),
            exif_segment(6),
            exif_segment(3),
            segment(0xDA, &[1, 1, 0, 0, 63, 0]),
            vec![0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD9],
        ]);
        assert_eq!(
            exif_orientation(&file, Kind::Jpeg),
            Some(Orientation::Rotate90)
        );
    }

    #[test]
    fn fill_bytes_and_stray_bytes_between_segments_are_skipped() {
        let mut file = jpeg(&[segment(0xE0, b"JFIF\0")]);
        file.extend_from_slice(&[0x00, 0x42, 0xFF, 0xFF]);
        file.extend_from_slice(&exif_segment(8));
        assert_eq!(
            exif_orientation(&file, Kind::Jpeg),
            Some(Orientation::Rotate270)
        );
    }

    #[test]
    fn nothing_after_the_first_scan_is_read() {
        let file = jpeg(&[
            segment(0xDA, &[1, 1, 0, 0, 63, 0]),
            vec![0x12, 0x34],
            exif_segment(6),
        ]);
        // The `exif` crate's own search would find this one, walking the scan to get there.
        assert_eq!(exif_orientation(&file, Kind::Jpeg), None);
    }

    #[test]
    fn truncated_or_malformed_headers_give_no_orientation() {
        let whole = jpeg(&[exif_segment(6)]);
        for cut in 0..whole.len() {
            assert_eq!(
                exif_orientation(&whole[..cut], Kind::Jpeg),
                None,
                "cut {cut}"
            );
        }
        // A length below its own two bytes.
        assert_eq!(first_exif(&jpeg(&[vec![0xFF, 0xE1, 0x00, 0x01]])), None);
        assert_eq!(first_exif(b"not a jpeg"), None);
    }
}
