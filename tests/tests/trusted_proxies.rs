//! The client's address behind a trusted proxy, end to end: the rate
//! limits, the session's recorded IP and the log follow `X-Forwarded-For`
//! and `Forwarded` when the peer is a trusted proxy, and ignore them from
//! anyone else (a spoofing client). Loopback stands in for both: the
//! server trusts 127.0.0.1, and the "untrusted client" connects from
//! 127.0.0.2. Also the start-up warning of a plain HTTP listener, which a
//! loopback bind does not get and a wildcard bind does.

use std::net::IpAddr;

use battlegrid_server::config::Rate;
use battlegrid_tests::api::{Api, Reply};
use battlegrid_tests::server::TestServer;
use reqwest::header::{HeaderMap, HeaderValue};

const PASSWORD: &str = "snowy river lanterns";
const WARNING: &str = "speaks plain HTTP on a non-loopback address";

/// A client of `server` connecting from `from`, sending `headers` with
/// every request.
fn client(server: &TestServer, from: &str, headers: &[(&'static str, &str)]) -> Api {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.append(*name, HeaderValue::from_str(value).unwrap());
    }
    let local: IpAddr = from.parse().unwrap();
    let client = reqwest::Client::builder()
        .local_address(local)
        .default_headers(map)
        .build()
        .unwrap();
    Api::with_client(format!("http://{}", server.http), client)
}

fn assert_limited(reply: &Reply) {
    assert_eq!(
        (reply.status, reply.code()),
        (429, "rate_limited"),
        "{reply:?}"
    );
}

#[tokio::test]
async fn forwarded_address_from_trusted_proxy_only() {
    let server = TestServer::start(|c| {
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        c.rate_limits.signup_per_ip = Rate::new(1, 2);
    });

    // Through the trusted proxy, each forwarded client has its own bucket.
    let client_a = client(&server, "127.0.0.1", &[("x-forwarded-for", "203.0.113.1")]);
    assert_eq!(client_a.sign_up("fwd_a1", PASSWORD).await.status, 201);
    assert_eq!(client_a.sign_up("fwd_a2", PASSWORD).await.status, 201);
    assert_limited(&client_a.sign_up("fwd_a3", PASSWORD).await);
    // A client-written hop left of the real one changes nothing.
    let spoofing_a = client(
        &server,
        "127.0.0.1",
        &[("x-forwarded-for", "192.0.2.99, 203.0.113.1")],
    );
    assert_limited(&spoofing_a.sign_up("fwd_a4", PASSWORD).await);
    let client_b = client(
        &server,
        "127.0.0.1",
        &[("forwarded", "for=\"203.0.113.2:5555\";proto=https")],
    );
    assert_eq!(client_b.sign_up("fwd_b1", PASSWORD).await.status, 201);

    // The session records the forwarded address, and the log names it.
    let token = client_b.token("fwd_b1", PASSWORD).await;
    let me = client_b.me(&token).await;
    assert_eq!(me.body["session"]["ip"], "203.0.113.2", "{me:?}");
    let log = server.log();
    assert!(log.contains("203.0.113.1"), "{log}");
    assert!(log.contains("203.0.113.2"), "{log}");

    // From an untrusted peer the headers are ignored: every spoofed address
    // draws from the peer's own bucket, and the session records the peer.
    for (i, name) in ["spoof_1", "spoof_2", "spoof_3"].iter().enumerate() {
        let forged = format!("198.51.100.{i}");
        let spoofer = client(&server, "127.0.0.2", &[("x-forwarded-for", &forged)]);
        let reply = spoofer.sign_up(name, PASSWORD).await;
        if i < 2 {
            assert_eq!(reply.status, 201, "{reply:?}");
        } else {
            assert_limited(&reply);
        }
    }
    let spoofer = client(&server, "127.0.0.2", &[("forwarded", "for=198.51.100.9")]);
    let token = spoofer.token("spoof_1", PASSWORD).await;
    let me = spoofer.me(&token).await;
    assert_eq!(me.body["session"]["ip"], "127.0.0.2", "{me:?}");
    assert!(!server.log().contains("198.51.100."), "{}", server.log());

    // A loopback plain-HTTP listener gives no warning.
    assert!(!server.log().contains(WARNING), "{}", server.log());
}

/// A plain HTTP listener on all interfaces warns at start, saying what
/// travels in clear and how to fix it; /healthz still answers.
#[tokio::test]
async fn plain_http_on_a_public_address_warns() {
    let server = TestServer::start(|c| c.http = "0.0.0.0:0".parse().unwrap());
    let log = server.log();
    let line = log
        .lines()
        .find(|l| l.contains(WARNING))
        .unwrap_or_else(|| panic!("no warning in:\n{log}"));
    assert!(line.contains("WARN"), "{line}");
    assert!(line.contains("passwords, session tokens"), "{line}");
    assert!(line.contains("[public_tls]"), "{line}");
    let health = reqwest::get(format!("http://127.0.0.1:{}/healthz", server.http.port()))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}
