//! EXIF orientation: where it is read from for each container.

use std::io::Cursor;

use image::metadata::Orientation;

use crate::bytes::le32;
use crate::probe::Kind;

/// The EXIF orientation stored in the file, `None` when absent or unreadable. A malformed EXIF
/// block never fails a job: the pixels are still good, only the hint is lost.
pub(crate) fn exif_orientation(bytes: &[u8], kind: Kind) -> Option<Orientation> {
    let exif = match kind {
        Kind::Jpeg | Kind::Png | Kind::Tiff => exif::Reader::new()
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
