//! The embedded store: one SQLite file, write-ahead log, `synchronous=FULL` (a commit is on
//! disk before it returns), the log copied into the file by a checkpointer of its own.

use std::collections::HashMap;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use camp_runtime::Id;

use crate::{
    Accepted, JournalRow, Journaled, LedgerFilter, Store, StoreError, StoredAccount, StoredPayment, Tx, journal_links,
};

/// Migrations, in order: migration `n` brings the schema from version `n` to `n + 1`.
///
/// Schema 2 keeps each accepted event in `journal` with the ledger entries it caused (found
/// by campaign through `campaign_entries`); schema 1's `ledger` table keeps the entries
/// written before, and is read first. Schema 3 finds an account's rows without an index on
/// the journal: `heads` holds each account's last row, and each row the account's row before
/// it (`prev`). An index by (account, position) had one of its leaves rewritten for nearly
/// every event of a batch spread over many accounts, in every batch: most of the bytes the
/// write-ahead log took.
const MIGRATIONS: &[&str] = &[
    "
    CREATE TABLE events (
        id TEXT PRIMARY KEY,
        hash INTEGER NOT NULL,
        account TEXT NOT NULL,
        payment INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE accounts (
        id TEXT PRIMARY KEY,
        version INTEGER NOT NULL,
        state TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE payments (
        account TEXT NOT NULL,
        position INTEGER NOT NULL,
        id TEXT NOT NULL,
        state TEXT NOT NULL,
        PRIMARY KEY (account, position)
    );
    CREATE TABLE ledger (
        seq INTEGER PRIMARY KEY,
        account TEXT NOT NULL,
        campaign TEXT NOT NULL,
        payment TEXT NOT NULL,
        event TEXT NOT NULL,
        entry TEXT NOT NULL
    );
    CREATE INDEX ledger_by_account ON ledger (account, seq);
    CREATE INDEX ledger_by_campaign ON ledger (campaign, seq);
",
    "
    CREATE TABLE journal (
        seq INTEGER PRIMARY KEY,
        account TEXT NOT NULL,
        program INTEGER NOT NULL,
        line TEXT NOT NULL,
        entries TEXT NOT NULL
    );
    CREATE INDEX journal_by_account ON journal (account, seq);
    CREATE TABLE programs (
        id INTEGER PRIMARY KEY,
        hash INTEGER NOT NULL UNIQUE,
        sources TEXT NOT NULL
    );
    CREATE TABLE campaign_entries (
        campaign TEXT NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (campaign, seq)
    ) WITHOUT ROWID;
    UPDATE accounts SET version = 0;
",
    "
    ALTER TABLE journal ADD COLUMN prev INTEGER;
    UPDATE journal SET prev =
        (SELECT max(j.seq) FROM journal AS j WHERE j.account = journal.account AND j.seq < journal.seq);
    CREATE TABLE heads (
        account TEXT PRIMARY KEY,
        seq INTEGER NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO heads (account, seq) SELECT account, max(seq) FROM journal GROUP BY account;
    DROP INDEX journal_by_account;
",
];

/// A SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    // Stopped before the connection closes, so that the connection, closing last, checkpoints
    // the log and removes it.
    _checkpointer: Option<Checkpointer>,
    connection: Connection,
    path: String,
    inserts: InsertTexts,
}

/// Copies the log into the file on a connection and a thread of its own, every
/// [`CHECKPOINT_EVERY`]: a checkpoint of the log's 64 MiB took 40 ms or more, on the writer's
/// commit, when the writer alone checkpointed. SQLite checkpoints without blocking the writer
/// (`PASSIVE`), and the writer's own checkpoints (still at 64 MiB) are left what this one has
/// not copied yet.
#[derive(Debug)]
struct Checkpointer {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// How often the checkpointer copies the log into the file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

impl Checkpointer {
    /// Starts checkpointing `path`; `None` when it cannot (the writer then checkpoints alone).
    fn start(path: &Path) -> Option<Checkpointer> {
        let connection = Connection::open(path).ok()?;
        connection.pragma_update(None, "synchronous", "FULL").ok()?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("camp-checkpoint".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_EVERY) {
                    // A checkpoint that cannot run now (another is under way) runs next time.
                    let _ = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                }
            })
            .ok()?;
        Some(Checkpointer { stop: Some(stop), thread: Some(thread) })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl SqliteStore {
    /// Opens (creating when missing) a store file and brings its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let cannot = |e: rusqlite::Error| StoreError(format!("cannot open the store {}: {e}", path.display()));
        let mut connection = Connection::open(path).map_err(cannot)?;
        connection.busy_timeout(std::time::Duration::from_secs(30)).map_err(cannot)?;
        retry_when_busy(|| {
            connection.pragma_update(None, "journal_mode", "WAL")?;
            connection.pragma_update(None, "synchronous", "FULL")?;
            // A page cache of 8 MiB (not 2) keeps the B-tree interiors in memory; leaves come
            // from the operating system's cache. Not more: a B-tree split that reorders its
            // pages numbers one of them 262,145 for a moment (SQLite's `balance_nonroot`), and
            // the commit after it then walks every page this cache holds (`pcache1Truncate`),
            // which with 64 MiB cost the service a tenth of its writer's time
            // (docs/PERFORMANCE.md). Checkpointing the log every 64 MiB (not 4) writes a page
            // rewritten by many batches to the file once.
            connection.pragma_update(None, "cache_size", -8_192)?;
            connection.pragma_update(None, "wal_autocheckpoint", 16_384)
        })
        .map_err(cannot)?;
        retry_when_busy(|| migrate(&mut connection)).map_err(cannot)??;
        // Every statement a batch runs stays prepared, the multi-row inserts' sizes included.
        connection.set_prepared_statement_cache_capacity(64);
        let checkpointer = Checkpointer::start(path);
        Ok(SqliteStore {
            _checkpointer: checkpointer,
            connection,
            path: path.display().to_string(),
            inserts: InsertTexts::default(),
        })
    }
}

/// Runs `work` again while SQLite reports "busy" without having waited: two processes
/// opening a new file at once can meet where SQLite refuses at once rather than risk a
/// deadlock (switching to WAL, starting the migration), and the one refused tries again.
fn retry_when_busy<T>(mut work: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let mut attempts = 0;
    loop {
        match work() {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy && attempts < 250 =>
            {
                attempts += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            done => return done,
        }
    }
}

/// Brings the schema up to date; the inner error is a store newer than this build.
fn migrate(connection: &mut Connection) -> rusqlite::Result<Result<(), StoreError>> {
    let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let pending = match crate::pending(version, MIGRATIONS) {
        Ok(pending) => pending,
        Err(newer) => return Ok(Err(newer)),
    };
    for (to, migration) in pending {
        tx.execute_batch(migration)?;
        tx.pragma_update(None, "user_version", to)?;
    }
    tx.commit()?;
    Ok(Ok(()))
}

/// Of these keys, those a query finds, with what it found: `sql` reads the keys as the rows
/// of `json_each(?1)` (a JSON array of them) and returns each key found with its value. One
/// statement for a whole batch: a statement per key cost more in its own stepping than in
/// the index look-up it made.
fn lookup<T: rusqlite::types::FromSql>(
    tx: &rusqlite::Transaction<'_>,
    sql: &str,
    keys: &[Id],
) -> Result<Vec<(String, T)>, StoreError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let keys = serde_json::to_string(keys).map_err(|e| StoreError(format!("keys as JSON: {e}")))?;
    let mut statement = tx.prepare_cached(sql)?;
    let rows = statement.query_map([keys], |r| Ok((r.get::<_, String>(0)?, r.get::<_, T>(1)?)))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Rows a multi-row `INSERT` takes, largest first: a batch's rows go in statements of these
/// sizes. SQLite's work per statement (its statement savepoint, cursors, halting) cost about
/// as much as a row's own B-tree work when every row had a statement of its own.
const ROWS_PER_INSERT: [usize; 3] = [64, 8, 1];

/// Inserts `rows` into `into` (a table and its `width` columns, as `INSERT INTO` names them)
/// in as few statements as [`ROWS_PER_INSERT`] allows; `bind` binds one row's values from
/// parameter `at` on.
///
/// `OR FAIL`: a row that breaks a constraint stops its statement without undoing the rows
/// before it, so SQLite keeps no statement journal (for statements of many rows it spills to
/// a temporary file: three times the writes). The error fails the whole transaction, which is
/// rolled back, so nothing of the batch is kept either way.
fn insert_rows<R>(
    tx: &mut SqliteTx<'_>,
    into: &'static str,
    width: usize,
    rows: &[R],
    bind: impl Fn(&mut rusqlite::Statement<'_>, usize, &R) -> rusqlite::Result<()>,
) -> Result<(), StoreError> {
    insert_rows_as(tx, "INSERT OR FAIL INTO", into, width, rows, bind)
}

/// [`insert_rows`] with another verb (`INSERT OR REPLACE INTO`, say).
fn insert_rows_as<R>(
    tx: &mut SqliteTx<'_>,
    verb: &'static str,
    into: &'static str,
    width: usize,
    rows: &[R],
    bind: impl Fn(&mut rusqlite::Statement<'_>, usize, &R) -> rusqlite::Result<()>,
) -> Result<(), StoreError> {
    let mut rest = rows;
    for size in ROWS_PER_INSERT {
        if rest.len() < size {
            continue;
        }
        let sql = tx.inserts.text(verb, into, width, size);
        let mut statement = tx.tx.prepare_cached(sql)?;
        while rest.len() >= size {
            let (chunk, after) = rest.split_at(size);
            for (i, r) in chunk.iter().enumerate() {
                bind(&mut statement, 1 + i * width, r)?;
            }
            statement.raw_execute()?;
            rest = after;
        }
    }
    Ok(())
}

/// The text of each multi-row insert, by verb, table, width and size, made the first time it
/// is needed: made again for every statement of every batch, the texts (a kilobyte for 64
/// rows) were about a twentieth of the store thread's instructions in small batches.
#[derive(Debug, Default)]
struct InsertTexts(HashMap<(&'static str, &'static str, usize, usize), String>);

impl InsertTexts {
    fn text(&mut self, verb: &'static str, into: &'static str, width: usize, size: usize) -> &str {
        self.0.entry((verb, into, width, size)).or_insert_with(|| {
            let row = format!("({})", vec!["?"; width].join(", "));
            format!("{verb} {into} VALUES {}", vec![row; size].join(", "))
        })
    }
}

struct SqliteTx<'c> {
    tx: rusqlite::Transaction<'c>,
    inserts: &'c mut InsertTexts,
}

impl SqliteTx<'_> {
    /// The position SQLite gives the journal's next row: the largest so far plus one.
    fn next_seq(&self) -> Result<i64, StoreError> {
        Ok(self.tx.prepare_cached("SELECT coalesce(max(seq), 0) + 1 FROM journal")?.query_row([], |r| r.get(0))?)
    }
}

/// An account's journal rows after a position: from its head, back along each row's link
/// to the one before, while past that position (`?1` the account, `?2` the position; 0 for
/// all its rows, since positions start at 1). Completed by a `SELECT` over `chain` joined to
/// `journal` (see [`ACCOUNT_JOURNAL`]).
macro_rules! account_rows {
    () => {
        "WITH RECURSIVE chain (seq) AS (
             SELECT seq FROM heads WHERE account = ?1 AND seq > ?2
             UNION ALL
             SELECT j.prev FROM chain AS c JOIN journal AS j ON j.seq = c.seq WHERE j.prev > ?2
         )
         "
    };
}

/// An account's journal rows after a position, in journal order: what reading an account
/// back replays. `CROSS JOIN` keeps the chain the outer loop, each of its rows found in the
/// journal by position. Left to choose, SQLite read the whole journal in order (which spared
/// it sorting the chain's few rows) and looked each journal row up in the chain: reading an
/// account back cost as much as the journal was long, and a run resumed over events already
/// accepted, which reads every account back, took about 40 times as long as the first run.
const ACCOUNT_JOURNAL: &str = concat!(
    account_rows!(),
    "SELECT j.seq, j.program, j.line FROM chain AS c CROSS JOIN journal AS j ON j.seq = c.seq ORDER BY c.seq"
);

/// An account's ledger entries, in journal order; the chain the outer loop, as in
/// [`ACCOUNT_JOURNAL`].
const ACCOUNT_ENTRIES: &str = concat!(
    account_rows!(),
    "SELECT j.entries FROM chain AS c CROSS JOIN journal AS j ON j.seq = c.seq
     WHERE j.entries <> '' ORDER BY c.seq"
);

/// A campaign's ledger entries, in journal order.
const CAMPAIGN_ENTRIES: &str = "SELECT j.entries FROM campaign_entries c JOIN journal j ON j.seq = c.seq
     WHERE c.campaign = ?1 ORDER BY c.seq";

impl Tx for SqliteTx<'_> {
    fn lock_accounts(&mut self, _accounts: &[Id]) -> Result<(), StoreError> {
        // BEGIN IMMEDIATE took the file's write lock: one writer at a time.
        Ok(())
    }

    fn accepted(&mut self, ids: &[Id]) -> Result<Vec<(String, u64)>, StoreError> {
        let found = lookup::<i64>(
            &self.tx,
            "SELECT j.value, e.hash FROM json_each(?1) AS j JOIN events AS e ON e.id = j.value",
            ids,
        )?;
        Ok(found.into_iter().map(|(id, hash)| (id, hash.cast_unsigned())).collect())
    }

    fn owners(&mut self, payments: &[Id]) -> Result<Vec<(String, String)>, StoreError> {
        lookup(
            &self.tx,
            "SELECT j.value, e.account FROM json_each(?1) AS j JOIN events AS e ON e.id = j.value AND e.payment = 1",
            payments,
        )
    }

    fn versions(&mut self, accounts: &[Id]) -> Result<Vec<(String, i64)>, StoreError> {
        // One statement a key here: the account's last journal row is a seek each, and
        // reading the keys from `json_each` measured slower than stepping this statement.
        let mut statement = self.tx.prepare_cached(
            "SELECT coalesce((SELECT seq FROM heads WHERE account = ?1), (SELECT 0 FROM accounts WHERE id = ?1))",
        )?;
        let mut found = Vec::new();
        for account in accounts {
            if let Some(version) = statement.query_row([&**account], |r| r.get::<_, Option<i64>>(0))? {
                found.push((account.to_string(), version));
            }
        }
        Ok(found)
    }

    fn load(&mut self, account: &str) -> Result<Option<StoredAccount>, StoreError> {
        let snapshot = self
            .tx
            .prepare_cached("SELECT version, state FROM accounts WHERE id = ?1")?
            .query_row([account], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
            .optional()?;
        let found = snapshot.is_some();
        let (version, state) = snapshot.unwrap_or_default();
        let mut statement =
            self.tx.prepare_cached("SELECT state FROM payments WHERE account = ?1 ORDER BY position")?;
        let payments = statement.query_map([account], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
        let mut statement = self.tx.prepare_cached(ACCOUNT_JOURNAL)?;
        let journal = statement
            .query_map(params![account, version], |r| {
                Ok(JournalRow { seq: r.get(0)?, program: r.get(1)?, line: r.get(2)? })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        if !found && journal.is_empty() {
            return Ok(None);
        }
        Ok(Some(StoredAccount { version, state, payments, journal }))
    }

    fn accept(&mut self, events: &[Accepted]) -> Result<(), StoreError> {
        insert_rows(self, "events (id, hash, account, payment)", 4, events, |statement, at, e| {
            statement.raw_bind_parameter(at, &e.id)?;
            statement.raw_bind_parameter(at + 1, e.hash.cast_signed())?;
            statement.raw_bind_parameter(at + 2, &e.account)?;
            statement.raw_bind_parameter(at + 3, e.payment)
        })
    }

    fn journal(&mut self, events: &[Journaled<'_>]) -> Result<Vec<i64>, StoreError> {
        // Many rows go in one statement, so their positions are worked out here: SQLite gives
        // each new row the largest position so far plus one, and no other connection writes
        // while this transaction holds the write lock. (Giving the positions explicitly would
        // make SQLite look each one up first.) Checked below.
        let first = self.next_seq()?;
        let (prev, mut heads) = journal_links(events, first..);
        let rows: Vec<(i64, &Journaled<'_>, String, Option<i64>)> =
            (first..).zip(events).zip(prev).map(|((seq, e), prev)| (seq, e, e.joined_entries(), prev)).collect();
        insert_rows(self, "journal (account, program, line, entries, prev)", 5, &rows, |statement, at, row| {
            let (_, e, entries, prev) = row;
            statement.raw_bind_parameter(at, e.account)?;
            statement.raw_bind_parameter(at + 1, e.program)?;
            statement.raw_bind_parameter(at + 2, e.line)?;
            statement.raw_bind_parameter(at + 3, entries.as_str())?;
            statement.raw_bind_parameter(at + 4, prev)
        })?;
        if let Some((last, _, _, _)) = rows.last()
            && self.tx.last_insert_rowid() != *last
        {
            return Err(StoreError(format!(
                "the journal gave its last row position {}, not {last}: the store was changed while written",
                self.tx.last_insert_rowid()
            )));
        }
        // The accounts' heads move to their last rows of this batch.
        heads.sort_unstable();
        insert_rows_as(self, "INSERT OR REPLACE INTO", "heads (account, seq)", 2, &heads, |statement, at, row| {
            statement.raw_bind_parameter(at, row.0)?;
            statement.raw_bind_parameter(at + 1, row.1)
        })?;
        let by_campaign: Vec<(&str, i64)> =
            rows.iter().flat_map(|(seq, e, _, _)| e.campaigns().into_iter().map(|c| (c, *seq))).collect();
        insert_rows(self, "campaign_entries (campaign, seq)", 2, &by_campaign, |statement, at, (campaign, seq)| {
            statement.raw_bind_parameter(at, campaign)?;
            statement.raw_bind_parameter(at + 1, seq)
        })?;
        Ok(rows.iter().map(|(seq, _, _, _)| *seq).collect())
    }

    fn program(&mut self, hash: u64, sources: &str) -> Result<i64, StoreError> {
        self.tx
            .prepare_cached("INSERT INTO programs (hash, sources) VALUES (?1, ?2) ON CONFLICT (hash) DO NOTHING")?
            .execute(params![hash.cast_signed(), sources])?;
        Ok(self
            .tx
            .prepare_cached("SELECT id FROM programs WHERE hash = ?1")?
            .query_row([hash.cast_signed()], |r| r.get(0))?)
    }

    fn program_sources(&mut self, id: i64) -> Result<Option<String>, StoreError> {
        Ok(self
            .tx
            .prepare_cached("SELECT sources FROM programs WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?)
    }

    fn put_accounts(&mut self, accounts: &[(String, i64, String)]) -> Result<(), StoreError> {
        let mut statement = self.tx.prepare_cached(
            "INSERT INTO accounts (id, version, state) VALUES (?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET version = excluded.version, state = excluded.state",
        )?;
        for (account, version, state) in accounts {
            statement.execute(params![account, version, state])?;
        }
        Ok(())
    }

    fn put_payments(&mut self, payments: &[StoredPayment]) -> Result<(), StoreError> {
        let mut statement = self.tx.prepare_cached(
            "INSERT INTO payments (account, position, id, state) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (account, position) DO UPDATE SET id = excluded.id, state = excluded.state",
        )?;
        for p in payments {
            statement.execute(params![p.account, p.position, p.id, p.state])?;
        }
        Ok(())
    }

    fn data_version(&mut self) -> Result<Option<i64>, StoreError> {
        Ok(Some(self.tx.prepare_cached("PRAGMA data_version")?.query_row([], |r| r.get(0))?))
    }

    fn next_position(&mut self) -> Result<Option<i64>, StoreError> {
        Ok(Some(self.next_seq()?))
    }
}

impl Store for SqliteStore {
    fn transact(&mut self, work: &mut dyn FnMut(&mut dyn Tx) -> Result<(), StoreError>) -> Result<(), StoreError> {
        let tx = self.connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut tx = SqliteTx { tx, inserts: &mut self.inserts };
        work(&mut tx)?;
        tx.tx.commit()?;
        Ok(())
    }

    fn ledger(&mut self, filter: &LedgerFilter) -> Result<Vec<String>, StoreError> {
        // Schema 1's entries first (all were written before any of schema 2's), then the
        // journal's in journal order: by account along its chain of rows from its head, by
        // campaign through campaign_entries.
        let mut lines = Vec::new();
        let mut statement = self.connection.prepare_cached(
            "SELECT entry FROM ledger WHERE (?1 IS NULL OR account = ?1) AND (?2 IS NULL OR campaign = ?2) ORDER BY seq",
        )?;
        for row in statement.query_map(params![filter.account, filter.campaign], |r| r.get::<_, String>(0))? {
            lines.push(row?);
        }
        // All of an account's rows: those after position 0.
        const ALL: i64 = 0;
        let (sql, args): (&str, Vec<&dyn rusqlite::ToSql>) = match (&filter.account, &filter.campaign) {
            (Some(account), _) => (ACCOUNT_ENTRIES, vec![account, &ALL]),
            (None, Some(campaign)) => (CAMPAIGN_ENTRIES, vec![campaign]),
            (None, None) => ("SELECT entries FROM journal WHERE entries <> '' ORDER BY seq", Vec::new()),
        };
        let mut statement = self.connection.prepare_cached(sql)?;
        let mut rows = statement.query(args.as_slice())?;
        while let Some(row) = rows.next()? {
            lines.extend(crate::split_entries(&row.get::<_, String>(0)?, filter.campaign.as_deref()));
        }
        Ok(lines)
    }

    fn describe(&self) -> String {
        format!("SQLite store {}", self.path)
    }

    fn sees_other_writers(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What SQLite plans for `sql` with `params` bound, on a store of the current schema: one
    /// line a step, as `EXPLAIN QUERY PLAN` words them.
    fn plan(sql: &str, params: &[&dyn rusqlite::ToSql]) -> Vec<String> {
        let mut connection = Connection::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
        migrate(&mut connection).unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|e| panic!("{e}"));
        let mut statement = connection.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap_or_else(|e| panic!("{e}"));
        let steps = statement.query_map(params, |r| r.get::<_, String>(3)).unwrap_or_else(|e| panic!("{e}"));
        steps.map(|s| s.unwrap_or_else(|e| panic!("{e}"))).collect()
    }

    /// Reading an account back, or its ledger or a campaign's, must find the journal's rows by
    /// position: a plan that reads the whole journal makes each such read as long as the
    /// journal, and a resumed run (which reads every account back) quadratic.
    #[test]
    fn reading_an_account_or_a_ledger_finds_journal_rows_by_position() {
        let by_account: [&dyn rusqlite::ToSql; 2] = [&"u1", &0];
        let by_campaign: [&dyn rusqlite::ToSql; 1] = [&"ama-toku-4"];
        for (sql, params) in [
            (ACCOUNT_JOURNAL, &by_account[..]),
            (ACCOUNT_ENTRIES, &by_account[..]),
            (CAMPAIGN_ENTRIES, &by_campaign[..]),
        ] {
            let steps = plan(sql, params);
            assert!(
                steps.iter().all(|s| !s.starts_with("SCAN j") && !s.starts_with("SCAN journal")),
                "the journal is read whole: {steps:?}\nfor {sql}"
            );
            assert!(
                steps.iter().any(|s| s.starts_with("SEARCH j USING INTEGER PRIMARY KEY")),
                "no look-up by position: {steps:?}\nfor {sql}"
            );
        }
    }
}
