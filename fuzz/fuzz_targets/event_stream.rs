//! Any bytes as an event stream through the five seeds: nothing may panic, every bad line is
//! a reject, and every account's state survives a trip through its kept (JSON) form.
#![no_main]

use camp_runtime::{Entry, Runtime, SourceFile};
use libfuzzer_sys::fuzz_target;

const SEEDS: [(&str, &str); 5] = [
    ("ama-toku-4.camp", include_str!("../../examples/seeds/ama-toku-4.camp")),
    ("amazon-dpoint.camp", include_str!("../../examples/seeds/amazon-dpoint.camp")),
    ("aupay-amazon-2026.camp", include_str!("../../examples/seeds/aupay-amazon-2026.camp")),
    ("cashless-reduction-2019.camp", include_str!("../../examples/seeds/cashless-reduction-2019.camp")),
    ("paypay-step.camp", include_str!("../../examples/seeds/paypay-step.camp")),
];

/// A fresh runtime over the seeds, compiled once (interpreted: the JIT has its own target).
fn seeds() -> Runtime {
    static PROGRAM: std::sync::OnceLock<std::sync::Arc<camp_compiler::ir::Program>> = std::sync::OnceLock::new();
    let program = PROGRAM.get_or_init(|| {
        let files: Vec<SourceFile<'_>> = SEEDS.iter().map(|(name, text)| SourceFile { name, text }).collect();
        camp_runtime::compile(&files).unwrap_or_else(|e| panic!("the seeds do not load: {e}"))
    });
    Runtime::with_evaluator(Box::new(camp_compiler::Interp::new(program.clone())))
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut rt = seeds();
    for (i, line) in text.lines().enumerate() {
        let entries = rt.process_line(i + 1, line);
        let rejects = entries.iter().filter(|e| matches!(e, Entry::Reject { .. })).count();
        assert!(rejects <= 1, "one reject at most per line");
    }
    let ids: Vec<String> = rt.account_ids().map(str::to_string).collect();
    let mut again = seeds();
    for id in &ids {
        let state = serde_json::to_string(&rt.account_state(id)).unwrap_or_default();
        let payments: Vec<String> =
            rt.payment_states(id).iter().map(|p| serde_json::to_string(p).unwrap_or_default()).collect();
        let state = serde_json::from_str(&state).unwrap_or_else(|e| panic!("state does not read back: {e}"));
        let payments = payments
            .iter()
            .map(|p| serde_json::from_str(p).unwrap_or_else(|e| panic!("a payment does not read back: {e}")))
            .collect();
        again.restore_account(id, state, payments);
        assert_eq!(again.account_state(id), rt.account_state(id), "account {id} changed through its kept form");
    }
});
