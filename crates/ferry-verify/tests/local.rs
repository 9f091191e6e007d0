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

/// A region with a subgraph is not compared locally: the whole models are.
#[test]
fn subgraphs_are_checked_whole() {
    let a = model(
        r#"
        <ir_version: 10, opset_import: ["" : 17]>
        g (float[2] X, bool C) => (float[2] Y)
        {
           i = Identity (X)
           Y = If (C) <then_branch = t () => (float[2] a) { a = Relu (i) },
                       else_branch = e () => (float[2] b) { b = Neg (i) }>
        }"#,
    );
    let b = optimized(&a);
    let report = check_local(subject(&a), subject(&b), &opts()).unwrap();
    assert!(report.scope.is_none(), "{report:?}");
    assert!(report.notes.first().is_some_and(|n| n.contains("checked whole")), "{report:?}");
}
