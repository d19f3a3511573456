//! A criterion measurement of the benchmark thread's CPU time, for
//! single-threaded benchmarks on a shared machine.
//!
//! Wall-clock time on a 2-core machine that others are compiling on counts
//! every time slice the benchmark thread waits for a core; CPU time
//! (`CLOCK_THREAD_CPUTIME_ID`, user + system time of this thread) does not.
//! On an idle machine the two agree for single-threaded code, so this keeps
//! the numbers of such a benchmark reproducible without changing what they
//! mean. What it cannot remove is the cache and memory-bandwidth pressure of
//! the neighbours. It is wrong for code that uses several threads (the tick),
//! whose cost is elapsed time, and it needs a Unix `clock_gettime`.

use std::time::Duration;

use criterion::Throughput;
use criterion::measurement::{Measurement, ValueFormatter};
use rustix::time::{ClockId, clock_gettime};

/// Name of the environment variable that picks the clock: `thread-cpu`
/// selects [`ThreadCpuTime`]; anything else, or unset, keeps wall time.
pub const CLOCK_ENV: &str = "BATTLEGRID_BENCH_CLOCK";

/// Whether [`CLOCK_ENV`] asks for thread CPU time.
pub fn thread_cpu_requested() -> bool {
    std::env::var(CLOCK_ENV).is_ok_and(|v| v == "thread-cpu")
}

/// CPU time consumed by the calling thread, as a criterion measurement.
#[derive(Debug, Clone, Copy, Default)]
pub struct ThreadCpuTime;

/// This thread's CPU time since it started.
pub fn thread_cpu_now() -> Duration {
    let t = clock_gettime(ClockId::ThreadCPUTime);
    // The kernel never reports negative or out-of-range parts; clamping keeps
    // the conversion total anyway.
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0).min(999_999_999),
    )
}

impl Measurement for ThreadCpuTime {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        thread_cpu_now()
    }

    fn end(&self, started: Duration) -> Duration {
        thread_cpu_now().saturating_sub(started)
    }

    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }

    fn zero(&self) -> Duration {
        Duration::ZERO
    }

    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuTimeFormatter
    }
}

/// Formats nanoseconds of CPU time the way criterion formats wall time.
struct CpuTimeFormatter;

impl ValueFormatter for CpuTimeFormatter {
    fn scale_values(&self, typical_ns: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = match typical_ns {
            t if t < 1.0 => (1e3, "ps"),
            t if t < 1e3 => (1.0, "ns"),
            t if t < 1e6 => (1e-3, "µs"),
            t if t < 1e9 => (1e-6, "ms"),
            _ => (1e-9, "s"),
        };
        values.iter_mut().for_each(|v| *v *= factor);
        unit
    }

    fn scale_throughputs(
        &self,
        typical_ns: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let (per_iteration, base, units) = match *throughput {
            Throughput::Bytes(n) => (n, 1024.0_f64, ["  B/s", "KiB/s", "MiB/s", "GiB/s"]),
            Throughput::BytesDecimal(n) => (n, 1000.0, ["  B/s", "KB/s", "MB/s", "GB/s"]),
            Throughput::Elements(n) => (n, 1000.0, [" elem/s", "Kelem/s", "Melem/s", "Gelem/s"]),
            Throughput::Bits(n) => (n, 1000.0, ["  b/s", "Kb/s", "Mb/s", "Gb/s"]),
        };
        let per_second = |ns: f64| per_iteration as f64 * 1e9 / ns;
        let typical = per_second(typical_ns);
        let mut step = 0;
        while step < 3 && typical >= base.powi(step + 1) {
            step += 1;
        }
        let denominator = base.powi(step);
        values
            .iter_mut()
            .for_each(|v| *v = per_second(*v) / denominator);
        units[step as usize]
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sleeping does not advance this thread's CPU clock; work does, and
    /// never faster than wall time.
    #[test]
    fn counts_work_not_sleep() {
        let clock = ThreadCpuTime;
        let started = clock.start();
        std::thread::sleep(Duration::from_millis(200));
        let slept = clock.end(started);
        assert!(slept < Duration::from_millis(20), "sleep cost {slept:?}");

        let wall = std::time::Instant::now();
        let started = clock.start();
        let mut x = 1u64;
        while clock.end(started) < Duration::from_millis(20) {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            // Safety net only: a clock that never advanced would spin forever.
            assert!(wall.elapsed() < Duration::from_secs(30), "CPU clock stuck");
        }
        let spun = clock.end(started);
        assert!(
            spun <= wall.elapsed(),
            "{spun:?} of CPU in {:?}",
            wall.elapsed()
        );
    }

    /// Throughput is scaled like criterion's own: 2,000 elements in 1 ms is
    /// 2 Melem/s.
    #[test]
    fn throughput_units() {
        let mut values = [1e6];
        let unit =
            CpuTimeFormatter.scale_throughputs(1e6, &Throughput::Elements(2_000), &mut values);
        assert_eq!(unit, "Melem/s");
        assert!((values[0] - 2.0).abs() < 1e-9);
        let mut values = [1500.0];
        assert_eq!(CpuTimeFormatter.scale_values(1500.0, &mut values), "µs");
        assert!((values[0] - 1.5).abs() < 1e-9);
    }
}
