//! The serving signature of a model: the tensors a client sends and receives.
//!
//! Both the Open Inference Protocol and Triton describe a model by its inputs and outputs only,
//! each a dense tensor with an element type and a shape whose unknown dims are `-1`. This module
//! extracts exactly that from the IR and refuses, naming the tensor, whatever has no such
//! description (sequences, maps, optionals, sparse tensors, undeclared ranks). The element-type
//! tables differ per format and live in [`crate::datatype`].

use crate::error::{Error, Result, Role};
use ferry_ir::{DataType, DimValue, Graph, Model, TypeKind, ValueId};

/// What to extract.
#[derive(Clone, Debug, Default)]
pub struct SignatureOptions {
    /// Also list graph inputs that have an initializer. ONNX lets an initializer double as an
    /// input whose value is a default the caller may override; servers normally do not expose
    /// such inputs (ONNX Runtime treats them as constants unless fed), so they are left out
    /// unless asked for.
    pub include_initializer_inputs: bool,
}

/// One input or output as a server sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorSpec {
    pub name: String,
    pub role: Role,
    /// The element type; the format decides whether it has a name for it.
    pub elem: DataType,
    /// The declared dims, symbols and unknowns included.
    pub dims: Vec<DimValue>,
}

/// The inputs and outputs of a model's main graph, in graph order.
#[derive(Clone, Debug, PartialEq)]
pub struct Signature {
    pub inputs: Vec<TensorSpec>,
    pub outputs: Vec<TensorSpec>,
}

impl TensorSpec {
    /// The shape with every dim that is not a known size written as `-1`, the convention both
    /// the Open Inference Protocol and Triton use for "any size".
    pub fn shape(&self) -> Vec<i64> {
        self.dims
            .iter()
            .map(|d| match d {
                DimValue::Known(n) => *n,
                DimValue::Symbol(_) | DimValue::Unknown => -1,
            })
            .collect()
    }

    pub(crate) fn refuse(&self, reason: impl Into<String>) -> Error {
        Error::tensor(self.role, &self.name, reason)
    }
}

/// Extracts the serving signature of the main graph.
pub fn signature(model: &Model, opts: &SignatureOptions) -> Result<Signature> {
    let g = model.graph.as_ref().ok_or(Error::NoGraph)?;
    let inputs = g
        .inputs()
        .iter()
        .filter(|&&v| opts.include_initializer_inputs || g.value(v).initializer.is_none())
        .map(|&v| spec(g, v, Role::Input))
        .collect::<Result<Vec<_>>>()?;
    let outputs =
        g.outputs().iter().map(|&v| spec(g, v, Role::Output)).collect::<Result<Vec<_>>>()?;
    Ok(Signature { inputs, outputs })
}

fn spec(g: &Graph, v: ValueId, role: Role) -> Result<TensorSpec> {
    let value = g.value(v);
    let name = value.name.as_str();
    let refuse = |reason: String| Error::tensor(role, name, reason);
    let ty = value.ty().ok_or_else(|| refuse("has no declared type".into()))?;
    let tensor = match &ty.kind {
        Some(TypeKind::Tensor(t)) => t,
        None => return Err(refuse("has no declared type".into())),
        Some(TypeKind::SparseTensor(_)) => {
            return Err(refuse(format!(
                "is a sparse tensor ({ty}); serving metadata describes dense tensors only"
            )));
        }
        Some(kind) => {
            let zipmap = matches!(kind, TypeKind::Sequence(Some(inner))
                if matches!(inner.kind, Some(TypeKind::Map { .. })));
            let hint = if zipmap {
                " (a sequence of maps is what ZipMap produces: drop the ZipMap so the model \
                 outputs the probability tensor)"
            } else {
                ""
            };
            return Err(refuse(format!(
                "has type {ty}, which is not a tensor; serving metadata describes tensors only{hint}"
            )));
        }
    };
    let elem = tensor.elem.ok_or_else(|| refuse("has no declared element type".into()))?;
    let shape = tensor.shape.as_ref().ok_or_else(|| {
        refuse(format!(
            "has type {ty} with no shape, so its rank is unknown; serving metadata needs the rank \
             (declare the shape, with symbolic dims where sizes vary)"
        ))
    })?;
    let mut dims = Vec::with_capacity(shape.dims.len());
    for (i, d) in shape.dims.iter().enumerate() {
        dims.push(match d.value {
            // Some exporters (paddle2onnx among them) write -1 for "any size", the same
            // convention the serving formats use; it means an unknown dim, not a size.
            DimValue::Known(-1) => DimValue::Unknown,
            DimValue::Known(n) if n < 0 => {
                return Err(refuse(format!("dim {i} is {n}; a declared size cannot be negative")));
            }
            ref v => v.clone(),
        });
    }
    Ok(TensorSpec { name: name.to_string(), role, elem, dims })
}
