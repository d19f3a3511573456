//! End-to-end tests of a game connection's life against the real server:
//! handshake rejections, the Hello deadline, bad input closing only the
//! offending connection, flooding, a second login of the same account, and
//! players returning where they left.

mod game_support;

use battlegrid_protocol::client::{ClientEndpoint, ClosedBy, ConnectError, Event};
use battlegrid_protocol::{ClientMessage, ErrorCode, ServerMessage, Vec2, encode};
use game_support::*;

/// A token the server never issued gets `Reject{INVALID_TOKEN}`; a version
/// it does not speak gets `Reject{UNSUPPORTED_VERSION}`; both connections
/// are closed with the code.
#[tokio::test]
async fn bad_token_and_wrong_version_are_rejected() {
    let server = start(|_| {});
    let err = connect(&server, "not-a-token").await.unwrap_err();
    assert!(
        matches!(
            err,
            ConnectError::Rejected {
                code: ErrorCode::INVALID_TOKEN,
                ..
            }
        ),
        "{err:?}"
    );

    let token = account(&server, "ann").await;
    let mut client = open(&server).await;
    let err = client.hello_with_version(99, &token).await.unwrap_err();
    assert!(
        matches!(
            err,
            ConnectError::Rejected {
                code: ErrorCode::UNSUPPORTED_VERSION,
                ..
            }
        ),
        "{err:?}"
    );
    let end = closed(&mut client).await;
    assert_eq!(end.code, Some(ErrorCode::UNSUPPORTED_VERSION), "{end:?}");
    // The token itself is fine.
    connect(&server, &token)
        .await
        .expect("right version connects");
}

/// A client that opens a connection and never sends Hello is closed with
/// `HANDSHAKE_TIMEOUT` (the deadline is shortened for the test).
#[tokio::test]
async fn no_hello_is_closed_at_the_deadline() {
    let server = start(|config| config.quic.handshake_timeout_ms = 300);
    let mut silent = open(&server).await;
    let end = closed(&mut silent).await;
    assert_eq!(end.by, ClosedBy::Server, "{end:?}");
    assert_eq!(end.code, Some(ErrorCode::HANDSHAKE_TIMEOUT), "{end:?}");
}

/// Garbage bytes, an oversized length prefix and an undecodable message
/// each close only their own connection with the matching code, after an
/// `Error`; a NaN in a Move is refused and its connection stays open; a
/// bystander keeps playing throughout.
#[tokio::test]
async fn bad_input_closes_only_that_connection() {
    let server = start(|_| {});
    let (mut ann, _) = player(&server, "ann").await;
    let cases: [(&str, Vec<u8>, ErrorCode); 4] = [
        (
            "garbage",
            b"GET / HTTP/1.1\r\n\r\n".to_vec(),
            ErrorCode::FRAME_TOO_LARGE,
        ),
        (
            "oversized",
            (65_537u32).to_le_bytes().to_vec(),
            ErrorCode::FRAME_TOO_LARGE,
        ),
        (
            "undecodable",
            vec![3, 0, 0, 0, 0xff, 0xff, 0xff],
            ErrorCode::MALFORMED_MESSAGE,
        ),
        (
            "empty frame",
            vec![0, 0, 0, 0],
            ErrorCode::MALFORMED_MESSAGE,
        ),
    ];
    for (name, bytes, code) in cases {
        let (mut bad, _) = player(&server, name.replace(' ', "_").as_str()).await;
        bad.send_raw(&bytes).await.unwrap();
        let mut told = None;
        let end = loop {
            match next(&mut bad).await {
                Event::Message(ServerMessage::Error { code, .. }) => told = Some(code),
                Event::Closed(end) => break end,
                _ => {}
            }
        };
        assert_eq!(told, Some(code), "{name}: Error before the close");
        assert_eq!(
            (end.by, end.code),
            (ClosedBy::Server, Some(code)),
            "{name}: {end:?}"
        );
        until_pong(&mut ann, 1).await;
    }

    let (mut nan, _) = player(&server, "nan").await;
    let mut frame = encode(&ClientMessage::Move(battlegrid_protocol::MoveIntent {
        seq: 1,
        direction: Vec2 {
            x: f32::NAN,
            y: 0.0,
        },
        speed: 10.0,
        predicted: SPAWN,
    }))
    .unwrap();
    frame.splice(0..0, (frame.len() as u32).to_le_bytes());
    nan.send_raw(&frame).await.unwrap();
    let (seen, _) = until_pong(&mut nan, 5).await;
    assert!(
        seen.iter().any(|m| matches!(
            m,
            ServerMessage::Error {
                code: ErrorCode::INVALID_VALUE,
                ..
            }
        )),
        "{seen:?}"
    );

    ann.send(&ClientMessage::Shout {
        text: "still here".into(),
    })
    .await
    .unwrap();
    wait_for(&mut ann, |e| match e {
        Event::Message(ServerMessage::ShoutHeard { text, .. }) if text == "still here" => Some(()),
        _ => None,
    })
    .await;
}

/// A second connection of the same account replaces the first, which is
/// closed with `SESSION_REPLACED`; the player keeps its position.
#[tokio::test]
async fn second_login_replaces_the_first() {
    let server = start(|_| {});
    let token = account(&server, "ann").await;
    let (mut first, welcome) = connect(&server, &token).await.unwrap();
    let walked = walk(&mut first, &mut 0, Vec2 { x: 0.0, y: 1.0 }, 3).await;
    let (_second, again) = connect(&server, &token).await.unwrap();
    assert_eq!(again.player_id, welcome.player_id);
    assert_eq!(again.position, walked.at);
    let end = closed(&mut first).await;
    assert_eq!(end.code, Some(ErrorCode::SESSION_REPLACED), "{end:?}");
}

/// A client that keeps sending more commands than the per-tick budget is
/// first warned with `COMMANDS_DROPPED` (a code that leaves the connection
/// open), and then closed with `RATE_LIMITED`, which is never sent as a
/// warning.
#[tokio::test]
async fn flooding_client_is_closed() {
    let server = start(|config| config.quic.flood_ticks = 5);
    let (mut flood, _) = player(&server, "flood").await;
    let ping = encode(&ClientMessage::Ping { nonce: 1 }).unwrap();
    let mut burst = Vec::new();
    for _ in 0..40 {
        burst.extend_from_slice(&(ping.len() as u32).to_le_bytes());
        burst.extend_from_slice(&ping);
    }
    // Codes of the Error frames received, in order.
    let mut errors = Vec::new();
    let end = loop {
        if flood.send_raw(&burst).await.is_err() {
            break closed(&mut flood).await;
        }
        match tokio::time::timeout(std::time::Duration::from_millis(10), flood.next_event()).await {
            Ok(Event::Message(ServerMessage::Error { code, .. })) => errors.push(code),
            Ok(Event::Closed(end)) => break end,
            _ => {}
        }
    };
    assert_eq!(
        errors.first(),
        Some(&ErrorCode::COMMANDS_DROPPED),
        "{errors:?}"
    );
    // RATE_LIMITED may come as the frame that precedes the close, never
    // as a warning the connection survives.
    let warnings = &errors[..errors.len() - 1];
    assert!(!warnings.contains(&ErrorCode::RATE_LIMITED), "{errors:?}");
    assert_eq!(end.code, Some(ErrorCode::RATE_LIMITED), "{end:?}");
}

/// A player comes back where it left: right after leaving (even before
/// the leave's save can have reached the store), and after a restart, whose
/// SIGTERM tells connected clients `SHUTTING_DOWN` and saves every position.
#[tokio::test]
async fn returning_player_comes_back_where_it_left() {
    let mut server = start(|_| {});
    let token = account(&server, "ann").await;
    let (mut ann, _) = connect(&server, &token).await.unwrap();
    let first = walk(&mut ann, &mut 0, Vec2 { x: 0.0, y: 1.0 }, 4).await.at;
    assert_ne!(first, SPAWN);
    ann.close("bye");
    drop(ann);
    let (mut ann, welcome) = connect(&server, &token).await.unwrap();
    assert_eq!(welcome.position, first, "right after leaving");

    let second = walk(&mut ann, &mut 0, Vec2 { x: 1.0, y: 0.0 }, 4).await.at;
    assert_ne!(second, first);
    let status = server.terminate();
    assert!(status.success(), "exit status {status}\n{}", server.log());
    let end = closed(&mut ann).await;
    assert_eq!(end.code, Some(ErrorCode::SHUTTING_DOWN), "{end:?}");
    server.restart();
    let (_ann, welcome) = connect(&server, &token).await.unwrap();
    assert_eq!(welcome.position, second, "after SIGTERM\n{}", server.log());
}

/// Bytes that are not a Hello frame, sent as the first thing on the
/// control stream, get `Error` and a close with the matching code.
#[tokio::test]
async fn garbage_instead_of_hello_is_closed() {
    let server = start(|_| {});
    let cases: [(&[u8], ErrorCode); 2] = [
        (&[2, 0, 0, 0, 0xff, 0xff], ErrorCode::MALFORMED_MESSAGE),
        (&[2, 0, 0, 0, 4, 1], ErrorCode::UNEXPECTED_MESSAGE),
    ];
    for (bytes, code) in cases {
        let mut client = open(&server).await;
        client.send_raw(bytes).await.unwrap();
        let mut told = None;
        let end = loop {
            match next(&mut client).await {
                Event::Message(ServerMessage::Error { code, .. }) => told = Some(code),
                Event::Closed(end) => break end,
                _ => {}
            }
        };
        assert_eq!(told, Some(code), "{bytes:?}");
        assert_eq!(end.code, Some(code), "{bytes:?}: {end:?}");
    }
}

/// Connections beyond the per-IP cap are refused before the handshake, and
/// a closed connection frees its slot.
#[tokio::test]
async fn connections_per_ip_are_capped() {
    let server = start(|config| {
        config.quic.max_connections_per_ip = 2;
        config.quic.cap_loopback = true;
    });
    let (first, _) = player(&server, "ann").await;
    let _second = open(&server).await;
    let target = target(&server).await;
    let endpoint = ClientEndpoint::for_server(target.addr, &target.trust).unwrap();
    let third = endpoint.open(target.addr, &target.server_name).await;
    assert!(
        matches!(third, Err(ConnectError::Handshake(_))),
        "{:?}",
        third.map(|_| ())
    );
    first.close("bye");
    drop(first);
    // The slot frees once the server has seen the close; retry until then
    // (bounded by the safety net, never asserted on time).
    let reopened = tokio::time::timeout(NET, async {
        loop {
            if let Ok(client) = endpoint.open(target.addr, &target.server_name).await {
                return client;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(reopened.is_ok(), "a freed slot admits a new connection");
}

/// With Retry configured for every new address (`retry_above_pending = 0`,
/// as under load), the server sends a Retry (counted in `/metrics`) and
/// the client, coming back with the token, connects and plays.
#[tokio::test]
async fn clients_connect_after_a_retry() {
    let server = start(|config| config.quic.retry_above_pending = 0);
    let (mut ann, _) = player(&server, "ann").await;
    until_pong(&mut ann, 1).await;
    let retries = server.metric("battlegrid_game_retries_sent_total").await;
    assert!(retries >= Some(1.0), "{retries:?}");
}
