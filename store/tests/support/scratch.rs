//! A scratch directory for one test, under the system's temporary directory, named after the
//! process and the test so parallel tests and runs never share one. It is removed when the
//! guard drops, passed or failed, so test runs leave nothing behind (they used to leave a few
//! megabytes a run, which added up on machines whose temporary directory is never emptied).
//! Shared by the store, service and command-line tests.

use std::ops::Deref;
use std::path::{Path, PathBuf};

/// An empty directory that lives as long as this guard.
#[derive(Debug)]
pub struct Scratch(PathBuf);

impl Scratch {
    /// A fresh, empty directory `<temp>/<prefix>-<pid>-<name>`; whatever a killed earlier run
    /// of the same process id left there is removed first.
    pub fn new(prefix: &str, name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("{prefix}-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        Scratch(dir)
    }
}

impl Deref for Scratch {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
