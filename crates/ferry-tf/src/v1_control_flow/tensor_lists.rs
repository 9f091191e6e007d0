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
//! `[length] ++ shape(item)`. A growing list (`dynamic_size` TensorArray,
//! `resize_if_index_out_of_bounds`) is extended with zero elements up to the written index
//! before each write, as TensorFlow grows it. A TensorArray whose element shape has unknown rank takes
//! it from a `TensorArrayGatherV3` of it; without one, and for push/pop and the remaining list
//! ops, the rewrite refuses, listing every such op at once.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use crate::proto::{GraphDef, NodeDef, TensorShapeProto};

use super::V1ControlFlowError;
use super::dense_ops::{ListInfo, initial_list, rewrite_user};
use super::graph::{
    Index, Port, attr_bool, attr_shape, attr_type, const_value, data_ref, int_tensor_values,
    make_node, type_attr, zero_scalar,
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

struct Origin {
    node: usize,
    /// The output carrying the list (1 for a TensorArray's flow).
    port: usize,
    dtype: i32,
    /// Element dimensions (`-1` unknown); `None` for lists made from a tensor, which need no
    /// initial value.
    dims: Option<Vec<i64>>,
    /// A `dynamic_size` TensorArray: it grows as it is written.
    growing: bool,
    /// Refused (the reason is already listed); still followed, so that its users are not
    /// reported once more each.
    refused: bool,
}

/// Rewrites every TensorList / TensorArray op; returns how many list ops were rewritten.
pub(crate) fn densify(graph: &mut GraphDef) -> Result<usize, V1ControlFlowError> {
    if !graph.node.iter().any(|n| is_list_op(&n.op)) {
        return Ok(0);
    }
    let index = Index::build(&graph.node)?;
    let nodes = &graph.node;
    let mut unsupported: Vec<String> = Vec::new();

    // TensorArray handles: only TensorArray ops may use them, possibly through Enter/Identity,
    // which go away with the handle.
    let mut delete: HashSet<usize> = HashSet::new();
    let mut handle_users: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, n) in nodes.iter().enumerate().filter(|(_, n)| n.op == "TensorArrayV3") {
        let mut queue = VecDeque::from([Port { node: i, index: 0 }]);
        let mut seen = HashSet::new();
        while let Some(p) = queue.pop_front() {
            if !seen.insert(p) {
                continue;
            }
            for (c, slot) in index.consumers_of(p) {
                let op = nodes[c].op.as_str();
                if op == "TensorArrayCloseV3" {
                    delete.insert(c);
                } else if op.starts_with("TensorArray") && list_slot(op).is_some() && slot == 0 {
                    handle_users.entry(i).or_default().push(c);
                } else if matches!(op, "Enter" | "RefEnter" | "Identity") {
                    delete.insert(c);
                    queue.push_back(Port { node: c, index: 0 });
                } else {
                    unsupported.push(format!(
                        "`{}` ({op}) uses the handle of TensorArray `{}`",
                        nodes[c].name, n.name
                    ));
                }
            }
        }
    }

    let mut origins: Vec<Origin> = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        let mut origin = |port, dtype_attr, dims: Result<Option<Vec<i64>>, String>, growing| {
            let dtype = attr_type(n, dtype_attr).unwrap_or(0);
            let refused = match (&dims, zero_scalar(dtype)) {
                (Err(why), _) => Some(why.clone()),
                (Ok(_), None) => Some(format!("element dtype {dtype} has no numeric zero")),
                _ => None,
            };
            if let Some(why) = &refused {
                unsupported.push(format!("`{}` ({}): {why}", n.name, n.op));
            }
            let dims = dims.unwrap_or(None);
            origins.push(Origin {
                node: i,
                port,
                dtype,
                dims,
                growing,
                refused: refused.is_some(),
            });
        };
        match n.op.as_str() {
            "TensorListReserve" => {
                origin(0, "element_dtype", reserve_shape(nodes, &index, i).map(Some), false)
            }
            "TensorListFromTensor" => origin(0, "element_dtype", Ok(None), false),
            "TensorArrayV3" => {
                let users = handle_users.get(&i).map_or(&[][..], Vec::as_slice);
                let dims = array_shape(nodes, n, users).map(Some);
                origin(1, "dtype", dims, attr_bool(n, "dynamic_size") == Some(true))
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
                } else if !o.refused {
                    unsupported.push(format!(
                        "`{}` ({op}) takes the list made by `{}` as input {slot}, which has no dense equivalent",
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
        let new = match &o.dims {
            None => vec![make_node(
                &n.name,
                "Identity",
                vec![n.input[0].clone()],
                vec![("T", type_attr(o.dtype))],
            )],
            Some(dims) => {
                // A TensorArray's dense value keeps the array's name: its handle (output 0) has
                // no users left, and colocation hints naming the array stay valid.
                if o.port == 1 {
                    redirects.insert(data_ref(&n.name, 1), n.name.clone());
                }
                let count =
                    n.input.get(if o.port == 1 { 0 } else { 1 }).cloned().unwrap_or_default();
                initial_list(&mut names, &n.name, &count, dims, o.dtype)
            }
        };
        replacements.insert(o.node, new);
    }
    let mut rewritten = 0usize;
    for (&u, ks) in &users {
        let reaching: Vec<&Origin> = ks.iter().map(|&k| &origins[k]).collect();
        let info = ListInfo {
            dtype: reaching[0].dtype,
            partial: reaching
                .iter()
                .any(|o| o.dims.as_ref().is_some_and(|d| d.iter().any(|&x| x < 0))),
            growing: reaching.iter().any(|o| o.growing),
        };
        replacements.insert(u, rewrite_user(&mut names, &nodes[u], &info)?);
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

/// The element shape of a `TensorArrayV3`: its `element_shape` attribute, or, when that has
/// unknown rank, the `element_shape` of a `TensorArrayGatherV3` reading the array (TensorFlow
/// checks gathered elements against it; `tf.compat.v1` fills it in from the first write).
fn array_shape(nodes: &[NodeDef], n: &NodeDef, users: &[usize]) -> Result<Vec<i64>, String> {
    let known =
        |s: &TensorShapeProto| (!s.unknown_rank).then(|| s.dim.iter().map(|d| d.size).collect());
    if let Some(dims) = attr_shape(n, "element_shape").and_then(known) {
        return Ok(dims);
    }
    users
        .iter()
        .filter(|&&u| nodes[u].op == "TensorArrayGatherV3")
        .find_map(|&u| attr_shape(&nodes[u], "element_shape").and_then(known))
        .ok_or_else(|| {
            "element shape of unknown rank, and no TensorArrayGatherV3 names one (give the TensorArray an element_shape)"
                .to_string()
        })
}

/// The element shape of a `TensorListReserve`, from its constant `element_shape` input.
fn reserve_shape(nodes: &[NodeDef], index: &Index, n: usize) -> Result<Vec<i64>, String> {
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
    Ok(values)
}
