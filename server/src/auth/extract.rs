//! Request extractors of the auth API that answer in our JSON error format.
//!
//! [`ApiJson`] wraps axum's `Json` so that a wrong content type, malformed
//! JSON, a wrong shape and an oversized body each get their own stable code
//! instead of axum's plain-text rejection. [`Bearer`] reads and checks the
//! session token. Neither does any I/O except the token-use touch.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::token_table::{LiveSession, Lookup};
use super::{AuthState, now_ms, token};
use crate::http::ClientAddr;
use crate::store::TokenHash;

/// A JSON body; rejections become [`ApiError`]s.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(&rejection)),
        }
    }
}

fn json_rejection(rejection: &JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "expected Content-Type: application/json",
        ),
        JsonRejection::JsonSyntaxError(_) => {
            ApiError::bad_request("malformed_json", "the body is not valid JSON")
        }
        JsonRejection::JsonDataError(err) => ApiError::bad_request(
            "invalid_body",
            format!(
                "the JSON does not have the expected fields: {}",
                err.body_text()
            ),
        ),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "the request body is too large",
        ),
        other => ApiError::bad_request("bad_body", other.body_text()),
    }
}

/// The client's IP address: the one the listener worked out
/// ([`ClientAddr`]: the TCP peer, or the client behind a trusted proxy).
pub struct ClientIp(pub std::net::IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        if let Some(ClientAddr(ip)) = parts.extensions.get::<ClientAddr>() {
            return Ok(Self(*ip));
        }
        parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| Self(addr.ip()))
            .ok_or_else(|| ApiError::internal("request without peer address"))
    }
}

/// A request authenticated by `Authorization: Bearer <token>`.
pub struct Bearer {
    /// Hash of the presented token.
    pub hash: TokenHash,
    /// The live session it names.
    pub session: Arc<LiveSession>,
}

impl FromRequestParts<AuthState> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AuthState,
    ) -> Result<Self, Self::Rejection> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "missing_token",
                    "no bearer token given",
                )
            })?
            .to_str()
            .unwrap_or_default();
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .unwrap_or_default();
        let invalid = || {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "the token is not valid",
            )
        };
        if !token::well_formed(token) {
            return Err(invalid());
        }
        let hash = token::hash(token);
        match state.tokens.check(&hash, now_ms()) {
            Lookup::Valid {
                session,
                persist_touch,
            } => {
                if let Some(at) = persist_touch {
                    state.spawn_touch(hash, at);
                }
                Ok(Self { hash, session })
            }
            Lookup::Expired => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "token_expired",
                "the session has expired, log in again",
            )),
            Lookup::Unknown => Err(invalid()),
        }
    }
}
