//! What a [`crate::client::GameClient`] receives, and the background task
//! that turns the control stream and datagrams into typed [`Event`]s.
//!
//! One task per connection reads both sources and feeds one bounded channel.
//! Reliable messages wait for room in the channel, so a client that stops
//! reading exerts QUIC flow control on the server (which may end the
//! connection with `TOO_SLOW`, as the protocol says). Datagrams never wait:
//! when the channel is full they are dropped and counted, like a datagram lost
//! on the way, because the next `StateUpdate` supersedes them.
//!
//! Frames and datagrams holding a message variant this version does not know
//! are skipped (docs/PROTOCOL.md, "Changing the protocol"); anything else
//! that does not decode is a broken server, and the client closes the
//! connection with `MALFORMED_MESSAGE`. This module does not interpret
//! messages; keeping a view of the world is the caller's business.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use quinn::{Connection, ConnectionError, ReadError, RecvStream};
use tokio::sync::mpsc;

use crate::codec::decode;
use crate::frame::FrameDecoder;
use crate::ids::ErrorCode;
use crate::messages::ServerMessage;

/// How long the client waits for the server to close the connection after
/// the server ended the control stream, before closing it itself.
const STREAM_END_GRACE: Duration = Duration::from_secs(2);

/// Size of one read from the control stream.
const READ_CHUNK: usize = 16 * 1024;

/// Something that happened on a game connection.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A message from the control stream: reliable, in order.
    Message(ServerMessage),
    /// A message from a QUIC datagram (a `StateUpdate` in this version):
    /// may be lost or reordered.
    Datagram(ServerMessage),
    /// The connection ended. No other event follows; asking again returns
    /// the same value.
    Closed(Closed),
}

/// Who ended a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosedBy {
    /// The server closed it with an application error code.
    Server,
    /// This client closed it (by a call, or because the server misbehaved).
    Client,
    /// The transport failed: idle timeout, reset, protocol violation.
    Transport,
}

/// How a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    /// Who ended it.
    pub by: ClosedBy,
    /// The application error code (see [`ErrorCode`]; 0 is a normal close),
    /// when the connection was closed by an application.
    pub code: Option<ErrorCode>,
    /// The reason in words: the server's close reason, or what failed.
    pub reason: String,
}

impl Closed {
    fn client(code: ErrorCode, reason: impl Into<String>) -> Self {
        Self {
            by: ClosedBy::Client,
            code: Some(code),
            reason: reason.into(),
        }
    }

    /// How a connection error ends the session.
    pub(crate) fn from_connection_error(error: &ConnectionError) -> Self {
        match error {
            ConnectionError::ApplicationClosed(close) => Self {
                by: ClosedBy::Server,
                code: u16::try_from(close.error_code.into_inner())
                    .ok()
                    .map(ErrorCode),
                reason: String::from_utf8_lossy(&close.reason).into_owned(),
            },
            ConnectionError::LocallyClosed => Self {
                by: ClosedBy::Client,
                code: None,
                reason: "closed by this client".to_owned(),
            },
            other => Self {
                by: ClosedBy::Transport,
                code: None,
                reason: other.to_string(),
            },
        }
    }
}

/// Counters kept by the reader task, readable while it runs.
#[derive(Debug, Default)]
pub struct ReaderStats {
    /// Datagrams dropped because the event channel was full.
    pub datagrams_dropped: AtomicU64,
    /// Frames and datagrams skipped because their message variant is unknown.
    pub unknown_skipped: AtomicU64,
    /// Datagrams that did not decode (dropped; a datagram cannot be trusted
    /// to arrive anyway, so this does not end the connection).
    pub datagrams_malformed: AtomicU64,
}

/// Number of [`ServerMessage`] variants this version knows: variant indices
/// below this decode, indices at or above it belong to a newer server.
pub(crate) const KNOWN_SERVER_VARIANTS: u32 = 14;

/// The wire index of a server message. Exhaustive on purpose: appending a
/// variant fails to compile here until [`KNOWN_SERVER_VARIANTS`] follows.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn variant_index(message: &ServerMessage) -> u32 {
    match message {
        ServerMessage::Welcome { .. } => 0,
        ServerMessage::Reject { .. } => 1,
        ServerMessage::PositionCorrected { .. } => 2,
        ServerMessage::RegionChanged { .. } => 3,
        ServerMessage::EntitiesEntered { .. } => 4,
        ServerMessage::EntitiesLeft { .. } => 5,
        ServerMessage::StateUpdate { .. } => 6,
        ServerMessage::ShoutHeard { .. } => 7,
        ServerMessage::BroadcastHeard { .. } => 8,
        ServerMessage::Error { .. } => 9,
        ServerMessage::Pong { .. } => 10,
        ServerMessage::MapChanged { .. } => 11,
        ServerMessage::ResumeToken { .. } => 12,
        ServerMessage::Announcement { .. } => 13,
    }
}

/// The variant index at the front of an encoded message (a `u32` varint),
/// or `None` if the bytes do not start with one.
pub(crate) fn peek_variant(bytes: &[u8]) -> Option<u32> {
    match *bytes.first()? {
        small @ 0..=250 => Some(u32::from(small)),
        251 => Some(u32::from(u16::from_le_bytes(
            bytes.get(1..3)?.try_into().ok()?,
        ))),
        252 => Some(u32::from_le_bytes(bytes.get(1..5)?.try_into().ok()?)),
        _ => None,
    }
}

/// What to do with one received payload.
#[derive(Debug, PartialEq)]
pub(crate) enum Decoded {
    /// A message of this version.
    Message(ServerMessage),
    /// A variant of a newer version: skip it.
    Unknown,
    /// Bytes that are no message.
    Malformed(String),
}

/// Decodes one frame payload or datagram.
pub(crate) fn decode_server(bytes: &[u8]) -> Decoded {
    match decode::<ServerMessage>(bytes) {
        Ok(message) => Decoded::Message(message),
        Err(_) if peek_variant(bytes).is_some_and(|v| v >= KNOWN_SERVER_VARIANTS) => {
            Decoded::Unknown
        }
        Err(err) => Decoded::Malformed(err.to_string()),
    }
}

/// Reads the control stream and datagrams until the connection ends, then
/// sends one [`Event::Closed`].
pub(crate) async fn read_loop(
    connection: Connection,
    mut recv: RecvStream,
    events: mpsc::Sender<Event>,
    stats: Arc<ReaderStats>,
) {
    let mut decoder = FrameDecoder::new();
    let mut buf = vec![0u8; READ_CHUNK];
    let closed = loop {
        tokio::select! {
            read = recv.read(&mut buf) => match read {
                Ok(Some(n)) => {
                    decoder.extend(&buf[..n]);
                    match drain_frames(&mut decoder, &events, &stats).await {
                        Ok(true) => {}
                        // Nobody listens any more: the client was dropped.
                        Ok(false) => return,
                        Err(reason) => {
                            let code = ErrorCode::MALFORMED_MESSAGE;
                            connection.close(u32::from(code.0).into(), reason.as_bytes());
                            break Closed::client(code, reason);
                        }
                    }
                }
                Ok(None) => break stream_ended(&connection).await,
                Err(ReadError::ConnectionLost(error)) => break Closed::from_connection_error(&error),
                Err(other) => {
                    let reason = format!("control stream failed: {other}");
                    connection.close(u32::from(ErrorCode::MALFORMED_MESSAGE.0).into(), reason.as_bytes());
                    break Closed::client(ErrorCode::MALFORMED_MESSAGE, reason);
                }
            },
            datagram = connection.read_datagram() => match datagram {
                Ok(bytes) => match decode_server(&bytes) {
                    Decoded::Message(message) => {
                        if events.try_send(Event::Datagram(message)).is_err() {
                            if events.is_closed() {
                                return;
                            }
                            stats.datagrams_dropped.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Decoded::Unknown => {
                        stats.unknown_skipped.fetch_add(1, Ordering::Relaxed);
                    }
                    Decoded::Malformed(_) => {
                        stats.datagrams_malformed.fetch_add(1, Ordering::Relaxed);
                    }
                },
                Err(error) => break Closed::from_connection_error(&error),
            },
        }
    };
    let _ = events.send(Event::Closed(closed)).await;
}

/// Hands every whole frame to the channel. `Ok(false)` when the receiver is
/// gone; `Err` with a reason when the server sent something undecodable.
async fn drain_frames(
    decoder: &mut FrameDecoder,
    events: &mpsc::Sender<Event>,
    stats: &ReaderStats,
) -> Result<bool, String> {
    while let Some(payload) = decoder
        .next_frame()
        .map_err(|e| format!("bad frame from server: {e}"))?
    {
        match decode_server(&payload) {
            Decoded::Message(message) => {
                if events.send(Event::Message(message)).await.is_err() {
                    return Ok(false);
                }
            }
            Decoded::Unknown => {
                stats.unknown_skipped.fetch_add(1, Ordering::Relaxed);
            }
            Decoded::Malformed(err) => return Err(format!("bad message from server: {err}")),
        }
    }
    Ok(true)
}

/// The server finished the control stream, which ends the session; it closes
/// the connection right after, and its close carries the reason.
async fn stream_ended(connection: &Connection) -> Closed {
    match tokio::time::timeout(STREAM_END_GRACE, connection.closed()).await {
        Ok(error) => Closed::from_connection_error(&error),
        Err(_) => {
            let reason = "the server ended the control stream";
            connection.close(0u32.into(), reason.as_bytes());
            Closed::client(ErrorCode(0), reason)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::encode;
    use crate::ids::{PlayerId, Position};

    /// Every known variant's index matches what the codec writes, and the
    /// count constant is one past the last.
    #[test]
    fn variant_indices_match_the_codec() {
        let samples = [
            ServerMessage::Pong { nonce: 1, tick: 2 },
            ServerMessage::EntitiesLeft {
                ids: vec![PlayerId(3)],
            },
            ServerMessage::ShoutHeard {
                speaker: PlayerId(1),
                name: "a".into(),
                position: Position::new(1.0, 2.0),
                text: "hi".into(),
            },
        ];
        for message in samples {
            let bytes = encode(&message).unwrap();
            assert_eq!(peek_variant(&bytes), Some(variant_index(&message)));
        }
        let last = ServerMessage::Announcement {
            text: "restart in 5 minutes".into(),
        };
        let bytes = encode(&last).unwrap();
        assert_eq!(peek_variant(&bytes), Some(variant_index(&last)));
        assert_eq!(variant_index(&last) + 1, KNOWN_SERVER_VARIANTS);
    }

    /// A variant from a newer server is skipped, not treated as malformed,
    /// in all three varint widths.
    #[test]
    fn unknown_variants_are_skipped() {
        assert_eq!(decode_server(&[14, 1, 2, 3]), Decoded::Unknown);
        assert_eq!(decode_server(&[250]), Decoded::Unknown);
        assert_eq!(decode_server(&[251, 0x00, 0x01]), Decoded::Unknown);
        assert_eq!(decode_server(&[252, 0, 0, 1, 0, 9]), Decoded::Unknown);
    }

    /// Bytes that are not a message of a known variant are malformed: a
    /// truncated known variant, an empty payload, a bad marker, trailing bytes.
    #[test]
    fn broken_payloads_are_malformed() {
        let pong = encode(&ServerMessage::Pong { nonce: 7, tick: 9 }).unwrap();
        assert!(matches!(decode_server(&pong[..1]), Decoded::Malformed(_)));
        assert!(matches!(decode_server(&[]), Decoded::Malformed(_)));
        assert!(matches!(decode_server(&[255]), Decoded::Malformed(_)));
        let mut trailing = pong.clone();
        trailing.push(0);
        assert!(matches!(decode_server(&trailing), Decoded::Malformed(_)));
        assert_eq!(
            decode_server(&pong),
            Decoded::Message(ServerMessage::Pong { nonce: 7, tick: 9 })
        );
    }

    /// A server's application close keeps its code and reason; codes beyond
    /// the u16 range are not invented into an ErrorCode.
    #[test]
    fn application_close_maps_code_and_reason() {
        let close = |code: u64, reason: &'static str| {
            ConnectionError::ApplicationClosed(quinn::ApplicationClose {
                error_code: quinn::VarInt::from_u64(code).unwrap(),
                reason: bytes::Bytes::from_static(reason.as_bytes()),
            })
        };
        let closed = Closed::from_connection_error(&close(4, "replaced"));
        assert_eq!(closed.by, ClosedBy::Server);
        assert_eq!(closed.code, Some(ErrorCode::SESSION_REPLACED));
        assert_eq!(closed.reason, "replaced");
        assert_eq!(
            Closed::from_connection_error(&close(1 << 20, "")).code,
            None
        );
        let timed_out = Closed::from_connection_error(&ConnectionError::TimedOut);
        assert_eq!((timed_out.by, timed_out.code), (ClosedBy::Transport, None));
    }
}
