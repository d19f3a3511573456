//! The Rust client SDK (feature `client`): log in over HTTP, connect to the
//! game listener over QUIC, send intents and messages, receive typed events.
//!
//! - [`http`]: [`AuthClient`] for sign-up, login and `GET /v1/server-info`.
//! - [`tls`]: how the server is trusted: a pinned certificate fingerprint
//!   or CA certificates; there is no way to skip verification.
//! - [`game`]: [`GameClient`], the `Hello`/`Welcome` handshake, sending
//!   [`ClientMessage`](crate::ClientMessage)s and receiving [`Event`]s.
//! - [`events`]: the [`Event`] type and the task that reads the connection.
//! - [`reconnect`]: [`GameSession`], a [`GameClient`] that reconnects by
//!   itself with backoff and resumes the session after a server restart.
//! - [`assets`]: the client asset updater ([`assets::update`]) and the
//!   patch manifest's types.
//!
//! The SDK is what the end-to-end tests and `battlegrid bots` use. It does
//! not predict movement or keep a model of the world: those are game
//! decisions left to the caller.
//!
//! ```no_run
//! use battlegrid_protocol::client::{AuthClient, Event, GameClient};
//! use battlegrid_protocol::{ClientMessage, ServerMessage};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let auth = AuthClient::new("http://127.0.0.1:8080")?;
//! auth.sign_up("ada", "correct horse battery").await?;
//! let session = auth.log_in("ada", "correct horse battery").await?;
//! let target = auth.game_target().await?;
//! let (mut game, welcome) =
//!     GameClient::connect(target.addr, &target.server_name, &target.trust, &session.token)
//!         .await?;
//! println!("I am {:?} at {:?}", welcome.player_id, welcome.position);
//! game.send(&ClientMessage::Shout { text: "hello".into() }).await?;
//! loop {
//!     match game.next_event().await {
//!         Event::Message(ServerMessage::ShoutHeard { name, text, .. }) => {
//!             println!("{name}: {text}");
//!         }
//!         Event::Closed(closed) => break println!("closed: {closed:?}"),
//!         _ => {}
//!     }
//! }
//! # Ok(())
//! # }
//! ```

pub mod admin;
pub mod assets;
pub mod events;
pub mod game;
pub mod http;
pub mod reconnect;
pub mod tls;

#[cfg(test)]
mod test_server;

pub use admin::{AdminClient, AdminSession};
pub use events::{Closed, ClosedBy, Event, ReaderStats};
pub use game::{ClientEndpoint, ConnectError, GameClient, SendError, Welcome};
pub use http::{Account, AuthClient, GameInfo, GameTarget, HttpError, ServerInfo, Session};
pub use reconnect::{Backoff, GameSession, SessionEvent};
pub use tls::{Fingerprint, TlsError, Trust};
