//! End-to-end tests of record and replay against the real server and the
//! real `battlegrid replay` process: a world recorded while real clients
//! walk, shout and broadcast, through a hot map reload and players coming
//! and going, replays with every tick's output hash matching; a damaged
//! or foreign-version copy is refused with a clear error (exit code 2,
//! never a panic); a world whose step panics (an injected fault) leaves a
//! crash file that reproduces the panic at the same tick.
//!
//! One server serves the whole file (a few clients, not bots: the large
//! live-against-replay run, 200 bots for 60 s, is
//! `scripts/replay-live.sh`, see docs/PERFORMANCE.md). Faults are armed
//! through `/debug/faults`, so the binary needs the cargo feature
//! `fault-injection` (scripts/test.sh builds it so).

mod game_support;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use battlegrid_protocol::client::{Event, GameClient};
use battlegrid_protocol::{ClientMessage, ErrorCode, ServerMessage, Vec2};
use battlegrid_server::record::format::{Block, Reader, encode_block, write_preamble};
use battlegrid_tests::maps::TestMap;
use battlegrid_tests::server::{TestServer, battlegrid_binary};
use game_support::*;

const RIGHT: Vec2 = Vec2 { x: 1.0, y: 0.0 };
const DOWN: Vec2 = Vec2 { x: 0.0, y: 1.0 };
/// Safety net for a file the server writes (never what a test asserts).
const FILE_NET: Duration = Duration::from_secs(60);

fn maps(config: &mut battlegrid_server::Config) {
    TestMap {
        name: "arena".into(),
        ..TestMap::standard()
    }
    .write(&config.maps);
    // Several periodic checkpoints, each compared by the replay.
    config.recording.checkpoint_every_ticks = 20;
}

async fn admin(server: &TestServer, method: reqwest::Method, path: &str) -> serde_json::Value {
    let reply = server
        .admin_client()
        .request(method.clone(), format!("http://{}{path}", server.admin))
        .send()
        .await
        .expect("admin request");
    assert_eq!(reply.status(), 200, "{method} {path}");
    reply.json().await.expect("JSON answer")
}

/// Runs `battlegrid replay` with `args`.
fn replay(args: &[&str]) -> Output {
    std::process::Command::new(battlegrid_binary())
        .arg("replay")
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run battlegrid replay")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Waits until the server has run `ticks` more ticks.
async fn let_ticks_pass(client: &mut GameClient, ticks: u64) {
    let start = tick(client).await;
    while tick(client).await < start + ticks {}
}

/// Waits for a file matching `pick` in `dir`.
async fn wait_for_file(dir: &Path, pick: impl Fn(&Path) -> bool) -> PathBuf {
    let since = Instant::now();
    loop {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                if pick(&entry.path()) {
                    return entry.path();
                }
            }
        }
        assert!(since.elapsed() < FILE_NET, "no file in {}", dir.display());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `file` rewritten with `change` applied to its header.
fn with_header(
    file: &Path,
    to: &Path,
    change: impl FnOnce(&mut battlegrid_server::record::format::Header),
) {
    let mut reader = Reader::new(std::fs::File::open(file).unwrap()).unwrap();
    let mut header = reader.header().clone();
    change(&mut header);
    let mut bytes = Vec::new();
    write_preamble(&mut bytes).unwrap();
    encode_block(&Block::Header(header), &mut bytes).unwrap();
    while let Some(block) = reader.next_block().unwrap() {
        encode_block(&block, &mut bytes).unwrap();
    }
    std::fs::write(to, bytes).unwrap();
}

#[tokio::test]
async fn recordings_and_crash_files_replay() {
    let server = start(maps);

    // 1. A recording of the default map, switched on by the admin API.
    let on = admin(&server, reqwest::Method::PUT, "/v1/admin/recording/world").await;
    let file = PathBuf::from(on["file"].as_str().expect("file"));
    let (mut ann, _) = player(&server, "ann").await;
    let (bob, _) = player(&server, "bob").await;
    let walked = walk(&mut ann, &mut 0, RIGHT, 8).await;
    bob.send(&ClientMessage::Shout {
        text: "hello ann".into(),
    })
    .await
    .expect("shout");
    ann.send(&ClientMessage::Broadcast {
        text: "hello region".into(),
    })
    .await
    .expect("broadcast");
    // A hot reload blocks the tile Ann stands on: she is moved.
    let tile = ((walked.at.x / 16.0) as u32, (walked.at.y / 16.0) as u32);
    TestMap {
        blocked: vec![tile],
        ..TestMap::standard()
    }
    .write(&server.config().maps);
    let relocated = wait_for(&mut ann, |event| match event {
        Event::Message(ServerMessage::MapChanged { relocated, .. }) => Some(*relocated),
        _ => None,
    })
    .await;
    assert!(relocated, "ann stood on the tile that became blocked");
    walk(&mut ann, &mut 10, DOWN, 5).await;
    drop(bob);
    let (mut cyd, _) = player(&server, "cyd").await;
    walk(&mut cyd, &mut 0, RIGHT, 5).await;
    // Past at least one more periodic checkpoint.
    let_ticks_pass(&mut ann, 25).await;
    let off = admin(
        &server,
        reqwest::Method::DELETE,
        "/v1/admin/recording/world",
    )
    .await;
    assert_eq!(off["file"], on["file"]);
    // Complete once the recorder wrote its end block.
    let since = Instant::now();
    loop {
        let status = admin(&server, reqwest::Method::GET, "/v1/admin/recording").await;
        if status["finished"][0]["ticks"].as_u64().unwrap_or(0) > 0 {
            break;
        }
        assert!(
            since.elapsed() < FILE_NET,
            "recording not finished: {status}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let path = file.to_str().unwrap();
    let whole = replay(&[path, "--dump"]);
    let report = text(&whole.stdout);
    assert!(whole.status.success(), "{report}\n{}", text(&whole.stderr));
    assert!(
        report.contains("ok: every tick's outputs match the recording"),
        "{report}"
    );
    // At the end: Ann and Cyd; Bob left.
    assert!(
        report.contains("\tann\t") && report.contains("\tcyd\t"),
        "{report}"
    );
    assert!(!report.contains("\tbob\t"), "{report}");
    eprintln!("{report}");
    let first: u64 = report
        .split("ticks (")
        .nth(1)
        .and_then(|r| r.split("..").next())
        .and_then(|t| t.parse().ok())
        .expect("the replayed range");
    let until = (first + 5).to_string();
    let dumped = replay(&[path, "--until", &until, "--dump"]);
    let report = text(&dumped.stdout);
    assert!(dumped.status.success(), "{report}");
    assert!(
        report.contains(&format!("players at tick {until} on map \"world\"")),
        "{report}"
    );

    // 2. Damaged and foreign copies are refused, clearly, never panicking.
    let bytes = std::fs::read(&file).unwrap();
    let copy = file.with_extension("copy.bgrec");
    let copy_path = copy.to_str().unwrap();
    std::fs::write(&copy, &bytes[..bytes.len() - 10]).unwrap();
    let cut = replay(&[copy_path]);
    assert_eq!(cut.status.code(), Some(2));
    assert!(
        text(&cut.stderr).contains("truncated at byte"),
        "{}",
        text(&cut.stderr)
    );
    let mut flipped = bytes.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x10;
    std::fs::write(&copy, &flipped).unwrap();
    let damaged = replay(&[copy_path]);
    assert_eq!(damaged.status.code(), Some(2));
    assert!(
        text(&damaged.stderr).contains("corrupted block"),
        "{}",
        text(&damaged.stderr)
    );
    with_header(&file, &copy, |h| h.sim_version += 1);
    let foreign = replay(&[copy_path]);
    assert_eq!(foreign.status.code(), Some(2));
    let refusal = text(&foreign.stderr);
    assert!(
        refusal.contains("simulation 2") && refusal.contains("--force"),
        "{refusal}"
    );
    let forced = replay(&[copy_path, "--force"]);
    assert!(forced.status.success());
    assert!(text(&forced.stdout).contains("warning: recorded under protocol"));

    // 3. A world whose step panics leaves a crash file that reproduces it.
    cyd.send(&ClientMessage::ChangeMap {
        map: "arena".into(),
    })
    .await
    .expect("change map");
    walk(&mut cyd, &mut 10, RIGHT, 5).await;
    let armed = server
        .admin_client()
        .post(format!("http://{}/debug/faults/world-panic", server.admin))
        .json(&serde_json::json!({"map": "arena", "times": 1}))
        .send()
        .await
        .expect("arm the fault");
    assert_eq!(
        armed.status(),
        204,
        "the binary needs the cargo feature fault-injection"
    );
    let code = wait_for(&mut cyd, |event| match event {
        Event::Message(ServerMessage::Error { code, .. }) => Some(*code),
        _ => None,
    })
    .await;
    assert_eq!(code, ErrorCode::WORLD_RESTORED);
    let crash_dir = server.config().data.join("crash");
    let crash = wait_for_file(&crash_dir, |p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("arena-") && n.ends_with(".bgrec"))
    })
    .await;
    // Written in one go by the recorder; replay it once it is complete.
    let since = Instant::now();
    let reproduced = loop {
        let run = replay(&[crash.to_str().unwrap()]);
        if !text(&run.stderr).contains("truncated") {
            break run;
        }
        assert!(
            since.elapsed() < FILE_NET,
            "the crash file stays incomplete"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let report = text(&reproduced.stdout);
    assert!(
        reproduced.status.success(),
        "{report}\n{}",
        text(&reproduced.stderr)
    );
    assert!(report.contains("crash file of map \"arena\""), "{report}");
    assert!(
        report.contains("panicked as recorded: injected fault: the world of \"arena\" panics"),
        "{report}"
    );
    assert!(
        report.contains("the recorded panic happened again at tick"),
        "{report}"
    );
    assert!(
        server.log().contains("crash file written"),
        "the crash file is logged"
    );
}
