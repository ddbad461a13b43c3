//! The event vocabulary: the fields and enumerations a campaign may name, read from
//! `stdlib/vocabulary.camp` (compiled into the crate, so checking needs no file access).

use std::sync::LazyLock;

use crate::ast::{Decl, FieldDecl};
use crate::types::{EnumId, Ty};

/// The source of the standard vocabulary.
pub const STANDARD_SOURCE: &str = include_str!("../../stdlib/vocabulary.camp");

/// Index of a field in the [`Vocabulary`].
pub type FieldId = usize;

/// An enumeration and its values, in declaration order.
#[derive(Clone, Debug, PartialEq)]
pub struct EnumDef {
    /// Its name (`method`).
    pub name: String,
    /// Its values (`paypay_balance`, ...).
    pub values: Vec<String>,
}

/// Where a field's value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldSource {
    /// The payment event itself.
    Payment,
    /// One tender of the payment.
    Tender,
    /// An account attribute in force at the payment.
    Account,
}

/// A field a campaign may read.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldDef {
    /// Its dotted path (`merchant.tags`, `account.dpoint_rank`).
    pub path: String,
    /// Where its value comes from.
    pub source: FieldSource,
    /// Its type.
    pub ty: Ty,
}

/// The names campaigns may read.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Vocabulary {
    /// Enumerations, indexed by [`EnumId`].
    pub enums: Vec<EnumDef>,
    /// Fields, indexed by [`FieldId`].
    pub fields: Vec<FieldDef>,
}

static STANDARD: LazyLock<Vocabulary> = LazyLock::new(|| Vocabulary::from_source(STANDARD_SOURCE));

impl Vocabulary {
    /// The vocabulary of EVENTS.md, from `stdlib/vocabulary.camp`.
    pub fn standard() -> &'static Vocabulary {
        &STANDARD
    }

    /// Reads a vocabulary file. Declarations that do not make sense are skipped; the
    /// standard file is covered by tests, so that never happens to it.
    pub fn from_source(src: &str) -> Vocabulary {
        let (file, _) = crate::syntax::parse(src);
        let mut vocab = Vocabulary::default();
        for decl in &file.decls {
            if let Decl::Enum(e) = decl {
                vocab.enums.push(EnumDef {
                    name: e.name.name.clone(),
                    values: e.values.iter().map(|v| v.name.clone()).collect(),
                });
            }
        }
        for decl in &file.decls {
            if let Decl::Field(f) = decl
                && let Some(def) = vocab.field_def(f)
            {
                vocab.fields.push(def);
            }
        }
        vocab
    }

    fn field_def(&self, f: &FieldDecl) -> Option<FieldDef> {
        let path: Vec<&str> = f.path.iter().map(|i| i.name.as_str()).collect();
        let source = if f.tender {
            FieldSource::Tender
        } else if path.first() == Some(&"account") {
            FieldSource::Account
        } else {
            FieldSource::Payment
        };
        let base = self.type_named(&f.ty.name)?;
        let ty = if f.set { Ty::Set(Box::new(base)) } else { base };
        Some(FieldDef { path: path.join("."), source, ty })
    }

    /// The type a vocabulary file names `name`.
    pub fn type_named(&self, name: &str) -> Option<Ty> {
        Some(match name {
            "money" => Ty::Money("JPY".into()),
            "number" => Ty::Number,
            "bool" => Ty::Bool,
            "text" => Ty::Text,
            "timestamp" => Ty::Timestamp,
            "date" => Ty::Date,
            other => Ty::Enum(self.enum_id(other)?, other.to_string()),
        })
    }

    /// The enumeration called `name`.
    pub fn enum_id(&self, name: &str) -> Option<EnumId> {
        self.enums.iter().position(|e| e.name == name)
    }

    /// The field at `path`.
    pub fn field(&self, path: &str) -> Option<FieldId> {
        self.fields.iter().position(|f| f.path == path)
    }

    /// The index of `value` in enumeration `id`.
    pub fn enum_value(&self, id: EnumId, value: &str) -> Option<u32> {
        self.enums.get(id)?.values.iter().position(|v| v == value).and_then(|i| u32::try_from(i).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_vocabulary_reads_cleanly() {
        let (_, diagnostics) = crate::syntax::parse(STANDARD_SOURCE);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let vocab = Vocabulary::standard();
        let declared =
            STANDARD_SOURCE.lines().filter(|l| l.starts_with("field ") || l.starts_with("tender field ")).count();
        assert_eq!(vocab.fields.len(), declared, "every field declaration has a known type");
        assert!(vocab.field("merchant.tags").is_some());
        assert_eq!(vocab.fields[vocab.field("method").unwrap_or(usize::MAX)].source, FieldSource::Tender);
    }
}
