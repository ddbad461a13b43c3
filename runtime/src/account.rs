//! Per-account state: attributes over time, enrollments, payments with their refunds and
//! awards, cap usage and counters. The compiler derives what is kept (which counters, which
//! caps) from the campaigns; the runtime keeps it.

use std::collections::HashMap;

use camp_compiler::ir::{Nanos, Value};
use camp_compiler::symbols::{Interner, Sym, Symbols};
use camp_compiler::time::MonthKey;
use camp_compiler::view::{Counters, PaymentView, TenderView};
use rust_decimal::Decimal;

use crate::event::{self, Id};

/// The key of cap usage over a whole period (month caps use the month's key).
pub const PERIOD: MonthKey = MonthKey::MIN;

/// A map keyed by ids that come in events (accounts, payments, events, campaigns): hashed
/// fast (SipHash was an eighth of the time a payment took), with a seed drawn at random for
/// each map so that ids cannot be picked to collide (foldhash's minimal resistance to
/// hash flooding; writers of events are authenticated clients of the operator).
pub(crate) type IdMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Attribute values over time: by attribute index, the attribute's changes (from, value) in
/// time order, changes made at the same time in the order they came.
pub(crate) type Timelines = Vec<Vec<(Nanos, Value)>>;

/// A map keyed by runtime-made integers.
pub(crate) type IndexMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<camp_compiler::symbols::QuickHasher>>;

/// A map kept as a sorted list: for an account's cap usage and counters, a few keys to a
/// few dozen, where a binary search over one block beats hashing and growing never rehashes
/// (rehashing the maps of accounts' first payments was a twelfth of processing a stream).
#[derive(Clone, Debug)]
pub(crate) struct SortedMap<K, V>(Vec<(K, V)>);

impl<K, V> Default for SortedMap<K, V> {
    fn default() -> SortedMap<K, V> {
        SortedMap(Vec::new())
    }
}

impl<K: Ord, V> SortedMap<K, V> {
    pub fn get(&self, key: &K) -> Option<&V> {
        self.0.binary_search_by(|(k, _)| k.cmp(key)).ok().map(|i| &self.0[i].1)
    }

    /// The value of `key`, made with `V::default()` when missing.
    pub fn or_default(&mut self, key: K) -> &mut V
    where
        V: Default,
    {
        let i = match self.0.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(i) => i,
            Err(i) => {
                self.0.insert(i, (key, V::default()));
                i
            }
        };
        &mut self.0[i].1
    }

    /// Keys and values in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// Reads the key of one entry in every 128 bytes of the map's entries (the processor
    /// fetches lines in aligned pairs): a look-up afterwards finds its binary search's lines
    /// in the caches.
    pub(crate) fn touch(&self)
    where
        K: Copy,
    {
        let step = (128 / std::mem::size_of::<(K, V)>().max(1)).max(1);
        for (key, _) in self.0.iter().step_by(step) {
            // Read, though unused: what the read brings into the caches is its purpose.
            std::hint::black_box(*key);
        }
    }
}

/// One account.
#[derive(Clone, Debug, Default)]
pub struct Account {
    /// Each attribute's changes in time order, by attribute index: (from, value), derived
    /// from `raw_attributes` for the program loaded. One list per attribute, so that a
    /// payment finds each value by a binary search, however many changes the account has had.
    pub(crate) attributes: Timelines,
    /// Attribute changes in time order as the events gave them (`None` removes one), names
    /// no campaign reads included: what is kept, so that a reload can derive `attributes`
    /// again for its campaigns.
    pub(crate) raw_attributes: Vec<(Nanos, String, Option<serde_json::Value>)>,
    /// Campaign id → the first entry time (campaigns not loaded included).
    pub(crate) enrollments: IdMap<String, Nanos>,
    /// Payments in arrival order. Changed through [`Account::push_payment`] and
    /// [`Account::set_awards`], which keep `index`.
    payments: Vec<Payment>,
    /// The payments by id and by the counters their awards read, once there are
    /// [`INDEX_FROM`] of them (`None` before).
    index: Option<Box<PaymentIndex>>,
    /// (campaign, month key or [`PERIOD`]) → points awarded, after adjustments.
    pub(crate) usage: SortedMap<(usize, MonthKey), Decimal>,
    /// (campaign, counter, month key or 0) → value.
    pub(crate) counters: SortedMap<(usize, usize, MonthKey), Decimal>,
    /// Cap usage and counters of campaigns (or counters) the loaded program does not have,
    /// kept as they were so that nothing is lost when a reload removes a campaign and a
    /// later one brings it back.
    pub(crate) detached: crate::snapshot::Detached,
}

impl Counters for Account {
    fn counter(&self, campaign: usize, counter: usize, key: MonthKey) -> Decimal {
        self.counters.get(&(campaign, counter, key)).copied().unwrap_or_default()
    }
}

impl Account {
    /// The attribute values in force at `at`, by attribute index.
    pub fn attributes_at(&self, at: Nanos, count: usize) -> Vec<Value> {
        let mut values = Vec::new();
        self.attributes_into(at, count, &mut values);
        values
    }

    /// [`Account::attributes_at`] into a vector reused across payments: of an attribute's
    /// changes made at or before `at`, the last.
    pub(crate) fn attributes_into(&self, at: Nanos, count: usize, values: &mut Vec<Value>) {
        values.clear();
        values.resize(count, Value::Absent);
        for (slot, changes) in values.iter_mut().zip(&self.attributes) {
            let made = changes.partition_point(|(from, _)| *from <= at);
            if let Some((_, value)) = made.checked_sub(1).and_then(|last| changes.get(last)) {
                *slot = value.clone();
            }
        }
    }

    /// Points a campaign has awarded this account in a month (or the period).
    pub fn used(&self, campaign: usize, key: MonthKey) -> Decimal {
        self.usage.get(&(campaign, key)).copied().unwrap_or_default()
    }

    /// Where a payment of this account stands in its arrival order (from 0).
    pub(crate) fn position(&self, id: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.by_id.get(id).copied(),
            // From the latest back: refunds and completions mostly name recent payments.
            None => self.payments.iter().rposition(|p| *p.id == *id),
        }
    }

    /// Adds a payment after the others.
    pub(crate) fn push_payment(&mut self, payment: Payment) {
        let position = self.payments.len();
        if let Some(index) = &mut self.index {
            index.add(position, &payment);
        }
        self.payments.push(payment);
        if self.index.is_none() && self.payments.len() >= INDEX_FROM {
            let mut index = PaymentIndex::default();
            for (position, payment) in self.payments.iter().enumerate() {
                index.add(position, payment);
            }
            self.index = Some(Box::new(index));
        }
    }

    /// Drops the index, as if the account held fewer payments: for tests comparing what the
    /// index finds with what scanning finds (the next payment added indexes them again).
    #[cfg(test)]
    pub(crate) fn forget_index(&mut self) {
        self.index = None;
    }

    /// Whether the account indexes its payments.
    #[cfg(test)]
    pub(crate) fn indexed(&self) -> bool {
        self.index.is_some()
    }

    /// The payment at `position` in arrival order.
    pub(crate) fn payment_at(&self, position: usize) -> Option<&Payment> {
        self.payments.get(position)
    }

    /// The payment at `position`, to change: its id and its awards stay as they are (the
    /// index keeps them; [`Account::set_awards`] changes awards).
    pub(crate) fn payment_at_mut(&mut self, position: usize) -> Option<&mut Payment> {
        self.payments.get_mut(position)
    }

    /// Sets what campaigns awarded the payment at `position`.
    pub(crate) fn set_awards(&mut self, position: usize, awards: Vec<AwardRecord>) {
        let Some(payment) = self.payments.get_mut(position) else { return };
        payment.awards = awards;
        if let Some(index) = &mut self.index {
            index.add_readers(position, payment);
        }
    }

    /// The positions, in arrival order and each once, of the payments with an award that
    /// read a counter of one of `campaign_keys` (a campaign, and a month key or 0 for its
    /// counters kept over the period), and perhaps of a few others: callers check each
    /// payment's awards.
    pub(crate) fn readers(&self, campaign_keys: &[(usize, MonthKey)]) -> Vec<usize> {
        let Some(index) = &self.index else { return (0..self.payments.len()).collect() };
        let mut positions: Vec<usize> =
            campaign_keys.iter().filter_map(|key| index.readers.get(key)).flatten().copied().collect();
        positions.sort_unstable();
        positions.dedup();
        positions
    }

    /// A payment of this account.
    pub fn payment(&self, id: &str) -> Option<&Payment> {
        self.position(id).map(|i| &self.payments[i])
    }

    /// A payment of this account, to change: its id and what its awards read stay as they
    /// are (the index keeps them; [`Account::set_awards`] changes awards).
    pub(crate) fn payment_mut(&mut self, id: &str) -> Option<&mut Payment> {
        self.position(id).map(|i| &mut self.payments[i])
    }

    /// The payments of this account in arrival order.
    pub fn payments(&self) -> impl Iterator<Item = &Payment> {
        self.payments.iter()
    }

    /// The value of a counter.
    pub fn counter_value(&self, campaign: usize, counter: usize, key: MonthKey) -> Decimal {
        self.counter(campaign, counter, key)
    }

    /// When the account entered a campaign (by id), if it did.
    pub fn enrolled_at(&self, campaign: &str) -> Option<Nanos> {
        self.enrollments.get(campaign).copied()
    }
}

/// How many payments an account holds before it indexes them: below this, finding a payment
/// by scanning them costs less than keeping an index (most accounts hold a few payments);
/// above, a refund that scanned every payment (to find the one it names, and the awards it
/// re-rates) took time in proportion to the account's history, and a stream of 100,000
/// payments and refunds on one account took 50 s instead of 0.3 s.
pub(crate) const INDEX_FROM: usize = 64;

/// An account's payments by id and by the counters their awards read.
#[derive(Clone, Debug, Default)]
struct PaymentIndex {
    /// Payment id → position in arrival order.
    by_id: IdMap<Id, usize>,
    /// (campaign, month key or 0) → the positions of payments with an award of the campaign
    /// that read a counter of that key: what a refund that changes the counter re-rates.
    /// Positions may repeat or outlive a payment's awards (set again): readers check.
    readers: IndexMap<(usize, MonthKey), Vec<usize>>,
}

impl PaymentIndex {
    /// Indexes the payment added at `position`.
    fn add(&mut self, position: usize, payment: &Payment) {
        self.by_id.insert(Id::clone(&payment.id), position);
        self.add_readers(position, payment);
    }

    /// Indexes what the awards of the payment at `position` read (again, when set again).
    fn add_readers(&mut self, position: usize, payment: &Payment) {
        for award in &payment.awards {
            for (_, key) in &award.reads {
                let readers = self.readers.entry((award.campaign, *key)).or_default();
                if readers.last() != Some(&position) {
                    readers.push(position);
                }
            }
        }
    }
}

/// A payment as the runtime keeps it.
#[derive(Clone, Debug)]
pub struct Payment {
    /// Its id.
    pub id: Id,
    /// When it was made.
    pub at: Nanos,
    /// The amount paid.
    pub original: Decimal,
    /// What is left after refunds.
    pub amount: Decimal,
    /// Still provisional: counts and earns nothing yet.
    pub provisional: bool,
    /// Refunded in full or cancelled.
    pub void: bool,
    /// The decoded event (tenders keep what is left of each).
    pub(crate) event: std::sync::Arc<event::Payment>,
    /// What it added to counters: (campaign, counter, key, value, counts payments).
    pub(crate) contributions: Vec<Contribution>,
    /// What campaigns awarded it.
    pub awards: Vec<AwardRecord>,
    /// Awards and contributions of campaigns the loaded program does not have.
    pub(crate) detached: crate::snapshot::DetachedPayment,
}

/// What a payment added to one counter.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Contribution {
    pub campaign: usize,
    pub counter: usize,
    pub key: MonthKey,
    pub value: Decimal,
    /// A `count` counter: partial refunds leave it (S3.8).
    pub counts_payments: bool,
}

/// What one campaign awarded one payment.
#[derive(Clone, Debug, PartialEq)]
pub struct AwardRecord {
    /// The campaign index.
    pub campaign: usize,
    /// Points now owed (after adjustments).
    pub points: Decimal,
    /// The calendar month its caps count in.
    pub month: MonthKey,
    /// The counters (and periods) the award read.
    pub reads: Vec<(u32, MonthKey)>,
}

/// The interned form of a payment, from which views are borrowed.
#[derive(Debug)]
pub(crate) struct Interned {
    pub currency: Sym,
    pub channel: Sym,
    pub terminal: Sym,
    pub app: Sym,
    pub merchant: [Option<Sym>; 5],
    pub tags: Vec<Sym>,
    pub categories: Vec<Sym>,
    pub tenders: Vec<TenderView>,
    pub attributes: Vec<Value>,
}

impl Default for Interned {
    /// An empty form, to be filled ([`Interned::fill`]) before any view is taken.
    fn default() -> Interned {
        Interned {
            currency: Sym(0),
            channel: Sym(0),
            terminal: Sym(0),
            app: Sym(0),
            merchant: [None; 5],
            tags: Vec::new(),
            categories: Vec::new(),
            tenders: Vec::new(),
            attributes: Vec::new(),
        }
    }
}

impl Interned {
    pub fn new(payment: &event::Payment, symbols: &Symbols, attributes: Vec<Value>) -> Interned {
        let mut interned = Interned { attributes, ..Interned::default() };
        interned.fill(payment, symbols);
        interned
    }

    /// Interns a payment into this form, keeping its vectors' room (the runtime reuses one
    /// form for every settlement); the attributes are left as they are.
    pub fn fill(&mut self, payment: &event::Payment, symbols: &Symbols) {
        let mut interner = Interner::new(symbols);
        self.merchant = [0, 1, 2, 3, 4].map(|i| payment.merchant[i].as_deref().map(|m| interner.sym(m)));
        self.currency = interner.sym(&payment.currency);
        self.channel = interner.sym(&payment.channel);
        self.terminal = interner.sym(&payment.terminal);
        self.app = interner.sym(&payment.app);
        self.tags.clear();
        self.tags.extend(payment.tags.iter().map(|t| interner.sym(t)));
        self.categories.clear();
        self.categories.extend(payment.categories.iter().map(|c| interner.sym(c)));
        self.tenders.clear();
        self.tenders.extend(payment.tenders.iter().map(|t| TenderView {
            method: interner.sym(&t.method),
            amount: t.amount,
            installments: t.installments,
        }));
    }

    pub fn view(&self, amount: Decimal, at: Nanos) -> PaymentView<'_> {
        PaymentView {
            amount,
            currency: self.currency,
            channel: self.channel,
            terminal: self.terminal,
            app: self.app,
            at,
            merchant: self.merchant,
            tags: &self.tags,
            categories: &self.categories,
            tenders: &self.tenders,
            attributes: &self.attributes,
            flat: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use rust_decimal::Decimal;

    use super::{Account, AwardRecord, INDEX_FROM, Payment, SortedMap};

    /// A payment with an id and awards of `(campaign, month keys read)`; the rest is not read.
    fn payment(id: String, awards: &[(usize, Vec<i32>)]) -> Payment {
        let event = crate::event::Payment {
            amount: Decimal::ONE,
            currency: "JPY".into(),
            tenders: Vec::new(),
            merchant: Default::default(),
            tags: Vec::new(),
            channel: "in_store".into(),
            terminal: "pos".into(),
            app: "paypay".into(),
            categories: Vec::new(),
            provisional: false,
        };
        Payment {
            id: id.as_str().into(),
            at: 0,
            original: Decimal::ONE,
            amount: Decimal::ONE,
            provisional: false,
            void: false,
            event: std::sync::Arc::new(event),
            contributions: Vec::new(),
            awards: awards_of(awards),
            detached: Default::default(),
        }
    }

    fn awards_of(awards: &[(usize, Vec<i32>)]) -> Vec<AwardRecord> {
        awards
            .iter()
            .map(|(campaign, keys)| AwardRecord {
                campaign: *campaign,
                points: Decimal::ONE,
                month: 0,
                reads: keys.iter().map(|key| (0, *key)).collect(),
            })
            .collect()
    }

    /// A change to an account: a payment added (some ids repeat an earlier one, as the
    /// runtime never makes them, to pin which one is found), or a payment's awards set again.
    #[derive(Clone, Debug)]
    enum Change {
        Push { id: u16, awards: Vec<(usize, Vec<i32>)> },
        SetAwards { position: usize, awards: Vec<(usize, Vec<i32>)> },
    }

    fn change() -> impl Strategy<Value = Change> {
        let awards = proptest::collection::vec((0usize..3, proptest::collection::vec(0i32..4, 0..3)), 0..3);
        prop_oneof![
            6 => (0u16..400, awards.clone()).prop_map(|(id, awards)| Change::Push { id, awards }),
            1 => (0usize..200, awards).prop_map(|(position, awards)| Change::SetAwards { position, awards }),
        ]
    }

    proptest! {
        /// Past [`INDEX_FROM`] payments an account finds them through its index: by id, the
        /// same payment as scanning from the latest back, and by the counters their awards
        /// read, every payment that reads one of them, in arrival order, each once.
        #[test]
        fn the_index_finds_what_scanning_the_payments_finds(
            changes in proptest::collection::vec(change(), 0..(3 * INDEX_FROM)),
            keys in proptest::collection::vec((0usize..3, 0i32..4), 1..4),
        ) {
            let mut account = Account::default();
            for change in changes {
                match change {
                    Change::Push { id, awards } => account.push_payment(payment(format!("p{id}"), &awards)),
                    Change::SetAwards { position, awards } => account.set_awards(position, awards_of(&awards)),
                }
            }
            prop_assert_eq!(account.index.is_some(), account.payments.len() >= INDEX_FROM);
            for id in 0..400u16 {
                let id = format!("p{id}");
                prop_assert_eq!(account.position(&id), account.payments.iter().rposition(|p| *p.id == *id));
            }
            let readers = account.readers(&keys);
            prop_assert!(readers.windows(2).all(|w| w[0] < w[1]), "not in order, or repeated: {:?}", readers);
            prop_assert!(readers.iter().all(|p| *p < account.payments.len()));
            for (position, p) in account.payments.iter().enumerate() {
                let reads = p.awards.iter().any(|a| a.reads.iter().any(|(_, key)| keys.contains(&(a.campaign, *key))));
                prop_assert!(!reads || readers.contains(&position), "payment {} reads a key but is not found", position);
            }
        }
    }

    proptest! {
        /// Any sequence of additions leaves the sorted map as a B-tree map would be: the same
        /// keys in the same order with the same values, and reads agreeing for keys present
        /// and absent.
        #[test]
        fn a_sorted_map_is_a_map(adds in proptest::collection::vec((0u8..40, -5i64..5), 0..200), probe in 0u8..45) {
            let mut sorted = SortedMap::default();
            let mut reference = BTreeMap::new();
            for (key, value) in adds {
                *sorted.or_default(key) += value;
                *reference.entry(key).or_insert(0) += value;
            }
            let pairs: Vec<(u8, i64)> = sorted.iter().map(|(k, v)| (*k, *v)).collect();
            let expected: Vec<(u8, i64)> = reference.iter().map(|(k, v)| (*k, *v)).collect();
            prop_assert_eq!(pairs, expected);
            prop_assert_eq!(sorted.get(&probe), reference.get(&probe));
        }
    }
}
