//! Garbled map files never panic: every truncation of a real map, and
//! thousands of seeded random mutations of it in each tile layer encoding,
//! load or are refused with an error, nothing else.

mod maps_support;

use std::path::Path;

use battlegrid_server::maps::load_map_bytes;
use maps_support::{assets_dir, encodings_dir};

/// A tiny seeded PRNG (SplitMix64) so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Loads `bytes`; a panic fails the test with the input that caused it.
fn load(bytes: Vec<u8>, what: &str) -> bool {
    let path = Path::new("/fuzz/m.tmx");
    let copy = bytes.clone();
    let result = std::panic::catch_unwind(|| load_map_bytes("m", path, bytes.into()).is_ok());
    match result {
        Ok(ok) => ok,
        Err(_) => panic!("{what} panicked on:\n{}", String::from_utf8_lossy(&copy)),
    }
}

/// Every prefix of a real map is refused (it is incomplete) without panic.
#[test]
fn every_truncation_is_refused() {
    let bytes = std::fs::read(assets_dir().join("small.tmx")).unwrap();
    let end = bytes.len() - b"</map>\n".len();
    for cut in 0..end {
        assert!(
            !load(bytes[..cut].to_vec(), &format!("cut at {cut}")),
            "a prefix of {cut} bytes loaded"
        );
    }
}

/// Random byte flips, insertions, deletions and splices of each encoding's
/// file never panic.
#[test]
fn random_mutations_never_panic() {
    let mut rng = Rng(0x5eed);
    for enc in ["csv", "base64", "zlib", "gzip", "zstd"] {
        let original = std::fs::read(encodings_dir().join(format!("small-{enc}.tmx"))).unwrap();
        for round in 0..600 {
            let mut bytes = original.clone();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(bytes.len());
                match rng.below(5) {
                    0 => bytes[at] = rng.next() as u8,
                    1 => {
                        let xml = b"<>/=\"',0123456789 \nAZaz+";
                        bytes[at] = xml[rng.below(xml.len())];
                    }
                    2 => {
                        bytes.remove(at);
                    }
                    3 => bytes.insert(at, rng.next() as u8),
                    _ => {
                        let from = rng.below(bytes.len());
                        let len = rng.below(64).min(bytes.len() - from);
                        let chunk = bytes[from..from + len].to_vec();
                        bytes.splice(at..at, chunk);
                    }
                }
            }
            load(bytes, &format!("{enc} round {round}"));
        }
    }
}
