//! The event files on disk and how to read them back.
//!
//! A file is a sequence of zstd frames, each holding whole NDJSON lines
//! (the writer ends a frame at every flush). Concatenated frames are one
//! valid zstd stream, so any zstd reader (DuckDB, `zstdcat`) reads a
//! complete file. Complete files are named `events-<UTC start>.ndjson.zst`;
//! the file being written has `.open` appended and becomes complete by
//! rename. A crash can leave a torn last frame in an `.open` file only:
//! [`complete_prefix`] finds where the last whole frame ends, which is how
//! both the reader here and the writer's recovery at start cut it off.

use std::io;
use std::path::{Path, PathBuf};

use super::event::{Record, parse_time};

/// Suffix of a complete event file.
pub const COMPLETE_SUFFIX: &str = ".ndjson.zst";
/// Suffix of the file being written.
pub const OPEN_SUFFIX: &str = ".ndjson.zst.open";
/// Prefix of every event file.
pub const PREFIX: &str = "events-";

/// One event file in the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFile {
    /// Its path.
    pub path: PathBuf,
    /// `false` for the `.open` file being written (or left by a crash).
    pub complete: bool,
}

/// The event files of `dir`, oldest first (names sort by start time). A
/// missing directory has none.
pub fn list(dir: &Path) -> io::Result<Vec<EventFile>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name.starts_with(PREFIX) {
            continue;
        }
        let complete = if name.ends_with(COMPLETE_SUFFIX) {
            true
        } else if name.ends_with(OPEN_SUFFIX) {
            false
        } else {
            continue;
        };
        files.push(EventFile {
            path: entry.path(),
            complete,
        });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// The length of the longest prefix of `bytes` made of whole, valid zstd
/// frames, and their decompressed content.
pub fn complete_prefix(bytes: &[u8]) -> (usize, Vec<u8>) {
    let mut at = 0;
    let mut content = Vec::new();
    while at < bytes.len() {
        let Ok(len) = zstd::zstd_safe::find_frame_compressed_size(&bytes[at..]) else {
            break;
        };
        // The frame's checksum is checked while decoding.
        match zstd::stream::decode_all(&bytes[at..at + len]) {
            Ok(mut frame) => content.append(&mut frame),
            Err(_) => break,
        }
        at += len;
    }
    (at, content)
}

/// What reading files found.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The events, file by file in order.
    pub records: Vec<Record>,
    /// Files read.
    pub files: usize,
    /// Lines that were not events of this schema (skipped).
    pub bad_lines: usize,
    /// Bytes after the last whole frame of `.open` files (a write in
    /// progress, or torn by a crash), skipped.
    pub torn_bytes: usize,
}

/// Reads every event of `dir` (complete files and the open one) whose time
/// is at or after `since_ms`.
pub fn load(dir: &Path, since_ms: Option<u64>) -> io::Result<Loaded> {
    let mut loaded = Loaded::default();
    for file in list(dir)? {
        let bytes = match std::fs::read(&file.path) {
            Ok(bytes) => bytes,
            // Rotated or deleted by the running server meanwhile.
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            Err(err) => return Err(err),
        };
        let (len, content) = complete_prefix(&bytes);
        loaded.torn_bytes += bytes.len() - len;
        loaded.files += 1;
        for line in content.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            match serde_json::from_slice::<Record>(line) {
                Ok(record) => {
                    let keep = since_ms
                        .is_none_or(|since| parse_time(&record.time).is_some_and(|at| at >= since));
                    if keep {
                        loaded.records.push(record);
                    }
                }
                Err(_) => loaded.bad_lines += 1,
            }
        }
    }
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whole frames are kept, a torn last frame is cut off, and garbage
    /// after whole frames does not hide them.
    #[test]
    fn complete_prefix_stops_at_a_torn_frame() {
        let one = zstd::bulk::compress(b"{\"a\":1}\n", 3).unwrap();
        let two = zstd::bulk::compress(b"{\"a\":2}\n", 3).unwrap();
        let mut bytes = [one.clone(), two.clone()].concat();
        assert_eq!(
            complete_prefix(&bytes),
            (bytes.len(), b"{\"a\":1}\n{\"a\":2}\n".to_vec())
        );
        bytes.truncate(one.len() + two.len() - 3);
        assert_eq!(
            complete_prefix(&bytes),
            (one.len(), b"{\"a\":1}\n".to_vec())
        );
        let garbage = [one.clone(), vec![0xFF; 20]].concat();
        assert_eq!(complete_prefix(&garbage).0, one.len());
        assert_eq!(complete_prefix(&[]).0, 0);
    }
}
