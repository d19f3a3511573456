//! Determinism and encode-once fan-out.

use battlegrid_protocol::{DATAGRAM_BUDGET, PlayerId, ServerMessage};
use battlegrid_sim::testing::{Scenario, Walkers, decode_outbox};
use battlegrid_sim::{Delivery, Input, SimSettings, TickOutput};

fn run(seed: u64, ticks: usize) -> Vec<TickOutput> {
    run_with(400, seed, ticks)
}

fn run_with(players: u64, seed: u64, ticks: usize) -> Vec<TickOutput> {
    let mut sim = Scenario::open_map(1024, 1024, 4, 4)
        .players(players)
        .seed(seed)
        .build();
    let mut walkers = Walkers::new(players, seed + 1);
    walkers.start(&mut sim);
    (0..ticks)
        .map(|_| {
            walkers.drive(&mut sim);
            sim.step()
        })
        .collect()
}

/// Two runs with the same seed and inputs produce identical outboxes, byte
/// for byte and in the same order, plus identical saves and analytics.
#[test]
fn same_seed_same_bytes() {
    let (a, b) = (run(5, 50), run(5, 50));
    let mut envelopes = 0;
    let mut shouts = 0;
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.outbox, y.outbox, "tick {}", x.tick);
        assert_eq!(x.saves, y.saves);
        assert_eq!(x.analytics, y.analytics);
        envelopes += x.outbox.len();
        shouts += decode_outbox(x)
            .iter()
            .filter(|(_, m)| matches!(m, ServerMessage::ShoutHeard { .. }))
            .count();
    }
    assert!(
        envelopes > 10_000,
        "the scenario exercises the outbox ({envelopes} envelopes)"
    );
    assert!(shouts > 100, "and shouts ({shouts})");
}

/// With enough players the regions are processed as several parallel
/// tasks; the outcome still does not depend on which thread ran which.
#[test]
fn parallel_regions_are_deterministic() {
    let (a, b) = (run_with(8_000, 9, 8), run_with(8_000, 9, 8));
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.outbox, y.outbox, "tick {}", x.tick);
    }
}

/// A shout and a broadcast are encoded once: every recipient's envelope
/// points at the same bytes.
#[test]
fn fanout_shares_one_encoding() {
    let mut sim = Scenario::open_map(256, 256, 2, 2)
        .players(50)
        .seed(3)
        .build();
    sim.push(Input::Shout {
        id: PlayerId(1),
        text: "hear me".into(),
    });
    sim.push(Input::Broadcast {
        id: PlayerId(2),
        text: "region news".into(),
    });
    let out = sim.step();
    for kind in ["shout", "broadcast"] {
        let pointers: Vec<_> = decode_outbox(&out)
            .iter()
            .zip(&out.outbox)
            .filter(|((_, m), _)| match kind {
                "shout" => matches!(m, ServerMessage::ShoutHeard { .. }),
                _ => matches!(m, ServerMessage::BroadcastHeard { .. }),
            })
            .map(|(_, e)| (e.bytes.as_ptr(), e.bytes.len()))
            .collect();
        assert!(pointers.len() > 1, "{kind} reached several players");
        assert!(
            pointers.iter().all(|p| *p == pointers[0]),
            "{kind} bytes are shared"
        );
    }
}

/// StateUpdates are datagrams within the budget; a crowd too large for one
/// datagram is split into several complete updates of the same tick.
#[test]
fn state_updates_fit_datagrams() {
    // 300 players in a 64x64 square all see each other.
    let settings = SimSettings {
        view_radius: 200.0,
        ..SimSettings::default()
    };
    let mut sim = Scenario::open_map(64, 64, 1, 1)
        .players(300)
        .seed(1)
        .settings(settings)
        .build();
    let mut walkers = Walkers::new(300, 2);
    walkers.shout_fraction = 0.0;
    walkers.start(&mut sim);
    let out = sim.step();
    let updates: Vec<_> = out
        .outbox
        .iter()
        .filter(|e| e.to == PlayerId(1) && e.delivery == Delivery::Datagram)
        .collect();
    assert!(updates.len() > 1, "split into {} datagrams", updates.len());
    let mut listed = 0;
    for e in &updates {
        assert!(e.bytes.len() <= DATAGRAM_BUDGET);
        match battlegrid_protocol::decode::<ServerMessage>(&e.bytes).unwrap() {
            ServerMessage::StateUpdate { tick, moved } => {
                assert_eq!(tick, out.tick);
                listed += moved.len();
            }
            other => panic!("datagram carried {other:?}"),
        }
    }
    assert!(listed > 250, "most of the crowd moved ({listed})");
}
