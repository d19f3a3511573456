//! Sessions for trusted tools, on the admin listener: `POST
//! /v1/admin/sessions` issues a session for an account by name, making the
//! account first if asked, with no password check and no rate limit (the
//! admin token is the check).
//!
//! Why it exists: load generators (`battlegrid bots`) and support tools
//! need hundreds of sessions from one address, which the public API's
//! per-IP sign-up limits and Argon2 cost refuse on purpose. Accounts made
//! here have no password ([`super::NO_PASSWORD`]): nobody can log in to them
//! through the public API. Whoever holds the admin token can act as any
//! player (docs/API.md says so).

use axum::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::routing::post;
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::extract::{ApiJson, ClientIp};
use super::names::name_key;
use super::routes::{SessionCreated, issue_session};
use super::{AuthState, NO_PASSWORD, now_ms};
use crate::admin::{Access, RouteTable};
use crate::store::{NewAccount, StoreError};

/// Routes of the admin API that touch accounts and sessions.
pub fn admin_routes(state: AuthState) -> RouteTable {
    RouteTable::new().route(
        Access::Token,
        "/v1/admin/sessions",
        &[Method::POST],
        post(admin_session).with_state(state),
    )
}

#[derive(Deserialize)]
struct AdminSessionRequest {
    /// The account's name.
    name: String,
    /// Make a password-less account when none has this name.
    #[serde(default)]
    create: bool,
}

#[derive(Serialize)]
struct AdminSessionCreated {
    #[serde(flatten)]
    session: SessionCreated,
    /// Whether the account was made by this request.
    created: bool,
}

async fn admin_session(
    State(auth): State<AuthState>,
    ClientIp(ip): ClientIp,
    ApiJson(request): ApiJson<AdminSessionRequest>,
) -> Result<(StatusCode, Json<AdminSessionCreated>), ApiError> {
    let key = name_key(&request.name)?;
    let (account, created) = match auth.store.account_by_name(&key).await? {
        Some(account) => (account, false),
        None if request.create => {
            let made = auth
                .store
                .create_account(NewAccount {
                    name: request.name,
                    name_key: key.clone(),
                    password_hash: NO_PASSWORD.to_owned(),
                    created_at_ms: now_ms(),
                })
                .await;
            match made {
                Ok(account) => {
                    tracing::info!(account_id = account.id.0, name = %account.name, "account created by the admin API");
                    (account, true)
                }
                // Another request made it first: use that one.
                Err(StoreError::NameTaken) => match auth.store.account_by_name(&key).await? {
                    Some(account) => (account, false),
                    None => return Err(ApiError::internal("account vanished after name_taken")),
                },
                Err(err) => return Err(err.into()),
            }
        }
        None => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "no_such_account",
                "no account has this name; send \"create\": true to make one",
            ));
        }
    };
    let session = issue_session(&auth, &account, ip).await?;
    tracing::info!(account_id = account.id.0, %ip, "session issued by the admin API");
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(AdminSessionCreated { session, created })))
}
