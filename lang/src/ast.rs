//! The syntax tree of a `.camp` file, as written: names are not resolved and nothing is typed.
//!
//! Every node carries a [`Span`]. Spans never take part in equality: two trees are equal when
//! they say the same thing, wherever it was written. That is what lets the formatter's law
//! `parse(fmt(ast)) == ast` be tested directly.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use rust_decimal::Decimal;

/// A byte range in one source file.
#[derive(Clone, Copy, Debug, Default)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// The span from `start` to `end`.
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span { start: self.start.min(other.start), end: self.end.max(other.end) }
    }

    /// Length in bytes.
    pub fn len(self) -> usize {
        self.end - self.start
    }

    /// True for an empty span.
    pub fn is_empty(self) -> bool {
        self.end == self.start
    }
}

/// Spans are positions, not meaning: they never make two trees different.
impl PartialEq for Span {
    fn eq(&self, _other: &Span) -> bool {
        true
    }
}

impl From<Span> for miette::SourceSpan {
    fn from(span: Span) -> miette::SourceSpan {
        (span.start, span.len()).into()
    }
}

/// A name as written, with where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    /// The name.
    pub name: String,
    /// Where it was written.
    pub span: Span,
}

/// One source file: campaigns and stacking groups, in order.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct File {
    /// Top-level declarations in source order.
    pub decls: Vec<Decl>,
}

/// A top-level declaration.
#[derive(Clone, Debug, PartialEq)]
pub enum Decl {
    /// `campaign ID { ... }`
    Campaign(Campaign),
    /// `group NAME { title "..." }`
    Group(Group),
    /// `unit okidoki_point = 3.5 JPY` outside a campaign: what a point unit is worth, for
    /// cost reports (S2.7).
    Unit(UnitDecl),
    /// `enum NAME { a, b }`: a vocabulary enumeration (in `stdlib/`).
    Enum(EnumDecl),
    /// `field PATH: TYPE`: a vocabulary field (in `stdlib/`).
    Field(FieldDecl),
}

/// `unit NAME = VALUE` at the top level.
#[derive(Clone, Debug, PartialEq)]
pub struct UnitDecl {
    /// The unit's name.
    pub name: Ident,
    /// What one point is worth.
    pub value: Money,
    /// The whole line.
    pub span: Span,
}

/// `enum NAME { a, b }`
#[derive(Clone, Debug, PartialEq)]
pub struct EnumDecl {
    /// The enumeration's name.
    pub name: Ident,
    /// Its values.
    pub values: Vec<Ident>,
    /// The whole declaration.
    pub span: Span,
}

/// `tender field PATH: set of TYPE`
#[derive(Clone, Debug, PartialEq)]
pub struct FieldDecl {
    /// True for a field of one tender.
    pub tender: bool,
    /// The dotted path.
    pub path: Vec<Ident>,
    /// True for `set of`.
    pub set: bool,
    /// The type's name.
    pub ty: Ident,
    /// The whole declaration.
    pub span: Span,
}

impl Decl {
    /// Where the declaration was written.
    pub fn span(&self) -> Span {
        match self {
            Decl::Campaign(c) => c.span,
            Decl::Group(g) => g.span,
            Decl::Unit(u) => u.span,
            Decl::Enum(e) => e.span,
            Decl::Field(f) => f.span,
        }
    }
}

/// `group NAME { title "..." }`: documents a stacking group shared by several campaigns.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// The group's name.
    pub name: Ident,
    /// Its title, if given.
    pub title: Option<Str>,
    /// The whole declaration.
    pub span: Span,
}

/// `campaign ID { ... }`
#[derive(Clone, Debug, PartialEq)]
pub struct Campaign {
    /// The campaign id, as used in the ledger.
    pub id: Ident,
    /// Its lines, in source order.
    pub items: Vec<Item>,
    /// The whole block.
    pub span: Span,
}

/// One line (or block) of a campaign.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// What the line says.
    pub kind: ItemKind,
    /// The whole line.
    pub span: Span,
}

/// What a campaign line says.
#[derive(Clone, Debug, PartialEq)]
pub enum ItemKind {
    /// `title "..."`
    Title(Str),
    /// `sponsor "..."`
    Sponsor(Str),
    /// `period A to B in ZONE`
    Period(Period),
    /// `unit paypay_point = 1 JPY`
    Unit {
        /// The point unit's name.
        name: Ident,
        /// What one point is worth.
        value: Money,
    },
    /// `entry required`
    EntryRequired,
    /// `when CONDITION`
    When(Expr),
    /// `unless CONDITION`
    Unless(Expr),
    /// `let NAME = EXPR`
    Let {
        /// The name defined.
        name: Ident,
        /// Its value.
        value: Expr,
    },
    /// `table NAME by KEY { rows }`
    Table(Table),
    /// `basis NAME = ...`
    Basis {
        /// The name defined.
        name: Ident,
        /// Which money it stands for.
        basis: Basis,
    },
    /// `counter NAME = count payments where ... per month`
    Counter(Counter),
    /// `award RATE of BASIS up to CAPS where TENDERS`
    Award(Award),
    /// `rounding floor`
    Rounding(Rounding),
    /// `grant 30 days after payment`
    Grant(Grant),
    /// `refund recompute` / `refund prorate retroactive`
    Refund {
        /// How a refund changes the award.
        policy: RefundPolicy,
        /// Whether a changed counter re-rates awards already made (S3.9).
        retroactive: bool,
    },
    /// `stack ...`
    Stack(Stack),
}

/// A string literal, unescaped.
#[derive(Clone, Debug, PartialEq)]
pub struct Str {
    /// The text.
    pub value: String,
    /// Where it was written, quotes included.
    pub span: Span,
}

/// An amount of money as written: `5000 JPY`.
#[derive(Clone, Debug, PartialEq)]
pub struct Money {
    /// The amount.
    pub amount: Decimal,
    /// ISO 4217 code (`円` is read as `JPY`).
    pub currency: String,
    /// Where it was written.
    pub span: Span,
}

/// A point in time as written: a date, or a date and a time.
#[derive(Clone, Debug, PartialEq)]
pub struct Instant {
    /// The date.
    pub date: NaiveDate,
    /// The time of day, if written, with how precisely.
    pub time: Option<(NaiveTime, TimePrecision)>,
    /// Where it was written.
    pub span: Span,
}

/// How precisely a time of day was written. A written time stands for the whole unit it
/// names: `23:59` is the minute up to `23:59:59.999…`, `23:59:59` the whole second.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimePrecision {
    /// `HH:MM`
    Minute,
    /// `HH:MM:SS`
    Second,
}

impl Instant {
    /// The first moment the instant stands for.
    pub fn start(&self) -> NaiveDateTime {
        self.date.and_time(self.time.map_or(NaiveTime::MIN, |(t, _)| t))
    }

    /// The first moment after the unit the instant stands for: the next day for a date, the
    /// next minute for `HH:MM`, the next second for `HH:MM:SS`.
    pub fn end(&self) -> NaiveDateTime {
        let step = match self.time {
            None => chrono::Duration::days(1),
            Some((_, TimePrecision::Minute)) => chrono::Duration::minutes(1),
            Some((_, TimePrecision::Second)) => chrono::Duration::seconds(1),
        };
        self.start() + step
    }
}

/// `period ...`
#[derive(Clone, Debug, PartialEq)]
pub struct Period {
    /// The first moment, if bounded.
    pub start: Option<Instant>,
    /// The last unit included, if bounded.
    pub end: Option<Instant>,
    /// The time zone named after `in`.
    pub zone: Option<Ident>,
}

/// `table NAME by KEY { rows }`
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// The table's name.
    pub name: Ident,
    /// What the rows are looked up by.
    pub key: Expr,
    /// The rows, in order.
    pub rows: Vec<TableRow>,
}

/// `KEY, KEY: VALUE` or `else: VALUE`.
#[derive(Clone, Debug, PartialEq)]
pub struct TableRow {
    /// The keys; empty for the `else` row.
    pub keys: Vec<Expr>,
    /// The value for those keys.
    pub value: Expr,
    /// The whole row.
    pub span: Span,
}

/// Which money an award is a share of.
#[derive(Clone, Debug, PartialEq)]
pub struct Basis {
    /// `first 10000 JPY of ...`: only that much of the source counts.
    pub first: Option<Money>,
    /// Where the money comes from.
    pub source: BasisSource,
    /// The whole basis.
    pub span: Span,
}

/// Where a basis takes its money from.
#[derive(Clone, Debug, PartialEq)]
pub enum BasisSource {
    /// `tenders where CONDITION`: the tenders for which the condition holds.
    Tenders(Option<Expr>),
    /// A named basis, or `amount` for the whole payment.
    Named(Ident),
}

/// `counter NAME = ... per SCOPE`
#[derive(Clone, Debug, PartialEq)]
pub struct Counter {
    /// The counter's name.
    pub name: Ident,
    /// What it counts.
    pub aggregate: Aggregate,
    /// Which stretch of time one value covers.
    pub scope: CounterScope,
}

/// What a counter adds up.
#[derive(Clone, Debug, PartialEq)]
pub enum Aggregate {
    /// `count payments where CONDITION`
    Count(Option<Expr>),
    /// `sum EXPR where CONDITION`
    Sum(Expr, Option<Expr>),
}

/// Which stretch of time one counter value covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CounterScope {
    /// A calendar month in the campaign's time zone.
    Month,
    /// The whole campaign period.
    Period,
}

/// `award VALUE of BASIS up to CAPS where TENDERS`
#[derive(Clone, Debug, PartialEq)]
pub struct Award {
    /// A rate (`10%`) applied to the basis, or fixed points (`300 points`).
    pub value: Expr,
    /// `of ...`: the basis; the whole amount when absent.
    pub basis: Option<Basis>,
    /// `up to ...`
    pub caps: Vec<Cap>,
    /// `where ...`: only the tenders for which this holds are the basis.
    pub tenders: Option<Expr>,
}

/// `1000/payment`
#[derive(Clone, Debug, PartialEq)]
pub struct Cap {
    /// How many points.
    pub value: Expr,
    /// Over what.
    pub scope: CapScope,
    /// The whole cap.
    pub span: Span,
}

/// What a cap limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapScope {
    /// One payment.
    Payment,
    /// One account over the whole period.
    Period,
    /// One account over a calendar month.
    Month,
}

/// `rounding MODE`
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rounding {
    /// Toward zero (切り捨て), the default.
    Floor,
    /// Away from zero (切り上げ).
    Ceil,
    /// Half away from zero (四捨五入).
    HalfUp,
    /// Half to even (banker's rounding).
    HalfEven,
}

/// `grant WHEN for payments from A to B`
#[derive(Clone, Debug, PartialEq)]
pub struct Grant {
    /// When the points are granted.
    pub when: GrantWhen,
    /// For payments from this moment on, if limited.
    pub from: Option<Instant>,
    /// For payments up to this unit, if limited.
    pub to: Option<Instant>,
}

/// When points are granted.
#[derive(Clone, Debug, PartialEq)]
pub enum GrantWhen {
    /// `on 2026-06-30`
    OnDate(NaiveDate),
    /// `on 20th of next month`
    DayOfNextMonth(u32),
    /// `30 days after payment`
    DaysAfter(u32),
    /// `at payment`
    AtPayment,
}

/// How a refund changes an award.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefundPolicy {
    /// Compute the award again on what is left, never above the award before (S4.7).
    Recompute,
    /// floor(C ÷ A × B): the award shrinks with the amount (S3.8).
    Prorate,
}

/// `stack ...`
#[derive(Clone, Debug, PartialEq)]
pub enum Stack {
    /// `stack independent`: adds up with every other campaign.
    Independent,
    /// `stack largest in GROUP priority N`: only the largest award of the group applies;
    /// on a tie the lower priority number wins.
    Largest {
        /// The group.
        group: Ident,
        /// Tie-break rank, lower first.
        priority: Option<u32>,
    },
    /// `stack combined up to 66.5% of amount, cut first`
    Combined {
        /// The share of the payment that all stacked awards together may reach.
        share: Decimal,
        /// Whether this campaign's part is cut first or last.
        cut_first: bool,
    },
}

/// An expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where it was written.
    pub span: Span,
}

/// The kinds of expression.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// `12`, `2.5`
    Number(Decimal),
    /// `10%`: holds the percentage as written (10, not 0.1).
    Percent(Decimal),
    /// `5000 JPY`
    Money(Decimal, String),
    /// `300 points`
    Points(Decimal),
    /// `30 days`
    Duration(u32, DurationUnit),
    /// `"text"`
    Str(String),
    /// `true`, `false`
    Bool(bool),
    /// `2026-03-30`
    Date(NaiveDate),
    /// `2026-03-30 23:59:59`
    DateTime(NaiveDateTime, TimePrecision),
    /// `[a, b]`
    List(Vec<Expr>),
    /// `merchant.tags`, `achieved`, `paypay_balance`
    Path(Vec<Ident>),
    /// `min(a, b)`
    Call(Ident, Vec<Expr>),
    /// `not a`, `-a`
    Unary(UnaryOp, Box<Expr>),
    /// `a and b`, `a + b`, `a in b`
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `if c then a else b`
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `any item in [tobacco]`
    AnyItemIn(Box<Expr>),
    /// `achieved last month window from 1st 12:00`
    LastMonth(Box<Expr>, Option<WindowStart>),
    /// `account.dpoint_rank default 1`
    Default(Box<Expr>, Box<Expr>),
    /// `x is set` (true) / `x is not set` (false)
    IsSet(Box<Expr>, bool),
    /// `( e )`: kept so the formatter writes the planner's parentheses back.
    Paren(Box<Expr>),
}

/// The unit of a duration literal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DurationUnit {
    /// `days`
    Days,
    /// `hours`
    Hours,
    /// `minutes`
    Minutes,
}

/// Where an application window starts within the month after a count period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowStart {
    /// Day of the month, from 1.
    pub day: u32,
    /// Time of day.
    pub time: NaiveTime,
}

/// Prefix operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    /// `not`
    Not,
    /// `-`
    Neg,
}

/// Infix operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    /// `or`
    Or,
    /// `and`
    And,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `in`
    In,
    /// `not in`
    NotIn,
    /// `has`
    Has,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
}

impl BinaryOp {
    /// How the operator is written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::In => "in",
            BinaryOp::NotIn => "not in",
            BinaryOp::Has => "has",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
        }
    }

    /// Binding strength: higher binds tighter. Comparisons do not chain.
    pub fn precedence(self) -> u8 {
        match self {
            BinaryOp::Or => 1,
            BinaryOp::And => 2,
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge
            | BinaryOp::In
            | BinaryOp::NotIn
            | BinaryOp::Has => 4,
            BinaryOp::Add | BinaryOp::Sub => 5,
            BinaryOp::Mul => 6,
        }
    }
}
