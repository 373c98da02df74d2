//! Keeping the gateway at its idle size after a burst of uploads.
//!
//! actix parses a request's head out of the connection's read buffer, and its header values are
//! slices of that buffer. A connection that carried an upload has grown the buffer to 128 KiB,
//! and actix keeps up to 128 finished requests per worker thread for reuse, headers included:
//! after a burst of 200 uploads that pinned 200 such buffers (25 MiB) long after the connections
//! closed. Copying the few header bytes out at the door lets each buffer go with its connection.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, HeaderValue};
use actix_web::middleware::Next;

/// Replaces every request header value with an owned copy (outermost middleware, before anything
/// can share the request).
pub async fn detach_headers<B: MessageBody>(
    mut req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    let headers = req.headers_mut();
    let shared = std::mem::take(headers);
    *headers = detached(shared);
    next.call(req).await
}

fn detached(shared: HeaderMap) -> HeaderMap {
    let mut owned = HeaderMap::with_capacity(shared.len());
    for (name, value) in shared {
        let copy = HeaderValue::from_bytes(value.as_bytes())
            .map(|mut copy| {
                copy.set_sensitive(value.is_sensitive());
                copy
            })
            // Bytes that parsed once parse again; keep the original if not.
            .unwrap_or(value);
        owned.append(name, copy);
    }
    owned
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderName;

    #[test]
    fn detached_headers_keep_every_value_and_its_order_but_not_the_buffer() {
        let buffer = bytes::Bytes::from(b"text/plainone=1two=2".to_vec());
        let mut shared = HeaderMap::new();
        let slice = |a, b| HeaderValue::from_maybe_shared(buffer.slice(a..b)).unwrap();
        shared.append(HeaderName::from_static("content-type"), slice(0, 10));
        shared.append(HeaderName::from_static("set-cookie"), slice(10, 15));
        shared.append(HeaderName::from_static("set-cookie"), slice(15, 20));
        let owned = detached(shared);
        assert_eq!(owned.len(), 3);
        assert_eq!(owned.get("content-type").unwrap(), "text/plain");
        let cookies: Vec<_> = owned.get_all("set-cookie").collect();
        assert_eq!(cookies, ["one=1", "two=2"]);
        // Nothing refers to the buffer any more: it is the only owner again.
        assert!(bytes::Bytes::try_into_mut(buffer).is_ok());
    }
}
