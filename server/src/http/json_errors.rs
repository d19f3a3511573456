//! The outermost layer of both HTTP routers: every error answer leaves in
//! the API's JSON shape `{code, message}`.
//!
//! Handlers and our own extractors already answer with [`ApiError`]; this
//! catches the rest in one place instead of one wrapper per extractor:
//! axum's rejections (a path segment that is not UTF-8, a query string of
//! the wrong shape, a missing extension...) are plain text, and its default
//! 405 has no body. Their text becomes the `message`, the status picks the
//! `code`, and their headers (e.g. `Allow`) stay. What hyper refuses before
//! a router sees the request (a request head over the buffer limit gets 431,
//! a malformed request line 400) is answered by hyper with an empty body;
//! docs/API.md says so.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::ApiError;

/// Longest plain-text rejection copied into `message`; axum's are one line.
const MAX_MESSAGE_BYTES: usize = 1024;

/// Middleware (`axum::middleware::from_fn`): rewrites error answers that
/// are not JSON.
pub async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(&response) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_MESSAGE_BYTES)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("error")
            .to_ascii_lowercase()
    } else {
        text
    };
    let rewritten = ApiError::new(status, code_of(status), message).into_response();
    let (new_parts, body) = rewritten.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in &new_parts.headers {
        parts.headers.insert(name, value.clone());
    }
    Response::from_parts(parts, Body::new(body))
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v: &HeaderValue| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// The documented code for a status (docs/API.md, "Error codes"); any
/// other 4xx is `bad_request`.
fn code_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid_body",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::extract::{Extension, Path, Query};
    use axum::middleware;
    use axum::routing::{get, post};
    use serde::Deserialize;
    use tower::ServiceExt;

    use super::*;

    #[derive(Deserialize)]
    struct Page {
        #[allow(dead_code)]
        page: u32,
    }

    /// A router using each of axum's extractors that can reject, behind
    /// the layer.
    fn router() -> Router {
        Router::new()
            .route("/path/{id}", get(|Path(_): Path<u32>| async {}))
            .route("/query", get(|Query(_): Query<Page>| async {}))
            .route("/json", post(|axum::Json(_): axum::Json<Page>| async {}))
            .route("/extension", get(|Extension(_): Extension<u8>| async {}))
            .route("/text", get(|| async { (StatusCode::CONFLICT, "plain") }))
            .layer(middleware::from_fn(json_errors))
    }

    async fn answer(request: Request) -> (StatusCode, Option<String>, serde_json::Value) {
        let response = router().oneshot(request).await.unwrap();
        let status = response.status();
        let allow = response
            .headers()
            .get(header::ALLOW)
            .map(|v| v.to_str().unwrap().to_owned());
        assert!(is_json(&response), "{status}: not JSON");
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(
            json["code"].is_string() && json["message"].is_string(),
            "{json}"
        );
        (status, allow, json)
    }

    fn get_req(uri: &str) -> Request {
        Request::get(uri).body(Body::empty()).unwrap()
    }

    /// Path, query, JSON body, content type and extension rejections, a
    /// 404, a bodiless 405 and a plain-text handler error all come out as
    /// `{code, message}` with the status kept and axum's text as message.
    #[tokio::test]
    async fn every_rejection_is_json() {
        let (status, _, json) = answer(get_req("/path/%FF%FE")).await;
        assert_eq!(
            (status, json["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("bad_request"))
        );
        assert!(
            json["message"].as_str().unwrap().contains("UTF-8"),
            "{json}"
        );
        let (status, _, json) = answer(get_req("/path/abc")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{json}");
        let (status, _, json) = answer(get_req("/query?page=many")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{json}");
        assert!(
            json["message"].as_str().unwrap().contains("query"),
            "{json}"
        );
        let bad_json = Request::post("/json")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{"))
            .unwrap();
        assert_eq!(answer(bad_json).await.0, StatusCode::BAD_REQUEST);
        let wrong_shape = Request::post("/json")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{\"page\": -1}"))
            .unwrap();
        let (status, _, json) = answer(wrong_shape).await;
        assert_eq!(
            (status, json["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body"))
        );
        let no_type = Request::post("/json").body(Body::from("{}")).unwrap();
        let (status, _, json) = answer(no_type).await;
        assert_eq!(
            (status, json["code"].as_str()),
            (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Some("unsupported_media_type")
            )
        );
        let (status, _, json) = answer(get_req("/extension")).await;
        assert_eq!(
            (status, json["code"].as_str()),
            (StatusCode::INTERNAL_SERVER_ERROR, Some("internal"))
        );
        let (status, _, _) = answer(get_req("/nowhere")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, allow, json) =
            answer(Request::delete("/query").body(Body::empty()).unwrap()).await;
        assert_eq!(
            (status, json["code"].as_str()),
            (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed"))
        );
        assert!(
            allow.is_some_and(|a| a.contains("GET")),
            "the Allow header stays"
        );
        let (status, _, json) = answer(get_req("/text")).await;
        assert_eq!(
            (status, json["message"].as_str()),
            (StatusCode::CONFLICT, Some("plain"))
        );
    }
}
