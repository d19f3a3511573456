//! The admin dashboard in headless chromium, on one server: a wrong token
//! is refused; with the right one the page draws the map with a dot per
//! player (the canvas is not blank) and counts as many players as are
//! connected; a walking player's dot moves; a player picked in the list is
//! kicked from the page with the reason typed there. No
//! Content-Security-Policy violation on the way. Waits poll with a safety
//! net only; no test asserts on time.

mod game_support;

use std::time::Duration;

use battlegrid_protocol::{ErrorCode, Vec2};
use battlegrid_tests::browser::{
    DevTools, Driver, STEP_TIMEOUT, VIOLATION_RECORDER, browser, csp_violations, text_of,
};
use fantoccini::{Client, Locator};
use game_support::{closed, player, send_move, start};
use serde_json::{Value, json};

/// Runs `script` (which returns a value) until `pick` accepts its result.
async fn until_js(client: &Client, script: &str, mut pick: impl FnMut(&Value) -> bool) -> Value {
    tokio::time::timeout(STEP_TIMEOUT, async {
        loop {
            let value = client.execute(script, vec![]).await.unwrap();
            if pick(&value) {
                return value;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the page never satisfied: {script}"))
}

async fn log_in(client: &Client, token: &str) {
    let field = client.find(Locator::Id("login-token")).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(token).await.unwrap();
    client
        .find(Locator::Id("login-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Pixels of the world canvas: how many distinct colours, and how many are
/// the players' dot colour.
const CANVAS_PIXELS: &str = r#"
const c = document.getElementById("world");
const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
const colours = new Set();
let dots = 0;
for (let i = 0; i < d.length; i += 4) {
  colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
  if (d[i] === 0x18 && d[i + 1] === 0x46 && d[i + 2] === 0xc8) dots++;
}
return { colours: colours.size, dots };
"#;

#[tokio::test]
async fn the_dashboard_shows_the_world_live_and_kicks() {
    let server = start(|_| {});
    let (ann, ann_welcome) = player(&server, "ann").await;
    let (mut bob, _) = player(&server, "bob").await;
    let (_cat, _) = player(&server, "cat").await;
    let ann_id = ann_welcome.player_id.0;

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
    client
        .goto(&format!("http://{}/", server.admin))
        .await
        .unwrap();

    // A wrong token is refused and the login form says so.
    log_in(&client, "not-the-admin-token").await;
    let error = text_of(&client, "#login-error").await;
    assert!(error.contains("refused"), "{error}");

    // Logs in and draws: three players counted, dots on a map.
    log_in(&client, &server.admin_token()).await;
    until_js(
        &client,
        "return document.getElementById('player-count').textContent;",
        |v| v == "3",
    )
    .await;
    let pixels = until_js(&client, CANVAS_PIXELS, |v| v["dots"].as_u64() > Some(0)).await;
    assert!(pixels["colours"].as_u64().unwrap() > 3, "{pixels}");
    let stored = client
        .execute("return sessionStorage.getItem('battlegrid-admin-token') !== null && document.cookie === '';", vec![])
        .await
        .unwrap();
    assert_eq!(
        stored, true,
        "the token is in sessionStorage, and no cookie is set"
    );

    // Ann walks right: her dot moves on the page.
    let position =
        format!("const p = window.dashboard.positions.get({ann_id}); return p ? p.x : null;");
    let start_x = until_js(&client, &position, Value::is_number)
        .await
        .as_f64()
        .unwrap();
    send_move(&ann, 1, Vec2 { x: 1.0, y: 0.0 }, 80.0).await;
    until_js(&client, &position, |x| {
        x.as_f64().is_some_and(|x| x > start_x + 20.0)
    })
    .await;
    send_move(&ann, 2, Vec2 { x: 0.0, y: 0.0 }, 0.0).await;

    // Bob is found by the search, picked, and kicked with a typed reason.
    let search = client.find(Locator::Id("search")).await.unwrap();
    search.send_keys("bo").await.unwrap();
    until_js(
        &client,
        "return Array.from(document.querySelectorAll('#player-list li')).map(li => li.textContent);",
        |v| v.as_array().is_some_and(|rows| rows.len() == 1 && rows[0].as_str().unwrap().starts_with("bob")),
    )
    .await;
    // Clicked from a script: the list is redrawn every 2 s, so a WebDriver
    // element reference to a row can go stale between finding and clicking.
    client
        .execute("document.querySelector('#player-list li').click();", vec![])
        .await
        .unwrap();
    let name = text_of(&client, "#details-name").await;
    assert!(name.starts_with("bob"), "{name}");
    let reason = client.find(Locator::Id("kick-reason")).await.unwrap();
    reason.clear().await.unwrap();
    reason.send_keys("bye from the page").await.unwrap();
    client
        .find(Locator::Id("kick-button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let closed = closed(&mut bob).await;
    assert_eq!(closed.code, Some(ErrorCode::KICKED), "{closed:?}");
    assert_eq!(closed.reason, "bye from the page");
    until_js(
        &client,
        "return document.getElementById('kick-result').textContent;",
        |v| v.as_str().is_some_and(|t| t.starts_with("kicked")),
    )
    .await;
    until_js(
        &client,
        "return document.getElementById('player-count').textContent;",
        |v| v == "2",
    )
    .await;

    assert_eq!(csp_violations(&client).await, Vec::<String>::new());
    client.close().await.unwrap();
}
