//! Builds small TMX files for the map tests: a valid map by default, which
//! each test bends into the one broken thing it is about.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use battlegrid_server::maps::MapLoadError;

/// A map description rendered as TMX text (CSV tile layers).
#[derive(Debug, Clone)]
pub struct Tmx {
    /// Attributes of `<map>` after `orientation`; tile counts and size.
    pub width: u32,
    pub height: u32,
    pub tile: u32,
    pub tile_height: Option<u32>,
    pub infinite: bool,
    /// Map properties as (name, type, value).
    pub props: Vec<(String, String, String)>,
    /// Tiles painted on the `blocked` layer.
    pub blocked: Vec<(u32, u32)>,
    /// Spawn points; `None` leaves out the spawns layer.
    pub spawns: Option<Vec<(f32, f32)>>,
    /// Raw XML inserted before `</map>`.
    pub extra: String,
    /// Raw XML inserted after `<map ...>`, before the embedded tileset.
    pub head: String,
}

impl Default for Tmx {
    fn default() -> Self {
        Self {
            width: 32,
            height: 32,
            tile: 16,
            tile_height: None,
            infinite: false,
            props: vec![
                ("region_width".into(), "int".into(), "16".into()),
                ("region_height".into(), "int".into(), "16".into()),
            ],
            blocked: vec![(0, 0), (5, 5)],
            spawns: Some(vec![(40.0, 40.0), (300.0, 300.0)]),
            extra: String::new(),
            head: String::new(),
        }
    }
}

impl Tmx {
    /// The map without property `name`.
    pub fn without_prop(mut self, name: &str) -> Self {
        self.props.retain(|p| p.0 != name);
        self
    }

    /// The map with property `name` set to `value` of type `ty`.
    pub fn with_prop(mut self, name: &str, ty: &str, value: &str) -> Self {
        self.props.retain(|p| p.0 != name);
        self.props.push((name.into(), ty.into(), value.into()));
        self
    }

    /// The TMX text.
    pub fn render(&self) -> String {
        let (w, h) = (self.width, self.height);
        let mut s = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<map version=\"1.10\" orientation=\"orthogonal\" renderorder=\"right-down\" width=\"{w}\" height=\"{h}\" tilewidth=\"{}\" tileheight=\"{}\" infinite=\"{}\" nextlayerid=\"4\" nextobjectid=\"9\">\n",
            self.tile,
            self.tile_height.unwrap_or(self.tile),
            u8::from(self.infinite)
        );
        s.push_str(&self.head);
        s.push_str(" <properties>\n");
        for (name, ty, value) in &self.props {
            s.push_str(&format!(
                "  <property name=\"{name}\" type=\"{ty}\" value=\"{value}\"/>\n"
            ));
        }
        s.push_str(" </properties>\n");
        s.push_str(" <tileset firstgid=\"1\" name=\"t\" tilewidth=\"16\" tileheight=\"16\" tilecount=\"2\" columns=\"2\">\n  <image source=\"t.png\" width=\"32\" height=\"16\"/>\n </tileset>\n");
        let mut gids = vec!["0"; (w as usize) * (h as usize)];
        for &(x, y) in &self.blocked {
            gids[(y * w + x) as usize] = "1";
        }
        s.push_str(&format!(
            " <layer id=\"1\" name=\"blocked\" width=\"{w}\" height=\"{h}\">\n  <data encoding=\"csv\">\n{}\n</data>\n </layer>\n",
            gids.join(",")
        ));
        if let Some(spawns) = &self.spawns {
            s.push_str(" <objectgroup id=\"2\" name=\"spawns\">\n");
            for (i, (x, y)) in spawns.iter().enumerate() {
                s.push_str(&format!(
                    "  <object id=\"{}\" name=\"s{}\" x=\"{x}\" y=\"{y}\">\n   <point/>\n  </object>\n",
                    i + 1,
                    i + 1
                ));
            }
            s.push_str(" </objectgroup>\n");
        }
        s.push_str(&self.extra);
        s.push_str("</map>\n");
        s
    }

    /// Writes the map as `dir/{name}.tmx`, atomically (a temporary file
    /// renamed into place), so a watcher never sees it half-written.
    pub fn write(&self, dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(format!("{name}.tmx"));
        let tmp = dir.join(format!("{name}.tmx.part"));
        std::fs::write(&tmp, self.render()).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        path
    }
}

/// Loads `text` as the file `dir/{name}.tmx` and returns its error.
pub fn error_of(text: &str, name: &str) -> MapLoadError {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{name}.tmx"));
    std::fs::write(&path, text).unwrap();
    match battlegrid_server::maps::load_map_file(&path) {
        Ok(map) => panic!("{name} loaded but should not: {:?}", map.spec.info()),
        Err(err) => {
            assert_eq!(err.file, path, "the error names the file");
            err
        }
    }
}

/// The workspace's `assets-maps/` folder.
pub fn assets_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets-maps")
}

/// The folder of the per-encoding fixtures.
pub fn encodings_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/encodings")
}
