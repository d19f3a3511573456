//! The saver task: writes player positions the tick hands over to the
//! store, off the tick thread.
//!
//! Batches arrive on a channel of capacity one; while the saver is busy the
//! tick keeps collecting (latest position per player), so a slow store
//! costs memory proportional to the players, never a growing backlog of
//! batches. Each batch is one durable store write. The task ends when the
//! tick thread drops its sender, after writing everything received.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::stats::GameStats;
use super::tick::Save;
use crate::store::{AccountId, PlayerRecord, Store};

/// Writes every batch received on `saves` until the channel closes.
pub async fn run_saver(
    mut saves: mpsc::Receiver<Vec<Save>>,
    store: Arc<dyn Store>,
    stats: Arc<GameStats>,
) {
    while let Some(batch) = saves.recv().await {
        let records: Vec<(AccountId, PlayerRecord)> = batch
            .into_iter()
            .map(|save| {
                (
                    AccountId(save.id.0),
                    PlayerRecord {
                        map: Some(save.map.to_string()),
                        position: save.position,
                    },
                )
            })
            .collect();
        if let Err(err) = store.save_players(&records).await {
            GameStats::add(&stats.save_failures, records.len() as u64);
            tracing::error!(%err, players = records.len(), "saving positions failed");
        }
    }
}
