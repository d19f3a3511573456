//! What the bots count while they run, shared by all bot tasks.
//!
//! Counters are relaxed atomics (each is an independent tally, read for a
//! progress line or the summary); the two latency distributions are
//! HdrHistograms behind a mutex held only for one `record`. Turning these
//! into rates and tables is [`super::report`]'s job.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Largest latency the histograms track, in microseconds (60 s); longer
/// values are recorded as this.
const MAX_MICROS: u64 = 60_000_000;

/// How many distinct error texts the summary keeps as examples.
const ERROR_SAMPLES: usize = 8;

macro_rules! counters {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// The live tallies.
        #[derive(Debug, Default)]
        pub struct Tallies {
            $($(#[$doc])* pub $name: AtomicU64,)*
        }

        /// A copy of every tally at one moment.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
        pub struct Counters {
            $($(#[$doc])* pub $name: u64,)*
        }

        impl Tallies {
            /// Reads every tally.
            pub fn read(&self) -> Counters {
                Counters { $($name: self.$name.load(Ordering::Relaxed),)* }
            }
        }

        impl Counters {
            /// What happened between `earlier` and `self`.
            pub fn since(&self, earlier: &Counters) -> Counters {
                Counters { $($name: self.$name.saturating_sub(earlier.$name),)* }
            }
        }
    };
}

counters! {
    /// Accounts newly created by sign-up.
    signed_up,
    /// Sessions obtained (one per bot that can play).
    logged_in,
    /// Accounts that could not be signed up or logged in.
    account_failures,
    /// Waits imposed by the server's rate limits (HTTP 429).
    rate_limited_waits,
    /// Bots that completed the QUIC handshake and got `Welcome`.
    connects_ok,
    /// Bots whose connection or handshake failed.
    connect_failures,
    /// Bots connected right now (incremented and decremented).
    connected,
    /// Connections that ended before the run did.
    disconnects,
    /// `Error` messages received from the server.
    server_errors,
    /// Messages that could not be sent.
    send_failures,
    /// Server messages received, reliable and datagram.
    messages_in,
    /// Client messages sent.
    messages_out,
    /// Area-of-interest updates: `StateUpdate` entries plus entities that
    /// entered or left the view.
    aoi_updates,
    /// Shouts sent.
    shouts_sent,
    /// `ShoutHeard` of a bot's shout received by a bot (the speaker included).
    shouts_heard,
    /// `PositionCorrected` received.
    corrections,
    /// `RegionChanged` received.
    region_changes,
    /// Datagrams the SDK dropped because a bot fell behind reading them.
    datagrams_dropped,
}

/// Everything the bots measure.
pub struct Metrics {
    /// The counters.
    pub tallies: Tallies,
    /// From starting the QUIC connection to `Welcome`, in microseconds.
    connect: Mutex<Histogram<u64>>,
    /// From a shout's send to its `ShoutHeard` at each hearer, in microseconds.
    shout: Mutex<Histogram<u64>>,
    /// The first few distinct error texts, to say *what* went wrong.
    error_samples: Mutex<Vec<String>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Empty metrics.
    pub fn new() -> Self {
        let histogram =
            || Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("valid histogram bounds");
        Self {
            tallies: Tallies::default(),
            connect: Mutex::new(histogram()),
            shout: Mutex::new(histogram()),
            error_samples: Mutex::new(Vec::new()),
        }
    }

    /// Adds one to `counter`.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Records one connect time.
    pub fn record_connect(&self, took: Duration) {
        record(&self.connect, took);
    }

    /// Records one shout delivery latency.
    pub fn record_shout(&self, took: Duration) {
        record(&self.shout, took);
    }

    /// Forgets the shout latencies so far, so that the summary covers the
    /// measurement window only (the connection ramp distorts them).
    pub fn reset_shout_latency(&self) {
        self.shout.lock().unwrap_or_else(|p| p.into_inner()).reset();
    }

    /// Keeps `text` as an example error unless it is known or enough are kept.
    pub fn sample_error(&self, text: String) {
        let mut samples = self.error_samples.lock().unwrap_or_else(|p| p.into_inner());
        if samples.len() < ERROR_SAMPLES && !samples.contains(&text) {
            samples.push(text);
        }
    }

    /// The kept error examples.
    pub fn error_samples(&self) -> Vec<String> {
        self.error_samples
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Percentiles of the connect times so far.
    pub fn connect_latency(&self) -> Latency {
        Latency::of(&self.connect.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Percentiles of the shout delivery latencies so far.
    pub fn shout_latency(&self) -> Latency {
        Latency::of(&self.shout.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

fn record(histogram: &Mutex<Histogram<u64>>, took: Duration) {
    let micros = u64::try_from(took.as_micros()).unwrap_or(MAX_MICROS);
    let mut histogram = histogram.lock().unwrap_or_else(|p| p.into_inner());
    // Saturating: a value outside the bounds is clamped, never an error.
    histogram.saturating_record(micros.clamp(1, MAX_MICROS));
}

/// A latency distribution summarised in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Latency {
    /// Number of samples.
    pub count: u64,
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Largest sample.
    pub max_ms: f64,
}

impl Latency {
    /// The summary of a histogram of microseconds; all zero when empty.
    pub fn of(histogram: &Histogram<u64>) -> Self {
        if histogram.is_empty() {
            return Self::default();
        }
        let ms = |micros: u64| micros as f64 / 1000.0;
        Self {
            count: histogram.len(),
            p50_ms: ms(histogram.value_at_quantile(0.50)),
            p99_ms: ms(histogram.value_at_quantile(0.99)),
            max_ms: ms(histogram.max()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Percentiles of a known distribution: 1..=1000 ms gives p50 ≈ 500 ms
    /// and p99 ≈ 990 ms within the histogram's 3 significant digits.
    #[test]
    fn percentiles_of_a_uniform_distribution() {
        let metrics = Metrics::new();
        for ms in 1..=1000 {
            metrics.record_shout(Duration::from_millis(ms));
        }
        let latency = metrics.shout_latency();
        assert_eq!(latency.count, 1000);
        assert!((latency.p50_ms - 500.0).abs() <= 1.0, "{latency:?}");
        assert!((latency.p99_ms - 990.0).abs() <= 1.0, "{latency:?}");
        assert!((latency.max_ms - 1000.0).abs() <= 1.0, "{latency:?}");
    }

    /// An empty histogram reports zeros, and out-of-range samples are clamped
    /// rather than lost.
    #[test]
    fn empty_and_out_of_range() {
        let metrics = Metrics::new();
        assert_eq!(metrics.connect_latency(), Latency::default());
        metrics.record_connect(Duration::ZERO);
        metrics.record_connect(Duration::from_secs(3600));
        let latency = metrics.connect_latency();
        assert_eq!(latency.count, 2);
        assert!(latency.max_ms >= 59_000.0, "{latency:?}");
    }

    /// Counter deltas subtract field by field and never underflow.
    #[test]
    fn counter_deltas() {
        let tallies = Tallies::default();
        Metrics::bump(&tallies.messages_in);
        let earlier = tallies.read();
        Metrics::bump(&tallies.messages_in);
        Metrics::bump(&tallies.aoi_updates);
        let delta = tallies.read().since(&earlier);
        assert_eq!((delta.messages_in, delta.aoi_updates), (1, 1));
        assert_eq!(earlier.since(&tallies.read()).messages_in, 0);
    }

    /// Error samples are distinct and bounded.
    #[test]
    fn error_samples_are_bounded() {
        let metrics = Metrics::new();
        for i in 0..20 {
            metrics.sample_error(format!("e{}", i % 10));
            metrics.sample_error("same".into());
        }
        let samples = metrics.error_samples();
        assert_eq!(samples.len(), ERROR_SAMPLES);
        assert_eq!(samples.iter().filter(|s| *s == "same").count(), 1);
    }
}
