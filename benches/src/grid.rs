//! A uniform grid of square cells: the simplest index the R-tree has to beat.
//!
//! Each cell holds the points that fall in it as a small unsorted vector. A
//! query visits the cells overlapping the query circle's bounding box and
//! applies the product's inclusive predicate (`distance_squared <= r * r`),
//! so its answers are exactly those of `battlegrid_sim::spatial::SpatialIndex`.
//! With the cell size equal to the query radius a query reads 3x3 cells
//! (2x2 when the circle happens to sit on a cell corner).
//!
//! Points outside the area are kept in the nearest border cell, so nothing is
//! ever lost; they only make that cell busier. Left out: resizing the grid,
//! per-id lookup (callers pass the old position, as with the R-tree), and
//! any sharing between threads.

use battlegrid_protocol::{PlayerId, Position};

use crate::data::Area;

/// The most cells a grid may have; keeps a bad cell size from asking for
/// gigabytes.
pub const MAX_CELLS: usize = 1 << 24;

/// Points bucketed by square cells of one fixed size.
#[derive(Debug, Clone)]
pub struct UniformGrid {
    /// Origin of cell (0, 0), kept in f64 so cell lookups round the same way
    /// for stored points and query bounds (see [`UniformGrid::cell_index`]).
    min_x: f64,
    min_y: f64,
    inv_cell: f64,
    cols: usize,
    rows: usize,
    /// Row-major: cell `(col, row)` is `cells[row * cols + col]`.
    cells: Vec<Vec<(PlayerId, Position)>>,
    len: usize,
}

impl UniformGrid {
    /// An empty grid covering `area` with square cells of side `cell_size`.
    ///
    /// # Panics
    /// If `cell_size` is not a positive finite number, or if the area would
    /// need more than [`MAX_CELLS`] cells. Both are programming errors of the
    /// benchmark setup, not data.
    pub fn new(area: Area, cell_size: f32) -> Self {
        assert!(
            cell_size.is_finite() && cell_size > 0.0,
            "cell size must be positive and finite, got {cell_size}"
        );
        let cols = ((area.width / cell_size).ceil() as usize).max(1);
        let rows = ((area.height / cell_size).ceil() as usize).max(1);
        assert!(
            cols.saturating_mul(rows) <= MAX_CELLS,
            "{cols}x{rows} cells is more than {MAX_CELLS}"
        );
        Self {
            min_x: f64::from(area.min.x),
            min_y: f64::from(area.min.y),
            inv_cell: 1.0 / f64::from(cell_size),
            cols,
            rows,
            cells: vec![Vec::new(); cols * rows],
            len: 0,
        }
    }

    /// A grid over `area` holding `points`.
    pub fn bulk_load(area: Area, cell_size: f32, points: Vec<(PlayerId, Position)>) -> Self {
        let mut grid = Self::new(area, cell_size);
        for (id, at) in points {
            grid.insert(id, at);
        }
        grid
    }

    /// Adds `id` at `at`.
    pub fn insert(&mut self, id: PlayerId, at: Position) {
        let cell = self.cell_of(at);
        self.cells[cell].push((id, at));
        self.len += 1;
    }

    /// Removes the entry `(id, at)`; `false` if there is none.
    pub fn remove(&mut self, id: PlayerId, at: Position) -> bool {
        let cell = self.cell_of(at);
        let bucket = &mut self.cells[cell];
        match bucket.iter().position(|&entry| entry == (id, at)) {
            Some(slot) => {
                bucket.swap_remove(slot);
                self.len -= 1;
                true
            }
            None => false,
        }
    }

    /// Moves `id` from `from` to `to`. Within one cell the entry is updated in
    /// place; otherwise it moves between cells. If there was no entry
    /// `(id, from)`, `id` is inserted at `to`, so afterwards it is at `to`
    /// either way.
    pub fn relocate(&mut self, id: PlayerId, from: Position, to: Position) {
        let (old, new) = (self.cell_of(from), self.cell_of(to));
        if old == new
            && let Some(entry) = self.cells[old].iter_mut().find(|e| **e == (id, from))
        {
            entry.1 = to;
            return;
        }
        self.remove(id, from);
        self.insert(id, to);
    }

    /// Calls `f` for every point whose distance to `center` is at most
    /// `radius` (inclusive), in no particular order.
    pub fn for_each_within(
        &self,
        center: Position,
        radius: f32,
        mut f: impl FnMut(PlayerId, Position),
    ) {
        let radius_squared = radius * radius;
        if radius_squared.is_nan() {
            return; // `d <= NaN` holds for no point.
        }
        // The reach comes from `radius_squared`, not `radius`: a huge radius
        // whose square overflows to infinity accepts every point. A point
        // passing the f32 predicate can also be a few ulp beyond the radius
        // along one axis (the squares and the sum round); the margin covers
        // that, so rounding never drops the cell such a point sits in, and
        // at worst adds a cell whose points the predicate then rejects.
        let reach = f64::from(radius_squared).sqrt() * (1.0 + 1e-5) + 1e-6;
        let (x0, x1) = span(center.x, reach);
        let (y0, y1) = span(center.y, reach);
        let (col0, col1) = (
            self.cell_index(x0, self.min_x, self.cols),
            self.cell_index(x1, self.min_x, self.cols),
        );
        let (row0, row1) = (
            self.cell_index(y0, self.min_y, self.rows),
            self.cell_index(y1, self.min_y, self.rows),
        );
        for row in row0..=row1 {
            let cells = &self.cells[row * self.cols + col0..=row * self.cols + col1];
            for &(id, p) in cells.iter().flatten() {
                if p.distance_squared(center) <= radius_squared {
                    f(id, p);
                }
            }
        }
    }

    /// How many entries the grid holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the grid holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn cell_of(&self, p: Position) -> usize {
        let col = self.cell_index(f64::from(p.x), self.min_x, self.cols);
        let row = self.cell_index(f64::from(p.y), self.min_y, self.rows);
        row * self.cols + col
    }

    /// The cell coordinate of `v` along one axis, clamped to the grid. It is
    /// monotone in `v` (each rounding step is), which is what makes the query
    /// range contain every stored point within reach. `as` saturates and maps
    /// NaN to 0, so any float lands in a real cell.
    fn cell_index(&self, v: f64, min: f64, cells: usize) -> usize {
        let c = ((v - min) * self.inv_cell).floor() as i64;
        c.clamp(0, cells as i64 - 1) as usize
    }
}

/// The interval `center ± reach` along one axis. An infinite centre and
/// reach make `inf - inf = NaN`; that end then spans the whole axis, because
/// the f32 predicate can still accept points there (`inf <= inf`).
fn span(center: f32, reach: f64) -> (f64, f64) {
    let (lo, hi) = (f64::from(center) - reach, f64::from(center) + reach);
    (
        if lo.is_nan() { f64::NEG_INFINITY } else { lo },
        if hi.is_nan() { f64::INFINITY } else { hi },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::neighbours::ids_within;

    /// A point exactly at the radius is found (inclusive), one just beyond
    /// is not, also when the circle crosses cell borders.
    #[test]
    fn query_is_inclusive_at_the_radius() {
        let mut grid = UniformGrid::new(Area::square(480.0), 48.0);
        let center = Position::new(96.0, 96.0);
        grid.insert(PlayerId(1), Position::new(144.0, 96.0));
        grid.insert(PlayerId(2), Position::new(96.0, 48.0));
        grid.insert(PlayerId(3), Position::new(144.01, 96.0));
        grid.insert(PlayerId(4), Position::new(96.0, 96.0));
        assert_eq!(ids_within(&grid, center, 48.0), vec![1, 2, 4]);
    }

    /// Points outside the area are kept and still found by queries.
    #[test]
    fn points_outside_the_area_are_found() {
        let mut grid = UniformGrid::new(Area::square(100.0), 10.0);
        grid.insert(PlayerId(1), Position::new(-5.0, -5.0));
        grid.insert(PlayerId(2), Position::new(250.0, 50.0));
        assert_eq!(ids_within(&grid, Position::new(0.0, 0.0), 10.0), vec![1]);
        assert_eq!(ids_within(&grid, Position::new(245.0, 50.0), 5.0), vec![2]);
        assert_eq!(
            ids_within(&grid, Position::new(50.0, 50.0), 1e9),
            vec![1, 2]
        );
    }

    /// Remove needs the stored position; relocate within and across cells
    /// keeps exactly one entry per id.
    #[test]
    fn remove_and_relocate_keep_one_entry() {
        let mut grid = UniformGrid::new(Area::square(100.0), 10.0);
        grid.insert(PlayerId(1), Position::new(5.0, 5.0));
        assert!(!grid.remove(PlayerId(1), Position::new(5.0, 6.0)));
        assert!(!grid.remove(PlayerId(2), Position::new(5.0, 5.0)));
        grid.relocate(
            PlayerId(1),
            Position::new(5.0, 5.0),
            Position::new(6.0, 6.0),
        );
        grid.relocate(
            PlayerId(1),
            Position::new(6.0, 6.0),
            Position::new(55.0, 55.0),
        );
        assert_eq!(grid.len(), 1);
        assert_eq!(
            ids_within(&grid, Position::new(6.0, 6.0), 5.0),
            Vec::<u64>::new()
        );
        assert_eq!(ids_within(&grid, Position::new(55.0, 55.0), 0.0), vec![1]);
        assert!(grid.remove(PlayerId(1), Position::new(55.0, 55.0)));
        assert!(grid.is_empty());
    }

    /// NaN and infinite inputs neither panic nor match anything spurious.
    #[test]
    fn non_finite_inputs_do_not_panic() {
        let mut grid = UniformGrid::new(Area::square(100.0), 10.0);
        grid.insert(PlayerId(1), Position::new(f32::NAN, 5.0));
        grid.insert(PlayerId(2), Position::new(f32::INFINITY, 5.0));
        grid.insert(PlayerId(3), Position::new(5.0, 5.0));
        assert_eq!(
            ids_within(&grid, Position::new(5.0, 5.0), f32::NAN),
            Vec::<u64>::new()
        );
        assert_eq!(
            ids_within(&grid, Position::new(f32::NAN, 5.0), 10.0),
            Vec::<u64>::new()
        );
        assert_eq!(ids_within(&grid, Position::new(5.0, 5.0), 1.0), vec![3]);
        assert!(grid.remove(PlayerId(2), Position::new(f32::INFINITY, 5.0)));
    }

    /// A nonsensical cell size is refused up front.
    #[test]
    #[should_panic(expected = "cell size")]
    fn zero_cell_size_is_refused() {
        UniformGrid::new(Area::square(100.0), 0.0);
    }
}
