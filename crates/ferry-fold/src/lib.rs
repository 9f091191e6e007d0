//! Constant folding kernels: evaluate one ONNX node on constant IR tensors.
//!
//! [`evaluate`] runs the operators that constant and shape subgraphs are made of (shape
//! arithmetic, element-wise math, comparisons, reductions, data movement) on `ndarray` arrays and
//! returns IR tensors with raw little-endian data. It answers `Ok(None)` for anything it does not
//! fold (an unknown op, an element type a kernel does not handle, a result over the [`Budget`]),
//! so the caller leaves the node alone, and `Err` when the inputs are invalid for the operator.
//!
//! Kernels live one file per family: `shape` (Shape, Size, Identity, Reshape, Squeeze,
//! Unsqueeze, Flatten, ConstantOfShape, Cast, CastLike, Range), `movement` (Concat, Gather, Slice,
//! Expand, Tile, Transpose, Split, Pad), `elementwise` (arithmetic, comparisons, logic, Where,
//! unary math), `reduce` (Reduce*, ArgMax/ArgMin, CumSum, NonZero).
//!
//! Attributes a node leaves out take their defaults from the operator schema
//! (`ferry_ops::lookup`). Every size a kernel computes is checked arithmetic, and no kernel reads
//! or produces a tensor of more than `Budget::max_elements` elements.

mod array;
mod elementwise;
mod movement;
mod reduce;
mod shape;

use array::Arr;
use ferry_ir::{AttrValue, Node, Tensor};
use ferry_ops::{AttrDefault, OpSchema};

/// How large a tensor folding may read or make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// The most elements of any input decoded or output produced.
    pub max_elements: u64,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget { max_elements: 1_000_000 }
    }
}

/// The inputs are invalid for the operator (wrong types, shapes that do not fit, indices out of
/// range): running the model would fail at this node too.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{op}: {message}")]
pub struct FoldError {
    pub op: String,
    pub message: String,
}

/// Why a kernel did not produce outputs.
#[derive(Debug)]
pub(crate) enum Fail {
    /// Not folded: unknown op, unhandled element type or attribute value, over budget.
    Unsupported,
    /// The inputs are invalid for the op.
    Invalid(String),
}

pub(crate) type R<T> = Result<T, Fail>;

pub(crate) fn invalid<T>(msg: impl Into<String>) -> R<T> {
    Err(Fail::Invalid(msg.into()))
}

/// The operators [`evaluate`] has kernels for (default domain).
pub const SUPPORTED_OPS: &[&str] = &[
    "Abs",
    "Add",
    "And",
    "ArgMax",
    "ArgMin",
    "Cast",
    "CastLike",
    "Ceil",
    "Concat",
    "ConstantOfShape",
    "CumSum",
    "Div",
    "Equal",
    "Exp",
    "Expand",
    "Flatten",
    "Floor",
    "Gather",
    "Greater",
    "GreaterOrEqual",
    "Identity",
    "Less",
    "LessOrEqual",
    "Log",
    "Max",
    "Mean",
    "Min",
    "Mod",
    "Mul",
    "Neg",
    "NonZero",
    "Not",
    "Or",
    "Pad",
    "Pow",
    "Range",
    "Reciprocal",
    "ReduceMax",
    "ReduceMean",
    "ReduceMin",
    "ReduceProd",
    "ReduceSum",
    "Reshape",
    "Shape",
    "Size",
    "Slice",
    "Split",
    "Sqrt",
    "Squeeze",
    "Sub",
    "Sum",
    "Tile",
    "Transpose",
    "Unsqueeze",
    "Where",
    "Xor",
];

/// Evaluates `node` (of the default domain, at `opset`) on constant inputs, with the default
/// [`Budget`]. `inputs[i]` is `None` for an omitted optional input.
pub fn evaluate(
    node: &Node,
    opset: i64,
    inputs: &[Option<&Tensor>],
) -> Result<Option<Vec<Tensor>>, FoldError> {
    evaluate_with(node, opset, inputs, Budget::default())
}

/// [`evaluate`] with an explicit budget.
pub fn evaluate_with(
    node: &Node,
    opset: i64,
    inputs: &[Option<&Tensor>],
    budget: Budget,
) -> Result<Option<Vec<Tensor>>, FoldError> {
    if node.canonical_domain() != "" {
        return Ok(None);
    }
    let Some(schema) = ferry_ops::lookup("", &node.op_type, opset) else {
        return Ok(None);
    };
    let cx = Cx { node, schema, opset, inputs, budget };
    let result = match node.op_type.as_str() {
        "Shape" | "Size" | "Identity" | "Reshape" | "Squeeze" | "Unsqueeze" | "Flatten"
        | "ConstantOfShape" | "Cast" | "CastLike" | "Range" => shape::run(&cx),
        "Concat" | "Gather" | "Slice" | "Expand" | "Tile" | "Transpose" | "Split" | "Pad" => {
            movement::run(&cx)
        }
        "ReduceSum" | "ReduceProd" | "ReduceMax" | "ReduceMin" | "ReduceMean" | "ArgMax"
        | "ArgMin" | "CumSum" | "NonZero" => reduce::run(&cx),
        _ => elementwise::run(&cx),
    };
    match result {
        Ok(outs) => {
            if outs.iter().any(|a| a.len() as u64 > budget.max_elements) {
                return Ok(None);
            }
            Ok(Some(outs.iter().map(array::encode).collect()))
        }
        Err(Fail::Unsupported) => Ok(None),
        Err(Fail::Invalid(message)) => Err(FoldError { op: node.op_type.clone(), message }),
    }
}

/// What a kernel sees: the node, its schema, the inputs and the budget.
pub(crate) struct Cx<'a> {
    pub node: &'a Node,
    pub schema: &'static OpSchema,
    pub opset: i64,
    pub inputs: &'a [Option<&'a Tensor>],
    pub budget: Budget,
}

impl Cx<'_> {
    pub fn op(&self) -> &str {
        &self.node.op_type
    }

    /// Number of input slots given (present or omitted).
    pub fn n_inputs(&self) -> usize {
        self.inputs.len()
    }

    pub fn tensor(&self, i: usize) -> Option<&Tensor> {
        self.inputs.get(i).copied().flatten()
    }

    /// A required input.
    pub fn req_tensor(&self, i: usize) -> R<&Tensor> {
        self.tensor(i).ok_or_else(|| Fail::Invalid(format!("input {i} is missing")))
    }

    /// A required input, decoded.
    pub fn arr(&self, i: usize) -> R<Arr> {
        array::decode(self.req_tensor(i)?, self.budget.max_elements)
    }

    /// An optional input, decoded.
    pub fn opt_arr(&self, i: usize) -> R<Option<Arr>> {
        self.tensor(i).map(|t| array::decode(t, self.budget.max_elements)).transpose()
    }

    /// An optional integer input (shape, axes, pads...) as i64s.
    pub fn opt_ints(&self, i: usize) -> R<Option<Vec<i64>>> {
        self.opt_arr(i)?.map(|a| a.to_i64s()).transpose()
    }

    /// Number of outputs the node declares.
    pub fn n_outputs(&self) -> usize {
        self.node.outputs().len()
    }

    /// Element count of `shape`, checked, refusing shapes over budget.
    pub fn check_shape(&self, shape: &[usize]) -> R<usize> {
        let n = shape.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d as u64));
        match n {
            Some(n) if n <= self.budget.max_elements => Ok(n as usize),
            _ => Err(Fail::Unsupported),
        }
    }

    fn attr_value(&self, name: &str) -> Option<&AttrValue> {
        self.node
            .attr(name)
            .filter(|a| !(matches!(a.value, AttrValue::Empty) && a.ref_attr_name.is_some()))
            .map(|a| &a.value)
    }

    fn attr_ref_unresolved(&self, name: &str) -> bool {
        self.node.attr(name).is_some_and(|a| a.ref_attr_name.is_some())
    }

    fn default(&self, name: &str) -> Option<&'static AttrDefault> {
        self.schema.attribute(name).and_then(|a| a.default.as_ref())
    }

    /// An int attribute, or its schema default.
    pub fn attr_int(&self, name: &str) -> R<Option<i64>> {
        if self.attr_ref_unresolved(name) {
            return Err(Fail::Unsupported);
        }
        match self.attr_value(name) {
            Some(AttrValue::Int(i)) => Ok(Some(*i)),
            Some(_) => invalid(format!("attribute '{name}' is not an int")),
            None => Ok(match self.default(name) {
                Some(AttrDefault::Int(i)) => Some(*i),
                _ => None,
            }),
        }
    }

    pub fn attr_int_or(&self, name: &str, fallback: i64) -> R<i64> {
        Ok(self.attr_int(name)?.unwrap_or(fallback))
    }

    /// A float attribute, or its schema default.
    pub fn attr_float(&self, name: &str) -> R<Option<f32>> {
        if self.attr_ref_unresolved(name) {
            return Err(Fail::Unsupported);
        }
        match self.attr_value(name) {
            Some(AttrValue::Float(f)) => Ok(Some(*f)),
            Some(_) => invalid(format!("attribute '{name}' is not a float")),
            None => Ok(self.default(name).and_then(AttrDefault::as_f32)),
        }
    }

    /// An ints attribute, or its schema default.
    pub fn attr_ints(&self, name: &str) -> R<Option<Vec<i64>>> {
        if self.attr_ref_unresolved(name) {
            return Err(Fail::Unsupported);
        }
        match self.node.attr(name) {
            Some(a) => match a.as_ints() {
                Some(v) => Ok(Some(v.to_vec())),
                None => invalid(format!("attribute '{name}' is not a list of ints")),
            },
            None => Ok(match self.default(name) {
                Some(AttrDefault::Ints(v)) => Some(v.to_vec()),
                _ => None,
            }),
        }
    }

    /// A string attribute, or its schema default.
    pub fn attr_str(&self, name: &str) -> R<Option<String>> {
        if self.attr_ref_unresolved(name) {
            return Err(Fail::Unsupported);
        }
        match self.attr_value(name) {
            Some(AttrValue::String(s)) => match std::str::from_utf8(s) {
                Ok(s) => Ok(Some(s.to_string())),
                Err(_) => invalid(format!("attribute '{name}' is not UTF-8")),
            },
            Some(_) => invalid(format!("attribute '{name}' is not a string")),
            None => Ok(match self.default(name) {
                Some(AttrDefault::String(s)) => Some((*s).to_string()),
                _ => None,
            }),
        }
    }

    /// A tensor attribute.
    pub fn attr_tensor(&self, name: &str) -> R<Option<&Tensor>> {
        if self.attr_ref_unresolved(name) {
            return Err(Fail::Unsupported);
        }
        match self.attr_value(name) {
            Some(AttrValue::Tensor(t)) => Ok(Some(t)),
            Some(_) => invalid(format!("attribute '{name}' is not a tensor")),
            None => Ok(None),
        }
    }
}

/// Normalizes a possibly negative axis against `rank` (valid: `-rank..rank`).
pub(crate) fn norm_axis(axis: i64, rank: usize) -> R<usize> {
    let r = rank as i64;
    if axis < -r || axis >= r {
        return invalid(format!("axis {axis} is out of range for rank {rank}"));
    }
    Ok(if axis < 0 { (axis + r) as usize } else { axis as usize })
}

/// Normalizes a list of axes, refusing duplicates.
pub(crate) fn norm_axes(axes: &[i64], rank: usize) -> R<Vec<usize>> {
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        let a = norm_axis(a, rank)?;
        if out.contains(&a) {
            return invalid(format!("axis {a} is repeated"));
        }
        out.push(a);
    }
    Ok(out)
}

/// Converts a dims list (non-negative) to usize, refusing negative entries.
pub(crate) fn to_shape(dims: &[i64]) -> R<Vec<usize>> {
    dims.iter()
        .map(|&d| {
            usize::try_from(d).map_err(|_| Fail::Invalid(format!("dimension {d} is negative")))
        })
        .collect()
}

#[cfg(test)]
mod tests;
