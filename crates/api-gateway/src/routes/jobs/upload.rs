//! Reading a submission from the request: `multipart/form-data` with a `file` part and a `recipe`
//! part, a raw image body with the recipe in the `recipe` query parameter, or a JSON recipe whose
//! `source` names a URL or a stored object. Every read is bounded while it streams, so an oversized
//! body is refused without being buffered.

use actix_multipart::Multipart;
use actix_web::{HttpRequest, web};
use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};

use crate::error::ApiError;

/// Largest recipe document accepted.
pub const MAX_RECIPE_BYTES: u64 = 64 * 1024;

/// An image and its recipe, as sent.
#[derive(Debug)]
pub struct Submission {
    /// The uploaded image; `None` for a JSON submit, whose recipe names its source.
    pub file: Option<Bytes>,
    /// The recipe JSON.
    pub recipe: Bytes,
}

/// Reads a stream whole, refusing more than `limit` bytes. `expected` (the request's
/// Content-Length, when sent) sizes the buffer once instead of doubling it while it fills,
/// which would copy a large upload several times and leave the larger blocks behind.
async fn read_limited<S, E>(
    mut stream: S,
    limit: u64,
    expected: Option<u64>,
    too_large: ApiError,
) -> Result<Bytes, ApiError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let capacity = expected.unwrap_or(0).min(limit);
    let mut buf = BytesMut::with_capacity(usize::try_from(capacity).unwrap_or(0));
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::BadRequest(format!("reading the body failed: {e}")))?;
        if (buf.len() + chunk.len()) as u64 > limit {
            return Err(too_large);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// The request's Content-Length, when it sent one.
fn content_length(req: &HttpRequest) -> Option<u64> {
    req.headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// Whether the body carries an image (multipart or raw) rather than a JSON recipe.
pub fn carries_image(req: &HttpRequest) -> bool {
    let ctype = content_type(req);
    ctype.starts_with("multipart/form-data")
        || ctype.starts_with("image/")
        || ctype.starts_with("application/octet-stream")
}

fn content_type(req: &HttpRequest) -> String {
    req.headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// Reads the submission from either accepted shape.
pub async fn read(
    req: &HttpRequest,
    payload: web::Payload,
    max_upload: u64,
) -> Result<Submission, ApiError> {
    let ctype = content_type(req);
    if ctype.starts_with("multipart/form-data") {
        read_multipart(req, payload, max_upload).await
    } else if ctype.starts_with("application/json") {
        let too_large = ApiError::TooLarge {
            limit: MAX_RECIPE_BYTES,
        };
        let recipe = read_limited(payload, MAX_RECIPE_BYTES, None, too_large).await?;
        Ok(Submission { file: None, recipe })
    } else if ctype.starts_with("image/") || ctype.starts_with("application/octet-stream") {
        let query =
            web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
                .map_err(|e| ApiError::BadRequest(format!("bad query string: {e}")))?;
        let recipe = query.get("recipe").ok_or_else(|| {
            ApiError::BadRequest(
                "a raw image body needs the recipe in the `recipe` query parameter".into(),
            )
        })?;
        let file = read_limited(
            payload,
            max_upload,
            content_length(req),
            ApiError::TooLarge { limit: max_upload },
        )
        .await?;
        Ok(Submission {
            file: Some(file),
            recipe: Bytes::from(recipe.clone().into_bytes()),
        })
    } else {
        Err(ApiError::UnsupportedMediaType(format!(
            "send multipart/form-data (parts `file` and `recipe`), a raw image body, or a JSON \
             recipe with `source.url` or `source.object`, not `{}`",
            if ctype.is_empty() {
                "no Content-Type"
            } else {
                ctype.as_str()
            }
        )))
    }
}

async fn read_multipart(
    req: &HttpRequest,
    payload: web::Payload,
    max_upload: u64,
) -> Result<Submission, ApiError> {
    let mut multipart = Multipart::new(req.headers(), payload);
    let mut file = None;
    let mut recipe = None;
    while let Some(field) = multipart.next().await {
        let field =
            field.map_err(|e| ApiError::BadRequest(format!("malformed multipart body: {e}")))?;
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "file" => {
                // The whole body's length bounds the file part's: close enough to size it.
                file = Some(
                    read_limited(
                        field,
                        max_upload,
                        content_length(req),
                        ApiError::TooLarge { limit: max_upload },
                    )
                    .await?,
                );
            }
            "recipe" => {
                let too_large = ApiError::BadRequest(format!(
                    "the recipe part is larger than {MAX_RECIPE_BYTES} bytes"
                ));
                recipe = Some(read_limited(field, MAX_RECIPE_BYTES, None, too_large).await?);
            }
            other => {
                return Err(ApiError::BadRequest(format!(
                    "unexpected multipart part `{other}`; send `file` and `recipe`"
                )));
            }
        }
    }
    let file =
        file.ok_or_else(|| ApiError::BadRequest("the multipart body has no `file` part".into()))?;
    let recipe = recipe
        .ok_or_else(|| ApiError::BadRequest("the multipart body has no `recipe` part".into()))?;
    Ok(Submission {
        file: Some(file),
        recipe,
    })
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn image_bodies_need_an_upload_permit_and_json_ones_do_not() {
        let with = |ctype: &str| {
            TestRequest::default()
                .insert_header(("Content-Type", ctype))
                .to_http_request()
        };
        assert!(carries_image(&with("multipart/form-data; boundary=x")));
        assert!(carries_image(&with("image/jpeg")));
        assert!(carries_image(&with("application/octet-stream")));
        assert!(!carries_image(&with("application/json")));
        assert!(!carries_image(&TestRequest::default().to_http_request()));
    }

    #[test]
    fn content_length_sizes_the_buffer_only_when_sent_and_numeric() {
        let req = TestRequest::default()
            .insert_header(("Content-Length", "1234"))
            .to_http_request();
        assert_eq!(content_length(&req), Some(1234));
        let req = TestRequest::default()
            .insert_header(("Content-Length", "lots"))
            .to_http_request();
        assert_eq!(content_length(&req), None);
    }
}
