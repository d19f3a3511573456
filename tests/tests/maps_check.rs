//! End-to-end: `battlegrid check-maps` on the shipped maps, on a folder with
//! a broken map, and on a folder that does not exist; its lines and exit
//! codes are what designers and scripts rely on.

use std::path::Path;
use std::process::Output;

use battlegrid_tests::server::battlegrid_binary;

fn check_maps(dir: &Path) -> Output {
    std::process::Command::new(battlegrid_binary())
        .arg("check-maps")
        .arg(dir)
        .output()
        .unwrap()
}

fn assets() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets-maps")
}

/// The shipped maps pass: exit 0, one `ok` line per map with its facts.
#[test]
fn shipped_maps_pass() {
    let out = check_maps(&assets());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let world = stdout
        .lines()
        .find(|l| l.starts_with("ok world "))
        .expect(&stdout);
    assert!(world.contains("4096x4096 units, regions 8x8"), "{world}");
    assert!(world.contains("sha256 "), "{world}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("ok small 512x512 units, regions 2x2, 3 spawns")),
        "{stdout}"
    );
    assert!(stdout.contains(" 0 error(s)"), "{stdout}");
}

/// A broken map beside a good one: exit 1, the good one listed `ok`, the
/// broken one on an `error` line naming file, place and problem.
#[test]
fn broken_map_fails_with_its_error() {
    let dir = tempfile::tempdir().unwrap();
    let small = std::fs::read_to_string(assets().join("small.tmx")).unwrap();
    std::fs::write(dir.path().join("good.tmx"), &small).unwrap();
    let broken = small.replace(
        "name=\"region_width\" type=\"int\" value=\"16\"",
        "name=\"region_width\" type=\"int\" value=\"5\"",
    );
    assert_ne!(broken, small);
    let broken_path = dir.path().join("broken.tmx");
    std::fs::write(&broken_path, broken).unwrap();
    let out = check_maps(dir.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.lines().any(|l| l.starts_with("ok good ")),
        "{stdout}"
    );
    let expected = format!(
        "error {}: map property \"region_width\": regions 5 tiles wide do not divide",
        broken_path.display()
    );
    assert!(stdout.contains(&expected), "{stdout}");
}

/// A tile id that no tileset defines (`small` has 3 tiles) fails the check,
/// naming the file, the layer, the tile and the id, instead of passing as a
/// walkable tile.
#[test]
fn unknown_tile_id_fails_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let small = std::fs::read_to_string(assets().join("small.tmx")).unwrap();
    let broken = small.replacen(
        "<data encoding=\"csv\">\n1,",
        "<data encoding=\"csv\">\n999999,",
        1,
    );
    assert_ne!(broken, small);
    let path = dir.path().join("unknown.tmx");
    std::fs::write(&path, broken).unwrap();
    let out = check_maps(dir.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let expected = format!(
        "error {}: layer \"ground\" (line 21), tile (0, 0): no tileset defines the tile id 999999",
        path.display()
    );
    assert!(stdout.contains(&expected), "{stdout}");
}

/// A folder that cannot be read: exit 2.
#[test]
fn missing_folder_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = check_maps(&dir.path().join("missing"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("cannot read the directory"));
}
