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

#[cfg(test)]
mod tests {
    use super::*;

    /// A good map and a broken one: an `ok` line, an `error` line, the
    /// summary, and exit code 1; an unreadable folder gives 2.
    #[test]
    fn report_lines_and_exit_codes() {
        let dir = tempfile::tempdir().unwrap();
        let small = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets-maps/small.tmx");
        std::fs::copy(small, dir.path().join("a.tmx")).unwrap();
        std::fs::write(dir.path().join("b.tmx"), "<map").unwrap();
        let mut out = Vec::new();
        assert_eq!(run(dir.path(), &mut out), EXIT_ERRORS);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("ok a 512x512 units, regions 2x2, 3 spawns, sha256 "),
            "{text}"
        );
        assert!(
            lines[1].starts_with(&format!(
                "error {}: line 1",
                dir.path().join("b.tmx").display()
            )),
            "{text}"
        );
        assert!(
            lines[2].starts_with("1 map(s) ok, 1 error(s), checked in "),
            "{text}"
        );
        std::fs::remove_file(dir.path().join("b.tmx")).unwrap();
        assert_eq!(run(dir.path(), &mut Vec::new()), EXIT_OK);
        assert_eq!(
            run(&dir.path().join("none"), &mut Vec::new()),
            EXIT_UNREADABLE
        );
    }
}
