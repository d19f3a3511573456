//! End-to-end tests of persistence across restarts: accounts and live
//! sessions survive a SIGKILL of the server (they were flushed before the
//! client heard "ok"); revoked sessions stay revoked; SIGTERM stops cleanly.

use battlegrid_tests::api::Api;
use battlegrid_tests::server::TestServer;

const PASSWORD: &str = "correct horse battery";

/// After a SIGKILL and restart, accounts log in, live tokens work, revoked
/// tokens stay revoked and names stay taken.
#[tokio::test]
async fn kill_and_restart_keeps_accounts_and_sessions() {
    let mut server = TestServer::start(|_| {});
    let api = Api::new(server.http);
    let alice = api.sign_up("Alice", PASSWORD).await.body["account_id"]
        .as_u64()
        .unwrap();
    assert_eq!(api.sign_up("Bob", PASSWORD).await.status, 201);
    let live = api.token("alice", PASSWORD).await;
    let revoked = api.token("bob", PASSWORD).await;
    assert_eq!(api.log_out(&revoked).await.status, 204);

    server.restart();
    let api = Api::new(server.http);
    let me = api.me(&live).await;
    assert_eq!(
        me.status,
        200,
        "live session lost: {me:?}\n{}",
        server.log()
    );
    assert_eq!(me.body["account_id"].as_u64(), Some(alice));
    assert_eq!(me.body["name"], "Alice");
    assert_eq!(api.me(&revoked).await.code(), "invalid_token");
    assert_eq!(api.sign_up("ALICE", PASSWORD).await.status, 409);
    api.token("Bob", PASSWORD).await;
    let carol = api.sign_up("Carol", PASSWORD).await;
    assert_eq!(carol.status, 201);
    assert!(
        carol.body["account_id"].as_u64().unwrap() != alice,
        "ids are not reused"
    );
}

/// SIGTERM shuts the server down with exit code 0.
#[tokio::test]
async fn sigterm_exits_cleanly() {
    let mut server = TestServer::start(|_| {});
    assert_eq!(
        Api::new(server.http).sign_up("dora", PASSWORD).await.status,
        201
    );
    let status = server.terminate();
    assert!(status.success(), "exit status {status}\n{}", server.log());
    assert!(server.log().contains("stopped"), "{}", server.log());
}
