//! One output of a recipe: its name, its own operations and its encoding.

use serde::{Deserialize, Serialize};

use super::{RecipeError, RecipeLimits, operation};
use crate::recipe::Operation;

/// Encoded output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// JPEG (baseline or progressive).
    Jpeg,
    /// PNG.
    Png,
    /// WebP, lossy or lossless.
    Webp,
    /// AVIF.
    Avif,
    /// GIF.
    Gif,
}

impl Format {
    /// File extension of the format.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Webp => "webp",
            Self::Avif => "avif",
            Self::Gif => "gif",
        }
    }

    /// MIME type of the format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
            Self::Avif => "image/avif",
            Self::Gif => "image/gif",
        }
    }

    /// Name as written in recipes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jpeg => "jpeg",
            Self::Png => "png",
            Self::Webp => "webp",
            Self::Avif => "avif",
            Self::Gif => "gif",
        }
    }
}

fn default_strip_metadata() -> bool {
    true
}

/// One variant to encode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Output {
    /// Name of the output, unique within the recipe; `[A-Za-z0-9_-]{1,64}`.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub name: String,
    /// Encoding.
    pub format: Format,
    /// Lossy quality 1–100 (JPEG, lossy WebP, AVIF); the encoder's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 100))]
    pub quality: Option<u8>,
    /// Operations applied to this output only, after the shared ones (at most 32 by default).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operations: Vec<Operation>,
    /// Progressive JPEG.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub progressive: bool,
    /// PNG compression level 0–9.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 9))]
    pub compression: Option<u8>,
    /// Lossless WebP.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lossless: bool,
    /// Keep every frame of an animated GIF or WebP source (gif and webp outputs only); off, an
    /// animation yields its first frame. A still source gives a still image either way.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub animated: bool,
    /// Drop EXIF/XMP/IPTC (the ICC profile is kept so colours stay right).
    #[serde(default = "default_strip_metadata")]
    pub strip_metadata: bool,
    /// Step the quality down until the encoded output fits in this many bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u64>,
    /// Also compute a BlurHash placeholder string of the output (returned beside it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub blurhash: bool,
}

impl Output {
    pub(crate) fn validate(&self, field: &str, limits: &RecipeLimits) -> Result<(), RecipeError> {
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 64
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !name_ok {
            return Err(RecipeError::new(
                format!("{field}.name"),
                "must be 1 to 64 characters of A-Z, a-z, 0-9, `_` or `-`",
            ));
        }
        if let Some(q) = self.quality {
            if !(1..=100).contains(&q) {
                return Err(RecipeError::new(
                    format!("{field}.quality"),
                    "must be between 1 and 100",
                ));
            }
            if matches!(self.format, Format::Png | Format::Gif) {
                return Err(RecipeError::new(
                    format!("{field}.quality"),
                    format!("does not apply to {}", self.format.as_str()),
                ));
            }
        }
        if let Some(level) = self.compression {
            if self.format != Format::Png {
                return Err(RecipeError::new(
                    format!("{field}.compression"),
                    "applies to png only",
                ));
            }
            if level > 9 {
                return Err(RecipeError::new(
                    format!("{field}.compression"),
                    "must be between 0 and 9",
                ));
            }
        }
        if self.progressive && self.format != Format::Jpeg {
            return Err(RecipeError::new(
                format!("{field}.progressive"),
                "applies to jpeg only",
            ));
        }
        if self.lossless && self.format != Format::Webp {
            return Err(RecipeError::new(
                format!("{field}.lossless"),
                "applies to webp only",
            ));
        }
        if self.animated && !matches!(self.format, Format::Gif | Format::Webp) {
            return Err(RecipeError::new(
                format!("{field}.animated"),
                "applies to gif and webp only",
            ));
        }
        if let Some(max) = self.max_bytes
            && max < 256
        {
            return Err(RecipeError::new(
                format!("{field}.max_bytes"),
                "must be at least 256",
            ));
        }
        operation::validate_list(&format!("{field}.operations"), &self.operations, limits)
    }
}
