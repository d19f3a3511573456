//! The admin listener's router (loopback by default): `/healthz`, `/readyz`,
//! `/metrics` (Prometheus), the admin API's session endpoint and the
//! recording switches (`super::recording`), with the
//! same security headers as the public listener. The
//! dashboard and the rest of the admin API come with later issues; the
//! listener has no authentication of its own yet, which is why it binds
//! loopback unless the operator says otherwise.

use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use super::public::{method_not_allowed, not_found};
use crate::auth::{self, AuthState};
use crate::game::watchdog::Health;
use crate::metrics::{CONTENT_TYPE, Metrics};

/// Router of the admin listener.
pub fn admin_router(
    auth: AuthState,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    recording: Arc<crate::record::Switch>,
) -> Router {
    let router = Router::new()
        .merge(super::health_router(health))
        .route(
            "/metrics",
            get(move || async move {
                (
                    [
                        (header::CONTENT_TYPE, CONTENT_TYPE),
                        (header::CACHE_CONTROL, "no-store"),
                    ],
                    metrics.render(),
                )
                    .into_response()
            }),
        )
        .merge(auth::admin_router(auth))
        .merge(super::recording_router(recording))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(super::json_errors::json_errors));
    super::with_security_headers(router, false)
}
