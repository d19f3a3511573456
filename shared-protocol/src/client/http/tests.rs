//! AuthClient against a canned HTTP/1.1 responder on loopback.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::*;

/// Serves one request with `status`, extra header lines and `body`; returns
/// the request as text.
async fn respond_once(
    status: &'static str,
    headers: &'static str,
    body: &'static str,
) -> (String, JoinHandle<String>) {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = socket.read(&mut buf).await.unwrap();
            request.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&request).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if request.len() >= end + 4 + length || n == 0 {
                    break;
                }
            }
        }
        let answer = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        socket.write_all(answer.as_bytes()).await.unwrap();
        String::from_utf8_lossy(&request).to_string()
    });
    (base, task)
}

/// Sign-up posts the credentials as JSON and parses the 201 answer.
#[tokio::test]
async fn sign_up_posts_json_and_parses_the_account() {
    let (base, server) = respond_once("201 Created", "", r#"{"account_id":7,"name":"ada"}"#).await;
    let account = AuthClient::new(&base)
        .unwrap()
        .sign_up("ada", "pw-123456")
        .await
        .unwrap();
    assert_eq!(
        account,
        Account {
            account_id: 7,
            name: "ada".into()
        }
    );
    let request = server.await.unwrap();
    assert!(request.starts_with("POST /v1/accounts "), "{request}");
    assert!(
        request.ends_with(r#"{"name":"ada","password":"pw-123456"}"#),
        "{request}"
    );
}

/// Login parses the session answer.
#[tokio::test]
async fn log_in_parses_the_session() {
    let body = r#"{"token":"abc","expires_at":1700000000,"account_id":7,"name":"ada"}"#;
    let (base, server) = respond_once("200 OK", "", body).await;
    let session = AuthClient::new(&base)
        .unwrap()
        .log_in("ada", "pw")
        .await
        .unwrap();
    assert_eq!(session.token, "abc");
    assert_eq!((session.expires_at, session.account_id), (1_700_000_000, 7));
    assert!(server.await.unwrap().starts_with("POST /v1/sessions "));
}

/// API errors keep status, code and message; 429 carries Retry-After.
#[tokio::test]
async fn api_errors_are_typed() {
    let (base, _server) = respond_once(
        "409 Conflict",
        "",
        r#"{"code":"name_taken","message":"this name is already taken"}"#,
    )
    .await;
    let err = AuthClient::new(&base)
        .unwrap()
        .sign_up("ada", "pw")
        .await
        .unwrap_err();
    assert_eq!(err.api_code(), Some("name_taken"));

    let (base, _server) = respond_once(
        "429 Too Many Requests",
        "retry-after: 3\r\n",
        r#"{"code":"rate_limited","message":"too many attempts, try again later"}"#,
    )
    .await;
    let err = AuthClient::new(&base)
        .unwrap()
        .log_in("ada", "pw")
        .await
        .unwrap_err();
    match err {
        HttpError::Api {
            status,
            code,
            retry_after,
            ..
        } => {
            assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
            assert_eq!(code, "rate_limited");
            assert_eq!(retry_after, Some(Duration::from_secs(3)));
        }
        other => panic!("{other:?}"),
    }
}

/// An error answer that is not the API's JSON still becomes an API error.
#[tokio::test]
async fn non_json_errors_get_a_status_code() {
    let (base, _server) = respond_once("502 Bad Gateway", "", "upstream down").await;
    let err = AuthClient::new(&base)
        .unwrap()
        .server_info()
        .await
        .unwrap_err();
    assert_eq!(err.api_code(), Some("http_502"));
}

/// An unspecified game host is replaced by the HTTP host; the pin is parsed.
#[tokio::test]
async fn game_target_uses_the_http_host_for_an_unspecified_address() {
    let body = r#"{"protocol_version":1,"game":{"addr":"0.0.0.0:7777","cert_sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}}"#;
    let (base, _server) = respond_once("200 OK", "", body).await;
    let target = AuthClient::new(&base).unwrap().game_target().await.unwrap();
    assert_eq!(target.addr, SocketAddr::from(([127, 0, 0, 1], 7777)));
    assert!(
        matches!(target.trust, Trust::Pinned(pin) if pin == super::super::tls::Fingerprint::of_der(b"test"))
    );
}

/// A concrete game address is used as given.
#[tokio::test]
async fn game_target_keeps_a_concrete_address() {
    let body = r#"{"protocol_version":1,"game":{"addr":"127.0.0.2:9000","cert_sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}}"#;
    let (base, _server) = respond_once("200 OK", "", body).await;
    let target = AuthClient::new(&base).unwrap().game_target().await.unwrap();
    assert_eq!(target.addr, SocketAddr::from(([127, 0, 0, 2], 9000)));
}

/// No game listener and a broken fingerprint are distinct errors.
#[tokio::test]
async fn missing_game_and_bad_pin_are_errors() {
    let (base, _server) = respond_once("200 OK", "", r#"{"protocol_version":1,"game":null}"#).await;
    let err = AuthClient::new(&base)
        .unwrap()
        .game_target()
        .await
        .unwrap_err();
    assert!(matches!(err, HttpError::NoGameListener), "{err:?}");
    let body = r#"{"protocol_version":1,"game":{"addr":"127.0.0.1:7777","cert_sha256":"abc"}}"#;
    let (base, _server) = respond_once("200 OK", "", body).await;
    let err = AuthClient::new(&base)
        .unwrap()
        .game_target()
        .await
        .unwrap_err();
    assert!(
        matches!(err, HttpError::Tls(TlsError::BadFingerprint(_))),
        "{err:?}"
    );
}

/// URLs without a host are refused up front.
#[test]
fn invalid_base_urls_are_refused() {
    for bad in ["", "not a url", "mailto:someone@example.com"] {
        assert!(
            matches!(AuthClient::new(bad), Err(HttpError::InvalidUrl(_))),
            "{bad}"
        );
    }
}
