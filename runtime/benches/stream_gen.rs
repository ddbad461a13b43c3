//! The generated event stream of the runtime benchmark, shared with the examples.

/// Events in the stream.
pub const EVENTS: usize = 1_000_000;
/// Accounts the events are spread over.
pub const ACCOUNTS: u64 = 100_000;

/// The benchmark's stream ([`camp_runtime::synthetic::stream`]).
pub fn stream() -> Vec<String> {
    camp_runtime::synthetic::stream(EVENTS, ACCOUNTS, 0x9E37_79B9_7F4A_7C15).collect()
}
