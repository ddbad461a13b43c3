//! The IR: what the evaluators (the interpreter, later the JIT) run.
//!
//! Compared with [`camp_lang::typed`], names are gone: text and enumeration values are
//! interned [`Sym`]bols, times are nanoseconds since the Unix epoch, every field is a
//! [`Field`] the evaluator reads from a [`PaymentView`](crate::view::PaymentView) directly,
//! and account attributes are dense indices. Money, rates and points are exact decimals.

use rust_decimal::Decimal;

pub use camp_lang::typed::{CapScope, CounterScope, RefundPolicy, Rounding, Span, Zone};

use crate::symbols::{Sym, Symbols};

/// Nanoseconds since 1970-01-01T00:00:00Z.
pub type Nanos = i64;

/// A checked program, lowered.
#[derive(Debug)]
pub struct Program {
    /// Campaigns in load order (file order, then source order).
    pub campaigns: Vec<Campaign>,
    /// Every text and enumeration value a campaign names.
    pub symbols: Symbols,
    /// The account attributes of the vocabulary, by index.
    pub attributes: Vec<Attribute>,
    /// The source files, by `Origin::file`.
    pub files: Vec<String>,
}

/// An account attribute campaigns may read.
#[derive(Clone, Debug, PartialEq)]
pub struct Attribute {
    /// Its name without `account.`.
    pub name: String,
    /// What its values are.
    pub kind: AttributeKind,
}

/// The kinds of attribute values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttributeKind {
    /// A time.
    Time,
    /// Yes or no.
    Bool,
    /// A number.
    Number,
    /// Text.
    Text,
}

/// Where a rule was written: for ledger entries and explanations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// The file's name as given.
    pub file: String,
    /// The line, from 1.
    pub line: usize,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One campaign.
#[derive(Debug)]
pub struct Campaign {
    /// The ledger id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its time zone.
    pub zone: Zone,
    /// First moment of the period.
    pub start: Option<Nanos>,
    /// First moment after the period.
    pub end: Option<Nanos>,
    /// The point unit's name.
    pub unit: String,
    /// What one point is worth in `currency`: awards computed in money are divided by it.
    pub unit_value: Decimal,
    /// The currency the unit is worth something in: a payment in another earns nothing.
    pub currency: Sym,
    /// Payments count only after an `enroll` for this campaign.
    pub entry_required: bool,
    /// All must hold.
    pub conditions: Vec<Condition>,
    /// `let` values.
    pub lets: Vec<Expr>,
    /// Tables.
    pub tables: Vec<Table>,
    /// Bases; `award.basis` indexes here too.
    pub bases: Vec<Basis>,
    /// Counters kept per account.
    pub counters: Vec<Counter>,
    /// The award.
    pub award: Award,
    /// Rounding to whole points.
    pub rounding: Rounding,
    /// Grant dates by payment time.
    pub grants: Vec<Grant>,
    /// Refund behaviour.
    pub refund: RefundPolicy,
    /// Re-rate awards when a refund changes a counter they read.
    pub retroactive: bool,
    /// Where the refund rule is.
    pub refund_source: Source,
    /// Stacking.
    pub stacking: camp_lang::typed::Stacking,
    /// Where the campaign block starts.
    pub source: Source,
}

impl Campaign {
    /// Whether a payment at `at` falls in the period (its counters count it only then).
    pub fn in_period(&self, at: Nanos) -> bool {
        self.start.is_none_or(|s| at >= s) && self.end.is_none_or(|e| at < e)
    }

    /// The calendar month of `at` in the campaign's zone: what month caps count in.
    pub fn month_of(&self, at: Nanos) -> crate::time::MonthKey {
        crate::time::month_of(at, self.zone)
    }

    /// The key a payment at `at` adds to counter `counter` under: its month for monthly
    /// counters, 0 for counters kept over the period.
    pub fn counter_key(&self, counter: usize, at: Nanos) -> crate::time::MonthKey {
        match self.counters.get(counter).map(|k| k.scope) {
            Some(CounterScope::Month) => self.month_of(at),
            _ => 0,
        }
    }
}

/// A `when` (or a negated `unless`) line.
#[derive(Debug)]
pub struct Condition {
    /// The test.
    pub expr: Expr,
    /// The line it was written on.
    pub source: Source,
    /// Its text as written (`unless` lines keep their keyword), for explanations.
    pub text: String,
}

/// A table.
#[derive(Debug)]
pub struct Table {
    /// Its name.
    pub name: String,
    /// The key.
    pub key: Expr,
    /// Rows: keys and value.
    pub rows: Vec<(Vec<Value>, Expr)>,
    /// The `else` row.
    pub default: Option<Expr>,
}

/// Which money of a payment counts.
#[derive(Debug)]
pub struct Basis {
    /// Its name.
    pub name: String,
    /// The tenders that count; all when `None`.
    pub tenders: Option<Expr>,
    /// At most this much.
    pub first: Option<Decimal>,
}

/// A counter.
#[derive(Debug)]
pub struct Counter {
    /// Its name.
    pub name: String,
    /// `None` counts payments; `Some(e)` sums `e`.
    pub sum: Option<Expr>,
    /// Which payments take part.
    pub filter: Option<Expr>,
    /// One value per month or for the whole period.
    pub scope: CounterScope,
}

/// The award of a campaign.
#[derive(Debug)]
pub struct Award {
    /// The rate or the fixed points.
    pub value: Expr,
    /// True for a rate.
    pub is_rate: bool,
    /// True when the rate differs by tender (it reads `method` or `installments`): the award
    /// is then the sum over tenders, each rounded.
    pub per_tender: bool,
    /// Index into `Campaign::bases`.
    pub basis: usize,
    /// Caps, tightest scope first.
    pub caps: Vec<Cap>,
    /// Where the award line is.
    pub source: Source,
}

/// A cap.
#[derive(Debug)]
pub struct Cap {
    /// Points.
    pub value: Expr,
    /// Over what.
    pub scope: CapScope,
    /// Where it was written.
    pub source: Source,
}

/// A grant rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Grant {
    /// When.
    pub when: camp_lang::typed::GrantWhen,
    /// For payments at or after.
    pub from: Option<Nanos>,
    /// For payments before.
    pub until: Option<Nanos>,
}

/// A constant or computed value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// An absent field or attribute: comparisons with it are false.
    Absent,
    /// Yes or no.
    Bool(bool),
    /// A number, a rate (as a fraction), money or points: the checker has kept them apart.
    Num(Decimal),
    /// A time.
    Time(Nanos),
    /// A length of time in nanoseconds.
    Duration(i64),
    /// Text or an enumeration value.
    Sym(Sym),
    /// A list or set.
    List(Vec<Value>),
}

/// What an expression reads from the payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// `amount`
    Amount,
    /// `currency`
    Currency,
    /// `channel`
    Channel,
    /// `terminal`
    Terminal,
    /// `app`
    App,
    /// `at`
    At,
    /// `weekday`, in the campaign's zone.
    Weekday,
    /// `hour`, in the campaign's zone.
    Hour,
    /// `merchant.id` ... `merchant.category`: index into `PaymentView::merchant`.
    Merchant(u8),
    /// `merchant.tags`
    Tags,
    /// `items.category`
    ItemCategories,
    /// `method` of the tender at hand.
    Method,
    /// `installments` of the tender at hand.
    Installments,
    /// An account attribute at the payment's time.
    Attribute(u16),
}

/// Built-in functions.
pub use camp_lang::typed::Builtin;

/// Operators.
pub use camp_lang::typed::BinaryOp;

/// An expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A constant.
    Const(Value),
    /// A field.
    Field(Field),
    /// A `let`.
    Let(u32),
    /// A table lookup.
    Table(u32),
    /// A basis's money.
    Basis(u32),
    /// A counter for the period the payment reads.
    Counter(u32),
    /// `not`
    Not(Box<Expr>),
    /// `-`
    Neg(Box<Expr>),
    /// Two operands.
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `if c then a else b`
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    /// The operand with counters read for the previous count period.
    LastMonth(Box<Expr>, Window),
    /// The operand or, when absent, the default.
    Default(Box<Expr>, Box<Expr>),
    /// Whether the operand is present.
    IsSet(Box<Expr>),
    /// A computed list.
    List(Vec<Expr>),
    /// A built-in function.
    Call(Builtin, Vec<Expr>),
}

/// Where an application window starts in the month after its count period: the window of
/// count period M starts `offset` nanoseconds after the start of month M+1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Nanoseconds after the 1st at 00:00.
    pub offset: i64,
}

impl Expr {
    /// True when the expression (with the campaign's definitions) reads a tender field.
    pub fn reads_tender(&self, campaign: &Campaign) -> bool {
        self.reaches(campaign, &|e| matches!(e, Expr::Field(Field::Method | Field::Installments)))
    }

    /// True when the expression (with the campaign's definitions) reads something found
    /// outside the payment: a counter (a look-up in the account), the start of the payment's
    /// month, its weekday or its hour (worked out in the campaign's zone).
    pub fn reads_outside_payment(&self, campaign: &Campaign) -> bool {
        self.reaches(campaign, &|e| {
            matches!(
                e,
                Expr::Counter(_) | Expr::Call(Builtin::MonthStart, _) | Expr::Field(Field::Weekday | Field::Hour)
            )
        })
    }

    /// True when `leaf` holds for the expression or any part of it, through the campaign's
    /// `let`s and tables.
    fn reaches(&self, campaign: &Campaign, leaf: &dyn Fn(&Expr) -> bool) -> bool {
        if leaf(self) {
            return true;
        }
        let reaches = |e: &Expr| e.reaches(campaign, leaf);
        match self {
            Expr::Const(_) | Expr::Field(_) | Expr::Basis(_) | Expr::Counter(_) => false,
            Expr::Let(i) => campaign.lets.get(*i as usize).is_some_and(reaches),
            Expr::Table(i) => campaign.tables.get(*i as usize).is_some_and(|t| {
                reaches(&t.key) || t.rows.iter().any(|(_, v)| reaches(v)) || t.default.as_ref().is_some_and(reaches)
            }),
            Expr::Not(e) | Expr::Neg(e) | Expr::LastMonth(e, _) | Expr::IsSet(e) => reaches(e),
            Expr::Binary(_, a, b) | Expr::Default(a, b) => reaches(a) || reaches(b),
            Expr::If(c, a, b) => reaches(c) || reaches(a) || reaches(b),
            Expr::List(items) | Expr::Call(_, items) => items.iter().any(reaches),
        }
    }
}
