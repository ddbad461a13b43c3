//! The store suite, run against both backends: SQLite in a temporary file, PostgreSQL on the
//! server `CAMP_TEST_POSTGRES` names (`scripts/with-postgres` starts one; each test gets its
//! own database). Without that variable the PostgreSQL half is skipped, unless
//! `CAMP_REQUIRE_POSTGRES` is set (as in CI), where it fails instead.

use std::collections::BTreeSet;

#[path = "support/scratch.rs"]
mod scratch;
#[path = "support/seeds.rs"]
mod seeds;
#[path = "support/postgres.rs"]
mod support;

use camp_runtime::{Entry, Runtime};
use scratch::Scratch;
use seeds::{files, load, seed_sources};

use camp_store::{Applied, Decoded, Durable, LedgerFilter, Line, Outcome, Store, StoreError, Tx};

fn seeds() -> Runtime {
    load(&seed_sources())
}

/// The seeds with the d POINT campaign at twice its rate: its monthly caps fill twice as fast.
fn seeds_with_dpoint_doubled() -> Vec<(String, String)> {
    let mut sources = seed_sources();
    let dpoint = sources.iter_mut().find(|(name, _)| name == "amazon-dpoint.camp").expect("the d POINT seed");
    assert!(dpoint.1.contains("award 1% * multiplier"), "the d POINT seed's award line moved");
    dpoint.1 = dpoint.1.replace("award 1% * multiplier", "award 2% * multiplier");
    sources
}

/// Kept entries (awards and adjustments) of one runtime in memory, line by line.
fn kept_by_line(rt: &mut Runtime, lines: &[String], mut before: impl FnMut(usize, &mut Runtime)) -> Vec<Vec<String>> {
    let mut kept = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        before(i, rt);
        kept.push(rt.process_line(i + 1, line).iter().filter(|e| e.owed_key().is_some()).map(Entry::to_json).collect());
    }
    kept
}

/// Where each test's store lives.
#[derive(Clone, Copy, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh, empty store location for one test: a file path (with the directory that holds
/// it, removed when the test ends) or a database URL.
fn location(backend: Backend, test: &str) -> Option<(String, Option<Scratch>)> {
    match backend {
        Backend::Sqlite => {
            let dir = Scratch::new("camp-store", test);
            Some((dir.join("ledger.db").display().to_string(), Some(dir)))
        }
        Backend::Postgres => support::database(test).map(|url| (url, None)),
    }
}

#[test]
fn a_test_s_scratch_directory_is_gone_when_the_test_ends() {
    let dir = Scratch::new("camp-store", "scratch_guard");
    let path = dir.to_path_buf();
    std::fs::write(dir.join("ledger.db"), "x").unwrap_or_else(|e| panic!("{e}"));
    assert!(path.join("ledger.db").exists());
    drop(dir);
    assert!(!path.exists(), "{} is left behind", path.display());
}

#[test]
fn sqlite_copies_its_log_into_the_file_while_open() {
    // A few batches fill nowhere near the 64 MiB at which the writer checkpoints by itself:
    // their pages reach the file only through the store's own checkpointer.
    let Some((at, _dir)) = location(Backend::Sqlite, "checkpointer") else { return };
    let mut durable = Durable::new(seeds(), open(&at));
    let size = || std::fs::metadata(&at).map(|m| m.len()).unwrap_or_else(|e| panic!("{e}"));
    let before = size();
    run(&mut durable, &events(), 1, 50);
    let mut grown = false;
    for _ in 0..50 {
        std::thread::sleep(std::time::Duration::from_millis(20));
        grown = size() > before;
        if grown {
            break;
        }
    }
    assert!(grown, "the file is still {before} bytes: the log was not copied into it");
    assert_eq!(stored(&mut *durable.store()), in_memory(&events()));
}

#[test]
fn sqlite_is_built_without_what_the_build_settings_leave_out() {
    // `.cargo/config.toml` builds SQLite without memory statistics and memory management
    // (docs/PERFORMANCE.md); a build that lost those settings would still work, only slower.
    let connection = rusqlite::Connection::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
    let mut statement = connection.prepare("PRAGMA compile_options").unwrap_or_else(|e| panic!("{e}"));
    let options: Vec<String> =
        statement.query_map([], |row| row.get(0)).and_then(|rows| rows.collect()).unwrap_or_else(|e| panic!("{e}"));
    assert!(options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"), "memory statistics are on: {options:?}");
    assert!(!options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"), "memory management is on: {options:?}");
}

fn open(at: &str) -> Box<dyn Store> {
    camp_store::open(at).unwrap_or_else(|e| panic!("cannot open the store: {e}"))
}

/// The synthetic stream: a few accounts so that caps fill, refunds and cancels of earlier
/// payments, account and entry events; a repeated event, one with other content under a used
/// id, and a bad line.
fn events() -> Vec<String> {
    let mut lines: Vec<String> = camp_runtime::synthetic::stream(600, 12, 7).collect();
    lines.insert(100, lines[50].clone());
    lines.insert(200, lines[60].replace("\"amount\":", "\"amount\":1"));
    lines.insert(300, "{not json".to_string());
    lines
}

fn run(durable: &mut Durable, lines: &[String], first: usize, batch: usize) -> Vec<Entry> {
    let mut entries = Vec::new();
    let numbered: Vec<Line<'_>> = lines.iter().enumerate().map(|(i, text)| Line { number: first + i, text }).collect();
    for chunk in numbered.chunks(batch.max(1)) {
        entries.extend(durable.apply(chunk).unwrap_or_else(|e| panic!("the store failed: {e}")).entries);
    }
    entries
}

/// One batch submitted: its lines' numbers and its outcome.
type Submitted = (Vec<usize>, Result<Applied, StoreError>);

/// Submits `lines` (numbered from `first`) in batches of `batch`, each processed while the
/// one before is written, and waits for them all: each batch's outcome, in the order they
/// were told.
fn submit_all(durable: &mut Durable, lines: &[String], first: usize, batch: usize) -> Vec<Submitted> {
    let (send, told) = std::sync::mpsc::channel();
    let numbered: Vec<(usize, &String)> = lines.iter().enumerate().map(|(i, text)| (first + i, text)).collect();
    for chunk in numbered.chunks(batch.max(1)) {
        let decoded: Vec<Decoded> = chunk.iter().map(|(n, text)| Decoded::line(*n, text)).collect();
        let numbers: Vec<usize> = chunk.iter().map(|(n, _)| *n).collect();
        let send = send.clone();
        durable.submit(decoded, Box::new(move |outcome| drop(send.send((numbers, outcome)))));
    }
    durable.flush();
    drop(send);
    told.into_iter().collect()
}

/// [`submit_all`], every batch kept: the entries, in order.
fn submit_run(durable: &mut Durable, lines: &[String], first: usize, batch: usize) -> Vec<Entry> {
    let outcomes = submit_all(durable, lines, first, batch);
    let numbers: Vec<usize> = outcomes.iter().flat_map(|(numbers, _)| numbers.iter().copied()).collect();
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "batches are told in the order submitted");
    assert_eq!(numbers.len(), lines.len(), "every batch is told");
    outcomes.into_iter().flat_map(|(_, o)| o.unwrap_or_else(|e| panic!("the store failed: {e}")).entries).collect()
}

/// What a single runtime in memory writes, kept entries only (awards and adjustments).
fn in_memory(lines: &[String]) -> Vec<String> {
    let mut rt = seeds();
    let mut kept = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        kept.extend(rt.process_line(i + 1, line).iter().filter(|e| e.owed_key().is_some()).map(Entry::to_json));
    }
    kept
}

fn stored(store: &mut dyn Store) -> Vec<String> {
    store.ledger(&LedgerFilter::default()).unwrap_or_else(|e| panic!("cannot read the ledger: {e}"))
}

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $name() { super::$name(super::Backend::Sqlite, stringify!($name)) })*
        }
        mod postgres {
            $(#[test] fn $name() { super::$name(super::Backend::Postgres, stringify!($name)) })*
        }
    };
}

both_backends!(
    the_stored_ledger_is_the_ledger_of_one_run,
    a_second_run_over_the_same_events_writes_nothing_new,
    a_run_resumed_in_a_new_process_continues_where_the_last_stopped,
    a_run_resumed_over_accepted_events_reads_back_only_the_accounts_it_changes,
    a_batch_that_fails_keeps_nothing_and_can_be_given_again,
    two_processes_sharing_a_store_never_exceed_a_cap,
    a_small_account_cache_reads_accounts_back_from_the_store,
    past_the_cache_limit_the_accounts_used_longest_ago_leave_memory,
    two_processes_given_the_same_stream_at_once_accept_each_event_once,
    an_account_another_process_wrote_is_read_again_after_batches_on_others,
    the_ledger_reads_by_account_and_campaign,
    the_schema_is_versioned,
    snapshots_after_every_batch_or_seldom_keep_the_same_ledger,
    events_read_back_are_replayed_with_the_campaigns_that_processed_them,
    a_store_of_the_first_schema_is_migrated_and_kept,
    a_store_of_the_second_schema_is_migrated_and_kept,
    ids_of_any_text_are_found_again,
    an_id_with_a_nul_character_is_kept_or_rejected_alone,
    batches_of_any_size_keep_the_same_ledger,
    a_batch_processed_before_another_process_wrote_is_done_again,
    batches_processed_while_others_fail_are_kept_once_and_right,
);

/// A store may write a batch's rows in several statements of several sizes (SQLite's: 64, 8
/// and 1 rows): batches around and across those sizes keep the ledger of one run, and
/// accounts read back from the store (two kept in memory) replay their journals in order.
fn batches_of_any_size_keep_the_same_ledger(backend: Backend, test: &str) {
    let lines = events();
    let expected = in_memory(&lines);
    for batch in [7, 8, 9, 63, 64, 65, 73, 200] {
        for submitted in [false, true] {
            let Some((at, _dir)) = location(backend, &format!("{test}_{batch}_{submitted}")) else { return };
            let mut durable = Durable::new(seeds(), open(&at)).with_cache_limit(2).with_snapshot_every(5);
            let entries = if submitted {
                submit_run(&mut durable, &lines, 1, batch)
            } else {
                run(&mut durable, &lines, 1, batch)
            };
            let how = if submitted { "submitted" } else { "applied" };
            assert_eq!(stored(&mut *durable.store()), expected, "batches of {batch}, {how}");
            let kept: Vec<String> = entries.iter().filter(|e| e.owed_key().is_some()).map(Entry::to_json).collect();
            assert_eq!(kept, expected, "what batches of {batch} returned, {how}");
            let again = run(&mut Durable::new(seeds(), open(&at)), &lines, 1, batch);
            let rejects = |entries: &[Entry]| entries.iter().all(|e| matches!(e, Entry::Reject { .. }));
            assert!(rejects(&again), "batches of {batch}, {how}: every id was kept");
            let again = submit_run(&mut Durable::new(seeds(), open(&at)), &lines, 1, batch);
            assert!(rejects(&again), "batches of {batch}, {how}: every id was kept (submitted again)");
        }
    }
}

/// An event whose id holds the NUL character: SQLite keeps it like any other; PostgreSQL's text
/// cannot hold one, so that event alone is rejected, with the reason, and the rest of its batch
/// is kept (it used to fail the whole batch, every time it was given again).
fn an_id_with_a_nul_character_is_kept_or_rejected_alone(backend: Backend, test: &str) {
    let Some((at, _dir)) = location(backend, test) else { return };
    let payment = |id: &str, minute: u32| {
        format!(
            r#"{{"type":"payment","id":"{id}","account":"u1","at":"2026-02-03T10:{minute:02}:00+09:00","amount":1200,"method":"paypay_balance","merchant":{{"tags":["ama-toku-4"]}}}}"#
        )
    };
    let lines = [payment("ok1", 15), payment("bad\\u0000id", 16), payment("ok2", 17)];
    let numbered: Vec<Line<'_>> = lines.iter().enumerate().map(|(i, text)| Line { number: i + 1, text }).collect();
    let mut durable = Durable::new(seeds(), open(&at));
    let applied = durable.apply(&numbered).unwrap_or_else(|e| panic!("{e}"));
    let outcomes: Vec<Outcome> = applied.lines.iter().map(|(o, _)| *o).collect();
    let rejects: Vec<&str> = applied
        .entries
        .iter()
        .filter_map(|e| match e {
            Entry::Reject { error, .. } => Some(error.as_str()),
            _ => None,
        })
        .collect();
    match backend {
        Backend::Sqlite => {
            assert_eq!(outcomes, [Outcome::Accepted; 3]);
            assert!(rejects.is_empty(), "{rejects:?}");
        }
        Backend::Postgres => {
            assert_eq!(outcomes, [Outcome::Accepted, Outcome::Rejected, Outcome::Accepted]);
            assert!(rejects.len() == 1 && rejects[0].contains("NUL character"), "{rejects:?}");
        }
    }
    // What was kept reads back in a new process as what this one printed, less the reject.
    let printed: Vec<&String> = applied
        .json
        .iter()
        .zip(&applied.entries)
        .filter(|(_, e)| !matches!(e, Entry::Reject { .. }))
        .map(|(j, _)| j)
        .collect();
    let kept = stored(open(&at).as_mut());
    assert_eq!(kept.iter().collect::<Vec<_>>(), printed);
    assert_eq!(kept.len(), if matches!(backend, Backend::Sqlite) { 3 } else { 2 }, "{kept:?}");
}

/// Ids are texts from events: quotes, backslashes, control characters, non-ASCII and
/// near-duplicates must all be found again, exactly, with their hashes and owners (SQLite
/// looks a batch's ids up through one JSON array).
fn ids_of_any_text_are_found_again(backend: Backend, test: &str) {
    let Some((at, _dir)) = location(backend, test) else { return };
    let ids = [
        "plain",
        "with \"quotes\"",
        "back\\slash",
        "tab\tand\nnewline",
        "\u{1}control",
        "日本語",
        "plain ",
        "Plain",
        "[\"json\"]",
    ];
    let accepted: Vec<camp_store::Accepted> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| camp_store::Accepted {
            id: id.to_string(),
            hash: 1000 + i as u64,
            account: format!("account {i}"),
            payment: i % 2 == 0,
        })
        .collect();
    let mut store = open(&at);
    store.transact(&mut |tx| tx.accept(&accepted)).unwrap_or_else(|e| panic!("{e}"));
    let mut asked: Vec<camp_runtime::Id> = ids.iter().map(|id| camp_runtime::Id::from(*id)).collect();
    asked.extend(["unknown".into(), "".into()]);
    if matches!(backend, Backend::Sqlite) {
        // PostgreSQL's text holds no NUL character at all (it refuses the whole statement).
        asked.push("plain\u{0}".into());
    }
    let mut found = Vec::new();
    let mut owners = Vec::new();
    store
        .transact(&mut |tx| {
            found = tx.accepted(&asked)?;
            owners = tx.owners(&asked)?;
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    found.sort();
    let mut expected: Vec<(String, u64)> = accepted.iter().map(|a| (a.id.clone(), a.hash)).collect();
    expected.sort();
    assert_eq!(found, expected);
    owners.sort();
    let mut expected: Vec<(String, String)> =
        accepted.iter().filter(|a| a.payment).map(|a| (a.id.clone(), a.account.clone())).collect();
    expected.sort();
    assert_eq!(owners, expected);
}

fn the_stored_ledger_is_the_ledger_of_one_run(backend: Backend, test: &str) {
    let Some((at, _dir)) = location(backend, test) else { return };
    let lines = events();
    let mut durable = Durable::new(seeds(), open(&at));
    let entries = run(&mut durable, &lines, 1, 37);
    let expected = in_memory(&lines);
    assert!(expected.len() > 100, "the stream earns: {} entries", expected.len());
    assert_eq!(stored(&mut *durable.store()), expected);
    let kept: Vec<String> = entries.iter().filter(|e| e.owed_key().is_some()).map(Entry::to_json).collect();
    assert_eq!(kept, expected, "what apply returns is what it kept");
    let rejects = entries.iter().filter(|e| matches!(e, Entry::Reject { .. })).count();
    assert!(rejects >= 2, "the bad line and the changed event are rejected ({rejects})");
}

fn a_second_run_over_the_same_events_writes_nothing_new(backend: Backend, test: &str) {
    let Some((at, _dir)) = location(backend, test) else { return };
    let lines = events();
    run(&mut Durable::new(seeds(), open(&at)), &lines, 1, 50);
    let first = stored(open(&at).as_mut());
    let mut again = Durable::new(seeds(), open(&at));
    let entries = run(&mut again, &lines, 1, 50);
    assert!(entries.iter().all(|e| matches!(e, Entry::Reject { .. })), "only rejects the second time");
    assert_eq!(stored(&mut *again.store()), first);
}

fn a_run_resumed_in_a_new_process_continues_where_the_last_stopped(backend: Backend, test: &str) {
    let lines = events();
    for cut in [1, 150, 333] {
        let Some((at, _dir)) = location(backend, &format!("{test}_{cut}")) else { return };
        run(&mut Durable::new(seeds(), open(&at)), &lines[..cut], 1, 64);
        // The new process is given the whole file again: what was accepted is skipped.
        run(&mut Durable::new(seeds(), open(&at)), &lines, 1, 64);
        assert_eq!(stored(open(&at).as_mut()), in_memory(&lines), "cut after {cut} lines");
    }
}

/// A run given events it accepted before, in a new process, reads back only the accounts of
/// the events it processes: those not accepted the first time (rejected), and those whose
/// payments they name. The events accepted before are duplicates, which need no account:
/// reading every account back made a resumed run over a long file take many times as long as
/// the first.
fn a_run_resumed_over_accepted_events_reads_back_only_the_accounts_it_changes(backend: Backend, test: &str) {
    let Some((at, _dir)) = location(backend, test) else { return };
    let mut lines: Vec<String> = camp_runtime::synthetic::stream(600, 60, 11).collect();
    // Rejected the first time and processed again the second: a refund of a payment nobody
    // made (its account must be read back), and other content under a used id (found
    // accepted before: its account need not be).
    let u4 =
        r#"{"type":"refund","id":"x1","account":"u4","at":"2026-06-01T00:00:00+09:00","payment":"none","amount":100}"#;
    lines.push(u4.to_string());
    lines.push(lines[0].replace("\"amount\":", "\"amount\":1"));
    let first = run(&mut Durable::new(seeds(), open(&at)), &lines, 1, 50);
    let rejects = first.iter().filter(|e| matches!(e, Entry::Reject { .. })).count();
    assert!(rejects >= 2, "the two planted events are rejected ({rejects})");
    let event = |line: usize| camp_runtime::event::parse_line(&lines[line - 1]).ok().flatten().map(|(event, _)| event);
    // The accounts the second run may read: those of events rejected the first time, and
    // the owners of the payments those name.
    let mut needed = BTreeSet::new();
    for e in &first {
        if let Entry::Reject { line, .. } = e
            && let Some(event) = event(*line)
        {
            needed.insert(event.account.to_string());
            let named = match &event.kind {
                camp_runtime::EventKind::Refund { payment, .. } | camp_runtime::EventKind::Complete { payment } => {
                    Some(payment.clone())
                }
                _ => None,
            };
            let owner = named.and_then(|p| {
                lines.iter().find_map(|l| {
                    let (e, _) = camp_runtime::event::parse_line(l).ok().flatten()?;
                    (&*e.id == p.as_str()).then(|| e.account.to_string())
                })
            });
            needed.extend(owner);
        }
    }
    let all: BTreeSet<String> = (1..=lines.len()).filter_map(event).map(|e| e.account.to_string()).collect();
    assert!(needed.len() < all.len() / 2, "most accounts have no rejected event: {} of {}", needed.len(), all.len());
    let read = std::sync::Arc::new(std::sync::Mutex::new(BTreeSet::new()));
    let counting = Box::new(Counting { inner: open(&at), read: std::sync::Arc::clone(&read) });
    let again = run(&mut Durable::new(seeds(), counting), &lines, 1, 50);
    assert!(again.iter().all(|e| matches!(e, Entry::Reject { .. })), "nothing new is kept");
    let read = read.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    assert!(read.contains("u4"), "the account of an event processed again is read back: {read:?}");
    let extra: Vec<&String> = read.difference(&needed).collect();
    assert!(extra.is_empty(), "accounts read back though all their events were accepted before: {extra:?}");
}

/// A store that notes which accounts are read back from it ([`Tx::load`]).
struct Counting {
    inner: Box<dyn Store>,
    read: std::sync::Arc<std::sync::Mutex<BTreeSet<String>>>,
}

impl Store for Counting {
    fn transact(&mut self, work: &mut dyn FnMut(&mut dyn Tx) -> Result<(), StoreError>) -> Result<(), StoreError> {
        let read = &self.read;
        self.inner.transact(&mut |tx| work(&mut CountingTx { inner: tx, read }))
    }

    fn ledger(&mut self, filter: &LedgerFilter) -> Result<Vec<String>, StoreError> {
        self.inner.ledger(filter)
    }

    fn describe(&self) -> String {
        "counting".into()
    }

    fn holds_nul(&self) -> bool {
        self.inner.holds_nul()
    }

    fn sees_other_writers(&self) -> bool {
        self.inner.sees_other_writers()
    }
}

/// [`Counting`]'s transaction: the wrapped one's, every account read back noted.
struct CountingTx<'t> {
    inner: &'t mut dyn Tx,
    read: &'t std::sync::Mutex<BTreeSet<String>>,
}

impl Tx for CountingTx<'_> {
    fn lock_accounts(&mut self, accounts: &[camp_runtime::Id]) -> Result<(), StoreError> {
        self.inner.lock_accounts(accounts)
    }
    fn accepted(&mut self, ids: &[camp_runtime::Id]) -> Result<Vec<(String, u64)>, StoreError> {
        self.inner.accepted(ids)
    }
    fn owners(&mut self, payments: &[camp_runtime::Id]) -> Result<Vec<(String, String)>, StoreError> {
        self.inner.owners(payments)
    }
    fn versions(&mut self, accounts: &[camp_runtime::Id]) -> Result<Vec<(String, i64)>, StoreError> {
        self.inner.versions(accounts)
    }
    fn load(&mut self, account: &str) -> Result<Option<camp_store::StoredAccount>, StoreError> {
        self.read.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(account.to_string());
        self.inner.load(account)
    }
    fn accept(&mut self, events: &[camp_store::Accepted]) -> Result<(), StoreError> {
        self.inner.accept(events)
    }
    fn journal(&mut self, events: &[camp_store::Journaled<'_>]) -> Result<Vec<i64>, StoreError> {
        self.inner.journal(events)
    }
    fn program(&mut self, hash: u64, sources: &str) -> Result<i64, StoreError> {
        self.inner.program(hash, sources)
    }
    fn program_sources(&mut self, id: i64) -> Result<Option<String>, StoreError> {
        self.inner.program_sources(id)
    }
    fn put_accounts(&mut self, accounts: &[(String, i64, String)]) -> Result<(), StoreError> {
        self.inner.put_accounts(accounts)
    }
    fn put_payments(&mut self, payments: &[camp_store::StoredPayment]) -> Result<(), StoreError> {
        self.inner.put_payments(payments)
    }
    fn data_version(&mut self) -> Result<Option<i64>, StoreError> {
        self.inner.data_version()
    }
    fn next_position(&mut self) -> Result<Option<i64>, StoreError> {
        self.inner.next_position()
    }
}

/// A store that fails transactions after their work, before committing: the next one when
/// `fail_next`, and about one in `every` (when not 0) picked at random from a seed. It tells
/// what the store it wraps tells of other writers and of the NUL character, as `Counting`
/// does.
struct Failing {
    inner: Box<dyn Store>,
    fail_next: bool,
    every: u64,
    state: u64,
    /// How many transactions it failed.
    planted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Failing {
    fn next(inner: Box<dyn Store>, fail_next: bool) -> Box<Failing> {
        Box::new(Failing { inner, fail_next, every: 0, state: 0, planted: Default::default() })
    }

    fn at_random(
        inner: Box<dyn Store>,
        every: u64,
        seed: u64,
        planted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    ) -> Box<Failing> {
        Box::new(Failing { inner, fail_next: false, every, state: 0x9e37_79b9_7f4a_7c15 ^ seed, planted })
    }
}

impl Store for Failing {
    fn transact(&mut self, work: &mut dyn FnMut(&mut dyn Tx) -> Result<(), StoreError>) -> Result<(), StoreError> {
        // xorshift64: the same failures for the same seed, in no pattern the batches follow.
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        let fail = std::mem::take(&mut self.fail_next) || (self.every > 0 && self.state.is_multiple_of(self.every));
        let planted = &self.planted;
        self.inner.transact(&mut |tx| {
            work(tx)?;
            if fail {
                planted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Err(StoreError("the disk is full (planted)".into()))
            } else {
                Ok(())
            }
        })
    }

    fn ledger(&mut self, filter: &LedgerFilter) -> Result<Vec<String>, StoreError> {
        self.inner.ledger(filter)
    }

    fn describe(&self) -> String {
        "failing".into()
    }

    fn holds_nul(&self) -> bool {
        self.inner.holds_nul()
    }

    fn sees_other_writers(&self) -> bool {
        self.inner.sees_other_writers()
    }
}

fn a_batch_that_fails_keeps_nothing_and_can_be_given_again(backend: Backend, test: &str) {
    let Some((at, _dir)) = location(backend, test) else { return };
    let lines = events();
    let numbered: Vec<Line<'_>> = lines.iter().enumerate().map(|(i, text)| Line { number: i + 1, text }).collect();
    let mut durable = Durable::new(seeds(), Failing::next(open(&at), false));
    let mut failures = 0;
    for (n, chunk) in numbered.chunks(40).enumerate() {
        if n % 3 == 1 {
            // Make this batch fail once: nothing of it may be kept, and memory must not run
            // ahead of the store.
            let before = stored(open(&at).as_mut());
            let mut failing = Durable::new(seeds(), Failing::next(open(&at), true));
            assert!(failing.apply(chunk).is_err(), "the planted failure reaches the caller");
            assert_eq!(stored(open(&at).as_mut()), before, "a failed batch keeps nothing");
            failures += 1;
            // The same Durable fails too, then is given the batch again.
            durable = Durable::new(seeds(), Failing::next(open(&at), true));
            assert!(durable.apply(chunk).is_err());
        }
        durable.apply(chunk).unwrap_or_else(|e| panic!("{e}"));
    }
    assert!(failures > 3);
    assert_eq!(stored(open(&at).as_mut()), in_memory(&lines));
}

/// A batch processed while the one before it is written is processed against reads made
/// before anyone else could write. When another process commits before it is written, it is
/// done again against what that process wrote: the ledger is that of the events in the order
/// they were kept.
fn a_batch_processed_before_another_process_wrote_is_done_again(backend: Backend, test: &str) {
    let Some((at, _dir)) = location(backend, test) else { return };
    let lines = events();
    let (start, rest) = lines.split_at(200);
    let (theirs, ours) = rest.split_at(100);
    let mut a = Durable::new(seeds(), open(&at));
    submit_run(&mut a, start, 1, 50);
    let (send, told) = std::sync::mpsc::channel();
    let decoded: Vec<Decoded> = ours[..60].iter().enumerate().map(|(i, text)| Decoded::line(301 + i, text)).collect();
    a.submit(decoded, Box::new(move |outcome| drop(send.send(outcome))));
    // On SQLite the batch waits to be written; PostgreSQL cannot tell whether anyone else
    // wrote, so it was written at once.
    let waiting = a.has_pending();
    assert_eq!(waiting, matches!(backend, Backend::Sqlite), "whether the batch waits");
    run(&mut Durable::new(seeds(), open(&at)), theirs, 201, 100);
    a.flush();
    let ours_first = told.recv().unwrap_or_else(|_| panic!("the batch was never told"));
    let entries = ours_first.unwrap_or_else(|e| panic!("the batch was not kept: {e}")).entries;
    submit_run(&mut a, &ours[60..], 361, 50);
    let kept_order: Vec<String> =
        if waiting { lines.clone() } else { [start, &ours[..60], theirs, &ours[60..]].concat() };
    let expected = in_memory(&kept_order);
    assert_eq!(stored(&mut *a.store()), expected, "the ledger of the events in the order kept");
    let mut rt = seeds();
    let earlier = if waiting { &lines[..300] } else { start };
    for (i, line) in earlier.iter().enumerate() {
        rt.process_line(i + 1, line);
    }
    let own: Vec<String> = ours[..60]
        .iter()
        .enumerate()
        .flat_map(|(i, line)| rt.process_line(301 + i, line))
        .map(|e| e.to_json())
        .collect();
    assert_eq!(entries.iter().map(Entry::to_json).collect::<Vec<_>>(), own, "what the batch was told");
}

/// Batches submitted one after another while transactions fail now and then (the one that
/// writes a batch, the one that makes its reads, the one that writes the batch before): a
/// batch told it failed kept nothing, every other batch is kept once, against the batches
/// kept before it, and the failed ones given again are kept too.
fn batches_processed_while_others_fail_are_kept_once_and_right(backend: Backend, test: &str) {
    let lines = events();
    for (every, seed) in [(3, 1), (4, 2), (7, 3), (3, 4)] {
        let Some((at, _dir)) = location(backend, &format!("{test}_{every}_{seed}")) else { return };
        let planted = std::sync::Arc::default();
        let failing = Failing::at_random(open(&at), every, seed, std::sync::Arc::clone(&planted));
        let mut durable = Durable::new(seeds(), failing).with_snapshot_every(3);
        let outcomes = submit_all(&mut durable, &lines, 1, 13);
        assert_eq!(outcomes.len(), lines.len().div_ceil(13), "every batch is told once");
        let (kept, failed): (Vec<Submitted>, Vec<Submitted>) = outcomes.into_iter().partition(|(_, o)| o.is_ok());
        assert!(failed.len() >= 3, "one transaction in {every} failed: {} batches failed", failed.len());
        // A transaction writes one batch at most: only the planted failures fail batches, and
        // the store recovers from each (the batches processed meanwhile are done again).
        let planted = planted.load(std::sync::atomic::Ordering::Relaxed);
        assert!(failed.len() <= planted, "every {every}: {} batches failed, {planted} planted failures", failed.len());
        let line = |n: &usize| lines[n - 1].clone();
        let mut order: Vec<String> = kept.iter().flat_map(|(numbers, _)| numbers.iter().map(line)).collect();
        assert_eq!(stored(open(&at).as_mut()), in_memory(&order), "every {every}: the batches kept, in order");
        // The failed batches given again, on the store alone.
        let mut again = Durable::new(seeds(), open(&at));
        for (numbers, _) in &failed {
            let texts: Vec<String> = numbers.iter().map(line).collect();
            submit_run(&mut again, &texts, numbers[0], texts.len());
            order.extend(texts);
        }
        assert_eq!(stored(&mut *again.store()), in_memory(&order), "every {every}: the failed batches kept after");
    }
}

fn a_small_account_cache_reads_accounts_back_from_the_store(backend: Backend, test: &str) {
    let Some((at, _dir)) = location(backend, test) else { return };
    // At most 3 accounts stay in memory between batches: the others are read back each time.
    let lines = events();
    let mut durable = Durable::new(seeds(), open(&at)).with_cache_limit(3);
    run(&mut durable, &lines, 1, 5);
    let kept = durable.runtime().account_count();
    assert!(kept <= 5, "the cache holds its limit, or the last batch's accounts when more: {kept} kept");
    assert_eq!(stored(&mut *durable.store()), in_memory(&lines));
}

/// With four accounts kept in memory, a batch of a fifth account drops the one used longest
/// ago, not the others: they are not read back when their next events come.
fn past_the_cache_limit_the_accounts_used_longest_ago_leave_memory(backend: Backend, test: &str) {
    let Some((at, _dir)) = location(backend, test) else { return };
    let read = std::sync::Arc::new(std::sync::Mutex::new(BTreeSet::new()));
    let counting = Box::new(Counting { inner: open(&at), read: std::sync::Arc::clone(&read) });
    let mut durable = Durable::new(seeds(), counting).with_cache_limit(4);
    let mut minute = 0;
    let mut pay = |accounts: &[&str]| -> Vec<String> {
        accounts
            .iter()
            .map(|account| {
                minute += 1;
                format!(
                    r#"{{"type":"payment","id":"p{minute}","account":"{account}","at":"2026-02-03T10:{minute:02}:00+09:00","amount":1200,"method":"paypay_balance","merchant":{{"tags":["ama-toku-4"]}}}}"#
                )
            })
            .collect()
    };
    let mut lines = Vec::new();
    let mut batch = |durable: &mut Durable, accounts: &[&str]| -> BTreeSet<String> {
        let texts = pay(accounts);
        read.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
        run(durable, &texts, lines.len() + 1, texts.len());
        lines.extend(texts);
        read.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    };
    batch(&mut durable, &["m1", "m2", "m3", "m4"]);
    batch(&mut durable, &["m5"]);
    assert_eq!(durable.runtime().account_count(), 4, "a fifth account makes one leave");
    let read = batch(&mut durable, &["m2", "m3", "m4"]);
    assert!(!read.iter().any(|a| ["m2", "m3", "m4"].contains(&a.as_str())), "used since m1, kept: {read:?}");
    let read = batch(&mut durable, &["m1"]);
    assert!(read.contains("m1"), "used longest ago, m1 left memory and is read back: {read:?}");
    assert_eq!(stored(&mut *durable.store()), in_memory(&lines));
}

fn snapshots_after_every_batch_or_seldom_keep_the_same_ledger(backend: Backend, test: &str) {
    let lines = events();
    for every in [1, 3, 1000] {
        let Some((at, _dir)) = location(backend, &format!("{test}_{every}")) else { return };
        // Two accounts in memory at most: nearly every batch reads its accounts back, from a
        // snapshot and the journal since.
        let mut durable = Durable::new(seeds(), open(&at)).with_cache_limit(2).with_snapshot_every(every);
        run(&mut durable, &lines, 1, 4);
        assert_eq!(stored(&mut *durable.store()), in_memory(&lines), "a snapshot every {every} events");
    }
}

fn events_read_back_are_replayed_with_the_campaigns_that_processed_them(backend: Backend, test: &str) {
    let Some((at, _dir)) = location(backend, test) else { return };
    let lines = events();
    // Line 250 is in late March: what the first part used of March's d POINT caps limits the last.
    let (first, rest) = lines.split_at(250);
    let (second, third) = rest.split_at(10);
    let changed = seeds_with_dpoint_doubled();

    // What one runtime in memory writes, reloaded after the first part.
    let expected = kept_by_line(&mut seeds(), &lines, |i, rt| {
        if i == first.len() {
            rt.reload_sources(&files(&changed), None).unwrap_or_else(|e| panic!("{e}"));
        }
    });
    // What replaying every event with the changed campaigns would lead to.
    let wrong = kept_by_line(&mut load(&changed), &lines, |_, _| {});
    let from = first.len() + second.len();
    assert!(expected[from..] != wrong[from..], "a wrong replay would change the last part's entries");

    // No snapshots: every account's state is its journal. The first part is processed by the
    // seeds, the second after a reload to the changed campaigns.
    let mut durable = Durable::new(seeds(), open(&at)).with_snapshot_every(100_000);
    run(&mut durable, first, 1, 25);
    durable.reload(&files(&changed), None).unwrap_or_else(|e| panic!("{e}"));
    run(&mut durable, second, first.len() + 1, 25);
    drop(durable);
    // A new process with the changed campaigns reads every account back: the first part's
    // events must be replayed by the seeds, not by what is live now.
    let mut later = Durable::new(load(&changed), open(&at)).with_snapshot_every(100_000);
    run(&mut later, third, from + 1, 25);
    assert!(stored(&mut *later.store()) == expected.concat(), "the stored ledger is the reloaded runtime's");
}

/// Schema 2 found an account's journal rows through an index by (account, position); schema 3
/// through each account's last row (`heads`) and each row's link to the one before (`prev`).
/// A store of schema 2 is migrated: its rows are linked, and accounts read back from it (a
/// cache of two) replay their journals whole, old rows and new.
fn a_store_of_the_second_schema_is_migrated_and_kept(backend: Backend, test: &str) {
    let Some((at, _dir)) = location(backend, test) else { return };
    let lines = events();
    // A schema-2 store from this build's: seldom snapshots, so journals are long.
    run(&mut Durable::new(seeds(), open(&at)).with_snapshot_every(40), &lines[..250], 1, 10);
    let second_schema = "DROP TABLE heads; ALTER TABLE journal DROP COLUMN prev;
         CREATE INDEX journal_by_account ON journal (account, seq);";
    match backend {
        Backend::Sqlite => {
            let c = rusqlite::Connection::open(&at).unwrap_or_else(|e| panic!("{e}"));
            c.execute_batch(second_schema).unwrap_or_else(|e| panic!("{e}"));
            drop(c);
            assert_eq!(rusqlite_version(&at, Some(2)), 2);
        }
        Backend::Postgres => {
            let mut c = ::postgres::Client::connect(&at, ::postgres::NoTls).unwrap_or_else(|e| panic!("{e}"));
            c.batch_execute(second_schema).unwrap_or_else(|e| panic!("{e}"));
            c.batch_execute("UPDATE camp_schema SET version = 2").unwrap_or_else(|e| panic!("{e}"));
        }
    }
    let mut durable = Durable::new(seeds(), open(&at)).with_cache_limit(2).with_snapshot_every(40);
    run(&mut durable, &lines[250..], 251, 10);
    let expected = in_memory(&lines);
    assert_eq!(stored(&mut *durable.store()), expected);
    for account in ["u1", "u2", "u7"] {
        let filter = LedgerFilter { account: Some(account.to_string()), campaign: None };
        let by_account = durable.store().ledger(&filter).unwrap_or_else(|e| panic!("{e}"));
        let named = format!("\"account\":\"{account}\"");
        let want: Vec<String> = expected.iter().filter(|e| e.contains(&named)).cloned().collect();
        assert!(!want.is_empty(), "account {account} has entries");
        assert_eq!(by_account, want, "account {account}'s ledger, old rows and new");
    }
    if let Backend::Sqlite = backend {
        assert_eq!(rusqlite_version(&at, None), camp_store::SCHEMA_VERSION);
    }
}

fn a_store_of_the_first_schema_is_migrated_and_kept(backend: Backend, test: &str) {
    let Some((at, _dir)) = location(backend, test) else { return };
    let lines = events();
    let (first, _) = lines.split_at(250);
    // Schema 1 kept every account's state after every batch, its entries in one `ledger`
    // table, and had no journal: make such a store from this build's (a snapshot after every
    // batch), copy the entries to schema 1's table, take the journal away and give the
    // accounts schema 1's versions (how many batches changed them).
    run(&mut Durable::new(seeds(), open(&at)).with_snapshot_every(1), first, 1, 10);
    let entries = stored(open(&at).as_mut());
    let field = |entry: &str, name: &str| -> String {
        let value: serde_json::Value = serde_json::from_str(entry).unwrap_or_else(|e| panic!("{e}"));
        value[name].as_str().unwrap_or_else(|| panic!("{name} in {entry}")).to_string()
    };
    let rows: Vec<[String; 5]> = entries
        .iter()
        .map(|e| [field(e, "account"), field(e, "campaign"), field(e, "payment"), field(e, "event"), e.clone()])
        .collect();
    let first_schema = "DROP TABLE campaign_entries; DROP TABLE journal; DROP TABLE programs; DROP TABLE heads;
         UPDATE accounts SET version = 7;";
    let insert = "INSERT INTO ledger (account, campaign, payment, event, entry) VALUES ($1, $2, $3, $4, $5)";
    match backend {
        Backend::Sqlite => {
            let c = rusqlite::Connection::open(&at).unwrap_or_else(|e| panic!("{e}"));
            for row in &rows {
                c.execute(insert, rusqlite::params_from_iter(row.iter())).unwrap_or_else(|e| panic!("{e}"));
            }
            c.execute_batch(first_schema).unwrap_or_else(|e| panic!("{e}"));
            drop(c);
            assert_eq!(rusqlite_version(&at, Some(1)), 1);
        }
        Backend::Postgres => {
            let mut c = ::postgres::Client::connect(&at, ::postgres::NoTls).unwrap_or_else(|e| panic!("{e}"));
            for [a, b, p, v, e] in &rows {
                c.execute(insert, &[a, b, p, v, e]).unwrap_or_else(|e| panic!("{e}"));
            }
            c.batch_execute(first_schema).unwrap_or_else(|e| panic!("{e}"));
            c.batch_execute("UPDATE camp_schema SET version = 1").unwrap_or_else(|e| panic!("{e}"));
        }
    }
    assert_eq!(stored(open(&at).as_mut()), in_memory(first), "schema 1's entries are read after the migration");
    // Opened by this build, the store is migrated; with a small cache, accounts are read back
    // again and again, from the old snapshots and the new journal.
    let mut durable = Durable::new(seeds(), open(&at)).with_cache_limit(2).with_snapshot_every(5);
    run(&mut durable, &lines, 1, 10);
    assert_eq!(stored(&mut *durable.store()), in_memory(&lines));
    if let Backend::Sqlite = backend {
        assert_eq!(rusqlite_version(&at, None), camp_store::SCHEMA_VERSION);
    }
}

fn two_processes_sharing_a_store_never_exceed_a_cap(backend: Backend, test: &str) {
    let Some((at, _dir)) = location(backend, test) else { return };
    // Two runtimes, each with its own connection and its own accounts in memory, take turns
    // on the same accounts: each must see what the other wrote.
    let lines = events();
    let mut a = Durable::new(seeds(), open(&at));
    let mut b = Durable::new(seeds(), open(&at));
    let numbered: Vec<Line<'_>> = lines.iter().enumerate().map(|(i, text)| Line { number: i + 1, text }).collect();
    for (n, chunk) in numbered.chunks(7).enumerate() {
        let process = if n % 2 == 0 { &mut a } else { &mut b };
        process.apply(chunk).unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(stored(&mut *a.store()), in_memory(&lines));
}

/// A process reads again an account it holds once another process may have written it,
/// even when a batch of its own on other accounts came between (and no one wrote since).
fn an_account_another_process_wrote_is_read_again_after_batches_on_others(backend: Backend, test: &str) {
    let Some((at, _dir)) = location(backend, test) else { return };
    let payment = |id: &str, account: &str, minute: u32| {
        format!(
            r#"{{"type":"payment","id":"{id}","account":"{account}","at":"2026-01-31T15:{minute:02}:00+00:00","amount":12350,"method":"paypay_credit","merchant":{{"tags":["ama-toku-4"],"class":"small"}}}}"#
        )
    };
    let lines = [
        payment("p1", "u1", 0),
        payment("p2", "u1", 1),
        payment("p3", "u2", 2),
        r#"{"type":"refund","id":"r1","account":"u1","at":"2026-01-31T15:03:00+00:00","payment":"p2","amount":12350}"#
            .to_string(),
    ];
    let mut a = Durable::new(seeds(), open(&at));
    let mut b = Durable::new(seeds(), open(&at));
    let numbered: Vec<Line<'_>> = lines.iter().enumerate().map(|(i, text)| Line { number: i + 1, text }).collect();
    // a holds u1; b pays on u1; a works on u2 only, then refunds b's payment on u1.
    for (by_b, line) in [false, true, false, false].into_iter().zip(&numbered) {
        let process = if by_b { &mut b } else { &mut a };
        process.apply(std::slice::from_ref(line)).unwrap_or_else(|e| panic!("{e}"));
    }
    let expected = in_memory(&lines);
    assert!(expected.iter().any(|e| e.contains(r#""payment":"p2""#) && e.contains("adjust")), "{expected:?}");
    assert_eq!(stored(&mut *a.store()), expected);
}

fn two_processes_given_the_same_stream_at_once_accept_each_event_once(backend: Backend, test: &str) {
    // Both go through the stream in order, at the same time, each in its own thread with its
    // own connection: a batch is kept by whichever locks its accounts first, and is a
    // duplicate for the other. Which one wins changes from run to run, so it is run many
    // times: a process that acts on an account's state without reading what the other wrote
    // shows up in about one run in forty (it did, when SQLite's `data_version` alone decided
    // whether to read the versions of accounts memory held, some of which had been read
    // before the other process wrote; now it is the epoch memory learnt each one in).
    let lines = events();
    let mut rt = seeds();
    let should: BTreeSet<usize> = lines
        .iter()
        .enumerate()
        .filter(|(i, l)| !rt.process_line(i + 1, l).iter().any(|e| matches!(e, Entry::Reject { .. })))
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, _)| i + 1)
        .filter(|n| !lines[..n - 1].contains(&lines[n - 1])) // a repeated line is a duplicate
        .collect();
    let expected = in_memory(&lines);
    let rounds = match backend {
        Backend::Sqlite => 40,
        Backend::Postgres => 8,
    };
    for round in 0..rounds {
        let Some((at, _dir)) = location(backend, &format!("{test}_{round}")) else { return };
        let accepted: Vec<Vec<usize>> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..2)
                .map(|worker| {
                    let (lines, at) = (&lines, &at);
                    // Each batch is processed while the one before is written (and checked,
                    // when written, against what the other process committed meanwhile), or
                    // done whole in one transaction: both, and one of each, in turn.
                    let submitted = match round % 3 {
                        0 => true,
                        1 => false,
                        _ => worker == 0,
                    };
                    scope.spawn(move || {
                        let mut durable = Durable::new(seeds(), open(at));
                        let numbered: Vec<Line<'_>> =
                            lines.iter().enumerate().map(|(i, text)| Line { number: i + 1, text }).collect();
                        let mut mine = Vec::new();
                        let mut keep = |numbers: &[usize], applied: &Applied| {
                            let outcomes = applied.lines.iter().map(|(outcome, _)| *outcome);
                            mine.extend(
                                numbers.iter().zip(outcomes).filter(|(_, o)| *o == Outcome::Accepted).map(|(n, _)| *n),
                            );
                        };
                        if submitted {
                            for (numbers, outcome) in submit_all(&mut durable, lines, 1, 9) {
                                keep(&numbers, &outcome.unwrap_or_else(|e| panic!("{e}")));
                            }
                        } else {
                            for chunk in numbered.chunks(9) {
                                let applied = durable.apply(chunk).unwrap_or_else(|e| panic!("{e}"));
                                keep(&chunk.iter().map(|l| l.number).collect::<Vec<_>>(), &applied);
                            }
                        }
                        mine
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap_or_else(|_| panic!("a worker panicked"))).collect()
        });
        let twice: Vec<&usize> = accepted[0].iter().filter(|n| accepted[1].contains(n)).collect();
        assert!(twice.is_empty(), "round {round}: lines accepted by both: {twice:?}");
        let all: BTreeSet<usize> = accepted.concat().into_iter().collect();
        let wrong: Vec<&usize> = all.symmetric_difference(&should).collect();
        assert!(wrong.is_empty(), "round {round}: lines accepted or refused against one runtime's reading: {wrong:?}");
        assert!(stored(open(&at).as_mut()) == expected, "round {round}: the stored ledger is one runtime's");
    }
}

fn the_ledger_reads_by_account_and_campaign(backend: Backend, test: &str) {
    let Some((at, _dir)) = location(backend, test) else { return };
    let lines = events();
    let mut durable = Durable::new(seeds(), open(&at));
    run(&mut durable, &lines, 1, 100);
    let all = stored(&mut *durable.store());
    for (account, campaign) in [(Some("u3"), Some("ama-toku-4")), (Some("u3"), None), (None, Some("paypay-step"))] {
        let filter = LedgerFilter { account: account.map(str::to_string), campaign: campaign.map(str::to_string) };
        let some = durable.store().ledger(&filter).unwrap_or_else(|e| panic!("{e}"));
        let expected: Vec<String> = all
            .iter()
            .filter(|l| account.is_none_or(|a| l.contains(&format!(r#""account":"{a}""#))))
            .filter(|l| campaign.is_none_or(|c| l.contains(&format!(r#""campaign":"{c}""#))))
            .cloned()
            .collect();
        assert!(!expected.is_empty() && expected.len() < all.len(), "{filter:?} picks some entries");
        assert_eq!(some, expected, "{filter:?}");
    }
}

fn the_schema_is_versioned(backend: Backend, test: &str) {
    let Some((at, _dir)) = location(backend, test) else { return };
    drop(open(&at));
    drop(open(&at)); // opening again migrates nothing and keeps working
    match backend {
        Backend::Sqlite => {
            let c = rusqlite_version(&at, Some(99));
            assert_eq!(c, 99);
        }
        Backend::Postgres => {
            let mut c = ::postgres::Client::connect(&at, ::postgres::NoTls).unwrap_or_else(|e| panic!("{e}"));
            c.batch_execute("UPDATE camp_schema SET version = 99").unwrap_or_else(|e| panic!("{e}"));
        }
    }
    let refused = camp_store::open(&at).map(|_| ()).expect_err("a newer schema is refused");
    assert!(refused.to_string().contains("schema version 99"), "{refused}");
}

/// Sets SQLite's schema version (`PRAGMA user_version`) and reads it back.
fn rusqlite_version(path: &str, set: Option<i64>) -> i64 {
    let c = rusqlite::Connection::open(path).unwrap_or_else(|e| panic!("{e}"));
    if let Some(v) = set {
        c.pragma_update(None, "user_version", v).unwrap_or_else(|e| panic!("{e}"));
    }
    c.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap_or_else(|e| panic!("{e}"))
}
