//! HTTPS on the public listener, end to end with the real binary and a
//! certificate signed by a test CA: the Rust SDK verifies it and logs in;
//! plain HTTP on the port is redirected or refused; HSTS is sent; a rotated
//! certificate is served without a restart; a broken one is refused while
//! the current one stays. One server, steps in order (rotation depends on
//! what is live before it).

use std::future::Future;
use std::time::{Duration, Instant};

use battlegrid_protocol::client::AuthClient;
use battlegrid_server::http::config::PublicTlsConfig;
use battlegrid_server::http::{CONTENT_SECURITY_POLICY, STRICT_TRANSPORT_SECURITY};
use battlegrid_tests::api::Api;
use battlegrid_tests::server::TestServer;
use battlegrid_tests::tls::{TestCa, replace, served_certificate};

const PASSWORD: &str = "snowy river lanterns";

/// Safety net for the server to pick up a file change; never the thing
/// asserted.
const SETTLE: Duration = Duration::from_secs(60);

/// Polls `check` until it holds; panics with `what` after [`SETTLE`].
async fn eventually<F: Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < SETTLE, "{what} never happened");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn https_end_to_end() {
    let ca = TestCa::new();
    let ca_pem = ca.cert_pem();
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = (certs.path().join("http.crt"), certs.path().join("http.key"));
    let first = ca.leaf();
    first.install(&cert, &key);
    let server = TestServer::start(|c| {
        c.public_tls = PublicTlsConfig {
            enabled: true,
            cert_pem: Some(cert.clone()),
            key_pem: Some(key.clone()),
        };
    });
    let base = format!("https://127.0.0.1:{}", server.http.port());

    // The SDK trusts the test CA and logs in; without the CA it refuses the
    // server (the certificate really is verified).
    let sdk = AuthClient::with_ca_pem(&base, ca_pem.as_bytes()).unwrap();
    sdk.sign_up("Tessa", PASSWORD).await.unwrap();
    let session = sdk.log_in("tessa", PASSWORD).await.unwrap();
    assert_eq!(session.name, "Tessa");
    assert_eq!(
        sdk.server_info().await.unwrap().protocol_version,
        battlegrid_protocol::PROTOCOL_VERSION
    );
    let untrusting = AuthClient::new(&base).unwrap();
    let err = untrusting.log_in("tessa", PASSWORD).await.unwrap_err();
    assert!(
        matches!(err, battlegrid_protocol::client::HttpError::Transport(_)),
        "{err}"
    );

    // HSTS and the other security headers over HTTPS.
    let https = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = Api::with_client(base.clone(), https.clone()).get("/").await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("strict-transport-security"),
        STRICT_TRANSPORT_SECURITY
    );
    assert_eq!(
        page.header("content-security-policy"),
        CONTENT_SECURITY_POLICY
    );

    // Plain HTTP on the TLS port: GET is redirected to the same URL over
    // HTTPS; anything else is refused with https_required.
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let plain = Api::with_client(format!("http://{}", server.http), plain);
    let redirected = plain.get("/v1/server-info?x=1").await;
    assert_eq!(redirected.status, 308, "{redirected:?}");
    assert_eq!(
        redirected.header("location"),
        format!("{base}/v1/server-info?x=1")
    );
    let refused = plain.log_in("tessa", PASSWORD).await;
    assert_eq!(
        (refused.status, refused.code()),
        (400, "https_required"),
        "{refused:?}"
    );

    // Rotation: a new certificate from the same CA is served without a
    // restart, and logins keep working.
    assert_eq!(served_certificate(server.http, &ca_pem).await, first.der);
    let second = ca.leaf();
    second.install(&cert, &key);
    eventually("serving the rotated certificate", || async {
        served_certificate(server.http, &ca_pem).await == second.der
    })
    .await;
    assert!(
        server
            .log()
            .contains("the public listener serves a new certificate"),
        "{}",
        server.log()
    );
    sdk.log_in("tessa", PASSWORD).await.unwrap();

    // A broken certificate file is refused; the second one stays.
    replace(
        &cert,
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
    );
    eventually("refusing the broken certificate", || async {
        server.log().contains("refused the changed certificate")
    })
    .await;
    assert_eq!(served_certificate(server.http, &ca_pem).await, second.der);
    // So is a key that does not match the certificate.
    let refusals = || {
        server
            .log()
            .matches("refused the changed certificate")
            .count()
    };
    let before = refusals();
    let third = ca.leaf();
    second.install(&cert, &key);
    replace(&key, &third.key_pem);
    eventually("refusing the mismatched key", || async {
        refusals() > before
    })
    .await;
    assert_eq!(served_certificate(server.http, &ca_pem).await, second.der);
    sdk.log_in("tessa", PASSWORD).await.unwrap();
    // Completing the pair puts the third certificate live.
    replace(&cert, &third.cert_pem);
    eventually("serving the repaired pair", || async {
        served_certificate(server.http, &ca_pem).await == third.der
    })
    .await;
}
