//! Facts from constant tensors (initializers, `Constant` values): their type always, their
//! contents when small.

use crate::fact::{Data, Fact, Konst, MAX_TRACKED, MAX_TRACKED_FLOAT, Ty};
use crate::sym::Dim;
use ferry_ir::{DataType, Tensor, TensorData};

/// Decodes a tensor's elements when it is small and numeric (or string).
pub fn tensor_value(t: &Tensor) -> Option<Konst> {
    let elem = t.dtype?;
    let count = usize::try_from(t.element_count()?).ok()?;
    let float =
        matches!(elem, DataType::FLOAT | DataType::DOUBLE | DataType::FLOAT16 | DataType::BFLOAT16);
    if count > MAX_TRACKED || (float && count > MAX_TRACKED_FLOAT) {
        return None;
    }
    let dims = t.dims.clone();
    let data = match &t.data {
        TensorData::String(v) if elem == DataType::STRING => {
            Data::Str(v.iter().map(|b| b.to_vec()).collect())
        }
        TensorData::External(_) => return None,
        _ => {
            let bytes = t.le_bytes().ok()?;
            decode(elem, &bytes, count)?
        }
    };
    let k = Konst { elem, dims, data };
    (k.len() == count).then_some(k)
}

/// Little-endian packed elements to [`Data`].
pub fn decode(elem: DataType, b: &[u8], count: usize) -> Option<Data> {
    let ints = |width: usize, signed: bool| -> Option<Data> {
        if b.len() != count.checked_mul(width)? {
            return None;
        }
        Some(Data::Int(
            b.chunks_exact(width)
                .map(|c| {
                    let mut buf = [0u8; 8];
                    buf[..width].copy_from_slice(c);
                    let raw = u64::from_le_bytes(buf);
                    let v = if signed {
                        let shift = 64 - 8 * width as u32;
                        ((raw << shift) as i64) >> shift
                    } else {
                        raw as i64
                    };
                    Dim::known(v)
                })
                .collect(),
        ))
    };
    let floats = |width: usize, f: &dyn Fn(&[u8]) -> f64| -> Option<Data> {
        if b.len() != count.checked_mul(width)? {
            return None;
        }
        Some(Data::Float(b.chunks_exact(width).map(f).collect()))
    };
    match elem {
        DataType::INT64 => ints(8, true),
        DataType::INT32 => ints(4, true),
        DataType::INT16 => ints(2, true),
        DataType::INT8 => ints(1, true),
        DataType::UINT8 | DataType::BOOL => ints(1, false),
        DataType::UINT16 => ints(2, false),
        DataType::UINT32 => ints(4, false),
        DataType::UINT64 => ints(8, false),
        DataType::FLOAT => floats(4, &|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]]))),
        DataType::DOUBLE => floats(8, &|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8]))),
        DataType::FLOAT16 => floats(2, &|c| half::f16::from_le_bytes([c[0], c[1]]).to_f64()),
        DataType::BFLOAT16 => floats(2, &|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f64()),
        _ => None,
    }
}

/// The fact for a constant tensor: its type, and its contents when small.
pub fn from_tensor(t: &Tensor) -> Fact {
    let ty = t.dtype.map(|d| Ty::tensor(d, t.dims.iter().map(|&x| Dim::known(x)).collect()));
    Fact { ty, value: tensor_value(t) }
}
