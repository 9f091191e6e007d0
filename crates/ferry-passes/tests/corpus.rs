//! The default pipeline over real models: every ONNX file of the shared corpus (`FERRY_CORPUS`,
//! skipped when unset) and of the ONNX backend test suite (when fetched). Each must optimize with
//! `verify_each`, survive export and re-import, and pass the full check with no error the
//! original did not have.

use ferry_passes::PassManager;
use std::collections::HashSet;
use std::path::Path;

fn errors(m: &ferry_ir::Model) -> HashSet<String> {
    ferry_check::check_full(m).errors().map(|d| format!("{}: {}", d.rule, d.message)).collect()
}

fn optimize_one(path: &Path) -> Result<(usize, usize), String> {
    let Ok(mut model) = ferry_onnx::load(path) else {
        return Ok((0, 0)); // not loadable: the round-trip tests cover what load refuses
    };
    let before = errors(&model);
    let nodes_before = model.graph.as_ref().map_or(0, |g| g.node_count_recursive());
    PassManager::default().verify_each(true).run(&mut model).map_err(|e| e.to_string())?;
    let bytes = ferry_onnx::to_bytes(&model).map_err(|e| e.to_string())?;
    let dir = path.parent();
    let back = ferry_onnx::load_bytes(bytes.into(), dir, &Default::default())
        .map_err(|e| format!("re-import: {e}"))?;
    let new: Vec<String> = errors(&back.model).difference(&before).cloned().collect();
    if !new.is_empty() {
        return Err(format!("new errors: {}", new.join("; ")));
    }
    let nodes_after = back.model.graph.as_ref().map_or(0, |g| g.node_count_recursive());
    if nodes_after > nodes_before {
        return Err(format!("node count grew: {nodes_before} -> {nodes_after}"));
    }
    Ok((nodes_before, nodes_after))
}

fn run_all(files: &[std::path::PathBuf]) {
    let mut failures = Vec::new();
    let (mut before, mut after) = (0, 0);
    for f in files {
        match optimize_one(f) {
            Ok((b, a)) => {
                before += b;
                after += a;
            }
            Err(e) => failures.push(format!("{}: {e}", f.display())),
        }
    }
    eprintln!("{} models: {before} nodes -> {after}", files.len());
    assert!(failures.is_empty(), "{} failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn corpus_models_optimize_and_stay_valid() {
    let Some(dir) = ferry_testkit::corpus_dir() else { return };
    let files = ferry_testkit::onnx_files(&dir);
    assert!(!files.is_empty(), "FERRY_CORPUS has no .onnx files");
    run_all(&files);
}

#[test]
fn conformance_models_optimize_and_stay_valid() {
    let Some(dir) = ferry_testkit::conformance_dir() else { return };
    run_all(&ferry_testkit::onnx_files(&dir));
}
