//! The map model: size, the grid of regions, blocked tiles and spawn points.
//!
//! Maps are built in code here (loading map files is the server's job, later).
//! A [`MapSpec`] is validated when built, so the simulation can trust it:
//! regions tile the map exactly, tiles tile it exactly, and every spawn point
//! is inside the map on a free tile. Coordinates follow the protocol: origin
//! top-left, `x` right, `y` down, in world units; the map covers
//! `[0, width) x [0, height)`.

use battlegrid_protocol::{MapInfo, Position, RegionId};
use bevy_ecs::prelude::Resource;

/// An axis-aligned rectangle, `[min.x, max.x) x [min.y, max.y)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    /// Top-left corner (inclusive).
    pub min: Position,
    /// Bottom-right corner (exclusive).
    pub max: Position,
}

impl Bounds {
    /// Whether `p` lies inside (left/top edges inclusive, right/bottom exclusive).
    pub fn contains(&self, p: Position) -> bool {
        p.x >= self.min.x && p.x < self.max.x && p.y >= self.min.y && p.y < self.max.y
    }

    /// These bounds grown by `by` on every side, edges inclusive: used for
    /// handoff hysteresis, where a player stays until it is *more* than the
    /// margin past the border.
    pub fn contains_with_margin(&self, p: Position, by: f32) -> bool {
        p.x >= self.min.x - by
            && p.x <= self.max.x + by
            && p.y >= self.min.y - by
            && p.y <= self.max.y + by
    }
}

/// Why a map description was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MapError {
    /// Width, height, tile size or a region grid dimension is zero.
    #[error("map dimensions, tile size and region grid must all be non-zero")]
    ZeroSize,
    /// The tile size does not divide the map's width and height.
    #[error("tile size {tile} does not divide the map size {width}x{height}")]
    TilesDoNotFit {
        /// Tile edge in world units.
        tile: u32,
        /// Map width.
        width: u32,
        /// Map height.
        height: u32,
    },
    /// The region grid does not cut the map into equal, whole-tile regions.
    #[error("a {cols}x{rows} region grid does not divide the map into whole tiles")]
    RegionsDoNotFit {
        /// Region columns.
        cols: u32,
        /// Region rows.
        rows: u32,
    },
    /// A blocked tile lies outside the tile grid.
    #[error("blocked tile ({0}, {1}) is outside the map")]
    TileOutOfRange(u32, u32),
    /// A spawn point lies outside the map or is not a finite position.
    #[error("spawn point ({0}, {1}) is outside the map")]
    SpawnOutside(f32, f32),
    /// A spawn point lies on a blocked tile.
    #[error("spawn point ({0}, {1}) is on a blocked tile")]
    SpawnBlocked(f32, f32),
    /// The map has no spawn point.
    #[error("the map has no spawn point")]
    NoSpawnPoint,
    /// The name is longer than [`MAX_MAP_NAME_LEN`] bytes.
    #[error("map name of {0} bytes exceeds {MAX_MAP_NAME_LEN}")]
    NameTooLong(usize),
}

/// Longest map name, in bytes: it travels in every `Welcome` (the protocol's
/// limit, so a name a client may ask for in `ChangeMap` fits any map).
pub const MAX_MAP_NAME_LEN: usize = battlegrid_protocol::messages::MAX_MAP_NAME_LEN;

/// A validated map.
#[derive(Debug, Clone, PartialEq, Resource)]
pub struct MapSpec {
    name: String,
    width: u32,
    height: u32,
    tile_size: u32,
    region_cols: u32,
    region_rows: u32,
    /// One bit per tile, row-major, set when the tile is blocked.
    blocked: Vec<u64>,
    spawn_points: Vec<Position>,
}

impl MapSpec {
    /// A map of `width x height` world units, cut into `tile_size` tiles and
    /// a `region_cols x region_rows` grid of regions, with the given blocked
    /// tiles (tile column, tile row) and spawn points.
    pub fn new(
        name: impl Into<String>,
        (width, height): (u32, u32),
        tile_size: u32,
        (region_cols, region_rows): (u32, u32),
        blocked_tiles: &[(u32, u32)],
        spawn_points: Vec<Position>,
    ) -> Result<Self, MapError> {
        let name = name.into();
        if name.len() > MAX_MAP_NAME_LEN {
            return Err(MapError::NameTooLong(name.len()));
        }
        if width == 0 || height == 0 || tile_size == 0 || region_cols == 0 || region_rows == 0 {
            return Err(MapError::ZeroSize);
        }
        if !width.is_multiple_of(tile_size) || !height.is_multiple_of(tile_size) {
            return Err(MapError::TilesDoNotFit {
                tile: tile_size,
                width,
                height,
            });
        }
        let (tiles_x, tiles_y) = (width / tile_size, height / tile_size);
        if !tiles_x.is_multiple_of(region_cols) || !tiles_y.is_multiple_of(region_rows) {
            return Err(MapError::RegionsDoNotFit {
                cols: region_cols,
                rows: region_rows,
            });
        }
        let tile_count = tiles_x as usize * tiles_y as usize;
        let mut blocked = vec![0u64; tile_count.div_ceil(64)];
        for &(tx, ty) in blocked_tiles {
            if tx >= tiles_x || ty >= tiles_y {
                return Err(MapError::TileOutOfRange(tx, ty));
            }
            let bit = ty as usize * tiles_x as usize + tx as usize;
            blocked[bit / 64] |= 1 << (bit % 64);
        }
        let map = Self {
            name,
            width,
            height,
            tile_size,
            region_cols,
            region_rows,
            blocked,
            spawn_points,
        };
        if map.spawn_points.is_empty() {
            return Err(MapError::NoSpawnPoint);
        }
        for p in &map.spawn_points {
            if !map.contains(*p) {
                return Err(MapError::SpawnOutside(p.x, p.y));
            }
            if map.is_blocked(*p) {
                return Err(MapError::SpawnBlocked(p.x, p.y));
            }
        }
        Ok(map)
    }

    /// An open map (nothing blocked) with one spawn point in the middle, for
    /// tests and benchmarks. Tiles are 16 units when that fits the region
    /// grid, else 1 unit.
    pub fn open(
        width: u32,
        height: u32,
        region_cols: u32,
        region_rows: u32,
    ) -> Result<Self, MapError> {
        let tile = if width.is_multiple_of(16 * region_cols.max(1))
            && height.is_multiple_of(16 * region_rows.max(1))
        {
            16
        } else {
            1
        };
        let center = Position::new(width as f32 / 2.0, height as f32 / 2.0);
        Self::new(
            "open",
            (width, height),
            tile,
            (region_cols, region_rows),
            &[],
            vec![center],
        )
    }

    /// The map's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Width in world units.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in world units.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Edge length of one tile in world units.
    pub fn tile_size(&self) -> u32 {
        self.tile_size
    }

    /// Number of tile columns and rows.
    pub fn tile_grid(&self) -> (u32, u32) {
        (self.width / self.tile_size, self.height / self.tile_size)
    }

    /// Whether tile (`tx`, `ty`) is blocked; tiles outside the grid are.
    pub fn is_tile_blocked(&self, tx: u32, ty: u32) -> bool {
        let (tiles_x, tiles_y) = self.tile_grid();
        if tx >= tiles_x || ty >= tiles_y {
            return true;
        }
        let bit = ty as usize * tiles_x as usize + tx as usize;
        self.blocked[bit / 64] & (1 << (bit % 64)) != 0
    }

    /// The centre of tile (`tx`, `ty`) in world units.
    pub fn tile_center(&self, tx: u32, ty: u32) -> Position {
        let half = self.tile_size as f32 / 2.0;
        Position::new(
            tx as f32 * self.tile_size as f32 + half,
            ty as f32 * self.tile_size as f32 + half,
        )
    }

    /// Region columns and rows.
    pub(crate) fn region_grid(&self) -> (u32, u32) {
        (self.region_cols, self.region_rows)
    }

    /// The blocked-tile bits, one per tile, row-major.
    pub(crate) fn blocked_bits(&self) -> &[u64] {
        &self.blocked
    }

    /// Number of regions.
    pub fn region_count(&self) -> usize {
        self.region_cols as usize * self.region_rows as usize
    }

    /// Where players may spawn.
    pub fn spawn_points(&self) -> &[Position] {
        &self.spawn_points
    }

    /// Edge lengths of one region in world units.
    pub fn region_size(&self) -> (f32, f32) {
        (
            self.width as f32 / self.region_cols as f32,
            self.height as f32 / self.region_rows as f32,
        )
    }

    /// Whether `p` is a finite position inside the map.
    pub fn contains(&self, p: Position) -> bool {
        p.x.is_finite()
            && p.y.is_finite()
            && p.x >= 0.0
            && p.y >= 0.0
            && p.x < self.width as f32
            && p.y < self.height as f32
    }

    /// Whether `p` can not be stood on: outside the map or on a blocked tile.
    pub fn is_blocked(&self, p: Position) -> bool {
        if !self.contains(p) {
            return true;
        }
        let tiles_x = (self.width / self.tile_size) as usize;
        let tx = ((p.x / self.tile_size as f32) as usize).min(tiles_x - 1);
        let ty = ((p.y / self.tile_size as f32) as usize)
            .min((self.height / self.tile_size) as usize - 1);
        let bit = ty * tiles_x + tx;
        self.blocked[bit / 64] & (1 << (bit % 64)) != 0
    }

    /// The region containing `p`; positions outside the map are clamped to
    /// the nearest region.
    pub fn region_at(&self, p: Position) -> RegionId {
        let (col, row) = self.cell_of(p);
        RegionId(row * self.region_cols + col)
    }

    /// The bounds of region `id`, or `None` if the map has no such region.
    pub fn region_bounds(&self, id: RegionId) -> Option<Bounds> {
        if id.0 as usize >= self.region_count() {
            return None;
        }
        let (w, h) = self.region_size();
        let (col, row) = (id.0 % self.region_cols, id.0 / self.region_cols);
        Some(Bounds {
            min: Position::new(col as f32 * w, row as f32 * h),
            max: Position::new((col + 1) as f32 * w, (row + 1) as f32 * h),
        })
    }

    /// Calls `f` with every region whose bounds, grown by `margin`, intersect
    /// the disc of `radius` around `center`, in increasing id order. This is
    /// a superset check on the bounding box of the disc; callers filter exact
    /// distances themselves.
    pub fn regions_near(
        &self,
        center: Position,
        radius: f32,
        margin: f32,
        f: impl FnMut(RegionId),
    ) {
        let lo = Position::new(center.x - radius, center.y - radius);
        let hi = Position::new(center.x + radius, center.y + radius);
        self.regions_overlapping(lo, hi, margin, f);
    }

    /// Calls `f` with every region whose bounds, grown by `margin`, intersect
    /// the box from `lo` to `hi`, in increasing id order.
    pub fn regions_overlapping(
        &self,
        lo: Position,
        hi: Position,
        margin: f32,
        mut f: impl FnMut(RegionId),
    ) {
        let (c0, r0) = self.cell_of(Position::new(lo.x - margin, lo.y - margin));
        let (c1, r1) = self.cell_of(Position::new(hi.x + margin, hi.y + margin));
        for row in r0..=r1 {
            for col in c0..=c1 {
                f(RegionId(row * self.region_cols + col));
            }
        }
    }

    /// What a joining client is told about this map.
    pub fn info(&self) -> MapInfo {
        MapInfo {
            name: self.name.clone(),
            width: self.width,
            height: self.height,
            region_cols: self.region_cols,
            region_rows: self.region_rows,
        }
    }

    /// Region grid cell of `p`, clamped into the grid.
    fn cell_of(&self, p: Position) -> (u32, u32) {
        let (w, h) = self.region_size();
        // `as` saturates (NaN becomes 0), so any float lands in the grid.
        let col = ((p.x / w).floor().max(0.0) as u32).min(self.region_cols - 1);
        let row = ((p.y / h).floor().max(0.0) as u32).min(self.region_rows - 1);
        (col, row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walled() -> MapSpec {
        MapSpec::new(
            "walled",
            (64, 64),
            16,
            (2, 2),
            &[(1, 1)],
            vec![Position::new(1.0, 1.0)],
        )
        .unwrap()
    }

    /// Regions are numbered row by row and tile the map exactly.
    #[test]
    fn regions_tile_the_map() {
        let map = MapSpec::open(4096, 4096, 8, 8).unwrap();
        assert_eq!(map.region_count(), 64);
        assert_eq!(map.region_at(Position::new(0.0, 0.0)), RegionId(0));
        assert_eq!(map.region_at(Position::new(512.0, 0.0)), RegionId(1));
        assert_eq!(map.region_at(Position::new(511.99, 512.0)), RegionId(8));
        assert_eq!(map.region_at(Position::new(5000.0, -3.0)), RegionId(7));
        let b = map.region_bounds(RegionId(9)).unwrap();
        assert_eq!(
            (b.min, b.max),
            (Position::new(512.0, 512.0), Position::new(1024.0, 1024.0))
        );
        assert_eq!(map.region_bounds(RegionId(64)), None);
    }

    /// Blocked tiles and everything outside the map block movement.
    #[test]
    fn blocked_tiles_and_outside() {
        let map = walled();
        assert!(map.is_blocked(Position::new(16.0, 16.0)));
        assert!(map.is_blocked(Position::new(31.9, 31.9)));
        assert!(!map.is_blocked(Position::new(32.0, 16.0)));
        assert!(map.is_blocked(Position::new(64.0, 0.0)));
        assert!(map.is_blocked(Position::new(f32::NAN, 0.0)));
        assert!(map.is_blocked(Position::new(-0.1, 0.0)));
    }

    /// Each kind of invalid description is refused with its own error.
    #[test]
    fn invalid_maps_are_refused() {
        let spawn = vec![Position::new(1.0, 1.0)];
        assert_eq!(
            MapSpec::new("m", (0, 64), 16, (1, 1), &[], spawn.clone()),
            Err(MapError::ZeroSize)
        );
        assert!(matches!(
            MapSpec::new("m", (60, 64), 16, (1, 1), &[], spawn.clone()),
            Err(MapError::TilesDoNotFit { .. })
        ));
        assert!(matches!(
            MapSpec::new("m", (64, 64), 16, (3, 1), &[], spawn.clone()),
            Err(MapError::RegionsDoNotFit { .. })
        ));
        assert_eq!(
            MapSpec::new("m", (64, 64), 16, (1, 1), &[(4, 0)], spawn.clone()),
            Err(MapError::TileOutOfRange(4, 0))
        );
        assert_eq!(
            MapSpec::new("m", (64, 64), 16, (1, 1), &[(0, 0)], spawn),
            Err(MapError::SpawnBlocked(1.0, 1.0))
        );
        assert_eq!(
            MapSpec::new(
                "m",
                (64, 64),
                16,
                (1, 1),
                &[],
                vec![Position::new(64.0, 1.0)]
            ),
            Err(MapError::SpawnOutside(64.0, 1.0))
        );
        assert_eq!(
            MapSpec::new("m", (64, 64), 16, (1, 1), &[], vec![]),
            Err(MapError::NoSpawnPoint)
        );
        assert_eq!(
            MapSpec::new(
                "n".repeat(256),
                (64, 64),
                16,
                (1, 1),
                &[],
                vec![Position::new(1.0, 1.0)]
            ),
            Err(MapError::NameTooLong(256))
        );
    }

    /// `regions_near` lists the regions a disc (plus margin) can touch.
    #[test]
    fn regions_near_a_corner() {
        let map = MapSpec::open(4096, 4096, 8, 8).unwrap();
        let mut ids = Vec::new();
        map.regions_near(Position::new(512.0, 512.0), 10.0, 2.0, |r| ids.push(r.0));
        assert_eq!(ids, vec![0, 1, 8, 9]);
        ids.clear();
        map.regions_near(Position::new(256.0, 256.0), 10.0, 2.0, |r| ids.push(r.0));
        assert_eq!(ids, vec![0]);
    }
}
