//! A JSON value borrowed from the line it was read from: what decoding an event and its
//! content hash read.
//!
//! `serde_json::Value` owns every key and string and keeps objects in B-tree maps: building
//! and dropping it was half the cost of decoding an event. [`Raw`] borrows what it can from
//! the line (strings without escapes, keys) and keeps an object's members in the order
//! written. serde_json still does the parsing, so what is valid JSON and what an error says
//! are serde_json's.
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
        // Insertion into the sorted prefix: a key already there takes the later value.
        let at = into[..kept].partition_point(|(k, _)| *k < key);
        if at < kept && into[at].0 == key {
            into[at].1 = value;
        } else {
            into[at..=kept].rotate_right(1);
            into[at] = (key, value);
            kept += 1;
        }
    }
    kept
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

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

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
