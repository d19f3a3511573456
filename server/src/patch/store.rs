//! The patch server's content store on disk, `DATA/patch/`: `objects/`
//! holds every file version of the kept releases, named by its SHA-256,
//! `deltas/` the zstd deltas between versions, and `releases.json` the kept
//! releases, so a restart keeps serving the versions clients may be in the
//! middle of downloading.
//!
//! Objects are written to a temporary name and renamed, so a name always
//! means complete content; they are never modified afterwards, which is
//! what lets the HTTP layer stream them without a lock.

use std::collections::{HashSet, VecDeque};
use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::release::{Release, hex};

/// The `DATA/patch/` directory.
pub struct ObjectStore {
    root: PathBuf,
}

/// Whether `s` is a SHA-256 in the store's spelling (64 lowercase hex
/// digits), the only names the store hands out or opens.
pub fn is_sha256(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl ObjectStore {
    /// Opens (creating them if needed) the store's folders under `data`.
    pub fn open(data: &Path) -> std::io::Result<Self> {
        let root = data.join("patch");
        fs::create_dir_all(root.join("objects"))?;
        fs::create_dir_all(root.join("deltas"))?;
        Ok(Self { root })
    }

    /// Path of the object `sha` (which must be [`is_sha256`]).
    pub fn object(&self, sha: &str) -> PathBuf {
        debug_assert!(is_sha256(sha));
        self.root.join("objects").join(sha)
    }

    /// Path of the delta from `from` to `to`.
    pub fn delta(&self, from: &str, to: &str) -> PathBuf {
        debug_assert!(is_sha256(from) && is_sha256(to));
        self.root.join("deltas").join(format!("{from}-{to}.zst"))
    }

    /// Whether the object `sha` is stored.
    pub fn has(&self, sha: &str) -> bool {
        is_sha256(sha) && self.object(sha).is_file()
    }

    fn temporary(&self) -> PathBuf {
        let mut name = [0u8; 8];
        getrandom::fill(&mut name).expect("the OS random source works");
        self.root
            .join("objects")
            .join(format!(".tmp-{}", hex(&name)))
    }

    /// Copies `source` into the store, hashing the bytes as they are
    /// copied; returns their SHA-256 and size.
    pub fn ingest_file(&self, source: &Path) -> std::io::Result<(String, u64)> {
        let mut reader = BufReader::with_capacity(256 * 1024, File::open(source)?);
        let tmp = self.temporary();
        let result = (|| {
            let mut writer = BufWriter::with_capacity(256 * 1024, File::create(&tmp)?);
            let mut hasher = Sha256::new();
            let mut buf = vec![0u8; 256 * 1024];
            let mut size = 0u64;
            loop {
                let n = reader.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                writer.write_all(&buf[..n])?;
                size += n as u64;
            }
            writer.flush()?;
            writer.get_ref().sync_all()?;
            let sha = hex(&hasher.finalize());
            fs::rename(&tmp, self.object(&sha))?;
            Ok((sha, size))
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    /// Stores `bytes` as the object `sha` unless it is there already.
    pub fn ingest_bytes(&self, sha: &str, bytes: &[u8]) -> std::io::Result<()> {
        if self.has(sha) {
            return Ok(());
        }
        self.write_atomically(&self.object(sha), bytes)
    }

    /// Stores a delta.
    pub fn put_delta(&self, from: &str, to: &str, bytes: &[u8]) -> std::io::Result<()> {
        self.write_atomically(&self.delta(from, to), bytes)
    }

    fn write_atomically(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        let tmp = self.temporary();
        let mut file = File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    }

    /// Deletes objects and deltas not in `objects` (and not between two of
    /// them), and leftover temporary files.
    pub fn collect_garbage(&self, objects: &HashSet<&str>) -> std::io::Result<()> {
        for entry in fs::read_dir(self.root.join("objects"))? {
            let entry = entry?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if !objects.contains(name.as_ref()) {
                fs::remove_file(entry.path())?;
            }
        }
        for entry in fs::read_dir(self.root.join("deltas"))? {
            let entry = entry?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let keep = name
                .strip_suffix(".zst")
                .and_then(|pair| pair.split_once('-'))
                .is_some_and(|(from, to)| objects.contains(from) && objects.contains(to));
            if !keep {
                fs::remove_file(entry.path())?;
            }
        }
        Ok(())
    }

    fn history_path(&self) -> PathBuf {
        self.root.join("releases.json")
    }

    /// The kept releases, oldest first (none on a new store, or if the file
    /// does not parse, which is logged: the next scan starts afresh).
    pub fn load_history(&self) -> VecDeque<Release> {
        match fs::read(self.history_path()) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|err| {
                tracing::warn!(%err, "patch releases.json does not parse; starting afresh");
                VecDeque::new()
            }),
            Err(_) => VecDeque::new(),
        }
    }

    /// Saves the kept releases.
    pub fn save_history(&self, releases: &VecDeque<Release>) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(releases).map_err(std::io::Error::other)?;
        self.write_atomically(&self.history_path(), &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_lowercase_sha256_names_are_accepted() {
        assert!(is_sha256(&"a".repeat(64)));
        for bad in [
            "",
            "../etc/passwd",
            &"A".repeat(64),
            &"a".repeat(63),
            &format!("{}/", "a".repeat(63)),
        ] {
            assert!(!is_sha256(bad), "{bad:?}");
        }
    }

    /// An ingested file lands under its hash; garbage collection keeps what
    /// is listed and deletes the rest.
    #[test]
    fn ingest_and_collect() {
        let data = tempfile::tempdir().unwrap();
        let store = ObjectStore::open(data.path()).unwrap();
        let source = data.path().join("src");
        fs::write(&source, b"hello").unwrap();
        let (sha, size) = store.ingest_file(&source).unwrap();
        assert_eq!(size, 5);
        assert_eq!(sha, hex(&Sha256::digest(b"hello")));
        assert_eq!(fs::read(store.object(&sha)).unwrap(), b"hello");
        let other = hex(&Sha256::digest(b"x"));
        store.ingest_bytes(&other, b"x").unwrap();
        store.put_delta(&other, &sha, b"d").unwrap();
        store
            .collect_garbage(&HashSet::from([sha.as_str()]))
            .unwrap();
        assert!(store.has(&sha));
        assert!(!store.has(&other));
        assert!(!store.delta(&other, &sha).exists());
    }
}
