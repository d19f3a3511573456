//! Measures the sign-up password check (length, name, zxcvbn strength):
//! the time per password for typical ones and for the longest allowed
//! (128 bytes; zxcvbn looks at the first 100 characters), which is the
//! worst case a client can send. It runs before the Argon2 hash, after the
//! rate limits.
//!
//! ```text
//! cargo run --release -p battlegrid-server --example password_check_time -- [REPEAT]
//! ```
//!
//! Prints the minimum and median of REPEAT checks (default 200) per password.

use std::time::{Duration, Instant};

use battlegrid_server::auth::check_password;

fn main() -> anyhow::Result<()> {
    let repeat: usize = std::env::args()
        .nth(1)
        .map(|r| r.parse())
        .transpose()?
        .unwrap_or(200);
    let words = "river marble lantern ".repeat(7);
    let digits: String = (0..128)
        .map(|i| char::from(b'0' + (i * 7 % 10) as u8))
        .collect();
    let cases = [
        ("common (password1)", "password1".to_owned()),
        ("passphrase (21 chars)", "correct horse battery".to_owned()),
        ("128 bytes of words", words[..128].to_owned()),
        ("128 bytes of digits", digits),
    ];
    for (what, password) in cases {
        let mut times: Vec<Duration> = (0..repeat)
            .map(|_| {
                let started = Instant::now();
                let _ = std::hint::black_box(check_password(&password, "someplayer"));
                started.elapsed()
            })
            .collect();
        times.sort();
        println!(
            "{what:<24} min {:>8.3} ms  median {:>8.3} ms",
            times[0].as_secs_f64() * 1e3,
            times[times.len() / 2].as_secs_f64() * 1e3
        );
    }
    Ok(())
}
