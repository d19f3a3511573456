//! A few rounds of the kill -9 harness (`battlegrid_tests::kill9`): the
//! server is killed with SIGKILL while bots play and restarted on the same
//! data; the store opens, every session and sampled password login works,
//! and no saved position lies beyond one save interval's travel of the last
//! acknowledged one. `scripts/kill9.sh` runs the full count.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use battlegrid_tests::kill9::{Options, check, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn player_state_survives_sigkill() {
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    println!("seed {seed}");
    let options = Options {
        rounds: 3,
        bots: 20,
        play: (Duration::from_millis(300), Duration::from_millis(1500)),
        seed,
        save_interval_ticks: 10,
        login_sample: 2,
    };
    let report = run(&options).await.expect("harness run");
    assert_eq!(report.kills, 3);
    assert_eq!(
        report.checked,
        3 * 20,
        "every bot compared after every kill"
    );
    check(&report).expect("no losses");
}
