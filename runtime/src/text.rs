//! Short texts of events kept in place.
//!
//! A payment names a dozen short texts (currency, channel, terminal, app, merchant fields,
//! tags, item categories, tender methods), nearly all at most 16 bytes. As `String`s each was
//! an allocation made on the thread that decodes and read on the one that processes; kept in
//! the payment itself they cost neither. Sixteen bytes in place keep a text at three words
//! (a `String`'s size): every payment kept in memory holds its event's texts, so their size
//! counts once a payment for every payment an account keeps.

use std::fmt;
use std::ops::Deref;

use arrayvec::ArrayString;

/// Texts up to this many bytes are kept in place.
const INLINE: usize = 16;

/// A text of an event: in place when short, on the heap otherwise. Reads as a `str`;
/// serializes as one.
#[derive(Clone)]
pub struct Text(Repr);

#[derive(Clone)]
enum Repr {
    Inline(ArrayString<INLINE>),
    Heap(Box<str>),
}

impl Text {
    /// The text as a `str`.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Inline(s) => s.as_str(),
            Repr::Heap(s) => s,
        }
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Text {
        match ArrayString::from(text) {
            Ok(inline) => Text(Repr::Inline(inline)),
            Err(_) => Text(Repr::Heap(Box::from(text))),
        }
    }
}

impl From<String> for Text {
    fn from(text: String) -> Text {
        if text.len() <= INLINE { Text::from(text.as_str()) } else { Text(Repr::Heap(text.into_boxed_str())) }
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text {}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Text, D::Error> {
        struct TextVisitor;
        impl serde::de::Visitor<'_> for TextVisitor {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Text, E> {
                Ok(Text::from(text))
            }
            fn visit_string<E: serde::de::Error>(self, text: String) -> Result<Text, E> {
                Ok(Text::from(text))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_of_every_length_read_back_as_given_in_place_or_not() {
        // Either side of the in-place limit, multi-byte characters across it included.
        let texts: Vec<String> =
            (0..30).map(|n| "a".repeat(n)).chain((0..12).map(|n| format!("{}€", "é".repeat(n)))).collect();
        for text in &texts {
            let kept = Text::from(text.as_str());
            assert_eq!(kept.as_str(), text);
            assert_eq!(Text::from(text.clone()), kept);
            assert_eq!(matches!(kept.0, Repr::Inline(_)), text.len() <= INLINE, "{text:?}");
            let json = serde_json::to_string(&kept).unwrap_or_default();
            assert_eq!(json, serde_json::to_string(text).unwrap_or_default());
            let back: Text = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(back, kept);
        }
        assert_ne!(Text::from("in_store"), Text::from("online"));
    }

    /// A payment holds a dozen of these: in place they take three words, as a `String` does.
    #[test]
    fn a_text_is_three_words_and_none_costs_nothing() {
        assert_eq!(std::mem::size_of::<Text>(), 3 * std::mem::size_of::<usize>());
        assert_eq!(std::mem::size_of::<Option<Text>>(), std::mem::size_of::<Text>());
    }
}
