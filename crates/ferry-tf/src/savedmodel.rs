//! SavedModel directories: `saved_model.pb` plus the `variables/` checkpoint.
//!
//! The signature (`serving_default` unless asked otherwise) names the input placeholders and
//! output tensors of the MetaGraph tagged `serve`. Its graph calls the traced functions through
//! `StatefulPartitionedCall`, passing variables as resource handles (`VarHandleOp`); inlining
//! (`flatten.rs`) turns the `ReadVariableOp`s into reads of those handles, and here each handle
//! becomes a constant holding the variable's checkpointed value.
//!
//! Which checkpoint entry belongs to a handle: a TF2 SavedModel lists, for each concrete
//! function in its object graph, the objects bound to its captured inputs (`bound_inputs`); the
//! trailing inputs of a call to that function are those variables. The checkpoint's own object
//! graph (`_CHECKPOINTABLE_OBJECT_GRAPH`, same node numbering) gives each variable object's
//! checkpoint key. A TF1 SavedModel has no object graph: its checkpoint keys are the variables'
//! names, which are the handles' `shared_name`s.

use crate::checkpoint::Bundle;
use crate::convert::{InputSpec, OutputSpec};
use crate::error::{Error, Result, graph_err};
use crate::flatten::TfGraph;
use crate::io::map_file;
use crate::proto::{self, attr_value::Value as AV};
use crate::tensor::shape_dims;
use prost::Message;
use std::collections::HashMap;
use std::path::Path;

/// A SavedModel signature resolved to a graph with its variables inlined.
pub struct SavedModelGraph {
    pub graph: TfGraph,
    pub inputs: Vec<InputSpec>,
    pub outputs: Vec<OutputSpec>,
}

const OBJECT_GRAPH_KEY: &str = "_CHECKPOINTABLE_OBJECT_GRAPH";

pub fn load(dir: &Path, signature: &str) -> Result<SavedModelGraph> {
    let pb = dir.join("saved_model.pb");
    let fmt = |msg: String| Error::Format { path: pb.clone(), msg };
    let sm = proto::SavedModel::decode(map_file(&pb)?)
        .map_err(|e| fmt(format!("not a SavedModel: {e}")))?;
    let mg = sm
        .meta_graphs
        .iter()
        .find(|m| m.meta_info_def.as_ref().is_some_and(|i| i.tags.iter().any(|t| t == "serve")))
        .or_else(|| sm.meta_graphs.first().filter(|_| sm.meta_graphs.len() == 1))
        .ok_or_else(|| fmt("no MetaGraph tagged \"serve\"".into()))?;
    let sig = mg.signature_def.get(signature).ok_or_else(|| {
        let have: Vec<&str> =
            mg.signature_def.keys().map(|k| k.as_str()).filter(|k| !k.starts_with("__")).collect();
        fmt(format!("no signature {signature:?}; the model has: {}", have.join(", ")))
    })?;
    let tensor_name = |key: &str, info: &proto::TensorInfo| -> Result<String> {
        match &info.encoding {
            Some(proto::tensor_info::Encoding::Name(n)) => Ok(n.clone()),
            _ => Err(graph_err(format!(
                "signature {signature}: {key} is a sparse or composite tensor, which is not supported"
            ))),
        }
    };
    let mut inputs = Vec::new();
    for (key, info) in &sig.inputs {
        inputs.push(InputSpec {
            tensor: tensor_name(key, info)?,
            shape: shape_dims(info.tensor_shape.as_ref()),
            name: Some(key.clone()),
        });
    }
    let mut outputs = Vec::new();
    for (key, info) in &sig.outputs {
        outputs.push(OutputSpec { tensor: tensor_name(key, info)?, name: Some(key.clone()) });
    }
    let graph_def = mg.graph_def.clone().unwrap_or_default();

    let handles: Vec<&proto::NodeDef> =
        graph_def.node.iter().filter(|n| n.op == "VarHandleOp").collect();
    let mut values = HashMap::new();
    if !handles.is_empty() {
        let prefix = dir.join("variables").join("variables");
        let mut bundle = Bundle::open(&prefix)?;
        let keys = checkpoint_keys(mg, &graph_def, &mut bundle)?;
        for h in handles {
            let shared = match h.attr.get("shared_name").and_then(|a| a.value.as_ref()) {
                Some(AV::S(s)) if !s.is_empty() => String::from_utf8_lossy(s).into_owned(),
                _ => h.name.clone(),
            };
            let key =
                keys.get(&h.name).cloned().or_else(|| bundle.contains(&shared).then_some(shared));
            if let Some(key) = key {
                values.insert(h.name.clone(), bundle.tensor(&key, &h.name)?);
            }
        }
    }
    let mut graph = TfGraph::from_graphdef(&graph_def)?;
    for n in &mut graph.nodes {
        if n.op == "VarHandleOp"
            && let Some(t) = values.remove(&n.name)
        {
            n.op = "Const".into();
            n.tensor = Some(t);
        }
    }
    Ok(SavedModelGraph { graph, inputs, outputs })
}

/// Handle node name -> checkpoint key, through the object graphs (TF2 SavedModels).
fn checkpoint_keys(
    mg: &proto::MetaGraphDef,
    g: &proto::GraphDef,
    bundle: &mut Bundle,
) -> Result<HashMap<String, String>> {
    let mut out = HashMap::new();
    let Some(objects) = &mg.object_graph_def else { return Ok(out) };
    if !bundle.contains(OBJECT_GRAPH_KEY) {
        return Ok(out);
    }
    let t = bundle.tensor(OBJECT_GRAPH_KEY, OBJECT_GRAPH_KEY)?;
    let raw = match &t.data {
        ferry_ir::TensorData::String(s) if s.len() == 1 => s[0].clone(),
        _ => {
            return Err(graph_err(format!(
                "checkpoint entry {OBJECT_GRAPH_KEY} is not one string"
            )));
        }
    };
    let ckpt = proto::TrackableObjectGraph::decode(raw)
        .map_err(|e| graph_err(format!("checkpoint entry {OBJECT_GRAPH_KEY}: {e}")))?;
    let key_of = |id: i32| -> Option<String> {
        let node = ckpt.nodes.get(usize::try_from(id).ok()?)?;
        node.attributes
            .iter()
            .find(|a| a.name == "VARIABLE_VALUE")
            .map(|a| a.checkpoint_key.clone())
    };
    for n in &g.node {
        let f = match n.attr.get("f").and_then(|a| a.value.as_ref()) {
            Some(AV::Func(f)) => &f.name,
            _ => continue,
        };
        let Some(cf) = objects.concrete_functions.get(f) else { continue };
        let data_inputs: Vec<&String> = n.input.iter().filter(|s| !s.starts_with('^')).collect();
        let Some(first) = data_inputs.len().checked_sub(cf.bound_inputs.len()) else { continue };
        for (input, &id) in data_inputs[first..].iter().zip(&cf.bound_inputs) {
            let handle = input.split(':').next().unwrap_or(input);
            if let Some(k) = key_of(id) {
                out.insert(handle.to_string(), k);
            }
        }
    }
    Ok(out)
}
