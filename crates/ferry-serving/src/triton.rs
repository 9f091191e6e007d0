//! Triton `config.pbtxt`: the model configuration in protobuf text format, following the
//! `ModelConfig` message of Triton's `model_config.proto` (vendored in `proto/triton/`).
//!
//! Triton's batching rule decides the dims. With `max_batch_size > 0` Triton itself adds a
//! leading batch dimension to every input and output, so the model's leading dim must be dynamic
//! and is left out of `dims`; a tensor whose only dim is the batch dim would leave `dims` empty,
//! which Triton does not accept, and is declared as `dims: [ 1 ]` with `reshape: { shape: [ ] }`
//! as Triton's documentation prescribes. With `max_batch_size: 0`, `dims` is the full shape.
//! Rank-0 tensors cannot be declared at all (`dims` needs an entry, and there is no batch dim
//! to reshape away), so they are refused with that reason.

use crate::datatype::triton_datatype;
use crate::error::{Error, Result};
use crate::options::{ServeOptions, model_properties};
use crate::signature::{TensorSpec, signature};
use ferry_ir::{DimValue, Model};
use std::fmt::Write as _;

/// The parts of Triton's `ModelConfig` that ferry fills in.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelConfig {
    pub name: String,
    pub platform: String,
    pub max_batch_size: u32,
    pub inputs: Vec<TritonTensor>,
    pub outputs: Vec<TritonTensor>,
    /// Written as `#` comments at the top of the file: facts for people, ignored by Triton.
    pub comments: Vec<String>,
}

/// A `ModelInput` or `ModelOutput`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TritonTensor {
    pub name: String,
    /// A `DataType` enumerator, e.g. `TYPE_FP32`.
    pub data_type: &'static str,
    pub dims: Vec<i64>,
    /// `Some(shape)` writes `reshape: { shape: [...] }`.
    pub reshape: Option<Vec<i64>>,
}

/// Describes `model` as a Triton model configuration batching up to `max_batch_size` requests
/// (0: no batching).
pub fn model_config(
    model: &Model,
    opts: &ServeOptions,
    max_batch_size: u32,
) -> Result<ModelConfig> {
    check_model_name(&opts.name)?;
    let sig = signature(model, &opts.signature)?;
    let tensor = |t: &TensorSpec| triton_tensor(t, max_batch_size);
    let mut comments = vec![format!(
        "Written by ferry {} from the model's declared inputs and outputs.",
        env!("CARGO_PKG_VERSION")
    )];
    for (k, v) in model_properties(model) {
        if k != "ferry_version" {
            comments.push(format!("{k}: {v}"));
        }
    }
    Ok(ModelConfig {
        name: opts.name.clone(),
        platform: opts.platform.clone(),
        max_batch_size,
        inputs: sig.inputs.iter().map(tensor).collect::<Result<_>>()?,
        outputs: sig.outputs.iter().map(tensor).collect::<Result<_>>()?,
        comments,
    })
}

fn triton_tensor(t: &TensorSpec, max_batch_size: u32) -> Result<TritonTensor> {
    let data_type = triton_datatype(t.elem).map_err(|r| t.refuse(r))?;
    if t.dims.is_empty() {
        return Err(t.refuse(
            "is rank 0 (a scalar), which a Triton config cannot declare: `dims` needs at least \
             one entry; give the model a [1]-shaped tensor here instead",
        ));
    }
    let shape = t.shape();
    if max_batch_size == 0 {
        return Ok(TritonTensor { name: t.name.clone(), data_type, dims: shape, reshape: None });
    }
    if let DimValue::Known(n) = t.dims[0] {
        return Err(t.refuse(format!(
            "has shape {shape:?} with a fixed leading dim of {n}, but with max_batch_size \
             {max_batch_size} Triton adds the batch dim itself and needs the model's leading dim \
             to be dynamic; use max_batch_size 0 (no batching) or export the model with a dynamic \
             batch dim"
        )));
    }
    let rest = shape[1..].to_vec();
    let (dims, reshape) = if rest.is_empty() { (vec![1], Some(Vec::new())) } else { (rest, None) };
    Ok(TritonTensor { name: t.name.clone(), data_type, dims, reshape })
}

/// Triton takes the model name from a directory name and the config must repeat it, so the name
/// must be a single, ordinary path component.
pub fn check_model_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        Some("is empty")
    } else if name == "." || name == ".." {
        Some("is not a usable directory name")
    } else if name.contains(['/', '\\']) {
        Some("contains a path separator; Triton uses the name as a directory name")
    } else if name.chars().any(char::is_control) {
        Some("contains a control character")
    } else {
        None
    };
    match reason {
        Some(r) => Err(Error::Name { name: name.to_string(), reason: r.to_string() }),
        None => Ok(()),
    }
}

impl ModelConfig {
    /// The protobuf text format of this configuration, as Triton reads `config.pbtxt`.
    pub fn to_pbtxt(&self) -> String {
        let mut s = String::new();
        for c in &self.comments {
            // A comment runs to the end of its line; keep each fact on one.
            let _ = writeln!(s, "# {}", c.replace(['\n', '\r'], " "));
        }
        let _ = writeln!(s, "name: {}", quote(&self.name));
        let _ = writeln!(s, "platform: {}", quote(&self.platform));
        let _ = writeln!(s, "max_batch_size: {}", self.max_batch_size);
        write_tensors(&mut s, "input", &self.inputs);
        write_tensors(&mut s, "output", &self.outputs);
        s
    }
}

fn write_tensors(s: &mut String, field: &str, tensors: &[TritonTensor]) {
    if tensors.is_empty() {
        return;
    }
    // `field: [` rather than Triton's documented `field [`: the colon is optional before a list
    // of messages in protobuf's text format, and every parser accepts it, while some parsers
    // (prost-reflect's, used by the tests) reject its absence.
    let _ = writeln!(s, "{field}: [");
    for (i, t) in tensors.iter().enumerate() {
        let _ = writeln!(s, "  {{");
        let _ = writeln!(s, "    name: {}", quote(&t.name));
        let _ = writeln!(s, "    data_type: {}", t.data_type);
        let _ = writeln!(s, "    dims: {}", list(&t.dims));
        if let Some(r) = &t.reshape {
            let _ = writeln!(s, "    reshape: {{ shape: {} }}", list(r));
        }
        let sep = if i + 1 < tensors.len() { "," } else { "" };
        let _ = writeln!(s, "  }}{sep}");
    }
    let _ = writeln!(s, "]");
}

fn list(v: &[i64]) -> String {
    if v.is_empty() {
        return "[ ]".into();
    }
    let items: Vec<String> = v.iter().map(i64::to_string).collect();
    format!("[ {} ]", items.join(", "))
}

/// A protobuf text-format string literal. Printable ASCII and UTF-8 text pass through; quotes,
/// backslashes and control characters are escaped, the latter as octal byte escapes.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(out, "\\{b:03o}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_escapes_what_the_text_format_needs() {
        assert_eq!(quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(quote("x\u{1}y"), r#""x\001y""#);
        assert_eq!(quote("größe"), "\"größe\"");
    }

    #[test]
    fn names_must_be_one_path_component() {
        assert!(check_model_name("resnet-50_v1.2").is_ok());
        for bad in ["", ".", "..", "a/b", "a\\b", "a\nb"] {
            assert!(check_model_name(bad).is_err(), "{bad:?} accepted");
        }
    }
}
