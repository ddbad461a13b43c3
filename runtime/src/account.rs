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
}

/// One account.
#[derive(Clone, Debug, Default)]
pub struct Account {
    /// Attribute changes in time order: (from, attribute index, value), derived from
    /// `raw_attributes` for the program loaded.
    pub(crate) attributes: Vec<(Nanos, usize, Value)>,
    /// Attribute changes in time order as the events gave them (`None` removes one), names
    /// no campaign reads included: what is kept, so that a reload can derive `attributes`
    /// again for its campaigns.
    pub(crate) raw_attributes: Vec<(Nanos, String, Option<serde_json::Value>)>,
    /// Campaign id → the first entry time (campaigns not loaded included).
    pub(crate) enrollments: IdMap<String, Nanos>,
    /// Payments in arrival order. Found by id from the latest back: refunds and completions
    /// name recent payments, and a refund reads every payment of the account anyway (to
    /// re-rate), so an index by id would cost more to keep than it saves.
    pub(crate) payments: Vec<Payment>,
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

    /// [`Account::attributes_at`] into a vector reused across payments.
    pub(crate) fn attributes_into(&self, at: Nanos, count: usize, values: &mut Vec<Value>) {
        values.clear();
        values.resize(count, Value::Absent);
        for (from, index, value) in &self.attributes {
            if *from <= at
                && let Some(slot) = values.get_mut(*index)
            {
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
        self.payments.iter().rposition(|p| *p.id == *id)
    }

    /// A payment of this account.
    pub fn payment(&self, id: &str) -> Option<&Payment> {
        self.position(id).map(|i| &self.payments[i])
    }

    /// A payment of this account, to change.
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

    use super::SortedMap;

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
