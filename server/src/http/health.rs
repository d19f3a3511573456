//! `GET /healthz` (liveness) and `GET /readyz` (readiness), on both
//! listeners, answered from the tick watchdog's view
//! ([`crate::game::watchdog::Health`]).
//!
//! - `/healthz`: `200 {"status":"ok"}`; `503 {"status":"unhealthy",
//!   "reason":…}` while the tick is stuck past the warning deadline or its
//!   thread is dead. A supervisor that restarts on it restarts a process
//!   that cannot serve play.
//! - `/readyz`: `200 {"status":"ready"}`; `503 {"status":"not_ready",
//!   "reason":…}` while unhealthy or shutting down. A load balancer that
//!   routes on it sends no new players to a server that is leaving.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};

use crate::game::watchdog::Health;

/// The two routes, reading `health`.
pub fn health_router(health: Arc<Health>) -> Router {
    Router::new()
        .route("/healthz", healthz_route(Arc::clone(&health)))
        .route("/readyz", readyz_route(health))
}

/// `GET /healthz` alone, for routers that list their routes one by one.
pub fn healthz_route(health: Arc<Health>) -> MethodRouter {
    get(healthz).with_state(health)
}

/// `GET /readyz` alone.
pub fn readyz_route(health: Arc<Health>) -> MethodRouter {
    get(readyz).with_state(health)
}

async fn healthz(State(health): State<Arc<Health>>) -> Response {
    answer(health.unhealthy(Instant::now()), "ok", "unhealthy")
}

async fn readyz(State(health): State<Arc<Health>>) -> Response {
    answer(health.not_ready(Instant::now()), "ready", "not_ready")
}

fn answer(problem: Option<String>, good: &str, bad: &str) -> Response {
    let headers = [(header::CACHE_CONTROL, "no-store")];
    match problem {
        None => (headers, Json(serde_json::json!({ "status": good }))).into_response(),
        Some(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            headers,
            Json(serde_json::json!({ "status": bad, "reason": reason })),
        )
            .into_response(),
    }
}
