//! Explanations for planners: why a payment got what it got, tied to source lines.

use std::fmt::Write;

use camp_compiler::ir::{Campaign, Program};
use camp_compiler::view::{Counters, PaymentView};
use camp_compiler::{Evaluator, Ineligible};
use rust_decimal::Decimal;

use crate::account::{Account, PERIOD, Payment};
use crate::{Candidate, month_of};

fn percent(rate: Decimal) -> String {
    format!("{}%", (rate * Decimal::ONE_HUNDRED).normalize())
}

fn zone_name(zone: camp_compiler::ir::Zone) -> String {
    match zone {
        camp_compiler::ir::Zone::Named(tz) => tz.name().to_string(),
        camp_compiler::ir::Zone::Fixed(offset) => offset.to_string(),
    }
}

/// The short reason on an award entry.
pub(crate) fn award_reason(c: &Campaign, cand: &Candidate) -> String {
    let o = &cand.outcome;
    let mut reason = if !c.award.is_rate {
        format!("{} points", o.uncapped)
    } else if c.award.per_tender {
        format!("rate by tender on {} {}, = {}", o.basis.normalize(), "JPY", o.uncapped)
    } else {
        format!("{} of {} = {}", percent(o.value), o.basis.normalize(), o.uncapped)
    };
    if cand.points < o.uncapped {
        let _ = write!(reason, ", cut to {}", cand.points);
        let why = if cand.stacking.is_some() {
            "by stacking"
        } else if o.points < o.uncapped {
            "by the cap per payment"
        } else {
            "by what is left of the account's cap"
        };
        let _ = write!(reason, " {why}");
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

/// The full explanation of one payment, campaign by campaign.
pub(crate) fn payment(
    program: &Program,
    account: &Account,
    payment: &Payment,
    view: &PaymentView<'_>,
    candidates: &[Candidate],
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
    for cand in candidates {
        let c = &program.campaigns[cand.campaign];
        let _ = writeln!(out, "\n{} ({}), {}", c.id, c.source, c.title);
        let o = &cand.outcome;
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
                    ("per account this month", o.caps.month, Some(account.used(cand.campaign, month_of(c, payment.at))))
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
            let _ = writeln!(out, "  stacking: {stacking}");
        }
        let _ = writeln!(out, "  result: {} {}", cand.points, c.unit);
    }
    out
}
