//! The recorder thread and the replayer together, on real files in a
//! temporary directory: a world driven tick by tick as the tick thread
//! would drive it is recorded, replayed to a match (whole, up to a tick,
//! from a checkpoint), and a tampered tick, a file of another version and
//! a crash file each give the documented verdict.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use battlegrid_sim::testing::{Scenario, Walkers};
use battlegrid_sim::{MapSpec, Simulation};

use super::*;
use crate::record::format::{TickRecord, encode_block, write_preamble};
use crate::record::recorder::{RecorderSettings, run};
use crate::record::{Note, RecordingConfig, Switch};

const MAP: &str = "open";

fn args(file: &Path) -> ReplayArgs {
    ReplayArgs {
        file: file.to_owned(),
        until: None,
        from: None,
        dump: false,
        force: false,
    }
}

/// Records `ticks` ticks of 30 walkers, a checkpoint every 10 ticks and a
/// map swap at tick 25; with `fault_at`, that tick's step "panics" from an
/// injected fault. Returns the recording (None if none was written) and
/// the crash directory.
fn record(dir: &Path, ticks: u64, fault_at: Option<u64>) -> (Option<PathBuf>, PathBuf) {
    let config = RecordingConfig {
        maps: vec![MAP.into()],
        dir: Some(dir.join("recordings")),
        ..RecordingConfig::default()
    };
    let switch = Arc::new(Switch::new(config.dir_in(dir), &config));
    let (tx, rx) = std::sync::mpsc::sync_channel(64);
    let settings = RecorderSettings {
        crash_dir: dir.join("crash"),
        flight_ticks: 1200,
        tick_rate_hz: 20,
    };
    let thread = {
        let switch = Arc::clone(&switch);
        std::thread::spawn(move || run(rx, switch, settings))
    };
    let map: Arc<str> = Arc::from(MAP);
    let mut sim: Simulation = Scenario::open_map(512, 512, 4, 4)
        .players(30)
        .seed(9)
        .build();
    let mut walkers = Walkers::new(30, 4);
    walkers.start(&mut sim);
    let checkpoint = |sim: &Simulation, kind| Note::Checkpoint {
        map: Arc::clone(&map),
        kind,
        checkpoint: Box::new(sim.checkpoint()),
    };
    // The walkers' first intents are queued: step once before the stream
    // starts, as the tick thread does for a world it starts streaming.
    sim.step();
    tx.send(checkpoint(&sim, CheckpointKind::Fresh)).unwrap();
    for _ in 0..ticks {
        let mut events = Vec::new();
        if sim.tick() + 1 == 25 {
            let bigger = MapSpec::open(1024, 1024, 4, 4).unwrap();
            events.push(TickEvent::MapReplaced(
                battlegrid_sim::checkpoint::MapData::of(&bigger),
            ));
            sim.replace_map(bigger);
        }
        walkers.drive(&mut sim);
        let tick = sim.tick() + 1;
        let mut record = TickRecord {
            tick,
            events,
            inputs: sim.queued_inputs().to_vec(),
            outcome: Outcome::Ran {
                hash: 0,
                envelopes: 0,
            },
        };
        if fault_at == Some(tick) {
            record
                .events
                .push(TickEvent::InjectedFault("injected fault: boom".into()));
            record.outcome = Outcome::Panicked("injected fault: boom".into());
            tx.send(Note::Tick {
                map: Arc::clone(&map),
                record,
                output: None,
            })
            .unwrap();
            break;
        }
        let output = sim.step();
        tx.send(Note::Tick {
            map: Arc::clone(&map),
            record,
            output: Some(output),
        })
        .unwrap();
        if sim.tick().is_multiple_of(10) {
            tx.send(checkpoint(&sim, CheckpointKind::Periodic)).unwrap();
        }
    }
    drop(tx);
    thread.join().unwrap();
    let file = switch
        .status()
        .get("recording")
        .and_then(|r| r.get(MAP))
        .and_then(|s| s.get("file"))
        .and_then(|f| f.as_str())
        .map(PathBuf::from)
        .filter(|f| f.exists());
    (file, dir.join("crash"))
}

fn run_replay(args: &ReplayArgs) -> (Result<Verdict, ReplayError>, String) {
    let mut out = Vec::new();
    let verdict = replay(args, &mut out);
    (verdict, String::from_utf8(out).unwrap())
}

/// Rewrites `file` with `change` applied to every block.
fn rewrite(file: &Path, mut change: impl FnMut(&mut Block)) {
    let mut reader = Reader::new(std::fs::File::open(file).unwrap()).unwrap();
    let mut blocks = vec![Block::Header(reader.header().clone())];
    while let Some(block) = reader.next_block().unwrap() {
        blocks.push(block);
    }
    let mut bytes = Vec::new();
    write_preamble(&mut bytes).unwrap();
    for mut block in blocks {
        change(&mut block);
        encode_block(&block, &mut bytes).unwrap();
    }
    std::fs::write(file, bytes).unwrap();
}

/// A recording replays to a match: every tick's hash and every periodic
/// checkpoint's state, through a map swap; also up to a tick and from a
/// later checkpoint, and `--dump` lists the players.
#[test]
fn a_recording_replays_to_a_match() {
    let dir = tempfile::tempdir().unwrap();
    let (file, _) = record(dir.path(), 60, None);
    let file = file.expect("the recording was written");

    let (verdict, report) = run_replay(&args(&file));
    assert_eq!(
        verdict.unwrap(),
        Verdict::Matched {
            ticks: 60,
            panic: None
        },
        "{report}"
    );
    assert!(
        report.contains("ok: every tick's outputs match"),
        "{report}"
    );

    let until = ReplayArgs {
        until: Some(20),
        dump: true,
        ..args(&file)
    };
    let (verdict, report) = run_replay(&until);
    assert_eq!(
        verdict.unwrap(),
        Verdict::Matched {
            ticks: 18,
            panic: None
        },
        "{report}"
    );
    assert!(
        report.contains("players at tick 20 on map \"open\": 30"),
        "{report}"
    );

    let from = ReplayArgs {
        from: Some(45),
        ..args(&file)
    };
    let (verdict, report) = run_replay(&from);
    assert!(
        matches!(verdict.unwrap(), Verdict::Matched { .. }),
        "{report}"
    );
    assert!(
        report.contains("(41..=62)"),
        "starts at the checkpoint of tick 40: {report}"
    );
}

/// A recorded hash that the replay does not reproduce is a divergence at
/// exactly that tick (exit code 1).
#[test]
fn a_tampered_tick_diverges_there() {
    let dir = tempfile::tempdir().unwrap();
    let file = record(dir.path(), 30, None).0.unwrap();
    rewrite(&file, |block| {
        if let Block::Tick(TickRecord {
            tick: 17,
            outcome: Outcome::Ran { hash, .. },
            ..
        }) = block
        {
            *hash ^= 1;
        }
    });
    let (verdict, report) = run_replay(&args(&file));
    match verdict.unwrap() {
        Verdict::Diverged { tick: 17, what } => assert!(what.contains("output hash"), "{what}"),
        other => panic!("{other:?}\n{report}"),
    }
    assert!(report.contains("DIVERGED at tick 17"), "{report}");
    assert_eq!(main(args(&file)), 1);
}

/// A file of another simulation version is refused (exit 2) unless
/// forced, then replayed with a warning; another build of the same
/// versions only warns.
#[test]
fn other_versions_are_refused_or_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let file = record(dir.path(), 10, None).0.unwrap();
    rewrite(&file, |block| {
        if let Block::Header(h) = block {
            h.sim_version += 1;
        }
    });
    let (verdict, _) = run_replay(&args(&file));
    let err = verdict.unwrap_err();
    assert!(matches!(err, ReplayError::Incompatible(_)), "{err}");
    assert!(err.to_string().contains("--force"), "{err}");
    assert_eq!(main(args(&file)), 2);
    let forced = ReplayArgs {
        force: true,
        ..args(&file)
    };
    let (verdict, report) = run_replay(&forced);
    assert!(matches!(verdict.unwrap(), Verdict::Matched { .. }));
    assert!(
        report.contains("warning: recorded under protocol"),
        "{report}"
    );

    rewrite(&file, |block| {
        if let Block::Header(h) = block {
            h.sim_version -= 1;
            h.build = "0.0.1-other".into();
        }
    });
    let (verdict, report) = run_replay(&args(&file));
    assert!(matches!(verdict.unwrap(), Verdict::Matched { .. }));
    assert!(
        report.contains("warning: recorded by battlegrid 0.0.1-other"),
        "{report}"
    );
}

/// A panicked tick writes a crash file of the flight recorder; replaying
/// it reproduces the panic at the same tick (exit code 0).
#[test]
fn a_crash_file_reproduces_the_panic() {
    let dir = tempfile::tempdir().unwrap();
    let (_, crash_dir) = record(dir.path(), 40, Some(33));
    let crashes: Vec<_> = std::fs::read_dir(&crash_dir).unwrap().collect();
    assert_eq!(crashes.len(), 1);
    let crash = crashes[0].as_ref().unwrap().path();
    assert!(
        crash
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("open-")
    );
    let (verdict, report) = run_replay(&args(&crash));
    assert_eq!(
        verdict.unwrap(),
        Verdict::Matched {
            ticks: 31,
            panic: Some((33, "injected fault: boom".into()))
        },
        "{report}"
    );
    assert!(report.contains("crash file of map \"open\""), "{report}");
    assert!(report.contains("tick 33: panicked as recorded"), "{report}");
}

/// Damaged files are refused with the reader's error (exit code 2).
#[test]
fn damaged_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = record(dir.path(), 10, None).0.unwrap();
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() - 3]).unwrap();
    let err = run_replay(&args(&file)).0.unwrap_err();
    assert!(err.to_string().contains("truncated at byte"), "{err}");
    assert_eq!(main(args(&file)), 2);
    let mut damaged = bytes.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x40;
    std::fs::write(&file, &damaged).unwrap();
    let err = run_replay(&args(&file)).0.unwrap_err();
    assert!(err.to_string().contains("corrupted block"), "{err}");
}
