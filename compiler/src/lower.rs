//! Checked program to IR.

use camp_lang::typed::{self, ExprKind, Origin};
use camp_lang::types::Ty;
use camp_lang::vocab::{FieldSource, Vocabulary};

use crate::ir::{self, AttributeKind, Expr, Field, Program, Source, Value, Window};
use crate::symbols::Symbols;
use crate::time::{from_local, nanos};

/// A source file given to [`lower`]: its name (as shown in ledger entries) and text.
#[derive(Clone, Copy, Debug)]
pub struct SourceFile<'a> {
    /// The name, usually the path as given.
    pub name: &'a str,
    /// The text.
    pub text: &'a str,
}

/// Why a checked program cannot be lowered: a field of the vocabulary that this version of
/// the runtime does not read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LowerError {
    /// The field's path.
    pub field: String,
}

impl std::fmt::Display for LowerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the runtime cannot read field `{}`", self.field)
    }
}

impl std::error::Error for LowerError {}

/// The names of the seven weekdays, Monday first, as the vocabulary spells them.
pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Lowers a checked program. `files` are the sources it was checked from, by file id.
pub fn lower(program: &typed::Program, files: &[SourceFile<'_>]) -> Result<Program, LowerError> {
    let vocab = program.vocabulary;
    let mut symbols = Symbols::default();
    for day in WEEKDAYS {
        symbols.intern(day);
    }
    let attributes: Vec<ir::Attribute> = vocab
        .fields
        .iter()
        .filter(|f| f.source == FieldSource::Account)
        .map(|f| ir::Attribute {
            name: f.path.trim_start_matches("account.").to_string(),
            kind: match f.ty {
                Ty::Timestamp | Ty::Date => AttributeKind::Time,
                Ty::Bool => AttributeKind::Bool,
                Ty::Number | Ty::Money(_) | Ty::Rate | Ty::Points => AttributeKind::Number,
                _ => AttributeKind::Text,
            },
        })
        .collect();
    let mut lowerer = Lowerer { vocab, symbols, files, attributes: &attributes };
    let campaigns = program.campaigns.iter().map(|c| lowerer.campaign(c)).collect::<Result<_, _>>()?;
    Ok(Program {
        campaigns,
        symbols: lowerer.symbols,
        attributes,
        files: files.iter().map(|f| f.name.to_string()).collect(),
    })
}

struct Lowerer<'a> {
    vocab: &'static Vocabulary,
    symbols: Symbols,
    files: &'a [SourceFile<'a>],
    attributes: &'a [ir::Attribute],
}

impl Lowerer<'_> {
    fn source(&self, origin: Origin) -> Source {
        self.source_at(origin.file, origin.span.start)
    }

    fn source_at(&self, file: usize, offset: usize) -> Source {
        let (name, line) = match self.files.get(file) {
            Some(f) => (f.name.to_string(), camp_lang::diag::line_column(f.text, offset).0),
            None => (String::from("?"), 0),
        };
        Source { file: name, line }
    }

    /// The source line holding `offset`, trimmed.
    fn line_text(&self, file: usize, offset: usize) -> String {
        let Some(f) = self.files.get(file) else { return String::new() };
        let offset = f.text.floor_char_boundary(offset.min(f.text.len()));
        let start = f.text[..offset].rfind('\n').map_or(0, |i| i + 1);
        let end = f.text[offset..].find('\n').map_or(f.text.len(), |i| offset + i);
        f.text[start..end].trim().to_string()
    }

    fn campaign(&mut self, c: &typed::Campaign) -> Result<ir::Campaign, LowerError> {
        let file = c.origin.file;
        let zone = c.zone;
        let at = |s: camp_lang::ast::Span| s.start;
        let conditions = c
            .conditions
            .iter()
            .map(|e| {
                Ok(ir::Condition {
                    expr: self.expr(e, zone)?,
                    source: self.source_at(file, at(e.span)),
                    text: self.line_text(file, at(e.span)),
                })
            })
            .collect::<Result<_, LowerError>>()?;
        let lets = c.lets.iter().map(|l| self.expr(&l.value, zone)).collect::<Result<_, _>>()?;
        let tables = c
            .tables
            .iter()
            .map(|t| {
                Ok(ir::Table {
                    name: t.name.clone(),
                    key: self.expr(&t.key, zone)?,
                    rows: t
                        .rows
                        .iter()
                        .map(|(keys, v)| Ok((keys.iter().map(|k| self.value(k, zone)).collect(), self.expr(v, zone)?)))
                        .collect::<Result<_, LowerError>>()?,
                    default: t.default.as_ref().map(|d| self.expr(d, zone)).transpose()?,
                })
            })
            .collect::<Result<_, LowerError>>()?;
        let bases = c
            .bases
            .iter()
            .map(|b| {
                Ok(ir::Basis {
                    name: b.name.clone(),
                    tenders: b.tenders.as_ref().map(|e| self.expr(e, zone)).transpose()?,
                    first: b.first,
                })
            })
            .collect::<Result<_, LowerError>>()?;
        let counters = c
            .counters
            .iter()
            .map(|k| {
                Ok(ir::Counter {
                    name: k.name.clone(),
                    sum: match &k.aggregate {
                        typed::Aggregate::Count => None,
                        typed::Aggregate::Sum(e) => Some(self.expr(e, zone)?),
                    },
                    filter: k.filter.as_ref().map(|e| self.expr(e, zone)).transpose()?,
                    scope: k.scope,
                })
            })
            .collect::<Result<_, LowerError>>()?;
        let caps = c
            .award
            .caps
            .iter()
            .map(|cap| {
                Ok(ir::Cap {
                    value: self.expr(&cap.value, zone)?,
                    scope: cap.scope,
                    source: self.source_at(file, cap.span.start),
                })
            })
            .collect::<Result<_, LowerError>>()?;
        let award = ir::Award {
            value: self.expr(&c.award.value, zone)?,
            is_rate: c.award.is_rate,
            per_tender: false,
            basis: c.award.basis,
            caps,
            source: self.source_at(file, c.award.span.start),
        };
        let grants = c
            .grants
            .iter()
            .map(|g| ir::Grant { when: g.when.clone(), from: g.from.map(nanos), until: g.until.map(nanos) })
            .collect();
        let currency = self.symbols.intern(&c.unit.currency);
        let mut campaign = ir::Campaign {
            id: c.id.clone(),
            title: c.title.clone(),
            zone,
            start: c.start.map(nanos),
            end: c.end.map(nanos),
            unit: c.unit.name.clone(),
            unit_value: c.unit.value,
            currency,
            entry_required: c.entry_required,
            conditions,
            lets,
            tables,
            bases,
            counters,
            award,
            rounding: c.rounding,
            grants,
            refund: c.refund,
            retroactive: c.retroactive,
            refund_source: self.source_at(file, c.refund_span.start),
            stacking: c.stacking.clone(),
            source: self.source(c.origin),
        };
        campaign.award.per_tender = campaign.award.value.reads_tender(&campaign);
        Ok(campaign)
    }

    fn value(&mut self, v: &typed::Value, zone: ir::Zone) -> Value {
        match v {
            typed::Value::Bool(b) => Value::Bool(*b),
            typed::Value::Number(n) | typed::Value::Rate(n) | typed::Value::Points(n) | typed::Value::Money(n, _) => {
                Value::Num(*n)
            }
            typed::Value::Timestamp(t) => Value::Time(nanos(*t)),
            typed::Value::Date(d) => Value::Time(from_local(d.and_hms_opt(0, 0, 0).unwrap_or_default(), zone)),
            typed::Value::Duration(seconds) => Value::Duration(seconds.saturating_mul(1_000_000_000)),
            typed::Value::Text(s) => Value::Sym(self.symbols.intern(s)),
            typed::Value::Enum(id, index) => {
                let name = self.vocab.enums.get(*id).and_then(|e| e.values.get(*index as usize));
                Value::Sym(self.symbols.intern(name.map_or("", String::as_str)))
            }
            typed::Value::List(items) => Value::List(items.iter().map(|i| self.value(i, zone)).collect()),
        }
    }

    fn field(&self, id: camp_lang::vocab::FieldId) -> Result<Field, LowerError> {
        let def = &self.vocab.fields[id];
        let merchant = ["merchant.id", "merchant.brand", "merchant.region", "merchant.class", "merchant.category"];
        Ok(match def.path.as_str() {
            "amount" => Field::Amount,
            "currency" => Field::Currency,
            "channel" => Field::Channel,
            "terminal" => Field::Terminal,
            "app" => Field::App,
            "at" => Field::At,
            "weekday" => Field::Weekday,
            "hour" => Field::Hour,
            "merchant.tags" => Field::Tags,
            "items.category" => Field::ItemCategories,
            "method" => Field::Method,
            "installments" => Field::Installments,
            path => {
                if let Some(i) = merchant.iter().position(|m| *m == path) {
                    Field::Merchant(u8::try_from(i).unwrap_or(0))
                } else if let Some(i) = self.attributes.iter().position(|a| path == format!("account.{}", a.name)) {
                    Field::Attribute(u16::try_from(i).unwrap_or(u16::MAX))
                } else {
                    return Err(LowerError { field: path.to_string() });
                }
            }
        })
    }

    fn expr(&mut self, e: &typed::Expr, zone: ir::Zone) -> Result<Expr, LowerError> {
        let index = |i: &usize| u32::try_from(*i).unwrap_or(u32::MAX);
        Ok(match &e.kind {
            ExprKind::Const(v) => Expr::Const(self.value(v, zone)),
            ExprKind::Field(f) => Expr::Field(self.field(*f)?),
            ExprKind::Let(i) => Expr::Let(index(i)),
            ExprKind::Table(i) => Expr::Table(index(i)),
            ExprKind::Basis(i) => Expr::Basis(index(i)),
            ExprKind::Counter(i) => Expr::Counter(index(i)),
            ExprKind::Not(a) => Expr::Not(Box::new(self.expr(a, zone)?)),
            ExprKind::Neg(a) => Expr::Neg(Box::new(self.expr(a, zone)?)),
            ExprKind::Binary(op, a, b) => {
                Expr::Binary(*op, Box::new(self.expr(a, zone)?), Box::new(self.expr(b, zone)?))
            }
            ExprKind::If(c, a, b) => {
                Expr::If(Box::new(self.expr(c, zone)?), Box::new(self.expr(a, zone)?), Box::new(self.expr(b, zone)?))
            }
            ExprKind::LastMonth(a, w) => {
                let offset = (i64::from(w.day) - 1) * 86_400_000_000_000 + i64::from(w.seconds) * 1_000_000_000;
                Expr::LastMonth(Box::new(self.expr(a, zone)?), Window { offset })
            }
            ExprKind::Default(a, b) => Expr::Default(Box::new(self.expr(a, zone)?), Box::new(self.expr(b, zone)?)),
            ExprKind::IsSet(a) => Expr::IsSet(Box::new(self.expr(a, zone)?)),
            ExprKind::List(items) => Expr::List(items.iter().map(|i| self.expr(i, zone)).collect::<Result<_, _>>()?),
            ExprKind::Call(b, args) => {
                Expr::Call(*b, args.iter().map(|a| self.expr(a, zone)).collect::<Result<_, _>>()?)
            }
        })
    }
}
