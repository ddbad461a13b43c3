//! Runs the first 50,000 events of the benchmark stream once, for profilers.

/// The allocator the `campc` binary runs with, so that figures here are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../benches/stream_gen.rs"]
mod stream_gen;

fn main() {
    let lines: Vec<String> = stream_gen::stream().into_iter().take(50_000).collect();
    let mut rt = common::seeds();
    let entries: usize = lines.iter().enumerate().map(|(i, l)| rt.process_line(i + 1, l).len()).sum();
    println!("{entries} entries");
}
