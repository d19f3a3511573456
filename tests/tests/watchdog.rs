//! End-to-end test of the tick watchdog against the real server: a tick
//! stalled inside a map's world (armed through the test-only
//! `/debug/faults/stall` route, see tests/tests/recovery.rs) turns
//! `/healthz` and `/readyz` to 503 with the phase and the world, is logged
//! and counted, and past the exit deadline the process ends with exit code
//! 70 for its supervisor to restart it. The deadlines are configured short;
//! nothing here asserts how long anything took.

use std::time::Duration;

use battlegrid_tests::server::TestServer;

/// Bound on the wait for the process to exit (a hang guard only).
const SAFETY_NET: Duration = Duration::from_secs(120);

async fn get(url: String) -> (u16, serde_json::Value) {
    let reply = reqwest::get(url).await.expect("GET");
    let status = reply.status().as_u16();
    (status, reply.json().await.expect("JSON body"))
}

#[tokio::test]
async fn a_stuck_tick_is_reported_then_ends_the_process() {
    let mut server = TestServer::start(|config| {
        config.recovery.tick_stall_warn_ms = 300;
        config.recovery.tick_stall_exit_ms = 4000;
    });
    let admin = server.admin;
    for path in ["/healthz", "/readyz"] {
        let (status, body) = get(server.url(path)).await;
        assert_eq!(status, 200, "{path}: {body}");
    }

    let armed = server
        .admin_client()
        .post(format!("http://{admin}/debug/faults/stall"))
        .json(&serde_json::json!({"map": "world", "ms": 600_000}))
        .send()
        .await
        .expect("POST /debug/faults/stall");
    assert_eq!(
        armed.status(),
        204,
        "the server binary needs the cargo feature fault-injection (scripts/test.sh builds it so)"
    );

    // Unhealthy while stuck, on both listeners, saying where.
    let body = loop {
        let (status, body) = get(server.url("/healthz")).await;
        if status == 503 {
            break body;
        }
        assert_eq!(status, 200, "{body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(body["status"], "unhealthy");
    let reason = body["reason"].as_str().expect("reason");
    assert!(
        reason.contains("phase step") && reason.contains("\"world\""),
        "{reason}"
    );
    let (status, body) = get(format!("http://{admin}/readyz")).await;
    assert_eq!((status, body["status"].as_str()), (503, Some("not_ready")));
    // The watchdog thread counts the stall on its next check.
    while server.metric("battlegrid_tick_stalls_total").await != Some(1.0) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Past the exit deadline the watchdog ends the process.
    // Nothing else runs on this runtime: blocking it is fine.
    let status = server.wait_exit(SAFETY_NET);
    assert_eq!(status.code(), Some(70), "{}", server.log());
    let log = server.log();
    assert!(log.contains("the tick is stuck"), "{log}");
    assert!(log.contains("ending the process"), "{log}");
}
