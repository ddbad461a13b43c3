//! The seed campaigns, for the store's tests: their sources and runtimes over them.

use std::path::{Path, PathBuf};

use camp_runtime::{Engine, Runtime, SourceFile};

/// The seed campaigns' sources: (file name, text), in file-name order.
pub fn seed_sources() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/seeds");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "camp")))
        .map(Iterator::collect)
        .unwrap_or_default();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            (
                p.file_name().unwrap_or_default().to_string_lossy().into_owned(),
                std::fs::read_to_string(p).unwrap_or_default(),
            )
        })
        .collect()
}

/// Borrowed views of sources, for loading.
pub fn files(sources: &[(String, String)]) -> Vec<SourceFile<'_>> {
    sources.iter().map(|(name, text)| SourceFile { name, text }).collect()
}

/// A runtime over these campaigns, with the default engine.
pub fn load(sources: &[(String, String)]) -> Runtime {
    Runtime::load_with(&files(sources), Engine::default()).unwrap_or_else(|e| panic!("the campaigns do not load: {e}"))
}
