//! A game session that outlives its connections: [`GameSession`] wraps a
//! [`GameClient`] and, when the connection drops (a server restart or
//! crash, a network change), reconnects by itself with backoff and resumes
//! the session without logging in again.
//!
//! How it resumes (docs/PROTOCOL.md, "Reconnecting"):
//! - it keeps the newest [`ServerMessage::ResumeToken`] and comes back with
//!   [`ClientMessage::Resume`](crate::ClientMessage::Resume);
//! - when that token is refused (expired, or the server never sent one) it
//!   says `Hello` with the session token it was started with;
//! - when that is refused too, the session is over ([`SessionEvent::Ended`]):
//!   the player must log in again.
//!
//! What counts as a drop: the transport failing (idle timeout, stateless
//! reset from a restarted server, unreachable network) and the server
//! closing with `SHUTTING_DOWN` or `SERVER_UNAVAILABLE`. Every other close
//! (kicked, replaced by another connection, rate limited, too slow, a
//! protocol error) is a decision of the server and ends the session.
//!
//! The server puts a resumed player back where it was last saved (at most
//! one save interval behind, after a crash) with no movement intent: the
//! caller re-sends its intent after [`SessionEvent::Resumed`].

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::events::{Closed, ClosedBy, Event};
use super::game::{ClientEndpoint, ConnectError, GameClient, SendError, Welcome};
use crate::ids::ErrorCode;
use crate::messages::{ClientMessage, ServerMessage};

/// How [`GameSession`] paces its attempts to come back.
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    /// Wait before the second attempt (the first is immediate).
    pub initial: Duration,
    /// Longest wait between attempts; waits double up to it.
    pub max: Duration,
    /// An attempt that has not reached `Welcome` by then is abandoned (a
    /// server that is down does not answer at all).
    pub attempt_timeout: Duration,
    /// After this long without success the session ends.
    pub give_up_after: Duration,
}

impl Default for Backoff {
    /// 100 ms doubling to 2 s, 3 s per attempt, giving up after 2 minutes.
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(2),
            attempt_timeout: Duration::from_secs(3),
            give_up_after: Duration::from_secs(120),
        }
    }
}

impl Backoff {
    /// The wait after failed attempt `n` (0-based): doubling from
    /// `initial`, capped at `max`, then scaled by `jitter` in [0.5, 1] so
    /// that thousands of clients dropped at once do not come back in step.
    pub fn delay(&self, n: u32, jitter: f64) -> Duration {
        let doubled = self.initial.saturating_mul(1u32 << n.min(16));
        doubled.min(self.max).mul_f64(jitter.clamp(0.5, 1.0))
    }
}

/// What [`GameSession::next_event`] returns.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionEvent {
    /// Something the server sent. Never [`Event::Closed`]: a drop is
    /// [`SessionEvent::Reconnecting`], the end [`SessionEvent::Ended`].
    Event(Event),
    /// The connection dropped; the next call reconnects.
    Reconnecting {
        /// How it dropped.
        closed: Closed,
    },
    /// Back in the world on a new connection.
    Resumed {
        /// The new `Welcome`: the authoritative place. Clear the view; the
        /// server re-sends who is around.
        welcome: Welcome,
        /// Whether a resume token did it (else the session token).
        with_resume_token: bool,
        /// Attempts it took.
        attempts: u32,
        /// Time from the drop to the new `Welcome`.
        gap: Duration,
    },
    /// The session is over: the server ended it, the session token is no
    /// longer valid, or reconnecting did not succeed in time.
    Ended(Closed),
}

/// A game session that reconnects by itself.
#[derive(Debug)]
pub struct GameSession {
    endpoint: ClientEndpoint,
    server: SocketAddr,
    server_name: String,
    session_token: String,
    /// The newest resume token and when it stops being worth trying.
    resume: Option<(String, Instant)>,
    client: GameClient,
    backoff: Backoff,
    /// Set between a drop and the next reconnection.
    dropped: Option<(Instant, Closed)>,
    jitter: u64,
}

impl GameSession {
    /// Connects with `session_token` (from `POST /v1/sessions`).
    pub async fn connect(
        endpoint: ClientEndpoint,
        server: SocketAddr,
        server_name: &str,
        session_token: &str,
        backoff: Backoff,
    ) -> Result<(Self, Welcome), ConnectError> {
        let (client, welcome) = endpoint.connect(server, server_name, session_token).await?;
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
            ^ u64::from(server.port()).rotate_left(32);
        Ok((
            Self {
                endpoint,
                server,
                server_name: server_name.to_owned(),
                session_token: session_token.to_owned(),
                resume: None,
                client,
                backoff,
                dropped: None,
                jitter: seed | 1,
            },
            welcome,
        ))
    }

    /// The next event; reconnects first when the last one was
    /// [`SessionEvent::Reconnecting`]. After [`SessionEvent::Ended`] it
    /// keeps returning `Ended`.
    pub async fn next_event(&mut self) -> SessionEvent {
        if let Some((since, closed)) = self.dropped.take() {
            return self.reconnect(since, closed).await;
        }
        match self.client.next_event().await {
            Event::Message(ServerMessage::ResumeToken {
                token,
                valid_for_ms,
            }) => {
                let until = Instant::now() + Duration::from_millis(u64::from(valid_for_ms));
                self.resume = Some((token.clone(), until));
                SessionEvent::Event(Event::Message(ServerMessage::ResumeToken {
                    token,
                    valid_for_ms,
                }))
            }
            Event::Closed(closed) if is_drop(&closed) => {
                self.dropped = Some((Instant::now(), closed.clone()));
                SessionEvent::Reconnecting { closed }
            }
            Event::Closed(closed) => SessionEvent::Ended(closed),
            other => SessionEvent::Event(other),
        }
    }

    /// Sends on the current connection. While the session is reconnecting
    /// this fails with [`SendError::Write`]; nothing is queued for later.
    pub async fn send(&self, message: &ClientMessage) -> Result<(), SendError> {
        self.client.send(message).await
    }

    /// The current connection (for statistics; it changes on reconnection).
    pub fn client(&self) -> &GameClient {
        &self.client
    }

    /// Whether a resume token is held that has not expired yet.
    pub fn can_resume(&self) -> bool {
        self.resume
            .as_ref()
            .is_some_and(|(_, until)| *until > Instant::now())
    }

    /// Closes the connection; the session ends with it.
    pub fn close(&self, reason: &str) {
        self.client.close(reason);
    }

    async fn reconnect(&mut self, since: Instant, closed: Closed) -> SessionEvent {
        let mut attempts = 0u32;
        loop {
            if since.elapsed() >= self.backoff.give_up_after {
                let reason = format!(
                    "no way back after {attempts} attempts in {:?} (dropped: {})",
                    self.backoff.give_up_after, closed.reason
                );
                let end = Closed {
                    by: ClosedBy::Client,
                    code: closed.code,
                    reason,
                };
                return self.ended(end);
            }
            if attempts > 0 {
                let jitter = self.next_jitter();
                let delay = self.backoff.delay(attempts - 1, jitter);
                tokio::time::sleep(delay).await;
            }
            attempts += 1;
            match self.attempt().await {
                Ok((client, welcome, with_resume_token)) => {
                    self.client = client;
                    return SessionEvent::Resumed {
                        welcome,
                        with_resume_token,
                        attempts,
                        gap: since.elapsed(),
                    };
                }
                Err(Attempt::Retry) => {}
                Err(Attempt::Fatal(end)) => return self.ended(end),
            }
        }
    }

    /// One connection, with the resume token if one is held, falling back
    /// to the session token on a second connection.
    async fn attempt(&mut self) -> Result<(GameClient, Welcome, bool), Attempt> {
        if let Some(token) = self.usable_resume_token() {
            match self.handshake(Some(&token)).await {
                Ok((client, welcome)) => return Ok((client, welcome, true)),
                Err(ConnectError::Rejected { code, .. }) if code == ErrorCode::INVALID_TOKEN => {
                    self.resume = None;
                }
                Err(err) => return Err(classify(err)),
            }
        }
        match self.handshake(None).await {
            Ok((client, welcome)) => Ok((client, welcome, false)),
            Err(err) => Err(classify(err)),
        }
    }

    fn usable_resume_token(&self) -> Option<String> {
        let (token, until) = self.resume.as_ref()?;
        (*until > Instant::now()).then(|| token.clone())
    }

    async fn handshake(
        &self,
        resume_token: Option<&str>,
    ) -> Result<(GameClient, Welcome), ConnectError> {
        let timeout = self.backoff.attempt_timeout;
        tokio::time::timeout(timeout, async {
            let mut client = self.endpoint.open(self.server, &self.server_name).await?;
            let welcome = match resume_token {
                Some(token) => client.resume(token).await?,
                None => client.hello(&self.session_token).await?,
            };
            Ok((client, welcome))
        })
        .await
        .map_err(|_| ConnectError::Timeout(timeout))?
    }

    fn ended(&mut self, end: Closed) -> SessionEvent {
        // Later calls see the closed connection's event again; make it
        // this end instead by closing the current client with it.
        self.client.close(&end.reason);
        SessionEvent::Ended(end)
    }

    /// A number in [0.5, 1] from a xorshift generator: enough to spread
    /// retries, no need for a random-number crate.
    fn next_jitter(&mut self) -> f64 {
        self.jitter ^= self.jitter << 13;
        self.jitter ^= self.jitter >> 7;
        self.jitter ^= self.jitter << 17;
        0.5 + (self.jitter >> 11) as f64 / (1u64 << 53) as f64 * 0.5
    }
}

/// How a failed attempt goes on.
enum Attempt {
    /// Try again after the backoff.
    Retry,
    /// The session is over.
    Fatal(Closed),
}

/// A drop worth reconnecting after, rather than the server's decision.
pub fn is_drop(closed: &Closed) -> bool {
    match closed.by {
        ClosedBy::Transport => true,
        ClosedBy::Server => matches!(
            closed.code,
            Some(ErrorCode::SHUTTING_DOWN | ErrorCode::SERVER_UNAVAILABLE)
        ),
        ClosedBy::Client => false,
    }
}

fn classify(err: ConnectError) -> Attempt {
    match err {
        // The server is up and says no for good: a bad session token or a
        // protocol it does not speak.
        ConnectError::Rejected { code, reason }
            if code == ErrorCode::INVALID_TOKEN || code == ErrorCode::UNSUPPORTED_VERSION =>
        {
            Attempt::Fatal(Closed {
                by: ClosedBy::Server,
                code: Some(code),
                reason,
            })
        }
        ConnectError::Tls(err) => Attempt::Fatal(Closed {
            by: ClosedBy::Client,
            code: None,
            reason: err.to_string(),
        }),
        // Down, starting, full, shutting down, or the network: try again.
        _ => Attempt::Retry,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Waits double from `initial` up to `max`, and jitter only shortens
    /// them, never below half.
    #[test]
    fn backoff_doubles_to_its_cap() {
        let backoff = Backoff::default();
        let ms = |n, j| backoff.delay(n, j).as_millis();
        assert_eq!(
            [ms(0, 1.0), ms(1, 1.0), ms(2, 1.0), ms(4, 1.0)],
            [100, 200, 400, 1600]
        );
        assert_eq!(ms(5, 1.0), 2000);
        assert_eq!(ms(40, 1.0), 2000);
        assert_eq!(ms(3, 0.5), 400);
        assert_eq!(ms(3, 0.0), 400, "jitter is clamped to [0.5, 1]");
    }

    /// Transport failures and the server going away are drops; the
    /// server's decisions about this client are not.
    #[test]
    fn which_closes_are_drops() {
        let closed = |by, code: Option<ErrorCode>| Closed {
            by,
            code,
            reason: String::new(),
        };
        assert!(is_drop(&closed(ClosedBy::Transport, None)));
        assert!(is_drop(&closed(
            ClosedBy::Server,
            Some(ErrorCode::SHUTTING_DOWN)
        )));
        assert!(is_drop(&closed(
            ClosedBy::Server,
            Some(ErrorCode::SERVER_UNAVAILABLE)
        )));
        for code in [
            ErrorCode::MALFORMED_MESSAGE,
            ErrorCode::SESSION_REPLACED,
            ErrorCode::RATE_LIMITED,
            ErrorCode::TOO_SLOW,
            ErrorCode(0),
        ] {
            assert!(!is_drop(&closed(ClosedBy::Server, Some(code))), "{code:?}");
        }
        assert!(!is_drop(&closed(ClosedBy::Client, None)));
    }
}
