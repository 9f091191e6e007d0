//! v1 conds (`tf.compat.v1.cond`: `Switch`/`Merge` on one predicate) to functional `If`.
//!
//! `Switch(x, p)` forwards `x` to output 1 when `p` is true and to output 0 otherwise; the
//! other output is *dead*, and deadness spreads to everything computed from it. `Merge`
//! forwards whichever input is alive. A cond is therefore: Switches routing outside values
//! into two branches, the branch computations, and one Merge per result joining a value of the
//! true branch with one of the false branch.
//!
//! Which branch a value belongs to is its *branch state*: the predicates (with their values)
//! under which it is alive, the union of its inputs' states, extended at a Switch output and
//! reduced at a Merge by the one predicate its two inputs disagree on. (This is the analysis
//! TensorFlow's own functionalization does.) The Merges sharing a predicate and an outer state
//! form one `If`; the innermost conds go first, so each branch is plain dataflow when its
//! function is built. Predicates are compared after skipping `Identity` nodes, as `tf.cond`
//! routes every Switch through `Identity(pred)`.
//!
//! Switches on a `LoopCond` belong to while loops and are left to [`super::while_loop`].

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::proto::{GraphDef, NameAttrList, NodeDef, attr_value};

use super::frames::{is_back_edge, topo_order};
use super::function::{FunctionSpec, Source, build_function};
use super::graph::{
    DT_BOOL, Index, Port, attr_type, data_ref, list_attr, make_node, output_dtype, type_attr,
    unknown_shape,
};
use super::names::Names;
use super::{LoweredCond, V1ControlFlowError};

type State = BTreeMap<Port, bool>;

/// Cond Merges keyed by (outer state, predicate).
type Groups = BTreeMap<(Vec<(Port, bool)>, Port), Vec<usize>>;

/// One branch: its nodes, the ports that are If arguments inside it, and its results.
type Branch = (Vec<usize>, HashMap<Port, usize>, Vec<Port>);

/// Lowers every v1 cond of `graph`, innermost first.
pub(crate) fn lower_conds(graph: &mut GraphDef) -> Result<Vec<LoweredCond>, V1ControlFlowError> {
    let mut lowered = Vec::new();
    if !graph.node.iter().any(|n| matches!(n.op.as_str(), "Switch" | "RefSwitch")) {
        return Ok(lowered);
    }
    let mut names = Names::of(graph);
    loop {
        let index = Index::build(&graph.node)?;
        let analysis = Analysis::run(&graph.node, &index)?;
        // The deepest group: most predicates in its outer state.
        let Some((key, merges)) = analysis.groups.iter().max_by_key(|(k, _)| k.0.len()) else {
            break;
        };
        let merges = merges.clone();
        let key = key.clone();
        let cond = lower_group(graph, &index, &analysis, key.1, &merges, &mut names)?;
        lowered.push(cond);
    }
    Ok(lowered)
}

fn is_switch(op: &str) -> bool {
    matches!(op, "Switch" | "RefSwitch")
}

fn is_merge(op: &str) -> bool {
    matches!(op, "Merge" | "RefMerge")
}

struct Analysis {
    /// Branch state of every node's outputs (a cond Switch adds its predicate per output).
    state: Vec<State>,
    /// The canonical predicate of every cond Switch.
    switch_pred: HashMap<usize, Port>,
    /// Cond Merges grouped by (outer state, predicate).
    groups: Groups,
    /// The predicate each cond Merge resolves.
    merge_pred: HashMap<usize, Port>,
}

impl Analysis {
    fn run(nodes: &[NodeDef], index: &Index) -> Result<Analysis, V1ControlFlowError> {
        let order = topo_order(nodes, index)?;
        let mut state: Vec<State> = vec![State::new(); nodes.len()];
        let mut switch_pred = HashMap::new();
        let mut merge_pred = HashMap::new();
        let mut groups = Groups::new();
        for &n in &order {
            let node = &nodes[n];
            let is_loop_merge = is_merge(&node.op)
                && index.data_inputs[n]
                    .iter()
                    .any(|p| is_back_edge(nodes, p.node) || nodes[p.node].op.ends_with("Enter"));
            if is_merge(&node.op) && !is_loop_merge {
                let ins = &index.data_inputs[n];
                if ins.len() != 2 {
                    return Err(V1ControlFlowError::node(
                        &node.name,
                        &node.op,
                        format!("joins {} values; a v1 cond Merge joins two", ins.len()),
                    ));
                }
                let a = port_state(&state, &switch_pred, ins[0]);
                let b = port_state(&state, &switch_pred, ins[1]);
                let (outer, pred) = resolve_merge(&a, &b).ok_or_else(|| {
                    V1ControlFlowError::node(
                        &node.name,
                        &node.op,
                        "does not join the two branches of one cond (its inputs are not alive under opposite values of one predicate)",
                    )
                })?;
                if index.consumers_of(Port { node: n, index: 1 }).next().is_some() {
                    return Err(V1ControlFlowError::node(
                        &node.name,
                        &node.op,
                        "its value_index output is used",
                    ));
                }
                merge_pred.insert(n, pred);
                groups
                    .entry((outer.iter().map(|(k, v)| (*k, *v)).collect(), pred))
                    .or_default()
                    .push(n);
                state[n] = outer;
                continue;
            }
            let mut s = State::new();
            let sources = index.data_inputs[n].iter().copied().chain(
                index.control_inputs[n].iter().map(|&c| Port { node: c, index: usize::MAX }),
            );
            for p in sources {
                if is_back_edge(nodes, p.node) {
                    continue;
                }
                for (k, v) in port_state(&state, &switch_pred, p) {
                    if s.insert(k, v).is_some_and(|old| old != v) {
                        return Err(V1ControlFlowError::node(
                            &node.name,
                            &node.op,
                            format!(
                                "combines values from both branches of the cond on `{}` (it could never run)",
                                nodes[k.node].name
                            ),
                        ));
                    }
                }
            }
            state[n] = s;
            if is_switch(&node.op) {
                let Some(&pred) = index.data_inputs[n].get(1) else {
                    return Err(V1ControlFlowError::node(
                        &node.name,
                        &node.op,
                        "has no predicate input",
                    ));
                };
                if nodes[pred.node].op != "LoopCond" {
                    switch_pred.insert(n, canonical(nodes, index, pred));
                }
            }
        }
        Ok(Analysis { state, switch_pred, groups, merge_pred })
    }
}

/// The state of one output. `index == usize::MAX` stands for a control edge, which no Switch
/// output selects: TensorFlow's executor sends a Switch's control edges whenever the Switch
/// itself runs, so they carry the state of its inputs only.
fn port_state(state: &[State], switch_pred: &HashMap<usize, Port>, p: Port) -> State {
    let mut s = state[p.node].clone();
    if let Some(&pred) = switch_pred.get(&p.node)
        && p.index <= 1
    {
        s.insert(pred, p.index == 1);
    }
    s
}

/// The outer state and predicate of a Merge of two branches, if its inputs are such.
fn resolve_merge(a: &State, b: &State) -> Option<(State, Port)> {
    let differing: Vec<Port> =
        a.iter().filter(|(k, v)| b.get(k).is_some_and(|w| w != *v)).map(|(k, _)| *k).collect();
    let [pred] = differing[..] else { return None };
    let mut outer_a = a.clone();
    let mut outer_b = b.clone();
    outer_a.remove(&pred);
    outer_b.remove(&pred);
    (outer_a == outer_b).then_some((outer_a, pred))
}

/// Skips `Identity` nodes: `tf.cond` switches on `Identity(pred)`.
fn canonical(nodes: &[NodeDef], index: &Index, mut p: Port) -> Port {
    let mut steps = 0;
    while p.index == 0 && nodes[p.node].op == "Identity" && steps < nodes.len() {
        match index.data_inputs[p.node].first() {
            Some(&q) => p = q,
            None => break,
        }
        steps += 1;
    }
    p
}

#[allow(clippy::too_many_arguments)]
fn lower_group(
    graph: &mut GraphDef,
    index: &Index,
    analysis: &Analysis,
    pred: Port,
    merges: &[usize],
    names: &mut Names,
) -> Result<LoweredCond, V1ControlFlowError> {
    let nodes = &graph.node;
    let first = &nodes[merges[0]];
    // If the results of this group feed the inputs of the same group (two conds on one
    // predicate, one after the other), one `If` would feed itself: take one Merge at a time.
    let merges: Vec<usize> = if merges.len() > 1 && feeds_itself(index, analysis, pred, merges) {
        vec![merges[0]]
    } else {
        merges.to_vec()
    };

    let mut inputs: Vec<Port> = Vec::new();
    let mut input_pos: HashMap<Port, usize> = HashMap::new();
    let mut branches: Vec<Branch> = Vec::new();
    for branch in [true, false] {
        let mut roots = Vec::new();
        for &m in &merges {
            let ins = &index.data_inputs[m];
            let side = ins.iter().copied().find(|&p| {
                port_state(&analysis.state, &analysis.switch_pred, p).get(&pred) == Some(&branch)
            });
            let Some(side) = side else {
                return Err(V1ControlFlowError::node(
                    &nodes[m].name,
                    &nodes[m].op,
                    "has no input from one branch",
                ));
            };
            roots.push(side);
        }
        let (members, port_args) = branch_closure(
            nodes,
            index,
            analysis,
            pred,
            branch,
            &roots,
            &mut inputs,
            &mut input_pos,
        )?;
        branches.push((members, port_args, roots));
    }

    let mut arg_types = Vec::with_capacity(inputs.len());
    for &p in &inputs {
        let t = switch_or_output_dtype(nodes, analysis, p).ok_or_else(|| {
            V1ControlFlowError::node(
                &nodes[p.node].name,
                &nodes[p.node].op,
                format!("its dtype (output {}) is needed as an input of the cond at `{}` but cannot be told", p.index, first.name),
            )
        })?;
        arg_types.push(t);
    }
    let args: Vec<(String, i32)> =
        arg_types.iter().enumerate().map(|(i, &t)| (format!("arg{i}"), t)).collect();
    let mut out_types = Vec::new();
    for &m in &merges {
        let t = attr_type(&nodes[m], "T").ok_or_else(|| {
            V1ControlFlowError::node(&nodes[m].name, &nodes[m].op, "has no type attribute `T`")
        })?;
        out_types.push(t);
    }

    let scope = first.name.rsplit_once('/').map_or(first.name.as_str(), |(s, _)| s).to_string();
    let base = names.function_base(&scope);
    let then_name = names.fresh_function(&format!("{base}_then"));
    let else_name = names.fresh_function(&format!("{base}_else"));
    let mut fns = Vec::new();
    for ((members, port_args, roots), fname) in branches.iter().zip([&then_name, &else_name]) {
        // Inputs routed through a Switch appear inside the branch as that Switch's output.
        let rets = roots
            .iter()
            .zip(&out_types)
            .enumerate()
            .map(|(i, (&r, &t))| (format!("out{i}"), t, Source::Port(r)))
            .collect();
        fns.push(build_function(
            nodes,
            index,
            &FunctionSpec {
                name: fname.clone(),
                args: args.clone(),
                rets,
                members,
                port_args,
                what: &format!("branch of the cond at `{}`", first.name),
            },
        )?);
    }

    let if_name = names.fresh_node(&scope, "ferry_if");
    let mut if_inputs = vec![data_ref(&nodes[pred.node].name, pred.index)];
    if_inputs.extend(inputs.iter().map(|p| data_ref(&nodes[p.node].name, p.index)));
    let func = |name: &str| crate::proto::AttrValue {
        value: Some(attr_value::Value::Func(NameAttrList {
            name: name.to_string(),
            ..Default::default()
        })),
    };
    let pred_type = switch_or_output_dtype(nodes, analysis, pred).unwrap_or(DT_BOOL);
    let if_node = make_node(
        &if_name,
        "If",
        if_inputs,
        vec![
            ("Tcond", type_attr(pred_type)),
            ("Tin", list_attr(attr_value::ListValue { r#type: arg_types, ..Default::default() })),
            (
                "Tout",
                list_attr(attr_value::ListValue {
                    r#type: out_types.clone(),
                    ..Default::default()
                }),
            ),
            ("then_branch", func(&then_name)),
            ("else_branch", func(&else_name)),
            (
                "output_shapes",
                list_attr(attr_value::ListValue {
                    shape: out_types.iter().map(|_| unknown_shape()).collect(),
                    ..Default::default()
                }),
            ),
        ],
    );

    // Remove the Merges and the branch nodes, then whatever else only lived in the branches.
    let mut removed: HashSet<usize> = merges.iter().copied().collect();
    for (members, _, _) in &branches {
        removed.extend(members.iter().copied());
    }
    prune_dead_branch_nodes(nodes, index, analysis, pred, &mut removed);
    // Each Merge becomes an Identity of its If output under the Merge's name, so every tensor
    // name outside the cond still exists.
    let mut results: HashMap<usize, NodeDef> = HashMap::new();
    for (k, (&m, &t)) in merges.iter().zip(&out_types).enumerate() {
        let id = make_node(
            &nodes[m].name,
            "Identity",
            vec![data_ref(&if_name, k)],
            vec![("T", type_attr(t))],
        );
        results.insert(m, id);
    }
    let position = merges.iter().copied().min().unwrap_or(0);
    let old = std::mem::take(&mut graph.node);
    for (i, n) in old.into_iter().enumerate() {
        if i == position {
            graph.node.push(if_node.clone());
        }
        if let Some(id) = results.remove(&i) {
            graph.node.push(id);
        } else if !removed.contains(&i) {
            graph.node.push(n);
        }
    }
    // Control inputs may still name removed nodes (pivots); drop those edges.
    let gone: HashSet<String> = {
        let alive: HashSet<&str> = graph.node.iter().map(|n| n.name.as_str()).collect();
        graph
            .node
            .iter()
            .flat_map(|n| n.input.iter())
            .filter_map(|s| s.strip_prefix('^'))
            .filter(|c| !alive.contains(c))
            .map(str::to_string)
            .collect()
    };
    for n in graph.node.iter_mut() {
        n.input.retain(|s| !s.strip_prefix('^').is_some_and(|c| gone.contains(c)));
    }
    let library = graph.library.get_or_insert_with(Default::default);
    library.function.extend(fns);
    Ok(LoweredCond {
        node: if_name,
        then_branch: then_name,
        else_branch: else_name,
        outputs: merges.len(),
    })
}

/// The nodes of one branch that the results need, and the `If` inputs they read.
#[allow(clippy::too_many_arguments)]
fn branch_closure(
    nodes: &[NodeDef],
    index: &Index,
    analysis: &Analysis,
    pred: Port,
    branch: bool,
    roots: &[Port],
    inputs: &mut Vec<Port>,
    input_pos: &mut HashMap<Port, usize>,
) -> Result<(Vec<usize>, HashMap<Port, usize>), V1ControlFlowError> {
    let mut port_args: HashMap<Port, usize> = HashMap::new();
    let mut seen: HashSet<usize> = HashSet::new();
    let mut stack: Vec<usize> = Vec::new();
    let mut visit = |p: Port,
                     user: &str,
                     stack: &mut Vec<usize>,
                     port_args: &mut HashMap<Port, usize>| {
        if port_args.contains_key(&p) || seen.contains(&p.node) {
            return Ok(());
        }
        let is_our_switch = analysis.switch_pred.get(&p.node) == Some(&pred);
        let outside = if is_our_switch {
            // The value routed into this branch: the Switch's data input.
            if p.index != usize::from(branch) {
                return Err(V1ControlFlowError::node(
                    user,
                    "",
                    format!(
                        "reads the {} output of Switch `{}` inside the {branch} branch",
                        p.index, nodes[p.node].name
                    ),
                ));
            }
            Some(index.data_inputs[p.node][0])
        } else if port_state(&analysis.state, &analysis.switch_pred, p).get(&pred) != Some(&branch)
        {
            // Alive regardless of this cond: captured from outside.
            Some(p)
        } else {
            None
        };
        if let Some(o) = outside {
            let k = *input_pos.entry(o).or_insert_with(|| {
                inputs.push(o);
                inputs.len() - 1
            });
            port_args.insert(p, k);
            return Ok(());
        }
        let node = &nodes[p.node];
        if matches!(
            node.op.as_str(),
            "Enter"
                | "RefEnter"
                | "Exit"
                | "RefExit"
                | "NextIteration"
                | "RefNextIteration"
                | "LoopCond"
        ) || is_switch(&node.op)
            || is_merge(&node.op)
        {
            return Err(V1ControlFlowError::node(
                &node.name,
                &node.op,
                format!(
                    "is inside a branch of the cond on `{}`; loops or unconverted conds inside a v1 cond branch are not supported",
                    nodes[pred.node].name
                ),
            ));
        }
        seen.insert(p.node);
        stack.push(p.node);
        Ok(())
    };
    for &r in roots {
        visit(r, "the cond result", &mut stack, &mut port_args)?;
    }
    let mut members = Vec::new();
    while let Some(n) = stack.pop() {
        members.push(n);
        for &p in &index.data_inputs[n] {
            visit(p, &nodes[n].name, &mut stack, &mut port_args)?;
        }
        for &c in &index.control_inputs[n] {
            // Control edges from inside the branch keep their order; edges from outside (the
            // pivots, the Switches) only gated execution, which the If now does.
            let inside = !analysis.switch_pred.contains_key(&c)
                && analysis.state[c].get(&pred) == Some(&branch);
            if inside {
                visit(Port { node: c, index: 0 }, &nodes[n].name, &mut stack, &mut port_args)?;
            }
        }
    }
    members.sort_unstable();
    Ok((members, port_args))
}

fn switch_or_output_dtype(nodes: &[NodeDef], analysis: &Analysis, p: Port) -> Option<i32> {
    if analysis.switch_pred.contains_key(&p.node) {
        return attr_type(&nodes[p.node], "T");
    }
    output_dtype(&nodes[p.node], p.index)
}

/// Whether the outputs of `merges` reach a Switch on `pred` (which may feed the same group).
fn feeds_itself(index: &Index, analysis: &Analysis, pred: Port, merges: &[usize]) -> bool {
    let mut reach: HashSet<usize> = HashSet::new();
    let mut stack: Vec<usize> = merges.to_vec();
    while let Some(n) = stack.pop() {
        for &(c, _, _) in &index.data_consumers[n] {
            if reach.insert(c) {
                stack.push(c);
            }
        }
        for &c in &index.control_consumers[n] {
            if reach.insert(c) {
                stack.push(c);
            }
        }
    }
    reach.iter().any(|&n| analysis.switch_pred.get(&n) == Some(&pred))
}

/// Nodes alive only under `pred` (or Switches on it) that nothing outside the removed set uses
/// any more: dead ends of the branches and the Switches themselves.
fn prune_dead_branch_nodes(
    nodes: &[NodeDef],
    index: &Index,
    analysis: &Analysis,
    pred: Port,
    removed: &mut HashSet<usize>,
) {
    let candidate = |n: usize| {
        analysis.switch_pred.get(&n) == Some(&pred) || analysis.state[n].contains_key(&pred)
    };
    let mut changed = true;
    while changed {
        changed = false;
        for (n, node) in nodes.iter().enumerate() {
            if removed.contains(&n)
                || !candidate(n)
                || (is_merge(&node.op) && analysis.merge_pred.contains_key(&n))
            {
                continue;
            }
            let used = index.data_consumers[n].iter().any(|(c, _, _)| !removed.contains(c))
                || index.control_consumers[n].iter().any(|c| !removed.contains(c));
            if !used {
                removed.insert(n);
                changed = true;
            }
        }
    }
}
