//! The client asset updater: brings a local directory to the server's
//! current release of client assets (`GET /v1/patch/manifest`), and the
//! manifest's types, which the server serialises from this one definition.
//!
//! [`update`] downloads only files whose SHA-256 differs from what it
//! installed before, as a zstd delta from the installed version when the
//! manifest offers one, resumes a full download that an earlier run left
//! half done (HTTP `Range` with `If-Range`), checks every file's SHA-256
//! before an atomic rename into place, and removes files the manifest no
//! longer lists, but only files it installed itself. It never writes
//! outside its directory: manifest paths must be relative and plain, and
//! no symlink on the way is followed.
//!
//! Its own bookkeeping lives in `DIR/.battlegrid/`: `installed.json` (path ->
//! SHA-256 of each file it installed) and `partial/` (downloads in
//! progress). Manifest paths may not enter that folder.

mod local;
mod transfer;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Url;
use serde::{Deserialize, Serialize};

use local::{Installed, LocalDir};
pub use local::{PathError, check_manifest_path};
use transfer::Transfer;
pub use transfer::{apply_delta, make_delta};

/// `GET /v1/patch/manifest`: one release of the client assets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Identifies the release: a hash of the file list (paths and contents).
    pub release: String,
    /// Every file of the release, sorted by path.
    pub files: Vec<ManifestFile>,
}

/// One file of a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// Relative path with `/` separators, e.g. `textures/grass.png`.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Lowercase hex SHA-256 of the content.
    pub sha256: String,
    /// Where to download the content (`/v1/patch/files/{sha256}`), relative
    /// to the server's base URL.
    pub url: String,
    /// Deltas that turn an earlier version of this path into this one.
    #[serde(default)]
    pub deltas: Vec<ManifestDelta>,
}

/// A zstd delta from an earlier version of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestDelta {
    /// SHA-256 of the version the delta applies to.
    pub from_sha256: String,
    /// Size of the delta in bytes.
    pub size: u64,
    /// Where to download it (`/v1/patch/deltas/{from}/{to}`).
    pub url: String,
}

/// Options of [`update`].
#[derive(Debug, Clone, Default)]
pub struct UpdateOptions {
    /// Caps the download rate, in bytes per second (`None`: no cap). For
    /// players on a metered link, and for tests that interrupt a download.
    pub max_bytes_per_second: Option<u64>,
}

/// What one [`update`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UpdateReport {
    /// The release now installed.
    pub release: String,
    /// Files downloaded whole.
    pub downloaded: Vec<String>,
    /// Files rebuilt from a delta.
    pub patched: Vec<String>,
    /// Files that were already up to date.
    pub unchanged: usize,
    /// Files removed because the release no longer lists them.
    pub removed: Vec<String>,
    /// Bytes received from the server for files and deltas (the manifest
    /// not counted).
    pub bytes_transferred: u64,
    /// Bytes of an earlier interrupted download that were kept rather than
    /// fetched again.
    pub bytes_resumed: u64,
}

/// Progress of an [`update`], for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Bytes received so far in this run.
    pub done: u64,
    /// Bytes this run expects to receive (full sizes and delta sizes of the
    /// files to fetch), known once the manifest is read.
    pub total: u64,
}

/// Why an update failed. Nothing is half-installed after any of these:
/// a file is renamed into place only after its SHA-256 matched.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// The server's base URL does not parse.
    #[error("invalid server URL {0:?}")]
    BadUrl(String),
    /// The request could not be made or its answer not read.
    #[error("HTTP transfer: {0}")]
    Transport(#[from] reqwest::Error),
    /// The server answered with an error status.
    #[error("{url}: the server answered {status}: {body}")]
    Server {
        /// What was requested.
        url: String,
        /// The status.
        status: u16,
        /// The start of the answer's body.
        body: String,
    },
    /// The manifest is not valid JSON of the documented shape.
    #[error("the manifest does not parse: {0}")]
    BadManifest(#[from] serde_json::Error),
    /// A manifest path would leave the directory or enter the updater's
    /// own folder.
    #[error(transparent)]
    Path(#[from] PathError),
    /// Downloaded bytes do not hash to the manifest's SHA-256.
    #[error(
        "{path}: SHA-256 mismatch: expected {expected}, got {actual}; the file was not installed"
    )]
    HashMismatch {
        /// The manifest path.
        path: String,
        /// From the manifest.
        expected: String,
        /// Of the bytes received.
        actual: String,
    },
    /// The server sent more or fewer bytes than the manifest's size.
    #[error("{path}: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        /// The manifest path.
        path: String,
        /// From the manifest.
        expected: u64,
        /// Received.
        actual: u64,
    },
    /// A delta did not decode against the installed file.
    #[error("{path}: the delta does not apply: {source}")]
    Delta {
        /// The manifest path.
        path: String,
        /// The decoder's error.
        source: std::io::Error,
    },
    /// Reading or writing the local directory failed.
    #[error("{path}: {source}")]
    Io {
        /// The local path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// Brings `dir` to the server's current release; see the module docs.
/// `server` is the public listener's base URL (`http://host:8080`).
pub async fn update(
    server: &str,
    dir: &Path,
    options: &UpdateOptions,
    mut progress: impl FnMut(Progress),
) -> Result<UpdateReport, UpdateError> {
    let base = Url::parse(server).map_err(|_| UpdateError::BadUrl(server.to_owned()))?;
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()?;
    let manifest_url = join(&base, "/v1/patch/manifest")?;
    let response = http.get(manifest_url.clone()).send().await?;
    let response = transfer::check_status(response, &manifest_url).await?;
    let manifest: Manifest = serde_json::from_slice(&response.bytes().await?)?;
    for file in &manifest.files {
        check_manifest_path(&file.path)?;
    }

    let local = LocalDir::open(dir)?;
    let mut installed = local.installed()?;
    let plan = plan(&manifest, &installed, &local);
    let mut transfer = Transfer::new(http, options.max_bytes_per_second);
    let total = plan.iter().map(|step| step.bytes()).sum();
    let mut report = UpdateReport {
        release: manifest.release.clone(),
        unchanged: manifest.files.len() - plan.len(),
        ..UpdateReport::default()
    };
    progress(Progress { done: 0, total });
    for step in plan {
        let file = step.file();
        let url = |relative: &str| join(&base, relative);
        let ready = match &step {
            Step::Patch { delta, from, .. } => {
                let result = transfer
                    .patch(&local, file, &url(&delta.url)?, from, total, &mut progress)
                    .await;
                match result {
                    Ok(ready) => {
                        report.patched.push(file.path.clone());
                        ready
                    }
                    // A delta that fails is no reason to fail the update:
                    // the whole file is the fallback.
                    Err(UpdateError::Delta { .. }) => {
                        let ready = transfer
                            .fetch(&local, file, &url(&file.url)?, total, &mut progress)
                            .await?;
                        report.downloaded.push(file.path.clone());
                        ready
                    }
                    Err(err) => return Err(err),
                }
            }
            Step::Fetch { .. } => {
                let ready = transfer
                    .fetch(&local, file, &url(&file.url)?, total, &mut progress)
                    .await?;
                report.downloaded.push(file.path.clone());
                ready
            }
        };
        local.install(&ready, &file.path)?;
        installed
            .files
            .insert(file.path.clone(), file.sha256.clone());
        local.save_installed(&installed)?;
    }
    let listed: BTreeMap<&str, ()> = manifest
        .files
        .iter()
        .map(|f| (f.path.as_str(), ()))
        .collect();
    let stale: Vec<String> = installed
        .files
        .keys()
        .filter(|path| !listed.contains_key(path.as_str()))
        .cloned()
        .collect();
    for path in stale {
        local.remove(&path)?;
        installed.files.remove(&path);
        local.save_installed(&installed)?;
        report.removed.push(path);
    }
    // Every file of the release is in place: what is left in partial/ is
    // from versions no release asks for any more.
    local.clear_partial()?;
    report.bytes_transferred = transfer.bytes_received();
    report.bytes_resumed = transfer.bytes_resumed();
    Ok(report)
}

/// What to do for one file that is not up to date.
enum Step<'m> {
    /// Download the whole file.
    Fetch { file: &'m ManifestFile },
    /// Apply `delta` to the installed version `from` (its SHA-256).
    Patch {
        file: &'m ManifestFile,
        delta: &'m ManifestDelta,
        from: String,
    },
}

impl Step<'_> {
    fn file(&self) -> &ManifestFile {
        match self {
            Step::Fetch { file } | Step::Patch { file, .. } => file,
        }
    }

    fn bytes(&self) -> u64 {
        match self {
            Step::Fetch { file } => file.size,
            Step::Patch { delta, .. } => delta.size,
        }
    }
}

/// The steps for the files that are not up to date. A file counts as up to
/// date when this updater installed that SHA-256 at that path and the file
/// is still there with the manifest's size.
fn plan<'m>(manifest: &'m Manifest, installed: &Installed, local: &LocalDir) -> Vec<Step<'m>> {
    let mut steps = Vec::new();
    for file in &manifest.files {
        let have = installed.files.get(&file.path);
        let size_on_disk = local.size_of(&file.path);
        if have == Some(&file.sha256) && size_on_disk == Some(file.size) {
            continue;
        }
        let delta = have
            .filter(|_| size_on_disk.is_some())
            .and_then(|from| file.deltas.iter().find(|d| &d.from_sha256 == from));
        steps.push(match delta {
            Some(delta) => Step::Patch {
                file,
                delta,
                from: delta.from_sha256.clone(),
            },
            None => Step::Fetch { file },
        });
    }
    steps
}

fn join(base: &Url, relative: &str) -> Result<Url, UpdateError> {
    base.join(relative)
        .map_err(|_| UpdateError::BadUrl(format!("{base} + {relative}")))
}

/// Lowercase hex of a digest.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
