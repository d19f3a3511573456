//! The public listener's router: sign-up page (with its script and
//! stylesheet), health and readiness, server info, the auth API, the map
//! downloads, the patch API, and the layers every request passes (body
//! limit, request timeout, JSON 404/405, security headers).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::auth::{self, ApiError, AuthState};
use crate::config::HttpLimits;
use crate::game::catalog::MapCatalog;
use crate::game::watchdog::Health;
use crate::patch::PatchService;

const SIGNUP_PAGE: &str = include_str!("../web/signup.html");
const SIGNUP_SCRIPT: &str = include_str!("../web/signup.js");
const SIGNUP_STYLE: &str = include_str!("../web/signup.css");

/// Answer of `GET /v1/server-info`.
#[derive(Debug, Clone, Serialize)]
pub struct ServerInfo {
    /// `battlegrid_protocol::PROTOCOL_VERSION`.
    pub protocol_version: u16,
    /// The game listener, once it exists; `null` until then.
    pub game: Option<GameInfo>,
}

/// Where and how to reach the game listener.
#[derive(Debug, Clone, Serialize)]
pub struct GameInfo {
    /// UDP address of the QUIC listener, as `host:port`.
    pub addr: String,
    /// SHA-256 of the server certificate (DER), lowercase hex, for pinning.
    pub cert_sha256: String,
}

/// Router of the public listener; `tls` adds HSTS.
pub fn public_router(
    auth: AuthState,
    info: ServerInfo,
    catalog: Arc<MapCatalog>,
    patch: Arc<PatchService>,
    health: Arc<Health>,
    limits: &HttpLimits,
    tls: bool,
) -> Router {
    let timeout = Duration::from_millis(limits.request_timeout_ms);
    let router = Router::new()
        .route("/", get(|| async { Html(SIGNUP_PAGE) }))
        .route(
            "/signup.js",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                    SIGNUP_SCRIPT,
                )
            }),
        )
        .route(
            "/signup.css",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
                    SIGNUP_STYLE,
                )
            }),
        )
        .merge(super::health_router(health))
        .route(
            "/v1/server-info",
            get(move || async move { Json(info.clone()) }),
        )
        .merge(auth::router(auth))
        .merge(super::maps_router(catalog))
        .merge(super::patch_router(patch))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limits.body_limit_bytes))
        .layer(middleware::from_fn_with_state(timeout, request_timeout))
        .layer(middleware::from_fn(super::json_errors::json_errors));
    super::with_security_headers(router, tls)
}

/// JSON 404 for unknown paths.
pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

/// JSON 405 for a known path with another method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not accept that method",
    )
}

async fn request_timeout(
    State(timeout): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "the request took too long",
        )
        .into_response(),
    }
}
