//! `ferry convert` with TensorFlow input: format detection, the TensorFlow flags, and errors.
//! The conversions themselves are tested in `crates/ferry-tf/tests/convert.rs`.

use std::path::PathBuf;
use std::process::{Command, Output};

fn ferry(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ferry")).args(args).output().expect("run ferry")
}

fn testdata(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/tf").join(name);
    p.to_string_lossy().into_owned()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn converts_graphdef_and_savedmodel() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a.onnx");
    let o = ferry(&["convert", &testdata("conv_net.pb"), out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("wrote"), "{}", text(&o));
    let info = ferry(&["info", out.to_str().unwrap()]);
    assert!(text(&info).contains("float[1,16,16,4]"), "{}", text(&info));

    let out = dir.path().join("b.onnx");
    let o = ferry(&["convert", &testdata("small_module.savedmodel"), out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let info = ferry(&["info", out.to_str().unwrap()]);
    // The signature's names: input `image`, output `logits`.
    assert!(text(&info).contains("image") && text(&info).contains("logits"), "{}", text(&info));
}

#[test]
fn tensorflow_flags() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("c.onnx");
    let o = ferry(&[
        "convert",
        &testdata("conv_net.pb"),
        out.to_str().unwrap(),
        "--inputs",
        "x:0[1,16,16,4]",
        "--outputs",
        "Identity:0",
        "--inputs-as-nchw",
        "x",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let info = text(&ferry(&["info", out.to_str().unwrap()]));
    assert!(info.contains("float[1,4,16,16]") && info.contains("outputs (1)"), "{info}");

    let o = ferry(&["convert", &testdata("conv_net.pb"), "x.onnx", "--inputs", "x:0[1,a]"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("a is not a dimension"), "{}", text(&o));

    // Forcing ONNX on a GraphDef fails as ONNX would; TensorFlow flags on ONNX input are refused.
    let o = ferry(&["convert", &testdata("conv_net.pb"), "x.onnx", "--from", "onnx"]);
    assert!(!o.status.success());
    let onnx_model = dir.path().join("a.onnx");
    ferry(&["convert", &testdata("conv_net.pb"), onnx_model.to_str().unwrap()]);
    let o = ferry(&["convert", onnx_model.to_str().unwrap(), "y.onnx", "--outputs", "z"]);
    assert!(text(&o).contains("apply to TensorFlow models"), "{}", text(&o));

    let o = ferry(&[
        "convert",
        &testdata("small_module.savedmodel"),
        "z.onnx",
        "--signature",
        "missing",
    ]);
    assert!(!o.status.success());
    assert!(text(&o).contains("serving_default"), "{}", text(&o));
}
