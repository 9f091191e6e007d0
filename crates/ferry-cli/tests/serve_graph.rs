//! `ferry serve-meta` and `ferry graph` end to end: outputs, files written, and one-line errors
//! with exit status 1 (2 for usage errors).

use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/onnx").join(name)
}

fn ferry(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ferry")).args(args).output().expect("run ferry")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Exit status 1 and exactly one line on stderr, starting with `error: ` and containing `want`.
fn assert_error(out: &Output, want: &str) {
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(out));
    let err = stderr(out);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: ") && err.contains(want), "{err}");
}

#[test]
fn kserve_v2_json_to_stdout_and_file() {
    let mlp = testdata("mlp.onnx");
    let out = ferry(&["serve-meta", mlp.to_str().unwrap(), "--format", "kserve-v2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: Json = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["name"], "mlp");
    assert_eq!(json["versions"], serde_json::json!(["1"]));
    assert_eq!(json["platform"], "onnxruntime_onnx");
    assert_eq!(
        json["inputs"],
        serde_json::json!([{"name": "input", "datatype": "FP32", "shape": [-1, 32]}])
    );
    assert_eq!(json["outputs"][0]["shape"], serde_json::json!([-1, 10]));
    assert_eq!(json["properties"]["producer"], "ferry-testdata 1");

    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("meta.json");
    let args = [
        "serve-meta",
        mlp.to_str().unwrap(),
        "--format",
        "kserve-v2",
        "-o",
        file.to_str().unwrap(),
        "--name",
        "classifier",
        "--version",
        "4",
        "--platform",
        "onnxruntime_onnx_gpu",
    ];
    let out = ferry(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    let json: Json = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(json["name"], "classifier");
    assert_eq!(json["versions"], serde_json::json!(["4"]));
    assert_eq!(json["platform"], "onnxruntime_onnx_gpu");
}

#[test]
fn triton_repository_and_config() {
    let tmp = tempfile::tempdir().unwrap();
    let model = testdata("external/model.onnx");
    let repo = tmp.path().join("repo");
    let out = ferry(&[
        "serve-meta",
        model.to_str().unwrap(),
        "--format",
        "triton",
        "--repo",
        repo.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let config = std::fs::read_to_string(repo.join("model/config.pbtxt")).unwrap();
    assert!(
        config.contains("name: \"model\"\nplatform: \"onnxruntime_onnx\"\nmax_batch_size: 0\n"),
        "{config}"
    );
    assert!(repo.join("model/1/model.onnx").is_file());
    // External data travels with the model.
    assert!(repo.join("model/1/weights.bin").is_file());
    let reread = ferry(&["info", repo.join("model/1/model.onnx").to_str().unwrap()]);
    assert!(reread.status.success(), "{}", stderr(&reread));

    // Batching: mlp's leading dim N is dynamic, so it leaves dims.
    let mlp = testdata("mlp.onnx");
    let out = ferry(&[
        "serve-meta",
        mlp.to_str().unwrap(),
        "--format",
        "triton",
        "--max-batch-size",
        "8",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("max_batch_size: 8\n")
            && text.contains("dims: [ 32 ]")
            && text.contains("dims: [ 10 ]"),
        "{text}"
    );
}

#[test]
fn serve_meta_errors_are_one_line() {
    let types = testdata("types.onnx");
    let out = ferry(&["serve-meta", types.to_str().unwrap(), "--format", "kserve-v2"]);
    assert_error(&out, "input 'seq': has type seq(float[K]), which is not a tensor");

    let mlp = testdata("mlp.onnx");
    let m = mlp.to_str().unwrap();
    assert_error(
        &ferry(&["serve-meta", m, "--format", "kserve-v2", "--repo", "x"]),
        "--repo writes a Triton",
    );
    assert_error(
        &ferry(&["serve-meta", m, "--format", "kserve-v2", "--max-batch-size", "4"]),
        "--max-batch-size is a Triton setting",
    );
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().to_str().unwrap();
    assert_error(
        &ferry(&["serve-meta", m, "--format", "triton", "--repo", repo, "--version", "v1"]),
        "model version 'v1'",
    );
    assert_error(
        &ferry(&["serve-meta", m, "--format", "triton", "--name", "a/b"]),
        "model name 'a/b'",
    );
    // Triton cannot declare a scalar: if_outer_scope's cond is rank 0.
    let scalar = testdata("if_outer_scope.onnx");
    assert_error(
        &ferry(&["serve-meta", scalar.to_str().unwrap(), "--format", "triton"]),
        "input 'cond': is rank 0",
    );
    let usage = ferry(&["serve-meta", m, "--format", "onnx"]);
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn graph_svg_and_dot() {
    let tmp = tempfile::tempdir().unwrap();
    let model = testdata("if_outer_scope.onnx");
    let svg = tmp.path().join("m.svg");
    let out = ferry(&["graph", model.to_str().unwrap(), "-o", svg.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.starts_with("<svg ") && text.contains("then_branch"),
        "{}",
        &text[..200.min(text.len())]
    );

    let dot = tmp.path().join("m.dot");
    let out = ferry(&["graph", model.to_str().unwrap(), "-o", dot.to_str().unwrap(), "--collapse"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read_to_string(&dot).unwrap().starts_with("digraph model {"));

    let png = tmp.path().join("m.png");
    assert_error(
        &ferry(&["graph", model.to_str().unwrap(), "-o", png.to_str().unwrap()]),
        "use .svg or .dot",
    );
    assert!(!png.exists());
    let missing = tmp.path().join("missing.onnx");
    assert_error(
        &ferry(&["graph", missing.to_str().unwrap(), "-o", svg.to_str().unwrap()]),
        "missing.onnx",
    );
}
