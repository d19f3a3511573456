//! End-to-end tests of restarts players do not notice, with the Rust SDK's
//! [`GameSession`]: after SIGTERM and after SIGKILL, a new `battlegrid
//! serve` on the same data directory and ports takes the player back. The
//! session reconnects by itself with its resume token (no login), at the
//! saved place: exact after SIGTERM (every player is saved on the way
//! out), within one save interval's travel after SIGKILL. Resume tokens
//! end with their session and are refused when forged.
//!
//! One server process serves the file; the phases run in order on it.

mod game_support;

use battlegrid_protocol::client::{
    Backoff, ClientEndpoint, ConnectError, Event, GameSession, SessionEvent,
};
use battlegrid_protocol::{
    ClientMessage, ErrorCode, MoveIntent, PlayerId, Position, ServerMessage, Vec2,
};
use battlegrid_tests::api::Api;
use battlegrid_tests::maps::TestMap;
use battlegrid_tests::server::TestServer;
use game_support::*;

/// Ticks between two saves of a moving player.
const SAVE_INTERVAL: u64 = 5;
/// Units a walker covers per tick: max speed 80 at 20 Hz.
const STEP: f32 = 4.0;

/// Next session event within the safety net.
async fn next_session(session: &mut GameSession) -> SessionEvent {
    tokio::time::timeout(NET, session.next_event())
        .await
        .expect("a session event within the safety net")
}

/// Sends a movement intent whose prediction is far off the map, so the
/// server answers with its authoritative position.
async fn intent(session: &GameSession, seq: u32, direction: Vec2) {
    let speed = if direction == Vec2::default() {
        0.0
    } else {
        80.0
    };
    let intent = MoveIntent {
        seq,
        direction,
        speed,
        predicted: Position::new(-10_000.0, -10_000.0),
    };
    session
        .send(&ClientMessage::Move(intent))
        .await
        .expect("send move");
}

/// Reads events until the session holds a resume token.
async fn until_resume_token(session: &mut GameSession) {
    while !session.can_resume() {
        match next_session(session).await {
            SessionEvent::Event(_) => {}
            other => panic!("before the first ResumeToken: {other:?}"),
        }
    }
}

/// Walks right and returns the last position the server acknowledged
/// (the player's own record in `StateUpdate`) after at least `ticks` of them.
async fn walk(session: &mut GameSession, me: PlayerId, seq: &mut u32, ticks: usize) -> Position {
    *seq += 1;
    intent(session, *seq, Vec2 { x: 1.0, y: 0.0 }).await;
    let mut seen = 0;
    let mut last = None;
    while seen < ticks {
        if let SessionEvent::Event(Event::Datagram(ServerMessage::StateUpdate { moved, .. })) =
            next_session(session).await
            && let Some(own) = moved.iter().find(|s| s.id == me)
        {
            last = Some(own.position);
            seen += 1;
        }
    }
    last.expect("own records")
}

/// Stops and returns the server's position from the correction.
async fn stop(session: &mut GameSession, seq: &mut u32) -> Position {
    *seq += 1;
    intent(session, *seq, Vec2::default()).await;
    loop {
        match next_session(session).await {
            SessionEvent::Event(Event::Message(ServerMessage::PositionCorrected {
                seq: s,
                position,
            })) if s == *seq => return position,
            SessionEvent::Event(_) => {}
            other => panic!("while stopping: {other:?}"),
        }
    }
}

/// Reads events until the session is back: it must first report the drop,
/// then resume with its resume token.
async fn until_resumed(session: &mut GameSession, server: &TestServer) -> Position {
    let mut dropped = false;
    loop {
        match next_session(session).await {
            SessionEvent::Event(_) => {}
            SessionEvent::Reconnecting { closed } => {
                eprintln!("dropped: {closed:?}");
                dropped = true;
            }
            SessionEvent::Resumed {
                welcome,
                with_resume_token,
                attempts,
                gap,
            } => {
                eprintln!("resumed after {gap:?} and {attempts} attempts");
                assert!(dropped, "Resumed without Reconnecting first");
                assert!(
                    with_resume_token,
                    "resumed with the session token, not the resume token"
                );
                return welcome.position;
            }
            SessionEvent::Ended(closed) => panic!("session ended: {closed:?}\n{}", server.log()),
        }
    }
}

/// SIGTERM, then SIGKILL: each time a new process on the same data and
/// ports takes the walker back, by itself, where it was saved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_resume_the_session() {
    let mut server = TestServer::start(|config| {
        TestMap {
            tiles: (256, 32),
            ..TestMap::standard()
        }
        .write(&config.maps);
        config.world.save_interval_ticks = SAVE_INTERVAL;
    });
    server.pin_ports();
    let token = account(&server, "walker").await;
    let target = target(&server).await;
    let endpoint = ClientEndpoint::for_server(target.addr, &target.trust).expect("endpoint");
    let (mut session, welcome) = GameSession::connect(
        endpoint,
        target.addr,
        &target.server_name,
        &token,
        Backoff::default(),
    )
    .await
    .expect("connect");
    let me = welcome.player_id;
    until_resume_token(&mut session).await;
    let mut seq = 0;

    // SIGTERM saves every player before the process exits.
    walk(&mut session, me, &mut seq, 10).await;
    let stopped = stop(&mut session, &mut seq).await;
    let status = server.terminate();
    assert!(status.success(), "SIGTERM exit: {status}\n{}", server.log());
    server.start_again();
    let back = until_resumed(&mut session, &server).await;
    assert_eq!(back, stopped, "SIGTERM lost the position");

    // SIGKILL saves nothing on the way out: the place is the last save,
    // at most one save interval behind the last acknowledged position.
    until_resume_token(&mut session).await;
    let acked = walk(&mut session, me, &mut seq, 3 * SAVE_INTERVAL as usize).await;
    server.kill();
    server.start_again();
    let back = until_resumed(&mut session, &server).await;
    let behind = acked.x - back.x;
    assert!(
        (0.0..=SAVE_INTERVAL as f32 * STEP + 0.01).contains(&behind) && back.y == acked.y,
        "resumed at {back:?}, last acknowledged {acked:?}: more than one save interval lost"
    );
    // The resumed session plays on.
    let moved_on = walk(&mut session, me, &mut seq, 3).await;
    assert!(moved_on.x > back.x, "no movement after resuming");
}

/// A resume token ends with its session: after logout it is refused with
/// `INVALID_TOKEN`, as is a forged one, and the session token works
/// unchanged meanwhile.
#[tokio::test]
async fn resume_tokens_end_with_their_session() {
    let server = TestServer::start(|_| {});
    let token = account(&server, "leaver").await;
    let (mut client, _) = connect(&server, &token).await.expect("connect");
    let resume = wait_for(&mut client, |event| match event {
        Event::Message(ServerMessage::ResumeToken {
            token,
            valid_for_ms,
        }) => {
            assert!(*valid_for_ms > 0);
            Some(token.clone())
        }
        _ => None,
    })
    .await;

    // While the session lives, the resume token admits a second
    // connection, which replaces the first.
    let mut second = open(&server).await;
    second
        .resume(&resume)
        .await
        .expect("resume while logged in");
    assert_eq!(
        closed(&mut client).await.code,
        Some(ErrorCode::SESSION_REPLACED)
    );

    let mut forged = resume.clone().into_bytes();
    let last = forged.len() - 1;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    let refused = |result: Result<_, ConnectError>| match result {
        Err(ConnectError::Rejected { code, reason }) => (code, reason),
        other => panic!("expected a Reject, got {other:?}"),
    };
    let (code, reason) = refused(open(&server).await.resume(&forged).await);
    assert_eq!(code, ErrorCode::INVALID_TOKEN);
    assert!(reason.contains("not a valid resume token"), "{reason}");

    assert_eq!(Api::new(server.http).log_out(&token).await.status, 204);
    let (code, _) = refused(open(&server).await.resume(&resume).await);
    assert_eq!(code, ErrorCode::INVALID_TOKEN);
}
