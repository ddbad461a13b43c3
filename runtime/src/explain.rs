//! Explanations for planners: why a payment got what it got, tied to source lines.

use std::fmt::Write;

use camp_compiler::ir::{Campaign, Program};
use camp_compiler::view::{Counters, PaymentView};
use camp_compiler::{Evaluator, Ineligible, Outcome};
use rust_decimal::Decimal;

use crate::account::{Account, PERIOD, Payment};
use crate::{Candidate, Stacking};

fn percent(rate: Decimal) -> String {
    let mut text = String::new();
    push_percent(&mut text, rate);
    text
}

/// Appends a rate (a fraction) as a percentage: `0.105` as `10.5%`.
fn push_percent(out: &mut String, rate: Decimal) {
    push_plain(out, rate * Decimal::ONE_HUNDRED);
    out.push('%');
}

/// Room to write a decimal whose mantissa fits an `i64` at a scale below 20: a sign, 19
/// digits, a point and the zeros before the digits. Also what the ledger writes its integers
/// with.
pub(crate) struct Digits([u8; 48]);

impl Digits {
    pub(crate) fn new() -> Digits {
        Digits([0; 48])
    }

    /// An integer as `Display` writes it.
    pub(crate) fn integer(&mut self, magnitude: u64, negative: bool) -> &str {
        self.write(magnitude, 0, negative).unwrap_or_default()
    }

    /// `d` as `normalize()` and `Display` write it (trailing zeros of the fraction left out:
    /// "1.5", "1200", "-0.25"), or `None` when its mantissa is wider than an `i64` or its
    /// scale is 20 or more.
    fn plain(&mut self, d: Decimal) -> Option<&str> {
        let mut mantissa = i64::try_from(d.mantissa()).ok()?;
        let mut scale = d.scale();
        while scale > 0 && mantissa % 10 == 0 {
            mantissa /= 10;
            scale -= 1;
        }
        self.write(mantissa.unsigned_abs(), scale, mantissa < 0)
    }

    /// `d` as `Display` writes it (every place of its scale), or `None` when it is negative,
    /// its mantissa is wider than a `u64` or its scale is 20 or more.
    fn display(&mut self, d: Decimal) -> Option<&str> {
        if d.is_sign_negative() {
            return None;
        }
        self.write(u64::try_from(d.mantissa()).ok()?, d.scale(), false)
    }

    /// `digits` × 10^-`scale`, with at least one digit before the point.
    fn write(&mut self, digits: u64, scale: u32, negative: bool) -> Option<&str> {
        if scale >= 20 {
            return None;
        }
        let buf = &mut self.0;
        let mut at = buf.len();
        let (mut rest, mut written) = (digits, 0u32);
        loop {
            if written == scale && scale > 0 {
                at -= 1;
                buf[at] = b'.';
            }
            at -= 1;
            buf[at] = b'0' + (rest % 10) as u8;
            rest /= 10;
            written += 1;
            if rest == 0 && written > scale {
                break;
            }
        }
        if negative {
            at -= 1;
            buf[at] = b'-';
        }
        std::str::from_utf8(&buf[at..]).ok()
    }
}

/// Appends `d` as `normalize()` and `Display` write it, without the cost of either for numbers
/// of up to 18 digits: a reason is written for every award.
fn push_plain(out: &mut String, d: Decimal) {
    match Digits::new().plain(d) {
        Some(text) => out.push_str(text),
        None => {
            let _ = write!(out, "{}", d.normalize());
        }
    }
}

/// Appends `d` as `Display` writes it.
fn push_display(out: &mut String, d: Decimal) {
    match Digits::new().display(d) {
        Some(text) => out.push_str(text),
        None => {
            let _ = write!(out, "{d}");
        }
    }
}

fn zone_name(zone: camp_compiler::ir::Zone) -> String {
    match zone {
        camp_compiler::ir::Zone::Named(tz) => tz.name().to_string(),
        camp_compiler::ir::Zone::Fixed(offset) => offset.to_string(),
    }
}

/// The short reason on an award entry. Written piece by piece into one allocation: it is
/// made for every award, and `format!` with its growing string was a fifth of settling one.
pub(crate) fn award_reason(c: &Campaign, cand: &Candidate, o: &Outcome) -> String {
    let mut reason = String::with_capacity(96);
    if !c.award.is_rate {
        push_display(&mut reason, o.uncapped);
        reason.push_str(" points");
    } else if c.award.per_tender {
        reason.push_str("rate by tender on ");
        push_plain(&mut reason, o.basis);
        reason.push_str(" JPY, = ");
        push_display(&mut reason, o.uncapped);
    } else {
        push_percent(&mut reason, o.value);
        reason.push_str(" of ");
        push_plain(&mut reason, o.basis);
        reason.push_str(" = ");
        push_display(&mut reason, o.uncapped);
    }
    if cand.points < o.uncapped {
        reason.push_str(", cut to ");
        push_display(&mut reason, cand.points);
        reason.push_str(if cand.stacking.is_some() {
            " by stacking"
        } else if o.points < o.uncapped {
            " by the cap per payment"
        } else {
            " by what is left of the account's cap"
        });
    }
    reason
}

/// The short reason on a refund adjustment.
pub(crate) fn refund_reason(c: &Campaign, verb: &str, void: bool, refund: Decimal) -> String {
    if void {
        return format!("{verb}: the payment is refunded in full, so its award is void");
    }
    match c.refund {
        camp_compiler::ir::RefundPolicy::Recompute => {
            format!("{verb}: {} taken back; the award is computed again on what is left", refund.normalize())
        }
        camp_compiler::ir::RefundPolicy::Prorate => {
            format!("{verb}: {} taken back; the award shrinks in proportion", refund.normalize())
        }
    }
}

/// What settling a payment decided, for its explanation: each campaign's candidate award and
/// the evaluator's outcome it came from, both by campaign.
pub(crate) struct Decided<'a> {
    pub(crate) candidates: &'a [Candidate],
    pub(crate) outcomes: &'a [Outcome],
}

/// The full explanation of one payment, campaign by campaign.
pub(crate) fn payment(
    program: &Program,
    account: &Account,
    payment: &Payment,
    view: &PaymentView<'_>,
    decided: Decided<'_>,
    evaluator: &dyn Evaluator,
    counters: &dyn Counters,
) -> String {
    let mut out = String::new();
    let zone = program.campaigns.first().map(|c| c.zone);
    let when = match zone {
        Some(zone) => format!(
            "{} ({})",
            camp_compiler::time::local(payment.at, zone).format("%Y-%m-%d %H:%M:%S"),
            zone_name(zone)
        ),
        None => camp_compiler::time::utc(payment.at).to_rfc3339(),
    };
    let _ =
        writeln!(out, "Payment {} at {when}: {} {}", payment.id, payment.amount.normalize(), payment.event.currency);
    let tenders: Vec<String> =
        payment.event.tenders.iter().map(|t| format!("{} {}", t.method, t.amount.normalize())).collect();
    let _ = writeln!(out, "  tenders: {}", tenders.join(", "));
    for (cand, o) in decided.candidates.iter().zip(decided.outcomes) {
        let c = &program.campaigns[cand.campaign];
        let _ = writeln!(out, "\n{} ({}), {}", c.id, c.source, c.title);
        match o.ineligible {
            Some(Ineligible::OutsidePeriod) => {
                let _ = writeln!(out, "  nothing: the payment is outside the campaign's period");
                continue;
            }
            Some(Ineligible::Currency) => {
                let _ = writeln!(
                    out,
                    "  nothing: the payment is in {}, and the points are worth JPY",
                    payment.event.currency
                );
                continue;
            }
            _ => {}
        }
        let results = evaluator.condition_results(cand.campaign, view, counters).unwrap_or_default();
        let failed: Vec<String> = c
            .conditions
            .iter()
            .zip(&results)
            .filter(|(_, holds)| !**holds)
            .map(|(cond, _)| format!("line {}: `{}`", cond.source.line, cond.text))
            .collect();
        if failed.is_empty() {
            let _ = writeln!(out, "  conditions: all {} hold", c.conditions.len());
        } else {
            let _ = writeln!(out, "  nothing: these conditions do not hold:");
            for f in failed {
                let _ = writeln!(out, "    {f}");
            }
            continue;
        }
        if !cand.enrolled {
            let _ = writeln!(
                out,
                "  nothing: the account had not entered the campaign before the payment (entry required)"
            );
            continue;
        }
        let _ =
            writeln!(out, "  basis: {} {} (line {})", o.basis.normalize(), payment.event.currency, c.award.source.line);
        if !c.award.is_rate {
            let _ = writeln!(out, "  award: {} points", o.uncapped);
        } else if c.award.per_tender {
            let _ = writeln!(out, "  rate: by tender, each part rounded: {} points", o.uncapped);
        } else {
            let _ = writeln!(
                out,
                "  rate: {} of {} = {} points after rounding",
                percent(o.value),
                o.basis.normalize(),
                o.uncapped
            );
        }
        for cap in &c.award.caps {
            let (label, limit, used) = match cap.scope {
                camp_compiler::ir::CapScope::Payment => ("per payment", o.caps.payment, None),
                camp_compiler::ir::CapScope::Month => {
                    ("per account this month", o.caps.month, Some(account.used(cand.campaign, c.month_of(payment.at))))
                }
                camp_compiler::ir::CapScope::Period => {
                    ("per account over the period", o.caps.period, Some(account.used(cand.campaign, PERIOD)))
                }
            };
            let limit = limit.map_or("none".to_string(), |l| l.normalize().to_string());
            match used {
                None => {
                    let _ = writeln!(out, "  cap {label} (line {}): {limit}", cap.source.line);
                }
                Some(used) => {
                    let _ = writeln!(
                        out,
                        "  cap {label} (line {}): {limit}, {} awarded before this payment",
                        cap.source.line,
                        used.normalize()
                    );
                }
            }
        }
        if cand.capped < o.points {
            let _ = writeln!(out, "  after the account's caps: {}", cand.capped);
        }
        if let Some(stacking) = &cand.stacking {
            let _ = writeln!(out, "  stacking: {}", stacking.describe(program, cand.campaign));
        }
        let _ = writeln!(out, "  result: {} {}", cand.points, c.unit);
    }
    out
}

impl Stacking {
    /// The explanation's words for what stacking did to campaign `campaign`'s award.
    fn describe(&self, program: &Program, campaign: usize) -> String {
        match *self {
            Stacking::NotLargest { winner, points } => {
                let group = program.campaigns[campaign].stacking.largest_in.as_ref().map_or("", |(g, _)| g.as_str());
                format!(
                    "not applied: only the largest award of group {group} applies, and {}'s {points} is larger",
                    program.campaigns[winner].id
                )
            }
            Stacking::Cut { cut, limit } => {
                let c = &program.campaigns[limit];
                let share = c.stacking.combined.map_or(Decimal::ZERO, |(share, _)| share);
                format!(
                    "cut by {cut}: all awards on this payment together are at most {} of it ({})",
                    percent(share),
                    c.id
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_writes_what_normalize_and_display_write() {
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = || crate::synthetic::next(&mut state);
        let mut values: Vec<Decimal> =
            [0i64, 1, -1, 10, -10, 100, 5, -5, 1_000_000_000_000_000_000, i64::MAX, i64::MIN]
                .iter()
                .flat_map(|&m| (0..=28).map(move |scale| Decimal::new(m, scale)))
                .collect();
        // Wider than an i64, and negative zero.
        values.push(Decimal::from_i128_with_scale(12_345_678_901_234_567_890_123, 3));
        values.push(-Decimal::new(0, 4));
        for _ in 0..20_000 {
            let digits = next() % 16;
            let mantissa = (next() % 10u64.pow(digits as u32)) as i64 * if next() % 3 == 0 { -1 } else { 1 };
            values.push(Decimal::new(mantissa * [1, 10, 1000][(next() % 3) as usize], (next() % 12) as u32));
        }
        for d in values {
            let (mut plain, mut display) = (String::from(">"), String::from(">"));
            push_plain(&mut plain, d);
            push_display(&mut display, d);
            assert_eq!(plain, format!(">{}", d.normalize()), "{d:?}");
            assert_eq!(display, format!(">{d}"), "{d:?}");
        }
    }

    #[test]
    fn grant_dates_read_as_the_ledger_format_writes_them() {
        for (y, m, d) in [(2026, 2, 1), (1, 1, 1), (9999, 12, 31), (10_000, 1, 1), (-1, 3, 4), (0, 6, 30)] {
            let Some(date) = chrono::NaiveDate::from_ymd_opt(y, m, d) else { panic!("{y}-{m}-{d}") };
            assert_eq!(date.to_string(), date.format("%Y-%m-%d").to_string());
        }
    }
}
