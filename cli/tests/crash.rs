//! Crash safety, proven: `campc run --store` killed with SIGKILL at random points and run
//! again each time ends with the stored ledger of an uninterrupted run, entry for entry; and a
//! second run over the same file writes nothing new.

mod common;
#[path = "../../store/tests/support/scratch.rs"]
mod scratch;
use common::{root, seeds};
use scratch::Scratch;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn scratch(name: &str) -> Scratch {
    Scratch::new("campc-crash", name)
}

fn run_command(events: &Path, store: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_campc"));
    command
        .arg("run")
        .args(seeds())
        .arg("--events")
        .arg(events)
        .arg("--store")
        .arg(store)
        .args(["--batch", "500"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

fn stored_ledger(store: &Path) -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_campc"))
        .args(["ledger", "--store"])
        .arg(store)
        .output()
        .unwrap_or_else(|e| panic!("cannot run campc ledger: {e}"));
    assert!(out.status.success(), "campc ledger failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
}

/// A small xorshift generator seeded from the clock; the seed is printed so a failure can be
/// replayed with `CAMP_CRASH_SEED`.
fn kill_delays(count: usize, up_to: Duration) -> Vec<Duration> {
    let seed = std::env::var("CAMP_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64) | 1);
    eprintln!("kill points from CAMP_CRASH_SEED={seed}");
    let mut state = seed;
    (0..count)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Between a twentieth and an eighth of a whole run: six kills stay inside the run.
            let millis = (up_to.as_millis() as u64).max(40);
            Duration::from_millis(millis / 20 + state % (millis / 8 - millis / 20))
        })
        .collect()
}

#[test]
fn a_run_killed_at_random_points_and_resumed_stores_the_ledger_of_an_uninterrupted_run() {
    let dir = scratch("kill");
    let events = dir.join("events.jsonl");
    let lines: Vec<String> = camp_runtime::synthetic::stream(30_000, 2_000, 11).collect();
    std::fs::write(&events, lines.join("\n") + "\n").unwrap_or_else(|e| panic!("{e}"));

    // The uninterrupted run, timed, so the kills land inside a run.
    let whole = dir.join("whole.db");
    let started = Instant::now();
    let status = run_command(&events, &whole).status().unwrap_or_else(|e| panic!("cannot run campc: {e}"));
    let full_run = started.elapsed();
    // Exit 1: the stream has rejects (refunds of cancelled payments), which are not kept.
    assert!(matches!(status.code(), Some(0 | 1)), "the uninterrupted run failed: {status}");
    let expected = stored_ledger(&whole);
    assert!(expected.len() > 10_000, "the stream earns: {} entries", expected.len());

    let killed = dir.join("killed.db");
    let mut kills_mid_run = 0;
    let mut progress = Vec::new();
    for delay in kill_delays(6, full_run) {
        let mut child = run_command(&events, &killed).spawn().unwrap_or_else(|e| panic!("cannot run campc: {e}"));
        std::thread::sleep(delay);
        if child.try_wait().ok().flatten().is_none() {
            kills_mid_run += 1;
        }
        child.kill().unwrap_or_default(); // SIGKILL: no destructor, no flush, no rollback
        let _ = child.wait();
        let stored = stored_ledger(&killed);
        assert!(
            expected.starts_with(&stored),
            "after a kill at {delay:?} the store holds {} entries that are not a prefix of the ledger",
            stored.len()
        );
        progress.push(stored.len());
    }
    let status = run_command(&events, &killed).status().unwrap_or_else(|e| panic!("cannot run campc: {e}"));
    assert!(matches!(status.code(), Some(0 | 1)), "the resumed run failed: {status}");
    assert!(kills_mid_run >= 4, "only {kills_mid_run} of 6 kills landed inside a run (progress {progress:?})");
    eprintln!("stored entries after each kill: {progress:?} of {}", expected.len());
    let got = stored_ledger(&killed);
    assert_eq!(got.len(), expected.len(), "entries after {kills_mid_run} kills (progress {progress:?})");
    assert!(got == expected, "the resumed ledger differs from the uninterrupted one");
}

#[test]
fn a_second_run_over_the_same_file_writes_nothing_new() {
    let dir = scratch("twice");
    let store = dir.join("ledger.db");
    let events = root().join("examples/events/sample.jsonl");
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_campc"))
            .arg("run")
            .args(seeds())
            .arg("--events")
            .arg(&events)
            .arg("--store")
            .arg(&store)
            .output()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let first = run();
    assert!(first.status.success());
    assert!(!first.stdout.is_empty(), "the first run writes entries");
    let kept = stored_ledger(&store);
    assert_eq!(kept, String::from_utf8_lossy(&first.stdout).lines().map(str::to_string).collect::<Vec<_>>());
    let second = run();
    assert!(second.status.success());
    assert!(second.stdout.is_empty(), "the second run wrote: {}", String::from_utf8_lossy(&second.stdout));
    assert_eq!(stored_ledger(&store), kept);
}

#[test]
fn ledger_names_a_missing_store() {
    let out = Command::new(env!("CARGO_BIN_EXE_campc"))
        .args(["ledger", "--store", "/nonexistent/ledger.db"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("there is no store at /nonexistent/ledger.db"));
}
