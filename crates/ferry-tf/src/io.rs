//! Reading files: memory maps, the frozen-graph loader and format detection.

use crate::error::{Error, Result};
use crate::flatten::TfGraph;
use crate::proto;
use bytes::Bytes;
use prost::Message;
use std::path::Path;

/// The bytes of `path`, memory-mapped: tensors decoded from them are slices of the map.
#[allow(unsafe_code)]
pub fn map_file(path: &Path) -> Result<Bytes> {
    let io = |e| Error::Io { path: path.to_path_buf(), source: e };
    let f = std::fs::File::open(path).map_err(io)?;
    let meta = f.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(Error::Format { path: path.to_path_buf(), msg: "not a regular file".into() });
    }
    if meta.len() == 0 {
        return Ok(Bytes::new());
    }
    // SAFETY: a read-only map. Like every reader of memory-mapped files, we assume the file is
    // not truncated by another process while the model is alive.
    let map = unsafe { memmap2::Mmap::map(&f) }.map_err(io)?;
    Ok(Bytes::from_owner(map))
}

/// Decodes a frozen `GraphDef` from bytes (`path` names it in errors).
pub fn decode_graphdef(bytes: Bytes, path: &Path) -> Result<proto::GraphDef> {
    proto::GraphDef::decode(bytes).map_err(|e| Error::Format {
        path: path.to_path_buf(),
        msg: format!("not a TensorFlow GraphDef: {e}"),
    })
}

/// Loads and flattens a frozen graph file.
pub fn load_graphdef(path: &Path) -> Result<TfGraph> {
    let g = decode_graphdef(map_file(path)?, path)?;
    if g.node.is_empty() {
        return Err(Error::Format {
            path: path.to_path_buf(),
            msg: "the GraphDef has no nodes".into(),
        });
    }
    TfGraph::from_graphdef(&g)
}

/// What a path holds, judged from its content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A directory with `saved_model.pb`.
    SavedModel,
    /// A binary `GraphDef`.
    GraphDef,
    /// Anything else (the caller tries ONNX).
    Other,
}

/// Tells a SavedModel directory and a frozen GraphDef from other files. A GraphDef starts with
/// its `node` field (field 1, length-delimited: byte 0x0a) and decodes with named, typed nodes;
/// an ONNX model's field 1 is a varint (`ir_version`, byte 0x08), so it never passes.
pub fn detect(path: &Path) -> Format {
    if path.is_dir() {
        return if path.join("saved_model.pb").is_file() {
            Format::SavedModel
        } else {
            Format::Other
        };
    }
    let Ok(bytes) = map_file(path) else { return Format::Other };
    if bytes.first() != Some(&0x0a) {
        return Format::Other;
    }
    match proto::GraphDef::decode(bytes) {
        Ok(g) if !g.node.is_empty() && g.node.iter().all(|n| !n.op.is_empty()) => Format::GraphDef,
        _ => Format::Other,
    }
}
