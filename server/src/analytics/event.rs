//! The analytics event schema: one JSON object per line, the same keys for
//! every event (`v`, `time`, `tick`, `type`) plus the fields of its type.
//! docs/ANALYTICS.md is the reference analysts read; this file is its
//! source of truth, and a test below keeps the two key sets in step.
//!
//! Events are built by producers (tick thread, auth, position sampler)
//! as plain values; turning them into JSON is the writer's job, off the
//! tick thread.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Version of the schema written in every event's `v`. Bumped when a
/// field changes meaning or goes away; new optional fields and new types
/// keep the version.
pub const SCHEMA_VERSION: u32 = 1;

/// A map's name, shared with the tick's own `Arc<str>` so that an event
/// costs the tick thread a reference count, not a copy.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MapName(pub Arc<str>);

impl From<&str> for MapName {
    fn from(name: &str) -> Self {
        Self(Arc::from(name))
    }
}

impl From<&Arc<str>> for MapName {
    fn from(name: &Arc<str>) -> Self {
        Self(Arc::clone(name))
    }
}

impl std::fmt::Display for MapName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for MapName {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for MapName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self(Arc::from(String::deserialize(deserializer)?)))
    }
}

/// One line of an event file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// [`SCHEMA_VERSION`] when written.
    pub v: u32,
    /// When it happened, RFC 3339 in UTC with milliseconds.
    pub time: String,
    /// The server tick it happened in; `null` for events outside the tick
    /// (sign-ups, logins).
    pub tick: Option<u64>,
    /// The type (`type` in JSON) and its fields.
    #[serde(flatten)]
    pub event: Event,
}

/// Every kind of event, tagged by `type` in JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A client passed `Hello` and entered the world.
    SessionStart {
        /// Account id (= player id).
        account: u64,
        /// The map it entered.
        map: MapName,
    },
    /// A player's session in the world ended.
    SessionEnd {
        /// Account id.
        account: u64,
        /// The map it was on when it ended.
        map: Option<MapName>,
        /// Time since its `session_start`, milliseconds.
        duration_ms: u64,
        /// `disconnected`, `replaced`, `rate_limited`, `too_slow`,
        /// `shutdown`, `kicked` (docs/ANALYTICS.md says what each means).
        reason: String,
    },
    /// A player crossed into another region of its map (a handoff between
    /// two regions' simulations).
    RegionChange {
        /// Account id.
        account: u64,
        /// On which map.
        map: MapName,
        /// Region left.
        from: u32,
        /// Region entered.
        to: u32,
    },
    /// A player went to another map.
    MapChange {
        /// Account id.
        account: u64,
        /// Map left.
        from: MapName,
        /// Map entered.
        to: MapName,
        /// `asked` (the client's `ChangeMap`).
        reason: String,
    },
    /// The server corrected a player's position.
    Correction {
        /// Account id.
        account: u64,
        /// On which map.
        map: MapName,
        /// `drift` or `speed_capped` (asked for more than the maximum
        /// speed: the speed-hack signal).
        reason: String,
    },
    /// A shout (heard around the speaker).
    Shout {
        /// Account id of the speaker.
        account: u64,
        /// On which map.
        map: MapName,
        /// Length of the text in UTF-8 bytes.
        bytes: u32,
        /// Players who heard it, the speaker included.
        recipients: u32,
        /// The text, only when `[analytics] keep_texts` is on.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
    /// A broadcast to the speaker's region.
    Broadcast {
        /// Account id of the speaker.
        account: u64,
        /// On which map.
        map: MapName,
        /// The region.
        region: u32,
        /// Length of the text in UTF-8 bytes.
        bytes: u32,
        /// Players who heard it, the speaker included.
        recipients: u32,
        /// The text, only when `[analytics] keep_texts` is on.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
    /// A chat message (direct or group). Produced by the chat service
    /// (issue 12); defined here so the schema is whole.
    Chat {
        /// Account id of the sender.
        account: u64,
        /// `direct` or `group`.
        channel: String,
        /// Length of the text in UTF-8 bytes.
        bytes: u32,
        /// Accounts it was sent to.
        recipients: u32,
        /// The text, only when `[analytics] keep_texts` is on.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
    /// An input the simulation refused.
    InvalidInput {
        /// Account id.
        account: u64,
        /// On which map.
        map: MapName,
        /// The protocol error code the player was sent.
        code: u16,
    },
    /// A sign-up attempt on the public API.
    Signup {
        /// Whether an account was created.
        ok: bool,
        /// The new account's id, when `ok`.
        account: Option<u64>,
        /// The API error code when refused (`name_taken`,
        /// `weak_password`, `rate_limited`, ...).
        error: Option<String>,
    },
    /// A login attempt on the public API.
    Login {
        /// Whether a session was issued.
        ok: bool,
        /// The account's id, when `ok`.
        account: Option<u64>,
        /// The API error code when refused.
        error: Option<String>,
    },
    /// A player was disconnected for sending more commands than the
    /// budget for too many ticks in a row.
    FloodDisconnect {
        /// Account id.
        account: u64,
        /// On which map.
        map: Option<MapName>,
    },
    /// An operator kicked a player (the admin API).
    Kick {
        /// Account id.
        account: u64,
        /// The operator's reason.
        reason: String,
    },
    /// An operator banned an account (the admin API).
    Ban {
        /// Account id.
        account: u64,
        /// End of the ban, unix seconds; `null` for permanent.
        until: Option<u64>,
        /// The operator's reason.
        reason: String,
    },
    /// A map file was loaded, reloaded, removed or refused.
    MapReload {
        /// The map's name (the file name when it was refused unparsed).
        map: MapName,
        /// `loaded`, `reloaded`, `unchanged`, `removed`, `kept_default`,
        /// `refused`.
        result: String,
        /// Players moved by it (off blocked tiles, or to the default map).
        relocated: u32,
    },
    /// One map's tick ended.
    TickSummary {
        /// The map.
        map: MapName,
        /// Players on it at the end of the tick.
        players: u64,
        /// Messages the tick produced for its players.
        messages: u64,
    },
    /// Where a player was (sampled every `position_sample_secs` from the
    /// published snapshot).
    Position {
        /// Account id.
        account: u64,
        /// On which map.
        map: MapName,
        /// World x.
        x: f32,
        /// World y.
        y: f32,
        /// Region the player is in.
        region: u32,
    },
}

impl Event {
    /// The `type` string of this event.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::SessionStart { .. } => "session_start",
            Event::SessionEnd { .. } => "session_end",
            Event::RegionChange { .. } => "region_change",
            Event::MapChange { .. } => "map_change",
            Event::Correction { .. } => "correction",
            Event::Shout { .. } => "shout",
            Event::Broadcast { .. } => "broadcast",
            Event::Chat { .. } => "chat",
            Event::InvalidInput { .. } => "invalid_input",
            Event::Signup { .. } => "signup",
            Event::Login { .. } => "login",
            Event::FloodDisconnect { .. } => "flood_disconnect",
            Event::Kick { .. } => "kick",
            Event::Ban { .. } => "ban",
            Event::MapReload { .. } => "map_reload",
            Event::TickSummary { .. } => "tick_summary",
            Event::Position { .. } => "position",
        }
    }
}

/// Every `type`, in the order docs/ANALYTICS.md lists them.
pub const EVENT_TYPES: [&str; 17] = [
    "session_start",
    "session_end",
    "region_change",
    "map_change",
    "correction",
    "shout",
    "broadcast",
    "chat",
    "invalid_input",
    "signup",
    "login",
    "flood_disconnect",
    "kick",
    "ban",
    "map_reload",
    "tick_summary",
    "position",
];

/// An event with its time and tick, as it travels through the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Stamped {
    /// Unix milliseconds when it was recorded.
    pub at_ms: u64,
    /// The tick, if it happened in one.
    pub tick: Option<u64>,
    /// What happened.
    pub event: Event,
}

impl Stamped {
    /// The line written for this event (without the newline).
    pub fn to_record(&self) -> Record {
        Record {
            v: SCHEMA_VERSION,
            time: format_time(self.at_ms),
            tick: self.tick,
            event: self.event.clone(),
        }
    }

    /// Appends this event's JSON line, newline included, to `out`.
    pub fn write_line(&self, out: &mut Vec<u8>) {
        let record = self.to_record();
        // Serialising plain numbers and strings into a Vec cannot fail.
        serde_json::to_writer(&mut *out, &record).expect("an event serialises");
        out.push(b'\n');
    }
}

/// RFC 3339 in UTC with milliseconds: `2026-12-02T09:49:16.123Z`.
pub fn format_time(unix_ms: u64) -> String {
    let at = time::OffsetDateTime::UNIX_EPOCH + time::Duration::milliseconds(unix_ms as i64);
    let (h, m, s, ms) = at.to_hms_milli();
    format!(
        "{:04}-{:02}-{:02}T{h:02}:{m:02}:{s:02}.{ms:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day()
    )
}

/// The unix milliseconds of an RFC 3339 time, as [`format_time`] writes.
pub fn parse_time(text: &str) -> Option<u64> {
    let at =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    u64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamped(event: Event) -> Stamped {
        Stamped {
            at_ms: 1_764_668_956_123,
            tick: Some(7),
            event,
        }
    }

    /// Every event has the common keys with `type` next to its own fields,
    /// and reads back to the same value.
    #[test]
    fn lines_are_flat_json_with_the_common_keys() {
        let event = Event::Shout {
            account: 3,
            map: MapName::from("world"),
            bytes: 5,
            recipients: 2,
            text: None,
        };
        let mut line = Vec::new();
        stamped(event.clone()).write_line(&mut line);
        let text = std::str::from_utf8(&line).unwrap();
        assert!(text.ends_with('\n'));
        let value: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(value["v"], SCHEMA_VERSION);
        assert_eq!(value["time"], "2025-12-02T09:49:16.123Z");
        assert_eq!(value["tick"], 7);
        assert_eq!(value["type"], "shout");
        assert_eq!(value["map"], "world");
        assert!(value.get("text").is_none(), "no text unless asked: {text}");
        let back: Record = serde_json::from_str(text).unwrap();
        assert_eq!(back.event, event);
        assert_eq!(parse_time(&back.time), Some(1_764_668_956_123));
    }

    /// `kind` agrees with the serialised `type` and with [`EVENT_TYPES`].
    #[test]
    fn kinds_match_the_serialised_type() {
        let samples = [
            Event::SessionStart {
                account: 1,
                map: "m".into(),
            },
            Event::Kick {
                account: 1,
                reason: "r".into(),
            },
            Event::TickSummary {
                map: "m".into(),
                players: 1,
                messages: 2,
            },
            Event::Login {
                ok: false,
                account: None,
                error: Some("invalid_credentials".into()),
            },
        ];
        for event in samples {
            let json = serde_json::to_value(stamped(event.clone()).to_record()).unwrap();
            assert_eq!(json["type"], event.kind());
            assert!(EVENT_TYPES.contains(&event.kind()));
        }
    }
}
