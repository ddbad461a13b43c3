//! Runs the first 50,000 events of the benchmark stream once, for profilers.

#[expect(dead_code, reason = "the benchmark's generator, shared; its criterion entry points are not used here")]
#[path = "../benches/stream.rs"]
mod stream;

fn main() {
    let lines: Vec<String> = stream::stream().into_iter().take(50_000).collect();
    let mut rt = stream_runtime();
    let entries: usize = lines.iter().enumerate().map(|(i, l)| rt.process_line(i + 1, l).len()).sum();
    println!("{entries} entries");
}

fn stream_runtime() -> camp_runtime::Runtime {
    stream::runtime_for_profiling()
}
