//! CPU time used by this process, so a run can tell whether the load
//! generator itself was the bottleneck.
//!
//! Linux only: `utime` plus `stime` (all threads) of `/proc/self/stat`, read
//! with the `procfs` crate, the same source the server's `/metrics` uses.
//! Elsewhere the figure is simply absent.

use std::time::Duration;

/// User plus system CPU time of this process so far.
pub fn process_cpu_time() -> Option<Duration> {
    let stat = procfs::process::Process::myself().ok()?.stat().ok()?;
    let ticks = stat.utime.checked_add(stat.stime)?;
    Some(Duration::from_secs_f64(
        ticks as f64 / procfs::ticks_per_second() as f64,
    ))
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

    /// This process has a readable CPU time (the project runs on Linux)
    /// that does not go backwards.
    #[test]
    fn own_cpu_time_is_monotonic() {
        let first = process_cpu_time().expect("/proc/self/stat is readable on Linux");
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(process_cpu_time().unwrap() >= first);
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
