//! Building a `FunctionDef` from a set of GraphDef nodes.
//!
//! Function bodies do not name tensors `node:k` as graphs do: an argument is named by itself
//! and a node output as `node:output_arg:index`, where `output_arg` is the name of the output
//! argument in the op's registered `OpDef` and `index` counts within that argument. Readers
//! (TensorFlow's function instantiation, ferry's own flattener) need the argument name to find
//! the flat output, so [`output_arg`] knows the output arguments of the ops that appear in
//! loop and branch bodies.

use std::collections::{HashMap, HashSet};

use crate::proto::{FunctionDef, NodeDef, OpDef, op_def::ArgDef};

use super::V1ControlFlowError;
use super::graph::{Index, Input, Port};

/// Where a function argument or result comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    Arg(usize),
    Port(Port),
}

/// What goes into one function.
pub(crate) struct FunctionSpec<'a> {
    pub(crate) name: String,
    /// (name, dtype) per argument.
    pub(crate) args: Vec<(String, i32)>,
    /// (name, dtype, source) per result.
    pub(crate) rets: Vec<(String, i32, Source)>,
    /// Graph nodes copied into the body, in graph order.
    pub(crate) members: &'a [usize],
    /// Graph ports that become arguments inside the body.
    pub(crate) port_args: &'a HashMap<Port, usize>,
    /// What the function stands for, for error messages.
    pub(crate) what: &'a str,
}

pub(crate) fn build_function(
    nodes: &[NodeDef],
    index: &Index,
    spec: &FunctionSpec<'_>,
) -> Result<FunctionDef, V1ControlFlowError> {
    let member_set: HashSet<usize> = spec.members.iter().copied().collect();
    let reference = |p: Port, user: &str| -> Result<String, V1ControlFlowError> {
        if let Some(&a) = spec.port_args.get(&p) {
            return Ok(spec.args[a].0.clone());
        }
        if member_set.contains(&p.node) {
            let n = &nodes[p.node];
            let (arg, idx) = output_arg(&n.op, p.index);
            return Ok(format!("{}:{arg}:{idx}", n.name));
        }
        Err(V1ControlFlowError::Graph(format!(
            "{}: `{user}` reads `{}:{}`, which is neither computed inside nor passed in",
            spec.what, nodes[p.node].name, p.index
        )))
    };
    let mut body = Vec::with_capacity(spec.members.len());
    for &m in spec.members {
        let n = &nodes[m];
        let mut copy = n.clone();
        copy.input.clear();
        for s in &n.input {
            match Input::parse(s, &n.name)? {
                Input::Data { node, index: k } => {
                    let src = index.by_name[&node];
                    copy.input.push(reference(Port { node: src, index: k }, &n.name)?);
                }
                Input::Control { node } => {
                    // Control edges among body nodes keep their order; edges from the loop or
                    // branch structure (Switch, Merge, Enter, pivots) only gated execution,
                    // which the function call itself now does.
                    let src = index.by_name[&node];
                    if member_set.contains(&src) {
                        copy.input.push(format!("^{node}"));
                    }
                }
            }
        }
        body.push(copy);
    }
    let mut ret = std::collections::BTreeMap::new();
    for (name, _, source) in &spec.rets {
        let r = match *source {
            Source::Arg(a) => spec.args[a].0.clone(),
            Source::Port(p) => reference(p, name)?,
        };
        ret.insert(name.clone(), r);
    }
    let arg_def = |(name, dtype): (&String, i32)| ArgDef {
        name: name.clone(),
        r#type: dtype,
        ..Default::default()
    };
    let signature = OpDef {
        name: spec.name.clone(),
        input_arg: spec.args.iter().map(|(n, t)| arg_def((n, *t))).collect(),
        output_arg: spec.rets.iter().map(|(n, t, _)| arg_def((n, *t))).collect(),
        ..Default::default()
    };
    Ok(FunctionDef {
        signature: Some(signature),
        node_def: body,
        ret: ret.into_iter().collect(),
        ..Default::default()
    })
}

/// The output argument holding flat output `flat` of `op`, and the index within it.
///
/// Ops with several output arguments are listed with all of them; for ops with one output
/// argument (a tensor or a list) only its name matters and the index is the flat index. The
/// names are those of TensorFlow's op registry (`tf.raw_ops` documents them). An op not listed
/// is assumed to have one output argument named `output`, the most common name; ferry's reader
/// resolves single-argument ops by position, so only TensorFlow itself would notice.
pub(crate) fn output_arg(op: &str, flat: usize) -> (&'static str, usize) {
    let multi: &[&'static str] = match op {
        "FusedBatchNorm" | "FusedBatchNormV2" | "FusedBatchNormV3" => &[
            "y",
            "batch_mean",
            "batch_variance",
            "reserve_space_1",
            "reserve_space_2",
            "reserve_space_3",
        ],
        "Unique" => &["y", "idx"],
        "UniqueWithCounts" => &["y", "idx", "count"],
        "TopKV2" | "TopK" => &["values", "indices"],
        "Switch" | "RefSwitch" => &["output_false", "output_true"],
        "Merge" | "RefMerge" => &["output", "value_index"],
        "BroadcastGradientArgs" => &["r0", "r1"],
        "TensorArrayV3" => &["handle", "flow"],
        "LSTMBlockCell" => &["i", "cs", "f", "o", "ci", "co", "h"],
        "GRUBlockCell" => &["r", "u", "c", "h"],
        _ => &[],
    };
    if !multi.is_empty() {
        // Every listed argument is a single tensor; past the end there is nothing to name, and
        // the reader reports the bad reference.
        let last = multi.len() - 1;
        return (multi[flat.min(last)], flat.saturating_sub(last));
    }
    let single = match op {
        "MatMul" | "SparseMatMul" => "product",
        "Add" | "AddV2" | "Sub" | "Mul" | "Div" | "RealDiv" | "FloorDiv" | "FloorMod"
        | "TruncateDiv" | "TruncateMod" | "Mod" | "Maximum" | "Minimum" | "Pow"
        | "SquaredDifference" | "Less" | "LessEqual" | "Greater" | "GreaterEqual" | "Equal"
        | "NotEqual" | "LogicalAnd" | "LogicalOr" | "DivNoNan" | "MulNoNan" | "Atan2"
        | "BitwiseAnd" | "BitwiseOr" | "BitwiseXor" | "Xdivy" | "Xlogy" => "z",
        "Sigmoid" | "Tanh" | "Exp" | "Expm1" | "Log" | "Log1p" | "Neg" | "Abs" | "Sqrt"
        | "Rsqrt" | "Square" | "Reciprocal" | "Inv" | "Floor" | "Ceil" | "Round" | "Rint"
        | "Sin" | "Cos" | "Tan" | "Asin" | "Acos" | "Atan" | "Sinh" | "Cosh" | "Asinh"
        | "Acosh" | "Atanh" | "Erf" | "Erfc" | "Sign" | "Cast" | "Transpose" | "ZerosLike"
        | "OnesLike" | "LogicalNot" | "IsNan" | "IsInf" | "IsFinite" | "Invert" | "Bitcast" => "y",
        "Relu" | "Relu6" | "Elu" | "Selu" | "LeakyRelu" | "Softplus" | "Softsign" => "activations",
        "Softmax" => "softmax",
        "LogSoftmax" => "logsoftmax",
        "AddN" => "sum",
        "Where" => "index",
        "Cumsum" | "Cumprod" => "out",
        "TensorListGetItem" => "item",
        "TensorListSetItem" | "TensorListFromTensor" | "TensorListPushBack" => "output_handle",
        "TensorListReserve" | "EmptyTensorList" => "handle",
        "TensorListStack" | "TensorListGather" => "tensor",
        "TensorListLength" => "length",
        "TensorArrayReadV3" | "TensorArrayGatherV3" => "value",
        "TensorArrayWriteV3" | "TensorArrayScatterV3" => "flow_out",
        "TensorArraySizeV3" => "size",
        "Conv2DBackpropInput" | "Conv2D" | "DepthwiseConv2dNative" | "MaxPool" | "AvgPool" => {
            "output"
        }
        _ => "output",
    };
    (single, flat)
}
