//! End-to-end tests of the admin listener: the admin token on every
//! route of its route table, the session endpoint for trusted tools,
//! `/metrics`, and `battlegrid bots` using both (reading the token file)
//! against a real server on its default limits.

use battlegrid_tests::api::Api;
use battlegrid_tests::server::{TestServer, battlegrid_binary};
use serde_json::{Value, json};

async fn admin_session(admin: &Api, body: Value) -> battlegrid_tests::api::Reply {
    admin
        .post_raw(
            "/v1/admin/sessions",
            "application/json",
            serde_json::to_vec(&body).unwrap(),
        )
        .await
}

/// One server for the tests below that need no special configuration.
#[tokio::test]
async fn admin_listener() {
    let server = TestServer::start(|c| {
        // The route walk below fails on purpose many times from one address.
        c.admin_api.failures_per_ip = battlegrid_server::config::Rate::new(10_000, 10_000);
    });
    every_route_needs_the_token_unless_open(&server).await;
    the_token_file_is_private_and_never_logged(&server);
    admin_sessions_make_password_less_accounts(&server).await;
    admin_sessions_are_not_on_the_public_listener(&server).await;
    metrics_are_served_in_openmetrics_text(&server).await;
}

/// Paths anyone may call on the admin listener: health checks, and the
/// dashboard's page and static files (which hold no data).
const OPEN: [&str; 5] = [
    "/healthz",
    "/readyz",
    "/",
    "/dashboard.js",
    "/dashboard.css",
];

/// Walks the route table the server reports (`GET /v1/admin/routes`, the
/// table its guard is built from): every route that is not in [`OPEN`]
/// answers 401 `missing_token` without a token and 401 `invalid_token`
/// with a wrong one, for every method; the open ones do not; `/metrics` is
/// open (the default switch). A route added later without the token fails
/// here, and one added past the table is refused by the guard anyway
/// (its default is to deny: see the unknown path at the end).
async fn every_route_needs_the_token_unless_open(server: &TestServer) {
    let admin = server.admin_api();
    let bare = Api::new(server.admin);
    let wrong = Api::with_client(format!("http://{}", server.admin), {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            "authorization",
            "Bearer not-the-admin-token".parse().unwrap(),
        );
        reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .unwrap()
    });
    let table = admin.get("/v1/admin/routes").await;
    assert_eq!(table.status, 200, "{table:?}");
    let routes = table.body.as_array().expect("a list of routes");
    let paths: Vec<&str> = routes.iter().map(|r| r["path"].as_str().unwrap()).collect();
    for expected in [
        "/healthz",
        "/metrics",
        "/v1/admin/sessions",
        "/v1/admin/routes",
    ] {
        assert!(
            paths.contains(&expected),
            "{expected} missing from {paths:?}"
        );
    }
    let mut walked = 0;
    for route in routes {
        let path = route["path"].as_str().unwrap();
        let access = route["access"].as_str().unwrap();
        // `{name}` segments get a value; the guard runs before the handler.
        let concrete: String = path
            .split('/')
            .map(|seg| if seg.starts_with('{') { "1" } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        match access {
            "open" => assert!(OPEN.contains(&path), "{path} is open but not meant to be"),
            "metrics" => assert_eq!(path, "/metrics"),
            other => assert_eq!(other, "token", "{path}"),
        }
        for method in route["methods"].as_array().unwrap() {
            let method: reqwest::Method = method.as_str().unwrap().parse().unwrap();
            let without = bare.request(method.clone(), &concrete).await;
            let with_wrong = wrong.request(method.clone(), &concrete).await;
            if access == "token" {
                let what = format!("{method} {path}");
                assert_eq!(
                    (without.status, without.code()),
                    (401, "missing_token"),
                    "{what}"
                );
                assert_eq!(without.header("www-authenticate"), "Bearer", "{what}");
                assert_eq!(
                    (with_wrong.status, with_wrong.code()),
                    (401, "invalid_token"),
                    "{what}"
                );
            } else {
                assert_ne!(without.status, 401, "{method} {path}");
            }
            walked += 1;
        }
    }
    assert!(walked >= 5, "walked {walked} routes");
    let unknown = bare.get("/v1/admin/no-such-route").await;
    assert_eq!(
        unknown.status, 401,
        "unknown paths are denied, not revealed"
    );
    assert_eq!(admin.get("/v1/admin/no-such-route").await.status, 404);
}

/// The generated token is in `<data>/admin-token`, readable by its owner
/// only; the log names the file and never holds the token.
fn the_token_file_is_private_and_never_logged(server: &TestServer) {
    use std::os::unix::fs::PermissionsExt;
    let file = server.admin_token_file();
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{}", file.display());
    let token = server.admin_token();
    assert!(token.len() >= 32, "{token}");
    let log = server.log();
    assert!(log.contains(&file.display().to_string()), "{log}");
    assert!(!log.contains(&token), "the token is in the log");
}

/// `create: true` makes a password-less account once and then reuses it;
/// the token works on the public API; no password logs in to such an
/// account; an unknown name without `create` and a bad name are refused.
async fn admin_sessions_make_password_less_accounts(server: &TestServer) {
    let admin = server.admin_api();
    let public = Api::new(server.http);

    let first = admin_session(&admin, json!({"name": "tool-1", "create": true})).await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    assert_eq!(first.body["created"], true);
    let token = first.body["token"].as_str().unwrap().to_owned();
    let me = public.me(&token).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["name"], "tool-1");

    let again = admin_session(&admin, json!({"name": "tool-1", "create": true})).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["created"], false);
    assert_eq!(again.body["account_id"], first.body["account_id"]);
    assert_ne!(again.body["token"], first.body["token"]);

    for password in ["", "!no-password", "correct horse battery"] {
        let login = public.log_in("tool-1", password).await;
        assert_eq!(login.code(), "invalid_credentials", "password {password:?}");
    }

    let unknown = admin_session(&admin, json!({"name": "nobody-here"})).await;
    assert_eq!((unknown.status, unknown.code()), (404, "no_such_account"));
    let bad = admin_session(&admin, json!({"name": "a b", "create": true})).await;
    assert_eq!(bad.status, 400, "{:?}", bad.body);
}

/// The session endpoint exists on the admin listener only.
async fn admin_sessions_are_not_on_the_public_listener(server: &TestServer) {
    let public = Api::new(server.http);
    let reply = admin_session(&public, json!({"name": "tool-1", "create": true})).await;
    assert_eq!(reply.status, 404);
    assert_eq!(public.get("/metrics").await.status, 404);
}

/// `/metrics` is OpenMetrics text with the game's and the process's
/// series, without a token by default.
async fn metrics_are_served_in_openmetrics_text(server: &TestServer) {
    let response = reqwest::get(format!("http://{}/metrics", server.admin))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = response.text().await.unwrap();
    for series in [
        "battlegrid_game_players ",
        "battlegrid_game_joined_total ",
        "battlegrid_game_retries_sent_total ",
        "battlegrid_game_handshake_failures_total ",
        "battlegrid_tick_p99_seconds ",
        "battlegrid_ticks_total ",
        "process_resident_memory_bytes ",
        "process_cpu_seconds_total ",
    ] {
        assert!(text.contains(series), "{series} missing from:\n{text}");
    }
    assert!(text.trim_end().ends_with("# EOF"));
}

/// The newcomer's flow on the default limits: bots get sessions from the
/// admin listener, connect, play and shout, and the summary has the
/// server's side from `/metrics` (players counted, memory read).
#[tokio::test]
async fn bots_play_against_a_server_on_default_limits() {
    let server = TestServer::start(|c| {
        // The defaults people get, not the test config's raised limits.
        c.rate_limits = battlegrid_server::config::RateLimits::default();
    });
    let output = tokio::process::Command::new(battlegrid_binary())
        .args(["bots", "--count", "12", "--duration", "3s", "--json"])
        .args(["--shout-rate", "2", "--seed", "7"])
        .args(["--server", &server.url("")])
        .args(["--admin", &format!("http://{}", server.admin)])
        .arg("--admin-token-file")
        .arg(server.admin_token_file())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "bots failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["totals"]["connects_ok"], 12, "{summary:#}");
    assert_eq!(summary["errors"], 0, "{summary:#}");
    assert!(summary["totals"]["shouts_heard"].as_u64().unwrap() > 0);
    let side = &summary["server_side"];
    assert_eq!(side["players"], 12.0, "{summary:#}");
    assert!(side["rss_playing_mib"].as_f64().unwrap() > 0.0);
}
