//! `ferry optimize` end to end: the numeric check (`--check`, `--check 0`, a mismatch that keeps
//! OUT unwritten, a model no reference runs), `--input-shape` written into the result, and the
//! folding size limit (`--size-threshold`, `--no-large-tensor`). Runs the built binary.

use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn ferry(args: &[&str]) -> Output {
    // Without ORT_DYLIB_PATH the check uses tract only, as CI does, whatever the features.
    Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(args)
        .env_remove("ORT_DYLIB_PATH")
        .output()
        .expect("run ferry")
}

fn optimize_json(input: &Path, output: &Path, extra: &[&str]) -> (Output, Json) {
    let mut args = vec!["optimize", input.to_str().unwrap(), output.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    let out = ferry(&args);
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out, doc)
}

/// Writes a model given in the text syntax to `dir/name`.
fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let model = ferry::text::parse_model(text).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join(name);
    ferry::onnx::save(&ferry::check::validate(&model), &path).unwrap();
    path
}

fn declared(path: &Path, output: bool) -> Vec<String> {
    let m = ferry::onnx::load(path).unwrap();
    let g = m.graph.unwrap();
    let list = if output { g.outputs() } else { g.inputs() };
    list.iter().map(|&v| g.value(v).info.ty.as_ref().unwrap().to_string()).collect()
}

#[test]
fn the_check_runs_by_default_and_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mlp.onnx");
    let (o, doc) = optimize_json(&repo().join("testdata/onnx/mlp.onnx"), &out, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let c = &doc["check"];
    assert_eq!(c["status"], "ok", "{c}");
    assert!(c["reference"].as_str().unwrap().starts_with("tract"), "{c}");
    assert_eq!(c["runs"], 1);
    // By default only the regions the passes rewrote run.
    assert_eq!(c["scope"]["whole"], false, "{c}");
    assert!(c["scope"]["checked_values"].as_u64().unwrap() >= 1, "{c}");
    assert_eq!(c["inputs"][0]["shape"], serde_json::json!([1, 32]));
    assert!(doc["numeric_check"].as_str().unwrap().starts_with("ok:"));
    assert_eq!(doc["written"], true);
    assert!(out.exists());
    // the table says it too
    let mlp = repo().join("testdata/onnx/mlp.onnx");
    let t = ferry(&["optimize", mlp.to_str().unwrap(), out.to_str().unwrap(), "--check", "3"]);
    let t = String::from_utf8_lossy(&t.stdout).into_owned();
    assert!(t.contains("check scope: "), "{t}");
    assert!(t.contains("outputs agree on 3 random input sets (tract"), "{t}");
    assert!(t.contains("parameter bytes"), "{t}");
    // --check-whole runs the whole models.
    let (o, doc) = optimize_json(&mlp, &out, &["--check-whole"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(doc["check"]["scope"]["whole"], true, "{}", doc["check"]);
    assert_eq!(doc["check"]["reference"], "tract");
}

#[test]
fn input_shapes_are_written_into_the_result_and_used_by_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mlp.onnx");
    let mlp = repo().join("testdata/onnx/mlp.onnx");
    for form in [&["--input-shape", "input:4,32"][..], &["--input-shape", "4,32"]] {
        let (o, doc) = optimize_json(&mlp, &out, form);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(doc["check"]["inputs"][0]["shape"], serde_json::json!([4, 32]));
        assert_eq!(declared(&out, false), ["float[4,32]"]);
        assert_eq!(declared(&out, true), ["float[4,10]"]);
    }
    let o = ferry(&["optimize", mlp.to_str().unwrap(), "x.onnx", "--input-shape", "nope:1,2"]);
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("--input-shape names 'nope', but the model's inputs are: input"), "{e}");
}

#[test]
fn check_zero_turns_the_check_off() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mlp.onnx");
    let (o, doc) = optimize_json(&repo().join("testdata/onnx/mlp.onnx"), &out, &["--check", "0"]);
    assert!(o.status.success());
    assert_eq!(doc["check"]["status"], "off");
    assert!(out.exists());
}

#[test]
fn a_model_no_reference_runs_is_written_and_reported_not_checked() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ml.onnx");
    // Run whole: the passes leave this model as it is, which the default check sees without
    // running anything.
    let ml = repo().join("testdata/onnx/ml_and_custom.onnx");
    let (o, doc) = optimize_json(&ml, &out, &["--check-whole"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let c = &doc["check"];
    assert_eq!(c["status"], "not checked", "{c}");
    assert!(c["reason"].as_str().unwrap().contains("tract: cannot run the original"), "{c}");
    assert!(out.exists());
}

#[test]
fn external_data_is_read_for_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ext.onnx");
    let (o, doc) = optimize_json(&repo().join("testdata/onnx/external/model.onnx"), &out, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(doc["check"]["status"], "ok", "{}", doc["check"]);
}

/// A model whose output is random: run whole, the original and the result cannot agree,
/// which is how a mismatch looks to the command (it does not write OUT and names the output).
/// (The default check runs only what the passes rewrote, and they rewrite nothing here.)
#[test]
fn a_mismatch_fails_without_writing_and_names_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "random.onnx",
        r#"<ir_version: 10, opset_import: ["" : 17]>
        g (float[64] X) => (float[64] Y, float[64] Z) {
           Y = Relu (X)
           Z = RandomUniform <shape = [64], dtype = 1> ()
        }"#,
    );
    let out = dir.path().join("out.onnx");
    let (o, doc) = optimize_json(&input, &out, &["--check-whole"]);
    assert_eq!(o.status.code(), Some(1), "{doc}");
    let c = &doc["check"];
    assert_eq!(c["status"], "mismatch", "{c}");
    assert_eq!(c["output"], "Z");
    assert_eq!(doc["written"], false);
    // The result was staged while the check ran; nothing of it is left.
    let left: Vec<_> =
        std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(left, ["random.onnx"], "{left:?}");
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.starts_with("error: numeric check failed"), "{e}");
    assert!(e.contains("output 'Z' differs"), "{e}");
    assert!(!out.exists());
    // --check 0 writes it anyway
    let (o, _) = optimize_json(&input, &out, &["--check", "0"]);
    assert!(o.status.success());
    assert!(out.exists());
}

#[test]
fn the_size_threshold_keeps_large_folds_out() {
    let dir = tempfile::tempdir().unwrap();
    // Tile makes 64 floats (256 bytes) from 4: folded by default (it stays within the growth
    // allowance), and under 1 KiB, so --no-large-tensor folds it too; --size-threshold 100 not.
    let input = write(
        dir.path(),
        "tile.onnx",
        r#"<ir_version: 10, opset_import: ["" : 17]>
        g (float[16,4] X) => (float[16,4] Y)
        <float[1,4] C = {1.0, 2.0, 3.0, 4.0}, int64[2] R = {16, 1}>
        {
           T = Tile (C, R)
           Y = Add (X, T)
        }"#,
    );
    let out = dir.path().join("out.onnx");
    let tiles = |extra: &[&str]| {
        let (o, doc) = optimize_json(&input, &out, extra);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(doc["check"]["status"], "ok");
        doc["ops"]["Tile"]["after"].as_u64().unwrap()
    };
    assert_eq!(tiles(&[]), 0);
    assert_eq!(tiles(&["--no-large-tensor"]), 0);
    assert_eq!(tiles(&["--size-threshold", "100"]), 1);
    assert_eq!(tiles(&["--size-threshold", "256"]), 0);
}
