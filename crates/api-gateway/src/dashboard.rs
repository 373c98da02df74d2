//! The operator dashboard: static HTML, CSS and vanilla JavaScript compiled into the binary (no
//! build step, nothing to deploy beside the gateway). The page itself holds no data, so these
//! routes are public; everything it shows comes from the `/v1` API with the API key the user
//! enters, kept in the browser's `sessionStorage`.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::error::ApiError;

/// Settings the page reads from `/ui/config.json`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DashboardConfig {
    /// Jaeger's UI base URL; traces link to `{jaeger_url}/trace/{trace_id}`. Null: no links.
    pub jaeger_url: Option<String>,
}

/// The embedded files under `/ui/`: name, content type, bytes.
const ASSETS: [(&str, &str, &str); 3] = [
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../ui/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../ui/app.js"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("../ui/favicon.svg"),
    ),
];

const INDEX: &str = include_str!("../ui/index.html");

/// Registers `/`, `/ui/config.json` and `/ui/{file}`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index))
        .route("/ui/config.json", web::get().to(config))
        .route("/ui/{file}", web::get().to(asset));
}

fn page(content_type: &str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        // Small files; revalidating each load keeps an upgraded gateway's page consistent.
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .body(body)
}

/// The dashboard page.
#[utoipa::path(
    get,
    path = "/",
    tag = "dashboard",
    summary = "The operator dashboard",
    security(()),
    responses((status = 200, description = "The single-page dashboard", body = String, content_type = "text/html")),
)]
pub async fn index() -> HttpResponse {
    page("text/html; charset=utf-8", INDEX)
}

/// What the page needs to know about the deployment.
#[utoipa::path(
    get,
    path = "/ui/config.json",
    tag = "dashboard",
    summary = "Dashboard settings",
    security(()),
    responses((status = 200, description = "Settings for the page", body = DashboardConfig)),
)]
pub async fn config(settings: web::Data<DashboardConfig>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .json(settings.get_ref())
}

/// A static file of the dashboard.
#[utoipa::path(
    get,
    path = "/ui/{file}",
    tag = "dashboard",
    summary = "A dashboard asset",
    security(()),
    params(("file" = String, Path, description = "`app.css`, `app.js` or `favicon.svg`")),
    responses(
        (status = 200, description = "The file", content(
            (String = "text/css"), (String = "text/javascript"), (String = "image/svg+xml"))),
        (status = 404, description = "No such file", body = crate::openapi::Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn asset(file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    ASSETS
        .iter()
        .find(|(name, _, _)| *name == file.as_str())
        .map(|(_, content_type, body)| page(content_type, body))
        .ok_or_else(|| ApiError::NotFound(format!("no dashboard file `{file}`")))
}
