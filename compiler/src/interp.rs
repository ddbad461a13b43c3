//! The reference interpreter: the specification every other evaluator must match.
//!
//! Arithmetic is `rust_decimal` throughout, checked: an overflow is
//! [`EvalError::Overflow`], never a wrapped or saturated number. A value that is absent (an
//! attribute never set) makes every comparison false and propagates through arithmetic.

use std::sync::Arc;

use rust_decimal::{Decimal, RoundingStrategy};

use crate::ir::{BinaryOp, Builtin, Campaign, CapScope, Expr, Field, Program, Rounding, Value};
use crate::symbols::Sym;
use crate::time::{self, MonthKey};
use crate::view::{Counters, PaymentView};
use crate::{Evaluator, Ineligible, Outcome};

/// Why evaluation stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EvalError {
    /// A number grew past what an exact decimal holds (about 7.9 × 10^28).
    Overflow,
    /// The program asked for something a checked program never does (a tender field outside
    /// a tender): a bug in the compiler, reported instead of a panic.
    Internal(&'static str),
}

impl std::fmt::Display for EvalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EvalError::Overflow => f.write_str("a number is too large to compute exactly"),
            EvalError::Internal(what) => write!(f, "internal error: {what}"),
        }
    }
}

impl std::error::Error for EvalError {}

type Result<T> = std::result::Result<T, EvalError>;

/// The tree-walking interpreter over the IR.
#[derive(Debug, Clone)]
pub struct Interp {
    program: Arc<Program>,
    /// Per campaign: its conditions and its award basis's tender filter, as flat predicates.
    pub(crate) preds: Vec<(Vec<Pred>, Option<Pred>)>,
    /// Per campaign: the counters its conditions and award can read, see [`counter_refs`].
    refs: Vec<Vec<CounterRef>>,
}

/// A counter a campaign can read, and the `last month` window it is read through, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CounterRef {
    pub counter: u32,
    pub window: Option<i64>,
}

/// Every counter the conditions, the award (value, basis, caps) and, through them, the
/// `let`s and tables of a campaign mention, whichever branch a payment takes. An outcome
/// reports these as its `reads`, so the interpreter and compiled code report alike however
/// they short-circuit; re-rating (S3.9) recomputes an award whose reads a refund changed,
/// and an award that did not depend on a counter recomputes to the same points.
pub(crate) fn counter_refs(c: &Campaign) -> Vec<CounterRef> {
    fn walk(
        c: &Campaign,
        e: &Expr,
        window: Option<i64>,
        seen: &mut Vec<(u32, Option<i64>)>,
        out: &mut Vec<CounterRef>,
    ) {
        match e {
            Expr::Counter(i) => {
                let window = match c.counters.get(*i as usize).map(|k| k.scope) {
                    Some(crate::ir::CounterScope::Month) => window,
                    _ => None,
                };
                let r = CounterRef { counter: *i, window };
                if !out.contains(&r) {
                    out.push(r);
                }
            }
            Expr::Let(i) => {
                if !seen.contains(&(*i, window)) {
                    seen.push((*i, window));
                    if let Some(l) = c.lets.get(*i as usize) {
                        walk(c, l, window, seen, out);
                    }
                }
            }
            Expr::Table(i) => {
                if let Some(t) = c.tables.get(*i as usize) {
                    walk(c, &t.key, window, seen, out);
                    t.rows.iter().for_each(|(_, v)| walk(c, v, window, seen, out));
                    if let Some(d) = &t.default {
                        walk(c, d, window, seen, out);
                    }
                }
            }
            Expr::Basis(i) => {
                if let Some(f) = c.bases.get(*i as usize).and_then(|b| b.tenders.as_ref()) {
                    walk(c, f, window, seen, out);
                }
            }
            Expr::LastMonth(a, w) => walk(c, a, Some(w.offset), seen, out),
            Expr::Not(a) | Expr::Neg(a) | Expr::IsSet(a) => walk(c, a, window, seen, out),
            Expr::Binary(_, a, b) | Expr::Default(a, b) => {
                walk(c, a, window, seen, out);
                walk(c, b, window, seen, out);
            }
            Expr::If(x, a, b) => {
                walk(c, x, window, seen, out);
                walk(c, a, window, seen, out);
                walk(c, b, window, seen, out);
            }
            Expr::List(items) | Expr::Call(_, items) => items.iter().for_each(|i| walk(c, i, window, seen, out)),
            Expr::Const(_) | Expr::Field(_) => {}
        }
    }
    let (mut seen, mut out) = (Vec::new(), Vec::new());
    for cond in &c.conditions {
        walk(c, &cond.expr, None, &mut seen, &mut out);
    }
    walk(c, &Expr::Basis(c.award.basis as u32), None, &mut seen, &mut out);
    walk(c, &c.award.value, None, &mut seen, &mut out);
    for cap in &c.award.caps {
        walk(c, &cap.value, None, &mut seen, &mut out);
    }
    out
}

impl CounterRef {
    /// The period this read is for, for a payment at `local` (whose local time is computed
    /// at most once for several reads).
    pub(crate) fn key_at(&self, c: &Campaign, local: &mut LocalTime) -> MonthKey {
        match c.counters.get(self.counter as usize).map(|k| k.scope) {
            Some(crate::ir::CounterScope::Month) => match self.window {
                Some(offset) => time::count_period_for_local(local.get(), offset),
                None => time::month_of(local.at(), local.zone()),
            },
            _ => 0,
        }
    }
}

/// A payment's local time in a zone, computed when first asked for.
pub(crate) struct LocalTime {
    at: crate::ir::Nanos,
    zone: crate::ir::Zone,
    local: Option<i128>,
}

impl LocalTime {
    pub(crate) fn new(at: crate::ir::Nanos, zone: crate::ir::Zone) -> LocalTime {
        LocalTime { at, zone, local: None }
    }

    pub(crate) fn get(&mut self) -> i128 {
        *self.local.get_or_insert_with(|| time::local_nanos(self.at, self.zone))
    }

    pub(crate) fn zone(&self) -> crate::ir::Zone {
        self.zone
    }

    pub(crate) fn at(&self) -> crate::ir::Nanos {
        self.at
    }
}

impl Interp {
    /// An interpreter for a lowered program.
    pub fn new(program: Arc<Program>) -> Interp {
        let preds = program
            .campaigns
            .iter()
            .map(|c| {
                let conditions = c.conditions.iter().map(|cond| Pred::of(&cond.expr)).collect();
                let filter = c.bases.get(c.award.basis).and_then(|b| b.tenders.as_ref()).map(Pred::of);
                (conditions, filter)
            })
            .collect();
        let refs = program.campaigns.iter().map(counter_refs).collect();
        Interp { program, preds, refs }
    }

    /// Writes the counters campaign `index` reads for a payment at `at` into `reads`, in
    /// order and once each (the same for every evaluator).
    pub(crate) fn reads_into(&self, index: usize, at: crate::ir::Nanos, reads: &mut Vec<(u32, MonthKey)>) {
        let (Some(c), Some(refs)) = (self.program.campaigns.get(index), self.refs.get(index)) else { return };
        if refs.is_empty() {
            return;
        }
        let mut local = LocalTime::new(at, c.zone);
        reads.extend(refs.iter().map(|r| (r.counter, r.key_at(c, &mut local))));
        reads.sort_unstable();
        reads.dedup();
    }
}

/// A field that holds a symbol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SymField {
    Currency,
    Channel,
    Terminal,
    App,
    Merchant(u8),
    Method,
}

/// A condition in a flat form for the common shapes: a symbol field compared with a constant
/// or a constant list, a set holding a constant, the amount compared with a constant. Each
/// evaluates exactly as [`Ctx::test`] does on the expression it came from; anything else is
/// kept as `General`.
#[derive(Clone, Debug)]
pub(crate) enum Pred {
    /// `field == sym` (`want` false for `!=` or under `not`).
    SymIs { field: SymField, sym: Sym, equal: bool, want: bool },
    /// `field in [syms]`.
    SymIn { field: SymField, set: Box<[Sym]>, want: bool },
    /// `account.x == constant` (`equal` false for `!=`): false when the attribute is absent.
    AttrIs { index: u16, value: Value, equal: bool, want: bool },
    /// `merchant.tags has sym` / `items.category has sym`.
    SetHas { categories: bool, sym: Sym, want: bool },
    /// `any item in [syms]` and the like.
    SetAny { categories: bool, set: Box<[Sym]>, want: bool },
    /// Anything else.
    General(Expr),
}

impl Pred {
    pub(crate) fn of(e: &Expr) -> Pred {
        Pred::shaped(e, true).unwrap_or_else(|| Pred::General(e.clone()))
    }

    /// The symbol field a field is, if it is one.
    pub(crate) fn sym_field_of(f: &Field) -> Option<SymField> {
        Pred::sym_field(f)
    }

    fn sym_field(f: &Field) -> Option<SymField> {
        Some(match f {
            Field::Currency => SymField::Currency,
            Field::Channel => SymField::Channel,
            Field::Terminal => SymField::Terminal,
            Field::App => SymField::App,
            Field::Merchant(i) => SymField::Merchant(*i),
            Field::Method => SymField::Method,
            _ => return None,
        })
    }

    fn syms(list: &[Value]) -> Option<Box<[Sym]>> {
        list.iter().map(|v| if let Value::Sym(s) = v { Some(*s) } else { None }).collect()
    }

    fn shaped(e: &Expr, want: bool) -> Option<Pred> {
        match e {
            Expr::Not(inner) if always_bool(inner) => Pred::shaped(inner, !want),
            Expr::Binary(op @ (BinaryOp::Eq | BinaryOp::Ne), a, b) => match (&**a, &**b) {
                (Expr::Field(Field::Attribute(index)), Expr::Const(value)) if *value != Value::Absent => {
                    Some(Pred::AttrIs { index: *index, value: value.clone(), equal: *op == BinaryOp::Eq, want })
                }
                (Expr::Field(f), Expr::Const(Value::Sym(sym))) => {
                    Some(Pred::SymIs { field: Pred::sym_field(f)?, sym: *sym, equal: *op == BinaryOp::Eq, want })
                }
                _ => None,
            },
            Expr::Binary(BinaryOp::In, a, b) => match (&**a, &**b) {
                (Expr::Field(f), Expr::Const(Value::List(list))) => {
                    Some(Pred::SymIn { field: Pred::sym_field(f)?, set: Pred::syms(list)?, want })
                }
                _ => None,
            },
            Expr::Binary(BinaryOp::Has, a, b) => match (&**a, &**b) {
                (Expr::Field(f @ (Field::Tags | Field::ItemCategories)), Expr::Const(Value::Sym(sym))) => {
                    Some(Pred::SetHas { categories: *f == Field::ItemCategories, sym: *sym, want })
                }
                _ => None,
            },
            Expr::Binary(BinaryOp::Intersects, a, b) => match (&**a, &**b) {
                (Expr::Field(f @ (Field::Tags | Field::ItemCategories)), Expr::Const(Value::List(list))) => {
                    Some(Pred::SetAny { categories: *f == Field::ItemCategories, set: Pred::syms(list)?, want })
                }
                _ => None,
            },
            _ => None,
        }
    }
}

/// Evaluation state for one campaign and one payment.
struct Ctx<'a> {
    campaign: &'a Campaign,
    index: usize,
    payment: &'a PaymentView<'a>,
    counters: &'a dyn Counters,
    /// The tender at hand, in a tender clause.
    tender: Option<usize>,
    /// The count period counters are read for, inside `last month`.
    period: Option<MonthKey>,
    /// The award basis's tender filter, precompiled.
    award_filter: Option<&'a Pred>,
}

fn truthy(v: &Value) -> bool {
    matches!(v, Value::Bool(true))
}

/// True for expressions whose value is always `true` or `false`, never absent: `not` of
/// them is the opposite truth.
pub(crate) fn always_bool(e: &Expr) -> bool {
    match e {
        Expr::Binary(op, _, _) => !matches!(op, BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul),
        Expr::Not(a) => always_bool(a),
        Expr::IsSet(_) | Expr::Const(Value::Bool(_)) => true,
        _ => false,
    }
}

fn num(v: &Value) -> Option<Decimal> {
    match v {
        Value::Num(n) => Some(*n),
        _ => None,
    }
}

/// Powers of ten that fit in an `i64`.
const POW10: [i64; 19] = {
    let mut table = [1i64; 19];
    let mut i = 1;
    while i < 19 {
        table[i] = table[i - 1] * 10;
        i += 1;
    }
    table
};

/// Rounds a non-negative amount of points to a whole number as the campaign says.
pub fn round(points: Decimal, rounding: Rounding) -> Decimal {
    // The common case, rounding down a small amount, as one integer division; the same
    // result as `round_dp_with_strategy(0, ToZero)`.
    let scale = points.scale();
    if rounding == Rounding::Floor {
        if scale == 0 {
            return points;
        }
        if let (Ok(mantissa), Some(pow)) = (i64::try_from(points.mantissa()), POW10.get(scale as usize)) {
            return Decimal::from(mantissa / pow);
        }
    }
    let strategy = match rounding {
        Rounding::Floor => RoundingStrategy::ToZero,
        Rounding::Ceil => RoundingStrategy::AwayFromZero,
        Rounding::HalfUp => RoundingStrategy::MidpointAwayFromZero,
        Rounding::HalfEven => RoundingStrategy::MidpointNearestEven,
    };
    points.round_dp_with_strategy(0, strategy)
}

impl<'a> Ctx<'a> {
    fn new(
        program: &'a Program,
        index: usize,
        payment: &'a PaymentView<'a>,
        counters: &'a dyn Counters,
    ) -> Result<Ctx<'a>> {
        let campaign = program.campaigns.get(index).ok_or(EvalError::Internal("no such campaign"))?;
        Ok(Ctx { campaign, index, payment, counters, tender: None, period: None, award_filter: None })
    }

    fn field(&self, f: Field) -> Result<Value> {
        let p = self.payment;
        Ok(match f {
            Field::Amount => Value::Num(p.amount),
            Field::Currency => Value::Sym(p.currency),
            Field::Channel => Value::Sym(p.channel),
            Field::Terminal => Value::Sym(p.terminal),
            Field::App => Value::Sym(p.app),
            Field::At => Value::Time(p.at),
            Field::Weekday => {
                let day = time::weekday(p.at, self.campaign.zone);
                Value::Sym(Sym(day))
            }
            Field::Hour => Value::Num(Decimal::from(time::hour(p.at, self.campaign.zone))),
            Field::Merchant(i) => p.merchant.get(i as usize).copied().flatten().map_or(Value::Absent, Value::Sym),
            Field::Tags => Value::List(p.tags.iter().map(|s| Value::Sym(*s)).collect()),
            Field::ItemCategories => Value::List(p.categories.iter().map(|s| Value::Sym(*s)).collect()),
            Field::Method | Field::Installments => {
                let tender = self
                    .tender
                    .and_then(|t| p.tenders.get(t))
                    .ok_or(EvalError::Internal("a tender field read outside a tender clause"))?;
                if f == Field::Method { Value::Sym(tender.method) } else { Value::Num(tender.installments) }
            }
            Field::Attribute(i) => p.attributes.get(i as usize).cloned().unwrap_or(Value::Absent),
        })
    }

    fn sym_of(&self, f: SymField) -> Result<Option<Sym>> {
        let p = self.payment;
        Ok(match f {
            SymField::Currency => Some(p.currency),
            SymField::Channel => Some(p.channel),
            SymField::Terminal => Some(p.terminal),
            SymField::App => Some(p.app),
            SymField::Merchant(i) => p.merchant.get(i as usize).copied().flatten(),
            SymField::Method => Some(
                self.tender
                    .and_then(|t| p.tenders.get(t))
                    .ok_or(EvalError::Internal("a tender field read outside a tender clause"))?
                    .method,
            ),
        })
    }

    /// Whether a predicate holds: the same as `test` on the expression it came from.
    fn holds(&mut self, pred: &Pred) -> Result<bool> {
        Ok(match pred {
            Pred::SymIs { field, sym, equal, want } => {
                self.sym_of(*field)?.is_some_and(|v| (v == *sym) == *equal) == *want
            }
            Pred::SymIn { field, set, want } => self.sym_of(*field)?.is_some_and(|v| set.contains(&v)) == *want,
            Pred::AttrIs { index, value, equal: eq, want } => {
                let have = self.payment.attributes.get(*index as usize).unwrap_or(&Value::Absent);
                (*have != Value::Absent && equal(have, value) == *eq) == *want
            }
            Pred::SetHas { categories, sym, want } => {
                let set = if *categories { self.payment.categories } else { self.payment.tags };
                set.contains(sym) == *want
            }
            Pred::SetAny { categories, set, want } => {
                let have = if *categories { self.payment.categories } else { self.payment.tags };
                set.iter().any(|s| have.contains(s)) == *want
            }
            Pred::General(e) => self.test(e)?,
        })
    }

    /// A number-valued expression; constants are read in place.
    #[inline]
    fn number(&mut self, e: &Expr) -> Result<Option<Decimal>> {
        match e {
            Expr::Const(Value::Num(n)) => Ok(Some(*n)),
            _ => Ok(num(&self.eval(e)?)),
        }
    }

    /// The symbol a field holds: `None` when the field is not a symbol field (the caller
    /// falls back to [`Ctx::eval`]), `Some(None)` when it is absent.
    fn field_sym(&self, f: Field) -> Result<Option<Option<Sym>>> {
        let p = self.payment;
        Ok(Some(match f {
            Field::Currency => Some(p.currency),
            Field::Channel => Some(p.channel),
            Field::Terminal => Some(p.terminal),
            Field::App => Some(p.app),
            Field::Merchant(i) => p.merchant.get(i as usize).copied().flatten(),
            Field::Method => Some(
                self.tender
                    .and_then(|t| p.tenders.get(t))
                    .ok_or(EvalError::Internal("a tender field read outside a tender clause"))?
                    .method,
            ),
            _ => return Ok(None),
        }))
    }

    /// Whether a condition holds: exactly `truthy(eval(e))`, computed without building values
    /// for the common shapes (a field compared with a constant, a constant list).
    fn test(&mut self, e: &Expr) -> Result<bool> {
        match e {
            Expr::Binary(BinaryOp::And, a, b) => Ok(self.test(a)? && self.test(b)?),
            Expr::Binary(BinaryOp::Or, a, b) => Ok(self.test(a)? || self.test(b)?),
            Expr::Not(a) if always_bool(a) => Ok(!self.test(a)?),
            Expr::Const(v) => Ok(truthy(v)),
            Expr::Binary(op @ (BinaryOp::Eq | BinaryOp::Ne), a, b) => {
                match (&**a, &**b) {
                    (Expr::Field(Field::Attribute(i)), Expr::Const(c)) => {
                        let value = self.payment.attributes.get(*i as usize).unwrap_or(&Value::Absent);
                        return Ok(present(value, c) && equal(value, c) == (*op == BinaryOp::Eq));
                    }
                    (Expr::Field(f), Expr::Const(Value::Sym(s))) => {
                        if let Some(value) = self.field_sym(*f)? {
                            return Ok(value.is_some_and(|v| (v == *s) == (*op == BinaryOp::Eq)));
                        }
                    }
                    _ => {}
                }
                Ok(truthy(&self.binary(*op, a, b)?))
            }
            Expr::Binary(op @ (BinaryOp::Has | BinaryOp::Intersects), a, b) => {
                if let Expr::Field(f @ (Field::Tags | Field::ItemCategories)) = &**a {
                    let set = if *f == Field::Tags { self.payment.tags } else { self.payment.categories };
                    match (op, &**b) {
                        (BinaryOp::Has, Expr::Const(Value::Sym(s))) => return Ok(set.contains(s)),
                        (BinaryOp::Intersects, Expr::Const(Value::List(list))) => {
                            return Ok(list.iter().any(|v| matches!(v, Value::Sym(s) if set.contains(s))));
                        }
                        _ => {}
                    }
                }
                Ok(truthy(&self.binary(*op, a, b)?))
            }
            Expr::Binary(BinaryOp::In, a, b) => {
                if let (Expr::Field(f), Expr::Const(Value::List(items))) = (&**a, &**b)
                    && let Some(value) = self.field_sym(*f)?
                {
                    return Ok(value.is_some_and(|v| items.contains(&Value::Sym(v))));
                }
                Ok(truthy(&self.binary(BinaryOp::In, a, b)?))
            }
            Expr::Binary(op @ (BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge), a, b) => {
                if let (Expr::Field(Field::Amount), Expr::Const(Value::Num(limit))) = (&**a, &**b) {
                    let amount = self.payment.amount;
                    return Ok(match op {
                        BinaryOp::Lt => amount < *limit,
                        BinaryOp::Le => amount <= *limit,
                        BinaryOp::Gt => amount > *limit,
                        _ => amount >= *limit,
                    });
                }
                Ok(truthy(&self.binary(*op, a, b)?))
            }
            _ => Ok(truthy(&self.eval(e)?)),
        }
    }

    fn eval(&mut self, e: &Expr) -> Result<Value> {
        Ok(match e {
            Expr::Const(v) => v.clone(),
            Expr::Field(f) => self.field(*f)?,
            Expr::Let(i) => {
                let campaign = self.campaign;
                let value = campaign.lets.get(*i as usize).ok_or(EvalError::Internal("no such let"))?;
                self.eval(value)?
            }
            Expr::Table(i) => self.table(*i as usize)?,
            Expr::Basis(i) => Value::Num(self.basis(*i as usize)?),
            Expr::Counter(i) => Value::Num(self.counter(*i)),
            Expr::Not(a) => match self.eval(a)? {
                Value::Bool(b) => Value::Bool(!b),
                _ => Value::Absent,
            },
            Expr::Neg(a) => match self.eval(a)? {
                Value::Num(n) => Value::Num(-n),
                Value::Duration(d) => Value::Duration(d.checked_neg().ok_or(EvalError::Overflow)?),
                _ => Value::Absent,
            },
            Expr::Binary(op, a, b) => self.binary(*op, a, b)?,
            Expr::If(c, a, b) => {
                if self.test(c)? {
                    self.eval(a)?
                } else {
                    self.eval(b)?
                }
            }
            Expr::LastMonth(a, window) => {
                let key = time::count_period_for_window(self.payment.at, self.campaign.zone, window.offset);
                let saved = self.period.replace(key);
                let value = self.eval(a);
                self.period = saved;
                value?
            }
            Expr::Default(a, b) => match self.eval(a)? {
                Value::Absent => self.eval(b)?,
                v => v,
            },
            Expr::IsSet(a) => Value::Bool(self.eval(a)? != Value::Absent),
            Expr::List(items) => Value::List(items.iter().map(|i| self.eval(i)).collect::<Result<_>>()?),
            Expr::Call(f, args) => self.call(*f, args)?,
        })
    }

    fn counter(&mut self, i: u32) -> Decimal {
        let campaign = self.campaign;
        let Some(counter) = campaign.counters.get(i as usize) else { return Decimal::ZERO };
        let key = match counter.scope {
            crate::ir::CounterScope::Month => {
                self.period.unwrap_or_else(|| time::month_of(self.payment.at, campaign.zone))
            }
            crate::ir::CounterScope::Period => 0,
        };
        self.counters.counter(self.index, i as usize, key)
    }

    fn table(&mut self, i: usize) -> Result<Value> {
        let campaign = self.campaign;
        let table = campaign.tables.get(i).ok_or(EvalError::Internal("no such table"))?;
        let key = self.eval(&table.key)?;
        if key != Value::Absent {
            for (keys, value) in &table.rows {
                if keys.iter().any(|k| equal(k, &key)) {
                    return self.eval(value);
                }
            }
        }
        match &table.default {
            Some(d) => self.eval(d),
            None => Ok(Value::Absent),
        }
    }

    /// Whether tender `t` is part of basis `i`.
    fn tender_counts(&mut self, filter: Option<&Expr>, t: usize) -> Result<bool> {
        let Some(filter) = filter else { return Ok(true) };
        let saved = self.tender.replace(t);
        let holds = self.test(filter);
        self.tender = saved;
        holds
    }

    /// Whether tender `t` is part of the award's basis, through the precompiled filter.
    fn award_tender_counts(&mut self, basis: &crate::ir::Basis, t: usize) -> Result<bool> {
        match self.award_filter {
            Some(pred) => {
                let saved = self.tender.replace(t);
                let holds = self.holds(pred);
                self.tender = saved;
                holds
            }
            None => self.tender_counts(basis.tenders.as_ref(), t),
        }
    }

    /// The money of the award's basis for this payment.
    fn award_basis(&mut self, basis: &crate::ir::Basis) -> Result<Decimal> {
        let mut total = Decimal::ZERO;
        for (t, tender) in self.payment.tenders.iter().enumerate() {
            if self.award_tender_counts(basis, t)? {
                total = total.checked_add(tender.amount).ok_or(EvalError::Overflow)?;
            }
        }
        Ok(basis.first.map_or(total, |first| total.min(first)))
    }

    /// The money of basis `i` for this payment.
    fn basis(&mut self, i: usize) -> Result<Decimal> {
        let campaign = self.campaign;
        let basis = campaign.bases.get(i).ok_or(EvalError::Internal("no such basis"))?;
        let mut total = Decimal::ZERO;
        for (t, tender) in self.payment.tenders.iter().enumerate() {
            if self.tender_counts(basis.tenders.as_ref(), t)? {
                total = total.checked_add(tender.amount).ok_or(EvalError::Overflow)?;
            }
        }
        Ok(basis.first.map_or(total, |first| total.min(first)))
    }

    fn call(&mut self, f: Builtin, args: &[Expr]) -> Result<Value> {
        let values = args.iter().map(|a| self.eval(a)).collect::<Result<Vec<_>>>()?;
        Ok(match (f, values.as_slice()) {
            (Builtin::MonthStart, [Value::Time(t)]) => Value::Time(time::month_start(*t, self.campaign.zone)),
            (Builtin::Min | Builtin::Max, [a, b]) => {
                let a_first = match (a, b) {
                    (Value::Num(x), Value::Num(y)) => x <= y,
                    (Value::Time(x), Value::Time(y)) => x <= y,
                    (Value::Duration(x), Value::Duration(y)) => x <= y,
                    _ => return Ok(Value::Absent),
                };
                if a_first == (f == Builtin::Min) { a.clone() } else { b.clone() }
            }
            _ => Value::Absent,
        })
    }

    fn binary(&mut self, op: BinaryOp, a: &Expr, b: &Expr) -> Result<Value> {
        match op {
            BinaryOp::And => return Ok(Value::Bool(self.test(a)? && self.test(b)?)),
            BinaryOp::Or => return Ok(Value::Bool(self.test(a)? || self.test(b)?)),
            BinaryOp::Has => {
                if let Expr::Field(Field::Tags | Field::ItemCategories) = a {
                    let set =
                        if matches!(a, Expr::Field(Field::Tags)) { self.payment.tags } else { self.payment.categories };
                    return Ok(match self.eval(b)? {
                        Value::Sym(s) => Value::Bool(set.contains(&s)),
                        _ => Value::Bool(false),
                    });
                }
            }
            BinaryOp::In => {
                // A constant list is read in place, never copied.
                if let Expr::Const(Value::List(items)) = b {
                    let x = self.eval(a)?;
                    return Ok(Value::Bool(x != Value::Absent && items.iter().any(|i| equal(i, &x))));
                }
            }
            BinaryOp::Intersects => {
                if let (Expr::Field(Field::Tags | Field::ItemCategories), Expr::Const(Value::List(list))) = (a, b) {
                    let set =
                        if matches!(a, Expr::Field(Field::Tags)) { self.payment.tags } else { self.payment.categories };
                    return Ok(Value::Bool(list.iter().any(|v| matches!(v, Value::Sym(s) if set.contains(s)))));
                }
            }
            _ => {}
        }
        let (x, y) = (self.eval(a)?, self.eval(b)?);
        Ok(match op {
            BinaryOp::Eq => Value::Bool(present(&x, &y) && equal(&x, &y)),
            BinaryOp::Ne => Value::Bool(present(&x, &y) && !equal(&x, &y)),
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => match order(&x, &y) {
                Some(ordering) => Value::Bool(match op {
                    BinaryOp::Lt => ordering.is_lt(),
                    BinaryOp::Le => ordering.is_le(),
                    BinaryOp::Gt => ordering.is_gt(),
                    _ => ordering.is_ge(),
                }),
                None => Value::Bool(false),
            },
            BinaryOp::In => match &y {
                Value::List(items) => Value::Bool(x != Value::Absent && items.iter().any(|i| equal(i, &x))),
                _ => Value::Bool(false),
            },
            BinaryOp::Has => match &x {
                Value::List(items) => Value::Bool(y != Value::Absent && items.iter().any(|i| equal(i, &y))),
                _ => Value::Bool(false),
            },
            BinaryOp::Intersects => match (&x, &y) {
                (Value::List(xs), Value::List(ys)) => Value::Bool(xs.iter().any(|a| ys.iter().any(|b| equal(a, b)))),
                _ => Value::Bool(false),
            },
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul => arithmetic(op, &x, &y)?,
            BinaryOp::And | BinaryOp::Or => Value::Bool(false),
        })
    }
}

fn present(x: &Value, y: &Value) -> bool {
    *x != Value::Absent && *y != Value::Absent
}

/// Equality of two present values (numbers by value: `2.50` equals `2.5`).
fn equal(x: &Value, y: &Value) -> bool {
    match (x, y) {
        (Value::Num(a), Value::Num(b)) => a == b,
        _ => x == y,
    }
}

fn order(x: &Value, y: &Value) -> Option<std::cmp::Ordering> {
    match (x, y) {
        (Value::Num(a), Value::Num(b)) => Some(a.cmp(b)),
        (Value::Time(a), Value::Time(b)) => Some(a.cmp(b)),
        (Value::Duration(a), Value::Duration(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

fn arithmetic(op: BinaryOp, x: &Value, y: &Value) -> Result<Value> {
    let overflow = EvalError::Overflow;
    Ok(match (op, x, y) {
        (BinaryOp::Add, Value::Num(a), Value::Num(b)) => Value::Num(a.checked_add(*b).ok_or(overflow)?),
        (BinaryOp::Sub, Value::Num(a), Value::Num(b)) => Value::Num(a.checked_sub(*b).ok_or(overflow)?),
        (BinaryOp::Mul, Value::Num(a), Value::Num(b)) => Value::Num(a.checked_mul(*b).ok_or(overflow)?),
        (BinaryOp::Add, Value::Time(t), Value::Duration(d)) => Value::Time(t.checked_add(*d).ok_or(overflow)?),
        (BinaryOp::Sub, Value::Time(t), Value::Duration(d)) => Value::Time(t.checked_sub(*d).ok_or(overflow)?),
        (BinaryOp::Add, Value::Duration(a), Value::Duration(b)) => Value::Duration(a.checked_add(*b).ok_or(overflow)?),
        (BinaryOp::Sub, Value::Duration(a), Value::Duration(b)) => Value::Duration(a.checked_sub(*b).ok_or(overflow)?),
        _ => Value::Absent,
    })
}

impl Evaluator for Interp {
    fn program(&self) -> &Arc<Program> {
        &self.program
    }

    fn evaluate_into(
        &self,
        index: usize,
        payment: &PaymentView<'_>,
        counters: &dyn Counters,
        outcome: &mut Outcome,
    ) -> Result<()> {
        let mut ctx = Ctx::new(&self.program, index, payment, counters)?;
        let campaign = ctx.campaign;
        outcome.reset();
        let in_period = campaign.start.is_none_or(|s| payment.at >= s) && campaign.end.is_none_or(|e| payment.at < e);
        if !in_period {
            outcome.ineligible = Some(Ineligible::OutsidePeriod);
            return Ok(());
        }
        if payment.currency != campaign.currency {
            outcome.ineligible = Some(Ineligible::Currency);
            return Ok(());
        }
        let (conditions, filter) = self.preds.get(index).ok_or(EvalError::Internal("no such campaign"))?;
        for (i, pred) in conditions.iter().enumerate() {
            if !ctx.holds(pred)? {
                outcome.ineligible = Some(Ineligible::Condition(i));
                return Ok(());
            }
        }
        ctx.award_filter = filter.as_ref();
        award(&mut ctx, outcome)
    }

    fn evaluate_award(&self, index: usize, payment: &PaymentView<'_>, counters: &dyn Counters) -> Result<Outcome> {
        let mut ctx = Ctx::new(&self.program, index, payment, counters)?;
        ctx.award_filter = self.preds.get(index).and_then(|(_, f)| f.as_ref());
        let mut outcome = Outcome::default();
        award(&mut ctx, &mut outcome)?;
        Ok(outcome)
    }
    fn reads(&self, index: usize, at: crate::ir::Nanos) -> Vec<(u32, MonthKey)> {
        let mut reads = Vec::new();
        self.reads_into(index, at, &mut reads);
        reads
    }

    fn condition_results(&self, index: usize, payment: &PaymentView<'_>, counters: &dyn Counters) -> Result<Vec<bool>> {
        let mut ctx = Ctx::new(&self.program, index, payment, counters)?;
        let campaign = ctx.campaign;
        campaign.conditions.iter().map(|c| ctx.test(&c.expr)).collect()
    }

    fn counter_contribution(
        &self,
        index: usize,
        counter: usize,
        payment: &PaymentView<'_>,
        counters: &dyn Counters,
    ) -> Result<Option<Decimal>> {
        let mut ctx = Ctx::new(&self.program, index, payment, counters)?;
        let campaign = ctx.campaign;
        let c = campaign.counters.get(counter).ok_or(EvalError::Internal("no such counter"))?;
        if let Some(filter) = &c.filter
            && !truthy(&ctx.eval(filter)?)
        {
            return Ok(None);
        }
        Ok(Some(match &c.sum {
            None => Decimal::ONE,
            Some(e) => num(&ctx.eval(e)?).unwrap_or(Decimal::ZERO),
        }))
    }
}

/// The amounts of an award: basis, value, rounding, caps as evaluated, the per-payment cap.
fn award(ctx: &mut Ctx<'_>, outcome: &mut Outcome) -> Result<()> {
    let campaign = ctx.campaign;
    let payment = ctx.payment;
    let award = &campaign.award;
    let basis = campaign.bases.get(award.basis).ok_or(EvalError::Internal("no award basis"))?;
    let unit_value = campaign.unit_value;
    let unit_is_one = unit_value == Decimal::ONE;
    let to_points = |money: Decimal| -> Result<Decimal> {
        if unit_is_one { Ok(money) } else { money.checked_div(unit_value).ok_or(EvalError::Overflow) }
    };
    let non_negative = |d: Decimal| if d.is_sign_negative() { Decimal::ZERO } else { d };
    let mut points = Decimal::ZERO;
    let mut total_basis = Decimal::ZERO;
    if award.is_rate && award.per_tender {
        // Each tender at its own rate, each part rounded: the first N of a basis are
        // taken from the tenders in order.
        let mut room = basis.first;
        for t in 0..payment.tenders.len() {
            if !ctx.award_tender_counts(basis, t)? {
                continue;
            }
            let mut amount = payment.tenders[t].amount;
            if let Some(r) = room.as_mut() {
                amount = amount.min(*r);
                *r -= amount;
            }
            total_basis = total_basis.checked_add(amount).ok_or(EvalError::Overflow)?;
            ctx.tender = Some(t);
            let rate = ctx.number(&award.value)?.unwrap_or(Decimal::ZERO);
            ctx.tender = None;
            let part = to_points(rate.checked_mul(amount).ok_or(EvalError::Overflow)?)?;
            points = points.checked_add(round(non_negative(part), campaign.rounding)).ok_or(EvalError::Overflow)?;
        }
    } else {
        total_basis = ctx.award_basis(basis)?;
        let value = ctx.number(&award.value)?.unwrap_or(Decimal::ZERO);
        let raw = if award.is_rate {
            to_points(value.checked_mul(total_basis).ok_or(EvalError::Overflow)?)?
        } else if total_basis > Decimal::ZERO {
            value
        } else {
            Decimal::ZERO
        };
        outcome.value = value;
        points = round(non_negative(raw), campaign.rounding);
    }
    outcome.basis = total_basis;
    outcome.uncapped = points;
    for cap in &award.caps {
        let limit = ctx.number(&cap.value)?;
        match cap.scope {
            CapScope::Payment => outcome.caps.payment = limit,
            CapScope::Month => outcome.caps.month = limit,
            CapScope::Period => outcome.caps.period = limit,
        }
    }
    outcome.points = outcome.caps.payment.map_or(points, |cap| points.min(non_negative(cap)));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicates_agree_with_the_general_test_on_every_seed_condition() {
        let program = crate::test_support::seeds();
        let interp = Interp::new(program.clone());
        let sym = |s: &str| program.symbols.get(s).unwrap_or(Sym(crate::symbols::FIRST_UNNAMED));
        let (mut shaped, mut compared) = (0, 0);
        for (tag, category, channel, method) in [
            ("ama-toku-4", "food", "in_store", "paypay_balance"),
            ("cashless-reduction", "tobacco", "online", "credit_card"),
            ("other", "lottery", "in_store", "au_pay"),
        ] {
            let tags = [sym(tag)];
            let categories = [sym(category)];
            let tenders = [crate::view::TenderView {
                method: sym(method),
                amount: Decimal::ONE_HUNDRED,
                installments: Decimal::ONE,
            }];
            let attributes = vec![Value::Absent; program.attributes.len()];
            let view = PaymentView {
                amount: Decimal::ONE_HUNDRED,
                currency: sym("JPY"),
                channel: sym(channel),
                terminal: sym("pos"),
                app: sym("paypay"),
                at: 0,
                merchant: [None, Some(sym("amazon")), None, Some(sym("small")), None],
                tags: &tags,
                categories: &categories,
                tenders: &tenders,
                attributes: &attributes,
                flat: None,
            };
            for (index, (preds, filter)) in interp.preds.iter().enumerate() {
                let mut ctx =
                    Ctx::new(&program, index, &view, &crate::view::NoCounters).unwrap_or_else(|e| panic!("{e}"));
                let campaign = &program.campaigns[index];
                for (pred, condition) in preds.iter().zip(&campaign.conditions) {
                    shaped += usize::from(!matches!(pred, Pred::General(_)));
                    assert_eq!(ctx.holds(pred), ctx.test(&condition.expr), "{}: {}", campaign.id, condition.text);
                    compared += 1;
                }
                if let (Some(pred), Some(expr)) = (filter, campaign.bases[campaign.award.basis].tenders.as_ref()) {
                    ctx.tender = Some(0);
                    assert_eq!(ctx.holds(pred), ctx.test(expr), "{}: award basis", campaign.id);
                    ctx.tender = None;
                }
            }
        }
        assert!(shaped > 10 && compared > 30, "{shaped} shaped of {compared}");
    }

    #[test]
    fn the_fast_floor_agrees_with_the_general_rounding() {
        let samples = [
            "0",
            "0.5",
            "69.99",
            "70.0",
            "1234567.8912",
            "0.0000000001",
            "99999999999999999.9",
            "12345678901234567890.5",
        ];
        for text in samples {
            let d: Decimal = text.parse().unwrap_or_default();
            assert_eq!(round(d, Rounding::Floor), d.round_dp_with_strategy(0, RoundingStrategy::ToZero), "{text}");
        }
    }
}
