//! The small graph toolkit the v1 control-flow rewrites share: parsing of `NodeDef.input`
//! strings, a name index with consumer lists, attribute accessors and node builders.
//!
//! The index is rebuilt after every structural rewrite instead of being kept in step by hand:
//! the graphs that carry v1 control flow are small (hundreds to a few thousand nodes) and a
//! fresh index cannot go stale.

use std::collections::{HashMap, HashSet};

use crate::proto::{AttrValue, NodeDef, TensorProto, TensorShapeProto, attr_value};

use super::V1ControlFlowError;

/// DataType codes from TensorFlow's `types.proto` that the rewrites name.
pub(crate) const DT_INT32: i32 = 3;
pub(crate) const DT_BOOL: i32 = 10;

/// One entry of `NodeDef.input`: `name`, `name:k` or `^name`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Input {
    Data { node: String, index: usize },
    Control { node: String },
}

impl Input {
    /// Parses one input string. TensorFlow node names never contain `:`, so a trailing `:digits`
    /// is always an output index.
    pub(crate) fn parse(s: &str, consumer: &str) -> Result<Input, V1ControlFlowError> {
        if let Some(rest) = s.strip_prefix('^') {
            if rest.is_empty() {
                return Err(V1ControlFlowError::node(
                    consumer,
                    "",
                    format!("empty control input `{s}`"),
                ));
            }
            return Ok(Input::Control { node: rest.to_string() });
        }
        match s.rsplit_once(':') {
            Some((node, idx)) if !idx.is_empty() && idx.bytes().all(|b| b.is_ascii_digit()) => {
                let index = idx.parse::<usize>().map_err(|_| {
                    V1ControlFlowError::node(
                        consumer,
                        "",
                        format!("input `{s}` has an output index out of range"),
                    )
                })?;
                if node.is_empty() {
                    return Err(V1ControlFlowError::node(
                        consumer,
                        "",
                        format!("input `{s}` names no node"),
                    ));
                }
                Ok(Input::Data { node: node.to_string(), index })
            }
            _ if s.is_empty() => Err(V1ControlFlowError::node(consumer, "", "empty input name")),
            _ => Ok(Input::Data { node: s.to_string(), index: 0 }),
        }
    }

    pub(crate) fn node(&self) -> &str {
        match self {
            Input::Data { node, .. } | Input::Control { node } => node,
        }
    }
}

/// Formats a data reference the way GraphDef spells it (`name` for output 0).
pub(crate) fn data_ref(node: &str, index: usize) -> String {
    if index == 0 { node.to_string() } else { format!("{node}:{index}") }
}

/// A reference to one output of one node, by node position in `GraphDef.node`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Port {
    pub(crate) node: usize,
    pub(crate) index: usize,
}

/// Parsed inputs and consumer lists of a graph's nodes.
pub(crate) struct Index {
    pub(crate) by_name: HashMap<String, usize>,
    /// Per node: its parsed inputs, data ones resolved to ports.
    pub(crate) data_inputs: Vec<Vec<Port>>,
    pub(crate) control_inputs: Vec<Vec<usize>>,
    /// Per node: (consumer, input slot among the consumer's data inputs, output index used).
    pub(crate) data_consumers: Vec<Vec<(usize, usize, usize)>>,
    pub(crate) control_consumers: Vec<Vec<usize>>,
}

impl Index {
    pub(crate) fn build(nodes: &[NodeDef]) -> Result<Index, V1ControlFlowError> {
        let mut by_name = HashMap::with_capacity(nodes.len());
        for (i, n) in nodes.iter().enumerate() {
            if by_name.insert(n.name.clone(), i).is_some() {
                return Err(V1ControlFlowError::node(&n.name, &n.op, "two nodes have this name"));
            }
        }
        let mut data_inputs = Vec::with_capacity(nodes.len());
        let mut control_inputs = Vec::with_capacity(nodes.len());
        let mut data_consumers = vec![Vec::new(); nodes.len()];
        let mut control_consumers = vec![Vec::new(); nodes.len()];
        for (i, n) in nodes.iter().enumerate() {
            let mut data = Vec::new();
            let mut control = Vec::new();
            for s in &n.input {
                let input = Input::parse(s, &n.name)?;
                let Some(&src) = by_name.get(input.node()) else {
                    return Err(V1ControlFlowError::node(
                        &n.name,
                        &n.op,
                        format!("input `{s}` names a node that is not in the graph"),
                    ));
                };
                match input {
                    Input::Data { index, .. } => {
                        data_consumers[src].push((i, data.len(), index));
                        data.push(Port { node: src, index });
                    }
                    Input::Control { .. } => {
                        control_consumers[src].push(i);
                        control.push(src);
                    }
                }
            }
            data_inputs.push(data);
            control_inputs.push(control);
        }
        Ok(Index { by_name, data_inputs, control_inputs, data_consumers, control_consumers })
    }

    /// Consumers of one output: (consumer, data slot).
    pub(crate) fn consumers_of(&self, port: Port) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.data_consumers[port.node]
            .iter()
            .filter(move |(_, _, idx)| *idx == port.index)
            .map(|&(c, slot, _)| (c, slot))
    }
}

/// Attribute accessors; `None` when absent or of another kind.
pub(crate) fn attr<'a>(n: &'a NodeDef, key: &str) -> Option<&'a attr_value::Value> {
    n.attr.get(key).and_then(|a| a.value.as_ref())
}

pub(crate) fn attr_type(n: &NodeDef, key: &str) -> Option<i32> {
    match attr(n, key) {
        Some(attr_value::Value::Type(t)) => Some(*t),
        _ => None,
    }
}

pub(crate) fn attr_bool(n: &NodeDef, key: &str) -> Option<bool> {
    match attr(n, key) {
        Some(attr_value::Value::B(b)) => Some(*b),
        _ => None,
    }
}

pub(crate) fn attr_int(n: &NodeDef, key: &str) -> Option<i64> {
    match attr(n, key) {
        Some(attr_value::Value::I(i)) => Some(*i),
        _ => None,
    }
}

pub(crate) fn attr_string(n: &NodeDef, key: &str) -> Option<String> {
    match attr(n, key) {
        Some(attr_value::Value::S(s)) => Some(String::from_utf8_lossy(s.as_ref()).into_owned()),
        _ => None,
    }
}

pub(crate) fn attr_shape<'a>(n: &'a NodeDef, key: &str) -> Option<&'a TensorShapeProto> {
    match attr(n, key) {
        Some(attr_value::Value::Shape(s)) => Some(s),
        _ => None,
    }
}

pub(crate) fn type_attr(t: i32) -> AttrValue {
    AttrValue { value: Some(attr_value::Value::Type(t)) }
}

pub(crate) fn int_attr(i: i64) -> AttrValue {
    AttrValue { value: Some(attr_value::Value::I(i)) }
}

pub(crate) fn list_attr(list: attr_value::ListValue) -> AttrValue {
    AttrValue { value: Some(attr_value::Value::List(list)) }
}

/// A node with the given attributes; inputs in GraphDef spelling.
pub(crate) fn make_node(
    name: &str,
    op: &str,
    inputs: Vec<String>,
    attrs: Vec<(&str, AttrValue)>,
) -> NodeDef {
    NodeDef {
        name: name.to_string(),
        op: op.to_string(),
        input: inputs,
        attr: attrs.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        ..Default::default()
    }
}

/// Byte size of one element of a numeric DataType, for building zero constants.
pub(crate) fn dtype_size(t: i32) -> Option<usize> {
    Some(match t {
        1 | 3 | 22 => 4,       // float, int32, uint32
        2 | 9 | 23 => 8,       // double, int64, uint64
        4 | 6 | 10 => 1,       // uint8, int8, bool
        5 | 17 | 19 | 14 => 2, // int16, uint16, half, bfloat16
        8 => 8,                // complex64
        18 => 16,              // complex128
        _ => return None,
    })
}

/// A `Const` node holding `tensor`.
pub(crate) fn const_node(name: &str, tensor: TensorProto) -> NodeDef {
    let dtype = tensor.dtype;
    make_node(
        name,
        "Const",
        Vec::new(),
        vec![
            ("dtype", type_attr(dtype)),
            ("value", AttrValue { value: Some(attr_value::Value::Tensor(tensor)) }),
        ],
    )
}

/// An int32 tensor of the given shape with explicit little-endian content.
pub(crate) fn i32_tensor(dims: &[i64], values: &[i32]) -> TensorProto {
    let mut content = Vec::with_capacity(values.len() * 4);
    for v in values {
        content.extend_from_slice(&v.to_le_bytes());
    }
    TensorProto {
        dtype: DT_INT32,
        tensor_shape: Some(shape_proto(dims)),
        tensor_content: content.into(),
        ..Default::default()
    }
}

/// A scalar zero of a numeric dtype (all-zero bytes are zero for every numeric dtype).
pub(crate) fn zero_scalar(dtype: i32) -> Option<TensorProto> {
    let size = dtype_size(dtype)?;
    Some(TensorProto {
        dtype,
        tensor_shape: Some(shape_proto(&[])),
        tensor_content: vec![0u8; size].into(),
        ..Default::default()
    })
}

pub(crate) fn shape_proto(dims: &[i64]) -> TensorShapeProto {
    TensorShapeProto {
        dim: dims
            .iter()
            .map(|&size| crate::proto::tensor_shape_proto::Dim { size, name: String::new() })
            .collect(),
        unknown_rank: false,
    }
}

pub(crate) fn unknown_shape() -> TensorShapeProto {
    TensorShapeProto { dim: Vec::new(), unknown_rank: true }
}

/// Reads a small integer tensor (int32 or int64, any encoding TensorFlow writes): its values,
/// with TensorFlow's rule that a short value list repeats its last value up to the element
/// count, and an empty one means zeros.
pub(crate) fn int_tensor_values(t: &TensorProto) -> Option<Vec<i64>> {
    let dims: Vec<i64> = t.tensor_shape.as_ref().map(|s| s.dim.iter().map(|d| d.size).collect())?;
    let mut count: usize = 1;
    for d in &dims {
        count = count.checked_mul(usize::try_from(*d).ok()?)?;
    }
    if count > 1 << 16 {
        return None;
    }
    let mut values: Vec<i64> = match t.dtype {
        3 => {
            if !t.tensor_content.is_empty() {
                let bytes: &[u8] = t.tensor_content.as_ref();
                if bytes.len() != count.checked_mul(4)? {
                    return None;
                }
                bytes
                    .chunks_exact(4)
                    .map(|c| i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                    .collect()
            } else {
                t.int_val.iter().map(|&v| i64::from(v)).collect()
            }
        }
        9 => {
            if !t.tensor_content.is_empty() {
                let bytes: &[u8] = t.tensor_content.as_ref();
                if bytes.len() != count.checked_mul(8)? {
                    return None;
                }
                bytes
                    .chunks_exact(8)
                    .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                    .collect()
            } else {
                t.int64_val.clone()
            }
        }
        _ => return None,
    };
    if values.len() > count {
        return None;
    }
    let fill = values.last().copied().unwrap_or(0);
    values.resize(count, fill);
    Some(values)
}

/// Follows `Identity` chains from a port to the producing node, for constant lookups.
pub(crate) fn const_value<'a>(
    nodes: &'a [NodeDef],
    index: &Index,
    mut port: Port,
) -> Option<&'a TensorProto> {
    let mut seen = HashSet::new();
    loop {
        if !seen.insert(port.node) {
            return None;
        }
        let n = &nodes[port.node];
        match n.op.as_str() {
            "Const" if port.index == 0 => {
                return match attr(n, "value") {
                    Some(attr_value::Value::Tensor(t)) => Some(t),
                    _ => None,
                };
            }
            "Identity" if port.index == 0 => port = *index.data_inputs[port.node].first()?,
            _ => return None,
        }
    }
}

/// The dtype of output `index` of a node, from its attributes, for the ops whose output type
/// is one attribute (or fixed). `None` when it cannot be told without the op registry.
pub(crate) fn output_dtype(n: &NodeDef, index: usize) -> Option<i32> {
    match n.op.as_str() {
        "Const" | "Placeholder" | "PlaceholderWithDefault" | "VariableV2" => attr_type(n, "dtype"),
        "Cast" => attr_type(n, "DstT"),
        "Shape" | "Size" => attr_type(n, "out_type").or(Some(DT_INT32)),
        "Rank" => Some(DT_INT32),
        "Less" | "LessEqual" | "Greater" | "GreaterEqual" | "Equal" | "NotEqual" | "LogicalAnd"
        | "LogicalOr" | "LogicalNot" | "IsNan" | "IsInf" | "IsFinite" | "LoopCond" => Some(DT_BOOL),
        "Merge" | "RefMerge" if index == 1 => Some(DT_INT32),
        "ArgMax" | "ArgMin" => attr_type(n, "output_type"),
        "While" | "StatelessWhile" => list_type(n, "T", index),
        "If" | "StatelessIf" => list_type(n, "Tout", index),
        "GatherV2" | "ResourceGather" => attr_type(n, "Tparams"),
        "Split" | "SplitV" | "Unpack" | "Switch" | "RefSwitch" => attr_type(n, "T"),
        _ if index == 0 => attr_type(n, "T"),
        _ => None,
    }
}

fn list_type(n: &NodeDef, key: &str, index: usize) -> Option<i32> {
    match attr(n, key) {
        Some(attr_value::Value::List(l)) => l.r#type.get(index).copied(),
        _ => None,
    }
}
