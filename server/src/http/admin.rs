//! The admin listener's router (loopback by default): `/healthz`,
//! `/readyz`, `/metrics` (Prometheus), the admin API (the recording
//! switches of [`super::recording`] included), and
//! `GET /v1/admin/routes` (the route table), all behind the admin token
//! guard ([`crate::admin::guard`]) and with the same security headers as
//! the public listener.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::http::{Method, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde::Serialize;

use super::public::{method_not_allowed, not_found};
use crate::admin::{Access, Guard, RouteSpec, RouteTable, require_token};
use crate::auth::{self, AuthState};
use crate::game::watchdog::Health;
use crate::metrics::{CONTENT_TYPE, Metrics};

/// The admin listener's routes, before the guard.
pub fn admin_routes(
    auth: AuthState,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    recording: Arc<crate::record::Switch>,
) -> RouteTable {
    RouteTable::new()
        .route(
            Access::Open,
            "/healthz",
            &[Method::GET],
            super::healthz_route(Arc::clone(&health)),
        )
        .route(
            Access::Open,
            "/readyz",
            &[Method::GET],
            super::readyz_route(health),
        )
        .route(
            Access::Metrics,
            "/metrics",
            &[Method::GET],
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
        .merge(auth::admin_routes(auth))
        .merge(super::recording_routes(recording))
}

/// One row of `GET /v1/admin/routes`.
#[derive(Debug, Clone, Serialize)]
struct RouteRow {
    path: &'static str,
    methods: Vec<String>,
    /// `open`, `metrics` (open unless `[admin_api] metrics_require_token`)
    /// or `token`.
    access: &'static str,
}

impl From<&RouteSpec> for RouteRow {
    fn from(spec: &RouteSpec) -> Self {
        Self {
            path: spec.path,
            methods: spec.methods.iter().map(ToString::to_string).collect(),
            access: match spec.access {
                Access::Open => "open",
                Access::Metrics => "metrics",
                Access::Token => "token",
            },
        }
    }
}

/// The admin listener's router: `table` plus `GET /v1/admin/routes`
/// (which lists the table, itself included), every request through the
/// guard that `guard` makes from the final table.
pub fn admin_router(table: RouteTable, guard: impl FnOnce(&[RouteSpec]) -> Guard) -> Router {
    const ROUTES: &str = "/v1/admin/routes";
    let listing = RouteSpec {
        path: ROUTES,
        methods: vec![Method::GET],
        access: Access::Token,
    };
    let rows: Vec<RouteRow> = table
        .specs()
        .iter()
        .chain([&listing])
        .map(RouteRow::from)
        .collect();
    let table = table.route(
        listing.access,
        ROUTES,
        &listing.methods,
        get(move || async move { ([(header::CACHE_CONTROL, "no-store")], Json(rows)) }),
    );
    let (router, specs) = table.into_parts();
    let guard = Arc::new(guard(&specs));
    let router = router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(guard, require_token))
        .layer(axum::middleware::from_fn(super::json_errors::json_errors));
    super::with_security_headers(router, false)
}
