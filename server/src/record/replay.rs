//! `battlegrid replay FILE`: runs a recording through the same
//! `Simulation` the server runs and checks, tick by tick, the hash of the
//! outputs against the recorded one, and at every periodic checkpoint the
//! whole state. It reports the first difference, if any.
//!
//! Exit codes: 0 when every tick matched (and a recorded panic happened
//! again at the same tick with the same message), 1 on the first
//! divergence, 2 when the file cannot be replayed (unreadable, damaged,
//! or recorded under another protocol or simulation version without
//! `--force`).

use std::fs::File;
use std::io::{BufReader, Write};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::time::Instant;

use battlegrid_sim::{Checkpoint, CheckpointError, SIM_VERSION, Simulation};

use super::format::{
    Block, CheckpointKind, FileKind, FormatError, Header, Outcome, Reader, TickEvent, output_hash,
};
use crate::game::worlds::panic_message;

/// `battlegrid replay`'s arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct ReplayArgs {
    /// The recording or crash file (.bgrec).
    pub file: PathBuf,
    /// Stop after this tick.
    #[arg(long, value_name = "TICK")]
    pub until: Option<u64>,
    /// Start at the last checkpoint at or before this tick (default: the
    /// file's first checkpoint).
    #[arg(long, value_name = "TICK")]
    pub from: Option<u64>,
    /// Print the world's players at the last tick replayed.
    #[arg(long)]
    pub dump: bool,
    /// Replay a file of another protocol or simulation version anyway (its
    /// outputs are still compared; a difference then says nothing about
    /// this build).
    #[arg(long)]
    pub force: bool,
}

/// How a replay ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every tick matched.
    Matched {
        /// Ticks replayed.
        ticks: u64,
        /// The recorded panic that happened again: tick and message.
        panic: Option<(u64, String)>,
    },
    /// The first difference.
    Diverged {
        /// Its tick.
        tick: u64,
        /// What differs.
        what: String,
    },
}

/// Why a file cannot be replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// Opening the file failed.
    #[error("opening {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is damaged or not a recording.
    #[error("{0}")]
    Format(#[from] FormatError),
    /// A checkpoint is inconsistent.
    #[error("tick {tick}: the checkpoint cannot be replayed: {source}")]
    Checkpoint {
        /// Its tick.
        tick: u64,
        /// Why.
        source: CheckpointError,
    },
    /// The recording's map swap is invalid.
    #[error("tick {tick}: the recorded map swap cannot be replayed: {source}")]
    Map {
        /// Its tick.
        tick: u64,
        /// Why.
        source: CheckpointError,
    },
    /// Ticks do not follow on.
    #[error("tick {got} follows tick {expected_after} in the file: the recording has a gap")]
    Gap {
        /// The tick found.
        got: u64,
        /// The tick before it.
        expected_after: u64,
    },
    /// Another protocol or simulation version, without `--force`.
    #[error("{0} (--force replays it anyway)")]
    Incompatible(String),
    /// Writing the report failed.
    #[error("writing the report: {0}")]
    Report(#[from] std::io::Error),
}

/// Runs the command; returns the process's exit code.
pub fn main(args: ReplayArgs) -> i32 {
    let mut out = std::io::stdout().lock();
    match replay(&args, &mut out) {
        Ok(Verdict::Matched { .. }) => 0,
        Ok(Verdict::Diverged { .. }) => 1,
        Err(err) => {
            let _ = out.flush();
            eprintln!("error: {}: {err}", args.file.display());
            2
        }
    }
}

/// Replays `args.file`, reporting to `out`.
pub fn replay(args: &ReplayArgs, out: &mut impl Write) -> Result<Verdict, ReplayError> {
    let file = File::open(&args.file).map_err(|source| ReplayError::Open {
        path: args.file.clone(),
        source,
    })?;
    let mut reader = Reader::new(BufReader::with_capacity(1 << 20, file))?;
    let header = reader.header().clone();
    describe(&header, &args.file, out)?;
    check_versions(&header, args.force, out)?;
    let start_at = match args.from {
        Some(from) => Some(start_checkpoint(&args.file, from)?),
        None => None,
    };

    let mut sim: Option<Simulation> = None;
    let mut ticks = 0u64;
    let mut first_tick = None;
    let mut panic = None;
    let started = Instant::now();
    let verdict = loop {
        let Some(block) = reader.next_block()? else {
            break None;
        };
        match block {
            Block::Header(_) => {}
            Block::End { .. } => {}
            Block::Checkpoint(kind, checkpoint) => {
                let restart = match &sim {
                    None if start_at.is_some_and(|start| checkpoint.tick < start) => false,
                    None => true,
                    Some(_) if kind == CheckpointKind::Fresh => {
                        writeln!(
                            out,
                            "tick {}: the world starts over from a fresh checkpoint (rebuilt after a panic, or the stream resumed)",
                            checkpoint.tick
                        )?;
                        true
                    }
                    Some(running) => {
                        if let Some(what) = state_difference(&running.checkpoint(), &checkpoint) {
                            break Some(Verdict::Diverged {
                                tick: checkpoint.tick,
                                what: format!(
                                    "the state after the tick differs from the recorded checkpoint: {what}"
                                ),
                            });
                        }
                        false
                    }
                };
                if restart {
                    let tick = checkpoint.tick;
                    sim = Some(
                        Simulation::from_checkpoint(&checkpoint)
                            .map_err(|source| ReplayError::Checkpoint { tick, source })?,
                    );
                }
            }
            Block::Tick(record) => {
                let Some(running) = &mut sim else {
                    continue;
                };
                if args.until.is_some_and(|until| record.tick > until) {
                    break None;
                }
                if record.tick != running.tick() + 1 {
                    return Err(ReplayError::Gap {
                        got: record.tick,
                        expected_after: running.tick(),
                    });
                }
                first_tick.get_or_insert(record.tick);
                let tick = record.tick;
                let mut injected = None;
                for event in record.events {
                    match event {
                        TickEvent::MapReplaced(map) => {
                            let spec = map
                                .to_spec()
                                .map_err(|source| ReplayError::Map { tick, source })?;
                            running.replace_map(spec);
                        }
                        TickEvent::InjectedFault(message) => injected = Some(message),
                    }
                }
                for input in record.inputs {
                    running.push(input);
                }
                // A recorded injected fault fires again here, where the
                // server's step wrapper raised it.
                let stepped = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    if let Some(message) = &injected {
                        panic!("{message}");
                    }
                    running.step()
                }));
                ticks += 1;
                let what = match (stepped, record.outcome) {
                    (Ok(output), Outcome::Ran { hash, .. }) => {
                        let got = output_hash(&output);
                        (got != hash)
                            .then(|| format!("output hash {got:016x}, recorded {hash:016x}"))
                    }
                    (Err(payload), Outcome::Panicked(recorded)) => {
                        let message = panic_message(payload.as_ref());
                        // A panicked world is rebuilt (a fresh checkpoint
                        // follows, if the file goes on).
                        sim = None;
                        if message == recorded {
                            writeln!(out, "tick {tick}: panicked as recorded: {message}")?;
                            panic = Some((tick, message));
                            None
                        } else {
                            Some(format!(
                                "panicked with {message:?}; the recorded panic was {recorded:?}"
                            ))
                        }
                    }
                    (Ok(_), Outcome::Panicked(recorded)) => {
                        Some(format!("the recorded panic did not happen: {recorded:?}"))
                    }
                    (Err(payload), Outcome::Ran { .. }) => {
                        sim = None;
                        Some(format!(
                            "panicked with {:?}; the recorded tick ran",
                            panic_message(payload.as_ref())
                        ))
                    }
                };
                if let Some(what) = what {
                    break Some(Verdict::Diverged { tick, what });
                }
            }
        }
    };
    let elapsed = started.elapsed().as_secs_f64();
    if let Some(first) = first_tick {
        let last = first + ticks.saturating_sub(1);
        let rate = ticks as f64 / elapsed.max(1e-9);
        writeln!(
            out,
            "replayed {ticks} ticks ({first}..={last}) in {elapsed:.3} s: {rate:.0} ticks/s, {:.1}x real time at {} Hz",
            rate / f64::from(header.tick_rate_hz.max(1)),
            header.tick_rate_hz
        )?;
    } else {
        writeln!(out, "replayed 0 ticks")?;
    }
    if args.dump {
        dump(sim.as_ref(), out)?;
    }
    let verdict = verdict.unwrap_or(Verdict::Matched { ticks, panic });
    match &verdict {
        Verdict::Matched { panic: None, .. } => {
            writeln!(out, "ok: every tick's outputs match the recording")?;
        }
        Verdict::Matched {
            panic: Some((tick, message)),
            ..
        } => writeln!(
            out,
            "ok: every tick's outputs match the recording, and the recorded panic happened again at tick {tick}: {message}"
        )?,
        Verdict::Diverged { tick, what } => {
            writeln!(out, "DIVERGED at tick {tick}: {what}")?;
        }
    }
    Ok(verdict)
}

/// The tick of the last checkpoint at or before `from` in `path` (the
/// first checkpoint's if none is): one pass that decodes without
/// simulating.
fn start_checkpoint(path: &Path, from: u64) -> Result<u64, ReplayError> {
    let file = File::open(path).map_err(|source| ReplayError::Open {
        path: path.to_owned(),
        source,
    })?;
    let mut reader = Reader::new(BufReader::with_capacity(1 << 20, file))?;
    let mut start = None;
    while let Some(block) = reader.next_block()? {
        if let Block::Checkpoint(_, checkpoint) = block {
            if checkpoint.tick > from {
                return Ok(start.unwrap_or(checkpoint.tick));
            }
            start = Some(checkpoint.tick);
        }
    }
    Ok(start.unwrap_or(0))
}

fn describe(header: &Header, path: &Path, out: &mut impl Write) -> std::io::Result<()> {
    let kind = match header.kind {
        FileKind::Recording => "recording",
        FileKind::Crash => "crash file",
    };
    writeln!(
        out,
        "{}: {kind} of map {:?}, written by battlegrid {} (protocol {}, simulation {}) at {} ms since the epoch",
        path.display(),
        header.map,
        header.build,
        header.protocol_version,
        header.sim_version,
        header.created_unix_ms
    )
}

/// Refuses (or, with `force`, warns about) a file of other versions; warns
/// about another build of the same versions.
fn check_versions(header: &Header, force: bool, out: &mut impl Write) -> Result<(), ReplayError> {
    let protocol = battlegrid_protocol::PROTOCOL_VERSION;
    if header.protocol_version != protocol || header.sim_version != SIM_VERSION {
        let why = format!(
            "recorded under protocol {} and simulation {}, this build has protocol {protocol} and \
             simulation {SIM_VERSION}: the same inputs need not give the same outputs",
            header.protocol_version, header.sim_version
        );
        if !force {
            return Err(ReplayError::Incompatible(why));
        }
        writeln!(
            out,
            "warning: {why}; replaying anyway (--force), so a difference below may come from the versions"
        )?;
    } else if header.build != env!("CARGO_PKG_VERSION") {
        writeln!(
            out,
            "warning: recorded by battlegrid {}, this is {}; protocol and simulation versions are the same, so every tick must match",
            header.build,
            env!("CARGO_PKG_VERSION")
        )?;
    }
    Ok(())
}

/// What first differs between a replayed state and a recorded one.
fn state_difference(replayed: &Checkpoint, recorded: &Checkpoint) -> Option<String> {
    if replayed == recorded {
        return None;
    }
    if replayed.tick != recorded.tick {
        return Some(format!("tick {} against {}", replayed.tick, recorded.tick));
    }
    if replayed.rng != recorded.rng {
        return Some("the random stream is elsewhere".into());
    }
    if replayed.map != recorded.map {
        return Some("the map differs".into());
    }
    let players = |c: &Checkpoint| c.regions.iter().flatten().cloned().collect::<Vec<_>>();
    let (a, b) = (players(replayed), players(recorded));
    if a.len() != b.len() {
        return Some(format!("{} players against {}", a.len(), b.len()));
    }
    for (a, b) in a.iter().zip(&b) {
        if a != b {
            return Some(format!("player {}: {a:?} against {b:?}", b.id.0));
        }
    }
    Some("settings or pending map notices differ".into())
}

/// Prints every player of `sim`, by id.
fn dump(sim: Option<&Simulation>, out: &mut impl Write) -> std::io::Result<()> {
    let Some(sim) = sim else {
        return writeln!(out, "no world to dump (the last tick replayed panicked)");
    };
    let checkpoint = sim.checkpoint();
    let mut players: Vec<_> = checkpoint.regions.iter().flatten().collect();
    players.sort_by_key(|p| p.id);
    writeln!(
        out,
        "players at tick {} on map {:?}: {}",
        checkpoint.tick,
        checkpoint.map.name,
        players.len()
    )?;
    writeln!(out, "id\tname\tx\ty\tregion\tseq")?;
    for p in players {
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}",
            p.id.0, p.name, p.position.x, p.position.y, p.region.0, p.seq
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
