//! The types of Camp values, with their units.

use crate::diag::Lang;

/// Index of an enumeration in the [`Vocabulary`](crate::vocab::Vocabulary).
pub type EnumId = usize;

/// The type of a value. Money carries its currency; points are always in the campaign's unit.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Ty {
    /// Yes or no.
    Bool,
    /// A plain number: a count, a multiplier.
    Number,
    /// A rate such as `10%`.
    Rate,
    /// Money in a currency (`JPY`).
    Money(String),
    /// Points of the campaign's unit.
    Points,
    /// A moment in time.
    Timestamp,
    /// A calendar date.
    Date,
    /// A length of time.
    Duration,
    /// Text.
    Text,
    /// A value of an enumeration.
    Enum(EnumId, String),
    /// A set (or list) of values.
    Set(Box<Ty>),
    /// The type of an expression that already has an error: it fits anywhere, so one
    /// mistake is reported once.
    Error,
}

impl Ty {
    /// True when a value of this type may be compared with one of `other` by `==`, `<`...
    pub fn comparable(&self, other: &Ty) -> bool {
        match (self, other) {
            (Ty::Error, _) | (_, Ty::Error) => true,
            (Ty::Timestamp | Ty::Date, Ty::Timestamp | Ty::Date) => true,
            (Ty::Enum(a, _), Ty::Enum(b, _)) => a == b,
            (a, b) => a == b,
        }
    }

    /// True for types with an order (`<` makes sense).
    pub fn ordered(&self) -> bool {
        matches!(
            self,
            Ty::Number | Ty::Rate | Ty::Money(_) | Ty::Points | Ty::Timestamp | Ty::Date | Ty::Duration | Ty::Error
        )
    }

    /// How the type reads in a message.
    pub fn describe(&self, lang: Lang) -> String {
        match (self, lang) {
            (Ty::Bool, Lang::En) => "yes/no".into(),
            (Ty::Bool, Lang::Ja) => "真偽値".into(),
            (Ty::Number, Lang::En) => "a count".into(),
            (Ty::Number, Lang::Ja) => "数".into(),
            (Ty::Rate, Lang::En) => "a rate".into(),
            (Ty::Rate, Lang::Ja) => "率".into(),
            (Ty::Money(c), Lang::En) => format!("money ({c})"),
            (Ty::Money(c), Lang::Ja) => format!("金額 ({c})"),
            (Ty::Points, Lang::En) => "points".into(),
            (Ty::Points, Lang::Ja) => "ポイント".into(),
            (Ty::Timestamp, Lang::En) => "a time".into(),
            (Ty::Timestamp, Lang::Ja) => "日時".into(),
            (Ty::Date, Lang::En) => "a date".into(),
            (Ty::Date, Lang::Ja) => "日付".into(),
            (Ty::Duration, Lang::En) => "a duration".into(),
            (Ty::Duration, Lang::Ja) => "期間".into(),
            (Ty::Text, Lang::En) => "text".into(),
            (Ty::Text, Lang::Ja) => "文字列".into(),
            (Ty::Enum(_, name), Lang::En) => format!("a `{name}`"),
            (Ty::Enum(_, name), Lang::Ja) => format!("`{name}` の値"),
            (Ty::Set(inner), Lang::En) => format!("a set of {}", inner.describe(lang)),
            (Ty::Set(inner), Lang::Ja) => format!("{}の集合", inner.describe(lang)),
            (Ty::Error, Lang::En) => "an unknown type".into(),
            (Ty::Error, Lang::Ja) => "不明な型".into(),
        }
    }
}
