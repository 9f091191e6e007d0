//! The pass manager: fixed point, round limit, verify-each, stop-after, and output that does not
//! depend on the thread count.

use ferry_ir::{Graph, Model};
use ferry_passes::{Changed, Pass, PassCx, PassError, PassManager, all_passes};

/// A model with functions (run in parallel), an If with branches, dead code, identities,
/// transposes and duplicates everywhere.
const MODEL: &str = r#"
<ir_version: 10, opset_import: ["" : 21, "local" : 1]>
g (float[2,3] X, bool c) => (float[3,2] Y, float[2,3] Z)
<float[2,3] W = {1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, float[1] U = {7.0}>
{
   A = Identity (X)
   B1 = Add (A, W)
   B2 = Add (A, W)
   S = Sum (B1, B2)
   T1 = Transpose <perm = [1, 0]> (S)
   T2 = Transpose <perm = [1, 0]> (T1)
   T3 = Transpose <perm = [1, 0]> (T2)
   dead = Neg (T3)
   Y = Dropout (T3)
   Z = If (c) <then_branch = t () => (float[2,3] o) {
      i = Identity (S)
      d = Relu (i)
      o = local.F (d)
   }, else_branch = e () => (float[2,3] o2) {
      o2 = local.G (S)
   }>
}
<domain: "local", opset_import: ["" : 21]>
F (x) => (y) {
   a = Identity (x)
   b1 = Relu (a)
   b2 = Relu (a)
   unused = Neg (b2)
   y = Add (b1, b2)
}
<domain: "local", opset_import: ["" : 21]>
G (x) => (y) {
   t = Transpose <perm = [1, 0]> (x)
   u = Transpose <perm = [1, 0]> (t)
   y = Identity (u)
}
"#;

fn model() -> Model {
    ferry_text::parse_model(MODEL).unwrap()
}

fn optimized_bytes(threads: usize) -> (Vec<u8>, usize) {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| {
        let mut m = model();
        let report = PassManager::default().verify_each(true).run(&mut m).unwrap();
        assert!(report.converged);
        (ferry_onnx::to_bytes(&m).unwrap(), report.rewrites)
    })
}

#[test]
fn same_bytes_with_1_and_4_threads() {
    let (one, r1) = optimized_bytes(1);
    let (four, r4) = optimized_bytes(4);
    assert_eq!(r1, r4);
    assert!(r1 > 10, "the model has plenty to rewrite, got {r1}");
    assert_eq!(one, four);
}

#[test]
fn corpus_model_same_bytes_with_1_and_4_threads() {
    let Some(dir) = ferry_testkit::corpus_dir() else { return };
    let path = dir.join("models/nudenet__320n.onnx");
    if !path.exists() {
        return;
    }
    let run = |threads| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let mut m = ferry_onnx::load(&path).unwrap();
            PassManager::default().run(&mut m).unwrap();
            ferry_onnx::to_bytes(&m).unwrap()
        })
    };
    assert_eq!(run(1), run(4));
}

#[test]
fn pipeline_reaches_a_fixed_point_and_cleans_functions() {
    let mut m = model();
    let report = PassManager::default().verify_each(true).run(&mut m).unwrap();
    assert!(report.converged);
    let g = m.graph.as_ref().unwrap();
    let ops: Vec<&str> = g.nodes().map(|(_, n)| n.op_type.as_str()).collect();
    // Identity, the duplicate Add, two Transposes (fused then cancelled), Neg and Dropout go.
    assert_eq!(ops, ["Add", "Sum", "Transpose", "If"], "{}", ferry_text::print_model(&m));
    // The Dropout made the graph output Y: the Transpose now makes Y itself.
    assert_eq!(g.value(g.outputs()[0]).name, "Y");
    assert!(g.initializers().iter().all(|&v| g.value(v).name != "U"));
    let f = &m.functions[0].body;
    let f_ops: Vec<&str> = f.nodes().map(|(_, n)| n.op_type.as_str()).collect();
    assert_eq!(f_ops, ["Relu", "Add"]);
    let gfun = &m.functions[1].body;
    let g_ops: Vec<&str> = gfun.nodes().map(|(_, n)| n.op_type.as_str()).collect();
    // Identity(u) hands the name y to the second Transpose, the Transposes fuse into an identity
    // perm that now reads the function input x and makes the output y: that one stays.
    assert_eq!(g_ops, ["Transpose"], "{}", ferry_text::print_model(&m));
    assert!(ferry_check::check_full(&m).is_valid());
    // Running again changes nothing.
    let again = PassManager::default().run(&mut m).unwrap();
    assert_eq!(again.rewrites, 0);
    assert_eq!(again.rounds, 1);
}

/// Bypasses every Relu into its input: always changes something, never converges when it keeps
/// re-adding one.
struct Flip;
impl Pass for Flip {
    fn name(&self) -> &'static str {
        "flip"
    }
    fn description(&self) -> &'static str {
        "toggles a Neg's attribute list"
    }
    fn run(&self, g: &mut Graph, cx: &PassCx) -> Result<Changed, PassError> {
        let ids: Vec<_> = g.node_ids().collect();
        let mut n = 0;
        for id in ids {
            if g.node(id).op_type == "Neg" && cx.allow() {
                let node = g.node_mut(id);
                node.doc_string = if node.doc_string.is_some() { None } else { Some("x".into()) };
                n += 1;
            }
        }
        Ok(Changed { rewrites: n })
    }
}

#[test]
fn round_limit_reports_no_convergence() {
    let mut m = model();
    let report = PassManager::new(vec![Box::new(Flip)]).max_rounds(3).run(&mut m).unwrap();
    assert_eq!(report.rounds, 3);
    assert!(!report.converged);
    assert!(!report.stopped_by_rewrite_limit);
    assert_eq!(report.passes[0].runs, 3);
}

/// Removes the node that makes the first graph output: breaks the model.
struct Breaker;
impl Pass for Breaker {
    fn name(&self) -> &'static str {
        "breaker"
    }
    fn description(&self) -> &'static str {
        "removes an output's producer"
    }
    fn run(&self, g: &mut Graph, cx: &PassCx) -> Result<Changed, PassError> {
        if cx.nested {
            return Ok(Changed::NONE);
        }
        match g.outputs().first().and_then(|&v| g.value(v).producer()) {
            Some(p) => {
                g.remove_node(p);
                Ok(Changed { rewrites: 1 })
            }
            None => Ok(Changed::NONE),
        }
    }
}

#[test]
fn verify_each_names_the_pass_that_broke_the_model() {
    let mut m = model();
    let passes: Vec<Box<dyn Pass>> =
        vec![Box::new(ferry_passes::EliminateIdentity), Box::new(Breaker)];
    let err = PassManager::new(passes).verify_each(true).run(&mut m).unwrap_err();
    match &err {
        PassError::Broke { pass, problems } => {
            assert_eq!(pass, "breaker");
            assert!(problems.iter().any(|p| p.contains("output-not-produced")), "{problems:?}");
        }
        other => panic!("{other:?}"),
    }
    // Without verify_each the same pipeline "succeeds".
    let mut m = model();
    let passes: Vec<Box<dyn Pass>> = vec![Box::new(Breaker)];
    assert!(PassManager::new(passes).max_rounds(1).run(&mut m).is_ok());
}

#[test]
fn stop_after_limits_rewrites_exactly() {
    let full = {
        let mut m = model();
        PassManager::default().run(&mut m).unwrap().rewrites
    };
    let mut previous = ferry_onnx::to_bytes(&model()).unwrap();
    for n in 0..=full {
        let mut m = model();
        let report = PassManager::default().stop_after(Some(n)).verify_each(true).run(&mut m);
        let report = report.unwrap();
        assert_eq!(report.rewrites, n, "stop_after({n})");
        // At n == full the limit is reached before the round that would confirm the fixed point.
        assert!(report.stopped_by_rewrite_limit || n == full, "stop_after({n})");
        assert!(!report.converged || n == full, "stop_after({n})");
        let bytes = ferry_onnx::to_bytes(&m).unwrap();
        assert_eq!(
            bytes != previous,
            n > 0,
            "stop_after({n}) changes the model once more:\n{}",
            ferry_text::print_model(&m)
        );
        previous = bytes;
    }
}

#[test]
fn every_pass_is_listed_once_and_found_by_name() {
    let names: Vec<&str> = all_passes().iter().map(|p| p.name()).collect();
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len());
    assert_eq!(ferry_passes::passes_by_name(&names).unwrap().len(), names.len());
    assert_eq!(
        ferry_passes::passes_by_name(&["nope"]).err(),
        Some(PassError::UnknownPass("nope".into()))
    );
}
