//! Image operations, tagged by `op` in recipes, and the range checks for their parameters.

use serde::{Deserialize, Serialize};

use super::{Color, RecipeError, RecipeLimits};

/// How a resize fits the image into the requested box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Fit {
    /// Fit inside the box keeping the aspect ratio, then pad to the box with `background`.
    Contain,
    /// Fill the box keeping the aspect ratio, cropping the overflow at `gravity`.
    Cover,
    /// Stretch to exactly the box.
    Fill,
    /// Largest size that fits inside the box, keeping the aspect ratio (no padding).
    #[default]
    Inside,
    /// Smallest size that covers the box, keeping the aspect ratio (no cropping).
    Outside,
}

/// Where to anchor a crop, a pad or a watermark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Gravity {
    /// The centre.
    #[default]
    Center,
    /// Top edge.
    North,
    /// Top-right corner.
    Northeast,
    /// Right edge.
    East,
    /// Bottom-right corner.
    Southeast,
    /// Bottom edge.
    South,
    /// Bottom-left corner.
    Southwest,
    /// Left edge.
    West,
    /// Top-left corner.
    Northwest,
    /// The region with most detail (smart crop; cover only).
    Attention,
    /// The region with highest entropy (smart crop; cover only).
    Entropy,
}

/// Resampling filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Filter {
    /// Lanczos with a = 3: sharpest, the default.
    #[default]
    Lanczos3,
    /// Mitchell–Netravali cubic.
    Mitchell,
    /// Bilinear.
    Bilinear,
    /// Nearest neighbour (pixel art).
    Nearest,
}

fn default_opacity() -> f32 {
    1.0
}

fn default_sharpen_amount() -> f32 {
    1.0
}

/// One image operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Operation {
    /// Apply the EXIF orientation so the image is upright.
    AutoOrient,
    /// Scale into a box of `width` × `height` (either may be omitted to keep the aspect ratio).
    Resize {
        /// Target width.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        width: Option<u32>,
        /// Target height.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        height: Option<u32>,
        /// How to fit the box.
        #[serde(default)]
        fit: Fit,
        /// Anchor for `cover` crops and `contain` padding.
        #[serde(default)]
        gravity: Gravity,
        /// Allow scaling up; off by default, so small images are never blown up.
        #[serde(default)]
        enlarge: bool,
        /// Resampling filter.
        #[serde(default)]
        filter: Filter,
        /// Padding colour for `contain`.
        #[serde(default)]
        background: Color,
    },
    /// Cut out a rectangle; it must lie inside the image.
    Crop {
        /// Left edge.
        x: u32,
        /// Top edge.
        y: u32,
        /// Width.
        width: u32,
        /// Height.
        height: u32,
    },
    /// Add borders.
    Extend {
        /// Pixels added above.
        #[serde(default)]
        top: u32,
        /// Pixels added right.
        #[serde(default)]
        right: u32,
        /// Pixels added below.
        #[serde(default)]
        bottom: u32,
        /// Pixels added left.
        #[serde(default)]
        left: u32,
        /// Border colour.
        #[serde(default)]
        background: Color,
    },
    /// Remove uniform borders whose colour differs from the corner by at most `threshold`.
    Trim {
        /// Colour distance still counted as border (0–255).
        #[serde(default)]
        threshold: u8,
    },
    /// Rotate clockwise by `angle` degrees; multiples of 90 are lossless.
    Rotate {
        /// Degrees clockwise.
        angle: f32,
        /// Fill colour for arbitrary angles.
        #[serde(default)]
        background: Color,
    },
    /// Mirror top to bottom.
    Flip,
    /// Mirror left to right.
    Flop,
    /// Convert to grey.
    Grayscale,
    /// Gaussian blur.
    Blur {
        /// Standard deviation in pixels (0.3–100).
        sigma: f32,
    },
    /// Unsharp mask.
    Sharpen {
        /// Standard deviation of the blur (0.3–100).
        sigma: f32,
        /// Strength (0–10).
        #[serde(default = "default_sharpen_amount")]
        amount: f32,
        /// Differences below this are left alone (0–255).
        #[serde(default)]
        threshold: u8,
    },
    /// Scale brightness; 1 leaves it (0–10).
    Brightness {
        /// Multiplier.
        value: f32,
    },
    /// Scale contrast; 1 leaves it (0–10).
    Contrast {
        /// Multiplier.
        value: f32,
    },
    /// Scale saturation; 1 leaves it, 0 is grey (0–10).
    Saturation {
        /// Multiplier.
        value: f32,
    },
    /// Rotate hues.
    HueRotate {
        /// Degrees (−360–360).
        degrees: f32,
    },
    /// Invert colours (alpha is kept).
    Invert,
    /// Tint towards a colour keeping luminance.
    Tint {
        /// The tint colour.
        color: Color,
    },
    /// Overlay a text or an image from storage.
    Watermark {
        /// Text to draw.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
        /// Object key of an image to overlay.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        image: Option<String>,
        /// Where to place it.
        #[serde(default)]
        gravity: Gravity,
        /// 0 (invisible) to 1 (opaque).
        #[serde(default = "default_opacity")]
        opacity: f32,
        /// Distance from the edge in pixels.
        #[serde(default)]
        margin: u32,
        /// Text height, or overlay width, in pixels.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        size: Option<u32>,
        /// Text colour.
        #[serde(default)]
        color: Color,
    },
}

impl Operation {
    /// The `op` name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::AutoOrient => "auto_orient",
            Self::Resize { .. } => "resize",
            Self::Crop { .. } => "crop",
            Self::Extend { .. } => "extend",
            Self::Trim { .. } => "trim",
            Self::Rotate { .. } => "rotate",
            Self::Flip => "flip",
            Self::Flop => "flop",
            Self::Grayscale => "grayscale",
            Self::Blur { .. } => "blur",
            Self::Sharpen { .. } => "sharpen",
            Self::Brightness { .. } => "brightness",
            Self::Contrast { .. } => "contrast",
            Self::Saturation { .. } => "saturation",
            Self::HueRotate { .. } => "hue_rotate",
            Self::Invert => "invert",
            Self::Tint { .. } => "tint",
            Self::Watermark { .. } => "watermark",
        }
    }

    fn validate(&self, field: &str, limits: &RecipeLimits) -> Result<(), RecipeError> {
        let max = limits.max_dimension;
        let dim = |name: &str, v: u32| -> Result<(), RecipeError> {
            if v == 0 || v > max {
                Err(RecipeError::new(
                    format!("{field}.{name}"),
                    format!("must be between 1 and {max}"),
                ))
            } else {
                Ok(())
            }
        };
        let range = |name: &str, v: f32, lo: f32, hi: f32| -> Result<(), RecipeError> {
            if v.is_finite() && (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(RecipeError::new(
                    format!("{field}.{name}"),
                    format!("must be between {lo} and {hi}"),
                ))
            }
        };
        match self {
            Self::Resize {
                width,
                height,
                fit,
                gravity,
                ..
            } => {
                if width.is_none() && height.is_none() {
                    return Err(RecipeError::new(
                        field,
                        "resize needs `width`, `height` or both",
                    ));
                }
                if let Some(w) = width {
                    dim("width", *w)?;
                }
                if let Some(h) = height {
                    dim("height", *h)?;
                }
                if matches!(fit, Fit::Cover | Fit::Contain | Fit::Fill)
                    && (width.is_none() || height.is_none())
                {
                    return Err(RecipeError::new(
                        format!("{field}.fit"),
                        "cover, contain and fill need both `width` and `height`",
                    ));
                }
                if matches!(gravity, Gravity::Attention | Gravity::Entropy) && *fit != Fit::Cover {
                    return Err(RecipeError::new(
                        format!("{field}.gravity"),
                        "attention and entropy apply to fit `cover` only",
                    ));
                }
            }
            Self::Crop { width, height, .. } => {
                dim("width", *width)?;
                dim("height", *height)?;
            }
            Self::Extend {
                top,
                right,
                bottom,
                left,
                ..
            } => {
                for (name, v) in [
                    ("top", top),
                    ("right", right),
                    ("bottom", bottom),
                    ("left", left),
                ] {
                    if *v > max {
                        return Err(RecipeError::new(
                            format!("{field}.{name}"),
                            format!("must be at most {max}"),
                        ));
                    }
                }
            }
            Self::Rotate { angle, .. } => range("angle", *angle, -360.0, 360.0)?,
            Self::Blur { sigma } => range("sigma", *sigma, 0.3, 100.0)?,
            Self::Sharpen { sigma, amount, .. } => {
                range("sigma", *sigma, 0.3, 100.0)?;
                range("amount", *amount, 0.0, 10.0)?;
            }
            Self::Brightness { value } | Self::Contrast { value } | Self::Saturation { value } => {
                range("value", *value, 0.0, 10.0)?
            }
            Self::HueRotate { degrees } => range("degrees", *degrees, -360.0, 360.0)?,
            Self::Watermark {
                text,
                image,
                opacity,
                size,
                ..
            } => {
                match (text, image) {
                    (Some(t), None) if !t.is_empty() && t.chars().count() <= 256 => {}
                    (Some(_), None) => {
                        return Err(RecipeError::new(
                            format!("{field}.text"),
                            "must be 1 to 256 characters",
                        ));
                    }
                    (None, Some(key)) => {
                        super::validate_object_key(&format!("{field}.image"), key)?
                    }
                    _ => {
                        return Err(RecipeError::new(
                            field,
                            "watermark needs exactly one of `text` or `image`",
                        ));
                    }
                }
                range("opacity", *opacity, 0.0, 1.0)?;
                if let Some(s) = size {
                    dim("size", *s)?;
                }
            }
            Self::AutoOrient
            | Self::Trim { .. }
            | Self::Flip
            | Self::Flop
            | Self::Grayscale
            | Self::Invert
            | Self::Tint { .. } => {}
        }
        Ok(())
    }
}

pub(crate) fn validate_list(
    field: &str,
    ops: &[Operation],
    limits: &RecipeLimits,
) -> Result<(), RecipeError> {
    if ops.len() > limits.max_operations {
        return Err(RecipeError::new(
            field,
            format!("at most {} operations are allowed", limits.max_operations),
        ));
    }
    for (i, op) in ops.iter().enumerate() {
        op.validate(&format!("{field}[{i}]"), limits)?;
    }
    Ok(())
}
