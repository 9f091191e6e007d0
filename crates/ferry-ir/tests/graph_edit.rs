//! Editing a graph through its API keeps use lists, producers and the node list consistent.

use ferry_ir::topo;
use ferry_ir::{DataType, DimValue, Graph, Node, Type, UseSlot, ValueDef, ValueInfo};

fn input(g: &mut Graph, name: &str) -> ferry_ir::ValueId {
    let ty = Type::tensor(DataType::FLOAT, [DimValue::Symbol("N".into())]);
    g.add_input(name, ValueInfo { ty: Some(ty), ..Default::default() })
}

/// x -> Relu -> a -> Neg -> b -> (output)
fn chain() -> (Graph, [ferry_ir::NodeId; 2], [ferry_ir::ValueId; 3]) {
    let mut g = Graph::new();
    let x = input(&mut g, "x");
    let (relu, outs) = g.add_node(Node::new("Relu").with_name("relu"), &[Some(x)], &[Some("a")]);
    let a = outs[0].unwrap();
    let (neg, outs) = g.add_node(Node::new("Neg").with_name("neg"), &[Some(a)], &[Some("b")]);
    let b = outs[0].unwrap();
    g.add_output(b);
    (g, [relu, neg], [x, a, b])
}

#[test]
fn building_records_producers_and_uses() {
    let (g, [relu, neg], [x, a, b]) = chain();
    g.verify_links().unwrap();
    assert_eq!(g.value(a).def(), ValueDef::Node { node: relu, output: 0 });
    assert_eq!(g.value(x).uses().len(), 1);
    assert_eq!(g.value(a).uses()[0].node, neg);
    assert_eq!(g.value(b).uses().len(), 0);
    assert!(g.is_graph_output(b));
    let order: Vec<_> = g.node_ids().collect();
    assert_eq!(order, [relu, neg]);
}

#[test]
fn replace_all_uses_moves_readers_and_outputs() {
    let (mut g, [_, neg], [x, a, b]) = chain();
    g.replace_all_uses(a, x);
    g.verify_links().unwrap();
    assert!(g.value(a).uses().is_empty());
    assert_eq!(g.value(x).uses().len(), 2);
    assert_eq!(g.node(neg).inputs(), &[Some(x)]);
    g.replace_all_uses(b, x);
    assert_eq!(g.outputs(), &[x]);
}

#[test]
fn remove_node_drops_uses_and_dead_outputs() {
    let (mut g, [relu, neg], [x, a, _]) = chain();
    g.replace_all_uses(a, x);
    g.remove_node(relu);
    g.verify_links().unwrap();
    assert_eq!(g.value(x).uses().len(), 1);
    assert_eq!(g.node_count(), 1);
    assert_eq!(g.first_node(), Some(neg));
    assert!(g.find_value("a").is_none(), "an unused, unlisted output is removed with its node");
}

#[test]
fn removing_a_node_whose_output_is_still_read_leaves_it_undefined() {
    let (mut g, [relu, _], [_, a, _]) = chain();
    g.remove_node(relu);
    g.verify_links().unwrap();
    assert_eq!(g.value(a).def(), ValueDef::Undefined);
}

#[test]
fn insert_while_walking() {
    let (mut g, [relu, neg], [_, a, _]) = chain();
    let mut cur = g.first_node();
    let mut seen = Vec::new();
    while let Some(id) = cur {
        cur = g.next_node(id);
        seen.push(g.node(id).op_type.clone());
        if id == neg {
            // Insert an Abs before Neg, reading Relu's output, and rewire Neg to read it.
            let (_, outs) = g.insert_node_before(neg, Node::new("Abs"), &[Some(a)], &[Some("abs")]);
            g.set_node_input(neg, 0, outs[0]);
        }
    }
    g.verify_links().unwrap();
    assert_eq!(seen, ["Relu", "Neg"]);
    let ops: Vec<_> = g.nodes().map(|(_, n)| n.op_type.as_str()).collect();
    assert_eq!(ops, ["Relu", "Abs", "Neg"]);
    assert!(topo::is_sorted(&g));
    assert_eq!(g.value(a).uses().len(), 1);
    let _ = relu;
}

#[test]
fn sort_fixes_order_and_keeps_sorted_graphs() {
    let (mut g, [relu, neg], _) = chain();
    assert!(!topo::sort(&mut g).unwrap(), "a sorted graph is left alone");
    g.move_node_before(neg, Some(relu));
    assert!(!topo::is_sorted(&g));
    assert!(topo::sort(&mut g).unwrap());
    assert_eq!(g.node_ids().collect::<Vec<_>>(), [relu, neg]);
    g.verify_links().unwrap();
}

#[test]
fn cycle_is_reported_with_names() {
    let (mut g, [relu, neg], [_, _, b]) = chain();
    g.set_node_input(relu, 0, Some(b));
    let err = topo::sorted_order(&g).unwrap_err();
    let _ = neg;
    assert_eq!(err.nodes.len(), 2);
    let text = err.to_string();
    assert!(text.contains("'relu'") && text.contains("'neg'"), "{text}");
}

#[test]
fn implicit_inputs_are_uses_and_order_edges() {
    let (mut g, [relu, neg], [_, a, _]) = chain();
    let (ifn, _) = g.add_node(Node::new("If"), &[], &[Some("y")]);
    g.add_implicit_input(ifn, a);
    g.add_implicit_input(ifn, a);
    g.verify_links().unwrap();
    let implicit: Vec<_> =
        g.value(a).uses().iter().filter(|u| u.slot == UseSlot::Implicit).collect();
    assert_eq!(implicit.len(), 1, "implicit inputs are recorded once");
    g.move_node_before(ifn, Some(relu));
    assert!(!topo::is_sorted(&g), "the If must come after the producer of what it captures");
    topo::sort(&mut g).unwrap();
    let order: Vec<_> = g.node_ids().collect();
    let pos = |id| order.iter().position(|&n| n == id);
    assert!(pos(ifn) > pos(relu), "{order:?}");
    let _ = neg;
}

#[test]
fn long_chains_do_not_overflow_the_stack() {
    let mut g = Graph::new();
    let mut v = input(&mut g, "x");
    let mut ids = Vec::new();
    for i in 0..200_000 {
        let name = format!("v{i}");
        let (id, outs) = g.add_node(Node::new("Neg"), &[Some(v)], &[Some(&name)]);
        v = outs[0].unwrap();
        ids.push(id);
    }
    ids.reverse();
    g.set_node_order(&ids);
    assert!(topo::sort(&mut g).unwrap());
    assert!(topo::is_sorted(&g));
}
