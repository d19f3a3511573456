//! End-to-end tests of the sign-up and login rate limits: per client IP and
//! per account name, answered with 429 and `Retry-After` before any hashing.

use battlegrid_server::config::Rate;
use battlegrid_tests::api::{Api, Reply};
use battlegrid_tests::server::TestServer;

const PASSWORD: &str = "correct horse battery";

fn assert_limited(reply: &Reply) {
    assert_eq!(
        (reply.status, reply.code()),
        (429, "rate_limited"),
        "{reply:?}"
    );
    let retry: u64 = reply
        .header("retry-after")
        .parse()
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
}

/// Sign-ups from one IP beyond the burst are refused.
#[tokio::test]
async fn sign_up_per_ip() {
    let server = TestServer::start(|c| c.rate_limits.signup_per_ip = Rate::new(1, 3));
    let api = Api::new(server.http);
    for i in 0..3 {
        assert_eq!(api.sign_up(&format!("user{i}"), PASSWORD).await.status, 201);
    }
    assert_limited(&api.sign_up("user3", PASSWORD).await);
    // Invalid requests count too: the limit is checked before validation.
    assert_limited(&api.sign_up("!", PASSWORD).await);
}

/// Logins from one IP beyond the burst are refused, right or wrong password.
#[tokio::test]
async fn log_in_per_ip() {
    let server = TestServer::start(|c| c.rate_limits.login_per_ip = Rate::new(1, 3));
    let api = Api::new(server.http);
    assert_eq!(api.sign_up("heidi", PASSWORD).await.status, 201);
    assert_eq!(api.log_in("heidi", "wrong password").await.status, 401);
    assert_eq!(api.log_in("nobody", PASSWORD).await.status, 401);
    assert_eq!(api.log_in("heidi", PASSWORD).await.status, 200);
    assert_limited(&api.log_in("heidi", PASSWORD).await);
}

/// Logins for one account beyond the burst are refused (in any letter
/// case), while other accounts can still log in from the same IP.
#[tokio::test]
async fn log_in_per_account() {
    let server = TestServer::start(|c| c.rate_limits.login_per_account = Rate::new(1, 2));
    let api = Api::new(server.http);
    assert_eq!(api.sign_up("ivan", PASSWORD).await.status, 201);
    assert_eq!(api.sign_up("judy", PASSWORD).await.status, 201);
    assert_eq!(api.log_in("ivan", "guess one").await.status, 401);
    assert_eq!(api.log_in("IVAN", "guess two").await.status, 401);
    assert_limited(&api.log_in("Ivan", PASSWORD).await);
    assert_eq!(api.log_in("judy", PASSWORD).await.status, 200);
}

/// Sign-up attempts for one name beyond the burst are refused.
#[tokio::test]
async fn sign_up_per_name() {
    let server = TestServer::start(|c| c.rate_limits.signup_per_name = Rate::new(1, 2));
    let api = Api::new(server.http);
    assert_eq!(api.sign_up("kim", PASSWORD).await.status, 201);
    assert_eq!(api.sign_up("KIM", PASSWORD).await.status, 409);
    assert_limited(&api.sign_up("Kim", PASSWORD).await);
    assert_eq!(api.sign_up("lee", PASSWORD).await.status, 201);
}
