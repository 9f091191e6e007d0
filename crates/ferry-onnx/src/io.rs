//! Reading models from files or memory, and writing them atomically.

use crate::external::{FileSlice, Resolver, check_location, contained_file};
use crate::import::Importer;
use crate::{Error, Result, export, proto};
use bytes::Bytes;
use ferry_ir::{Model, TensorData};
use prost::Message;
use std::collections::BTreeMap;
use std::io::{Seek, SeekFrom, Write};
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
    let proto = decode(bytes, &path.display().to_string())?;
    import(proto, dir.map(Path::to_path_buf), opts)
}

/// Loads a model from bytes. External data is read relative to `dir`; without one it is refused.
pub fn load_bytes(bytes: Bytes, dir: Option<&Path>, opts: &LoadOptions) -> Result<Loaded> {
    let proto = decode(bytes, "the input")?;
    import(proto, dir.map(Path::to_path_buf), opts)
}

/// Decodes a `ModelProto` without copying tensor payloads out of `bytes`.
pub fn decode(bytes: Bytes, what: &str) -> Result<proto::ModelProto> {
    proto::ModelProto::decode(bytes)
        .map_err(|source| Error::Decode { what: what.to_string(), source })
}

/// Builds the IR from a decoded `ModelProto`.
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
const PROTO_LIMIT: usize = i32::MAX as usize;

fn check_size(len: usize, path: &Path) -> Result<()> {
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

/// What `save` wrote.
#[derive(Debug, Default)]
pub struct SaveReport {
    pub model_bytes: u64,
    /// External data files written (or left in place), with their sizes.
    pub data_files: Vec<(PathBuf, u64)>,
}

/// Writes `model` to `path` atomically, with its external data beside it.
///
/// Each external data file is written first (whole-file copy when the tensors still come from
/// one unchanged source file, else the tensors at their recorded offsets), each to a temporary
/// file in the target directory that is synced and then renamed over the target; the model file
/// last, the same way. A failure leaves any existing file at the target paths untouched.
pub fn save(model: &Model, path: impl AsRef<Path>) -> Result<SaveReport> {
    let path = path.as_ref();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut report = SaveReport::default();
    write_external(model, &dir, &mut report)?;
    let p = export::model(model);
    let len = p.encoded_len();
    check_size(len, path)?;
    atomic_write(path, |f| {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
        let mut buf = Vec::with_capacity(len);
        p.encode(&mut buf).map_err(std::io::Error::other)?;
        w.write_all(&buf)?;
        w.flush()
    })?;
    report.model_bytes = len as u64;
    Ok(report)
}

/// Writes a file through a synced temporary file in the same directory, then renames it.
/// Renaming replaces a symlink at `path` rather than writing through it.
pub fn atomic_write(
    path: &Path,
    fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    fill(tmp.as_file_mut()).map_err(|e| Error::io(path, e))?;
    tmp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    if let Ok(d) = std::fs::File::open(dir) {
        // Make the rename itself durable; not every filesystem supports syncing a directory.
        let _ = d.sync_all();
    }
    Ok(())
}

struct Piece {
    tensor: String,
    offset: u64,
    source: Option<std::sync::Arc<dyn ferry_ir::ExternalSource>>,
}

fn write_external(model: &Model, dir: &Path, report: &mut SaveReport) -> Result<()> {
    let mut by_location: BTreeMap<String, Vec<Piece>> = BTreeMap::new();
    let mut err = None;
    model.for_each_tensor(&mut |t| {
        if let TensorData::External(e) = &t.data {
            let tensor = t.name.clone().unwrap_or_default();
            let Some(loc) = e.location() else {
                err.get_or_insert(Error::ExternalData {
                    tensor,
                    message: "no 'location' entry".into(),
                });
                return;
            };
            let offset = e.get("offset").and_then(|o| o.trim().parse().ok()).unwrap_or(0);
            by_location.entry(loc.to_string()).or_default().push(Piece {
                tensor,
                offset,
                source: e.source.clone(),
            });
        }
    });
    if let Some(e) = err {
        return Err(e);
    }
    for (loc, pieces) in by_location {
        let rel = check_location(&loc)
            .map_err(|message| Error::ExternalData { tensor: pieces[0].tensor.clone(), message })?;
        let dest = dir.join(&rel);
        let mut sources = Vec::with_capacity(pieces.len());
        for p in &pieces {
            match &p.source {
                Some(s) => sources.push(s.clone()),
                None => {
                    return Err(Error::ExternalData {
                        tensor: p.tensor.clone(),
                        message: format!(
                            "its data ('{loc}') was never read, so it cannot be written"
                        ),
                    });
                }
            }
        }
        let files: Vec<_> = sources
            .iter()
            .map(|s| s.as_any().downcast_ref::<FileSlice>().map(|f| f.file.clone()))
            .collect();
        let single = match files.first() {
            Some(Some(f))
                if files
                    .iter()
                    .all(|g| g.as_ref().is_some_and(|g| std::sync::Arc::ptr_eq(f, g))) =>
            {
                Some(f.clone())
            }
            _ => None,
        };
        if let Some(src) = &single {
            let same = match (std::fs::canonicalize(&src.path), std::fs::canonicalize(&dest)) {
                (Ok(a), Ok(b)) => a == b,
                _ => false,
            };
            if same {
                report.data_files.push((dest, src.len));
                continue;
            }
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
            }
            let mut input = std::fs::File::open(&src.path).map_err(|e| Error::io(&src.path, e))?;
            // std::io::copy between files uses copy_file_range on Linux: no user-space buffer,
            // no page of the source mapped into this process.
            atomic_write(&dest, |out| std::io::copy(&mut input, out).map(|_| ()))?;
            report.data_files.push((dest, src.len));
            continue;
        }
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        let mut total = 0u64;
        let mut order: Vec<(u64, usize)> =
            pieces.iter().enumerate().map(|(i, p)| (p.offset, i)).collect();
        order.sort();
        let mut datas = Vec::with_capacity(order.len());
        for &(_, i) in &order {
            let data = sources[i].bytes().map_err(|message| Error::ExternalData {
                tensor: pieces[i].tensor.clone(),
                message,
            })?;
            datas.push((pieces[i].offset, data));
        }
        atomic_write(&dest, |out| {
            for (offset, data) in &datas {
                out.seek(SeekFrom::Start(*offset))?;
                out.write_all(data)?;
            }
            Ok(())
        })?;
        for (offset, data) in &datas {
            total = total.max(offset + data.len() as u64);
        }
        report.data_files.push((dest, total));
    }
    Ok(())
}

/// Re-exported for callers that vet paths themselves (the CLI, tests).
pub fn is_contained(base: &Path, location: &str) -> Result<PathBuf, String> {
    let rel = check_location(location)?;
    contained_file(base, &rel).map(|(p, _)| p)
}
