//! The durable store: what keeps the ledger when the process dies.
//!
//! **Owns:** the schema and its migrations, the two backends (SQLite, embedded and the
//! default; PostgreSQL, for several processes sharing state) behind one [`Store`] trait, and
//! [`Durable`], which runs a [`camp_runtime::Runtime`] over a store so that a batch of events
//! and everything it changes (accepted ids, the accepted events in the journal, ledger
//! entries, account snapshots when due) commit in one transaction or not at all, and its
//! store thread, which writes one batch while the next is processed (and, for SQLite, a
//! checkpointer thread that copies the log into the file). **Must not touch:** what
//! an event earns (the runtime decides), printing, process exit, HTTP.
//!
//! Exactly once: an event id is accepted at most once, whatever arrives twice and whatever
//! crashes. A batch that did not commit left nothing behind, so running it again is safe; an
//! event already committed is a duplicate the second time (same content: no entries; other
//! content: a reject).

mod durable;
mod pipeline;
mod postgres;
mod sqlite;

use std::collections::HashMap;
use std::fmt;

use camp_runtime::Id;

pub use durable::{Applied, DEFAULT_CACHE_LIMIT, DEFAULT_SNAPSHOT_EVERY, Decoded, Durable, Line, Outcome, StoreRef};
pub use pipeline::Done;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// Why the store failed. The batch that was being written is not kept.
#[derive(Clone, Debug)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        StoreError(format!("SQLite: {e}"))
    }
}

impl From<::postgres::Error> for StoreError {
    fn from(e: ::postgres::Error) -> StoreError {
        match (e.as_db_error(), std::error::Error::source(&e)) {
            (Some(db), _) => StoreError(format!("PostgreSQL: {}", db.message())),
            (None, Some(source)) => StoreError(format!("PostgreSQL: {e}: {source}")),
            (None, None) => StoreError(format!("PostgreSQL: {e}")),
        }
    }
}

/// An account as kept: a snapshot of its own state and its payments in arrival order, as
/// JSON ([`camp_runtime::snapshot`]'s types), and the events accepted for it since.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAccount {
    /// The journal position the snapshot is current through: it includes the account's
    /// events up to this position and none after (0: none of the journal's).
    pub version: i64,
    /// [`camp_runtime::snapshot::AccountState`] as JSON.
    pub state: String,
    /// [`camp_runtime::snapshot::PaymentState`]s as JSON, in arrival order.
    pub payments: Vec<String>,
    /// The account's events after the snapshot, in the order they were accepted: replaying
    /// them over the snapshot gives the account's state.
    pub journal: Vec<JournalRow>,
}

/// One accepted event in the journal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalRow {
    /// Its position in the journal (increasing in the order events were accepted).
    pub seq: i64,
    /// The program that processed it ([`Tx::program`]; 0: unknown, the one live).
    pub program: i64,
    /// The event as it was accepted: one JSON line.
    pub line: String,
}

/// An accepted event to add to the journal, with the ledger entries it caused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Journaled<'a> {
    /// Its account (the account of every entry it caused, too).
    pub account: &'a str,
    /// The program that processed it.
    pub program: i64,
    /// The event as accepted.
    pub line: &'a str,
    /// Its ledger entries in order: (campaign, the entry as one JSON line of EVENTS.md).
    /// Rejects are not kept: a rejected event changed nothing.
    pub entries: Vec<(&'a str, &'a str)>,
    /// The journal position of its account's last event before this batch (`None`: the
    /// account has none). The account's first row of the batch links to it, each later one to
    /// the row before it in the batch.
    pub head: Option<i64>,
}

/// An event accepted: what idempotency and ownership need of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// Its id.
    pub id: String,
    /// Its content hash ([`camp_runtime::content_hash`]).
    pub hash: u64,
    /// Its account.
    pub account: String,
    /// Whether it is a payment (refunds, cancels and completes name payments by id).
    pub payment: bool,
}

/// A payment's state to keep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPayment {
    /// Its account.
    pub account: String,
    /// Its place in the account's arrival order, from 0.
    pub position: i64,
    /// Its id.
    pub id: String,
    /// [`camp_runtime::snapshot::PaymentState`] as JSON.
    pub state: String,
}

impl Journaled<'_> {
    /// Its entries as the journal keeps them: their JSON lines joined by newlines (JSON text
    /// never holds a raw newline), empty when it caused none.
    pub(crate) fn joined_entries(&self) -> String {
        let mut text = String::new();
        for (i, (_, entry)) in self.entries.iter().enumerate() {
            if i > 0 {
                text.push('\n');
            }
            text.push_str(entry);
        }
        text
    }

    /// The campaigns its entries name, each once: its rows in `campaign_entries`.
    pub(crate) fn campaigns(&self) -> Vec<&str> {
        let mut named: Vec<&str> = self.entries.iter().map(|(campaign, _)| *campaign).collect();
        named.sort_unstable();
        named.dedup();
        named
    }
}

/// The links of a batch's journal rows, given the positions they take in order: per row, the
/// position of its account's row before it (in this batch, or the account's head before it);
/// and per account, its last row of the batch (its new head).
pub(crate) fn journal_links<'a>(
    events: &[Journaled<'a>],
    positions: impl IntoIterator<Item = i64>,
) -> (Vec<Option<i64>>, Vec<(&'a str, i64)>) {
    let mut last: HashMap<&str, i64> = HashMap::new();
    let prev = events.iter().zip(positions).map(|(e, seq)| last.insert(e.account, seq).or(e.head)).collect();
    (prev, last.into_iter().collect())
}

/// The entries of one journal row, those of `campaign` only when it is given.
pub(crate) fn split_entries(text: &str, campaign: Option<&str>) -> Vec<String> {
    text.split('\n')
        .filter(|line| !line.is_empty())
        .filter(|line| campaign.is_none_or(|c| entry_campaign(line).as_deref() == Some(c)))
        .map(str::to_string)
        .collect()
}

/// The campaign an entry line names.
fn entry_campaign(line: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Named {
        campaign: String,
    }
    serde_json::from_str::<Named>(line).ok().map(|n| n.campaign)
}

/// Which stored entries to read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LedgerFilter {
    /// Only this account's.
    pub account: Option<String>,
    /// Only this campaign's.
    pub campaign: Option<String>,
}

/// The work of one transaction.
pub trait Tx {
    /// Serializes this transaction with every other one touching these accounts (other
    /// processes included) until it ends. `accounts` holds each once, in no order: a backend
    /// takes the locks in one order of its own (PostgreSQL: by the keys' hashes), so two
    /// transactions cannot deadlock.
    fn lock_accounts(&mut self, accounts: &[Id]) -> Result<(), StoreError>;
    /// Of these event ids, those accepted before, with their content hashes.
    fn accepted(&mut self, ids: &[Id]) -> Result<Vec<(String, u64)>, StoreError>;
    /// Of these payment ids, those of payments accepted before, with their accounts.
    fn owners(&mut self, payments: &[Id]) -> Result<Vec<(String, String)>, StoreError>;
    /// The versions of these accounts, for those kept: the journal position of the account's
    /// last event (0 for an account kept only as a snapshot). The version changes whenever an
    /// event changes the account.
    fn versions(&mut self, accounts: &[Id]) -> Result<Vec<(String, i64)>, StoreError>;
    /// An account as kept: its snapshot and the journal since (`None` when no event named it).
    fn load(&mut self, account: &str) -> Result<Option<StoredAccount>, StoreError>;
    /// Records events as accepted.
    fn accept(&mut self, events: &[Accepted]) -> Result<(), StoreError>;
    /// Appends accepted events to the journal, in order, and their entries to the ledger:
    /// the journal position each got, in the same order.
    fn journal(&mut self, events: &[Journaled<'_>]) -> Result<Vec<i64>, StoreError>;
    /// The id of a program (its sources as JSON, and their hash), registered when new.
    fn program(&mut self, hash: u64, sources: &str) -> Result<i64, StoreError>;
    /// The sources (as JSON) of a program registered before.
    fn program_sources(&mut self, id: i64) -> Result<Option<String>, StoreError>;
    /// Writes snapshots of accounts' own states, each current through a journal position:
    /// (account, position, state).
    fn put_accounts(&mut self, accounts: &[(String, i64, String)]) -> Result<(), StoreError>;
    /// Writes payments' states, each at its place in its account's arrival order.
    fn put_payments(&mut self, payments: &[StoredPayment]) -> Result<(), StoreError>;
    /// A number that changes whenever another connection commits, and never for this
    /// connection's own commits (SQLite's `PRAGMA data_version`); `None` when the backend
    /// cannot tell. Read under the write lock, it says whether anyone else wrote since this
    /// connection's previous transaction.
    fn data_version(&mut self) -> Result<Option<i64>, StoreError> {
        Ok(None)
    }
    /// The position the journal gives the next row appended to it, when the backend can say
    /// it ahead (`None` otherwise).
    fn next_position(&mut self) -> Result<Option<i64>, StoreError> {
        Ok(None)
    }
}

/// A place that keeps accepted events, ledger entries and account state.
pub trait Store: Send {
    /// Runs `work` in one transaction: commits when it returns `Ok`, rolls back otherwise.
    fn transact(&mut self, work: &mut dyn FnMut(&mut dyn Tx) -> Result<(), StoreError>) -> Result<(), StoreError>;
    /// The ledger entries kept, in the order they were written, as JSON lines.
    fn ledger(&mut self, filter: &LedgerFilter) -> Result<Vec<String>, StoreError>;
    /// Which backend this is, for messages.
    fn describe(&self) -> String;
    /// Whether ids (of events, accounts and the payments refunds name) may hold the NUL
    /// character: PostgreSQL's text cannot, so [`Durable`] rejects an event naming one on its
    /// own instead of failing the statement and with it the whole batch.
    fn holds_nul(&self) -> bool {
        true
    }
    /// Whether [`Tx::data_version`] and [`Tx::next_position`] answer: then [`Durable::submit`]
    /// processes a batch while the store thread writes the one before, and checks before
    /// writing it that no other connection committed in between.
    fn sees_other_writers(&self) -> bool {
        false
    }
}

impl fmt::Debug for dyn Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// Opens the store a `--store` argument names: a `postgres://` or `postgresql://` URL, or the
/// path of a SQLite file (created when missing). The schema is brought up to date.
pub fn open(spec: &str) -> Result<Box<dyn Store>, StoreError> {
    if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
        Ok(Box::new(PostgresStore::connect(spec)?))
    } else {
        Ok(Box::new(SqliteStore::open(std::path::Path::new(spec))?))
    }
}

/// Opens a store that must exist already (for reading): a SQLite file that is missing is an
/// error rather than a new empty store.
pub fn open_existing(spec: &str) -> Result<Box<dyn Store>, StoreError> {
    let is_url = spec.starts_with("postgres://") || spec.starts_with("postgresql://");
    if !is_url && !std::path::Path::new(spec).exists() {
        return Err(StoreError(format!("there is no store at {spec} (`campc run --store {spec}` makes one)")));
    }
    open(spec)
}

/// The schema version this build writes; a store at a later version is refused.
pub const SCHEMA_VERSION: i64 = 3;

/// The migrations a store at `version` still needs, each with the version it brings the store
/// to; an error for a store newer than this build. Migration `n` of a backend's list brings
/// the schema from version `n` to `n + 1`.
fn pending<'m>(version: i64, migrations: &'m [&'m str]) -> Result<Vec<(i64, &'m str)>, StoreError> {
    if version > SCHEMA_VERSION {
        return Err(StoreError(format!(
            "the store is at schema version {version}, newer than this campc's {SCHEMA_VERSION}: use a newer campc"
        )));
    }
    let done = usize::try_from(version).unwrap_or(0);
    Ok(migrations
        .iter()
        .enumerate()
        .skip(done)
        .map(|(n, sql)| (i64::try_from(n + 1).unwrap_or(i64::MAX), *sql))
        .collect())
}
