//! Crash test of the store: a child process (`store-writer`) creates
//! accounts through the `Store` trait and prints each acknowledged one; the
//! test kills it with SIGKILL at random moments, reopens the store, and
//! checks that it opens and that every acknowledged account is there.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use battlegrid_server::store::{AccountId, SledStore, Store};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const ROUNDS: u32 = 24;

/// Every acknowledged account survives SIGKILL, over many rounds on the same store.
#[tokio::test]
async fn acknowledged_accounts_survive_sigkill() {
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    println!("seed {seed}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let mut acked_total = Vec::new();
    for round in 0..ROUNDS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_store-writer"))
            .arg(dir.path())
            .arg(round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn store-writer");
        let stdout = child.stdout.take().unwrap();
        let (lines_tx, lines) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Wait until the store is open (a kill before that tests nothing new),
        // then kill after a random delay: sometimes right away, sometimes
        // after many writes.
        let first = lines
            .recv_timeout(Duration::from_secs(60))
            .expect("store-writer started");
        assert_eq!(first, "open");
        std::thread::sleep(Duration::from_millis(rng.random_range(0..300)));
        child.kill().expect("SIGKILL");
        child.wait().unwrap();
        reader.join().unwrap();
        let acked: Vec<(AccountId, String)> = lines
            .try_iter()
            .filter_map(|line| {
                let mut parts = line.split(' ');
                match (parts.next(), parts.next(), parts.next()) {
                    (Some("ack"), Some(id), Some(name)) => {
                        Some((AccountId(id.parse().ok()?), name.to_owned()))
                    }
                    _ => None,
                }
            })
            .collect();

        let store = SledStore::open(dir.path(), 8 << 20)
            .unwrap_or_else(|err| panic!("round {round}: store does not reopen: {err}"));
        for (id, name) in &acked {
            let account = store.account_by_name(&name.to_lowercase()).await.unwrap();
            let account = account.unwrap_or_else(|| panic!("round {round}: {name} lost"));
            assert_eq!(account.id, *id, "round {round}: {name}");
            assert_eq!(store.account(*id).await.unwrap().as_ref(), Some(&account));
        }
        acked_total.extend(acked);
    }
    // Earlier rounds' accounts are still there at the end too.
    let store = SledStore::open(dir.path(), 8 << 20).unwrap();
    for (id, name) in &acked_total {
        assert_eq!(
            store.account(*id).await.unwrap().map(|a| a.name).as_ref(),
            Some(name)
        );
    }
    println!(
        "{} acknowledged accounts over {ROUNDS} rounds",
        acked_total.len()
    );
    assert!(
        acked_total.len() >= ROUNDS as usize,
        "too few writes to test anything"
    );
}
