//! A joined connection's two tasks: the reader, which turns control-stream
//! frames into commands for the tick, and the writer, which sends what the
//! tick queued on the [`Peer`].
//!
//! Bad input ends only this connection: an oversized length prefix gets
//! `FRAME_TOO_LARGE`, undecodable bytes or a zero-length frame
//! `MALFORMED_MESSAGE`, a second `Hello` `UNEXPECTED_MESSAGE`; each is sent
//! as `Error` and the connection is closed with the same code. A message
//! that decodes but fails validation (text too long, a NaN) is answered with
//! `Error` and ignored; the answer goes through the tick like any command,
//! so it counts against the per-tick budget and cannot overtake `Welcome`.
//! The client finishing the control stream ends the session.
//!
//! The writer also hands out resume tokens ([`ResumeIssuer`]): one right
//! after the first batch (which holds `Welcome`), then a fresh one every
//! quarter of their lifetime, so a client always holds one with most of its
//! life left. Signing one costs a microsecond and happens here, off the tick.

use std::sync::Arc;
use std::time::Duration;

use battlegrid_protocol::frame::LEN_PREFIX;
use battlegrid_protocol::{
    ClientMessage, ErrorCode, FrameDecoder, FrameError, MoveIntent, ServerMessage, decode,
};
use bytes::Bytes;
use quinn::{RecvStream, SendStream};
use tokio::sync::mpsc;

use super::peer::{Close, Peer};
use super::resume::{ResumeClaim, ResumeKeys};
use super::stats::GameStats;
use crate::auth::now_ms;

/// How long the writer waits for the client to acknowledge a final `Error`
/// or `Reject` before closing the connection anyway.
const GOODBYE_GRACE: Duration = Duration::from_secs(1);

/// Size of one read from the control stream.
const READ_CHUNK: usize = 8 * 1024;

/// A client command waiting for the tick.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// A new movement intent.
    Move(MoveIntent),
    /// A shout.
    Shout(String),
    /// A broadcast.
    Broadcast(String),
    /// A ping to answer with the current tick.
    Ping(u64),
    /// A request to move to another loaded map.
    ChangeMap(String),
    /// A message that failed validation: answer with this error.
    Refused(ErrorCode, String),
}

/// What the reader makes of one frame.
#[derive(Debug, PartialEq)]
pub enum FrameVerdict {
    /// Hand this to the tick.
    Command(Command),
    /// End the connection with this code and reason.
    Fatal(ErrorCode, String),
}

/// Judges one frame payload of a joined client.
pub fn judge(payload: &[u8]) -> FrameVerdict {
    let message = match decode::<ClientMessage>(payload) {
        Ok(message) => message,
        Err(err) => return FrameVerdict::Fatal(ErrorCode::MALFORMED_MESSAGE, err.to_string()),
    };
    if let Err(err) = message.validate() {
        return FrameVerdict::Command(Command::Refused(err.code(), err.to_string()));
    }
    FrameVerdict::Command(match message {
        ClientMessage::Hello { .. } | ClientMessage::Resume { .. } => {
            return FrameVerdict::Fatal(
                ErrorCode::UNEXPECTED_MESSAGE,
                "the session already began (Hello or Resume was received)".to_owned(),
            );
        }
        ClientMessage::Move(intent) => Command::Move(intent),
        ClientMessage::Shout { text } => Command::Shout(text),
        ClientMessage::Broadcast { text } => Command::Broadcast(text),
        ClientMessage::Ping { nonce } => Command::Ping(nonce),
        ClientMessage::ChangeMap { map } => Command::ChangeMap(map),
    })
}

/// The code and reason for a framing error.
pub fn frame_error(err: &FrameError) -> (ErrorCode, String) {
    match err {
        FrameError::TooLarge(_) => (ErrorCode::FRAME_TOO_LARGE, err.to_string()),
        FrameError::Empty => (ErrorCode::MALFORMED_MESSAGE, err.to_string()),
    }
}

/// Reads frames until the connection ends or misbehaves. `decoder` may
/// already hold bytes that followed `Hello`.
pub async fn read_loop(
    mut recv: RecvStream,
    mut decoder: FrameDecoder,
    peer: &Peer,
    commands: mpsc::Sender<Command>,
    stats: &GameStats,
) {
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        loop {
            let payload = match decoder.next_frame() {
                Ok(Some(payload)) => payload,
                Ok(None) => break,
                Err(err) => {
                    let (code, reason) = frame_error(&err);
                    GameStats::bump(&stats.bad_input);
                    return peer.close(code, reason);
                }
            };
            match judge(&payload) {
                FrameVerdict::Command(command) => {
                    if commands.try_send(command).is_err() {
                        GameStats::bump(&stats.commands_dropped);
                        peer.overflowed
                            .store(true, std::sync::atomic::Ordering::Relaxed);
                    }
                }
                FrameVerdict::Fatal(code, reason) => {
                    GameStats::bump(&stats.bad_input);
                    return peer.close(code, reason);
                }
            }
        }
        match recv.read(&mut buf).await {
            Ok(Some(n)) => decoder.extend(&buf[..n]),
            Ok(None) => return peer.close_now(ErrorCode(0), "control stream finished"),
            // A reset stream ends the session too; on a lost connection
            // this close is a no-op.
            Err(_) => return peer.close_now(ErrorCode(0), "control stream ended"),
        }
    }
}

/// Mints the `ResumeToken`s of one connection.
pub struct ResumeIssuer {
    /// The server's resume key.
    pub keys: Arc<ResumeKeys>,
    /// Whose session the tokens resume.
    pub claim: ResumeClaim,
    /// How long each token is valid.
    pub ttl: Duration,
}

impl ResumeIssuer {
    /// A framed `ResumeToken` valid for `ttl` from now.
    fn frame(&self) -> Option<Bytes> {
        let valid_for_ms = u32::try_from(self.ttl.as_millis()).unwrap_or(u32::MAX);
        let token = self
            .keys
            .issue(&self.claim, now_ms() + u64::from(valid_for_ms));
        let message = ServerMessage::ResumeToken {
            token,
            valid_for_ms,
        };
        let bytes = battlegrid_protocol::encode(&message).ok()?;
        Some(battlegrid_protocol::frame::frame(&bytes))
    }

    /// When the token after one sent now is due.
    fn next_after(&self, now: tokio::time::Instant) -> tokio::time::Instant {
        now + (self.ttl / 4).max(Duration::from_millis(250))
    }
}

/// Sends what the tick queues until the connection ends, and the resume
/// tokens of `resume`.
pub async fn write_loop(
    mut send: SendStream,
    peer: Arc<Peer>,
    stats: Arc<GameStats>,
    resume: Option<ResumeIssuer>,
) {
    // None until Welcome went out: no token may precede it.
    let mut token_due: Option<tokio::time::Instant> = None;
    loop {
        let woken = peer.wake.notified();
        let batch = peer.take();
        for datagram in batch.datagrams {
            if peer.connection.send_datagram(datagram).is_err() {
                GameStats::bump(&stats.datagrams_dropped);
            }
        }
        if !batch.reliable.is_empty() {
            let n: usize = batch.reliable.iter().map(Bytes::len).sum();
            let mut chunks = frames(batch.reliable);
            if send.write_all_chunks(&mut chunks).await.is_err() {
                return;
            }
            peer.written(n);
            if token_due.is_none() && resume.is_some() {
                token_due = Some(tokio::time::Instant::now());
            }
        }
        if let Some(close) = batch.close {
            return goodbye(send, &peer.connection, close).await;
        }
        if let (Some(due), Some(issuer)) = (token_due, &resume)
            && due <= tokio::time::Instant::now()
        {
            if let Some(frame) = issuer.frame()
                && send.write_all(&frame).await.is_err()
            {
                return;
            }
            token_due = Some(issuer.next_after(tokio::time::Instant::now()));
        }
        let token_timer = async {
            match token_due {
                Some(due) => tokio::time::sleep_until(due).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = woken => {}
            _ = token_timer => {}
            _ = peer.connection.closed() => return,
        }
    }
}

/// Length prefixes interleaved with the (shared, uncopied) payloads.
fn frames(payloads: Vec<Bytes>) -> Vec<Bytes> {
    let mut chunks = Vec::with_capacity(payloads.len() * 2);
    for payload in payloads {
        let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
        debug_assert_eq!(LEN_PREFIX, 4);
        chunks.push(Bytes::copy_from_slice(&len.to_le_bytes()));
        chunks.push(payload);
    }
    chunks
}

/// Sends `Error` (when asked), finishes the stream, gives the client a
/// moment to receive it, then closes the connection with the code.
pub async fn goodbye(mut send: SendStream, connection: &quinn::Connection, close: Close) {
    if close.tell {
        let message = ServerMessage::Error {
            code: close.code,
            message: close.reason.clone(),
        };
        say_last(&mut send, &message).await;
    }
    connection.close(u32::from(close.code.0).into(), close.reason.as_bytes());
}

/// Writes `message` as the last frame of the stream and waits (briefly) for
/// the client to acknowledge it.
pub async fn say_last(send: &mut SendStream, message: &ServerMessage) {
    let Ok(bytes) = battlegrid_protocol::encode(message) else {
        return;
    };
    let framed = battlegrid_protocol::frame::frame(&bytes);
    let _ = tokio::time::timeout(GOODBYE_GRACE, async {
        if send.write_all(&framed).await.is_ok() && send.finish().is_ok() {
            let _ = send.stopped().await;
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use battlegrid_protocol::{Position, Vec2, encode};

    /// Valid messages become commands; invalid ones become refusals that
    /// keep the connection; undecodable bytes and a second Hello are fatal.
    #[test]
    fn frames_are_judged() {
        let ping = encode(&ClientMessage::Ping { nonce: 9 }).unwrap();
        assert_eq!(judge(&ping), FrameVerdict::Command(Command::Ping(9)));
        let long = encode(&ClientMessage::Shout {
            text: "x".repeat(600),
        })
        .unwrap();
        assert!(matches!(
            judge(&long),
            FrameVerdict::Command(Command::Refused(ErrorCode::TEXT_TOO_LONG, _))
        ));
        let nan = encode(&ClientMessage::Move(MoveIntent {
            seq: 1,
            direction: Vec2 {
                x: f32::NAN,
                y: 0.0,
            },
            speed: 1.0,
            predicted: Position::new(0.0, 0.0),
        }))
        .unwrap();
        assert!(matches!(
            judge(&nan),
            FrameVerdict::Command(Command::Refused(ErrorCode::INVALID_VALUE, _))
        ));
        assert!(matches!(
            judge(&[0xff, 0xff]),
            FrameVerdict::Fatal(ErrorCode::MALFORMED_MESSAGE, _)
        ));
        let hello = encode(&ClientMessage::Hello {
            version: 1,
            token: "t".into(),
        })
        .unwrap();
        assert!(matches!(
            judge(&hello),
            FrameVerdict::Fatal(ErrorCode::UNEXPECTED_MESSAGE, _)
        ));
    }

    /// Framing errors map to their codes.
    #[test]
    fn frame_errors_map_to_codes() {
        assert_eq!(
            frame_error(&FrameError::TooLarge(1 << 20)).0,
            ErrorCode::FRAME_TOO_LARGE
        );
        assert_eq!(
            frame_error(&FrameError::Empty).0,
            ErrorCode::MALFORMED_MESSAGE
        );
    }

    /// Each payload gets its little-endian length in front.
    #[test]
    fn frames_prefix_lengths() {
        let chunks = frames(vec![Bytes::from_static(b"abc")]);
        assert_eq!(chunks[0].as_ref(), &[3, 0, 0, 0]);
        assert_eq!(chunks[1].as_ref(), b"abc");
    }
}
