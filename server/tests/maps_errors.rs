//! Each kind of broken map file the issue lists (and the ones battlegrid's
//! conventions add) is refused with an error naming the file, the place in
//! it and the problem.

mod maps_support;

use battlegrid_server::maps::MapLoadError;
use maps_support::{Tmx, error_of};

/// Asserts the error's place contains `place` and its message `problem`.
#[track_caller]
fn assert_error(err: &MapLoadError, place: &str, problem: &str) {
    let location = err.location.as_deref().unwrap_or("");
    assert!(
        location.contains(place),
        "place {location:?} lacks {place:?}: {err}"
    );
    assert!(
        err.message.contains(problem),
        "message lacks {problem:?}: {err}"
    );
    assert!(
        err.to_string().contains(&err.file.display().to_string()),
        "{err}"
    );
}

/// The reference map loads, so each refusal below is about its one change.
#[test]
fn reference_map_loads() {
    let dir = tempfile::tempdir().unwrap();
    let path = Tmx::default().write(dir.path(), "ok");
    let map = battlegrid_server::maps::load_map_file(&path).unwrap();
    assert_eq!(map.spec.info().width, 512);
    assert_eq!(map.spec.region_count(), 4);
}

/// A file cut short mid-element is malformed XML, located by line and column.
#[test]
fn truncated_xml_names_line_and_column() {
    let text = Tmx::default().render();
    let cut = text.find("<objectgroup").unwrap() + 6;
    let err = error_of(&text[..cut], "cut");
    assert_error(&err, "line ", "");
    assert!(err.location.as_deref().unwrap().contains("column"), "{err}");
}

/// Mismatched tags are malformed XML, with the line they are on.
#[test]
fn mismatched_tag_names_its_line() {
    let text = Tmx::default()
        .render()
        .replace(" </objectgroup>", " </objectgroupx>");
    let line = 1 + text[..text.find("</objectgroupx>").unwrap()]
        .matches('\n')
        .count();
    let err = error_of(&text, "mismatch");
    assert_error(&err, &format!("line {line},"), "not well-formed XML");
}

/// A file that is not a Tiled map at all says so.
#[test]
fn not_a_map() {
    let err = error_of("<?xml version=\"1.0\"?>\n<tileset name=\"x\"/>\n", "tsx");
    assert_error(&err, "line 2", "starts with <tileset>");
    let err = error_of("", "empty");
    assert!(err.message.contains("no <map> element"), "{err}");
}

/// A missing region property is named, with how to add it.
#[test]
fn missing_region_property() {
    let err = error_of(
        &Tmx::default().without_prop("region_width").render(),
        "noprop",
    );
    assert_error(&err, "map properties", "\"region_width\" is missing");
}

/// A region property of the wrong type is named.
#[test]
fn region_property_of_wrong_type() {
    let text = Tmx::default()
        .with_prop("region_height", "bool", "true")
        .render();
    let err = error_of(&text, "badtype");
    assert_error(&err, "map property \"region_height\"", "must be an int");
}

/// A region size that does not divide the map is refused.
#[test]
fn region_size_must_divide_the_map() {
    let text = Tmx::default()
        .with_prop("region_width", "int", "7")
        .render();
    let err = error_of(&text, "nodivide");
    assert_error(
        &err,
        "map property \"region_width\"",
        "do not divide the map width of 32 tiles",
    );
}

/// Too many regions is refused (every region costs the simulation).
#[test]
fn too_many_regions() {
    let mut tmx = Tmx {
        width: 128,
        height: 128,
        ..Tmx::default()
    };
    tmx = tmx
        .with_prop("region_width", "int", "1")
        .with_prop("region_height", "int", "1");
    let err = error_of(&tmx.render(), "regions");
    assert_error(&err, "map properties", "the most allowed is 4096");
}

/// An absurd size is refused before anything is allocated for it.
#[test]
fn absurd_size() {
    let text = Tmx::default().render().replacen(
        "width=\"32\" height=\"32\" tilewidth",
        "width=\"4000000\" height=\"4000000\" tilewidth",
        1,
    );
    let err = error_of(&text, "huge");
    assert_error(&err, "line 2", "the largest allowed is 65536 units a side");
    let text = Tmx {
        tile: 1,
        ..Tmx::default()
    }
    .render()
    .replacen(
        "width=\"32\" height=\"32\" tilewidth",
        "width=\"4096\" height=\"4096\" tilewidth",
        1,
    );
    let err = error_of(&text, "many");
    assert_error(&err, "line 2", "the most allowed is 4194304 tiles");
}

/// No spawns layer: the missing required layer is named.
#[test]
fn missing_spawns_layer() {
    let err = error_of(
        &Tmx {
            spawns: None,
            ..Tmx::default()
        }
        .render(),
        "nolayer",
    );
    assert_error(&err, "layers", "no object layer named \"spawns\"");
}

/// A spawns layer without points.
#[test]
fn no_spawn_point() {
    let err = error_of(
        &Tmx {
            spawns: Some(vec![]),
            ..Tmx::default()
        }
        .render(),
        "nospawn",
    );
    assert_error(&err, "layer \"spawns\" (line ", "has no spawn point");
}

/// A spawn on a blocked tile names the object and its line.
#[test]
fn spawn_on_blocked_tile() {
    let tmx = Tmx {
        spawns: Some(vec![(40.0, 40.0), (88.0, 90.0)]),
        ..Tmx::default()
    };
    let text = tmx.render();
    let line = 1 + text[..text.find("<object id=\"2\"").unwrap()]
        .matches('\n')
        .count();
    let err = error_of(&text, "blockedspawn");
    assert_error(
        &err,
        &format!("object 2 \"s2\" in layer \"spawns\" (line {line})"),
        "is on a blocked tile",
    );
}

/// A spawn outside the map names the object.
#[test]
fn spawn_outside_the_map() {
    let err = error_of(
        &Tmx {
            spawns: Some(vec![(512.0, 3.0)]),
            ..Tmx::default()
        }
        .render(),
        "outside",
    );
    assert_error(&err, "object 1", "outside the map");
}

/// Spawn objects must be points.
#[test]
fn spawn_must_be_a_point() {
    let text = Tmx::default().render().replacen("<point/>", "", 1);
    let err = error_of(&text, "rect");
    assert_error(&err, "object 1", "must be points");
}

/// Infinite, non-orthogonal and non-square maps are refused.
#[test]
fn unsupported_map_kinds() {
    let err = error_of(
        &Tmx {
            infinite: true,
            ..Tmx::default()
        }
        .render(),
        "inf",
    );
    assert_error(&err, "line 2", "infinite maps are not supported");
    let err = error_of(
        &Tmx {
            tile_height: Some(8),
            ..Tmx::default()
        }
        .render(),
        "rect",
    );
    assert_error(&err, "line 2", "square tiles");
    let text = Tmx::default()
        .render()
        .replacen("orthogonal", "isometric", 1);
    let err = error_of(&text, "iso");
    assert_error(&err, "line 2", "only orthogonal maps");
}

/// External tilesets are refused with how to embed them.
#[test]
fn external_tileset() {
    let head = " <tileset firstgid=\"10\" source=\"terrain.tsx\"/>\n".to_owned();
    let err = error_of(
        &Tmx {
            head,
            ..Tmx::default()
        }
        .render(),
        "tsx",
    );
    assert_error(&err, "line 3", "external tileset \"terrain.tsx\"");
}

/// Layer data with fewer entries than tiles (a half-saved file) is refused
/// instead of read out of bounds.
#[test]
fn short_layer_data() {
    let text = Tmx::default().render().replacen("1,0,0,", "1,", 1);
    let err = error_of(&text, "short");
    assert_error(
        &err,
        "layer \"blocked\" (line",
        "holds 1022 tiles but the map has 1024",
    );
}

/// A compressed layer that inflates far beyond the map (a zip bomb) is
/// refused after reading only one entry too many.
#[test]
fn compression_bomb() {
    use base64::Engine;
    use std::io::Write;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&vec![0u8; 64 * 1024 * 1024]).unwrap();
    let data = base64::engine::general_purpose::STANDARD.encode(z.finish().unwrap());
    let text = Tmx::default().render();
    let start = text.find("<data encoding=\"csv\">").unwrap();
    let end = text.find("</data>").unwrap();
    let text = format!(
        "{}<data encoding=\"base64\" compression=\"zlib\">{data}{}",
        &text[..start],
        &text[end..]
    );
    let err = error_of(&text, "bomb");
    assert_error(
        &err,
        "layer \"blocked\"",
        "holds 1025 tiles but the map has 1024",
    );
}

/// Damaged Base64 and the old XML tile format are refused.
#[test]
fn bad_layer_encodings() {
    let text = Tmx::default().render().replacen(
        "<data encoding=\"csv\">",
        "<data encoding=\"base64\">",
        1,
    );
    let err = error_of(&text, "b64");
    assert_error(&err, "layer \"blocked\"", "Base64 layer data is damaged");
    let text = Tmx::default().render().replacen(
        "<data encoding=\"csv\">",
        "<data encoding=\"csv\" compression=\"lz4\">",
        1,
    );
    let err = error_of(&text, "lz4");
    assert_error(&err, "line ", "compression \"lz4\" is not supported");
    let text = Tmx::default().render().replacen("1,0,0,", "x,0,0,", 1);
    let err = error_of(&text, "csv");
    assert_error(
        &err,
        "layer \"blocked\"",
        "\"x\" in the CSV layer data is not a tile number",
    );
}

/// A layer whose size differs from the map's is refused.
#[test]
fn layer_size_must_match_the_map() {
    let text = Tmx::default().render().replacen(
        "name=\"blocked\" width=\"32\"",
        "name=\"blocked\" width=\"31\"",
        1,
    );
    let err = error_of(&text, "layersize");
    assert_error(
        &err,
        "layer \"blocked\"",
        "the layer is 31x32 tiles but the map is 32x32 tiles",
    );
}

/// A `blocked` tile property that is not a bool names the tile.
#[test]
fn blocked_property_must_be_bool() {
    let text = Tmx::default().render().replacen(
        "</tileset>",
        " <tile id=\"1\"><properties><property name=\"blocked\" value=\"yes\"/></properties></tile>\n </tileset>",
        1,
    );
    let err = error_of(&text, "prop");
    assert_error(&err, "tile 1 of tileset \"t\"", "must be a bool");
}

/// A file name that cannot be a map name is refused, saying how to fix it.
#[test]
fn bad_map_name() {
    let err = error_of(&Tmx::default().render(), "my map");
    assert!(err.message.contains("rename the file"), "{err}");
}

/// Tilesets claiming more tiles than the limit are refused before `tiled`
/// makes room for them.
#[test]
fn tileset_claiming_too_many_tiles() {
    let text = Tmx::default()
        .render()
        .replacen("tilecount=\"2\"", "tilecount=\"4294967295\"", 1);
    let err = error_of(&text, "tilecount");
    assert_error(&err, "line ", "the tilesets hold more than 65536 tiles");
}

/// A file made of a huge number of small elements is refused at the limit.
#[test]
fn too_many_elements() {
    let objects = "<object id=\"99\" x=\"1\" y=\"1\"/>".repeat(1_000_001);
    let extra = format!(" <objectgroup id=\"5\" name=\"junk\">{objects}</objectgroup>\n");
    let err = error_of(
        &Tmx {
            extra,
            ..Tmx::default()
        }
        .render(),
        "elements",
    );
    assert_error(&err, "line ", "more than 1000000 XML elements");
}

/// A tile id that no tileset defines (here past the end of the only
/// tileset, which has 2 tiles) is refused, naming the layer, the tile and
/// the id; `tiled` would read it as a walkable tile without properties.
#[test]
fn tile_id_no_tileset_defines() {
    let mut cells = vec!["1"; 32 * 32];
    cells[0] = "999999";
    cells[32 * 3 + 5] = "3";
    let extra = format!(
        " <layer id=\"3\" name=\"ground\" width=\"32\" height=\"32\">\n  <data encoding=\"csv\">\n{}\n</data>\n </layer>\n",
        cells.join(",")
    );
    let text = Tmx {
        extra,
        ..Tmx::default()
    }
    .render();
    // The place is the line of the layer's <data>, the one after <layer>.
    let line = 2 + text[..text.find("name=\"ground\"").unwrap()]
        .matches('\n')
        .count();
    let err = error_of(&text, "unknowntile");
    assert_error(
        &err,
        &format!("layer \"ground\" (line {line}), tile (0, 0)"),
        "no tileset defines the tile id 999999 (tileset \"t\" holds ids 1 to 2)",
    );
    // The same with the first cell fixed: the next bad one, by its place.
    let fixed = text.replacen("999999", "1", 1);
    let err = error_of(&fixed, "unknowntile");
    assert_error(&err, "tile (5, 3)", "tile id 3 ");
}

/// Flip bits are not part of the id; any other high bit is.
#[test]
fn flip_bits_are_allowed_other_high_bits_are_not() {
    let flipped = Tmx::default().render().replacen(
        "<data encoding=\"csv\">\n1,",
        "<data encoding=\"csv\">\n3221225473,",
        1,
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flip.tmx");
    std::fs::write(&path, flipped).unwrap();
    battlegrid_server::maps::load_map_file(&path).expect("flipped tile 1 is tile 1");
    let hex_rotated = Tmx::default().render().replacen(
        "<data encoding=\"csv\">\n1,",
        "<data encoding=\"csv\">\n268435457,",
        1,
    );
    let err = error_of(&hex_rotated, "rot");
    assert_error(&err, "tile (0, 0)", "tile id 268435457");
}

/// Tilesets whose id ranges overlap are refused (the lookup would pick the
/// wrong one), as is a tile object whose id no tileset defines.
#[test]
fn overlapping_tilesets_and_unknown_tile_objects() {
    let head = " <tileset firstgid=\"1\" name=\"first\" tilewidth=\"16\" tileheight=\"16\" tilecount=\"4\" columns=\"2\"/>\n".to_owned();
    let err = error_of(
        &Tmx {
            head,
            ..Tmx::default()
        }
        .render(),
        "overlap",
    );
    assert_error(
        &err,
        "line ",
        "the tileset \"t\" starts at id 1, inside the ids of the tileset before it (\"first\" holds ids 1 to 4)",
    );
    let extra = " <objectgroup id=\"5\" name=\"decor\">\n  <object id=\"50\" gid=\"77\" x=\"16\" y=\"32\" width=\"16\" height=\"16\"/>\n </objectgroup>\n".to_owned();
    let err = error_of(
        &Tmx {
            extra,
            ..Tmx::default()
        }
        .render(),
        "tileobject",
    );
    assert_error(
        &err,
        "object 50 (line ",
        "no tileset defines the tile id 77",
    );
}

/// A billion-laughs DTD is refused at the DTD, saying DTDs and entities are
/// not allowed; nothing is expanded.
#[test]
fn billion_laughs_is_refused_at_the_dtd() {
    let mut dtd = String::from("<!DOCTYPE map [\n <!ENTITY lol \"lol\">\n");
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_owned()
        } else {
            format!("lol{}", i - 1)
        };
        dtd.push_str(&format!(
            " <!ENTITY lol{i} \"{}\">\n",
            format!("&{prev};").repeat(10)
        ));
    }
    dtd.push_str("]>\n");
    let text = Tmx::default()
        .with_prop("motd", "string", "&lol9;")
        .render()
        .replacen("<map ", &format!("{dtd}<map "), 1);
    let err = error_of(&text, "laughs");
    assert_error(
        &err,
        "line 2, column 1",
        "DTDs and entities are not allowed",
    );
}

/// An external entity is refused at the DTD and the file it names is not
/// read; an entity used without any DTD is refused where it is used.
#[test]
fn external_and_undeclared_entities_are_refused() {
    let text = Tmx::default()
        .with_prop("motd", "string", "&xxe;")
        .render()
        .replacen(
            "<map ",
            "<!DOCTYPE map [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n<map ",
            1,
        );
    let err = error_of(&text, "xxe");
    assert_error(
        &err,
        "line 2, column 1",
        "DTDs and entities are not allowed",
    );
    let text = Tmx::default().with_prop("motd", "string", "&xxe;").render();
    let line = 1 + text[..text.find("&xxe;").unwrap()].matches('\n').count();
    let err = error_of(&text, "undeclared");
    assert_error(
        &err,
        &format!("line {line}"),
        "the value of \"value\" uses the entity \"&xxe;\"; DTDs and entities are not allowed",
    );
    let text = Tmx::default().render().replacen(
        "</objectgroup>",
        "<properties><property name=\"note\">&xxe;</property></properties></objectgroup>",
        1,
    );
    let err = error_of(&text, "intext");
    assert_error(&err, "line ", "the text uses the entity \"&xxe;\"");
}
