//! Hostile and broken input: every crafted file in `testdata/bad/` must fail with its expected
//! message (listed in `testdata/bad/expected.tsv`, written by `testdata/make_bad.py`), and the
//! cases git cannot carry (symlinks, hard links) are built here at run time.

use bytes::Bytes;
use ferry_onnx::{LoadOptions, proto};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn load_err(path: &Path) -> String {
    match ferry_onnx::load(path) {
        Ok(_) => panic!("{} loaded, but must be refused", path.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn every_bad_file_gets_its_error() {
    let dir = repo().join("testdata/bad");
    let table = std::fs::read_to_string(dir.join("expected.tsv")).unwrap();
    let mut listed = Vec::new();
    let mut wrong = Vec::new();
    for line in table.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let (file, want) = line.split_once('\t').unwrap_or((line, ""));
        listed.push(file.to_string());
        let result = ferry_onnx::load(dir.join(file));
        match (result, want.is_empty()) {
            (Ok(_), true) => {}
            (Ok(_), false) => wrong.push(format!("{file}: loaded, expected error '{want}'")),
            (Err(e), true) => wrong.push(format!("{file}: must load, got '{e}'")),
            (Err(e), false) => {
                let msg = e.to_string();
                if !msg.contains(want) {
                    wrong.push(format!("{file}: got '{msg}', expected it to contain '{want}'"));
                }
                if msg.lines().count() != 1 {
                    wrong.push(format!("{file}: error is not one line: {msg}"));
                }
            }
        }
    }
    for e in std::fs::read_dir(&dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".onnx") && !listed.contains(&name) {
            wrong.push(format!("{name} has no expectation in expected.tsv"));
        }
    }
    println!("{} crafted files checked", listed.len());
    assert!(listed.len() >= 30);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A model with one float[4] initializer stored at `location` (16 bytes).
fn external_model(location: &str) -> Vec<u8> {
    use prost::Message;
    let t = proto::TensorProto {
        name: Some("w".into()),
        data_type: Some(1),
        dims: vec![4],
        data_location: Some(1),
        external_data: vec![proto::StringStringEntryProto {
            key: Some("location".into()),
            value: Some(location.into()),
        }],
        ..Default::default()
    };
    let g = proto::GraphProto {
        name: Some("g".into()),
        initializer: vec![t],
        node: vec![proto::NodeProto {
            op_type: Some("Identity".into()),
            input: vec!["w".into()],
            output: vec!["y".into()],
            ..Default::default()
        }],
        output: vec![proto::ValueInfoProto { name: Some("y".into()), ..Default::default() }],
        ..Default::default()
    };
    proto::ModelProto {
        ir_version: Some(10),
        opset_import: vec![proto::OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(21),
        }],
        graph: Some(g),
        ..Default::default()
    }
    .encode_to_vec()
}

#[test]
fn symlinks_and_hard_links_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    let model_dir = tmp.path().join("model");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::create_dir_all(model_dir.join("real")).unwrap();
    std::fs::write(outside.join("secret.bin"), [7u8; 16]).unwrap();
    std::fs::write(model_dir.join("real/ok.bin"), [1u8; 16]).unwrap();

    // The control case loads.
    std::fs::write(model_dir.join("ok.onnx"), external_model("real/ok.bin")).unwrap();
    ferry_onnx::load(model_dir.join("ok.onnx")).unwrap();

    // Final component is a symlink (to a file outside, and even to one inside).
    std::os::unix::fs::symlink(outside.join("secret.bin"), model_dir.join("link.bin")).unwrap();
    std::fs::write(model_dir.join("final.onnx"), external_model("link.bin")).unwrap();
    let e = load_err(&model_dir.join("final.onnx"));
    assert!(e.contains("link.bin is a symbolic link"), "{e}");
    std::os::unix::fs::symlink("real/ok.bin", model_dir.join("inner_link.bin")).unwrap();
    std::fs::write(model_dir.join("inner.onnx"), external_model("inner_link.bin")).unwrap();
    let e = load_err(&model_dir.join("inner.onnx"));
    assert!(e.contains("is a symbolic link"), "{e}");

    // A parent component is a symlink to a directory outside.
    std::os::unix::fs::symlink(&outside, model_dir.join("escape")).unwrap();
    std::fs::write(model_dir.join("parent.onnx"), external_model("escape/secret.bin")).unwrap();
    let e = load_err(&model_dir.join("parent.onnx"));
    assert!(e.contains("escape is a symbolic link"), "{e}");

    // A hard link to a file outside the directory.
    std::fs::hard_link(outside.join("secret.bin"), model_dir.join("hard.bin")).unwrap();
    std::fs::write(model_dir.join("hard.onnx"), external_model("hard.bin")).unwrap();
    let e = load_err(&model_dir.join("hard.onnx"));
    assert!(e.contains("has 2 hard links"), "{e}");
}

#[test]
fn external_data_needs_a_directory() {
    let bytes = Bytes::from(external_model("w.bin"));
    let e = ferry_onnx::load_bytes(bytes.clone(), None, &LoadOptions::default()).unwrap_err();
    assert!(e.to_string().contains("no directory to read external data from"), "{e}");
    // Opting out of resolution keeps the reference, touching no file.
    let opts = LoadOptions { resolve_external: false, ..LoadOptions::default() };
    ferry_onnx::load_bytes(bytes, None, &opts).unwrap();
}

#[test]
fn in_memory_protos_nested_too_deep_are_refused() {
    fn nest(depth: usize) -> proto::GraphProto {
        let mut g = proto::GraphProto { name: Some(format!("g{depth}")), ..Default::default() };
        if depth > 0 {
            g.node.push(proto::NodeProto {
                op_type: Some("If".into()),
                input: vec!["c".into()],
                attribute: vec![proto::AttributeProto {
                    name: Some("then_branch".into()),
                    r#type: Some(5),
                    g: Some(nest(depth - 1)),
                    ..Default::default()
                }],
                ..Default::default()
            });
        }
        g
    }
    let model = |depth| proto::ModelProto {
        ir_version: Some(10),
        graph: Some(nest(depth)),
        ..Default::default()
    };
    ferry_onnx::import(model(ferry_onnx::MAX_GRAPH_DEPTH), None, &LoadOptions::default()).unwrap();
    let e =
        ferry_onnx::import(model(ferry_onnx::MAX_GRAPH_DEPTH + 1), None, &LoadOptions::default())
            .unwrap_err()
            .to_string();
    assert!(e.contains("nest deeper than 32"), "{e}");
}

#[test]
fn unknown_fields_are_reported_not_silently_dropped() {
    let mut bytes = external_model("w.bin");
    // Field 77 of ModelProto, a string: no ONNX version defines it.
    bytes.extend_from_slice(&[0xea, 0x04, 0x02, b'h', b'i']);
    let opts = LoadOptions { resolve_external: false, ..LoadOptions::default() };
    let loaded = ferry_onnx::load_bytes(Bytes::from(bytes), None, &opts).unwrap();
    assert!(
        loaded.warnings.iter().any(|w| w.contains("field 77 of ModelProto")),
        "{:?}",
        loaded.warnings
    );
}
