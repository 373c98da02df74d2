//! The HEIF container (ISO-BMFF, ISO/IEC 23008-12) that AVIF and HEIC images live in, read in
//! Rust without libheif: which item is the primary image, how it is coded, its stored size
//! (`ispe`), whether the file holds every byte its items point at, and (AVIF) the frame size the
//! AV1 sequence headers allow. The probe runs on the gateway for every upload, so nothing here
//! decodes, and hostile input costs a few box reads and one pass over the AV1 OBU headers.

use crate::bytes::{be16, be32};
use crate::{EngineError, Limits};

/// How the primary image's pixels are coded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Codec {
    /// AV1 (`av01` items): AVIF.
    Av1,
    /// HEVC (`hvc1` items): HEIC, the phone-photo format.
    Hevc,
}

/// What the container says about the primary image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Container {
    pub codec: Codec,
    /// Stored width (`ispe`), before the `irot`/`imir`/`clap` transforms.
    pub width: u32,
    /// Stored height (`ispe`), before the transforms.
    pub height: u32,
}

/// Brands that promise a HEIF still image (AVIF, HEIC and the generic `mif1`).
const IMAGE_BRANDS: &[&[u8; 4]] = &[
    b"avif", b"avis", b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1",
    b"mif2", b"miaf",
];

/// Whether an `ftyp` box names a HEIF image brand (as major or compatible brand).
pub(crate) fn is_image(b: &[u8]) -> bool {
    let Some(size) = be32(b, 0) else {
        return false;
    };
    // Major brand at 8, minor version at 12 (not a brand), compatible brands from 16; a few
    // dozen brands at most are looked at.
    let end = (size as usize).clamp(16, 256).min(b.len());
    let major = b.get(8..12).into_iter();
    let compatible = b.get(16..end).unwrap_or_default().chunks_exact(4);
    major
        .chain(compatible)
        .any(|brand| IMAGE_BRANDS.iter().any(|ok| brand == ok.as_slice()))
}

fn invalid(what: &str) -> EngineError {
    EngineError::InvalidImage(format!("heif: {what}"))
}

/// One box: its type and the byte range of its payload.
struct BoxRef<'a> {
    kind: [u8; 4],
    body: &'a [u8],
}

/// The boxes laid end to end in `b`. A size running past the end is an error: the file was cut
/// short (or lies), and either way its structure cannot be trusted.
fn boxes(mut b: &[u8]) -> impl Iterator<Item = Result<BoxRef<'_>, EngineError>> {
    std::iter::from_fn(move || {
        if b.is_empty() {
            return None;
        }
        let parsed = (|| {
            let size = be32(b, 0).ok_or_else(|| invalid("truncated box header"))?;
            let kind: [u8; 4] = b
                .get(4..8)
                .and_then(|k| k.try_into().ok())
                .ok_or_else(|| invalid("truncated box header"))?;
            let (header, len) = match size {
                0 => (8, b.len()),
                1 => {
                    let hi = be32(b, 8).ok_or_else(|| invalid("truncated box header"))?;
                    let lo = be32(b, 12).ok_or_else(|| invalid("truncated box header"))?;
                    let len = (u64::from(hi) << 32) | u64::from(lo);
                    (16, usize::try_from(len).unwrap_or(usize::MAX))
                }
                n => (8, n as usize),
            };
            if len < header {
                return Err(invalid("box shorter than its header"));
            }
            let body = b.get(header..len).ok_or_else(|| {
                invalid(&format!(
                    "truncated: '{}' box runs past the end of the file",
                    String::from_utf8_lossy(&kind)
                ))
            })?;
            Ok((BoxRef { kind, body }, len))
        })();
        match parsed {
            Ok((boxed, len)) => {
                b = &b[len..];
                Some(Ok(boxed))
            }
            Err(e) => {
                b = &[];
                Some(Err(e))
            }
        }
    })
}

/// The version byte and the payload after a FullBox's version and flags.
fn full(body: &[u8]) -> Result<(u8, u32, &[u8]), EngineError> {
    let vf = be32(body, 0).ok_or_else(|| invalid("truncated full box"))?;
    Ok(((vf >> 24) as u8, vf & 0x00FF_FFFF, &body[4..]))
}

/// Reads an unsigned big-endian integer of `n` bytes (0, 4 or 8 in `iloc`).
fn uint(b: &[u8], at: usize, n: usize) -> Option<u64> {
    match n {
        0 => Some(0),
        4 => be32(b, at).map(u64::from),
        8 => Some((u64::from(be32(b, at)?) << 32) | u64::from(be32(b, at + 4)?)),
        _ => None,
    }
}

/// Item facts gathered from `meta`.
#[derive(Default)]
struct Meta<'a> {
    handler: Option<[u8; 4]>,
    primary: Option<u32>,
    /// (item id, item type)
    types: Vec<(u32, [u8; 4])>,
    /// (from item, to item) for `dimg` references: the inputs of a grid or overlay.
    dimg: Vec<(u32, u32)>,
    /// (width, height) of each property in `ipco`, `None` where it is not an `ispe`.
    ispe: Vec<Option<(u32, u32)>>,
    /// (item id, 1-based property index) from `ipma`.
    assoc: Vec<(u32, u16)>,
    /// The configOBUs of every `av1C` property.
    av1c: Vec<&'a [u8]>,
    /// The body of each property in `ipco` that is an `hvcC`, `None` for the others.
    hvcc: Vec<Option<&'a [u8]>>,
}

/// Reads the container of a file whose `ftyp` names a HEIF brand, checking each stored size
/// against `limits` (a grid's tiles too) and that every item's data is inside the file.
pub(crate) fn read(b: &[u8], limits: &Limits) -> Result<Container, EngineError> {
    let mut meta = None;
    for item in boxes(b) {
        let item = item?;
        if &item.kind == b"meta" {
            meta = Some(item.body);
            break;
        }
    }
    let meta_body = meta.ok_or_else(|| invalid("no 'meta' box (an image sequence only?)"))?;
    let (_, _, children) = full(meta_body)?;
    let mut m = Meta::default();
    let mut iloc = None;
    let mut idat: &[u8] = &[];
    for child in boxes(children) {
        let child = child?;
        match &child.kind {
            b"hdlr" => {
                let (_, _, p) = full(child.body)?;
                m.handler = p.get(4..8).and_then(|h| h.try_into().ok());
            }
            b"pitm" => {
                let (v, _, p) = full(child.body)?;
                m.primary = if v == 0 {
                    be16(p, 0).map(u32::from)
                } else {
                    be32(p, 0)
                };
            }
            b"iinf" => iinf(child.body, &mut m)?,
            b"iref" => iref(child.body, &mut m)?,
            b"iprp" => iprp(child.body, &mut m)?,
            b"iloc" => iloc = Some(child.body),
            b"idat" => idat = child.body,
            _ => {}
        }
    }
    if m.handler != Some(*b"pict") {
        return Err(invalid("the 'meta' box is not an image ('pict') handler"));
    }
    let primary = m.primary.ok_or_else(|| invalid("no primary item"))?;
    let kind_of = |id: u32| m.types.iter().find(|(i, _)| *i == id).map(|(_, t)| *t);
    let primary_kind = kind_of(primary).ok_or_else(|| invalid("the primary item is not listed"))?;
    let codec = match &primary_kind {
        b"av01" => Some(Codec::Av1),
        b"hvc1" => Some(Codec::Hevc),
        // Derived images: a grid of tiles, an overlay, or an identity transform of another item.
        b"grid" | b"iovl" | b"iden" => {
            m.dimg
                .iter()
                .filter(|(from, _)| *from == primary)
                .find_map(|(_, to)| match kind_of(*to).as_ref() {
                    Some(b"av01") => Some(Codec::Av1),
                    Some(b"hvc1") => Some(Codec::Hevc),
                    _ => None,
                })
        }
        _ => None,
    };
    let codec = codec.ok_or_else(|| {
        EngineError::UnsupportedFormat(format!(
            "HEIF images coded as '{}' are not supported (AVIF and HEIC are)",
            String::from_utf8_lossy(&primary_kind).trim()
        ))
    })?;
    // Every stored size, not just the primary's: a grid's tiles are decoded one by one at the
    // size their own `ispe` (and bitstream) gives.
    for (w, h) in m.ispe.iter().flatten() {
        crate::probe::check_claim(limits, "a heif item", u64::from(*w), u64::from(*h))?;
    }
    let (width, height) = m
        .assoc
        .iter()
        .filter(|(item, _)| *item == primary)
        .find_map(|(_, index)| {
            let i = usize::from(*index).checked_sub(1)?;
            *m.ispe.get(i)?
        })
        .ok_or_else(|| invalid("the primary item has no size ('ispe')"))?;
    let items = match iloc {
        Some(body) => locations(body)?,
        None => Vec::new(),
    };
    for item in &items {
        item.check(b.len(), idat.len())?;
    }
    // What the AV1 data itself says: libheif 1.15 and dav1d decode the frame size of the
    // bitstream whatever `ispe` claims, so every sequence header is held to the limits too.
    let av1_items = items
        .iter()
        .filter(|loc| kind_of(loc.item).as_ref() == Some(b"av01"))
        .map(|loc| loc.data(b, idat));
    for obus in m.av1c.iter().map(|c| c.to_vec()).chain(av1_items) {
        let sizes = crate::av1::frame_sizes(&obus).map_err(|e| invalid(&format!("av1: {e}")))?;
        for (w, h) in sizes {
            crate::probe::check_claim(limits, "an av1 sequence header", w.into(), h.into())?;
        }
    }
    // The same for HEVC: libde265 allocates what each sequence parameter set says.
    let hvcc_of = |item: u32| {
        m.assoc
            .iter()
            .filter(|(i, _)| *i == item)
            .find_map(|(_, index)| *m.hvcc.get(usize::from(*index).checked_sub(1)?)?)
    };
    for config in m.hvcc.iter().flatten() {
        let sizes =
            crate::hevc::picture_sizes(config, &[]).map_err(|e| invalid(&format!("hevc: {e}")))?;
        for (w, h) in sizes {
            crate::probe::check_claim(
                limits,
                "an hevc sequence parameter set",
                w.into(),
                h.into(),
            )?;
        }
    }
    for loc in items
        .iter()
        .filter(|loc| kind_of(loc.item).as_ref() == Some(b"hvc1"))
    {
        let config = hvcc_of(loc.item).ok_or_else(|| invalid("an hevc item has no 'hvcC'"))?;
        let sizes = crate::hevc::picture_sizes(config, &[loc.data(b, idat)])
            .map_err(|e| invalid(&format!("hevc: {e}")))?;
        for (w, h) in sizes {
            crate::probe::check_claim(
                limits,
                "an hevc sequence parameter set",
                w.into(),
                h.into(),
            )?;
        }
    }
    Ok(Container {
        codec,
        width,
        height,
    })
}

fn iinf(body: &[u8], m: &mut Meta<'_>) -> Result<(), EngineError> {
    let (v, _, p) = full(body)?;
    let skip = if v == 0 { 2 } else { 4 };
    for infe in boxes(p.get(skip..).unwrap_or_default()) {
        let infe = infe?;
        if &infe.kind != b"infe" {
            continue;
        }
        let (v, _, p) = full(infe.body)?;
        // Versions 0 and 1 predate item types (they describe files, not images).
        let entry = match v {
            2 => be16(p, 0)
                .map(u32::from)
                .zip(p.get(4..8).and_then(|t| t.try_into().ok())),
            3 => be32(p, 0).zip(p.get(6..10).and_then(|t| t.try_into().ok())),
            _ => None,
        };
        if let Some(entry) = entry {
            m.types.push(entry);
        }
    }
    Ok(())
}

fn iref(body: &[u8], m: &mut Meta<'_>) -> Result<(), EngineError> {
    let (v, _, p) = full(body)?;
    let id = if v == 0 { 2 } else { 4 };
    let read_id = |b: &[u8], at: usize| {
        if id == 2 {
            be16(b, at).map(u32::from)
        } else {
            be32(b, at)
        }
    };
    for r in boxes(p) {
        let r = r?;
        if &r.kind != b"dimg" {
            continue;
        }
        let from = read_id(r.body, 0).ok_or_else(|| invalid("truncated 'iref'"))?;
        let count = be16(r.body, id).ok_or_else(|| invalid("truncated 'iref'"))?;
        for k in 0..usize::from(count) {
            let to = read_id(r.body, id + 2 + k * id).ok_or_else(|| invalid("truncated 'iref'"))?;
            m.dimg.push((from, to));
        }
    }
    Ok(())
}

fn iprp<'a>(body: &'a [u8], m: &mut Meta<'a>) -> Result<(), EngineError> {
    for child in boxes(body) {
        let child = child?;
        match &child.kind {
            b"ipco" => {
                for prop in boxes(child.body) {
                    let prop = prop?;
                    if &prop.kind == b"av1C" {
                        m.av1c.push(prop.body.get(4..).unwrap_or_default());
                    }
                    m.hvcc.push((&prop.kind == b"hvcC").then_some(prop.body));
                    let size = if &prop.kind == b"ispe" {
                        let (_, _, p) = full(prop.body)?;
                        Some(
                            be32(p, 0)
                                .zip(be32(p, 4))
                                .ok_or_else(|| invalid("truncated 'ispe'"))?,
                        )
                    } else {
                        None
                    };
                    m.ispe.push(size);
                }
            }
            b"ipma" => {
                let (v, flags, p) = full(child.body)?;
                let count = be32(p, 0).ok_or_else(|| invalid("truncated 'ipma'"))?;
                let mut at = 4usize;
                for _ in 0..count {
                    let item = if v < 1 {
                        be16(p, at).map(u32::from)
                    } else {
                        be32(p, at)
                    }
                    .ok_or_else(|| invalid("truncated 'ipma'"))?;
                    at += if v < 1 { 2 } else { 4 };
                    let n = *p.get(at).ok_or_else(|| invalid("truncated 'ipma'"))?;
                    at += 1;
                    for _ in 0..n {
                        let index = if flags & 1 != 0 {
                            let raw = be16(p, at).ok_or_else(|| invalid("truncated 'ipma'"))?;
                            at += 2;
                            raw & 0x7FFF
                        } else {
                            let raw = *p.get(at).ok_or_else(|| invalid("truncated 'ipma'"))?;
                            at += 1;
                            u16::from(raw & 0x7F)
                        };
                        m.assoc.push((item, index));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Where one item's data is: construction method 0 (in this file) or 1 (in `idat`), a base
/// offset and extents of (offset, length).
struct Location {
    item: u32,
    method: u16,
    data_ref: u16,
    base: u64,
    extents: Vec<(u64, u64)>,
}

impl Location {
    /// Whether the data is here at all: 0 in this file, 1 in `idat`; other methods (item
    /// offsets, other files) are left to libheif.
    fn space(&self, file_len: usize, idat_len: usize) -> Option<usize> {
        match (self.method, self.data_ref) {
            (0, 0) => Some(file_len),
            (1, _) => Some(idat_len),
            _ => None,
        }
    }

    /// Every extent must end inside the file (or `idat`): a file cut short in its image data is
    /// refused here, as a JPEG without its end marker is.
    fn check(&self, file_len: usize, idat_len: usize) -> Result<(), EngineError> {
        let Some(space) = self.space(file_len, idat_len) else {
            return Ok(());
        };
        for (offset, length) in &self.extents {
            let end = self.base.saturating_add(*offset).saturating_add(*length);
            if end > space as u64 {
                return Err(invalid(&format!(
                    "truncated: image data ends at byte {end}, the file has {space}"
                )));
            }
        }
        Ok(())
    }

    /// The item's bytes, extents joined (after `check`; an extent of length 0 runs to the end).
    fn data(&self, file: &[u8], idat: &[u8]) -> Vec<u8> {
        let space = match (self.method, self.data_ref) {
            (0, 0) => file,
            (1, _) => idat,
            _ => return Vec::new(),
        };
        let mut out = Vec::new();
        for (offset, length) in &self.extents {
            let start = usize::try_from(self.base.saturating_add(*offset)).unwrap_or(usize::MAX);
            let end = if *length == 0 {
                space.len()
            } else {
                usize::try_from(self.base.saturating_add(*offset).saturating_add(*length))
                    .unwrap_or(usize::MAX)
            };
            out.extend_from_slice(space.get(start..end).unwrap_or_default());
            // Extents may overlap; no honest item is bigger than what holds it.
            if out.len() > space.len() {
                break;
            }
        }
        out
    }
}

/// The `iloc` box: where every item's data is.
fn locations(body: &[u8]) -> Result<Vec<Location>, EngineError> {
    let truncated = || invalid("truncated or malformed 'iloc'");
    let (v, _, p) = full(body)?;
    let sizes = be16(p, 0).ok_or_else(truncated)?;
    let (offset_size, length_size, base_size) = (
        usize::from(sizes >> 12),
        usize::from((sizes >> 8) & 0xF),
        usize::from((sizes >> 4) & 0xF),
    );
    let index_size = if v == 1 || v == 2 {
        usize::from(sizes & 0xF)
    } else {
        0
    };
    let (count, mut at) = if v < 2 {
        (be16(p, 2).map(u32::from).ok_or_else(truncated)?, 4)
    } else {
        (be32(p, 2).ok_or_else(truncated)?, 6)
    };
    let mut out = Vec::new();
    // With every size field 0 an extent takes no bytes, so the box size alone does not bound
    // how many there are.
    let mut budget = 100_000u32;
    for _ in 0..count {
        let item = if v < 2 {
            be16(p, at).map(u32::from)
        } else {
            be32(p, at)
        }
        .ok_or_else(truncated)?;
        at += if v < 2 { 2 } else { 4 };
        let method = if v == 1 || v == 2 {
            let m = be16(p, at).ok_or_else(truncated)? & 0xF;
            at += 2;
            m
        } else {
            0
        };
        let data_ref = be16(p, at).ok_or_else(truncated)?;
        at += 2;
        let base = uint(p, at, base_size).ok_or_else(truncated)?;
        at += base_size;
        let count = be16(p, at).ok_or_else(truncated)?;
        at += 2;
        let mut extents = Vec::new();
        budget = budget
            .checked_sub(u32::from(count))
            .ok_or_else(|| invalid("too many item extents"))?;
        for _ in 0..count {
            at += index_size;
            let offset = uint(p, at, offset_size).ok_or_else(truncated)?;
            at += offset_size;
            let length = uint(p, at, length_size).ok_or_else(truncated)?;
            at += length_size;
            extents.push((offset, length));
        }
        out.push(Location {
            item,
            method,
            data_ref,
            base,
            extents,
        });
    }
    Ok(out)
}
