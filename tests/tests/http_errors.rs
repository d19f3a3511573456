//! End-to-end: one bad request of each kind the routers can reject, on each
//! HTTP listener, answered with the documented JSON error `{code, message}`;
//! and the one kind hyper answers itself (a request head over the limit:
//! 431, empty body, as docs/API.md says), after which the server still
//! answers. One server for the whole file.

use std::net::SocketAddr;

use battlegrid_tests::server::TestServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Every case below against one server.
#[tokio::test]
async fn bad_requests_get_json_errors_on_both_listeners() {
    let server = TestServer::start(|_| {});
    public_listener_rejections_are_json(&server).await;
    admin_listener_rejections_are_json(&server).await;
    oversized_header_gets_431_and_the_server_keeps_serving(&server).await;
}

/// Sends `request` and asserts the answer has `status`, a JSON content type
/// and a body of exactly `{code, message}` with `code` if given.
async fn assert_json_error(request: reqwest::RequestBuilder, status: u16, code: Option<&str>) {
    let response = request.send().await.expect("HTTP request");
    let what = format!("{} {}", response.status(), response.url());
    assert_eq!(response.status().as_u16(), status, "{what}");
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{what}: {content_type}"
    );
    let body: serde_json::Value = response.json().await.expect("JSON body");
    let object = body.as_object().expect("a JSON object");
    assert_eq!(object.len(), 2, "{what}: {body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: {body}"
    );
    let got = body["code"].as_str().expect("code");
    if let Some(code) = code {
        assert_eq!(got, code, "{what}: {body}");
    }
}

/// The public listener: a path segment that is not UTF-8, JSON that is
/// malformed, of the wrong shape or without its content type, an
/// `Authorization` header that is not text, an unknown path and a wrong
/// method.
async fn public_listener_rejections_are_json(server: &TestServer) {
    let http = reqwest::Client::new();
    let url = |path: &str| format!("http://{}{path}", server.http);
    assert_json_error(http.get(url("/v1/maps/%FF%FE")), 400, Some("bad_request")).await;
    let json = |body: &str| {
        http.post(url("/v1/accounts"))
            .header("content-type", "application/json")
            .body(body.to_owned())
    };
    assert_json_error(json("{"), 400, Some("malformed_json")).await;
    assert_json_error(json("{\"name\": 1}"), 400, Some("invalid_body")).await;
    assert_json_error(
        http.post(url("/v1/accounts")).body("{}"),
        415,
        Some("unsupported_media_type"),
    )
    .await;
    let not_text = reqwest::header::HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap();
    assert_json_error(
        http.get(url("/v1/me")).header("authorization", not_text),
        401,
        Some("invalid_token"),
    )
    .await;
    assert_json_error(http.get(url("/v1/nowhere")), 404, Some("not_found")).await;
    assert_json_error(http.put(url("/v1/me")), 405, Some("method_not_allowed")).await;
}

/// The admin listener: malformed JSON and the wrong shape on the admin
/// session endpoint, an unknown path, a path that is not UTF-8 and a wrong
/// method (which axum answers with an empty body unless rewritten).
async fn admin_listener_rejections_are_json(server: &TestServer) {
    let http = server.admin_client();
    let url = |path: &str| format!("http://{}{path}", server.admin);
    let json = |body: &str| {
        http.post(url("/v1/admin/sessions"))
            .header("content-type", "application/json")
            .body(body.to_owned())
    };
    assert_json_error(json("not json"), 400, Some("malformed_json")).await;
    assert_json_error(json("{\"create\": true}"), 400, Some("invalid_body")).await;
    assert_json_error(http.get(url("/v1/nowhere")), 404, Some("not_found")).await;
    assert_json_error(
        reqwest::Client::new().get(url("/v1/nowhere")),
        401,
        Some("missing_token"),
    )
    .await;
    assert_json_error(http.get(url("/%FF%FE")), 404, Some("not_found")).await;
    assert_json_error(
        http.delete(url("/metrics")),
        405,
        Some("method_not_allowed"),
    )
    .await;
}

/// Writes a request with a 1 MiB header and returns the status line and
/// body of the answer.
async fn huge_header(addr: SocketAddr) -> (String, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: {}\r\n\r\n",
        "a".repeat(1024 * 1024)
    );
    // hyper answers once its buffer is full and may close before reading
    // the rest: a failed write is expected, the answer is what counts.
    let (mut read, mut write) = stream.split();
    let (_, answer) = tokio::join!(write.write_all(head.as_bytes()), async {
        let mut answer = Vec::new();
        let _ = read.read_to_end(&mut answer).await;
        answer
    });
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text.lines().next().unwrap_or_default().to_owned();
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    (status, body)
}

/// A request head over the limit gets hyper's 431 with an empty body on both
/// listeners (hyper writes it before any router runs), and the listener
/// keeps serving.
async fn oversized_header_gets_431_and_the_server_keeps_serving(server: &TestServer) {
    for addr in [server.http, server.admin] {
        let (status, body) = huge_header(addr).await;
        assert!(status.starts_with("HTTP/1.1 431"), "{addr}: {status:?}");
        assert_eq!(body, "", "{addr}");
        let health = reqwest::get(format!("http://{addr}/healthz"))
            .await
            .unwrap();
        assert_eq!(health.status(), 200);
    }
}
