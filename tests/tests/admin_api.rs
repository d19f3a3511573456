//! End-to-end tests of the admin listener: the session endpoint for
//! trusted tools, `/metrics`, and `battlegrid bots` using both against a
//! real server on its default limits.

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

/// `create: true` makes a password-less account once and then reuses it;
/// the token works on the public API; no password logs in to such an
/// account; an unknown name without `create` and a bad name are refused.
#[tokio::test]
async fn admin_sessions_make_password_less_accounts() {
    let server = TestServer::start(|_| {});
    let admin = Api::new(server.admin);
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
#[tokio::test]
async fn admin_sessions_are_not_on_the_public_listener() {
    let server = TestServer::start(|_| {});
    let public = Api::new(server.http);
    let reply = admin_session(&public, json!({"name": "tool-1", "create": true})).await;
    assert_eq!(reply.status, 404);
    assert_eq!(public.get("/metrics").await.status, 404);
}

/// `/metrics` is OpenMetrics text with the game's and the process's series.
#[tokio::test]
async fn metrics_are_served_in_openmetrics_text() {
    let server = TestServer::start(|_| {});
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
