//! Reading models from files or memory, and writing them atomically.

use crate::external::{Resolver, check_location, contained_file};
use crate::import::Importer;
use crate::{Error, Result, export, proto};
use bytes::Bytes;
use ferry_ir::Model;
use prost::Message;
use std::path::{Path, PathBuf};

/// How to load a model.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Vet and map external data files (default). When off, external references are kept as
    /// written and no data file is opened: enough for `info`, not for reading weights.
    pub resolve_external: bool,
    /// Put graphs whose nodes are out of topological order into order. Off by default, so that
    /// what is read is what gets written; passes sort for themselves.
    pub sort_nodes: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions { resolve_external: true, sort_nodes: false }
    }
}

/// A loaded model and the non-fatal problems met while loading it.
#[derive(Debug)]
pub struct Loaded {
    pub model: Model,
    pub warnings: Vec<String>,
}

/// Loads a model file with default options.
pub fn load(path: impl AsRef<Path>) -> Result<Model> {
    Ok(load_with(path, &LoadOptions::default())?.model)
}

/// Loads a model file. The file is memory-mapped and tensor payloads stay slices of the map.
pub fn load_with(path: impl AsRef<Path>, opts: &LoadOptions) -> Result<Loaded> {
    let path = path.as_ref();
    let bytes = map_file(path)?;
    let dir = path.parent().map(|p| if p.as_os_str().is_empty() { Path::new(".") } else { p });
    let proto = decode(bytes.clone(), &path.display().to_string())?;
    let unknown = unknown_field_warnings(&proto, &bytes);
    let mut loaded = import(proto, dir.map(Path::to_path_buf), opts)?;
    loaded.warnings.extend(unknown);
    Ok(loaded)
}

/// Warnings naming fields of `bytes` that the decoded `proto` does not hold (see `unknown.rs`).
/// The full scan runs only when the re-encoded length differs from the input's.
fn unknown_field_warnings(proto: &proto::ModelProto, bytes: &[u8]) -> Vec<String> {
    if proto.encoded_len() == bytes.len() {
        return Vec::new();
    }
    crate::unknown::unknown_fields(bytes)
        .into_iter()
        .map(|f| format!("dropped a field the ONNX schema ferry was built with does not know: {f}"))
        .collect()
}

/// Loads a model from bytes. External data is read relative to `dir`; without one it is refused.
pub fn load_bytes(bytes: Bytes, dir: Option<&Path>, opts: &LoadOptions) -> Result<Loaded> {
    let proto = decode(bytes.clone(), "the input")?;
    let unknown = unknown_field_warnings(&proto, &bytes);
    let mut loaded = import(proto, dir.map(Path::to_path_buf), opts)?;
    loaded.warnings.extend(unknown);
    Ok(loaded)
}

/// Decodes a `ModelProto` without copying tensor payloads out of `bytes`.
pub fn decode(bytes: Bytes, what: &str) -> Result<proto::ModelProto> {
    proto::ModelProto::decode(bytes)
        .map_err(|e| Error::Decode { what: what.to_string(), message: short_decode_error(&e) })
}

/// prost names every message on the path to a decoding error, innermost first; for a deeply
/// nested file that is hundreds of names. Keep the two innermost, the two outermost and the
/// reason, so the error stays one readable line.
fn short_decode_error(e: &prost::DecodeError) -> String {
    let full = e.to_string();
    let body = full.strip_prefix("failed to decode Protobuf message: ").unwrap_or(&full);
    let parts: Vec<&str> = body.split(": ").collect();
    if parts.len() <= 6 {
        return body.to_string();
    }
    let n = parts.len();
    format!(
        "{}: {}: ... ({} more): {}: {}: {}",
        parts[0],
        parts[1],
        n - 5,
        parts[n - 3],
        parts[n - 2],
        parts[n - 1]
    )
}

/// Builds the IR from a decoded `ModelProto`.
/// Builds an IR tensor from a decoded `TensorProto` (a test-data file, an attribute value) with
/// the importer's own checks. External references are kept as written, never opened.
pub fn import_tensor(tp: proto::TensorProto) -> Result<ferry_ir::Tensor> {
    let mut resolver = Resolver::new(None, false);
    let mut importer =
        Importer { external: &mut resolver, sort_nodes: false, warnings: Vec::new() };
    importer.tensor(tp, &|| "tensor".to_string())
}

pub fn import(
    proto: proto::ModelProto,
    dir: Option<PathBuf>,
    opts: &LoadOptions,
) -> Result<Loaded> {
    let mut resolver = Resolver::new(dir, opts.resolve_external);
    let mut importer =
        Importer { external: &mut resolver, sort_nodes: opts.sort_nodes, warnings: Vec::new() };
    let model = importer.model(proto)?;
    let mut warnings = std::mem::take(&mut importer.warnings);
    warnings.append(&mut resolver.warnings);
    Ok(Loaded { model, warnings })
}

/// The `ModelProto` for a model (tensor payloads are shared, not copied).
pub fn to_proto(model: &Model) -> proto::ModelProto {
    export::model(model)
}

/// Serializes a model to protobuf bytes in memory.
pub fn to_bytes(model: &Model) -> Result<Vec<u8>> {
    let p = export::model(model);
    let len = p.encoded_len();
    check_size(len, Path::new("<memory>"))?;
    let mut buf = Vec::with_capacity(len);
    p.encode(&mut buf)
        .map_err(|e| Error::Write { path: "<memory>".into(), message: e.to_string() })?;
    Ok(buf)
}

/// protobuf messages cannot exceed 2 GiB - 1: readers (onnx, onnxruntime) refuse them.
pub(crate) const PROTO_LIMIT: usize = i32::MAX as usize;

pub(crate) fn check_size(len: usize, path: &Path) -> Result<()> {
    if len > PROTO_LIMIT {
        return Err(Error::Write {
            path: path.to_path_buf(),
            message: format!(
                "the serialized model would be {len} bytes, past protobuf's limit of 2 GiB - 1; \
                 store the weights as external data"
            ),
        });
    }
    Ok(())
}

#[allow(unsafe_code)]
fn map_file(path: &Path) -> Result<Bytes> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let meta = f.metadata().map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(Error::invalid(path.display().to_string(), "not a regular file"));
    }
    if meta.len() == 0 {
        return Ok(Bytes::new());
    }
    // SAFETY: read-only map; see `DataFile::map` for the truncation caveat.
    let map = unsafe { memmap2::Mmap::map(&f) }.map_err(|e| Error::io(path, e))?;
    Ok(Bytes::from_owner(map))
}

/// Re-exported for callers that vet paths themselves (the CLI, tests).
pub fn is_contained(base: &Path, location: &str) -> Result<PathBuf, String> {
    let rel = check_location(location)?;
    contained_file(base, &rel).map(|(p, _)| p)
}
