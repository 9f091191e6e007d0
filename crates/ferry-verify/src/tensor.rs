//! Tensors as the check moves them between the input maker, the references and the comparison:
//! a shape and a typed `Vec` per ONNX element type, independent of any runtime's tensor type.

use ferry_ir::DataType;
use half::f16;

/// Elements of one tensor, by element type.
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    F16(Vec<f16>),
    F32(Vec<f32>),
    F64(Vec<f64>),
    I8(Vec<i8>),
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
    U64(Vec<u64>),
    Bool(Vec<bool>),
    Str(Vec<String>),
}

/// A dense tensor in row-major order.
#[derive(Clone, Debug, PartialEq)]
pub struct HostTensor {
    pub shape: Vec<usize>,
    pub data: Data,
}

/// One element, widened for comparison: floats to `f64`, integers to `i128` (every ONNX integer
/// type fits), bools to 0/1.
#[derive(Clone, Debug, PartialEq)]
pub enum Elem<'a> {
    Float(f64),
    Int(i128),
    Str(&'a str),
}

impl Data {
    pub fn len(&self) -> usize {
        match self {
            Data::F16(v) => v.len(),
            Data::F32(v) => v.len(),
            Data::F64(v) => v.len(),
            Data::I8(v) => v.len(),
            Data::I16(v) => v.len(),
            Data::I32(v) => v.len(),
            Data::I64(v) => v.len(),
            Data::U8(v) => v.len(),
            Data::U16(v) => v.len(),
            Data::U32(v) => v.len(),
            Data::U64(v) => v.len(),
            Data::Bool(v) => v.len(),
            Data::Str(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ONNX element type.
    pub fn elem_type(&self) -> DataType {
        match self {
            Data::F16(_) => DataType::FLOAT16,
            Data::F32(_) => DataType::FLOAT,
            Data::F64(_) => DataType::DOUBLE,
            Data::I8(_) => DataType::INT8,
            Data::I16(_) => DataType::INT16,
            Data::I32(_) => DataType::INT32,
            Data::I64(_) => DataType::INT64,
            Data::U8(_) => DataType::UINT8,
            Data::U16(_) => DataType::UINT16,
            Data::U32(_) => DataType::UINT32,
            Data::U64(_) => DataType::UINT64,
            Data::Bool(_) => DataType::BOOL,
            Data::Str(_) => DataType::STRING,
        }
    }

    /// Whether elements are compared with a tolerance (floating point) or exactly.
    pub fn is_float(&self) -> bool {
        matches!(self, Data::F16(_) | Data::F32(_) | Data::F64(_))
    }

    /// Element `i`, widened (see [`Elem`]). `i` must be below [`Data::len`].
    pub fn elem(&self, i: usize) -> Elem<'_> {
        match self {
            Data::F16(v) => Elem::Float(f64::from(v[i].to_f32())),
            Data::F32(v) => Elem::Float(f64::from(v[i])),
            Data::F64(v) => Elem::Float(v[i]),
            Data::I8(v) => Elem::Int(v[i].into()),
            Data::I16(v) => Elem::Int(v[i].into()),
            Data::I32(v) => Elem::Int(v[i].into()),
            Data::I64(v) => Elem::Int(v[i].into()),
            Data::U8(v) => Elem::Int(v[i].into()),
            Data::U16(v) => Elem::Int(v[i].into()),
            Data::U32(v) => Elem::Int(v[i].into()),
            Data::U64(v) => Elem::Int(v[i].into()),
            Data::Bool(v) => Elem::Int(v[i].into()),
            Data::Str(v) => Elem::Str(&v[i]),
        }
    }
}

impl std::fmt::Display for Elem<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Elem::Float(x) => write!(f, "{x:e}"),
            Elem::Int(x) => write!(f, "{x}"),
            Elem::Str(s) => write!(f, "{s:?}"),
        }
    }
}

impl HostTensor {
    /// An IR tensor's elements (a recorded input or expected output, e.g. the ONNX backend tests'
    /// `input_0.pb`), or why it has no [`Data`] form.
    pub fn from_ir(t: &ferry_ir::Tensor) -> Result<HostTensor, String> {
        let what = || t.name.clone().unwrap_or_else(|| "tensor".into());
        let shape = t
            .dims
            .iter()
            .map(|&d| usize::try_from(d))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| format!("{} has a negative dim {:?}", what(), t.dims))?;
        let n = t.element_count().ok_or_else(|| format!("{}: size overflows", what()))?;
        let dtype = t.dtype.unwrap_or(DataType::UNDEFINED);
        if dtype == DataType::STRING {
            let ferry_ir::TensorData::String(v) = &t.data else {
                return Err(format!("{}: a string tensor without string data", what()));
            };
            let v: Vec<String> =
                v.iter().map(|b| String::from_utf8_lossy(b).into_owned()).collect();
            if v.len() as u64 != n {
                return Err(format!("{}: {} strings for {n} elements", what(), v.len()));
            }
            return Ok(HostTensor { shape, data: Data::Str(v) });
        }
        let bytes = t.le_bytes().map_err(|e| format!("{}: {e}", what()))?;
        if Some(bytes.len() as u64) != dtype.byte_len(n) {
            return Err(format!("{}: {} bytes for {n} elements of {dtype:?}", what(), bytes.len()));
        }
        macro_rules! le {
            ($t:ty, $w:literal) => {
                bytes
                    .chunks_exact($w)
                    .map(|c| <$t>::from_le_bytes(c.try_into().unwrap_or([0; $w])))
                    .collect()
            };
        }
        let data = match dtype {
            DataType::FLOAT => Data::F32(le!(f32, 4)),
            DataType::DOUBLE => Data::F64(le!(f64, 8)),
            DataType::FLOAT16 => Data::F16(le!(f16, 2)),
            DataType::INT8 => Data::I8(le!(i8, 1)),
            DataType::INT16 => Data::I16(le!(i16, 2)),
            DataType::INT32 => Data::I32(le!(i32, 4)),
            DataType::INT64 => Data::I64(le!(i64, 8)),
            DataType::UINT8 => Data::U8(bytes.to_vec()),
            DataType::UINT16 => Data::U16(le!(u16, 2)),
            DataType::UINT32 => Data::U32(le!(u32, 4)),
            DataType::UINT64 => Data::U64(le!(u64, 8)),
            DataType::BOOL => Data::Bool(bytes.iter().map(|&b| b != 0).collect()),
            other => return Err(format!("{}: element type {other:?} is not supported", what())),
        };
        Ok(HostTensor { shape, data })
    }

    /// The element type's name as ONNX's text format writes it (`float`, `int64`).
    pub fn type_name(&self) -> String {
        let e = self.data.elem_type();
        e.text_name().unwrap_or_else(|| format!("{e:?}"))
    }

    /// The multi-dimensional index of flat element `flat` (row-major).
    pub fn unravel(&self, mut flat: usize) -> Vec<usize> {
        let mut idx = vec![0; self.shape.len()];
        for (i, &d) in self.shape.iter().enumerate().rev() {
            if d > 0 {
                idx[i] = flat % d;
                flat /= d;
            }
        }
        idx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unravel_is_row_major() {
        let t = HostTensor { shape: vec![2, 3, 4], data: Data::F32(vec![0.0; 24]) };
        assert_eq!(t.unravel(0), [0, 0, 0]);
        assert_eq!(t.unravel(5), [0, 1, 1]);
        assert_eq!(t.unravel(23), [1, 2, 3]);
    }

    #[test]
    fn ir_tensors_convert_from_any_storage() {
        let raw = ferry_ir::Tensor::from_raw(
            "x",
            DataType::INT16,
            vec![2],
            bytes_of(&[1u8, 0, 0xff, 0xff]),
        );
        let t = HostTensor::from_ir(&raw).unwrap();
        assert_eq!(t.data, Data::I16(vec![1, -1]));
        let mut f = raw.clone();
        f.dtype = Some(DataType::FLOAT);
        f.dims = vec![1, 1];
        f.data = ferry_ir::TensorData::Float(vec![2.5]);
        let t = HostTensor::from_ir(&f).unwrap();
        assert_eq!((t.shape, t.data), (vec![1, 1], Data::F32(vec![2.5])));
        f.dims = vec![3];
        assert!(HostTensor::from_ir(&f).unwrap_err().contains("4 bytes for 3 elements"));
    }

    fn bytes_of(b: &[u8]) -> bytes::Bytes {
        bytes::Bytes::copy_from_slice(b)
    }

    #[test]
    fn elements_widen_without_loss() {
        let d = Data::U64(vec![u64::MAX]);
        assert_eq!(d.elem(0), Elem::Int(i128::from(u64::MAX)));
        let d = Data::F16(vec![f16::from_f32(0.5)]);
        assert_eq!(d.elem(0), Elem::Float(0.5));
        assert_eq!(Data::Bool(vec![true]).elem(0), Elem::Int(1));
    }
}
