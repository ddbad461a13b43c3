//! A runtime over a store: batches of events in, ledger entries out, each batch kept whole
//! or not at all.
//!
//! The runtime keeps accounts in memory as a cache of the store. Before a batch runs, the
//! accounts it touches are locked, and any whose stored version is not the one in memory
//! (another process wrote it, or it was never loaded) is read again. After it runs, what it
//! changed is written in the same transaction as the ids it accepted and the entries it
//! wrote. When the store fails, memory is dropped, since it may now be ahead of the store.

use std::collections::{BTreeSet, HashMap, HashSet};

use camp_runtime::event::{self, Event, EventKind};
use camp_runtime::{Entry, Runtime};

use crate::{Accepted, Store, StoreError, StoredEntry, StoredPayment, Tx};

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
    /// The stored version of each account in memory.
    versions: HashMap<String, i64>,
    /// The most accounts kept in memory between batches (the store keeps them all).
    cache_limit: usize,
}

/// Accounts kept in memory between batches unless [`Durable::with_cache_limit`] says otherwise.
pub const DEFAULT_CACHE_LIMIT: usize = 250_000;

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
    Event(Box<Event>, u64),
}

impl Decoded {
    /// Decodes one line (numbered from 1) and hashes its content.
    pub fn line(number: usize, text: &str) -> Decoded {
        let what = match event::parse_line(text) {
            Ok(None) => Decoding::Blank,
            Ok(Some((event, hash))) => Decoding::Event(Box::new(event), hash),
            Err(reject) => Decoding::Bad(reject),
        };
        Decoded { number, what }
    }
}

impl Durable {
    /// A runtime over a store. Accounts are read from the store as events need them.
    pub fn new(mut runtime: Runtime, store: Box<dyn Store>) -> Durable {
        // What a batch changed is what it writes.
        runtime.track_changes();
        Durable { runtime, store, versions: HashMap::new(), cache_limit: DEFAULT_CACHE_LIMIT }
    }

    /// Keeps at most `accounts` accounts in memory between batches: past that, those the last
    /// batch did not touch are dropped and read from the store again when an event needs
    /// them. Memory stays bounded however many accounts the store holds.
    pub fn with_cache_limit(mut self, accounts: usize) -> Durable {
        self.cache_limit = accounts;
        self
    }

    /// The runtime (for reading; its accounts are a cache of the store's).
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
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
        self.runtime.reload_sources(files, engine)
    }

    /// Processes a batch of lines in one transaction. On `Err` nothing of the batch was kept
    /// and it may be given again.
    pub fn apply(&mut self, lines: &[Line<'_>]) -> Result<Applied, StoreError> {
        let decoded: Vec<Decoded> = lines.iter().map(|line| Decoded::line(line.number, line.text)).collect();
        self.apply_decoded(&decoded)
    }

    /// [`Durable::apply`] on lines decoded ahead ([`Decoded::line`]).
    pub fn apply_decoded(&mut self, decoded: &[Decoded]) -> Result<Applied, StoreError> {
        let events: Vec<&Event> = decoded
            .iter()
            .filter_map(|d| match &d.what {
                Decoding::Event(e, _) => Some(e.as_ref()),
                _ => None,
            })
            .collect();
        let ids: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
        let named: Vec<String> = events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Refund { payment, .. } | EventKind::Complete { payment } => Some(payment.clone()),
                _ => None,
            })
            .collect();

        let Durable { runtime, store, versions, cache_limit } = self;
        let mut touched: Vec<String> = Vec::new();
        let mut applied = Applied::default();
        let mut written: Vec<(String, i64)> = Vec::new();
        let result = store.transact(&mut |tx: &mut dyn Tx| {
            applied = Applied::default();
            written.clear();
            let owners = tx.owners(&named)?;
            let accounts: BTreeSet<String> =
                events.iter().map(|e| e.account.clone()).chain(owners.iter().map(|(_, a)| a.clone())).collect();
            let accounts: Vec<String> = accounts.into_iter().collect();
            tx.lock_accounts(&accounts)?;
            touched.clone_from(&accounts);
            let before: HashMap<String, u64> = tx.accepted(&ids)?.into_iter().collect();
            runtime.forget_accepted();
            for (id, hash) in &before {
                runtime.remember_accepted(id, *hash);
            }
            refresh(runtime, versions, tx, &accounts)?;
            for (payment, account) in &owners {
                runtime.remember_owner(payment, account);
            }

            let mut fresh: Vec<Accepted> = Vec::new();
            let mut fresh_ids: HashSet<&str> = HashSet::new();
            for d in decoded {
                let reject = |r: event::Reject| Entry::Reject { event: r.event, line: d.number, error: r.error };
                let outcome = match &d.what {
                    Decoding::Blank => Outcome::Blank,
                    Decoding::Bad(r) => {
                        applied.entries.push(reject(r.clone()));
                        Outcome::Rejected
                    }
                    Decoding::Event(event, hash) => match runtime.process_hashed(event, *hash) {
                        Ok(entries) => {
                            applied.entries.extend(entries);
                            if before.contains_key(&event.id) || fresh_ids.contains(event.id.as_str()) {
                                applied.duplicates += 1;
                                Outcome::Duplicate
                            } else {
                                fresh_ids.insert(&event.id);
                                fresh.push(Accepted {
                                    id: event.id.clone(),
                                    hash: *hash,
                                    account: event.account.clone(),
                                    payment: matches!(event.kind, EventKind::Payment(_)),
                                });
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

            let changes = runtime.take_changes();
            tx.accept(&fresh)?;
            let mut states = Vec::with_capacity(changes.accounts.len());
            for account in &changes.accounts {
                let state = runtime.account_state(account).unwrap_or_default();
                let version = versions.get(account).copied().unwrap_or(0) + 1;
                states.push((account.clone(), version, to_json(&state)?));
                written.push((account.clone(), version));
            }
            tx.put_accounts(&states)?;
            let mut payments = Vec::with_capacity(changes.payments.len());
            for (account, payment) in &changes.payments {
                let position = runtime.payment_position(account, payment);
                if let (Some(state), Some(position)) = (runtime.payment_state(account, payment), position) {
                    payments.push(StoredPayment {
                        account: account.clone(),
                        position: i64::try_from(position).unwrap_or(i64::MAX),
                        id: payment.clone(),
                        state: to_json(&state)?,
                    });
                }
            }
            tx.put_payments(&payments)?;
            applied.json = applied.entries.iter().map(Entry::to_json).collect();
            let kept: Vec<StoredEntry> =
                applied.entries.iter().zip(&applied.json).filter_map(|(entry, json)| stored(entry, json)).collect();
            tx.append(&kept)
        });
        match result {
            Ok(()) => {
                versions.extend(written);
                runtime.forget_accepted();
                if runtime.account_count() > *cache_limit {
                    let keep: HashSet<&str> = touched.iter().map(String::as_str).collect();
                    let drop: Vec<String> =
                        runtime.account_ids().filter(|id| !keep.contains(id)).map(str::to_string).collect();
                    for id in &drop {
                        runtime.unload_account(id);
                        versions.remove(id);
                    }
                }
                Ok(applied)
            }
            Err(e) => {
                runtime.unload_all();
                versions.clear();
                Err(e)
            }
        }
    }

    /// An account's state as kept (and its payments), read from the store.
    pub fn stored_account(&mut self, id: &str) -> Result<Option<crate::StoredAccount>, StoreError> {
        let mut found = None;
        self.store.transact(&mut |tx| {
            found = tx.load(id)?;
            Ok(())
        })?;
        Ok(found)
    }
}

/// The stored version of an account memory holds, if it holds it.
fn version_in_memory(runtime: &Runtime, versions: &HashMap<String, i64>, account: &str) -> Option<i64> {
    versions.get(account).copied().filter(|_| runtime.has_account(account))
}

/// Brings the accounts in memory up to the store's versions.
fn refresh(
    runtime: &mut Runtime,
    versions: &mut HashMap<String, i64>,
    tx: &mut dyn Tx,
    accounts: &[String],
) -> Result<(), StoreError> {
    // When no other connection wrote since this one last did, the accounts in memory are the
    // store's: only the others' versions are read.
    let unknown: Vec<String>;
    let to_check = if tx.others_may_have_written()? {
        accounts
    } else {
        unknown = accounts.iter().filter(|a| version_in_memory(runtime, versions, a).is_none()).cloned().collect();
        &unknown
    };
    let stored: HashMap<String, i64> = tx.versions(to_check)?.into_iter().collect();
    for account in to_check {
        let in_memory = version_in_memory(runtime, versions, account);
        match (stored.get(account), in_memory) {
            (Some(s), Some(m)) if *s == m => {}
            (None, None) => runtime.unload_account(account),
            (None, Some(_)) => {
                runtime.unload_account(account);
                versions.remove(account);
            }
            (Some(_), _) => {
                let Some(kept) = tx.load(account)? else { continue };
                let state = serde_json::from_str(&kept.state).map_err(|e| {
                    StoreError(format!("account {account} is kept in a form this campc cannot read: {e}"))
                })?;
                let payments = kept
                    .payments
                    .iter()
                    .map(|p| serde_json::from_str(p))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| StoreError(format!("a payment of account {account} cannot be read: {e}")))?;
                runtime.restore_account(account, state, payments);
                versions.insert(account.clone(), kept.version);
            }
        }
    }
    Ok(())
}

fn to_json(value: &impl serde::Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError(format!("cannot write state: {e}")))
}

fn stored(entry: &Entry, json: &str) -> Option<StoredEntry> {
    match entry {
        Entry::Award { event, account, campaign, payment, .. }
        | Entry::Adjust { event, account, campaign, payment, .. } => Some(StoredEntry {
            account: account.clone(),
            campaign: campaign.clone(),
            payment: payment.clone(),
            event: event.clone(),
            json: json.to_string(),
        }),
        Entry::Reject { .. } => None,
    }
}
