//! The heatmap PNG of `battlegrid analytics heatmap`: where players were,
//! over the map's blocked tiles and its region grid.
//!
//! One image pixel covers a square of the map; every position sample adds
//! to the pixel it falls in and, weaker, to its eight neighbours, so a
//! single sample is visible at a glance. Heat runs from dark red (few
//! samples) to yellow (the most), on a log scale, since a crowded spawn
//! point would otherwise wash everything else out. Only heat uses full
//! red (255); the map's own colours stay below it.

use battlegrid_sim::MapSpec;

/// Free ground.
pub const FLOOR: [u8; 3] = [24, 24, 28];
/// A blocked tile.
pub const BLOCKED: [u8; 3] = [96, 96, 104];
/// A region border.
pub const GRID: [u8; 3] = [40, 60, 140];

/// An RGB image of the heat over one map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heatmap {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Row-major RGB bytes.
    pub rgb: Vec<u8>,
}

/// Maps world positions to pixels of a `width`-pixel-wide image of `map`.
#[derive(Debug, Clone, Copy)]
pub struct Projection {
    width: u32,
    height: u32,
    /// World units per pixel.
    scale: f32,
}

impl Projection {
    /// A projection `width` pixels wide (at most one pixel per world unit).
    pub fn new(map: &MapSpec, width: u32) -> Self {
        let width = width.clamp(1, map.width().max(1));
        let scale = map.width() as f32 / width as f32;
        let height = ((map.height() as f32 / scale).round() as u32).max(1);
        Self {
            width,
            height,
            scale,
        }
    }

    /// The pixel of world position (`x`, `y`), if it is on the image.
    pub fn pixel(&self, x: f32, y: f32) -> Option<(u32, u32)> {
        if !(x.is_finite() && y.is_finite()) || x < 0.0 || y < 0.0 {
            return None;
        }
        let (px, py) = ((x / self.scale) as u32, (y / self.scale) as u32);
        (px < self.width && py < self.height).then_some((px, py))
    }

    /// The world position at the centre of pixel (`px`, `py`).
    fn world(&self, px: u32, py: u32) -> (f32, f32) {
        (
            (px as f32 + 0.5) * self.scale,
            (py as f32 + 0.5) * self.scale,
        )
    }
}

/// Draws `positions` (world coordinates) over `map`, `width` pixels wide.
pub fn render(
    map: &MapSpec,
    positions: impl IntoIterator<Item = (f32, f32)>,
    width: u32,
) -> Heatmap {
    let projection = Projection::new(map, width);
    let (w, h) = (projection.width, projection.height);
    let mut heat = vec![0u32; (w * h) as usize];
    for (x, y) in positions {
        let Some((px, py)) = projection.pixel(x, y) else {
            continue;
        };
        for dy in -1i64..=1 {
            for dx in -1i64..=1 {
                let (nx, ny) = (i64::from(px) + dx, i64::from(py) + dy);
                if nx < 0 || ny < 0 || nx >= i64::from(w) || ny >= i64::from(h) {
                    continue;
                }
                let weight = if dx == 0 && dy == 0 { 4 } else { 1 };
                heat[(ny as u32 * w + nx as u32) as usize] += weight;
            }
        }
    }
    let max = heat.iter().copied().max().unwrap_or(0).max(1);
    let log_max = (1.0 + max as f32).ln();
    let tile = map.tile_size().max(1) as f32;
    let (region_w, region_h) = map.region_size();
    let mut rgb = Vec::with_capacity((w * h * 3) as usize);
    for py in 0..h {
        for px in 0..w {
            let n = heat[(py * w + px) as usize];
            let colour = if n > 0 {
                let t = (1.0 + n as f32).ln() / log_max;
                [255, (40.0 + 215.0 * t) as u8, 0]
            } else {
                let (x, y) = projection.world(px, py);
                let border = |at: f32, size: f32| {
                    // A border runs through this pixel when the pixel's
                    // span holds a multiple of the region size.
                    let (lo, hi) = (at - projection.scale / 2.0, at + projection.scale / 2.0);
                    size > 0.0 && (lo / size).floor() != (hi / size).floor()
                };
                if border(x, region_w) || border(y, region_h) {
                    GRID
                } else if map.is_tile_blocked((x / tile) as u32, (y / tile) as u32) {
                    BLOCKED
                } else {
                    FLOOR
                }
            };
            rgb.extend_from_slice(&colour);
        }
    }
    Heatmap {
        width: w,
        height: h,
        rgb,
    }
}

impl Heatmap {
    /// The image as PNG bytes.
    pub fn to_png(&self) -> Result<Vec<u8>, png::EncodingError> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, self.width, self.height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&self.rgb)?;
        writer.finish()?;
        Ok(out)
    }

    /// The colour of pixel (`x`, `y`).
    pub fn at(&self, x: u32, y: u32) -> [u8; 3] {
        let i = ((y * self.width + x) * 3) as usize;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }
}

#[cfg(test)]
mod tests {
    use battlegrid_protocol::Position;

    use super::*;

    /// Samples light their pixel (full red, the most-visited brightest);
    /// the rest shows floor, blocked tiles or the region grid; the PNG
    /// decodes to the same pixels.
    #[test]
    fn heat_lands_on_the_sampled_pixels() {
        let map = MapSpec::new(
            "t",
            (512, 512),
            32,
            (4, 4),
            &[(10, 10)],
            vec![Position::new(8.0, 8.0)],
        )
        .unwrap();
        let positions = [(100.0, 100.0); 10].into_iter().chain([(400.0, 300.0)]);
        let heat = render(&map, positions, 128);
        assert_eq!((heat.width, heat.height), (128, 128));
        let busy = heat.at(25, 25);
        let once = heat.at(100, 75);
        assert_eq!(busy[0], 255);
        assert_eq!(once[0], 255);
        assert!(
            busy[1] > once[1],
            "more samples are brighter: {busy:?} {once:?}"
        );
        assert_eq!(heat.at(60, 110), FLOOR, "nobody there");
        assert_eq!(heat.at(84, 84), BLOCKED, "tile (10, 10)");
        assert_eq!(heat.at(31, 60), GRID, "the border at x = 128");

        let png = heat.to_png().unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (128, 128));
        assert_eq!(&buf[..info.buffer_size()], &heat.rgb[..]);
    }
}
