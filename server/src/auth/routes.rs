//! The auth endpoints: `POST /v1/accounts`, `POST /v1/sessions`,
//! `DELETE /v1/sessions/current`, `GET /v1/me` (docs/API.md is the
//! reference). Each handler checks rate limits before doing anything that
//! costs (password strength, hashing, store writes), and answers only after
//! durable writes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::extract::{ApiJson, Bearer, ClientIp};
use super::names::{PASSWORD_MAX_BYTES, check_password, name_key};
use super::{AuthState, now_ms, token};
use crate::analytics::Event;
use crate::store::{NewAccount, SessionRecord};

/// The auth API's routes, with their state applied.
pub fn router(state: AuthState) -> Router {
    Router::new()
        .route("/v1/accounts", post(sign_up_recorded))
        .route("/v1/sessions", post(log_in_recorded))
        .route("/v1/sessions/current", delete(log_out))
        .route("/v1/me", get(me))
        .with_state(state)
}

/// Body of sign-up and login.
#[derive(Deserialize)]
struct Credentials {
    name: String,
    password: String,
}

#[derive(Serialize)]
struct AccountCreated {
    account_id: u64,
    name: String,
}

/// Answer of login (and of the admin's session endpoint).
#[derive(Serialize)]
pub(super) struct SessionCreated {
    token: String,
    /// Absolute expiry, unix seconds.
    expires_at: u64,
    account_id: u64,
    name: String,
}

#[derive(Serialize)]
struct Me {
    account_id: u64,
    name: String,
    /// Unix seconds.
    created_at: u64,
    session: SessionView,
}

#[derive(Serialize)]
struct SessionView {
    /// Absolute expiry, unix seconds.
    expires_at: u64,
    /// Idle expiry if unused from now on, unix seconds.
    idle_expires_at: u64,
    ip: String,
}

/// Sign-up, recorded as a `signup` event (account id or error code, never
/// the name or the password).
async fn sign_up_recorded(
    state: State<AuthState>,
    ip: ClientIp,
    credentials: ApiJson<Credentials>,
) -> Result<(StatusCode, Json<AccountCreated>), ApiError> {
    let analytics = state.analytics.clone();
    let answer = sign_up(state, ip, credentials).await;
    let (ok, account, error) = match &answer {
        Ok((_, created)) => (true, Some(created.account_id), None),
        Err(err) => (false, None, Some(err.code().to_owned())),
    };
    analytics.emit(None, Event::Signup { ok, account, error });
    answer
}

/// Login, recorded as a `login` event.
async fn log_in_recorded(
    state: State<AuthState>,
    ip: ClientIp,
    credentials: ApiJson<Credentials>,
) -> Result<Json<SessionCreated>, ApiError> {
    let analytics = state.analytics.clone();
    let answer = log_in(state, ip, credentials).await;
    let (ok, account, error) = match &answer {
        Ok(created) => (true, Some(created.account_id), None),
        Err(err) => (false, None, Some(err.code().to_owned())),
    };
    analytics.emit(None, Event::Login { ok, account, error });
    answer
}

fn limited(result: Result<(), std::time::Duration>) -> Result<(), ApiError> {
    result.map_err(ApiError::rate_limited)
}

async fn sign_up(
    State(auth): State<AuthState>,
    ClientIp(ip): ClientIp,
    ApiJson(credentials): ApiJson<Credentials>,
) -> Result<(StatusCode, Json<AccountCreated>), ApiError> {
    limited(auth.limits.signup_ip(ip))?;
    let key = name_key(&credentials.name)?;
    limited(auth.limits.signup_name(&key))?;
    if auth.store.account_by_name(&key).await?.is_some() {
        // Skip the strength check and the hash for a name we already know
        // is taken.
        return Err(crate::store::StoreError::NameTaken.into());
    }
    // The strength estimate of a long password takes milliseconds
    // (docs/PERFORMANCE.md): off the async workers, like the hash.
    let (password, name) = (credentials.password.clone(), credentials.name.clone());
    tokio::task::spawn_blocking(move || check_password(&password, &name))
        .await
        .map_err(ApiError::internal)??;
    let password_hash = auth
        .passwords
        .hash(credentials.password)
        .await
        .map_err(ApiError::internal)?;
    let account = auth
        .store
        .create_account(NewAccount {
            name: credentials.name,
            name_key: key,
            password_hash,
            created_at_ms: now_ms(),
        })
        .await?;
    tracing::info!(account_id = account.id.0, name = %account.name, %ip, "account created");
    Ok((
        StatusCode::CREATED,
        Json(AccountCreated {
            account_id: account.id.0,
            name: account.name,
        }),
    ))
}

async fn log_in(
    State(auth): State<AuthState>,
    ClientIp(ip): ClientIp,
    ApiJson(credentials): ApiJson<Credentials>,
) -> Result<Json<SessionCreated>, ApiError> {
    limited(auth.limits.login_ip(ip))?;
    // A name that breaks the rules cannot exist; saying so fast leaks nothing.
    let key = name_key(&credentials.name).map_err(|_| ApiError::invalid_credentials())?;
    limited(auth.limits.login_account(&key))?;
    if credentials.password.len() > PASSWORD_MAX_BYTES {
        return Err(ApiError::invalid_credentials());
    }
    let account = auth.store.account_by_name(&key).await?;
    let stored_hash = account.as_ref().map(|a| a.password_hash.clone());
    let ok = auth
        .passwords
        .verify(credentials.password, stored_hash)
        .await
        .map_err(ApiError::internal)?;
    let Some(account) = account.filter(|_| ok) else {
        tracing::info!(name = %credentials.name, %ip, "login refused");
        return Err(ApiError::invalid_credentials());
    };
    let created = issue_session(&auth, &account, ip).await?;
    tracing::info!(account_id = account.id.0, %ip, "session created");
    Ok(Json(created))
}

/// Makes a session for `account`: a new token, its hash stored (before the
/// answer: a token the store lost would fail after a restart) and put in the
/// live table. A banned account gets `403 banned` instead (checked after
/// the password, so the answer tells a guesser nothing).
pub(super) async fn issue_session(
    auth: &AuthState,
    account: &crate::store::AccountRecord,
    ip: std::net::IpAddr,
) -> Result<SessionCreated, ApiError> {
    if let Some(ban) = auth.bans.active(account.id, now_ms()) {
        tracing::info!(account_id = account.id.0, %ip, "session refused: banned");
        return Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "banned",
            crate::admin::bans::describe(&ban),
        ));
    }
    let token = token::generate().map_err(ApiError::internal)?;
    let hash = token::hash(&token);
    let now = now_ms();
    let record = SessionRecord {
        account_id: account.id,
        name: account.name.clone(),
        ip,
        created_at_ms: now,
        expires_at_ms: now.saturating_add(auth.sessions.absolute_ttl_secs.saturating_mul(1000)),
        last_seen_ms: now,
    };
    auth.store.put_session(hash, &record).await?;
    auth.tokens.insert(hash, &record);
    Ok(SessionCreated {
        token,
        expires_at: record.expires_at_ms / 1000,
        account_id: account.id.0,
        name: account.name.clone(),
    })
}

async fn log_out(State(auth): State<AuthState>, bearer: Bearer) -> Result<StatusCode, ApiError> {
    // Table first: the token stops working before the slower disk write.
    auth.tokens.remove(&bearer.hash);
    auth.store.remove_session(bearer.hash).await?;
    tracing::info!(account_id = bearer.session.account_id.0, "session revoked");
    Ok(StatusCode::NO_CONTENT)
}

async fn me(State(auth): State<AuthState>, bearer: Bearer) -> Result<Json<Me>, ApiError> {
    let session = &bearer.session;
    let account = auth
        .store
        .account(session.account_id)
        .await?
        .ok_or_else(|| ApiError::internal("session of a missing account"))?;
    let idle_ms = auth.sessions.idle_ttl_secs.saturating_mul(1000);
    Ok(Json(Me {
        account_id: account.id.0,
        name: account.name,
        created_at: account.created_at_ms / 1000,
        session: SessionView {
            expires_at: session.expires_at_ms / 1000,
            idle_expires_at: session.last_seen_ms().saturating_add(idle_ms) / 1000,
            ip: session.ip.to_string(),
        },
    }))
}
