//! The Ama rule's native code over 1,024 varied payments, many times, for a profiler
//! (`valgrind --tool=callgrind target/release/examples/profile_ama`).

use std::sync::Arc;

use camp_compiler::ir::Value;
use camp_compiler::view::{PaymentView, TenderView};
use camp_compiler::{Jit, SourceFile};
use rust_decimal::Decimal;

fn main() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/seeds/ama-toku-4.camp");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let checked = camp_lang::check_sources(&[&text]);
    let program = Arc::new(
        camp_compiler::lower(&checked.program, &[SourceFile { name: "ama", text: &text }])
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let jit = Jit::new(program.clone()).unwrap_or_else(|e| panic!("{e}"));
    let sym = |s: &str| program.symbols.get(s).unwrap_or(camp_compiler::symbols::Sym(u32::MAX));
    let attributes = vec![Value::Absent; program.attributes.len()];
    let at = camp_compiler::time::nanos(
        chrono::DateTime::parse_from_rfc3339("2026-02-10T10:00:00+09:00").unwrap_or_default().to_utc(),
    );
    let tags = [sym("ama-toku-4")];
    let flats: Vec<_> = (0..1024u32)
        .filter_map(|i| {
            let amount = Decimal::from(300 + (i * 7919) % 20_000);
            let tenders = [TenderView { method: sym("paypay_balance"), amount, installments: Decimal::ONE }];
            let view = PaymentView {
                amount,
                currency: sym("JPY"),
                channel: if i % 7 == 0 { sym("online") } else { sym("in_store") },
                terminal: sym("pos"),
                app: sym("paypay"),
                at,
                merchant: [None; 5],
                tags: if i % 5 == 0 { &[] } else { &tags },
                categories: &[],
                tenders: &tenders,
                attributes: &attributes,
                flat: None,
            };
            jit.flatten(&view)
        })
        .collect();
    let rounds: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let mut total = 0i64;
    let mut out = vec![camp_compiler::jit::Evaluated::default(); flats.len()];
    for _ in 0..rounds {
        if jit.kernel_many(0, &flats, &mut out).is_some() {
            total += out.iter().filter(|e| e.status == 0).map(|e| e.values[2]).sum::<i64>();
        }
    }
    println!("{total}");
}
