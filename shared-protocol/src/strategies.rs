//! proptest strategies for every message type, shared by the crate's unit
//! tests. Floats come from raw bit patterns so NaN, infinities, negative zero
//! and subnormals are all exercised; compare such values by their encoding,
//! since NaN is not equal to itself.

use proptest::prelude::*;

use crate::ids::{ErrorCode, PlayerId, Position, RegionId, Vec2};
use crate::messages::{ClientMessage, EntityInfo, EntityState, MapInfo, MoveIntent, ServerMessage};

/// Any `f32`, NaN payloads included.
pub(crate) fn any_f32() -> impl Strategy<Value = f32> {
    prop_oneof![any::<u32>().prop_map(f32::from_bits), -1e6f32..1e6]
}

/// Integers spread over every varint width, not only the huge ones
/// `any::<u64>()` almost always picks.
pub(crate) fn varint_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        0..251u64,
        251..=0xFFFFu64,
        0x1_0000..=0xFFFF_FFFFu64,
        any::<u64>()
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[a-z ]{0,20}", "\\PC{0,300}"]
}

fn player_id() -> impl Strategy<Value = PlayerId> {
    varint_u64().prop_map(PlayerId)
}

fn region_id() -> impl Strategy<Value = RegionId> {
    prop_oneof![0..64u32, any::<u32>()].prop_map(RegionId)
}

fn position() -> impl Strategy<Value = Position> {
    (any_f32(), any_f32()).prop_map(|(x, y)| Position::new(x, y))
}

fn error_code() -> impl Strategy<Value = ErrorCode> {
    prop_oneof![0..300u16, any::<u16>()].prop_map(ErrorCode)
}

fn move_intent() -> impl Strategy<Value = MoveIntent> {
    (any::<u32>(), any_f32(), any_f32(), any_f32(), position()).prop_map(
        |(seq, x, y, speed, predicted)| MoveIntent {
            seq,
            direction: Vec2 { x, y },
            speed,
            predicted,
        },
    )
}

fn map_info() -> impl Strategy<Value = MapInfo> {
    (text(), any::<u32>(), any::<u32>(), 0..100u32, 0..100u32).prop_map(
        |(name, width, height, region_cols, region_rows)| MapInfo {
            name,
            width,
            height,
            region_cols,
            region_rows,
        },
    )
}

/// Any `EntityState`.
pub(crate) fn entity_state() -> impl Strategy<Value = EntityState> {
    (player_id(), position()).prop_map(|(id, position)| EntityState { id, position })
}

fn entity_info() -> impl Strategy<Value = EntityInfo> {
    (player_id(), text(), position()).prop_map(|(id, name, position)| EntityInfo {
        id,
        name,
        position,
    })
}

/// Any `ClientMessage`, every variant equally likely.
pub(crate) fn client_message() -> impl Strategy<Value = ClientMessage> {
    prop_oneof![
        (any::<u16>(), text()).prop_map(|(version, token)| ClientMessage::Hello { version, token }),
        move_intent().prop_map(ClientMessage::Move),
        text().prop_map(|text| ClientMessage::Shout { text }),
        text().prop_map(|text| ClientMessage::Broadcast { text }),
        varint_u64().prop_map(|nonce| ClientMessage::Ping { nonce }),
        text().prop_map(|map| ClientMessage::ChangeMap { map }),
    ]
}

/// Any `ServerMessage`, every variant equally likely.
pub(crate) fn server_message() -> impl Strategy<Value = ServerMessage> {
    let list = |max| 0..max;
    prop_oneof![
        (
            player_id(),
            region_id(),
            position(),
            any::<u16>(),
            map_info()
        )
            .prop_map(|(player_id, region, position, tick_rate_hz, map)| {
                ServerMessage::Welcome {
                    player_id,
                    region,
                    position,
                    tick_rate_hz,
                    map,
                }
            }),
        (error_code(), text()).prop_map(|(code, reason)| ServerMessage::Reject { code, reason }),
        (any::<u32>(), position())
            .prop_map(|(seq, position)| ServerMessage::PositionCorrected { seq, position }),
        region_id().prop_map(|region| ServerMessage::RegionChanged { region }),
        prop::collection::vec(entity_info(), list(20))
            .prop_map(|entities| ServerMessage::EntitiesEntered { entities }),
        prop::collection::vec(player_id(), list(300))
            .prop_map(|ids| ServerMessage::EntitiesLeft { ids }),
        (
            varint_u64(),
            prop::collection::vec(entity_state(), list(300))
        )
            .prop_map(|(tick, moved)| ServerMessage::StateUpdate { tick, moved }),
        (player_id(), text(), position(), text()).prop_map(|(speaker, name, position, text)| {
            ServerMessage::ShoutHeard {
                speaker,
                name,
                position,
                text,
            }
        }),
        (player_id(), text(), region_id(), text()).prop_map(|(speaker, name, region, text)| {
            ServerMessage::BroadcastHeard {
                speaker,
                name,
                region,
                text,
            }
        }),
        (error_code(), text()).prop_map(|(code, message)| ServerMessage::Error { code, message }),
        (varint_u64(), varint_u64()).prop_map(|(nonce, tick)| ServerMessage::Pong { nonce, tick }),
        (
            map_info(),
            region_id(),
            position(),
            any::<u32>(),
            any::<bool>(),
            text()
        )
            .prop_map(|(map, region, position, seq, relocated, reason)| {
                ServerMessage::MapChanged {
                    map,
                    region,
                    position,
                    seq,
                    relocated,
                    reason,
                }
            }),
        text().prop_map(|text| ServerMessage::Announcement { text }),
    ]
}
