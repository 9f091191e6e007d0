//! Every operator the schema registry knows (every domain ONNX defines) has an inference rule.

#[test]
fn every_registered_operator_has_an_inference_rule() {
    let mut missing: Vec<String> = ferry_ops::SCHEMAS
        .iter()
        .filter(|s| ferry_infer::ops::lookup(s.domain, s.name).is_none())
        .map(|s| format!("{}:{}", if s.domain.is_empty() { "ai.onnx" } else { s.domain }, s.name))
        .collect();
    missing.dedup();
    let total = {
        let mut all: Vec<_> = ferry_ops::SCHEMAS.iter().map(|s| (s.domain, s.name)).collect();
        all.dedup();
        all.len()
    };
    println!("{} of {total} operators have an inference rule", total - missing.len());
    assert!(missing.is_empty(), "operators without an inference rule: {missing:?}");
}
