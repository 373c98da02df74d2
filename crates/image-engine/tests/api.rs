//! The engine's public contract: probe, prepare, render, errors and limits.

mod common;

use common::{decode, encode, jpeg, photo, recipe};
use image::{DynamicImage, ImageFormat};
use image_engine::{EngineError, Format, Limits, Prepared, probe};
use shared_protocol::ErrorCode;

fn run(bytes: &[u8], json: &str) -> Result<Vec<image_engine::Encoded>, EngineError> {
    let r = recipe(json);
    let p = Prepared::prepare(bytes, &r, &Limits::default())?;
    (0..r.outputs.len()).map(|i| p.render(&r, i)).collect()
}

#[test]
fn probe_reads_format_and_size_of_every_common_format() {
    let img = DynamicImage::ImageRgb8(photo(64, 48));
    let cases = [
        (ImageFormat::Jpeg, "jpeg"),
        (ImageFormat::Png, "png"),
        (ImageFormat::Gif, "gif"),
        (ImageFormat::WebP, "webp"),
        (ImageFormat::Bmp, "bmp"),
        (ImageFormat::Tiff, "tiff"),
    ];
    for (format, name) in cases {
        let info = probe(&encode(&img, format), &Limits::default()).expect(name);
        assert_eq!(
            (info.format, info.width, info.height, info.frames),
            (name, 64, 48, 1)
        );
    }
}

#[test]
fn probe_refuses_a_non_image_as_unsupported() {
    let err = probe(b"%PDF-1.4 not an image at all", &Limits::default()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::UnsupportedMediaType, "{err}");
}

#[test]
fn probe_refuses_a_jpeg_without_its_end_marker_as_invalid() {
    let bytes = jpeg(&photo(64, 48), None);
    let err = probe(&bytes[..bytes.len() - 100], &Limits::default()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidImage, "{err}");
}

#[test]
fn probe_refuses_a_png_without_iend_as_invalid() {
    let bytes = encode(&DynamicImage::ImageRgb8(photo(64, 48)), ImageFormat::Png);
    let err = probe(&bytes[..bytes.len() - 12], &Limits::default()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidImage, "{err}");
}

#[test]
fn probe_refuses_a_pixel_bomb_from_its_header_alone() {
    // A PNG header claiming 20000x20000 followed by no pixel data worth the name.
    let mut bytes = encode(&DynamicImage::ImageRgb8(photo(8, 8)), ImageFormat::Png);
    bytes[16..20].copy_from_slice(&20_000u32.to_be_bytes());
    bytes[20..24].copy_from_slice(&20_000u32.to_be_bytes());
    let limits = Limits {
        max_width: 100_000,
        max_height: 100_000,
        ..Limits::default()
    };
    let err = probe(&bytes, &limits).unwrap_err();
    assert!(matches!(err, EngineError::TooLarge(_)), "{err}");
    assert_eq!(err.code(), ErrorCode::ImageTooLarge);
}

#[test]
fn probe_refuses_a_source_over_the_byte_limit() {
    let bytes = jpeg(&photo(64, 48), None);
    let limits = Limits {
        max_source_bytes: 100,
        ..Limits::default()
    };
    assert!(matches!(
        probe(&bytes, &limits),
        Err(EngineError::TooLarge(_))
    ));
}

#[test]
fn every_fit_mode_produces_the_documented_size() {
    let bytes = jpeg(&photo(400, 300), None);
    let cases = [
        ("inside", 200, 150),
        ("outside", 267, 200),
        ("cover", 200, 200),
        ("contain", 200, 200),
        ("fill", 200, 200),
    ];
    for (fit, w, h) in cases {
        let json = format!(
            r#"{{"operations":[{{"op":"resize","width":200,"height":200,"fit":"{fit}"}}],
                 "outputs":[{{"name":"a","format":"png"}}]}}"#
        );
        let out = run(&bytes, &json).expect(fit);
        assert_eq!((out[0].width, out[0].height), (w, h), "{fit}");
        assert_eq!(decode(&out[0].bytes).dimensions(), (w, h), "{fit}");
    }
}

#[test]
fn jpeg_png_webp_gif_and_avif_outputs_decode_at_the_stated_size() {
    let bytes = jpeg(&photo(120, 80), None);
    let out = run(
        &bytes,
        r#"{"outputs":[{"name":"j","format":"jpeg","quality":85,"progressive":true},
                       {"name":"p","format":"png","compression":9},
                       {"name":"w","format":"webp","quality":80},
                       {"name":"l","format":"webp","lossless":true},
                       {"name":"g","format":"gif"},
                       {"name":"a","format":"avif","quality":60}]}"#,
    )
    .unwrap();
    let formats: Vec<Format> = out.iter().map(|e| e.format).collect();
    assert_eq!(
        formats,
        [
            Format::Jpeg,
            Format::Png,
            Format::Webp,
            Format::Webp,
            Format::Gif,
            Format::Avif
        ]
    );
    for e in &out {
        assert_eq!((e.width, e.height), (120, 80), "{}", e.name);
        if e.format != Format::Avif {
            assert_eq!(decode(&e.bytes).dimensions(), (120, 80), "{}", e.name);
        }
    }
    assert!(
        out[5].bytes.get(4..12) == Some(b"ftypavif"),
        "avif container"
    );
}

#[test]
fn lossless_webp_keeps_every_pixel() {
    let src = photo(50, 40);
    let png = encode(&DynamicImage::ImageRgb8(src.clone()), ImageFormat::Png);
    let out = run(
        &png,
        r#"{"outputs":[{"name":"l","format":"webp","lossless":true}]}"#,
    )
    .unwrap();
    assert_eq!(decode(&out[0].bytes), src);
}

#[test]
fn a_phone_photo_comes_out_upright_without_auto_orient_in_the_recipe() {
    // Stored 80x60 with orientation 6: the upright image is 60x80 with the marker (top-left
    // of the stored pixels) at the top-right.
    let bytes = jpeg(&photo(80, 60), Some(6));
    let out = run(&bytes, r#"{"outputs":[{"name":"a","format":"png"}]}"#).unwrap();
    let img = decode(&out[0].bytes);
    assert_eq!(img.dimensions(), (60, 80));
    let p = img.get_pixel(55, 4);
    assert!(
        p[0] > 180 && p[1] < 80,
        "marker expected top-right, got {p:?}"
    );
}

#[test]
fn orientation_is_applied_once_when_the_recipe_also_lists_auto_orient() {
    let bytes = jpeg(&photo(80, 60), Some(6));
    let out = run(
        &bytes,
        r#"{"operations":[{"op":"auto_orient"}],"outputs":[{"name":"a","format":"png"}]}"#,
    )
    .unwrap();
    assert_eq!((out[0].width, out[0].height), (60, 80));
}

#[test]
fn kept_exif_says_orientation_one_because_the_pixels_are_upright() {
    let bytes = jpeg(&photo(80, 60), Some(6));
    let out = run(
        &bytes,
        r#"{"outputs":[{"name":"a","format":"jpeg","strip_metadata":false}]}"#,
    )
    .unwrap();
    let exif = exif::Reader::new()
        .read_from_container(&mut std::io::Cursor::new(&out[0].bytes))
        .expect("exif kept");
    let o = exif
        .get_field(exif::Tag::Orientation, exif::In::PRIMARY)
        .unwrap();
    assert_eq!(o.value.get_uint(0), Some(1));
}

#[test]
fn stripped_outputs_carry_no_exif() {
    let bytes = jpeg(&photo(80, 60), Some(6));
    let out = run(&bytes, r#"{"outputs":[{"name":"a","format":"jpeg"}]}"#).unwrap();
    assert!(
        exif::Reader::new()
            .read_from_container(&mut std::io::Cursor::new(&out[0].bytes))
            .is_err()
    );
}

#[test]
fn a_crop_outside_the_image_fails_as_not_applicable() {
    let bytes = jpeg(&photo(80, 60), None);
    let err = run(
        &bytes,
        r#"{"operations":[{"op":"crop","x":50,"y":0,"width":40,"height":10}],"outputs":[{"name":"a","format":"png"}]}"#,
    )
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::RecipeNotApplicable, "{err}");
}

#[test]
fn every_operation_runs_and_gives_the_expected_size() {
    let bytes = jpeg(&photo(120, 90), None);
    let cases = [
        (
            r#"{"op":"crop","x":10,"y":10,"width":50,"height":40}"#,
            (50, 40),
        ),
        (
            r##"{"op":"extend","top":5,"bottom":5,"left":2,"right":3,"background":"#00000080"}"##,
            (125, 100),
        ),
        (r#"{"op":"trim","threshold":5}"#, (120, 90)),
        (r#"{"op":"rotate","angle":90}"#, (90, 120)),
        (r#"{"op":"rotate","angle":30}"#, (149, 138)),
        (r#"{"op":"flip"}"#, (120, 90)),
        (r#"{"op":"flop"}"#, (120, 90)),
        (r#"{"op":"grayscale"}"#, (120, 90)),
        (r#"{"op":"blur","sigma":2}"#, (120, 90)),
        (
            r#"{"op":"sharpen","sigma":1,"amount":2,"threshold":2}"#,
            (120, 90),
        ),
        (r#"{"op":"brightness","value":1.2}"#, (120, 90)),
        (r#"{"op":"contrast","value":0.8}"#, (120, 90)),
        (r#"{"op":"saturation","value":0}"#, (120, 90)),
        (r#"{"op":"hue_rotate","degrees":90}"#, (120, 90)),
        (r#"{"op":"invert"}"#, (120, 90)),
        (r##"{"op":"tint","color":"#ff8800"}"##, (120, 90)),
        (
            r#"{"op":"watermark","text":"tintype","gravity":"southeast","opacity":0.5,"margin":4}"#,
            (120, 90),
        ),
        (
            r#"{"op":"resize","width":60,"height":60,"fit":"cover","gravity":"attention"}"#,
            (60, 60),
        ),
        (
            r#"{"op":"resize","width":60,"height":60,"fit":"cover","gravity":"entropy"}"#,
            (60, 60),
        ),
        (r#"{"op":"resize","width":60,"filter":"nearest"}"#, (60, 45)),
        (
            r#"{"op":"resize","width":60,"filter":"mitchell"}"#,
            (60, 45),
        ),
        (
            r#"{"op":"resize","width":60,"filter":"bilinear"}"#,
            (60, 45),
        ),
    ];
    for (op, size) in cases {
        let json = format!(r#"{{"operations":[{op}],"outputs":[{{"name":"a","format":"png"}}]}}"#);
        let out = run(&bytes, &json).unwrap_or_else(|e| panic!("{op}: {e}"));
        assert_eq!((out[0].width, out[0].height), size, "{op}");
        assert_eq!(decode(&out[0].bytes).dimensions(), size, "{op}");
    }
}

#[test]
fn an_image_watermark_is_drawn_from_the_supplied_overlay() {
    let base = jpeg(&photo(100, 100), None);
    let mark = encode(
        &DynamicImage::ImageRgb8(image::RgbImage::from_pixel(10, 10, image::Rgb([0, 255, 0]))),
        ImageFormat::Png,
    );
    let r = recipe(
        r#"{"operations":[{"op":"watermark","image":"logos/mark.png","gravity":"southeast","margin":5}],
            "outputs":[{"name":"a","format":"png"}]}"#,
    );
    assert_eq!(image_engine::overlay_keys(&r), ["logos/mark.png"]);
    let err = Prepared::prepare(&base, &r, &Limits::default()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::RecipeNotApplicable);
    let mut overlays = image_engine::Overlays::new();
    overlays.insert("logos/mark.png", mark);
    let p = Prepared::prepare_with(&base, &r, &Limits::default(), overlays).unwrap();
    let img = decode(&p.render(&r, 0).unwrap().bytes);
    assert_eq!(img.get_pixel(90, 90).0, [0, 255, 0]);
}

#[test]
fn max_bytes_steps_the_quality_down_until_the_output_fits() {
    let bytes = jpeg(&photo(300, 200), None);
    let big = run(
        &bytes,
        r#"{"outputs":[{"name":"a","format":"jpeg","quality":95}]}"#,
    )
    .unwrap();
    let limit = big[0].bytes.len() / 2;
    let json = format!(
        r#"{{"outputs":[{{"name":"a","format":"jpeg","quality":95,"max_bytes":{limit}}}]}}"#
    );
    let small = run(&bytes, &json).unwrap();
    assert!(small[0].bytes.len() <= limit);
}

#[test]
fn blurhash_is_returned_when_asked() {
    let bytes = jpeg(&photo(80, 60), None);
    let out = run(
        &bytes,
        r#"{"outputs":[{"name":"a","format":"jpeg","blurhash":true}]}"#,
    )
    .unwrap();
    let hash = out[0].blurhash.as_deref().expect("blurhash");
    assert_eq!(hash.len(), 4 + 2 * 4 * 3, "{hash}");
}

#[test]
fn an_output_over_the_output_pixel_limit_is_refused() {
    let bytes = jpeg(&photo(80, 60), None);
    let r = recipe(
        r#"{"operations":[{"op":"resize","width":10000,"height":10000,"fit":"fill","enlarge":true}],"outputs":[{"name":"a","format":"png"}]}"#,
    );
    let limits = Limits {
        max_output_pixels: 1_000_000,
        ..Limits::default()
    };
    let err = Prepared::prepare(&bytes, &r, &limits).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ImageTooLarge, "{err}");
}

#[test]
fn one_prepared_source_serves_several_outputs() {
    let bytes = jpeg(&photo(800, 600), None);
    let out = run(
        &bytes,
        r#"{"outputs":[{"name":"l","format":"jpeg","operations":[{"op":"resize","width":400}]},
                       {"name":"m","format":"jpeg","operations":[{"op":"resize","width":200}]},
                       {"name":"s","format":"webp","operations":[{"op":"resize","width":50,"height":50,"fit":"cover"}]}]}"#,
    )
    .unwrap();
    let sizes: Vec<(u32, u32)> = out.iter().map(|e| (e.width, e.height)).collect();
    assert_eq!(sizes, [(400, 300), (200, 150), (50, 50)]);
}

#[test]
fn a_grey_image_with_alpha_flattens_onto_white_for_jpeg() {
    let la = image::GrayAlphaImage::from_pixel(10, 10, image::LumaA([0, 0]));
    let png = encode(&DynamicImage::ImageLumaA8(la), ImageFormat::Png);
    let out = run(&png, r#"{"outputs":[{"name":"a","format":"jpeg"}]}"#).unwrap();
    let img = decode(&out[0].bytes);
    assert!(img.get_pixel(5, 5)[0] > 250);
}

#[test]
fn a_recipe_that_starts_grey_decodes_the_jpeg_luma_to_the_same_picture() {
    let bytes = jpeg(&photo(160, 120), None);
    let luma_only = run(
        &bytes,
        r#"{"operations":[{"op":"grayscale"}],"outputs":[{"name":"a","format":"png"}]}"#,
    )
    .unwrap();
    // A colour operation first forces the full RGB decode, then the grey conversion.
    let via_rgb = run(
        &bytes,
        r#"{"operations":[{"op":"brightness","value":1},{"op":"grayscale"}],"outputs":[{"name":"a","format":"png"}]}"#,
    )
    .unwrap();
    let a = image::load_from_memory(&luma_only[0].bytes).unwrap();
    let b = image::load_from_memory(&via_rgb[0].bytes).unwrap();
    assert_eq!(a.color(), image::ColorType::L8);
    let (a, b) = (a.to_luma8(), b.to_luma8());
    assert_eq!(a.dimensions(), b.dimensions());
    let worst = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap();
    assert!(worst <= 4, "largest difference {worst}");
}
