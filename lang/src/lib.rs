//! The Camp language: grammar, syntax tree, checker and diagnostics.
//!
//! **Owns:** the text of `.camp` files up to a checked [`typed::Program`]: parsing
//! ([`syntax`]), the canonical layout ([`fmt`]), the event vocabulary ([`vocab`], read from
//! `stdlib/`), types and units ([`types`]), checking ([`check()`]) and every diagnostic with
//! its code and explanation ([`diag`], [`explain`]).
//!
//! **Must not touch:** files, the clock, the process, evaluation. **Architecture invariant:**
//! `lang` depends on no other crate of the workspace; the compiler, the runtime and the CLI
//! depend on it, and consume only [`typed`] and [`diag`].
//!
//! ```
//! let checked = camp_lang::check_sources(&[r#"
//! campaign welcome {
//!   title "はじめてのお支払いで 300 ポイント"
//!   period 2026-04-01 to 2026-04-30 in Asia/Tokyo
//!   unit paypay_point = 1 JPY
//!   counter payments_so_far = count payments per period
//!   when payments_so_far == 1
//!   award 300 points
//!   stack independent
//! }
//! "#]);
//! assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
//! assert_eq!(checked.program.campaigns[0].id, "welcome");
//! ```

pub mod analysis;
pub mod ast;
pub mod check;
pub mod diag;
pub mod explain;
pub mod fmt;
pub mod suggest;
pub mod syntax;
pub mod typed;
pub mod types;
pub mod vocab;

pub use check::{Checked, check, check_sources};
pub use diag::{Code, Diagnostic, Lang, Message, Report, Severity};
pub use syntax::parse;
