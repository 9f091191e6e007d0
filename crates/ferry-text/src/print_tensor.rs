//! Printing tensor literals: the element values a tensor holds, decoded from whichever field
//! stores them (`raw_data` included), written so that `tensors.rs` reads back the same
//! elements.
//!
//! A tensor whose data cannot be written faithfully-enough to parse back (its field does not
//! fit its type, the count disagrees with its dims, a value is out of range for its type) is
//! refused with the reason, and the printer reports it as dropped.

use crate::names::{write_bytes, write_display, write_list, write_quoted};
use crate::tensors::{Elems, layout};
use bytes::Bytes;
use ferry_ir::{DataType, StringEntry, Tensor, TensorData};

/// Unpacks `count` elements of `bits` bits from the bit stream `bytes` (low bits first, an
/// element may straddle two bytes), sign-extending when `signed`.
fn unpack(bytes: &[u8], bits: u32, count: usize, signed: bool) -> Vec<i64> {
    let mask = (1u32 << bits) - 1;
    (0..count)
        .map(|i| {
            let bit = i * bits as usize;
            let lo = u32::from(bytes.get(bit / 8).copied().unwrap_or(0));
            let hi = u32::from(bytes.get(bit / 8 + 1).copied().unwrap_or(0));
            let raw = i64::from((((hi << 8) | lo) >> (bit % 8)) & mask);
            if signed && raw >= 1 << (bits - 1) { raw - (1 << bits) } else { raw }
        })
        .collect()
}

/// A tensor's elements decoded into one of the forms the printer writes.
enum Values {
    F32(Vec<f32>),
    F64(Vec<f64>),
    Ints(Vec<i128>),
    Strs(Vec<Bytes>),
}

/// Appends a tensor's head: `float[2,3]` (a scalar has no brackets).
pub(crate) fn write_tensor_head(out: &mut String, t: &Tensor) -> Result<(), String> {
    let dtype = t.dtype.ok_or("a tensor without element type")?;
    if layout(dtype).is_none() && !t.is_external() {
        return Err(format!("a tensor of element type {dtype}, which has no literal syntax"));
    }
    out.push_str(&dtype.text_name().ok_or("an unknown element type")?);
    if !t.dims.is_empty() {
        out.push('[');
        write_list(out, &t.dims, ",", write_display);
        out.push(']');
    }
    Ok(())
}

/// Appends a tensor's values `{...}` (or external reference `[...]`).
///
/// `Err` says why they cannot be written (nothing is appended then); `Ok(Some(..))` says what
/// the written text does not carry exactly (a NaN payload, bytes that are not UTF-8).
pub(crate) fn write_tensor_values(out: &mut String, t: &Tensor) -> Result<Option<String>, String> {
    if let TensorData::External(e) = &t.data {
        write_pairs(out, &e.entries);
        return Ok(None);
    }
    let dtype = t.dtype.ok_or("a tensor without element type")?;
    let (elems, per) = layout(dtype).ok_or_else(|| format!("no literal syntax for {dtype}"))?;
    let count = t.element_count().ok_or("its dims are negative or overflow")?;
    let want = usize::try_from(count.saturating_mul(per)).map_err(|_| "too many elements")?;
    let values = decode(&t.data, dtype, elems, want)?;
    let len = match &values {
        Values::F32(v) => v.len(),
        Values::F64(v) => v.len(),
        Values::Ints(v) => v.len(),
        Values::Strs(v) => v.len(),
    };
    if len != want {
        return Err(format!("it holds {len} values but its dims call for {want}"));
    }
    let mut lost = None;
    out.push('{');
    match &values {
        Values::F32(v) => write_list(out, v, ", ", |o, &x| {
            if !write_f32(o, x) {
                lost = Some("a NaN payload".to_string());
            }
        }),
        Values::F64(v) => write_list(out, v, ", ", |o, &x| {
            if !write_f64(o, x) {
                lost = Some("a NaN payload".to_string());
            }
        }),
        Values::Ints(v) => {
            let (lo, hi) = match elems {
                Elems::Int32 { min, max } | Elems::Packed { min, max, .. } => {
                    (i128::from(min), i128::from(max))
                }
                Elems::Uint64 { max } => (0, i128::from(max)),
                _ => (i128::from(i64::MIN), i128::from(i64::MAX)),
            };
            if let Some(bad) = v.iter().find(|x| !(lo..=hi).contains(*x)) {
                out.pop();
                return Err(format!("value {bad} is out of range for {dtype}"));
            }
            write_list(out, v, ", ", write_display)
        }
        Values::Strs(v) => write_list(out, v, ", ", |o, s| {
            if !write_bytes(o, s) {
                lost = Some("strings that are not UTF-8".to_string());
            }
        }),
    }
    out.push('}');
    Ok(lost)
}

/// Decodes the stored data into printable values, refusing fields that do not fit the type.
fn decode(data: &TensorData, dtype: DataType, elems: Elems, want: usize) -> Result<Values, String> {
    let mismatch = || Err(format!("its data is stored in a field that does not hold {dtype}"));
    Ok(match (data, elems) {
        (TensorData::None, _) => Values::Ints(Vec::new()),
        (TensorData::Float(v), Elems::Float) => Values::F32(v.clone()),
        (TensorData::Double(v), Elems::Double) => Values::F64(v.clone()),
        (TensorData::Int64(v), Elems::Int64) => Values::Ints(v.iter().map(|&x| x.into()).collect()),
        (TensorData::Uint64(v), Elems::Uint64 { .. }) => {
            Values::Ints(v.iter().map(|&x| x.into()).collect())
        }
        (TensorData::Int32(v), Elems::Int32 { .. }) => {
            Values::Ints(v.iter().map(|&x| x.into()).collect())
        }
        (TensorData::Int32(v), Elems::Packed { bits, min, .. }) => {
            if v.iter().any(|&x| !(0..=255).contains(&x)) {
                return Err("a packed int32_data entry is not a byte".into());
            }
            let bytes: Vec<u8> = v.iter().map(|&x| x as u8).collect();
            Values::Ints(unpack(&bytes, bits, want, min < 0).into_iter().map(i128::from).collect())
        }
        (TensorData::String(v), Elems::Str) => Values::Strs(v.clone()),
        (TensorData::Raw(b), _) => decode_raw(b, dtype, elems, want)?,
        _ => return mismatch(),
    })
}

/// Decodes packed little-endian `raw_data`.
fn decode_raw(b: &[u8], dtype: DataType, elems: Elems, want: usize) -> Result<Values, String> {
    let width = match elems {
        Elems::Float => 4,
        Elems::Double | Elems::Int64 => 8,
        Elems::Uint64 { max } => {
            if max == u64::MAX {
                8
            } else {
                4
            }
        }
        Elems::Int32 { .. } => match dtype.bits() {
            Some(8) => 1,
            Some(16) => 2,
            Some(32) => 4,
            // 6-bit floats: packed in raw_data, one per entry in int32_data (as onnx does).
            Some(bits) => {
                return decode_raw(b, dtype, Elems::Packed { bits, min: 0, max: 63 }, want);
            }
            None => return Err(format!("raw {dtype} data has no fixed size")),
        },
        Elems::Packed { bits, min, .. } => {
            let need = (want * bits as usize).div_ceil(8);
            if b.len() != need {
                return Err(format!("it has {} raw bytes, not {need}", b.len()));
            }
            return Ok(Values::Ints(
                unpack(b, bits, want, min < 0).into_iter().map(i128::from).collect(),
            ));
        }
        Elems::Str => return Err("string tensors cannot hold raw data".into()),
    };
    if b.len() != want * width {
        return Err(format!("it has {} raw bytes, not {}", b.len(), want * width));
    }
    let word = |c: &[u8]| {
        let mut w = [0u8; 8];
        w[..c.len()].copy_from_slice(c);
        u64::from_le_bytes(w)
    };
    let chunks = b.chunks_exact(width);
    Ok(match elems {
        Elems::Float => Values::F32(chunks.map(|c| f32::from_bits(word(c) as u32)).collect()),
        Elems::Double => Values::F64(chunks.map(|c| f64::from_bits(word(c))).collect()),
        Elems::Int64 => Values::Ints(chunks.map(|c| i128::from(word(c) as i64)).collect()),
        Elems::Int32 { min, .. } if min < 0 => {
            // Sign-extend from the element width.
            let shift = 64 - 8 * width as u32;
            Values::Ints(chunks.map(|c| i128::from(((word(c) << shift) as i64) >> shift)).collect())
        }
        _ => Values::Ints(chunks.map(|c| i128::from(word(c))).collect()),
    })
}

/// Appends `["key": "value", ...]`.
pub(crate) fn write_pairs(out: &mut String, entries: &[StringEntry]) {
    out.push('[');
    write_list(out, entries, ", ", |o, e| {
        write_quoted(o, e.key.as_deref().unwrap_or(""));
        o.push_str(": ");
        write_quoted(o, e.value.as_deref().unwrap_or(""));
    });
    out.push(']');
}

/// Appends a float so that it reads back as the same float and never as an integer (`1.0`,
/// `1e-7`, `inf`, `-nan`). Returns false for a NaN whose payload the text cannot carry.
pub(crate) fn write_f32(out: &mut String, x: f32) -> bool {
    if x.is_nan() {
        out.push_str(if x.is_sign_negative() { "-nan" } else { "nan" });
        return x.to_bits() & 0x7fff_ffff == f32::NAN.to_bits();
    }
    write_finite(out, x)
}

pub(crate) fn write_f64(out: &mut String, x: f64) -> bool {
    if x.is_nan() {
        out.push_str(if x.is_sign_negative() { "-nan" } else { "nan" });
        return x.to_bits() & 0x7fff_ffff_ffff_ffff == f64::NAN.to_bits();
    }
    write_finite(out, x)
}

fn write_finite(out: &mut String, x: impl std::fmt::Debug) -> bool {
    // Rust's `Debug` for floats is the shortest text that reads back exactly, always with a
    // `.` or an exponent, and `inf`/`-inf` for infinities: all of which the lexer reads back.
    use std::fmt::Write;
    let _ = write!(out, "{x:?}");
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensors::parse_float;

    #[test]
    fn unpacking_is_low_bits_first() {
        assert_eq!(unpack(&[0xE1, 0x03], 4, 3, true), vec![1, -2, 3]);
        assert_eq!(unpack(&[57], 2, 3, false), vec![1, 2, 3]);
        // 6-bit elements straddle bytes.
        assert_eq!(unpack(&[4, 10, 9, 52, 3], 6, 6, false), vec![4, 40, 16, 2, 52, 12]);
    }

    #[test]
    fn floats_read_back() {
        for x in [1.0f32, -0.0, 0.1, 1e-7, 3.4028235e38, f32::INFINITY, f32::NEG_INFINITY] {
            let mut s = String::new();
            write_f32(&mut s, x);
            assert_eq!(parse_float::<f32>(&s).map(f32::to_bits), Some(x.to_bits()), "{s}");
            assert!(s.contains(['.', 'e', 'i']), "{s} would read as an integer");
        }
        let mut s = String::new();
        assert!(write_f32(&mut s, -f32::NAN));
        assert_eq!(s, "-nan");
        assert_eq!(parse_float::<f32>("-nan").map(f32::to_bits), Some((-f32::NAN).to_bits()));
        assert_eq!(parse_float::<f32>("1e40"), None);
        assert_eq!(parse_float::<f64>("1e40"), Some(1e40));
        assert!(!write_f32(&mut String::new(), f32::from_bits(0x7fc0_0001)));
    }
}
