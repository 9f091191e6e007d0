//! The `ferry` binary, end to end: `info` counts against numbers the onnx Python package produced
//! (`testdata/reference/info_counts.json`, written by `scripts/reference/info_counts.py`), `convert`
//! round trips, and one-line errors.

use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn ferry(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ferry")).args(args).output().expect("run ferry")
}

fn info_json(path: &Path) -> Result<Json, String> {
    let out = ferry(&["info", "--json", &path.to_string_lossy()]);
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
}

/// Compares ferry's summary with one record of the reference file.
fn compare(key: &str, ours: &Json, want: &Json) -> Vec<String> {
    let mut diffs = Vec::new();
    let mut check = |what: &str, a: Json, b: &Json| {
        if &a != b {
            diffs.push(format!("{key}: {what}: ferry says {a}, onnx says {b}"));
        }
    };
    check("ir_version", ours["ir_version"].clone(), &want["ir_version"]);
    // Python's protobuf reads an absent string as "", ferry keeps absence (null).
    let producer = ours["producer_name"].as_str().unwrap_or("").into();
    check("producer_name", producer, &want["producer_name"]);
    check("opset_imports", ours["opset_imports"].clone(), &want["opset_imports"]);
    check("nodes_top", ours["nodes"]["top"].clone(), &want["nodes_top"]);
    check("nodes_total", ours["nodes"]["total"].clone(), &want["nodes_total"]);
    check("functions", ours["functions"].clone(), &want["functions"]);
    check("initializers", ours["initializers"]["dense"].clone(), &want["initializers"]);
    check(
        "sparse_initializers",
        ours["initializers"]["sparse"].clone(),
        &want["sparse_initializers"],
    );
    check("parameters", ours["parameters"].clone(), &want["parameters"]);
    let n_inputs = ours["inputs"].as_array().map_or(0, Vec::len);
    check("inputs_non_initializer", n_inputs.into(), &want["inputs_non_initializer"]);
    let n_outputs = ours["outputs"].as_array().map_or(0, Vec::len);
    check("outputs", n_outputs.into(), &want["outputs"]);
    check("external_data_files", ours["external_data_files"].clone(), &want["external_data_files"]);
    let mut flat = serde_json::Map::new();
    if let Some(h) = ours["op_histogram"].as_object() {
        for (domain, ops) in h {
            for (op, n) in ops.as_object().into_iter().flatten() {
                flat.insert(format!("{domain}::{op}"), n.clone());
            }
        }
    }
    check("op_histogram", Json::Object(flat), &want["op_histogram"]);
    diffs
}

#[test]
fn info_matches_onnx_counts() {
    let reference: Json = serde_json::from_str(
        &std::fs::read_to_string(repo().join("testdata/reference/info_counts.json")).unwrap(),
    )
    .unwrap();
    let corpus = std::env::var_os("FERRY_CORPUS").map(PathBuf::from);
    let (mut checked, mut diffs) = (0, Vec::new());
    for (key, want) in reference.as_object().unwrap() {
        let path = match key.strip_prefix("corpus:") {
            Some(name) => match &corpus {
                Some(c) => c.join("models").join(name),
                None => continue,
            },
            None => repo().join(key),
        };
        if key.ends_with("cycle.onnx") {
            let err = info_json(&path).unwrap_err();
            assert!(err.contains("cycle"), "{err}");
            continue;
        }
        match info_json(&path) {
            Ok(ours) => diffs.extend(compare(key, &ours, want)),
            Err(e) => diffs.push(format!("{key}: ferry info failed: {e}")),
        }
        checked += 1;
    }
    println!("ferry info agrees with onnx on {checked} models");
    assert!(checked >= 12, "only {checked} models checked");
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

#[test]
fn info_succeeds_on_every_corpus_model() {
    let Some(corpus) = std::env::var_os("FERRY_CORPUS").map(PathBuf::from) else {
        println!("skipped: FERRY_CORPUS is not set");
        return;
    };
    let mut stack = vec![corpus];
    let (mut ok, mut failed) = (0, Vec::new());
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "onnx") {
                let out = ferry(&["info", &p.to_string_lossy()]);
                if out.status.success() {
                    ok += 1;
                } else {
                    failed.push(format!(
                        "{}: {}",
                        p.display(),
                        String::from_utf8_lossy(&out.stderr)
                    ));
                }
            }
        }
    }
    println!("ferry info succeeded on {ok} corpus models");
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    assert!(ok > 2000);
}

fn same_proto(a: &Path, b: &Path) {
    use prost::Message;
    let decode = |p: &Path| {
        ferry_onnx::proto::ModelProto::decode(std::fs::read(p).unwrap().as_slice())
            .unwrap()
            .encode_to_vec()
    };
    assert!(decode(a) == decode(b), "{} and {} differ", a.display(), b.display());
}

#[test]
fn convert_roundtrips_and_copies_external_data() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mlp.onnx");
    let r = ferry(&[
        "convert",
        &repo().join("testdata/onnx/mlp.onnx").to_string_lossy(),
        &out.to_string_lossy(),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    same_proto(&repo().join("testdata/onnx/mlp.onnx"), &out);

    let src = repo().join("testdata/onnx/external/model.onnx");
    let out = dir.path().join("sub/model.onnx");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let r = ferry(&["convert", &src.to_string_lossy(), &out.to_string_lossy()]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    same_proto(&src, &out);
    for f in ["weights.bin", "more.bin"] {
        let a = std::fs::read(repo().join("testdata/onnx/external").join(f)).unwrap();
        let b = std::fs::read(dir.path().join("sub").join(f)).unwrap();
        assert!(a == b, "{f} differs after convert");
    }
    // Nothing but the outputs is left behind (no temporary files).
    let mut names: Vec<String> = std::fs::read_dir(dir.path().join("sub"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["model.onnx", "more.bin", "weights.bin"]);
}

#[test]
fn errors_are_one_line_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.onnx");
    std::fs::write(&junk, b"\xff\xff\xff\xff not a protobuf").unwrap();
    for args in [
        vec!["info".to_string(), dir.path().join("missing.onnx").to_string_lossy().into_owned()],
        vec!["info".to_string(), junk.to_string_lossy().into_owned()],
        vec![
            "convert".to_string(),
            junk.to_string_lossy().into_owned(),
            dir.path().join("o.onnx").to_string_lossy().into_owned(),
        ],
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = ferry(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("error: "), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    assert!(!dir.path().join("o.onnx").exists());
}
