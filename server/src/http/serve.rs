//! The accept loop shared by the public and admin listeners.
//!
//! Per connection: HTTP/1.1 with a header read timeout (hyper closes a
//! connection whose request head is not complete in time); each request
//! carries the peer address as `ConnectInfo` and the client's address
//! ([`ClientAddr`], the peer unless it is a trusted proxy). With TLS, the
//! first byte tells a TLS handshake from plain HTTP: the handshake must
//! complete within the header read timeout, and plain HTTP gets
//! [`https_required`] (a redirect for `GET`/`HEAD`, a refusal otherwise).
//! Per listener: at most `max_connections` open connections. On shutdown the
//! listener stops accepting, in-flight requests finish (bounded by a grace
//! period) and idle keep-alive connections are closed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use super::client_addr::{ClientAddr, TrustedProxies};
use crate::auth::ApiError;
use crate::config::HttpLimits;

/// How long in-flight requests may run after shutdown starts.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// First byte of a TLS record carrying a handshake (a ClientHello).
const TLS_HANDSHAKE: u8 = 0x16;

/// What a listener does besides routing.
#[derive(Clone, Default)]
pub struct ListenerOptions {
    /// Speak HTTPS only, with this acceptor.
    pub tls: Option<TlsAcceptor>,
    /// Proxies whose forwarding headers name the client.
    pub proxies: Arc<TrustedProxies>,
}

/// Completes once shutdown is requested (or its sender is gone).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not Send; drop it here.
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// Serves `router` on `listener` until `shutdown` turns true.
pub async fn serve(
    name: &'static str,
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    options: ListenerOptions,
    mut shutdown: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let header_timeout = Duration::from_millis(limits.header_read_timeout_ms);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(64 * 1024);
    let plain_refusal = super::headers::with_security_headers(
        Router::new().fallback(https_required),
        options.tls.is_some(),
    );
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot.expect("never closed"),
            () = stopped(&mut shutdown) => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Usually out of file descriptors: back off instead of spinning.
                    tracing::warn!(listener = name, %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = stopped(&mut shutdown) => break,
        };
        let _ = stream.set_nodelay(true);
        let connection = Connection {
            name,
            peer,
            builder: builder.clone(),
            graceful: graceful.watcher(),
            proxies: Arc::clone(&options.proxies),
        };
        let (router, tls, plain_refusal) =
            (router.clone(), options.tls.clone(), plain_refusal.clone());
        tokio::spawn(async move {
            match tls {
                None => connection.http(stream, router).await,
                Some(acceptor) => {
                    connection
                        .https(stream, acceptor, header_timeout, router, plain_refusal)
                        .await
                }
            }
            drop(slot);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!(listener = name, "connections still open after the grace period");
        }
    }
}

/// One accepted connection.
struct Connection {
    name: &'static str,
    peer: SocketAddr,
    builder: hyper::server::conn::http1::Builder,
    graceful: Watcher,
    proxies: Arc<TrustedProxies>,
}

impl Connection {
    /// Serves HTTP/1.1 on `io` until the connection ends.
    async fn http<I>(self, io: I, router: Router)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (peer, proxies) = (self.peer, self.proxies);
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            let client = proxies.client_addr(peer.ip(), request.headers());
            let extensions = request.extensions_mut();
            extensions.insert(ConnectInfo::<SocketAddr>(peer));
            extensions.insert(ClientAddr(client));
            router.clone().oneshot(request)
        });
        let connection = self
            .graceful
            .watch(self.builder.serve_connection(TokioIo::new(io), service));
        if let Err(err) = connection.await {
            tracing::debug!(listener = self.name, %peer, %err, "connection ended with an error");
        }
    }

    /// Serves HTTPS, or answers plain HTTP with `plain_refusal`.
    async fn https(
        self,
        stream: TcpStream,
        acceptor: TlsAcceptor,
        handshake_timeout: Duration,
        router: Router,
        plain_refusal: Router,
    ) {
        let (name, peer) = (self.name, self.peer);
        let mut first = [0u8; 1];
        match tokio::time::timeout(handshake_timeout, stream.peek(&mut first)).await {
            Ok(Ok(1)) if first[0] == TLS_HANDSHAKE => {}
            Ok(Ok(1)) => return self.http(stream, plain_refusal).await,
            _ => return,
        }
        match tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await {
            Ok(Ok(tls)) => self.http(tls, router).await,
            Ok(Err(err)) => tracing::debug!(listener = name, %peer, %err, "TLS handshake failed"),
            Err(_) => tracing::debug!(listener = name, %peer, "TLS handshake timed out"),
        }
    }
}

/// The answer to plain HTTP on a TLS listener: `GET` and `HEAD` (a browser
/// following an `http://` link) are redirected to the same URL over HTTPS
/// with 308; anything else is refused with 400 `https_required`, since its
/// body (a password, a token) has already crossed the network in clear and
/// should not be sent again without the client noticing.
async fn https_required(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.parse::<axum::http::uri::Authority>().is_ok());
    let mut response = match host {
        Some(host) if method == Method::GET || method == Method::HEAD => {
            let path = uri.path_and_query().map_or("/", |p| p.as_str());
            match HeaderValue::from_str(&format!("https://{host}{path}")) {
                Ok(location) => (
                    StatusCode::PERMANENT_REDIRECT,
                    [(header::LOCATION, location)],
                )
                    .into_response(),
                Err(_) => refusal(),
            }
        }
        _ => refusal(),
    };
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

fn refusal() -> Response {
    ApiError::bad_request(
        "https_required",
        "this port speaks HTTPS only: send the request to the same address with https://",
    )
    .into_response()
}
