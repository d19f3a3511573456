//! `battlegrid check-maps [DIR]`: validates a maps directory offline, as
//! the server would load it, so designers can check files before dropping
//! them in.
//!
//! Prints one line per map (`ok <name> ...`) and per refused file
//! (`error <file>: <place>: <problem>`), then a summary. Exit code 0 when
//! every file loads, 1 when any is refused, 2 when DIR cannot be read.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{LoadedMap, ScanResult, scan_dir};

/// Every file loaded.
pub const EXIT_OK: i32 = 0;
/// At least one file was refused.
pub const EXIT_ERRORS: i32 = 1;
/// The directory could not be read.
pub const EXIT_UNREADABLE: i32 = 2;

/// Flags of `battlegrid check-maps`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckMapsArgs {
    /// The maps directory to check.
    #[arg(default_value = "assets-maps")]
    pub dir: PathBuf,
}

/// Runs the command, printing to stdout; returns the process exit code.
pub fn main(args: CheckMapsArgs) -> i32 {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let code = run(&args.dir, &mut out);
    let _ = out.flush();
    code
}

/// Checks `dir`, writing the report to `out`; returns the exit code.
pub fn run(dir: &Path, out: &mut impl Write) -> i32 {
    let started = std::time::Instant::now();
    let scan = match scan_dir(dir) {
        Ok(scan) => scan,
        Err(err) => {
            let _ = writeln!(
                out,
                "error {}: cannot read the directory: {err}",
                dir.display()
            );
            return EXIT_UNREADABLE;
        }
    };
    let _ = report(&scan, started.elapsed(), out);
    if scan.errors.is_empty() {
        EXIT_OK
    } else {
        EXIT_ERRORS
    }
}

fn report(
    scan: &ScanResult,
    took: std::time::Duration,
    out: &mut impl Write,
) -> std::io::Result<()> {
    for map in &scan.maps {
        writeln!(out, "{}", describe(map))?;
    }
    for err in &scan.errors {
        writeln!(out, "error {err}")?;
    }
    writeln!(
        out,
        "{} map(s) ok, {} error(s), checked in {} ms",
        scan.maps.len(),
        scan.errors.len(),
        took.as_millis()
    )
}

/// One line about a loaded map.
pub fn describe(map: &LoadedMap) -> String {
    let spec = &map.spec;
    let info = spec.info();
    format!(
        "ok {} {}x{} units, regions {}x{}, {} spawns, sha256 {}",
        map.name,
        info.width,
        info.height,
        info.region_cols,
        info.region_rows,
        spec.spawn_points().len(),
        map.content_hash
    )
}
