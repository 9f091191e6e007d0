//! The checker accepts every model that onnx 1.23.2's full checker accepts (the ONNX backend test
//! suite and the shared corpus), and rejects the one corpus model onnx rejects, for its reason.

use std::path::PathBuf;

use ferry_testkit::onnx_files;

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
    let Some(dir) = ferry_testkit::conformance_dir() else { return };
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
