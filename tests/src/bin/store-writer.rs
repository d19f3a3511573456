//! Child process of the store crash test (tests/tests/store_crash.rs).
//!
//! Opens the store in the given directory and creates accounts through the
//! `Store` trait from several tasks at once, printing `ack <id> <name>` on
//! stdout after each create returns (that is, after the flush). It never
//! stops by itself: the test kills it with SIGKILL at a random moment, then
//! checks that every acknowledged account is in the store.

use std::io::Write;
use std::sync::Arc;

use battlegrid_server::store::{NewAccount, SledStore, Store};

/// Concurrent writers, so kills land between, during and after flushes.
const WRITERS: usize = 4;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(round)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: store-writer <data dir> <round>");
    };
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.as_ref(), 8 << 20)?);
    println!("open");
    let mut tasks = Vec::new();
    for writer in 0..WRITERS {
        let store = Arc::clone(&store);
        let round = round.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0u64.. {
                let name = format!("r{round}w{writer}n{i}");
                let account = store
                    .create_account(NewAccount {
                        name_key: name.to_lowercase(),
                        name,
                        password_hash: "$argon2id$v=19$placeholder".into(),
                        created_at_ms: i,
                    })
                    .await?;
                let mut out = std::io::stdout().lock();
                writeln!(out, "ack {} {}", account.id.0, account.name)?;
                out.flush()?;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(())
}
