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
        sym
    }

    /// The symbol of `text`, if a campaign names it.
    pub fn get(&self, text: &str) -> Option<Sym> {
        self.ids.get(text).copied()
    }

    /// The text of a symbol named by a campaign.
    pub fn name(&self, sym: Sym) -> Option<&str> {
        self.names.get(sym.0 as usize).map(String::as_str)
    }
}

/// Interns the texts of one event: known texts get their campaign symbol, others a fresh
/// symbol above [`FIRST_UNNAMED`], the same one for equal texts of the event (kept borrowed
/// from the event, so that interning allocates nothing but this short list).
#[derive(Debug)]
pub struct Interner<'a, 't> {
    symbols: &'a Symbols,
    unnamed: Vec<&'t str>,
}

impl<'a, 't> Interner<'a, 't> {
    /// An interner over the program's symbols.
    pub fn new(symbols: &'a Symbols) -> Interner<'a, 't> {
        Interner { symbols, unnamed: Vec::new() }
    }

    /// The symbol of a text of the event.
    pub fn sym(&mut self, text: &'t str) -> Sym {
        if let Some(sym) = self.symbols.get(text) {
            return sym;
        }
        let index = match self.unnamed.iter().position(|t| *t == text) {
            Some(i) => i,
            None => {
                self.unnamed.push(text);
                self.unnamed.len() - 1
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
        assert!(cafe.0 >= FIRST_UNNAMED && other.0 >= FIRST_UNNAMED && known.0 < FIRST_UNNAMED);
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
