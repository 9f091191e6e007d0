//! `FoldConstants::with_input_defaults` (the CLI's `--fold-input-initializers`): an initializer
//! that is also a graph input is folded only when asked, and the input itself stays.

use ferry_passes::{FoldConstants, PassManager};

const MODEL: &str = r#"
<ir_version: 3, opset_import: ["" : 9]>
g (float[2,3] X, float[2,3] W) => (float[2,2] Y)
<float[2,3] W = {1.0, 2.0, 3.0, 4.0, 5.0, 6.0}>
{
   t = Transpose (W)
   Y = MatMul (X, t)
}
"#;

fn ops_after(fold: FoldConstants) -> (Vec<String>, Vec<String>, Option<i64>) {
    let mut model = ferry_text::parse_model(MODEL).expect("parse");
    PassManager::new(vec![Box::new(fold)]).verify_each(true).run(&mut model).expect("run");
    let g = model.graph.as_ref().expect("graph");
    let ops = g.nodes().map(|(_, n)| n.op_type.clone()).collect();
    let inputs = g.inputs().iter().map(|&v| g.value(v).name.clone()).collect();
    (ops, inputs, model.ir_version)
}

#[test]
fn input_defaults_fold_only_when_asked() {
    let (ops, inputs, ir) = ops_after(FoldConstants::default());
    assert_eq!(ops, ["Transpose", "MatMul"]);
    assert_eq!(inputs, ["X", "W"]);
    assert_eq!(ir, Some(3));

    let (ops, inputs, ir) = ops_after(FoldConstants::default().with_input_defaults());
    assert_eq!(ops, ["MatMul"]);
    assert_eq!(inputs, ["X", "W"], "the input stays; only its default was folded");
    assert_eq!(ir, Some(4), "the folded tensor is an initializer that is not an input");
}
