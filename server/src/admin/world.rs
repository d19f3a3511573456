//! The admin API's world routes:
//!
//! - `POST /v1/admin/announcements` `{"text", "map"?, "region"?}`: an
//!   `Announcement` to every player, to those of one map, or to those of
//!   one region of it;
//! - `GET /v1/admin/maps`, `POST /v1/admin/maps/reload`,
//!   `PUT /v1/admin/maps/default` `{"name"}`;
//! - `GET /v1/admin/regions?map=`: players, messages per second and share
//!   of tick time per region;
//! - `GET /v1/admin/server`: version, uptime, configuration.
//!
//! Announcements are queued on each recipient's connection from here, not
//! by the tick: recipients come from the published snapshots.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{Method, StatusCode};
use axum::routing::{get, post, put};
use battlegrid_protocol::ServerMessage;
use serde::{Deserialize, Serialize};

use super::routes::{Access, RouteTable};
use super::state::{AdminAction, AdminState, record};
use crate::auth::{ApiError, ApiJson, now_ms};
use crate::game::stats::GameStats;
use crate::game::tick::Control;
use crate::maps::MapEvent;

/// The routes of this module.
pub fn routes(state: AdminState) -> RouteTable {
    let t = Access::Token;
    RouteTable::new()
        .route(
            t,
            "/v1/admin/announcements",
            &[Method::POST],
            post(announce).with_state(state.clone()),
        )
        .route(
            t,
            "/v1/admin/maps",
            &[Method::GET],
            get(maps).with_state(state.clone()),
        )
        .route(
            t,
            "/v1/admin/maps/reload",
            &[Method::POST],
            post(reload).with_state(state.clone()),
        )
        .route(
            t,
            "/v1/admin/maps/default",
            &[Method::PUT],
            put(set_default).with_state(state.clone()),
        )
        .route(
            t,
            "/v1/admin/regions",
            &[Method::GET],
            get(regions).with_state(state.clone()),
        )
        .route(
            t,
            "/v1/admin/server",
            &[Method::GET],
            get(server).with_state(state),
        )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Announce {
    text: String,
    map: Option<String>,
    region: Option<u32>,
}

#[derive(Serialize)]
struct Sent {
    recipients: usize,
}

async fn announce(
    State(state): State<AdminState>,
    ApiJson(request): ApiJson<Announce>,
) -> Result<Json<Sent>, ApiError> {
    let max = battlegrid_protocol::messages::MAX_TEXT_LEN;
    if request.text.trim().is_empty() || request.text.len() > max {
        return Err(ApiError::bad_request(
            "invalid_text",
            format!("the text must have 1 to {max} bytes"),
        ));
    }
    if request.region.is_some() && request.map.is_none() {
        return Err(ApiError::bad_request(
            "invalid_body",
            "a region is a region of a map: give the map too",
        ));
    }
    if let Some(map) = &request.map
        && !state.catalog.views().contains_key(map)
    {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_such_map",
            format!("no map named {map:?} is loaded"),
        ));
    }
    let bytes = battlegrid_sim::outbox::encode(&ServerMessage::Announcement { text: request.text });
    let mut recipients = 0;
    for placed in state.placed() {
        if request.map.as_ref().is_some_and(|m| *m != placed.map)
            || request.region.is_some_and(|r| r != placed.region.0)
        {
            continue;
        }
        if let Some(player) = state.online.get(placed.id) {
            player.send(bytes.clone());
            recipients += 1;
        }
    }
    record(
        &state.auth.analytics,
        &AdminAction::Announced { recipients },
    );
    Ok(Json(Sent { recipients }))
}

#[derive(Serialize)]
struct MapRow {
    name: String,
    width: u32,
    height: u32,
    region_cols: u32,
    region_rows: u32,
    content_hash: String,
    players: usize,
}

async fn maps(State(state): State<AdminState>) -> Json<serde_json::Value> {
    let views = state.catalog.views();
    let rows: Vec<MapRow> = views
        .iter()
        .map(|(name, view)| {
            let info = view.map.spec.info();
            MapRow {
                name: name.clone(),
                width: info.width,
                height: info.height,
                region_cols: info.region_cols,
                region_rows: info.region_rows,
                content_hash: view.map.content_hash.clone(),
                players: view.snapshot.load().player_count(),
            }
        })
        .collect();
    let errors: Vec<serde_json::Value> = state
        .catalog
        .errors()
        .iter()
        .map(|e| serde_json::json!({"file": e.file, "error": e.to_string()}))
        .collect();
    Json(serde_json::json!({
        "default_map": state.catalog.default_map(),
        "maps": rows,
        "errors": errors,
    }))
}

/// Reads every map file now and hands each result to the tick, as the
/// watcher does after a change (files whose content is live change
/// nothing).
async fn reload(State(state): State<AdminState>) -> Result<Json<serde_json::Value>, ApiError> {
    let dir = state
        .config
        .get("maps")
        .and_then(|d| d.as_str())
        .map(std::path::PathBuf::from)
        .ok_or_else(|| ApiError::internal("the configuration has no maps directory"))?;
    let scan = tokio::task::spawn_blocking(move || crate::maps::scan_dir(&dir))
        .await
        .map_err(ApiError::internal)?
        .map_err(|err| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "maps_unreadable",
                format!("reading the maps directory: {err}"),
            )
        })?;
    let loaded: Vec<String> = scan.maps.iter().map(|m| m.name.clone()).collect();
    let failed: Vec<serde_json::Value> = scan
        .errors
        .iter()
        .map(|e| serde_json::json!({"file": e.file, "error": e.to_string()}))
        .collect();
    let events = scan
        .maps
        .into_iter()
        .map(|m| MapEvent::Loaded(std::sync::Arc::new(m)))
        .chain(scan.errors.into_iter().map(MapEvent::Failed));
    for event in events {
        state.catalog.record(&event);
        if state.control.send(Control::Map(event)).is_err() {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "shutting_down",
                "the game is shutting down",
            ));
        }
    }
    Ok(Json(
        serde_json::json!({ "loaded": loaded, "failed": failed }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetDefault {
    name: String,
}

async fn set_default(
    State(state): State<AdminState>,
    ApiJson(request): ApiJson<SetDefault>,
) -> Result<StatusCode, ApiError> {
    let (reply, answer) = tokio::sync::oneshot::channel();
    let unavailable = || {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "the game is shutting down",
        )
    };
    state
        .control
        .send(Control::SetDefaultMap {
            name: request.name,
            reply,
        })
        .map_err(|_| unavailable())?;
    match answer.await.map_err(|_| unavailable())? {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(why) => Err(ApiError::new(StatusCode::NOT_FOUND, "no_such_map", why)),
    }
}

#[derive(Deserialize)]
struct RegionsQuery {
    map: Option<String>,
}

#[derive(Serialize)]
struct RegionRow {
    map: String,
    region: u32,
    players: usize,
    messages_per_s: f64,
    /// Estimated fraction of the last tick spent on this region.
    tick_share: f64,
}

async fn regions(
    State(state): State<AdminState>,
    Query(q): Query<RegionsQuery>,
) -> Json<Vec<RegionRow>> {
    let views = state.catalog.views();
    let sample = state.sampler.load();
    let tick_us = GameStats::get(&state.stats.last_tick_us).max(1) as f64;
    let mut rows = Vec::new();
    for (map, view) in views.iter() {
        if q.map.as_ref().is_some_and(|m| m != map) {
            continue;
        }
        let info = view.map.spec.info();
        let snapshot = view.snapshot.load();
        let mut per_region: BTreeMap<u32, (usize, f64)> = (0..info.region_cols * info.region_rows)
            .map(|r| (r, (0, 0.0)))
            .collect();
        for (id, _, region) in snapshot.iter() {
            let entry = per_region.entry(region.0).or_default();
            entry.0 += 1;
            entry.1 += sample.rates.get(&id).copied().unwrap_or(0.0);
        }
        // The simulation steps a map's regions together: a region's share
        // is its map's measured share of the tick, split by the region's
        // part of the map's work (players and the messages they get).
        let map_share = GameStats::get(&view.step_us) as f64 / tick_us;
        let work: f64 = per_region.values().map(|(p, m)| *p as f64 + m).sum();
        for (region, (players, messages)) in per_region {
            let part = if work > 0.0 {
                (players as f64 + messages) / work
            } else {
                0.0
            };
            rows.push(RegionRow {
                map: map.clone(),
                region,
                players,
                messages_per_s: messages,
                tick_share: (map_share * part).min(1.0),
            });
        }
    }
    Json(rows)
}

async fn server(State(state): State<AdminState>) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "protocol_version": battlegrid_protocol::PROTOCOL_VERSION,
        "uptime_secs": state.started.elapsed().as_secs(),
        "now_ms": now_ms(),
        "players": state.online.len(),
        "config": *state.config,
    }))
}
