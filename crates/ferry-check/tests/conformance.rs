//! The checker accepts every model that onnx 1.23.2's full checker accepts (the ONNX backend test
//! suite and the shared corpus), and rejects the one corpus model onnx rejects, for its reason.

use std::path::{Path, PathBuf};

fn onnx_files(dir: &Path) -> Vec<PathBuf> {
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

/// Models onnx 1.23.2's `check_model(full_check=True)` rejects, with the rule ferry must report.
const REJECTED: &[(&str, &str)] =
    &[("onnxruntime__datasets_mul_1.onnx", "ir3-initializer-not-input")];

fn run(label: &str, files: &[PathBuf]) {
    let (mut ok, mut rejected, mut wrong) = (0, 0, Vec::new());
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let model = match ferry_onnx::load(f) {
            Ok(m) => m,
            Err(e) => {
                wrong.push(format!("{}: does not load: {e}", f.display()));
                continue;
            }
        };
        let report = ferry_check::check_full(&model);
        match REJECTED.iter().find(|(n, _)| *n == name) {
            Some((_, rule)) => {
                if report.errors().any(|d| d.rule == *rule) {
                    rejected += 1;
                } else {
                    wrong.push(format!("{}: must be rejected by rule {rule}", f.display()));
                }
            }
            None => {
                let errors: Vec<String> = report.errors().map(|d| d.to_string()).collect();
                if errors.is_empty() {
                    ok += 1;
                } else {
                    wrong.push(format!("{}:\n  {}", f.display(), errors.join("\n  ")));
                }
            }
        }
    }
    println!(
        "{label}: {ok} accepted, {rejected} rejected as onnx rejects them, {} wrong",
        wrong.len()
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn backend_suite_is_accepted() {
    let dir = match std::env::var_os("FERRY_CONFORMANCE_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.conformance/onnx-1.22.0"),
    };
    if !dir.is_dir() {
        assert!(std::env::var_os("FERRY_REQUIRE_CONFORMANCE").is_none(), "no conformance data");
        return;
    }
    run("backend suite", &onnx_files(&dir));
}

#[test]
fn corpus_is_accepted() {
    let Some(dir) = std::env::var_os("FERRY_CORPUS").map(PathBuf::from) else {
        println!("skipped: FERRY_CORPUS is not set");
        return;
    };
    run("shared corpus", &onnx_files(&dir));
}
