//! Each checker rule has a model that breaks it (`testdata/check/`, written by
//! `testdata/make_check_cases.py`) and must get its rule and message.

use ferry_check::Severity;
use ferry_ir::{DataType, DimValue, Graph, Model, Node, OpsetImport, Type, ValueInfo};
use std::path::Path;

#[test]
fn every_rule_case_reports_its_rule() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/check");
    let table = std::fs::read_to_string(dir.join("expected.tsv")).unwrap();
    let mut wrong = Vec::new();
    let mut rules = std::collections::BTreeSet::new();
    for line in table.lines().filter(|l| !l.starts_with('#')) {
        let mut cols = line.split('\t');
        let (file, rule, text) =
            (cols.next().unwrap(), cols.next().unwrap_or(""), cols.next().unwrap_or(""));
        let loaded =
            ferry_onnx::load_with(dir.join(file), &ferry_onnx::LoadOptions::default()).unwrap();
        let report = ferry_check::check_full(&loaded.model);
        if rule.is_empty() {
            if !report.diagnostics.is_empty() {
                wrong
                    .push(format!("{file}: expected no diagnostics, got {:?}", report.diagnostics));
            }
            continue;
        }
        rules.insert(rule.to_string());
        match report.diagnostics.iter().find(|d| d.rule == rule) {
            None => {
                wrong.push(format!("{file}: expected rule {rule}, got {:?}", report.diagnostics))
            }
            Some(d) if !d.message.contains(text) => {
                wrong.push(format!("{file}: message '{}' lacks '{text}'", d.message))
            }
            Some(d) => {
                let warning_only = rule == "unused-initializer";
                if warning_only != (d.severity == Severity::Warning) {
                    wrong.push(format!("{file}: wrong severity {:?}", d.severity));
                }
            }
        }
    }
    println!("{} rules covered by crafted models", rules.len());
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A subgraph reading a name no enclosing graph defines cannot come from a file (the importer
/// resolves names), so it is built here by hand.
#[test]
fn unresolved_outer_scope_read_is_reported() {
    let ty = || Some(Type::tensor(DataType::FLOAT, [DimValue::Known(2)]));
    let mut body = Graph::new();
    let ghost = body.add_capture("ghost");
    let (_, outs) = body.add_node(Node::new("Identity"), &[Some(ghost)], &[Some("b")]);
    body.add_output(outs[0].unwrap());

    let mut g = Graph::new();
    let c = g.add_input(
        "c",
        ValueInfo { ty: Some(Type::tensor(DataType::BOOL, [])), ..Default::default() },
    );
    let mut if_node = Node::new("If").with_name("branch");
    if_node.attributes.push(ferry_ir::Attribute::new(
        "then_branch",
        ferry_ir::AttrValue::Graph(Box::new(body.clone())),
    ));
    if_node
        .attributes
        .push(ferry_ir::Attribute::new("else_branch", ferry_ir::AttrValue::Graph(Box::new(body))));
    let (_, outs) = g.add_node(if_node, &[Some(c)], &[Some("y")]);
    let y = outs[0].unwrap();
    g.value_mut(y).info.ty = ty();
    g.add_output(y);
    let model = Model {
        ir_version: Some(10),
        opset_imports: vec![OpsetImport { domain: Some(String::new()), version: Some(21) }],
        graph: Some(g),
        ..Default::default()
    };
    let report = ferry_check::check(&model);
    let d =
        report.diagnostics.iter().find(|d| d.rule == "outer-scope").expect("outer-scope reported");
    assert!(
        d.message.contains("'ghost' is read from an enclosing graph that does not define it"),
        "{d}"
    );
}
