//! End-to-end tests of the HTTP listener's defences against slow clients:
//! a client dribbling its request head, one that sends nothing, and one that
//! dribbles its body are all cut off, while other clients are served.

use std::time::Duration;

use battlegrid_tests::api::Api;
use battlegrid_tests::server::TestServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Bytes a slow client sends at most (one per 200 ms: a minute's worth). The
/// server must close the connection well before they are all sent.
const MAX_SLOW_BYTES: usize = 300;

fn slow_server() -> TestServer {
    TestServer::start(|c| {
        c.http_limits.header_read_timeout_ms = 1000;
        c.http_limits.request_timeout_ms = 1000;
    })
}

/// Sends `head` once, then one byte every 200 ms; returns how many dribbled
/// bytes went out before the server closed the connection, or None if it
/// never did. Whatever the server answered is returned too.
async fn dribble(server: &TestServer, head: &[u8]) -> (Option<usize>, Vec<u8>) {
    let stream = TcpStream::connect(server.http).await.expect("connect");
    let (mut read, mut write) = stream.into_split();
    write.write_all(head).await.expect("send head");
    let reader = tokio::spawn(async move {
        let mut answer = Vec::new();
        // Ends on EOF or reset: the server closed the connection.
        let _ = read.read_to_end(&mut answer).await;
        answer
    });
    let mut sent = 0;
    while sent < MAX_SLOW_BYTES && !reader.is_finished() {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if write.write_all(b"a").await.is_err() {
            break;
        }
        sent += 1;
    }
    let closed = reader.is_finished() || sent < MAX_SLOW_BYTES;
    let answer = tokio::time::timeout(Duration::from_secs(30), reader)
        .await
        .map(|joined| joined.expect("reader task"))
        .unwrap_or_default();
    (closed.then_some(sent), answer)
}

/// A client sending its headers one byte at a time is disconnected.
#[tokio::test]
async fn dribbled_headers_are_cut_off() {
    let server = slow_server();
    let (closed_after, _) = dribble(&server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ").await;
    let sent = closed_after.expect("the server never closed the slow connection");
    assert!(sent < MAX_SLOW_BYTES);
    assert_eq!(
        Api::new(server.http).get("/healthz").await.status,
        200,
        "others still served"
    );
}

/// A client that connects and sends nothing is disconnected.
#[tokio::test]
async fn silent_connection_is_closed() {
    let server = slow_server();
    let mut stream = TcpStream::connect(server.http).await.expect("connect");
    let mut buf = [0u8; 64];
    // Safety net only: the configured header timeout is 1 s.
    let read = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "the server kept a silent connection open: {read:?}"
    );
}

/// A request whose body arrives too slowly gets 408 request_timeout.
#[tokio::test]
async fn dribbled_body_times_out() {
    let server = slow_server();
    let head = b"POST /v1/accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                 Content-Length: 1000\r\n\r\n{";
    let (closed_after, answer) = dribble(&server, head).await;
    assert!(
        closed_after.is_some(),
        "the server never ended the slow request"
    );
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"request_timeout\""), "{answer}");
}

/// A keep-alive connection left idle after a request is closed too.
#[tokio::test]
async fn idle_keep_alive_connection_is_closed() {
    let server = slow_server();
    let mut stream = TcpStream::connect(server.http).await.expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    // Read the whole answer (it ends with the JSON body), then wait for EOF.
    while !answer.ends_with(b"}") {
        let n = stream.read(&mut buf).await.expect("read answer");
        assert!(n > 0, "closed before answering");
        answer.extend_from_slice(&buf[..n]);
    }
    assert!(answer.starts_with(b"HTTP/1.1 200"));
    // Safety net only: the configured header timeout is 1 s.
    let read = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "idle connection kept open: {read:?}"
    );
}
