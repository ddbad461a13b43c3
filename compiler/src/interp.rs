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
}

impl Interp {
    /// An interpreter for a lowered program.
    pub fn new(program: Arc<Program>) -> Interp {
        Interp { program }
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
    /// Every (counter, period) read.
    reads: Vec<(u32, MonthKey)>,
}

fn truthy(v: &Value) -> bool {
    matches!(v, Value::Bool(true))
}

fn num(v: &Value) -> Option<Decimal> {
    match v {
        Value::Num(n) => Some(*n),
        _ => None,
    }
}

/// Rounds a non-negative amount of points to a whole number as the campaign says.
pub fn round(points: Decimal, rounding: Rounding) -> Decimal {
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
        Ok(Ctx { campaign, index, payment, counters, tender: None, period: None, reads: Vec::new() })
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
                if truthy(&self.eval(c)?) {
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
        self.reads.push((i, key));
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
        let holds = self.eval(filter).map(|v| truthy(&v));
        self.tender = saved;
        holds
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
            BinaryOp::And => {
                return Ok(Value::Bool(truthy(&self.eval(a)?) && truthy(&self.eval(b)?)));
            }
            BinaryOp::Or => {
                return Ok(Value::Bool(truthy(&self.eval(a)?) || truthy(&self.eval(b)?)));
            }
            BinaryOp::Has => {
                if let Expr::Field(Field::Tags | Field::ItemCategories) = a {
                    let set = if matches!(a, Expr::Field(Field::Tags)) { self.payment.tags } else { self.payment.categories };
                    return Ok(match self.eval(b)? {
                        Value::Sym(s) => Value::Bool(set.contains(&s)),
                        _ => Value::Bool(false),
                    });
                }
            }
            BinaryOp::Intersects => {
                if let (Expr::Field(Field::Tags | Field::ItemCategories), Expr::Const(Value::List(list))) = (a, b) {
                    let set = if matches!(a, Expr::Field(Field::Tags)) { self.payment.tags } else { self.payment.categories };
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

    fn evaluate(&self, index: usize, payment: &PaymentView<'_>, counters: &dyn Counters) -> Result<Outcome> {
        let mut ctx = Ctx::new(&self.program, index, payment, counters)?;
        let campaign = ctx.campaign;
        let mut outcome = Outcome::default();
        let in_period = campaign.start.is_none_or(|s| payment.at >= s) && campaign.end.is_none_or(|e| payment.at < e);
        if !in_period {
            outcome.ineligible = Some(Ineligible::OutsidePeriod);
            return Ok(outcome);
        }
        if payment.currency != campaign.currency {
            outcome.ineligible = Some(Ineligible::Currency);
            return Ok(outcome);
        }
        for (i, condition) in campaign.conditions.iter().enumerate() {
            if !truthy(&ctx.eval(&condition.expr)?) {
                outcome.ineligible = Some(Ineligible::Condition(i));
                outcome.reads = ctx.reads;
                return Ok(outcome);
            }
        }
        award(&mut ctx, outcome)
    }

    fn evaluate_award(&self, index: usize, payment: &PaymentView<'_>, counters: &dyn Counters) -> Result<Outcome> {
        let mut ctx = Ctx::new(&self.program, index, payment, counters)?;
        award(&mut ctx, Outcome::default())
    }
    fn condition_results(&self, index: usize, payment: &PaymentView<'_>, counters: &dyn Counters) -> Result<Vec<bool>> {
        let mut ctx = Ctx::new(&self.program, index, payment, counters)?;
        let campaign = ctx.campaign;
        campaign.conditions.iter().map(|c| ctx.eval(&c.expr).map(|v| truthy(&v))).collect()
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
            && !truthy(&ctx.eval(filter)?) {
                return Ok(None);
            }
        Ok(Some(match &c.sum {
            None => Decimal::ONE,
            Some(e) => num(&ctx.eval(e)?).unwrap_or(Decimal::ZERO),
        }))
    }
}

/// The amounts of an award: basis, value, rounding, caps as evaluated, the per-payment cap.
fn award(ctx: &mut Ctx<'_>, mut outcome: Outcome) -> Result<Outcome> {
        let campaign = ctx.campaign;
        let payment = ctx.payment;
        let award = &campaign.award;
        let basis = campaign.bases.get(award.basis).ok_or(EvalError::Internal("no award basis"))?;
        let unit_value = campaign.unit_value;
        let to_points = |money: Decimal| -> Result<Decimal> {
            if unit_value == Decimal::ONE { Ok(money) } else { money.checked_div(unit_value).ok_or(EvalError::Overflow) }
        };
        let mut points = Decimal::ZERO;
        let mut total_basis = Decimal::ZERO;
        if award.is_rate && award.per_tender {
            // Each tender at its own rate, each part rounded: the first N of a basis are
            // taken from the tenders in order.
            let mut room = basis.first;
            for t in 0..payment.tenders.len() {
                if !ctx.tender_counts(basis.tenders.as_ref(), t)? {
                    continue;
                }
                let mut amount = payment.tenders[t].amount;
                if let Some(r) = room.as_mut() {
                    amount = amount.min(*r);
                    *r -= amount;
                }
                total_basis = total_basis.checked_add(amount).ok_or(EvalError::Overflow)?;
                ctx.tender = Some(t);
                let rate = num(&ctx.eval(&award.value)?).unwrap_or(Decimal::ZERO);
                ctx.tender = None;
                let part = to_points(rate.checked_mul(amount).ok_or(EvalError::Overflow)?)?;
                points = points.checked_add(round(part.max(Decimal::ZERO), campaign.rounding)).ok_or(EvalError::Overflow)?;
            }
        } else {
            total_basis = ctx.basis(award.basis)?;
            let value = num(&ctx.eval(&award.value)?).unwrap_or(Decimal::ZERO);
            let raw = if award.is_rate {
                to_points(value.checked_mul(total_basis).ok_or(EvalError::Overflow)?)?
            } else if total_basis > Decimal::ZERO {
                value
            } else {
                Decimal::ZERO
            };
            outcome.value = value;
            points = round(raw.max(Decimal::ZERO), campaign.rounding);
        }
        outcome.basis = total_basis;
        outcome.uncapped = points;
        for cap in &award.caps {
            let limit = num(&ctx.eval(&cap.value)?);
            match cap.scope {
                CapScope::Payment => outcome.caps.payment = limit,
                CapScope::Month => outcome.caps.month = limit,
                CapScope::Period => outcome.caps.period = limit,
            }
        }
        outcome.points = outcome.caps.payment.map_or(points, |cap| points.min(cap.max(Decimal::ZERO)));
        outcome.reads = std::mem::take(&mut ctx.reads);
        Ok(outcome)
}
