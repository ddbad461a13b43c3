//! The event stream of EVENTS.md: one JSON object a line, decoded exactly and validated.
//!
//! Amounts are read from the JSON text as written (serde_json keeps numbers as text with
//! `arbitrary_precision`), never through a binary float. Every problem with an event is a
//! [`Reject`] with a message a person can act on.

use std::str::FromStr;

use camp_compiler::ir::Nanos;
use chrono::DateTime;
use rust_decimal::Decimal;
use serde_json::Value;

use crate::json::Raw;
use crate::text::Text;

/// An id that comes in events (event, account, payment) or from the campaigns (campaign,
/// unit, source), kept once and shared: the runtime's maps, the payments it keeps and the
/// ledger entries it writes all hold the same text, so copying one is a count, not a copy.
pub type Id = std::sync::Arc<str>;

/// An event, decoded and validated.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// The idempotency key.
    pub id: Id,
    /// The account it belongs to.
    pub account: Id,
    /// When it happened.
    pub at: Nanos,
    /// What happened.
    pub kind: EventKind,
}

/// The kinds of event.
#[derive(Clone, Debug, PartialEq)]
pub enum EventKind {
    /// A payment (shared: it is much larger than the other kinds, and the account keeps it as
    /// it came, without a copy).
    Payment(std::sync::Arc<Payment>),
    /// Part of a payment taken back; `None` for a `cancel` (all of it).
    Refund {
        /// The payment's id.
        payment: String,
        /// How much; `None` for a cancel.
        amount: Option<Decimal>,
    },
    /// A provisional payment completed.
    Complete {
        /// The payment's id.
        payment: String,
    },
    /// The account entered a campaign.
    Enroll {
        /// The campaign's id.
        campaign: String,
    },
    /// Account attributes set (`None` removes one).
    Account {
        /// Names and values, in the event's order.
        attrs: Vec<(String, Option<Value>)>,
    },
}

/// A payment event.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Payment {
    /// The total paid.
    pub amount: Decimal,
    /// ISO 4217 code.
    pub currency: Text,
    /// The tenders (one for the `method` shorthand).
    pub tenders: Vec<Tender>,
    /// `merchant.id`, `.brand`, `.region`, `.class`, `.category`.
    pub merchant: [Option<Text>; 5],
    /// `merchant.tags`.
    pub tags: Vec<Text>,
    /// `in_store` or `online`.
    pub channel: Text,
    /// `pos`, `vending_machine`, ...
    pub terminal: Text,
    /// `paypay`, `alipay`, ...
    pub app: Text,
    /// The categories of its items.
    pub categories: Vec<Text>,
    /// Counts and earns only once completed.
    pub provisional: bool,
}

/// One tender of a payment.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Tender {
    /// Its method.
    pub method: Text,
    /// Its amount.
    pub amount: Decimal,
    /// Installments; 1 for a lump sum.
    pub installments: Decimal,
}

/// Why an event was not accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reject {
    /// The event's id, when it could be read.
    pub event: Option<String>,
    /// What is wrong, for a person.
    pub error: String,
}

impl Reject {
    pub(crate) fn new(event: Option<&str>, error: impl Into<String>) -> Reject {
        Reject { event: event.map(str::to_string), error: error.into() }
    }
}

/// Reads one line of the stream: the event and its content hash ([`crate::content_hash`] of
/// the line's JSON). `Ok(None)` for a blank line.
pub fn parse_line(line: &str) -> Result<Option<(Event, u64)>, Reject> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    let raw = Raw::parse(line).map_err(|e| Reject::new(None, format!("the line is not a JSON object: {e}")))?;
    let event = decode(&raw)?;
    Ok(Some((event, raw.content_hash())))
}

/// Decodes and validates one event.
fn decode(value: &Raw<'_>) -> Result<Event, Reject> {
    let Raw::Object(object) = value else {
        return Err(Reject::new(None, "an event must be a JSON object"));
    };
    let id = match value.get("id") {
        Some(Raw::String(s)) if !s.is_empty() => Id::from(&**s),
        Some(Raw::String(_)) => return Err(Reject::new(None, "`id` is empty")),
        Some(_) => return Err(Reject::new(None, "`id` must be a string")),
        None => return Err(Reject::new(None, "the event has no `id`")),
    };
    let fields = Fields::new(object, &id);
    let kind_name = fields.str(Key::Type)?;
    let account = fields.str(Key::Account)?;
    if account.is_empty() {
        return Err(fields.reject("`account` is empty"));
    }
    let account = Id::from(account);
    let at = fields.time(Key::At)?;
    let kind = match kind_name {
        "payment" => EventKind::Payment(std::sync::Arc::new(payment(&fields)?)),
        "refund" => {
            let amount = fields.amount(Key::Amount)?;
            if amount <= Decimal::ZERO {
                return Err(fields.reject(format!("refund amount {amount} must be above zero")));
            }
            EventKind::Refund { payment: fields.string(Key::Payment)?, amount: Some(amount) }
        }
        "cancel" => EventKind::Refund { payment: fields.string(Key::Payment)?, amount: None },
        "complete" => EventKind::Complete { payment: fields.string(Key::Payment)? },
        "enroll" => EventKind::Enroll { campaign: fields.string(Key::Campaign)? },
        "account" => {
            let Some(attrs @ Raw::Object(_)) = fields.get(Key::Attrs) else {
                return Err(fields.reject("an `account` event needs `attrs`, an object of attribute values"));
            };
            let attrs = attrs
                .members()
                .into_iter()
                .map(|(k, v)| (k.to_string(), if v.is_null() { None } else { Some(v.to_value()) }))
                .collect();
            EventKind::Account { attrs }
        }
        other => {
            return Err(fields.reject(format!(
                "unknown event type `{other}` (expected payment, refund, cancel, complete, enroll or account)"
            )));
        }
    };
    Ok(Event { id, account, at, kind })
}

/// The fields an event's object may have (others are ignored).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    Type,
    Account,
    At,
    Amount,
    Payment,
    Campaign,
    Attrs,
    Currency,
    Method,
    Tenders,
    Merchant,
    Channel,
    Status,
    Items,
    Terminal,
    App,
}

/// How many [`Key`]s there are.
const KEYS: usize = Key::App as usize + 1;

impl Key {
    fn of(name: &str) -> Option<Key> {
        Some(match name {
            "type" => Key::Type,
            "account" => Key::Account,
            "at" => Key::At,
            "amount" => Key::Amount,
            "payment" => Key::Payment,
            "campaign" => Key::Campaign,
            "attrs" => Key::Attrs,
            "currency" => Key::Currency,
            "method" => Key::Method,
            "tenders" => Key::Tenders,
            "merchant" => Key::Merchant,
            "channel" => Key::Channel,
            "status" => Key::Status,
            "items" => Key::Items,
            "terminal" => Key::Terminal,
            "app" => Key::App,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Key::Type => "type",
            Key::Account => "account",
            Key::At => "at",
            Key::Amount => "amount",
            Key::Payment => "payment",
            Key::Campaign => "campaign",
            Key::Attrs => "attrs",
            Key::Currency => "currency",
            Key::Method => "method",
            Key::Tenders => "tenders",
            Key::Merchant => "merchant",
            Key::Channel => "channel",
            Key::Status => "status",
            Key::Items => "items",
            Key::Terminal => "terminal",
            Key::App => "app",
        }
    }
}

/// An event's fields, found in one pass over its object: looking each up in the map compared
/// strings again for every field.
struct Fields<'a, 'l> {
    found: [Option<&'a Raw<'l>>; KEYS],
    id: &'a str,
}

impl<'a, 'l> Fields<'a, 'l> {
    /// The members in the order written: of a repeated key, the last counts.
    fn new(object: &'a [(std::borrow::Cow<'l, str>, Raw<'l>)], id: &'a str) -> Fields<'a, 'l> {
        let mut found = [None; KEYS];
        for (name, value) in object {
            if let Some(key) = Key::of(name) {
                found[key as usize] = Some(value);
            }
        }
        Fields { found, id }
    }

    fn get(&self, key: Key) -> Option<&'a Raw<'l>> {
        self.found[key as usize]
    }
}

impl Fields<'_, '_> {
    fn reject(&self, error: impl Into<String>) -> Reject {
        Reject::new(Some(self.id), error)
    }

    fn string(&self, key: Key) -> Result<String, Reject> {
        self.str(key).map(str::to_string)
    }

    /// A string field, borrowed (for fields only compared or parsed).
    fn str(&self, key: Key) -> Result<&str, Reject> {
        let name = key.name();
        match self.get(key) {
            Some(Raw::String(s)) => Ok(s),
            Some(_) => Err(self.reject(format!("`{name}` must be a string"))),
            None => Err(self.reject(format!("event {} has no `{name}`", self.id))),
        }
    }

    fn optional_str<'f>(&'f self, key: Key, default: &'f str) -> Result<&'f str, Reject> {
        let name = key.name();
        match self.get(key) {
            None | Some(Raw::Null) => Ok(default),
            Some(Raw::String(s)) => Ok(s),
            Some(_) => Err(self.reject(format!("`{name}` must be a string"))),
        }
    }

    fn time(&self, key: Key) -> Result<Nanos, Reject> {
        let name = key.name();
        let text = self.str(key)?;
        parse_time(text).ok_or_else(|| {
            self.reject(format!(
                "`{name}` is `{text}`, not an RFC 3339 time with an offset such as 2026-02-03T10:15:00+09:00"
            ))
        })
    }

    fn amount(&self, key: Key) -> Result<Decimal, Reject> {
        let name = key.name();
        match self.get(key) {
            Some(v) => {
                raw_decimal(v).ok_or_else(|| self.reject(format!("`{name}` must be a number or a decimal string")))
            }
            None => Err(self.reject(format!("event {} has no `{name}`", self.id))),
        }
    }
}

/// An RFC 3339 time with an offset, as nanoseconds.
pub fn parse_time(text: &str) -> Option<Nanos> {
    if let Some(at) = plain_time(text.as_bytes()) {
        return Some(at);
    }
    let t = DateTime::parse_from_rfc3339(text).ok()?;
    t.timestamp_nanos_opt()
}

/// [`parse_time`] of the shape nearly every event writes, `2026-02-03T10:15:00+09:00` or
/// `...Z`, in whole seconds, worked out from its digits (chrono's general parser is a tenth
/// of decoding an event). `None` for anything else, valid or not: chrono decides those.
fn plain_time(text: &[u8]) -> Option<Nanos> {
    let (head, zone) = text.split_first_chunk::<19>()?;
    let digit = |at: usize| head.get(at).map_or(10, |b| i64::from(b.wrapping_sub(b'0')));
    let at_digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];
    if at_digits.iter().any(|&at| digit(at) > 9) || [head[4], head[7], head[10], head[13], head[16]] != *b"--T::" {
        return None;
    }
    let two = |at: usize| digit(at) * 10 + digit(at + 1);
    let (year, month, day) = (two(0) * 100 + two(2), two(5), two(8));
    let (hour, minute, second) = (two(11), two(14), two(17));
    let offset = match *zone {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), h1 @ b'0'..=b'9', h2 @ b'0'..=b'9', b':', m1 @ b'0'..=b'9', m2 @ b'0'..=b'9'] => {
            let value = |tens: u8, ones: u8| i64::from(tens - b'0') * 10 + i64::from(ones - b'0');
            let (hours, minutes) = (value(h1, h2), value(m1, m2));
            if hours > 23 || minutes > 59 {
                return None;
            }
            let magnitude = hours * 3600 + minutes * 60;
            if sign == b'-' { -magnitude } else { magnitude }
        }
        _ => return None,
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    const MONTH_DAYS: [i64; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let last_day = MONTH_DAYS.get(usize::try_from(month - 1).ok()?)? + i64::from(leap && month == 2);
    // A leap second (:60) is chrono's to read.
    if day < 1 || day > last_day || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    // Days since 1970-01-01 of the proleptic Gregorian date (H. Hinnant's days_from_civil).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    seconds.checked_mul(1_000_000_000)
}

/// A JSON number or decimal string, exactly as written.
pub fn decimal(value: &Value) -> Option<Decimal> {
    match value {
        // As written: numbers keep their text (serde_json's `arbitrary_precision`).
        Value::Number(n) => decimal_text(n.as_str()),
        Value::String(s) => decimal_text(s.trim()),
        _ => None,
    }
}

/// [`decimal`] of a value read from an event line.
fn raw_decimal(value: &Raw<'_>) -> Option<Decimal> {
    match value {
        Raw::Number(n) => decimal_text(n),
        Raw::String(s) => decimal_text(s.trim()),
        _ => None,
    }
}

fn decimal_text(text: &str) -> Option<Decimal> {
    Decimal::from_str(text).ok().or_else(|| Decimal::from_scientific(text).ok())
}

fn payment(f: &Fields<'_, '_>) -> Result<Payment, Reject> {
    let amount = f.amount(Key::Amount)?;
    if amount < Decimal::ZERO {
        return Err(f.reject(format!("payment amount {amount} is negative")));
    }
    let currency = Text::from(f.optional_str(Key::Currency, "JPY")?);
    let tenders = match (f.get(Key::Method), f.get(Key::Tenders)) {
        (Some(_), Some(_)) => return Err(f.reject("give `method` or `tenders`, not both")),
        (None, None) => return Err(f.reject("a payment needs `method` or `tenders`")),
        (Some(Raw::String(method)), None) => {
            vec![Tender { method: Text::from(&**method), amount, installments: Decimal::ONE }]
        }
        (Some(_), None) => return Err(f.reject("`method` must be a string")),
        (None, Some(Raw::Array(list))) => tenders(f, list)?,
        (None, Some(_)) => return Err(f.reject("`tenders` must be a list of {method, amount}")),
    };
    let total: Decimal = tenders.iter().map(|t| t.amount).sum();
    if total != amount {
        return Err(f.reject(format!("the tenders add up to {total}, not to the amount {amount}")));
    }
    let mut merchant: [Option<Text>; 5] = Default::default();
    let mut tags = Vec::new();
    match f.get(Key::Merchant) {
        None | Some(Raw::Null) => {}
        Some(m @ Raw::Object(_)) => {
            for (i, key) in ["id", "brand", "region", "class", "category"].iter().enumerate() {
                merchant[i] = match m.get(key) {
                    None | Some(Raw::Null) => None,
                    Some(Raw::String(s)) => Some(Text::from(&**s)),
                    Some(_) => return Err(f.reject(format!("`merchant.{key}` must be a string"))),
                };
            }
            tags = match m.get("tags") {
                None | Some(Raw::Null) => Vec::new(),
                Some(Raw::Array(list)) => list
                    .iter()
                    .map(|t| t.as_str().map(Text::from))
                    .collect::<Option<_>>()
                    .ok_or_else(|| f.reject("`merchant.tags` must be a list of strings"))?,
                Some(_) => return Err(f.reject("`merchant.tags` must be a list of strings")),
            };
        }
        Some(_) => return Err(f.reject("`merchant` must be an object")),
    }
    let channel = f.optional_str(Key::Channel, "in_store")?;
    if channel != "in_store" && channel != "online" {
        return Err(f.reject(format!("`channel` is `{channel}`; it must be `in_store` or `online`")));
    }
    let channel = Text::from(channel);
    let status = f.optional_str(Key::Status, "completed")?;
    let provisional = match status {
        "completed" => false,
        "provisional" => true,
        other => return Err(f.reject(format!("`status` is `{other}`; it must be `completed` or `provisional`"))),
    };
    let categories = match f.get(Key::Items) {
        None | Some(Raw::Null) => Vec::new(),
        Some(Raw::Array(items)) => items
            .iter()
            .map(|item| match item.get("category") {
                Some(Raw::String(c)) => Ok(Text::from(&**c)),
                _ => Err(f.reject("each of `items` needs a `category` string")),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(f.reject("`items` must be a list")),
    };
    Ok(Payment {
        amount,
        currency,
        tenders,
        merchant,
        tags,
        channel,
        terminal: Text::from(f.optional_str(Key::Terminal, "pos")?),
        app: Text::from(f.optional_str(Key::App, "paypay")?),
        categories,
        provisional,
    })
}

fn tenders(f: &Fields<'_, '_>, list: &[Raw<'_>]) -> Result<Vec<Tender>, Reject> {
    if list.is_empty() {
        return Err(f.reject("`tenders` is empty"));
    }
    list.iter()
        .map(|t| {
            let method =
                t.get("method").and_then(Raw::as_str).ok_or_else(|| f.reject("each tender needs a `method` string"))?;
            let amount =
                t.get("amount").and_then(raw_decimal).ok_or_else(|| f.reject("each tender needs an `amount`"))?;
            if amount < Decimal::ZERO {
                return Err(f.reject(format!("tender amount {amount} is negative")));
            }
            let installments = match t.get("installments") {
                None | Some(Raw::Null) => Decimal::ONE,
                Some(v) => match raw_decimal(v) {
                    Some(n) if n >= Decimal::ONE && n.fract().is_zero() => n,
                    _ => return Err(f.reject("`installments` must be a whole number of at least 1")),
                },
            };
            Ok(Tender { method: Text::from(method), amount, installments })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// The digits-only reading of a time gives chrono's answer whenever it gives one, and
        /// gives one for every plain time: over times near the plain shape, valid or not
        /// (months, days, hours and offsets out of range, leap days, leap seconds, other
        /// separators), and years from 0000 to 9999 (chrono's range ends past them).
        #[test]
        fn plain_times_read_as_chrono_reads_them(
            year in prop_oneof![0i64..10_000, 1600i64..2500, Just(1900), Just(2000), Just(2100)],
            month in 0i64..14, day in 0i64..33, hour in 0i64..26, minute in 0i64..61, second in 0i64..62,
            offset in prop_oneof![Just(None), (any::<bool>(), 0i64..26, 0i64..61).prop_map(Some)],
            separator in prop_oneof![8 => Just('T'), 1 => Just('t'), 1 => Just(' ')],
            edit in proptest::option::weighted(0.2, (0usize..25, any::<u8>())),
        ) {
            let offset = match offset {
                None => "Z".to_string(),
                Some((minus, h, m)) => format!("{}{h:02}:{m:02}", if minus { '-' } else { '+' }),
            };
            let text = format!("{year:04}-{month:02}-{day:02}{separator}{hour:02}:{minute:02}:{second:02}{offset}");
            let mut bytes = text.into_bytes();
            if let Some((at, byte)) = edit && let Some(b) = bytes.get_mut(at) {
                *b = byte;
            }
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let chrono = DateTime::parse_from_rfc3339(&text).ok().and_then(|t| t.timestamp_nanos_opt());
            let plain = plain_time(text.as_bytes());
            if plain.is_some() {
                prop_assert_eq!(plain, chrono, "{}", text);
            }
            prop_assert_eq!(parse_time(&text), chrono, "{}", text);
            let plain_shape = separator == 'T' && edit.is_none() && (1..=12).contains(&month) && hour < 24
                && minute < 60 && second < 60 && chrono.is_some();
            if plain_shape {
                prop_assert!(plain.is_some(), "{} left to chrono", text);
            }
        }
    }

    /// Every day of every month (and the days either side) of leap and common years, at the
    /// ends of a day, read as chrono reads them.
    #[test]
    fn plain_dates_read_as_chrono_reads_them_at_every_edge() {
        let years = [0, 4, 1600, 1677, 1678, 1700, 1900, 1970, 2000, 2023, 2024, 2100, 2261, 2262, 2400, 9999];
        let times = ["00:00:00Z", "23:59:59Z", "00:00:00+23:59", "23:59:59-23:59", "12:00:00+09:00", "24:00:00Z"];
        let mut plain = 0;
        for year in years {
            for month in 0..=13 {
                for day in 0..=32 {
                    for time in times {
                        let text = format!("{year:04}-{month:02}-{day:02}T{time}");
                        let chrono = DateTime::parse_from_rfc3339(&text).ok().and_then(|t| t.timestamp_nanos_opt());
                        assert_eq!(parse_time(&text), chrono, "{text}");
                        if let Some(at) = plain_time(text.as_bytes()) {
                            assert_eq!(Some(at), chrono, "{text}");
                            plain += 1;
                        }
                    }
                }
            }
        }
        // Most of them are plain times in chrono's range (and not left to chrono).
        assert!(plain > 4_000, "{plain} read from their digits");
    }

    #[test]
    fn amounts_are_read_exactly_as_written() {
        // 17 significant digits and a fraction: a binary float would give 12345678901234568.
        let line = r#"{"type":"payment","id":"p","account":"a","at":"2026-02-03T10:00:00Z","amount":12345678901234567.89,"method":"cash"}"#;
        let Ok(Some((event, _))) = parse_line(line) else { panic!("not accepted") };
        let EventKind::Payment(p) = event.kind else { panic!("not a payment") };
        assert_eq!(p.amount.to_string(), "12345678901234567.89");
    }

    #[test]
    fn strings_and_numbers_both_give_amounts() {
        for amount in ["1200", "\"1200\"", "\"12.50\"", "12.50"] {
            let line = format!(
                r#"{{"type":"payment","id":"p","account":"a","at":"2026-02-03T10:00:00+09:00","amount":{amount},"method":"cash"}}"#
            );
            assert!(matches!(parse_line(&line), Ok(Some(_))), "{amount}");
        }
    }

    #[test]
    fn bad_events_say_what_is_wrong() {
        let cases = [
            (
                r#"{"type":"payment","id":"g5","account":"u","at":"2026-03-10T12:00:00+09:00","method":"paypay_balance"}"#,
                "has no `amount`",
            ),
            (
                r#"{"type":"payment","id":"g6","account":"u","at":"2026-03-10T12:00:00+09:00","amount":1000,"tenders":[{"method":"paypay_balance","amount":600}]}"#,
                "add up to 600",
            ),
            (
                r#"{"type":"payment","id":"g7","account":"u","at":"yesterday","amount":1000,"method":"cash"}"#,
                "not an RFC 3339 time",
            ),
            (
                r#"{"type":"gift","id":"g8","account":"u","at":"2026-03-10T12:00:00+09:00"}"#,
                "unknown event type `gift`",
            ),
        ];
        for (line, message) in cases {
            match parse_line(line) {
                Err(reject) => assert!(reject.error.contains(message), "{} for {line}", reject.error),
                Ok(_) => panic!("accepted {line}"),
            }
        }
    }
}
