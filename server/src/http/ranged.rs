//! One implementation of conditional and ranged downloads, for maps (held
//! in memory) and patch files (streamed from disk): `ETag` with
//! `If-None-Match` -> 304, one `Range` -> 206 with `Content-Range`, a range
//! outside the content -> 416, `If-Range` that names another version -> the
//! whole content. Several ranges are answered with the whole content, which
//! RFC 9110 allows and which is simpler for clients than
//! multipart/byteranges; a `Range` header that does not parse is ignored
//! (RFC 9110 14.2).

use std::io::SeekFrom;
use std::path::PathBuf;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use crate::auth::ApiError;

/// Where the content comes from.
pub enum Source {
    /// Bytes in memory.
    Memory(Bytes),
    /// A file of `len` bytes that does not change while it is served (the
    /// patch store's files are immutable: named by their content's hash).
    File {
        /// Its path.
        path: PathBuf,
        /// Its size.
        len: u64,
    },
}

impl Source {
    fn len(&self) -> u64 {
        match self {
            Source::Memory(bytes) => bytes.len() as u64,
            Source::File { len, .. } => *len,
        }
    }

    /// The body for bytes `start..=end`, streamed in chunks for files so a
    /// large download never sits whole in memory.
    async fn body(&self, start: u64, end: u64) -> Result<Body, ApiError> {
        match self {
            Source::Memory(bytes) => Ok(Body::from(bytes.slice(start as usize..=end as usize))),
            Source::File { path, .. } => {
                let mut file = tokio::fs::File::open(path)
                    .await
                    .map_err(ApiError::internal)?;
                file.seek(SeekFrom::Start(start))
                    .await
                    .map_err(ApiError::internal)?;
                let reader = file.take(end + 1 - start);
                Ok(Body::from_stream(ReaderStream::with_capacity(
                    reader,
                    256 * 1024,
                )))
            }
        }
    }
}

/// A downloadable representation: its content, strong `ETag` (without the
/// quotes) and the headers every answer carries.
pub struct Representation {
    /// The strong validator, e.g. the content's SHA-256 in hex.
    pub etag: String,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// `Cache-Control`.
    pub cache_control: &'static str,
    /// The content.
    pub source: Source,
}

impl Representation {
    /// Answers a GET with the request's conditional and range headers.
    pub async fn respond(self, headers: &HeaderMap) -> Result<Response, ApiError> {
        let etag = format!("\"{}\"", self.etag);
        let etag_value = HeaderValue::from_str(&etag).map_err(ApiError::internal)?;
        let common = [
            (header::ETAG, etag_value),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static(self.cache_control),
            ),
            (header::ACCEPT_RANGES, HeaderValue::from_static("bytes")),
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(self.content_type),
            ),
        ];
        if let Some(condition) = headers.get(header::IF_NONE_MATCH)
            && etag_matches(condition.to_str().unwrap_or(""), &etag)
        {
            return Ok((StatusCode::NOT_MODIFIED, common).into_response());
        }
        let len = self.source.len();
        let whole = |body| (StatusCode::OK, common.clone(), body).into_response();
        let ranges = headers
            .get(header::RANGE)
            // A resume of another version gets the whole new content.
            .filter(|_| {
                headers
                    .get(header::IF_RANGE)
                    .is_none_or(|if_range| if_range.to_str().unwrap_or("") == etag)
            })
            .and_then(|r| r.to_str().ok())
            .and_then(|r| http_range_header::parse_range_header(r).ok())
            .map(|parsed| parsed.validate(len));
        match ranges {
            Some(Ok(ranges)) if ranges.len() == 1 => {
                let (start, end) = (*ranges[0].start(), *ranges[0].end());
                let body = self.source.body(start, end).await?;
                let content_range = format!("bytes {start}-{end}/{len}");
                Ok((
                    StatusCode::PARTIAL_CONTENT,
                    common,
                    [(header::CONTENT_RANGE, content_range)],
                    body,
                )
                    .into_response())
            }
            Some(Err(_)) => Ok((
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{len}"))],
                ApiError::new(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    "range_not_satisfiable",
                    format!("the content is {len} bytes; the range is outside it"),
                ),
            )
                .into_response()),
            _ if len == 0 => Ok(whole(Body::empty())),
            _ => Ok(whole(self.source.body(0, len - 1).await?)),
        }
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

    fn request(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    async fn answer(source: Source, headers: HeaderMap) -> (StatusCode, HeaderMap, Bytes) {
        let rep = Representation {
            etag: "v1".into(),
            content_type: "application/octet-stream",
            cache_control: "no-cache",
            source,
        };
        let response = rep.respond(&headers).await.unwrap();
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        (parts.status, parts.headers, bytes)
    }

    /// Memory and file sources answer the same requests with the same
    /// statuses and bytes.
    #[tokio::test]
    async fn memory_and_file_sources_agree() {
        let content: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, &content).unwrap();
        // (request headers, expected status, expected body)
        type Case = (Vec<(header::HeaderName, &'static str)>, StatusCode, Vec<u8>);
        let cases: Vec<Case> = vec![
            (vec![], StatusCode::OK, content.clone()),
            (
                vec![(header::RANGE, "bytes=10-19")],
                StatusCode::PARTIAL_CONTENT,
                content[10..20].to_vec(),
            ),
            (
                vec![(header::RANGE, "bytes=9990-")],
                StatusCode::PARTIAL_CONTENT,
                content[9990..].to_vec(),
            ),
            (
                vec![(header::RANGE, "bytes=20000-")],
                StatusCode::RANGE_NOT_SATISFIABLE,
                vec![],
            ),
            (
                vec![(header::RANGE, "bytes=10-19"), (header::IF_RANGE, "\"v0\"")],
                StatusCode::OK,
                content.clone(),
            ),
            (
                vec![(header::RANGE, "bytes=10-19"), (header::IF_RANGE, "\"v1\"")],
                StatusCode::PARTIAL_CONTENT,
                content[10..20].to_vec(),
            ),
            (
                vec![(header::IF_NONE_MATCH, "\"v1\"")],
                StatusCode::NOT_MODIFIED,
                vec![],
            ),
            (
                vec![(header::RANGE, "bytes=0-1,5-6")],
                StatusCode::OK,
                content.clone(),
            ),
            (
                vec![(header::RANGE, "nonsense")],
                StatusCode::OK,
                content.clone(),
            ),
        ];
        for (headers, status, body) in cases {
            for source in [
                Source::Memory(Bytes::from(content.clone())),
                Source::File {
                    path: path.clone(),
                    len: content.len() as u64,
                },
            ] {
                let (got_status, got_headers, got_body) = answer(source, request(&headers)).await;
                assert_eq!(got_status, status, "{headers:?}");
                if status != StatusCode::RANGE_NOT_SATISFIABLE {
                    assert_eq!(got_body.as_ref(), body.as_slice(), "{headers:?}");
                } else {
                    assert_eq!(got_headers[header::CONTENT_RANGE], "bytes */10000");
                }
            }
        }
    }
}
