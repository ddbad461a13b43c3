//! Evaluates the first 50,000 events of the benchmark stream's payments ten times with the
//! engine named on the command line (`jit` or `interp`), for profilers.

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
    let events: Vec<camp_runtime::Event> =
        lines.iter().filter_map(|l| camp_runtime::event::parse_line(l).ok().flatten()).map(|(e, _)| e).collect();
    for (i, line) in lines.iter().enumerate() {
        rt.process_line(i + 1, line);
    }
    let prepared: Vec<_> = events.iter().filter_map(|e| rt.prepare(e)).collect();
    let mut outcome = camp_runtime::PaymentOutcome::default();
    let mut total = rust_decimal::Decimal::ZERO;
    for _ in 0..10 {
        for p in &prepared {
            if evaluate(&rt, p, &mut outcome) {
                total += outcome.total();
            }
        }
    }
    println!("{total}");
}

/// The evaluation alone (what a profiler collects), without the checksum.
#[inline(never)]
fn evaluate(
    rt: &camp_runtime::Runtime,
    p: &camp_runtime::PreparedPayment<'_>,
    o: &mut camp_runtime::PaymentOutcome,
) -> bool {
    rt.evaluate_prepared(p, o).is_ok()
}
