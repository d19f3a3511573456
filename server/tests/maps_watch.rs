//! The maps watcher on a real temporary directory: adding, changing,
//! deleting, breaking and fixing, renaming into place and writing in steps.
//!
//! No timing is asserted: each test waits for the events it expects, with a
//! generous timeout only as a safety net.

mod maps_support;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use battlegrid_server::maps::watch::{MapEvent, WatchError, watch};
use battlegrid_server::maps::{content_hash, scan_dir};
use maps_support::Tmx;
use tokio::sync::mpsc::Receiver;

/// Short debounce to keep the tests quick; correctness does not depend on it.
const DEBOUNCE: Duration = Duration::from_millis(50);
const SAFETY_NET: Duration = Duration::from_secs(30);

async fn next(rx: &mut Receiver<MapEvent>) -> MapEvent {
    tokio::time::timeout(SAFETY_NET, rx.recv())
        .await
        .expect("no map event within the safety net")
        .expect("the watcher stopped")
}

/// Starts watching `dir` with what a scan of it finds as already live.
fn start(dir: &Path) -> (battlegrid_server::maps::MapWatcher, Receiver<MapEvent>) {
    let scan = scan_dir(dir).unwrap();
    let known: HashMap<String, String> = scan
        .maps
        .iter()
        .map(|m| (m.name.clone(), m.content_hash.clone()))
        .collect();
    watch(dir.to_path_buf(), DEBOUNCE, known).unwrap()
}

fn name_of(event: &MapEvent) -> String {
    match event {
        MapEvent::Loaded(map) => map.name.clone(),
        MapEvent::Failed(err) => err.file.file_stem().unwrap().to_string_lossy().into_owned(),
        MapEvent::Removed { name } => name.clone(),
    }
}

/// A new file is loaded; changing it loads the new content; rewriting the
/// same content emits nothing; deleting it reports the removal.
#[tokio::test]
async fn add_change_unchanged_delete() {
    let dir = tempfile::tempdir().unwrap();
    let (_watcher, mut rx) = start(dir.path());

    let path = Tmx::default().write(dir.path(), "arena");
    let MapEvent::Loaded(first) = next(&mut rx).await else {
        panic!("expected Loaded")
    };
    assert_eq!(first.name, "arena");
    assert_eq!(
        first.content_hash,
        content_hash(&std::fs::read(&path).unwrap())
    );

    let changed = Tmx {
        spawns: Some(vec![(100.0, 100.0)]),
        ..Tmx::default()
    };
    changed.write(dir.path(), "arena");
    let MapEvent::Loaded(second) = next(&mut rx).await else {
        panic!("expected Loaded")
    };
    assert_ne!(second.content_hash, first.content_hash);
    assert_eq!(second.spec.spawn_points().len(), 1);

    // Same bytes again, then another map: the first event is the other map's.
    changed.write(dir.path(), "arena");
    Tmx::default().write(dir.path(), "marker");
    assert_eq!(name_of(&next(&mut rx).await), "marker");

    std::fs::remove_file(&path).unwrap();
    let MapEvent::Removed { name } = next(&mut rx).await else {
        panic!("expected Removed")
    };
    assert_eq!(name, "arena");
}

/// A broken change is reported and a fix loads again; a map that was live
/// before the watch started and is unchanged emits nothing.
#[tokio::test]
async fn broken_then_fixed() {
    let dir = tempfile::tempdir().unwrap();
    Tmx::default().write(dir.path(), "live");
    let (_watcher, mut rx) = start(dir.path());

    let broken = Tmx::default().with_prop("region_width", "int", "7");
    broken.write(dir.path(), "live");
    let MapEvent::Failed(err) = next(&mut rx).await else {
        panic!("expected Failed")
    };
    assert!(err.message.contains("do not divide"), "{err}");

    // Back to the content that was live: Loaded again, the error is over.
    let path = Tmx::default().write(dir.path(), "live");
    let MapEvent::Loaded(map) = next(&mut rx).await else {
        panic!("expected Loaded")
    };
    assert_eq!(
        map.content_hash,
        content_hash(&std::fs::read(path).unwrap())
    );
}

/// A temporary file renamed into place loads once, under the final name;
/// the temporary file itself is no map.
#[tokio::test]
async fn rename_into_place() {
    let dir = tempfile::tempdir().unwrap();
    let (_watcher, mut rx) = start(dir.path());
    let tmp = dir.path().join("moved.tmx.tmp");
    std::fs::write(&tmp, Tmx::default().render()).unwrap();
    std::fs::rename(&tmp, dir.path().join("moved.tmx")).unwrap();
    let MapEvent::Loaded(map) = next(&mut rx).await else {
        panic!("expected Loaded")
    };
    assert_eq!(map.name, "moved");
}

/// A file written in several steps never loads half-way: whatever the
/// watcher saw in between, every `Loaded` carries the complete file.
#[tokio::test]
async fn written_in_steps_never_loads_half() {
    let dir = tempfile::tempdir().unwrap();
    let (_watcher, mut rx) = start(dir.path());
    let full = Tmx::default().render();
    let path = dir.path().join("steps.tmx");
    let third = full.len() / 3;
    std::fs::write(&path, &full[..third]).unwrap();
    // Give the watcher a chance to read the partial file: a sleep here does
    // not decide the outcome, it only makes the interesting case likely.
    tokio::time::sleep(DEBOUNCE * 4).await;
    std::fs::write(&path, &full[..2 * third]).unwrap();
    std::fs::write(&path, &full).unwrap();
    let complete = content_hash(full.as_bytes());
    loop {
        match next(&mut rx).await {
            MapEvent::Loaded(map) => {
                assert_eq!(map.content_hash, complete, "only the complete file loads");
                break;
            }
            MapEvent::Failed(err) => assert_eq!(err.file, path),
            MapEvent::Removed { .. } => panic!("nothing was removed"),
        }
    }
}

/// Dropping the watcher closes the event channel.
#[tokio::test]
async fn dropping_the_watcher_ends_the_stream() {
    let dir = tempfile::tempdir().unwrap();
    let (watcher, mut rx) = start(dir.path());
    drop(watcher);
    let ended = tokio::time::timeout(SAFETY_NET, rx.recv()).await.unwrap();
    assert!(ended.is_none());
}

/// Watching a folder that does not exist is a typed error naming it.
#[tokio::test]
async fn missing_folder_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let Err(err) = watch(missing.clone(), DEBOUNCE, HashMap::new()) else {
        panic!("watching a missing folder succeeded");
    };
    let WatchError::Watch { dir: named, .. } = &err else {
        panic!("not a watch error: {err:?}");
    };
    assert_eq!(named, &missing);
    assert!(err.to_string().contains("nope"), "{err}");
}

/// Deleting a file that only ever failed reports its removal too, so its
/// error can be dropped.
#[tokio::test]
async fn removing_a_broken_file_reports_removal() {
    let dir = tempfile::tempdir().unwrap();
    let (_watcher, mut rx) = start(dir.path());
    let path = Tmx {
        spawns: None,
        ..Tmx::default()
    }
    .write(dir.path(), "broken");
    let MapEvent::Failed(err) = next(&mut rx).await else {
        panic!("expected Failed")
    };
    assert_eq!(err.file, path);
    std::fs::remove_file(&path).unwrap();
    let MapEvent::Removed { name } = next(&mut rx).await else {
        panic!("expected Removed")
    };
    assert_eq!(name, "broken");
}
