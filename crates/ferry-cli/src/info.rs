//! `ferry info MODEL [--json]`: what is in a model, without reading its weights.
//!
//! The counts follow what a user computes with the onnx package: `nodes.top` is
//! `len(graph.node)`, `nodes.total` adds every node of every nested subgraph (function bodies
//! are counted apart), and `parameters` is the element count of the main graph's initializers
//! (dense ones by their dims, sparse ones by their dense shape).

use ferry::ir::{DimValue, Graph, Initializer, Model, TensorData, Type, TypeKind, ValueId};
use ferry::onnx::{self, LoadOptions};
use serde_json::{Map, Value as Json, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

pub fn run(path: &Path, as_json: bool) -> Result<(), onnx::Error> {
    let loaded = onnx::load_with(path, &LoadOptions::default())?;
    let summary = summarize(&loaded.model, &loaded.warnings);
    if as_json {
        let mut obj = summary;
        if let Json::Object(m) = &mut obj {
            m.insert("path".into(), json!(path.display().to_string()));
        }
        println!("{}", serde_json::to_string_pretty(&obj).unwrap_or_default());
    } else {
        crate::print_warnings(&loaded.warnings);
        print_text(path, &summary);
    }
    Ok(())
}

/// Folds the default-domain spellings to the name users read: `ai.onnx`.
fn domain_name(d: Option<&str>) -> String {
    match ferry::ir::canonical_domain(d) {
        "" => "ai.onnx".to_string(),
        other => other.to_string(),
    }
}

fn dims_json(t: &Type) -> Json {
    match &t.kind {
        Some(TypeKind::Tensor(tt)) | Some(TypeKind::SparseTensor(tt)) => match &tt.shape {
            None => Json::Null,
            Some(s) => Json::Array(
                s.dims
                    .iter()
                    .map(|d| match &d.value {
                        DimValue::Known(n) => json!(n),
                        DimValue::Symbol(s) => json!(s),
                        DimValue::Unknown => Json::Null,
                    })
                    .collect(),
            ),
        },
        _ => Json::Null,
    }
}

fn io_json(g: &Graph, v: ValueId) -> Json {
    let value = g.value(v);
    let (ty, shape) = match value.ty() {
        Some(t) => (json!(t.to_string()), dims_json(t)),
        None => (Json::Null, Json::Null),
    };
    let elem = value
        .ty()
        .and_then(|t| match &t.kind {
            Some(TypeKind::Tensor(tt)) | Some(TypeKind::SparseTensor(tt)) => tt.elem,
            _ => None,
        })
        .map(|e| e.to_string());
    json!({ "name": value.name, "type": ty, "elem_type": elem, "shape": shape })
}

fn count_subgraphs(g: &Graph) -> usize {
    g.nodes().flat_map(|(_, n)| n.subgraphs()).map(|s| 1 + count_subgraphs(s)).sum()
}

pub fn summarize(m: &Model, warnings: &[String]) -> Json {
    let mut opsets = Map::new();
    for o in &m.opset_imports {
        opsets.insert(domain_name(o.domain.as_deref()), json!(o.version));
    }
    let mut hist: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    let (mut inputs, mut init_inputs, mut outputs) = (Vec::new(), 0usize, Vec::new());
    let (mut dense, mut sparse, mut params, mut param_bytes) = (0usize, 0usize, 0u128, 0u128);
    let (mut top, mut total, mut subgraphs) = (0, 0, 0);
    if let Some(g) = &m.graph {
        for (_, n) in g.nodes() {
            *hist
                .entry(domain_name(n.domain.as_deref()))
                .or_default()
                .entry(n.op_type.clone())
                .or_default() += 1;
        }
        for &v in g.inputs() {
            if g.value(v).initializer.is_some() {
                init_inputs += 1;
            } else {
                inputs.push(io_json(g, v));
            }
        }
        outputs = g.outputs().iter().map(|&v| io_json(g, v)).collect();
        let elems = |dims: &[i64]| dims.iter().map(|&d| d.max(0) as u128).product::<u128>();
        for (_, v) in g.values() {
            match &v.initializer {
                Some(Initializer::Dense(t)) => {
                    dense += 1;
                    params += elems(&t.dims);
                    param_bytes += match (t.nbytes(), &t.data) {
                        (_, TensorData::String(_)) | (None, _) => u128::from(t.stored_len()),
                        (Some(n), _) => u128::from(n),
                    };
                }
                Some(Initializer::Sparse(s)) => {
                    sparse += 1;
                    params += elems(&s.dims);
                    param_bytes += s
                        .values
                        .iter()
                        .chain(&s.indices)
                        .map(|t| u128::from(t.stored_len()))
                        .sum::<u128>();
                }
                None => {}
            }
        }
        top = g.node_count();
        total = g.node_count_recursive();
        subgraphs = count_subgraphs(g);
    }
    let mut files = BTreeSet::new();
    m.for_each_tensor(&mut |t| {
        if let TensorData::External(e) = &t.data
            && let Some(l) = e.location()
        {
            files.insert(l.to_string());
        }
    });
    let function_nodes: usize = m.functions.iter().map(|f| f.body.node_count_recursive()).sum();
    json!({
        "ir_version": m.ir_version,
        "producer_name": m.producer_name,
        "producer_version": m.producer_version,
        "domain": m.domain,
        "model_version": m.model_version,
        "opset_imports": opsets,
        "inputs": inputs,
        "initializer_inputs": init_inputs,
        "outputs": outputs,
        "nodes": { "top": top, "total": total, "in_functions": function_nodes },
        "op_histogram": hist,
        "initializers": { "dense": dense, "sparse": sparse },
        "parameters": u64::try_from(params).unwrap_or(u64::MAX),
        "parameter_bytes": u64::try_from(param_bytes).unwrap_or(u64::MAX),
        "external_data_files": files,
        "subgraphs": subgraphs,
        "functions": m.functions.len(),
        "warnings": warnings,
    })
}

fn print_text(path: &Path, s: &Json) {
    let get = |k: &str| s.get(k).cloned().unwrap_or(Json::Null);
    let text = |v: Json| match v {
        Json::Null => "-".to_string(),
        Json::String(s) => s,
        other => other.to_string(),
    };
    println!("model      {}", path.display());
    println!(
        "ir         {}   producer {} {}",
        text(get("ir_version")),
        text(get("producer_name")),
        s.get("producer_version").and_then(Json::as_str).unwrap_or("")
    );
    if let Some(Json::Object(o)) = s.get("opset_imports") {
        let list: Vec<String> = o.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!("opsets     {}", list.join(", "));
    }
    let ios = |key: &str, label: &str| {
        if let Some(Json::Array(a)) = s.get(key) {
            println!("{label} ({})", a.len());
            for io in a {
                println!("  {:<24} {}", text(io["name"].clone()), text(io["type"].clone()));
            }
        }
    };
    ios("inputs", "inputs");
    if let Some(n) = s.get("initializer_inputs").and_then(Json::as_u64).filter(|&n| n > 0) {
        println!("  (+{n} inputs backed by initializers)");
    }
    ios("outputs", "outputs");
    let nodes = &s["nodes"];
    println!(
        "nodes      {} in the main graph, {} with subgraphs ({} subgraphs), {} in {} functions",
        nodes["top"], nodes["total"], s["subgraphs"], nodes["in_functions"], s["functions"]
    );
    println!(
        "params     {} in {} initializers ({} sparse), {} bytes",
        s["parameters"],
        s["initializers"]["dense"],
        s["initializers"]["sparse"],
        s["parameter_bytes"]
    );
    if let Some(Json::Array(f)) = s.get("external_data_files")
        && !f.is_empty()
    {
        let names: Vec<String> = f.iter().map(|x| text(x.clone())).collect();
        println!("external   {}", names.join(", "));
    }
    if let Some(Json::Object(h)) = s.get("op_histogram") {
        println!("ops");
        for (domain, ops) in h {
            let mut list: Vec<(String, u64)> = ops
                .as_object()
                .map(|o| o.iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0))).collect())
                .unwrap_or_default();
            list.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let items: Vec<String> = list.iter().map(|(k, v)| format!("{k} {v}")).collect();
            println!("  {domain}: {}", items.join(", "));
        }
    }
}
