//! Checks on the numbers a file states about a tensor, done before anything trusts them.
//!
//! onnx's own loaders have overflowed heaps on `raw_data` shorter than the dims promise. ferry
//! refuses such tensors at import: dims must be non-negative, their product must not overflow, and
//! the stored data must hold exactly as many elements as the dims say (too long is refused too,
//! since it means the dims are not what the writer meant).

use ferry_ir::{DataType, Tensor, TensorData};

/// How many entries a typed field must hold for `count` elements of `dtype`, or `None` when the
/// field cannot hold that type at all.
fn typed_len(dtype: DataType, field: &TensorData, count: u64) -> Option<u64> {
    use DataType as D;
    let per_element = |k: u64| count.checked_mul(k);
    match field {
        TensorData::Float(_) => match dtype {
            D::FLOAT => per_element(1),
            D::COMPLEX64 => per_element(2),
            _ => None,
        },
        TensorData::Double(_) => match dtype {
            D::DOUBLE => per_element(1),
            D::COMPLEX128 => per_element(2),
            _ => None,
        },
        TensorData::Int64(_) => (dtype == D::INT64).then_some(count),
        TensorData::Uint64(_) => matches!(dtype, D::UINT32 | D::UINT64).then_some(count),
        TensorData::String(_) => (dtype == D::STRING).then_some(count),
        TensorData::Int32(_) => match dtype {
            D::INT32
            | D::INT16
            | D::INT8
            | D::UINT16
            | D::UINT8
            | D::BOOL
            | D::FLOAT16
            | D::BFLOAT16
            | D::FLOAT8E4M3FN
            | D::FLOAT8E4M3FNUZ
            | D::FLOAT8E5M2
            | D::FLOAT8E5M2FNUZ
            | D::FLOAT8E8M0 => Some(count),
            // 6-bit floats are packed in raw_data but one per entry in int32_data (onnx 1.23).
            D::FLOAT6E2M3 | D::FLOAT6E3M2 => Some(count),
            // Packed sub-byte types: one int32 entry per byte of packed data.
            D::INT4 | D::UINT4 | D::FLOAT4E2M1 => Some(count.div_ceil(2)),
            D::INT2 | D::UINT2 => Some(count.div_ceil(4)),
            _ => None,
        },
        _ => None,
    }
}

/// Refuses a tensor whose dims or data size cannot be trusted. Messages name it as
/// `tensor 'NAME'`; they are only built when something is wrong (this runs for every tensor).
pub fn check_tensor(t: &Tensor, name: &str) -> Result<(), String> {
    let what = Named(name);
    for (i, &d) in t.dims.iter().enumerate() {
        if d < 0 {
            return Err(format!("{what}: dim {i} is negative ({d})"));
        }
    }
    let count = t
        .element_count()
        .ok_or_else(|| format!("{what}: the element count of dims {:?} overflows", t.dims))?;
    // A segment describes a slice of a larger tensor; its data is not sized by these dims.
    if t.segment.is_some() {
        return Ok(());
    }
    let Some(dtype) = t.dtype.filter(|d| d.is_known() && *d != DataType::UNDEFINED) else {
        // Unknown element types (a newer schema) cannot be sized; they pass through untouched.
        return Ok(());
    };
    let field_name = match &t.data {
        TensorData::None => {
            return if count == 0 {
                Ok(())
            } else {
                Err(format!(
                    "{what}: dims {:?} promise {count} elements but it has no data",
                    t.dims
                ))
            };
        }
        TensorData::Raw(b) => {
            if dtype == DataType::STRING {
                return Err(format!("{what}: string tensors cannot be stored in raw_data"));
            }
            return check_bytes(dtype, count, b.len() as u64, "raw_data", what);
        }
        TensorData::External(e) => {
            if dtype == DataType::STRING {
                return Err(format!("{what}: string tensors cannot be stored as external data"));
            }
            return match &e.source {
                Some(s) => check_bytes(dtype, count, s.len(), "external data", what),
                None => Ok(()),
            };
        }
        TensorData::Float(_) => "float_data",
        TensorData::Int32(_) => "int32_data",
        TensorData::Int64(_) => "int64_data",
        TensorData::Double(_) => "double_data",
        TensorData::Uint64(_) => "uint64_data",
        TensorData::String(_) => "string_data",
    };
    let have = match &t.data {
        TensorData::Float(v) => v.len(),
        TensorData::Int32(v) => v.len(),
        TensorData::Int64(v) => v.len(),
        TensorData::Double(v) => v.len(),
        TensorData::Uint64(v) => v.len(),
        TensorData::String(v) => v.len(),
        _ => 0,
    } as u64;
    match typed_len(dtype, &t.data, count) {
        None => Err(format!("{what}: {field_name} cannot hold elements of type {dtype:?}")),
        Some(want) if want != have => Err(format!(
            "{what}: dims {:?} of {dtype:?} need {want} entries in {field_name}, found {have}",
            t.dims
        )),
        Some(_) => Ok(()),
    }
}

fn check_bytes(
    dtype: DataType,
    count: u64,
    have: u64,
    field: &str,
    what: Named<'_>,
) -> Result<(), String> {
    let want = dtype.byte_len(count).ok_or_else(|| {
        format!("{what}: the byte size of {count} elements of {dtype:?} overflows")
    })?;
    if want != have {
        return Err(format!(
            "{what}: {count} elements of {dtype:?} need {want} bytes of {field}, found {have}"
        ));
    }
    Ok(())
}

/// Displays as `tensor 'NAME'`, formatted only when an error message is built.
#[derive(Clone, Copy)]
struct Named<'a>(&'a str);

impl std::fmt::Display for Named<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "tensor '{}'", self.0)
    }
}
