//! The story matrix's row for this crate, cell by cell, on real sockets
//! through the weather proxy.

use common::demo::Verdict;
use common::weather::Weather;
use std::time::Duration;
use tokio_length::rows::weather_trial;

const COMMANDS: [&str; 2] = ["seq 1 400", "echo hi"];
const PATIENCE: Duration = Duration::from_secs(10);

/// Every byte delivered alone, in lockstep with the readers: every reply still arrives whole.
#[test]
fn survives_split_1() {
    let verdict = weather_trial(Some(Weather::split(1).with_lockstep()), &COMMANDS, PATIENCE);
    assert_eq!(verdict.unwrap(), Verdict::Intact);
}

/// Seeded random cuts survive too.
#[test]
fn survives_seed_42() {
    let verdict = weather_trial(
        Some(Weather::seeded(42).with_lockstep()),
        &COMMANDS,
        PATIENCE,
    );
    assert_eq!(verdict.unwrap(), Verdict::Intact);
}

/// The trial can fail: a client that waits 50 ms for a command that takes 500 ms reports the reply that never came.
#[test]
fn impatient_client_is_judged_broken() {
    let verdict = weather_trial(None, &["sleep 0.5"], Duration::from_millis(50)).unwrap();
    assert_eq!(verdict, Verdict::Broken("reply 1 never came".into()));
}
