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

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Loads `bytes`; a panic fails the test with the input that caused it.
fn load(bytes: Vec<u8>, what: &str) -> bool {
    let path = Path::new("/fuzz/m.tmx");
    let copy = bytes.clone();
    // An abort (e.g. a huge allocation) cannot be caught: MAPS_FUZZ_DUMP
    // names a file that always holds the input being tried.
    if let Ok(dump) = std::env::var("MAPS_FUZZ_DUMP") {
        std::fs::write(dump, &copy).unwrap();
    }
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
    // MAPS_FUZZ_ROUNDS and MAPS_FUZZ_SEED widen the search by hand.
    let rounds: usize = env_or("MAPS_FUZZ_ROUNDS", 600);
    let mut rng = Rng(env_or("MAPS_FUZZ_SEED", 0x5eed));
    let files = [
        "small-csv",
        "small-base64",
        "small-zlib",
        "small-gzip",
        "small-zstd",
        "../rich",
    ];
    for enc in files {
        let original = std::fs::read(encodings_dir().join(format!("{enc}.tmx"))).unwrap();
        for round in 0..rounds {
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

/// Numbers (sizes, ids, tile numbers, positions, property values) replaced
/// by edge values never panic: these mutations keep the XML well-formed, so
/// they reach the Tiled reader and the conventions.
#[test]
fn edge_numbers_never_panic() {
    const EDGES: [&str; 12] = [
        "0",
        "1",
        "-1",
        "2",
        "31",
        "33",
        "65536",
        "4294967295",
        "4294967296",
        "1e30",
        "NaN",
        "",
    ];
    let rounds: usize = env_or("MAPS_FUZZ_ROUNDS", 600);
    let mut rng = Rng(env_or("MAPS_FUZZ_SEED", 0xed9e));
    for file in ["small-csv.tmx", "small-zlib.tmx", "../rich.tmx"] {
        let original = std::fs::read_to_string(encodings_dir().join(file)).unwrap();
        // Spans of digits outside the long Base64 text.
        let numbers: Vec<(usize, usize)> = original
            .match_indices(|c: char| c.is_ascii_digit())
            .map(|(i, _)| i)
            .filter(|&i| i == 0 || !original.as_bytes()[i - 1].is_ascii_alphanumeric())
            .map(|i| {
                let len = original[i..]
                    .find(|c: char| !c.is_ascii_digit() && c != '.')
                    .unwrap();
                (i, len)
            })
            .collect();
        for round in 0..rounds {
            let mut text = original.clone();
            let mut picks: Vec<(usize, usize)> = (0..1 + rng.below(3))
                .map(|_| numbers[rng.below(numbers.len())])
                .collect();
            picks.sort_unstable();
            picks.dedup();
            for (at, len) in picks.into_iter().rev() {
                text.replace_range(at..at + len, EDGES[rng.below(EDGES.len())]);
            }
            load(text.into_bytes(), &format!("{file} numbers round {round}"));
        }
    }
}
