//! From a parsed Tiled map to a validated [`MapSpec`]: battlegrid's map
//! conventions (documented for designers in `assets-maps/README.md`).
//!
//! - Map properties `region_width` and `region_height` (whole numbers, in
//!   tiles) set the region size; both are required and must divide the map.
//! - A tile is blocked when it is non-empty in a tile layer named `blocked`,
//!   or when any tile layer places a tile whose tileset tile has the bool
//!   property `blocked = true`. Layers inside groups count too; visibility
//!   does not matter.
//! - The object layer named `spawns` holds one point object per spawn point;
//!   it is required and needs at least one point, each inside the map on a
//!   free tile.
//! - Units are Tiled pixels; the tile size is the map's tile width.
//!
//! The guard has already refused oversized, non-orthogonal and infinite
//! maps and short layer data, so this module does not check those again.

use battlegrid_protocol::Position;
use battlegrid_sim::MapSpec;
use tiled::{Layer, LayerType, ObjectShape, PropertyValue, TileLayer};

use super::error::Problem;
use super::guard::Lines;
use super::limits::{MAX_REGIONS, MAX_SPAWNS};

/// Name of the tile layer whose non-empty tiles are blocked.
pub const BLOCKED_LAYER: &str = "blocked";
/// Name of the tile property that marks a tileset tile as blocked.
pub const BLOCKED_PROPERTY: &str = "blocked";
/// Name of the object layer holding the spawn points.
pub const SPAWNS_LAYER: &str = "spawns";
/// Map property: width of one region, in tiles.
pub const REGION_WIDTH: &str = "region_width";
/// Map property: height of one region, in tiles.
pub const REGION_HEIGHT: &str = "region_height";

/// Builds the [`MapSpec`] called `name` from `map`.
pub(crate) fn to_spec(name: &str, map: &tiled::Map, lines: &Lines) -> Result<MapSpec, Problem> {
    let tile = map.tile_width;
    let (cols, rows) = region_grid(map)?;
    let blocked = blocked_tiles(map, lines)?;
    let spawns = spawn_points(map, lines, &blocked)?;
    let blocked_list: Vec<(u32, u32)> = blocked.list();
    MapSpec::new(
        name,
        (map.width * tile, map.height * tile),
        tile,
        (cols, rows),
        &blocked_list,
        spawns,
    )
    .map_err(|err| Problem::whole(format!("the map is not valid: {err}")))
}

/// The region grid (columns, rows) from the region size properties.
fn region_grid(map: &tiled::Map) -> Result<(u32, u32), Problem> {
    let rw = tiles_property(map, REGION_WIDTH, map.width, "width")?;
    let rh = tiles_property(map, REGION_HEIGHT, map.height, "height")?;
    let (cols, rows) = (map.width / rw, map.height / rh);
    if u64::from(cols) * u64::from(rows) > u64::from(MAX_REGIONS) {
        return Err(Problem::at(
            "map properties",
            format!(
                "regions of {rw}x{rh} tiles cut the map into {cols}x{rows} regions; the most allowed is {MAX_REGIONS}, so make the regions bigger"
            ),
        ));
    }
    Ok((cols, rows))
}

/// A required map property holding a whole number of tiles that divides
/// `map_tiles` (the map's `side`).
fn tiles_property(map: &tiled::Map, key: &str, map_tiles: u32, side: &str) -> Result<u32, Problem> {
    let at = || format!("map property \"{key}\"");
    let value = match map.properties.get(key) {
        None => {
            return Err(Problem::at(
                "map properties",
                format!(
                    "the required map property \"{key}\" is missing; add it as an int: the {side} of one region in tiles (Tiled: Map > Map Properties, then +)"
                ),
            ));
        }
        Some(PropertyValue::IntValue(v)) => i64::from(*v),
        Some(PropertyValue::StringValue(s)) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| Problem::at(at(), format!("\"{s}\" is not a whole number of tiles")))?,
        Some(other) => {
            return Err(Problem::at(
                at(),
                format!(
                    "must be an int (a whole number of tiles), not {}",
                    kind(other)
                ),
            ));
        }
    };
    let tiles = u32::try_from(value)
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| Problem::at(at(), format!("{value} is not a positive number of tiles")))?;
    if !map_tiles.is_multiple_of(tiles) {
        return Err(Problem::at(
            at(),
            format!(
                "regions {tiles} tiles wide do not divide the map {side} of {map_tiles} tiles; use a divisor of {map_tiles}"
            ),
        ));
    }
    Ok(tiles)
}

fn kind(v: &PropertyValue) -> &'static str {
    match v {
        PropertyValue::BoolValue(_) => "a bool",
        PropertyValue::FloatValue(_) => "a float",
        PropertyValue::IntValue(_) => "an int",
        PropertyValue::ColorValue(_) => "a color",
        PropertyValue::StringValue(_) => "a string",
        PropertyValue::FileValue(_) => "a file",
        PropertyValue::ObjectValue(_) => "an object",
        PropertyValue::ListValue(_) => "a list",
        PropertyValue::ClassValue { .. } => "a class",
    }
}

/// One flag per tile, row by row.
struct Blocked {
    width: u32,
    bits: Vec<bool>,
}

impl Blocked {
    fn is_blocked(&self, p: Position, tile: u32) -> bool {
        let (tx, ty) = ((p.x / tile as f32) as usize, (p.y / tile as f32) as usize);
        self.bits
            .get(ty * self.width as usize + tx)
            .copied()
            .unwrap_or(true)
    }

    fn list(&self) -> Vec<(u32, u32)> {
        let w = self.width as usize;
        self.bits
            .iter()
            .enumerate()
            .filter(|(_, b)| **b)
            .map(|(i, _)| ((i % w) as u32, (i / w) as u32))
            .collect()
    }
}

/// Every blocked tile of the map, by the two conventions in the module docs.
fn blocked_tiles(map: &tiled::Map, lines: &Lines) -> Result<Blocked, Problem> {
    // Per tileset, the ids of its tiles marked `blocked = true`.
    let mut marked: Vec<Vec<u32>> = Vec::with_capacity(map.tilesets().len());
    for tileset in map.tilesets() {
        let mut ids = Vec::new();
        for (id, tile) in tileset.tiles() {
            match tile.properties.get(BLOCKED_PROPERTY) {
                None | Some(PropertyValue::BoolValue(false)) => {}
                Some(PropertyValue::BoolValue(true)) => ids.push(id),
                Some(other) => {
                    return Err(Problem::at(
                        format!("tile {id} of tileset \"{}\"", tileset.name),
                        format!(
                            "the tile property \"{BLOCKED_PROPERTY}\" must be a bool, not {}",
                            kind(other)
                        ),
                    ));
                }
            }
        }
        ids.sort_unstable();
        marked.push(ids);
    }
    let mut blocked = Blocked {
        width: map.width,
        bits: vec![false; map.width as usize * map.height as usize],
    };
    for layer in flatten(map) {
        let whole_layer = layer.name == BLOCKED_LAYER;
        match layer.layer_type() {
            LayerType::Tiles(TileLayer::Finite(tiles)) => {
                if whole_layer && (layer.offset_x != 0.0 || layer.offset_y != 0.0) {
                    return Err(Problem::at(
                        layer_at(&layer.name, lines),
                        "the blocked layer has an offset; set its horizontal and vertical offset to 0",
                    ));
                }
                for ty in 0..tiles.height() {
                    for tx in 0..tiles.width() {
                        let Some(t) = tiles.get_tile_data(tx as i32, ty as i32) else {
                            continue;
                        };
                        let hit = whole_layer
                            || marked
                                .get(t.tileset_index())
                                .is_some_and(|ids| ids.binary_search(&t.id()).is_ok());
                        if hit && tx < map.width && ty < map.height {
                            blocked.bits[(ty * map.width + tx) as usize] = true;
                        }
                    }
                }
            }
            LayerType::Tiles(TileLayer::Infinite(_)) => {
                return Err(Problem::at(
                    layer_at(&layer.name, lines),
                    "infinite tile layers are not supported",
                ));
            }
            _ if whole_layer => {
                return Err(Problem::at(
                    layer_at(&layer.name, lines),
                    "a layer named \"blocked\" must be a tile layer",
                ));
            }
            _ => {}
        }
    }
    Ok(blocked)
}

/// The spawn points of the `spawns` object layer(s).
fn spawn_points(
    map: &tiled::Map,
    lines: &Lines,
    blocked: &Blocked,
) -> Result<Vec<Position>, Problem> {
    let (w, h) = (
        (map.width * map.tile_width) as f32,
        (map.height * map.tile_width) as f32,
    );
    let mut found_layer = false;
    let mut spawns = Vec::new();
    for layer in flatten(map) {
        let layer_name = layer.name.clone();
        let is_spawns = layer.name == SPAWNS_LAYER;
        let offset = layer.offset_x != 0.0 || layer.offset_y != 0.0;
        match layer.layer_type() {
            LayerType::Objects(objects) if is_spawns => {
                found_layer = true;
                if offset {
                    return Err(Problem::at(
                        layer_at(&layer_name, lines),
                        "the spawns layer has an offset; set its horizontal and vertical offset to 0",
                    ));
                }
                for object in objects.objects() {
                    let at = || {
                        let line = lines
                            .objects
                            .get(&object.id())
                            .map(|l| format!(" (line {l})"))
                            .unwrap_or_default();
                        format!(
                            "object {} \"{}\" in layer \"{SPAWNS_LAYER}\"{line}",
                            object.id(),
                            object.name
                        )
                    };
                    if !matches!(object.shape, ObjectShape::Point(..)) {
                        return Err(Problem::at(
                            at(),
                            "spawn objects must be points (Tiled: Insert Point), this one is not",
                        ));
                    }
                    let p = Position::new(object.x, object.y);
                    if !(p.x.is_finite()
                        && p.y.is_finite()
                        && p.x >= 0.0
                        && p.y >= 0.0
                        && p.x < w
                        && p.y < h)
                    {
                        return Err(Problem::at(
                            at(),
                            format!(
                                "the spawn point ({}, {}) is outside the map of {w}x{h} units",
                                p.x, p.y
                            ),
                        ));
                    }
                    if blocked.is_blocked(p, map.tile_width) {
                        return Err(Problem::at(
                            at(),
                            format!(
                                "the spawn point ({}, {}) is on a blocked tile; move it to a free tile",
                                p.x, p.y
                            ),
                        ));
                    }
                    if spawns.len() == MAX_SPAWNS {
                        return Err(Problem::at(
                            at(),
                            format!("a map may have at most {MAX_SPAWNS} spawn points"),
                        ));
                    }
                    spawns.push(p);
                }
            }
            _ if is_spawns => {
                return Err(Problem::at(
                    layer_at(&layer_name, lines),
                    "the layer named \"spawns\" must be an object layer (with point objects)",
                ));
            }
            _ => {}
        }
    }
    if !found_layer {
        return Err(Problem::at(
            "layers",
            "the map has no object layer named \"spawns\"; add one (Tiled: Layer > New > Object Layer) with a point object per spawn point",
        ));
    }
    if spawns.is_empty() {
        return Err(Problem::at(
            layer_at(SPAWNS_LAYER, lines),
            "the spawns layer has no spawn point; add at least one point object (Tiled: Insert Point)",
        ));
    }
    Ok(spawns)
}

/// Every layer that is not a group, in file order, groups opened in place.
fn flatten(map: &tiled::Map) -> Vec<Layer<'_>> {
    fn walk<'m>(layers: impl Iterator<Item = Layer<'m>>, out: &mut Vec<Layer<'m>>) {
        for layer in layers {
            match layer.layer_type() {
                LayerType::Group(group) => walk(group.layers(), out),
                _ => out.push(layer),
            }
        }
    }
    let mut out = Vec::new();
    walk(map.layers(), &mut out);
    out
}

fn layer_at(name: &str, lines: &Lines) -> String {
    match lines.layers.get(name) {
        Some(line) => format!("layer \"{name}\" (line {line})"),
        None => format!("layer \"{name}\""),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use battlegrid_protocol::Position;

    use crate::maps::{MapLoadError, load_map_bytes};

    /// A 4x4-tile map of 16-pixel tiles (one region) with `body` inside.
    fn map(props: &str, body: &str) -> Result<battlegrid_sim::MapSpec, MapLoadError> {
        let text = format!(
            r#"<map version="1.10" orientation="orthogonal" width="4" height="4" tilewidth="16" tileheight="16">
 <properties>{props}</properties>
 <tileset firstgid="1" name="t" tilewidth="16" tileheight="16" tilecount="2" columns="2">
  <tile id="1"><properties><property name="blocked" type="bool" value="true"/></properties></tile>
 </tileset>
{body}
</map>"#
        );
        load_map_bytes("m", Path::new("m.tmx"), text.into_bytes().into()).map(|m| m.spec)
    }

    const REGIONS: &str = r#"<property name="region_width" type="int" value="4"/><property name="region_height" value="2"/>"#;
    const SPAWN: &str =
        r#"<objectgroup name="spawns"><object id="1" x="8" y="8"><point/></object></objectgroup>"#;

    fn layer(name: &str, csv: &str) -> String {
        format!(
            r#"<layer name="{name}" width="4" height="4" visible="0"><data encoding="csv">{csv}</data></layer>"#
        )
    }

    /// A string property holding a number is accepted (Tiled's default
    /// property type is string).
    #[test]
    fn region_size_as_string() {
        let spec = map(REGIONS, SPAWN).unwrap();
        assert_eq!(spec.info().region_cols, 1);
        assert_eq!(spec.info().region_rows, 2);
    }

    /// Zero and negative region sizes are refused.
    #[test]
    fn region_size_must_be_positive() {
        let props = r#"<property name="region_width" type="int" value="-4"/><property name="region_height" value="2"/>"#;
        let err = map(props, SPAWN).unwrap_err();
        assert!(err.message.contains("-4 is not a positive number"), "{err}");
    }

    /// Tiles marked `blocked` in the tileset block on any layer, hidden or
    /// not; unmarked tiles on other layers do not.
    #[test]
    fn tile_property_blocks_on_any_layer() {
        let ground = layer("ground", "1,2,1,1, 1,1,1,1, 1,1,1,1, 1,1,1,1");
        let spec = map(REGIONS, &format!("{ground}{SPAWN}")).unwrap();
        assert!(spec.is_blocked(Position::new(17.0, 1.0)));
        assert!(!spec.is_blocked(Position::new(1.0, 1.0)));
    }

    /// Layers inside groups count, for blocked tiles and for spawns.
    #[test]
    fn layers_inside_groups_count() {
        let blocked = layer("blocked", "0,0,0,0, 0,0,0,0, 0,0,0,0, 0,0,0,1");
        let body = format!(r#"<group name="g">{blocked}<group name="h">{SPAWN}</group></group>"#);
        let spec = map(REGIONS, &body).unwrap();
        assert!(spec.is_blocked(Position::new(50.0, 50.0)));
        assert_eq!(spec.spawn_points(), &[Position::new(8.0, 8.0)]);
    }

    /// A `blocked` layer that is not a tile layer, or a `spawns` layer that
    /// is not an object layer, is refused by name.
    #[test]
    fn layers_of_the_wrong_kind() {
        let body = format!(r#"<objectgroup name="blocked"/>{SPAWN}"#);
        let err = map(REGIONS, &body).unwrap_err();
        assert!(err.message.contains("must be a tile layer"), "{err}");
        let spawns = layer("spawns", "0,0,0,0, 0,0,0,0, 0,0,0,0, 0,0,0,0");
        let err = map(REGIONS, &spawns).unwrap_err();
        assert!(err.message.contains("must be an object layer"), "{err}");
    }
}
