//! Static analyses over checked campaigns: conditions that can never hold, campaigns that
//! can fire on one payment with no stacking rule between them, undecidable ties.
//!
//! The analyses are sound in one direction only: what they report is certain (the
//! conditions really contradict each other), but they do not find every contradiction.
//! They read comparisons of a field with a constant, joined by `and`.

use std::collections::HashMap;

use rust_decimal::Decimal;

use crate::ast::Span;
use crate::diag::{Diagnostic, Message, Related, StackProblem};
use crate::typed::{BinaryOp, Campaign, Expr, ExprKind, Value};
use crate::vocab::{FieldId, Vocabulary};

#[derive(Clone, Debug)]
enum Constraint {
    Eq(Value),
    Ne(Value),
    In(Vec<Value>),
    NotIn(Vec<Value>),
    Lower(Decimal, bool),
    Upper(Decimal, bool),
}

#[derive(Clone, Debug)]
struct Atom {
    field: FieldId,
    constraint: Constraint,
    span: Span,
}

/// An ordered key for values that have an order.
fn key(v: &Value) -> Option<Decimal> {
    match v {
        Value::Number(n) | Value::Rate(n) | Value::Money(n, _) | Value::Points(n) => Some(*n),
        Value::Timestamp(t) => {
            Some(Decimal::from(t.timestamp()) + Decimal::new(i64::from(t.timestamp_subsec_nanos()), 9))
        }
        _ => None,
    }
}

fn atoms(e: &Expr, negated: bool, out: &mut Vec<Atom>) {
    match &e.kind {
        ExprKind::Not(inner) => atoms(inner, !negated, out),
        ExprKind::Binary(BinaryOp::And, a, b) if !negated => {
            atoms(a, false, out);
            atoms(b, false, out);
        }
        ExprKind::Binary(BinaryOp::Or, a, b) if negated => {
            atoms(a, true, out);
            atoms(b, true, out);
        }
        ExprKind::Binary(op, a, b) => {
            let (field, value, op) = match (&a.kind, &b.kind) {
                (ExprKind::Field(f), ExprKind::Const(v)) => (*f, v, *op),
                (ExprKind::Const(v), ExprKind::Field(f)) => (*f, v, mirror(*op)),
                _ => return,
            };
            let op = if negated { negate(op) } else { Some(op) };
            let constraint = match (op, value) {
                (Some(BinaryOp::Eq), v) => Constraint::Eq(v.clone()),
                (Some(BinaryOp::Ne), v) => Constraint::Ne(v.clone()),
                (Some(BinaryOp::In), Value::List(l)) if !negated => Constraint::In(l.clone()),
                (Some(BinaryOp::In), Value::List(l)) => Constraint::NotIn(l.clone()),
                (Some(BinaryOp::Lt), v) => match key(v) {
                    Some(k) => Constraint::Upper(k, true),
                    None => return,
                },
                (Some(BinaryOp::Le), v) => match key(v) {
                    Some(k) => Constraint::Upper(k, false),
                    None => return,
                },
                (Some(BinaryOp::Gt), v) => match key(v) {
                    Some(k) => Constraint::Lower(k, true),
                    None => return,
                },
                (Some(BinaryOp::Ge), v) => match key(v) {
                    Some(k) => Constraint::Lower(k, false),
                    None => return,
                },
                _ => return,
            };
            out.push(Atom { field, constraint, span: e.span });
        }
        _ => {}
    }
}

fn mirror(op: BinaryOp) -> BinaryOp {
    match op {
        BinaryOp::Lt => BinaryOp::Gt,
        BinaryOp::Le => BinaryOp::Ge,
        BinaryOp::Gt => BinaryOp::Lt,
        BinaryOp::Ge => BinaryOp::Le,
        // `const in field` is not a constraint this analysis reads.
        BinaryOp::In => BinaryOp::Has,
        other => other,
    }
}

/// The negation of a comparison; `In` stays `In` and the caller reads it as `not in`.
fn negate(op: BinaryOp) -> Option<BinaryOp> {
    Some(match op {
        BinaryOp::Eq => BinaryOp::Ne,
        BinaryOp::Ne => BinaryOp::Eq,
        BinaryOp::Lt => BinaryOp::Ge,
        BinaryOp::Le => BinaryOp::Gt,
        BinaryOp::Gt => BinaryOp::Le,
        BinaryOp::Ge => BinaryOp::Lt,
        BinaryOp::In => BinaryOp::In,
        _ => return None,
    })
}

/// What one field may still be.
#[derive(Default)]
struct Feasible {
    allowed: Option<Vec<Value>>,
    excluded: Vec<Value>,
    lower: Option<(Decimal, bool)>,
    upper: Option<(Decimal, bool)>,
}

impl Feasible {
    fn add(&mut self, c: &Constraint) {
        let restrict = |allowed: &mut Option<Vec<Value>>, to: &[Value]| {
            *allowed = Some(match allowed.take() {
                Some(a) => a.into_iter().filter(|v| to.contains(v)).collect(),
                None => to.to_vec(),
            });
        };
        match c {
            Constraint::Eq(v) => restrict(&mut self.allowed, std::slice::from_ref(v)),
            Constraint::In(l) => restrict(&mut self.allowed, l),
            Constraint::Ne(v) => self.excluded.push(v.clone()),
            Constraint::NotIn(l) => self.excluded.extend(l.iter().cloned()),
            Constraint::Lower(k, strict) => {
                let tighter =
                    self.lower.is_none_or(|(old, old_strict)| *k > old || (*k == old && *strict && !old_strict));
                if tighter {
                    self.lower = Some((*k, *strict));
                }
            }
            Constraint::Upper(k, strict) => {
                let tighter =
                    self.upper.is_none_or(|(old, old_strict)| *k < old || (*k == old && *strict && !old_strict));
                if tighter {
                    self.upper = Some((*k, *strict));
                }
            }
        }
    }

    fn in_interval(&self, k: Decimal) -> bool {
        let above = self.lower.is_none_or(|(lo, strict)| if strict { k > lo } else { k >= lo });
        let below = self.upper.is_none_or(|(hi, strict)| if strict { k < hi } else { k <= hi });
        above && below
    }

    fn possible(&self) -> bool {
        if let (Some((lo, lo_strict)), Some((hi, hi_strict))) = (self.lower, self.upper)
            && (lo > hi || (lo == hi && (lo_strict || hi_strict)))
        {
            return false;
        }
        match &self.allowed {
            None => true,
            Some(values) => {
                values.iter().any(|v| !self.excluded.contains(v) && key(v).is_none_or(|k| self.in_interval(k)))
            }
        }
    }
}

/// The first atom that makes the conjunction of `atoms` impossible, with the field's first
/// constraint.
fn contradiction(atoms: &[Atom]) -> Option<(&Atom, Span)> {
    let mut fields: HashMap<FieldId, (Feasible, Span)> = HashMap::new();
    for atom in atoms {
        let (feasible, first) = fields.entry(atom.field).or_insert_with(|| (Feasible::default(), atom.span));
        feasible.add(&atom.constraint);
        if !feasible.possible() {
            return Some((atom, *first));
        }
    }
    None
}

/// E0303: reports conditions of one campaign that can never all hold.
pub fn never_holds(conditions: &[Expr], diags: &mut Vec<Diagnostic>) {
    let mut all = Vec::new();
    for c in conditions {
        if let ExprKind::Const(Value::Bool(false)) = c.kind
            && c.ty == crate::types::Ty::Bool
        {
            diags.push(Diagnostic::error(Message::NeverHolds { field: "false".into() }, c.span));
            return;
        }
        atoms(c, false, &mut all);
    }
    if let Some((atom, first)) = contradiction(&all) {
        let field = Vocabulary::standard().fields[atom.field].path.clone();
        let mut d = Diagnostic::error(Message::NeverHolds { field }, atom.span);
        if first.start != atom.span.start || first.end != atom.span.end {
            d = d.with_related(first, Related::ConflictsWithThis);
        }
        diags.push(d);
    }
}

fn periods_overlap(a: &Campaign, b: &Campaign) -> bool {
    let a_before_b_ends = match (a.start, b.end) {
        (Some(s), Some(e)) => s < e,
        _ => true,
    };
    let b_before_a_ends = match (b.start, a.end) {
        (Some(s), Some(e)) => s < e,
        _ => true,
    };
    a_before_b_ends && b_before_a_ends
}

fn can_fire_together(a: &Campaign, b: &Campaign) -> bool {
    if !periods_overlap(a, b) {
        return false;
    }
    let mut all = Vec::new();
    for c in a.conditions.iter().chain(&b.conditions) {
        atoms(c, false, &mut all);
    }
    contradiction(&all).is_none()
}

/// E0304 and E0311 across campaigns checked together.
pub fn cross_campaign(campaigns: &[Campaign]) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    // Ties: each campaign is reported once, against the first to hold its group and priority.
    let mut holders: HashMap<(&str, u32), &Campaign> = HashMap::new();
    for c in campaigns {
        let Some((group, priority)) = &c.stacking.largest_in else { continue };
        match holders.get(&(group.as_str(), *priority)) {
            Some(first) => diags.push(Diagnostic {
                file: c.origin.file,
                ..Diagnostic::error(
                    Message::StackConflict(StackProblem::SamePriority {
                        group: group.clone(),
                        other: first.id.clone(),
                    }),
                    c.stacking.span,
                )
            }),
            None => {
                holders.insert((group.as_str(), *priority), c);
            }
        }
    }
    // Overlaps: only campaigns without any stacking rule can be at fault, so only they are
    // compared with the others.
    for (i, a) in campaigns.iter().enumerate() {
        for (j, b) in campaigns.iter().enumerate() {
            let first_report_of_pair = !b.stacking.declared() && j < i;
            if i == j || a.stacking.declared() || first_report_of_pair || !can_fire_together(a, b) {
                continue;
            }
            let mut d = Diagnostic::error(Message::Overlap { campaign: a.id.clone(), other: b.id.clone() }, a.id_span);
            if a.origin.file == b.origin.file {
                d = d.with_related(b.id_span, Related::OtherCampaign);
            }
            diags.push(Diagnostic { file: a.origin.file, ..d });
        }
    }
    diags
}
