//! tract-onnx as the reference runtime.
//!
//! `research/tract-as-reference.md` measured tract 0.23.9 on the corpus and the ONNX backend
//! tests; what follows comes from there:
//!
//! - the model is parsed with value info and output shapes ignored, and every input gets a
//!   concrete fact: with the declared facts tract refuses half the corpus (`Impossible to unify
//!   Sym(batch) with Val(4)`);
//! - the optimized path (`into_optimized`) runs conv-heavy models 5-10x faster but fails on a few
//!   models where the plain typed path works, so it falls back to the typed path; above
//!   [`crate::Options::large_graph`] nodes it goes straight to the typed path, because tract's
//!   optimizer takes tens of seconds to minutes there (a 22,600-node transformer: 21 s);
//! - tract computes some operators wrongly *without an error* ([`known_wrong`]); a model that
//!   uses one is not checked by tract at all, since its output would prove nothing.

use crate::shapes::InputSpec;
use crate::tensor::{Data, HostTensor};
use crate::{Runner, Subject};
use ferry_ir::{AttrValue, DataType, Graph, Model, Node, Type};
use prost::Message;
use tract_onnx::prelude::*;

/// The first node whose operator tract is known to compute wrongly without an error, described,
/// or `None`. The list is measured, not guessed: `tests/tract_known_wrong.rs` runs tract on the
/// ONNX backend node tests (those of onnx 1.22 and the newer ones in the shared corpus) and
/// fails when tract reports success with outputs that disagree with the recorded ones on a
/// model this function does not flag. The cases:
///
/// - `LSTM`, `GRU`, `RNN` with `direction` `reverse` (`bidirectional` is right);
/// - `SpaceToDepth` in `CRD` mode (tract ignores `mode`);
/// - `Attention` (opset 23+) with a local window (`left_window_size` or `right_window_size` set
///   to 0 or more), or causal (`is_causal`) with a `past_key` input;
/// - `Swish` with an `alpha` other than 1 (tract ignores it);
/// - `Celu` on float16 (or on an input whose element type the file does not declare);
/// - `BitShift`: wrong only for shift amounts that are negative or at least the bit width, but
///   those are data, so every `BitShift` is listed.
///
/// Not detectable from the graph, so not on the list: `ReduceMax` over a slice that is all
/// `-inf` gives `-f32::MAX` instead of `-inf`, and `Attention` averages a fully masked row where
/// it should give 0 (real models meet both only in fully masked attention rows; a rewrite that
/// computes them right then shows as a mismatch, not as a false pass).
pub fn known_wrong(model: &Model) -> Option<String> {
    let mut found = None;
    model.visit_graphs(&mut |_, g| {
        if found.is_none() {
            found = g.nodes().find_map(|(_, n)| wrong_node(g, n));
        }
    });
    found
}

fn wrong_node(g: &Graph, n: &Node) -> Option<String> {
    if !n.canonical_domain().is_empty() {
        return None;
    }
    let label = || n.label();
    let string_attr = |name: &str| match n.attr(name).map(|a| &a.value) {
        Some(AttrValue::String(s)) => Some(String::from_utf8_lossy(s).into_owned()),
        _ => None,
    };
    match n.op_type.as_str() {
        "LSTM" | "GRU" | "RNN" => match string_attr("direction").as_deref() {
            None | Some("forward") | Some("bidirectional") => None,
            Some(d) => Some(format!("{} with direction={d}", label())),
        },
        "SpaceToDepth" if string_attr("mode").as_deref() == Some("CRD") => {
            Some(format!("{} in CRD mode", label()))
        }
        "Attention" => {
            let window = ["left_window_size", "right_window_size"]
                .iter()
                .any(|w| matches!(n.attr(w).map(|a| &a.value), Some(AttrValue::Int(i)) if *i >= 0));
            let causal = matches!(n.attr("is_causal").map(|a| &a.value), Some(AttrValue::Int(1)));
            let past = n.inputs().get(4).is_some_and(Option::is_some);
            if window {
                Some(format!("{} with a local window", label()))
            } else if causal && past {
                Some(format!("{} causal with past key/values", label()))
            } else {
                None
            }
        }
        "Swish" => match n.attr("alpha").map(|a| &a.value) {
            Some(AttrValue::Float(a)) if *a != 1.0 => Some(format!("{} with alpha={a}", label())),
            _ => None,
        },
        "Celu" => {
            let elem = n.inputs().first().copied().flatten().and_then(|v| {
                g.value(v).info.ty.as_ref().and_then(Type::as_tensor).and_then(|t| t.elem)
            });
            match elem {
                Some(DataType::FLOAT) | Some(DataType::DOUBLE) => None,
                _ => Some(format!("{} on float16 or undeclared input type", label())),
            }
        }
        "BitShift" => Some(label()),
        _ => None,
    }
}

/// Which of tract's paths a runner uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Path {
    Optimized,
    Typed,
}

pub(crate) struct TractRunner {
    plan: Arc<TypedRunnableModel>,
    path: Path,
}

impl Runner for TractRunner {
    fn label(&self) -> String {
        match self.path {
            Path::Optimized => "tract".into(),
            Path::Typed => "tract (typed path)".into(),
        }
    }

    fn run(&self, inputs: &[HostTensor]) -> Result<Vec<HostTensor>, String> {
        let values: TVec<TValue> =
            inputs.iter().map(to_tract).collect::<Result<Vec<_>, _>>()?.into_iter().collect();
        let outs = self.plan.run(values).map_err(|e| brief(&e))?;
        outs.iter().map(|v| from_tract(v)).collect()
    }
}

/// Runs `subject` in tract on one input set (fed inputs in graph order), *ignoring*
/// [`known_wrong`]: for measuring that list against expected outputs (the ONNX backend tests),
/// never for checking a model.
pub fn run_ignoring_known_wrong(
    subject: Subject,
    inputs: &[HostTensor],
) -> Result<Vec<HostTensor>, String> {
    let specs = match crate::input_specs(subject.model, &Default::default()) {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err(e),
        Err(e) => return Err(e.to_string()),
    };
    if specs.len() != inputs.len() {
        return Err(format!("{} inputs given, the model has {}", inputs.len(), specs.len()));
    }
    let specs: Vec<InputSpec> = specs
        .into_iter()
        .zip(inputs)
        .map(|(s, t)| InputSpec { shape: t.shape.clone(), elem: t.data.elem_type(), ..s })
        .collect();
    crate::guarded(|| build(&subject, &specs, usize::MAX)?.run(inputs))
}

/// Parses `subject` into a runnable tract plan for inputs of these shapes, or says why not
/// (including that tract is known to compute one of its operators wrongly).
pub(crate) fn prepare(
    subject: &Subject,
    inputs: &[InputSpec],
    large_graph: usize,
) -> Result<TractRunner, String> {
    if let Some(op) = known_wrong(subject.model) {
        return Err(format!("tract is known to compute {op} wrongly"));
    }
    build(subject, inputs, large_graph)
}

fn build(
    subject: &Subject,
    inputs: &[InputSpec],
    large_graph: usize,
) -> Result<TractRunner, String> {
    let bytes = ferry_onnx::to_bytes(subject.model).map_err(|e| e.to_string())?;
    let proto = tract_onnx::pb::ModelProto::decode(bytes.as_slice())
        .map_err(|e| format!("tract cannot decode the model: {e}"))?;
    drop(bytes);
    let onnx = tract_onnx::onnx().with_ignore_value_info(true).with_ignore_output_shapes(true);
    let dir = subject.dir.and_then(|d| d.to_str());
    let parsed = onnx.parse(&proto, dir).map_err(|e| brief(&e))?;
    drop(proto);
    if !parsed.unresolved_inputs.is_empty() {
        return Err(format!("unresolved inputs {:?}", parsed.unresolved_inputs));
    }
    let mut model = parsed.model;
    let sources = model.input_outlets().map_err(|e| brief(&e))?.to_vec();
    if sources.len() != inputs.len() {
        return Err(format!("tract sees {} inputs, the model {}", sources.len(), inputs.len()));
    }
    for (i, (outlet, spec)) in sources.iter().zip(inputs).enumerate() {
        let name = &model.node(outlet.node).name;
        if name != &spec.name {
            return Err(format!("tract's input {i} is {name}, the model's {}", spec.name));
        }
        let dt = datum_type(spec.elem)
            .ok_or_else(|| format!("input {}: tract has no {:?}", spec.name, spec.elem))?;
        let fact = InferenceFact::dt_shape(dt, spec.shape.clone());
        model.set_input_fact(i, fact).map_err(|e| brief(&e))?;
    }
    let typed = model.into_typed().map_err(|e| brief(&e))?;
    let nodes = node_count(subject.model);
    if nodes <= large_graph {
        let optimized = typed.clone().into_optimized().and_then(|m| m.into_runnable());
        if let Ok(plan) = optimized {
            return Ok(TractRunner { plan, path: Path::Optimized });
        }
    }
    let plan = typed.into_runnable().map_err(|e| brief(&e))?;
    Ok(TractRunner { plan, path: Path::Typed })
}

/// Nodes in every graph of the model (subgraphs included).
fn node_count(model: &Model) -> usize {
    let mut n = 0;
    model.visit_graphs(&mut |_, g| n += g.node_count());
    n
}

/// tract's error in one line: the outermost context and the root cause.
fn brief(e: &anyhow_like::Error) -> String {
    let top = e.to_string();
    let root = e.root_cause().to_string();
    let s = if root == top { top } else { format!("{top}: {root}") };
    crate::shorten(&s)
}

/// tract's error type (anyhow's, re-exported by tract).
mod anyhow_like {
    pub use tract_onnx::prelude::TractError as Error;
}

fn datum_type(e: DataType) -> Option<DatumType> {
    Some(match e {
        DataType::FLOAT => DatumType::F32,
        DataType::DOUBLE => DatumType::F64,
        DataType::FLOAT16 => DatumType::F16,
        DataType::INT8 => DatumType::I8,
        DataType::INT16 => DatumType::I16,
        DataType::INT32 => DatumType::I32,
        DataType::INT64 => DatumType::I64,
        DataType::UINT8 => DatumType::U8,
        DataType::UINT16 => DatumType::U16,
        DataType::UINT32 => DatumType::U32,
        DataType::UINT64 => DatumType::U64,
        DataType::BOOL => DatumType::Bool,
        DataType::STRING => DatumType::String,
        _ => return None,
    })
}

fn to_tract(t: &HostTensor) -> Result<TValue, String> {
    let s = &t.shape;
    let r = match &t.data {
        Data::F16(v) => Tensor::from_shape(s, v),
        Data::F32(v) => Tensor::from_shape(s, v),
        Data::F64(v) => Tensor::from_shape(s, v),
        Data::I8(v) => Tensor::from_shape(s, v),
        Data::I16(v) => Tensor::from_shape(s, v),
        Data::I32(v) => Tensor::from_shape(s, v),
        Data::I64(v) => Tensor::from_shape(s, v),
        Data::U8(v) => Tensor::from_shape(s, v),
        Data::U16(v) => Tensor::from_shape(s, v),
        Data::U32(v) => Tensor::from_shape(s, v),
        Data::U64(v) => Tensor::from_shape(s, v),
        Data::Bool(v) => Tensor::from_shape(s, v),
        Data::Str(v) => tract_ndarray::ArrayD::from_shape_vec(s.clone(), v.clone())
            .map(Tensor::from)
            .map_err(|e| TractError::msg(e.to_string())),
    };
    r.map(|t| t.into_tvalue()).map_err(|e| brief(&e))
}

fn from_tract(t: &Tensor) -> Result<HostTensor, String> {
    fn slice<T: Datum + Clone>(t: &Tensor) -> Result<Vec<T>, String> {
        let view = t.try_as_plain_ram().map_err(|e| brief(&e))?;
        view.as_slice::<T>().map(<[T]>::to_vec).map_err(|e| brief(&e))
    }
    let data = match t.datum_type().unquantized() {
        DatumType::F16 => Data::F16(slice(t)?),
        DatumType::F32 => Data::F32(slice(t)?),
        DatumType::F64 => Data::F64(slice(t)?),
        DatumType::I8 => Data::I8(slice(t)?),
        DatumType::I16 => Data::I16(slice(t)?),
        DatumType::I32 => Data::I32(slice(t)?),
        DatumType::I64 => Data::I64(slice(t)?),
        DatumType::U8 => Data::U8(slice(t)?),
        DatumType::U16 => Data::U16(slice(t)?),
        DatumType::U32 => Data::U32(slice(t)?),
        DatumType::U64 => Data::U64(slice(t)?),
        DatumType::Bool => Data::Bool(slice(t)?),
        DatumType::String => Data::Str(slice(t)?),
        DatumType::TDim => {
            let ints = t.cast_to::<i64>().map_err(|e| brief(&e))?;
            Data::I64(slice(&ints)?)
        }
        other => return Err(format!("tract produced a {other:?} tensor")),
    };
    Ok(HostTensor { shape: t.shape().to_vec(), data })
}
