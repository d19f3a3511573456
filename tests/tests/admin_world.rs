//! End-to-end tests of the admin API steering a live world, all on one
//! server (restarted once, for the bans): the player list and one player's
//! figures, an announcement to one map, regions, maps (the default map
//! set live), a kick, and a ban that stops login and connect, closes the
//! live connection and survives the restart. Waits poll with a safety net
//! only; no test asserts on time.

mod game_support;

use std::time::Duration;

use battlegrid_protocol::client::{ConnectError, Event, GameClient};
use battlegrid_protocol::{ClientMessage, ErrorCode, ServerMessage};
use battlegrid_tests::api::{Api, Reply};
use battlegrid_tests::maps::TestMap;
use battlegrid_tests::server::TestServer;
use game_support::{
    NET, PASSWORD, account, auth, closed, connect, player, start, until_pong, wait_for,
};
use serde_json::{Value, json};

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

async fn send_json(admin: &Api, method: reqwest::Method, path: &str, body: Value) -> Reply {
    admin
        .request_json(method, path, serde_json::to_vec(&body).unwrap())
        .await
}

/// Polls `path` on the admin API until `pick` accepts the answer.
async fn until(admin: &Api, path: &str, mut pick: impl FnMut(&Value) -> bool) -> Value {
    tokio::time::timeout(NET, async {
        loop {
            let reply = admin.get(path).await;
            assert_eq!(reply.status, 200, "{path}: {reply:?}");
            if pick(&reply.body) {
                return reply.body;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{path} never showed what was expected"))
}

fn announced(messages: &[ServerMessage]) -> Vec<String> {
    messages
        .iter()
        .filter_map(|m| match m {
            ServerMessage::Announcement { text } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn the_admin_api_steers_a_live_world() {
    let mut server = start(|config| {
        arena().write(&config.maps);
    });
    let admin = server.admin_api();
    let (mut ann, ann_welcome) = player(&server, "ann").await;
    let (mut bob, _) = player(&server, "bob").await;
    let (mut cat, _) = player(&server, "cat").await;
    cat.send(&ClientMessage::ChangeMap {
        map: "arena".into(),
    })
    .await
    .unwrap();
    wait_for(&mut cat, |e| {
        matches!(e, Event::Message(ServerMessage::MapChanged { .. })).then_some(())
    })
    .await;

    players_are_listed_filtered_and_paged(&admin, ann_welcome.player_id.0).await;
    an_announcement_reaches_its_map_only(&admin, &mut ann, &mut bob, &mut cat).await;
    regions_and_server_are_reported(&admin).await;
    the_default_map_is_set_live(&server, &admin).await;
    a_kick_tells_the_reason_and_disconnects(&admin, &mut bob).await;
    a_ban_stops_everything_and_survives_a_restart(&mut server, &mut ann).await;
}

async fn players_are_listed_filtered_and_paged(admin: &Api, ann: u64) {
    let all = until(admin, "/v1/admin/players", |b| b["total"] == 3).await;
    let names: Vec<&str> = all["players"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ann", "bob", "cat"], "{all}");
    let arena = admin.get("/v1/admin/players?map=arena").await;
    assert_eq!(arena.body["total"], 1);
    assert_eq!(arena.body["players"][0]["name"], "cat");
    let prefix = admin.get("/v1/admin/players?prefix=AN").await;
    assert_eq!(prefix.body["players"][0]["name"], "ann");
    assert_eq!(prefix.body["total"], 1);
    let first = admin.get("/v1/admin/players?limit=2").await;
    assert_eq!(first.body["players"].as_array().unwrap().len(), 2);
    let after = first.body["next_after"].as_u64().expect("a next page");
    let second = admin
        .get(&format!("/v1/admin/players?limit=2&after={after}"))
        .await;
    assert_eq!(second.body["players"][0]["name"], "cat");
    assert!(second.body["next_after"].is_null());
    let bad = admin.get("/v1/admin/players?limit=0").await;
    assert_eq!(bad.status, 400);

    let detail = admin.get(&format!("/v1/admin/players/{ann}")).await;
    assert_eq!(detail.status, 200, "{detail:?}");
    let d = &detail.body;
    assert_eq!(d["account"]["name"], "ann");
    assert_eq!(d["map"], "world");
    assert!(
        d["position"]["x"].is_number() && d["region"].is_number(),
        "{d}"
    );
    assert!(d["session"]["expires_at_ms"].as_u64().unwrap() > 0, "{d}");
    let conn = &d["connection"];
    assert!(conn["rtt_ms"].as_f64().unwrap() >= 0.0, "{d}");
    assert!(conn["bytes_out"].as_u64().unwrap() > 0, "{d}");
    assert!(conn["bytes_in"].as_u64().unwrap() > 0, "{d}");
    assert!(conn["queued_messages"].is_number() && conn["backlog_bytes"].is_number());
    let gone = admin.get("/v1/admin/players/999999").await;
    assert_eq!((gone.status, gone.code()), (404, "not_online"));
}

/// Sent to the map `world`: its two players get it before their next pong,
/// the player on `arena` does not.
async fn an_announcement_reaches_its_map_only(
    admin: &Api,
    ann: &mut GameClient,
    bob: &mut GameClient,
    cat: &mut GameClient,
) {
    let sent = send_json(
        admin,
        reqwest::Method::POST,
        "/v1/admin/announcements",
        json!({"text": "restart in 5 minutes", "map": "world"}),
    )
    .await;
    assert_eq!(sent.status, 200, "{sent:?}");
    assert_eq!(sent.body["recipients"], 2);
    for (who, client) in [("ann", ann), ("bob", bob)] {
        let (seen, _) = until_pong(client, 1).await;
        assert_eq!(announced(&seen), ["restart in 5 minutes"], "{who}");
    }
    let (seen, _) = until_pong(cat, 1).await;
    assert!(announced(&seen).is_empty(), "cat on arena got {seen:?}");

    let everyone = send_json(
        admin,
        reqwest::Method::POST,
        "/v1/admin/announcements",
        json!({"text": "hello all"}),
    )
    .await;
    assert_eq!(everyone.body["recipients"], 3);
    let (seen, _) = until_pong(cat, 2).await;
    assert_eq!(announced(&seen), ["hello all"]);
    for (body, code) in [
        (json!({"text": ""}), "invalid_text"),
        (json!({"text": "x", "region": 0}), "invalid_body"),
        (json!({"text": "x", "map": "nowhere"}), "no_such_map"),
    ] {
        let reply = send_json(
            admin,
            reqwest::Method::POST,
            "/v1/admin/announcements",
            body,
        )
        .await;
        assert_eq!(reply.code(), code, "{reply:?}");
    }
}

async fn regions_and_server_are_reported(admin: &Api) {
    let regions = admin.get("/v1/admin/regions?map=world").await;
    assert_eq!(regions.status, 200);
    let rows = regions.body.as_array().unwrap();
    assert_eq!(rows.len(), 4, "the standard map has 2x2 regions: {rows:?}");
    let players: u64 = rows.iter().map(|r| r["players"].as_u64().unwrap()).sum();
    assert_eq!(players, 2);
    for row in rows {
        let share = row["tick_share"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&share), "{row}");
        assert!(row["messages_per_s"].as_f64().unwrap() >= 0.0, "{row}");
    }
    let server = admin.get("/v1/admin/server").await;
    assert_eq!(server.status, 200);
    assert!(server.body["version"].is_string());
    assert!(server.body["uptime_secs"].is_u64());
    assert_eq!(server.body["config"]["world"]["default_map"], "world");
    assert!(server.body["config"]["admin_api"]["token"].is_null());
}

async fn the_default_map_is_set_live(server: &TestServer, admin: &Api) {
    let maps = admin.get("/v1/admin/maps").await;
    assert_eq!(maps.body["default_map"], "world");
    let names: Vec<&str> = maps.body["maps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["arena", "world"]);
    let reload = admin
        .request(reqwest::Method::POST, "/v1/admin/maps/reload")
        .await;
    assert_eq!(reload.status, 200, "{reload:?}");
    assert_eq!(reload.body["loaded"], json!(["arena", "world"]));

    let set = |name: &str| {
        send_json(
            admin,
            reqwest::Method::PUT,
            "/v1/admin/maps/default",
            json!({ "name": name }),
        )
    };
    assert_eq!(set("nowhere").await.code(), "no_such_map");
    assert_eq!(set("arena").await.status, 204);
    let (_dan, welcome) = player(server, "dan").await;
    assert_eq!(welcome.map.name, "arena");
    assert_eq!(
        admin.get("/v1/admin/maps").await.body["default_map"],
        "arena"
    );
    assert_eq!(set("world").await.status, 204);
}

async fn a_kick_tells_the_reason_and_disconnects(admin: &Api, bob: &mut GameClient) {
    let bob_id = admin.get("/v1/admin/players?prefix=bob").await.body["players"][0]["id"]
        .as_u64()
        .unwrap();
    let kick = send_json(
        admin,
        reqwest::Method::POST,
        &format!("/v1/admin/players/{bob_id}/kick"),
        json!({"reason": "spamming the square"}),
    )
    .await;
    assert_eq!(kick.status, 204, "{kick:?}");
    let closed = closed(bob).await;
    assert_eq!(closed.code, Some(ErrorCode::KICKED), "{closed:?}");
    assert!(closed.reason.contains("spamming the square"), "{closed:?}");
}

/// Banned: the live connection closes at once, login and connect are
/// refused (also with a session from before the ban), the admin session
/// endpoint refuses too, and all of it holds after a restart until unban.
async fn a_ban_stops_everything_and_survives_a_restart(
    server: &mut TestServer,
    ann: &mut GameClient,
) {
    let spare_token = account(server, "eve").await;
    let eve_token_before = auth(server).log_in("eve", PASSWORD).await.unwrap().token;
    let admin = server.admin_api();
    let ban = send_json(
        &admin,
        reqwest::Method::POST,
        "/v1/admin/bans",
        json!({"name": "ann", "reason": "cheating"}),
    )
    .await;
    assert_eq!(ban.status, 201, "{ban:?}");
    let closed = closed(ann).await;
    assert_eq!(closed.code, Some(ErrorCode::KICKED), "{closed:?}");
    assert!(closed.reason.contains("cheating"), "{closed:?}");
    let ban_eve = send_json(
        &admin,
        reqwest::Method::POST,
        "/v1/admin/bans",
        json!({"name": "eve", "reason": "alt account", "duration_secs": 3600}),
    )
    .await;
    assert_eq!(ban_eve.status, 201);
    assert!(ban_eve.body["until_ms"].as_u64().is_some());

    server.restart();
    let admin = server.admin_api();
    let public = Api::new(server.http);
    for name in ["ann", "eve"] {
        let login = public.log_in(name, PASSWORD).await;
        assert_eq!(
            (login.status, login.code()),
            (403, "banned"),
            "{name}: {login:?}"
        );
    }
    assert!(
        public.log_in("ann", PASSWORD).await.body["message"]
            .as_str()
            .unwrap()
            .contains("cheating")
    );
    for token in [&spare_token, &eve_token_before] {
        match connect(server, token).await {
            Err(ConnectError::Rejected { code, .. }) => assert_eq!(code, ErrorCode::INVALID_TOKEN),
            other => panic!("a banned account connected: {:?}", other.map(|(_, w)| w)),
        }
    }
    let session = send_json(
        &admin,
        reqwest::Method::POST,
        "/v1/admin/sessions",
        json!({"name": "ann"}),
    )
    .await;
    assert_eq!((session.status, session.code()), (403, "banned"));
    let bans = admin.get("/v1/admin/bans").await;
    assert_eq!(bans.body.as_array().unwrap().len(), 2, "{bans:?}");

    let ann_id = bans.body[0]["account_id"].as_u64().unwrap();
    let unban = admin
        .request(reqwest::Method::DELETE, &format!("/v1/admin/bans/{ann_id}"))
        .await;
    assert_eq!(unban.status, 204);
    assert_eq!(
        admin
            .request(reqwest::Method::DELETE, &format!("/v1/admin/bans/{ann_id}"))
            .await
            .code(),
        "no_such_ban"
    );
    let token = auth(server)
        .log_in("ann", PASSWORD)
        .await
        .expect("ann logs in again")
        .token;
    let (_ann, welcome) = connect(server, &token).await.expect("ann plays again");
    assert_eq!(welcome.map.name, "world");
}
