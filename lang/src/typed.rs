//! The checked program: every name resolved, every expression typed, every time in UTC.
//!
//! This is what [`check`](crate::check) hands to the compiler crate. It holds no syntax: a
//! field is a [`FieldId`], an enumeration value an index, a `let` an index into
//! [`Campaign::lets`]; percentages are fractions (`10%` is `0.1`); a time literal compared
//! with `<=` has already become a strict bound (`<= 23:59:59` is `< 24:00:00`). Spans stay, so
//! that explanations and runtime messages can point at source lines.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

pub use crate::ast::{CapScope, CounterScope, RefundPolicy, Rounding, Span};
use crate::diag::FileId;
use crate::types::{EnumId, Ty};
use crate::vocab::{FieldId, Vocabulary};

/// The time zone of a campaign.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Zone {
    /// An IANA zone such as `Asia/Tokyo`.
    Named(chrono_tz::Tz),
    /// A fixed offset such as `+09:00`.
    Fixed(chrono::FixedOffset),
}

/// Every campaign of the files checked together.
#[derive(Clone, Debug)]
pub struct Program {
    /// The vocabulary names were resolved against.
    pub vocabulary: &'static Vocabulary,
    /// The campaigns, in file and source order.
    pub campaigns: Vec<Campaign>,
    /// Point units declared outside campaigns, with their worth (for cost reports).
    pub units: Vec<Unit>,
}

/// Where something was written.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Origin {
    /// The file.
    pub file: FileId,
    /// The bytes.
    pub span: Span,
}

/// One campaign, checked.
#[derive(Clone, Debug)]
pub struct Campaign {
    /// The ledger id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its sponsor, if given.
    pub sponsor: Option<String>,
    /// Where the block was written.
    pub origin: Origin,
    /// Where the id was written.
    pub id_span: Span,
    /// The zone its periods, months and dates are in.
    pub zone: Zone,
    /// First moment of the period, if bounded.
    pub start: Option<DateTime<Utc>>,
    /// First moment after the period, if bounded.
    pub end: Option<DateTime<Utc>>,
    /// The point unit.
    pub unit: Unit,
    /// Whether payments count only after an `enroll` event for this campaign.
    pub entry_required: bool,
    /// All must hold for a payment to earn (`unless` lines arrive negated).
    pub conditions: Vec<Expr>,
    /// `let` definitions, referred to by index.
    pub lets: Vec<Let>,
    /// Tables, referred to by index.
    pub tables: Vec<Table>,
    /// Named bases, referred to by index.
    pub bases: Vec<Basis>,
    /// Counters the runtime keeps per account, referred to by index.
    pub counters: Vec<Counter>,
    /// What is awarded.
    pub award: Award,
    /// How awards are rounded to whole points.
    pub rounding: Rounding,
    /// When points are granted, by payment time.
    pub grants: Vec<Grant>,
    /// How refunds change the award.
    pub refund: RefundPolicy,
    /// Whether a changed counter re-rates awards already made (S3.9).
    pub retroactive: bool,
    /// Where the `refund` line is (the campaign's id when it has none).
    pub refund_span: Span,
    /// How this campaign stacks with others.
    pub stacking: Stacking,
}

/// A point unit and its worth.
#[derive(Clone, Debug, PartialEq)]
pub struct Unit {
    /// Its name (`paypay_point`).
    pub name: String,
    /// What one point is worth in `currency`.
    pub value: Decimal,
    /// The currency of `value`.
    pub currency: String,
}

/// `let NAME = EXPR`
#[derive(Clone, Debug)]
pub struct Let {
    /// The name.
    pub name: String,
    /// The value.
    pub value: Expr,
}

/// `table NAME by KEY { rows }`
#[derive(Clone, Debug)]
pub struct Table {
    /// The name.
    pub name: String,
    /// What rows are looked up by.
    pub key: Expr,
    /// Rows in order: the first whose keys hold the key's value gives the value.
    pub rows: Vec<(Vec<Value>, Expr)>,
    /// The `else` row's value.
    pub default: Option<Expr>,
    /// The type of every value.
    pub ty: Ty,
}

/// A basis: which money of a payment an award is a share of.
#[derive(Clone, Debug)]
pub struct Basis {
    /// The name, or `award` for the award's own basis.
    pub name: String,
    /// Only the tenders for which this holds; every tender when `None`.
    pub tenders: Option<Expr>,
    /// At most this much of those tenders counts.
    pub first: Option<Decimal>,
    /// Where it was written.
    pub span: Span,
}

/// A counter the runtime keeps per account and per month or period.
#[derive(Clone, Debug)]
pub struct Counter {
    /// The name.
    pub name: String,
    /// What it adds up.
    pub aggregate: Aggregate,
    /// Which payments take part; all when `None`.
    pub filter: Option<Expr>,
    /// The stretch of time one value covers.
    pub scope: CounterScope,
    /// Where it was written.
    pub span: Span,
}

/// What a counter adds up over its payments.
#[derive(Clone, Debug)]
pub enum Aggregate {
    /// One per payment.
    Count,
    /// The value of this expression per payment (money or a number).
    Sum(Expr),
}

/// What a campaign awards for one payment.
#[derive(Clone, Debug)]
pub struct Award {
    /// A rate applied to the basis, or fixed points.
    pub value: Expr,
    /// Whether `value` is a rate (else points).
    pub is_rate: bool,
    /// The money the rate applies to (index into [`Campaign::bases`]).
    pub basis: usize,
    /// The caps, tightest scope first (payment, month, period).
    pub caps: Vec<Cap>,
    /// Where the line was written.
    pub span: Span,
}

/// A cap on points.
#[derive(Clone, Debug)]
pub struct Cap {
    /// How many points (a number expression).
    pub value: Expr,
    /// Over what.
    pub scope: CapScope,
    /// Where it was written.
    pub span: Span,
}

/// When the points of a payment are granted.
#[derive(Clone, Debug, PartialEq)]
pub struct Grant {
    /// The rule.
    pub when: GrantWhen,
    /// For payments at or after this moment, if limited.
    pub from: Option<DateTime<Utc>>,
    /// For payments before this moment, if limited.
    pub until: Option<DateTime<Utc>>,
}

/// When points are granted.
#[derive(Clone, Debug, PartialEq)]
pub enum GrantWhen {
    /// On a fixed date.
    OnDate(NaiveDate),
    /// On this day of the month after the payment's month.
    DayOfNextMonth(u32),
    /// This many days after the payment's date.
    DaysAfter(u32),
    /// On the payment's date.
    AtPayment,
}

/// How a campaign stacks with others.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Stacking {
    /// Declared `stack independent`.
    pub independent: bool,
    /// `stack largest in GROUP priority N`: the group and the tie-break rank.
    pub largest_in: Option<(String, u32)>,
    /// `stack combined up to SHARE of amount`: the share (a fraction) and whether this
    /// campaign's part is cut first.
    pub combined: Option<(Decimal, bool)>,
    /// Where the first `stack` line was written.
    pub span: Span,
}

impl Stacking {
    /// True when the campaign has any `stack` line.
    pub fn declared(&self) -> bool {
        self.independent || self.largest_in.is_some() || self.combined.is_some()
    }
}

/// A constant value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Yes or no.
    Bool(bool),
    /// A number.
    Number(Decimal),
    /// A rate as a fraction (`10%` is `0.1`).
    Rate(Decimal),
    /// Money.
    Money(Decimal, String),
    /// Points.
    Points(Decimal),
    /// A moment.
    Timestamp(DateTime<Utc>),
    /// A calendar date.
    Date(NaiveDate),
    /// A length of time in seconds.
    Duration(i64),
    /// Text.
    Text(String),
    /// An enumeration value: the enumeration and the value's index.
    Enum(EnumId, u32),
    /// A list.
    List(Vec<Value>),
}

/// A typed expression.
#[derive(Clone, Debug)]
pub struct Expr {
    /// What it computes.
    pub kind: ExprKind,
    /// Its type.
    pub ty: Ty,
    /// Where it was written.
    pub span: Span,
}

/// Built-in functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Builtin {
    /// The smaller of two values.
    Min,
    /// The larger of two values.
    Max,
    /// The first moment (the 1st, 00:00) of the calendar month of a time, in the
    /// campaign's zone.
    MonthStart,
}

/// Operators over two values. Comparisons against an absent value are false.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    /// Both hold.
    And,
    /// Either holds.
    Or,
    /// Equal.
    Eq,
    /// Not equal.
    Ne,
    /// Less than.
    Lt,
    /// Less than or equal.
    Le,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Ge,
    /// The left value is one of the right list's (or set's) values.
    In,
    /// The left set holds the right value.
    Has,
    /// The left set shares a value with the right list.
    Intersects,
    /// Sum.
    Add,
    /// Difference.
    Sub,
    /// Product.
    Mul,
}

/// The kinds of typed expression.
#[derive(Clone, Debug)]
pub enum ExprKind {
    /// A constant.
    Const(Value),
    /// A field of the payment, of the tender at hand, or an account attribute.
    Field(FieldId),
    /// The value of a `let`.
    Let(usize),
    /// A table looked up by its key.
    Table(usize),
    /// The money of a basis for this payment.
    Basis(usize),
    /// A counter's value for the month (or period) of the payment.
    Counter(usize),
    /// `not`
    Not(Box<Expr>),
    /// `-`
    Neg(Box<Expr>),
    /// Two operands.
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `if c then a else b`
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    /// The operand with every counter read for the count period before the one the payment
    /// applies to. The application window of count period M starts on `day` at `time` of
    /// month M+1 (the 1st at 00:00 by default) and ends where the next one starts.
    LastMonth(Box<Expr>, WindowStart),
    /// The operand, or the default when the operand is absent.
    Default(Box<Expr>, Box<Expr>),
    /// Whether the operand is present.
    IsSet(Box<Expr>),
    /// A list of values computed per payment.
    List(Vec<Expr>),
    /// A built-in function.
    Call(Builtin, Vec<Expr>),
}

/// Where an application window starts in the month after its count period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowStart {
    /// Day of the month, from 1.
    pub day: u32,
    /// Seconds after midnight.
    pub seconds: u32,
}

impl Expr {
    /// Calls `f` on this expression and every expression inside it.
    pub fn walk(&self, f: &mut dyn FnMut(&Expr)) {
        f(self);
        match &self.kind {
            ExprKind::Const(_)
            | ExprKind::Field(_)
            | ExprKind::Let(_)
            | ExprKind::Table(_)
            | ExprKind::Basis(_)
            | ExprKind::Counter(_) => {}
            ExprKind::Not(e) | ExprKind::Neg(e) | ExprKind::LastMonth(e, _) | ExprKind::IsSet(e) => e.walk(f),
            ExprKind::Binary(_, a, b) | ExprKind::Default(a, b) => {
                a.walk(f);
                b.walk(f);
            }
            ExprKind::If(c, a, b) => {
                c.walk(f);
                a.walk(f);
                b.walk(f);
            }
            ExprKind::List(items) | ExprKind::Call(_, items) => items.iter().for_each(|e| e.walk(f)),
        }
    }
}
