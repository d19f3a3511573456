//! End-to-end tests of the command line: configuration precedence (flag >
//! environment > file), nested keys from the environment, and the
//! machine-readable lines on stdout.

use battlegrid_tests::api::Api;
use battlegrid_tests::server::TestServer;

/// An address no interface of this machine has (TEST-NET-1): binding it
/// fails, so a server that starts proves the value was overridden. Nothing
/// is ever sent to it.
const UNBINDABLE: &str = "192.0.2.1:0";

/// The environment overrides the file, and a flag overrides the
/// environment; a nested key set by `BATTLEGRID_SECTION__KEY` (here the
/// sign-up limit, generous in the file) takes effect.
#[tokio::test]
async fn flags_beat_environment_beat_file() {
    let server = TestServer::start_with_cli(
        |c| c.admin = UNBINDABLE.parse().unwrap(),
        &["--http", "127.0.0.1:0"],
        &[
            ("BATTLEGRID_ADMIN", "127.0.0.1:0"),
            ("BATTLEGRID_HTTP", UNBINDABLE),
            (
                "BATTLEGRID_RATE_LIMITS__SIGNUP_PER_IP",
                "{ per_minute = 1, burst = 1 }",
            ),
        ],
    );
    assert!(server.http.ip().is_loopback() && server.admin.ip().is_loopback());
    let api = Api::new(server.http);
    assert_eq!(api.get("/healthz").await.status, 200);
    assert_eq!(Api::new(server.admin).get("/healthz").await.status, 200);
    let password = "correct horse battery";
    assert_eq!(api.sign_up("first", password).await.status, 201);
    assert_eq!(api.sign_up("second", password).await.status, 429);
}

/// A nested variable naming no key stops the start with an error naming
/// the variable, like a misspelt key in the file. (A server that starts
/// anyway writes its ready file and is killed, so the test fails rather
/// than waits.)
#[test]
fn unknown_nested_variable_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = battlegrid_tests::server::test_config(dir.path());
    let ready = config
        .ready_file
        .clone()
        .expect("test config has a ready file");
    let path = dir.path().join("c.toml");
    std::fs::write(&path, toml::to_string(&config).unwrap()).unwrap();
    let mut child = std::process::Command::new(battlegrid_tests::server::battlegrid_binary())
        .arg("--config")
        .arg(&path)
        .env(
            "BATTLEGRID_RATE_LIMITS__SIGNUP_PER_IPP",
            "{ per_minute = 1, burst = 1 }",
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if ready.exists() {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server started despite an unknown variable");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(!status.success());
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(
        stderr.contains("BATTLEGRID_RATE_LIMITS__SIGNUP_PER_IPP")
            && stderr.contains("unknown field"),
        "{stderr}"
    );
}

/// Without an override the file's unbindable address stops the start with
/// an error naming the listener (so the test above is meaningful).
#[test]
fn file_address_is_used_without_override() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = battlegrid_tests::server::test_config(dir.path());
    config.admin = UNBINDABLE.parse().unwrap();
    // Off loopback the admin listener needs a token (see the next test);
    // with one, what stops the start is the address.
    config.admin_api.token = Some("a-token-for-the-address-test".into());
    let path = dir.path().join("c.toml");
    std::fs::write(&path, toml::to_string(&config).unwrap()).unwrap();
    let output = std::process::Command::new(battlegrid_tests::server::battlegrid_binary())
        .arg("--config")
        .arg(&path)
        .env_remove("BATTLEGRID_ADMIN")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("admin listener"), "{stderr}");
}

/// An admin listener off loopback with neither a configured token nor TLS
/// refuses to start, saying why and what to do, before writing any token.
#[test]
fn exposed_admin_listener_without_token_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = battlegrid_tests::server::test_config(dir.path());
    config.admin = "0.0.0.0:0".parse().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, toml::to_string(&config).unwrap()).unwrap();
    let output = std::process::Command::new(battlegrid_tests::server::battlegrid_binary())
        .arg("--config")
        .arg(&path)
        .env_remove("BATTLEGRID_ADMIN")
        .env_remove("BATTLEGRID_ADMIN_API__TOKEN")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("refusing to start") && stderr.contains("not on loopback"),
        "{stderr}"
    );
    assert!(
        !config
            .data
            .join(battlegrid_server::admin::TOKEN_FILE)
            .exists()
    );
}

/// stdout carries `listening <name> <addr>` per listener, then `ready`.
#[tokio::test]
async fn stdout_lists_bound_listeners() {
    let server = TestServer::start(|_| {});
    let log = server.log();
    assert!(
        log.contains(&format!("listening http {}\n", server.http)),
        "{log}"
    );
    assert!(
        log.contains(&format!("listening admin {}\n", server.admin)),
        "{log}"
    );
    assert!(log.contains("\nready\n"), "{log}");
}
