//! The admin listener's recording routes (see docs/REPLAY.md and
//! docs/API.md): switch a map's recording to a file on and off, and list
//! what records.
//!
//! - `GET /v1/admin/recording`: maps recording now, the last finished files, the
//!   flight recorder's window and the notes dropped;
//! - `PUT /v1/admin/recording/{map}`: records that map's world to a new file from
//!   its next checkpoint (the next tick); `200` with the file; recording a
//!   map that records already answers its current file;
//! - `DELETE /v1/admin/recording/{map}`: stops it; the file is complete (end block
//!   written, flushed) within a fraction of a second; `200` with the file,
//!   `404` when the map was not recording.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::get;

use crate::admin::{Access, RouteTable};
use crate::auth::ApiError;
use crate::record::Switch;

/// The recording routes over `switch`; they need the admin token.
pub fn recording_routes(switch: Arc<Switch>) -> RouteTable {
    RouteTable::new()
        .route(
            Access::Token,
            "/v1/admin/recording",
            &[Method::GET],
            get(|State(s): State<Arc<Switch>>| async move { Json(s.status()) })
                .with_state(Arc::clone(&switch)),
        )
        .route(
            Access::Token,
            "/v1/admin/recording/{map}",
            &[Method::PUT, Method::DELETE],
            axum::routing::put(start).delete(stop).with_state(switch),
        )
}

async fn start(
    State(switch): State<Arc<Switch>>,
    Path(map): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let status = switch
        .start(&map)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_value", e.to_string()))?;
    Ok(Json(
        serde_json::json!({ "map": map, "file": status.file, "started": status.started }),
    ))
}

async fn stop(
    State(switch): State<Arc<Switch>>,
    Path(map): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let status = switch.stop(&map).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_recording",
            format!("the map {map:?} is not recording"),
        )
    })?;
    Ok(Json(
        serde_json::json!({ "map": map, "file": status.file, "ticks": status.ticks }),
    ))
}
