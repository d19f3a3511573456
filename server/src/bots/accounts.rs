//! Account setup: every bot signs up (a taken name is fine: the account
//! exists from an earlier run) and logs in, with a bounded number of
//! requests in flight because each one costs the server an Argon2 hash.
//!
//! When the server's rate limits answer 429, the request waits the
//! `Retry-After` it was given and tries again, a bounded number of times.
//! The server's default limits are meant for people, not for hundreds of
//! bots from one address: load tests raise `[rate_limits]` in the server's
//! configuration (see the `bots` module docs).

use std::sync::Arc;
use std::time::Duration;

use battlegrid_protocol::client::{AuthClient, HttpError, Session};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use super::args::bot_name;
use super::metrics::Metrics;

/// Tries per request before a rate-limited request is given up.
const MAX_TRIES: u32 = 20;
/// Longest wait honoured from a `Retry-After`.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// A bot that may play: its number and session.
#[derive(Debug, Clone)]
pub struct BotAccount {
    /// Bot number, from 1.
    pub index: u32,
    /// The session from login.
    pub session: Session,
}

/// Signs up and logs in bots `1..=count`; returns those that succeeded,
/// ordered by index. Stops starting new requests once `stop` turns true.
pub async fn prepare(
    auth: &AuthClient,
    prefix: &str,
    password: &str,
    count: u32,
    concurrency: u32,
    metrics: &Arc<Metrics>,
    stop: &watch::Receiver<bool>,
) -> Vec<BotAccount> {
    let permits = Arc::new(Semaphore::new(concurrency as usize));
    let mut tasks = JoinSet::new();
    for index in 1..=count {
        let permit = permits.clone().acquire_owned().await.expect("never closed");
        if *stop.borrow() {
            break;
        }
        let auth = auth.clone();
        let name = bot_name(prefix, index);
        let password = password.to_owned();
        let metrics = metrics.clone();
        tasks.spawn(async move {
            let _permit = permit;
            match account(&auth, &name, &password, &metrics).await {
                Ok(session) => {
                    Metrics::bump(&metrics.tallies.logged_in);
                    Some(BotAccount { index, session })
                }
                Err(err) => {
                    Metrics::bump(&metrics.tallies.account_failures);
                    metrics.sample_error(format!("account {name}: {err}"));
                    None
                }
            }
        });
    }
    let mut ready = Vec::new();
    while let Some(done) = tasks.join_next().await {
        if let Ok(Some(account)) = done {
            ready.push(account);
        }
    }
    ready.sort_by_key(|a| a.index);
    ready
}

/// Sign-up (unless the name exists) then login.
async fn account(
    auth: &AuthClient,
    name: &str,
    password: &str,
    metrics: &Metrics,
) -> Result<Session, HttpError> {
    match with_retry(metrics, || auth.sign_up(name, password)).await {
        Ok(_) => Metrics::bump(&metrics.tallies.signed_up),
        Err(err) if err.api_code() == Some("name_taken") => {}
        Err(err) => return Err(err),
    }
    with_retry(metrics, || auth.log_in(name, password)).await
}

/// Runs `request` until it is not rate-limited, waiting as told between tries.
async fn with_retry<T, F, Fut>(metrics: &Metrics, mut request: F) -> Result<T, HttpError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, HttpError>>,
{
    let mut tries = 0;
    loop {
        tries += 1;
        match request().await {
            Err(HttpError::Api {
                status,
                retry_after,
                ..
            }) if status.as_u16() == 429 && tries < MAX_TRIES => {
                Metrics::bump(&metrics.tallies.rate_limited_waits);
                let wait = retry_after.unwrap_or(Duration::from_secs(1)).min(MAX_WAIT);
                tokio::time::sleep(wait).await;
            }
            other => return other,
        }
    }
}
