//! Releases of the client assets: what the assets directory holds, scanned
//! and ingested into the content store, and the manifest clients read.
//!
//! A scan walks the assets directory, skipping names that start with `.`
//! (editors' temporary files), anything not valid UTF-8, symlinks whose
//! target is outside the directory, and files under `maps/` (that prefix
//! belongs to the live maps, which every release lists as
//! `maps/<name>.tmx`). A file whose size and modification time did not
//! change since the last scan keeps its hash; any other is copied into the
//! content store, hashed while it is copied, so the stored bytes are exactly
//! the bytes the hash names even if a designer saves the file meanwhile.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::store::ObjectStore;
use crate::maps::LoadedMap;

/// Where the live maps appear in a release.
pub const MAPS_PREFIX: &str = "maps/";

/// One file of a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileVersion {
    /// Relative path, `/`-separated.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Lowercase hex SHA-256.
    pub sha256: String,
}

/// A release: every file, sorted by path, and an id derived from them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// The first 16 hex digits of a SHA-256 over the paths and hashes.
    pub id: String,
    /// The files, sorted by path.
    pub files: Vec<FileVersion>,
}

impl Release {
    /// A release of `files` (sorted here).
    pub fn new(mut files: Vec<FileVersion>) -> Self {
        files.sort_by(|a, b| a.path.cmp(&b.path));
        let mut hasher = Sha256::new();
        for f in &files {
            hasher.update(f.path.as_bytes());
            hasher.update([0]);
            hasher.update(f.sha256.as_bytes());
            hasher.update([0]);
        }
        let id = hex(&hasher.finalize())[..16].to_owned();
        Self { id, files }
    }
}

/// Hashes kept between scans: path -> (size, modification time, SHA-256).
pub type HashCache = HashMap<PathBuf, (u64, SystemTime, String)>;

/// A file of the assets directory found by a scan.
struct Found {
    rel: String,
    abs: PathBuf,
    size: u64,
    modified: SystemTime,
}

/// Scans `assets`, ingests what changed into `store`, adds the live `maps`,
/// and returns the release it all makes. A missing assets directory is an
/// empty one.
pub fn scan(
    assets: &Path,
    maps: &[std::sync::Arc<LoadedMap>],
    store: &ObjectStore,
    cache: &mut HashCache,
) -> std::io::Result<Release> {
    let mut found = Vec::new();
    match fs::canonicalize(assets) {
        Ok(root) => walk(&root, &root, &mut found)?,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(err),
    }
    let mut files = Vec::with_capacity(found.len() + maps.len());
    for f in found {
        let cached = cache
            .get(&f.abs)
            .filter(|(size, modified, sha)| {
                *size == f.size && *modified == f.modified && store.has(sha)
            })
            .map(|(_, _, sha)| sha.clone());
        let (sha256, size) = match cached {
            Some(sha) => (sha, f.size),
            None => match store.ingest_file(&f.abs) {
                Ok(ingested) => ingested,
                // Deleted between the walk and the copy: the next scan,
                // which the deletion's event triggers, settles it.
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
                Err(err) => return Err(err),
            },
        };
        cache.insert(f.abs, (size, f.modified, sha256.clone()));
        files.push(FileVersion {
            path: f.rel,
            size,
            sha256,
        });
    }
    for map in maps {
        store.ingest_bytes(&map.content_hash, &map.bytes)?;
        files.push(FileVersion {
            path: format!("{MAPS_PREFIX}{}.tmx", map.name),
            size: map.bytes.len() as u64,
            sha256: map.content_hash.clone(),
        });
    }
    Ok(Release::new(files))
}

fn walk(root: &Path, dir: &Path, found: &mut Vec<Found>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            tracing::warn!(path = %path.display(), "asset name is not UTF-8; left out");
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        let meta = entry.metadata()?;
        let meta = if meta.file_type().is_symlink() {
            // Followed only to a file inside the assets directory; links to
            // directories are not followed (no loops, no escapes).
            match fs::canonicalize(&path) {
                Ok(target) if target.starts_with(root) && target.is_file() => {
                    fs::metadata(&target)?
                }
                _ => {
                    tracing::warn!(
                        path = %path.display(),
                        "symlink that leaves the assets directory or is not a file; left out"
                    );
                    continue;
                }
            }
        } else {
            meta
        };
        let rel = path
            .strip_prefix(root)
            .map_err(std::io::Error::other)?
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        if meta.is_dir() {
            walk(root, &path, found)?;
        } else if meta.is_file() {
            if rel.starts_with(MAPS_PREFIX) {
                tracing::warn!(path = %rel, "assets under maps/ are reserved for the live maps; left out");
                continue;
            }
            found.push(Found {
                rel,
                abs: path,
                size: meta.len(),
                modified: meta.modified()?,
            });
        }
    }
    Ok(())
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The id depends on paths and contents, not on the order files were found.
    #[test]
    fn release_id_is_order_independent_and_content_sensitive() {
        let f = |path: &str, sha: &str| FileVersion {
            path: path.into(),
            size: 1,
            sha256: sha.into(),
        };
        let a = Release::new(vec![f("a", "1"), f("b", "2")]);
        let b = Release::new(vec![f("b", "2"), f("a", "1")]);
        let c = Release::new(vec![f("a", "1"), f("b", "3")]);
        assert_eq!(a, b);
        assert_ne!(a.id, c.id);
    }

    /// Hidden files, links out of the directory and the reserved maps/
    /// prefix are left out; nested files and links inside are listed.
    #[cfg(unix)]
    #[test]
    fn scan_lists_what_it_may_serve() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), b"s").unwrap();
        let assets = tempfile::tempdir().unwrap();
        let data = tempfile::tempdir().unwrap();
        let root = assets.path();
        std::fs::create_dir_all(root.join("tex/sub")).unwrap();
        std::fs::create_dir_all(root.join("maps")).unwrap();
        std::fs::write(root.join("tex/sub/a.png"), b"png").unwrap();
        std::fs::write(root.join(".swap"), b"x").unwrap();
        std::fs::write(root.join("maps/x.tmx"), b"x").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), root.join("leak")).unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("leakdir")).unwrap();
        std::os::unix::fs::symlink(root.join("tex/sub/a.png"), root.join("alias.png")).unwrap();
        let store = ObjectStore::open(data.path()).unwrap();
        let release = scan(root, &[], &store, &mut HashCache::new()).unwrap();
        let paths: Vec<&str> = release.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, vec!["alias.png", "tex/sub/a.png"]);
        let sha = &release.files[1].sha256;
        assert_eq!(std::fs::read(store.object(sha)).unwrap(), b"png");
    }
}
