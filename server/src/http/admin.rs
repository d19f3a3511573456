//! The admin listener's routes (loopback by default). Only `/healthz` for
//! now; the admin API, dashboard and `/metrics` come with later issues.

use axum::Router;
use axum::routing::get;

use super::public::{healthz, not_found};

/// Router of the admin listener.
pub fn admin_router() -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .fallback(not_found)
}
