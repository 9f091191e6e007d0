//! The local check (`check_local`): the optimizer's own rewrites of small text-syntax models,
//! checked by running only the regions they changed, with tract as the reference; and rewrites
//! broken on purpose, which it must not let through.

use ferry_ir::{AttrValue, Initializer, Model, TensorData};
use ferry_passes::PassManager;
use ferry_verify::{Options, Scope, Subject, Verdict, check_local};

fn model(text: &str) -> Model {
    ferry_text::parse_model(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn subject(m: &Model) -> Subject<'_> {
    Subject { model: m, dir: None }
}

fn opts() -> Options {
    Options { use_ort: false, ..Options::default() }
}

fn optimized(m: &Model) -> Model {
    let mut r = m.clone();
    PassManager::default().run(&mut r).unwrap();
    r
}

/// Four Conv -> BatchNormalization -> Relu blocks (one kind of rewrite, four times), a
/// Reshape whose target is computed from `Shape` (another kind), and a no-op Cast.
const BLOCKS: &str = r#"
    <ir_version: 10, opset_import: ["" : 17]>
    g (float[1,2,5,5] X) => (float[1,50] Y)
    <float[2,2,3,3] W = {1.0, -1.0, 0.5, 0.25, 2.0, -0.5, 1.5, 0.0, 1.0,
                         0.5, 0.5, -1.0, 1.0, 0.0, 2.0, -2.0, 1.0, 0.5,
                         -1.0, 1.0, 0.0, 0.5, 1.5, 1.0, -0.5, 2.0, 0.25,
                         1.0, 0.0, 0.5, -1.5, 1.0, 1.0, 0.5, -0.5, 1.0},
     float[2] S = {1.5, 0.5}, float[2] B = {0.25, -1.0},
     float[2] M = {0.5, -0.25}, float[2] V = {2.0, 0.5},
     float[2] S2 = {0.75, 2.0}, float[2] B2 = {1.0, 0.5},
     float[2] M2 = {-0.5, 1.0}, float[2] V2 = {1.0, 4.0},
     int64[1] Z = {0}, int64[1] R = {-1}>
    {
       c1 = Conv <pads = [1, 1, 1, 1]> (X, W)
       b1 = BatchNormalization (c1, S, B, M, V)
       r1 = Relu (b1)
       c2 = Conv <pads = [1, 1, 1, 1]> (r1, W)
       b2 = BatchNormalization (c2, S2, B2, M2, V2)
       r2 = Relu (b2)
       c3 = Conv <pads = [1, 1, 1, 1]> (r2, W)
       b3 = BatchNormalization (c3, S, B2, M, V2)
       r3 = Relu (b3)
       c4 = Conv <pads = [1, 1, 1, 1]> (r3, W)
       b4 = BatchNormalization (c4, S2, B, M2, V)
       r4 = Relu (b4)
       k = Cast <to = 1> (r4)
       s = Shape (k)
       n = Gather <axis = 0> (s, Z)
       t = Concat <axis = 0> (n, R)
       Y = Reshape (k, t)
    }"#;

#[test]
fn the_optimizers_rewrites_agree_running_only_the_regions() {
    let a = model(BLOCKS);
    let b = optimized(&a);
    let ops = |m: &Model| m.graph.as_ref().unwrap().node_count();
    assert!(ops(&b) < ops(&a), "the passes rewrote nothing");
    let report = check_local(subject(&a), subject(&b), &opts()).unwrap();
    let Verdict::Agree { reference, .. } = &report.verdict else { panic!("{report:?}") };
    assert!(reference.starts_with("tract"), "{reference}");
    let Some(Scope { rewritten, kinds, checked, nodes }) = report.scope.clone() else {
        panic!("checked whole: {:?}", report.notes)
    };
    // Four fused blocks are one kind; the folded Reshape target and the Relu reading a fused
    // Conv make others. One claim of each kind runs.
    assert!(rewritten > kinds && checked == kinds, "{rewritten} {kinds} {checked}");
    assert!(nodes.0 < ops(&a) && nodes.1 < ops(&b), "{nodes:?}");
}

#[test]
fn every_claim_runs_when_asked() {
    let a = model(BLOCKS);
    let b = optimized(&a);
    let all = Options { per_kind: 0, ..opts() };
    let report = check_local(subject(&a), subject(&b), &all).unwrap();
    assert!(matches!(report.verdict, Verdict::Agree { .. }), "{report:?}");
    let scope = report.scope.unwrap();
    assert_eq!(scope.checked, scope.rewritten);
}

/// Multiplies the first element of the first fused Conv weight of `m` (one the passes made) by
/// `factor`: a rewrite that got one number wrong.
fn spoil_fused_weight(m: &mut Model, factor: f32) {
    let g = m.graph.as_mut().unwrap();
    let conv = g.nodes().find(|(_, n)| n.op_type == "Conv").map(|(id, _)| id).unwrap();
    let w = g.node(conv).inputs()[1].unwrap();
    let Some(Initializer::Dense(t)) = &mut g.value_mut(w).initializer else {
        panic!("the fused weight is not an initializer")
    };
    let mut v: Vec<f32> = match &t.data {
        TensorData::Float(v) => v.clone(),
        TensorData::Raw(b) => {
            b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
        }
        other => panic!("{other:?}"),
    };
    v[0] *= factor;
    t.data = TensorData::Float(v);
}

#[test]
fn a_wrong_number_in_a_rewritten_region_is_a_mismatch() {
    let a = model(BLOCKS);
    let mut b = optimized(&a);
    spoil_fused_weight(&mut b, 1.5);
    let report = check_local(subject(&a), subject(&b), &opts()).unwrap();
    assert!(report.verdict.is_failure(), "{report:?}");
    // The regions found it; the whole models, run to confirm, agree that it is real.
    assert!(report.notes.iter().any(|n| n.contains("rewritten regions alone gave \"mismatch")));
    assert!(report.scope.is_none());
    let Verdict::Mismatch { output, .. } = &report.verdict else { panic!("{report:?}") };
    assert_eq!(output, "Y");
}

#[test]
fn a_rewrite_that_breaks_a_kind_is_found_in_the_instance_run() {
    // Break every fused block the same way (a systematic bug in a pass): whichever claim of
    // the kind runs shows it.
    let a = model(BLOCKS);
    let mut b = optimized(&a);
    let g = b.graph.as_mut().unwrap();
    let convs: Vec<_> = g.nodes().filter(|(_, n)| n.op_type == "Conv").map(|(id, _)| id).collect();
    for c in convs {
        let n = g.node_mut(c);
        n.attributes.retain(|a| a.name != "pads");
        n.attributes.push(ferry_ir::Attribute::new("pads", AttrValue::Ints(vec![2, 0, 0, 2])));
    }
    let report = check_local(subject(&a), subject(&b), &opts()).unwrap();
    assert!(report.verdict.is_failure(), "{report:?}");
}

#[test]
fn an_unchanged_model_needs_no_run() {
    let a = model(BLOCKS);
    let report = check_local(subject(&a), subject(&a), &opts()).unwrap();
    let Verdict::Agree { reference, runs, .. } = &report.verdict else { panic!("{report:?}") };
    assert_eq!((reference.as_str(), *runs), ("no value was rewritten", 0));
    assert_eq!(report.scope.unwrap().rewritten, 0);
}

#[test]
fn a_renamed_output_is_a_mismatch_without_running() {
    let a = model(BLOCKS);
    let mut b = optimized(&a);
    let g = b.graph.as_mut().unwrap();
    let y = g.outputs()[0];
    g.value_mut(y).name = "Q".into();
    let report = check_local(subject(&a), subject(&b), &opts()).unwrap();
    let Verdict::Outputs { original, result } = &report.verdict else { panic!("{report:?}") };
    assert_eq!((original[0].as_str(), result[0].as_str()), ("Y", "Q"));
}

/// A graph output the passes fold to a constant (its shape is known) is still compared: nothing
/// downstream would compare it.
#[test]
fn an_output_folded_to_a_constant_is_compared() {
    let a = model(
        r#"
        <ir_version: 10, opset_import: ["" : 17]>
        g (float[2,3] X) => (int64[2] Y, float[2,3] Z)
        {
           s = Shape (X)
           Y = Identity (s)
           Z = Relu (X)
        }"#,
    );
    let mut b = optimized(&a);
    let y = b.graph.as_ref().unwrap().outputs()[0];
    assert!(b.graph.as_ref().unwrap().value(y).initializer.is_some(), "Y was not folded");
    let report = check_local(subject(&a), subject(&b), &opts()).unwrap();
    assert!(matches!(report.verdict, Verdict::Agree { .. }), "{report:?}");
    assert_eq!(report.scope.as_ref().map(|s| s.checked), Some(1), "{report:?}");
    let g = b.graph.as_mut().unwrap();
    let Some(Initializer::Dense(t)) = &mut g.value_mut(y).initializer else { panic!() };
    t.data = TensorData::Int64(vec![2, 4]);
    let report = check_local(subject(&a), subject(&b), &opts()).unwrap();
    let Verdict::Mismatch { output, .. } = &report.verdict else { panic!("{report:?}") };
    assert_eq!(output, "Y");
}

/// A common subexpression: both Relu(X) feed an Add; after CSE the Add reads one Relu twice,
/// so the Add's region on the result reads a value the original computes from X again. The
/// cones widen until their inputs are independent (X alone), and the check passes.
#[test]
fn regions_widen_past_a_shared_subexpression() {
    let a = model(
        r#"
        <ir_version: 10, opset_import: ["" : 17]>
        g (float[2,3] X) => (float[2,3] Y)
        {
           p = Relu (X)
           q = Relu (X)
           s = Sigmoid (p)
           Y = Add (s, q)
        }"#,
    );
    let b = optimized(&a);
    assert!(b.graph.as_ref().unwrap().node_count() < 4);
    let report = check_local(subject(&a), subject(&b), &opts()).unwrap();
    assert!(matches!(report.verdict, Verdict::Agree { .. }), "{report:?}");
    assert!(report.scope.is_some(), "checked whole: {:?}", report.notes);
}

/// A region with a rewritten subgraph is not compared locally: the whole models are.
#[test]
fn rewritten_subgraphs_are_checked_whole() {
    let a = model(
        r#"
        <ir_version: 10, opset_import: ["" : 17]>
        g (float[2] X, bool C) => (float[2] Y)
        {
           i = Relu (X)
           Y = If (C) <then_branch = t () => (float[2] a) { j = Identity (i)
                                                            a = Relu (j) },
                       else_branch = e () => (float[2] b) { b = Neg (i) }>
        }"#,
    );
    let b = optimized(&a);
    // The Identity inside the then-branch is gone (5 nodes before, subgraphs included).
    assert_eq!(b.graph.as_ref().unwrap().node_count_recursive(), 4, "the branch was not rewritten");
    let report = check_local(subject(&a), subject(&b), &opts()).unwrap();
    assert!(report.scope.is_none(), "{report:?}");
    assert!(report.notes.first().is_some_and(|n| n.contains("checked whole")), "{report:?}");
}

/// `check_local` on a hand-made pair: the verdict, and whether the regions decided it.
fn local(a: &str, b: &str) -> ferry_verify::Report {
    check_local(subject(&model(a)), subject(&model(b)), &opts()).unwrap()
}

// Wrong rewrites found in review; each once got an Agree from the regions alone.

#[test]
fn swapped_outputs_of_one_node_are_different_kinds() {
    let r = local(
        r#"<ir_version: 10, opset_import: ["" : 18]>
        g (float[6] X) => (float[2] A, float[2] B, float[2] C)
        { a, b, c = Split <num_outputs = 3> (X)
          A = Neg (a)
          B = Neg (b)
          C = Neg (c) }"#,
        r#"<ir_version: 10, opset_import: ["" : 18]>
        g (float[6] X) => (float[2] A, float[2] B, float[2] C)
        { a, c, b = Split <num_outputs = 3> (X)
          A = Neg (a)
          B = Neg (b)
          C = Neg (c) }"#,
    );
    assert!(r.verdict.is_failure(), "{r:?}");
}

#[test]
fn small_float_constants_make_kinds() {
    let r = local(
        r#"<ir_version: 10, opset_import: ["" : 17]>
        g (float[2] X, float[8] Z) => (float[2] A, float[8] B)
        <float two = {2.0}, float three = {3.0}>
        { p = Pow (X, two)
          q = Pow (Z, three)
          A = Neg (p)
          B = Neg (q) }"#,
        r#"<ir_version: 10, opset_import: ["" : 17]>
        g (float[2] X, float[8] Z) => (float[2] A, float[8] B)
        { p = Mul (X, X)
          q = Mul (Z, Z)
          A = Neg (p)
          B = Neg (q) }"#,
    );
    assert!(r.verdict.is_failure(), "{r:?}");
}

#[test]
fn an_empty_tensor_never_stands_for_its_kind() {
    let r = local(
        r#"<ir_version: 10, opset_import: ["" : 17]>
        g (float[0,4] X, float[3,4] Z) => (float[0,4] A, float[3,4] B)
        { p = Relu (X)
          q = Relu (Z)
          A = Neg (p)
          B = Neg (q) }"#,
        r#"<ir_version: 10, opset_import: ["" : 17]>
        g (float[0,4] X, float[3,4] Z) => (float[0,4] A, float[3,4] B)
        { p = Sigmoid (X)
          q = Sigmoid (Z)
          A = Neg (p)
          B = Neg (q) }"#,
    );
    assert!(r.verdict.is_failure(), "{r:?}");
}

/// An attention-style mask of -1e9 must not widen the tolerance of the other elements.
#[test]
fn a_large_mask_value_does_not_set_the_tolerance() {
    let r = local(
        r#"<ir_version: 10, opset_import: ["" : 17]>
        g (float[2,2] X) => (float[2,2] Y)
        <float[2,2] W = {1.0, 2.0, 3.0, 4.0}, float[2] M = {0.0, -1e9}>
        { s = MatMul (X, W)
          Y = Add (s, M) }"#,
        r#"<ir_version: 10, opset_import: ["" : 17]>
        g (float[2,2] X) => (float[2,2] Y)
        <float[2,2] W2 = {1.0, 3.0, 2.0, 4.0}, float[2] M = {0.0, -1e9}>
        { Y = Gemm (X, W2, M) }"#,
    );
    assert!(r.verdict.is_failure(), "{r:?}");
}

#[test]
fn changed_inputs_are_failures() {
    let frozen_weight_made_an_input = local(
        r#"<ir_version: 10, opset_import: ["" : 17]>
        g (float[2] X) => (float[2] Y)
        <float[2] W = {2.0, 3.0}>
        { Y = Mul (X, W) }"#,
        r#"<ir_version: 10, opset_import: ["" : 17]>
        g (float[2] X, float[2] W) => (float[2] Y)
        { Y = Mul (X, W) }"#,
    );
    let reordered = local(
        r#"<ir_version: 10, opset_import: ["" : 17]>
        g (float[2] A, float[2] B) => (float[2] Y)
        { Y = Sub (A, B) }"#,
        r#"<ir_version: 10, opset_import: ["" : 17]>
        g (float[2] B, float[2] A) => (float[2] Y)
        { Y = Sub (A, B) }"#,
    );
    let input_frozen = local(
        r#"<ir_version: 10, opset_import: ["" : 17]>
        g (float[2] X, float[2] Z) => (float[2] Y)
        { Y = Mul (X, Z) }"#,
        r#"<ir_version: 10, opset_import: ["" : 17]>
        g (float[2] Z) => (float[2] Y)
        <float[2] X = {2.0, 3.0}>
        { Y = Mul (X, Z) }"#,
    );
    for r in [frozen_weight_made_an_input, reordered, input_frozen] {
        assert!(r.verdict.is_failure(), "{r:?}");
    }
}

/// A rewrite valid only for the values the model really produces (Abs of a Relu is the Relu)
/// fails on random region inputs; the whole models then decide, and agree.
#[test]
fn a_rewrite_valid_on_real_values_only_is_decided_whole() {
    let r = local(
        r#"<ir_version: 10, opset_import: ["" : 17]>
        g (float[4] X) => (float[4] Y)
        { r = Relu (X)
          a = Abs (r)
          Y = Neg (a) }"#,
        r#"<ir_version: 10, opset_import: ["" : 17]>
        g (float[4] X) => (float[4] Y)
        { r = Relu (X)
          Y = Neg (r) }"#,
    );
    assert!(matches!(r.verdict, Verdict::Agree { .. }), "{r:?}");
    assert!(r.scope.is_none() && r.notes[0].contains("rewritten regions alone"), "{r:?}");
}

/// An If the passes left alone does not send the check whole; a rewrite beside it is run.
#[test]
fn an_untouched_subgraph_stays_local() {
    let a = r#"<ir_version: 10, opset_import: ["" : 17]>
        g (float[2] X, bool C) => (float[2] Y, float[2] Z)
        {
           i = Relu (X)
           Y = If (C) <then_branch = t () => (float[2] a) { a = Relu (i) },
                       else_branch = e () => (float[2] b) { b = Neg (i) }>
           d = Identity (X)
           Z = Sigmoid (d)
        }"#;
    let b = optimized(&model(a));
    let r = check_local(subject(&model(a)), subject(&b), &opts()).unwrap();
    assert!(matches!(r.verdict, Verdict::Agree { .. }), "{r:?}");
    assert!(r.scope.is_some_and(|s| s.rewritten >= 1), "checked whole: {:?}", r.notes);
}

/// Inferred shapes whose element counts overflow (an Expand to 2^32 x 2^32) must not make the
/// check panic; whatever it says, it says without crashing.
#[test]
fn huge_inferred_shapes_do_not_panic() {
    let r = std::panic::catch_unwind(|| {
        local(
            r#"<ir_version: 10, opset_import: ["" : 17]>
            g (float[1] X) => (float[4294967296,4294967296] Y)
            <int64[2] S = {4294967296, 4294967296}>
            { r = Relu (X)
              Y = Expand (r, S) }"#,
            r#"<ir_version: 10, opset_import: ["" : 17]>
            g (float[1] X) => (float[4294967296,4294967296] Y)
            <int64[2] S = {4294967296, 4294967296}>
            { Y = Expand (X, S) }"#,
        )
    });
    assert!(r.is_ok(), "check_local panicked");
}
