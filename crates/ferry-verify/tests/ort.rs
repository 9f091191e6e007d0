//! onnxruntime as the second reference (feature `ort`). Needs the library at run time:
//!
//! ```sh
//! ORT_DYLIB_PATH=~/.cache/ferry-anchors/lib/python3.11/site-packages/onnxruntime/capi/libonnxruntime.so.1.32.0 \
//!     cargo test -p ferry-verify --features ort --test ort
//! ```
//!
//! Skips (with a message) when `ORT_DYLIB_PATH` is unset, as on CI machines without it.
#![cfg(feature = "ort")]

use ferry_ir::Model;
use ferry_verify::{Difference, Options, Subject, Verdict, check};

fn model(text: &str) -> Model {
    ferry_text::parse_model(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn verdict(a: &Model, b: &Model) -> (Verdict, Vec<String>) {
    let opts = Options { runs: 2, ..Options::default() };
    let r = check(Subject { model: a, dir: None }, Subject { model: b, dir: None }, &opts).unwrap();
    (r.verdict, r.notes)
}

fn have_ort() -> bool {
    let set = std::env::var_os("ORT_DYLIB_PATH").is_some();
    if !set {
        eprintln!("skipped: ORT_DYLIB_PATH is not set");
    }
    set
}

/// ONNX-ML, which tract cannot run: onnxruntime decides.
const ML: &str = r#"
    <ir_version: 8, opset_import: ["" : 17, "ai.onnx.ml" : 3]>
    g (float[N,3] X) => (float[N,3] Y) {
       Y = ai.onnx.ml.Scaler <offset = [0.5, -1.0, 2.0], scale = [2.0, 3.0, 4.0]> (X)
    }"#;

#[test]
fn onnxruntime_checks_what_tract_cannot_run() {
    if !have_ort() {
        return;
    }
    let a = model(ML);
    let (v, notes) = verdict(&a, &a);
    let Verdict::Agree { reference, runs, .. } = &v else { panic!("{v:?} {notes:?}") };
    assert_eq!((reference.as_str(), *runs), ("onnxruntime", 2));
    assert!(notes[0].starts_with("tract: cannot run the original"), "{notes:?}");
}

#[test]
fn onnxruntime_finds_a_changed_coefficient() {
    if !have_ort() {
        return;
    }
    let a = model(ML);
    let b = model(&ML.replace("3.0, 4.0", "3.0, 4.5"));
    let (v, _) = verdict(&a, &b);
    let Verdict::Mismatch { reference, output, difference: Difference::Values(d), .. } = v else {
        panic!("{v:?}")
    };
    assert_eq!((reference.as_str(), output.as_str(), d.index), ("onnxruntime", "Y", vec![0, 2]));
}

#[test]
fn a_model_neither_runs_is_not_checked_with_both_reasons() {
    if !have_ort() {
        return;
    }
    let a = model(
        r#"<ir_version: 10, opset_import: ["" : 17, "com.example" : 1]>
        g (float[2] X) => (float[2] Y) { Y = com.example.Frob (X) }"#,
    );
    let (v, _) = verdict(&a, &a);
    let Verdict::NotChecked { reason } = v else { panic!("{v:?}") };
    assert!(reason.contains("tract: cannot run the original"), "{reason}");
    assert!(reason.contains("onnxruntime: cannot run the original"), "{reason}");
}
