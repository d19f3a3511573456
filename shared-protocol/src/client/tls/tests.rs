//! Trust settings against real quinn handshakes on loopback.

use std::net::SocketAddr;

use super::*;
use crate::client::test_server::{
    TestCa, TestCert, accept_and_hold, impostor_tls, server_endpoint, server_tls,
};

/// Runs a client handshake with `trust` against a server configured with `tls`.
async fn handshake(
    trust: &Trust,
    tls: rustls::ServerConfig,
    server_name: &str,
) -> Result<quinn::Connection, quinn::ConnectionError> {
    let (server, addr) = server_endpoint(tls);
    accept_and_hold(server);
    let mut client = quinn::Endpoint::client(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
    client.set_default_client_config(quinn::ClientConfig::new(quic_crypto(trust).unwrap()));
    client.connect(addr, server_name).unwrap().await
}

/// Fingerprints parse from 64 hex digits of either case and print lowercase.
#[test]
fn fingerprint_hex_round_trip() {
    let hex = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08";
    let parsed: Fingerprint = hex.parse().unwrap();
    assert_eq!(parsed, Fingerprint::of_der(b"test"));
    assert_eq!(parsed.to_string(), hex.to_lowercase());
}

/// Wrong lengths and non-hex characters are refused.
#[test]
fn bad_fingerprints_are_refused() {
    let good = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    for bad in [
        "",
        &good[..62],
        &format!("{good}00"),
        &format!("{}zz", &good[..62]),
        &format!("{}é", &good[..62]),
        &format!("+{}", &good[..63]),
    ] {
        assert!(
            matches!(bad.parse::<Fingerprint>(), Err(TlsError::BadFingerprint(_))),
            "{bad:?}"
        );
    }
}

/// A client pinning the server's certificate completes the handshake and
/// negotiates the game ALPN.
#[tokio::test]
async fn matching_pin_connects() {
    let cert = TestCert::self_signed();
    let connection = handshake(
        &Trust::Pinned(cert.fingerprint()),
        server_tls(&cert),
        "localhost",
    )
    .await
    .expect("handshake with the pinned certificate");
    let data = connection.handshake_data().unwrap();
    let data = data
        .downcast::<quinn::crypto::rustls::HandshakeData>()
        .unwrap();
    assert_eq!(data.protocol.as_deref(), Some(crate::ALPN));
}

/// Under a pin the server name is irrelevant: the pin is the trust decision.
#[tokio::test]
async fn pin_ignores_the_server_name() {
    let cert = TestCert::self_signed();
    handshake(
        &Trust::Pinned(cert.fingerprint()),
        server_tls(&cert),
        "elsewhere.invalid",
    )
    .await
    .expect("pinned handshake with another SNI");
}

/// A client pinning another certificate refuses the server.
#[tokio::test]
async fn wrong_pin_fails() {
    let cert = TestCert::self_signed();
    let other = TestCert::self_signed();
    let result = handshake(
        &Trust::Pinned(other.fingerprint()),
        server_tls(&cert),
        "localhost",
    )
    .await;
    assert!(
        matches!(result, Err(quinn::ConnectionError::TransportError(_))),
        "{result:?}"
    );
}

/// A server that shows the pinned certificate but cannot sign with its key
/// is refused: the pin alone is not enough, the handshake signature counts.
#[tokio::test]
async fn pinned_certificate_without_its_key_fails() {
    let pinned = TestCert::self_signed();
    let thief = TestCert::self_signed();
    let result = handshake(
        &Trust::Pinned(pinned.fingerprint()),
        impostor_tls(&pinned, &thief),
        "localhost",
    )
    .await;
    assert!(result.is_err(), "an impostor was accepted");
}

/// A CA file trusts certificates it issued for the requested name.
#[tokio::test]
async fn ca_trust_connects_to_an_issued_certificate() {
    let ca = TestCa::new();
    let dir = std::env::temp_dir().join(format!("battlegrid-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ca.pem");
    std::fs::write(&path, &ca.ca_pem).unwrap();
    let trust = Trust::ca_file(&path).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    handshake(&trust, server_tls(&ca.leaf), "localhost")
        .await
        .expect("handshake with a CA-issued certificate");
}

/// CA trust still checks the name, and refuses other issuers and
/// self-signed certificates.
#[tokio::test]
async fn ca_trust_refuses_wrong_name_and_other_issuers() {
    let ca = TestCa::new();
    let trust = Trust::ca_pem(ca.ca_pem.as_bytes()).unwrap();
    let wrong_name = handshake(&trust, server_tls(&ca.leaf), "example.com").await;
    assert!(wrong_name.is_err(), "name mismatch accepted");
    let other = TestCa::new();
    assert!(
        handshake(&trust, server_tls(&other.leaf), "localhost")
            .await
            .is_err()
    );
    let self_signed = TestCert::self_signed();
    assert!(
        handshake(&trust, server_tls(&self_signed), "localhost")
            .await
            .is_err()
    );
}

/// PEM input without a certificate is an error, not an empty trust store.
#[test]
fn pem_without_certificates_is_refused() {
    assert!(matches!(
        Trust::ca_pem(b"not pem at all"),
        Err(TlsError::NoCertificates)
    ));
    let cert = TestCert::self_signed();
    assert!(
        matches!(Trust::ca_pem(cert.pem.as_bytes()), Ok(Trust::CaCertificates(c)) if c.len() == 1)
    );
}
