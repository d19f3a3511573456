//! A tile layer's `<data>`: its encoding, and its entries decoded without
//! trusting the sizes it claims (the guard's part of reading layer data).

use std::io::Read;

use base64::Engine;

use super::guard::truncate;

/// How one layer's `<data>` is written.
#[derive(Debug, Clone, Copy)]
pub(crate) enum DataFormat {
    Csv,
    Base64(Compression),
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Compression {
    None,
    Zlib,
    Gzip,
    Zstd,
}

impl DataFormat {
    /// The format named by a `<data>` element's `encoding` and
    /// `compression` attributes.
    pub fn from_attributes(
        encoding: Option<&str>,
        compression: Option<&str>,
    ) -> Result<Self, String> {
        Ok(match (encoding, compression) {
            (Some("csv"), None) => Self::Csv,
            (Some("base64"), None) => Self::Base64(Compression::None),
            (Some("base64"), Some("zlib")) => Self::Base64(Compression::Zlib),
            (Some("base64"), Some("gzip")) => Self::Base64(Compression::Gzip),
            (Some("base64"), Some("zstd")) => Self::Base64(Compression::Zstd),
            (e, c) => {
                return Err(format!(
                    "tile layer data with encoding \"{}\" and compression \"{}\" is not supported; use CSV or Base64 (uncompressed, zlib, gzip or zstd)",
                    e.unwrap_or("none"),
                    c.unwrap_or("none")
                ));
            }
        })
    }

    /// How many tile entries `text` holds, handing each (its index and raw
    /// value) to `visit`; decompression stops one entry past `expected`, so
    /// a bomb costs no more than a correct layer.
    pub fn count(
        self,
        text: &str,
        expected: u32,
        mut visit: impl FnMut(u64, u32),
    ) -> Result<u64, String> {
        let raw = match self {
            DataFormat::Csv => {
                let mut n = 0u64;
                for entry in text.split(',') {
                    let Ok(value) = entry.trim().parse::<u32>() else {
                        return Err(format!(
                            "\"{}\" in the CSV layer data is not a tile number",
                            truncate(entry.trim())
                        ));
                    };
                    visit(n, value);
                    n += 1;
                }
                return Ok(n);
            }
            DataFormat::Base64(compression) => {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(text.trim().as_bytes())
                    .map_err(|err| format!("the Base64 layer data is damaged: {err}"))?;
                (decoded, compression)
            }
        };
        let (decoded, compression) = raw;
        let limit = (u64::from(expected) + 1) * 4;
        let mut out = Vec::new();
        let mut visit_all = |bytes: &[u8]| {
            for (i, cell) in bytes.chunks_exact(4).enumerate() {
                let value = u32::from_le_bytes([cell[0], cell[1], cell[2], cell[3]]);
                visit(i as u64, value);
            }
            whole_tiles(bytes.len())
        };
        let result = match compression {
            Compression::None => return visit_all(&decoded),
            Compression::Zlib => flate2::read::ZlibDecoder::new(&decoded[..])
                .take(limit)
                .read_to_end(&mut out),
            Compression::Gzip => flate2::read::GzDecoder::new(&decoded[..])
                .take(limit)
                .read_to_end(&mut out),
            Compression::Zstd => zstd::stream::read::Decoder::new(&decoded[..])
                .and_then(|d| d.take(limit).read_to_end(&mut out)),
        };
        result.map_err(|err| format!("the compressed layer data is damaged: {err}"))?;
        visit_all(&out)
    }
}

/// Binary layer data holds four bytes per tile; a partial tile is damage.
fn whole_tiles(len: usize) -> Result<u64, String> {
    if !len.is_multiple_of(4) {
        return Err(format!(
            "the layer data holds {len} bytes, not four bytes per tile; was the file saved completely?"
        ));
    }
    Ok(len as u64 / 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Uncompressed Base64 holds four bytes per tile; a partial tile is an
    /// error.
    #[test]
    fn base64_counts_whole_tiles() {
        let f = DataFormat::Base64(Compression::None);
        let mut seen = Vec::new();
        assert_eq!(f.count("AQAAAAIAAIA=", 2, |i, v| seen.push((i, v))), Ok(2)); // 8 bytes
        assert_eq!(seen, [(0, 1), (1, 0x8000_0002)]);
        assert!(f.count("AAAAAAAAAAAA", 2, |_, _| {}).is_err()); // 9 bytes
        assert!(f.count("not base64!", 2, |_, _| {}).is_err());
        seen.clear();
        let csv = DataFormat::Csv.count("0, 1,\n2", 3, |i, v| seen.push((i, v)));
        assert_eq!(csv, Ok(3));
        assert_eq!(seen, [(0, 0), (1, 1), (2, 2)]);
        assert!(DataFormat::Csv.count("0,,1", 3, |_, _| {}).is_err());
    }
}
