//! The five seed campaigns over a generated stream of 1,000,000 events for 100,000 accounts,
//! pre-decoded and from JSON Lines. Figures go in docs/PERFORMANCE.md.

/// The allocator the `campc` binary runs with, so that figures here are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../tests/common/mod.rs"]
mod common;

use camp_runtime::{Runtime, event};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

mod stream_gen;
use stream_gen::{EVENTS, stream};

fn runtime() -> Runtime {
    common::seeds()
}

fn bench(c: &mut Criterion) {
    let lines = stream();
    let decoded: Vec<(event::Event, u64)> = lines.iter().filter_map(|l| event::parse_line(l).ok().flatten()).collect();
    let mut group = c.benchmark_group("five_seeds_1m_events");
    group.sample_size(10);
    group.throughput(Throughput::Elements(EVENTS as u64));
    for (name, engine) in
        [("pre_decoded_jit", camp_runtime::Engine::Jit), ("pre_decoded_interp", camp_runtime::Engine::Interp)]
    {
        group.bench_function(name, |b| {
            b.iter_batched(
                || common::seeds_with(engine),
                |mut rt| {
                    // As `campc run` processes a stream.
                    let mut entries = 0usize;
                    for window in decoded.chunks(camp_runtime::READ_AHEAD) {
                        rt.read_ahead(window.iter().map(|(event, _)| event));
                        for (event, hash) in window {
                            entries += rt.process_hashed(event, *hash).map_or(1, |e| e.len());
                        }
                    }
                    entries
                },
                BatchSize::PerIteration,
            )
        });
    }
    let text = lines.join("\n");
    group.bench_function("json_lines_jit", |b| {
        b.iter_batched(runtime, |mut rt| rt.process_lines(1, &text).len(), BatchSize::PerIteration)
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
