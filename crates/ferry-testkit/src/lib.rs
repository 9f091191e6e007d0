//! Where the test models are, for every crate's integration tests (a dev-dependency only).
//!
//! - the repository's own `testdata/`;
//! - the ONNX backend test suite fetched by `scripts/fetch-conformance.sh`
//!   (`FERRY_CONFORMANCE_DIR`, default `<repo>/.conformance/onnx-1.22.0`); with
//!   `FERRY_REQUIRE_CONFORMANCE=1` (as `scripts/test.sh` sets) a missing suite is an error;
//! - the shared corpus (`FERRY_CORPUS`), when the environment names it.

use std::path::{Path, PathBuf};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every file under `dir` (recursively) that `accept` takes, sorted.
pub fn find_files(dir: &Path, accept: &dyn Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if accept(&p) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Every `.onnx` file under `dir`, sorted.
pub fn onnx_files(dir: &Path) -> Vec<PathBuf> {
    find_files(dir, &|p| p.extension().is_some_and(|x| x == "onnx"))
}

/// The fetched ONNX backend test suite, or `None` when it is absent and not required.
///
/// # Panics
/// When `FERRY_REQUIRE_CONFORMANCE=1` and the suite is missing: the test run is then broken,
/// and silently skipping would hide it.
pub fn conformance_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("FERRY_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".conformance/onnx-1.22.0"));
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("FERRY_REQUIRE_CONFORMANCE").map_or(true, |v| v != "1"),
        "the ONNX backend test suite is missing at {}; run scripts/fetch-conformance.sh",
        dir.display()
    );
    None
}

/// The shared corpus, when `FERRY_CORPUS` names it.
pub fn corpus_dir() -> Option<PathBuf> {
    std::env::var_os("FERRY_CORPUS").map(PathBuf::from)
}
