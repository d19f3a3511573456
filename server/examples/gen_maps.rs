//! Generates the committed maps: `assets-maps/{small,world}.tmx` with their
//! tileset image `terrain.png`, and the small map in every tile layer
//! encoding Tiled writes under `server/tests/fixtures/encodings/`.
//!
//! Deterministic: the same program writes the same bytes, so the committed
//! files can be checked by running it again and diffing. Run from the
//! workspace root:
//!
//! ```text
//! cargo run -p battlegrid-server --example gen_maps
//! ```

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use base64::Engine;

/// Tile ids of the embedded tileset (gid = id + 1).
const GRASS: u32 = 0;
const WALL: u32 = 1;
const WATER: u32 = 2;
const TILE: u32 = 16;

fn main() -> anyhow::Result<()> {
    let assets = Path::new("assets-maps");
    let fixtures = Path::new("server/tests/fixtures/encodings");
    std::fs::create_dir_all(fixtures)?;
    std::fs::write(assets.join("terrain.png"), terrain_png())?;
    let small = small_map();
    std::fs::write(assets.join("small.tmx"), small.to_tmx(Encoding::Csv))?;
    for enc in Encoding::ALL {
        let file = fixtures.join(format!("small-{}.tmx", enc.label()));
        std::fs::write(file, small.to_tmx(enc))?;
    }
    std::fs::write(assets.join("world.tmx"), world_map().to_tmx(Encoding::Zlib))?;
    println!("wrote assets-maps/ and {}", fixtures.display());
    Ok(())
}

/// A map in memory: tile layers of gids (0 = empty) and spawn points.
struct Map {
    width: u32,
    height: u32,
    region: u32,
    layers: Vec<(&'static str, Vec<u32>)>,
    spawns: Vec<(f32, f32)>,
}

#[derive(Clone, Copy)]
enum Encoding {
    Csv,
    Base64,
    Zlib,
    Gzip,
    Zstd,
}

impl Encoding {
    const ALL: [Encoding; 5] = [Self::Csv, Self::Base64, Self::Zlib, Self::Gzip, Self::Zstd];

    fn label(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Base64 => "base64",
            Self::Zlib => "zlib",
            Self::Gzip => "gzip",
            Self::Zstd => "zstd",
        }
    }

    /// The `<data>` element for `gids`, `w` tiles per row.
    fn data(self, gids: &[u32], w: usize) -> String {
        if let Self::Csv = self {
            let rows: Vec<String> = gids
                .chunks(w)
                .map(|row| row.iter().map(u32::to_string).collect::<Vec<_>>().join(","))
                .collect();
            return format!("<data encoding=\"csv\">\n{}\n</data>", rows.join(",\n"));
        }
        let raw: Vec<u8> = gids.iter().flat_map(|g| g.to_le_bytes()).collect();
        let (packed, attr) = match self {
            Self::Base64 | Self::Csv => (raw, String::new()),
            Self::Zlib => {
                let mut z =
                    flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
                z.write_all(&raw).expect("in memory");
                (
                    z.finish().expect("in memory"),
                    " compression=\"zlib\"".into(),
                )
            }
            Self::Gzip => {
                let mut z = flate2::GzBuilder::new()
                    .mtime(0)
                    .write(Vec::new(), flate2::Compression::best());
                z.write_all(&raw).expect("in memory");
                (
                    z.finish().expect("in memory"),
                    " compression=\"gzip\"".into(),
                )
            }
            Self::Zstd => (
                zstd::encode_all(&raw[..], 19).expect("in memory"),
                " compression=\"zstd\"".into(),
            ),
        };
        let text = base64::engine::general_purpose::STANDARD.encode(packed);
        format!("<data encoding=\"base64\"{attr}>\n   {text}\n  </data>")
    }
}

impl Map {
    fn to_tmx(&self, enc: Encoding) -> String {
        let (w, h) = (self.width, self.height);
        let mut s = String::new();
        let next_layer = self.layers.len() + 2;
        let next_object = self.spawns.len() + 1;
        let _ = write!(
            s,
            r#"<?xml version="1.0" encoding="UTF-8"?>
<map version="1.10" tiledversion="1.11.2" orientation="orthogonal" renderorder="right-down" width="{w}" height="{h}" tilewidth="{TILE}" tileheight="{TILE}" infinite="0" nextlayerid="{next_layer}" nextobjectid="{next_object}">
 <properties>
  <property name="region_height" type="int" value="{r}"/>
  <property name="region_width" type="int" value="{r}"/>
 </properties>
 <tileset firstgid="1" name="terrain" tilewidth="{TILE}" tileheight="{TILE}" tilecount="3" columns="3">
  <image source="terrain.png" width="48" height="16"/>
  <tile id="{WALL}">
   <properties>
    <property name="blocked" type="bool" value="true"/>
   </properties>
  </tile>
  <tile id="{WATER}">
   <properties>
    <property name="blocked" type="bool" value="true"/>
   </properties>
  </tile>
 </tileset>
"#,
            r = self.region
        );
        for (i, (name, gids)) in self.layers.iter().enumerate() {
            let _ = writeln!(
                s,
                " <layer id=\"{}\" name=\"{name}\" width=\"{w}\" height=\"{h}\">\n  {}\n </layer>",
                i + 1,
                enc.data(gids, w as usize)
            );
        }
        let _ = writeln!(
            s,
            " <objectgroup id=\"{}\" name=\"spawns\">",
            self.layers.len() + 1
        );
        for (i, (x, y)) in self.spawns.iter().enumerate() {
            let _ = writeln!(
                s,
                "  <object id=\"{}\" name=\"spawn {}\" x=\"{x}\" y=\"{y}\">\n   <point/>\n  </object>",
                i + 1,
                i + 1
            );
        }
        s.push_str(" </objectgroup>\n</map>\n");
        s
    }
}

/// 512x512 units, 2x2 regions; walls in a layer named `blocked`.
fn small_map() -> Map {
    let (w, h) = (32u32, 32u32);
    let ground = vec![GRASS + 1; (w * h) as usize];
    let mut blocked = vec![0; (w * h) as usize];
    // A wall across the middle with a gate, and a small pillar.
    for x in 4..28 {
        if !(14..18).contains(&x) {
            blocked[(16 * w + x) as usize] = WALL + 1;
        }
    }
    for (x, y) in [(8, 8), (9, 8), (8, 9), (9, 9)] {
        blocked[(y * w + x) as usize] = WALL + 1;
    }
    Map {
        width: w,
        height: h,
        region: 16,
        layers: vec![("ground", ground), ("blocked", blocked)],
        spawns: vec![(40.0, 40.0), (472.0, 40.0), (256.0, 472.0)],
    }
}

/// 4096x4096 units, 8x8 regions of 512; lakes of water and walled ruins
/// marked by the tile property, one spawn per 2x2 regions.
fn world_map() -> Map {
    let (w, h) = (256u32, 256u32);
    let mut rng = SplitMix(0x6261_7474_6c65_6772);
    let mut ground = vec![GRASS + 1; (w * h) as usize];
    let mut walls = vec![0; (w * h) as usize];
    for _ in 0..28 {
        let (cx, cy) = (rng.below(w) as f32, rng.below(h) as f32);
        let (rx, ry) = (4.0 + rng.below(14) as f32, 4.0 + rng.below(14) as f32);
        let wobble = rng.below(1000) as f32 / 1000.0 * std::f32::consts::TAU;
        for y in 0..h {
            for x in 0..w {
                let (dx, dy) = ((x as f32 - cx) / rx, (y as f32 - cy) / ry);
                let angle = dy.atan2(dx);
                let edge = 1.0 + 0.2 * (3.0 * angle + wobble).sin();
                if dx * dx + dy * dy < edge * edge {
                    ground[(y * w + x) as usize] = WATER + 1;
                }
            }
        }
    }
    for _ in 0..40 {
        let (x0, y0) = (rng.below(w - 24), rng.below(h - 24));
        let (rw, rh) = (6 + rng.below(18), 6 + rng.below(18));
        let gate = 1 + rng.below(rw.min(rh) - 3);
        for i in 0..=rw {
            for (x, y) in [(x0 + i, y0), (x0 + i, y0 + rh)] {
                if i < gate || i > gate + 2 {
                    walls[(y * w + x) as usize] = WALL + 1;
                }
            }
        }
        for j in 0..=rh {
            for (x, y) in [(x0, y0 + j), (x0 + rw, y0 + j)] {
                if j < gate || j > gate + 2 {
                    walls[(y * w + x) as usize] = WALL + 1;
                }
            }
        }
    }
    let free = |x: u32, y: u32| {
        ground[(y * w + x) as usize] == GRASS + 1 && walls[(y * w + x) as usize] == 0
    };
    // Keep the centre walkable: clients meet there.
    let mut spawns = vec![nearest_free(w / 2, h / 2, w, h, &free)];
    for gy in 0..4 {
        for gx in 0..4 {
            spawns.push(nearest_free(gx * 64 + 32, gy * 64 + 32, w, h, &free));
        }
    }
    spawns.dedup();
    Map {
        width: w,
        height: h,
        region: 32,
        layers: vec![("ground", ground), ("walls", walls)],
        spawns,
    }
}

/// Centre of the free tile nearest to tile (x, y), searching square rings.
fn nearest_free(x: u32, y: u32, w: u32, h: u32, free: &impl Fn(u32, u32) -> bool) -> (f32, f32) {
    for r in 0..w.max(h) as i64 {
        for dy in -r..=r {
            for dx in -r..=r {
                if dx.abs() != r && dy.abs() != r {
                    continue;
                }
                let (tx, ty) = (x as i64 + dx, y as i64 + dy);
                if tx >= 0
                    && ty >= 0
                    && tx < w as i64
                    && ty < h as i64
                    && free(tx as u32, ty as u32)
                {
                    let c = |t: i64| (t as u32 * TILE + TILE / 2) as f32;
                    return (c(tx), c(ty));
                }
            }
        }
    }
    panic!("the generated map has no free tile");
}

/// A tiny deterministic PRNG (SplitMix64), so the maps never change with a
/// dependency's version.
struct SplitMix(u64);

impl SplitMix {
    fn below(&mut self, n: u32) -> u32 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) % u64::from(n)) as u32
    }
}

/// A 48x16 RGB PNG with three flat tiles: grass, wall, water.
fn terrain_png() -> Vec<u8> {
    let colours = [[0x5a, 0x9e, 0x3c], [0x70, 0x6a, 0x64], [0x2f, 0x6f, 0xc0]];
    // Each row: filter byte 0 (none), then 48 RGB pixels.
    let row: Vec<u8> = std::iter::once(0)
        .chain((0..48).flat_map(|x| colours[x / 16]))
        .collect();
    let raw = row.repeat(16);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&raw).expect("in memory");
    let idat = z.finish().expect("in memory");
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&48u32.to_be_bytes());
    ihdr.extend_from_slice(&16u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [(*b"IHDR", ihdr), (*b"IDAT", idat), (*b"IEND", Vec::new())] {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = png.len();
        png.extend_from_slice(&kind);
        png.extend_from_slice(&data);
        let crc = crc32(&png[start..]);
        png.extend_from_slice(&crc.to_be_bytes());
    }
    png
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
