//! Open Inference Protocol (KServe v2) model metadata: the JSON body of `GET v2/models/{name}`.
//!
//! The same document is what MLServer (and so Seldon Core 2) answers on that endpoint, and what
//! Triton answers for ONNX models, so one writer serves all three; see [`crate::seldon`] for the
//! Seldon Core 1 `metadata.yaml` form.

use crate::datatype::protocol_datatype;
use crate::error::Result;
use crate::options::{ServeOptions, model_properties};
use crate::signature::{TensorSpec, signature};
use ferry_ir::Model;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// `$metadata_model_response`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelMetadata {
    pub name: String,
    /// Optional in the protocol; left out of the JSON when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    pub platform: String,
    pub inputs: Vec<MetadataTensor>,
    pub outputs: Vec<MetadataTensor>,
    /// Facts with no field of their own (producer, opsets, ferry version). Optional; servers
    /// that do not know the key ignore it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, String>,
}

/// `$metadata_tensor`: shape dims that may vary are `-1`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataTensor {
    pub name: String,
    pub datatype: String,
    pub shape: Vec<i64>,
}

impl ModelMetadata {
    /// JSON with one tensor per line and a trailing newline, as written to files and stdout.
    /// (Any JSON reader takes it; the layout is for people and diffs.)
    pub fn to_json(&self) -> String {
        let mut s = String::from("{\n");
        let _ = writeln!(s, "  \"name\": {},", json_str(&self.name));
        if !self.versions.is_empty() {
            let v: Vec<String> = self.versions.iter().map(|v| json_str(v)).collect();
            let _ = writeln!(s, "  \"versions\": [{}],", v.join(", "));
        }
        let _ = writeln!(s, "  \"platform\": {},", json_str(&self.platform));
        write_tensors(&mut s, "inputs", &self.inputs, true);
        write_tensors(&mut s, "outputs", &self.outputs, !self.properties.is_empty());
        if !self.properties.is_empty() {
            s.push_str("  \"properties\": {\n");
            let n = self.properties.len();
            for (i, (k, v)) in self.properties.iter().enumerate() {
                let comma = if i + 1 < n { "," } else { "" };
                let _ = writeln!(s, "    {}: {}{comma}", json_str(k), json_str(v));
            }
            s.push_str("  }\n");
        }
        s.push_str("}\n");
        s
    }
}

fn json_str(s: &str) -> String {
    // Serializing a string cannot fail.
    serde_json::to_string(s).unwrap_or_default()
}

fn write_tensors(s: &mut String, key: &str, list: &[MetadataTensor], more: bool) {
    let tail = if more { "," } else { "" };
    if list.is_empty() {
        let _ = writeln!(s, "  \"{key}\": []{tail}");
        return;
    }
    let _ = writeln!(s, "  \"{key}\": [");
    for (i, t) in list.iter().enumerate() {
        let shape: Vec<String> = t.shape.iter().map(i64::to_string).collect();
        let comma = if i + 1 < list.len() { "," } else { "" };
        let _ = writeln!(
            s,
            "    {{\"name\": {}, \"datatype\": {}, \"shape\": [{}]}}{comma}",
            json_str(&t.name),
            json_str(&t.datatype),
            shape.join(", ")
        );
    }
    let _ = writeln!(s, "  ]{tail}");
}

/// Describes `model` as the protocol's model metadata.
pub fn model_metadata(model: &Model, opts: &ServeOptions) -> Result<ModelMetadata> {
    let sig = signature(model, &opts.signature)?;
    let tensor = |t: &TensorSpec| -> Result<MetadataTensor> {
        let datatype = protocol_datatype(t.elem, opts.allow_bf16).map_err(|r| t.refuse(r))?;
        Ok(MetadataTensor { name: t.name.clone(), datatype: datatype.into(), shape: t.shape() })
    };
    Ok(ModelMetadata {
        name: opts.name.clone(),
        versions: if opts.version.is_empty() { Vec::new() } else { vec![opts.version.clone()] },
        platform: opts.platform.clone(),
        inputs: sig.inputs.iter().map(tensor).collect::<Result<_>>()?,
        outputs: sig.outputs.iter().map(tensor).collect::<Result<_>>()?,
        properties: model_properties(model),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_text_parses_back_to_the_same_document() {
        let meta = ModelMetadata {
            name: "m\"1".into(),
            versions: vec!["1".into()],
            platform: "onnxruntime_onnx".into(),
            inputs: vec![
                MetadataTensor { name: "a".into(), datatype: "FP32".into(), shape: vec![-1, 3] },
                MetadataTensor { name: "b".into(), datatype: "BYTES".into(), shape: vec![] },
            ],
            outputs: vec![],
            properties: BTreeMap::from([("k".to_string(), "v".to_string())]),
        };
        let back: ModelMetadata = serde_json::from_str(&meta.to_json()).unwrap();
        assert_eq!(back, meta);
        let bare = ModelMetadata { versions: vec![], properties: BTreeMap::new(), ..meta };
        let text = bare.to_json();
        assert!(!text.contains("versions") && !text.contains("properties"), "{text}");
        assert_eq!(serde_json::from_str::<ModelMetadata>(&text).unwrap(), bare);
    }
}
