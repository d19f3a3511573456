//! Map files for tests: a small Tiled map written from parameters, so each
//! test states the geometry it relies on (size, regions, spawn points,
//! blocked tiles) instead of depending on the shipped maps' details.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A map to write as a `.tmx` file (CSV tile layer, embedded tileset).
#[derive(Debug, Clone, PartialEq)]
pub struct TestMap {
    /// File stem, and so the map's name.
    pub name: String,
    /// Size in tiles.
    pub tiles: (u32, u32),
    /// Tile edge in units.
    pub tile_size: u32,
    /// Region size in tiles.
    pub region_tiles: (u32, u32),
    /// Spawn points in units.
    pub spawns: Vec<(f32, f32)>,
    /// Blocked tiles, (column, row).
    pub blocked: Vec<(u32, u32)>,
}

impl TestMap {
    /// The map every test server starts with unless told otherwise: `world`,
    /// 512x512 units of 16-unit tiles in 2x2 regions (borders at 256), no
    /// blocked tile, one spawn point at (250, 250).
    pub fn standard() -> Self {
        Self {
            name: "world".to_owned(),
            tiles: (32, 32),
            tile_size: 16,
            region_tiles: (16, 16),
            spawns: vec![(250.0, 250.0)],
            blocked: Vec::new(),
        }
    }

    /// The TMX text.
    pub fn to_tmx(&self) -> String {
        let (w, h) = self.tiles;
        let t = self.tile_size;
        let mut out = String::new();
        let _ = writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
        let _ = writeln!(
            out,
            r#"<map version="1.10" orientation="orthogonal" renderorder="right-down" width="{w}" height="{h}" tilewidth="{t}" tileheight="{t}" infinite="0" nextlayerid="3" nextobjectid="{}">"#,
            self.spawns.len() + 1
        );
        let _ = writeln!(
            out,
            " <properties>\n  <property name=\"region_width\" type=\"int\" value=\"{}\"/>\n  <property name=\"region_height\" type=\"int\" value=\"{}\"/>\n </properties>",
            self.region_tiles.0, self.region_tiles.1
        );
        let _ = writeln!(
            out,
            r#" <tileset firstgid="1" name="test" tilewidth="{t}" tileheight="{t}" tilecount="1" columns="1"/>"#
        );
        let _ = writeln!(
            out,
            r#" <layer id="1" name="blocked" width="{w}" height="{h}">"#
        );
        out.push_str("  <data encoding=\"csv\">\n");
        for row in 0..h {
            let cells: Vec<&str> = (0..w)
                .map(|col| {
                    if self.blocked.contains(&(col, row)) {
                        "1"
                    } else {
                        "0"
                    }
                })
                .collect();
            out.push_str(&cells.join(","));
            out.push_str(if row + 1 < h { ",\n" } else { "\n" });
        }
        out.push_str("  </data>\n </layer>\n");
        out.push_str(" <objectgroup id=\"2\" name=\"spawns\">\n");
        for (i, (x, y)) in self.spawns.iter().enumerate() {
            let _ = writeln!(
                out,
                r#"  <object id="{}" x="{x}" y="{y}"><point/></object>"#,
                i + 1
            );
        }
        out.push_str(" </objectgroup>\n</map>\n");
        out
    }

    /// Writes `<dir>/<name>.tmx` (creating `dir`) and returns its path.
    pub fn write(&self, dir: &Path) -> PathBuf {
        std::fs::create_dir_all(dir).expect("maps dir");
        let path = dir.join(format!("{}.tmx", self.name));
        std::fs::write(&path, self.to_tmx()).expect("write map");
        path
    }
}
