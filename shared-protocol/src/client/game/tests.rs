//! GameClient against a scripted in-process QUIC server.

use std::time::Duration;

use super::*;
use crate::client::events::ClosedBy;
use crate::client::test_server::{ServerSide, TestCert, server_endpoint, server_tls};
use crate::ids::Vec2;
use crate::messages::{EntityInfo, EntityState, MAX_TEXT_LEN, MoveIntent};

/// Safety net only: every step here completes in milliseconds on loopback.
const NET: Duration = Duration::from_secs(30);

fn welcome_message() -> ServerMessage {
    ServerMessage::Welcome {
        player_id: PlayerId(42),
        region: RegionId(3),
        position: Position::new(100.0, 50.0),
        tick_rate_hz: 20,
        map: MapInfo {
            name: "meadow".into(),
            width: 1024,
            height: 1024,
            region_cols: 4,
            region_rows: 4,
        },
    }
}

/// A server endpoint and a client endpoint trusting it by pin.
fn pair() -> (quinn::Endpoint, SocketAddr, ClientEndpoint) {
    let cert = TestCert::self_signed();
    let (server, addr) = server_endpoint(server_tls(&cert));
    let client = ClientEndpoint::for_server(addr, &Trust::Pinned(cert.fingerprint())).unwrap();
    (server, addr, client)
}

async fn next(client: &mut GameClient) -> Event {
    tokio::time::timeout(NET, client.next_event())
        .await
        .expect("event in time")
}

/// Hello carries the version and token; Welcome becomes a `Welcome`; later
/// frames and datagrams arrive as typed events; sent messages reach the server.
#[tokio::test]
async fn handshake_then_events_both_ways() {
    let (server, addr, endpoint) = pair();
    let script = tokio::spawn(async move {
        let mut side = ServerSide::accept(&server).await;
        let hello = side.read().await;
        assert_eq!(
            hello,
            ClientMessage::Hello {
                version: PROTOCOL_VERSION,
                token: "tok-1".into()
            }
        );
        side.write(&welcome_message()).await;
        let entered = ServerMessage::EntitiesEntered {
            entities: vec![EntityInfo {
                id: PlayerId(7),
                name: "ann".into(),
                position: Position::new(1.0, 2.0),
            }],
        };
        side.write(&entered).await;
        let update = crate::encode_state_update(
            9,
            [&crate::encode_entity_state(&EntityState {
                id: PlayerId(7),
                position: Position::new(3.0, 4.0),
            })],
        );
        side.connection.send_datagram(update).unwrap();
        let moved = side.read().await;
        side.write(&ServerMessage::Pong { nonce: 5, tick: 9 }).await;
        (moved, side)
    });
    let (mut client, welcome) = endpoint.connect(addr, "localhost", "tok-1").await.unwrap();
    assert_eq!(welcome.player_id, PlayerId(42));
    assert_eq!(welcome.map.name, "meadow");
    let intent = MoveIntent {
        seq: 1,
        direction: Vec2 { x: 1.0, y: 0.0 },
        speed: 40.0,
        predicted: welcome.position,
    };
    client.send(&ClientMessage::Move(intent)).await.unwrap();
    // The stream keeps its order; the datagram may come anywhere among them
    // (even before Welcome, when the SDK holds it back until after).
    let mut reliable = Vec::new();
    let mut got_update = false;
    while !(got_update && reliable.len() == 2) {
        match next(&mut client).await {
            Event::Datagram(ServerMessage::StateUpdate { tick: 9, moved }) => {
                assert_eq!(moved[0].position, Position::new(3.0, 4.0));
                got_update = true;
            }
            Event::Message(message) => reliable.push(message),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(
        matches!(&reliable[0], ServerMessage::EntitiesEntered { entities } if entities[0].id == PlayerId(7))
    );
    assert_eq!(reliable[1], ServerMessage::Pong { nonce: 5, tick: 9 });
    let (moved, _side) = script.await.unwrap();
    assert_eq!(moved, ClientMessage::Move(intent));
}

/// A datagram that overtakes Welcome is not lost: it is the first event
/// after the handshake.
#[tokio::test]
async fn datagram_before_welcome_is_kept() {
    let (server, addr, endpoint) = pair();
    tokio::spawn(async move {
        let mut side = ServerSide::accept(&server).await;
        side.read().await;
        let update =
            crate::encode_state_update(1, std::iter::empty::<&crate::EncodedEntityState>());
        side.connection.send_datagram(update).unwrap();
        side.write(&welcome_message()).await;
        side.connection.closed().await;
    });
    let (mut client, _) = endpoint.connect(addr, "localhost", "t").await.unwrap();
    assert!(matches!(
        next(&mut client).await,
        Event::Datagram(ServerMessage::StateUpdate { tick: 1, .. })
    ));
}

/// A Reject answer, or a fatal Error before Welcome, becomes
/// `ConnectError::Rejected` with its code.
#[tokio::test]
async fn reject_is_a_typed_error() {
    let refusals = [
        (
            ServerMessage::Reject {
                code: ErrorCode::INVALID_TOKEN,
                reason: "unknown token".into(),
            },
            ErrorCode::INVALID_TOKEN,
        ),
        (
            ServerMessage::Error {
                code: ErrorCode::UNEXPECTED_MESSAGE,
                message: "second Hello".into(),
            },
            ErrorCode::UNEXPECTED_MESSAGE,
        ),
    ];
    for (refusal, expected) in refusals {
        let (server, addr, endpoint) = pair();
        tokio::spawn(async move {
            let mut side = ServerSide::accept(&server).await;
            side.read().await;
            side.write(&refusal).await;
            // Keep the connection until the client has read the answer.
            side.connection.closed().await;
        });
        let err = endpoint
            .connect(addr, "localhost", "nope")
            .await
            .unwrap_err();
        assert!(
            matches!(&err, ConnectError::Rejected { code, .. } if *code == expected),
            "{err:?}"
        );
    }
}

/// A server close carries its application code and reason to `Event::Closed`,
/// and the closed state sticks.
#[tokio::test]
async fn server_close_reports_code_and_reason() {
    let (server, addr, endpoint) = pair();
    tokio::spawn(async move {
        let mut side = ServerSide::accept(&server).await;
        side.read().await;
        side.write(&welcome_message()).await;
        side.read().await;
        side.connection
            .close(4u32.into(), b"replaced by a newer login");
        side.connection.closed().await;
    });
    let (mut client, _) = endpoint.connect(addr, "localhost", "t").await.unwrap();
    client
        .send(&ClientMessage::Ping { nonce: 1 })
        .await
        .unwrap();
    let Event::Closed(closed) = next(&mut client).await else {
        panic!("expected Closed");
    };
    assert_eq!(closed.by, ClosedBy::Server);
    assert_eq!(closed.code, Some(ErrorCode::SESSION_REPLACED));
    assert_eq!(closed.reason, "replaced by a newer login");
    assert_eq!(next(&mut client).await, Event::Closed(closed));
}

/// A frame with a variant index this version does not know is skipped and
/// counted; the next message still arrives.
#[tokio::test]
async fn unknown_variants_are_skipped() {
    let (server, addr, endpoint) = pair();
    tokio::spawn(async move {
        let mut side = ServerSide::accept(&server).await;
        side.read().await;
        side.write(&welcome_message()).await;
        side.send.write_all(&frame(&[200, 1, 2, 3])).await.unwrap();
        side.write(&ServerMessage::Pong { nonce: 3, tick: 1 }).await;
        side.connection.closed().await;
    });
    let (mut client, _) = endpoint.connect(addr, "localhost", "t").await.unwrap();
    assert_eq!(
        next(&mut client).await,
        Event::Message(ServerMessage::Pong { nonce: 3, tick: 1 })
    );
    let skipped = client
        .reader_stats()
        .unknown_skipped
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(skipped, 1);
}

/// Garbage from the server makes the client close with MALFORMED_MESSAGE,
/// and the server is told that code.
#[tokio::test]
async fn malformed_server_frame_closes_with_code() {
    let (server, addr, endpoint) = pair();
    let script = tokio::spawn(async move {
        let mut side = ServerSide::accept(&server).await;
        side.read().await;
        side.write(&welcome_message()).await;
        side.send.write_all(&frame(&[1, 255, 255])).await.unwrap();
        side.connection.closed().await
    });
    let (mut client, _) = endpoint.connect(addr, "localhost", "t").await.unwrap();
    let Event::Closed(closed) = next(&mut client).await else {
        panic!("expected Closed");
    };
    assert_eq!(
        (closed.by, closed.code),
        (ClosedBy::Client, Some(ErrorCode::MALFORMED_MESSAGE))
    );
    let seen = tokio::time::timeout(NET, script).await.unwrap().unwrap();
    assert!(
        matches!(&seen, quinn::ConnectionError::ApplicationClosed(c) if c.error_code == 10u32.into()),
        "{seen:?}"
    );
}

/// `send` refuses messages that fail validation without sending a byte;
/// the next valid message is the first thing the server reads.
#[tokio::test]
async fn invalid_messages_are_not_sent() {
    let (server, addr, endpoint) = pair();
    let script = tokio::spawn(async move {
        let mut side = ServerSide::accept(&server).await;
        side.read().await;
        side.write(&welcome_message()).await;
        side.read().await
    });
    let (client, _) = endpoint.connect(addr, "localhost", "t").await.unwrap();
    let long = ClientMessage::Shout {
        text: "x".repeat(MAX_TEXT_LEN + 1),
    };
    assert!(matches!(
        client.send(&long).await,
        Err(SendError::Invalid(ValidationError::TextTooLong(_)))
    ));
    let nan = ClientMessage::Move(MoveIntent {
        seq: 1,
        direction: Vec2 {
            x: f32::NAN,
            y: 0.0,
        },
        speed: 1.0,
        predicted: Position::default(),
    });
    assert!(matches!(
        client.send(&nan).await,
        Err(SendError::Invalid(_))
    ));
    client
        .send(&ClientMessage::Ping { nonce: 77 })
        .await
        .unwrap();
    assert_eq!(script.await.unwrap(), ClientMessage::Ping { nonce: 77 });
}

/// An over-long token is refused locally, before anything reaches the server.
#[tokio::test]
async fn overlong_token_is_refused_before_sending() {
    let (server, addr, endpoint) = pair();
    crate::client::test_server::accept_and_hold(server);
    let token = "t".repeat(crate::messages::MAX_TOKEN_LEN + 1);
    let err = endpoint
        .connect(addr, "localhost", &token)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ConnectError::Send(SendError::Invalid(ValidationError::TokenTooLong(_)))
        ),
        "{err:?}"
    );
}

/// `send_raw` writes bytes unframed and unchecked (the test escape hatch).
#[tokio::test]
async fn send_raw_writes_bytes_unchanged() {
    let (server, addr, endpoint) = pair();
    let script = tokio::spawn(async move {
        let mut side = ServerSide::accept(&server).await;
        let mut got = Vec::new();
        while got.len() < 6 {
            let chunk = side.recv.read_chunk(64, true).await.unwrap().unwrap();
            got.extend_from_slice(&chunk.bytes);
        }
        got
    });
    let client = endpoint.open(addr, "localhost").await.unwrap();
    client
        .send_raw(&[0xff, 0xff, 0xff, 0xff, 1, 2])
        .await
        .unwrap();
    assert_eq!(script.await.unwrap(), vec![0xff, 0xff, 0xff, 0xff, 1, 2]);
}

/// A server that never answers Hello runs into the welcome timeout.
#[tokio::test]
async fn silent_server_times_out() {
    let (server, addr, endpoint) = pair();
    let endpoint = endpoint.with_welcome_timeout(Duration::from_millis(200));
    tokio::spawn(async move {
        let mut side = ServerSide::accept(&server).await;
        side.read().await;
        side.connection.closed().await;
    });
    let err = endpoint.connect(addr, "localhost", "t").await.unwrap_err();
    assert!(matches!(err, ConnectError::Timeout(_)), "{err:?}");
}
