//! The HTTP side of a client: sign up, log in, and find the game listener
//! (docs/API.md is the reference for the endpoints).
//!
//! [`AuthClient`] speaks JSON to the public listener and turns the API's
//! error answers (`{code, message}` with an HTTP status, `Retry-After` on
//! 429) into [`HttpError::Api`], so callers can back off or react to
//! `name_taken`. [`AuthClient::game_target`] turns `GET /v1/server-info` into
//! everything [`crate::client::GameClient::connect`] needs. Retrying is the
//! caller's decision; this module never retries on its own.

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::header::RETRY_AFTER;
use reqwest::{Response, StatusCode, Url};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use super::tls::{TlsError, Trust};

/// Why an HTTP call failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The base URL does not parse or has no host.
    #[error("invalid server URL {0:?}")]
    InvalidUrl(String),
    /// The request did not complete (connection refused, timeout, bad body).
    #[error("HTTP request failed: {0}")]
    Transport(#[from] reqwest::Error),
    /// The API answered with an error.
    #[error("{status}: {code}: {message}")]
    Api {
        /// HTTP status.
        status: StatusCode,
        /// The API's stable error code (`name_taken`, `rate_limited`, ...),
        /// or `http_<status>` when the body was not the API's error JSON.
        code: String,
        /// The API's message for people.
        message: String,
        /// `Retry-After` of a 429 answer.
        retry_after: Option<Duration>,
    },
    /// The server has no game listener (`game` is null in server-info).
    #[error("the server reports no game listener")]
    NoGameListener,
    /// The game address in server-info cannot be resolved.
    #[error("cannot resolve the game address {0:?}")]
    BadGameAddr(String),
    /// The certificate fingerprint in server-info is not valid.
    #[error(transparent)]
    Tls(#[from] TlsError),
}

impl HttpError {
    /// The API's error code, if this is an API error answer.
    pub fn api_code(&self) -> Option<&str> {
        match self {
            HttpError::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// `201` answer of `POST /v1/accounts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The new account's id (also its player id in the game).
    pub account_id: u64,
    /// The name as registered.
    pub name: String,
}

/// Answer of `POST /v1/sessions`: a bearer token for the game's `Hello`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The session token.
    pub token: String,
    /// Absolute expiry, unix seconds.
    pub expires_at: u64,
    /// The account's id.
    pub account_id: u64,
    /// The account's name.
    pub name: String,
}

/// Answer of `GET /v1/server-info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// The protocol version the server speaks.
    pub protocol_version: u16,
    /// The game listener; `None` while the server has none.
    pub game: Option<GameInfo>,
}

/// Where the game listener is and which certificate it presents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GameInfo {
    /// `host:port` of the QUIC listener; an unspecified host means "the
    /// host you reached the HTTP API at".
    pub addr: String,
    /// SHA-256 of the server certificate's DER bytes, 64 lowercase hex digits.
    pub cert_sha256: String,
}

/// Everything needed to open a game connection.
#[derive(Debug, Clone)]
pub struct GameTarget {
    /// The resolved UDP address of the game listener.
    pub addr: SocketAddr,
    /// The name for SNI; any name works under a pin, `localhost` is used.
    pub server_name: String,
    /// The certificate pin from server-info.
    pub trust: Trust,
}

#[derive(Serialize)]
struct Credentials<'a> {
    name: &'a str,
    password: &'a str,
}

#[derive(Deserialize)]
struct ErrorBody {
    code: String,
    message: String,
}

/// A client of the public HTTP API.
#[derive(Debug, Clone)]
pub struct AuthClient {
    http: reqwest::Client,
    base: Url,
}

impl AuthClient {
    /// A client of the server at `base_url` (e.g. `http://127.0.0.1:8080`,
    /// or `https://play.example.com`, verified against the usual public
    /// certificate authorities).
    pub fn new(base_url: &str) -> Result<Self, HttpError> {
        Self::build(base_url, None)
    }

    /// A client of an `https://` server whose certificate is signed by the
    /// certificate authority in `ca_pem` (PEM; a private CA, as in tests or
    /// a studio's own network), trusted in addition to the public ones.
    pub fn with_ca_pem(base_url: &str, ca_pem: &[u8]) -> Result<Self, HttpError> {
        Self::build(base_url, Some(ca_pem))
    }

    fn build(base_url: &str, ca_pem: Option<&[u8]>) -> Result<Self, HttpError> {
        let base = Url::parse(base_url).map_err(|_| HttpError::InvalidUrl(base_url.to_owned()))?;
        if base.host_str().is_none() || base.cannot_be_a_base() {
            return Err(HttpError::InvalidUrl(base_url.to_owned()));
        }
        // Generous: a sign-up waits for an Argon2 hash, and hashes queue
        // behind each other when many clients sign up at once.
        let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(60));
        if let Some(pem) = ca_pem {
            for ca in reqwest::Certificate::from_pem_bundle(pem)? {
                builder = builder.add_root_certificate(ca);
            }
        }
        Ok(Self {
            http: builder.build()?,
            base,
        })
    }

    fn url(&self, path: &str) -> Result<Url, HttpError> {
        self.base
            .join(path)
            .map_err(|_| HttpError::InvalidUrl(format!("{}{path}", self.base)))
    }

    /// `POST /v1/accounts`: creates an account. A taken name is
    /// [`HttpError::Api`] with code `name_taken`.
    pub async fn sign_up(&self, name: &str, password: &str) -> Result<Account, HttpError> {
        let response = self
            .http
            .post(self.url("/v1/accounts")?)
            .json(&Credentials { name, password })
            .send()
            .await?;
        json_or_error(response).await
    }

    /// `POST /v1/sessions`: logs in. Wrong credentials are [`HttpError::Api`]
    /// with code `invalid_credentials`.
    pub async fn log_in(&self, name: &str, password: &str) -> Result<Session, HttpError> {
        let response = self
            .http
            .post(self.url("/v1/sessions")?)
            .json(&Credentials { name, password })
            .send()
            .await?;
        json_or_error(response).await
    }

    /// `DELETE /v1/sessions/current`: revokes the token.
    pub async fn log_out(&self, token: &str) -> Result<(), HttpError> {
        let response = self
            .http
            .delete(self.url("/v1/sessions/current")?)
            .bearer_auth(token)
            .send()
            .await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(api_error(response).await)
        }
    }

    /// `GET /v1/server-info`.
    pub async fn server_info(&self) -> Result<ServerInfo, HttpError> {
        let response = self.http.get(self.url("/v1/server-info")?).send().await?;
        json_or_error(response).await
    }

    /// Asks server-info for the game listener and resolves its address (an
    /// unspecified host becomes this client's HTTP host) and its pin.
    pub async fn game_target(&self) -> Result<GameTarget, HttpError> {
        let game = self
            .server_info()
            .await?
            .game
            .ok_or(HttpError::NoGameListener)?;
        let trust = Trust::pinned(&game.cert_sha256)?;
        let addr = self.resolve_game_addr(&game.addr).await?;
        Ok(GameTarget {
            addr,
            server_name: "localhost".to_owned(),
            trust,
        })
    }

    async fn resolve_game_addr(&self, addr: &str) -> Result<SocketAddr, HttpError> {
        let bad = || HttpError::BadGameAddr(addr.to_owned());
        if let Ok(socket) = addr.parse::<SocketAddr>() {
            if !socket.ip().is_unspecified() {
                return Ok(socket);
            }
            let host = self.base.host_str().ok_or_else(bad)?;
            // `Url` keeps brackets around IPv6 hosts; lookup wants them off.
            let host = host.trim_start_matches('[').trim_end_matches(']');
            return first_addr((host, socket.port())).await.ok_or_else(bad);
        }
        first_addr(addr).await.ok_or_else(bad)
    }
}

async fn first_addr(target: impl tokio::net::ToSocketAddrs) -> Option<SocketAddr> {
    tokio::net::lookup_host(target).await.ok()?.next()
}

pub(super) async fn json_or_error<T: DeserializeOwned>(response: Response) -> Result<T, HttpError> {
    if response.status().is_success() {
        Ok(response.json().await?)
    } else {
        Err(api_error(response).await)
    }
}

async fn api_error(response: Response) -> HttpError {
    let status = response.status();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let (code, message) = match response.json::<ErrorBody>().await {
        Ok(body) => (body.code, body.message),
        Err(_) => (
            format!("http_{}", status.as_u16()),
            status.canonical_reason().unwrap_or("").to_owned(),
        ),
    };
    HttpError::Api {
        status,
        code,
        message,
        retry_after,
    }
}

#[cfg(test)]
mod tests;
