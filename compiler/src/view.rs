//! What an evaluator reads: one payment, decoded and interned, and the account's counters.

use rust_decimal::Decimal;

use crate::ir::{Nanos, Value};
use crate::symbols::Sym;
use crate::time::MonthKey;

/// One tender of a payment, as it stands (after refunds).
#[derive(Clone, Debug, PartialEq)]
pub struct TenderView {
    /// Its method.
    pub method: Sym,
    /// What is left of it.
    pub amount: Decimal,
    /// Number of installments (1 for a lump sum).
    pub installments: Decimal,
}

/// One payment as evaluators see it. Borrowed, so evaluation allocates nothing.
#[derive(Clone, Copy, Debug)]
pub struct PaymentView<'a> {
    /// The amount (what is left after refunds).
    pub amount: Decimal,
    /// Its currency.
    pub currency: Sym,
    /// `in_store` or `online`.
    pub channel: Sym,
    /// The terminal.
    pub terminal: Sym,
    /// The app.
    pub app: Sym,
    /// When it was made.
    pub at: Nanos,
    /// `merchant.id`, `.brand`, `.region`, `.class`, `.category`.
    pub merchant: [Option<Sym>; 5],
    /// `merchant.tags`.
    pub tags: &'a [Sym],
    /// The categories of its items.
    pub categories: &'a [Sym],
    /// Its tenders.
    pub tenders: &'a [TenderView],
    /// Account attributes in force at `at`, by attribute index.
    pub attributes: &'a [Value],
    /// This payment already in the form compiled code reads, when the caller made it once
    /// for many evaluations ([`Evaluator::flatten`](crate::Evaluator::flatten)); `None`
    /// otherwise. It must be the flat form of this very view (a JIT ignores one that
    /// another JIT made).
    pub flat: Option<&'a crate::jit::FlatPayment>,
}

/// The account's counters, as the runtime keeps them.
pub trait Counters {
    /// The value of counter `counter` of campaign `campaign` for the month `key` (0 for
    /// counters kept over the period).
    fn counter(&self, campaign: usize, counter: usize, key: MonthKey) -> Decimal;
}

/// No counters at all: every counter reads zero (for stateless evaluation).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCounters;

impl Counters for NoCounters {
    fn counter(&self, _campaign: usize, _counter: usize, _key: MonthKey) -> Decimal {
        Decimal::ZERO
    }
}

/// What one payment adds to one counter.
#[derive(Clone, Debug, PartialEq)]
pub struct Contribution {
    /// The campaign.
    pub campaign: usize,
    /// The counter, by index in the campaign.
    pub counter: usize,
    /// The month it counts in, or 0 for counters kept over the period.
    pub key: MonthKey,
    /// What it adds.
    pub value: Decimal,
}

/// An account's counters with what one payment adds to them so far: what the payment's later
/// counters and its awards are evaluated against.
#[derive(Clone, Copy)]
pub struct Overlay<'a> {
    /// The counters as the account holds them.
    pub base: &'a dyn Counters,
    /// The payment's contributions so far.
    pub added: &'a [Contribution],
}

impl std::fmt::Debug for Overlay<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Overlay").field("added", &self.added).finish_non_exhaustive()
    }
}

impl Counters for Overlay<'_> {
    fn counter(&self, campaign: usize, counter: usize, key: MonthKey) -> Decimal {
        let added = self.added.iter().filter(|c| c.campaign == campaign && c.counter == counter && c.key == key);
        added.fold(self.base.counter(campaign, counter, key), |total, c| total + c.value)
    }
}
