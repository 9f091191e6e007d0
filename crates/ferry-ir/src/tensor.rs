//! Tensors whose bytes are never copied on load.
//!
//! A tensor's payload stays in the form the file stored it in ([`TensorData`]): a slice of the
//! loaded file (`Raw`), one of ONNX's typed fields, or a reference to an external data file that
//! a frontend resolves lazily through [`ExternalSource`]. Keeping the form is what lets an export
//! reproduce the input exactly.

use crate::{DataType, StringEntry};
use bytes::Bytes;
use std::fmt;
use std::sync::Arc;

/// A dense tensor: element type, dims and data.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub name: Option<String>,
    pub dtype: Option<DataType>,
    pub dims: Vec<i64>,
    pub data: TensorData,
    /// ONNX `segment` (a slice of a larger tensor), kept verbatim.
    pub segment: Option<Segment>,
    pub doc_string: Option<String>,
    pub metadata_props: Vec<StringEntry>,
    /// The `data_location` field as written (0 = default, 1 = external), when present.
    pub data_location: Option<i32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Segment {
    pub begin: Option<i64>,
    pub end: Option<i64>,
}

/// Where a tensor's elements are, in the form the source file used.
#[derive(Clone, PartialEq)]
pub enum TensorData {
    /// No data field at all (legal for tensors with zero elements, or as a placeholder).
    None,
    /// Packed little-endian bytes; for a loaded file this is a slice of the file, not a copy.
    Raw(Bytes),
    Float(Vec<f32>),
    /// ONNX's `int32_data`, which also carries 8/16-bit ints, bool, float16/bfloat16 bit patterns,
    /// float8 and packed 4-bit/2-bit types, one element (or one packed byte) per entry.
    Int32(Vec<i32>),
    Int64(Vec<i64>),
    Double(Vec<f64>),
    /// ONNX's `uint64_data`, which also carries uint32.
    Uint64(Vec<u64>),
    String(Vec<Bytes>),
    External(ExternalData),
}

/// A tensor stored outside the model file.
#[derive(Clone)]
pub struct ExternalData {
    /// The `external_data` key/value entries exactly as written, in order.
    pub entries: Vec<StringEntry>,
    /// Where the bytes are, once a frontend has resolved (and vetted) the location; `None` for
    /// models read from bytes without a directory, or built in memory.
    pub source: Option<Arc<dyn ExternalSource>>,
}

impl PartialEq for ExternalData {
    fn eq(&self, other: &Self) -> bool {
        self.entries == other.entries
    }
}

impl fmt::Debug for ExternalData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExternalData")
            .field("entries", &self.entries)
            .field("resolved", &self.source.is_some())
            .finish()
    }
}

/// Lazily provides the bytes of an externally stored tensor.
///
/// Implemented by frontends (a memory-mapped file slice, say); the IR itself never touches files.
pub trait ExternalSource: Send + Sync {
    /// The tensor's bytes. May map a file on first use.
    fn bytes(&self) -> Result<Bytes, String>;
    /// Length in bytes, known without reading the data.
    fn len(&self) -> u64;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// A human description for error messages and `ferry info` (the file name, offset, length).
    fn describe(&self) -> String;
    /// Lets the frontend that made a source recognise it again (to copy a whole data file
    /// instead of its slices, for instance).
    fn as_any(&self) -> &dyn std::any::Any;
}

/// A sparse tensor in COO form, as ONNX stores it.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SparseTensor {
    pub values: Option<Tensor>,
    pub indices: Option<Tensor>,
    pub dims: Vec<i64>,
}

impl fmt::Debug for TensorData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TensorData::None => f.write_str("None"),
            TensorData::Raw(b) => write!(f, "Raw({} bytes)", b.len()),
            TensorData::Float(v) => write!(f, "Float({} values)", v.len()),
            TensorData::Int32(v) => write!(f, "Int32({} values)", v.len()),
            TensorData::Int64(v) => write!(f, "Int64({} values)", v.len()),
            TensorData::Double(v) => write!(f, "Double({} values)", v.len()),
            TensorData::Uint64(v) => write!(f, "Uint64({} values)", v.len()),
            TensorData::String(v) => write!(f, "String({} values)", v.len()),
            TensorData::External(e) => write!(f, "{e:?}"),
        }
    }
}

impl ExternalData {
    /// The value of an `external_data` key (`location`, `offset`, `length`, `checksum`).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.iter().find(|e| e.key.as_deref() == Some(key)).and_then(|e| e.value.as_deref())
    }

    pub fn location(&self) -> Option<&str> {
        self.get("location")
    }
}

impl Tensor {
    /// A tensor holding `data` as packed little-endian bytes.
    pub fn from_raw(
        name: impl Into<String>,
        dtype: DataType,
        dims: Vec<i64>,
        data: Bytes,
    ) -> Tensor {
        Tensor {
            name: Some(name.into()),
            dtype: Some(dtype),
            dims,
            data: TensorData::Raw(data),
            segment: None,
            doc_string: None,
            metadata_props: Vec::new(),
            data_location: None,
        }
    }

    /// Number of elements according to the dims, `None` on a negative dim or overflow.
    pub fn element_count(&self) -> Option<u64> {
        self.dims.iter().try_fold(1u64, |acc, &d| {
            let d = u64::try_from(d).ok()?;
            acc.checked_mul(d)
        })
    }

    /// Bytes the payload occupies in its stored form (external: its declared length).
    pub fn stored_len(&self) -> u64 {
        let n = |len: usize, size: u64| (len as u64).saturating_mul(size);
        match &self.data {
            TensorData::None => 0,
            TensorData::Raw(b) => b.len() as u64,
            TensorData::Float(v) => n(v.len(), 4),
            TensorData::Int32(v) => n(v.len(), 4),
            TensorData::Int64(v) => n(v.len(), 8),
            TensorData::Double(v) => n(v.len(), 8),
            TensorData::Uint64(v) => n(v.len(), 8),
            TensorData::String(v) => v.iter().map(|s| s.len() as u64).sum(),
            TensorData::External(e) => match &e.source {
                Some(s) => s.len(),
                None => e.get("length").and_then(|l| l.parse().ok()).unwrap_or(0),
            },
        }
    }

    /// Bytes of the elements in packed little-endian form, as ONNX's `raw_data` holds them.
    pub fn nbytes(&self) -> Option<u64> {
        self.dtype?.byte_len(self.element_count()?)
    }

    pub fn is_external(&self) -> bool {
        matches!(self.data, TensorData::External(_))
    }

    /// The elements as packed little-endian bytes (ONNX's `raw_data` layout), whatever field
    /// stores them. Raw data is shared, not copied; external data is read through its source.
    pub fn le_bytes(&self) -> Result<Bytes, String> {
        let dtype = self.dtype.unwrap_or(DataType::UNDEFINED);
        let narrow = |v: &[i32], width: usize| -> Bytes {
            let mut out = Vec::with_capacity(v.len() * width);
            for &x in v {
                out.extend_from_slice(&x.to_le_bytes()[..width]);
            }
            Bytes::from(out)
        };
        Ok(match &self.data {
            TensorData::None => Bytes::new(),
            TensorData::Raw(b) => b.clone(),
            TensorData::External(e) => match &e.source {
                Some(s) => s.bytes()?,
                None => return Err("its external data has not been resolved".into()),
            },
            TensorData::Float(v) => {
                Bytes::from(v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>())
            }
            TensorData::Double(v) => {
                Bytes::from(v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>())
            }
            TensorData::Int64(v) => {
                Bytes::from(v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>())
            }
            TensorData::Uint64(v) => {
                let width = if dtype == DataType::UINT32 { 4 } else { 8 };
                let mut out = Vec::with_capacity(v.len() * width);
                for &x in v {
                    out.extend_from_slice(&x.to_le_bytes()[..width]);
                }
                Bytes::from(out)
            }
            TensorData::Int32(v) => {
                // int32_data widens narrower types to one entry each (sub-byte types: one
                // packed byte per entry), so keep as many low bytes as the type occupies.
                let width = match dtype.bits() {
                    Some(32) => 4,
                    Some(16) => 2,
                    // 6-bit floats are one per entry here but a packed bit stream in raw form;
                    // ferry does not repack them yet, so it says so instead of guessing.
                    Some(6) => {
                        return Err(format!(
                            "repacking {dtype:?} from int32_data is not supported"
                        ));
                    }
                    Some(_) => 1,
                    None => return Err(format!("int32_data cannot hold {dtype:?}")),
                };
                narrow(v, width)
            }
            TensorData::String(_) => {
                return Err("string tensors have no fixed-size byte layout".into());
            }
        })
    }
}
