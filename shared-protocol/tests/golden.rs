//! Golden vectors: the exact bytes of representative messages, stored in
//! `tests/golden/*.bin`, so the wire format cannot drift without a failing
//! test. Every variant of both message enums appears at least once, plus one
//! framed message and a spliced `StateUpdate`.
//!
//! The hex examples in docs/PROTOCOL.md are checked against the same files:
//! each is a fenced block preceded by `<!-- golden: NAME.bin -->`.
//!
//! To change the format deliberately, regenerate files and doc examples with
//! `BLESS_GOLDEN=1 cargo test -p battlegrid-protocol --test golden` and
//! review the diff. Without `BLESS_GOLDEN` a mismatch fails.

use std::path::{Path, PathBuf};

use battlegrid_protocol::codec::{encode_entity_state, encode_state_update};
use battlegrid_protocol::frame::frame;
use battlegrid_protocol::{
    ClientMessage, EntityInfo, EntityState, ErrorCode, MapInfo, MoveIntent, PROTOCOL_VERSION,
    PlayerId, Position, RegionId, ServerMessage, Vec2, decode, encode,
};

/// A golden message: its file name and how to check it decodes back.
enum Golden {
    Client(ClientMessage),
    Server(ServerMessage),
}

fn client_fixtures() -> Vec<(&'static str, ClientMessage)> {
    vec![
        (
            "client_hello.bin",
            ClientMessage::Hello {
                version: PROTOCOL_VERSION,
                token: "tok-7f3a".into(),
            },
        ),
        (
            "client_move.bin",
            ClientMessage::Move(MoveIntent {
                seq: 300,
                direction: Vec2 { x: 1.0, y: -0.5 },
                speed: 80.0,
                predicted: Position::new(1024.5, 2048.25),
            }),
        ),
        (
            "client_shout.bin",
            ClientMessage::Shout {
                text: "hello, world".into(),
            },
        ),
        (
            "client_broadcast.bin",
            ClientMessage::Broadcast {
                text: "gg ë".into(),
            },
        ),
        ("client_ping.bin", ClientMessage::Ping { nonce: 70_000 }),
        (
            "client_change_map.bin",
            ClientMessage::ChangeMap {
                map: "harbour".into(),
            },
        ),
        (
            "client_resume.bin",
            ClientMessage::Resume {
                version: PROTOCOL_VERSION,
                token: "r1.Ab-9".into(),
            },
        ),
    ]
}

fn server_fixtures() -> Vec<(&'static str, ServerMessage)> {
    vec![
        (
            "server_welcome.bin",
            ServerMessage::Welcome {
                player_id: PlayerId(42),
                region: RegionId(9),
                position: Position::new(100.0, 200.5),
                tick_rate_hz: 20,
                map: MapInfo {
                    name: "meadow".into(),
                    width: 4096,
                    height: 4096,
                    region_cols: 8,
                    region_rows: 8,
                },
            },
        ),
        (
            "server_reject.bin",
            ServerMessage::Reject {
                code: ErrorCode::INVALID_TOKEN,
                reason: "unknown token".into(),
            },
        ),
        (
            "server_position_corrected.bin",
            ServerMessage::PositionCorrected {
                seq: 301,
                position: Position::new(1025.0, 2048.0),
            },
        ),
        (
            "server_region_changed.bin",
            ServerMessage::RegionChanged {
                region: RegionId(10),
            },
        ),
        (
            "server_entities_entered.bin",
            ServerMessage::EntitiesEntered {
                entities: vec![
                    EntityInfo {
                        id: PlayerId(7),
                        name: "ann".into(),
                        position: Position::new(10.0, 20.0),
                    },
                    EntityInfo {
                        id: PlayerId(251),
                        name: "bo".into(),
                        position: Position::new(-0.0, 1.5),
                    },
                ],
            },
        ),
        (
            "server_entities_left.bin",
            ServerMessage::EntitiesLeft {
                ids: vec![PlayerId(7), PlayerId(1 << 32)],
            },
        ),
        (
            "server_state_update.bin",
            ServerMessage::StateUpdate {
                tick: 1234,
                moved: state_update_movers(),
            },
        ),
        (
            "server_shout_heard.bin",
            ServerMessage::ShoutHeard {
                speaker: PlayerId(42),
                name: "zed".into(),
                position: Position::new(100.0, 200.5),
                text: "hello, world".into(),
            },
        ),
        (
            "server_broadcast_heard.bin",
            ServerMessage::BroadcastHeard {
                speaker: PlayerId(42),
                name: "zed".into(),
                region: RegionId(9),
                text: "gg ë".into(),
            },
        ),
        (
            "server_error.bin",
            ServerMessage::Error {
                code: ErrorCode::TEXT_TOO_LONG,
                message: "text of 600 bytes exceeds the limit of 512".into(),
            },
        ),
        (
            "server_pong.bin",
            ServerMessage::Pong {
                nonce: 70_000,
                tick: 1234,
            },
        ),
        (
            "server_map_changed.bin",
            ServerMessage::MapChanged {
                map: MapInfo {
                    name: "meadow".into(),
                    width: 2048,
                    height: 1024,
                    region_cols: 4,
                    region_rows: 2,
                },
                region: RegionId(5),
                position: Position::new(520.0, 600.5),
                seq: 301,
                relocated: true,
                reason: "your tile became blocked; moved to the nearest free tile".into(),
            },
        ),
        (
            "server_resume_token.bin",
            ServerMessage::ResumeToken {
                token: "r1.Ab-9".into(),
                valid_for_ms: 300_000,
            },
        ),
        (
            "server_announcement.bin",
            ServerMessage::Announcement {
                text: "restart in 5 minutes".into(),
            },
        ),
    ]
}

fn state_update_movers() -> Vec<EntityState> {
    vec![
        EntityState {
            id: PlayerId(7),
            position: Position::new(11.0, 20.0),
        },
        EntityState {
            id: PlayerId(300),
            position: Position::new(-3.25, 0.0),
        },
    ]
}

/// Every golden file's name, its expected bytes, and the message it holds.
fn fixtures() -> Vec<(&'static str, Vec<u8>, Option<Golden>)> {
    let mut all = Vec::new();
    for (name, message) in client_fixtures() {
        all.push((
            name,
            encode(&message).unwrap(),
            Some(Golden::Client(message)),
        ));
    }
    for (name, message) in server_fixtures() {
        all.push((
            name,
            encode(&message).unwrap(),
            Some(Golden::Server(message)),
        ));
    }
    let (_, hello) = &client_fixtures()[0];
    all.push((
        "framed_client_hello.bin",
        frame(&encode(hello).unwrap()).to_vec(),
        None,
    ));
    all
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// A golden file's bytes. While blessing, the fixture itself, so that tests
/// running in parallel with the one rewriting the files never read a
/// half-written file.
fn read_golden(name: &str) -> Vec<u8> {
    if blessing() {
        let fixture = fixtures().into_iter().find(|(n, _, _)| *n == name);
        return fixture
            .unwrap_or_else(|| panic!("{name}: no such fixture"))
            .1;
    }
    std::fs::read(golden_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn blessing() -> bool {
    std::env::var_os("BLESS_GOLDEN").is_some_and(|v| v == "1")
}

fn hex(bytes: &[u8]) -> String {
    let lines: Vec<String> = bytes
        .chunks(16)
        .map(|line| {
            line.iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    lines.join("\n")
}

/// Each fixture encodes to exactly its file's bytes, and the file decodes
/// back to the fixture.
#[test]
fn golden_files_match_encoding() {
    let dir = golden_dir();
    let mut mismatches = Vec::new();
    for (name, bytes, message) in fixtures() {
        let path = dir.join(name);
        if blessing() {
            std::fs::write(&path, &bytes).unwrap();
        }
        let stored = std::fs::read(&path).unwrap_or_default();
        if stored != bytes {
            mismatches.push(format!(
                "{name}:\n  file:    {}\n  encoded: {}",
                hex(&stored),
                hex(&bytes)
            ));
            continue;
        }
        match message {
            Some(Golden::Client(m)) => {
                assert_eq!(decode::<ClientMessage>(&stored).unwrap(), m, "{name}")
            }
            Some(Golden::Server(m)) => {
                assert_eq!(decode::<ServerMessage>(&stored).unwrap(), m, "{name}")
            }
            None => {}
        }
    }
    assert!(
        mismatches.is_empty(),
        "wire format changed; if deliberate, rerun with BLESS_GOLDEN=1 and review:\n{}",
        mismatches.join("\n")
    );
}

/// No stray files: every `.bin` in the folder is a fixture, so a renamed
/// fixture cannot leave a stale vector behind.
#[test]
fn golden_folder_holds_only_fixtures() {
    let names: Vec<&str> = fixtures().iter().map(|(name, _, _)| *name).collect();
    for entry in std::fs::read_dir(golden_dir()).unwrap() {
        let file = entry.unwrap().file_name().into_string().unwrap();
        assert!(names.contains(&file.as_str()), "stray golden file {file}");
    }
}

/// The framed example is the 4-byte little-endian length, then the payload.
#[test]
fn framed_golden_is_length_then_payload() {
    let framed = read_golden("framed_client_hello.bin");
    let payload = read_golden("client_hello.bin");
    assert_eq!(framed[..4], (payload.len() as u32).to_le_bytes());
    assert_eq!(framed[4..], payload[..]);
}

/// The encode-once path produces the golden `StateUpdate` byte for byte.
#[test]
fn spliced_state_update_matches_golden() {
    let records: Vec<_> = state_update_movers()
        .iter()
        .map(encode_entity_state)
        .collect();
    let stored = read_golden("server_state_update.bin");
    assert_eq!(&encode_state_update(1234, &records)[..], &stored[..]);
}

/// Every hex example in docs/PROTOCOL.md equals its golden file, and every
/// golden file has an example there.
#[test]
fn protocol_doc_examples_match_golden_files() {
    let doc_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/PROTOCOL.md");
    let doc = std::fs::read_to_string(&doc_path).expect("docs/PROTOCOL.md exists");
    let mut lines: Vec<String> = doc.lines().map(str::to_owned).collect();
    let mut seen = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(name) = lines[i]
            .trim()
            .strip_prefix("<!-- golden: ")
            .and_then(|rest| rest.strip_suffix(" -->"))
            .map(str::to_owned)
        else {
            i += 1;
            continue;
        };
        let open = i + 1;
        assert!(
            lines.get(open).is_some_and(|l| l.starts_with("```")),
            "{name}: fence expected"
        );
        let close = (open + 1..lines.len())
            .find(|&j| lines[j].starts_with("```"))
            .unwrap_or_else(|| panic!("{name}: unclosed fence"));
        let expected = hex(&read_golden(&name));
        let shown = lines[open + 1..close].join("\n");
        if blessing() {
            lines.splice(open + 1..close, expected.lines().map(str::to_owned));
        } else {
            assert_eq!(
                shown, expected,
                "hex example for {name} in docs/PROTOCOL.md"
            );
        }
        seen.push(name);
        i = open + 1;
    }
    if blessing() {
        std::fs::write(&doc_path, lines.join("\n") + "\n").unwrap();
    }
    for (name, _, _) in fixtures() {
        assert!(
            seen.iter().any(|s| s == name),
            "docs/PROTOCOL.md shows no example of {name}"
        );
    }
}
