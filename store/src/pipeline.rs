//! The store thread: writes one batch while [`crate::Durable`] processes the next.
//!
//! A batch is processed against what the store held when its reads were made, plus what the
//! batch before it (processed, not yet committed) will add. Each transaction of the store
//! thread does three things in turn, under the store's write lock: it checks that no other
//! connection committed since the transaction that made the written batch's reads, that is,
//! that it is of the same epoch ([`Turn::epoch`]; else the batch is handed back to be done
//! again, and nothing is written); it makes the next batch's
//! reads and hands them over at once; then it writes the batch and commits. So the next batch
//! is processed on the caller's thread while this one writes, and a batch is kept only if
//! everything it was processed against is what the store holds when it commits.

use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard, mpsc};

use crate::durable::{Decoded, Found, JournalAt, Wanted, read_batch};
use crate::{Accepted, Applied, Store, StoreError, StoredPayment, Tx};

/// Where a batch's outcome goes once it is known: its ledger entries once it is committed,
/// or why nothing of it was kept. Called exactly once, on the store thread or the caller's.
pub type Done = Box<dyn FnOnce(Result<Applied, StoreError>) + Send>;

/// The store, with what is known of its last transaction; shared by the caller's thread and
/// the store thread, one transaction at a time.
pub(crate) struct Shared {
    pub(crate) store: Box<dyn Store>,
    last: Option<Last>,
    /// The current epoch: it moves on whenever a transaction cannot tell that nothing but
    /// this connection's own commits happened since the one before (see [`Turn::epoch`]).
    epoch: u64,
}

/// A transaction that has ended.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Last {
    data_version: Option<i64>,
    committed: bool,
}

impl Shared {
    pub(crate) fn new(store: Box<dyn Store>) -> Shared {
        Shared { store, last: None, epoch: 0 }
    }

    /// The store, to use outside [`Shared::transact`]: what is known of the last
    /// transaction no longer holds, since what is done with it here is not known.
    pub(crate) fn store_outside(&mut self) -> &mut (dyn Store + 'static) {
        self.last = None;
        self.store.as_mut()
    }

    /// Runs `work` in one transaction, which becomes the last.
    pub(crate) fn transact(
        &mut self,
        work: &mut dyn FnMut(&mut dyn Tx, &Turn) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut turn = Turn { data_version: None, previous: self.last, epoch: self.epoch };
        let epoch = &mut self.epoch;
        let result = self.store.transact(&mut |tx| {
            turn.data_version = tx.data_version()?;
            if !turn.unchanged() {
                *epoch += 1;
            }
            turn.epoch = *epoch;
            work(tx, &turn)
        });
        self.last = Some(Last { data_version: turn.data_version, committed: result.is_ok() });
        result
    }
}

/// A transaction under way, as [`Shared::transact`] gives it to its work.
pub(crate) struct Turn {
    /// The store's data version when it began ([`Tx::data_version`]).
    data_version: Option<i64>,
    /// The transaction before it.
    previous: Option<Last>,
    /// Its epoch: transactions with nothing but this connection's own commits between them
    /// share one. What memory learnt of an account in a transaction of the current epoch
    /// (read from the store, or written there since) still holds: no other connection has
    /// written since, and each of this one's transactions leaves memory as it leaves the
    /// store (or memory is dropped).
    pub(crate) epoch: u64,
}

impl Turn {
    /// Whether nothing but this connection's own commits happened since the transaction
    /// before began: it committed, and no other connection has committed since.
    fn unchanged(&self) -> bool {
        self.previous
            .is_some_and(|last| last.committed && last.data_version.is_some() && last.data_version == self.data_version)
    }
}

pub(crate) fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    // A thread that panicked holding the lock left no transaction open (rusqlite and
    // postgres roll back on drop), so the store is usable.
    shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A batch processed and waiting to be written: everything the store thread needs to write
/// it, and to hand it back to be done again.
pub(crate) struct Job {
    /// The epoch of the transaction whose reads it was processed against ([`Turn::epoch`]):
    /// it is written only in a transaction of the same epoch.
    pub(crate) read_epoch: u64,
    /// Its lines (the journal keeps their text).
    pub(crate) decoded: Vec<Decoded>,
    pub(crate) applied: Applied,
    /// The program that processed it.
    pub(crate) program: i64,
    /// Per event accepted: its line in `decoded`, the range of its entries in `applied`, and
    /// its account's journal head before the batch.
    pub(crate) journaled: Vec<JournalAt>,
    pub(crate) accepted: Vec<Accepted>,
    /// The journal positions its events were given, in order (checked when written).
    pub(crate) positions: Range<i64>,
    pub(crate) accounts: Vec<(String, i64, String)>,
    pub(crate) payments: Vec<StoredPayment>,
    /// Where its outcome goes (taken when told).
    pub(crate) done: Option<Done>,
}

impl Job {
    /// Its lines and where its outcome goes, to do it again.
    pub(crate) fn take(mut self) -> (Vec<Decoded>, Done) {
        let done = self.done.take().unwrap_or_else(|| Box::new(drop));
        (std::mem::take(&mut self.decoded), done)
    }

    fn finish(mut self, result: Result<(), StoreError>) {
        if let Some(done) = self.done.take() {
            done(result.map(|()| std::mem::take(&mut self.applied)));
        }
    }

    /// Writes it in `tx`.
    fn write(&self, tx: &mut dyn Tx) -> Result<(), StoreError> {
        tx.accept(&self.accepted)?;
        let rows = crate::durable::journal_rows(&self.decoded, &self.applied, self.program, &self.journaled);
        let positions = tx.journal(&rows)?;
        if !positions.iter().copied().eq(self.positions.clone()) {
            return Err(StoreError(format!(
                "the journal gave this batch positions from {:?}, not from {} as its processing assumed: \
                 the store was changed while written",
                positions.first(),
                self.positions.start
            )));
        }
        tx.put_accounts(&self.accounts)?;
        tx.put_payments(&self.payments)
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        // Dropped before it could be written (the store thread stopped, say): its caller
        // still hears of it.
        if let Some(done) = self.done.take() {
            done(Err(StoreError("the batch was dropped before it was written; nothing of it was kept".into())));
        }
    }
}

/// One transaction for the store thread: write the batch (when given), read for the next
/// (when asked).
pub(crate) struct Request {
    pub(crate) write: Option<Box<Job>>,
    pub(crate) read: Option<Wanted>,
}

/// The store thread's one answer to a [`Request`].
pub(crate) enum Reply {
    /// The reads; the batch given is being written after them.
    Found(Box<Found>),
    /// The batch given (with nothing to read) is committed.
    Written,
    /// The batch given was processed against reads another connection's commit, or a failed
    /// transaction of this one, has made stale (the epoch moved on since): nothing of it was
    /// written, and nothing was read. It must be done again from the store as it is.
    Redo(Box<Job>),
    /// The transaction failed: nothing of it was kept (the batch given was told so).
    Failed(StoreError),
}

/// The store thread, and the way to it.
pub(crate) struct Thread {
    requests: Option<mpsc::Sender<Request>>,
    replies: mpsc::Receiver<Reply>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Thread {
    pub(crate) fn spawn(shared: Arc<Mutex<Shared>>) -> Result<Thread, StoreError> {
        let (requests, inbox) = mpsc::channel::<Request>();
        let (answer, replies) = mpsc::channel::<Reply>();
        let handle = std::thread::Builder::new()
            .name("camp-store".into())
            .spawn(move || serve(&shared, &inbox, &answer))
            .map_err(|e| StoreError(format!("cannot start the store thread: {e}")))?;
        Ok(Thread { requests: Some(requests), replies, handle: Some(handle) })
    }

    /// Sends a request and waits for its answer.
    pub(crate) fn exchange(&self, request: Request) -> Reply {
        let stopped = || Reply::Failed(StoreError("the store thread stopped".into()));
        // A request that cannot be sent is dropped, and with it its batch, which is told so.
        let Some(requests) = &self.requests else { return stopped() };
        if requests.send(request).is_err() {
            return stopped();
        }
        self.replies.recv().unwrap_or_else(|_| stopped())
    }
}

impl Drop for Thread {
    fn drop(&mut self) {
        // The thread ends once its requests are; what it was given is finished first.
        self.requests = None;
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

fn serve(shared: &Mutex<Shared>, inbox: &mpsc::Receiver<Request>, answer: &mpsc::Sender<Reply>) {
    for Request { write, read } in inbox {
        let mut interfered = false;
        let mut answered = false;
        let result = lock(shared).transact(&mut |tx, turn| {
            if let Some(job) = &write
                && job.read_epoch != turn.epoch
            {
                interfered = true;
                return Err(StoreError("the store changed since the batch's reads".into()));
            }
            if let Some(wanted) = &read {
                let found = read_batch(tx, wanted, turn.epoch)?;
                answered = answer.send(Reply::Found(Box::new(found))).is_ok();
            }
            match &write {
                Some(job) => job.write(tx),
                None => Ok(()),
            }
        });
        let reply = match (result, write) {
            (_, Some(job)) if interfered => Some(Reply::Redo(job)),
            (Ok(_), job) => {
                if let Some(job) = job {
                    job.finish(Ok(()));
                }
                (!answered).then_some(Reply::Written)
            }
            (Err(e), job) => {
                if let Some(job) = job {
                    job.finish(Err(e.clone()));
                }
                (!answered).then_some(Reply::Failed(e))
            }
        };
        if let Some(reply) = reply {
            let _ = answer.send(reply);
        }
    }
}
