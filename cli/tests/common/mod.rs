//! What the command-line tests share.

use std::path::{Path, PathBuf};

/// The repository's root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The seed campaign files, sorted, as `campc run examples/seeds/*.camp` gives them.
pub fn seeds() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(root().join("examples/seeds"))
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "camp"))
                .map(|p| p.display().to_string())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}
