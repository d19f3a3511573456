//! End-to-end tests of play over QUIC against the real server: seeing
//! others move, shouts and broadcasts reaching exactly who they should,
//! and walking across a region border.

mod game_support;

use battlegrid_protocol::client::Event;
use battlegrid_protocol::{ClientMessage, RegionId, ServerMessage, Vec2};
use game_support::*;

const RIGHT: Vec2 = Vec2 { x: 1.0, y: 0.0 };
const LEFT: Vec2 = Vec2 { x: -1.0, y: 0.0 };

/// Two players spawned next to each other are introduced to each other, and
/// one walking shows up in the other's state updates with decreasing x.
#[tokio::test]
async fn near_players_see_each_other_move() {
    let server = start(|_| {});
    let (mut ann, ann_welcome) = player(&server, "ann").await;
    let (mut bob, bob_welcome) = player(&server, "bob").await;
    assert_eq!(ann_welcome.position, SPAWN);
    let (ann_id, bob_id) = (ann_welcome.player_id, bob_welcome.player_id);
    wait_for(&mut ann, |e| match e {
        Event::Message(m) if entered(m, bob_id) => Some(()),
        _ => None,
    })
    .await;
    wait_for(&mut bob, |e| match e {
        Event::Message(m) if entered(m, ann_id) => Some(()),
        _ => None,
    })
    .await;

    send_move(&bob, 1, LEFT, 40.0).await;
    let mut last_x = SPAWN.x;
    for _ in 0..3 {
        let x = wait_for(&mut ann, |e| match e {
            Event::Datagram(m) => moved(m, bob_id).map(|p| p.x),
            _ => None,
        })
        .await;
        assert!(x < last_x, "bob walks left: {x} after {last_x}");
        last_x = x;
    }
}

/// A shout is heard by the speaker and a player next to it, and not by a
/// player who walked beyond the shout radius.
#[tokio::test]
async fn shout_is_heard_near_and_not_far() {
    let server = start(|_| {});
    let (mut ann, ann_welcome) = player(&server, "ann").await;
    let (mut bob, _) = player(&server, "bob").await;
    let (mut cyd, _) = player(&server, "cyd").await;
    // 50 ticks at 4 units per tick: 200 units left, far beyond 64.
    let far = walk(&mut cyd, &mut 0, LEFT, 50).await.at;
    assert!(SPAWN.x - far.x > 64.0 + 8.0, "cyd is far: {far:?}");

    ann.send(&ClientMessage::Shout {
        text: "hello, world".into(),
    })
    .await
    .unwrap();
    let heard = |e: &Event| match e {
        Event::Message(ServerMessage::ShoutHeard {
            speaker,
            text,
            position,
            ..
        }) => Some((*speaker, text.clone(), *position)),
        _ => None,
    };
    let (speaker, text, at) = wait_for(&mut ann, heard).await;
    assert_eq!(speaker, ann_welcome.player_id);
    assert_eq!((text.as_str(), at), ("hello, world", SPAWN));
    let (speaker, _, _) = wait_for(&mut bob, heard).await;
    assert_eq!(speaker, ann_welcome.player_id);
    let (before_pong, _) = until_pong(&mut cyd, 7).await;
    assert!(
        !before_pong
            .iter()
            .any(|m| matches!(m, ServerMessage::ShoutHeard { .. })),
        "the far player heard the shout: {before_pong:?}"
    );
}

/// A broadcast reaches everyone in the speaker's region (the speaker too)
/// and nobody in the next region, however close.
#[tokio::test]
async fn broadcast_reaches_the_speakers_region_only() {
    let server = start(|_| {});
    let (mut ann, ann_welcome) = player(&server, "ann").await;
    let (mut bob, _) = player(&server, "bob").await;
    let (mut cyd, _) = player(&server, "cyd").await;
    let walked = walk(&mut cyd, &mut 0, RIGHT, 5).await;
    assert!(walked.seen.contains(&ServerMessage::RegionChanged {
        region: RegionId(1)
    }));

    ann.send(&ClientMessage::Broadcast { text: "gg".into() })
        .await
        .unwrap();
    let heard = |e: &Event| match e {
        Event::Message(ServerMessage::BroadcastHeard {
            speaker, region, ..
        }) => Some((*speaker, *region)),
        _ => None,
    };
    assert_eq!(
        wait_for(&mut ann, heard).await,
        (ann_welcome.player_id, RegionId(0))
    );
    assert_eq!(
        wait_for(&mut bob, heard).await,
        (ann_welcome.player_id, RegionId(0))
    );
    let (cyd_saw, _) = until_pong(&mut cyd, 3).await;
    assert!(
        !cyd_saw
            .iter()
            .any(|m| matches!(m, ServerMessage::BroadcastHeard { .. })),
        "region 1 heard region 0's broadcast: {cyd_saw:?}"
    );

    cyd.send(&ClientMessage::Broadcast { text: "hi".into() })
        .await
        .unwrap();
    assert_eq!(wait_for(&mut cyd, heard).await.1, RegionId(1));
    let (bob_saw, _) = until_pong(&mut bob, 4).await;
    assert!(
        !bob_saw
            .iter()
            .any(|m| matches!(m, ServerMessage::BroadcastHeard { .. })),
        "region 0 heard region 1's broadcast: {bob_saw:?}"
    );
}

/// Walking right across the border at x = 256 tells the walker its new
/// region; the neighbour it walked away from stays in view on both sides
/// and keeps seeing it move.
#[tokio::test]
async fn crossing_a_border_changes_region_and_keeps_neighbours() {
    let server = start(|_| {});
    let (mut ann, ann_welcome) = player(&server, "ann").await;
    let (mut bob, bob_welcome) = player(&server, "bob").await;
    assert_eq!(bob_welcome.region, RegionId(0));
    let (ann_id, bob_id) = (ann_welcome.player_id, bob_welcome.player_id);
    let mut seq = 0;
    // 5 ticks at 4 units: from x = 250 to at least 270, past the border and
    // its margin, and still well within the view radius of Ann.
    let walked = walk(&mut bob, &mut seq, RIGHT, 5).await;
    assert!(
        walked.at.x > 258.0 && walked.at.x - SPAWN.x < 40.0,
        "{:?}",
        walked.at
    );
    assert!(
        walked.seen.contains(&ServerMessage::RegionChanged {
            region: RegionId(1)
        }),
        "{:?}",
        walked.seen
    );
    assert!(walked.seen.iter().all(|m| !left(m, ann_id)));
    let (ann_saw, _) = until_pong(&mut ann, 2).await;
    assert!(ann_saw.iter().all(|m| !left(m, bob_id)), "{ann_saw:?}");

    send_move(&bob, seq + 1, RIGHT, 20.0).await;
    wait_for(&mut ann, |e| match e {
        Event::Datagram(m) => moved(m, bob_id).filter(|p| p.x > walked.at.x),
        _ => None,
    })
    .await;
}
