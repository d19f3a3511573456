//! The gateway: admits QUIC connections and turns a valid `Hello` into a
//! player joining the world (the original design's "main message passing
//! server").
//!
//! Admission, before any cryptography: attempts beyond
//! `max_pending_handshakes`, beyond `max_connections`, beyond
//! `max_connections_per_ip` for the source address (loopback exempt by
//! default, for local load tests), or during shutdown are
//! refused; above `retry_above_pending` attempts in progress, unvalidated
//! source addresses are sent a QUIC Retry first.
//!
//! Handshake: the client has `handshake_timeout_ms` from its first packet to
//! a complete `Hello` frame, else `HANDSHAKE_TIMEOUT`. A protocol version the
//! server does not speak gets `Reject{UNSUPPORTED_VERSION}`; an unknown,
//! expired or over-long token, or a banned account's, `Reject{INVALID_TOKEN}`; the connection is
//! closed right after with the same code. Bytes that are not a `Hello` frame
//! get `Error` and a close (`FRAME_TOO_LARGE`, `MALFORMED_MESSAGE`,
//! `UNEXPECTED_MESSAGE`). A valid `Hello` loads the player's saved position
//! and hands the connection to the tick thread, whose `Welcome` is the
//! first message the client receives. `Resume` instead of `Hello` presents
//! a resume token ([`super::resume`]) in place of the session token; the
//! rest is the same, and the connection's writer sends a fresh
//! `ResumeToken` after `Welcome` and before each one expires.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use battlegrid_protocol::{
    ClientMessage, ErrorCode, FrameDecoder, PROTOCOL_VERSION, PlayerId, ServerMessage, decode,
};
use quinn::{Connection, Incoming, RecvStream, SendStream};
use tokio::sync::{mpsc, watch};

use super::config::QuicConfig;
use super::online::{Online, OnlinePlayer};
use super::peer::Peer;
use super::resume::{ResumeClaim, ResumeKeys};
use super::session::{ResumeIssuer, frame_error, read_loop, say_last, write_loop};
use super::stats::{GameStats, HandshakeFailure};
use super::tick::link::ClientLink;
use super::tick::{Control, Joining, SavedPlace};
use crate::admin::Bans;
use crate::auth::{Lookup, TokenTable, now_ms, token_hash};
use crate::store::{AccountId, Store, TokenHash};

/// Shared state of the gateway.
pub struct Gateway {
    /// Limits.
    pub config: QuicConfig,
    /// Live sessions, checked on `Hello`.
    pub tokens: Arc<TokenTable>,
    /// Saved positions are read from here.
    pub store: Arc<dyn Store>,
    /// To the tick thread.
    pub control: std::sync::mpsc::Sender<Control>,
    /// Shared counters.
    pub stats: Arc<GameStats>,
    /// Signs and checks resume tokens.
    resume: Arc<ResumeKeys>,
    /// Who is connected, for the admin API.
    pub online: Arc<Online>,
    /// Banned accounts are rejected at `Hello`.
    pub bans: Arc<Bans>,
    /// Attempts between `Incoming` and `Welcome` being queued.
    pending: AtomicUsize,
    /// Admitted connections not yet ended.
    open: AtomicUsize,
    /// Admitted connections per source IP.
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    /// Numbers connections, so the tick can tell a stale `Left` from a
    /// replacing connection of the same player.
    next_conn: AtomicU64,
    /// Set at shutdown: admit nobody new.
    stopping: AtomicBool,
}

/// A handshake that cannot succeed: how to end it.
struct Failure {
    code: ErrorCode,
    reason: String,
    /// `Reject` (version, token, availability) rather than `Error`.
    reject: bool,
    /// The control stream, when the client opened one.
    send: Option<SendStream>,
}

impl Failure {
    fn error(code: ErrorCode, reason: impl Into<String>, send: Option<SendStream>) -> Self {
        Self {
            code,
            reason: reason.into(),
            reject: false,
            send,
        }
    }

    fn reject(code: ErrorCode, reason: impl Into<String>, send: SendStream) -> Self {
        Self {
            code,
            reason: reason.into(),
            reject: true,
            send: Some(send),
        }
    }

    async fn end(self, connection: &Connection) {
        if let Some(mut send) = self.send {
            let message = if self.reject {
                ServerMessage::Reject {
                    code: self.code,
                    reason: self.reason.clone(),
                }
            } else {
                ServerMessage::Error {
                    code: self.code,
                    message: self.reason.clone(),
                }
            };
            say_last(&mut send, &message).await;
        }
        connection.close(u32::from(self.code.0).into(), self.reason.as_bytes());
    }
}

/// Releases an admitted connection's slots when dropped.
struct Admitted {
    gateway: Arc<Gateway>,
    ip: IpAddr,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.gateway.open.fetch_sub(1, Ordering::Relaxed);
        let mut per_ip = self.gateway.lock_ips();
        if let Some(n) = per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                per_ip.remove(&self.ip);
            }
        }
    }
}

/// Counts an attempt as pending while alive.
struct Pending<'a>(&'a AtomicUsize);

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What a `Hello` or `Resume` is checked against.
pub struct Admission {
    /// Live sessions.
    pub tokens: Arc<TokenTable>,
    /// Saved positions.
    pub store: Arc<dyn Store>,
    /// Resume tokens' key.
    pub resume: Arc<ResumeKeys>,
    /// Banned accounts.
    pub bans: Arc<Bans>,
}

impl Gateway {
    /// A gateway with no connections.
    pub fn new(
        config: QuicConfig,
        admission: Admission,
        control: std::sync::mpsc::Sender<Control>,
        stats: Arc<GameStats>,
        online: Arc<Online>,
    ) -> Self {
        let Admission {
            tokens,
            store,
            resume,
            bans,
        } = admission;
        Self {
            config,
            tokens,
            store,
            control,
            stats,
            resume,
            online,
            bans,
            pending: AtomicUsize::new(0),
            open: AtomicUsize::new(0),
            per_ip: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(1),
            stopping: AtomicBool::new(false),
        }
    }

    fn lock_ips(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        self.per_ip.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Accepts connections until `stop` turns true or the endpoint closes.
    pub async fn accept_loop(
        self: Arc<Self>,
        endpoint: quinn::Endpoint,
        mut stop: watch::Receiver<bool>,
    ) {
        loop {
            let incoming = tokio::select! {
                incoming = endpoint.accept() => match incoming {
                    Some(incoming) => incoming,
                    None => break,
                },
                _ = stop.wait_for(|s| *s) => break,
            };
            Arc::clone(&self).admit(incoming);
        }
        self.stopping.store(true, Ordering::Relaxed);
    }

    /// Applies the admission limits, then serves the connection in a task.
    fn admit(self: Arc<Self>, incoming: Incoming) {
        let refuse = |incoming: Incoming, why: &str| {
            GameStats::bump(&self.stats.refused);
            tracing::debug!(peer = %incoming.remote_address(), why, "connection refused");
            incoming.refuse();
        };
        let pending = self.pending.load(Ordering::Relaxed);
        if self.stopping.load(Ordering::Relaxed) {
            return refuse(incoming, "shutting down");
        }
        if pending >= self.config.max_pending_handshakes {
            return refuse(incoming, "too many handshakes in progress");
        }
        if pending >= self.config.retry_above_pending
            && !incoming.remote_address_validated()
            && incoming.may_retry()
        {
            // The client comes back with a token proving its address; only
            // then does the handshake cost the server anything.
            match incoming.retry() {
                Ok(()) => GameStats::bump(&self.stats.retries_sent),
                Err(err) => err.into_incoming().ignore(),
            }
            return;
        }
        if self.open.load(Ordering::Relaxed) >= self.config.max_connections {
            return refuse(incoming, "server full");
        }
        let ip = incoming.remote_address().ip();
        let cap = if ip.is_loopback() && !self.config.cap_loopback {
            usize::MAX
        } else {
            self.config.max_connections_per_ip
        };
        {
            let mut per_ip = self.lock_ips();
            let n = per_ip.entry(ip).or_insert(0);
            if *n >= cap {
                drop(per_ip);
                return refuse(incoming, "too many connections from this address");
            }
            *n += 1;
        }
        self.open.fetch_add(1, Ordering::Relaxed);
        self.pending.fetch_add(1, Ordering::Relaxed);
        let admitted = Admitted {
            gateway: Arc::clone(&self),
            ip,
        };
        tokio::spawn(async move {
            self.serve(incoming, admitted).await;
        });
    }

    /// Handshake, then the session until the connection ends.
    async fn serve(&self, incoming: Incoming, admitted: Admitted) {
        let pending = Pending(&self.pending);
        let timeout = Duration::from_millis(self.config.handshake_timeout_ms);
        let deadline = tokio::time::Instant::now() + timeout;
        let peer_addr = incoming.remote_address();
        let connecting = match incoming.accept() {
            Ok(connecting) => connecting,
            Err(err) => {
                tracing::debug!(peer = %peer_addr, %err, "QUIC handshake failed");
                return self.stats.handshake_failed(HandshakeFailure::Quic);
            }
        };
        let connection = match tokio::time::timeout_at(deadline, connecting).await {
            Ok(Ok(connection)) => connection,
            Ok(Err(err)) => {
                tracing::debug!(peer = %peer_addr, %err, "QUIC handshake failed");
                return self.stats.handshake_failed(HandshakeFailure::Quic);
            }
            Err(_) => {
                tracing::debug!(peer = %peer_addr, "QUIC handshake timed out");
                return self.stats.handshake_failed(HandshakeFailure::Quic);
            }
        };
        let hello = tokio::time::timeout_at(deadline, read_hello(&connection)).await;
        let (send, recv, decoder, version, credential) = match hello {
            Ok(Ok(hello)) => hello,
            Ok(Err(failure)) => {
                tracing::debug!(peer = %peer_addr, "bad Hello");
                self.stats.handshake_failed(HandshakeFailure::BadHello);
                return failure.end(&connection).await;
            }
            Err(_) => {
                tracing::debug!(peer = %peer_addr, "no Hello before the deadline");
                self.stats.handshake_failed(HandshakeFailure::HelloTimeout);
                let reason = format!("no Hello within {} ms", timeout.as_millis());
                let code = ErrorCode::HANDSHAKE_TIMEOUT;
                return connection.close(u32::from(code.0).into(), reason.as_bytes());
            }
        };
        let mut send = send;
        let (player, name, saved, session) = match self.check_hello(version, &credential).await {
            Ok(joined) => joined,
            Err((code, reason)) => {
                self.stats.handshake_failed(HandshakeFailure::Rejected);
                return Failure::reject(code, reason, send).end(&connection).await;
            }
        };
        let conn = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let joined_name = name.clone();
        let peer = Arc::new(Peer::new(connection.clone()));
        let (commands_tx, commands) = mpsc::channel(self.config.inbound_queue.max(1));
        let joining = Joining {
            conn,
            player,
            name,
            saved,
            link: ClientLink {
                peer: Arc::clone(&peer),
                commands,
            },
        };
        if self.control.send(Control::Join(Box::new(joining))).is_err() {
            let code = ErrorCode::SERVER_UNAVAILABLE;
            say_last(
                &mut send,
                &ServerMessage::Reject {
                    code,
                    reason: "the server is shutting down".to_owned(),
                },
            )
            .await;
            return connection.close(u32::from(code.0).into(), b"shutting down");
        }
        drop(pending);
        self.online.insert(
            player,
            OnlinePlayer {
                conn,
                account: AccountId(player.0),
                name: joined_name,
                session,
                addr: connection.remote_address(),
                since_ms: now_ms(),
                peer: Arc::clone(&peer),
            },
        );
        GameStats::bump(&self.stats.joined);
        tracing::debug!(player = player.0, conn, peer = %connection.remote_address(), "joined");
        let issuer = ResumeIssuer {
            keys: Arc::clone(&self.resume),
            claim: ResumeClaim {
                account: AccountId(player.0),
                session,
            },
            ttl: Duration::from_millis(self.config.resume_token_ttl_ms),
        };
        let writer = tokio::spawn(write_loop(
            send,
            Arc::clone(&peer),
            Arc::clone(&self.stats),
            Some(issuer),
        ));
        read_loop(recv, decoder, &peer, commands_tx, &self.stats).await;
        self.online.remove(player, conn);
        let _ = self.control.send(Control::Left { conn, player });
        let _ = writer.await;
        connection.closed().await;
        drop(admitted);
    }

    /// Checks version and credential and loads the saved position; an
    /// error is the code and reason of the `Reject`.
    async fn check_hello(
        &self,
        version: u16,
        credential: &Credential,
    ) -> Result<(PlayerId, String, Option<SavedPlace>, TokenHash), (ErrorCode, String)> {
        if version != PROTOCOL_VERSION {
            return Err((
                ErrorCode::UNSUPPORTED_VERSION,
                format!("this server speaks protocol version {PROTOCOL_VERSION}, not {version}"),
            ));
        }
        if self.stopping.load(Ordering::Relaxed) {
            return Err((
                ErrorCode::SERVER_UNAVAILABLE,
                "the server is shutting down".to_owned(),
            ));
        }
        let now = now_ms();
        let (hash, resumed) = match credential {
            Credential::Session(token) => (token_hash(token), None),
            Credential::Resume(token) => match self.resume.check(token, now) {
                Ok(claim) => (claim.session, Some(claim.account)),
                Err(err) => return Err((ErrorCode::INVALID_TOKEN, err.to_string())),
            },
        };
        let session = match self.tokens.check(&hash, now) {
            Lookup::Valid {
                session,
                persist_touch,
            } => {
                if let Some(at) = persist_touch {
                    let store = Arc::clone(&self.store);
                    tokio::spawn(async move {
                        if let Err(err) = store.touch_session(hash, at).await {
                            tracing::warn!(%err, "recording session use failed");
                        }
                    });
                }
                session
            }
            Lookup::Expired => {
                return Err((
                    ErrorCode::INVALID_TOKEN,
                    "the session has expired".to_owned(),
                ));
            }
            Lookup::Unknown => {
                return Err((ErrorCode::INVALID_TOKEN, "unknown session token".to_owned()));
            }
        };
        // The signature already binds the two; this only guards against a
        // session hash that was reissued to another account.
        if resumed.is_some_and(|account| account != session.account_id) {
            return Err((
                ErrorCode::INVALID_TOKEN,
                "not a valid resume token".to_owned(),
            ));
        }
        if let Some(ban) = self.bans.active(session.account_id, now_ms()) {
            return Err((ErrorCode::INVALID_TOKEN, crate::admin::bans::describe(&ban)));
        }
        let position = match self.store.load_player(session.account_id).await {
            // A record from before maps were files has no map: the tick
            // thread then starts the player on the default map.
            Ok(record) => record.and_then(|r| Some((r.map?, r.position))),
            Err(err) => {
                tracing::error!(%err, account = session.account_id.0, "loading a saved position failed");
                return Err((
                    ErrorCode::SERVER_UNAVAILABLE,
                    "saved state unavailable; try again later".to_owned(),
                ));
            }
        };
        let AccountId(id) = session.account_id;
        Ok((PlayerId(id), session.name.clone(), position, hash))
    }
}

/// What the first message presented.
enum Credential {
    /// `Hello`'s session token.
    Session(String),
    /// `Resume`'s resume token.
    Resume(String),
}

/// The control stream and the first message's version and credential, with
/// the decoder holding whatever followed it.
type Hello = (SendStream, RecvStream, FrameDecoder, u16, Credential);

/// Waits for the control stream and reads its first frame, which must be a
/// valid `Hello` or `Resume`. An over-long token is an invalid token.
async fn read_hello(connection: &Connection) -> Result<Hello, Failure> {
    let (send, mut recv) = connection.accept_bi().await.map_err(|err| {
        Failure::error(
            ErrorCode::MALFORMED_MESSAGE,
            format!("no control stream: {err}"),
            None,
        )
    })?;
    let mut decoder = FrameDecoder::new();
    let mut buf = vec![0u8; 4096];
    let payload = loop {
        match decoder.next_frame() {
            Ok(Some(payload)) => break payload,
            Ok(None) => {}
            Err(err) => {
                let (code, reason) = frame_error(&err);
                return Err(Failure::error(code, reason, Some(send)));
            }
        }
        match recv.read(&mut buf).await {
            Ok(Some(n)) => decoder.extend(&buf[..n]),
            Ok(None) | Err(_) => {
                let reason = "the control stream ended before Hello";
                return Err(Failure::error(ErrorCode::MALFORMED_MESSAGE, reason, None));
            }
        }
    };
    match decode::<ClientMessage>(&payload) {
        Ok(ClientMessage::Hello { version, token }) => check_token_len(&token, send)
            .map(|send| (send, recv, decoder, version, Credential::Session(token))),
        Ok(ClientMessage::Resume { version, token }) => check_token_len(&token, send)
            .map(|send| (send, recv, decoder, version, Credential::Resume(token))),
        Ok(_) => Err(Failure::error(
            ErrorCode::UNEXPECTED_MESSAGE,
            "the first message must be Hello or Resume",
            Some(send),
        )),
        Err(err) => Err(Failure::error(
            ErrorCode::MALFORMED_MESSAGE,
            err.to_string(),
            Some(send),
        )),
    }
}

/// The one check `ClientMessage::validate` makes on a `Hello` or `Resume`.
fn check_token_len(token: &str, send: SendStream) -> Result<SendStream, Failure> {
    if token.len() > battlegrid_protocol::messages::MAX_TOKEN_LEN {
        let reason = format!("token of {} bytes is too long", token.len());
        return Err(Failure::reject(ErrorCode::INVALID_TOKEN, reason, send));
    }
    Ok(send)
}
