//! Import then export must reproduce every model exactly.
//!
//! "Exactly" means: the `ModelProto` decoded from the input file and the one ferry exports encode
//! to the same bytes. (Comparing encodings rather than prost's `PartialEq` also holds NaN payloads
//! to bit equality.) Covers the project's `testdata/`, the ONNX backend test suite fetched by
//! `scripts/fetch-conformance.sh` (`FERRY_CONFORMANCE_DIR`), and the shared corpus (`FERRY_CORPUS`).

use ferry_onnx::{LoadOptions, proto};
use prost::Message;
use std::path::{Path, PathBuf};

use ferry_testkit::{onnx_files, repo_root};

/// Round-trips one file; `Err` describes the first difference.
fn roundtrip(path: &Path) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let original = proto::ModelProto::decode(bytes.as_slice()).map_err(|e| e.to_string())?;
    let loaded = ferry_onnx::load_with(path, &LoadOptions::default()).map_err(|e| e.to_string())?;
    let exported = ferry_onnx::to_proto(&loaded.model);
    let (a, b) = (original.encode_to_vec(), exported.encode_to_vec());
    if a == b {
        return Ok(());
    }
    Err(first_difference(&original, &exported))
}

fn first_difference(a: &proto::ModelProto, b: &proto::ModelProto) -> String {
    let (da, db) = (format!("{a:#?}"), format!("{b:#?}"));
    for (i, (la, lb)) in da.lines().zip(db.lines()).enumerate() {
        if la != lb {
            return format!(
                "line {i} of the debug dump: input `{}` vs output `{}`",
                la.trim(),
                lb.trim()
            );
        }
    }
    format!("dumps differ in length ({} vs {} lines)", da.lines().count(), db.lines().count())
}

fn run_all(label: &str, files: &[PathBuf], skip: &[&str]) {
    let mut failures = Vec::new();
    let mut ok = 0;
    for f in files {
        let name = f.to_string_lossy();
        if skip.iter().any(|s| name.ends_with(s)) {
            continue;
        }
        match roundtrip(f) {
            Ok(()) => ok += 1,
            Err(e) => failures.push(format!("{}: {e}", f.display())),
        }
    }
    println!("{label}: {ok} of {} models round-trip losslessly", ok + failures.len());
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn testdata_models_roundtrip() {
    let files = onnx_files(&repo_root().join("testdata/onnx"));
    assert!(files.len() >= 10, "testdata/onnx has only {} models", files.len());
    run_all("testdata", &files, &["cycle.onnx"]);
}

#[test]
fn conformance_models_roundtrip() {
    let dir = match std::env::var_os("FERRY_CONFORMANCE_DIR") {
        Some(d) => PathBuf::from(d),
        None => repo_root().join(".conformance/onnx-1.22.0"),
    };
    if !dir.is_dir() {
        assert!(
            std::env::var_os("FERRY_REQUIRE_CONFORMANCE").is_none(),
            "conformance data missing at {}; run scripts/fetch-conformance.sh",
            dir.display()
        );
        println!(
            "skipped: no conformance data at {} (run scripts/fetch-conformance.sh)",
            dir.display()
        );
        return;
    }
    for folder in ["node", "simple", "pytorch-converted", "pytorch-operator"] {
        let files = onnx_files(&dir.join(folder));
        assert!(!files.is_empty(), "no models under {}/{folder}", dir.display());
        run_all(&format!("onnx backend tests, {folder}"), &files, &[]);
    }
}

#[test]
fn shared_corpus_roundtrips() {
    let Some(dir) = std::env::var_os("FERRY_CORPUS").map(PathBuf::from) else {
        println!("skipped: FERRY_CORPUS is not set");
        return;
    };
    let files = onnx_files(&dir);
    assert!(
        files.len() > 2000,
        "expected the whole corpus under {}, found {}",
        dir.display(),
        files.len()
    );
    run_all("shared corpus", &files, &[]);
}

#[test]
fn cycle_is_refused_with_node_names() {
    let err =
        ferry_onnx::load(repo_root().join("testdata/onnx/cycle.onnx")).unwrap_err().to_string();
    assert!(err.contains("cycle"), "{err}");
    assert!(err.contains("cycle_a") && err.contains("cycle_b"), "{err}");
}

#[test]
fn unsorted_graph_is_kept_by_default_and_sorted_on_request() {
    let path = repo_root().join("testdata/onnx/unsorted.onnx");
    let kept = ferry_onnx::load_with(&path, &LoadOptions::default()).unwrap();
    assert!(!ferry_ir::topo::is_sorted(kept.model.graph.as_ref().unwrap()));
    assert!(kept.warnings.iter().any(|w| w.contains("topological")), "{:?}", kept.warnings);

    let opts = LoadOptions { sort_nodes: true, ..LoadOptions::default() };
    let sorted = ferry_onnx::load_with(&path, &opts).unwrap();
    let g = sorted.model.graph.as_ref().unwrap();
    assert!(ferry_ir::topo::is_sorted(g));
    assert!(sorted.warnings.is_empty(), "{:?}", sorted.warnings);
    g.verify_links().unwrap();
    assert_eq!(g.node_count(), kept.model.graph.as_ref().unwrap().node_count());
}
