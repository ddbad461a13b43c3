//! What the runtime's tests and benchmarks share: the five seed campaigns, loaded together.

use std::path::Path;

use camp_runtime::{Engine, Runtime, SourceFile};

/// A runtime over `examples/seeds/*.camp`, as `campc run examples/seeds/*.camp` loads them.
pub fn seeds() -> Runtime {
    seeds_with(Engine::default())
}

/// The seeds, evaluated by the engine a profiling example is given as its first argument:
/// `interp` for the interpreter, the JIT otherwise.
#[allow(dead_code)]
pub fn seeds_with_engine_from_arguments() -> Runtime {
    match std::env::args().nth(1).as_deref() {
        Some("interp") => seeds_with(Engine::Interp),
        _ => seeds(),
    }
}

/// The seeds, evaluated by the engine given.
pub fn seeds_with(engine: Engine) -> Runtime {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/seeds");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "camp")).collect()
        })
        .unwrap_or_default();
    paths.sort();
    let texts: Vec<(String, String)> =
        paths.iter().map(|p| (p.display().to_string(), std::fs::read_to_string(p).unwrap_or_default())).collect();
    let files: Vec<SourceFile<'_>> = texts.iter().map(|(name, text)| SourceFile { name, text }).collect();
    Runtime::load_with(&files, engine).unwrap_or_else(|e| panic!("the seeds do not load: {e:?}"))
}

/// Processes lines as a store-backed service would: before each batch (of `cuts` sizes, in
/// turn) a fresh runtime gets back only what the last one kept, every account as JSON
/// snapshots and the ids accepted so far. The ledger must be the one a single runtime writes.
#[allow(dead_code)]
pub fn through_snapshots(lines: &[String], cuts: &[usize]) -> Vec<camp_runtime::Entry> {
    let mut kept: Vec<(String, String, Vec<String>)> = Vec::new();
    let mut accepted: Vec<(String, u64)> = Vec::new();
    let mut entries = Vec::new();
    let (mut at, mut cut) = (0, 0);
    while at < lines.len() {
        let mut rt = seeds();
        for (id, state, payments) in &kept {
            let state = serde_json::from_str(state).unwrap_or_else(|e| panic!("account {id} does not read back: {e}"));
            let payments = payments
                .iter()
                .map(|p| serde_json::from_str(p).unwrap_or_else(|e| panic!("a payment does not read back: {e}")))
                .collect();
            rt.restore_account(id, state, payments);
        }
        for (id, hash) in &accepted {
            rt.remember_accepted(id, *hash);
        }
        let size = cuts.get(cut % cuts.len().max(1)).copied().unwrap_or(1).clamp(1, lines.len() - at);
        for (i, line) in lines[at..at + size].iter().enumerate() {
            let out = rt.process_line(at + i + 1, line);
            let rejected = out.iter().any(|e| matches!(e, camp_runtime::Entry::Reject { .. }));
            if let (false, Ok(Some((event, hash)))) = (rejected, camp_runtime::event::parse_line(line)) {
                accepted.push((event.id.to_string(), hash));
            }
            entries.extend(out);
        }
        let ids: Vec<String> = rt.account_ids().map(str::to_string).collect();
        kept = ids
            .into_iter()
            .map(|id| {
                let state = serde_json::to_string(&rt.account_state(&id)).unwrap_or_default();
                let payments =
                    rt.payment_states(&id).iter().map(|p| serde_json::to_string(p).unwrap_or_default()).collect();
                (id, state, payments)
            })
            .collect();
        at += size;
        cut += 1;
    }
    entries
}
