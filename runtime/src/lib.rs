#![doc = include_str!("../README.md")]
//!
//! **Owns:** the event model of EVENTS.md, per-account state (caps, counters, attributes,
//! enrollments, payments and their refunds), stacking, refunds, re-rating, grant dates and
//! the ledger. **Must not touch:** printing, process exit, files, syntax: campaigns arrive as
//! source text, are checked by `camp_lang` and evaluated only through a
//! [`camp_compiler::Evaluator`], which the runtime holds without knowing which one it is.
#![warn(missing_docs)]

mod account;
pub mod event;
mod explain;
mod grant;
mod json;
pub mod ledger;
pub mod rule_test;
pub mod snapshot;
pub mod synthetic;
pub mod text;

use std::collections::HashMap;
use std::hash::Hasher;
use std::sync::Arc;

use camp_compiler::ir::{Nanos, Program, RefundPolicy, Value};
use camp_compiler::time::MonthKey;
use camp_compiler::view::{self, Counters, NoCounters, PaymentView};
use camp_compiler::{EvalError, Evaluator, Interp, Jit};
use camp_lang::Diagnostic;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

pub use account::{Account, AwardRecord, Payment};
use account::{Contribution, IdMap, IndexMap, Interned, PERIOD, Timelines};
pub use camp_compiler::{Outcome, PaymentOutcome, SourceFile};
pub use event::{Event, EventKind, Id, Reject};
pub use ledger::Entry;

/// Why campaigns could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    /// The campaigns do not check: every diagnostic, errors and warnings, with the file ids
    /// of the sources given.
    Check(Vec<Diagnostic>),
    /// The campaigns read a field this runtime cannot provide.
    Lower(camp_compiler::LowerError),
    /// Native code could not be generated (`Engine::Jit` only).
    Jit(camp_compiler::jit::JitError),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Check(d) => {
                write!(f, "the campaigns have {} error(s)", d.iter().filter(|d| d.is_error()).count())
            }
            LoadError::Lower(e) => e.fmt(f),
            LoadError::Jit(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for LoadError {}

/// Which evaluator runs the campaigns. Both give the same ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Engine {
    /// Native code where the JIT compiles a campaign, the interpreter elsewhere.
    #[default]
    Jit,
    /// The reference interpreter only.
    Interp,
}

/// Checks and compiles campaign sources into a program.
pub fn compile(files: &[SourceFile<'_>]) -> Result<Arc<Program>, LoadError> {
    let texts: Vec<&str> = files.iter().map(|f| f.text).collect();
    let checked = camp_lang::check_sources(&texts);
    if checked.has_errors() {
        return Err(LoadError::Check(checked.diagnostics));
    }
    camp_compiler::lower(&checked.program, files).map(Arc::new).map_err(LoadError::Lower)
}

/// How many events [`Runtime::read_ahead`] (or payments [`Runtime::read_ahead_prepared`]) is
/// given at a time: enough for their memory
/// misses to overlap, few enough that what it reads is still in the caches when they are
/// processed (8 to 64 measured alike over the benchmark stream).
pub const READ_AHEAD: usize = 16;

/// The runtime: campaigns loaded, accounts kept, events in, ledger entries out.
#[derive(Debug)]
pub struct Runtime {
    evaluator: Box<dyn Evaluator>,
    /// What ledger entries say about each campaign of the program, by campaign index.
    texts: Vec<CampaignTexts>,
    accounts: IdMap<Id, Account>,
    /// Accepted event ids with a hash of their content.
    seen: IdMap<Id, u64>,
    /// Payment id → account id.
    owners: IdMap<Id, Id>,
    /// Payments to explain, and their explanations once processed.
    explain: IdMap<String, Option<String>>,
    /// Scratch space for settling a payment, reused across payments (`None` while lent out).
    scratch: Option<Box<Scratch>>,
    /// What accepted events changed since [`Runtime::take_changes`] was last called, when
    /// asked to keep it ([`Runtime::track_changes`]): only a store needs it.
    changes: Option<Changes>,
    /// The sources the program was loaded from, when it was loaded from sources: a store
    /// keeps them, to replay events with the campaigns that processed them.
    sources: Option<Arc<[OwnedSource]>>,
}

/// The texts a campaign's ledger entries carry, made once per program and shared by every
/// entry.
#[derive(Debug)]
struct CampaignTexts {
    id: Id,
    unit: Id,
    source: Id,
    refund_source: Id,
}

impl CampaignTexts {
    fn of(program: &Program) -> Vec<CampaignTexts> {
        program
            .campaigns
            .iter()
            .map(|c| CampaignTexts {
                id: Id::from(c.id.as_str()),
                unit: Id::from(c.unit.as_str()),
                source: Id::from(c.award.source.to_string()),
                refund_source: Id::from(c.refund_source.to_string()),
            })
            .collect()
    }
}

/// A campaign source file, owned: its name and text.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OwnedSource {
    /// The name, usually the path as given.
    pub name: String,
    /// The text.
    pub text: String,
}

impl OwnedSource {
    /// Owned copies of source files.
    pub fn of(files: &[SourceFile<'_>]) -> Arc<[OwnedSource]> {
        files.iter().map(|f| OwnedSource { name: f.name.to_string(), text: f.text.to_string() }).collect()
    }

    /// Borrowed views of owned sources, for loading.
    pub fn files(sources: &[OwnedSource]) -> Vec<SourceFile<'_>> {
        sources.iter().map(|s| SourceFile { name: &s.name, text: &s.text }).collect()
    }
}

/// What accepted events changed: for a store, to write only that.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Accounts whose own state ([`snapshot::AccountState`]) may have changed, in the order
    /// events touched them: an account events touched twice is here twice.
    pub accounts: Vec<Id>,
    /// (account, payment) pairs whose [`snapshot::PaymentState`] may have changed, in the
    /// order events touched them, repeats included.
    pub payments: Vec<(Id, Id)>,
}

/// A campaign's candidate award for one payment, on its way through caps and stacking.
#[derive(Clone, Debug)]
struct Candidate {
    /// The campaign, and its outcome's index in [`Settlement::outcomes`].
    campaign: usize,
    enrolled: bool,
    /// Points after the account's caps.
    capped: Decimal,
    /// Points after stacking.
    points: Decimal,
    /// Why stacking changed it.
    stacking: Option<Stacking>,
}

/// Why stacking changed a candidate's points: kept as data, and written out only when the
/// payment is explained (`Stacking::describe`, with the explanation's other words), since
/// most settlements never are.
#[derive(Clone, Copy, Debug)]
enum Stacking {
    /// Not applied: campaign `winner`'s award of `points` is the largest of the group.
    NotLargest { winner: usize, points: Decimal },
    /// Cut by `cut` points to keep campaign `limit`'s combined cap.
    Cut { cut: Decimal, limit: usize },
}

fn eval_reject(event: &str, e: EvalError) -> Reject {
    Reject::new(Some(event), format!("event {event} cannot be evaluated: {e}"))
}

fn whole(points: Decimal, event: &str) -> Result<i64, Reject> {
    points.to_i64().ok_or_else(|| Reject::new(Some(event), format!("an award of {points} points is too large")))
}

/// The hash of an event's JSON content that idempotency compares: equal JSON values hash
/// alike. Stores keep it, so it is FNV-1a, fixed for good (std's hasher may change between
/// Rust releases).
pub fn content_hash(value: &serde_json::Value) -> u64 {
    json::Raw::from_value(value).content_hash()
}

/// 64-bit FNV-1a over the bytes written: stable across platforms and releases, for hashes
/// that are kept or compared between processes (event content, campaign sources).
#[derive(Clone, Copy, Debug)]
pub struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Fnv1a {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv1a {
    fn write(&mut self, bytes: &[u8]) {
        // Byte by byte, as FNV-1a is defined; four to a step, which leaves the loop's own
        // instructions to every fourth byte (each event's content goes through here).
        const PRIME: u64 = 0x0100_0000_01b3;
        let mut hash = self.0;
        let mut fours = bytes.chunks_exact(4);
        for four in &mut fours {
            for b in four {
                hash = (hash ^ u64::from(*b)).wrapping_mul(PRIME);
            }
        }
        for b in fours.remainder() {
            hash = (hash ^ u64::from(*b)).wrapping_mul(PRIME);
        }
        self.0 = hash;
    }

    fn write_usize(&mut self, n: usize) {
        self.write(&(n as u64).to_le_bytes());
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The state of an account no event has named yet.
fn no_account() -> &'static Account {
    static EMPTY: std::sync::LazyLock<Account> = std::sync::LazyLock::new(Account::default);
    &EMPTY
}

impl Runtime {
    /// Loads campaigns from source, evaluated by the default engine (the JIT; the
    /// interpreter where native code cannot be generated on this machine).
    pub fn load(files: &[SourceFile<'_>]) -> Result<Runtime, LoadError> {
        Runtime::load_engine(files, None).map(|(runtime, _)| runtime)
    }

    /// Loads campaigns with the engine asked for, or with `None` the default: the JIT, or the
    /// interpreter where native code cannot be generated on this machine, returned beside the
    /// JIT's error so that a caller can say so.
    pub fn load_engine(
        files: &[SourceFile<'_>],
        engine: Option<Engine>,
    ) -> Result<(Runtime, Option<camp_compiler::jit::JitError>), LoadError> {
        let Some(engine) = engine else {
            let program = compile(files)?;
            let (mut runtime, error) = match Jit::new(program.clone()) {
                Ok(jit) => (Runtime::with_evaluator(Box::new(jit)), None),
                Err(e) => (Runtime::with_evaluator(Box::new(Interp::new(program))), Some(e)),
            };
            runtime.sources = Some(OwnedSource::of(files));
            return Ok((runtime, error));
        };
        Ok((Runtime::load_with(files, engine)?, None))
    }

    /// Loads campaigns from source, evaluated by the engine given.
    pub fn load_with(files: &[SourceFile<'_>], engine: Engine) -> Result<Runtime, LoadError> {
        let program = compile(files)?;
        let mut runtime = Runtime::with_evaluator(match engine {
            Engine::Interp => Box::new(Interp::new(program)),
            Engine::Jit => Box::new(Jit::new(program).map_err(LoadError::Jit)?),
        });
        runtime.sources = Some(OwnedSource::of(files));
        Ok(runtime)
    }

    /// A runtime over any evaluator of a compiled program.
    pub fn with_evaluator(evaluator: Box<dyn Evaluator>) -> Runtime {
        Runtime {
            texts: CampaignTexts::of(evaluator.program()),
            evaluator,
            accounts: IdMap::default(),
            seen: IdMap::default(),
            owners: IdMap::default(),
            explain: IdMap::default(),
            scratch: Some(Box::default()),
            changes: None,
            sources: None,
        }
    }

    /// The sources the program was loaded from; `None` for a runtime made over an evaluator
    /// ([`Runtime::with_evaluator`]).
    pub fn sources(&self) -> Option<&Arc<[OwnedSource]>> {
        self.sources.as_ref()
    }

    /// The program evaluated.
    pub fn program(&self) -> &Arc<Program> {
        self.evaluator.program()
    }

    /// An account's state, if any event named it.
    pub fn account(&self, id: &str) -> Option<&Account> {
        self.accounts.get(id)
    }

    /// Asks for an explanation of a payment when it is processed.
    pub fn explain_payment(&mut self, payment: &str) {
        self.explain.insert(payment.to_string(), None);
    }

    /// The explanation of a payment asked for with [`Runtime::explain_payment`], once
    /// processed.
    pub fn explanation(&self, payment: &str) -> Option<&str> {
        self.explain.get(payment).and_then(Option::as_deref)
    }

    /// Processes one line of a JSON Lines stream (`line` counts from 1). A bad line gives one
    /// `reject` entry; a blank line or a repeated event gives none.
    pub fn process_line(&mut self, line: usize, text: &str) -> Vec<Entry> {
        self.process_parsed(line, event::parse_line(text))
    }

    /// Processes a batch of JSON Lines (`first_line` is the line number of its first line),
    /// decoding each line as [`Runtime::process_decoded`] reaches it. The ledger is the same
    /// however a stream is cut into batches.
    pub fn process_lines(&mut self, first_line: usize, text: &str) -> Vec<Entry> {
        self.process_decoded(text.lines().enumerate().map(|(i, line)| (first_line + i, event::parse_line(line))))
    }

    /// Processes lines already decoded ([`event::parse_line`]), each with its line number,
    /// [`READ_AHEAD`] at a time: read ahead ([`Runtime::read_ahead`]), then processed in
    /// order, as [`Runtime::process_line`] would process each.
    pub fn process_decoded(
        &mut self,
        lines: impl IntoIterator<Item = (usize, Result<Option<(Event, u64)>, Reject>)>,
    ) -> Vec<Entry> {
        let mut entries = Vec::new();
        let mut lines = lines.into_iter().peekable();
        let mut window = Vec::with_capacity(READ_AHEAD);
        while lines.peek().is_some() {
            window.extend(lines.by_ref().take(READ_AHEAD));
            self.read_ahead(window.iter().filter_map(|(_, parsed)| match parsed {
                Ok(Some((event, _))) => Some(event),
                _ => None,
            }));
            for (line, parsed) in window.drain(..) {
                entries.extend(self.process_parsed(line, parsed));
            }
        }
        entries
    }

    /// [`Runtime::process_line`] once the line is decoded.
    fn process_parsed(&mut self, line: usize, parsed: Result<Option<(Event, u64)>, Reject>) -> Vec<Entry> {
        let rejected = |r: Reject| vec![Entry::Reject { event: r.event, line, error: r.error }];
        match parsed {
            Ok(None) => Vec::new(),
            Ok(Some((event, hash))) => self.process_hashed(&event, hash).unwrap_or_else(rejected),
            Err(r) => rejected(r),
        }
    }

    /// Processes one decoded event (`raw` is its JSON, for idempotency): its ledger entries,
    /// or why it was rejected. A rejected event changes nothing.
    pub fn process(&mut self, event: &Event, raw: &serde_json::Value) -> Result<Vec<Entry>, Reject> {
        self.process_hashed(event, content_hash(raw))
    }

    /// Reads what processing these events reads first, and nothing else: each one's account
    /// (its counters, cap usage and last payment) and whether its id was accepted before.
    /// Processing one event after another waits on each one's memory in turn, since each
    /// account is somewhere else in a large heap; read together beforehand, the events' misses
    /// overlap, and processing then finds them in the caches. Callers processing a stream give
    /// it [`READ_AHEAD`] events at a time, before processing them (over the benchmark stream,
    /// `campc run` took 12% less time; docs/PERFORMANCE.md). Changes nothing.
    pub fn read_ahead<'e>(&self, events: impl IntoIterator<Item = &'e Event>) {
        for event in events {
            let account = self.accounts.get(&*event.account).map(|a| {
                let counter = a.counters.iter().next().map(|(_, value)| *value);
                let usage = a.usage.iter().next().map(|(_, points)| *points);
                (counter, usage, a.payments().last().map(|p| p.at))
            });
            // Read, though unused: what the reads bring into the caches is their purpose.
            std::hint::black_box((account, self.seen.get(&*event.id)));
        }
    }

    /// Processes a decoded event whose content hash ([`content_hash`]) is already known:
    /// for services that decode and hash ahead of time.
    pub fn process_hashed(&mut self, event: &Event, hash: u64) -> Result<Vec<Entry>, Reject> {
        if let Some(seen) = self.seen.get(&event.id) {
            if *seen == hash {
                return Ok(Vec::new());
            }
            return Err(Reject::new(
                Some(&event.id),
                format!("event {} was already accepted with other content", event.id),
            ));
        }
        let entries = match &event.kind {
            EventKind::Payment(p) => self.payment(event, p)?,
            EventKind::Refund { payment, amount } => self.refund(event, payment, *amount)?,
            EventKind::Complete { payment } => self.complete(event, payment)?,
            EventKind::Enroll { campaign } => self.enroll(event, campaign),
            EventKind::Account { attrs } => self.attributes(event, attrs)?,
        };
        self.seen.insert(event.id.clone(), hash);
        self.note_changes(event, &entries);
        Ok(entries)
    }

    fn note_changes(&mut self, event: &Event, entries: &[Entry]) {
        // Noted as they come: an event's ids are shared, not copied, and repeats are left to
        // the store, which meets each account once anyway.
        let Some(changes) = &mut self.changes else { return };
        changes.accounts.push(event.account.clone());
        let named = match &event.kind {
            EventKind::Payment(_) => Some(event.id.clone()),
            EventKind::Refund { payment, .. } | EventKind::Complete { payment } => Some(Id::from(payment.as_str())),
            EventKind::Enroll { .. } | EventKind::Account { .. } => None,
        };
        let adjusted = entries.iter().filter_map(|e| match e {
            Entry::Adjust { payment, .. } => Some(payment.clone()),
            _ => None,
        });
        for payment in named.into_iter().chain(adjusted) {
            changes.payments.push((event.account.clone(), payment));
        }
    }
}

/// Keeping state outside the process: what a store needs from the runtime.
impl Runtime {
    /// Keeps what accepted events change from now on, for [`Runtime::take_changes`]. Off
    /// until asked for: a runtime without a store would keep it for nobody.
    pub fn track_changes(&mut self) {
        self.changes.get_or_insert_with(Changes::default);
    }

    /// What accepted events changed since the last call (or since
    /// [`Runtime::track_changes`]), and starts afresh; nothing when changes are not tracked.
    pub fn take_changes(&mut self) -> Changes {
        self.changes.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// An account's own state, named for keeping; `None` when no event named the account.
    pub fn account_state(&self, id: &str) -> Option<snapshot::AccountState> {
        Some(snapshot::account_state(self.accounts.get(id)?, self.program()))
    }

    /// One payment of an account, named for keeping.
    pub fn payment_state(&self, account: &str, payment: &str) -> Option<snapshot::PaymentState> {
        Some(snapshot::payment_state(self.accounts.get(account)?.payment(payment)?, self.program()))
    }

    /// Where a payment stands in its account's arrival order (from 0): with the account, the
    /// key a store keeps it under.
    pub fn payment_position(&self, account: &str, payment: &str) -> Option<usize> {
        self.accounts.get(account)?.position(payment)
    }

    /// The payments of an account in arrival order, named for keeping.
    pub fn payment_states(&self, account: &str) -> Vec<snapshot::PaymentState> {
        let program = self.program();
        self.accounts
            .get(account)
            .map_or_else(Vec::new, |a| a.payments().map(|p| snapshot::payment_state(p, program)).collect())
    }

    /// Whether an account is in memory.
    pub fn has_account(&self, id: &str) -> bool {
        self.accounts.contains_key(id)
    }

    /// Puts an account kept outside the process back in memory (replacing what is there),
    /// with its payments in arrival order.
    pub fn restore_account(&mut self, id: &str, state: snapshot::AccountState, payments: Vec<snapshot::PaymentState>) {
        self.unload_account(id);
        let account = snapshot::restore(state, payments, self.program());
        let id = Id::from(id);
        for payment in account.payments() {
            self.owners.insert(Id::clone(&payment.id), id.clone());
        }
        self.accounts.insert(id, account);
    }

    /// Drops an account from memory (a store keeps it).
    pub fn unload_account(&mut self, id: &str) {
        if let Some(account) = self.accounts.remove(id) {
            for payment in account.payments() {
                self.owners.remove(&payment.id);
            }
        }
    }

    /// Drops every account and every accepted id from memory, and what changed: after a store
    /// failed to keep a batch, what memory holds is no longer what the store holds.
    pub fn unload_all(&mut self) {
        self.accounts.clear();
        self.owners.clear();
        self.seen.clear();
        if let Some(changes) = &mut self.changes {
            *changes = Changes::default();
        }
    }

    /// Records an event accepted earlier (by a store), so that it is a duplicate now.
    pub fn remember_accepted(&mut self, id: &str, hash: u64) {
        self.seen.insert(Id::from(id), hash);
    }

    /// Forgets the accepted event ids held in memory (a store keeps them).
    pub fn forget_accepted(&mut self) {
        self.seen.clear();
    }

    /// Records that a payment belongs to an account whose state is not in memory, so that an
    /// event naming it from another account is told so.
    pub fn remember_owner(&mut self, payment: &str, account: &str) {
        self.owners.insert(Id::from(payment), Id::from(account));
    }

    /// How many accounts are in memory.
    pub fn account_count(&self) -> usize {
        self.accounts.len()
    }

    /// The ids of the accounts in memory.
    pub fn account_ids(&self) -> impl Iterator<Item = &str> {
        self.accounts.keys().map(|id| &**id)
    }

    /// Replaces the campaigns with those of `files` (see [`Runtime::reload`]), evaluated as
    /// [`Runtime::load_engine`] says; when they do not load, nothing changes.
    pub fn reload_sources(&mut self, files: &[SourceFile<'_>], engine: Option<Engine>) -> Result<(), LoadError> {
        let (fresh, _) = Runtime::load_engine(files, engine)?;
        self.reload(fresh.evaluator);
        self.sources = fresh.sources;
        Ok(())
    }

    /// Replaces the campaigns (a reload), keeping every account's state: caps and counters
    /// of campaigns that stay keep counting, those of campaigns removed are kept aside and
    /// come back with them.
    pub fn reload(&mut self, evaluator: Box<dyn Evaluator>) {
        self.sources = None;
        let kept: Vec<(Id, snapshot::AccountState, Vec<snapshot::PaymentState>)> = self
            .accounts
            .keys()
            .filter_map(|id| Some((id.clone(), self.account_state(id)?, self.payment_states(id))))
            .collect();
        self.texts = CampaignTexts::of(evaluator.program());
        self.evaluator = evaluator;
        self.accounts.clear();
        for (id, state, payments) in kept {
            self.restore_account(&id, state, payments);
        }
    }

    fn enroll(&mut self, event: &Event, campaign: &str) -> Vec<Entry> {
        let account = self.accounts.entry(Id::clone(&event.account)).or_default();
        let at = account.enrollments.entry(campaign.to_string()).or_insert(event.at);
        *at = (*at).min(event.at);
        Vec::new()
    }

    fn attributes(
        &mut self,
        event: &Event,
        attrs: &[(String, Option<serde_json::Value>)],
    ) -> Result<Vec<Entry>, Reject> {
        let program = Arc::clone(self.program());
        for (name, value) in attrs {
            if let (Some(attribute), Some(v)) = (program.attributes.iter().find(|a| a.name == *name), value)
                && attribute_value(attribute.kind, v, &program).is_none()
            {
                let kind = kind_name(attribute.kind);
                return Err(Reject::new(Some(&event.id), format!("attribute `{name}` must be {kind}")));
            }
        }
        let account = self.accounts.entry(event.account.clone()).or_default();
        let before = account.raw_attributes.len();
        let mut in_order = true;
        for (name, value) in attrs {
            let position = account.raw_attributes.partition_point(|(at, _, _)| *at <= event.at);
            in_order &= position == account.raw_attributes.len();
            account.raw_attributes.insert(position, (event.at, name.clone(), value.clone()));
        }
        if in_order && account.attributes.len() == program.attributes.len() {
            // After every change the account had: derived alone, as deriving all would give.
            derive_more_attributes(&account.raw_attributes[before..], &program, &mut account.attributes);
        } else {
            account.attributes = derive_attributes(&account.raw_attributes, &program);
        }
        Ok(Vec::new())
    }

    fn payment(&mut self, event: &Event, p: &Arc<event::Payment>) -> Result<Vec<Entry>, Reject> {
        let record = Payment {
            id: event.id.clone(),
            at: event.at,
            original: p.amount,
            amount: p.amount,
            provisional: p.provisional,
            void: false,
            event: Arc::clone(p),
            contributions: Vec::new(),
            awards: Vec::new(),
            detached: Default::default(),
        };
        let settled =
            if p.provisional { None } else { Some(self.settle_reusing_scratch(&event.account, &record, &event.id)?) };
        let account = self.accounts.entry(Id::clone(&event.account)).or_default();
        account.push_payment(record);
        self.owners.insert(event.id.clone(), event.account.clone());
        Ok(match settled {
            Some(settlement) => self.commit_settlement(&event.account, &event.id, settlement),
            None => Vec::new(),
        })
    }

    fn complete(&mut self, event: &Event, payment: &str) -> Result<Vec<Entry>, Reject> {
        let record = self.owned_payment(event, payment, "complete")?.clone();
        if record.void {
            return Err(Reject::new(
                Some(&event.id),
                format!("payment {payment} was cancelled and cannot be completed"),
            ));
        }
        if !record.provisional {
            return Err(Reject::new(Some(&event.id), format!("payment {payment} is not provisional")));
        }
        let settlement = self.settle_reusing_scratch(&event.account, &record, &event.id)?;
        if let Some(p) = self.accounts.get_mut(&*event.account).and_then(|a| a.payment_mut(payment)) {
            p.provisional = false;
        }
        Ok(self.commit_settlement(&event.account, &record.id, settlement))
    }

    /// The payment a refund, cancel or complete names, checked to belong to the account.
    fn owned_payment(&self, event: &Event, payment: &str, verb: &str) -> Result<&Payment, Reject> {
        let unknown = || Reject::new(Some(&event.id), format!("{verb} {} names unknown payment {payment}", event.id));
        let owner = self.owners.get(payment).ok_or_else(unknown)?;
        if *owner != event.account {
            return Err(Reject::new(
                Some(&event.id),
                format!("{verb} {} names payment {payment} of another account", event.id),
            ));
        }
        self.accounts.get(owner).and_then(|a| a.payment(payment)).ok_or_else(unknown)
    }
}

/// A payment made ready for evaluation alone: decoded, interned, its account's attributes at
/// its time read, and in the form the evaluator reads when it has one of its own
/// ([`Evaluator::flatten`]: the JIT's flat form, made at load). For measuring evaluators
/// without the runtime around them ([`Runtime::evaluate_prepared`]); the runtime itself never
/// keeps one.
#[derive(Debug)]
pub struct PreparedPayment<'r> {
    interned: Interned,
    flat: Option<camp_compiler::jit::FlatPayment>,
    amount: Decimal,
    at: Nanos,
    account: Option<&'r Account>,
}

impl Runtime {
    /// Prepares a payment event for [`Runtime::evaluate_prepared`], reading the account's
    /// state as it is now; `None` for other events.
    pub fn prepare(&self, event: &Event) -> Option<PreparedPayment<'_>> {
        let EventKind::Payment(p) = &event.kind else { return None };
        let program = self.program();
        let account = self.accounts.get(&event.account);
        let attributes = account.map_or_else(
            || vec![Value::Absent; program.attributes.len()],
            |a| a.attributes_at(event.at, program.attributes.len()),
        );
        let interned = Interned::new(p, &program.symbols, attributes);
        let flat = self.evaluator.flatten(&interned.view(p.amount, event.at));
        Some(PreparedPayment { interned, flat, amount: p.amount, at: event.at, account })
    }

    /// [`Runtime::read_ahead`] for prepared payments ([`Runtime::evaluate_prepared`]):
    /// evaluating one after another waits on each account's counters in turn; read together
    /// beforehand (all of them, one entry in every 128 bytes: a payment's campaigns look up
    /// several), their misses overlap. Give it [`READ_AHEAD`] payments at a time, before
    /// evaluating them. Changes nothing.
    pub fn read_ahead_prepared(&self, payments: &[PreparedPayment<'_>]) {
        for account in payments.iter().filter_map(|p| p.account) {
            account.counters.touch();
        }
    }

    /// The evaluators' part of settling a payment, and nothing else: every campaign's counter
    /// contributions and its award before account caps and stacking, against the account's
    /// counters as they are, into `out` (scratch space reused across calls;
    /// [`PaymentOutcome::total`] sums it up for comparing engines). Changes nothing.
    pub fn evaluate_prepared(&self, payment: &PreparedPayment<'_>, out: &mut PaymentOutcome) -> Result<(), EvalError> {
        let view = PaymentView { flat: payment.flat.as_ref(), ..payment.interned.view(payment.amount, payment.at) };
        let counters: &dyn Counters = match payment.account {
            Some(account) => account,
            None => &NoCounters,
        };
        self.evaluator.evaluate_payment(&view, counters, out)
    }
}

/// What settling a payment works in, kept by the runtime and lent to each settlement: what
/// the evaluator decides, the payment's interned form and its flat form. Boxed, so that
/// lending it moves one pointer (the flat form alone is a few hundred bytes).
#[derive(Debug, Default)]
struct Scratch {
    evaluated: PaymentOutcome,
    interned: Interned,
    flat: camp_compiler::jit::FlatPayment,
    /// The last settlement's candidates, cleared: lent to the next one, so that settling
    /// allocates no list of them.
    candidates: Vec<Candidate>,
    /// Stacking's working list (see `stack`), kept for the same reason.
    groups: Vec<(usize, usize)>,
}

/// Everything a payment changes when it counts and earns, computed before anything is
/// written.
struct Settlement {
    cause: Id,
    contributions: Vec<Contribution>,
    /// Every campaign's outcome, by campaign: the evaluator's, moved out of the scratch space
    /// (and moved back once committed) rather than copied into each candidate.
    outcomes: Vec<Outcome>,
    candidates: Vec<Candidate>,
    explanation: Option<String>,
}

impl Runtime {
    /// [`Runtime::settle`] with the runtime's scratch space for what the evaluator decides.
    fn settle_reusing_scratch(
        &mut self,
        account_id: &str,
        payment: &Payment,
        cause: &Id,
    ) -> Result<Settlement, Reject> {
        let mut scratch = self.scratch.take().unwrap_or_default();
        let settled = self.settle(account_id, payment, cause, &mut scratch);
        self.scratch = Some(scratch);
        settled
    }

    /// Counts a (completed) payment and decides what every campaign awards it, with
    /// `scratch` as its working space.
    fn settle(
        &self,
        account_id: &str,
        payment: &Payment,
        cause: &Id,
        scratch: &mut Scratch,
    ) -> Result<Settlement, Reject> {
        let program = Arc::clone(self.program());
        let account = self.accounts.get(account_id).unwrap_or_else(|| no_account());
        let Scratch { evaluated, interned, flat, candidates, groups } = scratch;
        account.attributes_into(payment.at, program.attributes.len(), &mut interned.attributes);
        interned.fill(&payment.event, &program.symbols);
        let interned = &*interned;
        let view = interned.view(payment.amount, payment.at);
        let flattened = self.evaluator.flatten_into(&view, flat);
        let view = PaymentView { flat: flattened.then_some(&*flat), ..view };
        // Counting comes first, and does not depend on which campaign wins (S4.8): the
        // evaluator counts, then evaluates every campaign against the counters with this
        // payment's contributions added.
        self.evaluator.evaluate_payment(&view, account, evaluated).map_err(|e| eval_reject(cause, e))?;
        let PaymentOutcome { contributions: added, outcomes } = evaluated;
        let contributions = added
            .iter()
            .map(|c| Contribution {
                campaign: c.campaign,
                counter: c.counter,
                key: c.key,
                value: c.value,
                counts_payments: program.campaigns[c.campaign].counters[c.counter].sum.is_none(),
            })
            .collect();
        let overlay = view::Overlay { base: account, added };
        let mut candidates = std::mem::take(candidates);
        candidates.clear();
        for ((ci, c), outcome) in program.campaigns.iter().enumerate().zip(outcomes.iter()) {
            let enrolled = !c.entry_required || account.enrolled_at(&c.id).is_some_and(|at| at <= payment.at);
            let mut points = if outcome.ineligible.is_none() && enrolled { outcome.points } else { Decimal::ZERO };
            if let Some(cap) = outcome.caps.month {
                points = points.min((cap - account.used(ci, c.month_of(payment.at))).max(Decimal::ZERO));
            }
            if let Some(cap) = outcome.caps.period {
                points = points.min((cap - account.used(ci, PERIOD)).max(Decimal::ZERO));
            }
            candidates.push(Candidate { campaign: ci, enrolled, capped: points, points, stacking: None });
        }
        stack(&program, &mut candidates, payment.original, groups);
        let explanation = self.explain.contains_key(&*payment.id).then(|| {
            let decided = explain::Decided { candidates: &candidates, outcomes };
            explain::payment(&program, account, payment, &view, decided, self.evaluator.as_ref(), &overlay)
        });
        let outcomes = std::mem::take(outcomes);
        Ok(Settlement { cause: Id::clone(cause), contributions, outcomes, candidates, explanation })
    }

    fn commit_settlement(&mut self, account_id: &Id, payment_id: &Id, s: Settlement) -> Vec<Entry> {
        let program = Arc::clone(self.program());
        let Some(account) = self.accounts.get_mut(&**account_id) else { return Vec::new() };
        for c in &s.contributions {
            *account.counters.or_default((c.campaign, c.counter, c.key)) += c.value;
        }
        let Some(position) = account.position(payment_id) else { return Vec::new() };
        let Some(at) = account.payment_at(position).map(|p| p.at) else { return Vec::new() };
        // The records stay with the payment for as long as the account lives: made as long as
        // they will be, not grown by doubling (which would keep the slack).
        let awarded = s.candidates.iter().filter(|c| positive(c.points)).count();
        let mut entries = Vec::with_capacity(awarded);
        let mut records = Vec::with_capacity(awarded);
        for cand in s.candidates.iter().filter(|c| positive(c.points)) {
            let c = &program.campaigns[cand.campaign];
            let texts = &self.texts[cand.campaign];
            let month = c.month_of(at);
            *account.usage.or_default((cand.campaign, month)) += cand.points;
            *account.usage.or_default((cand.campaign, PERIOD)) += cand.points;
            records.push(AwardRecord {
                campaign: cand.campaign,
                points: cand.points,
                month,
                reads: self.evaluator.reads(cand.campaign, at),
            });
            entries.push(Entry::Award {
                event: Id::clone(&s.cause),
                account: Id::clone(account_id),
                campaign: Id::clone(&texts.id),
                payment: Id::clone(payment_id),
                points: cand.points.to_i64().unwrap_or(i64::MAX),
                unit: Id::clone(&texts.unit),
                grant_on: grant::date(c, at),
                source: Id::clone(&texts.source),
                reason: explain::award_reason(c, cand, &s.outcomes[cand.campaign]),
            });
        }
        if let Some(payment) = account.payment_at_mut(position) {
            payment.contributions = s.contributions;
        }
        account.set_awards(position, records);
        if let Some(text) = s.explanation {
            self.explain.insert(payment_id.to_string(), Some(text));
        }
        // The lists go back to the scratch space for the next settlement.
        if let Some(scratch) = self.scratch.as_mut() {
            scratch.evaluated.outcomes = s.outcomes;
            scratch.candidates = s.candidates;
        }
        entries
    }
}

/// `points > 0`, read off the sign and the digits rather than compared (a comparison of
/// decimals first brings them to one scale).
fn positive(points: Decimal) -> bool {
    points.is_sign_positive() && !points.is_zero()
}

/// Largest-applies groups, then combined caps (S4.8). `best` is working space, its contents
/// replaced (lent by the caller, so that stacking allocates nothing).
fn stack(program: &Program, candidates: &mut [Candidate], amount: Decimal, best: &mut Vec<(usize, usize)>) {
    // Group (named by the campaign of its first candidate) → the best candidate so far: a
    // program has a few groups, so a list does.
    let group_of = |campaign: usize| program.campaigns[campaign].stacking.largest_in.as_ref().map(|g| g.0.as_str());
    best.clear();
    for (i, cand) in candidates.iter().enumerate() {
        let c = &program.campaigns[cand.campaign];
        let Some((group, priority)) = &c.stacking.largest_in else { continue };
        match best.iter_mut().find(|(first, _)| group_of(*first) == Some(group.as_str())) {
            None => best.push((cand.campaign, i)),
            Some((_, j)) => {
                let other = &candidates[*j];
                let other_priority =
                    program.campaigns[other.campaign].stacking.largest_in.as_ref().map_or(u32::MAX, |g| g.1);
                if cand.points > other.points || (cand.points == other.points && *priority < other_priority) {
                    *j = i;
                }
            }
        }
    }
    for i in 0..candidates.len() {
        let c = &program.campaigns[candidates[i].campaign];
        if let Some((group, _)) = &c.stacking.largest_in {
            let winner = best.iter().find(|(first, _)| group_of(*first) == Some(group.as_str())).map_or(i, |(_, j)| *j);
            if winner != i && positive(candidates[i].points) {
                let (winner, points) = (candidates[winner].campaign, candidates[winner].points);
                candidates[i].stacking = Some(Stacking::NotLargest { winner, points });
                candidates[i].points = Decimal::ZERO;
            }
        }
    }
    // Combined caps: the awards on one payment together at most a share of it.
    for i in 0..candidates.len() {
        let c = &program.campaigns[candidates[i].campaign];
        let Some((share, cut_first)) = c.stacking.combined else { continue };
        if candidates[i].points <= Decimal::ZERO {
            continue;
        }
        let limit = share * amount;
        let worth = |cand: &Candidate| cand.points * program.campaigns[cand.campaign].unit_value;
        let total: Decimal = candidates.iter().map(worth).sum();
        let mut excess = total - limit;
        if excess <= Decimal::ZERO {
            continue;
        }
        let mut order: Vec<usize> = (0..candidates.len()).filter(|&j| j != i).rev().collect();
        if cut_first {
            order.insert(0, i);
        } else {
            order.push(i);
        }
        for j in order {
            if excess <= Decimal::ZERO {
                break;
            }
            let unit = program.campaigns[candidates[j].campaign].unit_value;
            let cut = (excess / unit).ceil().min(candidates[j].points);
            if cut > Decimal::ZERO {
                candidates[j].points -= cut;
                excess -= cut * unit;
                candidates[j].stacking = Some(Stacking::Cut { cut, limit: candidates[i].campaign });
            }
        }
    }
}

/// `points × numerator ÷ denominator`, rounded, computed exactly.
fn scale_points(
    points: Decimal,
    numerator: Decimal,
    denominator: Decimal,
    rounding: camp_compiler::ir::Rounding,
) -> Decimal {
    if denominator <= Decimal::ZERO {
        return Decimal::ZERO;
    }
    let scale = numerator.scale().max(denominator.scale());
    let as_int = |d: Decimal| {
        let mut d = d;
        d.rescale(scale);
        d.mantissa()
    };
    let (num, den, b) = (as_int(numerator), as_int(denominator), points.trunc().mantissa());
    match num.checked_mul(b) {
        Some(product) => {
            let (q, r) = (product.div_euclid(den), product.rem_euclid(den));
            let up = match rounding {
                camp_compiler::ir::Rounding::Floor => false,
                camp_compiler::ir::Rounding::Ceil => r > 0,
                camp_compiler::ir::Rounding::HalfUp => 2 * r >= den,
                camp_compiler::ir::Rounding::HalfEven => 2 * r > den || (2 * r == den && q % 2 != 0),
            };
            Decimal::from_i128_with_scale(q + i128::from(up), 0)
        }
        None => camp_compiler::interp::round(points * numerator / denominator, rounding),
    }
}

/// Splits a refund over tenders in proportion to what is left on each: floor for every
/// tender but the last, which takes the rest (EVENTS.md).
fn split_refund(tenders: &[event::Tender], refund: Decimal) -> Vec<event::Tender> {
    let left: Decimal = tenders.iter().map(|t| t.amount).sum();
    let scale = tenders.iter().map(|t| t.amount.scale()).max().unwrap_or(0).max(refund.scale());
    let mut taken = Decimal::ZERO;
    let mut out = tenders.to_vec();
    let last = out.len().saturating_sub(1);
    for (i, t) in out.iter_mut().enumerate() {
        let share = if i == last {
            refund - taken
        } else if left > Decimal::ZERO {
            (refund * t.amount / left).round_dp_with_strategy(scale, rust_decimal::RoundingStrategy::ToNegativeInfinity)
        } else {
            Decimal::ZERO
        };
        let share = share.min(t.amount).max(Decimal::ZERO);
        t.amount -= share;
        taken += share;
    }
    out
}

impl Runtime {
    fn refund(&mut self, event: &Event, payment_id: &str, amount: Option<Decimal>) -> Result<Vec<Entry>, Reject> {
        let verb = if amount.is_some() { "refund" } else { "cancel" };
        let payment = self.owned_payment(event, payment_id, verb)?.clone();
        if payment.void {
            return Err(Reject::new(Some(&event.id), format!("payment {payment_id} is already refunded in full")));
        }
        let refund = amount.unwrap_or(payment.amount);
        if refund > payment.amount {
            return Err(Reject::new(
                Some(&event.id),
                format!("refund of {refund} is more than the {} left on payment {payment_id}", payment.amount),
            ));
        }
        let program = Arc::clone(self.program());
        let mut after = payment.clone();
        // The event is shared with the payment as it was: changed, it is copied first.
        let tenders = &mut Arc::make_mut(&mut after.event).tenders;
        *tenders = split_refund(&payment.event.tenders, refund);
        after.amount = payment.amount - refund;
        after.void = after.amount.is_zero() || amount.is_none();
        if after.void {
            for t in tenders.iter_mut() {
                t.amount = Decimal::ZERO;
            }
        }
        let account_id = Id::clone(&event.account);
        let account = self.accounts.get(&account_id).unwrap_or_else(|| no_account());
        let fail = |e| eval_reject(&event.id, e);

        let mut entries = Vec::new();
        // What the refund changes counters by: one change per counter the payment counted in.
        let mut changes: Vec<view::Contribution> = Vec::new();
        let mut usage: IndexMap<(usize, MonthKey), Decimal> = IndexMap::default();
        let mut new_awards: HashMap<(Id, usize), Decimal> = HashMap::new();
        if !payment.provisional {
            let attributes = account.attributes_at(payment.at, program.attributes.len());
            let interned = Interned::new(&after.event, &program.symbols, attributes);
            let view = interned.view(after.amount, payment.at);
            // Counters: a full refund removes the payment; a partial one changes sums only (S3.8).
            let mut contributions = Vec::new();
            for c in &payment.contributions {
                let value = if after.void {
                    Decimal::ZERO
                } else if c.counts_payments {
                    c.value
                } else {
                    let overlay = view::Overlay { base: account, added: &[] };
                    self.evaluator
                        .counter_contribution(c.campaign, c.counter, &view, &overlay)
                        .map_err(fail)?
                        .unwrap_or_default()
                };
                if value != c.value {
                    let delta = value - c.value;
                    changes.push(view::Contribution {
                        campaign: c.campaign,
                        counter: c.counter,
                        key: c.key,
                        value: delta,
                    });
                }
                contributions.push(Contribution { value, ..c.clone() });
            }
            after.contributions = contributions;
            // This payment's awards.
            for award in &mut after.awards {
                let c = &program.campaigns[award.campaign];
                let texts = &self.texts[award.campaign];
                let new = if after.void {
                    Decimal::ZERO
                } else {
                    match c.refund {
                        RefundPolicy::Prorate => scale_points(award.points, after.amount, payment.amount, c.rounding),
                        RefundPolicy::Recompute => {
                            // Eligibility was decided when the payment was made; only the
                            // amounts change, and never upward (S1.7, S4.7).
                            let overlay = view::Overlay { base: account, added: &changes };
                            self.recompute_ignoring_conditions(award.campaign, &view, &overlay)
                                .map_err(fail)?
                                .min(award.points)
                        }
                    }
                };
                let delta = new - award.points;
                if delta != Decimal::ZERO {
                    *usage.entry((award.campaign, award.month)).or_default() += delta;
                    *usage.entry((award.campaign, PERIOD)).or_default() += delta;
                    entries.push(Entry::Adjust {
                        event: Id::clone(&event.id),
                        account: Id::clone(&account_id),
                        campaign: Id::clone(&texts.id),
                        payment: Id::clone(&payment.id),
                        points: whole(delta, &event.id)?,
                        unit: Id::clone(&texts.unit),
                        source: Id::clone(&texts.refund_source),
                        reason: explain::refund_reason(c, verb, after.void, refund),
                    });
                }
                award.points = new;
            }
            // Re-rating (S3.9): awards of retroactive campaigns that read a counter this
            // refund changed (a few pairs of campaign and month), found through the account's
            // index of readers rather than by reading every payment it holds.
            let mut changed: Vec<(usize, MonthKey)> = changes
                .iter()
                .filter(|d| !d.value.is_zero() && program.campaigns[d.campaign].retroactive)
                .map(|d| (d.campaign, d.key))
                .collect();
            changed.sort_unstable();
            changed.dedup();
            let readers = if changed.is_empty() { Vec::new() } else { account.readers(&changed) };
            // One interned form for every payment re-rated, filled once a payment.
            let mut form = Interned::default();
            for other in readers.into_iter().filter_map(|position| account.payment_at(position)) {
                if *other.id == *payment_id || other.void || other.provisional {
                    continue;
                }
                let mut filled = false;
                for award in &other.awards {
                    let texts = &self.texts[award.campaign];
                    let reads_changed = award.reads.iter().any(|(_, key)| changed.contains(&(award.campaign, *key)));
                    if !reads_changed {
                        continue;
                    }
                    if !filled {
                        account.attributes_into(other.at, program.attributes.len(), &mut form.attributes);
                        form.fill(&other.event, &program.symbols);
                        filled = true;
                    }
                    let view = form.view(other.amount, other.at);
                    let overlay = view::Overlay { base: account, added: &changes };
                    let new = self.recompute_ignoring_conditions(award.campaign, &view, &overlay).map_err(fail)?;
                    let delta = new - award.points;
                    if delta != Decimal::ZERO {
                        *usage.entry((award.campaign, award.month)).or_default() += delta;
                        *usage.entry((award.campaign, PERIOD)).or_default() += delta;
                        new_awards.insert((Id::clone(&other.id), award.campaign), new);
                        entries.push(Entry::Adjust {
                            event: Id::clone(&event.id),
                            account: Id::clone(&account_id),
                            campaign: Id::clone(&texts.id),
                            payment: Id::clone(&other.id),
                            points: whole(delta, &event.id)?,
                            unit: Id::clone(&texts.unit),
                            source: Id::clone(&texts.source),
                            reason: format!(
                                "rerate: refund {} of payment {payment_id} changed the counters this award reads",
                                event.id
                            ),
                        });
                    }
                }
            }
        }
        // Commit.
        let account = self.accounts.entry(account_id).or_default();
        for d in changes {
            *account.counters.or_default((d.campaign, d.counter, d.key)) += d.value;
        }
        for (key, delta) in usage {
            *account.usage.or_default(key) += delta;
        }
        for ((id, campaign), points) in new_awards {
            if let Some(award) =
                account.payment_mut(&id).and_then(|p| p.awards.iter_mut().find(|a| a.campaign == campaign))
            {
                award.points = points;
            }
        }
        match account.payment_mut(&payment.id) {
            Some(kept) => *kept = after,
            None => account.push_payment(after),
        }
        Ok(entries)
    }

    /// A campaign's award on a payment with its conditions taken as met: the amounts are
    /// computed again (after a refund, after a counter changed), eligibility is not.
    fn recompute_ignoring_conditions(
        &self,
        campaign: usize,
        view: &camp_compiler::view::PaymentView<'_>,
        counters: &dyn Counters,
    ) -> Result<Decimal, EvalError> {
        self.evaluator.evaluate_award(campaign, view, counters).map(|o| o.points)
    }
}

/// The attribute changes the program's campaigns read, by attribute index, from the changes
/// events gave (kept in time order).
pub(crate) fn derive_attributes(raw: &[(Nanos, String, Option<serde_json::Value>)], program: &Program) -> Timelines {
    let mut timelines = vec![Vec::new(); program.attributes.len()];
    derive_more_attributes(raw, program, &mut timelines);
    timelines
}

/// [`derive_attributes`] of changes that come after every change `timelines` holds.
fn derive_more_attributes(
    raw: &[(Nanos, String, Option<serde_json::Value>)],
    program: &Program,
    timelines: &mut Timelines,
) {
    for (at, name, value) in raw {
        let Some(index) = program.attributes.iter().position(|a| a.name == *name) else { continue };
        let value = match value {
            None => Value::Absent,
            Some(v) => match attribute_value(program.attributes[index].kind, v, program) {
                Some(value) => value,
                None => continue,
            },
        };
        if let Some(changes) = timelines.get_mut(index) {
            changes.push((*at, value));
        }
    }
}

fn kind_name(kind: camp_compiler::ir::AttributeKind) -> &'static str {
    match kind {
        camp_compiler::ir::AttributeKind::Time => "an RFC 3339 time such as 2026-03-30T23:59:59+09:00",
        camp_compiler::ir::AttributeKind::Bool => "true or false",
        camp_compiler::ir::AttributeKind::Number => "a number",
        camp_compiler::ir::AttributeKind::Text => "a string",
    }
}

fn attribute_value(kind: camp_compiler::ir::AttributeKind, v: &serde_json::Value, program: &Program) -> Option<Value> {
    use camp_compiler::ir::AttributeKind;
    Some(match kind {
        AttributeKind::Time => Value::Time(event::parse_time(v.as_str()?)?),
        AttributeKind::Bool => Value::Bool(v.as_bool()?),
        AttributeKind::Number => Value::Num(event::decimal(v)?),
        AttributeKind::Text => {
            let text = v.as_str()?;
            Value::Sym(
                program.symbols.get(text).unwrap_or(camp_compiler::symbols::Sym(camp_compiler::symbols::FIRST_UNNAMED)),
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use crate::{Entry, Runtime, SourceFile};

    /// PayPay Step alone, from the seeds.
    fn paypay_step() -> Runtime {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/seeds/paypay-step.camp");
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        Runtime::load(&[SourceFile { name: "paypay-step.camp", text: &text }]).unwrap_or_else(|e| panic!("{e:?}"))
    }

    /// Every line's entries, in order; with `scan`, the account's payments are scanned
    /// instead of looked up in its index for every refund and cancel.
    fn ledger(runtime: &mut Runtime, lines: &[String], scan: bool) -> Vec<Entry> {
        let mut entries = Vec::new();
        for line in lines {
            let Ok(Some((event, hash))) = crate::event::parse_line(line) else { panic!("not an event: {line}") };
            if scan
                && matches!(event.kind, crate::EventKind::Refund { .. })
                && let Some(account) = runtime.accounts.get_mut(&*event.account)
            {
                account.forget_index();
            }
            entries.extend(runtime.process_hashed(&event, hash).unwrap_or_else(|r| panic!("{line}: {}", r.error)));
        }
        entries
    }

    /// An account with more payments than it keeps without an index: 100 in February
    /// (achieving PayPay Step's count period), 80 in March earning the bonus that February
    /// gives, then cancels and refunds of February payments until the count period is lost,
    /// interleaved with more March payments and refunds of them. Re-rating found through the
    /// index writes the same ledger as re-rating found by scanning every payment.
    #[test]
    fn refunds_on_an_indexed_account_write_what_scanning_its_payments_writes() {
        let payment = |id: String, at: String| {
            format!(
                r#"{{"type":"payment","id":"{id}","account":"u1","at":"{at}","amount":1200,"method":"paypay_credit"}}"#
            )
        };
        let mut lines = Vec::new();
        for i in 0..100 {
            lines.push(payment(format!("f{i}"), format!("2026-02-{:02}T10:{:02}:00+09:00", 1 + i % 27, i % 60)));
        }
        for i in 0..80 {
            lines.push(payment(format!("m{i}"), format!("2026-03-{:02}T13:{:02}:00+09:00", 1 + i % 20, i % 60)));
        }
        for i in 0..40 {
            let at = format!("2026-03-{:02}T15:{:02}:00+09:00", 21 + i % 8, i);
            lines.push(match i % 4 {
                0 => format!(
                    r#"{{"type":"refund","id":"r{i}","account":"u1","at":"{at}","payment":"f{i}","amount":700}}"#
                ),
                1 => format!(
                    r#"{{"type":"refund","id":"r{i}","account":"u1","at":"{at}","payment":"m{i}","amount":500}}"#
                ),
                _ => format!(r#"{{"type":"cancel","id":"r{i}","account":"u1","at":"{at}","payment":"f{i}"}}"#),
            });
            lines.push(payment(format!("n{i}"), at.replace("T15", "T16")));
        }
        let indexed = ledger(&mut paypay_step(), &lines, false);
        let scanned = ledger(&mut paypay_step(), &lines, true);
        let rerates =
            indexed.iter().filter(|e| matches!(e, Entry::Adjust { payment, .. } if !payment.starts_with('f'))).count();
        assert!(rerates >= 80, "the refunds re-rated {rerates} March awards; the test needs them all re-rated");
        assert_eq!(indexed, scanned);
        let mut runtime = paypay_step();
        ledger(&mut runtime, &lines, false);
        assert!(runtime.accounts.get("u1").is_some_and(|a| a.indexed()), "the account was never indexed");
    }

    #[test]
    fn positive_is_greater_than_zero_for_every_sign_and_scale() {
        let negative_zero = Decimal::from_parts(0, 0, 0, true, 3);
        let values = [
            Decimal::ZERO,
            negative_zero,
            Decimal::new(0, 4),
            Decimal::new(1, 4),
            Decimal::new(-1, 4),
            Decimal::ONE,
            Decimal::NEGATIVE_ONE,
            Decimal::MAX,
            Decimal::MIN,
        ];
        for d in values {
            assert_eq!(super::positive(d), d > Decimal::ZERO, "{d:?}");
        }
    }
}
