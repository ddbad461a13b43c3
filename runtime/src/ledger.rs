//! Ledger entries: what the runtime writes. Entries are never rewritten, only followed by
//! adjustments; what a campaign owes for a payment is the sum of its entries' points.

use chrono::NaiveDate;
use serde::Serialize;

use crate::event::Id;

/// A grant date as its `Display` writes it (ISO 8601: `2026-03-31`, a sign beyond year 9999).
fn as_text<S: serde::Serializer>(date: &NaiveDate, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(date)
}

/// One line of the ledger (EVENTS.md).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "entry", rename_all = "lowercase")]
pub enum Entry {
    /// Points awarded for a payment.
    Award {
        /// The event that caused it (the payment, or the `complete` of a provisional one).
        event: Id,
        /// The account.
        account: Id,
        /// The campaign.
        campaign: Id,
        /// The payment.
        payment: Id,
        /// Whole points.
        points: i64,
        /// The point unit.
        unit: Id,
        /// The date the points are granted, written `YYYY-MM-DD`.
        #[serde(serialize_with = "as_text")]
        grant_on: NaiveDate,
        /// The rule that awarded them, `file:line`.
        source: Id,
        /// Why this many, in a few words.
        reason: String,
    },
    /// A change to what was awarded for a payment.
    Adjust {
        /// The event that caused it (a refund, a cancel).
        event: Id,
        /// The account.
        account: Id,
        /// The campaign.
        campaign: Id,
        /// The payment adjusted.
        payment: Id,
        /// Whole points, negative for a clawback.
        points: i64,
        /// The point unit.
        unit: Id,
        /// The rule that decided the change, `file:line`.
        source: Id,
        /// `refund`, `cancel` or `rerate`, with a few words.
        reason: String,
    },
    /// An event that was not accepted.
    Reject {
        /// Its id, when it could be read.
        #[serde(skip_serializing_if = "Option::is_none")]
        event: Option<String>,
        /// Its line in the input, from 1.
        line: usize,
        /// What is wrong.
        error: String,
    },
}

impl Entry {
    /// The points of an award or adjustment; 0 for a reject.
    pub fn points(&self) -> i64 {
        match self {
            Entry::Award { points, .. } | Entry::Adjust { points, .. } => *points,
            Entry::Reject { .. } => 0,
        }
    }

    /// `(campaign, payment)` of an award or adjustment.
    pub fn owed_key(&self) -> Option<(&str, &str)> {
        match self {
            Entry::Award { campaign, payment, .. } | Entry::Adjust { campaign, payment, .. } => {
                Some((campaign, payment))
            }
            Entry::Reject { .. } => None,
        }
    }

    /// The entry as one line of JSON: exactly what `serde_json::to_string` writes for it (the
    /// fields in the same order, strings escaped alike; a test holds the two equal), written
    /// directly, since every entry is written once and this was a tenth of processing a
    /// payment.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(384);
        self.write_json(&mut out);
        out
    }

    /// [`Entry::to_json`] appended to `out`: for writers that reuse one buffer.
    pub fn write_json(&self, out: &mut String) {
        let mut out = Object { text: out, empty: true };
        match self {
            Entry::Award { event, account, campaign, payment, points, unit, source, reason, .. }
            | Entry::Adjust { event, account, campaign, payment, points, unit, source, reason } => {
                // An award is an adjustment's members with its grant date after the unit.
                let grant_on = match self {
                    Entry::Award { grant_on, .. } => Some(grant_on),
                    _ => None,
                };
                out.text("entry", if grant_on.is_some() { "award" } else { "adjust" });
                out.text("event", event);
                out.text("account", account);
                out.text("campaign", campaign);
                out.text("payment", payment);
                out.integer("points", points.unsigned_abs(), *points < 0);
                out.text("unit", unit);
                if let Some(grant_on) = grant_on {
                    out.date("grant_on", *grant_on);
                }
                out.text("source", source);
                out.text("reason", reason);
            }
            Entry::Reject { event, line, error } => {
                out.text("entry", "reject");
                if let Some(event) = event {
                    out.text("event", event);
                }
                out.integer("line", *line as u64, false);
                out.text("error", error);
            }
        }
        out.end();
    }
}

/// A JSON object being written at the end of `text`: members in the order given.
struct Object<'t> {
    text: &'t mut String,
    /// No member written yet.
    empty: bool,
}

impl Object<'_> {
    fn key(&mut self, key: &str) {
        self.text.push(if self.empty { '{' } else { ',' });
        self.empty = false;
        self.text.push('"');
        self.text.push_str(key);
        self.text.push_str("\":");
    }

    fn text(&mut self, key: &str, value: &str) {
        self.key(key);
        escaped(self.text, value);
    }

    /// An integer, as `Display` writes it (without the formatting machinery: every entry
    /// has one or two).
    fn integer(&mut self, key: &str, magnitude: u64, negative: bool) {
        self.key(key);
        self.text.push_str(crate::explain::Digits::new().integer(magnitude, negative));
    }

    /// A date as a JSON string, as chrono's `Display` writes it: `YYYY-MM-DD` for the years
    /// 0 to 9999 (written here digit by digit), with a sign beyond (written by chrono).
    fn date(&mut self, key: &str, date: chrono::NaiveDate) {
        use chrono::Datelike;
        self.key(key);
        self.text.push('"');
        match u32::try_from(date.year()) {
            Ok(year) if year <= 9999 => {
                for (value, width) in [(year, 4), (date.month(), 2), (date.day(), 2)] {
                    if width == 2 {
                        self.text.push('-');
                    }
                    for place in (0..width).rev() {
                        let digit = value / 10u32.pow(place) % 10;
                        self.text.push(char::from(b'0' + digit as u8));
                    }
                }
            }
            _ => {
                use std::fmt::Write;
                let _ = write!(self.text, "{date}");
            }
        }
        self.text.push('"');
    }

    fn end(self) {
        self.text.push('}');
    }
}

/// Whether `text` holds a byte JSON must escape (below 0x20, `"` or `\\`): every ledger line
/// checks its ids and reason, eight bytes at a time.
fn needs_escape(text: &str) -> bool {
    crate::json::first_special(text.as_bytes()) < text.len()
}

/// A JSON string as serde_json writes it: `"` and `\\` escaped, the control characters as
/// `\b \f \n \r \t` or `\u00xx` (lower-case hex), everything else as it is.
fn escaped(out: &mut String, text: &str) {
    out.push('"');
    // Ids, units, dates and reasons hardly ever hold anything to escape: one tight pass
    // over the bytes decides, then the text goes in whole.
    if !needs_escape(text) {
        out.push_str(text);
        out.push('"');
        return;
    }
    let mut plain = 0;
    for (i, byte) in text.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&text[plain..i]);
        plain = i + 1;
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xf)]));
        } else {
            out.push_str(escape);
        }
    }
    out.push_str(&text[plain..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::Entry;

    /// Text with what JSON must escape (quotes, backslashes, every control character) among
    /// ordinary and non-ASCII characters.
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![any::<String>(), "[a-z\"\\\\\u{0}-\u{1f}\u{7f}é€😀 ]{0,12}"]
    }

    #[test]
    fn the_word_test_finds_every_character_to_escape_at_every_place_in_a_word() {
        let characters = (0u8..0x80).map(char::from).chain(['é', '€', '😀', '\u{80}', '\u{ff}']);
        for c in characters {
            let must = c < ' ' || c == '"' || c == '\\';
            for at in 0..17 {
                let text = format!("{}{c}{}", "a".repeat(at), "b".repeat(16 - at));
                assert_eq!(super::needs_escape(&text), must, "{c:?} after {at} bytes");
            }
        }
    }

    proptest! {
        #[test]
        fn the_word_test_finds_what_the_byte_test_finds(text in text(), pad in 0usize..9) {
            // Padding moves the text across word boundaries.
            let text = format!("{}{text}", "x".repeat(pad));
            let bytewise = text.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\');
            prop_assert_eq!(super::needs_escape(&text), bytewise);
        }
    }

    fn entry() -> impl Strategy<Value = Entry> {
        // Dates across chrono's whole range: years beyond 9999 and before 0 are written with
        // a sign.
        let date = (-3_000_000i32..3_000_000)
            .prop_map(|days| chrono::NaiveDate::from_num_days_from_ce_opt(days).unwrap_or(chrono::NaiveDate::MIN));
        let award = (text(), text(), text(), text(), any::<i64>(), text(), date, text(), text()).prop_map(
            |(event, account, campaign, payment, points, unit, grant_on, source, reason)| Entry::Award {
                event: event.into(),
                account: account.into(),
                campaign: campaign.into(),
                payment: payment.into(),
                points,
                unit: unit.into(),
                grant_on,
                source: source.into(),
                reason,
            },
        );
        let adjust = (text(), text(), text(), text(), any::<i64>(), text(), text(), text()).prop_map(
            |(event, account, campaign, payment, points, unit, source, reason)| Entry::Adjust {
                event: event.into(),
                account: account.into(),
                campaign: campaign.into(),
                payment: payment.into(),
                points,
                unit: unit.into(),
                source: source.into(),
                reason,
            },
        );
        let reject = (proptest::option::of(text()), any::<usize>(), text())
            .prop_map(|(event, line, error)| Entry::Reject { event, line, error });
        prop_oneof![award, adjust, reject]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn an_entry_is_written_as_serde_json_writes_it(entry in entry()) {
            let expected = serde_json::to_string(&entry).unwrap_or_default();
            prop_assert_eq!(&entry.to_json(), &expected);
            // Appended after what a buffer holds, the same text.
            let mut buffer = String::from("{\"earlier\":1}\n");
            entry.write_json(&mut buffer);
            prop_assert_eq!(buffer, format!("{{\"earlier\":1}}\n{expected}"));
        }
    }
}
