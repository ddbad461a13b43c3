//! `check` of a generated file of 1,000 campaigns (goal: under 100 ms on a 2-core machine).
//! Figures go in docs/PERFORMANCE.md.

use criterion::{Criterion, criterion_group, criterion_main};

/// 1,000 campaigns in the style of the seeds: conditions, a table, a counter, caps, stacking.
fn thousand_campaigns() -> String {
    let mut src = String::new();
    for i in 0..1000 {
        src.push_str(&format!(
            r#"# Campaign {i}: a city campaign with monthly tiers.
campaign city-{i} {{
  title "市のキャンペーン 第{i}弾"
  sponsor "市役所"
  period 2026-02-01 00:00 to 2026-02-28 23:59:59 in Asia/Tokyo
  unit paypay_point = 1 JPY
  when merchant.tags has "city-{i}"
  when channel == in_store
  when terminal not in [vending_machine, ticket_machine]
  when app == paypay and currency == "JPY"
  unless any item in [tobacco, gift_certificate]
  unless account.consent_purchase_data == false
  counter spent = sum amount per month
  let regular = spent >= 30000 JPY
  table by_class by merchant.class {{
    "small": 10%
    "franchise": 5%
    else: 2%
  }}
  award by_class + (if regular last month then 1% else 0%) up to 1000/payment, 3000/period where method in [paypay_credit, paypay_balance, paypay_point, paypay_debit]
  grant 30 days after payment
  refund recompute
  stack largest in city priority {i}
}}

"#
        ));
    }
    src
}

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
