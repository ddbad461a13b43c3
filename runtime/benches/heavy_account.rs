//! The same 40,000 events (90% payments, 10% partial refunds of earlier payments, all of
//! February 2026, where PayPay Step has nothing to re-rate) on one account and over 10,000:
//! what an account's history costs its next events. Figures go in docs/PERFORMANCE.md.

/// The allocator the `campc` binary runs with, so that figures here are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../tests/common/mod.rs"]
mod common;

use camp_runtime::event;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

const EVENTS: usize = 40_000;

/// The events, over `accounts` accounts (deterministic).
fn events(accounts: u64) -> Vec<(event::Event, u64)> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let start = 1_769_871_600i64; // 2026-02-01T00:00:00+09:00, one event a minute
    let mut payments: Vec<(usize, u64)> = Vec::new();
    let mut lines = Vec::with_capacity(EVENTS);
    for i in 0..EVENTS {
        let at = chrono::DateTime::from_timestamp(start + 60 * i as i64, 0).unwrap_or_default().to_rfc3339();
        let account = next() % accounts;
        if next() % 10 != 0 || payments.is_empty() {
            let amount = 1_000 + next() % 20_000;
            let method = ["paypay_balance", "paypay_credit", "au_pay"][(next() % 3) as usize];
            lines.push(format!(
                r#"{{"type":"payment","id":"p{i}","account":"u{account}","at":"{at}","amount":{amount},"method":"{method}"}}"#
            ));
            payments.push((i, account));
        } else {
            let (p, owner) = payments[(next() % payments.len() as u64) as usize];
            lines.push(format!(
                r#"{{"type":"refund","id":"r{i}","account":"u{owner}","at":"{at}","payment":"p{p}","amount":1}}"#
            ));
        }
    }
    lines.iter().filter_map(|l| event::parse_line(l).ok().flatten()).collect()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("heavy_account_40k_events");
    group.sample_size(10);
    group.throughput(Throughput::Elements(EVENTS as u64));
    for (name, accounts) in [("one_account", 1), ("10k_accounts", 10_000)] {
        let decoded = events(accounts);
        group.bench_function(name, |b| {
            b.iter_batched(
                common::seeds,
                |mut rt| {
                    decoded.iter().map(|(e, hash)| rt.process_hashed(e, *hash).map_or(1, |e| e.len())).sum::<usize>()
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
