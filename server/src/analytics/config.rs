//! `[analytics]`: where event files go, how they rotate and expire, the
//! queue's size, the position sampling period and the texts switch.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The analytics pipeline's settings (docs/API.md lists them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalyticsConfig {
    /// Record events at all. Default `true`.
    pub enabled: bool,
    /// Directory of the event files. Default `<data>/analytics`.
    pub dir: Option<PathBuf>,
    /// Events the queue holds before new ones are dropped. Default 65,536.
    pub queue_capacity: usize,
    /// Longest time an event waits in memory before it is in the file, in
    /// milliseconds (a crash loses at most this much). Default 1,000.
    pub flush_ms: u64,
    /// A file is completed when it reaches this size (compressed), or
    /// when the UTC hour changes. Default 64 MiB.
    pub rotate_bytes: u64,
    /// Complete files older than this are deleted. Default 720 (30 days).
    pub retention_hours: u64,
    /// The oldest complete files are deleted while all files together are
    /// larger than this. Default 10 GiB.
    pub retention_bytes: u64,
    /// Seconds between two position samples of every online player; 0
    /// turns sampling off. Default 5.
    pub position_sample_secs: u64,
    /// Keep the texts of shouts, broadcasts and chat messages, not only
    /// their sizes. Default `false`.
    pub keep_texts: bool,
    /// zstd compression level of the files. Default 3.
    pub zstd_level: i32,
}

impl Default for AnalyticsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            dir: None,
            queue_capacity: 65_536,
            flush_ms: 1_000,
            rotate_bytes: 64 << 20,
            retention_hours: 720,
            retention_bytes: 10 << 30,
            position_sample_secs: 5,
            keep_texts: false,
            zstd_level: 3,
        }
    }
}

impl AnalyticsConfig {
    /// The directory of the event files for data directory `data`.
    pub fn dir_in(&self, data: &Path) -> PathBuf {
        self.dir.clone().unwrap_or_else(|| data.join("analytics"))
    }
}
