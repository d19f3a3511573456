//! Maps from `assets-maps/`: loading Tiled `.tmx` files into validated
//! [`MapSpec`](battlegrid_sim::MapSpec)s, scanning a directory, watching it
//! for changes ([`watch`]) and the `check-maps` command ([`check`]).
//!
//! A map file is read once; its exact bytes are kept (they are what
//! `GET /v1/maps/{name}` serves) together with their SHA-256, and parsed from
//! memory, so the hash always describes the map that was validated. Loading
//! goes in three steps: `guard` streams the XML and enforces the
//! [`limits`] (so hostile files cost little and never panic), the `tiled`
//! crate parses the map, and [`convert`] applies battlegrid's conventions
//! (see `assets-maps/README.md`).
//!
//! This module does not swap maps into the running game, nor serve them
//! over HTTP: it hands [`LoadedMap`]s and [`MapLoadError`]s to the caller.

pub mod check;
pub mod convert;
mod error;
mod guard;
mod layer_data;
pub mod limits;
mod tile_ids;
pub mod watch;

use std::io::Read;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use sha2::{Digest, Sha256};

pub use error::MapLoadError;
use error::Problem;
pub use watch::{MapEvent, MapWatcher, WatchError};

/// A map file that loaded and passed validation.
#[derive(Clone)]
pub struct LoadedMap {
    /// The file stem, e.g. `world` for `world.tmx`.
    pub name: String,
    /// The file it was loaded from.
    pub path: PathBuf,
    /// The validated map.
    pub spec: battlegrid_sim::MapSpec,
    /// The exact file contents, as served by `GET /v1/maps/{name}`.
    pub bytes: Bytes,
    /// Lowercase hex SHA-256 of `bytes`.
    pub content_hash: String,
}

/// Shows the size of the file rather than its bytes, so logging a map does
/// not print the whole file.
impl std::fmt::Debug for LoadedMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedMap")
            .field("name", &self.name)
            .field("path", &self.path)
            .field("spec", &self.spec.info())
            .field("bytes", &self.bytes.len())
            .field("content_hash", &self.content_hash)
            .finish()
    }
}

/// What [`scan_dir`] found: the maps that loaded and the files that did not.
#[derive(Debug, Clone, Default)]
pub struct ScanResult {
    /// Maps that loaded, sorted by name.
    pub maps: Vec<LoadedMap>,
    /// Files that were refused, sorted by file.
    pub errors: Vec<MapLoadError>,
}

/// Reads and loads the map file at `path`; its name is the file stem.
pub fn load_map_file(path: &Path) -> Result<LoadedMap, MapLoadError> {
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bytes = read_limited(path).map_err(|p| p.in_file(path))?;
    load_map_bytes(&name, path, bytes)
}

/// Loads a map called `name` from `bytes`, the contents of the file at
/// `path` (used in errors and kept in the result; the file is not read).
pub fn load_map_bytes(name: &str, path: &Path, bytes: Bytes) -> Result<LoadedMap, MapLoadError> {
    let hash = content_hash(&bytes);
    load_hashed_bytes(name, path, bytes, hash)
}

/// [`load_map_bytes`] for a caller that already hashed `bytes` (the
/// watcher hashes first, to skip files whose content did not change).
pub(crate) fn load_hashed_bytes(
    name: &str,
    path: &Path,
    bytes: Bytes,
    content_hash: String,
) -> Result<LoadedMap, MapLoadError> {
    let spec = parse(name, path, &bytes).map_err(|p| p.in_file(path))?;
    Ok(LoadedMap {
        name: name.to_owned(),
        path: path.to_path_buf(),
        spec,
        content_hash,
        bytes,
    })
}

/// Loads every map file (`*.tmx`, see [`map_name`]) in `dir`, not
/// descending into subdirectories. Fails only when `dir` cannot be listed.
pub fn scan_dir(dir: &Path) -> std::io::Result<ScanResult> {
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if let Some(name) = map_name(&path)
            && path.is_file()
        {
            files.push((name, path));
        }
    }
    files.sort();
    let mut result = ScanResult::default();
    for (_, path) in files {
        match load_map_file(&path) {
            Ok(map) => result.maps.push(map),
            Err(err) => result.errors.push(err),
        }
    }
    Ok(result)
}

/// The map name of `path` if it is a map file: the stem of a `*.tmx` file
/// whose name does not start with a dot (editors' hidden temporary and lock
/// files do).
pub fn map_name(path: &Path) -> Option<String> {
    let file = path.file_name()?.to_str()?;
    if file.starts_with('.') || path.extension()? != "tmx" {
        return None;
    }
    Some(path.file_stem()?.to_str()?.to_owned())
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn content_hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Guard, parse and convert; the steps the module docs describe.
fn parse(name: &str, path: &Path, bytes: &Bytes) -> Result<battlegrid_sim::MapSpec, Problem> {
    check_name(name)?;
    if bytes.len() as u64 > limits::MAX_FILE_BYTES {
        return Err(too_big(bytes.len() as u64));
    }
    let lines = guard::check(bytes)?;
    // Everything is read from `bytes`; any other file the map refers to is
    // refused (the guard already rejects external tilesets and templates).
    let own = path.to_path_buf();
    let data = bytes.clone();
    let mut loader = tiled::Loader::with_reader(move |p: &Path| {
        if p == own {
            Ok(std::io::Cursor::new(data.clone()))
        } else {
            Err(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "maps may not refer to other files",
            ))
        }
    });
    let map = loader
        .load_tmx_map(path)
        .map_err(|err| Problem::whole(format!("the Tiled reader refused the map: {err}")))?;
    convert::to_spec(name, &map, &lines)
}

/// Map names are URL path segments and appear in every `Welcome`, so they
/// are kept to a short, plain alphabet.
fn check_name(name: &str) -> Result<(), Problem> {
    let plain = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if name.is_empty() || name.len() > limits::MAX_NAME_LEN || !plain {
        return Err(Problem::whole(format!(
            "the map name \"{name}\" (the file name without .tmx) must be 1 to {} letters, digits, '-' or '_'; rename the file",
            limits::MAX_NAME_LEN
        )));
    }
    Ok(())
}

fn too_big(len: u64) -> Problem {
    Problem::whole(format!(
        "the file is {len} bytes; the largest map file accepted is {} bytes",
        limits::MAX_FILE_BYTES
    ))
}

/// Reads at most one byte more than the limit, so a huge file is refused
/// without being read whole.
fn read_limited(path: &Path) -> Result<Bytes, Problem> {
    let file = std::fs::File::open(path)
        .map_err(|err| Problem::whole(format!("cannot open the file: {err}")))?;
    let mut buf = Vec::new();
    file.take(limits::MAX_FILE_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(|err| Problem::whole(format!("cannot read the file: {err}")))?;
    if buf.len() as u64 > limits::MAX_FILE_BYTES {
        return Err(too_big(buf.len() as u64));
    }
    Ok(Bytes::from(buf))
}
