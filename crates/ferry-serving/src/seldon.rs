//! Seldon.
//!
//! Seldon Core 2 serves models through MLServer, which speaks the Open Inference Protocol: its
//! `GET v2/models/{name}` answers the document [`crate::kserve::model_metadata`] builds, so
//! nothing Seldon-specific is needed there.
//!
//! Seldon Core 1 reads a `metadata.yaml` beside the model (or the `MODEL_METADATA` environment
//! variable). Besides its older SeldonMessage form it accepts the protocol's tensor metadata
//! under `apiVersion: v2`, with free-form string facts under `custom`; that is what
//! [`metadata_yaml`] writes, from the same [`ModelMetadata`].

use crate::kserve::{MetadataTensor, ModelMetadata};
use std::fmt::Write as _;

/// Seldon Core 1 `metadata.yaml` (v2 tensor form) for `meta`. The protocol `properties` become
/// Seldon's `custom` map.
pub fn metadata_yaml(meta: &ModelMetadata) -> String {
    let mut s = String::new();
    s.push_str("apiVersion: v2\n");
    let _ = writeln!(s, "name: {}", scalar(&meta.name));
    if !meta.versions.is_empty() {
        let versions: Vec<String> = meta.versions.iter().map(|v| scalar(v)).collect();
        let _ = writeln!(s, "versions: [{}]", versions.join(", "));
    }
    let _ = writeln!(s, "platform: {}", scalar(&meta.platform));
    tensors(&mut s, "inputs", &meta.inputs);
    tensors(&mut s, "outputs", &meta.outputs);
    if !meta.properties.is_empty() {
        s.push_str("custom:\n");
        for (k, v) in &meta.properties {
            let _ = writeln!(s, "  {}: {}", scalar(k), scalar(v));
        }
    }
    s
}

fn tensors(s: &mut String, key: &str, list: &[MetadataTensor]) {
    if list.is_empty() {
        let _ = writeln!(s, "{key}: []");
        return;
    }
    let _ = writeln!(s, "{key}:");
    for t in list {
        let shape: Vec<String> = t.shape.iter().map(i64::to_string).collect();
        let _ = writeln!(s, "- name: {}", scalar(&t.name));
        let _ = writeln!(s, "  datatype: {}", scalar(&t.datatype));
        let _ = writeln!(s, "  shape: [{}]", shape.join(", "));
    }
}

/// A YAML double-quoted scalar. JSON's string escapes (`\"`, `\\`, `\n`, `\uXXXX`) are a subset
/// of YAML's double-quoted escapes, so a JSON string literal is always a valid YAML scalar and
/// names with colons, quotes or leading dashes cannot change the document's structure.
fn scalar(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn names_that_look_like_yaml_syntax_stay_strings() {
        let meta = ModelMetadata {
            name: "a: b".into(),
            versions: vec!["1".into()],
            platform: "onnxruntime_onnx".into(),
            inputs: vec![MetadataTensor {
                name: "- x #1".into(),
                datatype: "FP32".into(),
                shape: vec![-1, 3],
            }],
            outputs: vec![],
            properties: BTreeMap::from([("k".to_string(), "line\nbreak".to_string())]),
        };
        let y = metadata_yaml(&meta);
        assert!(y.contains("name: \"a: b\"\n"), "{y}");
        assert!(y.contains("- name: \"- x #1\"\n  datatype: \"FP32\"\n  shape: [-1, 3]\n"), "{y}");
        assert!(y.contains("outputs: []\n"), "{y}");
        assert!(y.contains("  \"k\": \"line\\nbreak\"\n"), "{y}");
    }
}
