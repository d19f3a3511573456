//! Downloads for the updater: whole files (resumed with `Range` when an
//! earlier run left part of one) and deltas, each hashed while it streams
//! to disk and refused unless it matches the manifest.

use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_RANGE, IF_RANGE, RANGE};
use reqwest::{Response, StatusCode, Url};
use sha2::{Digest, Sha256};

use super::local::LocalDir;
use super::{ManifestFile, Progress, UpdateError, hex};

/// Largest window a delta may need: the old file (its reference) plus the
/// new one must fit, so files up to 1 GiB each.
const MAX_WINDOW_LOG: u32 = 31;

/// Shared state of one update's downloads: the client, the rate cap and
/// the byte counts.
pub(super) struct Transfer {
    http: reqwest::Client,
    max_rate: Option<u64>,
    started: Instant,
    received: u64,
    resumed: u64,
}

/// Turns an error status into [`UpdateError::Server`].
pub(super) async fn check_status(response: Response, url: &Url) -> Result<Response, UpdateError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body = response.text().await.unwrap_or_default();
    Err(UpdateError::Server {
        url: url.to_string(),
        status: status.as_u16(),
        body: body.chars().take(300).collect(),
    })
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> UpdateError + '_ {
    move |source| UpdateError::Io {
        path: path.to_owned(),
        source,
    }
}

impl Transfer {
    pub fn new(http: reqwest::Client, max_rate: Option<u64>) -> Self {
        Self {
            http,
            max_rate: max_rate.filter(|r| *r > 0),
            started: Instant::now(),
            received: 0,
            resumed: 0,
        }
    }

    pub fn bytes_received(&self) -> u64 {
        self.received
    }

    pub fn bytes_resumed(&self) -> u64 {
        self.resumed
    }

    /// Counts `n` received bytes and sleeps as long as the rate cap asks.
    async fn account(&mut self, n: usize, total: u64, progress: &mut impl FnMut(Progress)) {
        self.received += n as u64;
        progress(Progress {
            done: self.received,
            total,
        });
        if let Some(rate) = self.max_rate {
            let due = Duration::from_secs_f64(self.received as f64 / rate as f64);
            let elapsed = self.started.elapsed();
            if due > elapsed {
                tokio::time::sleep(due - elapsed).await;
            }
        }
    }

    /// Streams `response`'s body to `out`, feeding `hasher`; returns the
    /// bytes written.
    async fn stream(
        &mut self,
        mut response: Response,
        out: &mut BufWriter<File>,
        path: &Path,
        hasher: &mut Sha256,
        total: u64,
        progress: &mut impl FnMut(Progress),
    ) -> Result<u64, UpdateError> {
        let mut written = 0u64;
        while let Some(chunk) = response.chunk().await? {
            out.write_all(&chunk).map_err(io(path))?;
            hasher.update(&chunk);
            written += chunk.len() as u64;
            self.account(chunk.len(), total, progress).await;
        }
        out.flush().map_err(io(path))?;
        out.get_ref().sync_all().map_err(io(path))?;
        Ok(written)
    }

    /// Downloads `file` whole into the partial folder, resuming what an
    /// earlier run left there, and returns the verified file's path.
    pub async fn fetch(
        &mut self,
        local: &LocalDir,
        file: &ManifestFile,
        url: &Url,
        total: u64,
        progress: &mut impl FnMut(Progress),
    ) -> Result<PathBuf, UpdateError> {
        let part = local.partial(&file.sha256);
        let mut have = fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
        if have > file.size {
            fs::remove_file(&part).map_err(io(&part))?;
            have = 0;
        }
        let mut hasher = Sha256::new();
        if have > 0 {
            // The bytes kept count towards the hash; they are not fetched.
            let mut reader = BufReader::new(File::open(&part).map_err(io(&part))?);
            std::io::copy(&mut (&mut reader).take(have), &mut HashWriter(&mut hasher))
                .map_err(io(&part))?;
        }
        let mut request = self.http.get(url.clone());
        if have > 0 {
            // If-Range: a server that no longer has this exact content sends
            // it whole instead of a range of something else.
            request = request
                .header(RANGE, format!("bytes={have}-"))
                .header(IF_RANGE, format!("\"{}\"", file.sha256));
        }
        let response = request.send().await?;
        let (response, append) = match response.status() {
            StatusCode::PARTIAL_CONTENT if have > 0 => {
                let starts_at_have = response
                    .headers()
                    .get(CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.starts_with(&format!("bytes {have}-")));
                if !starts_at_have {
                    return Err(UpdateError::Server {
                        url: url.to_string(),
                        status: 206,
                        body: "a range that does not start where the partial file ends".into(),
                    });
                }
                (response, true)
            }
            // The partial file is already whole; the hash check decides.
            StatusCode::RANGE_NOT_SATISFIABLE if have == file.size => {
                return self.finish(&part, file, hasher, have);
            }
            _ => (check_status(response, url).await?, false),
        };
        let out = if append {
            self.resumed += have;
            OpenOptions::new().append(true).open(&part)
        } else {
            hasher = Sha256::new();
            have = 0;
            File::create(&part)
        }
        .map_err(io(&part))?;
        let mut out = BufWriter::with_capacity(256 * 1024, out);
        let written = self
            .stream(response, &mut out, &part, &mut hasher, total, progress)
            .await?;
        self.finish(&part, file, hasher, have + written)
    }

    /// Checks a finished download's size and hash; a file that fails is
    /// deleted so the next run starts afresh.
    fn finish(
        &self,
        part: &Path,
        file: &ManifestFile,
        hasher: Sha256,
        size: u64,
    ) -> Result<PathBuf, UpdateError> {
        let actual = hex(&hasher.finalize());
        let error = if size != file.size {
            Some(UpdateError::SizeMismatch {
                path: file.path.clone(),
                expected: file.size,
                actual: size,
            })
        } else if actual != file.sha256 {
            Some(UpdateError::HashMismatch {
                path: file.path.clone(),
                expected: file.sha256.clone(),
                actual,
            })
        } else {
            None
        };
        match error {
            Some(error) => {
                let _ = fs::remove_file(part);
                Err(error)
            }
            None => Ok(part.to_owned()),
        }
    }

    /// Downloads the delta at `url` and applies it to the installed version
    /// of `file`, whose SHA-256 is `from`; returns the verified result's path. Any failure to apply,
    /// a wrong result included, is [`UpdateError::Delta`], after which the
    /// caller downloads the whole file.
    #[allow(clippy::too_many_arguments)]
    pub async fn patch(
        &mut self,
        local: &LocalDir,
        file: &ManifestFile,
        url: &Url,
        from: &str,
        total: u64,
        progress: &mut impl FnMut(Progress),
    ) -> Result<PathBuf, UpdateError> {
        let delta_path = local.partial(&format!("{}.from-{from}.zst", file.sha256));
        let response = check_status(self.http.get(url.clone()).send().await?, url).await?;
        let mut out = BufWriter::new(File::create(&delta_path).map_err(io(&delta_path))?);
        let mut ignored = Sha256::new();
        self.stream(
            response,
            &mut out,
            &delta_path,
            &mut ignored,
            total,
            progress,
        )
        .await?;
        drop(out);
        let old_path = local.target(&file.path)?;
        let result_path = local.partial(&format!("{}.patched", file.sha256));
        let applied = {
            let (delta_path, old_path, result_path) =
                (delta_path.clone(), old_path.clone(), result_path.clone());
            tokio::task::spawn_blocking(move || apply_delta(&old_path, &delta_path, &result_path))
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))
                .and_then(|r| r)
        };
        let _ = fs::remove_file(&delta_path);
        let delta_error = |source| UpdateError::Delta {
            path: file.path.clone(),
            source,
        };
        let (size, hasher) = applied.map_err(delta_error)?;
        self.finish(&result_path, file, hasher, size)
            .map_err(|err| {
                delta_error(std::io::Error::other(format!(
                    "the result does not match the manifest: {err}"
                )))
            })
    }
}

/// Decodes the zstd delta at `delta` with the file at `old` as its
/// reference into `out`; returns the size and hash of what it wrote.
pub fn apply_delta(old: &Path, delta: &Path, out: &Path) -> std::io::Result<(u64, Sha256)> {
    let reference = fs::read(old)?;
    let mut decoder = zstd::stream::read::Decoder::with_ref_prefix(
        BufReader::new(File::open(delta)?),
        &reference,
    )?;
    decoder.window_log_max(MAX_WINDOW_LOG)?;
    let mut hasher = Sha256::new();
    let mut writer = BufWriter::new(File::create(out)?);
    let size = std::io::copy(&mut decoder, &mut TeeWriter(&mut writer, &mut hasher))?;
    writer.flush()?;
    writer.get_ref().sync_all()?;
    Ok((size, hasher))
}

/// Makes a zstd delta that turns `old` into `new` ("patch-from": the old
/// content is the new frame's reference prefix, with a window large enough
/// to reach back into it).
pub fn make_delta(old: &[u8], new: &[u8], level: i32) -> std::io::Result<Vec<u8>> {
    let span = (old.len() + new.len()).max(1) as u64;
    let window_log = (64 - span.leading_zeros()).clamp(10, MAX_WINDOW_LOG);
    let mut encoder = zstd::stream::write::Encoder::with_ref_prefix(Vec::new(), level, old)?;
    encoder.window_log(window_log)?;
    encoder.long_distance_matching(true)?;
    encoder.include_contentsize(true)?;
    encoder.set_pledged_src_size(Some(new.len() as u64))?;
    encoder.write_all(new)?;
    encoder.finish()
}

/// Feeds written bytes to a hasher only.
struct HashWriter<'a>(&'a mut Sha256);

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes to a file and a hasher at once.
struct TeeWriter<'a, W: Write>(&'a mut W, &'a mut Sha256);

impl<W: Write> Write for TeeWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.0.write(buf)?;
        self.1.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic incompressible bytes.
    fn noise(len: usize, mut x: u64) -> Vec<u8> {
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    /// A delta made from an old version rebuilds the new one exactly, and
    /// is far smaller than the new file when little changed.
    #[test]
    fn delta_round_trip() {
        let old = noise(800_000, 1);
        let mut new = old.clone();
        new[1234..1300].fill(7);
        new.extend_from_slice(b"appended");
        let delta = make_delta(&old, &new, 3).unwrap();
        assert!(
            delta.len() < new.len() / 50,
            "delta of {} bytes",
            delta.len()
        );
        let dir = tempfile::tempdir().unwrap();
        let (o, d, r) = (
            dir.path().join("o"),
            dir.path().join("d"),
            dir.path().join("r"),
        );
        fs::write(&o, &old).unwrap();
        fs::write(&d, &delta).unwrap();
        let (size, hasher) = apply_delta(&o, &d, &r).unwrap();
        assert_eq!(fs::read(&r).unwrap(), new);
        assert_eq!(size, new.len() as u64);
        assert_eq!(hex(&hasher.finalize()), hex(&Sha256::digest(&new)));
    }

    /// A delta applied to another base than its own does not rebuild the
    /// new version (it fails or yields other bytes, which the hash check
    /// catches); it never panics.
    #[test]
    fn delta_on_the_wrong_base_does_not_reproduce() {
        let old = noise(100_000, 1);
        let mut new = old.clone();
        new[500..600].fill(2);
        let delta = make_delta(&old, &new, 3).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (o, d, r) = (
            dir.path().join("o"),
            dir.path().join("d"),
            dir.path().join("r"),
        );
        fs::write(&d, &delta).unwrap();
        for base in [noise(100_000, 99), vec![9u8; 50], Vec::new()] {
            fs::write(&o, &base).unwrap();
            if let Ok((_, hasher)) = apply_delta(&o, &d, &r) {
                assert_ne!(hex(&hasher.finalize()), hex(&Sha256::digest(&new)));
            }
        }
    }
}
