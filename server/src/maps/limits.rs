//! The limits a map file must stay within, in one place so that the guard,
//! the converter, the designers' README and the tests agree.
//!
//! They bound what one file can make the server allocate: a few hundred
//! megabytes at worst, for a map far larger than any real one.

/// Largest map file read, in bytes (a 2048x2048-tile map in CSV with a few
/// layers stays well below).
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Longest map side, in world units (= Tiled pixels).
pub const MAX_SIDE_UNITS: u32 = 65_536;

/// Most tiles in the map's grid (width x height in tiles), e.g. 2048x2048.
pub const MAX_TILES: u64 = 4 * 1024 * 1024;

/// Most tile cells over all tile layers together (four full layers of the
/// largest grid).
pub const MAX_TILE_CELLS: u64 = 4 * MAX_TILES;

/// Most tiles over all tilesets of a map together (`tilecount`; a 4096x4096
/// image of 16-pixel tiles holds 65536).
pub const MAX_TILESET_TILES: u64 = 65_536;

/// Most XML elements in a map file (layers, objects, properties, tiles of
/// tilesets...; tile data is text and does not count). Each becomes a few
/// hundred bytes in `tiled`'s model.
pub const MAX_ELEMENTS: u64 = 1_000_000;

/// Most regions a map may be cut into (e.g. 64x64).
pub const MAX_REGIONS: u32 = 4096;

/// Most spawn points on one map.
pub const MAX_SPAWNS: usize = 10_000;

/// Longest map name (the file stem), in bytes; names are also URL path
/// segments, so they are kept short and plain.
pub const MAX_NAME_LEN: usize = 64;
