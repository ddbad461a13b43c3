//! What the runtime's tests and benchmarks share: the five seed campaigns, loaded together.

use std::path::Path;

use camp_runtime::{Engine, Runtime, SourceFile};

/// A runtime over `examples/seeds/*.camp`, as `campc run examples/seeds/*.camp` loads them.
pub fn seeds() -> Runtime {
    seeds_with(Engine::default())
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
