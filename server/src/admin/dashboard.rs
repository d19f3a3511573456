//! The live dashboard on the admin listener: the page and its files at
//! `/` (open: they hold no data; the page asks for the token), and the
//! token-protected data it reads:
//!
//! - `GET /v1/admin/dashboard/stream?map=`: the live feed of one map
//!   ([`super::feed`]), binary frames as a streamed response body. The page
//!   reads it with `fetch`, which sends the token as a header (an
//!   `EventSource` or a WebSocket could not), so there is no cookie for
//!   cross-site requests to ride on;
//! - `GET /v1/admin/dashboard/map?name=`: what to draw under the dots: size,
//!   tile grid, blocked tiles (a bitmap, row by row, base64), region grid;
//! - `GET /v1/admin/dashboard/history`: ten minutes of tick p50/p99 and
//!   players, from the sampler.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use serde::Deserialize;

use super::feed::Feed;
use super::routes::{Access, RouteTable};
use super::state::AdminState;
use crate::auth::ApiError;

const PAGE: &str = include_str!("web/dashboard.html");
const SCRIPT: &str = include_str!("web/dashboard.js");
const STYLE: &str = include_str!("web/dashboard.css");

/// The dashboard's routes.
pub fn routes(state: AdminState, feed: Arc<Feed>) -> RouteTable {
    let t = Access::Token;
    RouteTable::new()
        .route(
            Access::Open,
            "/",
            &[Method::GET],
            get(|| async { Html(PAGE) }),
        )
        .route(
            Access::Open,
            "/dashboard.js",
            &[Method::GET],
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                    SCRIPT,
                )
            }),
        )
        .route(
            Access::Open,
            "/dashboard.css",
            &[Method::GET],
            get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE) }),
        )
        .route(
            t,
            "/v1/admin/dashboard/stream",
            &[Method::GET],
            get(stream).with_state((state.clone(), feed)),
        )
        .route(
            t,
            "/v1/admin/dashboard/map",
            &[Method::GET],
            get(map).with_state(state.clone()),
        )
        .route(
            t,
            "/v1/admin/dashboard/history",
            &[Method::GET],
            get(history).with_state(state),
        )
}

#[derive(Deserialize)]
struct MapQuery {
    map: Option<String>,
    name: Option<String>,
}

fn no_such_map(name: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no_such_map",
        format!("no map named {name:?} is loaded"),
    )
}

async fn stream(
    State((state, feed)): State<(AdminState, Arc<Feed>)>,
    Query(q): Query<MapQuery>,
) -> Result<Response, ApiError> {
    let map = q.map.unwrap_or_else(|| state.catalog.default_map());
    if !state.catalog.views().contains_key(&map) {
        return Err(no_such_map(&map));
    }
    let frames = feed.subscribe(&map);
    // Each item waits for the next frame; a viewer that reads slowly skips
    // frames (the watch keeps only the newest) rather than piling them up.
    let body = futures_util::stream::unfold(frames, |mut frames| async move {
        frames.changed().await.ok()?;
        let frame = frames.borrow_and_update().clone();
        Some((Ok::<_, std::convert::Infallible>(frame), frames))
    });
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

async fn map(
    State(state): State<AdminState>,
    Query(q): Query<MapQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let name = q.name.unwrap_or_else(|| state.catalog.default_map());
    let views = state.catalog.views();
    let view = views.get(&name).ok_or_else(|| no_such_map(&name))?;
    let spec = &view.map.spec;
    let info = spec.info();
    let (tiles_x, tiles_y) = spec.tile_grid();
    let mut bits = vec![0u8; (tiles_x as usize * tiles_y as usize).div_ceil(8)];
    for ty in 0..tiles_y {
        for tx in 0..tiles_x {
            if spec.is_tile_blocked(tx, ty) {
                let i = (ty * tiles_x + tx) as usize;
                bits[i / 8] |= 1 << (i % 8);
            }
        }
    }
    Ok(Json(serde_json::json!({
        "name": name,
        "width": info.width,
        "height": info.height,
        "tile_size": spec.tile_size(),
        "tiles_x": tiles_x,
        "tiles_y": tiles_y,
        "blocked": base64::engine::general_purpose::STANDARD.encode(bits),
        "region_cols": info.region_cols,
        "region_rows": info.region_rows,
        "position_scale": super::feed::POSITION_SCALE,
    })))
}

async fn history(State(state): State<AdminState>) -> Json<serde_json::Value> {
    let sample = state.sampler.load();
    Json(serde_json::json!({ "points": sample.history }))
}
