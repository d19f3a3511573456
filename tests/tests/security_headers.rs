//! Security headers on every route of both listeners. The routes are walked
//! from docs/API.md, the promise clients are written from: every endpoint
//! heading of the public part is asked on the public listener, every one of
//! the admin part on the admin listener, plus `/healthz` on both and an
//! unknown path and a wrong method (the fallbacks). Whatever the status
//! (most of these requests carry no body or token and fail), the headers
//! must be there. HSTS is absent over plain HTTP (tests/tests/https.rs
//! checks it with TLS).

use battlegrid_server::http::CONTENT_SECURITY_POLICY;
use battlegrid_tests::api::{Api, Reply};
use battlegrid_tests::server::TestServer;
use reqwest::Method;

/// `(method, path)` of every endpoint heading (`` ### `GET /path` ``) in
/// the part of docs/API.md between `from` and the next `## ` heading.
fn documented_routes(from: &str) -> Vec<(Method, String)> {
    let doc = include_str!("../../docs/API.md");
    let start = doc
        .find(from)
        .unwrap_or_else(|| panic!("{from} in docs/API.md"));
    let part = &doc[start + from.len()..];
    let part = &part[..part.find("\n## ").unwrap_or(part.len())];
    let mut routes = Vec::new();
    for heading in part.lines().filter(|l| l.starts_with("### ")) {
        for quoted in heading.split('`').skip(1).step_by(2) {
            let Some((method, path)) = quoted.split_once(' ') else {
                continue;
            };
            if !path.starts_with('/') {
                continue;
            }
            let method = Method::from_bytes(method.as_bytes()).expect("HTTP method");
            routes.push((method, path.replace("{name}", "world")));
        }
    }
    routes
}

fn assert_security_headers(what: &str, reply: &Reply) {
    assert_eq!(
        reply.header("content-security-policy"),
        CONTENT_SECURITY_POLICY,
        "{what}: {reply:?}"
    );
    assert!(
        CONTENT_SECURITY_POLICY.contains("frame-ancestors 'none'"),
        "{CONTENT_SECURITY_POLICY}"
    );
    assert_eq!(reply.header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(reply.header("referrer-policy"), "no-referrer", "{what}");
    assert_eq!(reply.header("x-frame-options"), "DENY", "{what}");
    assert!(!reply.header("cache-control").is_empty(), "{what}");
    assert!(
        reply.header("strict-transport-security").is_empty(),
        "{what}: HSTS over plain HTTP"
    );
}

#[tokio::test]
async fn every_route_of_both_listeners_has_the_headers() {
    let server = TestServer::start(|_| {});
    let public = Api::new(server.http);
    let admin = server.admin_api();

    let public_routes = documented_routes("\n## Endpoints\n");
    let admin_routes = documented_routes("\n## Admin listener\n");
    assert!(public_routes.len() >= 9, "{public_routes:?}");
    assert!(admin_routes.len() >= 2, "{admin_routes:?}");
    let extra = [
        (Method::GET, "/healthz".to_owned()),
        (Method::GET, "/no-such-path".to_owned()),
        (Method::PATCH, "/healthz".to_owned()),
    ];
    for (listener, api, routes) in [
        ("public", &public, &public_routes),
        ("admin", &admin, &admin_routes),
    ] {
        for (method, path) in routes.iter().chain(&extra) {
            let reply = api.request(method.clone(), path).await;
            assert_security_headers(&format!("{listener} {method} {path}"), &reply);
        }
    }

    // Answers carrying a token are never stored.
    assert_eq!(
        public.sign_up("Hana", "snowy river lanterns").await.status,
        201
    );
    let login = public.log_in("Hana", "snowy river lanterns").await;
    assert_eq!(login.status, 200);
    assert_eq!(login.header("cache-control"), "no-store");
    let admin_session = admin
        .post_raw(
            "/v1/admin/sessions",
            "application/json",
            br#"{"name":"hana"}"#.to_vec(),
        )
        .await;
    assert_eq!(admin_session.status, 200, "{admin_session:?}");
    assert_eq!(admin_session.header("cache-control"), "no-store");
}
