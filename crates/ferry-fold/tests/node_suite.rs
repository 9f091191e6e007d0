//! Runs the folding kernels on the ONNX backend node tests of every supported operator and
//! compares with the recorded outputs: exactly for integers and bools, within 1e-6 relative for
//! float/double and 1e-3 for float16/bfloat16. Cases a kernel declines (`Ok(None)`) are listed
//! as unsupported, not failures.

use bytes::Bytes;
use ferry_ir::{DataType, Initializer, Tensor, TypeKind};
use ferry_onnx::proto::TensorProto;
use prost::Message;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

fn read_pb(path: &Path) -> Option<Tensor> {
    let bytes = std::fs::read(path).ok()?;
    let tp = TensorProto::decode(Bytes::from(bytes)).ok()?;
    ferry_onnx::import_tensor(tp).ok()
}

/// Compares element by element; `Err` says where they differ.
fn compare(got: &Tensor, want: &Tensor) -> Result<(), String> {
    if got.dtype != want.dtype {
        return Err(format!("dtype {:?}, want {:?}", got.dtype, want.dtype));
    }
    if got.dims != want.dims {
        return Err(format!("dims {:?}, want {:?}", got.dims, want.dims));
    }
    let (g, w) = (got.le_bytes()?, want.le_bytes()?);
    if g.len() != w.len() {
        return Err(format!("{} bytes, want {}", g.len(), w.len()));
    }
    let dt = got.dtype.unwrap_or(DataType::UNDEFINED);
    let floats = |size: usize, f: &dyn Fn(&[u8]) -> f64, tol: f64| -> Result<(), String> {
        for (i, (a, b)) in g.chunks_exact(size).zip(w.chunks_exact(size)).enumerate() {
            let (a, b) = (f(a), f(b));
            let close =
                a == b || (a.is_nan() && b.is_nan()) || (a - b).abs() <= tol * a.abs().max(b.abs());
            if !close {
                return Err(format!("element {i}: {a}, want {b}"));
            }
        }
        Ok(())
    };
    match dt {
        DataType::FLOAT => floats(4, &|b| f32::from_le_bytes(b.try_into().unwrap()) as f64, 1e-6),
        DataType::DOUBLE => floats(8, &|b| f64::from_le_bytes(b.try_into().unwrap()), 1e-6),
        DataType::FLOAT16 => {
            floats(2, &|b| half::f16::from_le_bytes(b.try_into().unwrap()).to_f64(), 1e-3)
        }
        DataType::BFLOAT16 => {
            floats(2, &|b| half::bf16::from_le_bytes(b.try_into().unwrap()).to_f64(), 1e-3)
        }
        _ if g == w => Ok(()),
        _ => {
            let i = g.iter().zip(w.iter()).position(|(a, b)| a != b).unwrap_or(0);
            Err(format!("byte {i} differs"))
        }
    }
}

#[derive(Default)]
struct Tally {
    pass: Vec<String>,
    unsupported: Vec<String>,
    fail: Vec<String>,
}

enum Outcome {
    Pass,
    Unsupported,
    Fail(String),
}

fn run_case(dir: &Path) -> Option<(String, Outcome)> {
    let model = ferry_onnx::load(dir.join("model.onnx")).ok()?;
    let graph = model.graph.as_ref()?;
    if graph.node_count() != 1 {
        return None;
    }
    let (_, node) = graph.nodes().next()?;
    if node.canonical_domain() != "" || !ferry_fold::SUPPORTED_OPS.contains(&node.op_type.as_str())
    {
        return None;
    }
    let opset = model.opset_version("")?;
    let data = dir.join("test_data_set_0");
    let mut by_name: HashMap<&str, Tensor> = HashMap::new();
    for (k, &v) in graph.inputs().iter().enumerate() {
        // Sequence, optional and map inputs are not tensors: not a folding case.
        let kind = graph.value(v).info.ty.as_ref().and_then(|t| t.kind.as_ref());
        if !matches!(kind, Some(TypeKind::Tensor(_))) {
            return None;
        }
        let t = read_pb(&data.join(format!("input_{k}.pb")))?;
        by_name.insert(&graph.value(v).name, t);
    }
    let mut inputs: Vec<Option<Tensor>> = Vec::new();
    for slot in node.inputs() {
        inputs.push(match slot {
            None => None,
            Some(v) => {
                let value = graph.value(*v);
                match (by_name.get(value.name.as_str()), &value.initializer) {
                    (Some(t), _) => Some(t.clone()),
                    (None, Some(Initializer::Dense(t))) => Some(t.clone()),
                    _ => return None,
                }
            }
        });
    }
    let refs: Vec<Option<&Tensor>> = inputs.iter().map(Option::as_ref).collect();
    let op = node.op_type.clone();
    let outcome = match ferry_fold::evaluate(node, opset, &refs) {
        Ok(None) => Outcome::Unsupported,
        Err(e) => Outcome::Fail(format!("error: {e}")),
        Ok(Some(outs)) => {
            let mut result = Outcome::Pass;
            if outs.len() != node.outputs().len() {
                result =
                    Outcome::Fail(format!("{} outputs, want {}", outs.len(), node.outputs().len()));
            }
            for (j, slot) in node.outputs().iter().enumerate() {
                let Some(v) = slot else { continue };
                let Some(k) = graph.outputs().iter().position(|o| o == v) else { continue };
                let want = read_pb(&data.join(format!("output_{k}.pb")))?;
                if let Some(got) = outs.get(j)
                    && let Err(e) = compare(got, &want)
                {
                    result = Outcome::Fail(format!("output {j}: {e}"));
                    break;
                }
            }
            result
        }
    };
    Some((op, outcome))
}

#[test]
fn onnx_node_tests() {
    let Some(root) = ferry_testkit::conformance_dir() else {
        eprintln!("skipping: the ONNX backend test suite is not fetched");
        return;
    };
    let mut cases: Vec<_> = std::fs::read_dir(root.join("node"))
        .expect("node test directory")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("model.onnx").is_file())
        .collect();
    cases.sort();
    let mut tally: BTreeMap<String, Tally> = BTreeMap::new();
    for dir in &cases {
        let Some((op, outcome)) = run_case(dir) else { continue };
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let t = tally.entry(op).or_default();
        match outcome {
            Outcome::Pass => t.pass.push(name),
            Outcome::Unsupported => t.unsupported.push(name),
            Outcome::Fail(e) => t.fail.push(format!("{name}: {e}")),
        }
    }
    let (mut pass, mut unsup, mut fail) = (0, 0, 0);
    println!("{:<16} {:>5} {:>6} {:>5}", "op", "pass", "unsup", "fail");
    for (op, t) in &tally {
        println!("{op:<16} {:>5} {:>6} {:>5}", t.pass.len(), t.unsupported.len(), t.fail.len());
        pass += t.pass.len();
        unsup += t.unsupported.len();
        fail += t.fail.len();
    }
    println!("{:<16} {pass:>5} {unsup:>6} {fail:>5}", "total");
    for t in tally.values() {
        for u in &t.unsupported {
            println!("unsupported: {u}");
        }
    }
    let failures: Vec<&String> = tally.values().flat_map(|t| &t.fail).collect();
    for f in &failures {
        println!("FAIL {f}");
    }
    for op in ferry_fold::SUPPORTED_OPS {
        if !tally.contains_key(*op) {
            println!("no single-node case for {op}");
        }
    }
    assert!(
        failures.is_empty(),
        "{} node cases disagree with the recorded outputs",
        failures.len()
    );
    assert!(pass > 0, "no node case ran");
}
