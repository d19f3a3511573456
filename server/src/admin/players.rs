//! The admin API's players and bans:
//!
//! - `GET /v1/admin/players?map=&region=&prefix=&after=&limit=`: players in
//!   the game, by id, filtered and paged (`after` is the last id of the
//!   previous page);
//! - `GET /v1/admin/players/{id}`: one player with its account, session,
//!   place and connection figures;
//! - `POST /v1/admin/players/{id}/kick` `{"reason"}`: the player is told
//!   the reason (`Error{KICKED}`) and disconnected;
//! - `GET /v1/admin/bans`, `POST /v1/admin/bans` `{"account_id" or "name",
//!   "reason", "duration_secs"}`, `DELETE /v1/admin/bans/{account_id}`.
//!
//! A ban is on disk before the answer; the account's sessions are revoked
//! and its connection closed at once.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, post};
use battlegrid_protocol::{ErrorCode, PlayerId};
use serde::{Deserialize, Serialize};

use super::routes::{Access, RouteTable};
use super::state::{AdminAction, AdminState, record};
use crate::auth::{ApiError, name_key, now_ms};
use crate::store::{AccountId, BanRecord};

/// Largest page of `GET /v1/admin/players`.
pub const MAX_PAGE: usize = 1000;
/// Longest kick or ban reason, bytes (a protocol text).
pub const MAX_REASON: usize = battlegrid_protocol::messages::MAX_TEXT_LEN;

/// The routes of this module.
pub fn routes(state: AdminState) -> RouteTable {
    let t = Access::Token;
    RouteTable::new()
        .route(
            t,
            "/v1/admin/players",
            &[Method::GET],
            get(list).with_state(state.clone()),
        )
        .route(
            t,
            "/v1/admin/players/{id}",
            &[Method::GET],
            get(detail).with_state(state.clone()),
        )
        .route(
            t,
            "/v1/admin/players/{id}/kick",
            &[Method::POST],
            post(kick).with_state(state.clone()),
        )
        .route(
            t,
            "/v1/admin/bans",
            &[Method::GET, Method::POST],
            get(list_bans).post(ban).with_state(state.clone()),
        )
        .route(
            t,
            "/v1/admin/bans/{account_id}",
            &[Method::DELETE],
            delete(unban).with_state(state),
        )
}

#[derive(Deserialize)]
struct ListQuery {
    map: Option<String>,
    region: Option<u32>,
    prefix: Option<String>,
    after: Option<u64>,
    limit: Option<usize>,
}

/// One row of the player list.
#[derive(Serialize)]
struct Row {
    id: u64,
    name: String,
    map: String,
    region: u32,
    x: f32,
    y: f32,
}

#[derive(Serialize)]
struct Page {
    players: Vec<Row>,
    /// Players matching the filters, on every page.
    total: usize,
    /// `after` for the next page, when there is one.
    next_after: Option<u64>,
}

async fn list(
    State(state): State<AdminState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Page>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if limit == 0 || limit > MAX_PAGE {
        return Err(ApiError::bad_request(
            "bad_request",
            format!("limit must be 1 to {MAX_PAGE}"),
        ));
    }
    let prefix = q.prefix.as_deref().map(str::to_lowercase);
    let mut rows: Vec<Row> = state
        .placed()
        .into_iter()
        .filter(|p| q.map.as_deref().is_none_or(|m| p.map == m))
        .filter(|p| q.region.is_none_or(|r| p.region.0 == r))
        .filter_map(|p| {
            let name = state.online.get(p.id)?.name.clone();
            if let Some(prefix) = &prefix
                && !name.to_lowercase().starts_with(prefix.as_str())
            {
                return None;
            }
            Some(Row {
                id: p.id.0,
                name,
                map: p.map,
                region: p.region.0,
                x: p.position.x,
                y: p.position.y,
            })
        })
        .collect();
    rows.sort_by_key(|r| r.id);
    let total = rows.len();
    let start = q
        .after
        .map_or(0, |after| rows.partition_point(|r| r.id <= after));
    let mut players: Vec<Row> = rows.into_iter().skip(start).take(limit + 1).collect();
    let more = players.len() > limit;
    players.truncate(limit);
    let next_after = more.then(|| players.last().map(|r| r.id)).flatten();
    Ok(Json(Page {
        players,
        total,
        next_after,
    }))
}

fn not_online(id: u64) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_online",
        format!("player {id} is not connected"),
    )
}

async fn detail(
    State(state): State<AdminState>,
    Path(id): Path<u64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let player = state
        .online
        .get(PlayerId(id))
        .ok_or_else(|| not_online(id))?;
    let figures = player.figures();
    let place = state.find(PlayerId(id));
    let session = state.auth.tokens.get(&player.session);
    let rate = state.sampler.load().rates.get(&PlayerId(id)).copied();
    Ok(Json(serde_json::json!({
        "id": id,
        "account": { "id": player.account.0, "name": player.name },
        "session": session.map(|s| serde_json::json!({
            "login_ip": s.ip,
            "created_at_ms": s.created_at_ms,
            "expires_at_ms": s.expires_at_ms,
            "last_seen_ms": s.last_seen_ms(),
        })),
        "map": place.as_ref().map(|p| p.map.clone()),
        "region": place.as_ref().map(|p| p.region.0),
        "position": place.as_ref().map(|p| serde_json::json!({"x": p.position.x, "y": p.position.y})),
        "connection": {
            "addr": player.addr,
            "connected_at_ms": player.since_ms,
            "rtt_ms": figures.rtt_ms,
            "queued_messages": figures.outbound.queued_messages,
            "backlog_bytes": figures.outbound.backlog_bytes,
            "bytes_in": figures.bytes_in,
            "bytes_out": figures.bytes_out,
            "messages_out": figures.outbound.messages,
            "messages_per_s": rate,
        },
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KickRequest {
    reason: String,
}

fn check_reason(reason: &str) -> Result<(), ApiError> {
    if reason.trim().is_empty() || reason.len() > MAX_REASON {
        return Err(ApiError::bad_request(
            "invalid_reason",
            format!("a reason of 1 to {MAX_REASON} bytes is needed"),
        ));
    }
    Ok(())
}

async fn kick(
    State(state): State<AdminState>,
    Path(id): Path<u64>,
    crate::auth::ApiJson(request): crate::auth::ApiJson<KickRequest>,
) -> Result<StatusCode, ApiError> {
    check_reason(&request.reason)?;
    let player = state
        .online
        .get(PlayerId(id))
        .ok_or_else(|| not_online(id))?;
    player.close(ErrorCode::KICKED, &request.reason);
    record(
        &state.auth.analytics,
        &AdminAction::Kicked {
            player: PlayerId(id),
            reason: request.reason,
        },
    );
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
struct BanRow {
    account_id: u64,
    reason: String,
    created_at_ms: u64,
    until_ms: Option<u64>,
    active: bool,
}

async fn list_bans(State(state): State<AdminState>) -> Json<Vec<BanRow>> {
    let now = now_ms();
    Json(
        state
            .auth
            .bans
            .all()
            .into_iter()
            .map(|(id, ban)| BanRow {
                account_id: id.0,
                active: ban.active(now),
                reason: ban.reason,
                created_at_ms: ban.created_at_ms,
                until_ms: ban.until_ms,
            })
            .collect(),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BanRequest {
    account_id: Option<u64>,
    name: Option<String>,
    reason: String,
    /// Absent: no end.
    duration_secs: Option<u64>,
}

async fn ban(
    State(state): State<AdminState>,
    crate::auth::ApiJson(request): crate::auth::ApiJson<BanRequest>,
) -> Result<(StatusCode, Json<BanRow>), ApiError> {
    check_reason(&request.reason)?;
    let store = &state.auth.store;
    let account = match (request.account_id, &request.name) {
        (Some(id), None) => store.account(AccountId(id)).await?,
        (None, Some(name)) => store.account_by_name(&name_key(name)?).await?,
        _ => {
            return Err(ApiError::bad_request(
                "invalid_body",
                "give exactly one of account_id and name",
            ));
        }
    };
    let account = account.ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "no_such_account", "no such account")
    })?;
    let now = now_ms();
    let ban = BanRecord {
        reason: request.reason.clone(),
        created_at_ms: now,
        until_ms: request
            .duration_secs
            .map(|secs| now.saturating_add(secs.saturating_mul(1000))),
    };
    state
        .auth
        .bans
        .ban(&**store, account.id, ban.clone())
        .await?;
    let sessions = state.auth.revoke_account(account.id).await?;
    let online = state.online.get(PlayerId(account.id.0));
    if let Some(player) = &online {
        player.close(ErrorCode::KICKED, &super::bans::describe(&ban));
    }
    record(
        &state.auth.analytics,
        &AdminAction::Banned {
            account: account.id.0,
            reason: ban.reason.clone(),
            until_ms: ban.until_ms,
            sessions,
            was_online: online.is_some(),
        },
    );
    Ok((
        StatusCode::CREATED,
        Json(BanRow {
            account_id: account.id.0,
            active: true,
            reason: ban.reason,
            created_at_ms: ban.created_at_ms,
            until_ms: ban.until_ms,
        }),
    ))
}

async fn unban(
    State(state): State<AdminState>,
    Path(account_id): Path<u64>,
) -> Result<StatusCode, ApiError> {
    let lifted = state
        .auth
        .bans
        .unban(&*state.auth.store, AccountId(account_id))
        .await?;
    if !lifted {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_such_ban",
            format!("account {account_id} is not banned"),
        ));
    }
    record(
        &state.auth.analytics,
        &AdminAction::Unbanned {
            account: account_id,
        },
    );
    Ok(StatusCode::NO_CONTENT)
}
