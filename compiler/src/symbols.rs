//! Interned text: every text and enumeration value a campaign names becomes a small integer,
//! so that evaluation compares integers, never strings.

use std::collections::HashMap;

/// An interned text. `repr(transparent)`: a `&[Sym]` is passed to compiled code as `u32`s.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(transparent)]
pub struct Sym(pub u32);

/// A fast hasher for keys no user chooses the layout of: a multiply and a rotate per
/// eight-byte word. Used for the symbol table (its texts come from campaign files and never
/// change after loading; an event's texts are only looked up, which cannot lengthen a probe
/// sequence) and for the runtime's maps keyed by integers it makes (campaign and counter
/// indices, month keys). The flooding SipHash guards against cannot happen there, and
/// SipHash was most of a symbol lookup and a tenth of reading a counter.
#[derive(Clone, Copy, Debug, Default)]
pub struct QuickHasher(u64);

impl QuickHasher {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl std::hash::Hasher for QuickHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        let mut word = [0u8; 8];
        word[..rest.len()].copy_from_slice(rest);
        // The length goes in with the last word, so "a" and "a\0" differ.
        self.mix(u64::from_le_bytes(word) ^ (rest.len() as u64) << 59);
    }

    fn write_u8(&mut self, byte: u8) {
        self.mix(u64::from(byte));
    }

    fn write_u32(&mut self, word: u32) {
        self.mix(u64::from(word));
    }

    fn write_i32(&mut self, word: i32) {
        self.mix(u64::from(word.cast_unsigned()));
    }

    fn write_u64(&mut self, word: u64) {
        self.mix(word);
    }

    fn write_usize(&mut self, word: usize) {
        self.mix(word as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The table of interned texts. Built when campaigns are loaded; read-only afterwards.
#[derive(Clone, Debug, Default)]
pub struct Symbols {
    ids: HashMap<String, Sym, std::hash::BuildHasherDefault<QuickHasher>>,
    names: Vec<String>,
    /// The texts of at most [`SHORT`] bytes again, for [`Symbols::get`].
    short: ShortTexts,
}

/// Texts of an event that no campaign names get symbols from here up, numbered per event
/// (see [`Interner`]): they can equal each other but never a campaign's constant.
pub const FIRST_UNNAMED: u32 = 1 << 31;

impl Symbols {
    /// The symbol of `text`, adding it if new.
    pub fn intern(&mut self, text: &str) -> Sym {
        if let Some(sym) = self.ids.get(text) {
            return *sym;
        }
        let sym = Sym(u32::try_from(self.names.len()).unwrap_or(FIRST_UNNAMED - 1));
        self.ids.insert(text.to_string(), sym);
        self.names.push(text.to_string());
        if let Some(key) = ShortKey::of(text) {
            self.short.insert(key, sym);
        }
        sym
    }

    /// The symbol of `text`, if a campaign names it.
    #[inline]
    pub fn get(&self, text: &str) -> Option<Sym> {
        match ShortKey::of(text) {
            Some(key) => self.short.get(key),
            None => self.get_long(text),
        }
    }

    /// [`Symbols::get`] for a text longer than [`SHORT`] bytes (out of line, so that the
    /// short texts' lookup stays small).
    #[inline(never)]
    fn get_long(&self, text: &str) -> Option<Sym> {
        self.ids.get(text).copied()
    }

    /// The text of a symbol named by a campaign.
    pub fn name(&self, sym: Sym) -> Option<&str> {
        self.names.get(sym.0 as usize).map(String::as_str)
    }
}

/// The longest text [`ShortTexts`] holds: an event's methods, currencies, channels and most
/// of its merchants' names are shorter.
const SHORT: usize = 16;

/// A text of at most [`SHORT`] bytes as two words and its length, which together tell every
/// such text apart: from eight bytes on, its first and last eight (overlapping when shorter
/// than sixteen); from four, its first and last four; below that, its first, middle and
/// last byte. Read with a few loads, compared with two, where comparing texts is a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ShortKey {
    words: [u64; 2],
    len: u32,
}

impl ShortKey {
    fn of(text: &str) -> Option<ShortKey> {
        let bytes = text.as_bytes();
        let n = bytes.len();
        let words = if let (Some(first), Some(last)) = (bytes.first_chunk::<8>(), bytes.last_chunk::<8>()) {
            if n > SHORT {
                return None;
            }
            [u64::from_le_bytes(*first), u64::from_le_bytes(*last)]
        } else if let (Some(first), Some(last)) = (bytes.first_chunk::<4>(), bytes.last_chunk::<4>()) {
            [u64::from(u32::from_le_bytes(*first)), u64::from(u32::from_le_bytes(*last))]
        } else {
            let at = |i: usize| u64::from(bytes.get(i).copied().unwrap_or(0));
            [at(0) | at(n / 2) << 8 | at(n.wrapping_sub(1)) << 16, 0]
        };
        // `n` is at most 16 here.
        Some(ShortKey { words, len: n as u32 })
    }

    /// Where the key's probe sequence starts in a table of 2^`bits` slots.
    fn home(&self, bits: u32) -> usize {
        let [a, b] = self.words;
        let h = (a.rotate_left(29) ^ b ^ u64::from(self.len)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        // The high bits are the well-mixed ones; `bits` is at least 4 (a table with slots).
        (h >> (64 - bits)) as usize
    }
}

/// The symbols of short texts, in an open-addressed table at most half full (so a probe
/// always ends at an empty slot).
#[derive(Clone, Debug, Default)]
struct ShortTexts {
    slots: Vec<Option<(ShortKey, Sym)>>,
    bits: u32,
    count: usize,
}

impl ShortTexts {
    fn get(&self, key: ShortKey) -> Option<Sym> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = key.home(self.bits);
        loop {
            match self.slots.get(i)? {
                Some((k, sym)) if *k == key => return Some(*sym),
                Some(_) => i = (i + 1) & mask,
                None => return None,
            }
        }
    }

    /// Adds a key not in the table.
    fn insert(&mut self, key: ShortKey, sym: Sym) {
        if (self.count + 1) * 2 > self.slots.len() {
            let old = std::mem::take(&mut self.slots);
            self.bits = (self.bits + 1).max(4);
            self.slots = vec![None; 1 << self.bits];
            self.count = 0;
            for (k, s) in old.into_iter().flatten() {
                self.insert(k, s);
            }
        }
        let mask = self.slots.len() - 1;
        let mut i = key.home(self.bits);
        while let Some(Some(_)) = self.slots.get(i) {
            i = (i + 1) & mask;
        }
        if let Some(slot) = self.slots.get_mut(i) {
            *slot = Some((key, sym));
            self.count += 1;
        }
    }
}

/// Interns the texts of one event: known texts get their campaign symbol, others a fresh
/// symbol above [`FIRST_UNNAMED`], the same one for equal texts of the event (kept borrowed
/// from the event, the first few in place, so that interning most events allocates nothing).
#[derive(Debug)]
pub struct Interner<'a, 't> {
    symbols: &'a Symbols,
    first: [&'t str; UNNAMED_IN_PLACE],
    more: Vec<&'t str>,
    unnamed: usize,
}

/// How many unnamed texts an [`Interner`] keeps without allocating.
const UNNAMED_IN_PLACE: usize = 8;

impl<'a, 't> Interner<'a, 't> {
    /// An interner over the program's symbols.
    pub fn new(symbols: &'a Symbols) -> Interner<'a, 't> {
        Interner { symbols, first: [""; UNNAMED_IN_PLACE], more: Vec::new(), unnamed: 0 }
    }

    /// The symbol of a text of the event.
    pub fn sym(&mut self, text: &'t str) -> Sym {
        if let Some(sym) = self.symbols.get(text) {
            return sym;
        }
        let kept = self.first.iter().take(self.unnamed).chain(&self.more);
        let index = match kept.into_iter().position(|t| *t == text) {
            Some(i) => i,
            None => {
                match self.first.get_mut(self.unnamed) {
                    Some(slot) => *slot = text,
                    None => self.more.push(text),
                }
                self.unnamed += 1;
                self.unnamed - 1
            }
        };
        Sym(FIRST_UNNAMED + u32::try_from(index).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{BuildHasher, BuildHasherDefault};

    #[test]
    fn an_events_unknown_texts_get_one_fresh_symbol_each() {
        let mut symbols = Symbols::default();
        let known = symbols.intern("paypay");
        let (first, second) = (String::from("tokyo-cafe"), String::from("tokyo-cafe"));
        let mut interner = Interner::new(&symbols);
        let cafe = interner.sym(&first);
        assert_eq!(interner.sym("paypay"), known);
        assert_eq!(interner.sym(&second), cafe, "equal texts, one symbol");
        let other = interner.sym("kyoto-cafe");
        assert_ne!(other, cafe);
        // Past the texts kept in place, equal texts still get one symbol and others a new one.
        let many: Vec<String> = (0..3 * UNNAMED_IN_PLACE).map(|i| format!("shop-{i}")).collect();
        let first: Vec<Sym> = many.iter().map(|t| interner.sym(t)).collect();
        let again: Vec<Sym> = many.iter().map(|t| interner.sym(t)).collect();
        assert_eq!(first, again);
        let mut distinct = first.clone();
        distinct.extend([cafe, other]);
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), many.len() + 2);
        assert!(cafe.0 >= FIRST_UNNAMED && other.0 >= FIRST_UNNAMED && known.0 < FIRST_UNNAMED);
    }

    #[test]
    fn no_text_is_found_among_no_symbols() {
        let symbols = Symbols::default();
        assert_eq!(symbols.get("paypay"), None);
        assert_eq!(symbols.get(&"a".repeat(40)), None);
    }

    #[test]
    fn texts_of_every_length_intern_and_look_up() {
        // Lengths either side of the eight-byte words the hasher reads, and texts that differ
        // only in a trailing zero byte or in their last byte.
        let mut symbols = Symbols::default();
        let texts: Vec<String> = (0..20)
            .flat_map(|n| ["a".repeat(n), format!("{}\0", "a".repeat(n)), format!("{}b", "a".repeat(n))])
            .collect();
        let syms: Vec<Sym> = texts.iter().map(|t| symbols.intern(t)).collect();
        for (text, sym) in texts.iter().zip(&syms) {
            assert_eq!(symbols.get(text), Some(*sym), "{text:?}");
            assert_eq!(symbols.name(*sym), Some(text.as_str()));
        }
        // A text that differs from one of them in any one byte is none of them (unless it is
        // one of the others): every byte of a short text is part of its key.
        for text in &texts {
            for i in 0..text.len() {
                let mut other = text.clone().into_bytes();
                other[i] = b'c';
                let other = String::from_utf8(other).unwrap_or_default();
                let expected = texts.iter().position(|t| *t == other).map(|i| syms[i]);
                assert_eq!(symbols.get(&other), expected, "{other:?}");
            }
            assert_eq!(symbols.get(&format!("{text}c")), None);
        }
        let mut distinct = syms.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), texts.len(), "every text its own symbol");
        // The hash itself tells them apart too (a constant hash would pass the above).
        let build = BuildHasherDefault::<QuickHasher>::default();
        let mut hashes: Vec<u64> = texts.iter().map(|t| build.hash_one(t)).collect();
        hashes.sort_unstable();
        hashes.dedup();
        assert_eq!(hashes.len(), texts.len());
    }
}
