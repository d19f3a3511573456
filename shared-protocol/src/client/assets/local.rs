//! The updater's side of the disk: which manifest paths are acceptable, the
//! record of installed files, and moving verified files into place without
//! ever following a symlink out of the directory.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::UpdateError;

/// The updater's own folder inside the target directory.
pub(super) const OWN_DIR: &str = ".battlegrid";

/// A manifest path the updater refuses to write.
#[derive(Debug, thiserror::Error)]
#[error("manifest path {path:?} refused: {why}")]
pub struct PathError {
    /// The path as the manifest gave it.
    pub path: String,
    /// Why.
    pub why: &'static str,
}

/// Checks that a manifest path is a plain relative path (`a/b.png`): no
/// `..`, no absolute path or drive, no backslash, no empty or `.`
/// component, not inside the updater's own folder.
pub fn check_manifest_path(path: &str) -> Result<(), PathError> {
    let refuse = |why| {
        Err(PathError {
            path: path.to_owned(),
            why,
        })
    };
    if path.is_empty() {
        return refuse("empty");
    }
    if path.contains('\\') || path.contains(':') || path.contains('\0') {
        return refuse("backslashes, colons and NUL are not allowed");
    }
    if path.starts_with('/') {
        return refuse("absolute paths are not allowed");
    }
    for part in path.split('/') {
        match part {
            "" | "." => return refuse("empty or '.' components are not allowed"),
            ".." => return refuse("'..' is not allowed"),
            _ => {}
        }
    }
    if path.split('/').next() == Some(OWN_DIR) {
        return refuse("the updater's own folder");
    }
    // What the platform makes of it must agree: plain components only.
    if !Path::new(path)
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        return refuse("not a plain relative path");
    }
    Ok(())
}

/// `installed.json`: what this updater put in the directory.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct Installed {
    /// Manifest path -> SHA-256 of the version installed there.
    pub files: BTreeMap<String, String>,
}

/// The target directory.
pub(super) struct LocalDir {
    root: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> UpdateError + '_ {
    move |source| UpdateError::Io {
        path: path.to_owned(),
        source,
    }
}

impl LocalDir {
    /// Opens (creating it and the updater's folders if needed) `root`.
    pub fn open(root: &Path) -> Result<Self, UpdateError> {
        let partial = root.join(OWN_DIR).join("partial");
        fs::create_dir_all(&partial).map_err(io(&partial))?;
        Ok(Self {
            root: root.to_owned(),
        })
    }

    fn installed_path(&self) -> PathBuf {
        self.root.join(OWN_DIR).join("installed.json")
    }

    /// Where downloads in progress are kept, named by what they will be.
    pub fn partial(&self, name: &str) -> PathBuf {
        self.root.join(OWN_DIR).join("partial").join(name)
    }

    /// Deletes every download in progress (after a complete update).
    pub fn clear_partial(&self) -> Result<(), UpdateError> {
        let dir = self.root.join(OWN_DIR).join("partial");
        for entry in fs::read_dir(&dir).map_err(io(&dir))? {
            let path = entry.map_err(io(&dir))?.path();
            fs::remove_file(&path).map_err(io(&path))?;
        }
        Ok(())
    }

    /// The record of installed files (empty when there is none yet).
    pub fn installed(&self) -> Result<Installed, UpdateError> {
        let path = self.installed_path();
        match fs::read(&path) {
            Ok(bytes) => Ok(serde_json::from_slice(&bytes)?),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Installed::default()),
            Err(err) => Err(io(&path)(err)),
        }
    }

    /// Writes the record atomically (temporary file, then rename).
    pub fn save_installed(&self, installed: &Installed) -> Result<(), UpdateError> {
        let path = self.installed_path();
        let tmp = path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(installed)?;
        let mut file = fs::File::create(&tmp).map_err(io(&tmp))?;
        file.write_all(&bytes).map_err(io(&tmp))?;
        file.sync_all().map_err(io(&tmp))?;
        fs::rename(&tmp, &path).map_err(io(&path))
    }

    /// The local path of a checked manifest path, refusing it when any
    /// existing component on the way, or the file itself, is a symlink
    /// (which could point outside the directory).
    pub fn target(&self, path: &str) -> Result<PathBuf, UpdateError> {
        check_manifest_path(path)?;
        let mut at = self.root.clone();
        for part in path.split('/') {
            at.push(part);
            if let Ok(meta) = fs::symlink_metadata(&at)
                && meta.file_type().is_symlink()
            {
                return Err(PathError {
                    path: path.to_owned(),
                    why: "a symlink is in the way",
                }
                .into());
            }
        }
        Ok(at)
    }

    /// Size of the regular file at `path`, if there is one.
    pub fn size_of(&self, path: &str) -> Option<u64> {
        let target = self.target(path).ok()?;
        fs::symlink_metadata(target)
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len())
    }

    /// Moves a verified download into place at `path`.
    pub fn install(&self, ready: &Path, path: &str) -> Result<(), UpdateError> {
        let target = self.target(path)?;
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(io(parent))?;
        }
        // create_dir_all may have followed nothing new, but a directory on
        // the way could have been swapped for a link meanwhile: check again.
        let target = self.target(path)?;
        fs::rename(ready, &target).map_err(io(&target))
    }

    /// Removes a file this updater installed (not a directory or link).
    pub fn remove(&self, path: &str) -> Result<(), UpdateError> {
        let target = self.target(path)?;
        match fs::symlink_metadata(&target) {
            Ok(meta) if meta.is_file() => fs::remove_file(&target).map_err(io(&target)),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_relative_paths_pass() {
        for ok in ["a", "a/b.png", "maps/world.tmx", "x/.hidden", "a..b/c"] {
            check_manifest_path(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
    }

    /// Every way out of the directory, or into the updater's folder, is
    /// refused.
    #[test]
    fn traversal_and_odd_paths_are_refused() {
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a/..",
            "./a",
            "a//b",
            "a/",
            "C:/x",
            "a\\..\\b",
            ".battlegrid/installed.json",
            "a\0b",
        ] {
            assert!(check_manifest_path(bad).is_err(), "{bad:?} accepted");
        }
    }

    /// A symlink in the directory (here to a folder outside it) is never
    /// written through.
    #[cfg(unix)]
    #[test]
    fn symlinks_on_the_way_are_refused() {
        let outside = tempfile::tempdir().unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("link")).unwrap();
        let local = LocalDir::open(dir.path()).unwrap();
        assert!(local.target("link/file").is_err());
        assert!(local.target("other/file").is_ok());
    }
}
