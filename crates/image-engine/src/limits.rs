//! Hard limits on what the engine accepts and produces.

/// Hard limits, all checked from the header before decoding, and again with `image::Limits`.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest source file in bytes.
    pub max_source_bytes: u64,
    /// Most pixels in a source, all frames counted (decompression bombs).
    pub max_pixels: u64,
    /// Widest source.
    pub max_width: u32,
    /// Tallest source.
    pub max_height: u32,
    /// Most frames in an animated source.
    pub max_frames: u32,
    /// Most pixels any intermediate or output image may have.
    pub max_output_pixels: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_source_bytes: 50 * 1024 * 1024,
            max_pixels: 50_000_000,
            max_width: 16_384,
            max_height: 16_384,
            max_frames: 1_000,
            max_output_pixels: 50_000_000,
        }
    }
}

impl Limits {
    /// The second fence handed to the `image` decoders: dimensions, plus an allocation cap with
    /// room for the decoder's own buffers (four bytes per pixel and a 16-bit worst case).
    pub(crate) fn image_limits(&self) -> image::Limits {
        let mut l = image::Limits::default();
        l.max_image_width = Some(self.max_width);
        l.max_image_height = Some(self.max_height);
        l.max_alloc = Some(self.max_pixels.saturating_mul(8).max(64 * 1024 * 1024));
        l
    }

    /// Checks one frame's dimensions and the whole source's pixel count.
    pub(crate) fn check_source(
        &self,
        width: u32,
        height: u32,
        frames: u32,
    ) -> Result<(), crate::EngineError> {
        use crate::EngineError::TooLarge;
        if width > self.max_width || height > self.max_height {
            return Err(TooLarge(format!(
                "{width}x{height} exceeds the limit of {}x{}",
                self.max_width, self.max_height
            )));
        }
        if frames > self.max_frames {
            return Err(TooLarge(format!(
                "{frames} frames exceed the limit of {}",
                self.max_frames
            )));
        }
        let pixels = u64::from(width) * u64::from(height) * u64::from(frames.max(1));
        if pixels > self.max_pixels {
            return Err(TooLarge(format!(
                "{pixels} pixels exceed the limit of {}",
                self.max_pixels
            )));
        }
        Ok(())
    }

    /// Checks an animation's frames together: every frame of a `width`×`height` animation is
    /// held at once, so the output pixel limit counts them all.
    pub(crate) fn check_frames(
        &self,
        frames: usize,
        width: u32,
        height: u32,
    ) -> Result<(), crate::EngineError> {
        let count = u64::try_from(frames).unwrap_or(u64::MAX);
        if count > u64::from(self.max_frames) {
            return Err(crate::EngineError::TooLarge(format!(
                "{frames} frames exceed the limit of {}",
                self.max_frames
            )));
        }
        let pixels = u64::from(width)
            .saturating_mul(u64::from(height))
            .saturating_mul(count);
        if pixels > self.max_output_pixels {
            return Err(crate::EngineError::TooLarge(format!(
                "{frames} frames of {width}x{height} ({pixels} pixels) exceed the output limit of {} pixels",
                self.max_output_pixels
            )));
        }
        Ok(())
    }

    /// Checks the size of an image an operation is about to allocate.
    pub(crate) fn check_output(&self, width: u32, height: u32) -> Result<(), crate::EngineError> {
        let pixels = u64::from(width) * u64::from(height);
        if pixels > self.max_output_pixels {
            return Err(crate::EngineError::TooLarge(format!(
                "a {width}x{height} result exceeds the output limit of {} pixels",
                self.max_output_pixels
            )));
        }
        if width == 0 || height == 0 {
            return Err(crate::EngineError::NotApplicable(format!(
                "the result would be empty ({width}x{height})"
            )));
        }
        Ok(())
    }
}
