//! Native code for campaigns beyond the simple shape of `shape`: any mix of `let`s, tables,
//! counters read this month or `last month`, rates that differ by tender, `if`, `min`/`max`,
//! arithmetic and every rounding mode; and the counters' contributions, one by one or all of a
//! campaign's in one function.
//!
//! Values are typed when compiling ([`V`]): a yes/no is an `i8`; a number is an `i64`
//! mantissa at a scale known when compiling (so `0.5%` is 5 at scale 3), with a register
//! saying whether it is present; a time is nanoseconds; a symbol its integer. Both sides of
//! a choice are computed and one is selected, so the code branches only on the tender loop,
//! on eligibility, on whether a tender is kept (before a per-tender rate), and on the left
//! side of an `and`/`or` whose right side reads something from outside the payment (below);
//! an overflow anywhere returns `FALL_BACK` and the interpreter answers.
//!
//! What needs the time-zone database or the account's state is computed by the caller and
//! handed over as *slots* ([`Slot`]): the start of the payment's month, its weekday and hour
//! in the campaign's zone, and the counters read. The code reads them at fixed offsets. Each
//! is filled in only when the code asks: reaching one not filled in, it calls back into Rust
//! (`fill_slot`, with the pointer the caller handed it) and reads it then, so the code reads
//! the counters the interpreter would read, no more, in one run, and a payment that needs no
//! local time (most do not) costs no call for one.
//!
//! Anything this module does not lower makes the whole function fail to generate (`None`),
//! and the campaign stays with the interpreter: a campaign is never half compiled.

use super::{
    ATTR_NUMBER, ATTR_TIME, ATTR_TRUE, ELIGIBLE, FALL_BACK, FlatPayment, FlatTender, Gen, JitError, SCALE, jit_error,
    small_whole,
};
use crate::interp::{Pred, SymField};
use crate::ir::{AttributeKind, BinaryOp, Builtin, Campaign, CapScope, Expr, Field, Rounding, Value};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{AbiParam, InstBuilder, MemFlagsData, Signature, Value as Reg, types};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::JITModule;
use cranelift_module::{FuncId, Linkage, Module};
use std::mem::offset_of;

/// The most slots one function reads. The slot after them says which slots are filled in,
/// one bit each.
pub(crate) const MAX_SLOTS: usize = 16;

/// The most decimal places a number in generated code may have: ten to this fits an `i64`.
const MAX_SCALE: u32 = 18;

/// A value the caller computes for the code, once per call, when the code first needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    /// The start of the payment's month in the campaign's zone (nanoseconds).
    MonthStart,
    /// The payment's weekday in the campaign's zone, as the symbol the interpreter uses.
    Weekday,
    /// The payment's hour in the campaign's zone.
    Hour,
    /// A counter, × 10^SCALE: for the payment's month, for the count period of a `last month`
    /// window (its offset), or for the whole period.
    Counter { counter: u32, window: Option<i64> },
}

/// What generated code keeps once computed, per scope (see `Gen::lets`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Named {
    Let(u32),
    Basis(u32),
}

/// A value in generated code; `present` is `None` when it is always present.
#[derive(Clone, Copy, Debug)]
pub(crate) enum V {
    Bool(Reg),
    Num { m: Reg, scale: u32, present: Option<Reg> },
    Time { t: Reg, present: Option<Reg> },
    Sym { s: Reg, present: Option<Reg> },
}

/// What `generate_award` made: the function and how to read what it writes.
#[derive(Debug)]
pub(crate) struct AwardCode {
    pub id: FuncId,
    pub slots: Vec<Slot>,
    /// The scale of the award's value (`out[3]`).
    pub value_scale: u32,
}

/// What `generate_counter` made.
#[derive(Debug)]
pub(crate) struct CounterCode {
    pub id: FuncId,
    pub slots: Vec<Slot>,
    /// The scale of the contribution (`out[0]`).
    pub scale: u32,
}

/// The bits of `out[7]`: which caps are present.
pub(crate) const HAS_PAYMENT_CAP: i64 = 1;
pub(crate) const HAS_MONTH_CAP: i64 = 2;
pub(crate) const HAS_PERIOD_CAP: i64 = 4;

fn pow10(n: u32) -> Option<i64> {
    10i64.checked_pow(n)
}

/// A function `(payment, out, slots) -> status` under construction; `None` from `body`
/// abandons it.
fn build<T>(
    module: &mut JITModule,
    bits: &mut super::SetBits,
    name: &str,
    kinds: &[AttributeKind],
    body: impl FnOnce(&mut Gen<'_>, Reg) -> Option<T>,
) -> Result<Option<(FuncId, Vec<Slot>, T)>, JitError> {
    let pointer = module.target_config().pointer_type();
    let mut context = module.make_context();
    for _ in 0..4 {
        context.func.signature.params.push(AbiParam::new(pointer));
    }
    context.func.signature.returns.push(AbiParam::new(types::I32));
    let mut builder_context = FunctionBuilderContext::new();
    let made = {
        let mut b = FunctionBuilder::new(&mut context.func, &mut builder_context);
        let params = super::enter(&mut b);
        let mut g = Gen::new(b, pointer, params[0], bits);
        g.slots_ptr = Some(params[2]);
        g.fill_ptr = Some(params[3]);
        g.kinds = kinds.to_vec();
        match body(&mut g, params[1]) {
            Some(made) => {
                let slots = std::mem::take(&mut g.slots);
                g.b.finalize(module.target_config());
                Some((slots, made))
            }
            None => None,
        }
    };
    let Some((slots, made)) = made else {
        module.clear_context(&mut context);
        return Ok(None);
    };
    let id = module.declare_function(name, Linkage::Local, &context.func.signature).map_err(jit_error)?;
    module.define_function(id, &mut context).map_err(jit_error)?;
    module.clear_context(&mut context);
    Ok(Some((id, slots, made)))
}

/// The award function of a campaign: status as in the simple code, and `out` = `[basis ×
/// 10^SCALE, points before caps, points after the per-payment cap, the value's mantissa,
/// month cap, period cap, payment cap, which caps are present]`.
pub(crate) fn generate_award(
    module: &mut JITModule,
    bits: &mut super::SetBits,
    index: usize,
    c: &Campaign,
    preds: &(Vec<Pred>, Option<Pred>),
    kinds: &[AttributeKind],
) -> Result<Option<AwardCode>, JitError> {
    let award = &c.award;
    // Awards in a unit worth other than one of the currency divide exactly in the
    // interpreter; that division is not lowered.
    if c.unit_value != rust_decimal::Decimal::ONE || c.bases.get(award.basis).is_none() {
        return Ok(None);
    }
    let made = build(module, bits, &format!("award_{index}"), kinds, |g, out| {
        let conditions = preds.0.iter().map(|pred| g.holds(pred, c)).collect::<Option<Vec<Reg>>>()?;
        g.eligibility(c, &conditions);

        let basis = c.bases.get(award.basis)?;
        let first = match basis.first {
            Some(first) => Some(super::scaled(first)?),
            None => None,
        };
        let filter = preds.1.as_ref();
        let zero = g.b.ins().iconst(types::I64, 0);
        let (total, uncapped, value, value_scale) = if award.is_rate && award.per_tender {
            // Each tender at its own rate, each part rounded; the first N are taken from the
            // tenders in order.
            let total = g.b.declare_var(types::I64);
            let points = g.b.declare_var(types::I64);
            let room = g.b.declare_var(types::I64);
            g.b.def_var(total, zero);
            g.b.def_var(points, zero);
            let start_room = g.b.ins().iconst(types::I64, first.unwrap_or(0));
            g.b.def_var(room, start_room);
            g.tender_loop(|g, tender| {
                let keep = g.tender_kept(filter, c)?;
                let amount = g.load(types::I64, tender, offset_of!(FlatTender, amount));
                let mut amount = g.b.ins().select(keep, amount, zero);
                if first.is_some() {
                    let left = g.b.use_var(room);
                    amount = g.b.ins().smin(amount, left);
                    let (left, overflow) = g.b.ins().ssub_overflow(left, amount);
                    g.exit_if(overflow, FALL_BACK);
                    g.b.def_var(room, left);
                }
                let before = g.b.use_var(total);
                let after = g.checked_add(before, amount);
                g.b.def_var(total, after);
                // The rate only for a tender the basis keeps (another adds nothing): a rate
                // read from counters is then read only for payments that earn.
                let whole = g.only_if(keep, true, zero, |g| {
                    let (rate, scale) = g.number_or_zero(&award.value, c)?;
                    let (part, overflow) = g.b.ins().smul_overflow(rate, amount);
                    g.exit_if(overflow, FALL_BACK);
                    g.round(part, scale.checked_add(SCALE)?, c.rounding)
                })?;
                let before = g.b.use_var(points);
                let after = g.checked_add(before, whole);
                g.b.def_var(points, after);
                Some(())
            })?;
            let (total, points) = (g.b.use_var(total), g.b.use_var(points));
            (total, points, zero, 0)
        } else {
            let mut total = g.sum_tenders(|g| g.tender_kept(filter, c))?;
            if let Some(first) = first {
                let first = g.b.ins().iconst(types::I64, first);
                total = g.b.ins().smin(total, first);
            }
            let (value, scale) = g.number_or_zero(&award.value, c)?;
            let (raw, raw_scale) = if award.is_rate {
                let (product, overflow) = g.b.ins().smul_overflow(value, total);
                g.exit_if(overflow, FALL_BACK);
                (product, scale.checked_add(SCALE)?)
            } else {
                let positive = g.b.ins().icmp_imm_s(IntCC::SignedGreaterThan, total, 0);
                (g.b.ins().select(positive, value, zero), scale)
            };
            let points = g.round(raw, raw_scale, c.rounding)?;
            (total, points, value, scale)
        };

        // Caps, as evaluated: whole numbers only, so that they read back as the interpreter's.
        let mut caps = [None, None, None];
        for cap in &award.caps {
            let V::Num { m, scale: 0, present } = g.val(&cap.value, c)? else { return None };
            let present = present.unwrap_or_else(|| g.b.ins().iconst(types::I8, 1));
            let slot = match cap.scope {
                CapScope::Month => 0,
                CapScope::Period => 1,
                CapScope::Payment => 2,
            };
            caps[slot] = Some((m, present));
        }
        let mut points = uncapped;
        if let Some((cap, present)) = caps[2] {
            let cap = g.b.ins().smax(cap, zero);
            let capped = g.b.ins().smin(uncapped, cap);
            points = g.b.ins().select(present, capped, uncapped);
        }
        let flags = MemFlagsData::trusted();
        let mut bits = g.b.ins().iconst(types::I64, 0);
        for (slot, (cap, bit)) in caps.iter().zip([HAS_MONTH_CAP, HAS_PERIOD_CAP, HAS_PAYMENT_CAP]).enumerate() {
            if let Some((m, present)) = cap {
                g.b.ins().store(flags, *m, out, 32 + 8 * i32::try_from(slot).ok()?);
                let wide = g.b.ins().uextend(types::I64, *present);
                let bit = g.b.ins().imul_imm_u(wide, bit);
                bits = g.b.ins().bor(bits, bit);
            }
        }
        g.b.ins().store(flags, total, out, 0);
        g.b.ins().store(flags, uncapped, out, 8);
        g.b.ins().store(flags, points, out, 16);
        g.b.ins().store(flags, value, out, 24);
        g.b.ins().store(flags, bits, out, 56);
        let ok = g.b.ins().iconst(types::I32, i64::from(ELIGIBLE));
        g.b.ins().return_(&[ok]);
        Some(value_scale)
    })?;
    Ok(made.map(|(id, slots, value_scale)| AwardCode { id, slots, value_scale }))
}

/// What a payment adds to counter `k`: status 0 when the counter's filter leaves it out, 1
/// with `out[0]` the contribution's mantissa, `FALL_BACK` on overflow.
pub(crate) fn generate_counter(
    module: &mut JITModule,
    bits: &mut super::SetBits,
    index: usize,
    k: usize,
    c: &Campaign,
    kinds: &[AttributeKind],
) -> Result<Option<CounterCode>, JitError> {
    let Some(counter) = c.counters.get(k) else { return Ok(None) };
    let made = build(module, bits, &format!("counter_{index}_{k}"), kinds, |g, out| {
        if let Some(filter) = &counter.filter {
            let holds = g.test(filter, c)?;
            g.exit_unless(holds, 0);
        }
        let (value, scale) = match &counter.sum {
            None => (g.b.ins().iconst(types::I64, 1), 0),
            Some(e) => g.number_or_zero(e, c)?,
        };
        g.b.ins().store(MemFlagsData::trusted(), value, out, 0);
        let one = g.b.ins().iconst(types::I32, 1);
        g.b.ins().return_(&[one]);
        Some(scale)
    })?;
    Ok(made.map(|(id, slots, scale)| CounterCode { id, slots, scale }))
}

/// The most counters [`generate_counters`] computes in one function: what it writes fits the
/// eight `i64`s an award's code writes.
pub(crate) const MAX_FUSED_COUNTERS: usize = 8;

/// What `generate_counters` made: the function and the scale of each contribution.
#[derive(Debug)]
pub(crate) struct CountersCode {
    pub id: FuncId,
    /// By counter: the scale of `out[k]`.
    pub scales: Vec<u32>,
}

/// What a payment adds to every counter of campaign `index`, in one function (a counter's
/// own code computes its tenders again, and each call costs as much as the code): status
/// bit `k` set when counter `k` counts the payment, `out[k]` then its contribution's
/// mantissa; `FALL_BACK` on overflow anywhere, and the counters are then asked one by one
/// (which is how an overflow in a counter that does not count the payment is forgiven).
/// Only for two to [`MAX_FUSED_COUNTERS`] counters that read nothing from outside the
/// payment: then each one's contribution does not depend on the others'. `None` otherwise.
pub(crate) fn generate_counters(
    module: &mut JITModule,
    bits: &mut super::SetBits,
    index: usize,
    c: &Campaign,
    kinds: &[AttributeKind],
) -> Result<Option<CountersCode>, JitError> {
    let outside = |e: &Option<Expr>| e.as_ref().is_some_and(|e| e.reads_outside_payment(c));
    if !(2..=MAX_FUSED_COUNTERS).contains(&c.counters.len())
        || c.counters.iter().any(|k| outside(&k.filter) || outside(&k.sum))
    {
        return Ok(None);
    }
    let made = build(module, bits, &format!("counters_{index}"), kinds, |g, out| {
        let mut counted = g.b.ins().iconst(types::I32, 0);
        let mut scales = Vec::new();
        for (k, counter) in c.counters.iter().enumerate() {
            let holds = match &counter.filter {
                Some(filter) => g.test(filter, c)?,
                None => g.b.ins().iconst(types::I8, 1),
            };
            let (value, scale) = match &counter.sum {
                None => (g.b.ins().iconst(types::I64, 1), 0),
                Some(e) => g.number_or_zero(e, c)?,
            };
            g.b.ins().store(MemFlagsData::trusted(), value, out, i32::try_from(8 * k).ok()?);
            let holds = g.b.ins().uextend(types::I32, holds);
            let bit = g.b.ins().ishl_imm_u(holds, i64::try_from(k).ok()?);
            counted = g.b.ins().bor(counted, bit);
            scales.push(scale);
        }
        g.b.ins().return_(&[counted]);
        Some(scales)
    })?;
    Ok(made.filter(|(_, slots, _)| slots.is_empty()).map(|(id, _, scales)| CountersCode { id, scales }))
}

impl Gen<'_> {
    /// Whether the tender at hand is part of the award's basis.
    fn tender_kept(&mut self, filter: Option<&Pred>, c: &Campaign) -> Option<Reg> {
        match filter {
            Some(pred) => self.holds(pred, c),
            None => Some(self.b.ins().iconst(types::I8, 1)),
        }
    }

    /// A precompiled predicate, exactly as `Ctx::holds` decides it.
    fn holds(&mut self, pred: &Pred, c: &Campaign) -> Option<Reg> {
        match pred {
            Pred::General(e) => self.test(e, c),
            Pred::SymIs { field: SymField::Method, .. } | Pred::SymIn { field: SymField::Method, .. }
                if self.tender.is_none() =>
            {
                None
            }
            // `pred` reads yes/no attributes; an attribute compared with a number or a time
            // is compared as the general code compares values.
            Pred::AttrIs { index, value, equal, want } if !matches!(value, Value::Bool(_)) => {
                let op = if *equal { BinaryOp::Eq } else { BinaryOp::Ne };
                let e = Expr::Binary(
                    op,
                    Box::new(Expr::Field(Field::Attribute(*index))),
                    Box::new(Expr::Const(value.clone())),
                );
                let holds = self.test(&e, c)?;
                Some(if *want { holds } else { self.b.ins().bxor_imm_u(holds, 1) })
            }
            p => Some(self.pred(p, c)),
        }
    }

    /// A slot's value, loaded from the slots the caller filled.
    fn slot(&mut self, slot: Slot) -> Option<Reg> {
        let base = self.slots_ptr?;
        let index = match self.slots.iter().position(|s| *s == slot) {
            Some(i) => i,
            None if self.slots.len() < MAX_SLOTS => {
                self.slots.push(slot);
                self.slots.len() - 1
            }
            None => return None,
        };
        {
            // Not filled in yet: `fill_slot(fill, index)` fills it, or says the interpreter
            // must answer. Every slot is filled so, when the code first gets to it: most
            // payments need none (a counter is a look-up in the account, a month start or an
            // hour a call into the time-zone code).
            let fill = self.fill_ptr?;
            let filled = self.b.ins().load(types::I64, MemFlagsData::trusted(), base, 8 * MAX_SLOTS as i32);
            let bit = self.b.ins().band_imm_u(filled, 1i64 << index);
            let call = self.b.create_block();
            let go_on = self.b.create_block();
            self.b.ins().brif(bit, go_on, &[], call, &[]);
            self.b.switch_to_block(call);
            self.b.seal_block(call);
            let mut signature = Signature::new(self.b.func.signature.call_conv);
            signature.params.push(AbiParam::new(self.pointer));
            signature.params.push(AbiParam::new(types::I64));
            signature.returns.push(AbiParam::new(types::I32));
            let signature = self.b.import_signature(signature);
            let callee = super::fill_slot as *const () as usize;
            let callee = self.b.ins().iconst(self.pointer, i64::try_from(callee).ok()?);
            let slot_index = self.b.ins().iconst(types::I64, i64::try_from(index).ok()?);
            let done = self.b.ins().call_indirect(signature, callee, &[fill, slot_index]);
            let status = *self.b.inst_results(done).first()?;
            let failed = self.b.ins().icmp_imm_u(IntCC::NotEqual, status, 0);
            self.exit_if(failed, FALL_BACK);
            self.b.ins().jump(go_on, &[]);
            self.b.switch_to_block(go_on);
            self.b.seal_block(go_on);
        }
        let offset = i32::try_from(8 * index).ok()?;
        Some(self.b.ins().load(types::I64, MemFlagsData::trusted(), base, offset))
    }

    /// A mantissa at scale `from` brought to scale `to` (not lower), overflow-checked.
    fn rescale(&mut self, m: Reg, from: u32, to: u32) -> Option<Reg> {
        if to == from {
            return Some(m);
        }
        let factor = pow10(to.checked_sub(from)?)?;
        let factor = self.b.ins().iconst(types::I64, factor);
        let (product, overflow) = self.b.ins().smul_overflow(m, factor);
        self.exit_if(overflow, FALL_BACK);
        Some(product)
    }

    /// Two numbers at one scale.
    fn align(&mut self, (a, sa): (Reg, u32), (b, sb): (Reg, u32)) -> Option<(Reg, Reg, u32)> {
        let scale = sa.max(sb);
        Some((self.rescale(a, sa, scale)?, self.rescale(b, sb, scale)?, scale))
    }

    /// Both present (`None`: always).
    fn both(&mut self, a: Option<Reg>, b: Option<Reg>) -> Option<Reg> {
        match (a, b) {
            (Some(a), Some(b)) => Some(self.b.ins().band(a, b)),
            (x, None) | (None, x) => x,
        }
    }

    fn present_reg(&mut self, present: Option<Reg>) -> Reg {
        match present {
            Some(p) => p,
            None => self.b.ins().iconst(types::I8, 1),
        }
    }

    /// A number read as the interpreter's `number(e).unwrap_or(0)`: its mantissa and scale.
    fn number_or_zero(&mut self, e: &Expr, c: &Campaign) -> Option<(Reg, u32)> {
        let V::Num { m, scale, present } = self.val(e, c)? else { return None };
        Some(match present {
            Some(p) => {
                let zero = self.b.ins().iconst(types::I64, 0);
                (self.b.ins().select(p, m, zero), scale)
            }
            None => (m, scale),
        })
    }

    /// A non-negative part of the amount clamped at zero, then rounded to whole points as
    /// `interp::round` does.
    fn round(&mut self, m: Reg, scale: u32, rounding: Rounding) -> Option<Reg> {
        if scale > MAX_SCALE {
            return None;
        }
        let zero = self.b.ins().iconst(types::I64, 0);
        let m = self.b.ins().smax(m, zero);
        if scale == 0 {
            return Some(m);
        }
        let d = pow10(scale)?;
        let q = self.b.ins().sdiv_imm_s(m, d);
        if rounding == Rounding::Floor {
            return Some(q);
        }
        let r = self.b.ins().srem_imm_s(m, d);
        let up = match rounding {
            Rounding::Ceil => self.b.ins().icmp_imm_s(IntCC::SignedGreaterThan, r, 0),
            Rounding::HalfUp => {
                let twice = self.b.ins().iadd(r, r);
                self.b.ins().icmp_imm_s(IntCC::SignedGreaterThanOrEqual, twice, d)
            }
            _ => {
                let twice = self.b.ins().iadd(r, r);
                let over = self.b.ins().icmp_imm_s(IntCC::SignedGreaterThan, twice, d);
                let half = self.b.ins().icmp_imm_s(IntCC::Equal, twice, d);
                let odd = self.b.ins().band_imm_s(q, 1);
                let odd = self.b.ins().icmp_imm_s(IntCC::NotEqual, odd, 0);
                let tie_up = self.b.ins().band(half, odd);
                self.b.ins().bor(over, tie_up)
            }
        };
        let up = self.b.ins().uextend(types::I64, up);
        Some(self.b.ins().iadd(q, up))
    }

    /// `value` computed only when `condition` (an `i8`) is `when`, else `otherwise` (of the
    /// same type): a real branch, for values that read counters or need not be computed.
    /// `let`s computed inside do not reach past it.
    fn only_if(
        &mut self,
        condition: Reg,
        when: bool,
        otherwise: Reg,
        value: impl FnOnce(&mut Self) -> Option<Reg>,
    ) -> Option<Reg> {
        let computed = self.b.create_block();
        let merged = self.b.create_block();
        let ty = self.b.func.dfg.value_type(otherwise);
        self.b.append_block_param(merged, ty);
        if when {
            self.b.ins().brif(condition, computed, &[], merged, &[otherwise.into()]);
        } else {
            self.b.ins().brif(condition, merged, &[otherwise.into()], computed, &[]);
        }
        self.b.switch_to_block(computed);
        self.b.seal_block(computed);
        self.lets.push(std::collections::HashMap::new());
        let made = value(self)?;
        self.lets.pop();
        self.b.ins().jump(merged, &[made.into()]);
        self.b.switch_to_block(merged);
        self.b.seal_block(merged);
        Some(self.b.block_params(merged)[0])
    }

    /// A yes/no expression as an `i8` 0 or 1, exactly as `Ctx::test` decides it.
    fn test(&mut self, e: &Expr, c: &Campaign) -> Option<Reg> {
        match e {
            Expr::Binary(op @ (BinaryOp::And | BinaryOp::Or), a, b) if b.reads_outside_payment(c) => {
                // Counters (each a look-up in the account) and the payment's local month,
                // weekday and hour (each a call into Rust) are found only when the left side
                // leaves the answer open, as the interpreter finds them.
                let x = self.test(a, c)?;
                self.only_if(x, *op == BinaryOp::And, x, |g| g.test(b, c))
            }
            Expr::Binary(op @ (BinaryOp::And | BinaryOp::Or), a, b) => {
                let (x, y) = (self.test(a, c)?, self.test(b, c)?);
                Some(if *op == BinaryOp::And { self.b.ins().band(x, y) } else { self.b.ins().bor(x, y) })
            }
            Expr::Const(v) => Some(self.b.ins().iconst(types::I8, i64::from(*v == Value::Bool(true)))),
            Expr::Field(Field::Attribute(i)) => {
                // Truthy only when it holds `true`.
                let tag = self.attribute_tag(*i);
                Some(self.b.ins().icmp_imm_u(IntCC::Equal, tag, i64::from(ATTR_TRUE)))
            }
            _ => match self.val(e, c)? {
                V::Bool(r) => Some(r),
                _ => Some(self.b.ins().iconst(types::I8, 0)),
            },
        }
    }

    /// Basis `i`: its tenders summed (at most `first N` of them).
    fn basis(&mut self, i: usize, c: &Campaign) -> Option<V> {
        let basis = c.bases.get(i)?;
        let mut total = self.sum_tenders(|g| match &basis.tenders {
            Some(filter) => g.test(filter, c),
            None => Some(g.b.ins().iconst(types::I8, 1)),
        })?;
        if let Some(first) = basis.first {
            let first = self.b.ins().iconst(types::I64, super::scaled(first)?);
            total = self.b.ins().smin(total, first);
        }
        Some(V::Num { m: total, scale: SCALE, present: None })
    }

    /// A value, as `Ctx::eval` computes it.
    fn val(&mut self, e: &Expr, c: &Campaign) -> Option<V> {
        match e {
            Expr::Const(v) => self.constant(v),
            Expr::Field(f) => self.field(*f),
            Expr::Let(i) => {
                let key = (Named::Let(*i), self.window);
                if let Some(v) = self.lets.iter().rev().find_map(|scope| scope.get(&key)) {
                    return Some(*v);
                }
                let v = self.val(c.lets.get(*i as usize)?, c)?;
                self.lets.last_mut()?.insert(key, v);
                Some(v)
            }
            Expr::Table(i) => self.table(*i as usize, c),
            Expr::Basis(i) => {
                // A basis is a loop over the tenders: summed once where it is read again
                // (the counters of `generate_counters` read the same one).
                let key = (Named::Basis(*i), self.window);
                if let Some(v) = self.lets.iter().rev().find_map(|scope| scope.get(&key)) {
                    return Some(*v);
                }
                let v = self.basis(*i as usize, c)?;
                self.lets.last_mut()?.insert(key, v);
                Some(v)
            }
            Expr::Counter(i) => {
                let window = match c.counters.get(*i as usize)?.scope {
                    crate::ir::CounterScope::Month => self.window,
                    crate::ir::CounterScope::Period => None,
                };
                let m = self.slot(Slot::Counter { counter: *i, window })?;
                Some(V::Num { m, scale: SCALE, present: None })
            }
            Expr::Not(a) => match self.val(a, c)? {
                V::Bool(r) => Some(V::Bool(self.b.ins().bxor_imm_u(r, 1))),
                _ => None,
            },
            Expr::Neg(a) => match self.val(a, c)? {
                V::Num { m, scale, present } => {
                    let zero = self.b.ins().iconst(types::I64, 0);
                    let (negated, overflow) = self.b.ins().ssub_overflow(zero, m);
                    self.exit_if(overflow, FALL_BACK);
                    Some(V::Num { m: negated, scale, present })
                }
                _ => None,
            },
            Expr::Binary(op, a, b) => self.binary(*op, e, a, b, c),
            Expr::If(condition, a, b) => {
                let holds = self.test(condition, c)?;
                let (x, y) = (self.val(a, c)?, self.val(b, c)?);
                self.choose(holds, x, y)
            }
            Expr::LastMonth(a, window) => {
                let saved = self.window.replace(window.offset);
                let v = self.val(a, c);
                self.window = saved;
                v
            }
            Expr::Default(a, b) => {
                let (x, y) = (self.val(a, c)?, self.val(b, c)?);
                let Some(present) = presence(x) else { return Some(x) };
                let either = match presence(y) {
                    Some(py) => Some(self.b.ins().bor(present, py)),
                    None => None,
                };
                let chosen = self.choose(present, x, y)?;
                Some(with_presence(chosen, either))
            }
            Expr::IsSet(a) => {
                let v = self.val(a, c)?;
                let present = presence(v);
                Some(V::Bool(self.present_reg(present)))
            }
            Expr::Call(Builtin::MonthStart, args) => match args.as_slice() {
                [Expr::Field(Field::At)] => Some(V::Time { t: self.slot(Slot::MonthStart)?, present: None }),
                _ => None,
            },
            Expr::Call(f @ (Builtin::Min | Builtin::Max), args) => {
                let [a, b] = args.as_slice() else { return None };
                let (x, y) = (self.val(a, c)?, self.val(b, c)?);
                let (a_first, present) = match (x, y) {
                    (V::Num { m: p, scale: sp, present: pp }, V::Num { m: q, scale: sq, present: pq }) => {
                        let (p, q, _) = self.align((p, sp), (q, sq))?;
                        (self.b.ins().icmp(IntCC::SignedLessThanOrEqual, p, q), self.both(pp, pq))
                    }
                    (V::Time { t: p, present: pp }, V::Time { t: q, present: pq }) => {
                        (self.b.ins().icmp(IntCC::SignedLessThanOrEqual, p, q), self.both(pp, pq))
                    }
                    _ => return None,
                };
                let take_a = if *f == Builtin::Min { a_first } else { self.b.ins().bxor_imm_u(a_first, 1) };
                let chosen = self.choose(take_a, x, y)?;
                Some(with_presence(chosen, present))
            }
            _ => None,
        }
    }

    fn constant(&mut self, v: &Value) -> Option<V> {
        Some(match v {
            Value::Bool(b) => V::Bool(self.b.ins().iconst(types::I8, i64::from(*b))),
            Value::Num(n) => {
                if n.scale() > MAX_SCALE {
                    return None;
                }
                let m = i64::try_from(n.mantissa()).ok()?;
                V::Num { m: self.b.ins().iconst(types::I64, m), scale: n.scale(), present: None }
            }
            Value::Time(t) => V::Time { t: self.b.ins().iconst(types::I64, *t), present: None },
            Value::Sym(s) => V::Sym { s: self.b.ins().iconst(types::I32, i64::from(s.0)), present: None },
            Value::Absent | Value::Duration(_) | Value::List(_) => return None,
        })
    }

    fn field(&mut self, f: Field) -> Option<V> {
        let payment = self.payment;
        Some(match f {
            Field::Amount => V::Num {
                m: self.load(types::I64, payment, offset_of!(FlatPayment, amount)),
                scale: SCALE,
                present: None,
            },
            Field::At => V::Time { t: self.load(types::I64, payment, offset_of!(FlatPayment, at)), present: None },
            Field::Weekday => {
                let day = self.slot(Slot::Weekday)?;
                V::Sym { s: self.b.ins().ireduce(types::I32, day), present: None }
            }
            Field::Hour => V::Num { m: self.slot(Slot::Hour)?, scale: 0, present: None },
            Field::Installments => {
                let tender = self.tender?;
                let n = self.load(types::I32, tender, offset_of!(FlatTender, installments));
                V::Num { m: self.b.ins().uextend(types::I64, n), scale: 0, present: None }
            }
            Field::Attribute(i) => match self.kinds.get(usize::from(i))? {
                AttributeKind::Time => {
                    let tag = self.attribute_tag(i);
                    let present = self.b.ins().icmp_imm_u(IntCC::Equal, tag, i64::from(ATTR_TIME));
                    V::Time { t: self.attribute_value(i), present: Some(present) }
                }
                AttributeKind::Number => {
                    let tag = self.attribute_tag(i);
                    let present = self.b.ins().icmp_imm_u(IntCC::Equal, tag, i64::from(ATTR_NUMBER));
                    V::Num { m: self.attribute_value(i), scale: SCALE, present: Some(present) }
                }
                // A yes/no attribute may be absent, which a `V::Bool` cannot say; text
                // attributes are not flattened.
                AttributeKind::Bool | AttributeKind::Text => return None,
            },
            Field::Method if self.tender.is_none() => return None,
            Field::Tags | Field::ItemCategories => return None,
            f => {
                let field = Pred::sym_field_of(&f)?;
                let (s, present) = self.sym(field);
                V::Sym { s, present }
            }
        })
    }

    /// `if holds then x else y`, for values of one kind.
    fn choose(&mut self, holds: Reg, x: V, y: V) -> Option<V> {
        let present = match (presence(x), presence(y)) {
            (None, None) => None,
            (px, py) => {
                let (px, py) = (self.present_reg(px), self.present_reg(py));
                Some(self.b.ins().select(holds, px, py))
            }
        };
        Some(match (x, y) {
            (V::Bool(a), V::Bool(b)) => V::Bool(self.b.ins().select(holds, a, b)),
            (V::Num { m: a, scale: sa, .. }, V::Num { m: b, scale: sb, .. }) => {
                let (a, b, scale) = self.align((a, sa), (b, sb))?;
                V::Num { m: self.b.ins().select(holds, a, b), scale, present }
            }
            (V::Time { t: a, .. }, V::Time { t: b, .. }) => V::Time { t: self.b.ins().select(holds, a, b), present },
            (V::Sym { s: a, .. }, V::Sym { s: b, .. }) => V::Sym { s: self.b.ins().select(holds, a, b), present },
            _ => return None,
        })
    }

    fn binary(&mut self, op: BinaryOp, e: &Expr, a: &Expr, b: &Expr, c: &Campaign) -> Option<V> {
        match op {
            BinaryOp::And | BinaryOp::Or => return Some(V::Bool(self.test(e, c)?)),
            BinaryOp::In | BinaryOp::Has | BinaryOp::Intersects => {
                return match Pred::of(e) {
                    Pred::General(_) => None,
                    p => Some(V::Bool(self.holds(&p, c)?)),
                };
            }
            _ => {}
        }
        if matches!(op, BinaryOp::Eq | BinaryOp::Ne) {
            // Comparisons the interpreter precompiles (a symbol field against a constant, an
            // attribute against a constant).
            if let p @ (Pred::SymIs { .. } | Pred::SymIn { .. } | Pred::AttrIs { value: Value::Bool(_), .. }) =
                Pred::of(e)
            {
                return Some(V::Bool(self.holds(&p, c)?));
            }
            if let (Expr::Field(Field::Installments), Some(n)) = (a, small_whole(b)) {
                let tender = self.tender?;
                let installments = self.load(types::I32, tender, offset_of!(FlatTender, installments));
                let cc = if op == BinaryOp::Eq { IntCC::Equal } else { IntCC::NotEqual };
                return Some(V::Bool(self.b.ins().icmp_imm_u(cc, installments, i64::from(n))));
            }
        }
        let (x, y) = (self.val(a, c)?, self.val(b, c)?);
        if matches!(op, BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul) {
            let (V::Num { m: p, scale: sp, present: pp }, V::Num { m: q, scale: sq, present: pq }) = (x, y) else {
                return None;
            };
            let present = self.both(pp, pq);
            let (m, scale) = if op == BinaryOp::Mul {
                let scale = sp.checked_add(sq).filter(|s| *s <= MAX_SCALE)?;
                let (m, overflow) = self.b.ins().smul_overflow(p, q);
                self.exit_if(overflow, FALL_BACK);
                (m, scale)
            } else {
                let (p, q, scale) = self.align((p, sp), (q, sq))?;
                let (m, overflow) = if op == BinaryOp::Add {
                    self.b.ins().sadd_overflow(p, q)
                } else {
                    self.b.ins().ssub_overflow(p, q)
                };
                self.exit_if(overflow, FALL_BACK);
                (m, scale)
            };
            return Some(V::Num { m, scale, present });
        }
        let cc = super::comparison(op)?;
        let ordered = !matches!(op, BinaryOp::Eq | BinaryOp::Ne);
        let (holds, present) = match (x, y) {
            (V::Num { m: p, scale: sp, present: pp }, V::Num { m: q, scale: sq, present: pq }) => {
                let (p, q, _) = self.align((p, sp), (q, sq))?;
                (self.b.ins().icmp(cc, p, q), self.both(pp, pq))
            }
            (V::Time { t: p, present: pp }, V::Time { t: q, present: pq }) => {
                (self.b.ins().icmp(cc, p, q), self.both(pp, pq))
            }
            (V::Sym { s: p, present: pp }, V::Sym { s: q, present: pq }) if !ordered => {
                (self.b.ins().icmp(cc, p, q), self.both(pp, pq))
            }
            (V::Bool(p), V::Bool(q)) if !ordered => (self.b.ins().icmp(cc, p, q), None),
            // Values of different kinds: never equal, never ordered; `!=` holds when both
            // are present.
            (x, y) => {
                let no = self.b.ins().iconst(types::I8, 0);
                if op != BinaryOp::Ne {
                    return Some(V::Bool(no));
                }
                let yes = self.b.ins().iconst(types::I8, 1);
                (yes, self.both(presence(x), presence(y)))
            }
        };
        Some(V::Bool(match present {
            Some(p) => self.b.ins().band(p, holds),
            None => holds,
        }))
    }

    /// A table lookup: the first row whose keys hold the key, else the `else` row, else
    /// absent. Rows are numbers (or absent without an `else`).
    fn table(&mut self, i: usize, c: &Campaign) -> Option<V> {
        let table = c.tables.get(i)?;
        let key = self.val(&table.key, c)?;
        let mut values = Vec::new();
        for (_, value) in &table.rows {
            let V::Num { m, scale, present } = self.val(value, c)? else { return None };
            values.push((m, scale, present));
        }
        let default = match &table.default {
            Some(d) => {
                let V::Num { m, scale, present } = self.val(d, c)? else { return None };
                Some((m, scale, present))
            }
            None => None,
        };
        let scale = values.iter().chain(default.iter()).map(|v| v.1).max().unwrap_or(0);
        let (mut chosen, mut present) = match default {
            Some((m, s, p)) => (self.rescale(m, s, scale)?, self.present_reg(p)),
            None => (self.b.ins().iconst(types::I64, 0), self.b.ins().iconst(types::I8, 0)),
        };
        // Later rows first, so that the first matching row is the one left.
        for ((keys, _), (m, s, p)) in table.rows.iter().zip(values).rev() {
            let mut hit = self.b.ins().iconst(types::I8, 0);
            for k in keys {
                let eq = self.key_equals(key, k)?;
                hit = self.b.ins().bor(hit, eq);
            }
            let m = self.rescale(m, s, scale)?;
            chosen = self.b.ins().select(hit, m, chosen);
            let p = self.present_reg(p);
            present = self.b.ins().select(hit, p, present);
        }
        Some(V::Num { m: chosen, scale, present: Some(present) })
    }

    /// Whether a (possibly absent) key equals a row's constant.
    fn key_equals(&mut self, key: V, row: &Value) -> Option<Reg> {
        let (eq, present) = match (key, row) {
            (V::Sym { s, present }, Value::Sym(r)) => {
                (self.b.ins().icmp_imm_u(IntCC::Equal, s, i64::from(r.0)), present)
            }
            (V::Time { t, present }, Value::Time(r)) => (self.b.ins().icmp_imm_s(IntCC::Equal, t, *r), present),
            (V::Num { m, scale, present }, Value::Num(r)) => {
                let r_m = i64::try_from(r.mantissa()).ok()?;
                let r_reg = self.b.ins().iconst(types::I64, r_m);
                let (p, q, _) = self.align((m, scale), (r_reg, r.scale()))?;
                (self.b.ins().icmp(IntCC::Equal, p, q), present)
            }
            (V::Bool(b), Value::Bool(r)) => (self.b.ins().icmp_imm_u(IntCC::Equal, b, i64::from(*r)), None),
            _ => (self.b.ins().iconst(types::I8, 0), None),
        };
        Some(match present {
            Some(p) => self.b.ins().band(p, eq),
            None => eq,
        })
    }
}

fn presence(v: V) -> Option<Reg> {
    match v {
        V::Bool(_) => None,
        V::Num { present, .. } | V::Time { present, .. } | V::Sym { present, .. } => present,
    }
}

fn with_presence(v: V, present: Option<Reg>) -> V {
    match v {
        V::Bool(r) => V::Bool(r),
        V::Num { m, scale, .. } => V::Num { m, scale, present },
        V::Time { t, .. } => V::Time { t, present },
        V::Sym { s, .. } => V::Sym { s, present },
    }
}
