//! Shared by the integration tests: finding models, and comparing two IR models structurally.
#![allow(dead_code)]

pub mod compare;

use std::path::{Path, PathBuf};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `.onnx` file under `dir`, sorted.
pub fn onnx_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "onnx") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The ONNX backend test suite, if fetched (`FERRY_CONFORMANCE_DIR`, default
/// `<repo>/.conformance/onnx-1.22.0`). With `FERRY_REQUIRE_CONFORMANCE=1`, missing is an error.
pub fn conformance_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("FERRY_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".conformance/onnx-1.22.0"));
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("FERRY_REQUIRE_CONFORMANCE").is_ok_and(|v| v == "1") {
        panic!("FERRY_REQUIRE_CONFORMANCE=1 but {} is missing", dir.display());
    }
    eprintln!("skipping the backend suite: {} is missing", dir.display());
    None
}
