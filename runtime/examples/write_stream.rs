//! Writes the benchmark's generated stream (1,000,000 events over the five seeds' stores and
//! methods) as JSON Lines to standard output, for `campc bench` and `campc run`:
//! `cargo run --release -p camp-runtime --example write_stream > stream.jsonl`.
//!
//! `-- --synthetic EVENTS ACCOUNTS` writes the store tests' and `camp-load`'s stream instead
//! ([`camp_runtime::synthetic::stream`], seed as `camp-load`'s), for profiling a store run
//! on what the load generator sends.

#[path = "../benches/stream_gen.rs"]
mod stream_gen;

use std::io::Write;

fn main() -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, events, accounts] = args.as_slice()
        && flag == "--synthetic"
    {
        let (Ok(events), Ok(accounts)) = (events.parse(), accounts.parse()) else {
            eprintln!("usage: write_stream [--synthetic EVENTS ACCOUNTS]");
            std::process::exit(2)
        };
        for line in camp_runtime::synthetic::stream(events, accounts, 0x5EED) {
            writeln!(out, "{line}")?;
        }
    } else {
        for line in stream_gen::stream() {
            writeln!(out, "{line}")?;
        }
    }
    out.flush()
}
