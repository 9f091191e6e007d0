//! `ferry print`: the model as ONNX text that parses back; what the text cannot carry is
//! warned about on stderr; errors are one line.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ferry(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ferry")).args(args).output().expect("run ferry")
}

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/onnx").join(name)
}

#[test]
fn prints_text_that_parses_back() {
    let path = testdata("if_outer_scope.onnx");
    let out = ferry(&["print", path.to_str().expect("utf-8 path")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(text.starts_with("<\n   ir_version: 10,"), "{text}");
    assert!(text.contains("y = If (cond) <else_branch = else_branch () =>"), "{text}");
    let model = ferry::text::parse_model(&text).expect("parses back");
    assert_eq!(model.graph.expect("graph").node_count(), 2);
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn warns_about_what_the_text_cannot_carry() {
    let path = testdata("metadata.onnx");
    let out = ferry(&["print", path.to_str().expect("utf-8 path")]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("warning: the text syntax cannot carry "), "{err}");
    assert!(err.contains("doc_string"), "{err}");
    assert!(ferry::text::parse_model(&String::from_utf8_lossy(&out.stdout)).is_ok());
}

#[test]
fn missing_file_is_one_error_line() {
    let out = ferry(&["print", "/nonexistent/model.onnx"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: ") && err.lines().count() == 1, "{err}");
}
