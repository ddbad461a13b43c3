//! Helpers for the data-driven tests of the whole pipeline.
//!
//! Tests go through these few functions (and the public `camp_lang` API they call), not
//! through internals, so that the implementation can change without rewriting tests.

use std::path::{Path, PathBuf};

use camp_lang::diag::{Lang, render};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `.camp` file directly in `dir` (relative to the workspace root), sorted.
pub fn camp_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "camp"));
    files.sort();
    files
}

/// Reads a file the tests own; a missing file is a broken test tree, so failing loudly is right.
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Every diagnostic of one source, rendered as `campc check` prints it (fixed width, no
/// colour), in the given language.
pub fn render_diagnostics(name: &str, src: &str, lang: Lang) -> String {
    let checked = camp_lang::check_sources(&[src]);
    checked.diagnostics.iter().map(|d| render(d, lang, name, src, 100, false)).collect()
}

/// The codes of every diagnostic of one source, in order.
pub fn codes(src: &str) -> Vec<String> {
    camp_lang::check_sources(&[src]).diagnostics.iter().map(|d| d.code().as_str().to_string()).collect()
}

/// The codes an `err/` case declares on its first line: `# expect: E0201 E0203`.
pub fn expected_codes(src: &str) -> Vec<String> {
    src.lines()
        .next()
        .and_then(|l| l.strip_prefix("# expect:"))
        .map(|codes| codes.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default()
}
