//! The dense replacement of each list operation, as plain TensorFlow nodes (see the table in
//! [`super::tensor_lists`]). Every replacement keeps the list op's name, so its consumers need
//! no change; helper nodes are named below it.

use crate::proto::NodeDef;

use super::V1ControlFlowError;
use super::graph::{
    DT_INT32, attr_bool, const_node, i32_tensor, int_attr, make_node, type_attr, zero_scalar,
};
use super::names::Names;

/// What is known of a list's elements where an op uses it.
#[derive(Clone, Debug)]
pub(crate) struct ListInfo {
    pub(crate) dtype: i32,
    /// Some element dimension is unknown: writes broadcast the list to the item's shape.
    pub(crate) partial: bool,
    /// The list may grow (`dynamic_size`): writes extend it to the written index first.
    pub(crate) growing: bool,
}

/// Collects the nodes of one replacement.
struct Builder<'a> {
    names: &'a mut Names,
    owner: String,
    out: Vec<NodeDef>,
}

impl Builder<'_> {
    fn name(&mut self, what: &str) -> String {
        self.names.fresh_child(&self.owner, what)
    }

    fn push(&mut self, n: NodeDef) -> String {
        let name = n.name.clone();
        self.out.push(n);
        name
    }

    fn ints(&mut self, what: &str, dims: &[i64], values: &[i32]) -> String {
        let name = self.name(what);
        self.push(const_node(&name, i32_tensor(dims, values)))
    }

    fn op(
        &mut self,
        what: &str,
        op: &str,
        inputs: Vec<String>,
        attrs: Vec<(&str, crate::proto::AttrValue)>,
    ) -> String {
        let name = self.name(what);
        self.push(make_node(&name, op, inputs, attrs))
    }

    fn int_op(&mut self, what: &str, op: &str, inputs: Vec<String>) -> String {
        self.op(what, op, inputs, vec![("T", type_attr(DT_INT32))])
    }

    fn shape(&mut self, what: &str, of: String, dtype: i32) -> String {
        self.op(
            what,
            "Shape",
            vec![of],
            vec![("T", type_attr(dtype)), ("out_type", type_attr(DT_INT32))],
        )
    }

    /// `x[begin:end]` of a 1-D int32 tensor (`end` 0 with `to_end` for "to the end").
    fn slice(&mut self, what: &str, x: String, begin: i32, end: i32, to_end: bool) -> String {
        let b = self.ints(&format!("{what}_begin"), &[1], &[begin]);
        let e = self.ints(&format!("{what}_end"), &[1], &[end]);
        let s = self.ints(&format!("{what}_stride"), &[1], &[1]);
        self.op(
            what,
            "StridedSlice",
            vec![x, b, e, s],
            vec![
                ("T", type_attr(DT_INT32)),
                ("Index", type_attr(DT_INT32)),
                ("begin_mask", int_attr(0)),
                ("end_mask", int_attr(i64::from(to_end))),
                ("ellipsis_mask", int_attr(0)),
                ("new_axis_mask", int_attr(0)),
                ("shrink_axis_mask", int_attr(0)),
            ],
        )
    }

    fn concat(&mut self, what: &str, parts: Vec<String>) -> String {
        let axis = self.ints(&format!("{what}_axis"), &[], &[0]);
        let n = i64::try_from(parts.len()).unwrap_or(i64::MAX);
        let mut inputs = parts;
        inputs.push(axis);
        self.op(
            what,
            "ConcatV2",
            inputs,
            vec![("N", int_attr(n)), ("T", type_attr(DT_INT32)), ("Tidx", type_attr(DT_INT32))],
        )
    }

    fn reshape(&mut self, what: &str, x: String, dims: &[i32], dtype: i32) -> String {
        let rank = i64::try_from(dims.len()).unwrap_or(i64::MAX);
        let shape = self.ints(&format!("{what}_shape"), &[rank], dims);
        self.op(
            what,
            "Reshape",
            vec![x, shape],
            vec![("T", type_attr(dtype)), ("Tshape", type_attr(DT_INT32))],
        )
    }

    /// Appends zero elements to `list` up to length `need` (an int32 `[1]`), for growing
    /// lists: `Concat([list, Fill([max(need - length, 0)] ++ shape(list)[1:], 0)])`.
    fn grow(&mut self, list: String, need: String, dtype: i32) -> String {
        let shape = self.shape("grow_list_shape", list.clone(), dtype);
        let length = self.slice("grow_length", shape.clone(), 0, 1, false);
        let element = self.slice("grow_element_shape", shape, 1, 0, true);
        let missing = self.int_op("grow_missing", "Sub", vec![need, length]);
        let zero = self.ints("grow_none", &[1], &[0]);
        let extra = self.int_op("grow_extra", "Maximum", vec![missing, zero]);
        let dims = self.concat("grow_dims", vec![extra, element]);
        let scalar = self.name("grow_zero");
        self.push(const_node(&scalar, zero_scalar(dtype).unwrap_or_default()));
        let zeros = self.op(
            "grow_zeros",
            "Fill",
            vec![dims, scalar],
            vec![("T", type_attr(dtype)), ("index_type", type_attr(DT_INT32))],
        );
        let axis = self.ints("grow_axis", &[], &[0]);
        self.op(
            "grown",
            "ConcatV2",
            vec![list, zeros, axis],
            vec![("N", int_attr(2)), ("T", type_attr(dtype)), ("Tidx", type_attr(DT_INT32))],
        )
    }

    /// `BroadcastTo(list, shape(list)[:1] ++ element_shape)`: gives the element dimensions the
    /// list's element shape left unknown their size on the first write.
    fn broadcast(&mut self, list: String, element_shape: String, dtype: i32) -> String {
        let shape = self.shape("list_shape", list.clone(), dtype);
        let length = self.slice("list_length", shape, 0, 1, false);
        let target = self.concat("target_shape", vec![length, element_shape]);
        self.op(
            "broadcast",
            "BroadcastTo",
            vec![list, target],
            vec![("T", type_attr(dtype)), ("Tidx", type_attr(DT_INT32))],
        )
    }
}

/// `Fill([count] ++ dims, 0)`, unknown dims as 1, named `main`.
pub(crate) fn initial_list(
    names: &mut Names,
    main: &str,
    count: &str,
    dims: &[i64],
    dtype: i32,
) -> Vec<NodeDef> {
    let dims: Vec<i32> = dims
        .iter()
        .map(|&x| if x < 0 { 1 } else { i32::try_from(x).unwrap_or(i32::MAX) })
        .collect();
    let mut b = Builder { names, owner: main.to_string(), out: Vec::new() };
    let rank = i64::try_from(dims.len()).unwrap_or(i64::MAX);
    let elem = b.ints("element_shape", &[rank], &dims);
    let count = b.reshape("count", count.to_string(), &[1], DT_INT32);
    let all = b.concat("dims", vec![count, elem]);
    let zero = b.name("zero");
    b.push(const_node(&zero, zero_scalar(dtype).unwrap_or_default()));
    b.out.push(make_node(
        main,
        "Fill",
        vec![all, zero],
        vec![("T", type_attr(dtype)), ("index_type", type_attr(DT_INT32))],
    ));
    b.out
}

/// The dense replacement of list op `n`.
pub(crate) fn rewrite_user(
    names: &mut Names,
    n: &NodeDef,
    info: &ListInfo,
) -> Result<Vec<NodeDef>, V1ControlFlowError> {
    let input =
        |k: usize| -> Result<String, V1ControlFlowError> {
            n.input.get(k).filter(|s| !s.starts_with('^')).cloned().ok_or_else(|| {
                V1ControlFlowError::node(&n.name, &n.op, format!("has no input {k}"))
            })
        };
    let dtype = info.dtype;
    let mut b = Builder { names, owner: n.name.clone(), out: Vec::new() };
    let main = match n.op.as_str() {
        "TensorListGetItem" | "TensorListGather" => gather(&mut b, n, input(0)?, input(1)?, dtype),
        "TensorArrayReadV3" | "TensorArrayGatherV3" => {
            gather(&mut b, n, input(2)?, input(1)?, dtype)
        }
        "TensorListLength" | "TensorArraySizeV3" => {
            let list = input(if n.op == "TensorListLength" { 0 } else { 1 })?;
            let shape = b.shape("shape", list, dtype);
            let first = b.ints("first", &[], &[0]);
            gather(&mut b, n, shape, first, DT_INT32)
        }
        "TensorListStack" => {
            make_node(&n.name, "Identity", vec![input(0)?], vec![("T", type_attr(dtype))])
        }
        "TensorListSetItem" | "TensorArrayWriteV3" => {
            let growing =
                info.growing || attr_bool(n, "resize_if_index_out_of_bounds") == Some(true);
            let (list, index, item) = if n.op == "TensorListSetItem" {
                (input(0)?, input(1)?, input(2)?)
            } else {
                (input(3)?, input(1)?, input(2)?)
            };
            let indices = b.reshape("indices", index, &[1, 1], DT_INT32);
            let mut base = list;
            if growing {
                let flat = b.reshape("index_vector", indices.clone(), &[1], DT_INT32);
                let one = b.ints("one", &[1], &[1]);
                let need = b.int_op("length_needed", "AddV2", vec![flat, one]);
                base = b.grow(base, need, dtype);
            }
            if info.partial {
                let item_shape = b.shape("item_shape", item.clone(), dtype);
                base = b.broadcast(base, item_shape, dtype);
            }
            let dim0 = b.ints("dim0", &[], &[0]);
            let updates = b.op(
                "updates",
                "ExpandDims",
                vec![item, dim0],
                vec![("T", type_attr(dtype)), ("Tdim", type_attr(DT_INT32))],
            );
            scatter_update(n, base, indices, updates, dtype)
        }
        "TensorListScatterIntoExistingList" | "TensorArrayScatterV3" => {
            let (list, tensor, indices) = if n.op == "TensorArrayScatterV3" {
                (input(3)?, input(2)?, input(1)?)
            } else {
                (input(0)?, input(1)?, input(2)?)
            };
            let last = b.ints("last_axis", &[], &[-1]);
            let idx = b.op(
                "indices",
                "ExpandDims",
                vec![indices.clone(), last],
                vec![("T", type_attr(DT_INT32)), ("Tdim", type_attr(DT_INT32))],
            );
            let mut base = list;
            if info.growing {
                let axis = b.ints("max_axis", &[], &[0]);
                let top = b.op(
                    "max_index",
                    "Max",
                    vec![indices, axis],
                    vec![
                        ("T", type_attr(DT_INT32)),
                        ("Tidx", type_attr(DT_INT32)),
                        (
                            "keep_dims",
                            crate::proto::AttrValue {
                                value: Some(crate::proto::attr_value::Value::B(true)),
                            },
                        ),
                    ],
                );
                let one = b.ints("one", &[1], &[1]);
                let need = b.int_op("length_needed", "AddV2", vec![top, one]);
                base = b.grow(base, need, dtype);
            }
            if info.partial {
                let shape = b.shape("items_shape", tensor.clone(), dtype);
                let element = b.slice("element_shape", shape, 1, 0, true);
                base = b.broadcast(base, element, dtype);
            }
            scatter_update(n, base, idx, tensor, dtype)
        }
        other => {
            return Err(V1ControlFlowError::node(
                &n.name,
                other,
                "is not a list op this rewrite handles",
            ));
        }
    };
    let mut main = main;
    // Control inputs order side effects; they stay on the replacement.
    main.input.extend(n.input.iter().filter(|s| s.starts_with('^')).cloned());
    b.out.push(main);
    Ok(b.out)
}

/// `GatherV2(params, indices, axis 0)` named after the list op.
fn gather(b: &mut Builder<'_>, n: &NodeDef, params: String, indices: String, t: i32) -> NodeDef {
    let axis = b.ints("axis", &[], &[0]);
    make_node(
        &n.name,
        "GatherV2",
        vec![params, indices, axis],
        vec![
            ("Tparams", type_attr(t)),
            ("Tindices", type_attr(DT_INT32)),
            ("Taxis", type_attr(DT_INT32)),
            ("batch_dims", int_attr(0)),
        ],
    )
}

fn scatter_update(
    n: &NodeDef,
    base: String,
    indices: String,
    updates: String,
    dtype: i32,
) -> NodeDef {
    make_node(
        &n.name,
        "TensorScatterUpdate",
        vec![base, indices, updates],
        vec![("T", type_attr(dtype)), ("Tindices", type_attr(DT_INT32))],
    )
}
