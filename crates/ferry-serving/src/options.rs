//! Options shared by every serving format, and the model facts that go into `properties`.

use crate::signature::SignatureOptions;
use ferry_ir::Model;
use std::collections::BTreeMap;
use std::path::Path;

/// The platform string ONNX models are served under, in KServe's and Triton's naming.
pub const DEFAULT_PLATFORM: &str = "onnxruntime_onnx";

/// How to describe a model to a server.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// The name the server publishes the model under.
    pub name: String,
    /// The model version; Triton needs a positive integer (its version directories are numbers).
    pub version: String,
    /// The platform string (`onnxruntime_onnx` unless the model is served by something else).
    pub platform: String,
    /// Admit bfloat16 as `BF16` in protocol metadata (only Triton understands it).
    pub allow_bf16: bool,
    pub signature: SignatureOptions,
}

impl ServeOptions {
    /// Defaults for a model published as `name`: version "1", platform `onnxruntime_onnx`.
    pub fn new(name: impl Into<String>) -> ServeOptions {
        ServeOptions {
            name: name.into(),
            version: "1".into(),
            platform: DEFAULT_PLATFORM.into(),
            allow_bf16: false,
            signature: SignatureOptions::default(),
        }
    }

    /// Defaults named after a model file: its stem (`resnet50` for `models/resnet50.onnx`).
    pub fn for_path(path: &Path) -> ServeOptions {
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        ServeOptions::new(stem.unwrap_or_else(|| "model".into()))
    }
}

/// Facts about the model that are useful to whoever reads the metadata but have no field of
/// their own: producer, IR version, operator sets, and which ferry wrote it. Keys are stable;
/// absent facts are left out rather than written empty.
pub fn model_properties(model: &Model) -> BTreeMap<String, String> {
    let mut props = BTreeMap::new();
    let producer = [model.producer_name.as_deref(), model.producer_version.as_deref()]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if !producer.is_empty() {
        props.insert("producer".into(), producer);
    }
    if let Some(ir) = model.ir_version {
        props.insert("onnx_ir_version".into(), ir.to_string());
    }
    let opsets: Vec<String> = model
        .opset_imports
        .iter()
        .map(|o| {
            let domain = match o.canonical_domain() {
                "" => "ai.onnx",
                d => d,
            };
            match o.version {
                Some(v) => format!("{domain}:{v}"),
                None => domain.to_string(),
            }
        })
        .collect();
    if !opsets.is_empty() {
        props.insert("onnx_opsets".into(), opsets.join(","));
    }
    if let Some(v) = model.model_version {
        props.insert("onnx_model_version".into(), v.to_string());
    }
    props.insert("ferry_version".into(), env!("CARGO_PKG_VERSION").into());
    props
}
