//! Loading the shipped maps and the per-encoding fixtures; scanning a
//! directory; the hash and bytes kept with a map.

mod maps_support;

use battlegrid_protocol::Position;
use battlegrid_server::maps::{content_hash, load_map_bytes, load_map_file, scan_dir};
use maps_support::{Tmx, assets_dir, encodings_dir};

/// Every `*.tmx` in `assets-maps/` loads, and both required maps are there.
#[test]
fn every_shipped_map_loads() {
    let scan = scan_dir(&assets_dir()).unwrap();
    assert!(scan.errors.is_empty(), "{:#?}", scan.errors);
    let names: Vec<&str> = scan.maps.iter().map(|m| m.name.as_str()).collect();
    assert!(
        names.contains(&"small") && names.contains(&"world"),
        "{names:?}"
    );
    let count = std::fs::read_dir(assets_dir())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "tmx")
        })
        .count();
    assert_eq!(scan.maps.len(), count, "every .tmx file is a loaded map");
}

/// The default map is large, has many regions, blocked terrain and free
/// spawn points.
#[test]
fn world_is_large_with_terrain() {
    let world = load_map_file(&assets_dir().join("world.tmx")).unwrap();
    let info = world.spec.info();
    assert!(info.width >= 4096 && info.height >= 4096, "{info:?}");
    assert_eq!((info.region_cols, info.region_rows), (8, 8));
    let mut blocked = 0;
    let mut total = 0;
    for ty in 0..256 {
        for tx in 0..256 {
            total += 1;
            let p = Position::new(tx as f32 * 16.0 + 8.0, ty as f32 * 16.0 + 8.0);
            blocked += usize::from(world.spec.is_blocked(p));
        }
    }
    assert!(
        blocked > total / 20 && blocked < total / 2,
        "{blocked} of {total} blocked"
    );
    assert!(world.spec.spawn_points().len() >= 8);
    let centre = Position::new(2048.0, 2048.0);
    assert!(
        world
            .spec
            .spawn_points()
            .iter()
            .any(|p| (p.x - centre.x).abs() < 64.0 && (p.y - centre.y).abs() < 64.0)
    );
}

/// `small.tmx` marks walls with a `blocked` layer: wall and pillar tiles
/// block, the gate does not.
#[test]
fn small_uses_the_blocked_layer() {
    let small = load_map_file(&assets_dir().join("small.tmx")).unwrap();
    let spec = &small.spec;
    assert_eq!(
        (spec.width(), spec.height(), spec.region_count()),
        (512, 512, 4)
    );
    assert!(spec.is_blocked(Position::new(8.0 * 16.0 + 1.0, 8.0 * 16.0 + 1.0)));
    assert!(spec.is_blocked(Position::new(4.0 * 16.0 + 1.0, 16.0 * 16.0 + 1.0)));
    assert!(!spec.is_blocked(Position::new(15.0 * 16.0, 16.0 * 16.0 + 1.0)));
    assert_eq!(spec.spawn_points().len(), 3);
}

/// The same map in CSV, Base64, and Base64 with zlib, gzip and zstd loads
/// to the same map.
#[test]
fn every_tile_layer_encoding_loads_the_same_map() {
    let reference = load_map_file(&encodings_dir().join("small-csv.tmx"))
        .unwrap()
        .spec;
    for enc in ["base64", "zlib", "gzip", "zstd"] {
        let path = encodings_dir().join(format!("small-{enc}.tmx"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains("encoding=\"csv\""),
            "{enc} fixture is not CSV"
        );
        if enc != "base64" {
            assert!(text.contains(&format!("compression=\"{enc}\"")), "{enc}");
        }
        let spec = load_map_file(&path).unwrap().spec;
        // Names differ with the file; everything else must not.
        assert_eq!(spec.info().width, reference.info().width, "{enc}");
        let mut a = Vec::new();
        let mut b = Vec::new();
        for ty in 0..32 {
            for tx in 0..32 {
                let p = Position::new(tx as f32 * 16.0 + 1.0, ty as f32 * 16.0 + 1.0);
                a.push(reference.is_blocked(p));
                b.push(spec.is_blocked(p));
            }
        }
        assert_eq!(a, b, "{enc}: same blocked tiles");
        assert!(a.iter().any(|x| *x), "the fixture has blocked tiles");
        assert_eq!(spec.spawn_points(), reference.spawn_points(), "{enc}");
    }
}

/// The kept bytes are the file's, the hash is their SHA-256, and loading
/// from memory gives the same map as loading the file.
#[test]
fn bytes_and_hash_are_the_files() {
    let path = assets_dir().join("small.tmx");
    let file = std::fs::read(&path).unwrap();
    let map = load_map_file(&path).unwrap();
    assert_eq!(&map.bytes[..], &file[..]);
    assert_eq!(map.content_hash.len(), 64);
    assert_eq!(map.content_hash, content_hash(&file));
    assert_ne!(map.content_hash, content_hash(b"other"));
    assert_eq!(map.name, "small");
    let from_memory = load_map_bytes("small", &path, file.into()).unwrap();
    assert_eq!(from_memory.spec, map.spec);
    assert_eq!(from_memory.content_hash, map.content_hash);
    // A well-known vector, so the hex encoding itself is checked.
    assert_eq!(
        content_hash(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

/// A scan sorts maps by name, lists broken files as errors, ignores other
/// files, hidden files and subfolders, and fails on a missing folder.
#[test]
fn scan_sorts_and_separates() {
    let dir = tempfile::tempdir().unwrap();
    Tmx::default().write(dir.path(), "b");
    Tmx::default().write(dir.path(), "a");
    std::fs::write(dir.path().join("broken.tmx"), "<map").unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a map").unwrap();
    std::fs::write(dir.path().join(".a.tmx"), "<map").unwrap();
    std::fs::create_dir(dir.path().join("sub.tmx")).unwrap();
    let scan = scan_dir(dir.path()).unwrap();
    let names: Vec<&str> = scan.maps.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(scan.errors.len(), 1, "{:?}", scan.errors);
    assert_eq!(scan.errors[0].file, dir.path().join("broken.tmx"));
    assert!(scan_dir(&dir.path().join("missing")).is_err());
}

/// A map using much of what Tiled offers (groups, image layers, every
/// object shape, typed properties, flipped tiles, an image-collection
/// tileset, wang sets, animations) loads; only the conventions count.
#[test]
fn rich_map_reads_only_the_conventions() {
    let path = encodings_dir().join("../rich.tmx");
    let map = load_map_file(&path).unwrap();
    let spec = &map.spec;
    assert_eq!((spec.width(), spec.height()), (256, 256));
    assert_eq!((spec.info().region_cols, spec.info().region_rows), (2, 1));
    let tile = |x: u32, y: u32| Position::new(x as f32 * 32.0 + 3.0, y as f32 * 32.0 + 3.0);
    // Marked tiles (one flipped), a marked tile of the image collection,
    // and tiles painted on the hidden `blocked` layer inside two groups.
    for (x, y) in [(1, 1), (2, 1), (4, 3), (6, 5), (7, 0), (1, 6)] {
        assert!(spec.is_blocked(tile(x, y)), "({x}, {y}) is blocked");
    }
    for (x, y) in [(0, 0), (3, 3), (7, 6), (5, 5)] {
        assert!(!spec.is_blocked(tile(x, y)), "({x}, {y}) is free");
    }
    assert_eq!(
        spec.spawn_points(),
        &[Position::new(16.0, 16.0), Position::new(240.5, 200.25)]
    );
}
