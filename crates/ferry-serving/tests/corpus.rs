//! Every ONNX model of the shared corpus (`FERRY_CORPUS`; skipped when unset): the protocol
//! metadata lists exactly the graph's real inputs and outputs with the right datatypes and
//! shapes, and each Triton `config.pbtxt` parses as Triton's `ModelConfig` with the same facts.
//!
//! The expectations are computed here from the raw protobuf (not from ferry's IR), with the
//! datatype tables written out again from the protocol's and Triton's documentation, so a
//! mistake in ferry's import, signature extraction or tables shows up as a disagreement.

mod common;

use common::parse_config;
use ferry_onnx::proto::{ModelProto, TypeProto, tensor_shape_proto::dimension, type_proto};
use ferry_serving::{ServeOptions, SignatureOptions, kserve, triton};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// ONNX element type code -> (protocol datatype, Triton data_type), from the two specifications.
fn names(code: i32) -> (Option<&'static str>, Option<&'static str>) {
    match code {
        1 => (Some("FP32"), Some("TYPE_FP32")),
        2 => (Some("UINT8"), Some("TYPE_UINT8")),
        3 => (Some("INT8"), Some("TYPE_INT8")),
        4 => (Some("UINT16"), Some("TYPE_UINT16")),
        5 => (Some("INT16"), Some("TYPE_INT16")),
        6 => (Some("INT32"), Some("TYPE_INT32")),
        7 => (Some("INT64"), Some("TYPE_INT64")),
        8 => (Some("BYTES"), Some("TYPE_STRING")),
        9 => (Some("BOOL"), Some("TYPE_BOOL")),
        10 => (Some("FP16"), Some("TYPE_FP16")),
        11 => (Some("FP64"), Some("TYPE_FP64")),
        12 => (Some("UINT32"), Some("TYPE_UINT32")),
        13 => (Some("UINT64"), Some("TYPE_UINT64")),
        // BF16: Triton only (the protocol metadata needs allow_bf16, not set here).
        16 => (None, Some("TYPE_BF16")),
        _ => (None, None),
    }
}

/// One Triton tensor: name, data_type, dims, reshape.
type TritonRow = (String, String, Vec<i64>, Option<Vec<i64>>);

/// A tensor as the raw protobuf declares it; `tensor` is `None` when it has no dense-tensor
/// description (not a tensor, no element type, no shape, a negative size).
struct Expected {
    name: String,
    is_input: bool,
    /// (element type code, shape with -1 for non-numeric dims, first dim is numeric)
    tensor: Option<(i32, Vec<i64>, bool)>,
}

fn expected(name: &str, ty: Option<&TypeProto>, is_input: bool) -> Expected {
    let tensor = match ty.and_then(|t| t.value.as_ref()) {
        Some(type_proto::Value::TensorType(t)) => match (t.elem_type, &t.shape) {
            (Some(code), Some(shape)) => {
                let dims: Vec<Option<i64>> = shape
                    .dim
                    .iter()
                    .map(|d| match &d.value {
                        // -1 is some exporters' spelling of "any size".
                        Some(dimension::Value::DimValue(v)) if *v != -1 => Some(*v),
                        _ => None,
                    })
                    .collect();
                if dims.iter().flatten().any(|&v| v < 0) {
                    None
                } else {
                    let first_fixed = dims.first().is_some_and(Option::is_some);
                    Some((code, dims.iter().map(|d| d.unwrap_or(-1)).collect(), first_fixed))
                }
            }
            _ => None,
        },
        _ => None,
    };
    Expected { name: name.to_string(), is_input, tensor }
}

fn onnx_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            onnx_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "onnx") {
            out.push(p);
        }
    }
}

/// The error prefixes (`input 'x': `) of the tensors `accepts` rejects; ferry's error must
/// start with one of them. Empty when every tensor is accepted.
fn refused(tensors: &[Expected], accepts: impl Fn(&Expected) -> bool) -> Vec<String> {
    tensors
        .iter()
        .filter(|t| !accepts(t))
        .map(|t| format!("{} '{}': ", if t.is_input { "input" } else { "output" }, t.name))
        .collect()
}

/// The kind of a refusal, for the summary.
fn reason(message: &str) -> &'static str {
    if message.contains("not a tensor") || message.contains("sparse tensor") {
        "not a dense tensor"
    } else if message.contains("BF16") {
        "bfloat16 without allow_bf16"
    } else if message.contains("has no Open Inference Protocol datatype")
        || message.contains("has no Triton data_type")
    {
        "element type without a name"
    } else if message.contains("rank 0") {
        "rank-0 tensor"
    } else if message.contains("fixed leading dim") {
        "fixed leading dim"
    } else if message.contains("rank is unknown") {
        "unknown rank"
    } else {
        "other"
    }
}

#[derive(Default)]
struct Tally {
    models: usize,
    unreadable: usize,
    /// Outcome -> (count, the models of `models/` with that outcome).
    counts: BTreeMap<String, (usize, Vec<String>)>,
}

impl Tally {
    fn add(&mut self, what: &str, model: &str) {
        let entry = self.counts.entry(what.to_string()).or_default();
        entry.0 += 1;
        if let Some(name) = model.split("/models/").nth(1) {
            entry.1.push(name.to_string());
        }
    }
}

fn check_model(path: &Path, include_init: bool, tally: &mut Tally, failures: &mut Vec<String>) {
    let label = path.display().to_string();
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{label}: {e}"));
    let (Ok(proto), Ok(loaded)) = (
        ferry_onnx::decode(bytes::Bytes::from(bytes), &label),
        ferry_onnx::load_with(
            path,
            &ferry_onnx::LoadOptions { resolve_external: false, ..Default::default() },
        ),
    ) else {
        tally.unreadable += 1;
        return;
    };
    let proto: ModelProto = proto;
    let Some(g) = &proto.graph else { return };
    let inits: HashSet<&str> = g
        .initializer
        .iter()
        .filter_map(|t| t.name.as_deref())
        .chain(g.sparse_initializer.iter().filter_map(|s| s.values.as_ref()?.name.as_deref()))
        .collect();
    let mut tensors: Vec<Expected> = g
        .input
        .iter()
        .filter(|v| include_init || !inits.contains(v.name()))
        .map(|v| expected(v.name(), v.r#type.as_ref(), true))
        .collect();
    tensors.extend(g.output.iter().map(|v| expected(v.name(), v.r#type.as_ref(), false)));

    let mut opts = ServeOptions::new("m");
    opts.signature = SignatureOptions { include_initializer_inputs: include_init };
    let model = &loaded.model;
    let mut fail = |what: String| failures.push(format!("{label}: {what}"));

    // Open Inference Protocol metadata.
    let proto_ok = |t: &Expected| t.tensor.as_ref().is_some_and(|(c, _, _)| names(*c).0.is_some());
    match (kserve::model_metadata(model, &opts), refused(&tensors, proto_ok).as_slice()) {
        (Ok(meta), []) => {
            tally.add("kserve-v2: written", &label);
            let got: Vec<(String, String, Vec<i64>)> = meta
                .inputs
                .iter()
                .chain(&meta.outputs)
                .map(|t| (t.name.clone(), t.datatype.clone(), t.shape.clone()))
                .collect();
            let want: Vec<(String, String, Vec<i64>)> = tensors
                .iter()
                .map(|t| {
                    let (code, shape, _) = t.tensor.clone().unwrap_or_default();
                    (t.name.clone(), names(code).0.unwrap_or("").to_string(), shape)
                })
                .collect();
            let n_inputs = tensors.iter().filter(|t| t.is_input).count();
            if got != want || meta.inputs.len() != n_inputs {
                fail(format!("kserve-v2 lists {got:?}, the graph declares {want:?}"));
            }
        }
        (Err(e), prefixes @ [_, ..]) => {
            let e = e.to_string();
            tally.add(&format!("kserve-v2: refused ({})", reason(&e)), &label);
            if !prefixes.iter().any(|p| e.starts_with(p)) {
                fail(format!("kserve-v2 refused with '{e}', expected a refusal of {prefixes:?}"));
            }
        }
        (Ok(_), prefixes) => fail(format!("kserve-v2 accepted a model with {prefixes:?}")),
        (Err(e), []) => fail(format!("kserve-v2 refused a describable model: {e}")),
    }

    // Triton, without and with batching.
    for max_batch in [0u32, 4] {
        let triton_ok = |t: &Expected| {
            t.tensor.as_ref().is_some_and(|(c, shape, first_fixed)| {
                names(*c).1.is_some() && !shape.is_empty() && (max_batch == 0 || !first_fixed)
            })
        };
        let key = format!("triton max_batch_size {max_batch}");
        let config = triton::model_config(model, &opts, max_batch);
        match (config, refused(&tensors, triton_ok).as_slice()) {
            (Ok(config), []) => {
                tally.add(&format!("{key}: written"), &label);
                let text = config.to_pbtxt();
                let parsed = match parse_config(&text) {
                    Ok(p) => p,
                    Err(e) => {
                        return fail(format!("{key}: config.pbtxt does not parse: {e}\n{text}"));
                    }
                };
                let got: Vec<TritonRow> = parsed
                    .inputs
                    .iter()
                    .chain(&parsed.outputs)
                    .map(|t| {
                        (t.name.clone(), t.data_type.clone(), t.dims.clone(), t.reshape.clone())
                    })
                    .collect();
                let want: Vec<TritonRow> = tensors
                    .iter()
                    .map(|t| {
                        let (code, shape, _) = t.tensor.clone().unwrap_or_default();
                        let dt = names(code).1.unwrap_or("").to_string();
                        match max_batch {
                            0 => (t.name.clone(), dt, shape, None),
                            _ if shape.len() == 1 => (t.name.clone(), dt, vec![1], Some(vec![])),
                            _ => (t.name.clone(), dt, shape[1..].to_vec(), None),
                        }
                    })
                    .collect();
                if got != want || parsed.max_batch_size != max_batch as i32 || parsed.name != "m" {
                    fail(format!("{key}: config says {got:?}, the graph declares {want:?}"));
                }
            }
            (Err(e), prefixes @ [_, ..]) => {
                let e = e.to_string();
                tally.add(&format!("{key}: refused ({})", reason(&e)), &label);
                if !prefixes.iter().any(|p| e.starts_with(p)) {
                    fail(format!("{key} refused with '{e}', expected a refusal of {prefixes:?}"));
                }
            }
            (Ok(_), prefixes) => fail(format!("{key} accepted a model with {prefixes:?}")),
            (Err(e), []) => fail(format!("{key} refused a describable model: {e}")),
        }
    }
    tally.models += 1;
}

#[test]
fn corpus_signatures_match_the_graphs() {
    let Some(root) = std::env::var_os("FERRY_CORPUS").map(PathBuf::from) else {
        println!("skipped: FERRY_CORPUS is not set");
        return;
    };
    let mut files = Vec::new();
    onnx_files(&root, &mut files);
    assert!(!files.is_empty(), "no .onnx files under {}", root.display());
    for include_init in [false, true] {
        let mut tally = Tally::default();
        let mut failures = Vec::new();
        for f in &files {
            check_model(f, include_init, &mut tally, &mut failures);
        }
        println!(
            "corpus (include_initializer_inputs={include_init}): {} models checked, {} not readable",
            tally.models, tally.unreadable
        );
        for (what, (n, real)) in &tally.counts {
            println!("  {what}: {n}");
            if what.contains("refused") && !real.is_empty() {
                println!("    of them in models/: {}", real.join(", "));
            }
        }
        assert!(failures.is_empty(), "{} disagreements:\n{}", failures.len(), failures.join("\n"));
    }
}
