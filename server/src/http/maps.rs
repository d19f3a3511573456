//! The map download API on the public listener (the start of the download
//! and patch server): `GET /v1/maps` lists the live maps and the files that
//! were refused; `GET /v1/maps/{name}` returns the live map file.
//!
//! Downloads are content-addressed: the ETag is the file's SHA-256, so a
//! client that keeps the last version sends `If-None-Match` and gets `304`
//! until a designer changes the map. `Range` lets a client resume a
//! download, and `If-Range` makes the resume safe across a change (both in
//! [`super::ranged`], shared with the patch files). The bytes served are
//! those of the version the game runs, kept in memory, not whatever the file
//! on disk holds at that moment.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use battlegrid_protocol::MapInfo;

use super::ranged::{Representation, Source};
use crate::auth::ApiError;
use crate::game::catalog::MapCatalog;
use crate::maps::{LoadedMap, MapLoadError};

/// Media type of a Tiled TMX file.
const TMX_TYPE: &str = "application/x-tiled-tmx+xml";

/// The map routes, reading `catalog`.
pub fn maps_router(catalog: Arc<MapCatalog>) -> Router {
    Router::new()
        .route("/v1/maps", get(list))
        .route("/v1/maps/{name}", get(download))
        .with_state(catalog)
}

/// One live map in `GET /v1/maps`.
#[derive(Serialize)]
struct MapEntry {
    /// Name, size and region grid, as clients get them in `Welcome`.
    #[serde(flatten)]
    info: MapInfo,
    tile_size: u32,
    spawn_points: usize,
    /// Lowercase hex SHA-256 of the file, also its ETag.
    content_hash: String,
    /// File size in bytes.
    bytes: usize,
    /// Where to download it.
    url: String,
}

/// Answer of `GET /v1/maps`.
#[derive(Serialize)]
struct MapList {
    default_map: String,
    maps: Vec<MapEntry>,
    /// Files refused by their last load; the live version of a map of the
    /// same name, if any, stays in `maps`.
    errors: Vec<ErrorEntry>,
}

/// A refused file in `GET /v1/maps`.
#[derive(Serialize)]
struct ErrorEntry {
    /// The file name, without the server's directory.
    file: String,
    location: Option<String>,
    message: String,
}

impl ErrorEntry {
    fn from(error: &MapLoadError) -> Self {
        // The server's own paths are not the client's business.
        let file = error.file.file_name().map_or_else(
            || error.file.display().to_string(),
            |f| f.to_string_lossy().into_owned(),
        );
        Self {
            file,
            location: error.location.clone(),
            message: error.message.clone(),
        }
    }
}

impl MapEntry {
    fn from(map: &LoadedMap) -> Self {
        Self {
            info: map.spec.info(),
            tile_size: map.spec.tile_size(),
            spawn_points: map.spec.spawn_points().len(),
            content_hash: map.content_hash.clone(),
            bytes: map.bytes.len(),
            url: format!("/v1/maps/{}", map.name),
        }
    }
}

async fn list(State(catalog): State<Arc<MapCatalog>>) -> impl IntoResponse {
    let maps = catalog.live().values().map(|m| MapEntry::from(m)).collect();
    let errors = catalog.errors().iter().map(ErrorEntry::from).collect();
    (
        [(header::CACHE_CONTROL, "no-cache")],
        Json(MapList {
            default_map: catalog.default_map(),
            maps,
            errors,
        }),
    )
}

async fn download(
    State(catalog): State<Arc<MapCatalog>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let map = catalog.get(&name).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no_such_map",
            format!("no map named {name:?} is loaded"),
        )
    })?;
    Representation {
        etag: map.content_hash.clone(),
        content_type: TMX_TYPE,
        cache_control: "no-cache",
        source: Source::Memory(map.bytes.clone()),
    }
    .respond(&headers)
    .await
}
