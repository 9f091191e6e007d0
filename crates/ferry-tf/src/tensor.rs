//! TensorFlow tensors and element types to the IR's.
//!
//! A `TensorProto` whose payload is `tensor_content` becomes a `Raw` IR tensor holding the same
//! `Bytes` (a slice of the memory-mapped file: no copy). The typed fields (`float_val`, ...) are
//! TensorFlow's compact form, where fewer values than elements means "repeat the last one"; those
//! are expanded, under a size limit so that a hostile shape cannot make us allocate gigabytes.

use crate::error::{Result, graph_err};
use crate::proto;
use bytes::{BufMut, Bytes, BytesMut};
use ferry_ir::{DataType, DimValue, Tensor};

/// Largest tensor (in bytes) that a splat (`float_val` with fewer values than elements) may
/// expand to. Real constants this large are stored as `tensor_content`.
const MAX_EXPANDED: u64 = 1 << 28;

/// The ONNX element type of a TensorFlow `DataType` code (reference types map to their base).
pub fn onnx_dtype(tf: i32) -> Option<DataType> {
    let base = if tf > 100 { tf - 100 } else { tf };
    Some(match base {
        1 => DataType::FLOAT,
        2 => DataType::DOUBLE,
        3 => DataType::INT32,
        4 => DataType::UINT8,
        5 => DataType::INT16,
        6 => DataType::INT8,
        7 => DataType::STRING,
        8 => DataType::COMPLEX64,
        9 => DataType::INT64,
        10 => DataType::BOOL,
        14 => DataType::BFLOAT16,
        17 => DataType::UINT16,
        18 => DataType::COMPLEX128,
        19 => DataType::FLOAT16,
        22 => DataType::UINT32,
        23 => DataType::UINT64,
        24 => DataType::FLOAT8E5M2,
        25 => DataType::FLOAT8E4M3FN,
        26 => DataType::FLOAT8E4M3FNUZ,
        28 => DataType::FLOAT8E5M2FNUZ,
        29 => DataType::INT4,
        30 => DataType::UINT4,
        _ => return None,
    })
}

/// The TensorFlow name of a `DataType` code, for messages.
pub fn tf_dtype_name(tf: i32) -> String {
    proto::DataType::try_from(tf).map(|d| d.as_str_name().to_string()).unwrap_or(format!("{tf}"))
}

/// Dims of a `TensorShapeProto`: `None` for unknown rank; `-1` for unknown sizes.
pub fn shape_dims(shape: Option<&proto::TensorShapeProto>) -> Option<Vec<i64>> {
    let s = shape?;
    if s.unknown_rank {
        return None;
    }
    Some(s.dim.iter().map(|d| d.size).collect())
}

/// IR dims of a TF shape (`-1` becomes unknown).
pub fn ir_dims(dims: &[i64]) -> Vec<DimValue> {
    dims.iter().map(|&d| if d >= 0 { DimValue::Known(d) } else { DimValue::Unknown }).collect()
}

/// Converts a `TensorProto` to an IR tensor named `name`; `what` names the tensor in errors.
pub fn to_ir(t: &proto::TensorProto, name: &str, what: &str) -> Result<Tensor> {
    let dtype = onnx_dtype(t.dtype).ok_or_else(|| {
        graph_err(format!("{what}: tensor type {} has no ONNX equivalent", tf_dtype_name(t.dtype)))
    })?;
    let dims = shape_dims(t.tensor_shape.as_ref())
        .ok_or_else(|| graph_err(format!("{what}: constant of unknown rank")))?;
    if dims.iter().any(|&d| d < 0) {
        return Err(graph_err(format!("{what}: constant with a negative dimension {dims:?}")));
    }
    let count = dims
        .iter()
        .try_fold(1u64, |a, &d| a.checked_mul(d as u64))
        .ok_or_else(|| graph_err(format!("{what}: element count of {dims:?} overflows")))?;
    if dtype == DataType::STRING {
        let vals = &t.string_val;
        let vals: Vec<Bytes> = if vals.len() as u64 == count {
            vals.clone()
        } else if vals.len() == 1 && count <= 1 << 20 {
            vec![vals[0].clone(); count as usize]
        } else {
            return Err(graph_err(format!(
                "{what}: {} string values for {count} elements",
                vals.len()
            )));
        };
        let mut out = Tensor::from_raw(name, dtype, dims, Bytes::new());
        out.data = ferry_ir::TensorData::String(vals);
        return Ok(out);
    }
    let byte_len = dtype
        .byte_len(count)
        .ok_or_else(|| graph_err(format!("{what}: size of {count} elements overflows")))?;
    if !t.tensor_content.is_empty() {
        if t.tensor_content.len() as u64 != byte_len {
            return Err(graph_err(format!(
                "{what}: tensor_content has {} bytes, {dims:?} of {} needs {byte_len}",
                t.tensor_content.len(),
                tf_dtype_name(t.dtype)
            )));
        }
        return Ok(Tensor::from_raw(name, dtype, dims, t.tensor_content.clone()));
    }
    if byte_len > MAX_EXPANDED {
        return Err(graph_err(format!(
            "{what}: constant {dims:?} would expand to {byte_len} bytes (limit {MAX_EXPANDED})"
        )));
    }
    let n = count as usize;
    let mut buf = BytesMut::with_capacity(byte_len as usize);
    // Repeats the last value to fill `n` elements (TensorFlow's compact encoding); an empty
    // list means zeros.
    fn fill<T: Copy + Default>(
        vals: &[T],
        n: usize,
        what: &str,
        mut put: impl FnMut(T),
    ) -> Result<()> {
        if vals.len() > n {
            return Err(graph_err(format!("{what}: {} values for {n} elements", vals.len())));
        }
        let last = vals.last().copied().unwrap_or_default();
        for i in 0..n {
            put(vals.get(i).copied().unwrap_or(last));
        }
        Ok(())
    }
    match t.dtype % 100 {
        1 => fill(&t.float_val, n, what, |v| buf.put_f32_le(v))?,
        2 => fill(&t.double_val, n, what, |v| buf.put_f64_le(v))?,
        3 => fill(&t.int_val, n, what, |v| buf.put_i32_le(v))?,
        4 | 6 => fill(&t.int_val, n, what, |v| buf.put_u8(v as u8))?,
        5 | 17 => fill(&t.int_val, n, what, |v| buf.put_u16_le(v as u16))?,
        9 => fill(&t.int64_val, n, what, |v| buf.put_i64_le(v))?,
        10 => fill(&t.bool_val, n, what, |v| buf.put_u8(v as u8))?,
        14 | 19 => fill(&t.half_val, n, what, |v| buf.put_u16_le(v as u16))?,
        22 => fill(&t.uint32_val, n, what, |v| buf.put_u32_le(v))?,
        23 => fill(&t.uint64_val, n, what, |v| buf.put_u64_le(v))?,
        _ => {
            return Err(graph_err(format!(
                "{what}: {} constants stored in typed fields are not supported",
                tf_dtype_name(t.dtype)
            )));
        }
    }
    Ok(Tensor::from_raw(name, dtype, dims, buf.freeze()))
}

/// Little-endian bytes of a tensor that is stored raw, for reading small constants.
pub fn raw_bytes(t: &Tensor) -> Option<&Bytes> {
    match &t.data {
        ferry_ir::TensorData::Raw(b) => Some(b),
        _ => None,
    }
}

/// The elements of an integer tensor (int32/int64/int16/int8/uint8) as i64.
pub fn ints(t: &Tensor) -> Option<Vec<i64>> {
    let b = raw_bytes(t)?;
    let dt = t.dtype?;
    let size = (dt.bits()? / 8) as usize;
    if size == 0 || b.len() % size != 0 {
        return None;
    }
    let v = b
        .chunks_exact(size)
        .map(|c| match dt {
            DataType::INT64 => i64::from_le_bytes(c.try_into().unwrap_or([0; 8])),
            DataType::INT32 => i64::from(i32::from_le_bytes(c.try_into().unwrap_or([0; 4]))),
            DataType::INT16 => i64::from(i16::from_le_bytes(c.try_into().unwrap_or([0; 2]))),
            DataType::INT8 => i64::from(c[0] as i8),
            DataType::UINT8 | DataType::BOOL => i64::from(c[0]),
            _ => i64::MIN,
        })
        .collect::<Vec<_>>();
    if v.contains(&i64::MIN) && !matches!(dt, DataType::INT64) {
        return None;
    }
    Some(v)
}

/// The elements of a float32/float64 tensor as f64.
pub fn floats(t: &Tensor) -> Option<Vec<f64>> {
    let b = raw_bytes(t)?;
    match t.dtype? {
        DataType::FLOAT => Some(
            b.chunks_exact(4)
                .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect(),
        ),
        DataType::DOUBLE => Some(
            b.chunks_exact(8)
                .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect(),
        ),
        _ => None,
    }
}

/// An int64 tensor from values.
pub fn i64_tensor(name: &str, dims: Vec<i64>, vals: &[i64]) -> Tensor {
    let mut b = BytesMut::with_capacity(vals.len() * 8);
    vals.iter().for_each(|v| b.put_i64_le(*v));
    Tensor::from_raw(name, DataType::INT64, dims, b.freeze())
}

/// A scalar (or shaped) tensor of `dtype` holding `value` (converted), for constants the
/// converter makes (Relu6's bounds, epsilon terms).
pub fn scalar_tensor(name: &str, dtype: DataType, value: f64) -> Option<Tensor> {
    let mut b = BytesMut::new();
    match dtype {
        DataType::FLOAT => b.put_f32_le(value as f32),
        DataType::DOUBLE => b.put_f64_le(value),
        DataType::FLOAT16 => b.put_u16_le(half::f16::from_f64(value).to_bits()),
        DataType::BFLOAT16 => b.put_u16_le(half::bf16::from_f64(value).to_bits()),
        DataType::INT32 => b.put_i32_le(value as i32),
        DataType::INT64 => b.put_i64_le(value as i64),
        DataType::INT8 => b.put_i8(value as i8),
        DataType::UINT8 => b.put_u8(value as u8),
        _ => return None,
    }
    Some(Tensor::from_raw(name, dtype, vec![], b.freeze()))
}

/// `t` with its axes permuted by `perm` (output axis i is input axis perm[i]), for constants
/// whose layout changes at conversion (filters HWIO to OIHW). Raw tensors of fixed-size
/// elements only.
pub fn transpose(t: &Tensor, perm: &[usize], name: &str) -> Option<Tensor> {
    let b = raw_bytes(t)?;
    let size = (t.dtype?.bits()? / 8) as usize;
    let rank = t.dims.len();
    if perm.len() != rank || size == 0 {
        return None;
    }
    let dims: Vec<usize> = t.dims.iter().map(|&d| d as usize).collect();
    let count: usize = dims.iter().product();
    if b.len() != count * size {
        return None;
    }
    let out_dims: Vec<usize> = perm.iter().map(|&p| dims[p]).collect();
    let mut in_strides = vec![1usize; rank];
    for i in (0..rank.saturating_sub(1)).rev() {
        in_strides[i] = in_strides[i + 1] * dims[i + 1];
    }
    let strides: Vec<usize> = perm.iter().map(|&p| in_strides[p]).collect();
    // Walk the output in order, keeping the source offset up to date by adding the stride of
    // the axis that moved (and taking back the ones that wrapped): no per-element products.
    let mut out = vec![0u8; b.len()];
    let mut idx = vec![0usize; rank];
    let mut off = 0usize;
    for dst in out.chunks_exact_mut(size) {
        dst.copy_from_slice(&b[off * size..(off + 1) * size]);
        for ax in (0..rank).rev() {
            idx[ax] += 1;
            if idx[ax] < out_dims[ax] {
                off += strides[ax];
                break;
            }
            off -= strides[ax] * (out_dims[ax] - 1);
            idx[ax] = 0;
        }
    }
    let out = bytes::Bytes::from(out);
    let mut res = t.clone();
    res.name = Some(name.to_string());
    res.dims = out_dims.iter().map(|&d| d as i64).collect();
    res.data = ferry_ir::TensorData::Raw(out);
    Some(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splat_and_content() {
        let t = proto::TensorProto {
            dtype: 1,
            tensor_shape: Some(proto::TensorShapeProto {
                dim: vec![proto::tensor_shape_proto::Dim { size: 3, name: String::new() }],
                unknown_rank: false,
            }),
            float_val: vec![2.5],
            ..Default::default()
        };
        let ir = to_ir(&t, "c", "c").unwrap();
        assert_eq!(floats(&ir).unwrap(), vec![2.5, 2.5, 2.5]);
        let bad = proto::TensorProto { tensor_content: Bytes::from_static(&[0; 5]), ..t };
        let e = to_ir(&bad, "c", "node c").unwrap_err().to_string();
        assert!(e.contains("node c") && e.contains("5 bytes"), "{e}");
    }

    #[test]
    fn transposes() {
        let vals: Vec<i64> = (0..6).collect();
        let t = i64_tensor("t", vec![2, 3], &vals);
        let tt = transpose(&t, &[1, 0], "tt").unwrap();
        assert_eq!(tt.dims, vec![3, 2]);
        assert_eq!(ints(&tt).unwrap(), vec![0, 3, 1, 4, 2, 5]);
        // HWIO -> OIHW on a 2x3x4x5 tensor against the definition.
        let vals: Vec<i64> = (0..120).collect();
        let t = i64_tensor("t", vec![2, 3, 4, 5], &vals);
        let tt = transpose(&t, &[3, 2, 0, 1], "tt").unwrap();
        assert_eq!(tt.dims, vec![5, 4, 2, 3]);
        let got = ints(&tt).unwrap();
        let mut k = 0;
        for o in 0..5 {
            for i in 0..4 {
                for h in 0..2 {
                    for w in 0..3 {
                        assert_eq!(got[k], ((h * 3 + w) * 4 + i) * 5 + o);
                        k += 1;
                    }
                }
            }
        }
    }
}
