//! End-to-end: the server's memory under parallel password hashing stays
//! bounded by its hashing permits (each Argon2id hash works in 19 MiB) and
//! does not grow from one burst of logins to the next.
//!
//! One server, one test: any other traffic would blur the resident memory
//! it reads from `/metrics`.

use battlegrid_tests::api::Api;
use battlegrid_tests::server::TestServer;

const PASSWORD: &str = "correct horse battery";
/// Hashes the server computes at once (`[passwords] max_concurrent_hashes`).
const PERMITS: usize = 2;
/// Argon2id working memory per hash, MiB.
const HASH_MIB: f64 = 19.0;
/// Room for everything else a burst of requests allocates (connections,
/// buffers, sessions), MiB.
const SLACK_MIB: f64 = 16.0;
/// Requests in each burst, all sent at once.
const BURST: usize = 32;

async fn rss_mib(server: &TestServer) -> f64 {
    server
        .metric("process_resident_memory_bytes")
        .await
        .expect("process_resident_memory_bytes in /metrics")
        / (1024.0 * 1024.0)
}

/// Sends `BURST` sign-ups (or logins) at once and checks every answer.
async fn burst(api: &Api, login: bool) {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..BURST {
        let api = api.clone();
        tasks.spawn(async move {
            let name = format!("mem{i}");
            let reply = if login {
                api.log_in(&name, PASSWORD).await
            } else {
                api.sign_up(&name, PASSWORD).await
            };
            assert_eq!(reply.status, if login { 200 } else { 201 }, "{reply:?}");
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
}

/// After a burst of sign-ups and three bursts of logins, resident memory is
/// at most the idle figure plus one Argon2 block per permit plus slack, and
/// the last login burst adds less than one block to the first.
#[tokio::test]
async fn hashing_memory_is_bounded_by_the_permits() {
    let server = TestServer::start(|c| c.passwords.max_concurrent_hashes = Some(PERMITS));
    let api = Api::new(server.http);
    let idle = rss_mib(&server).await;
    let bound = idle + PERMITS as f64 * HASH_MIB + SLACK_MIB;
    burst(&api, false).await;
    let after_sign_ups = rss_mib(&server).await;
    assert!(
        after_sign_ups <= bound,
        "idle {idle:.1} MiB, after {BURST} parallel sign-ups {after_sign_ups:.1} MiB, bound {bound:.1} MiB"
    );
    let mut rounds = Vec::new();
    for _ in 0..3 {
        burst(&api, true).await;
        rounds.push(rss_mib(&server).await);
    }
    let last = rounds[rounds.len() - 1];
    assert!(
        last <= bound && last - rounds[0] < HASH_MIB,
        "idle {idle:.1} MiB, after each login burst {rounds:.1?} MiB, bound {bound:.1} MiB"
    );
}
