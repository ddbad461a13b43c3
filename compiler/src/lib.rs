//! The Camp compiler: a checked [`camp_lang::typed::Program`] to an IR, evaluated by a
//! reference interpreter and (later) by Cranelift-compiled native code.
//!
//! **Owns:** the IR, the interpreter, the JIT, exact decimal arithmetic with defined overflow.
//! **Must not touch:** syntax (it consumes only `camp_lang::typed` and `camp_lang::diag`),
//! files, clocks, account state or the ledger (those are the runtime's).
//! **Architecture invariant:** the interpreter is the specification; the JIT must match it
//! on every input.
//!
//! This crate is empty until the runtime-and-interpreter issue lands: the workspace has it
//! now so that the dependency direction `lang ◄── compiler ◄── runtime ◄── cli` is fixed
//! from the start.
