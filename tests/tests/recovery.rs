//! End-to-end tests of fail recovery against the real server: a map's
//! world that panics with players on it is restored from their saves
//! while another map's world ticks on; a panic elsewhere on the tick thread
//! restores every world; a world that keeps failing is quarantined.
//!
//! Faults are armed through the admin listener's `/debug/faults` routes,
//! which exist only in a server built with the cargo feature
//! `fault-injection` (scripts/test.sh builds it so). One server serves the
//! whole file: the scenarios run in order on it, each leaving the state the
//! next one starts from.

mod game_support;

use battlegrid_protocol::client::{Event, GameClient};
use battlegrid_protocol::{ClientMessage, ErrorCode, PlayerId, Position, ServerMessage, Vec2};
use battlegrid_tests::maps::TestMap;
use battlegrid_tests::server::TestServer;
use game_support::*;

const RIGHT: Vec2 = Vec2 { x: 1.0, y: 0.0 };
/// Ticks between two saves of a moving player.
const SAVE_INTERVAL: u64 = 5;
/// Units a walker covers per tick: max speed 80 at 20 Hz.
const STEP: f32 = 4.0;
/// Where players spawn on the arena.
const ARENA_SPAWN: Position = Position::new(100.0, 100.0);

/// The default map `world`, 4096 units wide so a walker crosses no edge
/// during the test, and the map `arena`.
fn maps(config: &mut battlegrid_server::Config) {
    TestMap {
        tiles: (256, 32),
        ..TestMap::standard()
    }
    .write(&config.maps);
    TestMap {
        name: "arena".into(),
        spawns: vec![(ARENA_SPAWN.x, ARENA_SPAWN.y)],
        ..TestMap::standard()
    }
    .write(&config.maps);
    config.world.save_interval_ticks = SAVE_INTERVAL;
}

/// Arms a fault through `/debug/faults/<kind>`.
async fn arm(server: &TestServer, kind: &str, body: serde_json::Value) {
    let reply = server
        .admin_client()
        .post(format!("http://{}/debug/faults/{kind}", server.admin))
        .json(&body)
        .send()
        .await
        .expect("POST /debug/faults");
    assert_eq!(
        reply.status(),
        204,
        "arming {kind}: the server binary needs the cargo feature fault-injection \
         (scripts/test.sh builds it with `--features fault-injection`)"
    );
}

/// A new player moved to the arena.
async fn arena_player(server: &TestServer, name: &str) -> (GameClient, PlayerId) {
    let (mut client, welcome) = player(server, name).await;
    client
        .send(&ClientMessage::ChangeMap {
            map: "arena".into(),
        })
        .await
        .expect("send ChangeMap");
    let (map, _) = map_changed(&mut client).await;
    assert_eq!(map, "arena");
    (client, welcome.player_id)
}

/// The next `MapChanged`: map name and position.
async fn map_changed(client: &mut GameClient) -> (String, Position) {
    wait_for(client, |event| match event {
        Event::Message(ServerMessage::MapChanged { map, position, .. }) => {
            Some((map.name.clone(), *position))
        }
        _ => None,
    })
    .await
}

/// Waits for `Error{WORLD_RESTORED}`, then the `MapChanged` that follows
/// it; returns that map's name and the restored position.
async fn restored(client: &mut GameClient) -> (String, Position) {
    wait_for(client, |event| match event {
        Event::Message(ServerMessage::Error { code, .. }) => {
            assert_eq!(*code, ErrorCode::WORLD_RESTORED, "no other error expected");
            Some(())
        }
        Event::Message(ServerMessage::MapChanged { .. }) => {
            panic!("MapChanged before the WORLD_RESTORED notice")
        }
        _ => None,
    })
    .await;
    map_changed(client).await
}

/// The next state update listing `id` itself: its tick and position.
async fn own_record(client: &mut GameClient, id: PlayerId) -> (u64, Position) {
    wait_for(client, |event| match event {
        Event::Datagram(ServerMessage::StateUpdate { tick, moved }) => moved
            .iter()
            .find(|m| m.id == id)
            .map(|m| (*tick, m.position)),
        _ => None,
    })
    .await
}

/// Waits until the server has run `ticks` more ticks.
async fn let_ticks_pass(client: &mut GameClient, ticks: u64) {
    let start = tick(client).await;
    while tick(client).await < start + ticks {}
}

#[tokio::test]
async fn worlds_are_restored_and_quarantined() {
    let server = start(maps);
    let (mut ann, ann_id) = arena_player(&server, "ann").await;
    let (mut bob, _) = arena_player(&server, "bob").await;
    let (mut cyd, _) = arena_player(&server, "cyd").await;
    let (mut dan, dan_welcome) = player(&server, "dan").await;
    let dan_id = dan_welcome.player_id;

    // 1. A world's step panics. Ann walked and stood still long enough
    // for her place to be saved; Dan walks on the other map throughout.
    let walked = walk(&mut ann, &mut 0, RIGHT, 10).await;
    assert!(walked.at.x > ARENA_SPAWN.x, "ann walked: {:?}", walked.at);
    let_ticks_pass(&mut ann, SAVE_INTERVAL + 1).await;
    send_move(&dan, 1, RIGHT, 80.0).await;
    let (before_tick, before) = own_record(&mut dan, dan_id).await;

    let armed = std::time::Instant::now();
    arm(
        &server,
        "world-panic",
        serde_json::json!({"map": "arena", "times": 1}),
    )
    .await;
    // Every arena player is told, then put back at its last saved place.
    assert_eq!(restored(&mut ann).await, ("arena".to_owned(), walked.at));
    // A measurement for docs/PERFORMANCE.md, not a limit.
    eprintln!(
        "from arming the panic to the restored MapChanged: {} ms \
         (includes up to one tick until the fault fires)",
        armed.elapsed().as_millis()
    );
    assert_eq!(restored(&mut bob).await, ("arena".to_owned(), ARENA_SPAWN));
    assert_eq!(restored(&mut cyd).await.0, "arena");
    // Ann plays on: a new intent moves her, and her updates come again.
    send_move(&ann, 100, RIGHT, 80.0).await;
    let (_, moved_on) = own_record(&mut ann, ann_id).await;
    assert!(moved_on.x > walked.at.x, "ann moves again: {moved_on:?}");
    // Dan's world ran every tick meanwhile: his walk covered exactly one
    // step per tick across the failure.
    let after_restore = tick(&mut ann).await;
    let (after_tick, after) = loop {
        let record = own_record(&mut dan, dan_id).await;
        if record.0 > after_restore {
            break record;
        }
    };
    let expected = STEP * (after_tick - before_tick) as f32;
    assert!(
        (after.x - before.x - expected).abs() < 0.5,
        "dan walked {} units in {} ticks (ticks {before_tick}..{after_tick})",
        after.x - before.x,
        after_tick - before_tick
    );
    assert_eq!(
        server.metric("battlegrid_world_failures_total").await,
        Some(1.0)
    );
    assert_eq!(
        server.metric("battlegrid_worlds_restored_total").await,
        Some(1.0)
    );

    // 2. A panic on the tick thread outside any world: every world is
    // restored, the players on both maps are told and stay connected.
    arm(&server, "tick-panic", serde_json::json!({"times": 1})).await;
    assert_eq!(restored(&mut dan).await.0, "world");
    assert_eq!(restored(&mut ann).await.0, "arena");
    assert_eq!(
        server.metric("battlegrid_tick_restarts_total").await,
        Some(1.0)
    );
    tick(&mut dan).await;

    // 3. Two more failures make three within the minute: the arena is
    // quarantined, its players go to the default map, it leaves the list.
    arm(
        &server,
        "world-panic",
        serde_json::json!({"map": "arena", "times": 2}),
    )
    .await;
    for client in [&mut ann, &mut bob, &mut cyd] {
        let (map, _) = wait_for(client, |event| match event {
            Event::Message(ServerMessage::MapChanged { map, position, .. })
                if map.name != "arena" =>
            {
                Some((map.name.clone(), *position))
            }
            _ => None,
        })
        .await;
        assert_eq!(map, "world");
    }
    assert_eq!(
        server.metric("battlegrid_world_failures_total").await,
        Some(3.0)
    );
    assert_eq!(
        server.metric("battlegrid_worlds_quarantined_total").await,
        Some(1.0)
    );
    let listed: serde_json::Value = reqwest::get(server.url("/v1/maps"))
        .await
        .expect("GET /v1/maps")
        .json()
        .await
        .expect("maps JSON");
    let names: Vec<&str> = listed["maps"]
        .as_array()
        .expect("maps")
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    assert_eq!(names, vec!["world"]);
    // The moved players play on.
    tick(&mut ann).await;
    assert!(
        server.log().contains("quarantined"),
        "the quarantine is logged"
    );
}
