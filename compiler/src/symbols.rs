//! Interned text: every text and enumeration value a campaign names becomes a small integer,
//! so that evaluation compares integers, never strings.

use std::collections::HashMap;

/// An interned text. `repr(transparent)`: a `&[Sym]` is passed to compiled code as `u32`s.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(transparent)]
pub struct Sym(pub u32);

/// The table of interned texts. Built when campaigns are loaded; read-only afterwards.
#[derive(Clone, Debug, Default)]
pub struct Symbols {
    ids: HashMap<String, Sym>,
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
/// symbol above [`FIRST_UNNAMED`], the same one for equal texts of the event.
#[derive(Debug)]
pub struct Interner<'a> {
    symbols: &'a Symbols,
    unnamed: Vec<String>,
}

impl<'a> Interner<'a> {
    /// An interner over the program's symbols.
    pub fn new(symbols: &'a Symbols) -> Interner<'a> {
        Interner { symbols, unnamed: Vec::new() }
    }

    /// The symbol of a text of the event.
    pub fn sym(&mut self, text: &str) -> Sym {
        if let Some(sym) = self.symbols.get(text) {
            return sym;
        }
        let index = match self.unnamed.iter().position(|t| t == text) {
            Some(i) => i,
            None => {
                self.unnamed.push(text.to_string());
                self.unnamed.len() - 1
            }
        };
        Sym(FIRST_UNNAMED + u32::try_from(index).unwrap_or(0))
    }
}
