//! The five seed campaigns over a generated stream of 1,000,000 events for 100,000 accounts,
//! pre-decoded and from JSON Lines. Figures go in docs/PERFORMANCE.md.

#[path = "../tests/common/mod.rs"]
mod common;

use camp_runtime::{Runtime, content_hash, event};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

const EVENTS: usize = 1_000_000;
const ACCOUNTS: u64 = 100_000;

/// The seeds, loaded (shared with `examples/profile_stream.rs`).
pub fn runtime_for_profiling() -> Runtime {
    runtime()
}

fn runtime() -> Runtime {
    common::seeds()
}

/// A deterministic stream: 90% payments (Ama stores, Amazon, elsewhere; balance, credit,
/// cards, au PAY, split tenders), 6% refunds and cancels, 4% account and entry events, over
/// February to May 2026, in time order.
pub fn stream() -> Vec<String> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let start = 1_769_871_600i64; // 2026-02-01T00:00:00+09:00
    let step = (120 * 86_400) / EVENTS as i64;
    let methods = ["paypay_balance", "paypay_credit", "paypay_card", "credit_card", "au_pay", "paypay_point"];
    let mut payments: Vec<(u64, u64)> = Vec::new();
    (0..EVENTS)
        .map(|i| {
            let r = next();
            let account = r % ACCOUNTS;
            let at = chrono::DateTime::from_timestamp(start + step * i as i64, 0).unwrap_or_default().to_rfc3339();
            match r % 100 {
                0..=89 => {
                    let amount = 100 + next() % 20_000;
                    let method = methods[(next() % methods.len() as u64) as usize];
                    let merchant = match next() % 4 {
                        0 => r#"{"tags":["ama-toku-4"],"class":"small"}"#,
                        1 => r#"{"brand":"amazon"}"#,
                        _ => r#"{"brand":"tokyo-cafe"}"#,
                    };
                    payments.push((i as u64, account));
                    if next() % 10 == 0 {
                        let half = amount / 2;
                        format!(
                            r#"{{"type":"payment","id":"p{i}","account":"u{account}","at":"{at}","amount":{amount},"tenders":[{{"method":"paypay_balance","amount":{half}}},{{"method":"paypay_gift_voucher","amount":{}}}],"merchant":{merchant}}}"#,
                            amount - half
                        )
                    } else {
                        format!(r#"{{"type":"payment","id":"p{i}","account":"u{account}","at":"{at}","amount":{amount},"method":"{method}","merchant":{merchant}}}"#)
                    }
                }
                90..=95 if !payments.is_empty() => {
                    let (p, owner) = payments[(next() % payments.len() as u64) as usize];
                    if r % 2 == 0 {
                        format!(r#"{{"type":"cancel","id":"c{i}","account":"u{owner}","at":"{at}","payment":"p{p}"}}"#)
                    } else {
                        format!(r#"{{"type":"refund","id":"r{i}","account":"u{owner}","at":"{at}","payment":"p{p}","amount":50}}"#)
                    }
                }
                96..=97 => format!(
                    r#"{{"type":"account","id":"a{i}","account":"u{account}","at":"{at}","attrs":{{"dpoint_linked":true,"dpoint_rank":{}}}}}"#,
                    1 + next() % 5
                ),
                _ => format!(r#"{{"type":"enroll","id":"e{i}","account":"u{account}","at":"{at}","campaign":"aupay-amazon-2026"}}"#),
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let lines = stream();
    let decoded: Vec<(event::Event, u64)> = lines
        .iter()
        .filter_map(|l| event::parse_line(l).ok().flatten())
        .map(|(e, raw)| (e, content_hash(&raw)))
        .collect();
    let mut group = c.benchmark_group("five_seeds_1m_events");
    group.sample_size(10);
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("pre_decoded", |b| {
        b.iter_batched(
            runtime,
            |mut rt| {
                let mut entries = 0usize;
                for (event, hash) in &decoded {
                    entries += rt.process_hashed(event, *hash).map_or(1, |e| e.len());
                }
                entries
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("json_lines", |b| {
        b.iter_batched(
            runtime,
            |mut rt| lines.iter().enumerate().map(|(i, l)| rt.process_line(i + 1, l).len()).sum::<usize>(),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
