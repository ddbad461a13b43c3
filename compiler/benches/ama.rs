//! Single-rule evaluation of the Ama rule (S4.2–S4.5, no account state) by the reference
//! interpreter, over 1,024 varied payments. Figures go in docs/PERFORMANCE.md.

use std::sync::Arc;

use camp_compiler::ir::{Program, Value};
use camp_compiler::symbols::Sym;
use camp_compiler::view::{NoCounters, PaymentView, TenderView};
use camp_compiler::{Evaluator, Interp, SourceFile};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rust_decimal::Decimal;

fn program() -> Arc<Program> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/seeds/ama-toku-4.camp");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let checked = camp_lang::check_sources(&[&text]);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    Arc::new(
        camp_compiler::lower(&checked.program, &[SourceFile { name: "ama-toku-4.camp", text: &text }])
            .unwrap_or_else(|e| panic!("{e}")),
    )
}

/// Payments that pass and fail each condition in turn, with one or two tenders.
struct Payment {
    amount: Decimal,
    tags: Vec<Sym>,
    categories: Vec<Sym>,
    tenders: Vec<TenderView>,
    channel: Sym,
    terminal: Sym,
    app: Sym,
}

fn payments(p: &Program) -> (Vec<Payment>, Sym, Vec<Value>) {
    let sym = |s: &str| p.symbols.get(s).unwrap_or(Sym(u32::MAX));
    let methods = ["paypay_balance", "paypay_credit", "paypay_gift_voucher", "credit_card"].map(sym);
    let out = (0..1024u32)
        .map(|i| {
            let amount = Decimal::from(300 + (i * 7919) % 20_000);
            let split = i % 3 == 0;
            let tenders = if split {
                let half = (amount / Decimal::TWO).floor();
                vec![
                    TenderView { method: methods[0], amount: half, installments: Decimal::ONE },
                    TenderView { method: methods[2], amount: amount - half, installments: Decimal::ONE },
                ]
            } else {
                vec![TenderView { method: methods[(i % 4) as usize], amount, installments: Decimal::ONE }]
            };
            Payment {
                amount,
                tags: if i % 5 == 0 { vec![] } else { vec![sym("ama-toku-4")] },
                categories: if i % 11 == 0 { vec![sym("tobacco")] } else { vec![] },
                tenders,
                channel: if i % 7 == 0 { sym("online") } else { sym("in_store") },
                terminal: if i % 13 == 0 { sym("vending_machine") } else { sym("pos") },
                app: sym("paypay"),
            }
        })
        .collect();
    (out, sym("JPY"), vec![Value::Absent; p.attributes.len()])
}

fn bench(c: &mut Criterion) {
    let program = program();
    let interp = Interp::new(program.clone());
    let (payments, jpy, attributes) = payments(&program);
    let at = camp_compiler::time::nanos(
        chrono::DateTime::parse_from_rfc3339("2026-02-10T10:00:00+09:00").unwrap_or_default().to_utc(),
    );
    let views: Vec<PaymentView<'_>> = payments
        .iter()
        .map(|p| PaymentView {
            amount: p.amount,
            currency: jpy,
            channel: p.channel,
            terminal: p.terminal,
            app: p.app,
            at,
            merchant: [None; 5],
            tags: &p.tags,
            categories: &p.categories,
            tenders: &p.tenders,
            attributes: &attributes,
            flat: None,
        })
        .collect();
    let awarded: Decimal =
        views.iter().map(|v| interp.evaluate(0, v, &NoCounters).map(|o| o.points).unwrap_or_default()).sum();
    assert!(awarded > Decimal::ZERO, "the payments reach awards");
    let mut group = c.benchmark_group("ama_rule");
    group.throughput(Throughput::Elements(views.len() as u64));
    group.bench_function("interp", |b| {
        let mut outcome = camp_compiler::Outcome::default();
        b.iter(|| {
            let mut total = Decimal::ZERO;
            for v in &views {
                if interp.evaluate_into(0, v, &NoCounters, &mut outcome).is_ok() {
                    total += outcome.points;
                }
            }
            total
        })
    });
    let jit = camp_compiler::Jit::new(program.clone()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(jit.compiled_campaigns(), 1, "the Ama rule runs as native code");
    // Payments flattened once, as the runtime does before evaluating its campaigns.
    let flats: Vec<camp_compiler::jit::FlatPayment> = views.iter().filter_map(|v| jit.flatten(v)).collect();
    assert_eq!(flats.len(), views.len());
    let attached: Vec<PaymentView<'_>> =
        views.iter().zip(&flats).map(|(v, f)| PaymentView { flat: Some(f), ..*v }).collect();
    group.bench_function("jit", |b| {
        let mut outcome = camp_compiler::Outcome::default();
        b.iter(|| {
            let mut total = Decimal::ZERO;
            for v in &attached {
                if jit.evaluate_into(0, v, &NoCounters, &mut outcome).is_ok() {
                    total += outcome.points;
                }
            }
            total
        })
    });
    // The native code alone, on the flat payments.
    group.bench_function("jit_kernel", |b| {
        b.iter(|| {
            let mut total = 0i64;
            for f in &flats {
                if let Some((0, results)) = jit.kernel(0, f) {
                    total += results[2];
                }
            }
            total
        })
    });
    // The native loop over all the payments in one call.
    let mut evaluated = vec![camp_compiler::jit::Evaluated::default(); flats.len()];
    group.bench_function("jit_kernel_many", |b| {
        b.iter(|| {
            let ran = jit.kernel_many(0, &flats, &mut evaluated);
            assert!(ran.is_some());
            evaluated.iter().filter(|e| e.status == 0).map(|e| e.values[2]).sum::<i64>()
        })
    });
    // The baseline: the same rule written by hand in Rust over the same flat payments.
    let sym = |s: &str| program.symbols.get(s).map_or(u32::MAX, |s| s.0);
    let (tag, in_store, vending, ticket, paypay, jpy, tobacco) = (
        sym("ama-toku-4"),
        sym("in_store"),
        sym("vending_machine"),
        sym("ticket_machine"),
        sym("paypay"),
        sym("JPY"),
        sym("tobacco"),
    );
    let methods = ["paypay_credit", "paypay_balance", "paypay_point", "paypay_debit"].map(sym);
    let ama = &program.campaigns[0];
    let (start, end) = (ama.start.unwrap_or(i64::MIN), ama.end.unwrap_or(i64::MAX));
    let consent = program.attributes.iter().position(|a| a.name == "consent_purchase_data").unwrap_or(0);
    /// The same payment as plain Rust data for the hand-written rule.
    struct Plain {
        at: i64,
        currency: u32,
        channel: u32,
        terminal: u32,
        app: u32,
        tags: Vec<u32>,
        categories: Vec<u32>,
        tenders: Vec<(u32, i64)>,
        consent: Option<bool>,
    }
    let plain: Vec<Plain> = views
        .iter()
        .map(|v| Plain {
            at: v.at,
            currency: v.currency.0,
            channel: v.channel.0,
            terminal: v.terminal.0,
            app: v.app.0,
            tags: v.tags.iter().map(|s| s.0).collect(),
            categories: v.categories.iter().map(|s| s.0).collect(),
            tenders: v
                .tenders
                .iter()
                .map(|t| (t.method.0, i64::try_from(t.amount.mantissa()).unwrap_or(0) * 10_000))
                .collect(),
            consent: match v.attributes.get(consent) {
                Some(Value::Bool(b)) => Some(*b),
                _ => None,
            },
        })
        .collect();
    let by_hand = |p: &Plain| -> Option<i64> {
        let eligible = p.at >= start
            && p.at < end
            && p.currency == jpy
            && p.tags.contains(&tag)
            && p.channel == in_store
            && p.terminal != vending
            && p.terminal != ticket
            && p.app == paypay
            && !p.categories.contains(&tobacco)
            && p.consent != Some(false);
        if !eligible {
            return None;
        }
        let basis: i64 = p.tenders.iter().filter(|(m, _)| methods.contains(m)).map(|(_, a)| a).sum();
        Some((basis / 100_000).min(1000))
    };
    group.bench_function("hand_written_rust", |b| b.iter(|| plain.iter().filter_map(by_hand).sum::<i64>()));
    let native: i64 = flats.iter().filter_map(|f| jit.kernel(0, f)).filter(|(s, _)| *s == 0).map(|(_, r)| r[2]).sum();
    assert_eq!(native, plain.iter().filter_map(by_hand).sum::<i64>(), "the hand-written rule is the same rule");
    group.finish();
}

/// Compile time of the five seeds: check + lower, and native code generation.
fn compile(c: &mut Criterion) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/seeds");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "camp")).collect()
        })
        .unwrap_or_default();
    paths.sort();
    let texts: Vec<String> = paths.iter().map(|p| std::fs::read_to_string(p).unwrap_or_default()).collect();
    let sources: Vec<&str> = texts.iter().map(String::as_str).collect();
    let files: Vec<SourceFile<'_>> = sources.iter().map(|t| SourceFile { name: "seed", text: t }).collect();
    let lower = || {
        let checked = camp_lang::check_sources(&sources);
        Arc::new(camp_compiler::lower(&checked.program, &files).unwrap_or_else(|e| panic!("{e}")))
    };
    let program = lower();
    let mut group = c.benchmark_group("compile_five_seeds");
    group.bench_function("check_and_lower", |b| b.iter(lower));
    group
        .bench_function("jit", |b| b.iter(|| camp_compiler::Jit::new(program.clone()).map(|j| j.compiled_campaigns())));
    group.bench_function("all", |b| b.iter(|| camp_compiler::Jit::new(lower()).map(|j| j.compiled_campaigns())));
    group.finish();
}

criterion_group!(benches, bench, compile);
criterion_main!(benches);
