//! Writes the benchmark's generated stream (1,000,000 events over the five seeds' stores and
//! methods) as JSON Lines to standard output, for `campc bench` and `campc run`:
//! `cargo run --release -p camp-runtime --example write_stream > stream.jsonl`.

#[path = "../benches/stream_gen.rs"]
mod stream_gen;

use std::io::Write;

fn main() -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in stream_gen::stream() {
        writeln!(out, "{line}")?;
    }
    out.flush()
}
