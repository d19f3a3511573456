//! Unit tests of [`Worlds`]: the default map, joins, map changes, removals and
//! the shared tick numbering.

use std::path::Path;

use battlegrid_protocol::ServerMessage;

use super::*;
use crate::maps::load_map_file;

fn shipped(name: &str) -> LoadedMap {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets-maps");
    load_map_file(&dir.join(format!("{name}.tmx"))).unwrap()
}

fn config(default_map: &str) -> WorldConfig {
    WorldConfig {
        default_map: default_map.to_owned(),
        ..WorldConfig::default()
    }
}

fn worlds() -> Worlds {
    Worlds::new(
        vec![shipped("small"), shipped("world")],
        &[],
        &config("small"),
    )
    .unwrap()
}

/// The map names each player received `MapChanged` for in `outputs`.
fn map_changes(outputs: &[(Arc<str>, TickOutput)]) -> Vec<(PlayerId, String)> {
    let mut seen = Vec::new();
    for (_, out) in outputs {
        for envelope in &out.outbox {
            if let Ok(ServerMessage::MapChanged { map, .. }) =
                battlegrid_protocol::decode::<ServerMessage>(&envelope.bytes)
            {
                seen.push((envelope.to, map.name));
            }
        }
    }
    seen
}

/// Without the default map the server refuses to start, naming the map
/// and what did load.
#[test]
fn the_default_map_must_load() {
    let err = Worlds::new(vec![shipped("small")], &[], &config("world"))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("\"world\"") && err.contains("small"), "{err}");
}

/// A saved place on a loaded map is used; a saved place on a map that
/// is gone, or none, starts the player on the default map.
#[test]
fn joins_go_to_the_saved_map_or_the_default() {
    let mut w = worlds();
    let at = Position::new(2050.0, 2050.0);
    w.join(PlayerId(1), "ann".into(), Some(("world", at)));
    w.join(PlayerId(2), "bob".into(), Some(("gone", at)));
    w.join(PlayerId(3), "cat".into(), None);
    w.step();
    let map = |id| w.position(PlayerId(id)).map(|(m, _)| m.to_string());
    assert_eq!(map(1).as_deref(), Some("world"));
    assert_eq!(map(2).as_deref(), Some("small"));
    assert_eq!(map(3).as_deref(), Some("small"));
}

/// `ChangeMap` to an unknown map or the player's own is refused; to
/// another map it moves the player there, greeted with `MapChanged`.
#[test]
fn change_map_moves_between_worlds() {
    let mut w = worlds();
    w.join(PlayerId(1), "ann".into(), None);
    w.step();
    let id = PlayerId(1);
    assert_eq!(
        w.change_map(id, "nowhere"),
        Err(ChangeMapError::UnknownMap("nowhere".into()))
    );
    assert_eq!(
        w.change_map(id, "small"),
        Err(ChangeMapError::AlreadyThere("small".into()))
    );
    w.change_map(id, "world").unwrap();
    let out = w.step().outputs;
    assert_eq!(map_changes(&out), vec![(id, "world".to_owned())]);
    let (map, at) = w.position(id).unwrap();
    assert_eq!(map.as_ref(), "world");
    // The arrival is to be saved (after the old world's leave save).
    assert_eq!(w.take_arrivals(), vec![(id, map, at)]);
    assert!(w.take_arrivals().is_empty());
}

/// Removing a map sends its players to the default map; removing the
/// default map keeps it; worlds added later share the tick numbers.
#[test]
fn removals_and_additions() {
    let mut w = worlds();
    w.join(
        PlayerId(1),
        "ann".into(),
        Some(("world", Position::new(2050.0, 2050.0))),
    );
    w.step();
    w.step();
    let removed = MapEvent::Removed {
        name: "world".into(),
    };
    assert!(matches!(w.apply(&removed), Applied::Removed(1)));
    let out = w.step().outputs;
    assert_eq!(map_changes(&out), vec![(PlayerId(1), "small".to_owned())]);
    assert!(!w.live_maps().contains_key("world"));

    let default = MapEvent::Removed {
        name: "small".into(),
    };
    assert!(matches!(w.apply(&default), Applied::KeptDefault));
    assert!(w.live_maps().contains_key("small"));

    let back = MapEvent::Loaded(Arc::new(shipped("world")));
    assert!(matches!(w.apply(&back), Applied::Added));
    assert!(matches!(w.apply(&back), Applied::Unchanged));
    let out = w.step().outputs;
    assert!(
        out.iter().all(|(_, o)| o.tick == w.tick()),
        "one tick number"
    );
}
