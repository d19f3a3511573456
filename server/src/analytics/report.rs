//! `battlegrid analytics`: reads the event files (complete and open) and
//! answers the usual questions without a database: `summary`, `heatmap`,
//! `export --format csv`. Analysts with DuckDB read the files directly
//! (docs/ANALYTICS.md).

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;

use super::event::{Event, Record};
use super::files::{Loaded, load};
use super::heatmap;
use crate::config::Config;

/// `battlegrid analytics`.
#[derive(Debug, Args)]
pub struct AnalyticsArgs {
    /// The server's TOML configuration: its `[analytics] dir` (or
    /// `<data>/analytics`) and `maps` are used unless given below.
    #[arg(long, value_name = "FILE", env = "BATTLEGRID_CONFIG")]
    pub config: Option<PathBuf>,
    /// Directory of the event files.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: AnalyticsCommand,
}

/// The analytics commands.
#[derive(Debug, Subcommand)]
pub enum AnalyticsCommand {
    /// Players, sessions, sign-ups, messages, busiest regions, moderation.
    Summary {
        /// How far back: `90s`, `30m`, `24h`, `7d`.
        #[arg(long, default_value = "24h", value_parser = parse_span)]
        since: u64,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// A PNG of where players were on one map.
    Heatmap {
        /// The map.
        #[arg(long, default_value = "world")]
        map: String,
        /// How far back: `90s`, `30m`, `1h`, `7d`.
        #[arg(long, default_value = "1h", value_parser = parse_span)]
        since: u64,
        /// The PNG to write.
        #[arg(short = 'o', long, value_name = "FILE")]
        output: PathBuf,
        /// Directory of the map files (default: the configuration's `maps`).
        #[arg(long, value_name = "DIR")]
        maps: Option<PathBuf>,
        /// Image width in pixels.
        #[arg(long, default_value_t = 512)]
        width: u32,
    },
    /// Every event as one row, to stdout or a file.
    Export {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
        format: ExportFormat,
        /// How far back (default: everything).
        #[arg(long, value_parser = parse_span)]
        since: Option<u64>,
        /// The file to write (default: stdout).
        #[arg(short = 'o', long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// Comma-separated values with a header row.
    Csv,
}

/// `90s`, `30m`, `24h`, `7d` in milliseconds.
pub fn parse_span(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a span like 90s, 30m, 24h or 7d"))?;
    let unit_ms = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(format!("{text:?}: the unit must be s, m, h or d")),
    };
    Ok(n.saturating_mul(unit_ms))
}

/// Runs the subcommand; the exit code is 0, or 1 with the error on stderr.
pub fn main(args: AnalyticsArgs) -> i32 {
    match run(args) {
        Ok(()) => 0,
        Err(err) => {
            eprintln!("battlegrid analytics: {err:#}");
            1
        }
    }
}

fn run(args: AnalyticsArgs) -> anyhow::Result<()> {
    let mut config = match &args.config {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    config.apply_env(std::env::vars())?;
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| config.analytics.dir_in(&config.data));
    let now = crate::auth::now_ms();
    let since = |span: u64| now.saturating_sub(span);
    let read = |since_ms: Option<u64>| -> anyhow::Result<Loaded> {
        let loaded = load(&dir, since_ms)
            .with_context(|| format!("reading event files in {}", dir.display()))?;
        if loaded.bad_lines > 0 {
            eprintln!(
                "skipped {} lines that are not events of this schema",
                loaded.bad_lines
            );
        }
        Ok(loaded)
    };
    match args.command {
        AnalyticsCommand::Summary { since: span, json } => {
            let loaded = read(Some(since(span)))?;
            let summary = summarise(&loaded);
            let mut out = std::io::stdout().lock();
            if json {
                serde_json::to_writer_pretty(&mut out, &summary)?;
                writeln!(out)?;
            } else {
                write!(out, "{}", summary.text())?;
            }
        }
        AnalyticsCommand::Heatmap {
            map,
            since: span,
            output,
            maps,
            width,
        } => {
            let maps_dir = maps.unwrap_or(config.maps.clone());
            let path = maps_dir.join(format!("{map}.tmx"));
            let loaded_map = crate::maps::load_map_file(&path)
                .with_context(|| format!("loading the map {map:?} from {}", path.display()))?;
            let loaded = read(Some(since(span)))?;
            let positions = loaded.records.iter().filter_map(|r| match &r.event {
                Event::Position { map: m, x, y, .. } if *m.0 == *map => Some((*x, *y)),
                _ => None,
            });
            let image = heatmap::render(&loaded_map.spec, positions, width);
            let png = image.to_png()?;
            std::fs::write(&output, png)
                .with_context(|| format!("writing {}", output.display()))?;
            println!(
                "wrote {} ({}x{})",
                output.display(),
                image.width,
                image.height
            );
        }
        AnalyticsCommand::Export {
            format: ExportFormat::Csv,
            since: span,
            output,
        } => {
            let loaded = read(span.map(since))?;
            let out: Box<dyn Write> = match &output {
                Some(path) => Box::new(
                    std::fs::File::create(path)
                        .with_context(|| format!("creating {}", path.display()))?,
                ),
                None => Box::new(std::io::stdout().lock()),
            };
            export_csv(&loaded.records, out)?;
        }
    }
    Ok(())
}

/// The columns of the CSV export: the common keys, then every field of
/// every type (empty where a type has none).
pub const CSV_COLUMNS: [&str; 25] = [
    "v",
    "time",
    "tick",
    "type",
    "account",
    "map",
    "from",
    "to",
    "region",
    "x",
    "y",
    "bytes",
    "recipients",
    "text",
    "channel",
    "reason",
    "duration_ms",
    "code",
    "ok",
    "error",
    "until",
    "result",
    "relocated",
    "players",
    "messages",
];

/// Writes `records` as CSV with a header row.
pub fn export_csv(records: &[Record], out: impl Write) -> anyhow::Result<()> {
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record(CSV_COLUMNS)?;
    for record in records {
        let value = serde_json::to_value(record)?;
        let row = CSV_COLUMNS.map(|column| match value.get(column) {
            None | Some(serde_json::Value::Null) => String::new(),
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        });
        csv.write_record(&row)?;
    }
    csv.flush()?;
    Ok(())
}

/// What `summary` reports.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Events read.
    pub events: usize,
    /// Most players online at the end of one tick (all maps).
    pub peak_players: u64,
    /// Mean players online over the ticks seen.
    pub average_players: f64,
    /// Sessions started.
    pub sessions: u64,
    /// Median length of the sessions that ended, seconds.
    pub median_session_secs: Option<f64>,
    /// Accounts created.
    pub signups: u64,
    /// Sign-ups refused.
    pub signups_refused: u64,
    /// Logins that issued a session.
    pub logins: u64,
    /// Logins refused.
    pub logins_refused: u64,
    /// Shouts, broadcasts and chat messages.
    pub messages: u64,
    /// Their text, UTF-8 bytes.
    pub message_bytes: u64,
    /// Regions with the most position samples: (map, region, samples).
    pub busiest_regions: Vec<(String, u32, u64)>,
    /// Kicks by operators.
    pub kicks: u64,
    /// Bans.
    pub bans: u64,
    /// Disconnects for flooding.
    pub flood_disconnects: u64,
    /// Position corrections for asking more than the maximum speed.
    pub speed_corrections: u64,
    /// Events by type.
    pub by_type: BTreeMap<String, u64>,
}

/// Computes the summary of `loaded`.
pub fn summarise(loaded: &Loaded) -> Summary {
    let mut s = Summary {
        events: loaded.records.len(),
        ..Summary::default()
    };
    let mut players_by_tick: HashMap<u64, u64> = HashMap::new();
    let mut durations = Vec::new();
    let mut regions: HashMap<(String, u32), u64> = HashMap::new();
    for record in &loaded.records {
        *s.by_type.entry(record.event.kind().to_owned()).or_default() += 1;
        match &record.event {
            Event::TickSummary { players, .. } => {
                if let Some(tick) = record.tick {
                    *players_by_tick.entry(tick).or_default() += players;
                }
            }
            Event::SessionStart { .. } => s.sessions += 1,
            Event::SessionEnd { duration_ms, .. } => durations.push(*duration_ms),
            Event::Signup { ok, .. } => {
                if *ok {
                    s.signups += 1
                } else {
                    s.signups_refused += 1
                }
            }
            Event::Login { ok, .. } => {
                if *ok {
                    s.logins += 1
                } else {
                    s.logins_refused += 1
                }
            }
            Event::Shout { bytes, .. }
            | Event::Broadcast { bytes, .. }
            | Event::Chat { bytes, .. } => {
                s.messages += 1;
                s.message_bytes += u64::from(*bytes);
            }
            Event::Position { map, region, .. } => {
                *regions.entry((map.to_string(), *region)).or_default() += 1;
            }
            Event::Kick { .. } => s.kicks += 1,
            Event::Ban { .. } => s.bans += 1,
            Event::FloodDisconnect { .. } => s.flood_disconnects += 1,
            Event::Correction { reason, .. } if reason == "speed_capped" => {
                s.speed_corrections += 1
            }
            _ => {}
        }
    }
    s.peak_players = players_by_tick.values().copied().max().unwrap_or(0);
    if !players_by_tick.is_empty() {
        s.average_players =
            players_by_tick.values().sum::<u64>() as f64 / players_by_tick.len() as f64;
    }
    durations.sort_unstable();
    s.median_session_secs = match durations.len() {
        0 => None,
        n if n % 2 == 1 => Some(durations[n / 2] as f64 / 1000.0),
        n => Some((durations[n / 2 - 1] + durations[n / 2]) as f64 / 2000.0),
    };
    let mut busiest: Vec<((String, u32), u64)> = regions.into_iter().collect();
    busiest.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    s.busiest_regions = busiest
        .into_iter()
        .take(5)
        .map(|((m, r), n)| (m, r, n))
        .collect();
    s
}

impl Summary {
    /// The human-readable form.
    pub fn text(&self) -> String {
        let median = self
            .median_session_secs
            .map_or("-".to_owned(), |m| format!("{m:.1} s"));
        let mut out = format!(
            "events                 {}\n\
             players                peak {}, average {:.1}\n\
             sessions               {} started, median length {median}\n\
             sign-ups               {} ({} refused)\n\
             logins                 {} ({} refused)\n\
             messages               {} ({} bytes)\n\
             kicks                  {} (bans {}, flood disconnects {})\n\
             speed corrections      {}\n\
             busiest regions        ",
            self.events,
            self.peak_players,
            self.average_players,
            self.sessions,
            self.signups,
            self.signups_refused,
            self.logins,
            self.logins_refused,
            self.messages,
            self.message_bytes,
            self.kicks,
            self.bans,
            self.flood_disconnects,
            self.speed_corrections,
        );
        let regions: Vec<String> = self
            .busiest_regions
            .iter()
            .map(|(map, region, n)| format!("{map}#{region} ({n} samples)"))
            .collect();
        out.push_str(if regions.is_empty() { "-" } else { "" });
        out.push_str(&regions.join(", "));
        out.push('\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::event::{MapName, Stamped};

    fn record(tick: u64, event: Event) -> Record {
        Stamped {
            at_ms: 1_000,
            tick: Some(tick),
            event,
        }
        .to_record()
    }

    /// Peak and average players sum the maps per tick; the median session
    /// length, message counts and busiest regions come out as computed by
    /// hand.
    #[test]
    fn summary_by_hand() {
        let world = || MapName::from("world");
        let small = || MapName::from("small");
        let records = vec![
            record(
                1,
                Event::TickSummary {
                    map: world(),
                    players: 2,
                    messages: 0,
                },
            ),
            record(
                1,
                Event::TickSummary {
                    map: small(),
                    players: 1,
                    messages: 0,
                },
            ),
            record(
                2,
                Event::TickSummary {
                    map: world(),
                    players: 1,
                    messages: 0,
                },
            ),
            record(
                1,
                Event::SessionStart {
                    account: 1,
                    map: world(),
                },
            ),
            record(
                2,
                Event::SessionEnd {
                    account: 1,
                    map: Some(world()),
                    duration_ms: 4_000,
                    reason: "disconnected".into(),
                },
            ),
            record(
                2,
                Event::SessionEnd {
                    account: 2,
                    map: None,
                    duration_ms: 1_000,
                    reason: "too_slow".into(),
                },
            ),
            record(
                2,
                Event::Shout {
                    account: 1,
                    map: world(),
                    bytes: 5,
                    recipients: 1,
                    text: None,
                },
            ),
            record(
                2,
                Event::Broadcast {
                    account: 1,
                    map: world(),
                    region: 0,
                    bytes: 7,
                    recipients: 3,
                    text: None,
                },
            ),
            record(
                2,
                Event::Position {
                    account: 1,
                    map: world(),
                    x: 1.0,
                    y: 1.0,
                    region: 3,
                },
            ),
            record(
                2,
                Event::Position {
                    account: 2,
                    map: world(),
                    x: 1.0,
                    y: 1.0,
                    region: 3,
                },
            ),
            record(
                2,
                Event::Position {
                    account: 3,
                    map: small(),
                    x: 1.0,
                    y: 1.0,
                    region: 0,
                },
            ),
            record(
                2,
                Event::Signup {
                    ok: false,
                    account: None,
                    error: Some("name_taken".into()),
                },
            ),
        ];
        let s = summarise(&Loaded {
            records,
            ..Loaded::default()
        });
        assert_eq!((s.peak_players, s.average_players), (3, 2.0));
        assert_eq!(s.sessions, 1);
        assert_eq!(s.median_session_secs, Some(2.5));
        assert_eq!((s.messages, s.message_bytes), (2, 12));
        assert_eq!(
            s.busiest_regions,
            [("world".to_owned(), 3, 2), ("small".to_owned(), 0, 1)]
        );
        assert_eq!((s.signups, s.signups_refused), (0, 1));
        assert!(s.text().contains("peak 3, average 2.0"), "{}", s.text());
    }

    /// Spans read as documented; anything else is refused with a hint.
    #[test]
    fn spans() {
        assert_eq!(parse_span("90s"), Ok(90_000));
        assert_eq!(parse_span("24h"), Ok(86_400_000));
        assert_eq!(parse_span("7d"), Ok(604_800_000));
        assert!(parse_span("1w").unwrap_err().contains("unit"));
        assert!(parse_span("h").is_err());
    }

    /// The CSV has the header and one row per event, texts quoted.
    #[test]
    fn csv_rows() {
        let records = vec![record(
            3,
            Event::Shout {
                account: 1,
                map: "world".into(),
                bytes: 4,
                recipients: 2,
                text: Some("a,\"b".into()),
            },
        )];
        let mut out = Vec::new();
        export_csv(&records, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next().unwrap(), CSV_COLUMNS.join(","));
        let row = lines.next().unwrap();
        assert!(
            row.starts_with("1,1970-01-01T00:00:01.000Z,3,shout,1,world,"),
            "{row}"
        );
        assert!(row.contains("\"a,\"\"b\""), "{row}");
        assert_eq!(lines.next(), None);
    }
}
