//! The download and patch server end to end: a real server with an assets
//! directory, the real `battlegrid fetch-assets` process as the client.
//!
//! One server serves the update scenarios in order (fresh install, a changed
//! file as a delta, a removed file, a change during a download, an
//! interrupted download, a corrupted store); the large-file and traversal
//! cases have their own.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use battlegrid_tests::server::{TestServer, battlegrid_binary};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

/// Safety net for waiting on the server (never what a test asserts).
const PATIENCE: Duration = Duration::from_secs(60);

fn fetch_assets(server: &TestServer, dir: &Path, extra: &[&str]) -> Output {
    Command::new(battlegrid_binary())
        .args([
            "fetch-assets",
            "--json",
            "--server",
            &server.url(""),
            "--dir",
        ])
        .arg(dir)
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .expect("run battlegrid fetch-assets")
}

/// Runs the updater and returns its JSON report; panics with its stderr if
/// it failed.
fn update(server: &TestServer, dir: &Path) -> Value {
    let out = fetch_assets(server, dir, &[]);
    assert!(
        out.status.success(),
        "fetch-assets failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON report")
}

async fn manifest(server: &TestServer) -> Value {
    let response = reqwest::get(server.url("/v1/patch/manifest"))
        .await
        .expect("GET manifest");
    assert_eq!(response.status(), 200);
    response.json().await.expect("manifest JSON")
}

/// Polls the manifest until `ready` holds for it.
async fn manifest_where(server: &TestServer, ready: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        if let Ok(response) = reqwest::get(server.url("/v1/patch/manifest")).await
            && response.status() == 200
        {
            let m: Value = response.json().await.expect("manifest JSON");
            if ready(&m) {
                return m;
            }
        }
        assert!(started.elapsed() < PATIENCE, "the manifest never got there");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn entry<'m>(m: &'m Value, path: &str) -> Option<&'m Value> {
    m["files"].as_array()?.iter().find(|f| f["path"] == path)
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|s| s.as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Deterministic incompressible bytes.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut bytes = vec![0; len];
    ChaCha8Rng::seed_from_u64(seed).fill_bytes(&mut bytes);
    bytes
}

fn server_with_assets(files: &[(&str, Vec<u8>)]) -> (TestServer, PathBuf) {
    let mut assets = PathBuf::new();
    let server = TestServer::start(|config| {
        config.patch.debounce_ms = 100;
        assets = config.assets.clone();
        std::fs::create_dir_all(&assets).unwrap();
        for (path, bytes) in files {
            let at = config.assets.join(path);
            std::fs::create_dir_all(at.parent().unwrap()).unwrap();
            std::fs::write(at, bytes).unwrap();
        }
    });
    (server, assets)
}

/// Fresh install, then an update with one changed file (a delta, and only
/// that file), a removed file (removed locally; a player's own file stays),
/// a change of the assets while a download runs (the running update
/// finishes the release it started), a download interrupted by killing the
/// updater (resumed: only the rest is transferred), and a corrupted byte in
/// the server's store (refused, nothing installed).
#[tokio::test]
async fn updates_download_only_what_changed() {
    let big = noise(4 << 20, 1);
    let (server, assets) = server_with_assets(&[
        ("readme.txt", b"hello".to_vec()),
        ("textures/big.bin", big.clone()),
        ("sounds/a.ogg", noise(10_000, 2)),
    ]);
    let client = tempfile::tempdir().unwrap();
    let dir = client.path();

    // Fresh install: every file, the live map included, byte for byte.
    let first = manifest_where(&server, |_| true).await;
    let report = update(&server, dir);
    assert_eq!(report["release"], first["release"]);
    let mut downloaded = strings(&report["downloaded"]);
    downloaded.sort();
    assert_eq!(
        downloaded,
        [
            "maps/world.tmx",
            "readme.txt",
            "sounds/a.ogg",
            "textures/big.bin"
        ]
    );
    assert_eq!(std::fs::read(dir.join("textures/big.bin")).unwrap(), big);
    let again = update(&server, dir);
    assert_eq!(
        again["bytes_transferred"], 0,
        "an up-to-date directory fetches nothing"
    );

    // One changed file: a delta from the installed version, nothing else.
    let mut changed = big.clone();
    changed[1_000_000..1_000_000 + 64 * 1024].copy_from_slice(&noise(64 * 1024, 3));
    std::fs::write(assets.join("textures/big.bin"), &changed).unwrap();
    let second = manifest_where(&server, |m| {
        entry(m, "textures/big.bin").is_some_and(|f| !f["deltas"].as_array().unwrap().is_empty())
    })
    .await;
    let delta_size = entry(&second, "textures/big.bin").unwrap()["deltas"][0]["size"]
        .as_u64()
        .unwrap();
    let report = update(&server, dir);
    assert_eq!(strings(&report["patched"]), ["textures/big.bin"]);
    assert!(strings(&report["downloaded"]).is_empty(), "{report}");
    assert_eq!(report["bytes_transferred"], delta_size);
    assert!(
        delta_size < changed.len() as u64 / 10,
        "delta of {delta_size} bytes"
    );
    assert_eq!(
        std::fs::read(dir.join("textures/big.bin")).unwrap(),
        changed
    );

    // A removed file goes; a file the updater did not install stays.
    std::fs::write(dir.join("my-settings.cfg"), b"mine").unwrap();
    std::fs::remove_file(assets.join("sounds/a.ogg")).unwrap();
    manifest_where(&server, |m| entry(m, "sounds/a.ogg").is_none()).await;
    let report = update(&server, dir);
    assert_eq!(strings(&report["removed"]), ["sounds/a.ogg"]);
    assert!(!dir.join("sounds/a.ogg").exists());
    assert!(dir.join("my-settings.cfg").exists());

    // The assets change while a (rate-capped) download runs: the running
    // update completes the release it read, verified; the next one gets
    // the new release.
    let other = tempfile::tempdir().unwrap();
    let before = manifest(&server).await;
    let slow = spawn_rate_capped(&server, other.path());
    let partial = other.path().join(".battlegrid/partial");
    wait_for_partial_bytes(&partial, 1).await;
    std::fs::write(assets.join("readme.txt"), b"hello, new release").unwrap();
    let after = manifest_where(&server, |m| m["release"] != before["release"]).await;
    let out = slow.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["release"], before["release"]);
    assert_eq!(
        std::fs::read(other.path().join("readme.txt")).unwrap(),
        b"hello"
    );
    let report = update(&server, other.path());
    assert_eq!(report["release"], after["release"]);
    assert_eq!(strings(&report["downloaded"]), ["readme.txt"]);

    // Interrupted: kill the updater once part of the big file is in, then
    // run it again: it resumes, and transfers only the rest.
    let third = tempfile::tempdir().unwrap();
    let mut slow = spawn_rate_capped(&server, third.path());
    let partial = third.path().join(".battlegrid/partial");
    let kept = wait_for_partial_bytes(&partial, 1 << 20).await;
    slow.kill().unwrap();
    slow.wait().unwrap();
    let kept_now = largest_file(&partial).map_or(0, |(_, len)| len);
    assert!(kept_now >= kept);
    let report = update(&server, third.path());
    let resumed = report["bytes_resumed"].as_u64().unwrap();
    assert_eq!(resumed, kept_now, "{report}");
    // The files before it were installed by the killed run.
    assert_eq!(
        strings(&report["downloaded"]),
        ["textures/big.bin"],
        "{report}"
    );
    let transferred = report["bytes_transferred"].as_u64().unwrap();
    assert_eq!(transferred + resumed, changed.len() as u64, "{report}");
    assert_eq!(
        std::fs::read(third.path().join("textures/big.bin")).unwrap(),
        changed
    );
    assert_eq!(
        std::fs::read_dir(&partial).unwrap().count(),
        0,
        "partial/ emptied"
    );

    // A corrupted byte in the server's store is refused by the client.
    let readme = entry(&manifest(&server).await, "readme.txt")
        .unwrap()
        .clone();
    let object = server
        .config()
        .data
        .join("patch/objects")
        .join(readme["sha256"].as_str().unwrap());
    let mut bytes = std::fs::read(&object).unwrap();
    bytes[0] ^= 0x20;
    std::fs::write(&object, bytes).unwrap();
    let fourth = tempfile::tempdir().unwrap();
    let out = fetch_assets(&server, fourth.path(), &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("SHA-256 mismatch"), "{stderr}");
    assert!(
        !fourth.path().join("readme.txt").exists(),
        "a corrupt file was installed"
    );
}

/// Starts the updater capped at 2 MB/s (so a test can act while it
/// downloads), its JSON report piped.
fn spawn_rate_capped(server: &TestServer, dir: &Path) -> std::process::Child {
    Command::new(battlegrid_binary())
        .args([
            "fetch-assets",
            "--json",
            "--max-rate",
            "2000000",
            "--server",
            &server.url(""),
            "--dir",
        ])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn largest_file(dir: &Path) -> Option<(PathBuf, u64)> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| Some((e.path(), e.metadata().ok()?.len())))
        .max_by_key(|(_, len)| *len)
}

/// Waits until a file in `partial` holds at least `bytes`; returns its size.
async fn wait_for_partial_bytes(partial: &Path, bytes: u64) -> u64 {
    let started = Instant::now();
    loop {
        if let Some((_, len)) = largest_file(partial)
            && len >= bytes
        {
            return len;
        }
        assert!(started.elapsed() < PATIENCE, "no partial download appeared");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Traversal, server side: names that are not hashes are refused, a
/// symlink out of the assets directory is not published. Client side: a
/// manifest naming paths outside the directory is refused before anything
/// is written, and so is a symlink in the directory.
#[tokio::test]
async fn traversal_is_refused_on_both_sides() {
    let secret = tempfile::tempdir().unwrap();
    std::fs::write(secret.path().join("passwd"), b"root:x").unwrap();
    let (server, assets) = server_with_assets(&[("ok.txt", b"ok".to_vec())]);
    std::os::unix::fs::symlink(secret.path().join("passwd"), assets.join("leak")).unwrap();
    std::fs::write(assets.join("trigger.txt"), b"rescan").unwrap();
    let m = manifest_where(&server, |m| entry(m, "trigger.txt").is_some()).await;
    assert!(
        entry(&m, "leak").is_none(),
        "a symlink out of the assets was published"
    );
    for path in [
        "/v1/patch/files/..%2F..%2Fetc%2Fpasswd",
        "/v1/patch/files/ABCDEF",
        "/v1/patch/deltas/x/y",
    ] {
        let response = reqwest::get(server.url(path)).await.unwrap();
        assert_eq!(response.status(), 400, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "bad_hash", "{path}");
    }
    let unknown = format!("/v1/patch/files/{}", "0".repeat(64));
    assert_eq!(
        reqwest::get(server.url(&unknown)).await.unwrap().status(),
        404
    );

    // A hostile server: its manifest names files outside the directory.
    for evil in [
        "../escaped.txt",
        "/tmp/escaped.txt",
        "a/../../escaped.txt",
        ".battlegrid/installed.json",
    ] {
        let manifest = serde_json::json!({
            "release": "evil",
            "files": [{"path": evil, "size": 2, "sha256": "0".repeat(64), "url": "/x", "deltas": []}],
        });
        let app = axum::Router::new().route(
            "/v1/patch/manifest",
            axum::routing::get(move || async move { axum::Json(manifest) }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let served = tokio::spawn(async move { axum::serve(listener, app).await });
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("game");
        let out = tokio::task::spawn_blocking(move || {
            Command::new(battlegrid_binary())
                .args([
                    "fetch-assets",
                    "--server",
                    &format!("http://{addr}"),
                    "--dir",
                ])
                .arg(&dir)
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        served.abort();
        assert!(!out.status.success(), "{evil} accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("refused"), "{evil}: {stderr}");
        assert!(!root.path().join("escaped.txt").exists());
    }

    // A symlink in the client's directory is never written through.
    let client = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), client.path().join("maps")).unwrap();
    let out = fetch_assets(&server, client.path(), &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("symlink"));
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
}

/// A 1 GiB file streams from disk: the server's memory stays flat while it
/// is downloaded (sampled from its /metrics during the download).
#[tokio::test]
async fn a_large_file_streams_with_flat_memory() {
    const SIZE: u64 = 1 << 30;
    let (server, assets) = server_with_assets(&[]);
    // Sparse: costs no disk to write; the server copies it into its store.
    std::fs::File::create(assets.join("huge.bin"))
        .unwrap()
        .set_len(SIZE)
        .unwrap();
    let m = manifest_where(&server, |m| entry(m, "huge.bin").is_some()).await;
    let url = server.url(entry(&m, "huge.bin").unwrap()["url"].as_str().unwrap());
    let rss = || async {
        server
            .metric("process_resident_memory_bytes")
            .await
            .unwrap()
    };
    let before = rss().await;
    let mut response = reqwest::get(&url).await.unwrap();
    assert_eq!(response.status(), 200);
    // Named by its hash, so caches may keep it forever.
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let (mut received, mut peak) = (0u64, before);
    let mut next_sample = 0u64;
    while let Some(chunk) = response.chunk().await.unwrap() {
        received += chunk.len() as u64;
        if received >= next_sample {
            peak = peak.max(rss().await);
            next_sample += 64 << 20;
        }
    }
    assert_eq!(received, SIZE);
    let grown = (peak - before) / f64::from(1 << 20);
    assert!(
        grown < 64.0,
        "server RSS grew by {grown:.0} MiB while serving 1 GiB"
    );
}
