//! The sign-up page in a real headless browser (Debian's chromium driven
//! through chromedriver): sign up and see success, sign up again with the
//! same name and see the error in words, try a weak password and see why it
//! is refused, log in and see a working token; all of it under the server's
//! Content-Security-Policy, with no violation reported. Violations are
//! collected by a `securitypolicyviolation` listener that chromium installs
//! before any of the page's own code runs (a DevTools command sent through
//! chromedriver), and a deliberate violation at the end shows that the
//! listener and the policy are both live.
//!
//! chromium and chromium-driver must be installed (scripts/test.sh does it);
//! without them this test fails and says so rather than skipping.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use battlegrid_tests::api::Api;
use battlegrid_tests::server::TestServer;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Safety net for browser steps; never what the test asserts.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// chromedriver on a free loopback port, killed when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start() -> Self {
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

async fn browser(driver: &Driver, profile: &Path) -> Client {
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

async fn fill_and_submit(client: &Client, form: &str, name: &str, password: &str) {
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
async fn text_of(client: &Client, css: &str) -> String {
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
struct DevTools {
    method: &'static str,
    params: Value,
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
const VIOLATION_RECORDER: &str = r#"
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"#;

async fn csp_violations(client: &Client) -> Vec<String> {
    let value = client
        .execute("return window.__cspViolations;", vec![])
        .await
        .unwrap();
    serde_json::from_value(value.clone())
        .unwrap_or_else(|_| panic!("the violation recorder is not installed: {value}"))
}

/// Sign up, duplicate sign-up, a weak password, and login through the
/// page's forms, with no CSP violation.
#[tokio::test]
async fn sign_up_and_log_in_in_a_browser() {
    let server = TestServer::start(|_| {});
    let driver = Driver::start();
    let profile = tempfile::tempdir().unwrap();
    let client = browser(&driver, profile.path()).await;
    client
        .issue_cmd(DevTools {
            method: "Page.addScriptToEvaluateOnNewDocument",
            params: json!({ "source": VIOLATION_RECORDER }),
        })
        .await
        .expect("install the CSP violation recorder");

    client.goto(&server.url("/")).await.unwrap();
    fill_and_submit(&client, "signup", "Browser_1", "a good password").await;
    let success = text_of(&client, "#signup-result.ok").await;
    assert!(
        success.contains("Account created for Browser_1"),
        "{success}"
    );

    fill_and_submit(&client, "signup", "browser_1", "another password").await;
    let error = text_of(&client, "#signup-result.error").await;
    assert!(error.contains("already taken"), "{error}");

    fill_and_submit(&client, "signup", "Browser_2", "password1").await;
    let weak = text_of(&client, "#signup-result.error").await;
    assert!(
        weak.contains("too easy to guess") && weak.contains("uncommon words"),
        "{weak}"
    );

    fill_and_submit(&client, "login", "BROWSER_1", "a good password").await;
    let token = text_of(&client, "#login-result.ok #token").await;
    assert_eq!(token.len(), 43, "{token:?}");
    let me = Api::new(server.http).me(&token).await;
    assert_eq!(
        (me.status, me.body["name"].as_str()),
        (200, Some("Browser_1"))
    );

    // The stylesheet applied (the CSP let it load): the page's width rule.
    let width = client
        .execute("return getComputedStyle(document.body).maxWidth;", vec![])
        .await
        .unwrap();
    assert_ne!(width, json!("none"), "signup.css did not apply");
    assert_eq!(csp_violations(&client).await, Vec::<String>::new());

    // A deliberate violation (an inline script) is blocked and recorded:
    // the policy and the recorder are live, so the empty list above means
    // something.
    client
        .execute(
            "const s = document.createElement('script'); s.textContent = 'window.ran = 1'; \
             document.body.append(s); return window.ran === undefined;",
            vec![],
        )
        .await
        .map(|blocked| assert_eq!(blocked, json!(true), "the inline script ran"))
        .unwrap();
    let started = Instant::now();
    let violations = loop {
        let violations = csp_violations(&client).await;
        if !violations.is_empty() {
            break violations;
        }
        assert!(started.elapsed() < STEP_TIMEOUT, "no violation recorded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(violations[0].starts_with("script-src"), "{violations:?}");

    // Keep a screenshot for people to look at when the test runs locally.
    if let Ok(png) = client.screenshot().await {
        let _ = std::fs::write(std::env::temp_dir().join("battlegrid-signup-page.png"), png);
    }
    client.close().await.unwrap();
}
