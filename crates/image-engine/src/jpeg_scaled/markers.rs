//! Reads a JPEG's marker segments up to the first scan: frame, tables, restart interval, the
//! colour hints (JFIF, Adobe) and the EXIF/ICC metadata the outputs carry.

use super::FastPathError::{self, Corrupt, Unsupported};
use super::huffman::{Class, HuffTable};

/// One frame component, in frame order (which the single scan must follow).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Component {
    /// Horizontal sampling factor (1 or 2 for luma, 1 otherwise).
    pub h: usize,
    /// Vertical sampling factor.
    pub v: usize,
    /// Quantisation table, in zig-zag order.
    pub quant: [u16; 64],
    /// DC Huffman table index.
    pub dc: usize,
    /// AC Huffman table index.
    pub ac: usize,
}

/// Everything the scan decoder needs.
pub(super) struct Header {
    pub width: u16,
    pub height: u16,
    pub components: Vec<Component>,
    pub dc_tables: [Option<HuffTable>; 4],
    pub ac_tables: [Option<HuffTable>; 4],
    /// MCUs per restart interval, 0 for none.
    pub restart_interval: u16,
    /// Offset of the first entropy-coded byte.
    pub scan_start: usize,
    pub icc: Option<Vec<u8>>,
    pub exif: Option<Vec<u8>>,
}

struct FrameComponent {
    id: u8,
    h: usize,
    v: usize,
    tq: usize,
}

struct IccChunk {
    seq: u8,
    count: u8,
    data: Vec<u8>,
}

/// Parses the headers of `bytes` up to and including the first SOS.
pub(super) fn read(bytes: &[u8]) -> Result<Header, FastPathError> {
    if bytes.get(..2) != Some(&[0xFF, 0xD8][..]) {
        return Err(Corrupt("no SOI marker"));
    }
    let mut pos = 2;
    let mut frame: Option<(u16, u16, Vec<FrameComponent>, bool)> = None;
    let mut quant: [Option<[u16; 64]>; 4] = [None; 4];
    let mut dc_tables: [Option<HuffTable>; 4] = Default::default();
    let mut ac_tables: [Option<HuffTable>; 4] = Default::default();
    let mut restart_interval = 0;
    let mut jfif = false;
    let mut adobe: Option<u8> = None;
    let mut exif = None;
    let mut icc_chunks: Vec<IccChunk> = Vec::new();
    loop {
        let marker = next_marker(bytes, &mut pos)?;
        if marker == 0xD9 {
            return Err(Corrupt("EOI before the first scan"));
        }
        let body = segment_body(bytes, &mut pos)?;
        match marker {
            0xC0 | 0xC1 => {
                if frame.is_some() {
                    return Err(Unsupported("more than one frame"));
                }
                frame = Some(parse_sof(body, marker == 0xC0)?);
            }
            0xC4 => parse_dht(body, &mut dc_tables, &mut ac_tables)?,
            0xDB => parse_dqt(body, &mut quant)?,
            0xDD => {
                let [a, b] = body else {
                    return Err(Corrupt("DRI with an invalid length"));
                };
                restart_interval = u16::from_be_bytes([*a, *b]);
            }
            0xE0 => {
                if body.starts_with(b"JFIF\0") {
                    jfif = true;
                } else if body.starts_with(b"AVI1\0") {
                    // Motion-JPEG frames may omit their Huffman tables and expect defaults.
                    return Err(Unsupported("Motion-JPEG frame"));
                }
            }
            0xE1 => {
                if let Some(rest) = body.strip_prefix(b"Exif\0\0") {
                    exif = Some(rest.to_vec());
                }
            }
            0xE2 => {
                if body.len() > 14 && body.starts_with(b"ICC_PROFILE\0") {
                    icc_chunks.push(IccChunk {
                        seq: body[12],
                        count: body[13],
                        data: body[14..].to_vec(),
                    });
                }
            }
            0xEE => {
                if body.len() >= 12 && body.starts_with(b"Adobe\0") {
                    if body[11] > 2 {
                        return Err(Corrupt("invalid Adobe colour transform"));
                    }
                    adobe = Some(body[11]);
                }
            }
            0xE3..=0xED | 0xEF | 0xFE => {}
            0xDA => {
                let (width, height, frame_components, baseline) =
                    frame.ok_or(Corrupt("scan before frame"))?;
                let components = parse_sos(body, &frame_components, baseline, &quant)?;
                check_colour(&frame_components, jfif, adobe)?;
                for c in &components {
                    if dc_tables[c.dc].is_none() || ac_tables[c.ac].is_none() {
                        return Err(Unsupported("scan uses an undefined Huffman table"));
                    }
                }
                return Ok(Header {
                    width,
                    height,
                    components,
                    dc_tables,
                    ac_tables,
                    restart_interval,
                    scan_start: pos,
                    icc: assemble_icc(&icc_chunks),
                    exif,
                });
            }
            0xC2 | 0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                return Err(Unsupported(
                    "not a baseline or extended sequential Huffman frame",
                ));
            }
            _ => return Err(Unsupported("unexpected marker before the scan")),
        }
    }
}

/// The TIFF structure in the first APP1 `Exif` segment before the first scan, for the EXIF
/// orientation. Unlike [`read`] this accepts any JPEG (progressive, CMYK, …) and stops at the
/// first scan: EXIF is written before it, and the `exif` crate's own search reads on through the
/// whole entropy-coded data of a file that has none (1 % of a worker's CPU on a 12 MP photo).
pub(crate) fn first_exif(bytes: &[u8]) -> Option<&[u8]> {
    if bytes.get(..2) != Some(&[0xFF, 0xD8][..]) {
        return None;
    }
    let mut pos = 2;
    loop {
        match next_marker(bytes, &mut pos).ok()? {
            // Stand-alone markers (TEM, RST0–7) carry no length.
            0x01 | 0xD0..=0xD7 => continue,
            // Start of scan, start or end of image: no EXIF before the pixels.
            0xD8..=0xDA => return None,
            marker => {
                let body = segment_body(bytes, &mut pos).ok()?;
                if marker == 0xE1
                    && let Some(tiff) = body.strip_prefix(b"Exif\0\0")
                {
                    return Some(tiff);
                }
            }
        }
    }
}

/// The body of the segment whose length field is at `pos`; leaves `pos` after the segment.
fn segment_body<'a>(bytes: &'a [u8], pos: &mut usize) -> Result<&'a [u8], FastPathError> {
    let len = usize::from(u16::from_be_bytes([
        *bytes.get(*pos).ok_or(Corrupt("truncated segment"))?,
        *bytes.get(*pos + 1).ok_or(Corrupt("truncated segment"))?,
    ]));
    if len < 2 {
        return Err(Corrupt("segment length below 2"));
    }
    let body = bytes
        .get(*pos + 2..*pos + len)
        .ok_or(Corrupt("segment runs past the end"))?;
    *pos += len;
    Ok(body)
}

/// Finds the next marker from `pos`, skipping stray bytes and fill bytes as libjpeg does, and
/// leaves `pos` just after it.
fn next_marker(bytes: &[u8], pos: &mut usize) -> Result<u8, FastPathError> {
    loop {
        let rest = bytes.get(*pos..).unwrap_or_default();
        let ff = rest
            .iter()
            .position(|&b| b == 0xFF)
            .ok_or(Corrupt("no marker before the end"))?;
        *pos += ff + 1;
        while bytes.get(*pos) == Some(&0xFF) {
            *pos += 1;
        }
        match bytes.get(*pos) {
            None => return Err(Corrupt("no marker before the end")),
            Some(0x00) => *pos += 1,
            Some(&m) => {
                *pos += 1;
                return Ok(m);
            }
        }
    }
}

fn parse_sof(
    body: &[u8],
    baseline: bool,
) -> Result<(u16, u16, Vec<FrameComponent>, bool), FastPathError> {
    let [precision, h0, h1, w0, w1, count, rest @ ..] = body else {
        return Err(Corrupt("SOF too short"));
    };
    if *precision != 8 {
        return Err(Unsupported("sample precision other than 8 bits"));
    }
    let height = u16::from_be_bytes([*h0, *h1]);
    let width = u16::from_be_bytes([*w0, *w1]);
    if height == 0 {
        return Err(Unsupported("height given by a DNL marker"));
    }
    if width == 0 {
        return Err(Corrupt("zero width"));
    }
    if rest.len() != 3 * usize::from(*count) {
        return Err(Corrupt("invalid SOF length"));
    }
    let mut components: Vec<FrameComponent> = Vec::with_capacity(3);
    for c in rest.chunks_exact(3) {
        let (id, h, v, tq) = (c[0], usize::from(c[1] >> 4), usize::from(c[1] & 15), c[2]);
        if components.iter().any(|o| o.id == id) {
            return Err(Corrupt("duplicate component identifier"));
        }
        if !(1..=4).contains(&h) || !(1..=4).contains(&v) || tq > 3 {
            return Err(Corrupt("invalid sampling factor or quantisation table"));
        }
        components.push(FrameComponent {
            id,
            h,
            v,
            tq: usize::from(tq),
        });
    }
    match components.as_slice() {
        [_] => {}
        [y, cb, cr] => {
            let luma = matches!((y.h, y.v), (1, 1) | (2, 1) | (1, 2) | (2, 2));
            let chroma = (cb.h, cb.v, cr.h, cr.v) == (1, 1, 1, 1);
            if !luma || !chroma {
                return Err(Unsupported(
                    "chroma sampling other than 4:4:4, 4:2:2, 4:4:0, 4:2:0",
                ));
            }
        }
        _ => return Err(Unsupported("component count other than 1 or 3")),
    }
    Ok((width, height, components, baseline))
}

fn parse_dqt(mut body: &[u8], quant: &mut [Option<[u16; 64]>; 4]) -> Result<(), FastPathError> {
    while let [pq_tq, rest @ ..] = body {
        let (precision, index) = (pq_tq >> 4, usize::from(pq_tq & 15));
        if precision > 1 || index > 3 {
            return Err(Corrupt("invalid DQT table"));
        }
        let size = 64 << precision;
        let values = rest.get(..size).ok_or(Corrupt("DQT too short"))?;
        let mut table = [0u16; 64];
        for (i, q) in table.iter_mut().enumerate() {
            *q = if precision == 0 {
                u16::from(values[i])
            } else {
                u16::from_be_bytes([values[2 * i], values[2 * i + 1]])
            };
        }
        if table.contains(&0) {
            return Err(Corrupt("zero in a quantisation table"));
        }
        quant[index] = Some(table);
        body = &rest[size..];
    }
    Ok(())
}

fn parse_dht(
    mut body: &[u8],
    dc: &mut [Option<HuffTable>; 4],
    ac: &mut [Option<HuffTable>; 4],
) -> Result<(), FastPathError> {
    while body.len() > 17 {
        let (class, index) = (body[0] >> 4, usize::from(body[0] & 15));
        if class > 1 || index > 3 {
            return Err(Corrupt("invalid DHT table"));
        }
        let mut counts = [0u8; 16];
        counts.copy_from_slice(&body[1..17]);
        let size: usize = counts.iter().map(|&c| usize::from(c)).sum();
        if size == 0 || size > 256 {
            return Err(Corrupt("invalid Huffman table size"));
        }
        let values = body.get(17..17 + size).ok_or(Corrupt("DHT too short"))?;
        if class == 0 {
            dc[index] = Some(HuffTable::new(&counts, values, Class::Dc)?);
        } else {
            ac[index] = Some(HuffTable::new(&counts, values, Class::Ac)?);
        }
        body = &body[17 + size..];
    }
    if !body.is_empty() {
        return Err(Corrupt("invalid DHT length"));
    }
    Ok(())
}

fn parse_sos(
    body: &[u8],
    frame: &[FrameComponent],
    baseline: bool,
    quant: &[Option<[u16; 64]>; 4],
) -> Result<Vec<Component>, FastPathError> {
    let [count, rest @ ..] = body else {
        return Err(Corrupt("SOS too short"));
    };
    let count = usize::from(*count);
    if count != frame.len() {
        return Err(Unsupported("scan without every component"));
    }
    let Some((selectors, [ss, se, a])) = rest.split_at_checked(2 * count) else {
        return Err(Corrupt("invalid SOS length"));
    };
    // jpeg-decoder reads an end of 0 as 63 in a sequential scan.
    if *ss != 0 || !matches!(*se, 0 | 63) || *a != 0 {
        return Err(Corrupt("spectral selection in a sequential scan"));
    }
    let mut components = Vec::with_capacity(count);
    for (sel, fc) in selectors.chunks_exact(2).zip(frame) {
        if sel[0] != fc.id {
            return Err(Unsupported("scan components out of frame order"));
        }
        let (dc, ac) = (usize::from(sel[1] >> 4), usize::from(sel[1] & 15));
        if dc > 3 || ac > 3 || (baseline && (dc > 1 || ac > 1)) {
            return Err(Corrupt("invalid Huffman table index"));
        }
        components.push(Component {
            h: fc.h,
            v: fc.v,
            quant: quant[fc.tq].ok_or(Corrupt("undefined quantisation table"))?,
            dc,
            ac,
        });
    }
    Ok(components)
}

/// Accepts grey and YCbCr, decided as `jpeg-decoder` decides it (component ids first, then JFIF,
/// then Adobe's transform flag); RGB and the big-gamut variants go to the general decoder.
fn check_colour(
    components: &[FrameComponent],
    jfif: bool,
    adobe: Option<u8>,
) -> Result<(), FastPathError> {
    let [a, b, c] = components else {
        return Ok(());
    };
    match (a.id, b.id, c.id) {
        (1, 2, 3) => return Ok(()),
        (1, 34, 35) | (82, 71, 66) | (114, 103, 98) => {
            return Err(Unsupported("RGB or big-gamut colour"));
        }
        _ => {}
    }
    if jfif {
        return Ok(());
    }
    match adobe {
        None | Some(1) => Ok(()),
        Some(_) => Err(Unsupported("Adobe transform other than YCbCr")),
    }
}

/// Concatenates the ICC chunks by sequence number, or `None` if any is missing or repeated (the
/// rule `jpeg-decoder` applies).
fn assemble_icc(chunks: &[IccChunk]) -> Option<Vec<u8>> {
    let n = chunks.len();
    if n == 0 || n >= 255 {
        return None;
    }
    let mut ordered: Vec<Option<&IccChunk>> = vec![None; n + 1];
    for chunk in chunks {
        if usize::from(chunk.count) != n || chunk.seq == 0 {
            return None;
        }
        let slot = ordered.get_mut(usize::from(chunk.seq))?;
        if slot.is_some() {
            return None;
        }
        *slot = Some(chunk);
    }
    let mut data = Vec::new();
    for chunk in &ordered[1..] {
        data.extend_from_slice(&(*chunk)?.data);
    }
    Some(data)
}
