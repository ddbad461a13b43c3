//! `check` of a generated file of 1,000 campaigns (goal: under 100 ms on a 2-core machine).
//! Figures go in docs/PERFORMANCE.md.

use criterion::{Criterion, criterion_group, criterion_main};

mod corpus;
use corpus::thousand_campaigns;

fn bench(c: &mut Criterion) {
    let src = thousand_campaigns();
    let checked = camp_lang::check_sources(&[&src]);
    assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics.first());
    assert_eq!(checked.program.campaigns.len(), 1000);
    let mut group = c.benchmark_group("front_end");
    group.sample_size(20);
    group.bench_function("parse_and_check_1000_campaigns", |b| b.iter(|| camp_lang::check_sources(&[&src])));
    group.bench_function("parse_1000_campaigns", |b| b.iter(|| camp_lang::parse(&src)));
    group.bench_function("pest_only_1000_campaigns", |b| b.iter(|| camp_lang::syntax::pest_only(&src)));
    group.bench_function("fmt_1000_campaigns", |b| b.iter(|| camp_lang::fmt::format_source(&src)));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
