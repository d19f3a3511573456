//! The tick core driven by hand: recording links instead of connections,
//! a clock that moves only when a test says so, real worlds on the shipped
//! maps. Each test reads as a scenario: who joins, what they send, which
//! ticks run, what each client received.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use battlegrid_protocol::{ErrorCode, MoveIntent, PlayerId, Position, ServerMessage, Vec2};
use bytes::Bytes;

use super::core::{CoreSettings, TickCore};
use super::link::Link;
use super::{Control, Joining, Save};
use crate::game::catalog::MapCatalog;
use crate::game::config::{QuicConfig, RecoveryConfig, WorldConfig};
use crate::game::session::Command;
use crate::game::stats::GameStats;
use crate::game::worlds::Worlds;
use crate::maps::load_map_file;

/// What the core did to one client.
#[derive(Debug, Default)]
struct Recorded {
    /// Commands the client "sent", not yet taken by the core.
    commands: VecDeque<Command>,
    reliable: Vec<Bytes>,
    /// State updates with their tick.
    datagrams: Vec<(u64, Bytes)>,
    closed: Option<ErrorCode>,
}

/// A [`Link`] that records instead of sending.
struct TestLink(Rc<RefCell<Recorded>>);

impl Link for TestLink {
    fn command(&mut self) -> Option<Command> {
        self.0.borrow_mut().commands.pop_front()
    }
    fn reliable(&self, bytes: Bytes) {
        self.0.borrow_mut().reliable.push(bytes);
    }
    fn datagram(&self, tick: u64, bytes: Bytes) -> usize {
        self.0.borrow_mut().datagrams.push((tick, bytes));
        0
    }
    fn close(&self, code: ErrorCode, _reason: &str) {
        self.0.borrow_mut().closed = Some(code);
    }
    fn close_now(&self, code: ErrorCode, _reason: &str) {
        self.0.borrow_mut().closed = Some(code);
    }
    fn flush(&self) {}
    fn backlog(&self, _now: Instant, _limit: usize, _grace: Duration) -> Option<String> {
        None
    }
    fn take_overflowed(&self) -> bool {
        false
    }
    fn close_code(&self) -> Option<ErrorCode> {
        self.0.borrow().closed
    }
}

type Client = Rc<RefCell<Recorded>>;

/// A core, its clock and its clients.
struct Harness {
    core: TickCore<TestLink>,
    stats: Arc<GameStats>,
    catalog: Arc<MapCatalog>,
    now: Instant,
    conn: u64,
}

fn shipped(name: &str) -> crate::maps::LoadedMap {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets-maps");
    load_map_file(&dir.join(format!("{name}.tmx"))).unwrap()
}

impl Harness {
    /// The maps `small` (the default) and `world`, saves every 2 ticks,
    /// quarantine after 3 failures a minute, a flood closes after 3 ticks.
    fn new() -> Self {
        let config = WorldConfig {
            default_map: "small".into(),
            save_interval_ticks: 2,
            ..WorldConfig::default()
        };
        let worlds = Worlds::new(vec![shipped("small"), shipped("world")], &[], &config).unwrap();
        let catalog = Arc::new(MapCatalog::new("small", worlds.live_maps(), Vec::new()));
        let stats = Arc::new(GameStats::default());
        let now = Instant::now();
        let settings = CoreSettings {
            limits: QuicConfig {
                flood_ticks: 3,
                ..QuicConfig::default()
            },
            recovery: RecoveryConfig::default(),
            stats_every: 1000,
        };
        let core = TickCore::new(
            worlds,
            Arc::clone(&catalog),
            settings,
            Arc::clone(&stats),
            now,
        );
        Self {
            core,
            stats,
            catalog,
            now,
            conn: 0,
        }
    }

    fn join(&mut self, player: u64, saved: Option<(&str, Position)>) -> Client {
        let client = Client::default();
        self.conn += 1;
        self.core.handle_control(Control::Join(Box::new(Joining {
            conn: self.conn,
            player: PlayerId(player),
            name: format!("p{player}"),
            saved: saved.map(|(m, p)| (m.to_owned(), p)),
            link: TestLink(Rc::clone(&client)),
        })));
        client
    }

    fn leave(&mut self, player: u64) {
        self.core.handle_control(Control::Left {
            conn: self.conn,
            player: PlayerId(player),
        });
    }

    /// Runs one tick taking 1 ms, then moves the clock to the next start.
    fn tick(&mut self) {
        self.core.tick(self.now);
        let end = self.now + Duration::from_millis(1);
        self.now = self.core.finish(self.now, end).unwrap_or(end);
    }

    fn ticks(&mut self, n: usize) {
        for _ in 0..n {
            self.tick();
        }
    }

    /// Every save handed out since the last call.
    fn saves(&mut self) -> Vec<Save> {
        self.core.take_saves().unwrap_or_default()
    }
}

/// Takes the client's reliable messages received so far, decoded.
fn received(client: &Client) -> Vec<ServerMessage> {
    std::mem::take(&mut client.borrow_mut().reliable)
        .iter()
        .map(|b| battlegrid_protocol::decode::<ServerMessage>(b).unwrap())
        .collect()
}

fn send(client: &Client, command: Command) {
    client.borrow_mut().commands.push_back(command);
}

fn walk(client: &Client, seq: u32, x: f32) {
    send(
        client,
        Command::Move(MoveIntent {
            seq,
            direction: Vec2 { x, y: 0.0 },
            speed: 80.0,
            predicted: Position::new(0.0, 0.0),
        }),
    );
}

fn error_codes(messages: &[ServerMessage]) -> Vec<ErrorCode> {
    messages
        .iter()
        .filter_map(|m| match m {
            ServerMessage::Error { code, .. } => Some(*code),
            _ => None,
        })
        .collect()
}

fn welcome_position(messages: &[ServerMessage]) -> Option<Position> {
    messages.iter().find_map(|m| match m {
        ServerMessage::Welcome { position, .. } => Some(*position),
        _ => None,
    })
}

fn map_changed(messages: &[ServerMessage]) -> Option<(String, Position, bool)> {
    messages.iter().find_map(|m| match m {
        ServerMessage::MapChanged {
            map,
            position,
            relocated,
            ..
        } => Some((map.name.clone(), *position, *relocated)),
        _ => None,
    })
}

/// `Welcome` is the first message; a command sent in the join tick is
/// taken only in the next one.
#[test]
fn welcome_comes_first_and_commands_wait_a_tick() {
    let mut h = Harness::new();
    let ann = h.join(1, None);
    send(&ann, Command::Ping(7));
    h.tick();
    let first = received(&ann);
    assert!(
        matches!(first[..], [ServerMessage::Welcome { .. }]),
        "{first:?}"
    );
    h.tick();
    assert!(matches!(
        received(&ann)[..],
        [ServerMessage::Pong { nonce: 7, tick: 1 }]
    ));
}

/// Over the per-tick budget: the excess is dropped and counted, the client
/// is warned once, and closed with `RATE_LIMITED` after `flood_ticks`
/// flooding ticks in a row.
#[test]
fn floods_are_warned_once_then_closed() {
    let mut h = Harness::new();
    let ann = h.join(1, None);
    h.tick();
    received(&ann);
    for n in 0..3 {
        assert!(ann.borrow().closed.is_none(), "open before flood tick {n}");
        for i in 0..10 {
            send(&ann, Command::Ping(i));
        }
        h.tick();
    }
    let codes = error_codes(&received(&ann));
    assert_eq!(codes, vec![ErrorCode::COMMANDS_DROPPED]);
    assert_eq!(ann.borrow().closed, Some(ErrorCode::RATE_LIMITED));
    assert_eq!(GameStats::get(&h.stats.commands_dropped), 3 * 2);
    assert_eq!(GameStats::get(&h.stats.rate_limited), 1);
    assert_eq!(h.core.clients(), 0);
}

/// A tick that ends past later deadlines starts the next at once, counts
/// the overrun and the skipped deadlines.
#[test]
fn overruns_skip_and_count_deadlines() {
    let mut h = Harness::new();
    let period = Duration::from_millis(50);
    let start = h.now;
    h.core.tick(start);
    // The first deadline was start + 50 ms; ending at 175 ms misses it and
    // the one at 100 ms entirely, and the one at 150 ms.
    assert_eq!(h.core.finish(start, start + 3 * period + period / 2), None);
    assert_eq!(GameStats::get(&h.stats.tick_overruns), 1);
    assert_eq!(GameStats::get(&h.stats.ticks_skipped), 2);
    let next = h.core.finish(start, start + 3 * period + period * 3 / 4);
    assert_eq!(next, Some(start + 4 * period));
}

/// Saves are batched per tick, one per player; a batch the saver refused
/// comes back with the next, where a newer save of the same player wins.
#[test]
fn saves_are_batched_and_the_newest_wins() {
    let mut h = Harness::new();
    let ann = h.join(1, None);
    h.tick();
    walk(&ann, 1, 1.0);
    h.ticks(3);
    let refused = h.saves();
    assert_eq!(refused.len(), 1, "{refused:?}");
    h.ticks(4);
    h.core.saves_refused(refused.clone());
    let batch = h.saves();
    assert_eq!(batch.len(), 1, "one save per player: {batch:?}");
    assert!(
        batch[0].position.x > refused[0].position.x,
        "the newer save wins: {batch:?} over {refused:?}"
    );
    assert!(h.saves().is_empty());
}

/// A player who left a moment ago re-joins where it left, not at the
/// older place the gateway read from the store.
#[test]
fn a_recent_leave_beats_the_stale_store_place() {
    let mut h = Harness::new();
    let ann = h.join(1, None);
    h.tick();
    let spawn = welcome_position(&received(&ann)).unwrap();
    walk(&ann, 1, 1.0);
    h.ticks(5);
    h.leave(1);
    h.tick();
    let left_at = h.saves().last().unwrap().position;
    assert!(left_at.x > spawn.x);
    let again = h.join(1, Some(("small", spawn)));
    h.tick();
    assert_eq!(welcome_position(&received(&again)), Some(left_at));
}

/// A world whose step panics is rebuilt from its players' last saves:
/// they are told (`WORLD_RESTORED`, then `MapChanged` at the saved place)
/// and play on, while the world of another map keeps its tick numbers
/// without a gap.
#[test]
fn a_panicking_world_is_restored_and_the_others_keep_ticking() {
    let mut h = Harness::new();
    let ann = h.join(1, None);
    let bob = h.join(2, Some(("world", Position::new(2050.0, 2050.0))));
    h.tick();
    received(&ann);
    received(&bob);
    walk(&ann, 1, 1.0);
    walk(&bob, 1, 1.0);
    h.ticks(5);
    let last_saved = h
        .saves()
        .into_iter()
        .find(|s| s.id == PlayerId(1))
        .unwrap()
        .position;
    h.core.worlds().faults().panic_world("small", 1);
    h.ticks(3);
    assert_eq!(GameStats::get(&h.stats.world_failures), 1);
    assert_eq!(GameStats::get(&h.stats.worlds_restored), 1);
    let told = received(&ann);
    assert_eq!(error_codes(&told), vec![ErrorCode::WORLD_RESTORED]);
    let (map, position, relocated) = map_changed(&told).unwrap();
    assert_eq!(
        (map.as_str(), position, relocated),
        ("small", last_saved, true)
    );
    // Ann plays on: her standing intent was dropped, a new one moves her.
    walk(&ann, 2, 1.0);
    ann.borrow_mut().datagrams.clear();
    h.ticks(2);
    assert!(!ann.borrow().datagrams.is_empty(), "ann gets updates again");
    // Bob's world ran every tick: his updates' ticks have no gap.
    let ticks: Vec<u64> = bob.borrow().datagrams.iter().map(|(t, _)| *t).collect();
    assert!(ticks.windows(2).all(|w| w[1] == w[0] + 1), "{ticks:?}");
    assert_eq!(ticks.len(), 10, "{ticks:?}");
    assert!(error_codes(&received(&bob)).is_empty());
}

/// A client that joined in the very tick its world failed had no
/// `Welcome` yet: it gets one after the restore, not a notice.
#[test]
fn a_join_in_the_failed_tick_still_gets_welcome() {
    let mut h = Harness::new();
    h.core.worlds().faults().panic_world("small", 1);
    let ann = h.join(1, None);
    h.ticks(2);
    let messages = received(&ann);
    assert!(
        matches!(messages[0], ServerMessage::Welcome { .. }),
        "{messages:?}"
    );
    assert!(error_codes(&messages).is_empty());
    assert!(map_changed(&messages).is_none());
}

/// The third failure within a minute quarantines the map: it is no longer
/// live, its players are on the default map, and it is counted.
#[test]
fn repeated_failures_quarantine_the_map() {
    let mut h = Harness::new();
    let bob = h.join(2, Some(("world", Position::new(2050.0, 2050.0))));
    h.tick();
    received(&bob);
    h.core.worlds().faults().panic_world("world", 3);
    h.ticks(3);
    assert_eq!(GameStats::get(&h.stats.world_failures), 3);
    assert_eq!(GameStats::get(&h.stats.worlds_restored), 2);
    assert_eq!(GameStats::get(&h.stats.worlds_quarantined), 1);
    assert!(!h.catalog.live().contains_key("world"));
    h.tick();
    let (map, _, relocated) = map_changed(&received(&bob)).unwrap();
    assert_eq!((map.as_str(), relocated), ("small", true));
    assert!(bob.borrow().closed.is_none());
}

/// The default map cannot be quarantined: it is restored however often it
/// fails, so new players always have somewhere to go.
#[test]
fn the_default_map_is_always_restored() {
    let mut h = Harness::new();
    h.core.worlds().faults().panic_world("small", 4);
    h.ticks(4);
    assert_eq!(GameStats::get(&h.stats.worlds_restored), 4);
    assert_eq!(GameStats::get(&h.stats.worlds_quarantined), 0);
    assert!(h.catalog.live().contains_key("small"));
}

/// After a panic outside the world steps every world is rebuilt from the
/// saves; a client whose join was applied but not yet stepped is welcomed
/// normally.
#[test]
fn recovery_restores_every_world() {
    let mut h = Harness::new();
    let ann = h.join(1, None);
    let bob = h.join(2, Some(("world", Position::new(2050.0, 2050.0))));
    h.tick();
    received(&ann);
    received(&bob);
    let cat = h.join(3, None);
    h.core.recover("a test panic");
    h.tick();
    assert_eq!(GameStats::get(&h.stats.tick_restarts), 1);
    for client in [&ann, &bob] {
        let told = received(client);
        assert_eq!(error_codes(&told), vec![ErrorCode::WORLD_RESTORED]);
        assert!(map_changed(&told).is_some());
    }
    let told = received(&cat);
    assert!(welcome_position(&told).is_some(), "{told:?}");
    assert!(error_codes(&told).is_empty());
}

/// A core whose gameplay events go to a queue of `capacity`; the queue's
/// receiver (never read by the core) and the pipeline's counters.
fn with_analytics(
    h: &mut Harness,
    capacity: usize,
) -> (
    std::sync::mpsc::Receiver<crate::analytics::Stamped>,
    Arc<crate::analytics::AnalyticsStats>,
) {
    let stats = Arc::new(crate::analytics::AnalyticsStats::default());
    let (analytics, queue) =
        crate::analytics::Analytics::channel(capacity, false, Arc::clone(&stats));
    h.core.set_analytics(analytics);
    (queue, stats)
}

/// A session's events, each counted: start, speech with sizes and no
/// texts, a refused input, a map change, a flood disconnect, the end with
/// its reason and map, and one tick summary per map and tick.
#[test]
fn the_core_records_each_gameplay_event_once() {
    use crate::analytics::Event;
    let mut h = Harness::new();
    let (queue, stats) = with_analytics(&mut h, 10_000);
    let ann = h.join(1, None);
    let bob = h.join(2, None);
    h.tick();
    send(&ann, Command::Shout("hello".into()));
    send(&ann, Command::Broadcast("hi all".into()));
    send(
        &bob,
        Command::Refused(ErrorCode::TEXT_TOO_LONG, "too long".into()),
    );
    send(&bob, Command::ChangeMap("world".into()));
    h.tick();
    for _ in 0..4 {
        for _ in 0..100 {
            send(&ann, Command::Ping(1));
        }
        h.tick();
    }
    h.leave(2);
    h.tick();
    let events: Vec<Event> = queue.try_iter().map(|s| s.event).collect();
    let count = |kind: &str| events.iter().filter(|e| e.kind() == kind).count();
    assert_eq!(count("session_start"), 2);
    assert_eq!(count("shout"), 1);
    assert_eq!(count("broadcast"), 1);
    assert_eq!(count("invalid_input"), 1);
    assert_eq!(count("map_change"), 1);
    assert_eq!(count("flood_disconnect"), 1);
    assert_eq!(count("session_end"), 2);
    // 7 ticks, on both maps.
    assert_eq!(count("tick_summary"), 14);
    assert!(events.iter().any(|e| matches!(
        e,
        Event::Shout {
            account: 1,
            bytes: 5,
            text: None,
            ..
        }
    )));
    assert!(
        events.iter().any(|e| matches!(e,
        Event::MapChange { account: 2, from, to, .. } if &*from.0 == "small" && &*to.0 == "world"))
    );
    let ends: Vec<(u64, Option<String>, String)> = events
        .iter()
        .filter_map(|e| match e {
            Event::SessionEnd {
                account,
                map,
                reason,
                ..
            } => Some((
                *account,
                map.as_ref().map(|m| m.to_string()),
                reason.clone(),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        ends,
        [
            (1, Some("small".to_owned()), "rate_limited".to_owned()),
            (2, Some("world".to_owned()), "disconnected".to_owned()),
        ]
    );
    assert_eq!(stats.dropped.load(std::sync::atomic::Ordering::Relaxed), 0);
}

/// A flood of events into a tiny queue nobody drains: every tick still
/// runs and every client is still served, the first events are kept, and
/// each one that did not fit is counted as dropped.
#[test]
fn a_full_analytics_queue_drops_and_counts_without_stalling_the_tick() {
    use std::sync::atomic::Ordering::Relaxed;
    let mut h = Harness::new();
    let (queue, stats) = with_analytics(&mut h, 4);
    let clients: Vec<Client> = (1..=50).map(|id| h.join(id, None)).collect();
    for tick in 0..100u32 {
        for client in &clients {
            send(client, Command::Shout(format!("shout {tick}")));
        }
        h.tick();
    }
    assert_eq!(h.core.worlds().tick(), 100);
    for client in &clients {
        let heard = received(client)
            .iter()
            .filter(|m| matches!(m, ServerMessage::ShoutHeard { .. }))
            .count();
        assert!(heard >= 100, "at least its own 100 shouts heard: {heard}");
    }
    let queued = stats.queued.load(Relaxed);
    let dropped = stats.dropped.load(Relaxed);
    assert_eq!(queued, 4);
    // 50 session starts, 100 shouts each (the first two taken together in
    // tick 2), 100 ticks x 2 maps of summaries.
    assert_eq!(queued + dropped, 50 + 100 * 50 + 200);
    assert_eq!(queue.try_iter().count(), 4);
}
