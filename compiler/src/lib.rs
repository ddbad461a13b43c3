//! The Camp compiler: a checked [`camp_lang::typed::Program`] to an [`ir::Program`],
//! evaluated by the reference interpreter ([`interp::Interp`]) and, later, by
//! Cranelift-compiled native code behind the same [`Evaluator`] trait.
//!
//! **Owns:** the IR, evaluation of one campaign on one payment (eligibility, basis, rate,
//! rounding, the per-payment cap, counter contributions), exact decimal arithmetic with
//! defined overflow.
//! **Must not touch:** syntax (it consumes only `camp_lang::typed` and `camp_lang::diag`),
//! files, clocks, account state, stacking or the ledger: those are the runtime's. What an
//! evaluator needs of an account (its counters) it reads through [`view::Counters`].
//! **Architecture invariant:** the interpreter is the specification; any other evaluator
//! must give the same [`Outcome`] on every input.

pub mod interp;
pub mod ir;
pub mod jit;
pub mod lower;
pub mod symbols;
pub mod time;
pub mod view;

/// What the compiler's unit tests share.
#[cfg(test)]
pub(crate) mod test_support {
    use std::sync::Arc;

    /// A small deterministic generator (xorshift), so tests need no randomness crate.
    pub fn next(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    /// A JPY payment of `amount` at 2026-02-10 10:00 in Tokyo, in store at a POS through the
    /// PayPay app, with the given tags and tenders; tests change other fields with `..`.
    pub fn paypay_payment<'a>(
        program: &crate::ir::Program,
        amount: rust_decimal::Decimal,
        tags: &'a [crate::symbols::Sym],
        tenders: &'a [crate::view::TenderView],
        attributes: &'a [crate::ir::Value],
    ) -> crate::view::PaymentView<'a> {
        let sym = |s: &str| program.symbols.get(s).unwrap_or(crate::symbols::Sym(crate::symbols::FIRST_UNNAMED));
        crate::view::PaymentView {
            amount,
            currency: sym("JPY"),
            channel: sym("in_store"),
            terminal: sym("pos"),
            app: sym("paypay"),
            at: crate::time::nanos(
                chrono::DateTime::parse_from_rfc3339("2026-02-10T10:00:00+09:00").unwrap_or_default().to_utc(),
            ),
            merchant: [None; 5],
            tags,
            categories: &[],
            tenders,
            attributes,
            flat: None,
        }
    }

    /// The five seed campaigns, checked and lowered together.
    pub fn seeds() -> Arc<crate::ir::Program> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/seeds");
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "camp"))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        let texts: Vec<String> = names.iter().map(|p| std::fs::read_to_string(p).unwrap_or_default()).collect();
        let sources: Vec<&str> = texts.iter().map(String::as_str).collect();
        let checked = camp_lang::check_sources(&sources);
        let files: Vec<crate::SourceFile<'_>> =
            sources.iter().map(|t| crate::SourceFile { name: "seed", text: t }).collect();
        Arc::new(crate::lower(&checked.program, &files).unwrap_or_else(|e| panic!("{e}")))
    }
}

use std::sync::Arc;

use rust_decimal::Decimal;

pub use interp::{EvalError, Interp};
pub use jit::Jit;
pub use lower::{LowerError, SourceFile, lower};
use view::{Counters, PaymentView};

/// Why a campaign gives a payment nothing before any amount is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ineligible {
    /// The payment is outside the campaign's period.
    OutsidePeriod,
    /// The payment is in a currency the campaign's points are not worth anything in.
    Currency,
    /// The condition with this index (into `ir::Campaign::conditions`) does not hold.
    Condition(usize),
}

/// The caps of an award, as evaluated for one payment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CapValues {
    /// Per payment.
    pub payment: Option<Decimal>,
    /// Per account per calendar month.
    pub month: Option<Decimal>,
    /// Per account over the period.
    pub period: Option<Decimal>,
}

/// What one campaign gives one payment, before account caps and stacking.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Set when the payment earns nothing, and why.
    pub ineligible: Option<Ineligible>,
    /// The money the award is computed on.
    pub basis: Decimal,
    /// The rate (as a fraction) or fixed points, when the same for every tender.
    pub value: Decimal,
    /// Whole points before any cap.
    pub uncapped: Decimal,
    /// Whole points after the per-payment cap.
    pub points: Decimal,
    /// The caps as evaluated (a cap may come from a table).
    pub caps: CapValues,
}

impl Outcome {
    /// Back to the default.
    pub fn reset(&mut self) {
        self.ineligible = None;
        self.basis = Decimal::ZERO;
        self.value = Decimal::ZERO;
        self.uncapped = Decimal::ZERO;
        self.points = Decimal::ZERO;
        self.caps = CapValues::default();
    }
}

/// Everything the evaluators decide about one payment ([`Evaluator::evaluate_payment`]):
/// what it adds to every counter, and what every campaign gives it. Reused across payments
/// so that settling one allocates nothing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PaymentOutcome {
    /// What the payment adds to counters, in program order (campaign, then counter); a
    /// counter whose filter leaves the payment out is not here.
    pub contributions: Vec<view::Contribution>,
    /// Each campaign's outcome, by campaign index.
    pub outcomes: Vec<Outcome>,
}

impl PaymentOutcome {
    /// What every counter contribution and every campaign's points add up to: one number
    /// that two evaluators must agree on (for comparing engines).
    pub fn total(&self) -> Decimal {
        let mut total = Decimal::ZERO;
        // Most outcomes are zero: adding only the others keeps decimal additions (which
        // rescale) out of the common case.
        for value in self.contributions.iter().map(|c| c.value).chain(self.outcomes.iter().map(|o| o.points)) {
            if !value.is_zero() {
                total += value;
            }
        }
        total
    }
}

/// [`Evaluator::evaluate_payment`] by parts: every counter with
/// [`Evaluator::counter_contribution`], then every campaign with [`Evaluator::evaluate_into`],
/// in the order every evaluator follows (see `evaluate_in_order`).
pub fn evaluate_by_parts<E: Evaluator + ?Sized>(
    evaluator: &E,
    payment: &PaymentView<'_>,
    counters: &dyn Counters,
    out: &mut PaymentOutcome,
) -> Result<(), EvalError> {
    evaluate_in_order(evaluator.program(), payment.at, counters, &mut ByParts { evaluator, payment }, out)
}

/// The parts of a payment's evaluation, for [`evaluate_in_order`].
pub(crate) trait PaymentParts {
    /// The key the payment adds to counter `counter` of `campaign` under.
    fn counter_key(&mut self, campaign: &ir::Campaign, counter: usize) -> time::MonthKey;

    /// What the payment adds to counter `counter` of campaign `index`.
    fn contribution(
        &mut self,
        index: usize,
        counter: usize,
        counters: &dyn Counters,
    ) -> Result<Option<Decimal>, EvalError>;

    /// What campaign `index` gives the payment.
    fn award(&mut self, index: usize, counters: &dyn Counters, out: &mut Outcome) -> Result<(), EvalError>;

    /// Every contribution of campaign `index` (in its period) pushed to `contributions` at
    /// once, in counter order, as [`PaymentParts::contribution`] one by one would give them:
    /// for evaluators that compute them together. `false`, with nothing pushed, when they do
    /// not, and the counters are asked one by one.
    fn all_contributions(
        &mut self,
        _index: usize,
        _campaign: &ir::Campaign,
        _contributions: &mut Vec<view::Contribution>,
    ) -> bool {
        false
    }
}

/// A payment evaluated by an evaluator's one-campaign methods.
struct ByParts<'e, 'p, E: ?Sized> {
    evaluator: &'e E,
    payment: &'e PaymentView<'p>,
}

impl<E: Evaluator + ?Sized> PaymentParts for ByParts<'_, '_, E> {
    fn counter_key(&mut self, campaign: &ir::Campaign, counter: usize) -> time::MonthKey {
        campaign.counter_key(counter, self.payment.at)
    }

    fn contribution(
        &mut self,
        index: usize,
        counter: usize,
        counters: &dyn Counters,
    ) -> Result<Option<Decimal>, EvalError> {
        self.evaluator.counter_contribution(index, counter, self.payment, counters)
    }

    fn award(&mut self, index: usize, counters: &dyn Counters, out: &mut Outcome) -> Result<(), EvalError> {
        self.evaluator.evaluate_into(index, self.payment, counters, out)
    }
}

/// The order of a payment's evaluation, the same for every evaluator: counting comes first
/// and does not depend on the awards (S4.8); a payment's counters count it only inside their
/// campaign's period, each against the account's counters plus what the payment added before
/// it; then every campaign, against the counters with all of it added (a campaign whose
/// period the payment is outside of gives `OutsidePeriod` without asking the evaluator, as
/// each evaluator would answer).
pub(crate) fn evaluate_in_order(
    program: &ir::Program,
    at: ir::Nanos,
    counters: &dyn Counters,
    parts: &mut impl PaymentParts,
    out: &mut PaymentOutcome,
) -> Result<(), EvalError> {
    let PaymentOutcome { contributions, outcomes } = out;
    contributions.clear();
    for (ci, c) in program.campaigns.iter().enumerate() {
        if c.counters.is_empty() || !c.in_period(at) || parts.all_contributions(ci, c, contributions) {
            continue;
        }
        for k in 0..c.counters.len() {
            let overlay = view::Overlay { base: counters, added: contributions };
            if let Some(value) = parts.contribution(ci, k, &overlay)? {
                let key = parts.counter_key(c, k);
                contributions.push(view::Contribution { campaign: ci, counter: k, key, value });
            }
        }
    }
    outcomes.resize_with(program.campaigns.len(), Outcome::default);
    let overlay = view::Overlay { base: counters, added: contributions };
    for (ci, (c, outcome)) in program.campaigns.iter().zip(outcomes.iter_mut()).enumerate() {
        // The period first, as every evaluator decides it: in a stream most payments fall
        // outside some campaign's period, and those cost no call.
        if !c.in_period(at) {
            outcome.reset();
            outcome.ineligible = Some(Ineligible::OutsidePeriod);
            continue;
        }
        parts.award(ci, &overlay, outcome)?;
    }
    Ok(())
}

/// Evaluates campaigns on payments. Implemented by the interpreter and the JIT; the
/// runtime does not know which one it holds.
pub trait Evaluator: Send + Sync + std::fmt::Debug {
    /// The program evaluated.
    fn program(&self) -> &Arc<ir::Program>;

    /// What campaign `index` gives `payment`, before account caps and stacking, written into
    /// `out` (reset first), so that hot loops reuse one outcome.
    fn evaluate_into(
        &self,
        index: usize,
        payment: &PaymentView<'_>,
        counters: &dyn Counters,
        out: &mut Outcome,
    ) -> Result<(), EvalError>;

    /// Every campaign's counter contributions and outcome on `payment`, against the account's
    /// `counters`, into `out` (its old contents replaced): what settling a payment needs of
    /// the evaluators, in one call. The same as [`evaluate_by_parts`], which is the default;
    /// an evaluator may do it faster, never differently.
    fn evaluate_payment(
        &self,
        payment: &PaymentView<'_>,
        counters: &dyn Counters,
        out: &mut PaymentOutcome,
    ) -> Result<(), EvalError> {
        evaluate_by_parts(self, payment, counters, out)
    }

    /// What campaign `index` gives `payment`, before account caps and stacking.
    fn evaluate(&self, index: usize, payment: &PaymentView<'_>, counters: &dyn Counters) -> Result<Outcome, EvalError> {
        let mut out = Outcome::default();
        self.evaluate_into(index, payment, counters, &mut out)?;
        Ok(out)
    }

    /// The award of campaign `index` on `payment` with its period and conditions taken as met:
    /// used when amounts change after eligibility was decided (refunds, re-rating).
    fn evaluate_award(
        &self,
        index: usize,
        payment: &PaymentView<'_>,
        counters: &dyn Counters,
    ) -> Result<Outcome, EvalError>;

    /// The counters campaign `index` reads for a payment at `at`, with the period each is
    /// read for, in order and once each: the runtime re-rates an award when a refund changes
    /// one of these (S3.9). It depends on the program alone, so every evaluator gives the
    /// same; the runtime asks only for the awards it keeps.
    fn reads(&self, index: usize, at: ir::Nanos) -> Vec<(u32, time::MonthKey)>;

    /// Whether each condition of campaign `index` holds, for explanations.
    fn condition_results(
        &self,
        index: usize,
        payment: &PaymentView<'_>,
        counters: &dyn Counters,
    ) -> Result<Vec<bool>, EvalError>;

    /// The flat form of a payment, for evaluators that read one ([`jit::Jit::flatten`]):
    /// callers evaluating many campaigns on one payment make it once and attach it as
    /// [`PaymentView::flat`]. `None` for evaluators that do not (and for payments that do
    /// not flatten).
    fn flatten(&self, _payment: &PaymentView<'_>) -> Option<jit::FlatPayment> {
        None
    }

    /// [`Evaluator::flatten`] written over `flat`, for callers that keep one flat form and
    /// reuse it (a flat form is a few hundred bytes: returning one copies it): whether the
    /// payment flattened. When not, `flat` is not to be read.
    fn flatten_into(&self, payment: &PaymentView<'_>, flat: &mut jit::FlatPayment) -> bool {
        match self.flatten(payment) {
            Some(made) => {
                *flat = made;
                true
            }
            None => false,
        }
    }

    /// What `payment` adds to counter `counter` of campaign `index`: `None` when the
    /// counter's filter leaves it out.
    fn counter_contribution(
        &self,
        index: usize,
        counter: usize,
        payment: &PaymentView<'_>,
        counters: &dyn Counters,
    ) -> Result<Option<Decimal>, EvalError>;
}
