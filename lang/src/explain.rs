//! The page behind every diagnostic code: what it means, an example, the fix.

use crate::diag::{Code, Lang};

/// The explanation page of a code, in Markdown-like plain text.
pub fn page(code: Code, lang: Lang) -> &'static str {
    let _ = lang;
    ""
}
