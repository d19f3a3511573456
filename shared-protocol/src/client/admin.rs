//! A client of the admin listener's session endpoint (`POST
//! /v1/admin/sessions`), for trusted tools such as load generators that
//! need many sessions from one address without the public API's rate
//! limits and password hashing. Every request carries the admin token
//! (`Authorization: Bearer`). docs/API.md is the reference.

use std::time::Duration;

use reqwest::Url;
use serde::{Deserialize, Serialize};

use super::http::{HttpError, Session, json_or_error};

/// A client of the admin listener (e.g. `http://127.0.0.1:9090`).
#[derive(Clone)]
pub struct AdminClient {
    http: reqwest::Client,
    url: Url,
    token: String,
}

#[derive(Serialize)]
struct SessionRequest<'a> {
    name: &'a str,
    create: bool,
}

/// A session from the admin API.
#[derive(Debug, Clone, Deserialize)]
pub struct AdminSession {
    /// The session, as login returns it.
    #[serde(flatten)]
    pub session: Session,
    /// Whether the account was made by this request.
    pub created: bool,
}

// By hand so the token never reaches a log line through `{:?}`.
impl std::fmt::Debug for AdminClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminClient")
            .field("url", &self.url.as_str())
            .finish_non_exhaustive()
    }
}

impl AdminClient {
    /// A client of the admin listener at `base_url`, sending `token`.
    pub fn new(base_url: &str, token: &str) -> Result<Self, HttpError> {
        let invalid = || HttpError::InvalidUrl(base_url.to_owned());
        let base = Url::parse(base_url).map_err(|_| invalid())?;
        if base.host_str().is_none() || base.cannot_be_a_base() {
            return Err(invalid());
        }
        let url = base.join("/v1/admin/sessions").map_err(|_| invalid())?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?;
        Ok(Self {
            http,
            url,
            token: token.to_owned(),
        })
    }

    /// A new session for the account `name`; with `create`, a password-less
    /// account of that name is made first when none exists.
    pub async fn session(&self, name: &str, create: bool) -> Result<AdminSession, HttpError> {
        let response = self
            .http
            .post(self.url.clone())
            .bearer_auth(&self.token)
            .json(&SessionRequest { name, create })
            .send()
            .await?;
        json_or_error(response).await
    }
}
