//! TensorList (TF2) and TensorArray (TF1) values rewritten into plain dense tensors.
//!
//! A list whose elements share one shape and whose length is fixed is a tensor with one more
//! leading axis, and every operation on it has an exact dense counterpart:
//!
//! | list op                                   | dense form                                  |
//! |-------------------------------------------|---------------------------------------------|
//! | `TensorListReserve(shape, n)`, `TensorArrayV3(n)` | `Fill([n] ++ shape, 0)`             |
//! | `TensorListFromTensor(t)`                 | `t`                                         |
//! | `TensorListGetItem`, `TensorArrayReadV3`  | `GatherV2(list, i, axis 0)`                 |
//! | `TensorListGather`, `TensorArrayGatherV3` | `GatherV2(list, indices, axis 0)`           |
//! | `TensorListSetItem`, `TensorArrayWriteV3` | `TensorScatterUpdate(list, [[i]], [item])`  |
//! | `TensorListScatterIntoExistingList`, `TensorArrayScatterV3` | `TensorScatterUpdate(list, indices[:, None], t)` |
//! | `TensorListStack`                         | `list`                                      |
//! | `TensorListLength`, `TensorArraySizeV3`   | `Shape(list)[0]`                            |
//!
//! A TensorArray is a resource handle plus a scalar "flow" that orders its operations; the
//! flow is what loops carry, so the dense tensor takes the flow's place and the handle
//! (with the `Enter`s that bring it into loops) disappears. The list values pass through
//! `Enter`/`Exit`/`Switch`/`Merge`/`NextIteration`/`Identity`, whose `T` becomes the element
//! dtype.
//!
//! Elements are zero until written, as TensorFlow reads an unwritten element of a list with a
//! known element shape. When the element shape is only partly known, the initial tensor has
//! size 1 in the unknown dimensions and every write first broadcasts the list to
//! `[length] ++ shape(item)`; an element shape of unknown rank, growing lists
//! (`dynamic_size`, `resize_if_index_out_of_bounds`, push/pop) and the remaining list ops are
//! refused, listed all at once.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use crate::proto::{GraphDef, NodeDef};

use super::V1ControlFlowError;
use super::graph::{
    DT_INT32, Index, Port, attr_bool, attr_shape, attr_type, const_node, const_value, data_ref,
    i32_tensor, int_attr, int_tensor_values, make_node, type_attr, zero_scalar,
};
use super::names::Names;

/// Ops that pass a value through unchanged, list values included.
fn is_passthrough(op: &str) -> bool {
    matches!(
        op,
        "Enter"
            | "RefEnter"
            | "Exit"
            | "RefExit"
            | "Identity"
            | "NextIteration"
            | "RefNextIteration"
            | "Switch"
            | "RefSwitch"
            | "Merge"
            | "RefMerge"
    )
}

/// The input slot holding the list (TensorList) or the flow (TensorArray) of a list op.
fn list_slot(op: &str) -> Option<usize> {
    Some(match op {
        "TensorListGetItem"
        | "TensorListSetItem"
        | "TensorListStack"
        | "TensorListGather"
        | "TensorListLength"
        | "TensorListScatterIntoExistingList" => 0,
        "TensorArrayReadV3" | "TensorArrayGatherV3" => 2,
        "TensorArrayWriteV3" | "TensorArrayScatterV3" => 3,
        "TensorArraySizeV3" => 1,
        _ => return None,
    })
}

/// List ops whose output is the updated list.
fn produces_list(op: &str) -> bool {
    matches!(
        op,
        "TensorListSetItem"
            | "TensorListScatterIntoExistingList"
            | "TensorArrayWriteV3"
            | "TensorArrayScatterV3"
    )
}

/// Every op this module recognizes as operating on TensorList / TensorArray values.
fn is_list_op(op: &str) -> bool {
    op.starts_with("TensorList") || op.starts_with("TensorArray") || op == "EmptyTensorList"
}

#[derive(Clone, Debug)]
enum ElemShape {
    /// Every dimension known.
    Full(Vec<i64>),
    /// Rank known, some dimensions (`-1`) not.
    Partial(Vec<i64>),
}

struct Origin {
    node: usize,
    /// The output carrying the list (1 for a TensorArray's flow).
    port: usize,
    dtype: i32,
    /// `None` for lists made from a tensor, which need no initial value.
    shape: Option<ElemShape>,
}

/// Rewrites every TensorList / TensorArray op; returns how many list ops were rewritten.
pub(crate) fn densify(graph: &mut GraphDef) -> Result<usize, V1ControlFlowError> {
    if !graph.node.iter().any(|n| is_list_op(&n.op)) {
        return Ok(0);
    }
    let index = Index::build(&graph.node)?;
    let nodes = &graph.node;
    let mut unsupported: Vec<String> = Vec::new();

    let mut origins: Vec<Origin> = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        match n.op.as_str() {
            "TensorListReserve" => match reserve_shape(nodes, &index, i) {
                Ok(shape) => {
                    let dtype = attr_type(n, "element_dtype").unwrap_or(0);
                    origins.push(Origin { node: i, port: 0, dtype, shape: Some(shape) });
                }
                Err(why) => unsupported.push(format!("`{}` (TensorListReserve): {why}", n.name)),
            },
            "TensorListFromTensor" => {
                let dtype = attr_type(n, "element_dtype").unwrap_or(0);
                origins.push(Origin { node: i, port: 0, dtype, shape: None });
            }
            "TensorArrayV3" => {
                if attr_bool(n, "dynamic_size") == Some(true) {
                    unsupported.push(format!(
                        "`{}` (TensorArrayV3): dynamic_size = true (a growing array has no fixed dense form)",
                        n.name
                    ));
                    continue;
                }
                let shape = attr_shape(n, "element_shape");
                match shape.filter(|s| !s.unknown_rank).map(|s| s.dim.iter().map(|d| d.size).collect::<Vec<_>>()) {
                    Some(dims) => {
                        let dtype = attr_type(n, "dtype").unwrap_or(0);
                        origins.push(Origin { node: i, port: 1, dtype, shape: Some(classify(dims)) });
                    }
                    None => unsupported.push(format!(
                        "`{}` (TensorArrayV3): element_shape of unknown rank (give the TensorArray an element_shape)",
                        n.name
                    )),
                }
            }
            op if is_list_op(op) && list_slot(op).is_none() && op != "TensorArrayCloseV3" => {
                unsupported.push(format!(
                    "`{}` ({op}): list operation without a dense equivalent here",
                    n.name
                ));
            }
            _ => {}
        }
    }
    for o in &origins {
        if zero_scalar(o.dtype).is_none() {
            unsupported.push(format!(
                "`{}` ({}): element dtype {} has no numeric zero",
                nodes[o.node].name, nodes[o.node].op, o.dtype
            ));
        }
    }

    // Where each list value flows: passthrough nodes to retype, list ops with their origins.
    let mut retype: BTreeMap<usize, i32> = BTreeMap::new();
    let mut users: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (k, o) in origins.iter().enumerate() {
        let mut queue = VecDeque::from([Port { node: o.node, index: o.port }]);
        let mut seen = HashSet::new();
        while let Some(p) = queue.pop_front() {
            if !seen.insert(p) {
                continue;
            }
            for (c, slot) in index.consumers_of(p) {
                let op = nodes[c].op.as_str();
                if is_passthrough(op) && !(op.ends_with("Switch") && slot != 0) {
                    if let Some(&t) = retype.get(&c)
                        && t != o.dtype
                    {
                        unsupported.push(format!(
                            "`{}` ({op}) joins lists of different element dtypes",
                            nodes[c].name
                        ));
                    }
                    retype.insert(c, o.dtype);
                    let outs: &[usize] = if op.ends_with("Switch") { &[0, 1] } else { &[0] };
                    queue.extend(outs.iter().map(|&i| Port { node: c, index: i }));
                } else if list_slot(op) == Some(slot) {
                    let entry = users.entry(c).or_default();
                    if !entry.contains(&k) {
                        entry.push(k);
                    }
                    if produces_list(op) {
                        queue.push_back(Port { node: c, index: 0 });
                    }
                } else {
                    unsupported.push(format!(
                        "`{}` ({op}) takes the list made by `{}` as input {slot}, which has no dense equivalent",
                        nodes[c].name, nodes[o.node].name
                    ));
                }
            }
        }
    }

    // TensorArray handles: only TensorArray ops may use them, possibly through passthroughs,
    // which go away with the handle.
    let mut delete: HashSet<usize> = HashSet::new();
    for o in origins.iter().filter(|o| o.port == 1) {
        let mut queue = VecDeque::from([Port { node: o.node, index: 0 }]);
        let mut seen = HashSet::new();
        while let Some(p) = queue.pop_front() {
            if !seen.insert(p) {
                continue;
            }
            for (c, slot) in index.consumers_of(p) {
                let op = nodes[c].op.as_str();
                if op == "TensorArrayCloseV3"
                    || (op.starts_with("TensorArray") && list_slot(op).is_some() && slot == 0)
                {
                    if op == "TensorArrayCloseV3" {
                        delete.insert(c);
                    }
                } else if matches!(op, "Enter" | "RefEnter" | "Identity") {
                    delete.insert(c);
                    queue.push_back(Port { node: c, index: 0 });
                } else {
                    unsupported.push(format!(
                        "`{}` ({op}) uses the handle of TensorArray `{}`",
                        nodes[c].name, nodes[o.node].name
                    ));
                }
            }
        }
    }
    // A list op no origin reaches reads a list this module cannot see being made.
    for (i, n) in nodes.iter().enumerate() {
        if list_slot(&n.op).is_some() && !users.contains_key(&i) {
            unsupported.push(format!(
                "`{}` ({}): its list is not made by a supported list constructor",
                n.name, n.op
            ));
        }
    }
    if !unsupported.is_empty() {
        unsupported.sort();
        unsupported.dedup();
        return Err(V1ControlFlowError::Unsupported(unsupported));
    }

    // Rewrite.
    let mut names = Names::of(graph);
    let mut replacements: HashMap<usize, Vec<NodeDef>> = HashMap::new();
    let mut redirects: HashMap<String, String> = HashMap::new();
    for o in &origins {
        let n = &nodes[o.node];
        let new = match &o.shape {
            None => vec![make_node(
                &n.name,
                "Identity",
                vec![n.input[0].clone()],
                vec![("T", type_attr(o.dtype))],
            )],
            Some(shape) => {
                // A TensorArray's dense value keeps the array's name: its handle (output 0) has
                // no users left, and colocation hints naming the array stay valid.
                let main = n.name.clone();
                if o.port == 1 {
                    redirects.insert(data_ref(&n.name, 1), main.clone());
                }
                let count_ref =
                    n.input.get(if o.port == 1 { 0 } else { 1 }).cloned().unwrap_or_default();
                initial_list(&mut names, &main, &count_ref, shape, o.dtype)
            }
        };
        replacements.insert(o.node, new);
    }
    let mut rewritten = 0usize;
    for (&u, ks) in &users {
        let full = ks.iter().all(|&k| !matches!(origins[k].shape, Some(ElemShape::Partial(_))));
        let dtype = origins[ks[0]].dtype;
        replacements.insert(u, rewrite_user(&mut names, &nodes[u], dtype, full)?);
        rewritten += 1;
    }
    for (&r, &t) in &retype {
        let mut n = nodes[r].clone();
        n.attr.insert("T".into(), type_attr(t));
        n.attr.remove("_output_shapes");
        replacements.insert(r, vec![n]);
    }
    let deleted: HashSet<String> = delete.iter().map(|&d| nodes[d].name.clone()).collect();
    let old = std::mem::take(&mut graph.node);
    for (i, n) in old.into_iter().enumerate() {
        if delete.contains(&i) {
            continue;
        }
        let group = replacements.remove(&i).unwrap_or_else(|| vec![n]);
        for mut m in group {
            m.input.retain(|s| !s.strip_prefix('^').is_some_and(|c| deleted.contains(c)));
            for s in m.input.iter_mut() {
                if let Some(to) = redirects.get(s.as_str()) {
                    *s = to.clone();
                }
            }
            graph.node.push(m);
        }
    }
    Ok(rewritten + origins.len())
}

fn classify(dims: Vec<i64>) -> ElemShape {
    if dims.iter().all(|&d| d >= 0) { ElemShape::Full(dims) } else { ElemShape::Partial(dims) }
}

/// The element shape of a `TensorListReserve`, from its constant `element_shape` input.
fn reserve_shape(nodes: &[NodeDef], index: &Index, n: usize) -> Result<ElemShape, String> {
    let Some(&p) = index.data_inputs[n].first() else {
        return Err("no element_shape input".into());
    };
    let Some(t) = const_value(nodes, index, p) else {
        return Err("element_shape is not a constant".into());
    };
    let Some(values) = int_tensor_values(t) else {
        return Err("element_shape is not a small int32/int64 tensor".into());
    };
    let rank = t.tensor_shape.as_ref().map_or(0, |s| s.dim.len());
    if rank == 0 {
        return Err("element shape of unknown rank (-1)".into());
    }
    Ok(classify(values))
}

/// `Fill([count] ++ dims, 0)`, unknown dims as 1, named `main`.
fn initial_list(
    names: &mut Names,
    main: &str,
    count_ref: &str,
    shape: &ElemShape,
    dtype: i32,
) -> Vec<NodeDef> {
    let dims: Vec<i32> = match shape {
        ElemShape::Full(d) | ElemShape::Partial(d) => d
            .iter()
            .map(|&x| if x < 0 { 1 } else { i32::try_from(x).unwrap_or(i32::MAX) })
            .collect(),
    };
    let elem = names.fresh_child(main, "element_shape");
    let one = names.fresh_child(main, "one");
    let count = names.fresh_child(main, "count");
    let axis = names.fresh_child(main, "axis");
    let all = names.fresh_child(main, "dims");
    let zero = names.fresh_child(main, "zero");
    let rank = i64::try_from(dims.len()).unwrap_or(i64::MAX);
    vec![
        const_node(&elem, i32_tensor(&[rank], &dims)),
        const_node(&one, i32_tensor(&[1], &[1])),
        make_node(
            &count,
            "Reshape",
            vec![count_ref.to_string(), one],
            vec![("T", type_attr(DT_INT32)), ("Tshape", type_attr(DT_INT32))],
        ),
        const_node(&axis, i32_tensor(&[], &[0])),
        make_node(
            &all,
            "ConcatV2",
            vec![count, elem, axis],
            vec![("N", int_attr(2)), ("T", type_attr(DT_INT32)), ("Tidx", type_attr(DT_INT32))],
        ),
        const_node(&zero, zero_scalar(dtype).unwrap_or_default()),
        make_node(
            main,
            "Fill",
            vec![all, zero],
            vec![("T", type_attr(dtype)), ("index_type", type_attr(DT_INT32))],
        ),
    ]
}

/// The dense replacement of one list op (same name, so its consumers need no change).
fn rewrite_user(
    names: &mut Names,
    n: &NodeDef,
    dtype: i32,
    full: bool,
) -> Result<Vec<NodeDef>, V1ControlFlowError> {
    let input =
        |k: usize| -> Result<String, V1ControlFlowError> {
            n.input.get(k).filter(|s| !s.starts_with('^')).cloned().ok_or_else(|| {
                V1ControlFlowError::node(&n.name, &n.op, format!("has no input {k}"))
            })
        };
    let controls: Vec<String> = n.input.iter().filter(|s| s.starts_with('^')).cloned().collect();
    let mut out = Vec::new();
    let gather =
        |out: &mut Vec<NodeDef>, names: &mut Names, params: String, indices: String, t: i32| {
            let axis = names.fresh_child(&n.name, "axis");
            out.push(const_node(&axis, i32_tensor(&[], &[0])));
            let mut g = make_node(
                &n.name,
                "GatherV2",
                vec![params, indices, axis],
                vec![
                    ("Tparams", type_attr(t)),
                    ("Tindices", type_attr(DT_INT32)),
                    ("Taxis", type_attr(DT_INT32)),
                    ("batch_dims", int_attr(0)),
                ],
            );
            g.input.extend(controls.iter().cloned());
            out.push(g);
        };
    match n.op.as_str() {
        "TensorListGetItem" | "TensorListGather" => {
            gather(&mut out, names, input(0)?, input(1)?, dtype)
        }
        "TensorArrayReadV3" | "TensorArrayGatherV3" => {
            gather(&mut out, names, input(2)?, input(1)?, dtype)
        }
        "TensorListLength" | "TensorArraySizeV3" => {
            let list = input(list_slot(&n.op).unwrap_or(0))?;
            let shape = names.fresh_child(&n.name, "shape");
            out.push(shape_node(&shape, list, dtype));
            let zero = names.fresh_child(&n.name, "first");
            out.push(const_node(&zero, i32_tensor(&[], &[0])));
            gather(&mut out, names, shape, zero, DT_INT32);
        }
        "TensorListStack" => {
            let mut m =
                make_node(&n.name, "Identity", vec![input(0)?], vec![("T", type_attr(dtype))]);
            m.input.extend(controls.iter().cloned());
            out.push(m);
        }
        "TensorListSetItem" | "TensorArrayWriteV3" => {
            if attr_bool(n, "resize_if_index_out_of_bounds") == Some(true) {
                return Err(V1ControlFlowError::Unsupported(vec![format!(
                    "`{}` (TensorListSetItem): resize_if_index_out_of_bounds = true (a growing list)",
                    n.name
                )]));
            }
            let (list, index, item) = if n.op == "TensorListSetItem" {
                (input(0)?, input(1)?, input(2)?)
            } else {
                (input(3)?, input(1)?, input(2)?)
            };
            let idx_shape = names.fresh_child(&n.name, "index_shape");
            out.push(const_node(&idx_shape, i32_tensor(&[2], &[1, 1])));
            let indices = names.fresh_child(&n.name, "indices");
            out.push(make_node(
                &indices,
                "Reshape",
                vec![index, idx_shape],
                vec![("T", type_attr(DT_INT32)), ("Tshape", type_attr(DT_INT32))],
            ));
            let dim0 = names.fresh_child(&n.name, "dim0");
            out.push(const_node(&dim0, i32_tensor(&[], &[0])));
            let updates = names.fresh_child(&n.name, "updates");
            out.push(make_node(
                &updates,
                "ExpandDims",
                vec![item.clone(), dim0],
                vec![("T", type_attr(dtype)), ("Tdim", type_attr(DT_INT32))],
            ));
            let base = if full {
                list
            } else {
                broadcast_base(&mut out, names, n, list, item, dtype, false)
            };
            out.push(scatter_update(n, base, indices, updates, dtype, &controls));
        }
        "TensorListScatterIntoExistingList" | "TensorArrayScatterV3" => {
            let (list, tensor, indices) = if n.op == "TensorArrayScatterV3" {
                (input(3)?, input(2)?, input(1)?)
            } else {
                (input(0)?, input(1)?, input(2)?)
            };
            let last = names.fresh_child(&n.name, "last_axis");
            out.push(const_node(&last, i32_tensor(&[], &[-1])));
            let idx = names.fresh_child(&n.name, "indices");
            out.push(make_node(
                &idx,
                "ExpandDims",
                vec![indices, last],
                vec![("T", type_attr(DT_INT32)), ("Tdim", type_attr(DT_INT32))],
            ));
            let base = if full {
                list
            } else {
                broadcast_base(&mut out, names, n, list, tensor.clone(), dtype, true)
            };
            out.push(scatter_update(n, base, idx, tensor, dtype, &controls));
        }
        other => {
            return Err(V1ControlFlowError::node(
                &n.name,
                other,
                "is not a list op this rewrite handles",
            ));
        }
    }
    Ok(out)
}

fn shape_node(name: &str, of: String, dtype: i32) -> NodeDef {
    make_node(
        name,
        "Shape",
        vec![of],
        vec![("T", type_attr(dtype)), ("out_type", type_attr(DT_INT32))],
    )
}

fn scatter_update(
    n: &NodeDef,
    base: String,
    indices: String,
    updates: String,
    dtype: i32,
    controls: &[String],
) -> NodeDef {
    let mut m = make_node(
        &n.name,
        "TensorScatterUpdate",
        vec![base, indices, updates],
        vec![("T", type_attr(dtype)), ("Tindices", type_attr(DT_INT32))],
    );
    m.input.extend(controls.iter().cloned());
    m
}

/// `BroadcastTo(list, shape(list)[0:1] ++ shape(item))` (for a single item) or
/// `... ++ shape(items)[1:]` (for a scattered tensor): gives the dimensions the element shape
/// left unknown their size on the first write.
fn broadcast_base(
    out: &mut Vec<NodeDef>,
    names: &mut Names,
    n: &NodeDef,
    list: String,
    item: String,
    dtype: i32,
    items_have_leading_axis: bool,
) -> String {
    let slice = |out: &mut Vec<NodeDef>,
                 names: &mut Names,
                 what: &str,
                 of: String,
                 begin: i32,
                 end: i32,
                 end_mask: i64| {
        let shape = names.fresh_child(&n.name, &format!("{what}_shape"));
        out.push(shape_node(&shape, of, dtype));
        let b = names.fresh_child(&n.name, &format!("{what}_begin"));
        let e = names.fresh_child(&n.name, &format!("{what}_end"));
        let s = names.fresh_child(&n.name, &format!("{what}_stride"));
        out.push(const_node(&b, i32_tensor(&[1], &[begin])));
        out.push(const_node(&e, i32_tensor(&[1], &[end])));
        out.push(const_node(&s, i32_tensor(&[1], &[1])));
        let sliced = names.fresh_child(&n.name, &format!("{what}_dims"));
        out.push(make_node(
            &sliced,
            "StridedSlice",
            vec![shape, b, e, s],
            vec![
                ("T", type_attr(DT_INT32)),
                ("Index", type_attr(DT_INT32)),
                ("begin_mask", int_attr(0)),
                ("end_mask", int_attr(end_mask)),
                ("ellipsis_mask", int_attr(0)),
                ("new_axis_mask", int_attr(0)),
                ("shrink_axis_mask", int_attr(0)),
            ],
        ));
        sliced
    };
    let length = slice(out, names, "list", list.clone(), 0, 1, 0);
    let element = if items_have_leading_axis {
        slice(out, names, "item", item, 1, 0, 1)
    } else {
        let shape = names.fresh_child(&n.name, "item_shape");
        out.push(shape_node(&shape, item, dtype));
        shape
    };
    let axis = names.fresh_child(&n.name, "concat_axis");
    out.push(const_node(&axis, i32_tensor(&[], &[0])));
    let target = names.fresh_child(&n.name, "target_shape");
    out.push(make_node(
        &target,
        "ConcatV2",
        vec![length, element, axis],
        vec![("N", int_attr(2)), ("T", type_attr(DT_INT32)), ("Tidx", type_attr(DT_INT32))],
    ));
    let base = names.fresh_child(&n.name, "broadcast");
    out.push(make_node(
        &base,
        "BroadcastTo",
        vec![list, target],
        vec![("T", type_attr(dtype)), ("Tidx", type_attr(DT_INT32))],
    ));
    base
}
