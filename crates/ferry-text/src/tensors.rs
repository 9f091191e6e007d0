//! Tensor literals: `float[2,2] {1.0, 2.0, 3.0, 4.0}`, `string {"a"}`, and external
//! references `float[1000] ["location": "w.bin", "offset": "0"]`.
//!
//! Values are written the way onnx's parser reads them, which is also how ONNX's typed fields
//! store them, so parsing yields the field onnx would fill:
//!
//! | element type | values | stored in |
//! |---|---|---|
//! | `float`, `complex64` | float literals (complex: real, imaginary, ...) | `float_data` |
//! | `double`, `complex128` | float literals | `double_data` |
//! | `int64` | integers | `int64_data` |
//! | `uint32`, `uint64` | integers | `uint64_data` |
//! | 8/16/32-bit ints, `bool`, `float16`, `bfloat16`, float8s, float6s | integers; the floats as *bit patterns* | `int32_data` |
//! | `int4`, `uint4`, `float4e2m1`, `int2`, `uint2` | one integer per element | `int32_data`, packed |
//! | `string` | quoted strings | `string_data` |
//!
//! The packed types differ from onnx on purpose: onnx's parser stores one element per
//! `int32_data` entry, which every ONNX reader (and `onnx.numpy_helper`) decodes as two (or
//! four) packed elements, so a literal `int4[3] {1, -2, 3}` would read back as `[1, 0, -2]`.
//! ferry packs the elements, low bits first, as `onnx.helper.make_tensor` does.
//!
//! ferry checks that the number of values matches the dims and that each fits its type; onnx
//! checks neither.

use crate::cursor::{PResult, Parser};
use bytes::Bytes;
use ferry_ir::{DataType, ExternalData, Tensor, TensorData, Type, TypeKind};

/// How the values of one element type are written and stored.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Elems {
    Float,
    Double,
    Int64,
    Uint64 {
        max: u64,
    },
    /// One `int32_data` entry per element, within `min..=max`.
    Int32 {
        min: i64,
        max: i64,
    },
    /// Elements of `bits` bits packed into bytes, one byte per `int32_data` entry.
    Packed {
        bits: u32,
        min: i64,
        max: i64,
    },
    Str,
}

/// The value form of an element type and how many values each element takes.
pub(crate) fn layout(d: DataType) -> Option<(Elems, u64)> {
    use DataType as D;
    use Elems::*;
    let int32 = |min: i64, max: i64| Int32 { min, max };
    Some(match d {
        D::FLOAT => (Float, 1),
        D::COMPLEX64 => (Float, 2),
        D::DOUBLE => (Double, 1),
        D::COMPLEX128 => (Double, 2),
        D::INT64 => (Int64, 1),
        D::UINT32 => (Uint64 { max: u32::MAX.into() }, 1),
        D::UINT64 => (Uint64 { max: u64::MAX }, 1),
        D::STRING => (Str, 1),
        D::INT8 => (int32(i8::MIN.into(), i8::MAX.into()), 1),
        D::INT16 => (int32(i16::MIN.into(), i16::MAX.into()), 1),
        D::INT32 => (int32(i32::MIN.into(), i32::MAX.into()), 1),
        D::UINT8 | D::BOOL => (int32(0, 255), 1),
        D::UINT16 | D::FLOAT16 | D::BFLOAT16 => (int32(0, 65535), 1),
        D::FLOAT8E4M3FN | D::FLOAT8E4M3FNUZ | D::FLOAT8E5M2 | D::FLOAT8E5M2FNUZ => {
            (int32(0, 255), 1)
        }
        D::FLOAT8E8M0 => (int32(0, 255), 1),
        D::FLOAT6E2M3 | D::FLOAT6E3M2 => (int32(0, 63), 1),
        D::INT4 => (Packed { bits: 4, min: -8, max: 7 }, 1),
        D::UINT4 | D::FLOAT4E2M1 => (Packed { bits: 4, min: 0, max: 15 }, 1),
        D::INT2 => (Packed { bits: 2, min: -2, max: 1 }, 1),
        D::UINT2 => (Packed { bits: 2, min: 0, max: 3 }, 1),
        _ => return None,
    })
}

impl Parser<'_> {
    /// After a tensor's type (and optional name and `=`): its values in `{...}`, an external
    /// reference in `[...]`, or (for a tensor without elements) nothing.
    pub(crate) fn tensor_literal(
        &mut self,
        ty: &Type,
        ty_pos: usize,
        name: Option<String>,
    ) -> PResult<Tensor> {
        let (dtype, dims) = tensor_shape(ty).map_err(|m| self.error_at(ty_pos, m))?;
        let count = dims
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
            .ok_or_else(|| self.error_at(ty_pos, "the element count of these dims overflows"))?;
        let mut t = Tensor {
            name,
            dtype: Some(dtype),
            dims,
            data: TensorData::None,
            segment: None,
            doc_string: None,
            metadata_props: Vec::new(),
            data_location: None,
        };
        if self.at_punct(b'{') {
            t.data = self.tensor_values(dtype, count, ty)?;
        } else if self.at_punct(b'[') {
            let entries = self.string_pairs("external data list")?;
            t.data = TensorData::External(ExternalData { entries, source: None });
            t.data_location = Some(1);
        } else if count > 0 {
            return Err(self.expected("'{' and the tensor's values (or [...] for external data)"));
        }
        Ok(t)
    }

    fn tensor_values(&mut self, dtype: DataType, count: u64, ty: &Type) -> PResult<TensorData> {
        let open = self.peek().start;
        let (elems, per) = layout(dtype).ok_or_else(|| {
            self.error_at(open, format!("ferry has no literal syntax for {dtype} values"))
        })?;
        let name = dtype.to_string();
        let data = match elems {
            Elems::Float => TensorData::Float(self.values(|p| p.float_value::<f32>())?),
            Elems::Double => TensorData::Double(self.values(|p| p.float_value::<f64>())?),
            Elems::Int64 => {
                let r = (i64::MIN.into(), i64::MAX.into());
                TensorData::Int64(self.values(|p| p.int_value(r, &name).map(|v| v as i64))?)
            }
            Elems::Uint64 { max } => {
                let r = (0, max.into());
                TensorData::Uint64(self.values(|p| p.int_value(r, &name).map(|v| v as u64))?)
            }
            Elems::Int32 { min, max } => {
                let r = (min.into(), max.into());
                TensorData::Int32(self.values(|p| p.int_value(r, &name).map(|v| v as i32))?)
            }
            Elems::Packed { bits, min, max } => {
                let r = (min.into(), max.into());
                let v = self.values(|p| p.int_value(r, &name).map(|v| v as i64))?;
                let n = v.len();
                let data = TensorData::Int32(pack(&v, bits));
                return self.counted(data, n, count, open, ty);
            }
            Elems::Str => {
                TensorData::String(self.values(|p| p.string("a quoted string").map(Bytes::from))?)
            }
        };
        let n = match &data {
            TensorData::Float(v) => v.len(),
            TensorData::Double(v) => v.len(),
            TensorData::Int64(v) => v.len(),
            TensorData::Uint64(v) => v.len(),
            TensorData::Int32(v) => v.len(),
            TensorData::String(v) => v.len(),
            _ => 0,
        };
        self.counted(data, n, count * per, open, ty)
    }

    /// Checks the number of values against the dims; no values at all is no data field.
    fn counted(
        &self,
        data: TensorData,
        n: usize,
        want: u64,
        open: usize,
        ty: &Type,
    ) -> PResult<TensorData> {
        if n as u64 == want {
            return Ok(if n == 0 { TensorData::None } else { data });
        }
        let per = if matches!(
            ty.as_tensor().and_then(|t| t.elem),
            Some(DataType::COMPLEX64 | DataType::COMPLEX128)
        ) {
            " (complex elements take two: real, imaginary)"
        } else {
            ""
        };
        Err(self.error_at(open, format!("{ty} holds {want} values{per}, but {n} are given")))
    }

    /// `{ v, v, ... }` with each value read by `f`.
    fn values<T>(&mut self, mut f: impl FnMut(&mut Self) -> PResult<T>) -> PResult<Vec<T>> {
        self.expect(b'{', "to open the tensor's values")?;
        let mut out = Vec::new();
        if self.eat(b'}') {
            return Ok(out);
        }
        loop {
            out.push(f(self)?);
            if !self.eat(b',') {
                break;
            }
        }
        self.expect(b'}', "to close the tensor's values")?;
        Ok(out)
    }

    /// An integer literal within `range`, `type_name` naming the type in the error.
    fn int_value(&mut self, range: (i128, i128), type_name: &str) -> PResult<i128> {
        let t = self.peek();
        if t.kind != crate::lexer::Kind::Int {
            return Err(self.expected(&format!("an integer ({type_name} value)")));
        }
        self.bump();
        match self.text(t).parse::<i128>() {
            Ok(v) if (range.0..=range.1).contains(&v) => Ok(v),
            _ => Err(self.error_at(
                t.start,
                format!(
                    "{} is out of range for {type_name} ({} to {})",
                    self.text(t),
                    range.0,
                    range.1
                ),
            )),
        }
    }

    /// A float literal, an integer, or `inf`/`nan`, read straight into `T` (no double
    /// rounding through f64).
    pub(crate) fn float_value<T: Float>(&mut self) -> PResult<T> {
        use crate::lexer::Kind;
        let t = self.peek();
        let ok = match t.kind {
            Kind::Int | Kind::Float => true,
            Kind::Ident => crate::names::is_float_word(self.text(t)),
            _ => false,
        };
        if !ok {
            return Err(self.expected("a number"));
        }
        self.bump();
        let text = self.text(t);
        parse_float(text).ok_or_else(|| {
            self.error_at(t.start, format!("{text} is out of range for {}", T::NAME))
        })
    }
}

/// f32 and f64, for reading literals into either.
pub(crate) trait Float:
    std::str::FromStr + std::ops::Neg<Output = Self> + From<f32> + Copy
{
    const NAME: &'static str;
    fn is_infinite(self) -> bool;
}

impl Float for f32 {
    const NAME: &'static str = "float";
    fn is_infinite(self) -> bool {
        f32::is_infinite(self)
    }
}

impl Float for f64 {
    const NAME: &'static str = "double";
    fn is_infinite(self) -> bool {
        f64::is_infinite(self)
    }
}

/// Reads a float literal as onnx does: decimal, or `inf`/`infinity`/`nan` in any case, with an
/// optional minus sign; `-nan` is a NaN with the sign bit set. A finite literal too large for
/// `T` is `None` (onnx refuses it too).
pub(crate) fn parse_float<T: Float>(text: &str) -> Option<T> {
    let (neg, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let v = match body.to_ascii_lowercase().as_str() {
        "inf" | "infinity" => T::from(f32::INFINITY),
        "nan" => T::from(f32::NAN),
        _ => body.parse::<T>().ok().filter(|v| !v.is_infinite())?,
    };
    Some(if neg { -v } else { v })
}

/// The element type and numeric dims of a tensor type, as a tensor literal needs them.
fn tensor_shape(ty: &Type) -> Result<(DataType, Vec<i64>), String> {
    let Some(TypeKind::Tensor(t)) = &ty.kind else {
        return Err(format!("a tensor value needs a tensor type such as float[2,3], not {ty}"));
    };
    let elem = t.elem.ok_or("a tensor value needs an element type")?;
    let Some(shape) = &t.shape else {
        return Err(format!(
            "a tensor value needs its dims: write {elem} for a scalar, or {elem}[2,3]"
        ));
    };
    shape
        .dims
        .iter()
        .map(|d| match d.value {
            ferry_ir::DimValue::Known(n) if n >= 0 => Ok(n),
            _ => Err(format!("the dims of a tensor value must be numbers of at least 0, not {ty}")),
        })
        .collect::<Result<Vec<i64>, String>>()
        .map(|dims| (elem, dims))
}

/// Packs `bits`-bit elements into bytes, low bits first, one byte per entry.
fn pack(v: &[i64], bits: u32) -> Vec<i32> {
    let per_byte = (8 / bits) as usize;
    let mask = (1i64 << bits) - 1;
    v.chunks(per_byte)
        .map(|chunk| {
            chunk
                .iter()
                .enumerate()
                .fold(0i32, |byte, (i, &x)| byte | (((x & mask) as i32) << (i as u32 * bits)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_is_low_bits_first() {
        assert_eq!(pack(&[1, -2, 3], 4), vec![0xE1, 0x03]);
        assert_eq!(pack(&[1, 2, 3], 2), vec![57]);
    }
}
