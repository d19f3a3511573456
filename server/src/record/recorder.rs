//! The recorder thread: turns the tick thread's notes into blocks, keeps
//! every world's flight recorder (the last seconds as checkpoints plus
//! ticks, encoded, in memory), writes the files of the maps that record,
//! and writes a crash file when a world's tick panicked.
//!
//! The flight recorder of a world is a ring of segments, each a checkpoint
//! and the ticks after it; the oldest segment is dropped once the next one
//! alone covers the window, so the ring always holds at least
//! `flight_recorder_secs` (and at most that plus one checkpoint interval).
//! A crash file is written on the panicked tick's note, before the note of
//! the rebuilt world's checkpoint is even read: it holds the ring as it was
//! when the world failed, ending with the panicked tick.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use super::format::{
    Block, CheckpointKind, FileKind, Header, Outcome, encode_block, output_hash, write_preamble,
};
use super::{Note, Switch, unix_ms};

/// Where the recorder writes, and how much it keeps.
#[derive(Debug, Clone)]
pub struct RecorderSettings {
    /// Crash files go here (`<data>/crash`).
    pub crash_dir: PathBuf,
    /// Ticks the flight recorder keeps per world; 0 keeps none.
    pub flight_ticks: u64,
    /// Ticks per second (for headers).
    pub tick_rate_hz: u16,
}

/// A checkpoint and the ticks after it, as encoded blocks.
#[derive(Debug)]
struct Segment {
    first_tick: u64,
    blocks: Vec<Vec<u8>>,
}

/// An open recording.
struct FileOut {
    path: PathBuf,
    out: BufWriter<File>,
    ticks: u64,
}

/// One world's state on the recorder thread.
#[derive(Default)]
struct Track {
    flight: VecDeque<Segment>,
    file: Option<FileOut>,
    /// The last tick (or checkpoint) seen: notes must follow on.
    last_tick: Option<u64>,
    /// The checkpoint block, while no tick has followed it yet: where a
    /// file can start.
    checkpoint: Option<Vec<u8>>,
}

/// Runs the recorder until every sender of `notes` is gone, then closes
/// every open file properly.
pub fn run(notes: Receiver<Note>, switch: Arc<Switch>, settings: RecorderSettings) {
    let mut recorder = Recorder {
        switch,
        settings,
        tracks: HashMap::new(),
    };
    loop {
        match notes.recv_timeout(Duration::from_millis(200)) {
            Ok(note) => recorder.note(note),
            Err(RecvTimeoutError::Timeout) => recorder.idle(),
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    for (map, track) in &mut recorder.tracks {
        recorder_close(&recorder.switch, map, track);
    }
}

struct Recorder {
    switch: Arc<Switch>,
    settings: RecorderSettings,
    tracks: HashMap<Arc<str>, Track>,
}

impl Recorder {
    fn note(&mut self, note: Note) {
        match note {
            Note::Checkpoint {
                map,
                kind,
                checkpoint,
            } => {
                let tick = checkpoint.tick;
                let Some(block) = encode(&Block::Checkpoint(kind, checkpoint)) else {
                    return;
                };
                let track = self.tracks.entry(Arc::clone(&map)).or_default();
                if kind == CheckpointKind::Periodic && track.last_tick != Some(tick) {
                    // Not continuous with what was seen: cannot happen by the
                    // tick thread's rules; keep nothing that would mislead.
                    tracing::warn!(map = %map, tick, "recorder: checkpoint out of sequence");
                }
                track.last_tick = Some(tick);
                track.checkpoint = Some(block.clone());
                if self.settings.flight_ticks > 0 {
                    track.flight.push_back(Segment {
                        first_tick: tick,
                        blocks: vec![block.clone()],
                    });
                    let keep_from = tick.saturating_sub(self.settings.flight_ticks);
                    while track.flight.len() > 1 && track.flight[1].first_tick <= keep_from {
                        track.flight.pop_front();
                    }
                }
                // An open file continues; a file to start starts with this
                // block (`sync_file`).
                if let Some(file) = &mut track.file {
                    let written = file.out.write_all(&block).and_then(|()| file.out.flush());
                    if let Err(err) = written {
                        let (path, why) = (file.path.clone(), format!("writing: {err}"));
                        track.file = None;
                        self.fail(&map, &path, why);
                    }
                }
                self.sync_file(&map);
            }
            Note::Tick {
                map,
                mut record,
                output,
            } => {
                let Some(track) = self.tracks.get_mut(&map) else {
                    return;
                };
                if track.last_tick.map(|t| t + 1) != Some(record.tick) {
                    tracing::warn!(map = %map, tick = record.tick, "recorder: tick out of sequence, dropped");
                    return;
                }
                track.last_tick = Some(record.tick);
                track.checkpoint = None;
                if let Some(output) = &output {
                    record.outcome = Outcome::Ran {
                        hash: output_hash(output),
                        envelopes: output.outbox.len() as u32,
                    };
                }
                let panicked = match &record.outcome {
                    Outcome::Panicked(why) => Some(why.clone()),
                    Outcome::Ran { .. } => None,
                };
                let tick = record.tick;
                let Some(block) = encode(&Block::Tick(record)) else {
                    return;
                };
                if let Some(segment) = track.flight.back_mut() {
                    segment.blocks.push(block.clone());
                }
                if let Some(file) = &mut track.file {
                    match file.out.write_all(&block) {
                        Ok(()) => file.ticks += 1,
                        Err(err) => {
                            let (path, why) = (file.path.clone(), format!("writing: {err}"));
                            track.file = None;
                            self.fail(&map, &path, why);
                        }
                    }
                }
                if let Some(why) = panicked {
                    self.crash_dump(&map, tick, &why);
                }
                self.sync_file(&map);
            }
            Note::Closed { map } => {
                if let Some(mut track) = self.tracks.remove(&map) {
                    let file = track.file.as_ref().map(|f| f.path.clone());
                    recorder_close(&self.switch, &map, &mut track);
                    // The recording ends with its world; a world of the same
                    // name later is a new story (and must not overwrite it).
                    if file.is_some() && self.switch.target(&map) == file {
                        self.switch.stop(&map);
                    }
                }
            }
        }
    }

    /// Between notes: closes files whose recording was switched off, and
    /// flushes the others.
    fn idle(&mut self) {
        let maps: Vec<Arc<str>> = self.tracks.keys().cloned().collect();
        for map in maps {
            self.sync_file(&map);
            if let Some(track) = self.tracks.get_mut(&map)
                && let Some(file) = &mut track.file
                && let Err(err) = file.out.flush()
            {
                let (path, why) = (file.path.clone(), format!("writing: {err}"));
                track.file = None;
                self.fail(&map, &path, why);
            }
        }
    }

    /// Opens or closes `map`'s file as the switch says. A file opens only
    /// on a checkpoint (the last block of the ring's newest segment).
    fn sync_file(&mut self, map: &Arc<str>) {
        let target = self.switch.target(map);
        let Some(track) = self.tracks.get_mut(map) else {
            return;
        };
        if let Some(file) = &track.file
            && target.as_ref() != Some(&file.path)
        {
            recorder_close(&self.switch, map, track);
        }
        let Some(path) = target else {
            return;
        };
        if track.file.is_some() {
            return;
        }
        // Only right after a checkpoint (requested when the switch went on).
        let Some(checkpoint) = &track.checkpoint else {
            return;
        };
        let tick_rate_hz = self.settings.tick_rate_hz;
        match open(&path, map, FileKind::Recording, tick_rate_hz, checkpoint) {
            Ok(out) => {
                tracing::info!(map = %map, file = %path.display(), "recording started");
                self.switch.update(map, &path, |s| s.started = true);
                track.file = Some(FileOut {
                    path,
                    out,
                    ticks: 0,
                });
            }
            Err(err) => self.fail(map, &path, format!("creating the file: {err}")),
        }
    }

    fn fail(&self, map: &str, path: &Path, why: String) {
        tracing::error!(map, file = %path.display(), why, "recording stopped");
        self.switch.failed(map, path, why);
    }

    /// Writes `map`'s flight recorder to `<crash_dir>/<map>-<unix ms>.bgrec`.
    fn crash_dump(&self, map: &str, tick: u64, why: &str) {
        let Some(track) = self.tracks.get(map) else {
            return;
        };
        if track.flight.is_empty() {
            tracing::warn!(map, tick, "no flight recorder data for a crash file");
            return;
        }
        let path = self
            .settings
            .crash_dir
            .join(format!("{map}-{}.bgrec", unix_ms()));
        let written = (|| -> std::io::Result<u64> {
            std::fs::create_dir_all(&self.settings.crash_dir)?;
            let mut out = BufWriter::new(File::create(&path)?);
            write_preamble(&mut out)?;
            write_header(&mut out, map, FileKind::Crash, self.settings.tick_rate_hz)?;
            let mut ticks = 0;
            for segment in &track.flight {
                for block in &segment.blocks {
                    out.write_all(block)?;
                }
                ticks += segment.blocks.len() as u64 - 1;
            }
            out.write_all(&encode(&Block::End { ticks }).unwrap_or_default())?;
            out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
            Ok(ticks)
        })();
        match written {
            Ok(ticks) => tracing::error!(
                map, tick, why, ticks, file = %path.display(),
                "crash file written (battlegrid replay FILE reproduces the panic)"
            ),
            Err(err) => {
                tracing::error!(map, tick, %err, file = %path.display(), "writing the crash file failed")
            }
        }
    }
}

/// Finishes `track`'s file, if open: end block, flush, fsync.
fn recorder_close(switch: &Switch, map: &str, track: &mut Track) {
    let Some(mut file) = track.file.take() else {
        return;
    };
    let end = encode(&Block::End { ticks: file.ticks }).unwrap_or_default();
    let closed = file
        .out
        .write_all(&end)
        .and_then(|()| file.out.flush())
        .and_then(|()| file.out.get_ref().sync_all());
    match closed {
        Ok(()) => {
            tracing::info!(map, file = %file.path.display(), ticks = file.ticks, "recording finished");
            switch.update(map, &file.path, |s| s.ticks = file.ticks);
        }
        Err(err) => {
            tracing::error!(map, file = %file.path.display(), %err, "finishing the recording failed");
            switch.update(map, &file.path, |s| {
                s.error = Some(format!("finishing: {err}"))
            });
        }
    }
}

/// Creates a recording file with its header and first checkpoint block.
fn open(
    path: &Path,
    map: &str,
    kind: FileKind,
    tick_rate_hz: u16,
    checkpoint: &[u8],
) -> std::io::Result<BufWriter<File>> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut out = BufWriter::with_capacity(256 * 1024, File::create(path)?);
    write_preamble(&mut out)?;
    write_header(&mut out, map, kind, tick_rate_hz)?;
    out.write_all(checkpoint)?;
    out.flush()?;
    Ok(out)
}

fn write_header(
    out: &mut impl Write,
    map: &str,
    kind: FileKind,
    tick_rate_hz: u16,
) -> std::io::Result<()> {
    let header = Block::Header(Header {
        protocol_version: battlegrid_protocol::PROTOCOL_VERSION,
        sim_version: battlegrid_sim::SIM_VERSION,
        build: env!("CARGO_PKG_VERSION").to_owned(),
        map: map.to_owned(),
        created_unix_ms: unix_ms(),
        kind,
        tick_rate_hz,
    });
    out.write_all(&encode(&header).unwrap_or_default())
}

/// `block` framed; `None` (logged) if it does not encode, which plain data
/// under the record limit always does.
fn encode(block: &Block) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    match encode_block(block, &mut bytes) {
        Ok(()) => Some(bytes),
        Err(err) => {
            tracing::error!(%err, "recorder: a block does not encode; dropped");
            None
        }
    }
}
