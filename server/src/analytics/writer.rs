//! The writer thread: drains the queue into event files.
//!
//! Lines collect in memory and go to the open file as one zstd frame at
//! least every `flush_ms` (sooner when a megabyte has collected), so a
//! crash loses at most that long; no fsync per frame, since the page cache
//! survives a killed process (a power cut may lose more, see
//! docs/ANALYTICS.md). A file is completed (fsync, then renamed from
//! `.open` to its final name) when the UTC hour changes, when it reaches
//! `rotate_bytes`, and at shutdown; then the retention rules run. At start,
//! [`recover`] completes `.open` files a crash left: torn last frame cut
//! off, the rest renamed.
//!
//! What it leaves out: events are never reordered or deduplicated; time
//! is each event's own stamp, not the write time.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime};

use super::AnalyticsStats;
use super::config::AnalyticsConfig;
use super::event::{Stamped, format_time};
use super::files::{COMPLETE_SUFFIX, EventFile, OPEN_SUFFIX, PREFIX, complete_prefix, list};

/// A frame is written early once this many bytes of lines collected.
const FRAME_MAX: usize = 1 << 20;

const HOUR_MS: u64 = 3_600_000;

/// The open file.
struct Current {
    file: File,
    open_path: PathBuf,
    final_path: PathBuf,
    /// Unix hour it was opened in.
    hour: u64,
    /// Bytes in it, all whole frames.
    bytes: u64,
}

/// The writer's state; [`Writer::run`] is the thread's body.
pub struct Writer {
    dir: PathBuf,
    config: AnalyticsConfig,
    stats: Arc<AnalyticsStats>,
    compressor: zstd::bulk::Compressor<'static>,
    current: Option<Current>,
    /// Lines not yet in the file, and how many events they hold.
    lines: Vec<u8>,
    pending: u64,
    /// The wall clock, unix milliseconds (tests move it).
    clock: fn() -> u64,
}

impl Writer {
    /// A writer into `dir` (created if missing), after completing what a
    /// crash left there and applying the retention rules once.
    pub fn new(
        dir: PathBuf,
        config: AnalyticsConfig,
        stats: Arc<AnalyticsStats>,
    ) -> io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        let recovered = recover(&dir)?;
        if recovered > 0 {
            tracing::warn!(files = recovered, dir = %dir.display(), "completed analytics files left open by a crash");
        }
        let mut compressor = zstd::bulk::Compressor::new(config.zstd_level)?;
        compressor.include_checksum(true)?;
        let writer = Self {
            dir,
            config,
            stats,
            compressor,
            current: None,
            lines: Vec::with_capacity(FRAME_MAX + 4096),
            pending: 0,
            clock: crate::auth::now_ms,
        };
        writer.apply_retention();
        Ok(writer)
    }

    /// Drains `queue` until `stop` is set (or every producer is gone),
    /// then writes what is left and completes the open file.
    pub fn run(mut self, queue: Receiver<Stamped>, stop: Arc<AtomicBool>) {
        let period = Duration::from_millis(self.config.flush_ms.max(1));
        let mut next_flush = Instant::now() + period;
        loop {
            let wait = next_flush.saturating_duration_since(Instant::now());
            match queue.recv_timeout(wait) {
                Ok(event) => {
                    self.add(&event);
                    if self.lines.len() >= FRAME_MAX {
                        self.flush();
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if Instant::now() >= next_flush {
                self.flush();
                next_flush = Instant::now() + period;
                if stop.load(Ordering::Relaxed) {
                    break;
                }
            }
        }
        for event in queue.try_iter() {
            self.add(&event);
        }
        self.flush();
        self.complete();
    }

    /// Adds one event's line to the frame being collected.
    pub fn add(&mut self, event: &Stamped) {
        event.write_line(&mut self.lines);
        self.pending += 1;
    }

    /// Writes the collected lines as one frame, rotating first when due.
    pub fn flush(&mut self) {
        let now = (self.clock)();
        if let Some(current) = &self.current
            && (current.hour != now / HOUR_MS || current.bytes >= self.config.rotate_bytes)
        {
            self.complete();
        }
        if self.lines.is_empty() {
            return;
        }
        let written = self.write_frame(now);
        let events = std::mem::take(&mut self.pending);
        match written {
            Ok(bytes) => {
                self.stats.written.fetch_add(events, Ordering::Relaxed);
                self.stats.bytes_written.fetch_add(bytes, Ordering::Relaxed);
            }
            Err(err) => {
                self.stats.write_errors.fetch_add(events, Ordering::Relaxed);
                tracing::warn!(%err, events, dir = %self.dir.display(), "analytics events lost: writing the file failed");
            }
        }
        self.lines.clear();
    }

    fn write_frame(&mut self, now: u64) -> io::Result<u64> {
        let frame = self.compressor.compress(&self.lines)?;
        if self.current.is_none() {
            self.current = Some(self.open(now)?);
        }
        let current = self.current.as_mut().expect("opened above");
        if let Err(err) = current.file.write_all(&frame) {
            // Cut a partial frame off so the file stays whole frames, and
            // start afresh with a new file next time.
            let _ = current.file.set_len(current.bytes);
            self.complete();
            return Err(err);
        }
        current.bytes += frame.len() as u64;
        Ok(frame.len() as u64)
    }

    fn open(&self, now: u64) -> io::Result<Current> {
        // Names sort by time; a name already taken (two files opened in
        // one millisecond) takes the next millisecond's.
        let mut n = 0;
        let (open_path, final_path) = loop {
            let name = format!("{PREFIX}{}", file_time(now + n));
            let final_path = self.dir.join(format!("{name}{COMPLETE_SUFFIX}"));
            let open_path = self.dir.join(format!("{name}{OPEN_SUFFIX}"));
            if !final_path.exists() && !open_path.exists() {
                break (open_path, final_path);
            }
            n += 1;
        };
        let file = File::options()
            .create_new(true)
            .append(true)
            .open(&open_path)?;
        Ok(Current {
            file,
            open_path,
            final_path,
            hour: now / HOUR_MS,
            bytes: 0,
        })
    }

    /// Completes the open file (if any): fsync, rename, retention.
    pub fn complete(&mut self) {
        let Some(current) = self.current.take() else {
            return;
        };
        let done = current
            .file
            .sync_all()
            .and_then(|()| std::fs::rename(&current.open_path, &current.final_path));
        if let Err(err) = done {
            tracing::warn!(%err, file = %current.open_path.display(), "completing an analytics file failed; it is completed at the next start");
        }
        self.apply_retention();
    }

    /// Deletes complete files older than `retention_hours`, then the oldest
    /// while everything together is above `retention_bytes`.
    fn apply_retention(&self) {
        let Ok(files) = list(&self.dir) else { return };
        let now = SystemTime::now();
        let max_age = Duration::from_secs(self.config.retention_hours.saturating_mul(3600));
        let mut sized: Vec<(EventFile, u64, bool)> = files
            .into_iter()
            .filter_map(|f| {
                let meta = std::fs::metadata(&f.path).ok()?;
                let old = meta
                    .modified()
                    .ok()
                    .and_then(|m| now.duration_since(m).ok())
                    .is_some_and(|age| age > max_age);
                Some((f, meta.len(), old))
            })
            .collect();
        let mut total: u64 = sized.iter().map(|(_, len, _)| len).sum();
        for (file, len, old) in &mut sized {
            if !file.complete {
                continue;
            }
            if *old || total > self.config.retention_bytes {
                if std::fs::remove_file(&file.path).is_ok() {
                    total -= *len;
                    self.stats.files_deleted.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(file = %file.path.display(), "analytics file deleted by the retention rules");
                }
                *old = false;
            }
        }
    }
}

/// Completes every `.open` file in `dir`: cuts off a torn last frame and
/// renames it to its complete name (an empty one is deleted). Returns how
/// many it completed.
pub fn recover(dir: &Path) -> io::Result<usize> {
    let mut done = 0;
    for file in list(dir)?.into_iter().filter(|f| !f.complete) {
        let bytes = std::fs::read(&file.path)?;
        let (len, _) = complete_prefix(&bytes);
        if len == 0 {
            std::fs::remove_file(&file.path)?;
            continue;
        }
        if len < bytes.len() {
            let handle = File::options().write(true).open(&file.path)?;
            handle.set_len(len as u64)?;
            handle.sync_all()?;
        }
        let name = file.path.to_string_lossy();
        let complete = PathBuf::from(format!(
            "{}{COMPLETE_SUFFIX}",
            &name[..name.len() - OPEN_SUFFIX.len()]
        ));
        std::fs::rename(&file.path, complete)?;
        done += 1;
    }
    Ok(done)
}

/// File-name form of a time: `20261202T094916.123Z` (no colons, sorts).
fn file_time(unix_ms: u64) -> String {
    format_time(unix_ms).replace(['-', ':'], "")
}

/// Starts the writer thread over `queue`; set `stop` and join the handle to
/// complete the open file.
pub fn spawn(
    writer: Writer,
    queue: Receiver<Stamped>,
    stop: Arc<AtomicBool>,
) -> io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("battlegrid-analytics".into())
        .spawn(move || writer.run(queue, stop))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;

    use super::*;
    use crate::analytics::event::Event;
    use crate::analytics::files::load;

    static NOW: AtomicU64 = AtomicU64::new(0);

    fn now() -> u64 {
        NOW.load(Ordering::Relaxed)
    }

    fn kick(account: u64) -> Stamped {
        Stamped {
            at_ms: now(),
            tick: Some(account),
            event: Event::Kick {
                account,
                reason: "test".into(),
            },
        }
    }

    fn writer(dir: &Path, config: AnalyticsConfig) -> Writer {
        let mut writer =
            Writer::new(dir.to_owned(), config, Arc::new(AnalyticsStats::default())).unwrap();
        writer.clock = now;
        writer
    }

    /// One test for the clock-driven cases, since they share the clock:
    /// hourly and size rotation, the open file readable while written, and
    /// completion by rename.
    #[test]
    fn rotates_by_hour_and_size_and_completes_by_rename() {
        let dir = tempfile::tempdir().unwrap();
        NOW.store(1_764_668_956_123, Ordering::Relaxed);
        let mut w = writer(
            dir.path(),
            AnalyticsConfig {
                rotate_bytes: 1 << 20,
                ..Default::default()
            },
        );
        w.add(&kick(1));
        w.flush();
        w.add(&kick(2));
        w.flush();
        let files = list(dir.path()).unwrap();
        assert_eq!(files.len(), 1);
        assert!(!files[0].complete, "still open");
        assert_eq!(
            load(dir.path(), None).unwrap().records.len(),
            2,
            "the open file reads"
        );
        // Next hour: the first file is completed, a second one opened.
        NOW.fetch_add(HOUR_MS, Ordering::Relaxed);
        w.add(&kick(3));
        w.flush();
        let files = list(dir.path()).unwrap();
        assert_eq!(
            files.iter().map(|f| f.complete).collect::<Vec<_>>(),
            [true, false]
        );
        assert!(
            files[0]
                .path
                .to_string_lossy()
                .contains("events-20251202T094916.123Z")
        );
        // A tiny size limit completes a file at every flush.
        w.config.rotate_bytes = 1;
        for n in 4..7 {
            w.add(&kick(n));
            w.flush();
            NOW.fetch_add(1, Ordering::Relaxed);
        }
        w.complete();
        let files = list(dir.path()).unwrap();
        assert!(files.iter().all(|f| f.complete));
        assert_eq!(files.len(), 5);
        let loaded = load(dir.path(), None).unwrap();
        let ticks: Vec<_> = loaded.records.iter().map(|r| r.tick.unwrap()).collect();
        assert_eq!(ticks, [1, 2, 3, 4, 5, 6]);
        assert_eq!(loaded.torn_bytes, 0);

        // Retention by size keeps the newest files that fit.
        let sizes: Vec<u64> = files
            .iter()
            .map(|f| std::fs::metadata(&f.path).unwrap().len())
            .collect();
        w.config.retention_bytes = sizes[3] + sizes[4];
        w.apply_retention();
        let kept = list(dir.path()).unwrap();
        assert_eq!(kept, files[3..].to_vec());
        // Retention by age: everything written is older than 0 hours.
        std::thread::sleep(Duration::from_millis(20));
        w.config.retention_hours = 0;
        w.apply_retention();
        assert!(list(dir.path()).unwrap().is_empty());
    }

    /// A file torn by a crash mid-frame reads up to its last whole frame,
    /// and the next writer completes it under its final name.
    #[test]
    fn recovery_cuts_a_torn_frame_and_renames() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Writer::new(
            dir.path().to_owned(),
            AnalyticsConfig::default(),
            Arc::default(),
        )
        .unwrap();
        w.add(&kick(1));
        w.flush();
        w.add(&kick(2));
        w.flush();
        let open = list(dir.path()).unwrap().remove(0);
        drop(w); // as a SIGKILL would: no completion
        let mut file = File::options().append(true).open(&open.path).unwrap();
        let torn = zstd::bulk::compress(b"{\"v\":1}\n", 3).unwrap();
        file.write_all(&torn[..torn.len() / 2]).unwrap();
        let loaded = load(dir.path(), None).unwrap();
        assert_eq!(loaded.records.len(), 2);
        assert_eq!(loaded.torn_bytes, torn.len() / 2);
        // An empty open file is simply removed.
        std::fs::write(dir.path().join("events-x.ndjson.zst.open"), b"").unwrap();
        let _w = Writer::new(
            dir.path().to_owned(),
            AnalyticsConfig::default(),
            Arc::default(),
        )
        .unwrap();
        let files = list(dir.path()).unwrap();
        assert_eq!(files.len(), 1);
        assert!(files[0].complete);
        let bytes = std::fs::read(&files[0].path).unwrap();
        let whole = zstd::stream::decode_all(&bytes[..]).unwrap();
        assert_eq!(
            whole.iter().filter(|&&b| b == b'\n').count(),
            2,
            "a plain zstd reader reads it"
        );
    }

    /// Stopping writes what is queued and completes the file.
    #[test]
    fn stop_drains_and_completes() {
        let dir = tempfile::tempdir().unwrap();
        let stats = Arc::new(AnalyticsStats::default());
        let (analytics, queue) =
            crate::analytics::Analytics::channel(100, false, Arc::clone(&stats));
        let w = Writer::new(
            dir.path().to_owned(),
            AnalyticsConfig {
                flush_ms: 5,
                ..Default::default()
            },
            Arc::clone(&stats),
        )
        .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = spawn(w, queue, Arc::clone(&stop)).unwrap();
        for account in 0..50 {
            analytics.emit(
                None,
                Event::Kick {
                    account,
                    reason: String::new(),
                },
            );
        }
        stop.store(true, Ordering::Relaxed);
        thread.join().unwrap();
        assert_eq!(stats.written.load(Ordering::Relaxed), 50);
        let files = list(dir.path()).unwrap();
        assert!(files.iter().all(|f| f.complete));
        assert_eq!(load(dir.path(), None).unwrap().records.len(), 50);
    }
}
