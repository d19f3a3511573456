//! CPU time used by this process, so a run can tell whether the load
//! generator itself was the bottleneck.
//!
//! Linux only: it reads `utime` and `stime` (all threads) from
//! `/proc/self/stat`, in clock ticks of `USER_HZ`, which is 100 on every
//! Linux the project runs on (the kernel's ABI fixes it for userspace).
//! Elsewhere, or if the file does not parse, the figure is simply absent.

use std::time::Duration;

/// Clock ticks per second of `/proc/*/stat` times.
const USER_HZ: u64 = 100;

/// User plus system CPU time of this process so far.
pub fn process_cpu_time() -> Option<Duration> {
    parse_stat(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

/// Reads utime + stime (fields 14 and 15) from the text of a stat file. The
/// command name (field 2) may contain spaces and parentheses, so fields are
/// counted after its last `)`.
fn parse_stat(stat: &str) -> Option<Duration> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    let ticks = utime.checked_add(stime)?;
    Some(Duration::from_millis(ticks.saturating_mul(1000 / USER_HZ)))
}

/// CPU time between two readings as a percentage of one core over `wall`.
pub fn percent_of_core(before: Duration, after: Duration, wall: Duration) -> Option<f64> {
    if wall.is_zero() {
        return None;
    }
    Some(after.saturating_sub(before).as_secs_f64() / wall.as_secs_f64() * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// utime and stime are fields 14 and 15, counted past a command name
    /// that contains spaces and a parenthesis.
    #[test]
    fn parses_utime_and_stime() {
        let stat =
            "3026 (my (odd) cmd) R 3024 3024 22189 0 -1 4194304 97 0 0 0 250 50 0 0 20 0 1 0";
        assert_eq!(parse_stat(stat), Some(Duration::from_secs(3)));
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (x) R 1 2"), None);
    }

    /// This process has a readable CPU time that does not go backwards.
    #[test]
    fn own_cpu_time_is_monotonic() {
        if let Some(first) = process_cpu_time() {
            let mut x = 0u64;
            for i in 0..2_000_000u64 {
                x = x.wrapping_mul(31).wrapping_add(i);
            }
            std::hint::black_box(x);
            assert!(process_cpu_time().unwrap() >= first);
        }
    }

    /// Percentages are relative to one core; an empty window has none.
    #[test]
    fn percent_of_one_core() {
        let pct = percent_of_core(
            Duration::from_secs(1),
            Duration::from_secs(4),
            Duration::from_secs(2),
        );
        assert_eq!(pct, Some(150.0));
        assert_eq!(
            percent_of_core(Duration::ZERO, Duration::ZERO, Duration::ZERO),
            None
        );
    }
}
