//! Writing generated models without ever holding all their weights in memory.
//!
//! - [`Synth::write_inline`] streams one ONNX file with every payload in `raw_data`: the model
//!   around the weights is exported with ferry (`to_proto`) and encoded with prost piece by
//!   piece, and each weight's bytes are generated straight into the output. Fields go out in tag
//!   order, so the file is byte-for-byte what `ferry_onnx::to_bytes` writes for the
//!   materialized model.
//! - [`Synth::write_external`] writes the payloads into one data file beside the model (each at
//!   an offset aligned to 4096 bytes), then the small model with ferry's `to_bytes`.

use crate::builder::{Synth, Weight};
use ferry::ir::{StringEntry, TensorData};
use ferry::onnx::proto;
use prost::Message;
use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint, key_len};
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Result<T> = std::result::Result<T, Error>;

/// protobuf messages cannot exceed 2 GiB - 1 bytes: onnx and onnxruntime refuse larger ones.
pub const PROTO_LIMIT: u64 = i32::MAX as u64;

/// Offsets of tensors in an external data file are multiples of this.
pub const EXTERNAL_ALIGN: u64 = 4096;

/// What a write produced.
#[derive(Clone, Debug, Default)]
pub struct WriteReport {
    pub model_bytes: u64,
    /// The external data file and its size, if one was written.
    pub data_file: Option<(PathBuf, u64)>,
}

const BUF: usize = 1 << 20;

/// Creates `path` through a temporary file beside it, renamed into place once `fill` succeeds.
fn write_file(path: &Path, fill: impl FnOnce(&mut BufWriter<File>) -> Result<()>) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let file = File::create(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let mut w = BufWriter::with_capacity(BUF, file);
    let result = fill(&mut w).and_then(|()| w.flush().map_err(Error::from));
    drop(w);
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("{}: {e}", path.display()).into());
    }
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(())
}

fn put_message(w: &mut impl Write, m: &impl Message) -> Result<()> {
    w.write_all(&m.encode_to_vec())?;
    Ok(())
}

fn put_len_key(w: &mut impl Write, tag: u32, len: u64) -> Result<()> {
    let mut buf = Vec::with_capacity(16);
    encode_key(tag, WireType::LengthDelimited, &mut buf);
    encode_varint(len, &mut buf);
    w.write_all(&buf)?;
    Ok(())
}

/// Size of a length-delimited field with tag `tag` and a body of `len` bytes.
fn field_len(tag: u32, len: u64) -> u64 {
    (key_len(tag) + encoded_len_varint(len)) as u64 + len
}

/// A tensor split around its `raw_data` field (tag 9): fields before it, and fields after.
struct TensorParts {
    head: proto::TensorProto,
    tail: proto::TensorProto,
}

const RAW_DATA: u32 = 9;
const GRAPH_INITIALIZER: u32 = 5;
const MODEL_GRAPH: u32 = 7;

impl TensorParts {
    fn split(t: proto::TensorProto) -> TensorParts {
        let head = proto::TensorProto {
            dims: t.dims,
            data_type: t.data_type,
            segment: t.segment,
            float_data: t.float_data,
            int32_data: t.int32_data,
            string_data: t.string_data,
            int64_data: t.int64_data,
            name: t.name,
            ..Default::default()
        };
        let tail = proto::TensorProto {
            double_data: t.double_data,
            uint64_data: t.uint64_data,
            doc_string: t.doc_string,
            external_data: t.external_data,
            data_location: t.data_location,
            metadata_props: t.metadata_props,
            ..Default::default()
        };
        TensorParts { head, tail }
    }

    /// A tensor written as it is, in one piece.
    fn whole(t: proto::TensorProto) -> TensorParts {
        TensorParts { head: t, tail: proto::TensorProto::default() }
    }
}

/// One entry of `GraphProto.initializer`: its parts, and the weight whose payload goes between
/// them as `raw_data` (none for a tensor written whole).
struct Init<'a> {
    parts: TensorParts,
    weight: Option<&'a Weight>,
}

impl Init<'_> {
    fn len(&self) -> u64 {
        let raw = self.weight.map_or(0, |w| field_len(RAW_DATA, w.byte_len()));
        self.parts.head.encoded_len() as u64 + raw + self.parts.tail.encoded_len() as u64
    }

    fn write(&self, w: &mut impl Write) -> Result<()> {
        put_message(w, &self.parts.head)?;
        if let Some(weight) = self.weight {
            put_len_key(w, RAW_DATA, weight.byte_len())?;
            weight.write_to(w)?;
        }
        put_message(w, &self.parts.tail)
    }
}

impl Synth {
    /// Writes the model with every payload inline (`raw_data`), streaming the weights.
    /// Refuses models past protobuf's 2 GiB limit.
    pub fn write_inline(&self, path: &Path) -> Result<WriteReport> {
        let mut model = ferry::onnx::to_proto(&self.model);
        let mut graph = model.graph.take().ok_or("the model has no graph")?;
        let by_name: HashMap<&str, &Weight> =
            self.weights.iter().map(|w| (w.name.as_str(), w)).collect();
        let inits: Vec<Init> = std::mem::take(&mut graph.initializer)
            .into_iter()
            .map(|t| match t.name.as_deref().and_then(|n| by_name.get(n)) {
                Some(w) if t.raw_data.is_none() => {
                    Init { parts: TensorParts::split(t), weight: Some(w) }
                }
                _ => Init { parts: TensorParts::whole(t), weight: None },
            })
            .collect();
        // Tag order: ModelProto fields 1-6, graph (7), the rest; GraphProto fields 1-2,
        // initializers (5), the rest.
        let model_head = proto::ModelProto {
            ir_version: model.ir_version.take(),
            producer_name: model.producer_name.take(),
            producer_version: model.producer_version.take(),
            domain: model.domain.take(),
            model_version: model.model_version.take(),
            doc_string: model.doc_string.take(),
            ..Default::default()
        };
        let graph_head = proto::GraphProto {
            node: std::mem::take(&mut graph.node),
            name: graph.name.take(),
            ..Default::default()
        };
        let graph_len = graph_head.encoded_len() as u64
            + inits.iter().map(|i| field_len(GRAPH_INITIALIZER, i.len())).sum::<u64>()
            + graph.encoded_len() as u64;
        let total = model_head.encoded_len() as u64
            + field_len(MODEL_GRAPH, graph_len)
            + model.encoded_len() as u64;
        if total > PROTO_LIMIT {
            return Err(format!(
                "{}: the model would be {total} bytes, past protobuf's limit of 2 GiB - 1; \
                 store the weights as external data",
                path.display()
            )
            .into());
        }
        write_file(path, |w| {
            put_message(w, &model_head)?;
            put_len_key(w, MODEL_GRAPH, graph_len)?;
            put_message(w, &graph_head)?;
            for init in &inits {
                put_len_key(w, GRAPH_INITIALIZER, init.len())?;
                init.write(w)?;
            }
            put_message(w, &graph)?;
            put_message(w, &model)
        })?;
        Ok(WriteReport { model_bytes: total, data_file: None })
    }

    /// Writes every payload of at least `min_bytes` bytes into `data_name`, a file beside
    /// `path`, at offsets aligned to 4096; smaller payloads stay inline. Then writes the model.
    pub fn write_external(
        mut self,
        path: &Path,
        data_name: &str,
        min_bytes: u64,
    ) -> Result<WriteReport> {
        let plain = !data_name.is_empty()
            && data_name != "."
            && data_name != ".."
            && !data_name.contains(['/', '\\']);
        if !plain {
            return Err(
                format!("external data name '{data_name}' must be a plain file name").into()
            );
        }
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let data_path = dir.join(data_name);
        let mut end = 0u64;
        let weights = std::mem::take(&mut self.weights);
        write_file(&data_path, |w| {
            for weight in &weights {
                let len = weight.byte_len();
                let tensor = Synth::tensor_mut(&mut self.model, weight);
                if len < min_bytes {
                    tensor.data = TensorData::Raw(weight.bytes());
                    continue;
                }
                let offset = end.next_multiple_of(EXTERNAL_ALIGN);
                w.write_all(&[0u8; EXTERNAL_ALIGN as usize][..(offset - end) as usize])?;
                weight.write_to(w)?;
                end = offset + len;
                tensor.data_location = Some(1);
                tensor.data = TensorData::External(ferry::ir::ExternalData {
                    entries: vec![
                        StringEntry::new("location", data_name),
                        StringEntry::new("offset", offset.to_string()),
                        StringEntry::new("length", len.to_string()),
                    ],
                    source: None,
                });
            }
            Ok(())
        })?;
        let bytes = ferry::onnx::to_bytes(&self.model)?;
        write_file(path, |w| Ok(w.write_all(&bytes)?))?;
        Ok(WriteReport { model_bytes: bytes.len() as u64, data_file: Some((data_path, end)) })
    }

    /// [`Synth::write_external`] when `external` names a data file, else [`Synth::write_inline`].
    pub fn write(self, path: &Path, external: Option<&str>) -> Result<WriteReport> {
        match external {
            Some(name) => self.write_external(path, name, 1024),
            None => self.write_inline(path),
        }
    }
}
