//! Structural tests on hand-built graphs: what the lowering produces for the smallest v1 loop
//! and cond, and that every malformed or unsupported form is refused with an error naming it.
//! The numeric proof (lowered graphs computing what TensorFlow computes) is in
//! `tests/v1_control_flow.rs` on models TensorFlow made.

use super::graph::{i32_tensor, make_node, shape_proto, type_attr};
use super::*;
use crate::proto::{AttrValue, FunctionDef, NodeDef, attr_value};

fn s_attr(s: &str) -> AttrValue {
    AttrValue { value: Some(attr_value::Value::S(s.as_bytes().to_vec().into())) }
}

fn b_attr(b: bool) -> AttrValue {
    AttrValue { value: Some(attr_value::Value::B(b)) }
}

fn node(name: &str, op: &str, inputs: &[&str], t: i32) -> NodeDef {
    make_node(name, op, inputs.iter().map(|s| s.to_string()).collect(), vec![("T", type_attr(t))])
}

fn enter(name: &str, input: &str, frame: &str, constant: bool, t: i32) -> NodeDef {
    let mut n = node(name, "Enter", &[input], t);
    n.attr.insert("frame_name".into(), s_attr(frame));
    n.attr.insert("is_constant".into(), b_attr(constant));
    n
}

fn constant(name: &str, value: i32, inputs: &[&str]) -> NodeDef {
    let mut n = super::graph::const_node(name, i32_tensor(&[], &[value]));
    n.input = inputs.iter().map(|s| s.to_string()).collect();
    n
}

fn placeholder(name: &str, t: i32) -> NodeDef {
    make_node(
        name,
        "Placeholder",
        vec![],
        vec![
            ("dtype", type_attr(t)),
            ("shape", AttrValue { value: Some(attr_value::Value::Shape(shape_proto(&[2]))) }),
        ],
    )
}

/// `i = 0; while i < 3: i, x = i + 1, x * w` with `w` loop-invariant.
fn counted_loop() -> GraphDef {
    let nodes = vec![
        placeholder("x", 1),
        constant("c0", 0, &[]),
        placeholder("w", 1),
        enter("L/enter_i", "c0", "L", false, 3),
        enter("L/enter_x", "x", "L", false, 1),
        enter("L/enter_w", "w", "L", true, 1),
        node("L/merge_i", "Merge", &["L/enter_i", "L/next_i"], 3),
        node("L/merge_x", "Merge", &["L/enter_x", "L/next_x"], 1),
        constant("L/limit", 3, &["^L/merge_i"]),
        node("L/less", "Less", &["L/merge_i", "L/limit"], 3),
        make_node("L/cond", "LoopCond", vec!["L/less".into()], vec![]),
        node("L/switch_i", "Switch", &["L/merge_i", "L/cond"], 3),
        node("L/switch_x", "Switch", &["L/merge_x", "L/cond"], 1),
        node("L/id_i", "Identity", &["L/switch_i:1"], 3),
        node("L/id_x", "Identity", &["L/switch_x:1"], 1),
        constant("L/one", 1, &["^L/id_i"]),
        node("L/add", "AddV2", &["L/id_i", "L/one"], 3),
        node("L/mul", "Mul", &["L/id_x", "L/enter_w"], 1),
        node("L/next_i", "NextIteration", &["L/add"], 3),
        node("L/next_x", "NextIteration", &["L/mul"], 1),
        node("L/exit_i", "Exit", &["L/switch_i"], 3),
        node("L/exit_x", "Exit", &["L/switch_x"], 1),
        node("out", "Identity", &["L/exit_x"], 1),
        node("count", "Identity", &["^L/exit_i", "L/exit_i:0"], 3),
    ];
    GraphDef { node: nodes, ..Default::default() }
}

fn function<'a>(g: &'a GraphDef, name: &str) -> &'a FunctionDef {
    let lib = g.library.as_ref().expect("a library");
    lib.function
        .iter()
        .find(|f| f.signature.as_ref().is_some_and(|s| s.name == name))
        .expect("the function")
}

fn find<'a>(g: &'a GraphDef, name: &str) -> &'a NodeDef {
    g.node.iter().find(|n| n.name == name).unwrap_or_else(|| panic!("no node {name}"))
}

const V1_OPS: [&str; 6] = ["Enter", "Exit", "Switch", "Merge", "NextIteration", "LoopCond"];

#[test]
fn counted_loop_becomes_one_while() {
    let mut g = counted_loop();
    let report = lower_v1_control_flow(&mut g).expect("lowers");
    assert_eq!(report.loops.len(), 1);
    let l = &report.loops[0];
    assert_eq!((l.frame.as_str(), l.node.as_str(), l.loop_vars, l.invariants), ("L", "L", 2, 1));
    assert!(g.node.iter().all(|n| !V1_OPS.contains(&n.op.as_str())), "v1 ops left: {:?}", g.node);

    let w = find(&g, "L");
    assert_eq!(w.op, "While");
    // Loop variables in Enter order, then the invariant.
    assert_eq!(w.input, vec!["c0", "x", "w"]);
    match w.attr.get("T").and_then(|a| a.value.as_ref()) {
        Some(attr_value::Value::List(l)) => assert_eq!(l.r#type, vec![3, 1, 1]),
        other => panic!("T is {other:?}"),
    }
    // Exits keep their names, as Identities of the While outputs.
    assert_eq!(find(&g, "out").input, vec!["L/exit_x"]);
    let exit_x = find(&g, "L/exit_x");
    assert_eq!((exit_x.op.as_str(), &exit_x.input[..]), ("Identity", &["L:1".to_string()][..]));
    assert_eq!(find(&g, "L/exit_i").input, vec!["L"]);
    assert_eq!(find(&g, "count").input, vec!["^L/exit_i", "L/exit_i:0"]);

    let cond = function(&g, &l.cond);
    assert_eq!(cond.ret.get("cond").map(String::as_str), Some("L/less:z:0"));
    let less = cond.node_def.iter().find(|n| n.name == "L/less").expect("Less in cond");
    assert_eq!(less.input, vec!["arg0", "L/limit:output:0"]);
    // The constant's control edge came from the Merge (loop structure) and is gone.
    let limit = cond.node_def.iter().find(|n| n.name == "L/limit").expect("limit in cond");
    assert!(limit.input.is_empty());

    let body = function(&g, &l.body);
    assert_eq!(body.ret.get("out0").map(String::as_str), Some("L/add:z:0"));
    assert_eq!(body.ret.get("out1").map(String::as_str), Some("L/mul:z:0"));
    assert_eq!(
        body.ret.get("out2").map(String::as_str),
        Some("arg2"),
        "the invariant passes through"
    );
    let mul = body.node_def.iter().find(|n| n.name == "L/mul").expect("Mul in body");
    assert_eq!(mul.input, vec!["L/id_x:output:0", "arg2"]);
    let one = body.node_def.iter().find(|n| n.name == "L/one").expect("one in body");
    assert_eq!(one.input, vec!["^L/id_i"], "control edges inside the body stay");
}

#[test]
fn root_constant_read_in_a_loop_moves_into_the_body() {
    // Frozen graphs read root constants inside loops without an Enter; TensorFlow's executor
    // accepts a constant there. It is copied into the body and leaves the graph.
    let mut g = counted_loop();
    g.node.push(constant("k", 1, &[]));
    for n in g.node.iter_mut() {
        if n.name == "L/add" {
            n.input[1] = "k".into();
        }
    }
    let report = lower_v1_control_flow(&mut g).expect("lowers");
    assert!(g.node.iter().all(|n| n.name != "k"), "k is only read by the loop");
    let body = function(&g, &report.loops[0].body);
    let add = body.node_def.iter().find(|n| n.name == "L/add").expect("add in body");
    assert_eq!(add.input, vec!["L/id_i:output:0", "k:output:0"]);
    assert!(body.node_def.iter().any(|n| n.name == "k" && n.op == "Const"));
}

#[test]
fn graph_without_control_flow_is_unchanged() {
    let mut g = GraphDef {
        node: vec![
            placeholder("x", 1),
            node("y", "Relu", &["x"], 1),
            placeholder("unused_control_flow_input_3", 21),
        ],
        ..Default::default()
    };
    let before = g.clone();
    let report = lower_v1_control_flow(&mut g).expect("lowers");
    assert_eq!(report.removed_placeholders, vec!["unused_control_flow_input_3".to_string()]);
    assert_eq!(g.node.len(), 2);
    assert_eq!(g.node[..], before.node[..2]);
    let report = lower_v1_control_flow(&mut g).expect("lowers again");
    assert!(report.is_empty());
}

#[test]
fn consumed_placeholder_named_like_leftovers_stays() {
    let mut g = GraphDef {
        node: vec![
            placeholder("unused_control_flow_input", 1),
            node("y", "Relu", &["unused_control_flow_input"], 1),
        ],
        ..Default::default()
    };
    let report = lower_v1_control_flow(&mut g).expect("lowers");
    assert!(report.removed_placeholders.is_empty());
    assert_eq!(g.node.len(), 2);
}

#[test]
fn two_loop_conds_in_one_frame_are_refused() {
    let mut g = counted_loop();
    g.node.push(make_node("L/cond2", "LoopCond", vec!["L/less".into()], vec![]));
    let err = lower_v1_control_flow(&mut g).expect_err("refused");
    assert!(matches!(&err, V1ControlFlowError::Frame { frame, .. } if frame == "L"), "{err}");
    assert!(err.to_string().contains("2 LoopCond"), "{err}");
}

#[test]
fn enter_not_feeding_a_merge_is_refused() {
    let mut g = counted_loop();
    for n in g.node.iter_mut() {
        if n.name == "L/merge_x" {
            n.input[0] = "L/next_x".into();
            n.input[1] = "L/stray".into();
        }
    }
    g.node.push(node("L/stray", "Neg", &["L/enter_x"], 1));
    let err = lower_v1_control_flow(&mut g).expect_err("refused");
    let text = err.to_string();
    assert!(text.contains("`L`") && text.contains("L/enter_x"), "{text}");
}

#[test]
fn reading_the_exit_branch_inside_the_loop_is_refused() {
    let mut g = counted_loop();
    for n in g.node.iter_mut() {
        if n.name == "L/mul" {
            n.input[0] = "L/switch_x".into();
        }
    }
    let err = lower_v1_control_flow(&mut g).expect_err("refused");
    assert!(err.to_string().contains("L/switch_x"), "{err}");
}

#[test]
fn dangling_input_and_cycle_are_refused() {
    let mut g = GraphDef { node: vec![node("a", "Neg", &["nowhere"], 1)], ..Default::default() };
    g.node.push(enter("e", "a", "F", false, 1));
    let err = lower_v1_control_flow(&mut g).expect_err("dangling");
    assert!(matches!(&err, V1ControlFlowError::Node { node, .. } if node == "a"), "{err}");

    let mut g = GraphDef {
        node: vec![
            node("a", "Neg", &["b"], 1),
            node("b", "Neg", &["a"], 1),
            enter("e", "a", "F", false, 1),
        ],
        ..Default::default()
    };
    let err = lower_v1_control_flow(&mut g).expect_err("cycle");
    assert!(matches!(&err, V1ControlFlowError::Graph(msg) if msg.contains("cycle")), "{err}");
}

#[test]
fn unsupported_list_ops_are_listed_together() {
    // A TensorArray without element shape that nothing gathers, a list op without a dense
    // form, and a reader of that array: two reasons, and no third one for the reader.
    let ta = make_node("ta", "TensorArrayV3", vec!["n".into()], vec![("dtype", type_attr(1))]);
    let mut g = GraphDef {
        node: vec![
            constant("n", 4, &[]),
            ta,
            make_node(
                "read",
                "TensorArrayReadV3",
                vec!["ta".into(), "n".into(), "ta:1".into()],
                vec![],
            ),
            make_node("empty", "EmptyTensorList", vec![], vec![]),
            make_node("push", "TensorListPushBack", vec!["empty".into(), "n".into()], vec![]),
        ],
        ..Default::default()
    };
    let err = lower_v1_control_flow(&mut g).expect_err("refused");
    let V1ControlFlowError::Unsupported(items) = &err else { panic!("{err}") };
    let text = items.join("\n");
    for name in ["`ta`", "`empty`", "`push`"] {
        assert!(text.contains(name), "{name} missing from {text}");
    }
    assert!(!text.contains("`read`"), "a reader of a refused array is not listed again: {text}");
}

#[test]
fn growing_tensor_array_is_extended_before_writing() {
    let mut ta = make_node(
        "ta",
        "TensorArrayV3",
        vec!["n".into()],
        vec![("dtype", type_attr(1)), ("dynamic_size", b_attr(true))],
    );
    ta.attr.insert(
        "element_shape".into(),
        AttrValue { value: Some(attr_value::Value::Shape(shape_proto(&[2]))) },
    );
    let mut g = GraphDef {
        node: vec![
            constant("n", 0, &[]),
            constant("i", 3, &[]),
            placeholder("x", 1),
            ta,
            make_node(
                "write",
                "TensorArrayWriteV3",
                vec!["ta".into(), "i".into(), "x".into(), "ta:1".into()],
                vec![],
            ),
        ],
        ..Default::default()
    };
    let report = lower_v1_control_flow(&mut g).expect("lowers");
    assert_eq!(report.list_ops, 2);
    let write = find(&g, "write");
    assert_eq!(write.op, "TensorScatterUpdate");
    let base = find(&g, &write.input[0]);
    assert_eq!(base.op, "ConcatV2", "the array grows to index + 1 before the write");
    assert_eq!(find(&g, "ta").op, "Fill");
}

#[test]
fn tensor_list_loop_value_becomes_a_dense_tensor() {
    // reserve(2 x [3]) -> Enter -> Merge -> Switch -> SetItem(i) -> NextIteration; Exit -> Stack.
    let mut g = counted_loop();
    let mut extra = vec![
        super::graph::const_node("shape", i32_tensor(&[1], &[3])),
        constant("len", 3, &[]),
        make_node(
            "reserve",
            "TensorListReserve",
            vec!["shape".into(), "len".into()],
            vec![("element_dtype", type_attr(1)), ("shape_type", type_attr(3))],
        ),
        enter("L/enter_l", "reserve", "L", false, 21),
        node("L/merge_l", "Merge", &["L/enter_l", "L/next_l"], 21),
        node("L/switch_l", "Switch", &["L/merge_l", "L/cond"], 21),
        make_node(
            "L/set",
            "TensorListSetItem",
            vec!["L/switch_l:1".into(), "L/id_i".into(), "L/id_x".into()],
            vec![("element_dtype", type_attr(1))],
        ),
        node("L/next_l", "NextIteration", &["L/set"], 21),
        node("L/exit_l", "Exit", &["L/switch_l"], 21),
        make_node(
            "stack",
            "TensorListStack",
            vec!["L/exit_l".into(), "shape".into()],
            vec![("element_dtype", type_attr(1))],
        ),
    ];
    g.node.append(&mut extra);
    let report = lower_v1_control_flow(&mut g).expect("lowers");
    assert_eq!(report.list_ops, 3, "reserve, set, stack");
    assert_eq!(find(&g, "reserve").op, "Fill");
    assert_eq!(find(&g, "stack").op, "Identity");
    assert_eq!(find(&g, "stack").input, vec!["L/exit_l"]);
    assert_eq!(find(&g, "L/exit_l").input, vec!["L:2"], "loop variables first, then invariants");
    match find(&g, "L").attr.get("T").and_then(|a| a.value.as_ref()) {
        Some(attr_value::Value::List(l)) => {
            assert_eq!(l.r#type, vec![3, 1, 1, 1], "the list is float now")
        }
        other => panic!("T is {other:?}"),
    }
    let body = function(&g, &report.loops[0].body);
    let set = body.node_def.iter().find(|n| n.name == "L/set").expect("the write");
    assert_eq!(set.op, "TensorScatterUpdate");
    assert_eq!(set.input[0], "arg2");
}

/// `y = cond(p, x + 1, x * 2)` as `tf.compat.v1.cond` builds it.
fn small_cond() -> GraphDef {
    let nodes = vec![
        placeholder("x", 1),
        placeholder("p", 10),
        node("c/pred_id", "Identity", &["p"], 10),
        node("c/switch_p", "Switch", &["p", "p"], 10),
        node("c/switch_t", "Identity", &["c/switch_p:1"], 10),
        node("c/switch_f", "Identity", &["c/switch_p"], 10),
        node("c/sx", "Switch", &["x", "c/pred_id"], 1),
        constant("c/one", 1, &["^c/switch_t"]),
        node("c/one_f", "Cast", &["c/one"], 3),
        node("c/add", "AddV2", &["c/sx:1", "c/one_f"], 1),
        node("c/mul", "Mul", &["c/sx", "c/sx"], 1),
        node("c/merge", "Merge", &["c/mul", "c/add"], 1),
        node("y", "Identity", &["c/merge"], 1),
    ];
    GraphDef { node: nodes, ..Default::default() }
}

#[test]
fn v1_cond_becomes_if() {
    let mut g = small_cond();
    let report = lower_v1_control_flow(&mut g).expect("lowers");
    assert_eq!(report.conds.len(), 1);
    let c = &report.conds[0];
    assert_eq!((c.node.as_str(), c.outputs), ("c", 1));
    let iff = find(&g, "c");
    assert_eq!(iff.op, "If");
    assert_eq!(iff.input[0], "p", "the predicate, past Identity(pred)");
    assert_eq!(find(&g, "y").input, vec!["c/merge"]);
    assert_eq!(find(&g, "c/merge").input, vec!["c"], "the Merge's name lives on as an Identity");
    assert!(g.node.iter().all(|n| !V1_OPS.contains(&n.op.as_str())), "v1 ops left");
    let then = function(&g, &c.then_branch);
    let els = function(&g, &c.else_branch);
    assert_eq!(then.ret.get("out0").map(String::as_str), Some("c/add:z:0"));
    assert_eq!(els.ret.get("out0").map(String::as_str), Some("c/mul:z:0"));
    assert!(els.node_def.iter().all(|n| n.name != "c/add"), "branches hold only their own nodes");
}

#[test]
fn cond_merge_value_index_use_is_refused() {
    let mut g = small_cond();
    g.node.push(node("which", "Identity", &["c/merge:1"], 3));
    let err = lower_v1_control_flow(&mut g).expect_err("refused");
    assert!(matches!(&err, V1ControlFlowError::Node { node, .. } if node == "c/merge"), "{err}");
}

#[test]
fn merge_of_unrelated_values_is_refused() {
    let mut g = GraphDef {
        node: vec![
            placeholder("a", 1),
            placeholder("b", 1),
            node("m", "Merge", &["a", "b"], 1),
            node("s", "Switch", &["a", "a"], 1),
        ],
        ..Default::default()
    };
    let err = lower_v1_control_flow(&mut g).expect_err("refused");
    assert!(matches!(&err, V1ControlFlowError::Node { node, .. } if node == "m"), "{err}");
}

#[test]
fn inputs_parse_like_tensorflow() {
    use super::graph::Input;
    assert_eq!(Input::parse("a/b:2", "n").ok(), Some(Input::Data { node: "a/b".into(), index: 2 }));
    assert_eq!(Input::parse("a/b", "n").ok(), Some(Input::Data { node: "a/b".into(), index: 0 }));
    assert_eq!(Input::parse("^a", "n").ok(), Some(Input::Control { node: "a".into() }));
    assert!(Input::parse("^", "n").is_err());
    assert!(Input::parse(":3", "n").is_err());
    assert!(Input::parse("a:99999999999999999999999", "n").is_err());
}
