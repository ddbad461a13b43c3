//! Diagnostics: what went wrong, where, kept apart from how it is shown.
//!
//! A [`Diagnostic`] holds data only (a [`Message`] with its values, a span, a second label).
//! [`Diagnostic::title`], [`Diagnostic::label`] and [`Diagnostic::help`] render it in English or
//! Japanese; [`Report`] adapts it to miette for the terminal; the CLI prints the same data as
//! JSON. Every message has a stable [`Code`] with a page behind `campc explain`.

use std::fmt;

use crate::ast::Span;
use crate::types::Ty;

/// The language diagnostics are written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// Japanese.
    Ja,
}

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// The campaign cannot run.
    Error,
    /// The campaign runs, but probably not as meant.
    Warning,
}

/// Which source file a diagnostic is about: the index into the files given to
/// [`check`](crate::check).
pub type FileId = usize;

/// One thing wrong with a campaign file.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// What is wrong, with its data.
    pub message: Message,
    /// Error or warning.
    pub severity: Severity,
    /// The file it is in.
    pub file: FileId,
    /// Where.
    pub span: Span,
    /// A second place that explains the first ("first defined here").
    pub related: Option<(Span, Related)>,
}

/// What a second label says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Related {
    /// The earlier definition of a repeated name or line.
    FirstDefinedHere,
    /// The condition that contradicts this one.
    ConflictsWithThis,
    /// The other campaign of an overlap.
    OtherCampaign,
}

/// The stable codes. E01xx syntax, E02xx names and types, E03xx campaign rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Code {
    E0101,
    E0102,
    E0103,
    E0104,
    E0105,
    E0106,
    E0201,
    E0202,
    E0203,
    E0204,
    E0205,
    E0206,
    E0207,
    E0208,
    E0209,
    E0210,
    E0211,
    E0301,
    E0302,
    E0303,
    E0304,
    E0305,
    E0306,
    E0307,
    E0308,
    E0309,
    E0310,
    E0311,
    E0312,
    E0313,
}

impl Code {
    /// Every code, in order.
    pub const ALL: &'static [Code] = &[
        Code::E0101,
        Code::E0102,
        Code::E0103,
        Code::E0104,
        Code::E0105,
        Code::E0106,
        Code::E0201,
        Code::E0202,
        Code::E0203,
        Code::E0204,
        Code::E0205,
        Code::E0206,
        Code::E0207,
        Code::E0208,
        Code::E0209,
        Code::E0210,
        Code::E0211,
        Code::E0301,
        Code::E0302,
        Code::E0303,
        Code::E0304,
        Code::E0305,
        Code::E0306,
        Code::E0307,
        Code::E0308,
        Code::E0309,
        Code::E0310,
        Code::E0311,
        Code::E0312,
        Code::E0313,
    ];

    /// `"E0101"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::E0101 => "E0101",
            Code::E0102 => "E0102",
            Code::E0103 => "E0103",
            Code::E0104 => "E0104",
            Code::E0105 => "E0105",
            Code::E0106 => "E0106",
            Code::E0201 => "E0201",
            Code::E0202 => "E0202",
            Code::E0203 => "E0203",
            Code::E0204 => "E0204",
            Code::E0205 => "E0205",
            Code::E0206 => "E0206",
            Code::E0207 => "E0207",
            Code::E0208 => "E0208",
            Code::E0209 => "E0209",
            Code::E0210 => "E0210",
            Code::E0211 => "E0211",
            Code::E0301 => "E0301",
            Code::E0302 => "E0302",
            Code::E0303 => "E0303",
            Code::E0304 => "E0304",
            Code::E0305 => "E0305",
            Code::E0306 => "E0306",
            Code::E0307 => "E0307",
            Code::E0308 => "E0308",
            Code::E0309 => "E0309",
            Code::E0310 => "E0310",
            Code::E0311 => "E0311",
            Code::E0312 => "E0312",
            Code::E0313 => "E0313",
        }
    }

    /// The code written as text, in any case (`e0201` works).
    pub fn parse(text: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a value of the wrong type was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// A `when` / `unless` line, an `if`, a `where` clause.
    Condition,
    /// The value after `award`.
    AwardValue,
    /// A cap.
    Cap,
    /// A `first ... of` limit or a counter's `sum`.
    Amount,
    /// A table's key.
    TableKey,
    /// An element of a list.
    ListElement,
    /// An operand of `and`, `or`, `not`.
    Logic,
    /// An operand of `+`, `-`, `*`.
    Arithmetic,
    /// The right side of `in` / the left side of `has`.
    Collection,
    /// An argument of a function.
    Argument,
}

/// Kinds of definitions, for "defined twice".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameKind {
    /// A `let`, `table`, `basis` or `counter` name.
    Definition,
    /// A key of a table.
    TableKey,
}

/// What a campaign line that is missing, repeated or wrong is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line {
    /// `title`
    Title,
    /// `period`
    Period,
    /// `unit`
    Unit,
    /// `award`
    Award,
    /// `rounding`
    Rounding,
    /// `refund`
    Refund,
    /// `entry required`
    Entry,
    /// `sponsor`
    Sponsor,
    /// `stack largest` / `stack independent`
    Stack,
    /// `stack combined`
    Combined,
}

impl Line {
    fn keyword(self) -> &'static str {
        match self {
            Line::Title => "title",
            Line::Period => "period",
            Line::Unit => "unit",
            Line::Award => "award",
            Line::Rounding => "rounding",
            Line::Refund => "refund",
            Line::Entry => "entry required",
            Line::Sponsor => "sponsor",
            Line::Stack => "stack",
            Line::Combined => "stack combined",
        }
    }
}

/// Why a stacking rule does not hold together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StackProblem {
    /// Two members of a largest-applies group share a priority: ties would be undecided.
    SamePriority {
        /// The group.
        group: String,
        /// The other campaign.
        other: String,
    },
    /// A campaign says both `independent` and `largest in`.
    IndependentAndGrouped,
    /// The combined share is not between 0% and 100%.
    ShareOutOfRange,
}

/// What a positive number was expected for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Positive {
    /// A cap.
    Cap,
    /// `first N JPY of`.
    First,
    /// A point unit's value.
    UnitValue,
}

/// What is wrong, with the data to say it in any language.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Message {
    /// E0101: the text does not fit the grammar here.
    Expected {
        /// What was found, if not the end of the file.
        found: Option<String>,
        /// What would have fitted, in the planner's words.
        expected: Vec<String>,
    },
    /// E0102: a keyword is misspelled.
    MisspelledKeyword {
        /// The word written.
        word: String,
        /// The keyword meant.
        suggestion: String,
    },
    /// E0103: a number cannot be read.
    InvalidNumber {
        /// The text.
        text: String,
    },
    /// E0104: a date or time that does not exist.
    InvalidDate {
        /// The text.
        text: String,
    },
    /// E0105: an unknown time zone.
    UnknownZone {
        /// The name written.
        name: String,
        /// A close known zone.
        suggestion: Option<String>,
    },
    /// E0106: brackets or operators nested deeper than a campaign line needs.
    TooDeep,
    /// E0201: a field that the events do not have.
    UnknownField {
        /// The dotted path written.
        path: String,
        /// A close known field.
        suggestion: Option<String>,
    },
    /// E0202: a value that the enumeration does not have.
    UnknownValue {
        /// The value written.
        value: String,
        /// The enumeration.
        enum_name: String,
        /// A close known value.
        suggestion: Option<String>,
    },
    /// E0203: two values that cannot be compared or combined.
    Mismatch {
        /// The operator.
        op: String,
        /// Left operand type.
        left: Ty,
        /// Right operand type.
        right: Ty,
    },
    /// E0204: money in two currencies.
    CurrencyMismatch {
        /// One currency.
        left: String,
        /// The other.
        right: String,
    },
    /// E0205: a name that is defined nowhere.
    UnknownName {
        /// The name.
        name: String,
        /// A close name in scope.
        suggestion: Option<String>,
    },
    /// E0206: a value of the wrong type for where it stands.
    WrongType {
        /// Where.
        place: Place,
        /// What it is.
        found: Ty,
    },
    /// E0207: a name defined twice.
    Duplicate {
        /// The name.
        name: String,
        /// What kind of name.
        kind: NameKind,
    },
    /// E0208: a tender field read outside a tender clause.
    TenderFieldOutside {
        /// The field.
        field: String,
    },
    /// E0209: a definition that depends on itself.
    Cycle {
        /// The name.
        name: String,
    },
    /// E0210: `last month` over something that no monthly counter feeds.
    NotMonthly,
    /// E0211: a function called with the wrong arguments.
    WrongArguments {
        /// The function.
        name: String,
        /// How many it takes.
        expected: usize,
        /// How many were given.
        found: usize,
    },
    /// E0301: a required line is missing.
    MissingLine {
        /// The campaign.
        campaign: String,
        /// Which line.
        line: Line,
    },
    /// E0302: the period ends before it starts.
    ImpossiblePeriod,
    /// E0303: the conditions can never all hold.
    NeverHolds {
        /// The field both conditions read.
        field: String,
    },
    /// E0304: two campaigns can fire on one payment with no stacking rule between them.
    Overlap {
        /// This campaign.
        campaign: String,
        /// The other campaign.
        other: String,
    },
    /// E0305: a campaign id used twice.
    DuplicateCampaign {
        /// The id.
        id: String,
    },
    /// E0306: a line that may appear once appears twice.
    RepeatedLine {
        /// Which line.
        line: Line,
    },
    /// E0307: two caps over the same scope.
    RepeatedCap {
        /// `payment`, `period` or `month`.
        scope: String,
    },
    /// E0308: a value that must be above zero is not.
    NotPositive {
        /// What it is.
        what: Positive,
    },
    /// E0309: a rate below 0% or above 100%.
    RateOutOfRange {
        /// The percentage written.
        percent: String,
    },
    /// E0310: two grant lines apply to the same payments.
    GrantOverlap,
    /// E0311: a stacking rule that does not hold together.
    StackConflict(StackProblem),
    /// E0312: a definition that nothing uses.
    Unused {
        /// The name.
        name: String,
    },
    /// E0313: a table without an `else` row.
    TableWithoutElse {
        /// The table.
        name: String,
    },
}

fn or_list(items: &[String], lang: Lang) -> String {
    match (items, lang) {
        ([], _) => String::new(),
        ([one], _) => one.clone(),
        ([init @ .., last], Lang::En) => format!("{} or {last}", init.join(", ")),
        ([init @ .., last], Lang::Ja) => format!("{}、または {last}", init.join("、")),
    }
}

impl Message {
    /// The stable code.
    pub fn code(&self) -> Code {
        match self {
            Message::Expected { .. } => Code::E0101,
            Message::MisspelledKeyword { .. } => Code::E0102,
            Message::InvalidNumber { .. } => Code::E0103,
            Message::InvalidDate { .. } => Code::E0104,
            Message::UnknownZone { .. } => Code::E0105,
            Message::TooDeep => Code::E0106,
            Message::UnknownField { .. } => Code::E0201,
            Message::UnknownValue { .. } => Code::E0202,
            Message::Mismatch { .. } => Code::E0203,
            Message::CurrencyMismatch { .. } => Code::E0204,
            Message::UnknownName { .. } => Code::E0205,
            Message::WrongType { .. } => Code::E0206,
            Message::Duplicate { .. } => Code::E0207,
            Message::TenderFieldOutside { .. } => Code::E0208,
            Message::Cycle { .. } => Code::E0209,
            Message::NotMonthly => Code::E0210,
            Message::WrongArguments { .. } => Code::E0211,
            Message::MissingLine { .. } => Code::E0301,
            Message::ImpossiblePeriod => Code::E0302,
            Message::NeverHolds { .. } => Code::E0303,
            Message::Overlap { .. } => Code::E0304,
            Message::DuplicateCampaign { .. } => Code::E0305,
            Message::RepeatedLine { .. } => Code::E0306,
            Message::RepeatedCap { .. } => Code::E0307,
            Message::NotPositive { .. } => Code::E0308,
            Message::RateOutOfRange { .. } => Code::E0309,
            Message::GrantOverlap => Code::E0310,
            Message::StackConflict(_) => Code::E0311,
            Message::Unused { .. } => Code::E0312,
            Message::TableWithoutElse { .. } => Code::E0313,
        }
    }

    /// The short title: lowercase, no final period, user input in backticks.
    pub fn title(&self, lang: Lang) -> String {
        use Lang::*;
        match (self, lang) {
            (Message::Expected { found: Some(found), .. }, En) => format!("unexpected `{found}`"),
            (Message::Expected { found: Some(found), .. }, Ja) => format!("ここに `{found}` は書けません"),
            (Message::Expected { found: None, .. }, En) => "the file ends too early".into(),
            (Message::Expected { found: None, .. }, Ja) => "ファイルが途中で終わっています".into(),
            (Message::MisspelledKeyword { word, .. }, En) => format!("unknown keyword `{word}`"),
            (Message::MisspelledKeyword { word, .. }, Ja) => format!("`{word}` というキーワードはありません"),
            (Message::InvalidNumber { text }, En) => format!("`{text}` is not a number Camp can hold exactly"),
            (Message::InvalidNumber { text }, Ja) => format!("`{text}` は正確に扱える数ではありません"),
            (Message::InvalidDate { text }, En) => format!("`{text}` is not a real date or time"),
            (Message::InvalidDate { text }, Ja) => format!("`{text}` は存在しない日付または時刻です"),
            (Message::UnknownZone { name, .. }, En) => format!("unknown time zone `{name}`"),
            (Message::UnknownZone { name, .. }, Ja) => format!("`{name}` というタイムゾーンはありません"),
            (Message::TooDeep, En) => "this line nests too deeply to be read".into(),
            (Message::TooDeep, Ja) => "この行は入れ子が深すぎて読めません".into(),
            (Message::UnknownField { path, .. }, En) => format!("unknown field `{path}`"),
            (Message::UnknownField { path, .. }, Ja) => format!("`{path}` という項目はありません"),
            (Message::UnknownValue { value, enum_name, .. }, En) => format!("`{value}` is not a `{enum_name}`"),
            (Message::UnknownValue { value, enum_name, .. }, Ja) => {
                format!("`{value}` は `{enum_name}` の値ではありません")
            }
            (Message::Mismatch { op, left, right }, En) => {
                format!("cannot use `{op}` on {} and {}", left.describe(En), right.describe(En))
            }
            (Message::Mismatch { op, left, right }, Ja) => {
                format!("{}と{}に `{op}` は使えません", left.describe(Ja), right.describe(Ja))
            }
            (Message::CurrencyMismatch { left, right }, En) => {
                format!("money in `{left}` mixed with money in `{right}`")
            }
            (Message::CurrencyMismatch { left, right }, Ja) => format!("`{left}` と `{right}` の金額が混ざっています"),
            (Message::UnknownName { name, .. }, En) => format!("`{name}` is not defined"),
            (Message::UnknownName { name, .. }, Ja) => format!("`{name}` は定義されていません"),
            (Message::WrongType { place, found }, En) => {
                format!("{} cannot be {}", place_en(*place), found.describe(En))
            }
            (Message::WrongType { place, found }, Ja) => {
                format!("{}に{}は使えません", place_ja(*place), found.describe(Ja))
            }
            (Message::Duplicate { name, .. }, En) => format!("`{name}` is defined twice"),
            (Message::Duplicate { name, .. }, Ja) => format!("`{name}` が二度定義されています"),
            (Message::TenderFieldOutside { field }, En) => {
                format!("`{field}` belongs to one tender, not to the payment")
            }
            (Message::TenderFieldOutside { field }, Ja) => {
                format!("`{field}` は支払い全体ではなく個々の支払い手段の項目です")
            }
            (Message::Cycle { name }, En) => format!("`{name}` is defined in terms of itself"),
            (Message::Cycle { name }, Ja) => format!("`{name}` が自分自身を使って定義されています"),
            (Message::NotMonthly, En) => "`last month` needs a value kept per month".into(),
            (Message::NotMonthly, Ja) => "`last month` には月ごとの集計値が必要です".into(),
            (Message::WrongArguments { name, expected, found }, En) => {
                format!("`{name}` takes {expected} value(s), not {found}")
            }
            (Message::WrongArguments { name, expected, found }, Ja) => {
                format!("`{name}` の引数は {expected} 個です ({found} 個あります)")
            }
            (Message::MissingLine { campaign, line }, En) => {
                format!("campaign `{campaign}` has no `{}` line", line.keyword())
            }
            (Message::MissingLine { campaign, line }, Ja) => {
                format!("キャンペーン `{campaign}` に `{}` 行がありません", line.keyword())
            }
            (Message::ImpossiblePeriod, En) => "the period ends before it starts".into(),
            (Message::ImpossiblePeriod, Ja) => "期間の終わりが始まりより前です".into(),
            (Message::NeverHolds { field }, En) => format!("the conditions on `{field}` can never all hold"),
            (Message::NeverHolds { field }, Ja) => format!("`{field}` の条件を同時に満たすことはできません"),
            (Message::Overlap { campaign, other }, En) => {
                format!("campaigns `{campaign}` and `{other}` can both award one payment with no stacking rule")
            }
            (Message::Overlap { campaign, other }, Ja) => {
                format!("キャンペーン `{campaign}` と `{other}` が同じ支払いに付与しうるのに併用ルールがありません")
            }
            (Message::DuplicateCampaign { id }, En) => format!("campaign id `{id}` is used twice"),
            (Message::DuplicateCampaign { id }, Ja) => format!("キャンペーン ID `{id}` が二度使われています"),
            (Message::RepeatedLine { line }, En) => format!("`{}` may be given only once per campaign", line.keyword()),
            (Message::RepeatedLine { line }, Ja) => {
                format!("`{}` は一つのキャンペーンに一度だけ書けます", line.keyword())
            }
            (Message::RepeatedCap { scope }, En) => format!("two caps per {scope}"),
            (Message::RepeatedCap { scope }, Ja) => format!("{scope} ごとの上限が二つあります"),
            (Message::NotPositive { what }, En) => format!("{} must be above zero", positive_en(*what)),
            (Message::NotPositive { what }, Ja) => format!("{}は 0 より大きくなければなりません", positive_ja(*what)),
            (Message::RateOutOfRange { percent }, En) => format!("a rate of {percent}% is outside 0% to 100%"),
            (Message::RateOutOfRange { percent }, Ja) => format!("{percent}% は 0% から 100% の範囲外です"),
            (Message::GrantOverlap, En) => "two grant lines apply to the same payments".into(),
            (Message::GrantOverlap, Ja) => "二つの付与日の指定が同じ支払いに当てはまります".into(),
            (Message::StackConflict(problem), En) => match problem {
                StackProblem::SamePriority { group, other } => {
                    format!("a tie in group `{group}` with `{other}` cannot be decided")
                }
                StackProblem::IndependentAndGrouped => "a campaign cannot be both independent and in a group".into(),
                StackProblem::ShareOutOfRange => "a combined cap must be a share between 0% and 100%".into(),
            },
            (Message::StackConflict(problem), Ja) => match problem {
                StackProblem::SamePriority { group, other } => {
                    format!("グループ `{group}` で `{other}` と同額のときにどちらを適用するか決まりません")
                }
                StackProblem::IndependentAndGrouped => "キャンペーンは独立とグループの両方にはできません".into(),
                StackProblem::ShareOutOfRange => "合算上限は 0% から 100% の割合でなければなりません".into(),
            },
            (Message::Unused { name }, En) => format!("`{name}` is never used"),
            (Message::Unused { name }, Ja) => format!("`{name}` はどこでも使われていません"),
            (Message::TableWithoutElse { name }, En) => format!("table `{name}` has no `else` row"),
            (Message::TableWithoutElse { name }, Ja) => format!("表 `{name}` に `else` 行がありません"),
        }
    }

    /// What the primary label says about the spot.
    pub fn label(&self, lang: Lang) -> String {
        use Lang::*;
        match (self, lang) {
            (Message::Expected { expected, .. }, En) if !expected.is_empty() => {
                format!("expected {}", or_list(expected, En))
            }
            (Message::Expected { expected, .. }, Ja) if !expected.is_empty() => {
                let expected: Vec<String> = expected.iter().map(|e| expected_ja(e)).collect();
                format!("ここには {} が必要です", or_list(&expected, Ja))
            }
            (Message::Expected { .. }, En) => "this cannot be read".into(),
            (Message::Expected { .. }, Ja) => "読み取れません".into(),
            (Message::MisspelledKeyword { .. }, En) => "not a keyword".into(),
            (Message::MisspelledKeyword { .. }, Ja) => "キーワードではありません".into(),
            (Message::InvalidNumber { .. }, En) => "too large or malformed".into(),
            (Message::InvalidNumber { .. }, Ja) => "大きすぎるか形が正しくありません".into(),
            (Message::InvalidDate { .. }, En) => "no such day or time".into(),
            (Message::InvalidDate { .. }, Ja) => "この日付・時刻はありません".into(),
            (Message::UnknownZone { .. }, En) => "not an IANA time zone or an offset such as `+09:00`".into(),
            (Message::UnknownZone { .. }, Ja) => "IANA のタイムゾーン名でも `+09:00` のような時差でもありません".into(),
            (Message::TooDeep, En) => "nested too deeply here".into(),
            (Message::TooDeep, Ja) => "ここで入れ子が深すぎます".into(),
            (Message::UnknownField { .. }, En) => "events have no such field".into(),
            (Message::UnknownField { .. }, Ja) => "イベントにこの項目はありません".into(),
            (Message::UnknownValue { enum_name, .. }, En) => format!("not one of the `{enum_name}` values"),
            (Message::UnknownValue { enum_name, .. }, Ja) => format!("`{enum_name}` の値の一覧にありません"),
            (Message::Mismatch { left, right, .. }, En) => {
                format!("{} on one side, {} on the other", left.describe(En), right.describe(En))
            }
            (Message::Mismatch { left, right, .. }, Ja) => {
                format!("片方は{}、もう片方は{}です", left.describe(Ja), right.describe(Ja))
            }
            (Message::CurrencyMismatch { .. }, En) => "currencies differ".into(),
            (Message::CurrencyMismatch { .. }, Ja) => "通貨が違います".into(),
            (Message::UnknownName { .. }, En) => "no `let`, `table`, `basis` or `counter` has this name".into(),
            (Message::UnknownName { .. }, Ja) => "この名前の `let`・`table`・`basis`・`counter` はありません".into(),
            (Message::WrongType { found, .. }, En) => format!("this is {}", found.describe(En)),
            (Message::WrongType { found, .. }, Ja) => format!("これは{}です", found.describe(Ja)),
            (Message::Duplicate { .. }, En) => "defined again here".into(),
            (Message::Duplicate { .. }, Ja) => "ここで再定義されています".into(),
            (Message::TenderFieldOutside { .. }, En) => "read per tender".into(),
            (Message::TenderFieldOutside { .. }, Ja) => "支払い手段ごとの項目です".into(),
            (Message::Cycle { .. }, En) => "used here inside its own definition".into(),
            (Message::Cycle { .. }, Ja) => "自身の定義の中で使われています".into(),
            (Message::NotMonthly, En) => "no monthly counter is read here".into(),
            (Message::NotMonthly, Ja) => "ここでは月ごとの集計値を読んでいません".into(),
            (Message::WrongArguments { .. }, En) => "wrong number of values".into(),
            (Message::WrongArguments { .. }, Ja) => "引数の数が違います".into(),
            (Message::MissingLine { .. }, En) => "in this campaign".into(),
            (Message::MissingLine { .. }, Ja) => "このキャンペーンです".into(),
            (Message::ImpossiblePeriod, En) => "the end comes first".into(),
            (Message::ImpossiblePeriod, Ja) => "終わりが先に来ています".into(),
            (Message::NeverHolds { .. }, En) => "no payment can meet this".into(),
            (Message::NeverHolds { .. }, Ja) => "この条件を満たす支払いはありません".into(),
            (Message::Overlap { .. }, En) => "no `stack` line in this campaign".into(),
            (Message::Overlap { .. }, Ja) => "このキャンペーンに `stack` 行がありません".into(),
            (Message::DuplicateCampaign { .. }, En) => "used again here".into(),
            (Message::DuplicateCampaign { .. }, Ja) => "ここで再び使われています".into(),
            (Message::RepeatedLine { .. }, En) => "given again here".into(),
            (Message::RepeatedLine { .. }, Ja) => "ここで再び書かれています".into(),
            (Message::RepeatedCap { .. }, En) => "second cap".into(),
            (Message::RepeatedCap { .. }, Ja) => "二つ目の上限".into(),
            (Message::NotPositive { .. }, En) => "zero or less".into(),
            (Message::NotPositive { .. }, Ja) => "0 以下です".into(),
            (Message::RateOutOfRange { .. }, En) => "out of range".into(),
            (Message::RateOutOfRange { .. }, Ja) => "範囲外です".into(),
            (Message::GrantOverlap, En) => "overlaps an earlier grant line".into(),
            (Message::GrantOverlap, Ja) => "前の付与日の指定と重なっています".into(),
            (Message::StackConflict(_), En) => "in this stacking rule".into(),
            (Message::StackConflict(_), Ja) => "この併用ルールです".into(),
            (Message::Unused { .. }, En) => "defined here".into(),
            (Message::Unused { .. }, Ja) => "ここで定義されています".into(),
            (Message::TableWithoutElse { .. }, En) => "keys not listed give no value".into(),
            (Message::TableWithoutElse { .. }, Ja) => "一覧にないキーには値がありません".into(),
        }
    }

    /// A hint that teaches the fix.
    pub fn help(&self, lang: Lang) -> Option<String> {
        use Lang::*;
        Some(match (self, lang) {
            (Message::Expected { found: None, .. }, En) => "a `}` may be missing at the end of a campaign".into(),
            (Message::Expected { found: None, .. }, Ja) => "キャンペーンの最後の `}` が抜けているかもしれません".into(),
            (Message::Expected { .. }, En) => {
                "each campaign line starts with a keyword; `campc explain E0101` and docs/language.md show every line".into()
            }
            (Message::Expected { .. }, Ja) => {
                "キャンペーンの各行はキーワードで始まります。`campc explain E0101` と docs/language.md に全ての行の形があります".into()
            }
            (Message::MisspelledKeyword { suggestion, .. }, En) => format!("did you mean `{suggestion}`?"),
            (Message::MisspelledKeyword { suggestion, .. }, Ja) => format!("`{suggestion}` のことですか?"),
            (
                Message::UnknownZone { suggestion: Some(s), .. }
                | Message::UnknownField { suggestion: Some(s), .. }
                | Message::UnknownValue { suggestion: Some(s), .. }
                | Message::UnknownName { suggestion: Some(s), .. },
                En,
            ) => format!("did you mean `{s}`?"),
            (
                Message::UnknownZone { suggestion: Some(s), .. }
                | Message::UnknownField { suggestion: Some(s), .. }
                | Message::UnknownValue { suggestion: Some(s), .. }
                | Message::UnknownName { suggestion: Some(s), .. },
                Ja,
            ) => format!("`{s}` のことですか?"),
            (Message::TooDeep, En) => "split the expression with `let` definitions".into(),
            (Message::TooDeep, Ja) => "`let` で式を分けてください".into(),
            (Message::UnknownField { .. }, En) => "the fields are listed in stdlib/vocabulary.camp".into(),
            (Message::UnknownField { .. }, Ja) => "使える項目は stdlib/vocabulary.camp にあります".into(),
            (Message::UnknownValue { enum_name, .. }, En) => {
                format!("the `{enum_name}` values are listed in stdlib/vocabulary.camp; write other text in double quotes")
            }
            (Message::UnknownValue { enum_name, .. }, Ja) => {
                format!("`{enum_name}` の値は stdlib/vocabulary.camp にあります")
            }
            (Message::UnknownName { .. }, En) => "define it with `let NAME = ...` in this campaign".into(),
            (Message::UnknownName { .. }, Ja) => "このキャンペーンの中で `let 名前 = ...` と定義してください".into(),
            (Message::InvalidDate { .. }, En) => "write dates as `YYYY-MM-DD` and times as `HH:MM` or `HH:MM:SS`".into(),
            (Message::InvalidDate { .. }, Ja) => "日付は `YYYY-MM-DD`、時刻は `HH:MM` か `HH:MM:SS` で書きます".into(),
            (Message::InvalidNumber { .. }, En) => "amounts have at most 28 significant digits".into(),
            (Message::InvalidNumber { .. }, Ja) => "数の有効桁数は 28 桁までです".into(),
            (Message::UnknownZone { .. }, En) => "write `in Asia/Tokyo` or `in +09:00`".into(),
            (Message::UnknownZone { .. }, Ja) => "`in Asia/Tokyo` や `in +09:00` と書きます".into(),
            (Message::Mismatch { left: Ty::Money(_), right: Ty::Number, .. }, En)
            | (Message::Mismatch { left: Ty::Number, right: Ty::Money(_), .. }, En) => {
                "write the amount with its currency, such as `300 JPY`".into()
            }
            (Message::Mismatch { left: Ty::Money(_), right: Ty::Number, .. }, Ja)
            | (Message::Mismatch { left: Ty::Number, right: Ty::Money(_), .. }, Ja) => {
                "金額は `300 JPY` のように通貨を付けて書きます".into()
            }
            (Message::Mismatch { .. }, En) => "both sides must be of the same kind: money with money, counts with counts".into(),
            (Message::Mismatch { .. }, Ja) => "両辺は同じ種類にします (金額と金額、数と数)".into(),
            (Message::CurrencyMismatch { .. }, En) => "a campaign compares and adds money in one currency".into(),
            (Message::CurrencyMismatch { .. }, Ja) => "金額の比較や計算は一つの通貨で行います".into(),
            (Message::WrongType { place, .. }, En) => place_help_en(*place).into(),
            (Message::WrongType { place, .. }, Ja) => place_help_ja(*place).into(),
            (Message::Duplicate { .. }, En) => "give the second one another name".into(),
            (Message::Duplicate { .. }, Ja) => "二つ目には別の名前を付けてください".into(),
            (Message::TenderFieldOutside { .. }, En) => {
                "use it in a `where` clause: `award 10% where method == paypay_balance`".into()
            }
            (Message::TenderFieldOutside { .. }, Ja) => {
                "`where` の中で使います: `award 10% where method == paypay_balance`".into()
            }
            (Message::Cycle { .. }, En) => "define it from fields, counters and other names only".into(),
            (Message::Cycle { .. }, Ja) => "項目・カウンター・他の名前だけで定義してください".into(),
            (Message::NotMonthly, En) => "declare `counter NAME = ... per month` and read it with `NAME last month`".into(),
            (Message::NotMonthly, Ja) => "`counter 名前 = ... per month` を宣言し `名前 last month` で読みます".into(),
            (Message::WrongArguments { .. }, En) => {
                "`min(a, b)` and `max(a, b)` take two values of the same kind, `month_start(at)` one time".into()
            }
            (Message::WrongArguments { .. }, Ja) => {
                "`min(a, b)` と `max(a, b)` は同じ種類の値を二つ、`month_start(at)` は日時を一つ取ります".into()
            }
            (Message::MissingLine { line, .. }, En) => format!("add a `{}` line; `campc explain E0301` shows one", line.keyword()),
            (Message::MissingLine { line, .. }, Ja) => format!("`{}` 行を追加してください", line.keyword()),
            (Message::ImpossiblePeriod, En) => "swap the two ends, or fix the year".into(),
            (Message::ImpossiblePeriod, Ja) => "始まりと終わりを入れ替えるか、年を直してください".into(),
            (Message::NeverHolds { .. }, En) => "the campaign would never award anything; remove one of the conditions".into(),
            (Message::NeverHolds { .. }, Ja) => "このままでは何も付与されません。どちらかの条件を消してください".into(),
            (Message::Overlap { .. }, En) => {
                "add `stack independent` (awards add up) or `stack largest in GROUP` (only the largest applies)".into()
            }
            (Message::Overlap { .. }, Ja) => {
                "`stack independent` (併用) か `stack largest in グループ名` (最大のみ適用) を追加してください".into()
            }
            (Message::DuplicateCampaign { .. }, En) => "campaign ids name ledger entries and must be unique".into(),
            (Message::DuplicateCampaign { .. }, Ja) => "キャンペーン ID は台帳の記録に使うため一意にします".into(),
            (Message::RepeatedLine { .. }, En) => "remove one of them".into(),
            (Message::RepeatedLine { .. }, Ja) => "どちらかを消してください".into(),
            (Message::RepeatedCap { .. }, En) => "keep the cap that the terms state".into(),
            (Message::RepeatedCap { .. }, Ja) => "規約に書かれた上限だけを残してください".into(),
            (Message::NotPositive { .. }, En) => "write a number above zero".into(),
            (Message::NotPositive { .. }, Ja) => "0 より大きい数を書いてください".into(),
            (Message::RateOutOfRange { .. }, En) => "a rate is a share of the payment: check for a misplaced decimal point".into(),
            (Message::RateOutOfRange { .. }, Ja) => "還元率は支払いに対する割合です。小数点の位置を確認してください".into(),
            (Message::GrantOverlap, En) => "limit each line with `for payments from ... to ...` so that they do not overlap".into(),
            (Message::GrantOverlap, Ja) => "`for payments from ... to ...` で重ならないように区切ってください".into(),
            (Message::StackConflict(StackProblem::SamePriority { .. }), En) => {
                "give each member of the group its own `priority N`; the lower number wins a tie".into()
            }
            (Message::StackConflict(StackProblem::SamePriority { .. }), Ja) => {
                "グループの各キャンペーンに別々の `priority N` を付けます。同額なら小さい番号が優先です".into()
            }
            (Message::StackConflict(_), En) => "see `campc explain E0311`".into(),
            (Message::StackConflict(_), Ja) => "`campc explain E0311` を参照してください".into(),
            (Message::Unused { .. }, En) => "remove it, or use it in a condition or the award".into(),
            (Message::Unused { .. }, Ja) => "消すか、条件や付与で使ってください".into(),
            (Message::TableWithoutElse { .. }, En) => "add `else: VALUE` for every other key".into(),
            (Message::TableWithoutElse { .. }, Ja) => "その他のキーのために `else: 値` を追加してください".into(),
        })
    }

    /// What a second label says.
    pub fn related_label(related: Related, lang: Lang) -> &'static str {
        match (related, lang) {
            (Related::FirstDefinedHere, Lang::En) => "first given here",
            (Related::FirstDefinedHere, Lang::Ja) => "最初はここです",
            (Related::ConflictsWithThis, Lang::En) => "contradicts this condition",
            (Related::ConflictsWithThis, Lang::Ja) => "この条件と矛盾します",
            (Related::OtherCampaign, Lang::En) => "the other campaign",
            (Related::OtherCampaign, Lang::Ja) => "もう一方のキャンペーンです",
        }
    }
}

/// The Japanese for what a syntax error expected. Keywords and punctuation read the same
/// in both languages.
fn expected_ja(en: &str) -> String {
    let ja = match en {
        "a value such as `10%`, `500 JPY` or `amount`" => "`10%`・`500 JPY`・`amount` のような値",
        "a campaign line such as `when` or `award`" => "`when` や `award` のようなキャンペーンの行",
        "a campaign id such as `ama-toku-4`" => "`ama-toku-4` のようなキャンペーン ID",
        "a comparison such as `==` or `>=`" => "`==` や `>=` のような比較",
        "an operator such as `+` or `*`" => "`+` や `*` のような演算子",
        "a value or a name" => "値または名前",
        "an amount such as `500 JPY`" => "`500 JPY` のような金額",
        "points such as `300 points`" => "`300 points` のようなポイント",
        "a rate such as `10%`" => "`10%` のような率",
        "a number" => "数",
        "a day such as `20th`" => "`20th` のような日",
        "a duration such as `30 days`" => "`30 days` のような期間",
        "a date such as `2026-02-01`" => "`2026-02-01` のような日付",
        "a time such as `12:00`" => "`12:00` のような時刻",
        "a date and time such as `2026-02-01 00:00`" => "`2026-02-01 00:00` のような日時",
        "a currency such as `JPY`" => "`JPY` のような通貨",
        "a time zone such as `Asia/Tokyo`" => "`Asia/Tokyo` のようなタイムゾーン",
        "a text in double quotes" => "二重引用符で囲んだ文字列",
        "a cap such as `1000/payment`" => "`1000/payment` のような上限",
        "a table row such as `5: 2.5`" => "`5: 2.5` のような表の行",
        "a type such as `money`" => "`money` のような型",
        "a complete line" => "完全な行",
        "a name that is not a keyword (this word is reserved by the language)" => {
            "キーワードではない名前 (この語は予約語です)"
        }
        "end of file" => "ファイルの終わり",
        "`true` or `false`" => "`true` か `false`",
        "`floor`, `ceil`, `half_up` or `half_even`" => "`floor`・`ceil`・`half_up`・`half_even`",
        "`recompute` or `prorate`" => "`recompute` か `prorate`",
        "`independent`, `largest` or `combined`" => "`independent`・`largest`・`combined`",
        "`month` or `period`" => "`month` か `period`",
        other => other,
    };
    ja.to_string()
}

fn place_en(place: Place) -> &'static str {
    match place {
        Place::Condition => "a condition",
        Place::AwardValue => "an award",
        Place::Cap => "a cap",
        Place::Amount => "an amount",
        Place::TableKey => "a table key",
        Place::ListElement => "a list element",
        Place::Logic => "`and`, `or` and `not`",
        Place::Arithmetic => "arithmetic",
        Place::Collection => "a collection",
        Place::Argument => "an argument",
    }
}

fn place_ja(place: Place) -> &'static str {
    match place {
        Place::Condition => "条件",
        Place::AwardValue => "付与",
        Place::Cap => "上限",
        Place::Amount => "金額",
        Place::TableKey => "表のキー",
        Place::ListElement => "リストの要素",
        Place::Logic => "`and`・`or`・`not`",
        Place::Arithmetic => "計算",
        Place::Collection => "集合",
        Place::Argument => "引数",
    }
}

fn place_help_en(place: Place) -> &'static str {
    match place {
        Place::Condition | Place::Logic => "a condition is yes or no, such as `amount >= 200 JPY`",
        Place::AwardValue => "award a rate (`award 10%`) or fixed points (`award 300 points`)",
        Place::Cap => "a cap is points, such as `up to 1000/payment`",
        Place::Amount => "write money with its currency, such as `10000 JPY`",
        Place::TableKey => "the keys must be of the same kind as the value after `by`",
        Place::ListElement => "all elements of a list must be of one kind",
        Place::Arithmetic => "add money to money, multiply money by a rate or a count",
        Place::Collection => "`in` needs a list such as `[a, b]`, `has` a set such as `merchant.tags`",
        Place::Argument => "pass values of the kind the function takes",
    }
}

fn place_help_ja(place: Place) -> &'static str {
    match place {
        Place::Condition | Place::Logic => "条件は `amount >= 200 JPY` のように真か偽になる式です",
        Place::AwardValue => "率 (`award 10%`) か固定ポイント (`award 300 points`) を付与します",
        Place::Cap => "上限は `up to 1000/payment` のようにポイントで書きます",
        Place::Amount => "金額は `10000 JPY` のように通貨を付けて書きます",
        Place::TableKey => "キーは `by` の後の値と同じ種類にします",
        Place::ListElement => "リストの要素はすべて同じ種類にします",
        Place::Arithmetic => "金額には金額を足し、率や数を掛けます",
        Place::Collection => "`in` には `[a, b]` のようなリスト、`has` には `merchant.tags` のような集合を使います",
        Place::Argument => "関数が受け取る種類の値を渡してください",
    }
}

fn positive_en(what: Positive) -> &'static str {
    match what {
        Positive::Cap => "a cap",
        Positive::First => "the counted part of a payment",
        Positive::UnitValue => "the value of a point",
    }
}

fn positive_ja(what: Positive) -> &'static str {
    match what {
        Positive::Cap => "上限",
        Positive::First => "対象となる金額",
        Positive::UnitValue => "ポイントの価値",
    }
}

impl Diagnostic {
    /// An error at `span` (file 0 until the checker assigns the file).
    pub fn error(message: Message, span: Span) -> Diagnostic {
        Diagnostic { message, severity: Severity::Error, file: 0, span, related: None }
    }

    /// A warning at `span`.
    pub fn warning(message: Message, span: Span) -> Diagnostic {
        Diagnostic { message, severity: Severity::Warning, file: 0, span, related: None }
    }

    /// Adds a second label.
    pub fn with_related(mut self, span: Span, related: Related) -> Diagnostic {
        self.related = Some((span, related));
        self
    }

    /// The stable code.
    pub fn code(&self) -> Code {
        self.message.code()
    }

    /// True for an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// A diagnostic with its source text and language, for miette's renderer.
#[derive(Debug)]
pub struct Report<'a> {
    diagnostic: &'a Diagnostic,
    lang: Lang,
    source: miette::NamedSource<String>,
}

impl<'a> Report<'a> {
    /// Binds a diagnostic to the file it is about.
    pub fn new(diagnostic: &'a Diagnostic, lang: Lang, file_name: &str, text: &str) -> Report<'a> {
        Report { diagnostic, lang, source: miette::NamedSource::new(file_name, text.to_string()) }
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message.title(self.lang))
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.diagnostic.code()))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.diagnostic.message.help(self.lang).map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let d = self.diagnostic;
        let mut labels = vec![miette::LabeledSpan::new_primary_with_span(Some(d.message.label(self.lang)), d.span)];
        if let Some((span, related)) = d.related {
            labels.push(miette::LabeledSpan::new_with_span(
                Some(Message::related_label(related, self.lang).to_string()),
                span,
            ));
        }
        Some(Box::new(labels.into_iter()))
    }
}

/// Renders a diagnostic as text the way `campc check` prints it: miette's graphical report,
/// `width` columns wide, with or without colour.
pub fn render(diagnostic: &Diagnostic, lang: Lang, file_name: &str, text: &str, width: usize, color: bool) -> String {
    let theme = if color { miette::GraphicalTheme::unicode() } else { miette::GraphicalTheme::unicode_nocolor() };
    let handler = miette::GraphicalReportHandler::new_themed(theme).with_width(width).with_links(false);
    let report = Report::new(diagnostic, lang, file_name, text);
    let mut out = String::new();
    match handler.render_report(&mut out, &report) {
        Ok(()) => out,
        // Rendering into a String cannot fail; keep the message if it ever does.
        Err(_) => format!("{}: {}\n", diagnostic.code(), diagnostic.message.title(lang)),
    }
}

/// Line and column (both from 1, columns in characters) of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..text.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}
