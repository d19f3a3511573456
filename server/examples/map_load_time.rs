//! Measures how long loading a map takes (read excluded: from memory, as
//! the watcher does after its one read): every map in a folder, and the
//! largest map the limits allow, built in memory.
//!
//! ```text
//! cargo run --release -p battlegrid-server --example map_load_time -- [DIR] [REPEAT]
//! ```
//!
//! Prints the minimum and median of REPEAT loads (default 20) per map.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine;
use battlegrid_server::maps::{load_map_bytes, map_name};
use bytes::Bytes;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "assets-maps".into()));
    let repeat: usize = args.next().map(|r| r.parse()).transpose()?.unwrap_or(20);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| map_name(p).is_some())
        .collect();
    files.sort();
    for path in files {
        let bytes = Bytes::from(std::fs::read(&path)?);
        let name = map_name(&path).unwrap_or_default();
        report(&name, bytes.len(), repeat, || {
            load_map_bytes(&name, &path, bytes.clone()).map(drop)
        })?;
    }
    let largest = Bytes::from(largest_map());
    let path = Path::new("largest.tmx");
    report("largest (generated)", largest.len(), repeat.min(5), || {
        load_map_bytes("largest", path, largest.clone()).map(drop)
    })?;
    Ok(())
}

fn report<E: std::fmt::Display>(
    name: &str,
    len: usize,
    repeat: usize,
    mut load: impl FnMut() -> Result<(), E>,
) -> anyhow::Result<()> {
    let mut times: Vec<Duration> = Vec::with_capacity(repeat);
    for _ in 0..repeat.max(1) {
        let started = Instant::now();
        load().map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "{name}: {len} bytes, min {:.2} ms, median {:.2} ms over {} loads",
        times[0].as_secs_f64() * 1e3,
        times[times.len() / 2].as_secs_f64() * 1e3,
        times.len()
    );
    Ok(())
}

/// A 2048x2048-tile map (the most tiles allowed) of 16-pixel tiles, with a
/// ground layer and a `blocked` layer with a wall every 16th column, both
/// Base64 + zlib, 32x32 regions and one spawn.
fn largest_map() -> String {
    let side = 2048usize;
    let ground = vec![1u32; side * side];
    let blocked: Vec<u32> = (0..side * side)
        .map(|i| u32::from(i % side % 16 == 15))
        .collect();
    let data = |gids: &[u32]| {
        let raw: Vec<u8> = gids.iter().flat_map(|g| g.to_le_bytes()).collect();
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(&raw).expect("in memory");
        base64::engine::general_purpose::STANDARD.encode(z.finish().expect("in memory"))
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<map version="1.10" orientation="orthogonal" renderorder="right-down" width="{side}" height="{side}" tilewidth="16" tileheight="16" infinite="0" nextlayerid="4" nextobjectid="2">
 <properties>
  <property name="region_width" type="int" value="64"/>
  <property name="region_height" type="int" value="64"/>
 </properties>
 <tileset firstgid="1" name="t" tilewidth="16" tileheight="16" tilecount="1" columns="1">
  <image source="t.png" width="16" height="16"/>
 </tileset>
 <layer id="1" name="ground" width="{side}" height="{side}">
  <data encoding="base64" compression="zlib">{}</data>
 </layer>
 <layer id="2" name="blocked" width="{side}" height="{side}">
  <data encoding="base64" compression="zlib">{}</data>
 </layer>
 <objectgroup id="3" name="spawns">
  <object id="1" x="8" y="8"><point/></object>
 </objectgroup>
</map>
"#,
        data(&ground),
        data(&blocked)
    )
}
