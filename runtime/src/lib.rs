//! The Camp runtime: the one API services embed. Events in, an append-only ledger out.
//!
//! **Owns:** the event model of EVENTS.md, per-account state (caps, counters, attributes,
//! enrollments, payments and their refunds), stacking, refunds, re-rating and the ledger.
//! **Must not touch:** printing, process exit, syntax; it evaluates campaigns only through
//! `camp_compiler`.
//!
//! This crate is empty until the runtime-and-interpreter issue lands.
