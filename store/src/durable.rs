//! A runtime over a store: batches of events in, ledger entries out, each batch kept whole
//! or not at all.
//!
//! The runtime keeps accounts in memory as a cache of the store. Before a batch runs, the
//! accounts it touches are locked, and any whose stored version is not the one in memory
//! (another process wrote it, or it was never loaded) is read again; the version of an
//! account memory holds is read only when another connection may have committed since memory
//! last read or wrote it (it was in another epoch: on SQLite, `PRAGMA data_version` says when
//! one ends). After it runs, the ids
//! it accepted, the accepted events themselves (the journal) and the entries it wrote are
//! written in one transaction.
//!
//! A batch goes through three steps: its reads ([`read_batch`]: the ids accepted before, the
//! owners of the payments it names, its accounts' versions and the accounts to read again),
//! its processing (in memory), and its writes. [`Durable::apply`] does all three in one
//! transaction. [`Durable::submit`], on a store that can tell whether another connection
//! wrote ([`Store::sees_other_writers`]), hands the writes to a store thread and processes
//! the next batch meanwhile (see `pipeline.rs`).
//!
//! An account's state is not written with every event: the journal holds its events, and a
//! snapshot of its state is written after every [`DEFAULT_SNAPSHOT_EVERY`] of them. Reading
//! an account back restores its snapshot and replays the events since, each with the
//! campaigns that processed it then (the store keeps every program's sources), so a reload
//! between snapshot and replay changes nothing. When the store fails, memory is dropped,
//! since it may now be ahead of the store.

use std::collections::{HashMap, HashSet};
use std::hash::Hasher;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use camp_runtime::event::{self, Event, EventKind};
use camp_runtime::snapshot::{AccountState, PaymentState};
use camp_runtime::{Engine, Entry, Id, OwnedSource, Runtime};

use crate::pipeline::{self, Done, Job, Reply, Request, Shared};
use crate::{Accepted, JournalRow, Journaled, Store, StoreError, StoredAccount, StoredPayment, Tx};
/// One input line: its number in the input (from 1) and its text.
#[derive(Clone, Copy, Debug)]
pub struct Line<'a> {
    /// Its number, for reject entries.
    pub number: usize,
    /// Its text (one JSON event, or blank).
    pub text: &'a str,
}

/// What became of one line of a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Blank: skipped.
    Blank,
    /// Accepted now.
    Accepted,
    /// Accepted before, with the same content: changed nothing.
    Duplicate,
    /// Not accepted: its entry is a reject.
    Rejected,
}

/// What a batch did.
#[derive(Debug, Default)]
pub struct Applied {
    /// The entries of this batch in input order, rejects included.
    pub entries: Vec<Entry>,
    /// Each entry as its JSON line (what is kept, and what callers print or send), made once.
    pub json: Vec<String>,
    /// Per input line: what became of it, and the end of its entries in `entries` (a line's
    /// entries run from the previous line's end to its own).
    pub lines: Vec<(Outcome, usize)>,
    /// How many events were accepted now (not before).
    pub accepted: usize,
    /// How many were accepted before (duplicates with the same content).
    pub duplicates: usize,
}

/// A runtime whose every batch is kept in a store.
///
/// A batch [submitted](Durable::submit) may still be waiting to be written: call
/// [`Durable::flush`] (or [`Durable::close`]) before dropping it, or that batch is dropped
/// unwritten (its `done` is told so).
pub struct Durable {
    memory: Memory,
    shared: Arc<Mutex<Shared>>,
    /// Whether the store keeps ids holding the NUL character ([`Store::holds_nul`]).
    holds_nul: bool,
    /// Whether batches may be processed while the one before is written
    /// ([`Store::sees_other_writers`]).
    pipelines: bool,
    /// The live program's id in the store, once registered.
    program: Option<i64>,
    /// The store thread, once started.
    thread: Option<pipeline::Thread>,
    /// The batch processed last and not yet given to the store thread, and what the batch
    /// after it must know of it.
    pending: Option<(Box<Job>, Overlay)>,
}

impl std::fmt::Debug for Durable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Durable")
            .field("runtime", &self.memory.runtime)
            .field("accounts_kept", &self.memory.kept.len())
            .field("program", &self.program)
            .field("pending", &self.pending.is_some())
            .finish_non_exhaustive()
    }
}

/// What memory holds: the runtime's accounts, what is known of each in the store, and the
/// runtimes of earlier programs.
struct Memory {
    runtime: Runtime,
    /// Each account in memory: its stored version, and what its stored snapshot lacks.
    kept: KeptMap,
    /// The most accounts kept in memory between batches (the store keeps them all).
    cache_limit: usize,
    /// Batches processed so far: the clock that says which accounts were used last
    /// ([`Kept::used`]).
    batches: u64,
    /// An account's snapshot is written once this many of its events are not in it.
    snapshot_every: usize,
    /// Runtimes of earlier programs, for replaying the events they processed.
    earlier: HashMap<i64, Runtime>,
}

/// What the batch after a batch not yet committed must know of it: memory already holds
/// its accounts as the store will once it commits, but reads made before it commits do not
/// see it.
struct Overlay {
    /// Its accounts (read, locked and processed): neither read again nor dropped from memory.
    accounts: HashSet<Id, Ids>,
    /// The events it accepted, with their content hashes.
    accepted: HashMap<String, u64, Ids>,
    /// The journal position its last event was given, plus one.
    next_position: i64,
}

/// What is known of an account in memory.
#[derive(Debug, Default)]
struct Kept {
    /// Its version in the store ([`Tx::versions`]).
    version: i64,
    /// The epoch (`Turn::epoch`) whose transaction last read its version or wrote it: in
    /// transactions of that epoch its version is not read again.
    epoch: u64,
    /// Its events accepted since its stored snapshot.
    behind: usize,
    /// Its payments changed since its stored snapshot, as they changed (repeats included).
    payments: Vec<Id>,
    /// The last batch that used it ([`Memory::batches`]): past the cache limit, the accounts
    /// used longest ago leave memory first.
    used: u64,
}

/// Accounts in memory by id (the events' own ids, shared; hashed as the runtime's maps are).
type KeptMap = HashMap<Id, Kept, Ids>;

/// How the maps and sets keyed by ids hash: foldhash, seeded per map, as the runtime's are.
type Ids = foldhash::fast::RandomState;

/// Accounts kept in memory between batches unless [`Durable::with_cache_limit`] says otherwise.
pub const DEFAULT_CACHE_LIMIT: usize = 250_000;

/// An account's snapshot is written after this many of its events unless
/// [`Durable::with_snapshot_every`] says otherwise: reading an account back replays at most
/// this many events.
pub const DEFAULT_SNAPSHOT_EVERY: usize = 16;

/// A line decoded ahead of [`Durable::apply_decoded`]: decoding needs no state, so a service
/// can do it on other threads while the writer works.
#[derive(Clone, Debug)]
pub struct Decoded {
    /// Its number in the input, for reject entries.
    pub number: usize,
    what: Decoding,
}

#[derive(Clone, Debug)]
enum Decoding {
    Blank,
    Bad(event::Reject),
    /// The event, its content hash and its line (for the journal).
    Event(Box<Event>, u64, Box<str>),
}

impl Decoded {
    /// Decodes one line (numbered from 1) and hashes its content.
    pub fn line(number: usize, text: &str) -> Decoded {
        let what = match event::parse_line(text) {
            Ok(None) => Decoding::Blank,
            Ok(Some((event, hash))) => Decoding::Event(Box::new(event), hash, text.trim().into()),
            Err(reject) => Decoding::Bad(reject),
        };
        Decoded { number, what }
    }
}

/// The payment a refund, cancel or complete names.
fn named_payment(event: &Event) -> Option<&str> {
    match &event.kind {
        EventKind::Refund { payment, .. } | EventKind::Complete { payment } => Some(payment),
        _ => None,
    }
}

/// The ids an event names that a store keeps as text: its own, its account's and the payment
/// it names.
fn ids_of(event: &Event) -> impl Iterator<Item = &str> {
    [&*event.id, &*event.account].into_iter().chain(named_payment(event))
}

/// What a batch needs read from the store before it is processed.
pub(crate) struct Wanted {
    /// The live program (journal rows of any other are replayed with its sources).
    live: i64,
    /// Its events' ids.
    ids: Vec<Id>,
    /// Each event's account and the payment it names (refunds, cancels, completes), as `ids`
    /// lists the events.
    event_accounts: Vec<(Id, Option<Id>)>,
    /// Its events' accounts, each once.
    accounts: Vec<Id>,
    /// The version memory holds of each account it holds.
    known: HashMap<Id, Known, Ids>,
    /// Accounts memory holds as the store will once the batch in flight commits: neither
    /// their versions are read nor are they read again.
    current: HashSet<Id, Ids>,
}

impl Wanted {
    fn new(live: i64, current: HashSet<Id, Ids>) -> Wanted {
        Wanted {
            live,
            ids: Vec::new(),
            event_accounts: Vec::new(),
            accounts: Vec::new(),
            known: HashMap::default(),
            current,
        }
    }

    /// Adds an account to read (each once), with the version memory holds of it (none for an
    /// account of the batch in flight: it is not read).
    fn account(&mut self, memory: &Memory, account: &Id) {
        if !self.current.contains(account)
            && let Some(known) = known_in_memory(&memory.runtime, &memory.kept, account)
        {
            self.known.insert(Id::clone(account), known);
        }
        self.accounts.push(Id::clone(account));
    }
}

/// What the reads found.
pub(crate) struct Found {
    /// Of the payments named, those accepted before, with their accounts.
    owners: Vec<(String, String)>,
    /// The batch's accounts (its events' and the named payments' owners), each once, which
    /// memory holds as the store does once the batch is processed. Not those whose events
    /// were all accepted before: they are not read, so memory may hold them otherwise.
    accounts: Vec<Id>,
    /// Of its event ids, those accepted before, with their content hashes.
    before: HashMap<String, u64, Ids>,
    /// The accounts whose versions were read (all but the current ones).
    checked: Vec<Id>,
    /// Their versions, for those kept.
    versions: HashMap<String, i64, Ids>,
    /// The accounts read again, because memory holds another version or none (`None`: the
    /// store had nothing more to say).
    loaded: HashMap<Id, Option<StoredAccount>, Ids>,
    /// The sources of the earlier programs the loaded journals name.
    programs: HashMap<i64, String>,
    /// The journal's next position, when the store can say it.
    next_position: Option<i64>,
    /// The epoch of the transaction that made them.
    epoch: u64,
}

/// Makes a batch's reads in `tx`.
pub(crate) fn read_batch(tx: &mut dyn Tx, wanted: &Wanted, epoch: u64) -> Result<Found, StoreError> {
    let named: Vec<Id> = wanted.event_accounts.iter().filter_map(|(_, payment)| payment.clone()).collect();
    let owners = tx.owners(&named)?;
    // Each once: the events' accounts, then the named payments' owners not among them.
    let mut accounts: Vec<Id> = wanted.accounts.clone();
    if !owners.is_empty() {
        let mut seen: HashSet<&str, Ids> = wanted.accounts.iter().map(|a| &**a).collect();
        for (_, owner) in &owners {
            if seen.insert(owner) {
                accounts.push(Id::from(owner.as_str()));
            }
        }
    }
    tx.lock_accounts(&accounts)?;
    let before: HashMap<String, u64, Ids> = tx.accepted(&wanted.ids)?.into_iter().collect();
    // An account whose events in this batch were all accepted before is not read: those
    // events are duplicates (or other content under a used id, rejected), which read nothing
    // of their account. A run resumed over a file it had processed reads no account back for
    // the part done. Nor is it among the batch's accounts then: memory may not hold it as
    // the store does. (A batch of new events, the common case, has every account read.)
    if !before.is_empty() {
        let needed = accounts_of_new_events(wanted, &before, &owners);
        accounts.retain(|a| needed.contains(&**a));
    }
    // The accounts of the batch in flight are not read: memory holds them as the store will
    // once it commits, and its transaction checks that nobody else wrote. Nor are those
    // memory learnt of in this epoch (`Turn::epoch`): no other connection wrote since. The
    // versions of the rest are read.
    let checked: Vec<Id> = accounts
        .iter()
        .filter(|a| !wanted.current.contains(*a) && wanted.known.get(*a).is_none_or(|k| k.epoch != epoch))
        .cloned()
        .collect();
    let versions: HashMap<String, i64, Ids> = tx.versions(&checked)?.into_iter().collect();
    let mut loaded = HashMap::default();
    let mut programs = HashMap::new();
    for account in &checked {
        let Some(stored) = versions.get(&**account) else { continue };
        if wanted.known.get(account).map(|k| k.version) == Some(*stored) {
            continue;
        }
        let kept = tx.load(account)?;
        for row in kept.iter().flat_map(|k| &k.journal) {
            if row.program != wanted.live
                && row.program != 0
                && !programs.contains_key(&row.program)
                && let Some(sources) = tx.program_sources(row.program)?
            {
                programs.insert(row.program, sources);
            }
        }
        loaded.insert(account.clone(), kept);
    }
    let next_position = tx.next_position()?;
    Ok(Found { owners, accounts, before, checked, versions, loaded, programs, next_position, epoch })
}

/// The accounts a batch's events not accepted before (not in `before`) belong to, and the
/// owners of the payments those name: what processing the batch reads.
fn accounts_of_new_events<'a>(
    wanted: &'a Wanted,
    before: &HashMap<String, u64, Ids>,
    owners: &'a [(String, String)],
) -> HashSet<&'a str, Ids> {
    let owner_of: HashMap<&str, &str, Ids> = owners.iter().map(|(p, a)| (p.as_str(), a.as_str())).collect();
    let mut needed = HashSet::default();
    for (id, (account, named)) in wanted.ids.iter().zip(&wanted.event_accounts) {
        if before.contains_key(&**id) {
            continue;
        }
        needed.insert(&**account);
        if let Some(owner) = named.as_deref().and_then(|p| owner_of.get(p)) {
            needed.insert(*owner);
        }
    }
    needed
}

/// Where a processed batch's writes go: into the transaction at once, or kept for the store
/// thread.
trait Writes {
    fn accept(&mut self, events: Vec<Accepted>) -> Result<(), StoreError>;
    /// The journal positions the rows get.
    fn journal(&mut self, rows: &[Journaled<'_>]) -> Result<Vec<i64>, StoreError>;
    fn put_accounts(&mut self, accounts: Vec<(String, i64, String)>) -> Result<(), StoreError>;
    fn put_payments(&mut self, payments: Vec<StoredPayment>) -> Result<(), StoreError>;
}

/// Writes into a transaction.
struct Direct<'t>(&'t mut dyn Tx);

impl Writes for Direct<'_> {
    fn accept(&mut self, events: Vec<Accepted>) -> Result<(), StoreError> {
        self.0.accept(&events)
    }

    fn journal(&mut self, rows: &[Journaled<'_>]) -> Result<Vec<i64>, StoreError> {
        self.0.journal(rows)
    }

    fn put_accounts(&mut self, accounts: Vec<(String, i64, String)>) -> Result<(), StoreError> {
        self.0.put_accounts(&accounts)
    }

    fn put_payments(&mut self, payments: Vec<StoredPayment>) -> Result<(), StoreError> {
        self.0.put_payments(&payments)
    }
}

/// Writes kept for later: the journal positions are those the store will give, from
/// `positions.start` on (the store thread checks them).
struct Kept4Later {
    positions: Range<i64>,
    accepted: Vec<Accepted>,
    accounts: Vec<(String, i64, String)>,
    payments: Vec<StoredPayment>,
}

impl Writes for Kept4Later {
    fn accept(&mut self, events: Vec<Accepted>) -> Result<(), StoreError> {
        self.accepted = events;
        Ok(())
    }

    fn journal(&mut self, rows: &[Journaled<'_>]) -> Result<Vec<i64>, StoreError> {
        let count = i64::try_from(rows.len()).map_err(|_| StoreError("too many events in one batch".into()))?;
        self.positions = self.positions.start..self.positions.start + count;
        Ok(self.positions.clone().collect())
    }

    fn put_accounts(&mut self, accounts: Vec<(String, i64, String)>) -> Result<(), StoreError> {
        self.accounts = accounts;
        Ok(())
    }

    fn put_payments(&mut self, payments: Vec<StoredPayment>) -> Result<(), StoreError> {
        self.payments = payments;
        Ok(())
    }
}

/// An event accepted by a batch: its line in the batch, the range of its entries in the
/// batch's [`Applied`], and its account's last journal position before the batch.
pub(crate) type JournalAt = (usize, Range<usize>, Option<i64>);

/// A batch's accepted events as journal rows.
pub(crate) fn journal_rows<'a>(
    decoded: &'a [Decoded],
    applied: &'a Applied,
    program: i64,
    journaled: &[JournalAt],
) -> Vec<Journaled<'a>> {
    journaled
        .iter()
        .filter_map(|(at, range, head)| {
            let Decoding::Event(event, _, line) = &decoded.get(*at)?.what else { return None };
            // An accepted event's entries are the awards and adjustments it caused (rejects
            // are other lines'), all of its own account: they are kept with it.
            let entries = applied.entries[range.clone()]
                .iter()
                .zip(&applied.json[range.clone()])
                .filter_map(|(entry, json)| Some((entry.owed_key()?.0, json.as_str())))
                .collect();
            Some(Journaled { account: &event.account, program, line, entries, head: *head })
        })
        .collect()
}

/// A batch processed: what it did, and per event accepted, its line and the range of its
/// entries.
struct Processed {
    applied: Applied,
    journaled: Vec<JournalAt>,
}

impl Memory {
    /// Processes a batch against what its reads found (and, for a batch processed while the
    /// one before is written, what that one will add), and gives its writes to `out`.
    fn process(
        &mut self,
        decoded: &[Decoded],
        refuses_nul: bool,
        found: &mut Found,
        overlay: Option<&Overlay>,
        program: i64,
        out: &mut dyn Writes,
    ) -> Result<Processed, StoreError> {
        self.refresh(found, program)?;
        if let Some(overlay) = overlay {
            // Accepted by the batch before, not yet committed: not in the reads.
            for d in decoded {
                if let Decoding::Event(event, _, _) = &d.what
                    && let Some(hash) = overlay.accepted.get(&*event.id)
                {
                    found.before.insert(String::from(&*event.id), *hash);
                }
            }
        }
        let runtime = &mut self.runtime;
        for (id, hash) in &found.before {
            runtime.remember_accepted(id, *hash);
        }
        for (payment, account) in &found.owners {
            runtime.remember_owner(payment, account);
        }

        let mut applied = Applied::default();
        let mut fresh: Vec<Accepted> = Vec::new();
        let mut journaled: Vec<JournalAt> = Vec::new();
        let mut fresh_ids: HashSet<&str, Ids> = HashSet::default();
        for (at, d) in decoded.iter().enumerate() {
            let reject = |r: event::Reject| Entry::Reject { event: r.event, line: d.number, error: r.error };
            let outcome = match &d.what {
                Decoding::Blank => Outcome::Blank,
                Decoding::Bad(r) => {
                    applied.entries.push(reject(r.clone()));
                    Outcome::Rejected
                }
                Decoding::Event(event, _, _) if unkept(refuses_nul, event) => {
                    applied.entries.push(Entry::Reject {
                        event: Some(event.id.to_string()),
                        line: d.number,
                        error: "the event's id, account or payment holds the NUL character (U+0000), which a \
                                PostgreSQL store cannot keep"
                            .to_string(),
                    });
                    Outcome::Rejected
                }
                Decoding::Event(event, hash, _) => match runtime.process_hashed(event, *hash) {
                    Ok(entries) => {
                        let start = applied.entries.len();
                        applied.entries.extend(entries);
                        if found.before.contains_key(&*event.id) || fresh_ids.contains(&*event.id) {
                            applied.duplicates += 1;
                            Outcome::Duplicate
                        } else {
                            fresh_ids.insert(&event.id);
                            fresh.push(Accepted {
                                id: String::from(&*event.id),
                                hash: *hash,
                                account: String::from(&*event.account),
                                payment: matches!(event.kind, EventKind::Payment(_)),
                            });
                            // Memory holds the account as the store will before this batch
                            // (read again when it was not): its version is its last position.
                            let head = self.kept.get(&*event.account).map(|k| k.version).filter(|v| *v > 0);
                            journaled.push((at, start..applied.entries.len(), head));
                            Outcome::Accepted
                        }
                    }
                    Err(r) => {
                        applied.entries.push(reject(r));
                        Outcome::Rejected
                    }
                },
            };
            applied.lines.push((outcome, applied.entries.len()));
        }
        applied.accepted = fresh.len();

        out.accept(fresh)?;
        applied.json = applied.entries.iter().map(Entry::to_json).collect();
        let rows = journal_rows(decoded, &applied, program, &journaled);
        for (row, position) in rows.iter().zip(out.journal(&rows)?) {
            let account = self.kept.entry(Id::from(row.account)).or_default();
            account.version = account.version.max(position);
            account.behind += 1;
            account.epoch = found.epoch;
        }
        drop(rows);
        let changes = self.runtime.take_changes();
        for (account, payment) in changes.payments {
            self.kept.entry(account).or_default().payments.push(payment);
        }
        self.write_snapshots(out, &changes.accounts)?;
        Ok(Processed { applied, journaled })
    }

    /// Notes that a batch used the accounts of `keep`, and drops accounts from memory past
    /// the cache limit, those used longest ago first, never those of `keep`. Past the limit it
    /// trims to fifteen sixteenths of it, so that the look for the oldest (a pass over every
    /// account kept) comes once in a while rather than after every batch, and each trim
    /// unloads a bounded share.
    fn evict(&mut self, keep: &[&str]) {
        self.batches += 1;
        let now = self.batches;
        for id in keep {
            if let Some(kept) = self.kept.get_mut(*id) {
                kept.used = now;
            }
        }
        let count = self.runtime.account_count();
        if count <= self.cache_limit {
            return;
        }
        let target = self.cache_limit - self.cache_limit / 16;
        // From what memory knows of each account (not the runtime's map: its ids would each be
        // read and hashed, a miss apiece). Accounts of `keep` were just stamped `now`; one the
        // batch used without a `Kept` is not among these and stays.
        let mut older: Vec<(u64, &Id)> =
            self.kept.iter().filter(|(_, k)| k.used != now).map(|(id, k)| (k.used, id)).collect();
        let excess = count.saturating_sub(target).min(older.len());
        if excess < older.len() {
            // The `excess` used longest ago first (ties in id order), the rest after them.
            older.select_nth_unstable(excess);
        }
        let drop: Vec<Id> = older.iter().take(excess).map(|(_, id)| Id::clone(id)).collect();
        for id in &drop {
            // Its journal holds what its snapshot lacks: reading it back replays it.
            self.runtime.unload_account(id);
            self.kept.remove(id);
        }
    }

    /// Drops what memory holds: after a store failed, it may be ahead of the store.
    fn forget_all(&mut self) {
        self.runtime.unload_all();
        self.kept.clear();
        for runtime in self.earlier.values_mut() {
            runtime.unload_all();
        }
    }
}

/// Whether an event's ids cannot be kept (see [`Store::holds_nul`]).
fn unkept(refuses_nul: bool, event: &Event) -> bool {
    refuses_nul && ids_of(event).any(|id| id.contains('\0'))
}

impl Durable {
    /// A runtime over a store. Accounts are read from the store as events need them.
    pub fn new(mut runtime: Runtime, store: Box<dyn Store>) -> Durable {
        // What a batch changed is what a snapshot writes.
        runtime.track_changes();
        let (holds_nul, pipelines) = (store.holds_nul(), store.sees_other_writers());
        Durable {
            memory: Memory {
                runtime,
                kept: KeptMap::default(),
                cache_limit: DEFAULT_CACHE_LIMIT,
                batches: 0,
                snapshot_every: DEFAULT_SNAPSHOT_EVERY,
                earlier: HashMap::new(),
            },
            shared: Arc::new(Mutex::new(Shared::new(store))),
            holds_nul,
            pipelines,
            program: None,
            thread: None,
            pending: None,
        }
    }

    /// Keeps at most `accounts` accounts in memory between batches: past that, those the last
    /// batch did not touch are dropped and read from the store again when an event needs
    /// them. Memory stays bounded however many accounts the store holds.
    pub fn with_cache_limit(mut self, accounts: usize) -> Durable {
        self.memory.cache_limit = accounts;
        self
    }

    /// Writes an account's snapshot once `events` of its events are not in it (1: with every
    /// batch that changes it). Fewer means more writes; more means longer replays when an
    /// account is read back.
    pub fn with_snapshot_every(mut self, events: usize) -> Durable {
        self.memory.snapshot_every = events.max(1);
        self
    }

    /// The runtime (for reading; its accounts are a cache of the store's).
    pub fn runtime(&self) -> &Runtime {
        &self.memory.runtime
    }

    /// Writes what was submitted, closes the store, and gives the runtime back (to let the
    /// process end without freeing its accounts one by one, say).
    pub fn close(mut self) -> Runtime {
        self.flush();
        let Durable { memory, shared, thread, .. } = self;
        // The store thread ends first; then the store closes (SQLite checkpoints and removes
        // its log).
        drop(thread);
        drop(shared);
        memory.runtime
    }

    /// The store, once everything submitted is written.
    pub fn store(&mut self) -> StoreRef<'_> {
        self.flush();
        StoreRef(pipeline::lock(&self.shared))
    }

    /// Replaces the campaigns with those of `files`, keeping every account's state (see
    /// [`Runtime::reload`]; `engine` as in [`Runtime::load_engine`]). When they do not load,
    /// the campaigns live stay live.
    pub fn reload(
        &mut self,
        files: &[camp_runtime::SourceFile<'_>],
        engine: Option<camp_runtime::Engine>,
    ) -> Result<(), camp_runtime::LoadError> {
        self.flush();
        self.memory.runtime.reload_sources(files, engine)?;
        // Events from now on are journaled under the new program.
        self.program = None;
        Ok(())
    }

    /// Processes a batch of lines in one transaction. On `Err` nothing of the batch was kept
    /// and it may be given again.
    pub fn apply(&mut self, lines: &[Line<'_>]) -> Result<Applied, StoreError> {
        let decoded: Vec<Decoded> = lines.iter().map(|line| Decoded::line(line.number, line.text)).collect();
        self.apply_decoded(&decoded)
    }

    /// [`Durable::apply`] on lines decoded ahead ([`Decoded::line`]). Whatever was submitted
    /// before is written first.
    pub fn apply_decoded(&mut self, decoded: &[Decoded]) -> Result<Applied, StoreError> {
        self.flush();
        let mut wanted = self.wanted(decoded, HashSet::default());
        let refuses_nul = !self.holds_nul;
        let mut live = self.program;
        let mut outcome = None;
        let Durable { memory, shared, .. } = self;
        let result = pipeline::lock(shared).transact(&mut |tx, turn| {
            outcome = None;
            let program = live_program(&memory.runtime, &mut live, tx)?;
            wanted.live = program;
            let mut found = read_batch(tx, &wanted, turn.epoch)?;
            let processed = memory.process(decoded, refuses_nul, &mut found, None, program, &mut Direct(tx))?;
            outcome = Some((processed.applied, found.accounts));
            Ok(())
        });
        match (result, outcome) {
            (Ok(_), Some((applied, touched))) => {
                self.program = live;
                self.memory.runtime.forget_accepted();
                self.memory.evict(&touched.iter().map(|a| &**a).collect::<Vec<_>>());
                Ok(applied)
            }
            (Ok(_), None) => {
                self.memory.forget_all();
                Err(StoreError("the batch's transaction ended without processing it".into()))
            }
            (Err(e), _) => {
                self.memory.forget_all();
                Err(e)
            }
        }
    }

    /// Processes a batch and hands it to the store thread to write, and returns: its outcome
    /// goes to `done` once it is committed (or is known to have failed, when nothing of it is
    /// kept and it may be given again). Batches are written in the order submitted, each in a
    /// transaction of its own; the next batch's reads are made in this one's transaction,
    /// so it is processed while this one is written. [`Durable::flush`] waits for them all.
    ///
    /// On a store that cannot tell whether another connection wrote
    /// ([`Store::sees_other_writers`]), this is [`Durable::apply_decoded`], `done` called
    /// before it returns.
    pub fn submit(&mut self, decoded: Vec<Decoded>, done: Done) {
        let Some(program) = self.program.filter(|_| self.pipelines) else {
            // The program is registered (once) in a transaction of the caller's.
            let result = self.apply_decoded(&decoded);
            done(result);
            return;
        };
        if self.thread.is_none() {
            match pipeline::Thread::spawn(Arc::clone(&self.shared)) {
                Ok(thread) => self.thread = Some(thread),
                Err(_) => {
                    // Without a thread to write, each batch is written as it is processed.
                    self.pipelines = false;
                    let result = self.apply_decoded(&decoded);
                    done(result);
                    return;
                }
            }
        }
        let (write, overlay) = match self.pending.take() {
            Some((job, overlay)) => (Some(job), Some(overlay)),
            None => (None, None),
        };
        let current = overlay.as_ref().map(|o| o.accounts.clone()).unwrap_or_default();
        let wanted = self.wanted(&decoded, current);
        let Some(thread) = &self.thread else {
            done(Err(StoreError("the store thread is not running".into())));
            return;
        };
        match thread.exchange(Request { write, read: Some(wanted) }) {
            Reply::Found(found) => self.process_ahead(decoded, done, program, *found, overlay.as_ref()),
            Reply::Redo(job) => {
                self.redo(job);
                self.submit(decoded, done);
            }
            Reply::Failed(e) => {
                self.memory.forget_all();
                done(Err(e));
            }
            Reply::Written => {
                self.memory.forget_all();
                done(Err(StoreError("the store thread answered a read with a write".into())));
            }
        }
    }

    /// Processes a batch submitted against its reads and keeps it to be written.
    fn process_ahead(
        &mut self,
        decoded: Vec<Decoded>,
        done: Done,
        program: i64,
        mut found: Found,
        overlay: Option<&Overlay>,
    ) {
        let next_position = match (overlay, found.next_position) {
            (Some(overlay), _) => overlay.next_position,
            (None, Some(next)) => next,
            (None, None) => {
                self.memory.forget_all();
                done(Err(StoreError("the store did not say the journal's next position".into())));
                return;
            }
        };
        let mut out = Kept4Later {
            positions: next_position..next_position,
            accepted: Vec::new(),
            accounts: Vec::new(),
            payments: Vec::new(),
        };
        let refuses_nul = !self.holds_nul;
        let processed = self.memory.process(&decoded, refuses_nul, &mut found, overlay, program, &mut out);
        self.memory.runtime.forget_accepted();
        let Processed { applied, journaled } = match processed {
            Ok(processed) => processed,
            Err(e) => {
                self.memory.forget_all();
                done(Err(e));
                return;
            }
        };
        let mut keep: Vec<&str> = found.accounts.iter().map(|a| &**a).collect();
        keep.extend(overlay.into_iter().flat_map(|o| o.accounts.iter().map(|a| &**a)));
        self.memory.evict(&keep);
        let next = Overlay {
            accounts: found.accounts.into_iter().collect(),
            accepted: out.accepted.iter().map(|a| (a.id.clone(), a.hash)).collect(),
            next_position: out.positions.end,
        };
        let job = Job {
            read_epoch: found.epoch,
            decoded,
            applied,
            program,
            journaled,
            accepted: out.accepted,
            positions: out.positions,
            accounts: out.accounts,
            payments: out.payments,
            done: Some(done),
        };
        self.pending = Some((Box::new(job), next));
    }

    /// Waits until every batch submitted is written (or known to have failed) and its `done`
    /// called.
    pub fn flush(&mut self) {
        let Some((job, _)) = self.pending.take() else { return };
        let Some(thread) = &self.thread else { return };
        match thread.exchange(Request { write: Some(job), read: None }) {
            Reply::Written => {}
            Reply::Redo(job) => self.redo(job),
            Reply::Failed(_) | Reply::Found(_) => self.memory.forget_all(),
        }
    }

    /// Does a batch handed back again, in one transaction, from the store as it now is
    /// (memory, processed against stale reads, is dropped first).
    fn redo(&mut self, job: Box<Job>) {
        self.memory.forget_all();
        let (again, done) = job.take();
        done(self.apply_decoded(&again));
    }

    /// Whether [`Durable::submit`] processes a batch while the one before is written.
    pub fn pipelines(&self) -> bool {
        self.pipelines
    }

    /// Whether a batch submitted waits to be written ([`Durable::flush`] writes it).
    pub fn has_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// What a batch needs read, `current` the accounts of the batch in flight.
    fn wanted(&self, decoded: &[Decoded], current: HashSet<Id, Ids>) -> Wanted {
        let refuses_nul = !self.holds_nul;
        let events = decoded.iter().filter_map(|d| match &d.what {
            Decoding::Event(e, _, _) if !unkept(refuses_nul, e) => Some(e.as_ref()),
            _ => None,
        });
        let mut wanted = Wanted::new(self.program.unwrap_or(0), current);
        let mut accounts: HashSet<&str, Ids> = HashSet::default();
        for event in events {
            wanted.ids.push(Id::clone(&event.id));
            wanted.event_accounts.push((Id::clone(&event.account), named_payment(event).map(Id::from)));
            if accounts.insert(&event.account) {
                wanted.account(&self.memory, &event.account);
            }
        }
        wanted
    }

    /// An account's state as the store has it now (its snapshot with the journal since
    /// replayed), its version, and its payments; `None` when no event named it.
    pub fn stored_account(&mut self, id: &str) -> Result<Option<StoredAccount>, StoreError> {
        self.flush();
        let mut live = self.program;
        let mut wanted = Wanted::new(0, HashSet::default());
        wanted.account(&self.memory, &Id::from(id));
        let Durable { memory, shared, .. } = self;
        let result = pipeline::lock(shared).transact(&mut |tx, turn| {
            let program = live_program(&memory.runtime, &mut live, tx)?;
            wanted.live = program;
            let mut found = read_batch(tx, &wanted, turn.epoch)?;
            memory.refresh(&mut found, program)
        });
        if let Err(e) = result {
            self.memory.forget_all();
            return Err(e);
        }
        self.program = live;
        let runtime = &self.memory.runtime;
        let (Some(state), Some(kept)) = (runtime.account_state(id), self.memory.kept.get(id)) else { return Ok(None) };
        let payments = runtime.payment_states(id).iter().map(to_json).collect::<Result<Vec<_>, _>>()?;
        Ok(Some(StoredAccount { version: kept.version, state: to_json(&state)?, payments, journal: Vec::new() }))
    }
}

/// The store of a [`Durable`], borrowed ([`Durable::store`]).
pub struct StoreRef<'d>(std::sync::MutexGuard<'d, Shared>);

impl std::fmt::Debug for StoreRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.store.describe())
    }
}

impl std::ops::Deref for StoreRef<'_> {
    type Target = dyn Store;

    fn deref(&self) -> &(dyn Store + 'static) {
        self.0.store.as_ref()
    }
}

impl std::ops::DerefMut for StoreRef<'_> {
    fn deref_mut(&mut self) -> &mut (dyn Store + 'static) {
        self.0.store_outside()
    }
}

/// The live program's id in the store, registering it the first time (0 for a runtime not
/// loaded from sources: its events are replayed with whatever program is live).
fn live_program(runtime: &Runtime, live: &mut Option<i64>, tx: &mut dyn Tx) -> Result<i64, StoreError> {
    if let Some(id) = *live {
        return Ok(id);
    }
    let id = match runtime.sources() {
        Some(sources) => {
            let json = to_json(&**sources)?;
            let mut hash = camp_runtime::Fnv1a::default();
            hash.write(json.as_bytes());
            tx.program(hash.finish(), &json)?
        }
        None => 0,
    };
    *live = Some(id);
    Ok(id)
}

impl Memory {
    /// Writes the snapshots of the accounts changed whose stored snapshots now lack at least
    /// `snapshot_every` events.
    fn write_snapshots(&mut self, out: &mut dyn Writes, changed: &[Id]) -> Result<(), StoreError> {
        let mut states = Vec::new();
        let mut payments = Vec::new();
        // An account changed twice is written once: its `behind` is 0 the second time.
        for account in changed {
            let Some(k) = self.kept.get_mut(account).filter(|k| k.behind >= self.snapshot_every) else { continue };
            let Some(state) = self.runtime.account_state(account) else { continue };
            states.push((String::from(&**account), k.version, to_json(&state)?));
            let mut changed_payments = std::mem::take(&mut k.payments);
            changed_payments.sort_unstable();
            changed_payments.dedup();
            for payment in changed_payments {
                let position = self.runtime.payment_position(account, &payment);
                if let (Some(state), Some(position)) = (self.runtime.payment_state(account, &payment), position) {
                    payments.push(StoredPayment {
                        account: String::from(&**account),
                        position: i64::try_from(position).unwrap_or(i64::MAX),
                        id: String::from(&*payment),
                        state: to_json(&state)?,
                    });
                }
            }
            k.behind = 0;
        }
        out.put_accounts(states)?;
        out.put_payments(payments)
    }

    /// Brings the accounts whose versions were read up to the store's. Memory holds no
    /// accepted ids after it (replays start from none, and what they accept is in the store
    /// already).
    fn refresh(&mut self, found: &mut Found, live: i64) -> Result<(), StoreError> {
        let Memory { runtime, kept, earlier, .. } = self;
        runtime.forget_accepted();
        for account in &found.checked {
            let in_memory = version_in_memory(runtime, kept, account);
            match (found.versions.get(&**account), in_memory) {
                (Some(s), Some(m)) if *s == m => {
                    if let Some(k) = kept.get_mut(&**account) {
                        k.epoch = found.epoch;
                    }
                }
                (None, _) => {
                    runtime.unload_account(account);
                    kept.remove(&**account);
                }
                (Some(_), _) => {
                    let stored = match found.loaded.remove(account) {
                        Some(Some(stored)) => stored,
                        Some(None) => continue,
                        None => {
                            return Err(StoreError(format!(
                                "account {account} was not read again, though memory does not hold its stored version"
                            )));
                        }
                    };
                    let state: AccountState = if stored.state.is_empty() {
                        AccountState::default()
                    } else {
                        serde_json::from_str(&stored.state).map_err(|e| {
                            StoreError(format!("account {account} is kept in a form this campc cannot read: {e}"))
                        })?
                    };
                    let payments = stored
                        .payments
                        .iter()
                        .map(|p| serde_json::from_str(p))
                        .collect::<Result<Vec<PaymentState>, _>>()
                        .map_err(|e| StoreError(format!("a payment of account {account} cannot be read: {e}")))?;
                    runtime.restore_account(account, state, payments);
                    let mut k = Kept {
                        version: stored.journal.last().map_or(stored.version, |row| row.seq),
                        behind: stored.journal.len(),
                        payments: Vec::new(),
                        epoch: found.epoch,
                        used: 0,
                    };
                    if replay(runtime, earlier, &found.programs, live, account, &stored.journal)? {
                        // Replayed by another program: which payments it changed is not known here.
                        let ids = runtime.account(account).into_iter().flat_map(|a| a.payments()).map(|p| p.id.clone());
                        k.payments.extend(ids);
                    }
                    kept.insert(Id::clone(account), k);
                }
            }
        }
        runtime.forget_accepted();
        Ok(())
    }
}

/// The stored version of an account memory holds, if it holds it.
fn version_in_memory(runtime: &Runtime, kept: &KeptMap, account: &str) -> Option<i64> {
    known_in_memory(runtime, kept, account).map(|k| k.version)
}

/// What memory knows of an account it holds in the store.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Known {
    version: i64,
    epoch: u64,
}

/// The stored version of an account memory holds, and the epoch memory learnt it in, if it
/// holds it.
fn known_in_memory(runtime: &Runtime, kept: &KeptMap, account: &str) -> Option<Known> {
    kept.get(account).map(|k| Known { version: k.version, epoch: k.epoch }).filter(|_| runtime.has_account(account))
}

/// Replays an account's journal rows over its state in `runtime`, each with the program that
/// processed it: the live one directly, an earlier one in a runtime of its own, the account's
/// state carried there and back. Whether an earlier program replayed any.
fn replay(
    runtime: &mut Runtime,
    earlier: &mut HashMap<i64, Runtime>,
    programs: &HashMap<i64, String>,
    live: i64,
    account: &str,
    rows: &[JournalRow],
) -> Result<bool, StoreError> {
    let mut foreign = false;
    for run in rows.chunk_by(|a, b| a.program == b.program) {
        let program = run[0].program;
        if program == live || program == 0 {
            run.iter().try_for_each(|row| replay_row(runtime, account, row))?;
            continue;
        }
        foreign = true;
        let other = match earlier.entry(program) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => v.insert(earlier_runtime(programs, program)?),
        };
        carry(runtime, other, account);
        let replayed = run.iter().try_for_each(|row| replay_row(other, account, row));
        carry(other, runtime, account);
        other.unload_account(account);
        other.forget_accepted();
        replayed?;
    }
    Ok(foreign)
}

/// Moves an account's state from one runtime to another (whose program may differ).
fn carry(from: &Runtime, to: &mut Runtime, account: &str) {
    match from.account_state(account) {
        Some(state) => to.restore_account(account, state, from.payment_states(account)),
        None => to.unload_account(account),
    }
}

fn replay_row(runtime: &mut Runtime, account: &str, row: &JournalRow) -> Result<(), StoreError> {
    let unreadable = |why: String| {
        StoreError(format!("event {} in the journal of account {account} cannot be replayed: {why}", row.seq))
    };
    match event::parse_line(&row.line) {
        Ok(Some((event, hash))) => runtime.process_hashed(&event, hash).map(drop).map_err(|r| unreadable(r.error)),
        Ok(None) => Err(unreadable("the line is blank".into())),
        Err(r) => Err(unreadable(r.error)),
    }
}

/// A runtime for a program the store keeps, to replay the events it processed.
fn earlier_runtime(programs: &HashMap<i64, String>, program: i64) -> Result<Runtime, StoreError> {
    let json = programs
        .get(&program)
        .ok_or_else(|| StoreError(format!("the journal names program {program}, which the store does not keep")))?;
    let sources: Vec<OwnedSource> = serde_json::from_str(json)
        .map_err(|e| StoreError(format!("program {program} is kept in a form this campc cannot read: {e}")))?;
    Runtime::load_with(&OwnedSource::files(&sources), Engine::Interp).map_err(|e| {
        StoreError(format!("the campaigns of program {program}, which processed events kept, no longer load: {e}"))
    })
}

fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError(format!("cannot write state: {e}")))
}
