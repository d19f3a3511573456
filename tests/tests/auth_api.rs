//! End-to-end tests of the auth HTTP API against the real `battlegrid`
//! binary on loopback: sign-up, login, logout, `/v1/me`, and every error
//! answer a client can provoke with bad input.

use battlegrid_tests::api::Api;
use battlegrid_tests::server::TestServer;

const PASSWORD: &str = "correct horse battery";

/// Health, server info and the admin health check answer once ready.
#[tokio::test]
async fn health_and_server_info() {
    let server = TestServer::start(|_| {});
    let api = Api::new(server.http);
    let health = api.get("/healthz").await;
    assert_eq!(
        (health.status, health.body["status"].as_str()),
        (200, Some("ok"))
    );
    let info = api.get("/v1/server-info").await;
    assert_eq!(info.status, 200);
    assert_eq!(
        info.body["protocol_version"],
        battlegrid_protocol::PROTOCOL_VERSION
    );
    // The game listener's bound address and certificate pin.
    let game = &info.body["game"];
    assert!(
        game["addr"].as_str().is_some_and(|a| !a.ends_with(":0")),
        "{:?}",
        info.body
    );
    assert_eq!(game["cert_sha256"].as_str().map(str::len), Some(64));
    let admin = Api::new(server.admin).get("/healthz").await;
    assert_eq!(admin.status, 200);
}

/// Sign up, log in (name in another case), read /v1/me, log out; the token
/// then stops working at once.
#[tokio::test]
async fn sign_up_log_in_me_log_out() {
    let server = TestServer::start(|_| {});
    let api = Api::new(server.http);
    let created = api.sign_up("Alice_1", PASSWORD).await;
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(created.body["name"], "Alice_1");
    let id = created.body["account_id"].as_u64().expect("account id");

    let login = api.log_in("alice_1", PASSWORD).await;
    assert_eq!(login.status, 200, "{login:?}");
    assert_eq!(login.body["account_id"].as_u64(), Some(id));
    let token = login.body["token"].as_str().expect("token").to_owned();
    assert_eq!(token.len(), 43, "256 bits in base64url without padding");
    let expires_at = login.body["expires_at"].as_u64().expect("expires_at");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        expires_at > now + 23 * 3600 && expires_at <= now + 24 * 3600 + 5,
        "{expires_at}"
    );

    let me = api.me(&token).await;
    assert_eq!(me.status, 200, "{me:?}");
    assert_eq!(me.body["account_id"].as_u64(), Some(id));
    assert_eq!(me.body["name"], "Alice_1");
    assert_eq!(me.body["session"]["ip"], "127.0.0.1");

    assert_eq!(api.log_out(&token).await.status, 204);
    let revoked = api.me(&token).await;
    assert_eq!((revoked.status, revoked.code()), (401, "invalid_token"));
    assert_eq!(revoked.header("www-authenticate"), "Bearer");
    let again = api.log_out(&token).await;
    assert_eq!((again.status, again.code()), (401, "invalid_token"));
}

/// A wrong password and an unknown name get the same 401 body.
#[tokio::test]
async fn wrong_password_and_unknown_name_look_alike() {
    let server = TestServer::start(|_| {});
    let api = Api::new(server.http);
    assert_eq!(api.sign_up("bob", PASSWORD).await.status, 201);
    let wrong = api.log_in("bob", "not the password").await;
    let unknown = api.log_in("nobody", PASSWORD).await;
    assert_eq!((wrong.status, wrong.code()), (401, "invalid_credentials"));
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(wrong.status, unknown.status);
    let invalid_name = api.log_in("1 not a name", PASSWORD).await;
    assert_eq!(invalid_name.body, wrong.body);
}

/// A taken name is refused with 409 in any letter case; the first account
/// keeps working.
#[tokio::test]
async fn duplicate_name_in_any_case() {
    let server = TestServer::start(|_| {});
    let api = Api::new(server.http);
    assert_eq!(api.sign_up("Carol", PASSWORD).await.status, 201);
    for name in ["Carol", "carol", "CAROL", "cArOl"] {
        let reply = api.sign_up(name, "another password").await;
        assert_eq!((reply.status, reply.code()), (409, "name_taken"), "{name}");
        assert!(
            reply.body["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    api.token("carol", PASSWORD).await;
    assert_eq!(api.log_in("carol", "another password").await.status, 401);
}

/// Names and passwords that break the documented rules get 400 with a code.
#[tokio::test]
async fn invalid_names_and_passwords() {
    let server = TestServer::start(|_| {});
    let api = Api::new(server.http);
    for name in [
        "ab",
        "a234567890123456789012",
        "9lives",
        "_x_",
        "has space",
        "ünï",
        "",
    ] {
        let reply = api.sign_up(name, PASSWORD).await;
        assert_eq!(
            (reply.status, reply.code()),
            (400, "invalid_name"),
            "{name:?}"
        );
    }
    for password in ["short", "1234567", &"p".repeat(129)] {
        let reply = api.sign_up("dave", password).await;
        assert_eq!(
            (reply.status, reply.code()),
            (400, "invalid_password"),
            "{password:?}"
        );
    }
    assert_eq!(api.sign_up("dave", "xkcd1234z").await.status, 201);
}

/// Guessable passwords and passwords containing the name are refused with
/// 400 `weak_password`, whose message says why and what helps; the
/// boundary is zxcvbn's score 3 (`marble42x` scores 2, `snowy river` 3).
/// The account is not made, so the name stays free.
#[tokio::test]
async fn weak_passwords_are_refused() {
    let server = TestServer::start(|_| {});
    let api = Api::new(server.http);
    for (password, why) in [
        ("password1", "common password"),
        ("12345678", "common password"),
        ("marble42x", "strength 2 of 4"),
        ("Erin-plays-battlegrid-at-night", "account name"),
        ("xx ERIN xx purple llamas", "account name"),
    ] {
        let reply = api.sign_up("Erin", password).await;
        assert_eq!(
            (reply.status, reply.code()),
            (400, "weak_password"),
            "{password:?}: {reply:?}"
        );
        let message = reply.body["message"].as_str().unwrap_or_default();
        assert!(message.contains(why), "{password:?}: {message}");
    }
    let strength = api.sign_up("Erin", "marble42x").await;
    let message = strength.body["message"].as_str().unwrap_or_default();
    assert!(message.contains("uncommon words"), "{message}");
    assert_eq!(api.sign_up("Erin", "snowy river").await.status, 201);
}

/// Malformed JSON, a wrong shape, a wrong content type and an oversized body
/// each get their own status and code.
#[tokio::test]
async fn bad_bodies() {
    let server = TestServer::start(|c| c.http_limits.body_limit_bytes = 1024);
    let api = Api::new(server.http);
    let json = "application/json";
    let malformed = api
        .post_raw("/v1/accounts", json, b"{\"name\": \"eve\",".to_vec())
        .await;
    assert_eq!(
        (malformed.status, malformed.code()),
        (400, "malformed_json")
    );
    let shape = api
        .post_raw("/v1/sessions", json, b"{\"name\": 5}".to_vec())
        .await;
    assert_eq!((shape.status, shape.code()), (400, "invalid_body"));
    let body = br#"{"name":"eve","password":"12345678"}"#.to_vec();
    let text = api
        .post_raw("/v1/accounts", "text/plain", body.clone())
        .await;
    assert_eq!((text.status, text.code()), (415, "unsupported_media_type"));
    let form = api
        .post_raw("/v1/sessions", "application/x-www-form-urlencoded", body)
        .await;
    assert_eq!((form.status, form.code()), (415, "unsupported_media_type"));
    let big = format!(r#"{{"name":"eve","password":"{}"}}"#, "x".repeat(2000));
    let big = api.post_raw("/v1/accounts", json, big.into_bytes()).await;
    assert_eq!((big.status, big.code()), (413, "body_too_large"));
    let missing = api.get("/v1/nothing-here").await;
    assert_eq!((missing.status, missing.code()), (404, "not_found"));
    let method = api.get("/v1/accounts").await;
    assert_eq!((method.status, method.code()), (405, "method_not_allowed"));
}

/// Missing, malformed and never-issued bearer tokens are refused.
#[tokio::test]
async fn bad_tokens() {
    let server = TestServer::start(|_| {});
    let api = Api::new(server.http);
    let none = api.get("/v1/me").await;
    assert_eq!((none.status, none.code()), (401, "missing_token"));
    for token in ["garbage", &"A".repeat(43), &"!".repeat(43)] {
        let reply = api.me(token).await;
        assert_eq!(
            (reply.status, reply.code()),
            (401, "invalid_token"),
            "{token}"
        );
    }
}

/// A token past its absolute expiry is refused with token_expired.
#[tokio::test]
async fn expired_token() {
    let server = TestServer::start(|c| c.sessions.absolute_ttl_secs = 1);
    let api = Api::new(server.http);
    assert_eq!(api.sign_up("frank", PASSWORD).await.status, 201);
    let token = api.token("frank", PASSWORD).await;
    // The session may already have expired if this machine is slow; only
    // the answer after the deadline is asserted.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let reply = api.me(&token).await;
    assert_eq!(
        (reply.status, reply.code()),
        (401, "token_expired"),
        "{reply:?}"
    );
    // A new login works again.
    let fresh = api.token("frank", PASSWORD).await;
    assert_ne!(fresh, token);
}

/// A token unused for longer than the idle expiry is refused, while one in
/// use stays valid past that time.
#[tokio::test]
async fn idle_token_expires() {
    let server = TestServer::start(|c| c.sessions.idle_ttl_secs = 3);
    let api = Api::new(server.http);
    assert_eq!(api.sign_up("grace", PASSWORD).await.status, 201);
    let idle = api.token("grace", PASSWORD).await;
    let busy = api.token("grace", PASSWORD).await;
    // 8 uses 500 ms apart: 4 s in all, past the 3 s idle expiry, with 2.5 s
    // of slack between uses for a slow machine.
    for _ in 0..8 {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert_eq!(
            api.me(&busy).await.status,
            200,
            "a token in use stays valid"
        );
    }
    let reply = api.me(&idle).await;
    assert_eq!(
        (reply.status, reply.code()),
        (401, "token_expired"),
        "{reply:?}"
    );
}

/// The sign-up page is served as HTML with both forms; its script and
/// stylesheet come from this server, nothing from elsewhere.
#[tokio::test]
async fn sign_up_page_is_self_contained() {
    let server = TestServer::start(|_| {});
    let response = reqwest::get(server.url("/")).await.expect("GET /");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let html = response.text().await.unwrap();
    assert!(html.contains("id=\"signup-form\"") && html.contains("id=\"login-form\""));
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "external asset"
    );
    for (path, kind) in [
        ("/signup.js", "text/javascript"),
        ("/signup.css", "text/css"),
    ] {
        assert!(html.contains(&format!("\"{path}\"")), "{path} not linked");
        let response = reqwest::get(server.url(path)).await.expect(path);
        assert_eq!(response.status(), 200, "{path}");
        let content_type = response.headers()["content-type"].to_str().unwrap();
        assert!(content_type.starts_with(kind), "{path}: {content_type}");
    }
}
