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

use std::time::{Duration, Instant};

use battlegrid_tests::api::Api;
use battlegrid_tests::browser::{
    DevTools, Driver, STEP_TIMEOUT, VIOLATION_RECORDER, browser, csp_violations, fill_and_submit,
    text_of,
};
use battlegrid_tests::server::TestServer;
use serde_json::json;

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
