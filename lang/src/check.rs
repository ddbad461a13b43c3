//! Syntax tree to [`typed`] program: names resolved against the vocabulary and the
//! campaign's own definitions, types and units checked, campaign rules checked.
//!
//! Checking never stops at the first problem: every diagnostic of every file is collected,
//! and an expression that has an error gets the type [`Ty::Error`], which fits anywhere, so a
//! mistake is reported once.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use rust_decimal::Decimal;

use crate::analysis;
use crate::ast::{self, Span};
use crate::diag::{Diagnostic, FileId, Line, Message, NameKind, Place, Positive, Related, Severity, StackProblem};
use crate::suggest::closest;
use crate::typed::{self, BinaryOp, Builtin, ExprKind, Value, Zone};
use crate::types::Ty;
use crate::vocab::{FieldSource, Vocabulary};

/// The result of checking: the program (complete only when there are no errors) and every
/// diagnostic, errors and warnings.
#[derive(Debug)]
pub struct Checked {
    /// The typed program. Campaigns with errors are left out.
    pub program: typed::Program,
    /// Every diagnostic of every file, in file and source order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    /// True when any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Parses and checks campaign sources together (file ids are their indices).
pub fn check_sources(sources: &[&str]) -> Checked {
    let mut syntax = Vec::new();
    let files: Vec<ast::File> = sources
        .iter()
        .enumerate()
        .map(|(file, text)| {
            let (tree, diagnostics) = crate::syntax::parse(text);
            syntax.extend(diagnostics.into_iter().map(|d| Diagnostic { file, ..d }));
            tree
        })
        .collect();
    let mut checked = check_with_syntax_errors(&files, &syntax);
    syntax.append(&mut checked.diagnostics);
    syntax.sort_by_key(|d| (d.file, d.span.start));
    checked.diagnostics = syntax;
    checked
}

/// Checks parsed files together: campaign ids, stacking and overlaps are checked across
/// files. File ids in diagnostics are indices into `files`.
pub fn check(files: &[ast::File]) -> Checked {
    check_with_syntax_errors(files, &[])
}

fn check_with_syntax_errors(files: &[ast::File], syntax: &[Diagnostic]) -> Checked {
    let vocabulary = Vocabulary::standard();
    let mut diagnostics = Vec::new();
    let mut campaigns = Vec::new();
    let mut units: Vec<typed::Unit> = Vec::new();
    for (file, tree) in files.iter().enumerate() {
        for decl in &tree.decls {
            let ast::Decl::Unit(u) = decl else { continue };
            if u.value.amount <= Decimal::ZERO {
                diagnostics.push(Diagnostic {
                    file,
                    ..Diagnostic::error(Message::NotPositive { what: Positive::UnitValue }, u.value.span)
                });
            }
            units.push(typed::Unit {
                name: u.name.name.clone(),
                value: u.value.amount,
                currency: u.value.currency.clone(),
            });
        }
    }
    let mut seen_ids: HashMap<String, (FileId, Span)> = HashMap::new();
    for (file, tree) in files.iter().enumerate() {
        for decl in &tree.decls {
            let ast::Decl::Campaign(campaign) = decl else { continue };
            let before = diagnostics.len();
            if let Some((first_file, first_span)) = seen_ids.get(&campaign.id.name) {
                let mut d =
                    Diagnostic::error(Message::DuplicateCampaign { id: campaign.id.name.clone() }, campaign.id.span);
                if *first_file == file {
                    d = d.with_related(*first_span, Related::FirstDefinedHere);
                }
                diagnostics.push(Diagnostic { file, ..d });
            } else {
                seen_ids.insert(campaign.id.name.clone(), (file, campaign.id.span));
            }
            let broken = syntax
                .iter()
                .any(|d| d.file == file && d.span.start >= campaign.span.start && d.span.start <= campaign.span.end);
            let mut local = Vec::new();
            let typed = check_campaign(vocabulary, file, campaign, broken, &mut local);
            diagnostics.extend(local.into_iter().map(|d| Diagnostic { file, ..d }));
            let has_errors = diagnostics[before..].iter().any(Diagnostic::is_error);
            if !has_errors && !broken {
                campaigns.push(typed);
            }
        }
    }
    diagnostics.extend(analysis::cross_campaign(&campaigns));
    diagnostics.sort_by_key(|d| (d.file, d.span.start));
    Checked { program: typed::Program { vocabulary, campaigns, units }, diagnostics }
}

// ---------------------------------------------------------------- one campaign

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Def {
    Let(usize),
    Table(usize),
    Basis(usize),
    Counter(usize),
}

#[derive(Clone, Debug)]
enum State<T> {
    Todo,
    InProgress,
    Done(T),
}

/// What is known about a definition once checked.
#[derive(Clone, Debug)]
struct Info {
    ty: Ty,
    /// Reads a field of one tender.
    tender: bool,
    /// Reads a per-month counter.
    monthly: bool,
}

struct Checker<'a> {
    vocab: &'static Vocabulary,
    zone: Zone,
    diags: &'a mut Vec<Diagnostic>,
    names: HashMap<String, (Def, Span)>,
    used: HashMap<String, bool>,
    lets: Vec<(&'a ast::Ident, &'a ast::Expr)>,
    tables: Vec<&'a ast::Table>,
    bases: Vec<(&'a ast::Ident, &'a ast::Basis)>,
    counters: Vec<&'a ast::Counter>,
    let_state: Vec<State<(typed::Let, Info)>>,
    table_state: Vec<State<(typed::Table, Info)>>,
    basis_state: Vec<State<typed::Basis>>,
    counter_state: Vec<State<(typed::Counter, Info)>>,
    /// Whether tender fields may be read here.
    tender_ok: bool,
}

fn default_zone() -> Zone {
    Zone::Named(chrono_tz::Asia::Tokyo)
}

fn check_campaign(
    vocab: &'static Vocabulary,
    file: FileId,
    campaign: &ast::Campaign,
    broken: bool,
    diags: &mut Vec<Diagnostic>,
) -> typed::Campaign {
    let id = campaign.id.name.clone();
    let mut title: Option<&ast::Str> = None;
    let mut sponsor: Option<&ast::Str> = None;
    let mut period: Option<(&ast::Period, Span)> = None;
    let mut unit: Option<typed::Unit> = None;
    let mut entry_required = false;
    let mut rounding = None;
    let mut refund = None;
    let mut award: Option<(&ast::Award, Span)> = None;
    let mut grants: Vec<(&ast::Grant, Span)> = Vec::new();
    let mut stacks: Vec<(&ast::Stack, Span)> = Vec::new();
    let mut first_seen: HashMap<&'static str, Span> = HashMap::new();
    let mut once = |line: Line, key: &'static str, span: Span, diags: &mut Vec<Diagnostic>| -> bool {
        if let Some(first) = first_seen.get(key) {
            diags.push(
                Diagnostic::error(Message::RepeatedLine { line }, span).with_related(*first, Related::FirstDefinedHere),
            );
            false
        } else {
            first_seen.insert(key, span);
            true
        }
    };

    let mut checker = Checker {
        vocab,
        zone: default_zone(),
        diags,
        names: HashMap::new(),
        used: HashMap::new(),
        lets: Vec::new(),
        tables: Vec::new(),
        bases: Vec::new(),
        counters: Vec::new(),
        let_state: Vec::new(),
        table_state: Vec::new(),
        basis_state: Vec::new(),
        counter_state: Vec::new(),
        tender_ok: false,
    };

    // First pass: the header lines, and every name the campaign defines.
    for item in &campaign.items {
        let span = item.span;
        match &item.kind {
            ast::ItemKind::Title(s) => {
                if once(Line::Title, "title", span, checker.diags) {
                    title = Some(s);
                }
            }
            ast::ItemKind::Sponsor(s) => {
                if once(Line::Sponsor, "sponsor", span, checker.diags) {
                    sponsor = Some(s);
                }
            }
            ast::ItemKind::Period(p) => {
                if once(Line::Period, "period", span, checker.diags) {
                    period = Some((p, span));
                }
            }
            ast::ItemKind::Unit { name, value } => {
                if once(Line::Unit, "unit", span, checker.diags) {
                    if value.amount <= Decimal::ZERO {
                        checker
                            .diags
                            .push(Diagnostic::error(Message::NotPositive { what: Positive::UnitValue }, value.span));
                    }
                    unit = Some(typed::Unit {
                        name: name.name.clone(),
                        value: value.amount,
                        currency: value.currency.clone(),
                    });
                }
            }
            ast::ItemKind::EntryRequired => {
                if once(Line::Entry, "entry", span, checker.diags) {
                    entry_required = true;
                }
            }
            ast::ItemKind::Rounding(r) => {
                if once(Line::Rounding, "rounding", span, checker.diags) {
                    rounding = Some(*r);
                }
            }
            ast::ItemKind::Refund { policy, retroactive } => {
                if once(Line::Refund, "refund", span, checker.diags) {
                    refund = Some((*policy, *retroactive, span));
                }
            }
            ast::ItemKind::Award(a) => {
                if once(Line::Award, "award", span, checker.diags) {
                    award = Some((a, span));
                }
            }
            ast::ItemKind::Grant(g) => grants.push((g, span)),
            ast::ItemKind::Stack(s) => {
                let (line, key) = match s {
                    ast::Stack::Combined { .. } => (Line::Combined, "combined"),
                    _ => (Line::Stack, "stack"),
                };
                if once(line, key, span, checker.diags) {
                    stacks.push((s, span));
                } else if matches!(s, ast::Stack::Independent | ast::Stack::Largest { .. }) {
                    // A second membership line contradicts the first only in one way worth its
                    // own message: independent and grouped at once.
                    let both = stacks.iter().any(|(t, _)| !matches!(t, ast::Stack::Combined { .. }) && *t != s);
                    if both {
                        checker
                            .diags
                            .push(Diagnostic::error(Message::StackConflict(StackProblem::IndependentAndGrouped), span));
                    }
                }
            }
            ast::ItemKind::Let { name, value } => {
                if checker.define(name, Def::Let(checker.lets.len())) {
                    checker.lets.push((name, value));
                    checker.let_state.push(State::Todo);
                }
            }
            ast::ItemKind::Table(t) => {
                if checker.define(&t.name, Def::Table(checker.tables.len())) {
                    checker.tables.push(t);
                    checker.table_state.push(State::Todo);
                }
            }
            ast::ItemKind::Basis { name, basis } => {
                if checker.define(name, Def::Basis(checker.bases.len())) {
                    checker.bases.push((name, basis));
                    checker.basis_state.push(State::Todo);
                }
            }
            ast::ItemKind::Counter(c) => {
                if checker.define(&c.name, Def::Counter(checker.counters.len())) {
                    checker.counters.push(c);
                    checker.counter_state.push(State::Todo);
                }
            }
            ast::ItemKind::When(_) | ast::ItemKind::Unless(_) => {}
        }
    }

    // The zone first: every time literal below is read in it.
    let (start, end) = match period {
        Some((p, _)) => {
            if let Some(zone) = &p.zone {
                checker.zone = parse_zone(zone, checker.diags);
            }
            let start = p.start.as_ref().map(|i| checker.utc(i.start()));
            let end = p.end.as_ref().map(|i| checker.utc(i.end()));
            if let (Some(s), Some(e), Some(end_instant)) = (start, end, p.end.as_ref())
                && e <= s
            {
                let start_span = p.start.as_ref().map_or(end_instant.span, |i| i.span);
                checker.diags.push(
                    Diagnostic::error(Message::ImpossiblePeriod, end_instant.span)
                        .with_related(start_span, Related::ConflictsWithThis),
                );
            }
            (start, end)
        }
        None => (None, None),
    };

    // Conditions.
    let mut conditions = Vec::new();
    for item in &campaign.items {
        let (expr, negate) = match &item.kind {
            ast::ItemKind::When(e) => (e, false),
            ast::ItemKind::Unless(e) => (e, true),
            _ => continue,
        };
        let cond = checker.condition(expr);
        conditions.push(if negate { not(cond) } else { cond });
    }

    // The award.
    let typed_award = match award {
        Some((a, span)) => Some(checker.award(a, span)),
        None => {
            if !broken {
                checker.diags.push(Diagnostic::error(
                    Message::MissingLine { campaign: id.clone(), line: Line::Award },
                    campaign.id.span,
                ));
            }
            None
        }
    };

    // Every definition, even unused ones, is checked; unused ones are reported.
    for i in 0..checker.lets.len() {
        checker.let_info(i);
    }
    for i in 0..checker.tables.len() {
        checker.table_info(i);
    }
    for i in 0..checker.bases.len() {
        checker.basis(i);
    }
    for i in 0..checker.counters.len() {
        checker.counter_info(i);
    }
    let mut unused: Vec<(Span, String)> = checker
        .used
        .iter()
        .filter(|(_, used)| !**used)
        .filter_map(|(n, _)| checker.names.get(n).map(|(_, s)| (*s, n.clone())))
        .collect();
    unused.sort_by_key(|(s, _)| s.start);
    for (span, name) in unused {
        checker.diags.push(Diagnostic::warning(Message::Unused { name }, span));
    }

    for (line, present) in
        [(Line::Title, title.is_some()), (Line::Period, period.is_some()), (Line::Unit, unit.is_some())]
    {
        if !present && !broken {
            checker
                .diags
                .push(Diagnostic::error(Message::MissingLine { campaign: id.clone(), line }, campaign.id.span));
        }
    }

    let grants = checker.grants(&grants);
    let stacking = stacking(&stacks, checker.diags);
    analysis::never_holds(&conditions, checker.diags);

    let Checker { zone, let_state, table_state, basis_state, counter_state, .. } = checker;
    let lets = let_state.into_iter().filter_map(done).map(|(l, _)| l).collect();
    let tables = table_state.into_iter().filter_map(done).map(|(t, _)| t).collect();
    let mut bases: Vec<typed::Basis> = basis_state.into_iter().filter_map(done).collect();
    let counters = counter_state.into_iter().filter_map(done).map(|(c, _)| c).collect();
    let award = match typed_award {
        Some((value, is_rate, basis, caps, span)) => {
            bases.push(basis);
            typed::Award { value, is_rate, basis: bases.len() - 1, caps, span }
        }
        None => {
            bases.push(typed::Basis { name: "amount".into(), tenders: None, first: None, span: campaign.id.span });
            typed::Award {
                value: constant(Value::Rate(Decimal::ZERO), Ty::Rate, campaign.id.span),
                is_rate: true,
                basis: bases.len() - 1,
                caps: Vec::new(),
                span: campaign.id.span,
            }
        }
    };
    let (refund, retroactive, refund_span) = refund.unwrap_or((ast::RefundPolicy::Recompute, false, campaign.id.span));
    typed::Campaign {
        id,
        title: title.map(|t| t.value.clone()).unwrap_or_default(),
        sponsor: sponsor.map(|s| s.value.clone()),
        origin: typed::Origin { file, span: campaign.span },
        id_span: campaign.id.span,
        zone,
        start,
        end,
        unit: unit.unwrap_or(typed::Unit { name: "point".into(), value: Decimal::ONE, currency: "JPY".into() }),
        entry_required,
        conditions,
        lets,
        tables,
        bases,
        counters,
        award,
        rounding: rounding.unwrap_or(ast::Rounding::Floor),
        grants,
        refund,
        retroactive,
        refund_span,
        stacking,
    }
}

/// Starts checking a definition. `Ok(())`: check it now. `Err(Some(r))`: it was checked
/// already and `r` is what is known of it. `Err(None)`: it is being checked, so it depends on
/// itself (reported here).
fn enter<T, R>(
    state: &mut State<T>,
    name: &ast::Ident,
    diags: &mut Vec<Diagnostic>,
    known: impl FnOnce(&T) -> R,
) -> Result<(), Option<R>> {
    match state {
        State::Done(t) => Err(Some(known(t))),
        State::InProgress => {
            diags.push(Diagnostic::error(Message::Cycle { name: name.name.clone() }, name.span));
            Err(None)
        }
        State::Todo => {
            *state = State::InProgress;
            Ok(())
        }
    }
}

fn done<T>(state: State<T>) -> Option<T> {
    match state {
        State::Done(t) => Some(t),
        _ => None,
    }
}

fn constant(value: Value, ty: Ty, span: Span) -> typed::Expr {
    typed::Expr { kind: ExprKind::Const(value), ty, span }
}

fn not(e: typed::Expr) -> typed::Expr {
    let span = e.span;
    typed::Expr { kind: ExprKind::Not(Box::new(e)), ty: Ty::Bool, span }
}

fn binary(op: BinaryOp, a: typed::Expr, b: typed::Expr, ty: Ty) -> typed::Expr {
    let span = a.span.to(b.span);
    typed::Expr { kind: ExprKind::Binary(op, Box::new(a), Box::new(b)), ty, span }
}

fn error_expr(span: Span) -> typed::Expr {
    typed::Expr { kind: ExprKind::Const(Value::Bool(false)), ty: Ty::Error, span }
}

fn parse_zone(zone: &ast::Ident, diags: &mut Vec<Diagnostic>) -> Zone {
    if let Ok(tz) = chrono_tz::Tz::from_str(&zone.name) {
        return Zone::Named(tz);
    }
    if let Ok(offset) = chrono::FixedOffset::from_str(&zone.name) {
        return Zone::Fixed(offset);
    }
    let suggestion = closest(&zone.name, chrono_tz::TZ_VARIANTS.iter().map(|t| t.name())).map(str::to_string);
    diags.push(Diagnostic::error(Message::UnknownZone { name: zone.name.clone(), suggestion }, zone.span));
    default_zone()
}

fn stacking(stacks: &[(&ast::Stack, Span)], diags: &mut Vec<Diagnostic>) -> typed::Stacking {
    let mut stacking = typed::Stacking::default();
    if let Some((_, span)) = stacks.first() {
        stacking.span = *span;
    }
    for (stack, span) in stacks {
        match stack {
            ast::Stack::Independent => stacking.independent = true,
            ast::Stack::Largest { group, priority } => {
                stacking.largest_in = Some((group.name.clone(), priority.unwrap_or(u32::MAX)));
            }
            ast::Stack::Combined { share, cut_first } => {
                if *share <= Decimal::ZERO || *share > Decimal::ONE_HUNDRED {
                    diags.push(Diagnostic::error(Message::StackConflict(StackProblem::ShareOutOfRange), *span));
                }
                stacking.combined = Some((*share / Decimal::ONE_HUNDRED, *cut_first));
            }
        }
    }
    stacking
}

type AwardParts = (typed::Expr, bool, typed::Basis, Vec<typed::Cap>, Span);

impl<'a> Checker<'a> {
    fn define(&mut self, name: &ast::Ident, def: Def) -> bool {
        if let Some((_, first)) = self.names.get(&name.name) {
            self.diags.push(
                Diagnostic::error(
                    Message::Duplicate { name: name.name.clone(), kind: NameKind::Definition },
                    name.span,
                )
                .with_related(*first, Related::FirstDefinedHere),
            );
            return false;
        }
        self.names.insert(name.name.clone(), (def, name.span));
        self.used.insert(name.name.clone(), false);
        true
    }

    fn utc(&self, local: NaiveDateTime) -> DateTime<Utc> {
        let mapped = match self.zone {
            Zone::Named(tz) => tz.from_local_datetime(&local).earliest().map(|t| t.with_timezone(&Utc)),
            Zone::Fixed(offset) => offset.from_local_datetime(&local).earliest().map(|t| t.with_timezone(&Utc)),
        };
        // A local time skipped by a daylight-saving change is read as UTC wall time shifted by
        // nothing better known; Asia/Tokyo has no such gaps.
        mapped.unwrap_or_else(|| Utc.from_utc_datetime(&local))
    }

    fn award(&mut self, a: &'a ast::Award, span: Span) -> AwardParts {
        self.tender_ok = true;
        let value = self.expr(&a.value, None);
        let tenders = a.tenders.as_ref().map(|t| self.condition(t));
        self.tender_ok = false;
        let is_rate = match &value.ty {
            Ty::Rate | Ty::Error => true,
            Ty::Points => false,
            other => {
                self.diags.push(Diagnostic::error(
                    Message::WrongType { place: Place::AwardValue, found: other.clone() },
                    value.span,
                ));
                true
            }
        };
        check_rate_literals(&a.value, self.diags);
        let mut basis = match &a.basis {
            Some(b) => self.basis_of(b, "award"),
            None => typed::Basis { name: "award".into(), tenders: None, first: None, span },
        };
        if let Some(t) = tenders {
            basis.tenders = Some(match basis.tenders.take() {
                Some(existing) => binary(BinaryOp::And, existing, t, Ty::Bool),
                None => t,
            });
        }
        let mut caps: Vec<typed::Cap> = Vec::new();
        for cap in &a.caps {
            if let Some(first) = caps.iter().find(|c| c.scope == cap.scope) {
                let scope = match cap.scope {
                    ast::CapScope::Payment => "payment",
                    ast::CapScope::Period => "period",
                    ast::CapScope::Month => "month",
                };
                self.diags.push(
                    Diagnostic::error(Message::RepeatedCap { scope: scope.into() }, cap.span)
                        .with_related(first.span, Related::FirstDefinedHere),
                );
                continue;
            }
            let value = self.cap_value(&cap.value);
            caps.push(typed::Cap { value, scope: cap.scope, span: cap.span });
        }
        caps.sort_by_key(|c| match c.scope {
            ast::CapScope::Payment => 0,
            ast::CapScope::Month => 1,
            ast::CapScope::Period => 2,
        });
        (value, is_rate, basis, caps, span)
    }

    fn cap_value(&mut self, e: &ast::Expr) -> typed::Expr {
        let value = self.expr(e, Some(&Ty::Points));
        let literal = match &e.kind {
            ast::ExprKind::Number(n) | ast::ExprKind::Points(n) => Some(*n),
            _ => None,
        };
        if literal.is_some_and(|n| n <= Decimal::ZERO) {
            self.diags.push(Diagnostic::error(Message::NotPositive { what: Positive::Cap }, e.span));
        }
        match value.ty {
            Ty::Number | Ty::Points | Ty::Error => typed::Expr { ty: Ty::Points, ..value },
            ref other => {
                self.diags
                    .push(Diagnostic::error(Message::WrongType { place: Place::Cap, found: other.clone() }, e.span));
                error_expr(e.span)
            }
        }
    }

    /// The typed form of a basis written in an award or a `basis` line.
    fn basis_of(&mut self, b: &'a ast::Basis, name: &str) -> typed::Basis {
        let first = b.first.as_ref().map(|m| {
            if m.amount <= Decimal::ZERO {
                self.diags.push(Diagnostic::error(Message::NotPositive { what: Positive::First }, m.span));
            }
            m.amount
        });
        let mut basis = typed::Basis { name: name.to_string(), tenders: None, first, span: b.span };
        match &b.source {
            ast::BasisSource::Tenders(cond) => {
                let saved = self.tender_ok;
                self.tender_ok = true;
                basis.tenders = cond.as_ref().map(|c| self.condition(c));
                self.tender_ok = saved;
            }
            ast::BasisSource::Named(ident) => match self.names.get(&ident.name).copied() {
                Some((Def::Basis(i), _)) => {
                    self.mark_used(&ident.name);
                    if let Some(inner) = self.basis(i) {
                        basis.tenders = inner.tenders;
                        basis.first = match (basis.first, inner.first) {
                            (Some(a), Some(b)) => Some(a.min(b)),
                            (a, b) => a.or(b),
                        };
                    }
                }
                _ if ident.name == "amount" => {}
                _ => {
                    let suggestion = self.suggest_basis(&ident.name);
                    self.diags.push(Diagnostic::error(
                        Message::UnknownName { name: ident.name.clone(), suggestion },
                        ident.span,
                    ));
                }
            },
        }
        basis
    }

    fn suggest_basis(&self, name: &str) -> Option<String> {
        let bases: Vec<&str> = self.bases.iter().map(|(n, _)| n.name.as_str()).chain(["amount"]).collect();
        closest(name, bases).map(str::to_string)
    }

    fn basis(&mut self, i: usize) -> Option<typed::Basis> {
        let (name, b) = self.bases[i];
        if let Err(known) = enter(&mut self.basis_state[i], name, self.diags, Clone::clone) {
            return known;
        }
        let typed = self.basis_of(b, &name.name);
        self.basis_state[i] = State::Done(typed.clone());
        Some(typed)
    }

    fn let_info(&mut self, i: usize) -> Option<Info> {
        let (name, value) = self.lets[i];
        if let Err(known) = enter(&mut self.let_state[i], name, self.diags, |(_, info)| info.clone()) {
            return known;
        }
        let saved = self.tender_ok;
        self.tender_ok = true;
        let typed = self.expr(value, None);
        self.tender_ok = saved;
        let info = self.info(&typed);
        self.let_state[i] = State::Done((typed::Let { name: name.name.clone(), value: typed }, info.clone()));
        Some(info)
    }

    fn table_info(&mut self, i: usize) -> Option<Info> {
        let t = self.tables[i];
        if let Err(known) = enter(&mut self.table_state[i], &t.name, self.diags, |(_, info)| info.clone()) {
            return known;
        }
        let saved = self.tender_ok;
        self.tender_ok = true;
        let key = self.expr(&t.key, None);
        let mut rows = Vec::new();
        let mut default = None;
        let mut ty: Option<Ty> = None;
        let mut seen_keys: Vec<(Value, Span)> = Vec::new();
        for row in &t.rows {
            let value = self.expr(&row.value, ty.as_ref());
            match &ty {
                None if value.ty != Ty::Error => ty = Some(value.ty.clone()),
                Some(expected) if !expected.comparable(&value.ty) => self.diags.push(Diagnostic::error(
                    Message::Mismatch { op: ":".into(), left: expected.clone(), right: value.ty.clone() },
                    row.value.span,
                )),
                _ => {}
            }
            if row.keys.is_empty() {
                default = Some(value);
                continue;
            }
            let mut keys = Vec::new();
            for k in &row.keys {
                let typed_key = self.expr(k, Some(&key.ty));
                if !key.ty.comparable(&typed_key.ty) {
                    self.diags.push(Diagnostic::error(
                        Message::WrongType { place: Place::TableKey, found: typed_key.ty.clone() },
                        k.span,
                    ));
                }
                if let ExprKind::Const(v) = typed_key.kind {
                    if let Some((_, first)) = seen_keys.iter().find(|(seen, _)| *seen == v) {
                        self.diags.push(
                            Diagnostic::error(
                                Message::Duplicate { name: show_key(k), kind: NameKind::TableKey },
                                k.span,
                            )
                            .with_related(*first, Related::FirstDefinedHere),
                        );
                    }
                    seen_keys.push((v.clone(), k.span));
                    keys.push(v);
                }
            }
            rows.push((keys, value));
        }
        self.tender_ok = saved;
        if default.is_none() {
            self.diags.push(Diagnostic::warning(Message::TableWithoutElse { name: t.name.name.clone() }, t.name.span));
        }
        let ty = ty.unwrap_or(Ty::Error);
        let mut info = self.info(&key);
        for (_, v) in &rows {
            let i = self.info(v);
            info.tender |= i.tender;
            info.monthly |= i.monthly;
        }
        info.ty = ty.clone();
        let table = typed::Table { name: t.name.name.clone(), key, rows, default, ty };
        self.table_state[i] = State::Done((table, info.clone()));
        Some(info)
    }

    fn counter_info(&mut self, i: usize) -> Option<Info> {
        let c = self.counters[i];
        if let Err(known) = enter(&mut self.counter_state[i], &c.name, self.diags, |(_, info)| info.clone()) {
            return known;
        }
        let saved = self.tender_ok;
        self.tender_ok = false;
        let (aggregate, filter, ty) = match &c.aggregate {
            ast::Aggregate::Count(filter) => {
                (typed::Aggregate::Count, filter.as_ref().map(|f| self.condition(f)), Ty::Number)
            }
            ast::Aggregate::Sum(sum, filter) => {
                let value = self.expr(sum, None);
                let ty = match &value.ty {
                    Ty::Money(_) | Ty::Number | Ty::Points | Ty::Error => value.ty.clone(),
                    other => {
                        self.diags.push(Diagnostic::error(
                            Message::WrongType { place: Place::Amount, found: other.clone() },
                            sum.span,
                        ));
                        Ty::Error
                    }
                };
                (typed::Aggregate::Sum(value), filter.as_ref().map(|f| self.condition(f)), ty)
            }
        };
        self.tender_ok = saved;
        let info = Info { ty, tender: false, monthly: c.scope == ast::CounterScope::Month };
        let counter =
            typed::Counter { name: c.name.name.clone(), aggregate, filter, scope: c.scope, span: c.name.span };
        self.counter_state[i] = State::Done((counter, info.clone()));
        Some(info)
    }

    fn grants(&mut self, grants: &[(&ast::Grant, Span)]) -> Vec<typed::Grant> {
        let mut out: Vec<typed::Grant> = Vec::new();
        for (g, span) in grants {
            let from = g.from.as_ref().map(|i| self.utc(i.start()));
            let until = g.to.as_ref().map(|i| self.utc(i.end()));
            let overlaps = out.iter().any(|o| {
                let starts_before_other_ends = match (from, o.until) {
                    (Some(f), Some(u)) => f < u,
                    _ => true,
                };
                let other_starts_before_end = match (o.from, until) {
                    (Some(f), Some(u)) => f < u,
                    _ => true,
                };
                starts_before_other_ends && other_starts_before_end
            });
            if overlaps {
                self.diags.push(Diagnostic::error(Message::GrantOverlap, *span));
            }
            let when = match g.when {
                ast::GrantWhen::OnDate(d) => typed::GrantWhen::OnDate(d),
                ast::GrantWhen::DayOfNextMonth(d) => typed::GrantWhen::DayOfNextMonth(d),
                ast::GrantWhen::DaysAfter(n) => typed::GrantWhen::DaysAfter(n),
                ast::GrantWhen::AtPayment => typed::GrantWhen::AtPayment,
            };
            out.push(typed::Grant { when, from, until });
        }
        if out.is_empty() {
            out.push(typed::Grant { when: typed::GrantWhen::AtPayment, from: None, until: None });
        }
        out
    }

    fn mark_used(&mut self, name: &str) {
        if let Some(used) = self.used.get_mut(name) {
            *used = true;
        }
    }

    /// What an expression reads: tender fields, monthly counters.
    fn info(&self, e: &typed::Expr) -> Info {
        let mut info = Info { ty: e.ty.clone(), tender: false, monthly: false };
        e.walk(&mut |sub| match &sub.kind {
            ExprKind::Field(f) => {
                info.tender |= self.vocab.fields[*f].source == FieldSource::Tender;
            }
            ExprKind::Let(i) => {
                if let State::Done((_, li)) = &self.let_state[*i] {
                    info.tender |= li.tender;
                    info.monthly |= li.monthly;
                }
            }
            ExprKind::Table(i) => {
                if let State::Done((_, ti)) = &self.table_state[*i] {
                    info.tender |= ti.tender;
                    info.monthly |= ti.monthly;
                }
            }
            ExprKind::Counter(i) => {
                if let State::Done((_, ci)) = &self.counter_state[*i] {
                    info.monthly |= ci.monthly;
                }
            }
            _ => {}
        });
        info
    }

    /// A yes/no expression.
    fn condition(&mut self, e: &ast::Expr) -> typed::Expr {
        let typed = self.expr(e, Some(&Ty::Bool));
        if typed.ty != Ty::Bool && typed.ty != Ty::Error {
            self.diags.push(Diagnostic::error(
                Message::WrongType { place: Place::Condition, found: typed.ty.clone() },
                e.span,
            ));
            return error_expr(e.span);
        }
        typed
    }

    /// True for a lone name that is neither defined nor a field: it may be an enumeration
    /// value, to be read with the other operand's type.
    fn is_bare_value(&self, e: &ast::Expr) -> bool {
        match &e.kind {
            ast::ExprKind::Path(path) if path.len() == 1 => {
                let name = &path[0].name;
                !self.names.contains_key(name) && self.vocab.field(name).is_none()
            }
            ast::ExprKind::List(items) => items.iter().all(|i| self.is_bare_value(i)),
            _ => false,
        }
    }

    fn expr(&mut self, e: &ast::Expr, expect: Option<&Ty>) -> typed::Expr {
        let span = e.span;
        let ok = |kind: ExprKind, ty: Ty| typed::Expr { kind, ty, span };
        match &e.kind {
            ast::ExprKind::Number(n) => ok(ExprKind::Const(Value::Number(*n)), Ty::Number),
            ast::ExprKind::Percent(p) => ok(ExprKind::Const(Value::Rate(*p / Decimal::ONE_HUNDRED)), Ty::Rate),
            ast::ExprKind::Money(n, c) => ok(ExprKind::Const(Value::Money(*n, c.clone())), Ty::Money(c.clone())),
            ast::ExprKind::Points(n) => ok(ExprKind::Const(Value::Points(*n)), Ty::Points),
            ast::ExprKind::Duration(n, unit) => {
                let seconds = i64::from(*n)
                    * match unit {
                        ast::DurationUnit::Days => 86_400,
                        ast::DurationUnit::Hours => 3_600,
                        ast::DurationUnit::Minutes => 60,
                    };
                ok(ExprKind::Const(Value::Duration(seconds)), Ty::Duration)
            }
            ast::ExprKind::Str(s) => ok(ExprKind::Const(Value::Text(s.clone())), Ty::Text),
            ast::ExprKind::Bool(b) => ok(ExprKind::Const(Value::Bool(*b)), Ty::Bool),
            ast::ExprKind::Date(d) => {
                let at = self.utc(d.and_time(chrono::NaiveTime::MIN));
                ok(ExprKind::Const(Value::Timestamp(at)), Ty::Timestamp)
            }
            ast::ExprKind::DateTime(t, _) => ok(ExprKind::Const(Value::Timestamp(self.utc(*t))), Ty::Timestamp),
            ast::ExprKind::Paren(inner) => self.expr(inner, expect),
            ast::ExprKind::List(items) => {
                let elem_expect = match expect {
                    Some(Ty::Set(inner)) => Some((**inner).clone()),
                    other => other.cloned(),
                };
                let mut elem_ty: Option<Ty> = None;
                let mut typed_items = Vec::new();
                for item in items {
                    let t = self.expr(item, elem_ty.as_ref().or(elem_expect.as_ref()));
                    match &elem_ty {
                        None if t.ty != Ty::Error => elem_ty = Some(t.ty.clone()),
                        Some(ty) if !ty.comparable(&t.ty) => {
                            self.diags.push(Diagnostic::error(
                                Message::WrongType { place: Place::ListElement, found: t.ty.clone() },
                                item.span,
                            ));
                        }
                        _ => {}
                    }
                    typed_items.push(t);
                }
                let ty = Ty::Set(Box::new(elem_ty.or(elem_expect).unwrap_or(Ty::Error)));
                let constants: Option<Vec<Value>> = typed_items
                    .iter()
                    .map(|t| if let ExprKind::Const(v) = &t.kind { Some(v.clone()) } else { None })
                    .collect();
                match constants {
                    Some(values) => ok(ExprKind::Const(Value::List(values)), ty),
                    None => ok(ExprKind::List(typed_items), ty),
                }
            }
            ast::ExprKind::Path(path) => self.path(path, expect, span),
            ast::ExprKind::Call(name, args) => self.call(name, args, span),
            ast::ExprKind::Unary(ast::UnaryOp::Not, inner) => {
                let t = self.expr(inner, Some(&Ty::Bool));
                self.expect_bool(&t, Place::Logic);
                ok(ExprKind::Not(Box::new(t)), Ty::Bool)
            }
            ast::ExprKind::Unary(ast::UnaryOp::Neg, inner) => {
                let t = self.expr(inner, expect);
                let ty = t.ty.clone();
                if !matches!(ty, Ty::Number | Ty::Rate | Ty::Money(_) | Ty::Points | Ty::Duration | Ty::Error) {
                    self.diags.push(Diagnostic::error(
                        Message::WrongType { place: Place::Arithmetic, found: ty.clone() },
                        span,
                    ));
                }
                ok(ExprKind::Neg(Box::new(t)), ty)
            }
            ast::ExprKind::Binary(op, a, b) => self.binary(*op, a, b, span),
            ast::ExprKind::If(c, a, b) => {
                let cond = self.condition(c);
                let then = self.expr(a, expect);
                let otherwise = self.expr(b, Some(&then.ty).filter(|t| **t != Ty::Error).or(expect));
                let ty = self.unify("if", &then.ty, &otherwise.ty, b.span);
                ok(ExprKind::If(Box::new(cond), Box::new(then), Box::new(otherwise)), ty)
            }
            ast::ExprKind::AnyItemIn(list) => {
                let Some(field) = self.vocab.field("items.category") else { return error_expr(span) };
                let field_ty = self.vocab.fields[field].ty.clone();
                let items = typed::Expr { kind: ExprKind::Field(field), ty: field_ty.clone(), span };
                let list = self.expr(list, Some(&field_ty));
                if !field_ty.comparable(&list.ty) {
                    self.diags.push(Diagnostic::error(
                        Message::WrongType { place: Place::Collection, found: list.ty.clone() },
                        list.span,
                    ));
                }
                ok(ExprKind::Binary(BinaryOp::Intersects, Box::new(items), Box::new(list)), Ty::Bool)
            }
            ast::ExprKind::LastMonth(inner, window) => {
                let t = self.expr(inner, expect);
                if !self.info(&t).monthly && t.ty != Ty::Error {
                    self.diags.push(Diagnostic::error(Message::NotMonthly, inner.span));
                }
                let window = window.map_or(typed::WindowStart { day: 1, seconds: 0 }, |w| typed::WindowStart {
                    day: w.day,
                    seconds: chrono::Timelike::num_seconds_from_midnight(&w.time),
                });
                let ty = t.ty.clone();
                ok(ExprKind::LastMonth(Box::new(t), window), ty)
            }
            ast::ExprKind::Default(value, fallback) => {
                let v = self.expr(value, expect);
                let f = self.expr(fallback, Some(&v.ty).filter(|t| **t != Ty::Error));
                let ty = self.unify("default", &v.ty, &f.ty, fallback.span);
                ok(ExprKind::Default(Box::new(v), Box::new(f)), ty)
            }
            ast::ExprKind::IsSet(inner, set) => {
                let t = self.expr(inner, None);
                let test = ok(ExprKind::IsSet(Box::new(t)), Ty::Bool);
                if *set { test } else { not(test) }
            }
        }
    }

    fn expect_bool(&mut self, t: &typed::Expr, place: Place) {
        if t.ty != Ty::Bool && t.ty != Ty::Error {
            self.diags.push(Diagnostic::error(Message::WrongType { place, found: t.ty.clone() }, t.span));
        }
    }

    fn unify(&mut self, op: &str, a: &Ty, b: &Ty, span: Span) -> Ty {
        if a == &Ty::Error {
            return b.clone();
        }
        if !a.comparable(b) {
            self.diags.push(Diagnostic::error(
                Message::Mismatch { op: op.to_string(), left: a.clone(), right: b.clone() },
                span,
            ));
            return Ty::Error;
        }
        a.clone()
    }

    fn path(&mut self, path: &[ast::Ident], expect: Option<&Ty>, span: Span) -> typed::Expr {
        let text = path.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(".");
        let ok = |kind: ExprKind, ty: Ty| typed::Expr { kind, ty, span };
        if path.len() == 1
            && let Some((def, _)) = self.names.get(&text).copied()
        {
            self.mark_used(&text);
            let reads_tender = |info: &Option<Info>| info.as_ref().is_some_and(|i| i.tender);
            let (kind, info) = match def {
                Def::Let(i) => (ExprKind::Let(i), self.let_info(i)),
                Def::Table(i) => (ExprKind::Table(i), self.table_info(i)),
                Def::Counter(i) => (ExprKind::Counter(i), self.counter_info(i)),
                Def::Basis(i) => {
                    self.basis(i);
                    (ExprKind::Basis(i), Some(Info { ty: Ty::Money("JPY".into()), tender: false, monthly: false }))
                }
            };
            if reads_tender(&info) && !self.tender_ok {
                self.diags.push(Diagnostic::error(Message::TenderFieldOutside { field: text }, span));
                return error_expr(span);
            }
            return ok(kind, info.map_or(Ty::Error, |i| i.ty));
        }
        if let Some(field) = self.vocab.field(&text) {
            let def = &self.vocab.fields[field];
            if def.source == FieldSource::Tender && !self.tender_ok {
                self.diags.push(Diagnostic::error(Message::TenderFieldOutside { field: text }, span));
                return error_expr(span);
            }
            return ok(ExprKind::Field(field), def.ty.clone());
        }
        let enum_expect = match expect {
            Some(Ty::Enum(id, name)) => Some((*id, name.clone())),
            Some(Ty::Set(inner)) => match &**inner {
                Ty::Enum(id, name) => Some((*id, name.clone())),
                _ => None,
            },
            _ => None,
        };
        if let (Some((id, enum_name)), 1) = (&enum_expect, path.len()) {
            if let Some(index) = self.vocab.enum_value(*id, &text) {
                return ok(ExprKind::Const(Value::Enum(*id, index)), Ty::Enum(*id, enum_name.clone()));
            }
            let values = self.vocab.enums[*id].values.iter().map(String::as_str);
            let suggestion = closest(&text, values).map(str::to_string);
            self.diags.push(Diagnostic::error(
                Message::UnknownValue { value: text, enum_name: enum_name.clone(), suggestion },
                span,
            ));
            return error_expr(span);
        }
        let field_paths = self.vocab.fields.iter().map(|f| f.path.as_str());
        if let Some(suggestion) = closest(&text, field_paths) {
            self.diags.push(Diagnostic::error(
                Message::UnknownField { path: text, suggestion: Some(suggestion.to_string()) },
                span,
            ));
        } else if path.len() > 1 {
            self.diags.push(Diagnostic::error(Message::UnknownField { path: text, suggestion: None }, span));
        } else {
            let names: Vec<&str> = self.names.keys().map(String::as_str).collect();
            let suggestion = closest(&text, names).map(str::to_string);
            self.diags.push(Diagnostic::error(Message::UnknownName { name: text, suggestion }, span));
        }
        error_expr(span)
    }

    fn call(&mut self, name: &ast::Ident, args: &[ast::Expr], span: Span) -> typed::Expr {
        let builtin = match name.name.as_str() {
            "min" => Builtin::Min,
            "max" => Builtin::Max,
            "month_start" => return self.month_start(name, args, span),
            _ => {
                let suggestion = closest(&name.name, ["min", "max", "month_start"]).map(str::to_string);
                self.diags
                    .push(Diagnostic::error(Message::UnknownName { name: name.name.clone(), suggestion }, name.span));
                return error_expr(span);
            }
        };
        if args.len() != 2 {
            self.diags.push(Diagnostic::error(
                Message::WrongArguments { name: name.name.clone(), expected: 2, found: args.len() },
                span,
            ));
            return error_expr(span);
        }
        let a = self.expr(&args[0], None);
        let b = self.expr(&args[1], Some(&a.ty).filter(|t| **t != Ty::Error));
        let ty = self.unify(&name.name, &a.ty, &b.ty, args[1].span);
        if !ty.ordered() {
            self.diags.push(Diagnostic::error(Message::WrongType { place: Place::Argument, found: ty.clone() }, span));
        }
        typed::Expr { kind: ExprKind::Call(builtin, vec![a, b]), ty, span }
    }

    fn month_start(&mut self, name: &ast::Ident, args: &[ast::Expr], span: Span) -> typed::Expr {
        if args.len() != 1 {
            self.diags.push(Diagnostic::error(
                Message::WrongArguments { name: name.name.clone(), expected: 1, found: args.len() },
                span,
            ));
            return error_expr(span);
        }
        let at = self.expr(&args[0], Some(&Ty::Timestamp));
        if !matches!(at.ty, Ty::Timestamp | Ty::Error) {
            self.diags.push(Diagnostic::error(
                Message::WrongType { place: Place::Argument, found: at.ty.clone() },
                args[0].span,
            ));
        }
        typed::Expr { kind: ExprKind::Call(Builtin::MonthStart, vec![at]), ty: Ty::Timestamp, span }
    }

    fn binary(&mut self, op: ast::BinaryOp, a: &ast::Expr, b: &ast::Expr, span: Span) -> typed::Expr {
        use ast::BinaryOp as A;
        match op {
            A::And | A::Or => {
                let left = self.expr(a, Some(&Ty::Bool));
                let right = self.expr(b, Some(&Ty::Bool));
                self.expect_bool(&left, Place::Logic);
                self.expect_bool(&right, Place::Logic);
                let op = if op == A::And { BinaryOp::And } else { BinaryOp::Or };
                typed::Expr { span, ..binary(op, left, right, Ty::Bool) }
            }
            A::Eq | A::Ne | A::Lt | A::Le | A::Gt | A::Ge => self.comparison(op, a, b, span),
            A::In | A::NotIn => {
                let left = self.expr(a, None);
                let set_ty = Ty::Set(Box::new(left.ty.clone()));
                let right = self.expr(b, Some(&set_ty).filter(|_| left.ty != Ty::Error));
                match &right.ty {
                    Ty::Set(inner) if inner.comparable(&left.ty) => {}
                    Ty::Error => {}
                    Ty::Set(_) => self.diags.push(Diagnostic::error(
                        Message::Mismatch { op: op.symbol().into(), left: left.ty.clone(), right: right.ty.clone() },
                        span,
                    )),
                    other => self.diags.push(Diagnostic::error(
                        Message::WrongType { place: Place::Collection, found: other.clone() },
                        b.span,
                    )),
                }
                let test = typed::Expr { span, ..binary(BinaryOp::In, left, right, Ty::Bool) };
                if op == A::NotIn { not(test) } else { test }
            }
            A::Has => {
                let left = self.expr(a, None);
                let right = match &left.ty {
                    Ty::Set(inner) => {
                        let inner = (**inner).clone();
                        let right = self.expr(b, Some(&inner));
                        if !inner.comparable(&right.ty) {
                            self.diags.push(Diagnostic::error(
                                Message::Mismatch { op: "has".into(), left: left.ty.clone(), right: right.ty.clone() },
                                span,
                            ));
                        }
                        right
                    }
                    Ty::Error => self.expr(b, None),
                    other => {
                        self.diags.push(Diagnostic::error(
                            Message::WrongType { place: Place::Collection, found: other.clone() },
                            a.span,
                        ));
                        self.expr(b, None)
                    }
                };
                typed::Expr { span, ..binary(BinaryOp::Has, left, right, Ty::Bool) }
            }
            A::Add | A::Sub | A::Mul => {
                let left = self.expr(a, None);
                let right = self.expr(b, None);
                let ty = self.arithmetic(op, &left.ty, &right.ty, span);
                let op = match op {
                    A::Add => BinaryOp::Add,
                    A::Sub => BinaryOp::Sub,
                    _ => BinaryOp::Mul,
                };
                typed::Expr { span, ..binary(op, left, right, ty) }
            }
        }
    }

    fn arithmetic(&mut self, op: ast::BinaryOp, a: &Ty, b: &Ty, span: Span) -> Ty {
        use Ty::*;
        let result = match (op, a, b) {
            (_, Error, _) | (_, _, Error) => Some(Error),
            (_, Money(x), Money(y)) if x != y => {
                self.diags
                    .push(Diagnostic::error(Message::CurrencyMismatch { left: x.clone(), right: y.clone() }, span));
                return Error;
            }
            (ast::BinaryOp::Add | ast::BinaryOp::Sub, x, y)
                if x == y && matches!(x, Number | Rate | Money(_) | Points | Duration) =>
            {
                Some(x.clone())
            }
            (ast::BinaryOp::Add | ast::BinaryOp::Sub, Timestamp, Duration) => Some(Timestamp),
            (ast::BinaryOp::Mul, Number, Number) => Some(Number),
            (ast::BinaryOp::Mul, Rate, Number | Rate) | (ast::BinaryOp::Mul, Number, Rate) => Some(Rate),
            (ast::BinaryOp::Mul, Money(c), Rate | Number) | (ast::BinaryOp::Mul, Rate | Number, Money(c)) => {
                Some(Money(c.clone()))
            }
            (ast::BinaryOp::Mul, Points, Number) | (ast::BinaryOp::Mul, Number, Points) => Some(Points),
            _ => None,
        };
        result.unwrap_or_else(|| {
            self.diags.push(Diagnostic::error(
                Message::Mismatch { op: op.symbol().into(), left: a.clone(), right: b.clone() },
                span,
            ));
            Error
        })
    }

    fn comparison(&mut self, op: ast::BinaryOp, a: &ast::Expr, b: &ast::Expr, span: Span) -> typed::Expr {
        // A lone enumeration value is read with the other side's type.
        let (left, right) = if self.is_bare_value(a) && !self.is_bare_value(b) {
            let right = self.expr(b, None);
            let left = self.expr(a, Some(&right.ty));
            (left, right)
        } else {
            let left = self.expr(a, None);
            let right = self.expr(b, Some(&left.ty));
            (left, right)
        };
        if let (Ty::Money(x), Ty::Money(y)) = (&left.ty, &right.ty)
            && x != y
        {
            self.diags.push(Diagnostic::error(Message::CurrencyMismatch { left: x.clone(), right: y.clone() }, span));
            return error_expr(span);
        }
        let ordering = !matches!(op, ast::BinaryOp::Eq | ast::BinaryOp::Ne);
        if !left.ty.comparable(&right.ty) || (ordering && !(left.ty.ordered() && right.ty.ordered())) {
            self.diags.push(Diagnostic::error(
                Message::Mismatch { op: op.symbol().into(), left: left.ty.clone(), right: right.ty.clone() },
                span,
            ));
            return error_expr(span);
        }
        // A written time stands for the whole unit it names: `<= 23:59:59` includes 23:59:59.5.
        if let Some(bounds) = self.literal_bounds(b) {
            return time_comparison(op, left, bounds, span);
        }
        if let Some(bounds) = self.literal_bounds(a) {
            return time_comparison(mirror(op), right, bounds, span);
        }
        let op = match op {
            ast::BinaryOp::Eq => BinaryOp::Eq,
            ast::BinaryOp::Ne => BinaryOp::Ne,
            ast::BinaryOp::Lt => BinaryOp::Lt,
            ast::BinaryOp::Le => BinaryOp::Le,
            ast::BinaryOp::Gt => BinaryOp::Gt,
            _ => BinaryOp::Ge,
        };
        typed::Expr { span, ..binary(op, left, right, Ty::Bool) }
    }

    /// For a date or time literal: the first moment it stands for and the first after it.
    fn literal_bounds(&self, e: &ast::Expr) -> Option<(typed::Expr, typed::Expr)> {
        let (start, end) = match &e.kind {
            ast::ExprKind::Date(d) => {
                let i = ast::Instant { date: *d, time: None, span: e.span };
                (i.start(), i.end())
            }
            ast::ExprKind::DateTime(t, precision) => {
                let i = ast::Instant { date: t.date(), time: Some((t.time(), *precision)), span: e.span };
                (i.start(), i.end())
            }
            ast::ExprKind::Paren(inner) => return self.literal_bounds(inner),
            _ => return None,
        };
        let at = |t| constant(Value::Timestamp(self.utc(t)), Ty::Timestamp, e.span);
        Some((at(start), at(end)))
    }
}

fn mirror(op: ast::BinaryOp) -> ast::BinaryOp {
    match op {
        ast::BinaryOp::Lt => ast::BinaryOp::Gt,
        ast::BinaryOp::Le => ast::BinaryOp::Ge,
        ast::BinaryOp::Gt => ast::BinaryOp::Lt,
        ast::BinaryOp::Ge => ast::BinaryOp::Le,
        other => other,
    }
}

fn time_comparison(
    op: ast::BinaryOp,
    value: typed::Expr,
    (start, end): (typed::Expr, typed::Expr),
    span: Span,
) -> typed::Expr {
    let bool_ = |kind| typed::Expr { kind, ty: Ty::Bool, span };
    let cmp = |op, bound: typed::Expr| bool_(ExprKind::Binary(op, Box::new(value.clone()), Box::new(bound)));
    match op {
        ast::BinaryOp::Lt => cmp(BinaryOp::Lt, start),
        ast::BinaryOp::Le => cmp(BinaryOp::Lt, end),
        ast::BinaryOp::Gt => cmp(BinaryOp::Ge, end),
        ast::BinaryOp::Ge => cmp(BinaryOp::Ge, start),
        ast::BinaryOp::Eq => {
            bool_(ExprKind::Binary(BinaryOp::And, Box::new(cmp(BinaryOp::Ge, start)), Box::new(cmp(BinaryOp::Lt, end))))
        }
        _ => not(bool_(ExprKind::Binary(
            BinaryOp::And,
            Box::new(cmp(BinaryOp::Ge, start)),
            Box::new(cmp(BinaryOp::Lt, end)),
        ))),
    }
}

fn show_key(e: &ast::Expr) -> String {
    crate::fmt::expr_to_string(e)
}

/// Warns about percentage literals in an award outside 0%..100%.
fn check_rate_literals(e: &ast::Expr, diags: &mut Vec<Diagnostic>) {
    match &e.kind {
        ast::ExprKind::Percent(p) if *p < Decimal::ZERO || *p > Decimal::ONE_HUNDRED => {
            diags.push(Diagnostic {
                severity: Severity::Warning,
                ..Diagnostic::error(Message::RateOutOfRange { percent: p.to_string() }, e.span)
            });
        }
        ast::ExprKind::Binary(_, a, b) | ast::ExprKind::Default(a, b) => {
            check_rate_literals(a, diags);
            check_rate_literals(b, diags);
        }
        ast::ExprKind::If(c, a, b) => {
            check_rate_literals(c, diags);
            check_rate_literals(a, diags);
            check_rate_literals(b, diags);
        }
        ast::ExprKind::Paren(a) | ast::ExprKind::Unary(_, a) | ast::ExprKind::LastMonth(a, _) => {
            check_rate_literals(a, diags);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use rust_decimal::Decimal;

    use crate::typed::{BinaryOp, ExprKind, Value};

    fn campaign(body: &str) -> crate::typed::Campaign {
        let src = format!(
            "campaign c {{\n  title \"c\"\n  period 2026-02-01 00:00 to 2026-02-28 23:59:59 in Asia/Tokyo\n  unit paypay_point = 1 JPY\n{body}\n  stack independent\n}}\n"
        );
        let checked = crate::check_sources(&[&src]);
        assert!(!checked.has_errors(), "{:#?}", checked.diagnostics);
        checked.program.campaigns.into_iter().next().unwrap_or_else(|| panic!("no campaign"))
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
    }

    #[test]
    fn a_period_ending_at_23_59_59_ends_just_before_midnight() {
        let c = campaign("  award 1%");
        assert_eq!(c.start, Some(utc("2026-02-01T00:00:00+09:00")));
        assert_eq!(c.end, Some(utc("2026-03-01T00:00:00+09:00")));
    }

    #[test]
    fn at_or_before_a_written_second_includes_the_whole_second() {
        let c = campaign("  when account.aupay_amazon_first_used_at <= 2026-03-30 23:59:59\n  award 1%");
        let ExprKind::Binary(op, _, bound) = &c.conditions[0].kind else { panic!("{:?}", c.conditions[0]) };
        assert_eq!(*op, BinaryOp::Lt);
        let ExprKind::Const(Value::Timestamp(t)) = bound.kind else { panic!("{bound:?}") };
        assert_eq!(t, utc("2026-03-31T00:00:00+09:00"));
    }

    #[test]
    fn percentages_become_fractions_and_caps_are_sorted_by_scope() {
        let c = campaign("  award 10% up to 3000/period, 1000/payment");
        let ExprKind::Const(Value::Rate(r)) = c.award.value.kind else { panic!("{:?}", c.award.value) };
        assert_eq!(r, Decimal::new(1, 1));
        let scopes: Vec<_> = c.award.caps.iter().map(|cap| cap.scope).collect();
        assert_eq!(scopes, [crate::ast::CapScope::Payment, crate::ast::CapScope::Period]);
    }

    #[test]
    fn an_award_where_clause_becomes_the_basis_tender_filter() {
        let c = campaign("  award 10% where method == paypay_balance");
        let basis = &c.bases[c.award.basis];
        assert!(basis.tenders.is_some() && basis.first.is_none());
    }
}
