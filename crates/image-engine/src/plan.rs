//! How far a JPEG may be shrunk while it is decoded: the largest DCT scale (1/2, 1/4, 1/8) that
//! still leaves at least as many pixels as the most demanding output's first resize keeps.

use shared_protocol::recipe::{Operation, Recipe};

use crate::ops::resize;
use crate::probe::{Header, Kind};

/// The shrink factor (1, 2, 4 or 8) to decode `header`'s image with for `recipe`. `swapped`
/// says the EXIF orientation turns the image a quarter, so the recipe sees width and height
/// exchanged.
pub(crate) fn shrink_factor(header: &Header, recipe: &Recipe, swapped: bool) -> u32 {
    if header.kind != Kind::Jpeg || !matches!(header.jpeg_components, 1 | 3) {
        return 1;
    }
    let (w, h) = if swapped {
        (header.height, header.width)
    } else {
        (header.width, header.height)
    };
    let needed = recipe
        .outputs
        .iter()
        .map(|out| pipeline_scale(recipe.operations.iter().chain(&out.operations), w, h))
        .fold(0.0f64, f64::max);
    [8u32, 4, 2]
        .into_iter()
        .find(|&d| f64::from(d) * needed <= 1.0)
        .unwrap_or(1)
}

/// Whether the shared operations turn the image grey before anything that needs colour.
pub(crate) fn grey_first(recipe: &Recipe) -> bool {
    recipe
        .operations
        .iter()
        .find(|op| !matches!(op, Operation::AutoOrient))
        .is_some_and(|op| matches!(op, Operation::Grayscale))
}

/// The scale of the first resize in `ops`, if everything before it is indifferent to scale;
/// 1 when an operation works in absolute pixels (crop, extend, blur, …) before any resize.
fn pipeline_scale<'a>(ops: impl Iterator<Item = &'a Operation>, mut w: u32, mut h: u32) -> f64 {
    use Operation as O;
    for op in ops {
        match op {
            O::AutoOrient
            | O::Flip
            | O::Flop
            | O::Grayscale
            | O::Brightness { .. }
            | O::Contrast { .. }
            | O::Saturation { .. }
            | O::HueRotate { .. }
            | O::Invert
            | O::Tint { .. } => {}
            O::Rotate { angle, .. } if angle.rem_euclid(90.0) == 0.0 => {
                if angle.rem_euclid(180.0) != 0.0 {
                    std::mem::swap(&mut w, &mut h);
                }
            }
            O::Resize {
                width,
                height,
                fit,
                gravity,
                enlarge,
                filter,
                background,
            } => {
                let spec = resize::Spec {
                    width: *width,
                    height: *height,
                    fit: *fit,
                    gravity: *gravity,
                    enlarge: *enlarge,
                    filter: *filter,
                    background: *background,
                };
                return resize::scale_of(w, h, &spec);
            }
            _ => return 1.0,
        }
    }
    1.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared_protocol::recipe::RecipeLimits;

    fn header(w: u32, h: u32) -> Header {
        Header {
            kind: Kind::Jpeg,
            width: w,
            height: h,
            frames: 1,
            jpeg_components: 3,
        }
    }

    fn recipe(json: &str) -> Recipe {
        Recipe::parse(json.as_bytes(), &RecipeLimits::default()).unwrap()
    }

    #[test]
    fn a_thumbnail_of_a_large_jpeg_shrinks_on_load() {
        let r = recipe(
            r#"{"operations":[{"op":"resize","width":800,"height":600}],"outputs":[{"name":"a","format":"jpeg"}]}"#,
        );
        assert_eq!(shrink_factor(&header(4000, 3000), &r, false), 4);
    }

    #[test]
    fn the_largest_output_decides_the_shrink() {
        let r = recipe(
            r#"{"outputs":[{"name":"a","format":"jpeg","operations":[{"op":"resize","width":1600}]},
                           {"name":"b","format":"jpeg","operations":[{"op":"resize","width":200}]}]}"#,
        );
        assert_eq!(shrink_factor(&header(4000, 3000), &r, false), 2);
    }

    #[test]
    fn an_output_without_resize_needs_the_full_image() {
        let r = recipe(
            r#"{"outputs":[{"name":"a","format":"jpeg"},
                           {"name":"b","format":"jpeg","operations":[{"op":"resize","width":200}]}]}"#,
        );
        assert_eq!(shrink_factor(&header(4000, 3000), &r, false), 1);
    }

    #[test]
    fn a_crop_before_the_resize_needs_the_full_image() {
        let r = recipe(
            r#"{"operations":[{"op":"crop","x":0,"y":0,"width":100,"height":100},{"op":"resize","width":10}],
                "outputs":[{"name":"a","format":"jpeg"}]}"#,
        );
        assert_eq!(shrink_factor(&header(4000, 3000), &r, false), 1);
    }
}
