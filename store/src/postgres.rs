//! The shared store: a PostgreSQL database, for services where several processes share
//! state. The same tables as SQLite; transactions touching the same accounts are serialized
//! by advisory locks taken in one order, so processes never interleave on an account.

use postgres::{Client, NoTls};

use camp_runtime::Id;

use crate::{
    Accepted, JournalRow, Journaled, LedgerFilter, Store, StoreError, StoredAccount, StoredPayment, Tx, journal_links,
};

/// Ids as the texts a `text[]` parameter takes.
fn texts(ids: &[Id]) -> Vec<&str> {
    ids.iter().map(|id| &**id).collect()
}

/// Migrations, in order: migration `n` brings the schema from version `n` to `n + 1`.
const MIGRATIONS: &[&str] = &[
    "
    CREATE TABLE events (
        id TEXT PRIMARY KEY,
        hash BIGINT NOT NULL,
        account TEXT NOT NULL,
        payment BOOLEAN NOT NULL
    );
    CREATE TABLE accounts (
        id TEXT PRIMARY KEY,
        version BIGINT NOT NULL,
        state TEXT NOT NULL
    );
    CREATE TABLE payments (
        account TEXT NOT NULL,
        position BIGINT NOT NULL,
        id TEXT NOT NULL,
        state TEXT NOT NULL,
        PRIMARY KEY (account, position)
    );
    CREATE TABLE ledger (
        seq BIGSERIAL PRIMARY KEY,
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
        seq BIGSERIAL PRIMARY KEY,
        account TEXT NOT NULL,
        program BIGINT NOT NULL,
        line TEXT NOT NULL,
        entries TEXT NOT NULL
    );
    CREATE INDEX journal_by_account ON journal (account, seq);
    CREATE TABLE programs (
        id BIGSERIAL PRIMARY KEY,
        hash BIGINT NOT NULL UNIQUE,
        sources TEXT NOT NULL
    );
    CREATE TABLE campaign_entries (
        campaign TEXT NOT NULL,
        seq BIGINT NOT NULL,
        PRIMARY KEY (campaign, seq)
    );
    UPDATE accounts SET version = 0;
",
    "
    ALTER TABLE journal ADD COLUMN prev BIGINT;
    UPDATE journal SET prev =
        (SELECT max(j.seq) FROM journal AS j WHERE j.account = journal.account AND j.seq < journal.seq);
    CREATE TABLE heads (
        account TEXT PRIMARY KEY,
        seq BIGINT NOT NULL
    );
    INSERT INTO heads (account, seq) SELECT account, max(seq) FROM journal GROUP BY account;
    DROP INDEX journal_by_account;
",
];

/// The advisory lock key that serializes migrations between processes.
const MIGRATION_LOCK: i64 = 0x4341_4d50; // "CAMP"

/// A PostgreSQL database.
pub struct PostgresStore {
    client: Client,
    url: String,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl PostgresStore {
    /// Connects to a server (`postgres://user@host:port/database`) and brings the schema up
    /// to date.
    pub fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        let mut client = Client::connect(url, NoTls)
            .map_err(|e| StoreError(format!("cannot connect to the store {}: {}", redact(url), StoreError::from(e))))?;
        migrate(&mut client)?;
        Ok(PostgresStore { client, url: redact(url) })
    }
}

/// A URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let user = &url[scheme + 3..at];
            let user = user.split(':').next().unwrap_or("");
            format!("{}{user}{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS camp_schema (version BIGINT NOT NULL)")?;
    let version: i64 = match tx.query_opt("SELECT version FROM camp_schema", &[])? {
        Some(row) => row.get(0),
        None => {
            tx.execute("INSERT INTO camp_schema (version) VALUES (0)", &[])?;
            0
        }
    };
    for (to, migration) in crate::pending(version, MIGRATIONS)? {
        tx.batch_execute(migration)?;
        tx.execute("UPDATE camp_schema SET version = $1", &[&to])?;
    }
    tx.commit()?;
    Ok(())
}

/// An account's journal rows after a position: from its head, back along each row's link
/// to the one before, while past that position (`$1` the account, `$2` the position; 0 for
/// all its rows, since positions start at 1). Completed by a `SELECT` over `chain` joined to
/// `journal`.
macro_rules! account_rows {
    () => {
        "WITH RECURSIVE chain (seq) AS (
             SELECT seq FROM heads WHERE account = $1 AND seq > $2
             UNION ALL
             SELECT j.prev FROM chain AS c JOIN journal AS j ON j.seq = c.seq WHERE j.prev > $2
         )
         "
    };
}

struct PostgresTx<'c> {
    tx: postgres::Transaction<'c>,
}

impl Tx for PostgresTx<'_> {
    fn lock_accounts(&mut self, accounts: &[Id]) -> Result<(), StoreError> {
        let accounts = texts(accounts);
        // One advisory lock per account, released at commit or rollback. Taken in the order of
        // their keys, the same in every process, so two transactions cannot deadlock.
        self.tx.execute(
            "SELECT pg_advisory_xact_lock(k) FROM (
                 SELECT DISTINCT hashtextextended(a, 0) AS k FROM unnest($1::text[]) AS a ORDER BY k
             ) AS keys",
            &[&accounts],
        )?;
        Ok(())
    }

    fn accepted(&mut self, ids: &[Id]) -> Result<Vec<(String, u64)>, StoreError> {
        let ids = texts(ids);
        let rows = self.tx.query("SELECT id, hash FROM events WHERE id = ANY($1)", &[&ids])?;
        Ok(rows.iter().map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1).cast_unsigned())).collect())
    }

    fn owners(&mut self, payments: &[Id]) -> Result<Vec<(String, String)>, StoreError> {
        let payments = texts(payments);
        let rows = self.tx.query("SELECT id, account FROM events WHERE id = ANY($1) AND payment", &[&payments])?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn versions(&mut self, accounts: &[Id]) -> Result<Vec<(String, i64)>, StoreError> {
        let accounts = texts(accounts);
        let rows = self.tx.query(
            "SELECT a, coalesce((SELECT seq FROM heads WHERE account = a), (SELECT 0 FROM accounts WHERE id = a))
             FROM unnest($1::text[]) AS a",
            &[&accounts],
        )?;
        Ok(rows.iter().filter_map(|r| Some((r.get(0), r.get::<_, Option<i64>>(1)?))).collect())
    }

    fn load(&mut self, account: &str) -> Result<Option<StoredAccount>, StoreError> {
        let snapshot = self.tx.query_opt("SELECT version, state FROM accounts WHERE id = $1", &[&account])?;
        let found = snapshot.is_some();
        let (version, state) = snapshot.map_or_else(|| (0, String::new()), |row| (row.get(0), row.get(1)));
        let payments = self
            .tx
            .query("SELECT state FROM payments WHERE account = $1 ORDER BY position", &[&account])?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let journal: Vec<JournalRow> = self
            .tx
            .query(
                concat!(
                    account_rows!(),
                    "SELECT j.seq, j.program, j.line FROM chain AS c JOIN journal AS j ON j.seq = c.seq ORDER BY j.seq"
                ),
                &[&account, &version],
            )?
            .iter()
            .map(|r| JournalRow { seq: r.get(0), program: r.get(1), line: r.get(2) })
            .collect();
        if !found && journal.is_empty() {
            return Ok(None);
        }
        Ok(Some(StoredAccount { version, state, payments, journal }))
    }

    fn accept(&mut self, events: &[Accepted]) -> Result<(), StoreError> {
        let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
        let hashes: Vec<i64> = events.iter().map(|e| e.hash.cast_signed()).collect();
        let accounts: Vec<&str> = events.iter().map(|e| e.account.as_str()).collect();
        let payments: Vec<bool> = events.iter().map(|e| e.payment).collect();
        self.tx.execute(
            "INSERT INTO events (id, hash, account, payment)
             SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::boolean[])",
            &[&ids, &hashes, &accounts, &payments],
        )?;
        Ok(())
    }

    fn journal(&mut self, events: &[Journaled<'_>]) -> Result<Vec<i64>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        // Positions are drawn first, in increasing order, and given to the events in the order
        // given, so an account's events keep their order in the journal.
        let count =
            i32::try_from(events.len()).map_err(|_| StoreError("a batch too large for one journal write".into()))?;
        let positions: Vec<i64> = self
            .tx
            .query(
                "SELECT s FROM (SELECT nextval(pg_get_serial_sequence('journal', 'seq')) AS s
                 FROM generate_series(1, $1)) AS drawn ORDER BY s",
                &[&count],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let accounts: Vec<&str> = events.iter().map(|e| e.account).collect();
        let programs: Vec<i64> = events.iter().map(|e| e.program).collect();
        let lines: Vec<&str> = events.iter().map(|e| e.line).collect();
        let entries: Vec<String> = events.iter().map(Journaled::joined_entries).collect();
        let (prev, heads) = journal_links(events, positions.iter().copied());
        self.tx.execute(
            "INSERT INTO journal (seq, account, program, line, entries, prev)
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::bigint[])",
            &[&positions, &accounts, &programs, &lines, &entries, &prev],
        )?;
        let (heads, seqs): (Vec<&str>, Vec<i64>) = heads.into_iter().unzip();
        self.tx.execute(
            "INSERT INTO heads (account, seq) SELECT * FROM unnest($1::text[], $2::bigint[])
             ON CONFLICT (account) DO UPDATE SET seq = excluded.seq",
            &[&heads, &seqs],
        )?;
        let mut campaigns: Vec<&str> = Vec::new();
        let mut seqs: Vec<i64> = Vec::new();
        for (e, position) in events.iter().zip(&positions) {
            let named = e.campaigns();
            seqs.extend(std::iter::repeat_n(*position, named.len()));
            campaigns.extend(named);
        }
        if !campaigns.is_empty() {
            self.tx.execute(
                "INSERT INTO campaign_entries (campaign, seq) SELECT * FROM unnest($1::text[], $2::bigint[])",
                &[&campaigns, &seqs],
            )?;
        }
        Ok(positions)
    }

    fn program(&mut self, hash: u64, sources: &str) -> Result<i64, StoreError> {
        let hash = hash.cast_signed();
        self.tx.execute(
            "INSERT INTO programs (hash, sources) VALUES ($1, $2) ON CONFLICT (hash) DO NOTHING",
            &[&hash, &sources],
        )?;
        Ok(self.tx.query_one("SELECT id FROM programs WHERE hash = $1", &[&hash])?.get(0))
    }

    fn program_sources(&mut self, id: i64) -> Result<Option<String>, StoreError> {
        Ok(self.tx.query_opt("SELECT sources FROM programs WHERE id = $1", &[&id])?.map(|r| r.get(0)))
    }

    fn put_accounts(&mut self, accounts: &[(String, i64, String)]) -> Result<(), StoreError> {
        if accounts.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = accounts.iter().map(|a| a.0.as_str()).collect();
        let versions: Vec<i64> = accounts.iter().map(|a| a.1).collect();
        let states: Vec<&str> = accounts.iter().map(|a| a.2.as_str()).collect();
        self.tx.execute(
            "INSERT INTO accounts (id, version, state) SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[])
             ON CONFLICT (id) DO UPDATE SET version = excluded.version, state = excluded.state",
            &[&ids, &versions, &states],
        )?;
        Ok(())
    }

    fn put_payments(&mut self, payments: &[StoredPayment]) -> Result<(), StoreError> {
        if payments.is_empty() {
            return Ok(());
        }
        let accounts: Vec<&str> = payments.iter().map(|p| p.account.as_str()).collect();
        let positions: Vec<i64> = payments.iter().map(|p| p.position).collect();
        let ids: Vec<&str> = payments.iter().map(|p| p.id.as_str()).collect();
        let states: Vec<&str> = payments.iter().map(|p| p.state.as_str()).collect();
        self.tx.execute(
            "INSERT INTO payments (account, position, id, state)
             SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[])
             ON CONFLICT (account, position) DO UPDATE SET id = excluded.id, state = excluded.state",
            &[&accounts, &positions, &ids, &states],
        )?;
        Ok(())
    }
}

impl Store for PostgresStore {
    fn transact(&mut self, work: &mut dyn FnMut(&mut dyn Tx) -> Result<(), StoreError>) -> Result<(), StoreError> {
        let mut tx = PostgresTx { tx: self.client.transaction()? };
        work(&mut tx)?;
        tx.tx.commit()?;
        Ok(())
    }

    fn ledger(&mut self, filter: &LedgerFilter) -> Result<Vec<String>, StoreError> {
        // Schema 1's entries first (all were written before any of schema 2's), then the
        // journal's in journal order.
        let first = "SELECT entry FROM ledger
             WHERE ($1::text IS NULL OR account = $1) AND ($2::text IS NULL OR campaign = $2) ORDER BY seq";
        let mut lines: Vec<String> =
            self.client.query(first, &[&filter.account, &filter.campaign])?.iter().map(|r| r.get(0)).collect();
        let rows = match (&filter.account, &filter.campaign) {
            (Some(account), _) => self.client.query(
                concat!(
                    account_rows!(),
                    "SELECT j.entries FROM chain AS c JOIN journal AS j ON j.seq = c.seq
                     WHERE j.entries <> '' ORDER BY j.seq"
                ),
                // All of its rows: those after position 0.
                &[account, &0i64],
            )?,
            (None, Some(campaign)) => self.client.query(
                "SELECT j.entries FROM campaign_entries c JOIN journal j ON j.seq = c.seq
                 WHERE c.campaign = $1 ORDER BY c.seq",
                &[campaign],
            )?,
            (None, None) => self.client.query("SELECT entries FROM journal WHERE entries <> '' ORDER BY seq", &[])?,
        };
        for row in &rows {
            lines.extend(crate::split_entries(row.get(0), filter.campaign.as_deref()));
        }
        Ok(lines)
    }

    fn describe(&self) -> String {
        format!("PostgreSQL store {}", self.url)
    }

    fn holds_nul(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(redact("postgres://camp:secret@localhost:5432/camp"), "postgres://camp@localhost:5432/camp");
        assert_eq!(redact("postgres://localhost/camp"), "postgres://localhost/camp");
    }
}
