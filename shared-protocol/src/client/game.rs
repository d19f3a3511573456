//! A game connection: QUIC to the game listener, the `Hello`/`Welcome`
//! handshake on the control stream, then typed messages both ways.
//!
//! [`ClientEndpoint`] holds one UDP socket and the TLS trust; it can carry
//! many connections (the load generator shares a few endpoints among
//! thousands of bots). [`GameClient::connect`] is the one-call path for a
//! single client. [`ClientEndpoint::open`] stops before `Hello`, so tests
//! can misbehave on purpose ([`GameClient::send_raw`]).
//!
//! Everything sent through [`GameClient::send`] passes
//! [`ClientMessage::validate`] first, so the SDK never sends what the server
//! would refuse. What this module leaves out: reconnecting (see
//! [`crate::client::session`]), prediction and a model of the world (see
//! the bots for one), and the HTTP login ([`crate::client::http`]).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinHandle;

use super::events::{Closed, Event, ReaderStats, read_loop};
use super::tls::{TlsError, Trust, quic_crypto};
use crate::PROTOCOL_VERSION;
use crate::codec::{CodecError, encode};
use crate::frame::frame;
use crate::ids::{ErrorCode, PlayerId, Position, RegionId};
use crate::messages::{ClientMessage, MapInfo, ServerMessage};
use crate::validate::ValidationError;

/// Events buffered between the reader task and [`GameClient::next_event`].
const EVENT_QUEUE: usize = 1024;

/// Why a message could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The message breaks a protocol limit; nothing was sent.
    #[error("message refused before sending: {0}")]
    Invalid(#[from] ValidationError),
    /// The message could not be encoded; nothing was sent.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// The control stream is closed (the connection ended).
    #[error("control stream: {0}")]
    Write(#[from] quinn::WriteError),
}

/// Why connecting or the handshake failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The local UDP socket could not be bound.
    #[error("binding the client socket: {0}")]
    Bind(#[source] std::io::Error),
    /// The trust setting could not become a TLS configuration.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// quinn refused to start the connection (e.g. an invalid server name).
    #[error("starting the connection: {0}")]
    Start(#[from] quinn::ConnectError),
    /// The QUIC handshake failed; a certificate that does not match the
    /// trust setting ends here.
    #[error("QUIC handshake: {0}")]
    Handshake(#[from] quinn::ConnectionError),
    /// `Hello` could not be sent.
    #[error("sending Hello: {0}")]
    Send(#[from] SendError),
    /// The server answered `Reject`, or refused the handshake with a fatal
    /// `Error` (such as `HANDSHAKE_TIMEOUT`) before `Welcome`.
    #[error("rejected by the server (code {}): {reason}", code.0)]
    Rejected {
        /// Why, as a stable code.
        code: ErrorCode,
        /// Why, in words.
        reason: String,
    },
    /// The connection ended before `Welcome`.
    #[error("connection closed before Welcome: {0:?}")]
    Closed(Closed),
    /// The server's first message was neither `Welcome` nor `Reject`.
    #[error("expected Welcome, got {0:?}")]
    Unexpected(Box<ServerMessage>),
    /// No answer to `Hello` within the endpoint's welcome timeout.
    #[error("no answer to Hello within {0:?}")]
    Timeout(Duration),
}

/// What the server said in `Welcome`: who and where the player is.
#[derive(Debug, Clone, PartialEq)]
pub struct Welcome {
    /// The player's id (its account id).
    pub player_id: PlayerId,
    /// The region the player starts in.
    pub region: RegionId,
    /// The authoritative starting position.
    pub position: Position,
    /// Simulation ticks per second.
    pub tick_rate_hz: u16,
    /// The map.
    pub map: MapInfo,
}

/// A UDP socket with a client TLS configuration, able to open many game
/// connections.
#[derive(Debug, Clone)]
pub struct ClientEndpoint {
    endpoint: quinn::Endpoint,
    welcome_timeout: Duration,
}

impl ClientEndpoint {
    /// Binds a socket on `bind` (port 0 picks one; use an unspecified
    /// address of the server's family) trusting servers as `trust` says.
    pub fn new(bind: SocketAddr, trust: &Trust) -> Result<Self, ConnectError> {
        let mut endpoint = quinn::Endpoint::client(bind).map_err(ConnectError::Bind)?;
        let mut config = quinn::ClientConfig::new(quic_crypto(trust)?);
        config.transport_config(Arc::new(transport_config()));
        endpoint.set_default_client_config(config);
        Ok(Self {
            endpoint,
            welcome_timeout: Duration::from_secs(15),
        })
    }

    /// An endpoint on an ephemeral port of the same address family as `server`.
    pub fn for_server(server: SocketAddr, trust: &Trust) -> Result<Self, ConnectError> {
        let bind = match server {
            SocketAddr::V4(_) => SocketAddr::from(([0, 0, 0, 0], 0)),
            SocketAddr::V6(_) => SocketAddr::from(([0u16; 8], 0)),
        };
        Self::new(bind, trust)
    }

    /// Sets how long [`GameClient::hello`] waits for the answer (default
    /// 15 s), a safety net against a server that never answers.
    pub fn with_welcome_timeout(mut self, timeout: Duration) -> Self {
        self.welcome_timeout = timeout;
        self
    }

    /// Completes the QUIC handshake and opens the control stream, without
    /// sending anything: the server sees the stream with the first bytes
    /// sent. Call [`GameClient::hello`] next (or misbehave, in a test).
    pub async fn open(
        &self,
        server: SocketAddr,
        server_name: &str,
    ) -> Result<GameClient, ConnectError> {
        let connection = self.endpoint.connect(server, server_name)?.await?;
        let (send, recv) = connection.open_bi().await?;
        let (tx, rx) = mpsc::channel(EVENT_QUEUE);
        let stats = Arc::new(ReaderStats::default());
        let reader = tokio::spawn(read_loop(connection.clone(), recv, tx, stats.clone()));
        Ok(GameClient {
            connection,
            send: Mutex::new(send),
            events: rx,
            early: VecDeque::new(),
            closed: None,
            reader,
            stats,
            welcome_timeout: self.welcome_timeout,
            _endpoint: self.endpoint.clone(),
        })
    }

    /// Waits until every connection of this endpoint has finished closing,
    /// so that close frames are sent before a process exits.
    pub async fn wait_idle(&self) {
        self.endpoint.wait_idle().await;
    }

    /// [`ClientEndpoint::open`] then [`GameClient::hello`].
    pub async fn connect(
        &self,
        server: SocketAddr,
        server_name: &str,
        token: &str,
    ) -> Result<(GameClient, Welcome), ConnectError> {
        let mut client = self.open(server, server_name).await?;
        let welcome = client.hello(token).await?;
        Ok((client, welcome))
    }
}

/// The transport settings of a game client: the server opens no streams,
/// keep-alives hold the connection while the player idles, and the idle
/// timeout notices a vanished server. The timeout is two keep-alives long:
/// a crashed server's restart is usually noticed at once (its stateless
/// reset), but a client whose packets are held back by QUIC's loss
/// recovery (probes back off exponentially while nothing is acknowledged)
/// may send nothing for seconds, and then this bounds how late it notices.
fn transport_config() -> quinn::TransportConfig {
    let mut transport = quinn::TransportConfig::default();
    transport
        .max_concurrent_bidi_streams(0u32.into())
        .max_concurrent_uni_streams(0u32.into())
        .keep_alive_interval(Some(Duration::from_secs(4)))
        .max_idle_timeout(Some(
            quinn::IdleTimeout::try_from(Duration::from_secs(8)).expect("8 s fits a varint"),
        ))
        .datagram_receive_buffer_size(Some(1 << 20));
    transport
}

/// One player's connection to the game listener.
#[derive(Debug)]
pub struct GameClient {
    connection: quinn::Connection,
    /// Behind a lock so `send` takes `&self` and can run while another task
    /// waits in `next_event`.
    send: Mutex<quinn::SendStream>,
    events: mpsc::Receiver<Event>,
    /// Datagrams that overtook `Welcome`, delivered after it.
    early: VecDeque<Event>,
    /// Remembered so `next_event` keeps answering after the end.
    closed: Option<Closed>,
    reader: JoinHandle<()>,
    stats: Arc<ReaderStats>,
    welcome_timeout: Duration,
    /// Keeps the socket's driver alive as long as the client.
    _endpoint: quinn::Endpoint,
}

impl GameClient {
    /// Connects on a fresh endpoint and completes the handshake: the one
    /// call a simple client needs.
    pub async fn connect(
        server: SocketAddr,
        server_name: &str,
        trust: &Trust,
        token: &str,
    ) -> Result<(GameClient, Welcome), ConnectError> {
        ClientEndpoint::for_server(server, trust)?
            .connect(server, server_name, token)
            .await
    }

    /// Sends `Hello` with this crate's protocol version and waits for
    /// `Welcome`. Messages after `Welcome` stay queued for [`Self::next_event`].
    pub async fn hello(&mut self, token: &str) -> Result<Welcome, ConnectError> {
        self.hello_with_version(PROTOCOL_VERSION, token).await
    }

    /// [`Self::hello`] with an explicit protocol version (to test rejection).
    pub async fn hello_with_version(
        &mut self,
        version: u16,
        token: &str,
    ) -> Result<Welcome, ConnectError> {
        let hello = ClientMessage::Hello {
            version,
            token: token.to_owned(),
        };
        self.handshake(&hello).await
    }

    /// Sends `Resume` with a token from [`ServerMessage::ResumeToken`] and
    /// waits for `Welcome`, as [`Self::hello`] does. A `Reject` with
    /// `INVALID_TOKEN` means the token expired or its session ended: open
    /// a new connection and say `Hello` with the session token instead
    /// ([`crate::client::GameSession`] does all of this).
    pub async fn resume(&mut self, resume_token: &str) -> Result<Welcome, ConnectError> {
        let resume = ClientMessage::Resume {
            version: PROTOCOL_VERSION,
            token: resume_token.to_owned(),
        };
        self.handshake(&resume).await
    }

    /// Sends the first message and waits for its answer.
    async fn handshake(&mut self, first: &ClientMessage) -> Result<Welcome, ConnectError> {
        self.send(first).await?;
        let timeout = self.welcome_timeout;
        let answer = tokio::time::timeout(timeout, async {
            loop {
                match self.recv_event().await {
                    // A datagram can overtake Welcome on the way; keep it
                    // for the caller, in order, after Welcome.
                    datagram @ Event::Datagram(_) => self.early.push_back(datagram),
                    other => return other,
                }
            }
        })
        .await
        .map_err(|_| ConnectError::Timeout(timeout))?;
        match answer {
            Event::Message(ServerMessage::Welcome {
                player_id,
                region,
                position,
                tick_rate_hz,
                map,
            }) => Ok(Welcome {
                player_id,
                region,
                position,
                tick_rate_hz,
                map,
            }),
            Event::Message(
                ServerMessage::Reject { code, reason }
                | ServerMessage::Error {
                    code,
                    message: reason,
                },
            ) => Err(ConnectError::Rejected { code, reason }),
            Event::Message(other) | Event::Datagram(other) => {
                Err(ConnectError::Unexpected(Box::new(other)))
            }
            Event::Closed(closed) => Err(ConnectError::Closed(closed)),
        }
    }

    /// Validates, encodes and frames `message` onto the control stream.
    pub async fn send(&self, message: &ClientMessage) -> Result<(), SendError> {
        message.validate()?;
        let bytes = frame(&encode(message)?);
        self.send_raw(&bytes).await
    }

    /// Writes `bytes` unchanged onto the control stream: no framing, no
    /// checks. For tests that must send garbage; real clients use [`Self::send`].
    pub async fn send_raw(&self, bytes: &[u8]) -> Result<(), SendError> {
        self.send.lock().await.write_all(bytes).await?;
        Ok(())
    }

    /// The next event. After [`Event::Closed`] every call returns it again.
    pub async fn next_event(&mut self) -> Event {
        match self.early.pop_front() {
            Some(event) => event,
            None => self.recv_event().await,
        }
    }

    async fn recv_event(&mut self) -> Event {
        if let Some(closed) = &self.closed {
            return Event::Closed(closed.clone());
        }
        let event = match self.events.recv().await {
            Some(event) => event,
            // The reader ended without a Closed event only if it panicked.
            None => Event::Closed(
                self.connection
                    .close_reason()
                    .map(|e| Closed::from_connection_error(&e))
                    .unwrap_or_else(|| Closed {
                        by: super::events::ClosedBy::Client,
                        code: None,
                        reason: "event reader stopped".to_owned(),
                    }),
            ),
        };
        if let Event::Closed(closed) = &event {
            self.closed = Some(closed.clone());
        }
        event
    }

    /// Closes the connection with application code 0 (a player leaving).
    pub fn close(&self, reason: &str) {
        self.connection.close(0u32.into(), reason.as_bytes());
    }

    /// The QUIC connection, for statistics (RTT, datagrams) and tests.
    pub fn connection(&self) -> &quinn::Connection {
        &self.connection
    }

    /// Counters of the reader task: datagrams dropped for a full queue,
    /// unknown variants skipped, malformed datagrams.
    pub fn reader_stats(&self) -> &ReaderStats {
        &self.stats
    }
}

impl Drop for GameClient {
    fn drop(&mut self) {
        // A dropped client is a player leaving; without this the reader
        // task's clone of the connection would keep it open.
        self.connection.close(0u32.into(), b"client dropped");
        self.reader.abort();
    }
}

#[cfg(test)]
mod tests;
