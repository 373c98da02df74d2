//! The processing recipe: where the image comes from, the operations shared by every output, and
//! the outputs, each with its own operations and encoding.
//!
//! [`Recipe::parse`] is the only way in from the wire: it deserialises with the path of any bad
//! field and then validates every range and limit, so an error always names the field and why.

mod color;
mod operation;
mod output;

use serde::{Deserialize, Serialize};

pub use color::Color;
pub use operation::{Filter, Fit, Gravity, Operation};
pub use output::{Format, Output};

use crate::job::Priority;

/// A recipe as submitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "operations": [{"op": "auto_orient"}, {"op": "resize", "width": 1600, "height": 1600, "fit": "inside"}],
    "outputs": [
        {"name": "large", "format": "jpeg", "quality": 85},
        {"name": "thumb", "format": "webp", "quality": 80,
         "operations": [{"op": "resize", "width": 200, "height": 200, "fit": "cover"}]}
    ],
    "priority": "high",
    "metadata": {"order": "A-1"}
})))]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    /// Where the image comes from when it is not uploaded with the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    /// Operations applied once, before any output's own operations (at most 32 by default).
    #[serde(default)]
    pub operations: Vec<Operation>,
    /// The outputs to produce: 1 to 16 by default, names unique.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 16))]
    pub outputs: Vec<Output>,
    /// Queue to wait in.
    #[serde(default)]
    pub priority: Priority,
    /// Where to POST the final state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<Webhook>,
    /// Client data stored with the job and echoed back: at most 4096 bytes serialised.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// Upper bound on attempts for transient failures, 1 to 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 10))]
    pub max_attempts: Option<u32>,
    /// Per-job time limit in seconds, 1 to 600.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 600))]
    pub timeout_secs: Option<u32>,
}

/// The image source named in a recipe: exactly one of `url` or `object`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// An absolute http(s) URL the worker fetches (at most 2048 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 2048))]
    pub url: Option<String>,
    /// A key of an object already in the configured bucket (1 to 1024 characters, no `..`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 1024))]
    pub object: Option<String>,
}

/// Webhook target of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    /// The absolute http(s) URL the final state is POSTed to (at most 2048 characters).
    #[cfg_attr(feature = "openapi", schema(max_length = 2048))]
    pub url: String,
}

/// Bounds a recipe must stay within; services take them from configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct RecipeLimits {
    /// Most outputs in one recipe.
    pub max_outputs: usize,
    /// Most operations in one list (shared, or one output's).
    pub max_operations: usize,
    /// Largest width or height an operation may ask for.
    pub max_dimension: u32,
    /// Largest serialised `metadata`, in bytes.
    pub max_metadata_bytes: usize,
    /// Largest `max_attempts` a recipe may ask for.
    pub max_attempts: u32,
    /// Largest `timeout_secs` a recipe may ask for.
    pub max_timeout_secs: u32,
    /// Longest URL accepted.
    pub max_url_len: usize,
}

impl Default for RecipeLimits {
    fn default() -> Self {
        Self {
            max_outputs: 16,
            max_operations: 32,
            max_dimension: 16_384,
            max_metadata_bytes: 4_096,
            max_attempts: 10,
            max_timeout_secs: 600,
            max_url_len: 2_048,
        }
    }
}

/// Why a recipe was refused: the field (a JSON path such as `outputs[1].quality`) and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct RecipeError {
    /// JSON path of the offending field (`.` for the whole document).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl RecipeError {
    pub(crate) fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl Recipe {
    /// Parses and validates a recipe from JSON bytes.
    pub fn parse(json: &[u8], limits: &RecipeLimits) -> Result<Self, RecipeError> {
        let de = &mut serde_json::Deserializer::from_slice(json);
        let recipe: Recipe = serde_path_to_error::deserialize(de).map_err(|err| {
            let path = err.path().to_string();
            let inner = err.into_inner();
            // serde_json appends " at line L column C"; the path already says where.
            let message = inner.to_string();
            let message = match message.rfind(" at line ") {
                Some(cut) => message[..cut].to_owned(),
                None => message,
            };
            RecipeError::new(if path.is_empty() { ".".into() } else { path }, message)
        })?;
        recipe.validate(limits)?;
        Ok(recipe)
    }

    /// Checks every range and limit; the error names the first offending field.
    pub fn validate(&self, limits: &RecipeLimits) -> Result<(), RecipeError> {
        if let Some(source) = &self.source {
            match (&source.url, &source.object) {
                (Some(url), None) => validate_url("source.url", url, limits)?,
                (None, Some(key)) => validate_object_key("source.object", key)?,
                _ => {
                    return Err(RecipeError::new(
                        "source",
                        "give exactly one of `url` or `object`",
                    ));
                }
            }
        }
        operation::validate_list("operations", &self.operations, limits)?;
        if self.outputs.is_empty() {
            return Err(RecipeError::new(
                "outputs",
                "at least one output is required",
            ));
        }
        if self.outputs.len() > limits.max_outputs {
            return Err(RecipeError::new(
                "outputs",
                format!("at most {} outputs are allowed", limits.max_outputs),
            ));
        }
        for (i, out) in self.outputs.iter().enumerate() {
            out.validate(&format!("outputs[{i}]"), limits)?;
            if self.outputs[..i].iter().any(|o| o.name == out.name) {
                return Err(RecipeError::new(
                    format!("outputs[{i}].name"),
                    format!("duplicate output name `{}`", out.name),
                ));
            }
        }
        if let Some(webhook) = &self.webhook {
            validate_url("webhook.url", &webhook.url, limits)?;
        }
        let metadata_len = serde_json::to_vec(&self.metadata).map_or(0, |v| v.len());
        if metadata_len > limits.max_metadata_bytes {
            return Err(RecipeError::new(
                "metadata",
                format!(
                    "is {metadata_len} bytes serialised; at most {} are allowed",
                    limits.max_metadata_bytes
                ),
            ));
        }
        if let Some(n) = self.max_attempts
            && !(1..=limits.max_attempts).contains(&n)
        {
            return Err(RecipeError::new(
                "max_attempts",
                format!("must be between 1 and {}", limits.max_attempts),
            ));
        }
        if let Some(n) = self.timeout_secs
            && !(1..=limits.max_timeout_secs).contains(&n)
        {
            return Err(RecipeError::new(
                "timeout_secs",
                format!("must be between 1 and {}", limits.max_timeout_secs),
            ));
        }
        Ok(())
    }
}

fn validate_url(field: &str, url: &str, limits: &RecipeLimits) -> Result<(), RecipeError> {
    if url.len() > limits.max_url_len {
        return Err(RecipeError::new(
            field,
            format!("is longer than {} characters", limits.max_url_len),
        ));
    }
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    match rest {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') => Ok(()),
        _ => Err(RecipeError::new(field, "must be an absolute http(s) URL")),
    }
}

fn validate_object_key(field: &str, key: &str) -> Result<(), RecipeError> {
    if key.is_empty() || key.len() > 1024 || key.starts_with('/') || key.contains("..") {
        return Err(RecipeError::new(
            field,
            "must be a relative object key of 1 to 1024 characters without `..`",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
