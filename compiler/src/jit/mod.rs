//! The Cranelift JIT: native code for the per-payment work of a campaign, identical to the
//! interpreter on every input.
//!
//! This module is the simple code generator, for the common shape: conditions that are
//! precompiled predicates (a symbol field against constants, a set holding constants, a yes/no
//! attribute, amount and attribute comparisons), a basis of tenders picked by such a
//! predicate, a rate that is a constant, a table by a symbol field or number attribute, or an
//! `if` between constants, floor rounding, whole-point caps, and points worth one unit of the
//! currency. `general` lowers the rest of the language (`let`s, counters, per-tender rates,
//! every rounding). What neither lowers is evaluated by the interpreter, which the JIT holds;
//! so is any payment whose amounts are not exact at four decimal places or above 2^50 × 10^-4
//! a tender, and any payment whose arithmetic would overflow an `i64`.
//!
//! Payments reach native code as a [`FlatPayment`]: plain data, tags, categories and methods
//! as bit sets (see `SetBits`). Money is a
//! scaled integer (amount × 10⁴): sums and products are overflow-checked, and the floor of
//! `basis × rate` is one exact integer division, so results equal the interpreter's
//! `rust_decimal` results bit for bit.
#![expect(
    unsafe_code,
    reason = "the JIT boundary: calling native code this module generated; each use has a SAFETY comment"
)]

use std::mem::offset_of;
use std::sync::Arc;

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{AbiParam, InstBuilder, MemFlagsData, Value as Reg, types};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{Linkage, Module, default_libcall_names};
use rust_decimal::Decimal;

use crate::interp::{Interp, Pred, SymField, always_bool};
use crate::ir::{BinaryOp, Campaign, CapScope, Expr, Field, Program, Rounding, Value};
use crate::symbols::Sym;
use crate::view::{Counters, NoCounters, PaymentView};
use crate::{CapValues, EvalError, Evaluator, Ineligible, Outcome};

mod general;

/// Money in compiled code: the amount times 10^SCALE, as an `i64`.
pub const SCALE: u32 = 4;

/// The symbol of an absent merchant field in a [`FlatPayment`].
pub const ABSENT: u32 = u32::MAX;

/// One tender as compiled code reads it.
#[derive(Clone, Copy, Debug)]
#[repr(C)]
pub struct FlatTender {
    /// The amount left, times 10^[`SCALE`].
    pub amount: i64,
    /// The method's symbol.
    pub method: u32,
    /// Number of installments.
    pub installments: u32,
    /// The method as a bit (see `SetBits`): tests of the method against constants are one
    /// bit test.
    pub method_bit: u64,
}

/// One payment as compiled code reads it: one block of fixed size, no pointers, symbols as
/// integers, the merchant's tags and the items' categories as bit sets. Made only by
/// [`Jit::flatten`] (the bits are that JIT's), so its counts are within its arrays; being
/// plain data it can be kept, copied and laid out in arrays by callers.
#[derive(Clone, Copy, Debug)]
#[repr(C)]
pub struct FlatPayment {
    /// Nanoseconds since the epoch.
    pub(crate) at: i64,
    /// What is left of the payment, × 10^[`SCALE`].
    pub(crate) amount: i64,
    /// The tags the campaigns ask about, one bit each (see [`SetBits`]).
    pub(crate) tag_bits: u64,
    /// The item categories the campaigns ask about, one bit each.
    pub(crate) category_bits: u64,
    /// Currency symbol.
    pub(crate) currency: u32,
    /// Channel symbol.
    pub(crate) channel: u32,
    /// Terminal symbol.
    pub(crate) terminal: u32,
    /// App symbol.
    pub(crate) app: u32,
    /// `merchant.id` ... `merchant.category`, [`ABSENT`] when absent.
    pub(crate) merchant: [u32; 5],
    /// Number of tenders (at most [`MAX_TENDERS`]).
    pub(crate) n_tenders: u32,
    /// The JIT whose bits these are ([`Jit::flatten`]).
    pub(crate) origin: u64,
    /// The first `n_tenders` are the payment's.
    pub(crate) tenders: [FlatTender; MAX_TENDERS],
    /// One byte per attribute: 0 absent, 1 false, 2 true, 3 text, 4 a time, 5 a number.
    pub(crate) attributes: [u8; MAX_ATTRIBUTES],
    /// One value per attribute: nanoseconds for a time, the number × 10^[`SCALE`].
    pub(crate) attribute_values: [i64; MAX_ATTRIBUTES],
    /// Every attribute holds a value of its declared kind, or none ([`Jit::attributes_fit`]):
    /// checked once when flattening, for every campaign the payment meets.
    pub(crate) attributes_fit: bool,
}

impl Default for FlatPayment {
    /// An empty form (no JIT made it), for [`Evaluator::flatten_into`] to write over.
    fn default() -> FlatPayment {
        FlatPayment::EMPTY
    }
}

impl FlatPayment {
    /// Nothing yet: what [`flat_form`] writes over (no JIT's origin is 0).
    const EMPTY: FlatPayment = FlatPayment {
        at: 0,
        amount: 0,
        tag_bits: 0,
        category_bits: 0,
        currency: ABSENT,
        channel: ABSENT,
        terminal: ABSENT,
        app: ABSENT,
        merchant: [ABSENT; 5],
        n_tenders: 0,
        origin: 0,
        tenders: [FlatTender { amount: 0, method: ABSENT, installments: 0, method_bit: 0 }; MAX_TENDERS],
        attributes: [ATTR_ABSENT; MAX_ATTRIBUTES],
        attribute_values: [0; MAX_ATTRIBUTES],
        attributes_fit: false,
    };
}

/// Which bit of [`FlatPayment::tag_bits`] (or `category_bits`) stands for which symbol. Bits
/// are handed out as code is generated, to the symbols set tests name; the last bit,
/// [`OVERFLOW_BIT`], says that the payment holds a named symbol that got no bit of its own
/// (more than 63 were named), and tests of such symbols let the interpreter answer then.
#[derive(Clone, Debug, Default)]
pub(crate) struct SetBits {
    /// Per [`SetKind`], by symbol: 0 not named by any test, 1 + bit, or [`NO_BIT`].
    tables: [Vec<u8>; 3],
}

/// Which of [`SetBits`]' tables (its index there).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SetKind {
    Tags = 0,
    Categories = 1,
    Methods = 2,
}

/// The most a tender's amount may be (× 10^[`SCALE`]) for compiled code, so that the sum of
/// [`MAX_TENDERS`] of them cannot overflow and neither can its product with a mantissa below
/// [`SAFE_FACTOR`]: larger payments go to the interpreter.
const MAX_TENDER_AMOUNT: i64 = 1 << 50;
/// See [`MAX_TENDER_AMOUNT`]: 2^50 × 8 × 2^9 < 2^63.
const SAFE_FACTOR: i64 = 1 << 9;

/// The bit a payment sets when it holds a named symbol without a bit of its own.
pub(crate) const OVERFLOW_BIT: u32 = 63;
/// In [`SetBits`]: named, but no bit was left.
const NO_BIT: u8 = u8::MAX;

impl SetBits {
    /// The bit of `sym` in one of the two sets, handing out the next free one if it has none;
    /// `None` when none is left.
    pub(crate) fn bit(&mut self, kind: SetKind, sym: Sym) -> Option<u32> {
        let table = &mut self.tables[kind as usize];
        let index = sym.0 as usize;
        if index >= crate::symbols::FIRST_UNNAMED as usize {
            // An unnamed symbol is in no campaign's constant: nothing asks for it.
            return None;
        }
        if table.len() <= index {
            table.resize(index + 1, 0);
        }
        let given = table.iter().filter(|b| **b != 0 && **b != NO_BIT).count();
        match table[index] {
            0 if given < OVERFLOW_BIT as usize => {
                table[index] = u8::try_from(given + 1).ok()?;
                Some(u32::try_from(given).ok()?)
            }
            0 | NO_BIT => {
                table[index] = NO_BIT;
                None
            }
            b => Some(u32::from(b - 1)),
        }
    }

    /// The bit set of a payment's symbols.
    fn of(&self, kind: SetKind, syms: &[Sym]) -> u64 {
        let table = &self.tables[kind as usize];
        syms.iter().fold(0, |bits, s| match table.get(s.0 as usize) {
            None | Some(0) => bits,
            Some(&NO_BIT) => bits | 1 << OVERFLOW_BIT,
            Some(b) => bits | 1 << (b - 1),
        })
    }
}

/// What compiled code returns.
const ELIGIBLE: i32 = 0;
const OUTSIDE_PERIOD: i32 = 1;
const CURRENCY: i32 = 2;
/// 3 + i: condition i does not hold.
const CONDITION: i32 = 3;
/// The interpreter must answer (an overflow).
const FALL_BACK: i32 = -1;
/// From a precheck: the checks it makes hold.
const GO_ON: i32 = -2;

type NativeFn = unsafe extern "C" fn(*const FlatPayment, *mut i64) -> i32;

/// The simple code over `n` payments: `(payments, n, out)`.
type ManyFn = unsafe extern "C" fn(*const FlatPayment, i64, *mut Evaluated);

/// What a campaign's native code found for one payment of many ([`Jit::kernel_many`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Evaluated {
    /// As [`Jit::kernel`]'s status.
    pub status: i64,
    /// As [`Jit::kernel`]'s values, written when the status is 0.
    pub values: [i64; 6],
}

/// A status function: `(payment) -> status` (see `generate_status`).
type StatusFn = unsafe extern "C" fn(*const FlatPayment) -> i32;

/// The general code's functions: `(payment, out, slots, fill) -> status` (see `general`);
/// `fill` is handed back to [`fill_slot`] when the code needs a slot.
type GeneralFn = unsafe extern "C" fn(*const FlatPayment, *mut i64, *mut i64, *mut SlotFill<'_>) -> i32;

/// What [`fill_slot`] needs to fill a slot while general code runs: everything
/// `Jit::fill_slot` takes, the slots array as the pointer the code reads it through.
struct SlotFill<'a> {
    jit: &'a Jit,
    index: usize,
    slots: &'a [general::Slot],
    clock: &'a mut Clock,
    counters: &'a dyn Counters,
    values: *mut Slots,
}

/// Every counter's contribution of a campaign compiled into one function.
#[derive(Clone, Debug)]
struct FusedCounters {
    function: GeneralFn,
    /// By counter: the scale of its contribution.
    scales: Vec<u32>,
}

/// The slots a general function reads, and after them the word of bits saying which are
/// filled in: only that word is written before the code runs.
type Slots = [std::mem::MaybeUninit<i64>; general::MAX_SLOTS + 1];

/// Called by general code when it reaches a slot not filled yet: fills slot `slot` (and its
/// bit), a counter from the account as the interpreter would read it at that point. Returns
/// 0 when it did, anything else when the interpreter must answer (a counter not exact at
/// [`SCALE`] places, or a panic, which the interpreter then meets again and reports as it
/// always does: no unwinding crosses the generated code).
extern "C" fn fill_slot(fill: *mut SlotFill<'_>, slot: i64) -> i32 {
    let filled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: general code passes back the pointer `run_general` handed it, to a
        // `SlotFill` on `run_general`'s stack that lives until the code returns; while the
        // code waits for this call nothing else uses it or the slots array it points to, and
        // the code reads the slots only after this returns (a call is a barrier to its loads).
        let fill = unsafe { &mut *fill };
        // SAFETY: as above: the array is `run_general`'s, alive and otherwise unused.
        let values = unsafe { &mut *fill.values };
        let slot = usize::try_from(slot).ok()?;
        fill.jit.fill_slot(fill.index, fill.slots, fill.clock, fill.counters, values, slot)
    }));
    match filled {
        Ok(Some(())) => 0,
        _ => 1,
    }
}

/// A campaign's award compiled by the general code generator.
#[derive(Clone, Debug)]
struct GeneralAward {
    function: GeneralFn,
    /// The period, the currency and the leading conditions that need no slots: `GO_ON`
    /// when they hold. Only for campaigns with a condition that needs one.
    precheck: Option<StatusFn>,
    slots: Vec<general::Slot>,
    value_scale: u32,
}

/// A counter's contribution compiled.
#[derive(Clone, Debug)]
struct GeneralCounter {
    function: GeneralFn,
    slots: Vec<general::Slot>,
    scale: u32,
}

/// A compiled campaign.
#[derive(Clone, Copy, Debug)]
struct Compiled {
    function: NativeFn,
    /// The same for many payments in a row.
    many: ManyFn,
    /// The scale of the rate mantissa the code reports.
    rate_scale: u32,
    caps: CapValues,
    /// The scales of the month and period caps the code reports, when it computes them.
    month_cap_scale: Option<u32>,
    period_cap_scale: Option<u32>,
}

/// The code memory of the compiled campaigns.
struct Code(
    #[expect(dead_code, reason = "held only so that the code lives as long as the function pointers")] JITModule,
);

// SAFETY: the module is finalized before `Jit::new` returns and never touched again: it only
// keeps the code memory alive (read and execute only) until the `Jit` is dropped. Calling the
// finalized functions from several threads at once is sound: they read their arguments and
// write only through the `out` pointer each caller passes.
unsafe impl Send for Code {}
// SAFETY: as above; shared references to `Code` give no access to the module at all.
unsafe impl Sync for Code {}

impl std::fmt::Debug for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Code")
    }
}

/// The JIT evaluator.
#[derive(Debug)]
pub struct Jit {
    interp: Interp,
    /// Per campaign: the simple code, when its shape allows ...
    compiled: Vec<Option<Compiled>>,
    /// ... or else the general code, when every part of it lowers.
    general: Vec<Option<GeneralAward>>,
    /// Per campaign and counter: the contribution's code.
    counters: Vec<Vec<Option<GeneralCounter>>>,
    /// Per campaign: every counter's contribution in one function, where that compiles.
    fused: Vec<Option<FusedCounters>>,
    /// The bits of the symbols set tests name, for flattening payments.
    bits: SetBits,
    /// This JIT's number, kept in the payments it flattens: another JIT's bits differ.
    origin: u64,
    /// Must outlive every function pointer in `compiled`: it is dropped with them.
    _code: Code,
}

/// Why native code could not be generated (Cranelift refused the function or the machine).
#[derive(Debug)]
pub struct JitError(pub String);

impl std::fmt::Display for JitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "native code generation failed: {}", self.0)
    }
}

impl std::error::Error for JitError {}

fn jit_error(e: impl std::fmt::Display) -> JitError {
    JitError(e.to_string())
}

/// The shape of a campaign that compiles, checked before any code is generated.
struct Shape<'a> {
    conditions: &'a [Pred],
    filter: Option<&'a Pred>,
    rate: Rate,
    divisor: i64,
    payment_cap: Option<i64>,
    /// Caps known when compiling.
    caps: CapValues,
    /// Month and period caps from tables (with an `else` row): computed per payment.
    month_cap: Option<Rate>,
    period_cap: Option<Rate>,
    /// `first N JPY of`: at most N × 10^[`SCALE`] of the tenders count.
    first: Option<i64>,
}

fn constant(e: &Expr) -> Option<Decimal> {
    match e {
        Expr::Const(Value::Num(n)) => Some(*n),
        _ => None,
    }
}

fn pred_compiles(p: &Pred, in_tender: bool, c: &Campaign) -> bool {
    match p {
        Pred::SymIs { field, .. } | Pred::SymIn { field, .. } => in_tender || *field != SymField::Method,
        Pred::SetHas { .. } | Pred::SetAny { .. } => true,
        Pred::AttrIs { value, .. } => matches!(value, Value::Bool(_)),
        Pred::General(e) => expr_compiles(e, in_tender, c),
    }
}

/// An integer constant that fits a `u32`.
fn small_whole(e: &Expr) -> Option<u32> {
    let n = constant(e)?;
    if !n.fract().is_zero() || n.is_sign_negative() {
        return None;
    }
    u32::try_from(n.trunc().mantissa() / 10i128.pow(n.trunc().scale())).ok()
}

/// Whether a yes/no expression compiles (see `Gen::cond`, which mirrors this).
fn expr_compiles(e: &Expr, in_tender: bool, c: &Campaign) -> bool {
    match e {
        Expr::Binary(BinaryOp::And | BinaryOp::Or, a, b) => {
            expr_compiles(a, in_tender, c) && expr_compiles(b, in_tender, c)
        }
        Expr::Not(a) => always_bool(a) && expr_compiles(a, in_tender, c),
        Expr::Const(Value::Bool(_)) => true,
        Expr::Let(i) => c.lets.get(*i as usize).is_some_and(|l| expr_compiles(l, in_tender, c)),
        Expr::Binary(BinaryOp::Eq | BinaryOp::Ne, a, b) if matches!(**a, Expr::Field(Field::Installments)) => {
            in_tender && small_whole(b).is_some()
        }
        Expr::Binary(op, a, b) if comparison(*op).is_some() && matches!(**a, Expr::Field(Field::Amount)) => {
            constant(b).and_then(scaled).is_some()
        }
        Expr::Binary(op, a, b) if ordering_or_equal(*op) && matches!(**a, Expr::Field(Field::Attribute(_))) => {
            attribute_constant(b).is_some()
        }
        _ => match Pred::of(e) {
            Pred::General(_) => false,
            p => pred_compiles(&p, in_tender, c),
        },
    }
}

/// The low half of a 64-bit word, where the first of two `u32` fields side by side lies.
const LOW_HALF: u64 = u32::MAX as u64;

/// Where a field every payment has lies in the flat payment, `None` for the others.
fn always_present_offset(field: SymField) -> Option<usize> {
    match field {
        SymField::Currency => Some(offset_of!(FlatPayment, currency)),
        SymField::Channel => Some(offset_of!(FlatPayment, channel)),
        SymField::Terminal => Some(offset_of!(FlatPayment, terminal)),
        SymField::App => Some(offset_of!(FlatPayment, app)),
        SymField::Merchant(_) | SymField::Method => None,
    }
}

/// Whether a symbol field always holds a symbol (merchant fields and the tender's method
/// may be absent).
fn always_present(field: SymField) -> bool {
    always_present_offset(field).is_some()
}

/// The condition code of a comparison operator.
fn comparison(op: BinaryOp) -> Option<IntCC> {
    Some(match op {
        BinaryOp::Eq => IntCC::Equal,
        BinaryOp::Ne => IntCC::NotEqual,
        BinaryOp::Lt => IntCC::SignedLessThan,
        BinaryOp::Le => IntCC::SignedLessThanOrEqual,
        BinaryOp::Gt => IntCC::SignedGreaterThan,
        BinaryOp::Ge => IntCC::SignedGreaterThanOrEqual,
        _ => return None,
    })
}

/// Operators whose result is false when the two sides are of different kinds, as the
/// interpreter decides them: `!=` is not one (it is true for a number against a time).
fn ordering_or_equal(op: BinaryOp) -> bool {
    matches!(op, BinaryOp::Eq | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge)
}

/// A time or number constant an attribute is compared with: its kind tag and flat value.
fn attribute_constant(e: &Expr) -> Option<(u8, i64)> {
    match e {
        Expr::Const(Value::Time(t)) => Some((ATTR_TIME, *t)),
        Expr::Const(Value::Num(n)) => Some((ATTR_NUMBER, scaled(*n)?)),
        _ => None,
    }
}

/// What a table is looked up by.
#[derive(Clone, Copy, Debug)]
enum RateKey {
    /// A symbol field of the payment.
    Sym(SymField),
    /// A number attribute of the account.
    Attribute(u16),
}

impl Rate {
    /// The largest mantissa the rate can take.
    fn largest(&self) -> i64 {
        let rows = self.rows.iter().map(|(_, m)| *m);
        let choice = self.choice.iter().flat_map(|(_, a, b)| [*a, *b]);
        rows.chain(choice).fold(self.default, i64::max)
    }

    /// The rate multiplied by a non-negative constant (`1% * multiplier`).
    fn times(mut self, factor: Decimal) -> Option<Rate> {
        let m = i64::try_from(factor.mantissa()).ok()?;
        for (_, mantissa) in &mut self.rows {
            *mantissa = mantissa.checked_mul(m)?;
        }
        self.default = self.default.checked_mul(m)?;
        if let Some((_, a, b)) = &mut self.choice {
            *a = a.checked_mul(m)?;
            *b = b.checked_mul(m)?;
        }
        self.scale = self.scale.checked_add(factor.scale())?;
        (self.scale <= 18).then_some(self)
    }
}

/// A rate the JIT computes: a constant, or a table keyed by a symbol field with constant
/// rows. Mantissas share one scale.
struct Rate {
    /// `if C then A else B` between two constants: (C, A's mantissa, B's mantissa).
    choice: Option<(Expr, i64, i64)>,
    key: Option<RateKey>,
    /// (keys, mantissa) per row, in order: symbols, or numbers × 10^[`SCALE`].
    rows: Vec<(Vec<i64>, i64)>,
    /// The mantissa without a matching row (the `else` row; 0 without one, as the
    /// interpreter reads an absent rate).
    default: i64,
    scale: u32,
}

fn rate_of(e: &Expr, c: &Campaign) -> Option<Rate> {
    let non_negative = |d: Decimal| (!d.is_sign_negative()).then_some(d);
    match e {
        Expr::Const(Value::Num(n)) => {
            let n = non_negative(*n)?;
            Some(Rate {
                choice: None,
                key: None,
                rows: Vec::new(),
                default: i64::try_from(n.mantissa()).ok()?,
                scale: n.scale(),
            })
        }
        Expr::Table(i) => {
            let table = c.tables.get(*i as usize)?;
            let key = match &table.key {
                Expr::Field(Field::Attribute(i)) => RateKey::Attribute(*i),
                Expr::Field(f) => match Pred::sym_field_of(f)? {
                    SymField::Method => return None,
                    field => RateKey::Sym(field),
                },
                _ => return None,
            };
            let mut values: Vec<Decimal> = Vec::new();
            let mut keys: Vec<Vec<i64>> = Vec::new();
            for (row_keys, value) in &table.rows {
                values.push(non_negative(constant(value)?)?);
                keys.push(
                    row_keys
                        .iter()
                        .map(|k| match (key, k) {
                            (RateKey::Sym(_), Value::Sym(s)) => Some(i64::from(s.0)),
                            (RateKey::Attribute(_), Value::Num(n)) => scaled(*n),
                            _ => None,
                        })
                        .collect::<Option<_>>()?,
                );
            }
            let default = match &table.default {
                Some(d) => Some(non_negative(constant(d)?)?),
                None => None,
            };
            let scale = values.iter().chain(default.iter()).map(|d| d.scale()).max().unwrap_or(0);
            let at_scale = |d: Decimal| -> Option<i64> {
                let m = i64::try_from(d.mantissa()).ok()?;
                m.checked_mul(10i64.checked_pow(scale - d.scale())?)
            };
            let rows = keys.into_iter().zip(values).map(|(k, v)| Some((k, at_scale(v)?))).collect::<Option<_>>()?;
            Some(Rate {
                choice: None,
                key: Some(key),
                rows,
                default: match default {
                    Some(d) => at_scale(d)?,
                    None => 0,
                },
                scale,
            })
        }
        Expr::Binary(BinaryOp::Mul, a, b) => match (constant(a), constant(b)) {
            (Some(factor), None) => rate_of(b, c)?.times(non_negative(factor)?),
            (None, Some(factor)) => rate_of(a, c)?.times(non_negative(factor)?),
            _ => None,
        },
        Expr::If(condition, a, b) if expr_compiles(condition, false, c) => {
            let (a, b) = (non_negative(constant(a)?)?, non_negative(constant(b)?)?);
            let scale = a.scale().max(b.scale());
            let at_scale = |d: Decimal| -> Option<i64> {
                i64::try_from(d.mantissa()).ok()?.checked_mul(10i64.checked_pow(scale - d.scale())?)
            };
            Some(Rate {
                choice: Some(((**condition).clone(), at_scale(a)?, at_scale(b)?)),
                key: None,
                rows: Vec::new(),
                default: 0,
                scale,
            })
        }
        _ => None,
    }
}

fn shape<'a>(program: &Program, interp: &'a Interp, index: usize) -> Option<Shape<'a>> {
    let c = program.campaigns.get(index)?;
    let (conditions, filter) = interp.preds.get(index)?;
    let award = &c.award;
    let basis = c.bases.get(award.basis)?;
    let simple = award.is_rate
        && !award.per_tender
        && c.rounding == Rounding::Floor
        && c.unit_value == Decimal::ONE
        && conditions.iter().all(|p| pred_compiles(p, false, c))
        && filter.as_ref().is_none_or(|p| pred_compiles(p, true, c))
        && (basis.tenders.is_none() || filter.is_some());
    if !simple {
        return None;
    }
    let rate = rate_of(&award.value, c)?;
    let divisor = 10i64.checked_pow(SCALE + rate.scale)?;
    let mut caps = CapValues::default();
    let (mut month_cap, mut period_cap) = (None, None);
    for cap in &award.caps {
        let Some(value) = constant(&cap.value) else {
            // A month or period cap from a table with an `else` row is computed by the code;
            // the per-payment cap must be known when compiling.
            let table = rate_of(&cap.value, c).filter(|r| r.key.is_some() && r.choice.is_none())?;
            let has_default =
                matches!(&cap.value, Expr::Table(i) if c.tables.get(*i as usize).is_some_and(|t| t.default.is_some()));
            if !has_default {
                return None;
            }
            match cap.scope {
                CapScope::Payment => return None,
                CapScope::Month => month_cap = Some(table),
                CapScope::Period => period_cap = Some(table),
            }
            continue;
        };
        if !value.fract().is_zero() || value.is_sign_negative() {
            return None;
        }
        match cap.scope {
            CapScope::Payment => caps.payment = Some(value),
            CapScope::Month => caps.month = Some(value),
            CapScope::Period => caps.period = Some(value),
        }
    }
    let first = match basis.first {
        Some(first) => Some(scaled(first)?),
        None => None,
    };
    let payment_cap = match caps.payment {
        Some(cap) => Some(i64::try_from(cap.mantissa()).ok()? / 10i64.checked_pow(cap.scale())?),
        None => None,
    };
    Some(Shape { conditions, filter: filter.as_ref(), rate, divisor, payment_cap, caps, month_cap, period_cap, first })
}

impl Jit {
    /// Compiles every campaign of a lowered program that has a compilable shape.
    pub fn new(program: Arc<Program>) -> Result<Jit, JitError> {
        let interp = Interp::new(program.clone());
        let mut flags = settings::builder();
        flags.set("opt_level", "speed").map_err(jit_error)?;
        flags.set("use_colocated_libcalls", "false").map_err(jit_error)?;
        flags.set("is_pic", "false").map_err(jit_error)?;
        let isa =
            cranelift_native::builder().map_err(jit_error)?.finish(settings::Flags::new(flags)).map_err(jit_error)?;
        let mut module = JITModule::new(JITBuilder::with_isa(isa, default_libcall_names()));
        let kinds: Vec<crate::ir::AttributeKind> = program.attributes.iter().map(|a| a.kind).collect();
        let mut ids = Vec::new();
        let mut general_ids = Vec::new();
        let mut counter_ids = Vec::new();
        let mut fused_ids = Vec::new();
        let mut bits = SetBits::default();
        // This JIT's number, kept in the payments it flattens (the loop over many payments
        // checks it in native code).
        static ORIGINS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let origin = ORIGINS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // Attributes live in a fixed array of the flat payment: a program with more stays
        // with the interpreter entirely.
        let campaigns = if kinds.len() <= MAX_ATTRIBUTES { &program.campaigns[..] } else { &[] };
        for (index, c) in campaigns.iter().enumerate() {
            counter_ids.push(
                (0..c.counters.len())
                    .map(|k| general::generate_counter(&mut module, &mut bits, index, k, c, &kinds))
                    .collect::<Result<Vec<_>, _>>()?,
            );
            fused_ids.push(general::generate_counters(&mut module, &mut bits, index, c, &kinds)?);
            let Some(shape) = shape(&program, &interp, index) else {
                ids.push(None);
                let preds = interp.preds.get(index).ok_or_else(|| JitError("no such campaign".into()))?;
                let award = general::generate_award(&mut module, &mut bits, index, c, preds, &kinds)?;
                // The leading conditions that need no slots, checked before any is filled:
                // the award's code computes every condition before it decides, so a payment
                // a leading one rules out would read the slots of a later one. Needless when
                // every condition is such (slots are filled only when the code gets to one).
                let leading = preds.0.iter().take_while(|p| pred_compiles(p, false, c)).count();
                let precheck = match &award {
                    Some(_) if leading < preds.0.len() => Some(generate_status(
                        &mut module,
                        &mut bits,
                        &format!("precheck_{index}"),
                        c,
                        &preds.0[..leading],
                        GO_ON,
                    )?),
                    _ => None,
                };
                general_ids.push(award.map(|a| (a, precheck)));
                continue;
            };
            general_ids.push(None);
            let id = generate(&mut module, &mut bits, origin, index, c, &shape)?;
            let scales = (shape.month_cap.as_ref().map(|r| r.scale), shape.period_cap.as_ref().map(|r| r.scale));
            ids.push(Some((id, shape.rate.scale, shape.caps, scales)));
        }
        module.finalize_definitions().map_err(jit_error)?;
        let compiled = ids
            .into_iter()
            .map(|entry| {
                entry.map(|((one, many), rate_scale, caps, (month_cap_scale, period_cap_scale))| {
                    let (one, many) = (module.get_finalized_function(one), module.get_finalized_function(many));
                    // SAFETY: `one` is the entry of a function generated by `generate` with the
                    // signature (pointer, pointer) -> i32 in the host's calling convention,
                    // finalized above; `NativeFn` is that signature.
                    let function = unsafe { std::mem::transmute::<*const u8, NativeFn>(one) };
                    // SAFETY: likewise, `many` has the signature (pointer, i64, pointer) -> ()
                    // that `ManyFn` is.
                    let many = unsafe { std::mem::transmute::<*const u8, ManyFn>(many) };
                    Compiled { function, many, rate_scale, caps, month_cap_scale, period_cap_scale }
                })
            })
            .collect();
        let general_fn = |id| {
            let code = module.get_finalized_function(id);
            // SAFETY: `code` is the entry of a function generated by `general` with the
            // signature (pointer, pointer, pointer, pointer) -> i32 in the host's calling convention,
            // finalized above; `GeneralFn` is that signature.
            unsafe { std::mem::transmute::<*const u8, GeneralFn>(code) }
        };
        let general = general_ids
            .into_iter()
            .map(|made| {
                made.map(|(m, precheck): (general::AwardCode, Option<cranelift_module::FuncId>)| GeneralAward {
                    function: general_fn(m.id),
                    precheck: precheck.map(|id| {
                        let code = module.get_finalized_function(id);
                        // SAFETY: `code` is the entry of a function generated by
                        // `generate_status` with the signature (pointer) -> i32 in the host's
                        // calling convention, finalized above; `StatusFn` is that signature.
                        unsafe { std::mem::transmute::<*const u8, StatusFn>(code) }
                    }),
                    slots: m.slots,
                    value_scale: m.value_scale,
                })
            })
            .collect();
        let counters = counter_ids
            .into_iter()
            .map(|per_campaign| {
                per_campaign
                    .into_iter()
                    .map(|made| {
                        made.map(|m: general::CounterCode| GeneralCounter {
                            function: general_fn(m.id),
                            slots: m.slots,
                            scale: m.scale,
                        })
                    })
                    .collect()
            })
            .collect();
        let fused = fused_ids
            .into_iter()
            .map(|made| made.map(|m| FusedCounters { function: general_fn(m.id), scales: m.scales }))
            .collect();
        Ok(Jit { interp, compiled, general, counters, fused, bits, origin, _code: Code(module) })
    }

    /// The form compiled code reads of a payment: made once, it serves every campaign (attach
    /// it as [`PaymentView::flat`]) and can be kept. `None` when an amount is not exact at
    /// [`SCALE`] places or the payment has more than [`MAX_TENDERS`] tenders or
    /// [`MAX_ATTRIBUTES`] attributes (the interpreter answers for it then).
    pub fn flatten(&self, view: &PaymentView<'_>) -> Option<FlatPayment> {
        let mut flat = FlatPayment::EMPTY;
        self.flatten_into(view, &mut flat).map(|()| flat)
    }

    /// [`Jit::flatten`] written over `flat` (the form is a few hundred bytes; returning it
    /// would copy it); `None` (and `flat` not to be read) when the payment does not flatten.
    fn flatten_into(&self, view: &PaymentView<'_>, flat: &mut FlatPayment) -> Option<()> {
        flat.attributes_fit = self.attributes_fit(view);
        flat_form(view, &self.bits, self.origin, flat)
    }

    /// Runs a campaign's native code on a flattened payment: the status (0 eligible, 1
    /// outside the period, 2 currency, 3 + i condition i, -1 the interpreter must answer) and
    /// `[basis × 10^SCALE, points before caps, points, rate mantissa, month cap, period
    /// cap]`. `None` when the campaign does not compile to the simple code or `payment` was
    /// flattened by another JIT. For callers that keep payments flattened.
    pub fn kernel(&self, index: usize, payment: &FlatPayment) -> Option<(i32, [i64; 6])> {
        let compiled = self.compiled.get(index)?.as_ref()?;
        if payment.origin != self.origin {
            return None;
        }
        let mut results = [0i64; 6];
        // SAFETY: a `FlatPayment` is plain data made only by `flat_form`, which keeps
        // `n_tenders` within its tender array; the code reads only the payment's own fields
        // (attributes by index below `MAX_ATTRIBUTES`, which `new` ensures) and writes only
        // `results`' six `i64`s.
        let status = unsafe { (compiled.function)(payment, results.as_mut_ptr()) };
        Some((status, results))
    }

    /// [`Jit::kernel`] over many payments in one call, the loop in native code: `out[i]` is
    /// what campaign `index` found for `payments[i]`; a payment another JIT flattened gets
    /// status -1 (the interpreter must answer it). `None` (and `out` untouched) when the
    /// campaign does not compile to the simple code or the lengths differ. For evaluating
    /// one campaign over many stored payments.
    pub fn kernel_many(&self, index: usize, payments: &[FlatPayment], out: &mut [Evaluated]) -> Option<()> {
        let compiled = self.compiled.get(index)?.as_ref()?;
        if payments.len() != out.len() {
            return None;
        }
        let n = i64::try_from(payments.len()).ok()?;
        // SAFETY: the code reads `n` consecutive `FlatPayment`s from `payments` and writes `n`
        // consecutive `Evaluated`s to `out`, both exactly that long; each payment is plain
        // data from `flat_form` (see `kernel`).
        unsafe { (compiled.many)(payments.as_ptr(), n, out.as_mut_ptr()) };
        Some(())
    }

    /// How many campaigns run as native code.
    pub fn compiled_campaigns(&self) -> usize {
        self.compiled.iter().zip(&self.general).filter(|(c, g)| c.is_some() || g.is_some()).count()
    }

    /// Fills slot `i` of a general function's `slots` (and its bit in `values[MAX_SLOTS]`),
    /// asked for by the code through [`fill_slot`]. `None` when a counter is not exact at
    /// [`SCALE`] places (the interpreter answers then).
    fn fill_slot(
        &self,
        index: usize,
        slots: &[general::Slot],
        clock: &mut Clock,
        counters: &dyn Counters,
        values: &mut Slots,
        i: usize,
    ) -> Option<()> {
        let c = self.interp.program().campaigns.get(index)?;
        let clock = clock.in_zone(c.zone);
        let value = match *slots.get(i)? {
            general::Slot::Counter { counter: k, window } => {
                let key = crate::interp::CounterRef { counter: k, window }.key_at(c, &mut clock.local);
                scaled(counters.counter(index, k as usize, key))?
            }
            general::Slot::MonthStart => {
                #[cfg(test)]
                tests::MONTH_STARTS.set(tests::MONTH_STARTS.get() + 1);
                clock.month_start()
            }
            general::Slot::Weekday => i64::from(clock.weekday_and_hour().0),
            general::Slot::Hour => i64::from(clock.weekday_and_hour().1),
        };
        values.get_mut(i)?.write(value);
        // SAFETY: `run_general` wrote the word of bits before the code ran.
        let filled = unsafe { values[general::MAX_SLOTS].assume_init_mut() };
        *filled |= 1 << i;
        Some(())
    }

    /// Whether every attribute of the payment holds a value of its declared kind, or none:
    /// the general code reads an attribute as its kind says (the runtime never gives it
    /// another; any other caller gets the interpreter).
    fn attributes_fit(&self, payment: &PaymentView<'_>) -> bool {
        use crate::ir::AttributeKind as K;
        let declared = &self.interp.program().attributes;
        payment.attributes.len() == declared.len()
            && payment.attributes.iter().zip(declared).all(|(v, a)| {
                matches!(
                    (v, a.kind),
                    (Value::Absent, _)
                        | (Value::Time(_), K::Time)
                        | (Value::Num(_), K::Number)
                        | (Value::Bool(_), K::Bool)
                        | (Value::Sym(_), K::Text)
                )
            })
    }

    /// A payment ready for native code, or `None` when it does not flatten (the interpreter
    /// answers for it then). `scratch` holds a flat form made here.
    fn ready<'p>(&self, payment: &'p PaymentView<'p>, scratch: &'p mut Option<FlatPayment>) -> Option<Ready<'p>> {
        let flat = match payment.flat {
            Some(flat) if flat.origin == self.origin => flat,
            _ => {
                let flat = scratch.insert(FlatPayment::EMPTY);
                self.flatten_into(payment, flat)?;
                flat
            }
        };
        Some(Ready {
            flat,
            view: payment,
            clock: Clock::new(payment.at, self.interp.program().campaigns.first().map_or(DEFAULT_ZONE, |c| c.zone)),
        })
    }

    /// What campaign `index` gives a payment, into `out`: native code where the campaign
    /// compiled and the payment allows, the interpreter otherwise.
    fn award(
        &self,
        index: usize,
        payment: &mut Ready<'_>,
        counters: &dyn Counters,
        out: &mut Outcome,
    ) -> Result<(), EvalError> {
        // The period is checked by the code (and, for a whole payment, by
        // `evaluate_in_order` before any call).
        let Some(Some(compiled)) = self.compiled.get(index) else {
            if let Some(Some(code)) = self.general.get(index)
                && let Some((status, results)) = self.general_award(index, code, payment, counters)
            {
                out.reset();
                out.ineligible = ineligible(status);
                if status == ELIGIBLE {
                    out.basis = decimal(results[0], SCALE);
                    out.uncapped = Decimal::from(results[1]);
                    out.points = Decimal::from(results[2]);
                    out.value = decimal(results[3], code.value_scale);
                    let bits = results[7];
                    let cap = |bit: i64, value: i64| (bits & bit != 0).then(|| Decimal::from(value));
                    out.caps = CapValues {
                        month: cap(general::HAS_MONTH_CAP, results[4]),
                        period: cap(general::HAS_PERIOD_CAP, results[5]),
                        payment: cap(general::HAS_PAYMENT_CAP, results[6]),
                    };
                }
                return Ok(());
            }
            return self.interp.evaluate_into(index, payment.view, counters, out);
        };
        let mut results = [0i64; 6];
        // SAFETY: as in `kernel`: the flat payment is plain data from `flat_form`, the code
        // reads only its fields and writes only `results`' six `i64`s.
        let status = unsafe { (compiled.function)(payment.flat, results.as_mut_ptr()) };
        if status == FALL_BACK {
            return self.interp.evaluate_into(index, payment.view, counters, out);
        }
        out.reset();
        out.ineligible = ineligible(status);
        if status == ELIGIBLE {
            out.basis = decimal(results[0], SCALE);
            out.value = decimal(results[3], compiled.rate_scale);
            out.uncapped = Decimal::from(results[1]);
            out.points = Decimal::from(results[2]);
            out.caps = compiled.caps;
            if let Some(scale) = compiled.month_cap_scale {
                out.caps.month = Some(decimal(results[4], scale));
            }
            if let Some(scale) = compiled.period_cap_scale {
                out.caps.period = Some(decimal(results[5], scale));
            }
        }
        Ok(())
    }

    /// What a payment adds to counter `counter` of campaign `index`: native code where the
    /// counter compiled and the payment allows, the interpreter otherwise.
    fn contribution(
        &self,
        index: usize,
        counter: usize,
        payment: &mut Ready<'_>,
        counters: &dyn Counters,
    ) -> Result<Option<Decimal>, EvalError> {
        if let Some(Some(code)) = self.counters.get(index).and_then(|c| c.get(counter))
            && let Some((status, [value])) = self.run_general::<1>(index, code.function, &code.slots, payment, counters)
        {
            match status {
                0 => return Ok(None),
                1 => return Ok(Some(decimal(value, code.scale))),
                _ => {}
            }
        }
        self.interp.counter_contribution(index, counter, payment.view, counters)
    }

    /// A general campaign's award on a payment: the status and what the code wrote, or
    /// `None` when the interpreter must answer.
    fn general_award(
        &self,
        index: usize,
        code: &GeneralAward,
        payment: &mut Ready<'_>,
        counters: &dyn Counters,
    ) -> Option<(i32, [i64; 8])> {
        // A payment the period, the currency or a leading condition rules out is answered
        // before any slot (counter) is read, as the interpreter stops there too.
        if let Some(precheck) = code.precheck {
            // SAFETY: the precheck reads only the flat payment's fields (see `kernel`).
            let status = unsafe { precheck(payment.flat) };
            if status > ELIGIBLE {
                return Some((status, [0; 8]));
            }
        }
        let answer = self.run_general::<8>(index, code.function, &code.slots, payment, counters);
        #[cfg(test)]
        if answer.is_some() {
            tests::GENERAL_RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        answer
    }

    /// Runs a campaign's general code on a payment: the status and what it wrote, or `None`
    /// when the interpreter must answer.
    fn run_general<const N: usize>(
        &self,
        index: usize,
        function: GeneralFn,
        slots: &[general::Slot],
        payment: &mut Ready<'_>,
        counters: &dyn Counters,
    ) -> Option<(i32, [i64; N])> {
        if !payment.flat.attributes_fit {
            return None;
        }
        // Each slot is filled only when the code gets to a place that needs it (most payments
        // need none, and the interpreter does not read the counters either): the code calls
        // `fill_slot` for it there. Until then only the word of bits saying which are filled
        // is read, so it alone starts written.
        let mut values = [std::mem::MaybeUninit::<i64>::uninit(); general::MAX_SLOTS + 1];
        values[general::MAX_SLOTS].write(0);
        let mut results = [0i64; N];
        let values: *mut Slots = &mut values;
        let mut fill = SlotFill { jit: self, index, slots, clock: &mut payment.clock, counters, values };
        // SAFETY: the flat payment is plain data made by `flat_form`, which keeps `n_tenders`
        // within its tender array; the code reads only its fields (attributes by index below
        // `MAX_ATTRIBUTES`, which `new` ensures), at most `general::MAX_SLOTS` slots and the
        // bits after them (it fails to generate with more), and writes at most `N` `i64`s:
        // callers pass 8 for an award's code, `MAX_FUSED_COUNTERS` for a campaign's counters
        // together (one each, and `generate_counters` takes no more), 1 for a counter's (see
        // `general`). It hands `fill` only to `fill_slot`, which is sound for it (see there).
        let status = unsafe { function(payment.flat, results.as_mut_ptr(), values.cast::<i64>(), &mut fill) };
        // `FALL_BACK` (or any other negative status, which no function returns): the
        // interpreter answers.
        if status < 0 {
            return None;
        }
        Some((status, results))
    }
}

/// A payment evaluated by a JIT, ready once for all of its campaigns.
struct JitParts<'j, 'p> {
    jit: &'j Jit,
    ready: Ready<'p>,
}

impl crate::PaymentParts for JitParts<'_, '_> {
    fn counter_key(&mut self, campaign: &crate::ir::Campaign, counter: usize) -> crate::time::MonthKey {
        self.ready.clock.counter_key(campaign, counter)
    }

    fn contribution(
        &mut self,
        index: usize,
        counter: usize,
        counters: &dyn Counters,
    ) -> Result<Option<Decimal>, EvalError> {
        self.jit.contribution(index, counter, &mut self.ready, counters)
    }

    fn award(&mut self, index: usize, counters: &dyn Counters, out: &mut Outcome) -> Result<(), EvalError> {
        self.jit.award(index, &mut self.ready, counters, out)
    }

    fn all_contributions(
        &mut self,
        index: usize,
        campaign: &crate::ir::Campaign,
        contributions: &mut Vec<crate::view::Contribution>,
    ) -> bool {
        let Some(Some(code)) = self.jit.fused.get(index) else { return false };
        // The fused counters read no slot, so no counter either.
        let Some((counted, values)) = self.jit.run_general::<{ general::MAX_FUSED_COUNTERS }>(
            index,
            code.function,
            &[],
            &mut self.ready,
            &NoCounters,
        ) else {
            return false;
        };
        for (k, (value, scale)) in values.iter().zip(&code.scales).enumerate() {
            if counted & 1 << k != 0 {
                let key = self.ready.clock.counter_key(campaign, k);
                let value = decimal(*value, *scale);
                contributions.push(crate::view::Contribution { campaign: index, counter: k, key, value });
            }
        }
        true
    }
}

/// The zone a clock starts in when the program has no campaign (it is never read then).
const DEFAULT_ZONE: crate::ir::Zone = crate::ir::Zone::Fixed(match chrono::FixedOffset::east_opt(0) {
    Some(utc) => utc,
    None => panic!("a zero offset is valid"),
});

/// A payment on its way through native code: its flat form and view, and what is worked out
/// once for all of its campaigns.
struct Ready<'p> {
    flat: &'p FlatPayment,
    view: &'p PaymentView<'p>,
    clock: Clock,
}

/// A payment's local time in one zone and the facts general code reads of it, each worked
/// out when first asked for and kept for the payment's other campaigns in that zone (a
/// program's campaigns usually share one).
struct Clock {
    local: crate::interp::LocalTime,
    month: Option<crate::time::MonthKey>,
    month_start: Option<crate::ir::Nanos>,
    weekday_and_hour: Option<(u32, u32)>,
}

impl Clock {
    fn new(at: crate::ir::Nanos, zone: crate::ir::Zone) -> Clock {
        Clock { local: crate::interp::LocalTime::new(at, zone), month: None, month_start: None, weekday_and_hour: None }
    }

    /// [`Campaign::counter_key`](crate::ir::Campaign::counter_key), the month worked out once.
    fn counter_key(&mut self, c: &crate::ir::Campaign, counter: usize) -> crate::time::MonthKey {
        match c.counters.get(counter).map(|k| k.scope) {
            Some(crate::ir::CounterScope::Month) => self.in_zone(c.zone).month(),
            _ => 0,
        }
    }

    fn month(&mut self) -> crate::time::MonthKey {
        let Clock { local, month, .. } = self;
        *month.get_or_insert_with(|| crate::time::month_of(local.at(), local.zone()))
    }

    /// This clock, moved to `zone` (forgetting what it knew) if it was in another.
    fn in_zone(&mut self, zone: crate::ir::Zone) -> &mut Clock {
        if self.local.zone() != zone {
            *self = Clock::new(self.local.at(), zone);
        }
        self
    }

    fn month_start(&mut self) -> crate::ir::Nanos {
        if let Some(start) = self.month_start {
            return start;
        }
        let start = crate::time::month_start_of(self.month(), self.local.zone());
        self.month_start = Some(start);
        start
    }

    fn weekday_and_hour(&mut self) -> (u32, u32) {
        let Clock { local, weekday_and_hour, .. } = self;
        *weekday_and_hour.get_or_insert_with(|| crate::time::weekday_and_hour_of_local(local.get()))
    }
}

/// The kinds of attribute value in [`FlatPayment::attributes`].
const ATTR_ABSENT: u8 = 0;
const ATTR_FALSE: u8 = 1;
const ATTR_TRUE: u8 = 2;
const ATTR_OTHER: u8 = 3;
const ATTR_TIME: u8 = 4;
const ATTR_NUMBER: u8 = 5;

/// Most tenders and attributes a payment may have for compiled code: a payment with more
/// tenders goes to the interpreter, and so does every campaign of a program that declares
/// more attributes.
pub const MAX_TENDERS: usize = 8;
pub const MAX_ATTRIBUTES: usize = 16;

/// `mantissa` × 10^-`scale`: what native code reports, as a decimal. The scales are the
/// code generators': decimals' own (at most 28) or sums the generators check (at most 18, as
/// `general`'s `MAX_SCALE`); a larger one panics here as it did in `Decimal::new`. Built
/// from its parts so that it inlines (`Decimal::new` is a call into rust_decimal, made for
/// every outcome).
#[inline]
fn decimal(mantissa: i64, scale: u32) -> Decimal {
    let magnitude = mantissa.unsigned_abs();
    let (lo, mid) = ((magnitude & 0xFFFF_FFFF) as u32, (magnitude >> 32) as u32);
    Decimal::from_parts(lo, mid, 0, mantissa < 0, scale)
}

/// An amount times 10^[`SCALE`] as an `i64`, when that is exact and fits.
fn scaled(amount: Decimal) -> Option<i64> {
    let scale = amount.scale();
    let shift = SCALE.checked_sub(scale)?;
    let mantissa = i64::try_from(amount.mantissa()).ok()?;
    mantissa.checked_mul(10i64.checked_pow(shift)?)
}

/// The flat form of a payment with `bits`' sets, written over `flat`; `None` (and `flat` not
/// to be read) when an amount is not exact at [`SCALE`] places or a tender's is over
/// [`MAX_TENDER_AMOUNT`], or the payment has more tenders or attributes than fit. Written in
/// place: the form is a few hundred bytes, and returning it would copy it.
fn flat_form(view: &PaymentView<'_>, bits: &SetBits, origin: u64, flat: &mut FlatPayment) -> Option<()> {
    // Nobody's until written whole: a form reused as scratch, left half written by a `None`
    // below, must not pass for the payment it held before.
    flat.origin = 0;
    if view.tenders.len() > MAX_TENDERS || view.attributes.len() > MAX_ATTRIBUTES {
        return None;
    }
    flat.at = view.at;
    flat.amount = scaled(view.amount)?;
    flat.tag_bits = bits.of(SetKind::Tags, view.tags);
    flat.category_bits = bits.of(SetKind::Categories, view.categories);
    flat.currency = view.currency.0;
    flat.channel = view.channel.0;
    flat.terminal = view.terminal.0;
    flat.app = view.app.0;
    flat.merchant = view.merchant.map(|m| m.map_or(ABSENT, |s: Sym| s.0));
    flat.n_tenders = u32::try_from(view.tenders.len()).ok()?;
    flat.tenders = [FlatTender { amount: 0, method: ABSENT, installments: 0, method_bit: 0 }; MAX_TENDERS];
    for (slot, t) in flat.tenders.iter_mut().zip(view.tenders) {
        // A whole number written without decimals (as the interpreter compares it).
        let installments =
            if t.installments.scale() == 0 { u32::try_from(t.installments.mantissa()).ok()? } else { return None };
        let amount = scaled(t.amount).filter(|a| a.unsigned_abs() <= MAX_TENDER_AMOUNT.unsigned_abs())?;
        let method_bit = bits.of(SetKind::Methods, std::slice::from_ref(&t.method));
        *slot = FlatTender { amount, method: t.method.0, installments, method_bit };
    }
    flat.attributes = [ATTR_ABSENT; MAX_ATTRIBUTES];
    flat.attribute_values = [0; MAX_ATTRIBUTES];
    for ((tag, value), a) in flat.attributes.iter_mut().zip(flat.attribute_values.iter_mut()).zip(view.attributes) {
        (*tag, *value) = match a {
            Value::Absent => (ATTR_ABSENT, 0),
            Value::Bool(false) => (ATTR_FALSE, 0),
            Value::Bool(true) => (ATTR_TRUE, 0),
            Value::Time(t) => (ATTR_TIME, *t),
            Value::Num(n) => (ATTR_NUMBER, scaled(*n)?),
            _ => (ATTR_OTHER, 0),
        };
    }
    // Last: a form left half written by a `None` above is nobody's.
    flat.origin = origin;
    Some(())
}

/// What a status other than `FALL_BACK` says about eligibility.
fn ineligible(status: i32) -> Option<Ineligible> {
    match status {
        ELIGIBLE => None,
        OUTSIDE_PERIOD => Some(Ineligible::OutsidePeriod),
        CURRENCY => Some(Ineligible::Currency),
        n => Some(Ineligible::Condition(usize::try_from(n - CONDITION).unwrap_or(0))),
    }
}

impl Evaluator for Jit {
    fn program(&self) -> &Arc<Program> {
        self.interp.program()
    }

    fn flatten(&self, payment: &PaymentView<'_>) -> Option<FlatPayment> {
        Jit::flatten(self, payment)
    }

    fn flatten_into(&self, payment: &PaymentView<'_>, flat: &mut FlatPayment) -> bool {
        Jit::flatten_into(self, payment, flat).is_some()
    }

    fn evaluate_payment(
        &self,
        payment: &PaymentView<'_>,
        counters: &dyn Counters,
        out: &mut crate::PaymentOutcome,
    ) -> Result<(), EvalError> {
        let mut owned = None;
        let Some(ready) = self.ready(payment, &mut owned) else {
            return crate::evaluate_by_parts(self, payment, counters, out);
        };
        // As `evaluate_by_parts` does, with the payment flattened, its attributes checked and
        // its local time worked out once for every campaign.
        crate::evaluate_in_order(self.interp.program(), payment.at, counters, &mut JitParts { jit: self, ready }, out)
    }

    fn evaluate_into(
        &self,
        index: usize,
        payment: &PaymentView<'_>,
        counters: &dyn Counters,
        out: &mut Outcome,
    ) -> Result<(), EvalError> {
        let mut owned = None;
        match self.ready(payment, &mut owned) {
            Some(mut ready) => self.award(index, &mut ready, counters, out),
            None => self.interp.evaluate_into(index, payment, counters, out),
        }
    }

    fn evaluate_award(
        &self,
        index: usize,
        payment: &PaymentView<'_>,
        counters: &dyn Counters,
    ) -> Result<Outcome, EvalError> {
        self.interp.evaluate_award(index, payment, counters)
    }

    fn condition_results(
        &self,
        index: usize,
        payment: &PaymentView<'_>,
        counters: &dyn Counters,
    ) -> Result<Vec<bool>, EvalError> {
        self.interp.condition_results(index, payment, counters)
    }

    fn reads(&self, index: usize, at: crate::ir::Nanos) -> Vec<(u32, crate::time::MonthKey)> {
        self.interp.reads(index, at)
    }

    fn counter_contribution(
        &self,
        index: usize,
        counter: usize,
        payment: &PaymentView<'_>,
        counters: &dyn Counters,
    ) -> Result<Option<Decimal>, EvalError> {
        let mut owned = None;
        match self.ready(payment, &mut owned) {
            Some(mut ready) => self.contribution(index, counter, &mut ready, counters),
            None => self.interp.counter_contribution(index, counter, payment, counters),
        }
    }
}

/// Starts a function: its entry block, sealed, and the function's parameters.
pub(crate) fn enter(b: &mut FunctionBuilder<'_>) -> Vec<cranelift_codegen::ir::Value> {
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    b.block_params(entry).to_vec()
}

/// Generates the native functions of one campaign: `(payment, out) -> status` for one payment
/// (writing `out[0]` the basis (scaled), `out[1]` the points before caps, `out[2]` after the
/// per-payment cap, `out[3]` the rate's mantissa, `out[4]` and `out[5]` the month and period
/// caps when they come from tables), and `(payments, n, out)` for `n` payments in a row,
/// writing an [`Evaluated`] for each.
fn generate(
    module: &mut JITModule,
    bits: &mut SetBits,
    origin: u64,
    index: usize,
    c: &crate::ir::Campaign,
    shape: &Shape<'_>,
) -> Result<(cranelift_module::FuncId, cranelift_module::FuncId), JitError> {
    // Every check holding means the caller's test denied what holds: the interpreter answers.
    let status = generate_status(module, bits, &format!("status_{index}"), c, shape.conditions, FALL_BACK)?;
    let pointer = module.target_config().pointer_type();
    let mut context = module.make_context();
    context.func.signature.params.push(AbiParam::new(pointer));
    context.func.signature.params.push(AbiParam::new(pointer));
    context.func.signature.returns.push(AbiParam::new(types::I32));
    let mut builder_context = FunctionBuilderContext::new();
    {
        let status = module.declare_func_in_func(status, &mut context.func);
        let mut b = FunctionBuilder::new(&mut context.func, &mut builder_context);
        let params = enter(&mut b);
        let mut g = Gen::new(b, pointer, params[0], bits);
        award_body(&mut g, c, shape, params[1], WhyNot::Call(status))?;
        g.b.finalize(module.target_config());
    }
    let one = define(module, &format!("campaign_{index}"), &mut context)?;

    context.func.signature.params.push(AbiParam::new(pointer));
    context.func.signature.params.push(AbiParam::new(types::I64));
    context.func.signature.params.push(AbiParam::new(pointer));
    {
        let mut b = FunctionBuilder::new(&mut context.func, &mut builder_context);
        let params = enter(&mut b);
        let (payments, n, out) = (params[0], params[1], params[2]);
        let header = b.create_block();
        let body = b.create_block();
        let next = b.create_block();
        let done = b.create_block();
        // The loop walks a pointer to the payment and one to its record (no index to
        // multiply), until the payments' end.
        let stride = |size: usize| i64::try_from(size).map_err(jit_error);
        let (payment_size, record_size) =
            (stride(std::mem::size_of::<FlatPayment>())?, stride(std::mem::size_of::<Evaluated>())?);
        b.append_block_param(header, pointer);
        b.append_block_param(header, pointer);
        let length = b.ins().imul_imm_u(n, payment_size);
        let end = b.ins().iadd(payments, length);
        b.ins().jump(header, &[payments.into(), out.into()]);
        b.switch_to_block(header);
        let (payment, record) = (b.block_params(header)[0], b.block_params(header)[1]);
        let more = b.ins().icmp(IntCC::UnsignedLessThan, payment, end);
        b.ins().brif(more, body, &[], done, &[]);
        b.switch_to_block(body);
        b.seal_block(body);
        let values = b.ins().iadd_imm_u(record, stride(offset_of!(Evaluated, values))?);
        let mut g = Gen::new(b, pointer, payment, bits);
        g.exit = Exit::Next { block: next, status_at: record };
        // A payment another JIT flattened has other bits: the interpreter must answer it.
        let made_by = g.load(types::I64, payment, offset_of!(FlatPayment, origin));
        let foreign = g.b.ins().icmp_imm_u(IntCC::NotEqual, made_by, origin.cast_signed());
        g.exit_if(foreign, FALL_BACK);
        award_body(&mut g, c, shape, values, WhyNot::Here(shape.conditions))?;
        let mut b = g.b;
        b.switch_to_block(next);
        b.seal_block(next);
        let (following, its_record) =
            (b.ins().iadd_imm_u(payment, payment_size), b.ins().iadd_imm_u(record, record_size));
        b.ins().jump(header, &[following.into(), its_record.into()]);
        b.seal_block(header);
        b.switch_to_block(done);
        b.seal_block(done);
        b.ins().return_(&[]);
        b.finalize(module.target_config());
    }
    let many = define(module, &format!("campaign_{index}_many"), &mut context)?;
    Ok((one, many))
}

/// Declares and defines a local function from `context`, and clears it for the next.
fn define(
    module: &mut JITModule,
    name: &str,
    context: &mut cranelift_codegen::Context,
) -> Result<cranelift_module::FuncId, JitError> {
    let id = module.declare_function(name, Linkage::Local, &context.func.signature).map_err(jit_error)?;
    module.define_function(id, context).map_err(jit_error)?;
    module.clear_context(context);
    Ok(id)
}

/// The code of a simple campaign for the payment at hand, writing the values (see
/// `generate`) to `out` and leaving with its status.
fn award_body(
    g: &mut Gen<'_>,
    c: &crate::ir::Campaign,
    shape: &Shape<'_>,
    out: Reg,
    why_not: WhyNot<'_>,
) -> Result<(), JitError> {
    // Fields that must equal a constant are tested together: each field XOR-ed with its
    // constant, the results OR-ed, zero when all are equal (two instructions a field instead
    // of a comparison, a flag and an `and`).
    let mut equal = vec![(SymField::Currency, c.currency)];
    let mut conditions = Vec::new();
    for pred in shape.conditions {
        match pred {
            Pred::SymIs { field, sym, equal: e, want } if e == want && always_present(*field) => {
                equal.push((*field, *sym));
            }
            _ => conditions.push(g.pred(pred, c)),
        }
    }
    g.eligible_or_else(c, &equal, &conditions, why_not);
    let filter = shape.filter;
    let Some(basis) = g.sum_tenders(|g| match filter {
        Some(filter) => Some(g.pred(filter, c)),
        None => Some(g.b.ins().iconst(types::I8, 1)),
    }) else {
        return Err(JitError("the tender loop of a simple campaign did not generate".into()));
    };

    // The award: floor(basis × rate), exactly, then the per-payment cap.
    let mut basis = basis;
    if let Some(first) = shape.first {
        let first = g.b.ins().iconst(types::I64, first);
        basis = g.b.ins().smin(basis, first);
    }
    let mantissa = g.rate(&shape.rate, c);
    let constant = (shape.rate.key.is_none() && shape.rate.choice.is_none()).then_some(shape.rate.default);
    let (dividend, divisor) = match constant {
        // A constant rate whose mantissa divides the divisor: (basis × m) / (m × k) is
        // basis / k exactly (as rationals, so truncated alike). Only for rates whose product
        // fits (as below), so that what overflows still goes where it went.
        Some(m) if m > 0 && m < SAFE_FACTOR && shape.divisor % m == 0 => (basis, shape.divisor / m),
        _ if shape.rate.largest() < SAFE_FACTOR => {
            // The basis is a sum of tenders (see `sum_tenders`): the product fits.
            (g.b.ins().imul(basis, mantissa), shape.divisor)
        }
        _ => {
            let (product, overflow) = g.b.ins().smul_overflow(basis, mantissa);
            g.exit_if(overflow, FALL_BACK);
            (product, shape.divisor)
        }
    };
    let divisor = g.b.ins().iconst(types::I64, divisor);
    let points = g.b.ins().sdiv(dividend, divisor);
    let capped = match shape.payment_cap {
        Some(cap) => {
            let cap = g.b.ins().iconst(types::I64, cap);
            g.b.ins().smin(points, cap)
        }
        None => points,
    };
    let flags = MemFlagsData::trusted();
    g.b.ins().store(flags, basis, out, 0);
    g.b.ins().store(flags, points, out, 8);
    g.b.ins().store(flags, capped, out, 16);
    g.b.ins().store(flags, mantissa, out, 24);
    for (cap, slot) in [(&shape.month_cap, 32), (&shape.period_cap, 40)] {
        if let Some(cap) = cap {
            let value = g.rate(cap, c);
            g.b.ins().store(flags, value, out, slot);
        }
    }
    let ok = g.b.ins().iconst(types::I32, i64::from(ELIGIBLE));
    g.leave(ok);
    Ok(())
}

/// Generates a function that says why a payment is not eligible: `(payment) -> status`,
/// checking the period, the currency and each of `conditions` in order and returning at the
/// first that fails, as the interpreter reports it, or `all_hold` ([`Gen::why_not`]). A
/// simple campaign's code for one payment calls it only when its branch-free test found the
/// payment ineligible, so that its own code keeps no result of a single check (the loop over
/// many payments makes the same checks in place, in its cold block); a general campaign's is
/// run first on the conditions that need no slots, so that an ineligible payment costs no
/// counter reads.
fn generate_status(
    module: &mut JITModule,
    bits: &mut SetBits,
    name: &str,
    c: &crate::ir::Campaign,
    conditions: &[Pred],
    all_hold: i32,
) -> Result<cranelift_module::FuncId, JitError> {
    let pointer = module.target_config().pointer_type();
    let mut context = module.make_context();
    context.func.signature.params.push(AbiParam::new(pointer));
    context.func.signature.returns.push(AbiParam::new(types::I32));
    let mut builder_context = FunctionBuilderContext::new();
    {
        let mut b = FunctionBuilder::new(&mut context.func, &mut builder_context);
        let params = enter(&mut b);
        let mut g = Gen::new(b, pointer, params[0], bits);
        g.why_not(c, conditions, all_hold);
        g.b.finalize(module.target_config());
    }
    define(module, name, &mut context)
}

/// Where a simple campaign's code finds why a payment is not eligible, once its
/// branch-free test said it is not.
#[derive(Clone, Copy, Debug)]
enum WhyNot<'p> {
    /// By calling the campaign's status function (see `generate_status`): the code for one
    /// payment, whose caller returns right after.
    Call(cranelift_codegen::ir::FuncRef),
    /// By these checks in place ([`Gen::why_not`]): the loop over many payments, where a call
    /// would make the loop keep its pointers where the call cannot clobber them, and cost a
    /// frame for every ineligible payment.
    Here(&'p [Pred]),
}

/// How generated code is done with a payment.
#[derive(Clone, Copy, Debug)]
enum Exit {
    /// Returning its status.
    Return,
    /// In a loop over payments: storing its status (as an `i64`) at `status_at` and going on
    /// to `block`.
    Next { block: cranelift_codegen::ir::Block, status_at: Reg },
}

/// Code generation state for one function.
struct Gen<'a> {
    b: FunctionBuilder<'a>,
    pointer: types::Type,
    payment: Reg,
    /// The tender at hand, in the basis loop.
    tender: Option<Reg>,
    /// General code only (see `general`): the slots argument and the slots read so far, and
    /// the argument handed back to `fill_slot`.
    slots_ptr: Option<Reg>,
    fill_ptr: Option<Reg>,
    slots: Vec<general::Slot>,
    /// The `last month` window counters are read through, inside one.
    window: Option<i64>,
    /// `let` and basis values computed so far (with the window they were computed in),
    /// innermost scope last (a tender loop or a branch opens a scope).
    lets: Vec<std::collections::HashMap<(general::Named, Option<i64>), general::V>>,
    /// The kind of each account attribute.
    kinds: Vec<crate::ir::AttributeKind>,
    /// The bits of set symbols, handed out as set tests are generated.
    bits: &'a mut SetBits,
    /// How the code is done with a payment.
    exit: Exit,
}

impl<'a> Gen<'a> {
    fn new(b: FunctionBuilder<'a>, pointer: types::Type, payment: Reg, bits: &'a mut SetBits) -> Gen<'a> {
        Gen {
            bits,
            exit: Exit::Return,
            b,
            pointer,
            payment,
            tender: None,
            slots_ptr: None,
            fill_ptr: None,
            slots: Vec::new(),
            window: None,
            lets: vec![std::collections::HashMap::new()],
            kinds: Vec::new(),
        }
    }

    fn load(&mut self, ty: types::Type, base: Reg, offset: usize) -> Reg {
        let offset = i32::try_from(offset).unwrap_or(i32::MAX);
        self.b.ins().load(ty, MemFlagsData::trusted(), base, offset)
    }

    /// Eligibility as one branch-free test: the period, the currency and each condition
    /// (`conditions`, in order, each an `i8` 0 or 1) are and-ed, and one branch decides. Only on
    /// the (cold) failure path are the checks taken again in order, to return the first that
    /// fails, as the interpreter reports it. Code after this runs for eligible payments.
    fn eligibility(&mut self, c: &Campaign, conditions: &[Reg]) {
        let payment = self.payment;
        let at = self.load(types::I64, payment, offset_of!(FlatPayment, at));
        let mut checks: Vec<(Reg, i32)> = Vec::new();
        if let Some(start) = c.start {
            checks.push((self.b.ins().icmp_imm_s(IntCC::SignedGreaterThanOrEqual, at, start), OUTSIDE_PERIOD));
        }
        if let Some(end) = c.end {
            checks.push((self.b.ins().icmp_imm_s(IntCC::SignedLessThan, at, end), OUTSIDE_PERIOD));
        }
        let currency = self.load(types::I32, payment, offset_of!(FlatPayment, currency));
        checks.push((self.b.ins().icmp_imm_u(IntCC::Equal, currency, i64::from(c.currency.0)), CURRENCY));
        for (i, holds) in conditions.iter().enumerate() {
            checks.push((*holds, CONDITION + i32::try_from(i).unwrap_or(i32::MAX - CONDITION)));
        }
        let mut eligible = self.b.ins().iconst(types::I8, 1);
        for (ok, _) in &checks {
            eligible = self.b.ins().band(eligible, *ok);
        }
        let go_on = self.cold_unless(eligible);
        for (ok, code) in &checks {
            self.exit_unless(*ok, *code);
        }
        // Unreachable: some check failed. Let the interpreter answer rather than trap.
        let fallback = self.b.ins().iconst(types::I32, i64::from(FALL_BACK));
        self.b.ins().return_(&[fallback]);
        self.b.switch_to_block(go_on);
        self.b.seal_block(go_on);
    }

    /// Eligibility as one branch-free test, as `eligibility`, but on the (cold) failure path
    /// the status comes from `why_not` (a call to the status function, or its checks in
    /// place): no check's result stays live past the test.
    fn eligible_or_else(&mut self, c: &Campaign, equal: &[(SymField, Sym)], conditions: &[Reg], why_not: WhyNot<'_>) {
        let payment = self.payment;
        let at = self.load(types::I64, payment, offset_of!(FlatPayment, at));
        let mut eligible = self.b.ins().iconst(types::I8, 1);
        // The period as one unsigned comparison: `at - start < end - start`.
        match (c.start, c.end) {
            (Some(start), Some(end)) if end > start => {
                let since = self.b.ins().iadd_imm_s(at, start.wrapping_neg());
                let length = end.wrapping_sub(start);
                eligible = self.b.ins().icmp_imm_u(IntCC::UnsignedLessThan, since, length);
            }
            (start, end) => {
                if let Some(start) = start {
                    let after = self.b.ins().icmp_imm_s(IntCC::SignedGreaterThanOrEqual, at, start);
                    eligible = self.b.ins().band(eligible, after);
                }
                if let Some(end) = end {
                    let before = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, at, end);
                    eligible = self.b.ins().band(eligible, before);
                }
            }
        }
        let differ = self.differ(equal);
        let same = self.b.ins().icmp_imm_u(IntCC::Equal, differ, 0);
        eligible = self.b.ins().band(eligible, same);
        for holds in conditions {
            eligible = self.b.ins().band(eligible, *holds);
        }
        let go_on = self.cold_unless(eligible);
        match why_not {
            WhyNot::Call(status) => {
                let call = self.b.ins().call(status, &[payment]);
                let code = self.b.inst_results(call)[0];
                self.leave(code);
            }
            WhyNot::Here(checks) => self.why_not(c, checks, FALL_BACK),
        }
        self.b.switch_to_block(go_on);
        self.b.seal_block(go_on);
    }

    /// Leaves with the reason a payment is not eligible: checks the period, the currency and
    /// each of `conditions` in order and leaves at the first that fails, as the interpreter
    /// reports it, or with `all_hold`.
    fn why_not(&mut self, c: &Campaign, conditions: &[Pred], all_hold: i32) {
        let at = self.load(types::I64, self.payment, offset_of!(FlatPayment, at));
        if let Some(start) = c.start {
            let early = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, at, start);
            self.exit_if(early, OUTSIDE_PERIOD);
        }
        if let Some(end) = c.end {
            let late = self.b.ins().icmp_imm_s(IntCC::SignedGreaterThanOrEqual, at, end);
            self.exit_if(late, OUTSIDE_PERIOD);
        }
        let currency = self.load(types::I32, self.payment, offset_of!(FlatPayment, currency));
        let other = self.b.ins().icmp_imm_u(IntCC::NotEqual, currency, i64::from(c.currency.0));
        self.exit_if(other, CURRENCY);
        for (i, pred) in conditions.iter().enumerate() {
            let holds = self.pred(pred, c);
            self.exit_unless(holds, CONDITION + i32::try_from(i).unwrap_or(i32::MAX - CONDITION));
        }
        let all_hold = self.b.ins().iconst(types::I32, i64::from(all_hold));
        self.leave(all_hold);
    }

    /// An `i64` that is zero when each of the payment's `equal` fields (fields every payment
    /// has) holds its symbol: each field XOR-ed with its symbol, the results OR-ed. Two fields
    /// side by side in one aligned word of the flat payment are loaded and XOR-ed as one
    /// (the currency and the channel, say), so that each pair costs two instructions, not five.
    fn differ(&mut self, equal: &[(SymField, Sym)]) -> Reg {
        // (aligned word, which of its halves are tested, their symbols where they lie).
        let mut words: Vec<(usize, u64, u64)> = Vec::new();
        let mut seen = Vec::new();
        let payment = self.payment;
        let mut differ = self.b.ins().iconst(types::I64, 0);
        for (field, sym) in equal {
            if seen.contains(&(*field, *sym)) {
                continue;
            }
            seen.push((*field, *sym));
            let Some(offset) = always_present_offset(*field) else {
                // Not one of the paired fields (the caller gives none such): tested alone, as
                // `sym` reads it, rather than left out.
                let (value, _) = self.sym(*field);
                let value = self.b.ins().uextend(types::I64, value);
                let difference = self.b.ins().bxor_imm_u(value, i64::from(sym.0));
                differ = self.b.ins().bor(differ, difference);
                continue;
            };
            let (word, shift) = (offset - offset % 8, 8 * (offset % 8));
            let (half, bits) = (u64::from(u32::MAX) << shift, u64::from(sym.0) << shift);
            // A field asked to hold two symbols (which never holds) gets a word of its own
            // for the second: its half is taken in the first. (The halves are as a
            // little-endian machine loads them; elsewhere each field is loaded alone.)
            let shared = |(w, halves, _): &&mut (usize, u64, u64)| {
                cfg!(target_endian = "little") && *w == word && *halves & half == 0
            };
            match words.iter_mut().find(shared) {
                Some((_, halves, symbols)) => (*halves, *symbols) = (*halves | half, *symbols | bits),
                None => words.push((word, half, bits)),
            }
        }
        for (word, halves, symbols) in words {
            let (value, symbols) = match halves {
                u64::MAX => (self.load(types::I64, payment, word), symbols),
                LOW_HALF => (self.load_u32(payment, word), symbols),
                _ => (self.load_u32(payment, word + 4), symbols >> 32),
            };
            let difference = self.b.ins().bxor_imm_u(value, symbols.cast_signed());
            differ = self.b.ins().bor(differ, difference);
        }
        differ
    }

    /// The `u32` at `offset`, zero-extended to an `i64`.
    fn load_u32(&mut self, base: Reg, offset: usize) -> Reg {
        let offset = i32::try_from(offset).unwrap_or(i32::MAX);
        self.b.ins().uload32(MemFlagsData::trusted(), base, offset)
    }

    /// Goes on in a new (cold) block when `ok` is false, returning the block where code for
    /// `ok` goes on: the cold code must leave, and `switch_to_block` + `seal_block` of the
    /// returned block follow it.
    fn cold_unless(&mut self, ok: Reg) -> cranelift_codegen::ir::Block {
        let failed = self.b.create_block();
        let go_on = self.b.create_block();
        self.b.set_cold_block(failed);
        self.b.ins().brif(ok, go_on, &[], failed, &[]);
        self.b.switch_to_block(failed);
        self.b.seal_block(failed);
        go_on
    }

    /// `a + b`, returning `FALL_BACK` from the function on overflow.
    fn checked_add(&mut self, a: Reg, b: Reg) -> Reg {
        let (sum, overflow) = self.b.ins().sadd_overflow(a, b);
        self.exit_if(overflow, FALL_BACK);
        sum
    }

    /// A loop over the payment's tenders; `body` sees each tender as `self.tender`, with a
    /// scope of its own for `let`s.
    fn tender_loop(&mut self, body: impl FnOnce(&mut Self, Reg) -> Option<()>) -> Option<()> {
        let payment = self.payment;
        let tenders = self.b.ins().iadd_imm_u(payment, i64::try_from(offset_of!(FlatPayment, tenders)).ok()?);
        let count32 = self.load(types::I32, payment, offset_of!(FlatPayment, n_tenders));
        let count = self.b.ins().uextend(types::I64, count32);
        let header = self.b.create_block();
        let body_block = self.b.create_block();
        let done = self.b.create_block();
        self.b.append_block_param(header, types::I64);
        let zero = self.b.ins().iconst(types::I64, 0);
        self.b.ins().jump(header, &[zero.into()]);
        self.b.switch_to_block(header);
        let i = self.b.block_params(header)[0];
        let more = self.b.ins().icmp(IntCC::UnsignedLessThan, i, count);
        self.b.ins().brif(more, body_block, &[], done, &[]);
        self.b.switch_to_block(body_block);
        self.b.seal_block(body_block);
        let stride = i64::try_from(std::mem::size_of::<FlatTender>()).ok()?;
        let step = self.b.ins().imul_imm_u(i, stride);
        let step = self.cast_pointer(step);
        let tender = self.b.ins().iadd(tenders, step);
        let saved = self.tender.replace(tender);
        self.lets.push(std::collections::HashMap::new());
        let made = body(self, tender);
        self.lets.pop();
        self.tender = saved;
        made?;
        let next = self.b.ins().iadd_imm_u(i, 1);
        self.b.ins().jump(header, &[next.into()]);
        self.b.seal_block(header);
        self.b.switch_to_block(done);
        self.b.seal_block(done);
        Some(())
    }

    /// The sum (× 10^[`SCALE`]) of the tenders `keep` (an `i8` per tender, computed with the
    /// tender at hand) keeps. It cannot overflow: at most [`MAX_TENDERS`] amounts of at most
    /// [`MAX_TENDER_AMOUNT`] each.
    fn sum_tenders(&mut self, keep: impl FnOnce(&mut Self) -> Option<Reg>) -> Option<Reg> {
        let zero = self.b.ins().iconst(types::I64, 0);
        let sum = self.b.declare_var(types::I64);
        self.b.def_var(sum, zero);
        self.tender_loop(|g, tender| {
            let keep = keep(g)?;
            let amount = g.load(types::I64, tender, offset_of!(FlatTender, amount));
            let amount = g.b.ins().select(keep, amount, zero);
            let before = g.b.use_var(sum);
            let after = g.b.ins().iadd(before, amount);
            g.b.def_var(sum, after);
            Some(())
        })?;
        Some(self.b.use_var(sum))
    }

    fn cast_pointer(&mut self, v: Reg) -> Reg {
        if self.pointer == types::I64 { v } else { self.b.ins().ireduce(self.pointer, v) }
    }

    /// Returns `code` from the function when `condition` (an `i8`) is set.
    fn exit_if(&mut self, condition: Reg, code: i32) {
        self.exit_when(condition, true, code);
    }

    /// Returns `code` from the function unless `holds` (an `i8`) is set. The branch tests
    /// the check itself, so that a comparison and its branch become one compare-and-jump
    /// (a flag flipped with an XOR for `exit_if` took a set, an XOR and a test more), and
    /// the exit is laid out after the rest, so that a check that holds falls through.
    fn exit_unless(&mut self, holds: Reg, code: i32) {
        self.exit_when(holds, false, code);
    }

    /// Returns `code` from the function when `flag` is `leaving`, and goes on otherwise.
    fn exit_when(&mut self, flag: Reg, leaving: bool, code: i32) {
        let exit = self.b.create_block();
        let go_on = self.b.create_block();
        if leaving {
            self.b.ins().brif(flag, exit, &[], go_on, &[]);
        } else {
            self.b.set_cold_block(exit);
            self.b.ins().brif(flag, go_on, &[], exit, &[]);
        }
        self.b.switch_to_block(exit);
        self.b.seal_block(exit);
        let code = self.b.ins().iconst(types::I32, i64::from(code));
        self.leave(code);
        self.b.switch_to_block(go_on);
        self.b.seal_block(go_on);
    }

    /// Done with the payment, with status `code` (an `i32`).
    fn leave(&mut self, code: Reg) {
        match self.exit {
            Exit::Return => {
                self.b.ins().return_(&[code]);
            }
            Exit::Next { block, status_at } => {
                let wide = self.b.ins().sextend(types::I64, code);
                self.b.ins().store(MemFlagsData::trusted(), wide, status_at, 0);
                self.b.ins().jump(block, &[]);
            }
        }
    }

    /// The symbol of a field, and whether it is present (both as registers).
    fn sym(&mut self, field: SymField) -> (Reg, Option<Reg>) {
        let payment = self.payment;
        match field {
            SymField::Currency => (self.load(types::I32, payment, offset_of!(FlatPayment, currency)), None),
            SymField::Channel => (self.load(types::I32, payment, offset_of!(FlatPayment, channel)), None),
            SymField::Terminal => (self.load(types::I32, payment, offset_of!(FlatPayment, terminal)), None),
            SymField::App => (self.load(types::I32, payment, offset_of!(FlatPayment, app)), None),
            SymField::Merchant(i) => {
                let offset = offset_of!(FlatPayment, merchant) + 4 * usize::from(i);
                let v = self.load(types::I32, payment, offset);
                let present = self.b.ins().icmp_imm_u(IntCC::NotEqual, v, i64::from(ABSENT));
                (v, Some(present))
            }
            SymField::Method => match self.tender {
                Some(tender) => (self.load(types::I32, tender, offset_of!(FlatTender, method)), None),
                // Outside the tender loop there is no tender to read (`shape` never lets this
                // be compiled): an absent value, so every comparison with it is false.
                None => {
                    let absent = self.b.ins().iconst(types::I32, i64::from(ABSENT));
                    let no = self.b.ins().iconst(types::I8, 0);
                    (absent, Some(no))
                }
            },
        }
    }

    /// A test of the tender's method against constants as one bit test, when every constant
    /// has a bit; `None` (and no code) otherwise.
    fn method_pred(&mut self, p: &Pred) -> Option<Reg> {
        let (set, equal, want) = match p {
            Pred::SymIs { field: SymField::Method, sym, equal, want } => (std::slice::from_ref(sym), *equal, *want),
            Pred::SymIn { field: SymField::Method, set, want } => (&set[..], true, *want),
            _ => return None,
        };
        let tender = self.tender?;
        let mut mask = 0u64;
        for sym in set {
            mask |= 1 << self.bits.bit(SetKind::Methods, *sym)?;
        }
        let bits = self.load(types::I64, tender, offset_of!(FlatTender, method_bit));
        let held = self.b.ins().band_imm_u(bits, mask.cast_signed());
        let cc = if equal { IntCC::NotEqual } else { IntCC::Equal };
        Some(self.compare_wanted(cc, held, 0, want))
    }

    /// Whether `v` equals one of `set` (`want`), or none of it (`!want`), branch-free. A set
    /// of consecutive symbols (a list written in a campaign is interned in order) is one
    /// unsigned comparison: `v - first <= last - first`.
    fn member(&mut self, v: Reg, set: &[u32], want: bool) -> Reg {
        let mut sorted = set.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        if let (Some(&first), Some(&last)) = (sorted.first(), sorted.last())
            && sorted.len() > 1
            && u64::from(last - first) + 1 == sorted.len() as u64
        {
            let from_first = self.b.ins().iadd_imm_s(v, -i64::from(first));
            let cc = if want { IntCC::UnsignedLessThanOrEqual } else { IntCC::UnsignedGreaterThan };
            return self.b.ins().icmp_imm_u(cc, from_first, i64::from(last - first));
        }
        let mut any = self.b.ins().iconst(types::I8, 0);
        for s in &sorted {
            let eq = self.b.ins().icmp_imm_u(IntCC::Equal, v, i64::from(*s));
            any = self.b.ins().bor(any, eq);
        }
        self.want(any, want)
    }

    /// `a cc b` when `want`, its negation otherwise: the comparison's condition inverted
    /// rather than its result flipped.
    fn compare_wanted(&mut self, cc: IntCC, a: Reg, b: i64, want: bool) -> Reg {
        let cc = if want { cc } else { cranelift_codegen::ir::condcodes::CondCode::complement(cc) };
        self.b.ins().icmp_imm_u(cc, a, b)
    }

    fn want(&mut self, holds: Reg, want: bool) -> Reg {
        if want { holds } else { self.b.ins().bxor_imm_u(holds, 1) }
    }

    fn present_and(&mut self, present: Option<Reg>, v: Reg) -> Reg {
        match present {
            Some(p) => self.b.ins().band(p, v),
            None => v,
        }
    }

    /// A predicate as an `i8` that is 0 or 1, exactly as `Ctx::holds` decides it.
    fn pred(&mut self, p: &Pred, c: &Campaign) -> Reg {
        if let Some(holds) = self.method_pred(p) {
            return holds;
        }
        match p {
            Pred::SymIs { field, sym, equal, want } => {
                let (v, present) = self.sym(*field);
                let cc = if *equal { IntCC::Equal } else { IntCC::NotEqual };
                match present {
                    // Always present: `!want` is the other comparison.
                    None => self.compare_wanted(cc, v, i64::from(sym.0), *want),
                    Some(_) => {
                        let matches = self.b.ins().icmp_imm_u(cc, v, i64::from(sym.0));
                        let holds = self.present_and(present, matches);
                        self.want(holds, *want)
                    }
                }
            }
            Pred::SymIn { field, set, want } => {
                let (v, present) = self.sym(*field);
                let set: Vec<u32> = set.iter().map(|s| s.0).collect();
                match present {
                    None => self.member(v, &set, *want),
                    Some(_) => {
                        let member = self.member(v, &set, true);
                        let holds = self.present_and(present, member);
                        self.want(holds, *want)
                    }
                }
            }
            Pred::SetHas { categories, sym, want } => self.set_any(*categories, &[*sym], *want),
            Pred::SetAny { categories, set, want } => self.set_any(*categories, set, *want),
            Pred::AttrIs { index, value, equal, want } => {
                let byte = self.attribute_tag(*index);
                let code = if matches!(value, Value::Bool(true)) { ATTR_TRUE } else { ATTR_FALSE };
                // `==` with a present kind implies present; `!=` needs presence too.
                if *equal {
                    return self.compare_wanted(IntCC::Equal, byte, i64::from(code), *want);
                }
                let present = self.b.ins().icmp_imm_u(IntCC::NotEqual, byte, i64::from(ATTR_ABSENT));
                let other = self.b.ins().icmp_imm_u(IntCC::NotEqual, byte, i64::from(code));
                let holds = self.b.ins().band(present, other);
                self.want(holds, *want)
            }
            Pred::General(e) => self.cond(e, c),
        }
    }

    /// A yes/no expression as an `i8` 0 or 1, exactly as `Ctx::test` decides it (only the
    /// shapes `expr_compiles` accepts reach here).
    fn cond(&mut self, e: &Expr, c: &Campaign) -> Reg {
        match e {
            Expr::Binary(op @ (BinaryOp::And | BinaryOp::Or), a, b) => {
                let (x, y) = (self.cond(a, c), self.cond(b, c));
                if *op == BinaryOp::And { self.b.ins().band(x, y) } else { self.b.ins().bor(x, y) }
            }
            Expr::Not(a) => {
                let x = self.cond(a, c);
                self.b.ins().bxor_imm_u(x, 1)
            }
            Expr::Const(Value::Bool(v)) => self.b.ins().iconst(types::I8, i64::from(*v)),
            Expr::Let(i) => match c.lets.get(*i as usize) {
                Some(l) => self.cond(l, c),
                None => self.b.ins().iconst(types::I8, 0),
            },
            Expr::Binary(op @ (BinaryOp::Eq | BinaryOp::Ne), a, b)
                if matches!(**a, Expr::Field(Field::Installments)) =>
            {
                let Some(tender) = self.tender else {
                    // No tender outside the tender loop (`shape` never compiles this): false.
                    return self.b.ins().iconst(types::I8, 0);
                };
                let installments = self.load(types::I32, tender, offset_of!(FlatTender, installments));
                let cc = if *op == BinaryOp::Eq { IntCC::Equal } else { IntCC::NotEqual };
                self.b.ins().icmp_imm_u(cc, installments, i64::from(small_whole(b).unwrap_or(u32::MAX)))
            }
            Expr::Binary(op, a, b) if comparison(*op).is_some() && matches!(**a, Expr::Field(Field::Amount)) => {
                let payment = self.payment;
                let amount = self.load(types::I64, payment, offset_of!(FlatPayment, amount));
                let limit = constant(b).and_then(scaled).unwrap_or(0);
                let cc = comparison(*op).unwrap_or(IntCC::Equal);
                self.b.ins().icmp_imm_s(cc, amount, limit)
            }
            Expr::Binary(op, a, b) if ordering_or_equal(*op) && matches!(**a, Expr::Field(Field::Attribute(_))) => {
                let (Expr::Field(Field::Attribute(index)), Some((kind, limit))) = (&**a, attribute_constant(b)) else {
                    return self.b.ins().iconst(types::I8, 0);
                };
                let tag = self.attribute_tag(*index);
                let same_kind = self.b.ins().icmp_imm_u(IntCC::Equal, tag, i64::from(kind));
                let value = self.attribute_value(*index);
                let cc = comparison(*op).unwrap_or(IntCC::Equal);
                let holds = self.b.ins().icmp_imm_s(cc, value, limit);
                self.b.ins().band(same_kind, holds)
            }
            _ => {
                let pred = Pred::of(e);
                self.pred(&pred, c)
            }
        }
    }

    /// The rate's mantissa: a constant, or a table row chosen branch-free.
    fn rate(&mut self, rate: &Rate, c: &Campaign) -> Reg {
        if let Some((condition, then, otherwise)) = &rate.choice {
            let holds = self.cond(condition, c);
            let (then, otherwise) =
                (self.b.ins().iconst(types::I64, *then), self.b.ins().iconst(types::I64, *otherwise));
            return self.b.ins().select(holds, then, otherwise);
        }
        let mut chosen = self.b.ins().iconst(types::I64, rate.default);
        let Some(key) = rate.key else { return chosen };
        // The key, and whether it can match a row at all (a number attribute must hold a number).
        let (value, usable) = match key {
            RateKey::Sym(field) => {
                let (sym, _) = self.sym(field);
                (self.b.ins().uextend(types::I64, sym), None)
            }
            RateKey::Attribute(index) => {
                let tag = self.attribute_tag(index);
                let is_number = self.b.ins().icmp_imm_u(IntCC::Equal, tag, i64::from(ATTR_NUMBER));
                let value = self.attribute_value(index);
                (value, Some(is_number))
            }
        };
        // Later rows first, so that the first matching row is the one left.
        for (keys, mantissa) in rate.rows.iter().rev() {
            let mut hit = self.b.ins().iconst(types::I8, 0);
            for k in keys {
                let eq = self.b.ins().icmp_imm_s(IntCC::Equal, value, *k);
                hit = self.b.ins().bor(hit, eq);
            }
            let hit = self.present_and(usable, hit);
            let mantissa = self.b.ins().iconst(types::I64, *mantissa);
            chosen = self.b.ins().select(hit, mantissa, chosen);
        }
        chosen
    }

    /// Whether the payment's tags (or item categories) hold any of `set` (`want`), or none of
    /// it (`!want`): one test of its bit set. A symbol without a bit of its own is held only
    /// if the payment's overflow bit is set, and then the interpreter answers.
    fn set_any(&mut self, categories: bool, set: &[Sym], want: bool) -> Reg {
        let (offset, kind) = if categories {
            (offset_of!(FlatPayment, category_bits), SetKind::Categories)
        } else {
            (offset_of!(FlatPayment, tag_bits), SetKind::Tags)
        };
        let bits = self.load(types::I64, self.payment, offset);
        let mut mask = 0u64;
        let mut unsure = false;
        for sym in set {
            match self.bits.bit(kind, *sym) {
                Some(bit) => mask |= 1 << bit,
                None => unsure = true,
            }
        }
        if unsure {
            let overflow = self.b.ins().band_imm_u(bits, (1u64 << OVERFLOW_BIT).cast_signed());
            let overflow = self.b.ins().icmp_imm_u(IntCC::NotEqual, overflow, 0);
            self.exit_if(overflow, FALL_BACK);
        }
        let held = self.b.ins().band_imm_u(bits, mask.cast_signed());
        self.compare_wanted(IntCC::NotEqual, held, 0, want)
    }

    /// The kind byte of attribute `index` (see `ATTR_*`).
    fn attribute_tag(&mut self, index: u16) -> Reg {
        self.load(types::I8, self.payment, offset_of!(FlatPayment, attributes) + usize::from(index))
    }

    /// The value of attribute `index` (see [`FlatPayment::attribute_values`]).
    fn attribute_value(&mut self, index: u16) -> Reg {
        self.load(types::I64, self.payment, offset_of!(FlatPayment, attribute_values) + 8 * usize::from(index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::{NoCounters, TenderView};

    fn seeds() -> Arc<Program> {
        crate::test_support::seeds()
    }

    use crate::test_support::next;

    /// How many times general code answered (not the interpreter), for the tests to check
    /// that they test it.
    pub(super) static GENERAL_RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    thread_local! {
        /// How many month starts general code asked for on this thread.
        pub(super) static MONTH_STARTS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    /// PayPay Step compares the card registration with the start of the payment's month only
    /// for card tenders (S3.2): general code asks for the month start then and only then, as
    /// the interpreter works it out, and gives the interpreter's award either way.
    #[test]
    fn the_month_start_is_worked_out_only_for_payments_that_need_it() {
        let program = seeds();
        let step = program.campaigns.iter().position(|c| c.id == "paypay-step").unwrap_or(usize::MAX);
        let jit = Jit::new(program.clone()).unwrap_or_else(|e| panic!("{e}"));
        let sym = |s: &str| program.symbols.get(s).unwrap_or(Sym(0));
        let registered = program.attributes.iter().position(|a| a.name == "paypay_credit_registered_at");
        let mut attributes = vec![Value::Absent; program.attributes.len()];
        let at0 = crate::test_support::paypay_payment(&program, Decimal::ONE, &[], &[], &[]).at;
        if let Some(slot) = registered.and_then(|i| attributes.get_mut(i)) {
            *slot = Value::Time(at0 - 90 * 86_400_000_000_000);
        }
        for (method, asks, points) in [("paypay_balance", 0, 5), ("paypay_credit", 0, 10), ("paypay_card", 1, 10)] {
            let tenders = [TenderView { method: sym(method), amount: Decimal::from(1000), installments: Decimal::ONE }];
            let view = crate::test_support::paypay_payment(&program, Decimal::from(1000), &[], &tenders, &attributes);
            let before = MONTH_STARTS.get();
            let got = jit.evaluate(step, &view, &NoCounters);
            assert_eq!(MONTH_STARTS.get() - before, asks, "month starts asked for a {method} payment");
            assert_eq!(got, jit.interp.evaluate(step, &view, &NoCounters), "{method}");
            assert!(
                got.as_ref().is_ok_and(|o| o.ineligible.is_none() && o.points == Decimal::from(points)),
                "{method}: {got:?}"
            );
        }
    }

    /// A form reused as scratch that fails to take a payment (too many tenders, an amount
    /// past what native code takes) is nobody's afterwards: native code refuses it rather
    /// than read the payment it held before, half written over.
    #[test]
    fn a_flat_form_that_fails_to_take_a_payment_is_nobody_s() {
        let program = seeds();
        let ama = program.campaigns.iter().position(|c| c.id == "ama-toku-4").unwrap_or(usize::MAX);
        let jit = Jit::new(program.clone()).unwrap_or_else(|e| panic!("{e}"));
        let sym = |s: &str| program.symbols.get(s).unwrap_or(Sym(0));
        let attributes = vec![Value::Absent; program.attributes.len()];
        let tags = [sym("ama-toku-4")];
        let tender = |amount: Decimal| TenderView { method: sym("paypay_balance"), amount, installments: Decimal::ONE };
        let one = [tender(Decimal::from(1000))];
        let too_many: Vec<TenderView> = (0..=MAX_TENDERS).map(|_| tender(Decimal::from(100))).collect();
        let too_large = [tender(Decimal::MAX)];
        for failing in [&too_many[..], &too_large[..]] {
            let mut flat = FlatPayment::EMPTY;
            let good = crate::test_support::paypay_payment(&program, Decimal::from(1000), &tags, &one, &attributes);
            assert!(jit.flatten_into(&good, &mut flat).is_some());
            assert!(jit.kernel(ama, &flat).is_some_and(|(status, _)| status == ELIGIBLE), "the form takes a payment");
            let bad = crate::test_support::paypay_payment(&program, Decimal::from(1000), &tags, failing, &attributes);
            assert!(jit.flatten_into(&bad, &mut flat).is_none(), "{} tenders", failing.len());
            assert!(jit.kernel(ama, &flat).is_none(), "a half-written form is refused");
        }
    }

    /// Counter values picked from a salt and the counter's identity: each counter and period
    /// reads its own value, among the seeds' thresholds and either side of them.
    #[derive(Debug)]
    pub(super) struct MixedCounters(pub u64);

    impl Counters for MixedCounters {
        fn counter(&self, campaign: usize, counter: usize, key: crate::time::MonthKey) -> Decimal {
            let mut state = self.0 ^ (campaign as u64) << 40 ^ (counter as u64) << 32 ^ u64::from(key.unsigned_abs());
            state |= 1;
            let values = [0, 29, 30, 31, 99_999, 100_000, 100_001, 250, 5];
            match next(&mut state) % 12 {
                10 => Decimal::new(125, 1),
                11 => Decimal::new(1, 6),
                n => Decimal::from(values[(n % values.len() as u64) as usize]),
            }
        }
    }

    /// [`MixedCounters`] with every value exact at [`SCALE`] places, so that general code
    /// never falls back for one.
    #[derive(Debug)]
    struct ExactCounters(MixedCounters);

    impl Counters for ExactCounters {
        fn counter(&self, campaign: usize, counter: usize, key: crate::time::MonthKey) -> Decimal {
            let value = self.0.counter(campaign, counter, key);
            if value.scale() > SCALE { Decimal::from(7) } else { value }
        }
    }

    /// Counters that count how often they are read.
    #[derive(Debug)]
    struct Counting<C> {
        inner: C,
        reads: std::cell::Cell<usize>,
    }

    impl<C: Counters> Counters for Counting<C> {
        fn counter(&self, campaign: usize, counter: usize, key: crate::time::MonthKey) -> Decimal {
            self.reads.set(self.reads.get() + 1);
            self.inner.counter(campaign, counter, key)
        }
    }

    #[test]
    fn the_jit_gives_the_interpreters_outcome_on_every_seed_and_payment() {
        let program = seeds();
        let jit = Jit::new(program.clone()).unwrap_or_else(|e| panic!("{e}"));
        let ama = program.campaigns.iter().position(|c| c.id == "ama-toku-4").unwrap_or(usize::MAX);
        assert!(jit.compiled.get(ama).is_some_and(Option::is_some), "the Ama rule compiles");
        let interp = Interp::new(program.clone());
        let sym = |s: &str| program.symbols.get(s).unwrap_or(Sym(crate::symbols::FIRST_UNNAMED));
        let methods =
            ["paypay_balance", "paypay_credit", "paypay_card", "paypay_gift_voucher", "credit_card", "au_pay", "cash"]
                .map(sym);
        let tags = ["ama-toku-4", "cashless-reduction", "other"].map(sym);
        let channels = ["in_store", "online"].map(sym);
        let terminals = ["pos", "vending_machine"].map(sym);
        let apps = ["paypay", "alipay"].map(sym);
        let categories = ["tobacco", "lottery", "food"].map(sym);
        let classes = [Some(sym("small")), Some(sym("franchise")), None];
        let brands = [Some(sym("amazon")), Some(sym("tokyo-cafe")), None];
        let cutoff = crate::time::nanos(
            chrono::DateTime::parse_from_rfc3339("2026-03-31T00:00:00+09:00").unwrap_or_default().to_utc(),
        );
        let times = [
            "2019-09-30T23:59:59+09:00",
            "2019-11-10T10:00:00+09:00",
            "2020-06-30T23:59:59.999+09:00",
            "2026-01-31T23:59:59+09:00",
            "2026-02-10T10:00:00+09:00",
            "2026-03-01T00:00:00+09:00",
            "2026-03-31T00:00:00+09:00",
            "2026-04-03T10:00:00+09:00",
            "2026-04-07T00:00:00+09:00",
            // Either side of PayPay Step's application window (the 1st at 12:00).
            "2026-04-01T11:59:59.999999999+09:00",
            "2026-04-01T12:00:00+09:00",
            "2026-05-01T00:00:00+09:00",
        ]
        .map(|t| crate::time::nanos(chrono::DateTime::parse_from_rfc3339(t).unwrap_or_default().to_utc()));
        let mut state = 0x2545_F491_4F6C_DD1D_u64;
        let mut compared = 0;
        let mut counter_reads = 0;
        let mut contributed = 0;
        let mut flats = Vec::new();
        for _ in 0..20_000 {
            let mut pick = |n: usize| (next(&mut state) % n as u64) as usize;
            // Sometimes one tender of exactly a threshold amount, or one yen either side of it.
            let boundary = (pick(6) == 0).then(|| [199i64, 200, 201, 4_999, 5_000, 5_001][pick(6)]);
            let n_tenders = if boundary.is_some() { 1 } else { 1 + pick(2) };
            let scale = if pick(5) == 0 { 2 } else { 0 };
            let tenders: Vec<TenderView> = (0..n_tenders)
                .map(|_| TenderView {
                    method: methods[pick(methods.len())],
                    amount: match boundary {
                        Some(yen) => Decimal::from(yen),
                        None => Decimal::new(
                            if pick(8) == 0 { 150 + pick(100) as i64 } else { pick(2_000_000) as i64 }
                                * if pick(50) == 0 { 1_000_000_000_000 } else { 1 },
                            scale,
                        ),
                    },
                    installments: Decimal::from(1 + pick(2) as i64 * 2),
                })
                .collect();
            let amount: Decimal = tenders.iter().map(|t| t.amount).sum();
            let payment_tags = vec![tags[pick(tags.len())]];
            let payment_categories = if pick(4) == 0 { vec![categories[pick(categories.len())]] } else { vec![] };
            let attributes: Vec<Value> = program
                .attributes
                .iter()
                .map(|_| match pick(6) {
                    0 => Value::Absent,
                    1 => Value::Bool(false),
                    2 => Value::Bool(true),
                    3 => Value::Time(cutoff + [-1_000_000_000, -1, 0, 1][pick(4)]),
                    _ => Value::Num(Decimal::from(pick(7) as i64)),
                })
                .collect();
            let view = PaymentView {
                amount,
                currency: if pick(10) == 0 { sym("USD") } else { sym("JPY") },
                channel: channels[pick(2)],
                terminal: terminals[pick(2)],
                app: apps[pick(2)],
                at: times[pick(times.len())],
                merchant: [None, brands[pick(3)], None, classes[pick(3)], None],
                tags: &payment_tags,
                categories: &payment_categories,
                tenders: &tenders,
                attributes: &attributes,
                flat: None,
            };
            // Counters at and either side of PayPay Step's thresholds, some not exact at four
            // places (the interpreter answers those), some zero.
            let counters = MixedCounters(next(&mut state));
            let flat = jit.flatten(&view);
            flats.extend(flat);
            let attached = PaymentView { flat: flat.as_ref(), ..view };
            for index in 0..program.campaigns.len() {
                let expected = interp.evaluate(index, &view, &counters);
                let got = jit.evaluate(index, &view, &counters);
                assert_eq!(got, expected, "campaign {} on {view:?}", program.campaigns[index].id);
                let got = jit.evaluate(index, &attached, &counters);
                assert_eq!(got, expected, "campaign {} on {view:?} flattened once", program.campaigns[index].id);
                compared += 1;
                for k in 0..program.campaigns[index].counters.len() {
                    let expected = interp.counter_contribution(index, k, &view, &counters);
                    let got = jit.counter_contribution(index, k, &view, &counters);
                    assert_eq!(got, expected, "counter {k} of {} on {view:?}", program.campaigns[index].id);
                }
            }
            // The whole payment at once: counters, then every campaign against them.
            let mut expected = crate::PaymentOutcome::default();
            let by_parts = interp.evaluate_payment(&view, &counters, &mut expected);
            for payment in [&view, &attached] {
                let mut got = crate::PaymentOutcome::default();
                assert_eq!(jit.evaluate_payment(payment, &counters, &mut got), by_parts);
                assert_eq!(got, expected, "the whole of {view:?}");
            }
            contributed += expected.contributions.len();
            // Each counter read is a look-up in the account: the JIT reads no more than the
            // interpreter, where no counter makes it fall back (one that does is read again by
            // the interpreter). It may read fewer: generated code computes a `let` once where
            // the interpreter evaluates it again at every use.
            let reading = || Counting { inner: ExactCounters(MixedCounters(counters.0)), reads: Default::default() };
            let (by_interp, by_jit) = (reading(), reading());
            let (mut interpreted, mut native) = (crate::PaymentOutcome::default(), crate::PaymentOutcome::default());
            assert_eq!(interp.evaluate_payment(&view, &by_interp, &mut interpreted), by_parts);
            assert_eq!(jit.evaluate_payment(&attached, &by_jit, &mut native), by_parts);
            assert_eq!(native, interpreted, "the whole of {view:?}, exact counters");
            assert!(by_jit.reads.get() <= by_interp.reads.get(), "counters read for {view:?}");
            counter_reads += by_jit.reads.get();
        }
        assert!(counter_reads > 1_000, "the JIT read counters: {counter_reads}");
        assert!(compared >= 100_000);
        assert!(contributed > 5_000, "payments count: {contributed}");
        // The loop over many payments in native code finds what one call per payment finds.
        assert!(flats.len() > 15_000, "most payments flatten");
        let mut simple = 0;
        for index in 0..program.campaigns.len() {
            let mut many = vec![Evaluated::default(); flats.len()];
            if jit.kernel_many(index, &flats, &mut many).is_none() {
                continue;
            }
            simple += 1;
            for (flat, got) in flats.iter().zip(&many) {
                let (status, values) = jit.kernel(index, flat).unwrap_or_else(|| panic!("simple code"));
                assert_eq!(got.status, i64::from(status));
                if status == ELIGIBLE {
                    assert_eq!(got.values, values);
                }
            }
        }
        assert_eq!(simple, 4, "four seeds take the simple code");
    }

    #[test]
    fn the_differential_test_can_tell_two_programs_apart() {
        // The harness must notice a difference: the Ama rule at 10% against the same rule at 11%.
        let program = seeds();
        let ama = program.campaigns.iter().position(|c| c.id == "ama-toku-4").unwrap_or(0);
        let mut changed = Arc::try_unwrap(seeds()).unwrap_or_else(|_| panic!("shared"));
        changed.campaigns[ama].award.value = Expr::Const(Value::Num(Decimal::new(11, 2)));
        let original = Jit::new(program.clone()).unwrap_or_else(|e| panic!("{e}"));
        let other = Jit::new(Arc::new(changed)).unwrap_or_else(|e| panic!("{e}"));
        let sym = |s: &str| program.symbols.get(s).unwrap_or(Sym(0));
        let tenders =
            [TenderView { method: sym("paypay_balance"), amount: Decimal::from(1000), installments: Decimal::ONE }];
        let tags = [sym("ama-toku-4")];
        let attributes = vec![Value::Absent; program.attributes.len()];
        let view = crate::test_support::paypay_payment(&program, Decimal::from(1000), &tags, &tenders, &attributes);
        assert_ne!(original.evaluate(ama, &view, &NoCounters), other.evaluate(ama, &view, &NoCounters));
    }
}

#[cfg(test)]
mod kernel_tests {
    use super::*;
    use crate::view::{NoCounters, TenderView};

    #[test]
    fn the_kernel_answers_itself_for_payments_it_can_compute() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/seeds/ama-toku-4.camp");
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let checked = camp_lang::check_sources(&[&text]);
        let program = Arc::new(
            crate::lower(&checked.program, &[crate::SourceFile { name: "ama", text: &text }])
                .unwrap_or_else(|e| panic!("{e}")),
        );
        let jit = Jit::new(program.clone()).unwrap_or_else(|e| panic!("{e}"));
        let sym = |s: &str| program.symbols.get(s).unwrap_or(Sym(crate::symbols::FIRST_UNNAMED));
        let attributes = vec![Value::Absent; program.attributes.len()];
        let tenders =
            [TenderView { method: sym("paypay_balance"), amount: Decimal::from(1200), installments: Decimal::ONE }];
        let mut statuses = Vec::new();
        for (tag, channel) in [("ama-toku-4", "in_store"), ("other", "in_store"), ("ama-toku-4", "online")] {
            let tags = [sym(tag)];
            let view = PaymentView {
                channel: sym(channel),
                ..crate::test_support::paypay_payment(&program, Decimal::from(1200), &tags, &tenders, &attributes)
            };
            let flat = jit.flatten(&view).unwrap_or_else(|| panic!("flattens"));
            statuses.push(jit.kernel(0, &flat).map(|(s, r)| (s, r[2])));
        }
        assert_eq!(statuses, [Some((ELIGIBLE, 120)), Some((CONDITION, 0)), Some((CONDITION + 1, 0))]);

        // A payment another JIT flattened (its bits may differ) is left to the interpreter.
        let other = Jit::new(program.clone()).unwrap_or_else(|e| panic!("{e}"));
        let tags = [sym("ama-toku-4")];
        let view = crate::test_support::paypay_payment(&program, Decimal::from(1200), &tags, &tenders, &attributes);
        let (own, foreign) = (jit.flatten(&view), other.flatten(&view));
        let payments: Vec<FlatPayment> = own.into_iter().chain(foreign).collect();
        let mut out = vec![Evaluated::default(); payments.len()];
        assert!(jit.kernel_many(0, &payments, &mut out).is_some());
        assert_eq!(out.iter().map(|e| e.status).collect::<Vec<_>>(), [i64::from(ELIGIBLE), i64::from(FALL_BACK)]);
        assert!(jit.kernel(0, &payments[1]).is_none());
    }

    #[test]
    fn outcomes_are_built_as_rust_decimal_builds_them() {
        let mut state = 0x9E37_79B9_7F4A_7C15;
        let edges = [0, 1, -1, i64::MAX, i64::MIN, i64::MIN + 1, 1 << 32, -(1 << 32), (1 << 32) - 1];
        let randoms = (0..2_000).map(|_| crate::test_support::next(&mut state) as i64 >> (state % 60));
        for m in edges.into_iter().chain(randoms) {
            for scale in 0..=28 {
                let (ours, theirs) = (decimal(m, scale), Decimal::new(m, scale));
                // Equal in value, and in form: the same scale and the same sign of zero.
                assert_eq!(ours, theirs, "{m} at scale {scale}");
                assert_eq!(ours.serialize(), theirs.serialize(), "{m} at scale {scale}");
            }
        }
    }

    #[test]
    fn a_program_with_more_attributes_than_a_flat_payment_holds_is_interpreted() {
        // Today's vocabulary declares fewer attributes than a flat payment holds; a later one
        // may declare more. Such a program runs interpreted, with the same outcomes.
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/seeds/ama-toku-4.camp");
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let checked = camp_lang::check_sources(&[&text]);
        let mut program = crate::lower(&checked.program, &[crate::SourceFile { name: "ama", text: &text }])
            .unwrap_or_else(|e| panic!("{e}"));
        while program.attributes.len() <= MAX_ATTRIBUTES {
            let name = format!("extra_{}", program.attributes.len());
            program.attributes.push(crate::ir::Attribute { name, kind: crate::ir::AttributeKind::Bool });
        }
        let program = Arc::new(program);
        let jit = Jit::new(program.clone()).unwrap_or_else(|e| panic!("{e}"));
        let interp = Interp::new(program.clone());
        assert_eq!(jit.compiled_campaigns(), 0, "no campaign of such a program runs natively");
        let sym = |s: &str| program.symbols.get(s).unwrap_or(Sym(crate::symbols::FIRST_UNNAMED));
        let tenders =
            [TenderView { method: sym("paypay_balance"), amount: Decimal::from(1000), installments: Decimal::ONE }];
        let tags = [sym("ama-toku-4")];
        let consent = program.attributes.iter().position(|a| a.name == "consent_purchase_data").unwrap_or(0);
        for value in [Value::Absent, Value::Bool(false), Value::Bool(true)] {
            let mut attributes = vec![Value::Absent; program.attributes.len()];
            attributes[consent] = value.clone();
            let view = crate::test_support::paypay_payment(&program, Decimal::from(1000), &tags, &tenders, &attributes);
            assert!(jit.flatten(&view).is_none(), "too many attributes to flatten");
            let expected = interp.evaluate(0, &view, &NoCounters);
            assert_eq!(jit.evaluate(0, &view, &NoCounters), expected, "{value:?}");
            // S4.4: refused consent earns nothing; absent counts as consent.
            let earns = expected.is_ok_and(|o| o.points == Decimal::from(100));
            assert_eq!(earns, value != Value::Bool(false), "{value:?}");
        }
    }

    /// A campaign's counters computed together overflow where one of them would: the payment
    /// is counted one counter at a time then, and each gives the interpreter's contribution
    /// (the one that overflows through the interpreter), whether it counts the payment or not.
    #[test]
    fn counters_computed_together_fall_back_one_by_one_on_overflow() {
        let text = "campaign c {\n  title \"c\"\n  period 2026-01-01 to 2026-12-31 in Asia/Tokyo\n  unit point = 1 JPY\n  \
                    counter n = count payments where amount >= 300 JPY per month\n  \
                    counter huge = sum amount * 1000000000000 per month\n  \
                    counter small = sum amount per period\n  \
                    award 1%\n}\n";
        let checked = camp_lang::check_sources(&[text]);
        assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
        let program = Arc::new(
            crate::lower(&checked.program, &[crate::SourceFile { name: "fused", text }])
                .unwrap_or_else(|e| panic!("{e}")),
        );
        let jit = Jit::new(program.clone()).unwrap_or_else(|e| panic!("{e}"));
        let interp = Interp::new(program.clone());
        assert!(jit.fused.first().is_some_and(Option::is_some), "the three counters compile together");
        let sym = |s: &str| program.symbols.get(s).unwrap_or(Sym(crate::symbols::FIRST_UNNAMED));
        let attributes = vec![Value::Absent; program.attributes.len()];
        // 100 JPY (n does not count it), 5,000 JPY, and 20,000,000 JPY, whose `huge` part
        // (2 × 10^19 JPY) is past an `i64` at four places.
        for amount in [100, 5_000, 20_000_000] {
            let tenders =
                [TenderView { method: sym("cash"), amount: Decimal::from(amount), installments: Decimal::ONE }];
            let view = crate::test_support::paypay_payment(&program, Decimal::from(amount), &[], &tenders, &attributes);
            let (mut expected, mut got) = (crate::PaymentOutcome::default(), crate::PaymentOutcome::default());
            assert_eq!(
                jit.evaluate_payment(&view, &NoCounters, &mut got),
                interp.evaluate_payment(&view, &NoCounters, &mut expected),
                "{amount}"
            );
            assert_eq!(got, expected, "{amount}");
            assert_eq!(got.contributions.len(), if amount >= 300 { 3 } else { 2 }, "{amount}");
        }
    }

    #[test]
    fn tags_beyond_the_bits_of_a_flat_payment_are_still_answered_exactly() {
        // 70 campaigns, each asking for its own tag: 63 get a bit, the rest are tested through
        // the overflow bit, and payments holding one of those let the interpreter answer.
        let campaigns: Vec<String> = (0..70)
            .map(|i| {
                format!(
                    "campaign c{i} {{\n  title \"c{i}\"\n  period 2026-01-01 to 2026-12-31 in Asia/Tokyo\n  unit point = 1 JPY\n  \
                     when merchant.tags has \"t{i}\"\n  award {p}%\n  stack largest in all priority {i}\n}}\n",
                    p = 1 + i % 9
                )
            })
            .collect();
        let text = campaigns.concat() + "group all {\n  title \"all\"\n}\n";
        let checked = camp_lang::check_sources(&[&text]);
        assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
        let program = Arc::new(
            crate::lower(&checked.program, &[crate::SourceFile { name: "tags", text: &text }])
                .unwrap_or_else(|e| panic!("{e}")),
        );
        let jit = Jit::new(program.clone()).unwrap_or_else(|e| panic!("{e}"));
        let interp = Interp::new(program.clone());
        assert_eq!(jit.compiled_campaigns(), 70);
        let sym = |s: &str| program.symbols.get(s).unwrap_or(Sym(crate::symbols::FIRST_UNNAMED));
        let attributes = vec![Value::Absent; program.attributes.len()];
        let tenders = [TenderView { method: sym("cash"), amount: Decimal::from(1000), installments: Decimal::ONE }];
        let (mut native, mut fell_back, mut eligible) = (0, 0, 0);
        for held in [vec![], vec!["t0"], vec!["t62"], vec!["t63"], vec!["t69"], vec!["t5", "t66"], vec!["nobody"]] {
            let tags: Vec<Sym> = held.iter().map(|t| sym(t)).collect();
            let view = crate::test_support::paypay_payment(&program, Decimal::from(1000), &tags, &tenders, &attributes);
            let flat = jit.flatten(&view).unwrap_or_else(|| panic!("flattens"));
            for index in 0..70 {
                let expected = interp.evaluate(index, &view, &NoCounters);
                assert_eq!(jit.evaluate(index, &view, &NoCounters), expected, "c{index} with {held:?}");
                eligible += usize::from(expected.as_ref().is_ok_and(|o| o.ineligible.is_none()));
                let Some((status, _)) = jit.kernel(index, &flat) else { panic!("c{index} is simple") };
                if status == FALL_BACK {
                    fell_back += 1;
                } else {
                    native += 1;
                    let holds = held.contains(&format!("t{index}").as_str());
                    assert_eq!(status == ELIGIBLE, holds, "c{index} with {held:?}");
                }
            }
        }
        assert_eq!(eligible, 6, "each campaign whose tag is held, and only those");
        // Only payments holding a tag without a bit (three of them) make the seven campaigns
        // without a bit fall back; everything else answers natively.
        assert_eq!((native, fell_back), (7 * 70 - 3 * 7, 3 * 7));
    }
}

#[cfg(test)]
mod coverage_tests {
    use super::*;

    #[test]
    fn every_seed_compiles_and_paypay_step_takes_the_general_code() {
        let program = crate::test_support::seeds();
        let jit = Jit::new(program.clone()).unwrap_or_else(|e| panic!("{e}"));
        let ids = |compiled: &dyn Fn(usize) -> bool| -> Vec<&str> {
            (0..program.campaigns.len()).filter(|i| compiled(*i)).map(|i| program.campaigns[i].id.as_str()).collect()
        };
        let simple = ids(&|i| jit.compiled[i].is_some());
        let general = ids(&|i| jit.general[i].is_some());
        assert_eq!(simple, ["ama-toku-4", "amazon-dpoint", "aupay-amazon-2026", "cashless-reduction-2019"]);
        assert_eq!(general, ["paypay-step"]);
        assert_eq!(jit.compiled_campaigns(), 5);
        // PayPay Step's two counters compile too, each alone and both in one function.
        let step = program.campaigns.iter().position(|c| c.id == "paypay-step").unwrap_or(usize::MAX);
        assert!(jit.counters[step].iter().all(Option::is_some));
        assert_eq!(jit.counters[step].len(), 2);
        assert_eq!(jit.fused[step].as_ref().map(|f| f.scales.len()), Some(2));
    }
}

#[cfg(test)]
mod random_campaigns {
    use super::*;
    use crate::view::TenderView;

    use crate::test_support::next;

    const CONDITIONS: &[&str] = &[
        "when channel == in_store",
        "when channel == online",
        "when terminal not in [vending_machine, ticket_machine]",
        "when app == paypay",
        "when app != alipay",
        "when merchant.tags has \"t1\"",
        "unless any item in [tobacco, lottery]",
        "when merchant.class in [\"small\", \"franchise\"]",
        "when merchant.brand == \"amazon\"",
        "when amount >= 500 JPY",
        "when amount < 10000 JPY",
        "when amount == 200 JPY",
        "unless account.consent_purchase_data == false",
        "when account.dpoint_linked == true",
        "when account.aupay_amazon_first_used_at <= 2026-03-30 23:59:59",
        "when account.dpoint_rank >= 3",
        "when currency == \"JPY\"",
        "when channel == online or amount >= 5000 JPY",
        "when not (app == alipay and channel == online)",
        "when hour >= 12",
        // Beyond the simple code: counters, `last month`, `let`s, computed values.
        "when n >= 30",
        "when busy",
        "when was_busy",
        "unless was_busy_window",
        "when spent < 100000 JPY",
        "when weekday in [sat, sun]",
        "when account.aupay_amazon_first_used_at < month_start(at)",
        "when account.aupay_amazon_first_used_at is set",
        "when (account.dpoint_rank default 0) >= 2",
        "when min(amount, 5000 JPY) >= 1000 JPY",
        "when max(paid, 0 JPY) > 0 JPY",
        "when -amount < -1000 JPY",
        "when account.dpoint_rank * 2 >= 6",
        "when weekday == sat or hour < 9",
    ];

    const RATES: &[&str] = &[
        "10%",
        "0.5%",
        "3.25%",
        "(if account.dpoint_linked == true then 2% else 1.5%)",
        "(if amount >= 1000 JPY then 5% else 0%)",
        "class_rate",
        "1% * 2",
        "1% * rank_multiplier",
        "rank_multiplier * 0.5%",
        "(if was_busy then 1.5% else 0.5%)",
        "(if n >= 30 and spent >= 100000 JPY then 2% else 1%)",
        "method_rate",
        "method_rate + (if was_busy_window then 0.5% else 0%)",
        "(if method == paypay_credit and installments == 1 then 1% else 0.5%)",
        "min(class_rate * 2, 5%)",
        "max(class_rate, 1%) - 0.25%",
        "0.5% * multiplier",
        "(rank_multiplier default 1) * 1%",
        "points_by_rank",
        "150 points",
        "(if busy then 300 points else 50 points)",
    ];

    const TENDERS: &[&str] = &[
        "",
        " where method in [paypay_balance, paypay_credit]",
        " where method == paypay_credit and installments == 1 or method == paypay_balance",
        " where method != cash",
    ];

    const CAPS: &[&str] = &[
        "",
        " up to 500/payment",
        " up to 1000/payment, 3000/period",
        " up to 2000/month",
        " up to 7/payment",
        " up to rank_cap/month",
        " up to 100/payment, rank_cap/period",
        " up to rank_cap/payment",
    ];

    const ROUNDING: &[&str] =
        &["", "  rounding half_up", "  rounding ceil", "  rounding half_even", "  rounding floor"];

    fn campaign(state: &mut u64) -> String {
        let mut pick = |n: usize| (next(state) % n as u64) as usize;
        let mut lines = vec![
            "campaign g {".to_string(),
            "  title \"g\"".to_string(),
            "  period 2026-02-01 to 2026-04-30 in Asia/Tokyo".to_string(),
            "  unit p = 1 JPY".to_string(),
            "  table class_rate by merchant.class {".to_string(),
            "    \"small\": 5%".to_string(),
            "    \"franchise\": 2.5%".to_string(),
            "    else: 0.25%".to_string(),
            "  }".to_string(),
            "  table rank_multiplier by account.dpoint_rank {".to_string(),
            "    5: 2.5".to_string(),
            "    4, 3: 2".to_string(),
            "    0: 1.5".to_string(),
            "    else: 1".to_string(),
            "  }".to_string(),
            "  table rank_cap by account.dpoint_rank {".to_string(),
            "    5: 250".to_string(),
            "    0: 50".to_string(),
            "    else: 100".to_string(),
            "  }".to_string(),
            "  table method_rate by method {".to_string(),
            "    paypay_balance: 0.5%".to_string(),
            "    paypay_credit, credit_card: 1.25%".to_string(),
            "    else: 0%".to_string(),
            "  }".to_string(),
            "  table points_by_rank by account.dpoint_rank {".to_string(),
            "    5: 500 points".to_string(),
            "    else: 20 points".to_string(),
            "  }".to_string(),
            "  basis paid = tenders where method in [paypay_balance, paypay_credit]".to_string(),
            "  counter n = count payments where paid >= 300 JPY per month".to_string(),
            "  counter spent = sum paid per month".to_string(),
            "  counter visits = count payments where channel == in_store per period".to_string(),
            "  let busy = n >= 30 and spent >= 100000 JPY".to_string(),
            "  let was_busy = busy last month".to_string(),
            "  let was_busy_window = busy last month window from 1st 12:00".to_string(),
            "  let multiplier = if weekday in [sat, sun] then 5 else 1".to_string(),
        ];
        for _ in 0..pick(5) {
            lines.push(format!("  {}", CONDITIONS[pick(CONDITIONS.len())]));
        }
        let rate = RATES[pick(RATES.len())];
        let first = match pick(6) {
            0 | 1 => " of first 3000 JPY of amount",
            2 => " of paid",
            _ => "",
        };
        lines.push(format!("  award {rate}{first}{}{}", CAPS[pick(CAPS.len())], TENDERS[pick(TENDERS.len())]));
        lines.push(ROUNDING[pick(ROUNDING.len())].to_string());
        lines.push("  stack independent".to_string());
        lines.push("}".to_string());
        lines.join("\n") + "\n"
    }

    #[test]
    fn random_campaigns_give_the_same_outcomes_native_and_interpreted() {
        let mut state = 0x1234_5678_9ABC_DEF1_u64;
        let (mut native, mut programs, mut compared, mut refused) = (0, 0, 0, 0);
        let mut looped = 0;
        for _ in 0..300 {
            let source = campaign(&mut state);
            let checked = camp_lang::check_sources(&[&source]);
            if checked.has_errors() {
                // Generated conditions can contradict each other (E0303): the checker refuses
                // those, rightly; they never reach an evaluator.
                refused += 1;
                continue;
            }
            let program = Arc::new(
                crate::lower(&checked.program, &[crate::SourceFile { name: "g", text: &source }])
                    .unwrap_or_else(|e| panic!("{e}")),
            );
            let jit = Jit::new(program.clone()).unwrap_or_else(|e| panic!("{e}"));
            let interp = Interp::new(program.clone());
            native += jit.compiled_campaigns();
            programs += 1;
            let sym = |s: &str| program.symbols.get(s).unwrap_or(Sym(crate::symbols::FIRST_UNNAMED + 7));
            let methods = ["paypay_balance", "paypay_credit", "cash", "credit_card"].map(sym);
            let at0 = crate::time::nanos(
                chrono::DateTime::parse_from_rfc3339("2026-01-31T23:00:00+09:00").unwrap_or_default().to_utc(),
            );
            let cutoff = crate::time::nanos(
                chrono::DateTime::parse_from_rfc3339("2026-03-31T00:00:00+09:00").unwrap_or_default().to_utc(),
            );
            let mut flats = Vec::new();
            for _ in 0..400 {
                let mut pick = |n: usize| (next(&mut state) % n as u64) as usize;
                let tenders: Vec<TenderView> = (0..1 + pick(3))
                    .map(|_| TenderView {
                        method: methods[pick(methods.len())],
                        amount: Decimal::new(
                            [200, 499, 500, 1000, 4999, 5000, 9999, 20_000, 123_456][pick(9)],
                            [0, 0, 2][pick(3)],
                        ),
                        installments: Decimal::from([1, 1, 3][pick(3)]),
                    })
                    .collect();
                let tags = if pick(2) == 0 { vec![sym("t1")] } else { vec![] };
                let categories = if pick(4) == 0 { vec![sym(["tobacco", "food"][pick(2)])] } else { vec![] };
                // Mostly values of the attribute's kind, as the runtime gives; sometimes another.
                let attributes: Vec<Value> = program
                    .attributes
                    .iter()
                    .map(|a| match (pick(12), a.kind) {
                        (0 | 1, _) => Value::Absent,
                        (2, _) => Value::Bool(pick(2) == 0),
                        (3, _) => Value::Num(Decimal::from(pick(6) as i64)),
                        (_, crate::ir::AttributeKind::Bool) => Value::Bool(pick(2) == 0),
                        (_, crate::ir::AttributeKind::Time) => {
                            Value::Time([cutoff, at0 + 40 * 86_400_000_000_000][pick(2)] + [-1, 0, 1][pick(3)])
                        }
                        (_, crate::ir::AttributeKind::Number) => {
                            Value::Num(Decimal::new(pick(12) as i64, pick(2) as u32))
                        }
                        (_, crate::ir::AttributeKind::Text) => Value::Sym(sym("gold")),
                    })
                    .collect();
                let view = PaymentView {
                    amount: tenders.iter().map(|t| t.amount).sum(),
                    currency: sym(["JPY", "JPY", "USD"][pick(3)]),
                    channel: sym(["in_store", "online"][pick(2)]),
                    terminal: sym(["pos", "vending_machine"][pick(2)]),
                    app: sym(["paypay", "alipay"][pick(2)]),
                    at: at0 + (pick(90 * 24) as i64) * 3_600_000_000_000,
                    merchant: [
                        None,
                        [Some(sym("amazon")), None][pick(2)],
                        None,
                        [Some(sym("small")), Some(sym("franchise")), None][pick(3)],
                        None,
                    ],
                    tags: &tags,
                    categories: &categories,
                    tenders: &tenders,
                    attributes: &attributes,
                    flat: None,
                };
                let counters = super::tests::MixedCounters(next(&mut state));
                assert_eq!(
                    jit.evaluate(0, &view, &counters),
                    interp.evaluate(0, &view, &counters),
                    "campaign:\n{source}\npayment: {view:?}"
                );
                for k in 0..program.campaigns[0].counters.len() {
                    assert_eq!(
                        jit.counter_contribution(0, k, &view, &counters),
                        interp.counter_contribution(0, k, &view, &counters),
                        "counter {k} of\n{source}\npayment: {view:?}"
                    );
                }
                // The whole payment: its awards read the counters with its own contributions.
                let (mut expected, mut got) = (crate::PaymentOutcome::default(), crate::PaymentOutcome::default());
                assert_eq!(
                    jit.evaluate_payment(&view, &counters, &mut got),
                    interp.evaluate_payment(&view, &counters, &mut expected)
                );
                assert_eq!(got, expected, "the whole payment with\n{source}\npayment: {view:?}");
                compared += 1;
                flats.extend(jit.flatten(&view));
            }
            // The loop over many payments finds why a payment is not eligible in place of a
            // call: the same status, and the same values, as the code for one payment.
            let mut many = vec![Evaluated::default(); flats.len()];
            if jit.kernel_many(0, &flats, &mut many).is_some() {
                for (flat, got) in flats.iter().zip(&many) {
                    let (status, values) = jit.kernel(0, flat).unwrap_or_else(|| panic!("simple code"));
                    assert_eq!(got.status, i64::from(status), "status in the loop for\n{source}");
                    if status == ELIGIBLE {
                        assert_eq!(got.values, values, "values in the loop for\n{source}");
                    }
                    looped += usize::from(status != ELIGIBLE);
                }
            }
        }
        assert!(looped > 2_000, "the loop over many payments found only {looped} ineligible");
        let general = super::tests::GENERAL_RUNS.load(std::sync::atomic::Ordering::Relaxed);
        eprintln!("{programs} programs, {native} native, {general} evaluations by general code (all tests so far)");
        assert!(general > 10_000, "general code answered only {general} times");
        assert!(refused * 5 < 300, "{refused} of 300 generated campaigns did not check");
        assert!(native * 2 > programs, "only {native} of {programs} generated campaigns compiled natively");
        assert_eq!(compared, programs * 400);
    }
}
