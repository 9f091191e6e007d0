//! Measures `tract_ref::known_wrong` against the ONNX backend node tests: tract runs every case on
//! its recorded inputs, and every case where tract reports success but its outputs disagree with
//! the recorded ones must use an operator on the list. A newer tract that gets something else
//! wrong, or a list that misses a case, fails here instead of passing a wrong model silently.
//!
//! Skips when the fetched suite is absent (see `ferry_testkit::conformance_dir`).

use ferry_verify::compare::{Tolerance, compare};
use ferry_verify::tract_ref::{known_wrong, run_ignoring_known_wrong};
use ferry_verify::{HostTensor, Subject};
use prost::Message;
use std::path::Path;

/// onnx's backend runner compares with `rtol=1e-3`; the absolute tolerance here is wider than
/// its `1e-7` because this test looks for wrong results, not for float32 rounding (DFT outputs
/// of magnitude 10 come back with 1e-5 noise where the expected value is 0). Float16 outputs
/// were recorded from float32 computations.
fn tolerance(expected: &HostTensor) -> Tolerance {
    match expected.data {
        ferry_verify::Data::F16(_) => Tolerance { rtol: 1e-2, atol: 1e-3 },
        _ => Tolerance { rtol: 1e-3, atol: 1e-4 },
    }
}

/// Cases where tract is wrong on *data* no graph inspection can see (documented at
/// `known_wrong`): a fully masked attention row, where tract's `ReduceMax` of an all `-inf`
/// slice is `-f32::MAX` and its `Attention` averages instead of giving 0.
const DATA_DEPENDENT: &[&str] = &[
    "test_attention_23_boolmask_fullymasked_row_nan_robustness",
    "test_attention_23_boolmask_fullymasked_row_nan_robustness_expanded",
    "test_attention_23_fullymasked_qk_matmul_output_mode3_zero_expanded",
    "test_attention_4d_causal_nonpad_negative_offset_structural_empty_expanded",
];

fn read_tensor(path: &Path) -> Option<HostTensor> {
    let bytes = std::fs::read(path).ok()?;
    let proto = ferry_onnx::proto::TensorProto::decode(bytes.as_slice()).ok()?;
    let t = ferry_onnx::import_tensor(proto).ok()?;
    HostTensor::from_ir(&t).ok()
}

/// The recorded tensors `prefix_0.pb`, `prefix_1.pb`, ... of one data set (`None` when one of
/// them is not a plain tensor, e.g. a sequence).
fn read_set(dir: &Path, prefix: &str) -> Option<Vec<HostTensor>> {
    let mut out = Vec::new();
    loop {
        let p = dir.join(format!("{prefix}_{}.pb", out.len()));
        if !p.exists() {
            return Some(out);
        }
        out.push(read_tensor(&p)?);
    }
}

/// Whether every graph output is a plain tensor (the recorded outputs of the others are
/// sequences or optionals, which this test does not read).
fn tensor_outputs(m: &ferry_ir::Model) -> bool {
    let Some(g) = &m.graph else { return false };
    g.outputs().iter().all(|&v| g.value(v).info.ty.as_ref().and_then(|t| t.as_tensor()).is_some())
}

#[test]
fn every_silent_tract_error_in_the_node_tests_is_on_the_list() {
    let Some(root) = ferry_testkit::conformance_dir() else {
        eprintln!("skipped: no ONNX backend test suite");
        return;
    };
    // The fetched suite's node tests, and the newer onnx's extra node tests in the shared
    // corpus when it is there (that is where the Attention, BitShift edge and Celu float16
    // cases are).
    let mut dirs = vec![root.join("node")];
    if let Some(corpus) = ferry_testkit::corpus_dir() {
        dirs.push(corpus.join("onnx-conformance/node-onnx1.23.2-new"));
    }
    let mut cases: Vec<_> = dirs
        .iter()
        .flat_map(|d| std::fs::read_dir(d).into_iter().flatten().flatten().map(|e| e.path()))
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no cases under {}", dirs[0].display());
    let (mut ran, mut agree, mut listed, mut refused) = (0, 0, 0, 0);
    let mut unlisted = Vec::new();
    for case in &cases {
        let Ok(model) = ferry_onnx::load(case.join("model.onnx")) else { continue };
        if !tensor_outputs(&model) {
            continue;
        }
        let data = case.join("test_data_set_0");
        let (Some(inputs), Some(expected)) = (read_set(&data, "input"), read_set(&data, "output"))
        else {
            continue;
        };
        let subject = Subject { model: &model, dir: Some(case) };
        let Ok(got) = run_ignoring_known_wrong(subject, &inputs) else {
            refused += 1;
            continue;
        };
        ran += 1;
        let wrong = got.len() != expected.len()
            || expected.iter().zip(&got).any(|(e, g)| compare(e, g, tolerance(e)).is_err());
        let name = case.file_name().unwrap_or_default().to_string_lossy().into_owned();
        match (wrong, known_wrong(&model)) {
            (false, Some(op)) => {
                agree += 1;
                println!("{name}: right, but listed ({op})");
            }
            (false, None) => agree += 1,
            (true, Some(op)) => {
                listed += 1;
                println!("{name}: wrong, listed ({op})");
            }
            (true, None) if DATA_DEPENDENT.contains(&name.as_str()) => {
                println!("{name}: wrong on its data (documented)");
            }
            (true, None) => {
                let why = expected
                    .iter()
                    .zip(&got)
                    .find_map(|(e, g)| compare(e, g, tolerance(e)).err())
                    .map_or("output count differs".to_string(), |d| d.to_string());
                unlisted.push(format!("{name}: {why}"));
            }
        }
    }
    println!(
        "tract on {} node cases: {ran} ran ({agree} agree, {listed} wrong and listed, {} wrong \
         and unlisted), {refused} refused",
        cases.len(),
        unlisted.len()
    );
    assert!(ran > 1000, "tract ran only {ran} cases: is the suite complete?");
    assert!(
        unlisted.is_empty(),
        "tract is silently wrong outside the list:\n{}",
        unlisted.join("\n")
    );
}
