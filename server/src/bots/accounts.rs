//! Account setup, two ways (`--accounts`):
//!
//! - `admin` (default): one `POST /v1/admin/sessions` per bot on the
//!   server's admin listener, which makes a password-less account if needed
//!   and issues a session. No Argon2, no rate limit: hundreds of bots are
//!   ready in a second or two, and the server's memory is not inflated by
//!   concurrent hashes before the connect phase measures it.
//! - `public`: the player's path, sign-up (a taken name is fine: the
//!   account exists from an earlier run) then login, a few at a time since
//!   each costs the server an Argon2 hash. When the rate limits answer 429,
//!   the request waits the `Retry-After` it was given and tries again, a
//!   bounded number of times; the default limits (10 sign-ups a minute per
//!   address) are meant for people, so this path is for small runs or for
//!   servers configured with higher `[rate_limits]`.

use std::sync::Arc;
use std::time::Duration;

use battlegrid_protocol::client::{AdminClient, AuthClient, HttpError, Session};
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

/// Where sessions come from.
#[derive(Debug, Clone)]
pub enum Provider {
    /// The admin listener's session endpoint.
    Admin(AdminClient),
    /// Public sign-up and login with this password.
    Public(AuthClient, String),
}

/// Gets sessions for bots `1..=count`; returns those that succeeded,
/// ordered by index. Stops starting new requests once `stop` turns true.
pub async fn prepare(
    provider: &Provider,
    prefix: &str,
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
        let provider = provider.clone();
        let name = bot_name(prefix, index);
        let metrics = metrics.clone();
        tasks.spawn(async move {
            let _permit = permit;
            let session = match &provider {
                Provider::Admin(admin) => admin_account(admin, &name, &metrics).await,
                Provider::Public(auth, password) => account(auth, &name, password, &metrics).await,
            };
            match session {
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

/// A session from the admin API, making the account when missing.
async fn admin_account(
    admin: &AdminClient,
    name: &str,
    metrics: &Metrics,
) -> Result<Session, HttpError> {
    let made = admin.session(name, true).await?;
    if made.created {
        Metrics::bump(&metrics.tallies.signed_up);
    }
    Ok(made.session)
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
