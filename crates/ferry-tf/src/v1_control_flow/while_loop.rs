//! One v1 while-loop frame to one functional `While` node.
//!
//! TensorFlow's `tf.while_loop` (and the lowering of a functional `While` that
//! `convert_variables_to_constants_v2` applies) builds, for every loop variable `v`:
//!
//! ```text
//!   Enter(v) ──► Merge ◄── NextIteration ◄── (body result)
//!                  │
//!                  ├──► (cond) ──► LoopCond ──┐
//!                  ▼                          ▼
//!                Switch(Merge, LoopCond) ─:1─► (body)        :0─► Exit ──► (after the loop)
//! ```
//!
//! and, for a value the loop only reads, a single `Enter` with `is_constant = true`. The
//! functional form is `While(T, cond, body)`: `cond` maps all loop values to the predicate,
//! `body` maps them to their next values. Loop-invariant values become extra loop values the
//! body returns unchanged, which is what TensorFlow's own functionalization does.
//!
//! Inside the frame, the value of variable `i` in the current iteration is `Merge_i:0` (read by
//! the condition) and `Switch_i:1` (read by the body, which only runs when the condition held,
//! when both are the same tensor); both become argument `i` of the functions.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::proto::{GraphDef, NameAttrList, NodeDef, attr_value};

use super::frames::Frames;
use super::function::{FunctionSpec, Source, build_function};
use super::graph::{
    DT_BOOL, Index, Port, attr_bool, attr_int, attr_type, data_ref, int_attr, list_attr, make_node,
    type_attr, unknown_shape,
};
use super::names::Names;
use super::{LoweredLoop, V1ControlFlowError};

struct LoopVar {
    enter: usize,
    merge: usize,
    switch: usize,
    next: usize,
    exits: Vec<usize>,
    dtype: i32,
}

fn is_structural(op: &str) -> bool {
    matches!(
        op,
        "Enter"
            | "RefEnter"
            | "Exit"
            | "RefExit"
            | "Merge"
            | "RefMerge"
            | "Switch"
            | "RefSwitch"
            | "NextIteration"
            | "RefNextIteration"
            | "LoopCond"
    )
}

/// Replaces frame `f` (which must contain no other frame) by a `While` node and appends its
/// condition and body functions to the library.
pub(crate) fn lower_frame(
    graph: &mut GraphDef,
    index: &Index,
    frames: &Frames,
    f: usize,
    names: &mut Names,
) -> Result<LoweredLoop, V1ControlFlowError> {
    let nodes = &graph.node;
    let frame_name = frames.frames[f].name.clone();
    let err = |detail: String| V1ControlFlowError::frame(&frame_name, detail);
    let members: Vec<usize> = (0..nodes.len()).filter(|&n| frames.own[n] == Some(f)).collect();

    let conds: Vec<usize> =
        members.iter().copied().filter(|&n| nodes[n].op == "LoopCond").collect();
    let [loop_cond] = conds[..] else {
        return Err(err(format!(
            "has {} LoopCond nodes; a while loop has exactly one",
            conds.len()
        )));
    };
    let Some(&pred) = index.data_inputs[loop_cond].first() else {
        return Err(err(format!("LoopCond `{}` has no input", nodes[loop_cond].name)));
    };

    let mut vars: Vec<LoopVar> = Vec::new();
    let mut invariants: Vec<(usize, i32)> = Vec::new();
    let mut parallel_iterations: Option<i64> = None;
    for &e in members.iter().filter(|&&n| matches!(nodes[n].op.as_str(), "Enter" | "RefEnter")) {
        let enter = &nodes[e];
        let Some(dtype) = attr_type(enter, "T") else {
            return Err(V1ControlFlowError::node(
                &enter.name,
                &enter.op,
                "has no type attribute `T`",
            ));
        };
        if let Some(p) = attr_int(enter, "parallel_iterations") {
            parallel_iterations = Some(parallel_iterations.map_or(p, |q: i64| q.max(p)));
        }
        if attr_bool(enter, "is_constant") == Some(true) {
            invariants.push((e, dtype));
            continue;
        }
        vars.push(trace_var(nodes, index, e, loop_cond, dtype, &err)?);
    }
    if vars.is_empty() {
        return Err(err("has no loop variables (no Enter with is_constant = false)".into()));
    }

    // Argument numbering: loop variables first, then invariants, as the While inputs.
    let mut port_args: HashMap<Port, usize> = HashMap::new();
    for (i, v) in vars.iter().enumerate() {
        port_args.insert(Port { node: v.merge, index: 0 }, i);
        port_args.insert(Port { node: v.switch, index: 1 }, i);
    }
    for (j, &(e, _)) in invariants.iter().enumerate() {
        port_args.insert(Port { node: e, index: 0 }, vars.len() + j);
    }
    let dtypes: Vec<i32> =
        vars.iter().map(|v| v.dtype).chain(invariants.iter().map(|&(_, t)| t)).collect();
    let args: Vec<(String, i32)> =
        dtypes.iter().enumerate().map(|(i, &t)| (format!("arg{i}"), t)).collect();

    let cond_members = closure(nodes, index, frames, f, &[pred], &port_args, &frame_name)?;
    let body_roots: Vec<Port> = vars.iter().map(|v| index.data_inputs[v.next][0]).collect();
    let body_members = closure(nodes, index, frames, f, &body_roots, &port_args, &frame_name)?;

    let base = names.function_base(&frame_name);
    let cond_name = names.fresh_function(&format!("{base}_cond"));
    let body_name = names.fresh_function(&format!("{base}_body"));
    let cond_fn = build_function(
        nodes,
        index,
        &FunctionSpec {
            name: cond_name.clone(),
            args: args.clone(),
            rets: vec![("cond".into(), DT_BOOL, Source::Port(pred))],
            members: &cond_members,
            port_args: &port_args,
            what: &format!("condition of while loop `{frame_name}`"),
        },
    )?;
    let mut rets: Vec<(String, i32, Source)> = vars
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("out{i}"), v.dtype, Source::Port(body_roots[i])))
        .collect();
    for (j, &(_, t)) in invariants.iter().enumerate() {
        let a = vars.len() + j;
        rets.push((format!("out{a}"), t, Source::Arg(a)));
    }
    let body_fn = build_function(
        nodes,
        index,
        &FunctionSpec {
            name: body_name.clone(),
            args,
            rets,
            members: &body_members,
            port_args: &port_args,
            what: &format!("body of while loop `{frame_name}`"),
        },
    )?;

    // The While node: entered values as inputs, the Enters' control inputs (ordering in the
    // enclosing frame) on the node itself.
    let while_name = names.fresh_node(&frame_name, "ferry_while");
    let mut inputs: Vec<String> = Vec::new();
    let all_enters = vars.iter().map(|v| v.enter).chain(invariants.iter().map(|&(e, _)| e));
    for e in all_enters.clone() {
        let p = index.data_inputs[e][0];
        inputs.push(data_ref(&nodes[p.node].name, p.index));
    }
    let mut controls = BTreeSet::new();
    for e in all_enters {
        for &c in &index.control_inputs[e] {
            controls.insert(format!("^{}", nodes[c].name));
        }
    }
    inputs.extend(controls);
    let func = |name: &str| crate::proto::AttrValue {
        value: Some(attr_value::Value::Func(NameAttrList {
            name: name.to_string(),
            ..Default::default()
        })),
    };
    let shapes = dtypes.iter().map(|_| unknown_shape()).collect();
    let while_node = make_node(
        &while_name,
        "While",
        inputs,
        vec![
            (
                "T",
                list_attr(attr_value::ListValue { r#type: dtypes.clone(), ..Default::default() }),
            ),
            ("cond", func(&cond_name)),
            ("body", func(&body_name)),
            (
                "output_shapes",
                list_attr(attr_value::ListValue { shape: shapes, ..Default::default() }),
            ),
            ("parallel_iterations", int_attr(parallel_iterations.unwrap_or(10))),
        ],
    );

    // Each Exit becomes an Identity of its While output under the Exit's name, so that every
    // tensor name outside the loop (sinks, `--outputs` given in the original graph's names)
    // still exists; the frame's other nodes go, and so do root constants only the frame read
    // (they were copied into the functions).
    let mut exits: HashMap<usize, NodeDef> = HashMap::new();
    for (i, v) in vars.iter().enumerate() {
        for &x in &v.exits {
            let id = make_node(
                &nodes[x].name,
                "Identity",
                vec![data_ref(&while_name, i)],
                vec![("T", type_attr(v.dtype))],
            );
            exits.insert(x, id);
        }
    }
    let mut removed: HashSet<usize> = members.iter().copied().collect();
    for &c in cond_members.iter().chain(&body_members) {
        let only_frame_reads = index.data_consumers[c]
            .iter()
            .map(|u| u.0)
            .chain(index.control_consumers[c].iter().copied())
            .all(|u| removed.contains(&u));
        if frames.own[c].is_none() && only_frame_reads {
            removed.insert(c);
        }
    }
    let used: HashSet<usize> = cond_members.iter().chain(&body_members).copied().collect();
    let dropped =
        members.iter().filter(|&&n| !used.contains(&n) && !is_structural(&nodes[n].op)).count();
    let first = members.iter().copied().min().unwrap_or(nodes.len());
    let old = std::mem::take(&mut graph.node);
    let mut kept: Vec<NodeDef> = Vec::with_capacity(old.len() + 1);
    for (i, n) in old.into_iter().enumerate() {
        if i == first {
            kept.push(while_node.clone());
        }
        if let Some(id) = exits.remove(&i) {
            kept.push(id);
        } else if !removed.contains(&i) {
            kept.push(n);
        }
    }
    graph.node = kept;
    let library = graph.library.get_or_insert_with(Default::default);
    library.function.push(cond_fn);
    library.function.push(body_fn);
    Ok(LoweredLoop {
        frame: frame_name,
        node: while_name,
        cond: cond_name,
        body: body_name,
        loop_vars: vars.len(),
        invariants: invariants.len(),
        dropped_nodes: dropped,
    })
}

/// Follows one loop variable from its `Enter` to its Merge, Switch, NextIteration and Exits.
fn trace_var(
    nodes: &[NodeDef],
    index: &Index,
    e: usize,
    loop_cond: usize,
    dtype: i32,
    err: &dyn Fn(String) -> V1ControlFlowError,
) -> Result<LoopVar, V1ControlFlowError> {
    let name = &nodes[e].name;
    let consumers: Vec<(usize, usize)> = index.consumers_of(Port { node: e, index: 0 }).collect();
    let [(merge, _)] = consumers[..] else {
        return Err(err(format!(
            "Enter `{name}` feeds {} nodes; a loop variable's Enter feeds one Merge",
            consumers.len()
        )));
    };
    if !matches!(nodes[merge].op.as_str(), "Merge" | "RefMerge") {
        return Err(err(format!(
            "Enter `{name}` feeds `{}` ({}), not a Merge",
            nodes[merge].name, nodes[merge].op
        )));
    }
    let merge_inputs = &index.data_inputs[merge];
    let next = match merge_inputs.iter().map(|p| p.node).collect::<Vec<_>>()[..] {
        [a, b]
            if a == e && matches!(nodes[b].op.as_str(), "NextIteration" | "RefNextIteration") =>
        {
            b
        }
        [a, b]
            if b == e && matches!(nodes[a].op.as_str(), "NextIteration" | "RefNextIteration") =>
        {
            a
        }
        _ => {
            return Err(err(format!(
                "Merge `{}` of Enter `{name}` does not join the Enter with one NextIteration",
                nodes[merge].name
            )));
        }
    };
    if index.consumers_of(Port { node: merge, index: 1 }).next().is_some() {
        return Err(err(format!(
            "the value_index output of Merge `{}` is used",
            nodes[merge].name
        )));
    }
    let switches: Vec<usize> = index
        .consumers_of(Port { node: merge, index: 0 })
        .filter(|&(c, slot)| {
            slot == 0
                && matches!(nodes[c].op.as_str(), "Switch" | "RefSwitch")
                && index.data_inputs[c].get(1).map(|p| p.node) == Some(loop_cond)
        })
        .map(|(c, _)| c)
        .collect();
    let [switch] = switches[..] else {
        return Err(err(format!(
            "Merge `{}` feeds {} Switches on the loop condition; a loop variable has one",
            nodes[merge].name,
            switches.len()
        )));
    };
    let mut exits = Vec::new();
    for (c, _) in index.consumers_of(Port { node: switch, index: 0 }) {
        if !matches!(nodes[c].op.as_str(), "Exit" | "RefExit") {
            return Err(err(format!(
                "the exit branch of Switch `{}` feeds `{}` ({}), not an Exit",
                nodes[switch].name, nodes[c].name, nodes[c].op
            )));
        }
        exits.push(c);
    }
    if index.data_inputs[next].is_empty() {
        return Err(err(format!("NextIteration `{}` has no input", nodes[next].name)));
    }
    Ok(LoopVar { enter: e, merge, switch, next, exits, dtype })
}

/// The frame nodes a set of results depends on (through data and control edges), stopping at
/// the ports that are function arguments. Root-frame constants without inputs are included:
/// they are copied into the function.
fn closure(
    nodes: &[NodeDef],
    index: &Index,
    frames: &Frames,
    f: usize,
    roots: &[Port],
    port_args: &HashMap<Port, usize>,
    frame_name: &str,
) -> Result<Vec<usize>, V1ControlFlowError> {
    let mut seen: HashSet<usize> = HashSet::new();
    let mut stack: Vec<usize> = Vec::new();
    let admit = |n: usize, user: &str, stack: &mut Vec<usize>, seen: &mut HashSet<usize>| {
        let node = &nodes[n];
        let hoistable = frames.own[n].is_none()
            && node.op == "Const"
            && index.data_inputs[n].is_empty()
            && index.control_inputs[n].is_empty();
        if frames.own[n] != Some(f) && !hoistable {
            return Err(V1ControlFlowError::frame(
                frame_name,
                format!("`{user}` reads `{}` from outside the loop without an Enter", node.name),
            ));
        }
        if is_structural(&node.op) {
            let why = match node.op.as_str() {
                "Switch" | "RefSwitch" => {
                    "a Switch that is not a loop variable's (a v1 cond that was not converted?)"
                }
                "Merge" | "RefMerge" => {
                    "a Merge that is not a loop variable's (a v1 cond that was not converted?)"
                }
                "Enter" | "RefEnter" => "the initial value of a loop variable (its Enter)",
                _ => "loop structure",
            };
            return Err(V1ControlFlowError::frame(
                frame_name,
                format!("`{user}` reads `{}` ({}), {why}", node.name, node.op),
            ));
        }
        if seen.insert(n) {
            stack.push(n);
        }
        Ok(())
    };
    for &r in roots {
        if !port_args.contains_key(&r) {
            admit(r.node, "the loop", &mut stack, &mut seen)?;
        }
    }
    while let Some(n) = stack.pop() {
        for &p in &index.data_inputs[n] {
            if !port_args.contains_key(&p) {
                admit(p.node, &nodes[n].name, &mut stack, &mut seen)?;
            }
        }
        for &c in &index.control_inputs[n] {
            // Control edges from the loop structure only gate execution; other control
            // predecessors in the frame come along to keep their order.
            if frames.own[c] == Some(f) && !is_structural(&nodes[c].op) && seen.insert(c) {
                stack.push(c);
            }
        }
    }
    let mut out: Vec<usize> = seen.into_iter().collect();
    out.sort_unstable();
    Ok(out)
}
