//! Headless chromium for the page tests: chromedriver on a free port, a
//! WebDriver session with a throw-away profile, a Chrome DevTools command
//! through chromedriver, and the recorder of Content-Security-Policy
//! violations the tests install before any page script runs.
//!
//! chromium and chromium-driver must be installed (scripts/test.sh does
//! it); without them a test fails and says so rather than skipping.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// The browser.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Its WebDriver.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Safety net for browser steps; never what the test asserts.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// chromedriver on a free loopback port, killed when dropped.
pub struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    /// Starts chromedriver.
    pub fn start() -> Self {
        for path in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(path).exists(),
                "{path} is missing: run scripts/test.sh, which installs Debian's chromium and \
                 chromium-driver (apt-get install -y chromium chromium-driver)"
            );
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, port }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A new headless chromium session with its profile in `profile`.
pub async fn browser(driver: &Driver, profile: &Path) -> Client {
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        &format!("--user-data-dir={}", profile.display()),
    ];
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({ "binary": CHROMIUM, "args": args }),
    );
    // Both ring and aws-lc-rs are linked in; choose one (only loopback HTTP
    // is spoken here, but the builder sets up TLS anyway).
    let _ = rustls::crypto::ring::default_provider().install_default();
    ClientBuilder::rustls()
        .expect("TLS roots for the WebDriver client")
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("WebDriver session with headless chromium")
}

/// Fills the `<form>-name` and `<form>-password` fields and clicks
/// `<form>-submit`.
pub async fn fill_and_submit(client: &Client, form: &str, name: &str, password: &str) {
    let name_field = client
        .find(Locator::Id(&format!("{form}-name")))
        .await
        .unwrap();
    name_field.clear().await.unwrap();
    name_field.send_keys(name).await.unwrap();
    let password_field = client
        .find(Locator::Id(&format!("{form}-password")))
        .await
        .unwrap();
    password_field.clear().await.unwrap();
    password_field.send_keys(password).await.unwrap();
    client
        .find(Locator::Id(&format!("{form}-submit")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// The text of the first element matching `css`, once it appears.
pub async fn text_of(client: &Client, css: &str) -> String {
    let element = client
        .wait()
        .at_most(STEP_TIMEOUT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|err| panic!("{css} never appeared: {err}"));
    element.text().await.unwrap()
}

/// A Chrome DevTools Protocol command, sent through chromedriver's
/// `goog/cdp/execute` endpoint.
#[derive(Debug)]
pub struct DevTools {
    /// The command.
    pub method: &'static str,
    /// Its parameters.
    pub params: Value,
}

impl WebDriverCompatibleCommand for DevTools {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        let session = session_id.unwrap_or_default();
        base_url.join(&format!("session/{session}/goog/cdp/execute"))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.method, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// Runs in every new document before its own scripts: records each CSP
/// violation as `directive blocked-uri`.
pub const VIOLATION_RECORDER: &str = r#"
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"#;

/// The violations recorded so far.
pub async fn csp_violations(client: &Client) -> Vec<String> {
    let value = client
        .execute("return window.__cspViolations;", vec![])
        .await
        .unwrap();
    serde_json::from_value(value.clone())
        .unwrap_or_else(|_| panic!("the violation recorder is not installed: {value}"))
}
