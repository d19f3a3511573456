//! The patch API on the public listener: `GET /v1/patch/manifest` (the
//! current release, with an ETag), `GET /v1/patch/files/{sha256}` and
//! `GET /v1/patch/deltas/{from}/{to}` (immutable, ranged, streamed from the
//! content store). See `crate::patch` for what a release is.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::ranged::{Representation, Source};
use crate::auth::ApiError;
use crate::patch::{PatchService, is_sha256};

/// Immutable: a name is a hash, so its content never changes.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The patch routes, reading `patch`.
pub fn patch_router(patch: Arc<PatchService>) -> Router {
    Router::new()
        .route("/v1/patch/manifest", get(manifest))
        .route("/v1/patch/files/{sha256}", get(file))
        .route("/v1/patch/deltas/{from}/{to}", get(delta))
        .with_state(patch)
}

async fn manifest(
    State(patch): State<Arc<PatchService>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let published = patch.published().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "the first scan of the assets is still running; try again shortly",
        )
    })?;
    let etag = format!("\"{}\"", published.etag);
    let etag_value = HeaderValue::from_str(&etag).map_err(ApiError::internal)?;
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .map(str::trim)
                .any(|c| c == etag || c == "*" || c.strip_prefix("W/") == Some(&etag))
        });
    let common = [
        (header::ETAG, etag_value),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    if matches {
        return Ok((StatusCode::NOT_MODIFIED, common).into_response());
    }
    Ok((
        common,
        [(header::CONTENT_TYPE, "application/json")],
        published.manifest.clone(),
    )
        .into_response())
}

fn check_hash(value: &str) -> Result<(), ApiError> {
    if is_sha256(value) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_hash",
            "expected a SHA-256 as 64 lowercase hex digits",
        ))
    }
}

async fn file(
    State(patch): State<Arc<PatchService>>,
    Path(sha): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    check_hash(&sha)?;
    let (path, len) = patch.file(&sha).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no_such_file",
            "no kept release lists a file with that SHA-256",
        )
    })?;
    Representation {
        etag: sha,
        content_type: "application/octet-stream",
        cache_control: IMMUTABLE,
        source: Source::File { path, len },
    }
    .respond(&headers)
    .await
}

async fn delta(
    State(patch): State<Arc<PatchService>>,
    Path((from, to)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    check_hash(&from)?;
    check_hash(&to)?;
    let (path, len) = patch.delta(&from, &to).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no_such_delta",
            "the manifest lists no delta between those versions",
        )
    })?;
    Representation {
        etag: format!("{from}-{to}"),
        content_type: "application/zstd",
        cache_control: IMMUTABLE,
        source: Source::File { path, len },
    }
    .respond(&headers)
    .await
}
