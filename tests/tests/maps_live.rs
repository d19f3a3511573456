//! End-to-end tests of maps in a running server: maps dropped into, changed
//! in, broken in and deleted from the watched directory while clients play,
//! and the map download API. The server's standard test map is `world`
//! (512x512, spawn at (250, 250)); see `battlegrid_tests::maps::TestMap`.
//! Waits poll with a safety net only; no test asserts on time.

mod game_support;

use std::time::Duration;

use battlegrid_protocol::client::{Event, GameClient};
use battlegrid_protocol::{ClientMessage, ErrorCode, Position, ServerMessage};
use battlegrid_tests::api::Api;
use battlegrid_tests::maps::TestMap;
use battlegrid_tests::server::TestServer;
use game_support::{NET, SPAWN, player, start, until_pong, wait_for};
use serde_json::Value;

/// Polls `GET /v1/maps` until `pick` accepts the answer.
async fn until_maps(server: &TestServer, mut pick: impl FnMut(&Value) -> bool) -> Value {
    let api = Api::new(server.http);
    tokio::time::timeout(NET, async {
        loop {
            let reply = api.get("/v1/maps").await;
            assert_eq!(reply.status, 200);
            if pick(&reply.body) {
                return reply.body;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the maps list changes within the safety net")
}

fn listed<'a>(maps: &'a Value, name: &str) -> Option<&'a Value> {
    maps["maps"].as_array()?.iter().find(|m| m["name"] == name)
}

/// The `MapChanged` a client receives next (skipping other events).
async fn map_changed(client: &mut GameClient) -> (String, Position, bool, String) {
    wait_for(client, |event| match event {
        Event::Message(ServerMessage::MapChanged {
            map,
            position,
            relocated,
            reason,
            ..
        }) => Some((map.name.clone(), *position, *relocated, reason.clone())),
        _ => None,
    })
    .await
}

fn arena() -> TestMap {
    TestMap {
        name: "arena".to_owned(),
        tiles: (16, 16),
        tile_size: 16,
        region_tiles: (8, 8),
        spawns: vec![(40.0, 40.0)],
        blocked: vec![(0, 0)],
    }
}

/// A map file copied into the running server's directory is listed and
/// joinable without a restart; asking for a map that does not exist gets
/// `UNKNOWN_MAP` and changes nothing.
#[tokio::test]
async fn a_new_map_is_listed_and_joinable_without_restart() {
    let server = start(|_| {});
    let (mut ann, welcome) = player(&server, "ann").await;
    assert_eq!(welcome.map.name, "world");

    arena().write(&server.config().maps);
    let maps = until_maps(&server, |m| listed(m, "arena").is_some()).await;
    let entry = listed(&maps, "arena").unwrap();
    assert_eq!(
        (entry["width"].as_u64(), entry["height"].as_u64()),
        (Some(256), Some(256))
    );
    assert_eq!(
        (entry["region_cols"].as_u64(), entry["region_rows"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(maps["default_map"], "world");

    ann.send(&ClientMessage::ChangeMap {
        map: "nowhere".into(),
    })
    .await
    .unwrap();
    let code = wait_for(&mut ann, |e| match e {
        Event::Message(ServerMessage::Error { code, .. }) => Some(*code),
        _ => None,
    })
    .await;
    assert_eq!(code, ErrorCode::UNKNOWN_MAP);

    ann.send(&ClientMessage::ChangeMap {
        map: "arena".into(),
    })
    .await
    .unwrap();
    let (map, position, relocated, _) = map_changed(&mut ann).await;
    assert_eq!(
        (map.as_str(), position, relocated),
        ("arena", Position::new(40.0, 40.0), true)
    );
    until_pong(&mut ann, 1).await;
}

/// A map changed under a connected client: the client stays connected and,
/// standing on a tile that became blocked, is moved to the nearest free
/// tile and told; a player elsewhere on the map is told of the new version
/// without being moved.
#[tokio::test]
async fn a_changed_map_moves_players_off_newly_blocked_tiles() {
    let server = start(|_| {});
    let (mut ann, welcome) = player(&server, "ann").await;
    assert_eq!(welcome.position, SPAWN);
    let mut map = TestMap::standard();
    // Block ann's tile (15, 15); the spawn point moves off it, as it must.
    map.blocked = vec![(15, 15)];
    map.spawns = vec![(100.0, 100.0)];
    map.write(&server.config().maps);

    let (name, position, relocated, reason) = map_changed(&mut ann).await;
    assert_eq!(name, "world");
    assert!(relocated, "{reason}");
    let tile = ((position.x / 16.0) as u32, (position.y / 16.0) as u32);
    assert_ne!(tile, (15, 15), "moved off the blocked tile");
    assert!(
        (position.x - SPAWN.x).abs() <= 16.0 && (position.y - SPAWN.y).abs() <= 16.0,
        "to a neighbouring tile, not far away: {position:?}"
    );
    until_pong(&mut ann, 1).await;

    let (mut bob, welcome) = player(&server, "bob").await;
    assert_eq!(
        welcome.position,
        Position::new(100.0, 100.0),
        "the new spawn point is live"
    );
    until_pong(&mut bob, 1).await;
}

/// Every kind of broken file the server must survive, written over the live
/// `world.tmx`, with a fragment of the error it must report.
fn broken_versions() -> Vec<(&'static str, String, &'static str)> {
    let good = TestMap::standard();
    let text = good.to_tmx();
    let spawns_layer =
        text[text.find(" <objectgroup").unwrap()..text.find("</map>").unwrap()].to_owned();
    vec![
        (
            "malformed XML",
            text[..300].to_owned(),
            "not well-formed XML",
        ),
        (
            "missing required layer",
            text.replace(&spawns_layer, ""),
            "no object layer named \"spawns\"",
        ),
        (
            "region size not dividing the map",
            TestMap {
                region_tiles: (15, 16),
                ..good.clone()
            }
            .to_tmx(),
            "do not divide the map width",
        ),
        (
            "absurd size",
            text.replace(
                "width=\"32\" height=\"32\" tilewidth",
                "width=\"100000\" height=\"100000\" tilewidth",
            ),
            "the largest allowed",
        ),
        (
            "no spawn point",
            TestMap {
                spawns: Vec::new(),
                ..good.clone()
            }
            .to_tmx(),
            "has no spawn point",
        ),
        (
            "tile id no tileset defines",
            text.replacen(
                "<data encoding=\"csv\">\n0,",
                "<data encoding=\"csv\">\n999999,",
                1,
            ),
            "no tileset defines the tile id 999999",
        ),
        (
            "DTD with entities",
            text.replacen(
                "<map ",
                "<!DOCTYPE map [<!ENTITY a \"x\"><!ENTITY b \"&a;&a;\">]>\n<map ",
                1,
            ),
            "DTDs and entities are not allowed",
        ),
        (
            "spawn point on a blocked tile",
            TestMap {
                blocked: vec![(15, 15)],
                ..good.clone()
            }
            .to_tmx(),
            "is on a blocked tile",
        ),
    ]
}

/// A broken file never replaces a good map, whatever is wrong with it: for
/// each kind, the error in `GET /v1/maps` names the file and the problem,
/// and the old version stays live (same hash) and joinable; fixing the file
/// ends the error.
#[tokio::test]
async fn broken_files_are_reported_and_the_old_map_stays() {
    let server = start(|_| {});
    let before = until_maps(&server, |m| listed(m, "world").is_some()).await;
    let hash = listed(&before, "world").unwrap()["content_hash"].clone();
    let path = server.config().maps.join("world.tmx");
    for (i, (kind, text, says)) in broken_versions().into_iter().enumerate() {
        std::fs::write(&path, text).unwrap();
        let maps = until_maps(&server, |m| {
            m["errors"][0]["message"]
                .as_str()
                .is_some_and(|message| message.contains(says))
        })
        .await;
        let error = &maps["errors"][0];
        assert_eq!(error["file"], "world.tmx", "{kind}");
        assert_eq!(
            listed(&maps, "world").unwrap()["content_hash"],
            hash,
            "{kind}: the old map stays live"
        );
        let (mut ann, welcome) = player(&server, &format!("ann{i}")).await;
        assert_eq!(welcome.map.name, "world", "{kind}");
        until_pong(&mut ann, 1).await;
    }

    TestMap::standard().write(&server.config().maps);
    until_maps(&server, |m| {
        m["errors"].as_array().is_some_and(|e| e.is_empty())
    })
    .await;
}

/// Deleting a map sends its players to the default map, told with
/// `MapChanged`; the map leaves the list.
#[tokio::test]
async fn a_deleted_map_sends_its_players_to_the_default_map() {
    let server = start(|_| {});
    let path = arena().write(&server.config().maps);
    until_maps(&server, |m| listed(m, "arena").is_some()).await;
    let (mut ann, _) = player(&server, "ann").await;
    ann.send(&ClientMessage::ChangeMap {
        map: "arena".into(),
    })
    .await
    .unwrap();
    assert_eq!(map_changed(&mut ann).await.0, "arena");

    std::fs::remove_file(path).unwrap();
    let (map, position, relocated, reason) = map_changed(&mut ann).await;
    assert_eq!(
        (map.as_str(), position, relocated),
        ("world", SPAWN, true),
        "{reason}"
    );
    until_maps(&server, |m| listed(m, "arena").is_none()).await;
    until_pong(&mut ann, 1).await;
}

/// `GET /v1/maps/{name}` serves the live file with its hash as ETag,
/// answers `If-None-Match` with 304, serves one `Range` as 206 and an
/// unsatisfiable one as 416, and an unknown map as 404.
#[tokio::test]
async fn maps_download_with_etag_and_range() {
    let server = start(|_| {});
    let file = std::fs::read(server.config().maps.join("world.tmx")).unwrap();
    let http = reqwest::Client::new();
    let url = server.url("/v1/maps/world");

    let whole = http.get(&url).send().await.unwrap();
    assert_eq!(whole.status(), 200);
    let etag = whole.headers()["etag"].to_str().unwrap().to_owned();
    let maps = until_maps(&server, |m| listed(m, "world").is_some()).await;
    let hash = listed(&maps, "world").unwrap()["content_hash"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(etag, format!("\"{hash}\""));
    assert_eq!(whole.bytes().await.unwrap().as_ref(), file.as_slice());

    let cached = http
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), 304);
    let stale = http
        .get(&url)
        .header("if-none-match", "\"0000\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 200);

    let part = http
        .get(&url)
        .header("range", "bytes=5-14")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.headers()["content-range"].to_str().unwrap(),
        format!("bytes 5-14/{}", file.len())
    );
    assert_eq!(part.bytes().await.unwrap().as_ref(), &file[5..=14]);

    let beyond = format!("bytes={}-", file.len() + 10);
    let unsatisfiable = http.get(&url).header("range", beyond).send().await.unwrap();
    assert_eq!(unsatisfiable.status(), 416);

    let missing = Api::new(server.http).get("/v1/maps/nowhere").await;
    assert_eq!((missing.status, missing.code()), (404, "no_such_map"));
}

/// The map is part of a player's saved place: a player who moved to another
/// map comes back on it, where it stood, after the server restarts.
#[tokio::test]
async fn a_returning_player_comes_back_on_its_map() {
    let mut server = start(|_| {});
    arena().write(&server.config().maps);
    until_maps(&server, |m| listed(m, "arena").is_some()).await;
    let token = game_support::account(&server, "ann").await;
    let (mut ann, _) = game_support::connect(&server, &token).await.unwrap();
    ann.send(&ClientMessage::ChangeMap {
        map: "arena".into(),
    })
    .await
    .unwrap();
    let (_, arrived, _, _) = map_changed(&mut ann).await;
    until_pong(&mut ann, 1).await;
    let status = server.terminate();
    assert!(status.success(), "{}", server.log());
    server.restart();
    let (_, welcome) = game_support::connect(&server, &token).await.unwrap();
    assert_eq!(
        (welcome.map.name.as_str(), welcome.position),
        ("arena", arrived)
    );
}
