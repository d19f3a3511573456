//! Test support: an in-process QUIC server on loopback with an rcgen
//! certificate, for testing the SDK's TLS and protocol handling against a
//! real quinn handshake. It speaks only what each test scripts.

use std::net::SocketAddr;
use std::sync::Arc;

use quinn::{Connection, RecvStream, SendStream};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::ResolvesServerCert;
use rustls::sign::CertifiedKey;

use super::tls::Fingerprint;
use crate::codec::{decode, encode};
use crate::frame::{FrameDecoder, frame};
use crate::messages::{ClientMessage, ServerMessage};

/// A certificate and its private key.
pub struct TestCert {
    pub der: CertificateDer<'static>,
    pub key: PrivatePkcs8KeyDer<'static>,
    pub pem: String,
}

impl TestCert {
    /// A fresh self-signed certificate for `localhost`.
    pub fn self_signed() -> Self {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        Self {
            der: made.cert.der().clone(),
            key: PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()),
            pem: made.cert.pem(),
        }
    }

    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of_der(&self.der)
    }
}

/// A CA and a `localhost` leaf certificate it issued.
pub struct TestCa {
    pub ca_pem: String,
    pub leaf: TestCert,
}

impl TestCa {
    pub fn new() -> Self {
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "battlegrid test CA");
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf_params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        let leaf = leaf_params.signed_by(&leaf_key, &ca).unwrap();
        Self {
            ca_pem: ca.pem(),
            leaf: TestCert {
                der: leaf.der().clone(),
                key: PrivatePkcs8KeyDer::from(leaf_key.serialize_der()),
                pem: leaf.pem(),
            },
        }
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn server_builder() -> rustls::ConfigBuilder<rustls::ServerConfig, rustls::WantsVerifier> {
    rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
}

/// A server presenting `cert` and signing with its key.
pub fn server_tls(cert: &TestCert) -> rustls::ServerConfig {
    server_builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der.clone()],
            PrivateKeyDer::Pkcs8(cert.key.clone_key()),
        )
        .unwrap()
}

/// Presents one certificate but signs the handshake with another key: an
/// impostor that copied a certificate without its private key.
#[derive(Debug)]
struct Impostor(Arc<CertifiedKey>);

impl ResolvesServerCert for Impostor {
    fn resolve(&self, _hello: rustls::server::ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

/// A server showing `shown`'s certificate while holding only `actual`'s key.
pub fn impostor_tls(shown: &TestCert, actual: &TestCert) -> rustls::ServerConfig {
    let key = provider()
        .key_provider
        .load_private_key(PrivateKeyDer::Pkcs8(actual.key.clone_key()))
        .unwrap();
    let certified = CertifiedKey::new(vec![shown.der.clone()], key);
    server_builder()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Impostor(Arc::new(certified))))
}

/// A QUIC server endpoint on loopback speaking ALPN `battlegrid/1`.
pub fn server_endpoint(mut tls: rustls::ServerConfig) -> (quinn::Endpoint, SocketAddr) {
    tls.alpn_protocols = vec![crate::ALPN.to_vec()];
    let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(tls).unwrap();
    let config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    let endpoint = quinn::Endpoint::server(config, SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
    let addr = endpoint.local_addr().unwrap();
    (endpoint, addr)
}

/// Accepts connections forever, holding them open, so client handshakes
/// can complete (or fail) on their own.
pub fn accept_and_hold(endpoint: quinn::Endpoint) {
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Some(incoming) = endpoint.accept().await {
            if let Ok(connection) = incoming.await {
                held.push(connection);
            }
        }
    });
}

/// The server side of one scripted game connection.
pub struct ServerSide {
    pub connection: Connection,
    pub send: SendStream,
    pub recv: RecvStream,
    decoder: FrameDecoder,
}

impl ServerSide {
    /// Accepts the next connection and its control stream.
    pub async fn accept(endpoint: &quinn::Endpoint) -> Self {
        let connection = endpoint.accept().await.unwrap().await.unwrap();
        let (send, recv) = connection.accept_bi().await.unwrap();
        Self {
            connection,
            send,
            recv,
            decoder: FrameDecoder::new(),
        }
    }

    /// The next client message from the control stream.
    pub async fn read(&mut self) -> ClientMessage {
        loop {
            if let Some(payload) = self.decoder.next_frame().unwrap() {
                return decode(&payload).unwrap();
            }
            let chunk = self.recv.read_chunk(4096, true).await.unwrap().unwrap();
            self.decoder.extend(&chunk.bytes);
        }
    }

    /// Sends one framed server message.
    pub async fn write(&mut self, message: &ServerMessage) {
        self.send
            .write_all(&frame(&encode(message).unwrap()))
            .await
            .unwrap();
    }
}
