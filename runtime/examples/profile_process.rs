//! Processes the first 50,000 events of the benchmark stream, decoded beforehand, with the
//! engine named on the command line (`jit` or `interp`), for profilers: state, caps, stacking
//! and ledger entries, without decoding (collect `*profile_process::process*`).

/// The allocator the `campc` binary runs with, so that figures here are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../benches/stream_gen.rs"]
mod stream_gen;

fn main() {
    let lines: Vec<String> = stream_gen::stream().into_iter().take(50_000).collect();
    let mut rt = common::seeds_with_engine_from_arguments();
    let events: Vec<(camp_runtime::Event, u64)> =
        lines.iter().filter_map(|l| camp_runtime::event::parse_line(l).ok().flatten()).collect();
    let entries: usize = events.iter().map(|(event, hash)| process(&mut rt, event, *hash)).sum();
    println!("{entries} entries");
}

/// One event through the runtime (what a profiler collects).
#[inline(never)]
fn process(rt: &mut camp_runtime::Runtime, event: &camp_runtime::Event, hash: u64) -> usize {
    rt.process_hashed(event, hash).map_or(0, |entries| entries.len())
}
