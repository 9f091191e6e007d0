//! The check end to end on small models written in the text syntax, with tract as the reference
//! (onnxruntime stays out of these: `use_ort: false`, so they pass the same with or without the
//! `ort` feature).

use ferry_ir::Model;
use ferry_verify::{
    Data, Difference, HostTensor, InputShapes, Options, Subject, Verdict, check, check_with_inputs,
};

fn model(text: &str) -> Model {
    ferry_text::parse_model(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn subject(m: &Model) -> Subject<'_> {
    Subject { model: m, dir: None }
}

fn opts() -> Options {
    Options { runs: 2, use_ort: false, ..Options::default() }
}

fn verdict(a: &Model, b: &Model, o: &Options) -> Verdict {
    check(subject(a), subject(b), o).unwrap().verdict
}

const ADD: &str = r#"
    <ir_version: 10, opset_import: ["" : 17]>
    g (float[N,3] X) => (float[N,3] Y, float[N,3] Z)
    <float[3] C = {1.0, 2.0, 3.0}>
    {
       Y = Add (X, C)
       Z = Relu (X)
    }"#;

#[test]
fn a_model_agrees_with_itself() {
    let m = model(ADD);
    let v = verdict(&m, &m, &opts());
    let Verdict::Agree { reference, runs, outputs, worst } = v else { panic!("{v:?}") };
    assert_eq!((reference.as_str(), runs, outputs), ("tract", 2, 2));
    assert_eq!(worst.max_abs, 0.0);
}

#[test]
fn a_changed_constant_is_a_mismatch_naming_the_output_and_element() {
    let a = model(ADD);
    let b = model(&ADD.replace("{1.0, 2.0, 3.0}", "{1.0, 2.0, 3.5}"));
    let v = verdict(&a, &b, &opts());
    let Verdict::Mismatch { output, run, difference: Difference::Values(d), .. } = &v else {
        panic!("{v:?}")
    };
    assert_eq!((output.as_str(), *run), ("Y", 0));
    // N is 1 by default: the only differing element is [0, 2], off by 0.5.
    assert_eq!((d.index.clone(), d.count, d.total), (vec![0, 2], 1, 3));
    assert!((d.max_abs.unwrap() - 0.5).abs() < 1e-6, "{d:?}");
    assert!(v.is_failure());
    assert!(v.to_string().starts_with("mismatch: output 'Y' differs"), "{v}");
}

#[test]
fn input_shapes_pin_open_dims() {
    let a = model(ADD);
    let b = model(&ADD.replace("{1.0, 2.0, 3.0}", "{1.0, 2.0, 3.5}"));
    let o = Options { input_shapes: InputShapes::parse(&["X:4,3"]).unwrap(), ..opts() };
    let r = check(subject(&a), subject(&b), &o).unwrap();
    assert_eq!(r.inputs[0].shape, [4, 3]);
    let Verdict::Mismatch { difference: Difference::Values(d), .. } = r.verdict else { panic!() };
    assert_eq!((d.count, d.total), (4, 12));
    let bad = Options { input_shapes: InputShapes::parse(&["X:4,4"]).unwrap(), ..opts() };
    let e = check(subject(&a), subject(&b), &bad).err().unwrap().to_string();
    assert!(e.contains("axis 1 is fixed to 3"), "{e}");
}

#[test]
fn a_tolerance_decides_small_differences() {
    let a = model(ADD);
    let b = model(&ADD.replace("{1.0, 2.0, 3.0}", "{1.0, 2.0, 3.001}"));
    assert!(verdict(&a, &b, &opts()).is_failure());
    let mut loose = opts();
    loose.tolerance.atol = 1e-2;
    assert!(matches!(verdict(&a, &b, &loose), Verdict::Agree { .. }));
}

#[test]
fn integer_outputs_must_be_exact_whatever_the_tolerance() {
    let text = r#"
        <ir_version: 10, opset_import: ["" : 17]>
        g (int64[2,5] I) => (int64[2,5] J)
        <int64[1] K = {1000}>
        { J = Add (I, K) }"#;
    let a = model(text);
    let b = model(&text.replace("{1000}", "{1001}"));
    let mut loose = opts();
    loose.tolerance.atol = 10.0;
    loose.tolerance.rtol = 1.0;
    assert!(matches!(verdict(&a, &a, &loose), Verdict::Agree { .. }));
    let v = verdict(&a, &b, &loose);
    let Verdict::Mismatch { difference: Difference::Values(d), .. } = v else { panic!("{v:?}") };
    assert_eq!((d.index, d.count, d.max_abs), (vec![0, 0], 10, Some(1.0)));
}

#[test]
fn different_element_types_or_output_lists_are_failures() {
    let a = model(ADD);
    let cast = ADD
        .replace("float[N,3] Z)", "double[N,3] Z)")
        .replace("Z = Relu (X)", "R = Relu (X)\n Z = Cast <to = 11> (R)");
    let v = verdict(&a, &model(&cast), &opts());
    assert!(matches!(v, Verdict::Mismatch { difference: Difference::Type { .. }, .. }), "{v:?}");
    let renamed = ADD.replace("Z)", "W)").replace("Z = Relu", "W = Relu");
    let v = verdict(&a, &model(&renamed), &opts());
    assert!(matches!(v, Verdict::Outputs { .. }), "{v:?}");
    assert!(v.is_failure());
}

#[test]
fn a_result_the_reference_cannot_run_is_a_failure() {
    let a = model(ADD);
    let b = model(&ADD.replace("Z = Relu (X)", "Z = NoSuchOp (X)"));
    let v = verdict(&a, &b, &opts());
    let Verdict::ResultFails { reference, .. } = &v else { panic!("{v:?}") };
    assert_eq!(reference, "tract");
    assert!(v.is_failure());
}

#[test]
fn a_result_that_does_not_load_is_no_failure_when_the_original_fails_on_the_inputs() {
    // Random indices are 0 or 1, out of range for a one-element table: the original loads but
    // fails when run, so the result's failure to load proves nothing.
    let text = r#"
        <ir_version: 10, opset_import: ["" : 17]>
        g (int64[64] I) => (float[64] Y)
        <float[1] D = {1.0}>
        { Y = Gather (D, I) }"#;
    let a = model(text);
    let b = model(&text.replace("Y = Gather (D, I)", "T = Gather (D, I)\n Y = NoSuchOp (T)"));
    let v = verdict(&a, &b, &opts());
    let Verdict::NotChecked { reason } = &v else { panic!("{v:?}") };
    assert!(reason.contains("the original fails on input set 0"), "{reason}");
    assert!(reason.contains("the result does not load"), "{reason}");
}

#[test]
fn a_model_no_reference_runs_is_not_checked_with_the_reason() {
    let a = model(
        r#"<ir_version: 10, opset_import: ["" : 17, "com.example" : 1]>
        g (float[2] X) => (float[2] Y) { Y = com.example.Frob (X) }"#,
    );
    let v = verdict(&a, &a, &opts());
    let Verdict::NotChecked { reason } = &v else { panic!("{v:?}") };
    assert!(reason.starts_with("tract: cannot run the original"), "{reason}");
    assert!(!v.is_failure());
}

#[test]
fn operators_tract_computes_wrongly_are_not_checked_by_it() {
    let text = r#"
        <ir_version: 10, opset_import: ["" : 17]>
        g (float[3,1,2] X) => (float[3,1,1,1] Y)
        <float[1,3,2] W = {0.1,0.2,0.3,0.4,0.5,0.6}, float[1,3,1] R = {0.5,0.5,0.5}>
        { Y = GRU <direction = "reverse", hidden_size = 1> (X, W, R) }"#;
    let a = model(text);
    let v = verdict(&a, &a, &opts());
    let Verdict::NotChecked { reason } = &v else { panic!("{v:?}") };
    assert!(reason.contains("known to compute"), "{reason}");
    assert!(reason.contains("GRU with direction=reverse"), "{reason}");
    // the forward direction is fine
    let fwd = model(&text.replace("\"reverse\"", "\"forward\""));
    assert!(matches!(verdict(&fwd, &fwd, &opts()), Verdict::Agree { .. }));
}

#[test]
fn inputs_without_random_values_are_not_checked() {
    let a = model(
        r#"<ir_version: 10, opset_import: ["" : 17]>
        g (string[2] S) => (string[2] T) { T = Identity (S) }"#,
    );
    let v = verdict(&a, &a, &opts());
    let Verdict::NotChecked { reason } = v else { panic!() };
    assert!(reason.contains("input S has element type string"), "{reason}");
}

#[test]
fn recorded_inputs_replace_random_ones() {
    let a = model(ADD);
    let b = model(&ADD.replace("{1.0, 2.0, 3.0}", "{1.0, 2.0, 3.5}"));
    // An input whose last column is such that the changed constant shows only there.
    let x = HostTensor { shape: vec![2, 3], data: Data::F32(vec![0.0; 6]) };
    let r = check_with_inputs(subject(&a), subject(&b), &[vec![x.clone()]], &opts()).unwrap();
    let Verdict::Mismatch { difference: Difference::Values(d), .. } = r.verdict else { panic!() };
    assert_eq!((d.index, d.original.as_str(), d.result.as_str()), (vec![0, 2], "3e0", "3.5e0"));
    let r = check_with_inputs(subject(&a), subject(&a), &[vec![x]], &opts()).unwrap();
    assert!(matches!(r.verdict, Verdict::Agree { runs: 1, .. }), "{:?}", r.verdict);
    let e = check_with_inputs(subject(&a), subject(&a), &[vec![]], &opts());
    assert!(e.is_err());
}

#[test]
fn the_typed_path_serves_large_graphs() {
    let m = model(ADD);
    let o = Options { large_graph: 1, ..opts() };
    let v = verdict(&m, &m, &o);
    let Verdict::Agree { reference, .. } = v else { panic!("{v:?}") };
    assert_eq!(reference, "tract (typed path)");
}
