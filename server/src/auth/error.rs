//! The API's error answer: an HTTP status and a JSON body `{code, message}`.
//!
//! `code` is a stable snake_case string that clients may match on (the list
//! is in docs/API.md); `message` is English for people and may change.
//! Internal failures are logged here and answered without detail.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::store::StoreError;

/// An error answer of the HTTP API.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<Duration>,
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: &'a str,
}

impl ApiError {
    /// An error with this status, stable code and human message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400 with a code naming the bad field or input.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 401 `invalid_credentials`: the same answer for an unknown name and a
    /// wrong password.
    pub fn invalid_credentials() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "wrong name or password",
        )
    }

    /// 429 `rate_limited` with a `Retry-After` of `wait` (rounded up to seconds).
    pub fn rate_limited(wait: Duration) -> Self {
        let mut err = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many attempts, try again later",
        );
        err.retry_after = Some(wait);
        err
    }

    /// 500 `internal`; the cause is logged, not sent.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error answering a request");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal server error",
        )
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable error code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The message for people.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NameTaken => Self::new(
                StatusCode::CONFLICT,
                "name_taken",
                "this name is already taken",
            ),
            other => Self::internal(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            code: self.code,
            message: &self.message,
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(wait) = self.retry_after {
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        if self.status == StatusCode::UNAUTHORIZED && self.code != "invalid_credentials" {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Retry-After is whole seconds, rounded up, never 0.
    #[test]
    fn retry_after_rounds_up() {
        let response = ApiError::rate_limited(Duration::from_millis(1500)).into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
        let response = ApiError::rate_limited(Duration::ZERO).into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    }

    /// A taken name maps to 409 name_taken.
    #[test]
    fn name_taken_is_conflict() {
        let err = ApiError::from(StoreError::NameTaken);
        assert_eq!(
            (err.status(), err.code()),
            (StatusCode::CONFLICT, "name_taken")
        );
    }
}
