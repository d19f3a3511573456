//! Helpers of the game end-to-end tests: a server on a small map, players
//! that sign up and connect with the SDK, and waiting for events.
//!
//! The map is the test servers' standard one
//! ([`battlegrid_tests::maps::TestMap::standard`]): 512x512 units in 2x2
//! regions (borders at x = 256 and y = 256), and every new player spawns at
//! (250, 250), 6 units left of a border: players start in view of each other, and a few steps right cross
//! into region 1. Waits are bounded by [`NET`], a safety net only; tests
//! never assert on time.

#![allow(dead_code)]

use std::time::Duration;

use battlegrid_protocol::client::{
    AuthClient, ClientEndpoint, Closed, ConnectError, Event, GameClient, GameTarget, Welcome,
};
use battlegrid_protocol::{ClientMessage, MoveIntent, PlayerId, Position, ServerMessage, Vec2};
use battlegrid_server::Config;
use battlegrid_tests::server::TestServer;

/// Safety net for one wait on the network.
pub const NET: Duration = Duration::from_secs(30);

/// Where every new player appears.
pub const SPAWN: Position = Position::new(250.0, 250.0);

/// Password of every test account.
pub const PASSWORD: &str = "correct horse battery";

/// A server on the standard test map, configured further by `adjust`.
pub fn start(adjust: impl FnOnce(&mut Config)) -> TestServer {
    TestServer::start(adjust)
}

/// The server's HTTP API as the SDK sees it.
pub fn auth(server: &TestServer) -> AuthClient {
    AuthClient::new(&server.url("")).expect("auth client")
}

/// Where the game listener is, from `/v1/server-info`.
pub async fn target(server: &TestServer) -> GameTarget {
    auth(server)
        .game_target()
        .await
        .expect("server-info game target")
}

/// Signs `name` up and logs it in; returns the token.
pub async fn account(server: &TestServer, name: &str) -> String {
    let auth = auth(server);
    auth.sign_up(name, PASSWORD).await.expect("sign up");
    auth.log_in(name, PASSWORD).await.expect("log in").token
}

/// Connects with `token` and completes the handshake.
pub async fn connect(
    server: &TestServer,
    token: &str,
) -> Result<(GameClient, Welcome), ConnectError> {
    let target = target(server).await;
    GameClient::connect(target.addr, &target.server_name, &target.trust, token).await
}

/// A connection that completed the QUIC handshake and sent nothing.
pub async fn open(server: &TestServer) -> GameClient {
    let target = target(server).await;
    ClientEndpoint::for_server(target.addr, &target.trust)
        .expect("client endpoint")
        .open(target.addr, &target.server_name)
        .await
        .expect("QUIC handshake")
}

/// A new account, connected.
pub async fn player(server: &TestServer, name: &str) -> (GameClient, Welcome) {
    let token = account(server, name).await;
    connect(server, &token).await.expect("connect")
}

/// The next event, within [`NET`].
pub async fn next(client: &mut GameClient) -> Event {
    tokio::time::timeout(NET, client.next_event())
        .await
        .expect("an event within the safety net")
}

/// Waits for the first event `pick` accepts, skipping others; panics if the
/// connection closes first.
pub async fn wait_for<T>(client: &mut GameClient, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
    loop {
        let event = next(client).await;
        if let Some(found) = pick(&event) {
            return found;
        }
        if let Event::Closed(closed) = event {
            panic!("connection closed while waiting: {closed:?}");
        }
    }
}

/// Waits for the connection to close, skipping other events.
pub async fn closed(client: &mut GameClient) -> Closed {
    loop {
        if let Event::Closed(closed) = next(client).await {
            return closed;
        }
    }
}

/// Sends a ping and returns every reliable message that arrived before its
/// pong, and the pong's tick. Because the control stream is ordered and the
/// pong is queued after everything of earlier ticks, this proves what the
/// client was (not) sent up to now, without waiting on a clock.
pub async fn until_pong(client: &mut GameClient, nonce: u64) -> (Vec<ServerMessage>, u64) {
    client
        .send(&ClientMessage::Ping { nonce })
        .await
        .expect("send ping");
    let mut seen = Vec::new();
    loop {
        match next(client).await {
            Event::Message(ServerMessage::Pong { nonce: n, tick }) if n == nonce => {
                return (seen, tick);
            }
            Event::Message(message) => seen.push(message),
            Event::Datagram(_) => {}
            Event::Closed(closed) => panic!("closed before pong: {closed:?}"),
        }
    }
}

/// The server's current tick.
pub async fn tick(client: &mut GameClient) -> u64 {
    until_pong(client, u64::MAX).await.1
}

/// Where a walk ended and the reliable messages received meanwhile.
pub struct Walked {
    /// The server's position of the walker after it stopped.
    pub at: Position,
    /// Every reliable message the walker received during the walk.
    pub seen: Vec<ServerMessage>,
}

/// Walks in `direction` at full speed for at least `ticks` ticks, then
/// stops. The stop carries a prediction far off the map, so the server
/// answers with a correction holding its authoritative position.
pub async fn walk(client: &mut GameClient, seq: &mut u32, direction: Vec2, ticks: u64) -> Walked {
    let (mut seen, start) = until_pong(client, u64::MAX).await;
    *seq += 1;
    send_move(client, *seq, direction, 80.0).await;
    loop {
        let (more, now) = until_pong(client, u64::MAX).await;
        seen.extend(more);
        if now >= start + ticks {
            break;
        }
    }
    *seq += 1;
    let stop = *seq;
    send_move(client, stop, Vec2 { x: 0.0, y: 0.0 }, 0.0).await;
    loop {
        match next(client).await {
            Event::Message(ServerMessage::PositionCorrected { seq, position }) if seq == stop => {
                return Walked { at: position, seen };
            }
            Event::Message(message) => seen.push(message),
            Event::Datagram(_) => {}
            Event::Closed(closed) => panic!("closed while walking: {closed:?}"),
        }
    }
}

/// Sends a movement intent predicting a position far off the map.
pub async fn send_move(client: &GameClient, seq: u32, direction: Vec2, speed: f32) {
    let intent = MoveIntent {
        seq,
        direction,
        speed,
        predicted: Position::new(-10_000.0, -10_000.0),
    };
    client
        .send(&ClientMessage::Move(intent))
        .await
        .expect("send move");
}

/// Whether `message` introduces player `id`.
pub fn entered(message: &ServerMessage, id: PlayerId) -> bool {
    matches!(message, ServerMessage::EntitiesEntered { entities } if entities.iter().any(|e| e.id == id))
}

/// Whether `message` says player `id` left the view.
pub fn left(message: &ServerMessage, id: PlayerId) -> bool {
    matches!(message, ServerMessage::EntitiesLeft { ids } if ids.contains(&id))
}

/// The position of `id` in a state update, if listed.
pub fn moved(message: &ServerMessage, id: PlayerId) -> Option<Position> {
    match message {
        ServerMessage::StateUpdate { moved, .. } => {
            moved.iter().find(|m| m.id == id).map(|m| m.position)
        }
        _ => None,
    }
}
