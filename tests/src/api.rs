//! A small client of the auth HTTP API for tests: each call returns the
//! status, headers and JSON body without judging them, so tests can assert
//! on error answers as easily as on successes.

use reqwest::header::HeaderMap;
use serde_json::{Value, json};

/// One HTTP answer.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// Body as JSON (`Value::Null` when empty or not JSON).
    pub body: Value,
}

impl Reply {
    /// The `code` of an error body, or "" when there is none.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or_default()
    }

    /// A header's value as text, or "".
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

/// Client of one server's public listener.
#[derive(Clone)]
pub struct Api {
    client: reqwest::Client,
    base: String,
}

impl Api {
    /// A client of `http://<addr>`.
    pub fn new(addr: std::net::SocketAddr) -> Self {
        Self::with_client(format!("http://{addr}"), reqwest::Client::new())
    }

    /// A client of `base` (`http://…` or `https://…`) through `client`
    /// (its TLS trust, local address, default headers).
    pub fn with_client(base: String, client: reqwest::Client) -> Self {
        Self { client, base }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("HTTP request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("HTTP body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
        }
    }

    /// `<method> <path>` with no body.
    pub async fn request(&self, method: reqwest::Method, path: &str) -> Reply {
        self.send(self.client.request(method, format!("{}{path}", self.base)))
            .await
    }

    /// `GET <path>`.
    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.client.get(format!("{}{path}", self.base)))
            .await
    }

    /// `<method> <path>` with a JSON body.
    pub async fn request_json(&self, method: reqwest::Method, path: &str, body: Vec<u8>) -> Reply {
        self.send(
            self.client
                .request(method, format!("{}{path}", self.base))
                .header("content-type", "application/json")
                .body(body),
        )
        .await
    }

    /// `POST <path>` with a raw body and content type.
    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Reply {
        self.send(
            self.client
                .post(format!("{}{path}", self.base))
                .header("content-type", content_type)
                .body(body),
        )
        .await
    }

    /// `POST /v1/accounts` (sign up).
    pub async fn sign_up(&self, name: &str, password: &str) -> Reply {
        let body = json!({ "name": name, "password": password });
        self.send(
            self.client
                .post(format!("{}/v1/accounts", self.base))
                .json(&body),
        )
        .await
    }

    /// `POST /v1/sessions` (log in).
    pub async fn log_in(&self, name: &str, password: &str) -> Reply {
        let body = json!({ "name": name, "password": password });
        self.send(
            self.client
                .post(format!("{}/v1/sessions", self.base))
                .json(&body),
        )
        .await
    }

    /// Logs in and returns the token; panics unless the login succeeds.
    pub async fn token(&self, name: &str, password: &str) -> String {
        let reply = self.log_in(name, password).await;
        assert_eq!(reply.status, 200, "login of {name}: {reply:?}");
        reply.body["token"].as_str().expect("token").to_owned()
    }

    /// `GET /v1/me` with a bearer token.
    pub async fn me(&self, token: &str) -> Reply {
        self.send(
            self.client
                .get(format!("{}/v1/me", self.base))
                .bearer_auth(token),
        )
        .await
    }

    /// `DELETE /v1/sessions/current` with a bearer token (log out).
    pub async fn log_out(&self, token: &str) -> Reply {
        self.send(
            self.client
                .delete(format!("{}/v1/sessions/current", self.base))
                .bearer_auth(token),
        )
        .await
    }
}
