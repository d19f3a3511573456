//! The admin listener's fault-injection routes, compiled only with the
//! cargo feature `fault-injection` (the end-to-end tests' build; see
//! [`crate::game::faults`]). A build without the feature has no such
//! route: these paths answer 404 like any unknown path.
//!
//! - `POST /debug/faults/world-panic` `{"map": "arena", "times": 1}`: the
//!   next `times` steps of that map's world panic;
//! - `POST /debug/faults/tick-panic` `{"times": 1}`: the next `times`
//!   ticks panic on the tick thread outside any world;
//! - `POST /debug/faults/stall` `{"map": "arena", "ms": 3000}`: the next
//!   step of that map's world stalls (without `map`: the next tick, before
//!   it applies control messages).
//!
//! Each answers `204` once the fault is armed, to a request with the
//! admin token.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::routing::{MethodRouter, post};
use serde::Deserialize;

use crate::admin::{Access, RouteTable};
use crate::game::faults::Faults;

#[derive(Deserialize)]
struct WorldPanic {
    map: String,
    times: u32,
}

#[derive(Deserialize)]
struct TickPanic {
    times: u32,
}

#[derive(Deserialize)]
struct Stall {
    map: Option<String>,
    ms: u64,
}

/// The fault routes, arming `faults`; they need the admin token like
/// every admin route.
pub fn faults_routes(faults: Arc<Faults>) -> RouteTable {
    let arm = |path, route: MethodRouter<Arc<Faults>>| {
        (path, route.with_state::<()>(Arc::clone(&faults)))
    };
    let routes = [
        arm(
            "/debug/faults/world-panic",
            post(
                |State(f): State<Arc<Faults>>, Json(b): Json<WorldPanic>| async move {
                    f.panic_world(&b.map, b.times);
                    StatusCode::NO_CONTENT
                },
            ),
        ),
        arm(
            "/debug/faults/tick-panic",
            post(
                |State(f): State<Arc<Faults>>, Json(b): Json<TickPanic>| async move {
                    f.panic_tick(b.times);
                    StatusCode::NO_CONTENT
                },
            ),
        ),
        arm(
            "/debug/faults/stall",
            post(
                |State(f): State<Arc<Faults>>, Json(b): Json<Stall>| async move {
                    f.stall(b.map.as_deref(), Duration::from_millis(b.ms));
                    StatusCode::NO_CONTENT
                },
            ),
        ),
    ];
    routes
        .into_iter()
        .fold(RouteTable::new(), |table, (path, route)| {
            table.route(Access::Token, path, &[Method::POST], route)
        })
}
