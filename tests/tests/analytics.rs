//! End to end: the analytics pipeline of the real server, as an operator
//! and an analyst see it. One server runs one scenario (real SDK clients,
//! real HTTP calls, a map dropped into the maps directory); the event
//! files must then hold each event exactly as often as the scenario caused
//! it, `battlegrid analytics summary` and `heatmap` must say so, and the
//! files must stay readable after a SIGKILL and a restart.
//!
//! Position samples and tick summaries run on the clock, so for them the
//! test checks consistency (contiguous ticks per map, samples only of
//! players who were online) rather than a count. The DuckDB side of the
//! same files is clients/python/tests/test_analytics_duckdb.py.

mod game_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use battlegrid_protocol::frame::frame;
use battlegrid_protocol::{ClientMessage, MoveIntent, Position, ServerMessage, Vec2, encode};
use battlegrid_server::analytics::files::{Loaded, list, load};
use battlegrid_server::analytics::{Event, Record};
use battlegrid_tests::maps::TestMap;
use battlegrid_tests::server::{TestServer, battlegrid_binary};
use game_support::*;

/// Safety net for the files to show what happened (flushes every 50 ms).
const FILES: Duration = Duration::from_secs(30);

fn events_dir(server: &TestServer) -> PathBuf {
    server.config().data.join("analytics")
}

/// Reads the files until `done` accepts them; panics past the safety net.
fn wait_files(server: &TestServer, done: impl Fn(&Loaded) -> bool) -> Loaded {
    let started = Instant::now();
    loop {
        let loaded = load(&events_dir(server), None).expect("read event files");
        if done(&loaded) {
            return loaded;
        }
        assert!(
            started.elapsed() < FILES,
            "files never got there:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn count(records: &[Record], kind: &str) -> usize {
    records.iter().filter(|r| r.event.kind() == kind).count()
}

/// `battlegrid analytics --dir DIR ARGS...`: its stdout, after checking it
/// succeeded.
fn cli(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new(battlegrid_binary())
        .arg("analytics")
        .arg("--dir")
        .arg(dir)
        .args(args)
        .output()
        .expect("run battlegrid analytics");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

#[tokio::test]
async fn scenario_counts_summary_heatmap_and_crash_safety() {
    let mut server = start(|config| {
        TestMap {
            name: "cave".to_owned(),
            ..TestMap::standard()
        }
        .write(&config.maps);
        config.analytics.flush_ms = 50;
        config.analytics.position_sample_secs = 1;
        config.quic.flood_ticks = 5;
    });
    let api = auth(&server);

    // Sign-ups and logins: 3 + 1 refused each.
    let ann_token = account(&server, "ann").await;
    let bob_token = account(&server, "bob").await;
    let cyd_token = account(&server, "cyd").await;
    assert!(api.sign_up("ann", PASSWORD).await.is_err(), "name taken");
    assert!(api.log_in("ann", "not the password at all").await.is_err());

    let (mut ann, _) = connect(&server, &ann_token).await.unwrap();
    let (mut bob, bob_welcome) = connect(&server, &bob_token).await.unwrap();

    // Speech: one shout, one broadcast.
    ann.send(&ClientMessage::Shout {
        text: "hello".into(),
    })
    .await
    .unwrap();
    bob.send(&ClientMessage::Broadcast {
        text: "hi all".into(),
    })
    .await
    .unwrap();
    // Movement: ann walks right across the border at x = 256 (one region
    // change; the walk's start and stop predict far off: two drift
    // corrections). Bob asks for a speed far above the limit where he
    // stands: one speed correction.
    let walked = walk(&mut ann, &mut 0, Vec2 { x: 1.0, y: 0.0 }, 5).await;
    assert!(
        walked.at.x > 256.0 && walked.at.x < 512.0,
        "{:?}",
        walked.at
    );
    bob.send(&ClientMessage::Move(MoveIntent {
        seq: 1,
        direction: Vec2 { x: 0.0, y: 0.0 },
        speed: 10_000.0,
        predicted: bob_welcome.position,
    }))
    .await
    .unwrap();
    wait_for(&mut bob, |e| match e {
        battlegrid_protocol::client::Event::Message(ServerMessage::PositionCorrected {
            seq: 1,
            ..
        }) => Some(()),
        _ => None,
    })
    .await;
    // One input refused by validation.
    let long = encode(&ClientMessage::Shout {
        text: "x".repeat(600),
    })
    .unwrap();
    bob.send_raw(&frame(&long)).await.unwrap();
    // Ann changes maps; a map is dropped into the maps directory.
    ann.send(&ClientMessage::ChangeMap { map: "cave".into() })
        .await
        .unwrap();
    wait_for(&mut ann, |e| match e {
        battlegrid_protocol::client::Event::Message(ServerMessage::MapChanged { .. }) => Some(()),
        _ => None,
    })
    .await;
    TestMap {
        name: "extra".to_owned(),
        ..TestMap::standard()
    }
    .write(&server.config().maps);
    // Cyd floods until disconnected.
    let (mut cyd, _) = connect(&server, &cyd_token).await.unwrap();
    let ping = encode(&ClientMessage::Ping { nonce: 1 }).unwrap();
    let burst: Vec<u8> = (0..40).flat_map(|_| frame(&ping)).collect();
    loop {
        if cyd.send_raw(&burst).await.is_err() {
            break;
        }
        let event = tokio::time::timeout(Duration::from_millis(10), cyd.next_event()).await;
        if let Ok(battlegrid_protocol::client::Event::Closed(_)) = event {
            break;
        }
    }
    // Position samples of ann and bob, then both leave.
    wait_files(&server, |l| {
        let sampled = |who| {
            l.records
                .iter()
                .any(|r| matches!(r.event, Event::Position { account, .. } if account == who))
        };
        sampled(1) && sampled(2) && count(&l.records, "map_reload") == 1
    });
    ann.close("bye");
    // Moderation: bob is kicked, then cyd's account is banned.
    let admin = server.admin_client();
    let kicked = admin
        .post(format!(
            "http://{}/v1/admin/players/{}/kick",
            server.admin, bob_welcome.player_id.0
        ))
        .json(&serde_json::json!({"reason": "testing kicks"}))
        .send()
        .await
        .expect("kick");
    assert_eq!(kicked.status(), 204);
    let banned = admin
        .post(format!("http://{}/v1/admin/bans", server.admin))
        .json(&serde_json::json!({"name": "cyd", "reason": "testing bans", "duration_secs": 60}))
        .send()
        .await
        .expect("ban");
    assert_eq!(banned.status(), 201);
    let loaded = wait_files(&server, |l| {
        count(&l.records, "session_end") == 3 && count(&l.records, "ban") == 1
    });
    let records = &loaded.records;

    let exact: BTreeMap<&str, usize> = [
        ("signup", 4),
        ("login", 4),
        ("session_start", 3),
        ("session_end", 3),
        ("shout", 1),
        ("broadcast", 1),
        ("region_change", 1),
        ("map_change", 1),
        ("correction", 3),
        ("invalid_input", 1),
        ("flood_disconnect", 1),
        ("map_reload", 1),
        ("kick", 1),
        ("ban", 1),
        // Produced by chat (issue 12) once it lands.
        ("chat", 0),
    ]
    .into();
    let counted: BTreeMap<&str, usize> = exact.keys().map(|&k| (k, count(records, k))).collect();
    assert_eq!(counted, exact);
    let fields = |kind: &str| -> Vec<serde_json::Value> {
        records
            .iter()
            .filter(|r| r.event.kind() == kind)
            .map(|r| serde_json::to_value(r).unwrap())
            .collect()
    };
    let signups = fields("signup");
    assert_eq!(signups.iter().filter(|v| v["ok"] == true).count(), 3);
    assert!(signups.iter().any(|v| v["error"] == "name_taken"));
    assert!(
        fields("login")
            .iter()
            .any(|v| v["error"] == "invalid_credentials")
    );
    let shout = &fields("shout")[0];
    assert_eq!(
        (shout["account"].as_u64(), shout["bytes"].as_u64()),
        (Some(1), Some(5))
    );
    assert!(
        shout.get("text").is_none(),
        "texts are off by default: {shout}"
    );
    let mut reasons: Vec<String> = fields("session_end")
        .iter()
        .map(|v| v["reason"].as_str().unwrap().to_owned())
        .collect();
    reasons.sort();
    assert_eq!(reasons, ["disconnected", "kicked", "rate_limited"]);
    let corrections: Vec<String> = fields("correction")
        .iter()
        .map(|v| v["reason"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        corrections.iter().filter(|r| *r == "speed_capped").count(),
        1
    );
    assert_eq!(fields("map_change")[0]["to"], "cave");
    assert_eq!(fields("map_reload")[0]["map"], "extra");
    for record in records {
        assert_eq!(record.v, 1);
        assert!(record.time.ends_with('Z'), "UTC: {}", record.time);
    }
    // Clocked events: one summary per map and tick, no gap; samples only
    // of the three players.
    let mut ticks: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for record in records {
        if let Event::TickSummary { map, .. } = &record.event {
            ticks
                .entry(map.to_string())
                .or_default()
                .push(record.tick.unwrap());
        }
        if let Event::Position { account, .. } = &record.event {
            assert!((1..=3).contains(account), "{record:?}");
        }
    }
    assert_eq!(ticks.keys().collect::<Vec<_>>(), ["cave", "extra", "world"]);
    for (map, list) in &ticks {
        let (first, last) = (list[0], *list.last().unwrap());
        assert_eq!(
            list.len() as u64,
            last - first + 1,
            "ticks of {map} contiguous"
        );
    }

    // The subcommand reads the same files.
    let dir = events_dir(&server);
    let summary: serde_json::Value =
        serde_json::from_str(&cli(&dir, &["summary", "--since", "1h", "--json"])).unwrap();
    assert_eq!(summary["sessions"], 3);
    assert_eq!(summary["signups"], 3);
    assert_eq!(summary["logins_refused"], 1);
    assert_eq!(summary["messages"], 2);
    assert_eq!(summary["flood_disconnects"], 1);
    assert!(summary["peak_players"].as_u64().unwrap() >= 2, "{summary}");
    let csv = cli(&dir, &["export", "--format", "csv"]);
    assert!(
        csv.lines().filter(|l| l.contains(",signup,")).count() == 4,
        "{csv}"
    );

    // The heatmap: bob stood at the spawn point of `world` all along.
    let png_path = server.config().data.join("heat.png");
    let maps = server.config().maps.display().to_string();
    cli(
        &dir,
        &[
            "heatmap",
            "--map",
            "world",
            "--since",
            "1h",
            "--maps",
            &maps,
            "--width",
            "128",
            "-o",
            png_path.to_str().unwrap(),
        ],
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&png_path).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((info.width, info.height), (128, 128));
    let red = |p: Position| pixels[(((p.y / 4.0) as usize) * 128 + (p.x / 4.0) as usize) * 3];
    assert_eq!(red(bob_welcome.position), 255, "hot where bob stood");
    assert!(
        red(Position::new(60.0, 450.0)) < 255,
        "cold where nobody went"
    );

    // SIGKILL: the open file still reads up to its last whole frame, and
    // the next start completes it under its final name.
    let before = records.len();
    server.kill();
    assert!(
        list(&dir).unwrap().iter().any(|f| !f.complete),
        "an open file was left"
    );
    let after_kill = load(&dir, None).unwrap();
    assert!(after_kill.records.len() >= before);
    let killed_files: Vec<PathBuf> = list(&dir).unwrap().into_iter().map(|f| f.path).collect();
    server.restart();
    for path in killed_files {
        let name = path.to_string_lossy().trim_end_matches(".open").to_owned();
        let bytes = std::fs::read(&name).expect("completed under its final name");
        zstd_readable(&bytes);
    }
    // A clean stop completes the new file too; everything reads as one.
    server.terminate();
    let files = list(&dir).unwrap();
    assert!(files.iter().all(|f| f.complete), "{files:?}");
    for file in &files {
        zstd_readable(&std::fs::read(&file.path).unwrap());
    }
    let last = load(&dir, None).unwrap();
    assert_eq!(last.torn_bytes, 0);
    assert!(last.records.len() >= after_kill.records.len());
}

/// The bytes are whole zstd frames of JSON lines, as any zstd reader sees.
fn zstd_readable(bytes: &[u8]) {
    let text = zstd_decode(bytes);
    for line in text.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("a JSON line");
    }
}

fn zstd_decode(bytes: &[u8]) -> String {
    let (len, content) = battlegrid_server::analytics::files::complete_prefix(bytes);
    assert_eq!(len, bytes.len(), "only whole frames");
    String::from_utf8(content).expect("utf-8")
}
