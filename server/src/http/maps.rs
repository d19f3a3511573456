//! The map download API on the public listener (the start of the download
//! and patch server): `GET /v1/maps` lists the live maps and the files that
//! were refused; `GET /v1/maps/{name}` returns the live map file.
//!
//! Downloads are content-addressed: the ETag is the file's SHA-256, so a
//! client that keeps the last version sends `If-None-Match` and gets `304`
//! until a designer changes the map. `Range` (one range; several are
//! answered with the whole file, which RFC 9110 allows) lets a client resume
//! a download, and `If-Range` makes the resume safe across a change. The
//! bytes served are those of the version the game runs, kept in memory, not
//! whatever the file on disk holds at that moment.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use battlegrid_protocol::MapInfo;

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
            default_map: catalog.default_map().to_owned(),
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
    let etag = format!("\"{}\"", map.content_hash);
    let etag_value = HeaderValue::from_str(&etag).map_err(ApiError::internal)?;
    let common = [
        (header::ETAG, etag_value),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (header::ACCEPT_RANGES, HeaderValue::from_static("bytes")),
    ];
    if let Some(condition) = headers.get(header::IF_NONE_MATCH)
        && etag_matches(condition.to_str().unwrap_or(""), &etag)
    {
        return Ok((StatusCode::NOT_MODIFIED, common).into_response());
    }
    let len = map.bytes.len() as u64;
    let whole = || {
        (
            StatusCode::OK,
            common.clone(),
            [(header::CONTENT_TYPE, TMX_TYPE)],
            map.bytes.clone(),
        )
            .into_response()
    };
    let Some(range) = headers.get(header::RANGE) else {
        return Ok(whole());
    };
    // A resume of another version gets the whole new file.
    if let Some(if_range) = headers.get(header::IF_RANGE)
        && if_range.to_str().unwrap_or("") != etag
    {
        return Ok(whole());
    }
    let ranges = range
        .to_str()
        .ok()
        .and_then(|r| http_range_header::parse_range_header(r).ok())
        .map(|parsed| parsed.validate(len));
    match ranges {
        Some(Ok(ranges)) if ranges.len() == 1 => {
            let (start, end) = (*ranges[0].start(), *ranges[0].end());
            let content_range = format!("bytes {start}-{end}/{len}");
            Ok((
                StatusCode::PARTIAL_CONTENT,
                common,
                [
                    (header::CONTENT_TYPE, TMX_TYPE.to_owned()),
                    (header::CONTENT_RANGE, content_range),
                ],
                map.bytes.slice(start as usize..=end as usize),
            )
                .into_response())
        }
        // Several ranges: the whole file is a valid answer and simpler for
        // clients than multipart/byteranges.
        Some(Ok(_)) => Ok(whole()),
        Some(Err(_)) => Ok((
            StatusCode::RANGE_NOT_SATISFIABLE,
            [(header::CONTENT_RANGE, format!("bytes */{len}"))],
            Json(serde_json::json!({
                "code": "range_not_satisfiable",
                "message": format!("the map is {len} bytes; the range is outside it"),
            })),
        )
            .into_response()),
        // A Range header that does not parse is ignored (RFC 9110 14.2).
        None => Ok(whole()),
    }
}

/// Whether an `If-None-Match` value matches `etag` (weak comparison, as
/// the RFC asks for this header; `*` matches any current representation).
fn etag_matches(condition: &str, etag: &str) -> bool {
    condition.split(',').map(str::trim).any(|candidate| {
        candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == etag
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lists, weak tags and `*` match; other tags do not.
    #[test]
    fn if_none_match_comparison() {
        let tag = "\"abc\"";
        assert!(etag_matches("\"abc\"", tag));
        assert!(etag_matches("W/\"abc\"", tag));
        assert!(etag_matches("\"x\", \"abc\"", tag));
        assert!(etag_matches("*", tag));
        assert!(!etag_matches("\"abd\"", tag));
        assert!(!etag_matches("abc", tag));
        assert!(!etag_matches("", tag));
    }
}
