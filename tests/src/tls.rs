//! A test certificate authority and a TLS probe, for the HTTPS tests.
//!
//! [`TestCa`] is a real CA (rcgen): its certificate is what clients trust,
//! and [`TestCa::leaf`] signs server certificates for `localhost` and
//! `127.0.0.1`, each with a new key. [`served_certificate`] completes a TLS
//! handshake that verifies the server against the CA and returns the leaf
//! the server presented, so a test can tell which certificate is live.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, ServerName};

/// A certificate authority for one test.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A server certificate signed by a [`TestCa`], with its key.
pub struct Leaf {
    /// PEM of the certificate.
    pub cert_pem: String,
    /// PEM of the private key.
    pub key_pem: String,
    /// DER of the certificate, to compare with what a server presents.
    pub der: Vec<u8>,
}

impl Default for TestCa {
    fn default() -> Self {
        Self::new()
    }
}

impl TestCa {
    /// A new CA with a new key.
    pub fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "battlegrid test CA");
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("CA key");
        Self {
            issuer: CertifiedIssuer::self_signed(params, key).expect("CA certificate"),
        }
    }

    /// The CA certificate, PEM: what clients are told to trust.
    pub fn cert_pem(&self) -> String {
        self.issuer.pem()
    }

    /// A new server certificate for `localhost` and `127.0.0.1`.
    pub fn leaf(&self) -> Leaf {
        let params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("leaf params");
        let key = KeyPair::generate().expect("leaf key");
        let cert = params.signed_by(&key, &self.issuer).expect("leaf signed");
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().to_vec(),
        }
    }
}

impl Leaf {
    /// Writes the key, then the certificate, each by rename, the way an
    /// operator's tooling rotates them.
    pub fn install(&self, cert: &Path, key: &Path) {
        replace(key, &self.key_pem);
        replace(cert, &self.cert_pem);
    }
}

/// Replaces `path` with `text` at once (write a temporary file, rename).
pub fn replace(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).expect("write temporary file");
    std::fs::rename(&tmp, path).expect("rename into place");
}

/// Connects to `addr`, verifies it as `127.0.0.1` against `ca_pem`, and
/// returns the DER of the leaf certificate it presented.
pub async fn served_certificate(addr: SocketAddr, ca_pem: &str) -> Vec<u8> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(ca_pem.as_bytes()) {
        let cert: CertificateDer<'static> = cert.expect("CA PEM");
        roots.add(cert).expect("CA certificate");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let name = ServerName::try_from("127.0.0.1").expect("server name");
    let tls = connector
        .connect(name, tcp)
        .await
        .expect("TLS handshake verified by the test CA");
    let (_, connection) = tls.get_ref();
    connection
        .peer_certificates()
        .and_then(|chain| chain.first())
        .expect("the server presented a certificate")
        .to_vec()
}
