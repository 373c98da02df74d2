//! CORS for browser clients on other origins, from `TINTYPE_CORS_ORIGINS`.

use actix_cors::Cors;

/// The CORS layer: no cross-origin access unless origins are configured; `*` allows any.
pub fn layer(origins: &[String]) -> Cors {
    let origins: Vec<&str> = origins
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .collect();
    let mut cors = Cors::default()
        .allowed_methods(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([
            actix_web::http::header::AUTHORIZATION,
            actix_web::http::header::CONTENT_TYPE,
            actix_web::http::header::HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::ETAG,
            actix_web::http::header::LOCATION,
        ])
        .max_age(3600);
    if origins.contains(&"*") {
        cors = cors.allow_any_origin();
    } else {
        for origin in origins {
            cors = cors.allowed_origin(origin);
        }
    }
    cors
}
