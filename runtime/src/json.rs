//! A JSON value borrowed from the line it was read from: what decoding an event and its
//! content hash read.
//!
//! `serde_json::Value` owns every key and string and keeps objects in B-tree maps: building
//! and dropping it was half the cost of decoding an event. [`Raw`] borrows what it can from
//! the line (strings without escapes, keys) and keeps an object's members in the order
//! written. Lines as events are usually written (objects, arrays, strings, integers,
//! literals) are read by a small parser of its own ([`Fast`]), which gives up on anything
//! else (a fraction or an exponent, a surrogate escape, deep nesting, any error); serde_json
//! parses those, so what is valid JSON and what an error says are serde_json's.
//!
//! The content hash is defined over the value, not the text: members sorted by key (the
//! last of a repeated key counts, as in `serde_json::Value`), numbers by their text as
//! written. [`Raw::from_value`] gives the same hash for a `serde_json::Value`.

use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// serde_json (with `arbitrary_precision`) hands a number to a visitor as a one-entry map
/// under this key, its value the number's text; `serde_json::Value` reads it the same way.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// A JSON value, borrowing from its text where it can.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Raw<'a> {
    Null,
    Bool(bool),
    /// A number's text, as written.
    Number(Cow<'a, str>),
    String(Cow<'a, str>),
    Array(Vec<Raw<'a>>),
    /// Members in the order written, repeated keys included.
    Object(Vec<(Cow<'a, str>, Raw<'a>)>),
}

impl<'a> Raw<'a> {
    /// Parses one JSON text.
    pub(crate) fn parse(text: &'a str) -> Result<Raw<'a>, serde_json::Error> {
        match Fast::parse(text) {
            Some(raw) => Ok(raw),
            None => Raw::parse_with_serde_json(text),
        }
    }

    /// Parses one JSON text with serde_json: what [`Raw::parse`] gives, and its errors.
    fn parse_with_serde_json(text: &'a str) -> Result<Raw<'a>, serde_json::Error> {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let value = Raw::deserialize(&mut deserializer)?;
        deserializer.end()?;
        Ok(value)
    }

    /// Borrows a `serde_json::Value`.
    pub(crate) fn from_value(value: &'a Value) -> Raw<'a> {
        match value {
            Value::Null => Raw::Null,
            Value::Bool(b) => Raw::Bool(*b),
            Value::Number(n) => Raw::Number(Cow::Borrowed(n.as_str())),
            Value::String(s) => Raw::String(Cow::Borrowed(s)),
            Value::Array(items) => Raw::Array(items.iter().map(Raw::from_value).collect()),
            Value::Object(map) => {
                Raw::Object(map.iter().map(|(k, v)| (Cow::Borrowed(k.as_str()), Raw::from_value(v))).collect())
            }
        }
    }

    /// The value as `serde_json::Value` (a repeated key keeps its last value).
    pub(crate) fn to_value(&self) -> Value {
        match self {
            Raw::Null => Value::Null,
            Raw::Bool(b) => Value::Bool(*b),
            Raw::Number(text) => {
                // The text came from serde_json's own number scanner, so it reads back.
                text.parse::<serde_json::Number>().map_or(Value::Null, Value::Number)
            }
            Raw::String(s) => Value::String(s.to_string()),
            Raw::Array(items) => Value::Array(items.iter().map(Raw::to_value).collect()),
            Raw::Object(members) => Value::Object(members.iter().map(|(k, v)| (k.to_string(), v.to_value())).collect()),
        }
    }

    /// A member of an object (the last, when the key is repeated); `None` for other values.
    pub(crate) fn get(&self, key: &str) -> Option<&Raw<'a>> {
        match self {
            Raw::Object(members) => members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The text of a string.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Raw::String(s) => Some(s),
            _ => None,
        }
    }

    /// Whether it is `null`.
    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Raw::Null)
    }

    /// An object's members sorted by key, each key once with its last value (as
    /// `serde_json::Value` keeps them); nothing for other values.
    pub(crate) fn members(&self) -> Vec<(&str, &Raw<'a>)> {
        match self {
            Raw::Object(members) => with_sorted_members(members, <[_]>::to_vec),
            _ => Vec::new(),
        }
    }

    /// The content hash ([`crate::content_hash`]): FNV-1a over the value as [`Raw::hash_into`]
    /// feeds it.
    pub(crate) fn content_hash(&self) -> u64 {
        let mut hasher = crate::Fnv1a::default();
        self.hash_into(&mut hasher);
        hasher.finish()
    }

    /// Feeds the value to a hasher: objects by sorted key, the last of a repeated key.
    fn hash_into(&self, hasher: &mut impl Hasher) {
        match self {
            Raw::Null => 0u8.hash(hasher),
            Raw::Bool(b) => (1u8, *b).hash(hasher),
            Raw::Number(text) => (2u8, text.as_ref()).hash(hasher),
            Raw::String(s) => (3u8, s.as_ref()).hash(hasher),
            Raw::Array(items) => {
                (4u8, items.len()).hash(hasher);
                items.iter().for_each(|i| i.hash_into(hasher));
            }
            Raw::Object(members) => with_sorted_members(members, |members| {
                (5u8, members.len()).hash(hasher);
                for (k, v) in members {
                    k.hash(hasher);
                    v.hash_into(hasher);
                }
            }),
        }
    }
}

/// The parser for JSON as events are usually written: one pass over the bytes, strings and
/// keys borrowed unless they hold escapes. It gives `None` for anything it does not take, and
/// never takes what serde_json would not or reads it otherwise: numbers only as integers
/// (whose text serde_json, with `arbitrary_precision`, gives as written, `-0` aside), no
/// surrogate escapes, no key serde_json reads as a number's wrapper, nesting well inside
/// serde_json's limit.
struct Fast<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    depth: usize,
}

/// Where in `bytes` the first byte is that a JSON string cannot hold as it is (below 0x20, `"`
/// or `\\`), or `bytes.len()`: eight bytes at a time. The word tests are the classic ones (a
/// byte below `n` for `n` ≤ 128; a zero byte after an XOR): a borrow can set a byte's flag
/// wrongly only after a byte whose flag is rightly set, so in a little-endian word the lowest
/// flag is exact.
pub(crate) fn first_special(bytes: &[u8]) -> usize {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    let below = |word: u64, n: u8| word.wrapping_sub(ONES * u64::from(n)) & !word & HIGHS;
    let holds = |word: u64, byte: u8| below(word ^ (ONES * u64::from(byte)), 1);
    let special = |b: &u8| *b < 0x20 || *b == b'"' || *b == b'\\';
    let mut at = 0;
    let mut words = bytes.chunks_exact(8);
    for chunk in &mut words {
        let Ok(word) = <[u8; 8]>::try_from(chunk) else { break };
        let word = u64::from_le_bytes(word);
        let flags = below(word, 0x20) | holds(word, b'"') | holds(word, b'\\');
        if flags != 0 {
            return at + (flags.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    let rest = words.remainder();
    at + rest.iter().position(special).unwrap_or(rest.len())
}

/// Deeper than this, [`Fast`] leaves the text to serde_json (whose limit is 128).
const FAST_DEPTH: usize = 64;

impl<'a> Fast<'a> {
    fn parse(text: &'a str) -> Option<Raw<'a>> {
        let mut parser = Fast { text, bytes: text.as_bytes(), at: 0, depth: 0 };
        let value = parser.value()?;
        parser.space();
        (parser.at == parser.bytes.len()).then_some(value)
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    fn value(&mut self) -> Option<Raw<'a>> {
        self.space();
        match self.peek()? {
            b'{' => self.object(),
            b'[' => self.array(),
            b'"' => Some(Raw::String(self.string()?)),
            b't' => self.literal("true", Raw::Bool(true)),
            b'f' => self.literal("false", Raw::Bool(false)),
            b'n' => self.literal("null", Raw::Null),
            b'-' | b'0'..=b'9' => self.integer(),
            _ => None,
        }
    }

    fn literal(&mut self, word: &str, value: Raw<'a>) -> Option<Raw<'a>> {
        let end = self.at + word.len();
        (self.bytes.get(self.at..end)? == word.as_bytes()).then(|| {
            self.at = end;
            value
        })
    }

    /// Into an object or array, at `[` or `{`.
    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        self.at += 1;
        (self.depth <= FAST_DEPTH).then_some(())
    }

    /// Out of the object or array when the next byte (after space) is its `close`; the
    /// twin of [`Fast::enter`].
    fn leave_at(&mut self, close: u8) -> bool {
        self.space();
        let closing = self.peek() == Some(close);
        if closing {
            self.at += 1;
            self.depth -= 1;
        }
        closing
    }

    /// After a member or an item: out at `close` (`true`), or past a comma (`false`);
    /// `None` at anything else.
    fn after_element(&mut self, close: u8) -> Option<bool> {
        if self.leave_at(close) {
            return Some(true);
        }
        if self.peek()? != b',' {
            return None;
        }
        self.at += 1;
        Some(false)
    }

    fn object(&mut self) -> Option<Raw<'a>> {
        self.enter()?;
        let mut members = Vec::with_capacity(8);
        if self.leave_at(b'}') {
            return Some(Raw::Object(members));
        }
        loop {
            self.space();
            if self.peek() != Some(b'"') {
                return None;
            }
            let key = self.string()?;
            // serde_json reads an object whose first key is this as a number.
            if members.is_empty() && key == NUMBER_TOKEN {
                return None;
            }
            self.space();
            if self.peek() != Some(b':') {
                return None;
            }
            self.at += 1;
            let value = self.value()?;
            members.push((key, value));
            if self.after_element(b'}')? {
                return Some(Raw::Object(members));
            }
        }
    }

    fn array(&mut self) -> Option<Raw<'a>> {
        self.enter()?;
        let mut items = Vec::new();
        if self.leave_at(b']') {
            return Some(Raw::Array(items));
        }
        loop {
            items.push(self.value()?);
            if self.after_element(b']')? {
                return Some(Raw::Array(items));
            }
        }
    }

    /// Moves to the next byte a string cannot hold as it is (`"`, `\\` or a control).
    fn skip_plain(&mut self) -> Option<()> {
        self.at += first_special(self.bytes.get(self.at..)?);
        Some(())
    }

    /// A string, at its opening quote: borrowed when it holds no escape.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.at += 1;
        let start = self.at;
        self.skip_plain()?;
        match self.peek()? {
            b'"' => {
                let text = self.text.get(start..self.at)?;
                self.at += 1;
                return Some(Cow::Borrowed(text));
            }
            b'\\' => {}
            _ => return None,
        }
        let mut owned = String::from(self.text.get(start..self.at)?);
        loop {
            match self.peek()? {
                b'"' => {
                    self.at += 1;
                    return Some(Cow::Owned(owned));
                }
                b'\\' => {
                    let escape = *self.bytes.get(self.at + 1)?;
                    self.at += 2;
                    owned.push(match escape {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hex = self.text.get(self.at..self.at + 4)?;
                            let code = u32::from_str_radix(hex, 16)
                                .ok()
                                .filter(|_| hex.bytes().all(|b| b.is_ascii_hexdigit()))?;
                            self.at += 4;
                            // A surrogate, paired or not: serde_json decides.
                            char::from_u32(code)?
                        }
                        _ => return None,
                    });
                }
                0..=0x1F => return None,
                _ => {
                    let run = self.at;
                    self.skip_plain()?;
                    owned.push_str(self.text.get(run..self.at)?);
                }
            }
        }
    }

    /// An integer: its text as written. A fraction, an exponent, a leading zero before
    /// digits or `-0`: serde_json decides.
    fn integer(&mut self) -> Option<Raw<'a>> {
        let start = self.at;
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.peek()? {
            b'0' => self.at += 1,
            b'1'..=b'9' => {
                while let Some(b'0'..=b'9') = self.peek() {
                    self.at += 1;
                }
            }
            _ => return None,
        }
        if let Some(b'.' | b'e' | b'E' | b'0'..=b'9') = self.peek() {
            return None;
        }
        let text = self.text.get(start..self.at)?;
        (text != "-0").then_some(Raw::Number(Cow::Borrowed(text)))
    }
}

/// Objects with at most this many members are sorted on the stack (an event has about ten).
const SMALL_OBJECT: usize = 16;

/// Calls `f` with an object's members by key, each key once with its last value.
fn with_sorted_members<'r, 'a, R>(
    members: &'r [(Cow<'a, str>, Raw<'a>)],
    f: impl FnOnce(&[(&'r str, &'r Raw<'a>)]) -> R,
) -> R {
    const NULL: &Raw<'static> = &Raw::Null;
    if members.len() <= SMALL_OBJECT {
        let mut sorted: [(&str, &Raw<'a>); SMALL_OBJECT] = [("", NULL); SMALL_OBJECT];
        let kept = sort_members(members, &mut sorted);
        f(&sorted[..kept])
    } else {
        let mut sorted: Vec<(&str, &Raw<'a>)> = vec![("", NULL); members.len()];
        let kept = sort_members(members, &mut sorted);
        f(&sorted[..kept])
    }
}

/// Sorts `members` into `into` (as long as `members` at least) by key, keeping only the last
/// member of each key; returns how many are kept.
fn sort_members<'r, 'a>(members: &'r [(Cow<'a, str>, Raw<'a>)], into: &mut [(&'r str, &'r Raw<'a>)]) -> usize {
    let mut kept = 0;
    for (key, value) in members {
        let key = key.as_ref();
        // Insertion into the sorted prefix, walking back from its end (objects are small): a
        // key already there takes the later value.
        let mut at = kept;
        while at > 0 && key_less(key, into[at - 1].0) {
            at -= 1;
        }
        if at > 0 && into[at - 1].0 == key {
            into[at - 1].1 = value;
        } else {
            into.copy_within(at..kept, at + 1);
            into[at] = (key, value);
            kept += 1;
        }
    }
    kept
}

/// `a < b` as `str` orders them (byte by byte), the first bytes compared here: the keys of
/// one object mostly differ there, and the whole comparison is a call into `memcmp`.
fn key_less(a: &str, b: &str) -> bool {
    match (a.as_bytes().first(), b.as_bytes().first()) {
        (Some(x), Some(y)) if x != y => x < y,
        _ => a < b,
    }
}

/// A key or string, borrowed from the text when it has no escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(s.to_string())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(s)))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

impl<'de> Deserialize<'de> for Raw<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Raw<'de>, E> {
        Ok(Raw::Null)
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Raw<'de>, E> {
        Ok(Raw::Bool(b))
    }

    // Integers that fit in 64 bits come here even with `arbitrary_precision`, as they do for
    // `serde_json::Value`, whose number text is then the integer printed: so is ours. Other
    // numbers come as a map under NUMBER_TOKEN.
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Raw<'de>, E> {
        Ok(Raw::Number(Cow::Owned(n.to_string())))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Raw<'de>, E> {
        Ok(Raw::Number(Cow::Owned(n.to_string())))
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Raw<'de>, E> {
        Ok(Raw::String(Cow::Borrowed(s)))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Raw<'de>, E> {
        Ok(Raw::String(Cow::Owned(s.to_string())))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Raw<'de>, E> {
        Ok(Raw::String(Cow::Owned(s)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element::<Raw<'de>>()? {
            items.push(item);
        }
        Ok(Raw::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw<'de>, A::Error> {
        let Some(Text(first)) = map.next_key::<Text<'de>>()? else { return Ok(Raw::Object(Vec::new())) };
        if first == NUMBER_TOKEN {
            let Text(number) = map.next_value::<Text<'de>>()?;
            return Ok(Raw::Number(number));
        }
        let mut members = Vec::with_capacity(8);
        members.push((first, map.next_value::<Raw<'de>>()?));
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            members.push((key, map.next_value::<Raw<'de>>()?));
        }
        Ok(Raw::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(raw: &Raw<'_>) -> u64 {
        raw.content_hash()
    }

    /// Lines that differ in what the content hash must see or ignore.
    const LINES: &[&str] = &[
        r#"{"type":"payment","id":"p1","account":"u","at":"2026-02-03T10:00:00+09:00","amount":1200,"method":"cash"}"#,
        r#"{"id":"p1","type":"payment","account":"u","at":"2026-02-03T10:00:00+09:00","amount":1200,"method":"cash"}"#,
        r#"{"type":"payment","id":"p1","account":"u","at":"2026-02-03T10:00:00+09:00","amount":1200.0,"method":"cash"}"#,
        r#"{"type":"payment","id":"p1","account":"u","at":"2026-02-03T10:00:00+09:00","amount":"1200","method":"cash"}"#,
        r#"{"type":"payment","id":"p1","id":"p2","account":"u","at":"2026-02-03T10:00:00+09:00","amount":1e3,"method":"cash"}"#,
        r#"{"type":"payment","id":"p\u0031","account":"\"u\"","at":"2026-02-03T10:00:00+09:00","amount":-0.50,"method":"ca\nsh"}"#,
        r#"{"a":{"z":[1,{"y":null,"x":true}],"b":false},"a":{"b":[]},"c":{},"d":[],"e":"","f":12345678901234567890123}"#,
        r#"[1,"two",{"three":3},[null]]"#,
        r#""just a string""#,
        r#"  {"spaced" : [ 1 , 2 ] }  "#,
    ];

    #[test]
    fn parses_as_serde_json_does_and_hashes_alike() {
        for line in LINES {
            let raw = Raw::parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
            let value: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(raw.to_value(), value, "{line}");
            assert_eq!(hash(&raw), hash(&Raw::from_value(&value)), "{line}");
        }
    }

    /// Members come out by key as a B-tree map orders them, each key once with its last
    /// value, for keys that share first bytes or differ only in length, repeated or not.
    #[test]
    fn members_are_sorted_by_key_with_the_last_value_of_each() {
        let keys = ["a", "ab", "abc", "b", "ba", "", "amount", "account", "at", "é", "Z"];
        let mut state = 0x2545_F491_4F6C_DD1D_u64;
        let mut next = || crate::synthetic::next(&mut state);
        for _ in 0..2_000 {
            let n = (next() % (SMALL_OBJECT as u64 + 4)) as usize;
            let members: Vec<(Cow<'_, str>, Raw<'_>)> = (0..n)
                .map(|i| {
                    (Cow::Borrowed(keys[(next() % keys.len() as u64) as usize]), Raw::Number(i.to_string().into()))
                })
                .collect();
            let expected: std::collections::BTreeMap<&str, &Raw<'_>> =
                members.iter().map(|(k, v)| (k.as_ref(), v)).collect();
            let expected: Vec<(&str, &Raw<'_>)> = expected.into_iter().collect();
            let got = with_sorted_members(&members, <[_]>::to_vec);
            assert_eq!(got, expected, "{members:?}");
        }
    }

    #[test]
    fn different_content_hashes_differently() {
        let hashes: Vec<u64> = LINES.iter().filter_map(|l| Raw::parse(l).ok()).map(|r| hash(&r)).collect();
        // The first two differ only in member order: one value.
        assert_eq!(hashes[0], hashes[1]);
        let mut distinct = hashes[1..].to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), hashes.len() - 1, "{hashes:?}");
    }

    #[test]
    fn what_serde_json_rejects_is_rejected_with_its_message() {
        for bad in ["{not json", r#"{"a":1,}"#, r#"{"a":01}"#, r#"{"a":"\x"}"#, "{} {}", r#"{"a":1"#, "", "nul"] {
            let ours = Raw::parse(bad).err().map(|e| e.to_string());
            let theirs = serde_json::from_str::<Value>(bad).err().map(|e| e.to_string());
            assert!(ours.is_some(), "accepted {bad}");
            assert_eq!(ours, theirs, "{bad}");
        }
    }

    #[test]
    fn the_content_hash_is_the_one_stores_already_keep() {
        // Hashes that campc 0.1 (hashing serde_json::Value) gave these lines: a store written
        // by it compares them with what this build computes, so they must never change.
        let kept: [(&str, u64); 4] = [
            (
                r#"{"type":"payment","id":"p1","account":"u","at":"2026-02-03T10:00:00+09:00","amount":1200,"method":"cash"}"#,
                0x9110_2c20_18b3_9f3b,
            ),
            (
                r#"{"type":"payment","id":"p1","id":"p2","account":"u","at":"2026-02-03T10:00:00+09:00","amount":1e3,"tenders":[{"method":"cash","amount":"1000","installments":1}],"merchant":{"tags":["ama-toku-4"],"brand":"x\u00e9"}}"#,
                0xeadb_70b5_4624_2a7b,
            ),
            (
                r#"{"type":"account","id":"a1","account":"u","at":"2026-02-03T10:00:00+09:00","attrs":{"dpoint_rank":3,"linked":true,"gone":null}}"#,
                0x7c28_397a_4c8c_9427,
            ),
            (
                r#"{"a":{"z":[1,{"y":null,"x":true}],"b":false},"a":{"b":[]},"c":{},"d":[],"e":"","f":-12345678901234567890123.5e-3}"#,
                0xb6a4_a10e_d4d0_6e4f,
            ),
        ];
        for (line, hash_kept) in kept {
            let raw = Raw::parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(hash(&raw), hash_kept, "{line}");
            let value: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(crate::content_hash(&value), hash_kept, "{line}");
            if let Ok(Some((_, from_line))) = crate::event::parse_line(line) {
                assert_eq!(from_line, hash_kept, "{line}");
            }
        }
    }

    #[test]
    fn the_first_special_byte_is_found_wherever_it_is() {
        // Every byte at every position of texts either side of the eight-byte words, over
        // fillers that are not special (ASCII, UTF-8 continuation bytes, 0x7F, 0xFF), with and
        // without a second special byte after it.
        let filler = [b'a', 0xC3, 0xA9, b'~', 0x7F, 0xFF, b' ', b'0'];
        let special = |b: &u8| *b < 0x20 || *b == b'"' || *b == b'\\';
        for len in 0..20 {
            for at in 0..len {
                for byte in 0..=255u8 {
                    for later in [None, Some(b'\\'), Some(0x1F)] {
                        let mut bytes: Vec<u8> = (0..len).map(|i| filler[i % filler.len()]).collect();
                        bytes[at] = byte;
                        if let Some(later) = later
                            && at + 1 < len
                        {
                            bytes[len - 1] = later;
                        }
                        let expected = bytes.iter().position(special).unwrap_or(len);
                        assert_eq!(first_special(&bytes), expected, "{bytes:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn event_lines_take_the_fast_parser_and_read_as_serde_json_reads_them() {
        // Every line above without a fraction or an exponent is one the fast parser takes.
        let mut taken = 0;
        for line in LINES.iter().chain(&[r#"{"k":"\u00e9\n\t\"\\\/\b\f\r","n":[-1,0,18446744073709551616],"e":{}}"#]) {
            let Some(fast) = Fast::parse(line) else {
                assert!(line.contains('.') || line.contains("e3"), "not taken: {line}");
                continue;
            };
            taken += 1;
            assert_eq!(Ok(&fast), Raw::parse_with_serde_json(line).as_ref().map_err(ToString::to_string), "{line}");
        }
        assert!(taken >= 8, "{taken}");
        // What it leaves to serde_json.
        for line in [
            r#"{"a":1.5}"#,
            r#"{"a":1e3}"#,
            r#"{"a":-0}"#,
            r#"{"a":"\ud83d\ude00"}"#,
            r#"{"a":01}"#,
            "{\"a\":\"tab\there\"}",
            r#"{"$serde_json::private::Number":"1"}"#,
            &format!("{}{}", "[".repeat(80), "]".repeat(80)),
        ] {
            assert!(Fast::parse(line).is_none(), "{line}");
        }
    }

    /// Characters a JSON text is made of, for texts the fast parser and serde_json must read
    /// alike (or both refuse).
    fn json_texts() -> impl proptest::strategy::Strategy<Value = String> {
        let pieces = proptest::sample::select(vec![
            "{",
            "}",
            "[",
            "]",
            ",",
            ":",
            " ",
            "\n",
            "\"",
            "\"a\"",
            "\"key\"",
            "\"\\u00e9\"",
            "\"\\n\"",
            "\\",
            "\\u",
            "\\ud800",
            "0",
            "1",
            "-",
            "12",
            "-7",
            "1.5",
            "e",
            "true",
            "false",
            "null",
            "nul",
            "é",
            "\u{1}",
            "\"$serde_json::private::Number\"",
        ]);
        proptest::strategy::Strategy::prop_map(proptest::collection::vec(pieces, 0..24), |p| p.concat())
    }

    /// Valid JSON texts of integers, strings (escapes, non-ASCII, control characters escaped),
    /// literals, arrays and objects (repeated keys included), with whitespace between tokens.
    fn valid_json() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let string = proptest::sample::select(vec![
            r#""""#,
            r#""a""#,
            r#""id""#,
            r#""p1""#,
            r#""caf\u00e9""#,
            r#""x\"y""#,
            r#""back\\slash""#,
            r#""tab\t""#,
            r#""\u0000""#,
            r#""\/""#,
            r#""日本""#,
            r#""\b\f\n\r""#,
        ])
        .prop_map(str::to_string);
        let space = proptest::sample::select(vec!["", " ", "\n", "\t ", "\r\n"]);
        let leaf = prop_oneof![
            Just("null".to_string()),
            Just("true".to_string()),
            Just("false".to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            Just("123456789012345678901234567890".to_string()),
            string.clone(),
        ];
        leaf.prop_recursive(4, 48, 6, move |inner| {
            let member =
                (string.clone(), space.clone(), inner.clone()).prop_map(|(k, s, v)| format!("{s}{k}{s}:{s}{v}{s}"));
            prop_oneof![
                proptest::collection::vec(inner, 0..6).prop_map(|items| format!("[{}]", items.join(" , "))),
                proptest::collection::vec(member, 0..6).prop_map(|members| format!("{{{}}}", members.join(","))),
            ]
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Valid texts of what events are written in: the fast parser takes every one, and
        /// reads it as serde_json does.
        #[test]
        fn the_fast_parser_takes_valid_texts_and_reads_them_as_serde_json(text in valid_json()) {
            let fast = Fast::parse(&text);
            proptest::prop_assert!(fast.is_some(), "not taken: {}", text);
            let theirs = Raw::parse_with_serde_json(&text).map_err(|e| e.to_string());
            proptest::prop_assert_eq!(fast.ok_or(String::new()), theirs);
        }

        /// Texts of JSON's own characters: where the fast parser takes one, serde_json reads
        /// it to the same value (and so the same hash); where it does not, `Raw::parse` gives
        /// serde_json's answer.
        #[test]
        fn the_fast_parser_never_reads_a_text_otherwise_than_serde_json(text in json_texts()) {
            let theirs = Raw::parse_with_serde_json(&text);
            match Fast::parse(&text) {
                Some(fast) => proptest::prop_assert_eq!(Ok(&fast), theirs.as_ref().map_err(ToString::to_string), "{}", text),
                None => {
                    let ours = Raw::parse(&text);
                    proptest::prop_assert_eq!(ours.map_err(|e| e.to_string()), theirs.map_err(|e| e.to_string()));
                }
            }
        }

        /// Event lines with a member added, a byte dropped or a character inserted anywhere:
        /// the same value as serde_json's, or the same error, and the same hash.
        #[test]
        fn mutated_lines_read_as_serde_json_reads_them(
            base in 0usize..LINES.len(),
            cut in 0usize..200,
            insert in proptest::sample::select(vec!["", "{", "}", "\"", ",", "[", "]", "\\", "9", "\t", ":", "é", "\\u00e9", "-", "."]),
            member in proptest::sample::select(vec!["", r#""id":"q","#, r#""amount":"7","#, r#""at":null,"#, r#""x":{"y":[1,2.50]},"#]),
        ) {
            let line = LINES[base];
            let mut text = line.to_string();
            if let Some(rest) = text.strip_prefix('{') {
                text = format!("{{{member}{rest}");
            }
            let at = cut % (text.len() + 1);
            if text.is_char_boundary(at) {
                text.insert_str(at, insert);
            }
            let ours = Raw::parse(&text);
            let theirs = serde_json::from_str::<Value>(&text);
            match (&ours, &theirs) {
                (Ok(raw), Ok(value)) => {
                    proptest::prop_assert_eq!(&raw.to_value(), value);
                    proptest::prop_assert_eq!(hash(raw), hash(&Raw::from_value(value)));
                }
                (Err(a), Err(b)) => proptest::prop_assert_eq!(a.to_string(), b.to_string()),
                _ => proptest::prop_assert!(false, "{text}: ours {:?}, serde_json's {:?}", ours.is_ok(), theirs.is_ok()),
            }
        }
    }
}
