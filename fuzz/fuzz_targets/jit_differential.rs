//! The JIT against the interpreter: the input's bytes pick a campaign (from pieces of the
//! language) and a payment; both evaluators must give the same outcome.
#![no_main]

use std::sync::Arc;

use camp_compiler::ir::Value;
use camp_compiler::symbols::Sym;
use camp_compiler::view::{NoCounters, PaymentView, TenderView};
use camp_compiler::{Evaluator, Interp, Jit, SourceFile};
use libfuzzer_sys::fuzz_target;
use rust_decimal::Decimal;

const CONDITIONS: &[&str] = &[
    "when channel == in_store",
    "when terminal not in [vending_machine, ticket_machine]",
    "when app == paypay",
    "when merchant.tags has \"t1\"",
    "unless any item in [tobacco]",
    "when merchant.class in [\"small\", \"franchise\"]",
    "when amount >= 500 JPY",
    "unless account.consent_purchase_data == false",
    "when account.aupay_amazon_first_used_at <= 2026-03-30 23:59:59",
    "when channel == online or amount >= 5000 JPY",
];
const RATES: &[&str] = &["10%", "0.5%", "(if account.dpoint_linked == true then 2% else 1.5%)", "class_rate", "1% * 2"];
const TENDERS: &[&str] = &["", " where method in [paypay_balance, paypay_credit]", " where method == paypay_credit and installments == 1 or method == paypay_balance"];
const CAPS: &[&str] = &["", " up to 500/payment", " up to 1000/payment, 3000/period"];

fuzz_target!(|data: &[u8]| {
    let mut bytes = data.iter().copied();
    let mut pick = |n: usize| usize::from(bytes.next().unwrap_or(0)) % n;
    let mut source = String::from(
        "campaign g {\n  title \"g\"\n  period 2026-02-01 to 2026-04-30 in Asia/Tokyo\n  unit p = 1 JPY\n  table class_rate by merchant.class {\n    \"small\": 5%\n    else: 0.25%\n  }\n",
    );
    for _ in 0..pick(4) {
        source.push_str(&format!("  {}\n", CONDITIONS[pick(CONDITIONS.len())]));
    }
    source.push_str(&format!("  award {}{}{}\n  stack independent\n}}\n", RATES[pick(RATES.len())], CAPS[pick(CAPS.len())], TENDERS[pick(TENDERS.len())]));
    let checked = camp_lang::check_sources(&[&source]);
    if checked.has_errors() {
        return;
    }
    let Ok(program) = camp_compiler::lower(&checked.program, &[SourceFile { name: "g", text: &source }]) else { return };
    let program = Arc::new(program);
    let (Ok(jit), interp) = (Jit::new(program.clone()), Interp::new(program.clone())) else { return };
    let sym = |s: &str| program.symbols.get(s).unwrap_or(Sym(camp_compiler::symbols::FIRST_UNNAMED));
    let methods = ["paypay_balance", "paypay_credit", "cash"].map(sym);
    let tenders: Vec<TenderView> = (0..1 + pick(3))
        .map(|_| TenderView {
            method: methods[pick(3)],
            amount: Decimal::new(i64::from(u16::try_from(pick(65_536)).unwrap_or(0)) * [1, 100, 1_000_000_000_000][pick(3)], [0, 2][pick(2)]),
            installments: Decimal::from([1, 3][pick(2)]),
        })
        .collect();
    let tags = if pick(2) == 0 { vec![sym("t1")] } else { vec![] };
    let attributes: Vec<Value> = (0..program.attributes.len())
        .map(|_| match pick(4) {
            0 => Value::Absent,
            1 => Value::Bool(pick(2) == 0),
            2 => Value::Time(1_774_882_800_000_000_000 + [-1, 0, 1][pick(3)]),
            _ => Value::Num(Decimal::from(pick(6) as i64)),
        })
        .collect();
    let view = PaymentView {
        amount: tenders.iter().map(|t| t.amount).sum(),
        currency: sym("JPY"),
        channel: sym(["in_store", "online"][pick(2)]),
        terminal: sym(["pos", "vending_machine"][pick(2)]),
        app: sym(["paypay", "alipay"][pick(2)]),
        at: 1_770_000_000_000_000_000 + (pick(256) as i64) * 36_000_000_000_000,
        merchant: [None, None, None, [Some(sym("small")), None][pick(2)], None],
        tags: &tags,
        categories: &[],
        tenders: &tenders,
        attributes: &attributes,
        flat: None,
    };
    let expected = interp.evaluate(0, &view, &NoCounters);
    assert_eq!(jit.evaluate(0, &view, &NoCounters), expected, "{source}");
    // The runtime's way: flattened once, attached to the view.
    let flat = jit.flatten(&view);
    let attached = PaymentView { flat: flat.as_ref(), ..view };
    assert_eq!(jit.evaluate(0, &attached, &NoCounters), expected, "{source} (flattened once)");
});
