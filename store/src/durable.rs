//! A runtime over a store: batches of events in, ledger entries out, each batch kept whole
//! or not at all.
//!
//! The runtime keeps accounts in memory as a cache of the store. Before a batch runs, the
//! accounts it touches are locked, and any whose stored version is not the one in memory
//! (another process wrote it, or it was never loaded) is read again. After it runs, the ids
//! it accepted, the accepted events themselves (the journal) and the entries it wrote are
//! written in one transaction.
//!
//! An account's state is not written with every event: the journal holds its events, and a
//! snapshot of its state is written after every [`DEFAULT_SNAPSHOT_EVERY`] of them. Reading
//! an account back restores its snapshot and replays the events since, each with the
//! campaigns that processed it then (the store keeps every program's sources), so a reload
//! between snapshot and replay changes nothing. When the store fails, memory is dropped,
//! since it may now be ahead of the store.

use std::collections::{HashMap, HashSet};
use std::hash::Hasher;

use camp_runtime::event::{self, Event, EventKind};
use camp_runtime::snapshot::{AccountState, PaymentState};
use camp_runtime::{Engine, Entry, Id, OwnedSource, Runtime};

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
#[derive(Debug)]
pub struct Durable {
    runtime: Runtime,
    store: Box<dyn Store>,
    /// Each account in memory: its stored version, and what its stored snapshot lacks.
    kept: KeptMap,
    /// The most accounts kept in memory between batches (the store keeps them all).
    cache_limit: usize,
    /// An account's snapshot is written once this many of its events are not in it.
    snapshot_every: usize,
    /// The live program's id in the store, once registered.
    program: Option<i64>,
    /// Runtimes of earlier programs, for replaying the events they processed.
    earlier: HashMap<i64, Runtime>,
}

/// What is known of an account in memory.
#[derive(Debug, Default)]
struct Kept {
    /// Its version in the store ([`Tx::versions`]).
    version: i64,
    /// Its events accepted since its stored snapshot.
    behind: usize,
    /// Its payments changed since its stored snapshot, as they changed (repeats included).
    payments: Vec<Id>,
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

impl Durable {
    /// A runtime over a store. Accounts are read from the store as events need them.
    pub fn new(mut runtime: Runtime, store: Box<dyn Store>) -> Durable {
        // What a batch changed is what a snapshot writes.
        runtime.track_changes();
        Durable {
            runtime,
            store,
            kept: KeptMap::default(),
            cache_limit: DEFAULT_CACHE_LIMIT,
            snapshot_every: DEFAULT_SNAPSHOT_EVERY,
            program: None,
            earlier: HashMap::new(),
        }
    }

    /// Keeps at most `accounts` accounts in memory between batches: past that, those the last
    /// batch did not touch are dropped and read from the store again when an event needs
    /// them. Memory stays bounded however many accounts the store holds.
    pub fn with_cache_limit(mut self, accounts: usize) -> Durable {
        self.cache_limit = accounts;
        self
    }

    /// Writes an account's snapshot once `events` of its events are not in it (1: with every
    /// batch that changes it). Fewer means more writes; more means longer replays when an
    /// account is read back.
    pub fn with_snapshot_every(mut self, events: usize) -> Durable {
        self.snapshot_every = events.max(1);
        self
    }

    /// The runtime (for reading; its accounts are a cache of the store's).
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// The runtime and the store, apart (to close the store and let the process end without
    /// freeing the runtime's accounts one by one, say).
    pub fn into_parts(self) -> (Runtime, Box<dyn Store>) {
        (self.runtime, self.store)
    }

    /// The store.
    pub fn store(&mut self) -> &mut dyn Store {
        self.store.as_mut()
    }

    /// Replaces the campaigns with those of `files`, keeping every account's state (see
    /// [`Runtime::reload`]; `engine` as in [`Runtime::load_engine`]). When they do not load,
    /// the campaigns live stay live.
    pub fn reload(
        &mut self,
        files: &[camp_runtime::SourceFile<'_>],
        engine: Option<camp_runtime::Engine>,
    ) -> Result<(), camp_runtime::LoadError> {
        self.runtime.reload_sources(files, engine)?;
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

    /// [`Durable::apply`] on lines decoded ahead ([`Decoded::line`]).
    pub fn apply_decoded(&mut self, decoded: &[Decoded]) -> Result<Applied, StoreError> {
        // An event whose ids the store cannot keep is rejected alone (see `Store::holds_nul`).
        let refuses_nul = !self.store.holds_nul();
        let unkept = |e: &Event| refuses_nul && ids_of(e).any(|id| id.contains('\0'));
        let events: Vec<&Event> = decoded
            .iter()
            .filter_map(|d| match &d.what {
                Decoding::Event(e, _, _) if !unkept(e) => Some(e.as_ref()),
                _ => None,
            })
            .collect();
        let ids: Vec<String> = events.iter().map(|e| e.id.to_string()).collect();
        let named: Vec<String> = events.iter().filter_map(|e| named_payment(e)).map(str::to_string).collect();

        let snapshot_every = self.snapshot_every;
        let mut touched: Vec<String> = Vec::new();
        let mut applied = Applied::default();
        let mut live = self.program;
        let Durable { runtime, store, kept, earlier, .. } = self;
        let result = store.transact(&mut |tx: &mut dyn Tx| {
            applied = Applied::default();
            let program = live_program(runtime, &mut live, tx)?;
            let owners = tx.owners(&named)?;
            // In order, each once: the order accounts are locked in.
            let mut accounts: Vec<&str> =
                events.iter().map(|e| &*e.account).chain(owners.iter().map(|(_, a)| a.as_str())).collect();
            accounts.sort_unstable();
            accounts.dedup();
            let accounts: Vec<String> = accounts.into_iter().map(str::to_string).collect();
            tx.lock_accounts(&accounts)?;
            touched.clone_from(&accounts);
            let before: HashMap<String, u64, Ids> = tx.accepted(&ids)?.into_iter().collect();
            refresh(runtime, kept, earlier, tx, program, &accounts)?;
            for (id, hash) in &before {
                runtime.remember_accepted(id, *hash);
            }
            for (payment, account) in &owners {
                runtime.remember_owner(payment, account);
            }

            let mut fresh: Vec<Accepted> = Vec::new();
            // Per event accepted now: its account, its line and the range of its entries.
            let mut journaled: Vec<(&Id, &str, std::ops::Range<usize>)> = Vec::new();
            let mut fresh_ids: HashSet<&str, Ids> = HashSet::default();
            for d in decoded {
                let reject = |r: event::Reject| Entry::Reject { event: r.event, line: d.number, error: r.error };
                let outcome = match &d.what {
                    Decoding::Blank => Outcome::Blank,
                    Decoding::Bad(r) => {
                        applied.entries.push(reject(r.clone()));
                        Outcome::Rejected
                    }
                    Decoding::Event(event, _, _) if unkept(event) => {
                        applied.entries.push(Entry::Reject {
                            event: Some(event.id.to_string()),
                            line: d.number,
                            error: "the event's id, account or payment holds the NUL character (U+0000), which a \
                                    PostgreSQL store cannot keep"
                                .to_string(),
                        });
                        Outcome::Rejected
                    }
                    Decoding::Event(event, hash, line) => match runtime.process_hashed(event, *hash) {
                        Ok(entries) => {
                            let start = applied.entries.len();
                            applied.entries.extend(entries);
                            if before.contains_key(&*event.id) || fresh_ids.contains(&*event.id) {
                                applied.duplicates += 1;
                                Outcome::Duplicate
                            } else {
                                fresh_ids.insert(&event.id);
                                fresh.push(Accepted {
                                    id: event.id.to_string(),
                                    hash: *hash,
                                    account: event.account.to_string(),
                                    payment: matches!(event.kind, EventKind::Payment(_)),
                                });
                                journaled.push((&event.account, line, start..applied.entries.len()));
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

            tx.accept(&fresh)?;
            applied.json = applied.entries.iter().map(Entry::to_json).collect();
            // An accepted event's entries are the awards and adjustments it caused (rejects
            // are other lines'), all of its own account: they are kept with it.
            let rows: Vec<Journaled<'_>> = journaled
                .iter()
                .map(|(account, line, range)| Journaled {
                    account,
                    program,
                    line,
                    entries: applied.entries[range.clone()]
                        .iter()
                        .zip(&applied.json[range.clone()])
                        .filter_map(|(entry, json)| Some((entry.owed_key()?.0, json.as_str())))
                        .collect(),
                })
                .collect();
            for ((account, _, _), position) in journaled.iter().zip(tx.journal(&rows)?) {
                let account = kept.entry(Id::clone(account)).or_default();
                account.version = account.version.max(position);
                account.behind += 1;
            }
            let changes = runtime.take_changes();
            for (account, payment) in changes.payments {
                kept.entry(account).or_default().payments.push(payment);
            }
            write_snapshots(runtime, kept, tx, &changes.accounts, snapshot_every)
        });
        match result {
            Ok(()) => {
                self.program = live;
                self.runtime.forget_accepted();
                if self.runtime.account_count() > self.cache_limit {
                    let keep: HashSet<&str> = touched.iter().map(String::as_str).collect();
                    let drop: Vec<String> =
                        self.runtime.account_ids().filter(|id| !keep.contains(id)).map(str::to_string).collect();
                    for id in &drop {
                        // Its journal holds what its snapshot lacks: reading it back replays it.
                        self.runtime.unload_account(id);
                        self.kept.remove(id.as_str());
                    }
                }
                Ok(applied)
            }
            Err(e) => {
                self.forget_all();
                Err(e)
            }
        }
    }

    /// An account's state as the store has it now (its snapshot with the journal since
    /// replayed), its version, and its payments; `None` when no event named it.
    pub fn stored_account(&mut self, id: &str) -> Result<Option<StoredAccount>, StoreError> {
        let accounts = [id.to_string()];
        let mut live = self.program;
        let Durable { runtime, store, kept, earlier, .. } = self;
        let result = store.transact(&mut |tx| {
            let program = live_program(runtime, &mut live, tx)?;
            tx.lock_accounts(&accounts)?;
            refresh(runtime, kept, earlier, tx, program, &accounts)
        });
        if let Err(e) = result {
            self.forget_all();
            return Err(e);
        }
        self.program = live;
        let (Some(state), Some(kept)) = (self.runtime.account_state(id), self.kept.get(id)) else { return Ok(None) };
        let payments = self.runtime.payment_states(id).iter().map(to_json).collect::<Result<Vec<_>, _>>()?;
        Ok(Some(StoredAccount { version: kept.version, state: to_json(&state)?, payments, journal: Vec::new() }))
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

/// Writes the snapshots of the accounts changed whose stored snapshots now lack at least
/// `every` events.
fn write_snapshots(
    runtime: &Runtime,
    kept: &mut KeptMap,
    tx: &mut dyn Tx,
    changed: &[Id],
    every: usize,
) -> Result<(), StoreError> {
    let mut states = Vec::new();
    let mut payments = Vec::new();
    // An account changed twice is written once: its `behind` is 0 the second time.
    for account in changed {
        let Some(k) = kept.get_mut(account).filter(|k| k.behind >= every) else { continue };
        let Some(state) = runtime.account_state(account) else { continue };
        states.push((account.to_string(), k.version, to_json(&state)?));
        let mut changed_payments = std::mem::take(&mut k.payments);
        changed_payments.sort_unstable();
        changed_payments.dedup();
        for payment in changed_payments {
            let position = runtime.payment_position(account, &payment);
            if let (Some(state), Some(position)) = (runtime.payment_state(account, &payment), position) {
                payments.push(StoredPayment {
                    account: account.to_string(),
                    position: i64::try_from(position).unwrap_or(i64::MAX),
                    id: payment.to_string(),
                    state: to_json(&state)?,
                });
            }
        }
        k.behind = 0;
    }
    tx.put_accounts(&states)?;
    tx.put_payments(&payments)
}

/// The stored version of an account memory holds, if it holds it.
fn version_in_memory(runtime: &Runtime, kept: &KeptMap, account: &str) -> Option<i64> {
    kept.get(account).map(|k| k.version).filter(|_| runtime.has_account(account))
}

/// Brings the accounts in memory up to the store's versions. Memory holds no accepted ids
/// after it (replays start from none, and what they accept is in the store already).
fn refresh(
    runtime: &mut Runtime,
    kept: &mut KeptMap,
    earlier: &mut HashMap<i64, Runtime>,
    tx: &mut dyn Tx,
    live: i64,
    accounts: &[String],
) -> Result<(), StoreError> {
    // Every account's version is read, even for accounts memory holds: another connection
    // may have changed them. (Asking SQLite whether anyone else committed since this
    // connection's last transaction, `PRAGMA data_version`, to skip the reads was tried:
    // two processes on one file then accepted a cancel against a state one of them had not
    // read again, about one run in forty, and the reads it saved measured no faster.)
    let stored: HashMap<String, i64, Ids> = tx.versions(accounts)?.into_iter().collect();
    runtime.forget_accepted();
    for account in accounts {
        let in_memory = version_in_memory(runtime, kept, account);
        match (stored.get(account), in_memory) {
            (Some(s), Some(m)) if *s == m => {}
            (None, _) => {
                runtime.unload_account(account);
                kept.remove(account.as_str());
            }
            (Some(_), _) => {
                let Some(stored) = tx.load(account)? else { continue };
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
                };
                if replay(runtime, earlier, tx, live, account, &stored.journal)? {
                    // Replayed by another program: which payments it changed is not known here.
                    let ids = runtime.account(account).into_iter().flat_map(|a| a.payments()).map(|p| p.id.clone());
                    k.payments.extend(ids);
                }
                kept.insert(Id::from(account.as_str()), k);
            }
        }
    }
    runtime.forget_accepted();
    Ok(())
}

/// Replays an account's journal rows over its state in `runtime`, each with the program that
/// processed it: the live one directly, an earlier one in a runtime of its own, the account's
/// state carried there and back. Whether an earlier program replayed any.
fn replay(
    runtime: &mut Runtime,
    earlier: &mut HashMap<i64, Runtime>,
    tx: &mut dyn Tx,
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
            std::collections::hash_map::Entry::Vacant(v) => v.insert(earlier_runtime(tx, program)?),
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
fn earlier_runtime(tx: &mut dyn Tx, program: i64) -> Result<Runtime, StoreError> {
    let json = tx
        .program_sources(program)?
        .ok_or_else(|| StoreError(format!("the journal names program {program}, which the store does not keep")))?;
    let sources: Vec<OwnedSource> = serde_json::from_str(&json)
        .map_err(|e| StoreError(format!("program {program} is kept in a form this campc cannot read: {e}")))?;
    Runtime::load_with(&OwnedSource::files(&sources), Engine::Interp).map_err(|e| {
        StoreError(format!("the campaigns of program {program}, which processed events kept, no longer load: {e}"))
    })
}

fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError(format!("cannot write state: {e}")))
}
