//! The admin listener's recording routes (see docs/REPLAY.md and
//! docs/API.md): switch a map's recording to a file on and off, and list
//! what records.
//!
//! - `GET /recording`: maps recording now, the last finished files, the
//!   flight recorder's window and the notes dropped;
//! - `PUT /recording/{map}`: records that map's world to a new file from
//!   its next checkpoint (the next tick); `200` with the file; recording a
//!   map that records already answers its current file;
//! - `DELETE /recording/{map}`: stops it; the file is complete (end block
//!   written, flushed) within a fraction of a second; `200` with the file,
//!   `404` when the map was not recording.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};

use crate::auth::ApiError;
use crate::record::Switch;

/// The recording routes over `switch`.
pub fn recording_router(switch: Arc<Switch>) -> Router {
    Router::new()
        .route(
            "/recording",
            get(|State(s): State<Arc<Switch>>| async move { Json(s.status()) }),
        )
        .route("/recording/{map}", axum::routing::put(start).delete(stop))
        .with_state(switch)
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
