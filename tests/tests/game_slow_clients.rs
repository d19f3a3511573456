//! End-to-end test of the slow-client policy: a client that stops reading
//! its control stream while others keep talking to it is closed with
//! `TOO_SLOW`, and the players around it notice nothing.

mod game_support;

use std::time::Duration;

use battlegrid_protocol::client::{Event, GameClient};
use battlegrid_protocol::{ClientMessage, ErrorCode};
use game_support::{NET, player, start, until_pong};

/// Shouts per shouter per 50 ms: under the per-tick command budget (8), so
/// the shouters are never the ones rate-limited.
const SHOUTS_PER_BURST: usize = 6;

/// Shouts in bursts while draining its own events, until the task is
/// dropped; returns early (with the reason) only if its connection closes.
async fn shout_and_listen(mut client: GameClient, text: String) -> String {
    let mut bursts = tokio::time::interval(Duration::from_millis(50));
    loop {
        tokio::select! {
            _ = bursts.tick() => {
                for _ in 0..SHOUTS_PER_BURST {
                    let shout = ClientMessage::Shout { text: text.clone() };
                    if let Err(err) = client.send(&shout).await {
                        return format!("send failed: {err}");
                    }
                }
            }
            event = client.next_event() => {
                if let Event::Closed(closed) = event {
                    return format!("closed: {closed:?}");
                }
            }
        }
    }
}

/// A client whose events are never consumed stops reading once the SDK's
/// event queue is full; with a small reliable backlog allowed, the server
/// closes it with `TOO_SLOW` (without trying to tell it on the stream it is
/// not reading), counts it, and the three players shouting next to it stay
/// connected and keep being answered.
#[tokio::test]
async fn a_client_that_stops_reading_is_closed_too_slow_and_others_play_on() {
    let server = start(|config| {
        config.quic.reliable_backlog_bytes = 16 * 1024;
        config.quic.stream_window_bytes = 16 * 1024;
        config.quic.connection_window_bytes = 32 * 1024;
        config.quic.too_slow_ms = 300;
    });
    let (slow, _) = player(&server, "slow").await;
    let mut shouters = Vec::new();
    for name in ["ann", "bob", "cat"] {
        let (client, _) = player(&server, name).await;
        let text = format!("{name} says {}", "x".repeat(480));
        shouters.push(tokio::spawn(shout_and_listen(client, text)));
    }

    // The slow client's events are not consumed; wait for the server's
    // close to reach its connection (polled: draining would make it fast).
    let reason = tokio::time::timeout(NET * 2, async {
        loop {
            if let Some(reason) = slow.connection().close_reason() {
                return reason;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the slow client is closed within the safety net");
    match reason {
        quinn::ConnectionError::ApplicationClosed(close) => {
            assert_eq!(
                close.error_code,
                quinn::VarInt::from(u32::from(ErrorCode::TOO_SLOW.0)),
                "{close:?}"
            );
        }
        other => panic!("expected an application close with TOO_SLOW, got {other:?}"),
    }

    for shouter in &shouters {
        assert!(!shouter.is_finished(), "a shouter's connection ended");
    }
    for shouter in shouters {
        shouter.abort();
    }
    let (mut dan, _) = player(&server, "dan").await;
    until_pong(&mut dan, 1).await;
    assert_eq!(
        server.metric("battlegrid_game_too_slow_total").await,
        Some(1.0)
    );
}
