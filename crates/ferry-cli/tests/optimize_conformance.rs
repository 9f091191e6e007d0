//! The optimizer and its numeric check over the ONNX backend tests' model folders (`simple`,
//! `pytorch-converted`): each model is optimized with the default pipeline and checked against
//! the original on its recorded inputs (`test_data_set_*/input_*.pb`) instead of random ones.
//! Prints one line per verdict kind and fails on any mismatch or optimizer error. Skips when the
//! suite is absent (unless `FERRY_REQUIRE_CONFORMANCE=1`).

use ferry::passes::PassManager;
use ferry::verify::{self, HostTensor, Subject, Verdict};
use prost::Message;
use std::collections::BTreeMap;
use std::path::Path;

/// The recorded inputs of one data set, in order, or why they cannot be fed (a sequence or
/// optional input is not a plain tensor).
fn read_inputs(set: &Path) -> Result<Vec<HostTensor>, String> {
    let mut out = Vec::new();
    loop {
        let p = set.join(format!("input_{}.pb", out.len()));
        let Ok(bytes) = std::fs::read(&p) else { return Ok(out) };
        let proto = ferry_onnx::proto::TensorProto::decode(bytes.as_slice())
            .map_err(|e| format!("{}: {e}", p.display()))?;
        let t = ferry_onnx::import_tensor(proto).map_err(|e| format!("{}: {e}", p.display()))?;
        out.push(HostTensor::from_ir(&t).map_err(|e| format!("recorded input: {e}"))?);
    }
}

/// The verdict for one case over all its data sets: the first failure, else the first set's.
fn check_case(case: &Path) -> Result<Verdict, String> {
    let original = ferry::onnx::load(case.join("model.onnx")).map_err(|e| e.to_string())?;
    let mut result = original.clone();
    PassManager::default().run(&mut result).map_err(|e| format!("optimize: {e}"))?;
    let mut sets: Vec<_> = std::fs::read_dir(case)
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    sets.sort();
    let opts = verify::Options::default();
    let dir = Some(case);
    let mut first = None;
    for set in sets {
        let inputs = match read_inputs(&set) {
            Ok(i) => i,
            Err(reason) => return Ok(first.unwrap_or(Verdict::NotChecked { reason })),
        };
        let report = verify::check_with_inputs(
            Subject { model: &original, dir },
            Subject { model: &result, dir },
            &[inputs],
            &opts,
        )
        .map_err(|e| e.to_string())?;
        if report.verdict.is_failure() {
            return Ok(report.verdict);
        }
        first.get_or_insert(report.verdict);
    }
    Ok(first.unwrap_or(Verdict::NotChecked { reason: "no recorded data sets".into() }))
}

#[test]
fn optimized_backend_test_models_agree_on_their_recorded_inputs() {
    let Some(root) = ferry_testkit::conformance_dir() else {
        eprintln!("skipped: no ONNX backend test suite");
        return;
    };
    let mut cases = Vec::new();
    for folder in ["simple", "pytorch-converted"] {
        let mut found: Vec<_> = std::fs::read_dir(root.join(folder))
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        found.sort();
        cases.extend(found);
    }
    assert!(cases.len() > 80, "only {} cases under {}", cases.len(), root.display());
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap_or_default().to_string_lossy().into_owned();
        match check_case(case) {
            Ok(Verdict::Agree { reference, .. }) => *kinds.entry(reference).or_default() += 1,
            Ok(Verdict::NotChecked { reason }) => {
                *kinds.entry("not checked".into()).or_default() += 1;
                println!("{name}: not checked: {reason}");
            }
            Ok(v) => failures.push(format!("{name}: {v}")),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    println!("{} backend test models: {kinds:?}, {} failed", cases.len(), failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
