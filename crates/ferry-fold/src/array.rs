//! Typed arrays over IR tensors: decoding packed little-endian bytes into `ndarray` arrays of the
//! element type, encoding them back, element conversion (Cast) and the dispatch macros the
//! kernels use to run one generic function on whichever element type a tensor has.

use crate::{Fail, R};
use bytes::Bytes;
use ferry_ir::{DataType, Tensor};
use half::{bf16, f16};
use ndarray::{ArrayD, IxDyn};
use std::fmt::Debug;

/// One element widened without loss to what a conversion between any two types needs.
#[derive(Clone, Copy, Debug)]
pub(crate) enum W {
    I(i128),
    F(f64),
    B(bool),
}

/// An element type a kernel can hold in an `ndarray`.
pub(crate) trait Elem: Copy + PartialEq + PartialOrd + Default + Debug + 'static {
    const DT: DataType;
    const SIZE: usize;
    fn read(b: &[u8]) -> Self;
    fn write(self, out: &mut Vec<u8>);
    fn to_w(self) -> W;
    fn from_w(w: W) -> Self;
}

macro_rules! int_elem {
    ($($t:ty => $dt:ident),*) => {$(
        impl Elem for $t {
            const DT: DataType = DataType::$dt;
            const SIZE: usize = std::mem::size_of::<$t>();
            fn read(b: &[u8]) -> Self {
                let mut a = [0u8; std::mem::size_of::<$t>()];
                a.copy_from_slice(&b[..Self::SIZE]);
                <$t>::from_le_bytes(a)
            }
            fn write(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn to_w(self) -> W {
                W::I(self as i128)
            }
            fn from_w(w: W) -> Self {
                match w {
                    // Integer to integer keeps the low bits (two's complement), as C casts do.
                    W::I(i) => i as $t,
                    // Float to integer truncates toward zero (ONNX Cast); out-of-range values are
                    // undefined in ONNX and saturate here.
                    W::F(f) => (f.trunc() as i128) as $t,
                    W::B(b) => b as $t,
                }
            }
        }
    )*};
}
int_elem!(u8 => UINT8, i8 => INT8, u16 => UINT16, i16 => INT16, i32 => INT32, i64 => INT64,
    u32 => UINT32, u64 => UINT64);

impl Elem for bool {
    const DT: DataType = DataType::BOOL;
    const SIZE: usize = 1;
    fn read(b: &[u8]) -> Self {
        b[0] != 0
    }
    fn write(self, out: &mut Vec<u8>) {
        out.push(self as u8);
    }
    fn to_w(self) -> W {
        W::B(self)
    }
    fn from_w(w: W) -> Self {
        match w {
            W::I(i) => i != 0,
            W::F(f) => f != 0.0,
            W::B(b) => b,
        }
    }
}

macro_rules! float_elem {
    ($($t:ty => $dt:ident, $n:literal, $to:expr, $from:expr);*) => {$(
        impl Elem for $t {
            const DT: DataType = DataType::$dt;
            const SIZE: usize = $n;
            fn read(b: &[u8]) -> Self {
                let mut a = [0u8; $n];
                a.copy_from_slice(&b[..$n]);
                <$t>::from_le_bytes(a)
            }
            fn write(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn to_w(self) -> W {
                let to: fn($t) -> f64 = $to;
                W::F(to(self))
            }
            fn from_w(w: W) -> Self {
                let from: fn(f64) -> $t = $from;
                match w {
                    W::I(i) => from(i as f64),
                    W::F(f) => from(f),
                    W::B(b) => from(if b { 1.0 } else { 0.0 }),
                }
            }
        }
    )*};
}
float_elem!(
    f32 => FLOAT, 4, |x| x as f64, |x| x as f32;
    f64 => DOUBLE, 8, |x| x, |x| x;
    f16 => FLOAT16, 2, |x| x.to_f64(), f16::from_f64;
    bf16 => BFLOAT16, 2, |x| x.to_f64(), bf16::from_f64
);

/// A decoded tensor.
#[derive(Clone, Debug)]
pub(crate) enum Arr {
    Bool(ArrayD<bool>),
    U8(ArrayD<u8>),
    I8(ArrayD<i8>),
    U16(ArrayD<u16>),
    I16(ArrayD<i16>),
    I32(ArrayD<i32>),
    I64(ArrayD<i64>),
    U32(ArrayD<u32>),
    U64(ArrayD<u64>),
    F16(ArrayD<f16>),
    BF16(ArrayD<bf16>),
    F32(ArrayD<f32>),
    F64(ArrayD<f64>),
}

/// Runs generic code on the array inside an [`Arr`], for the element types of a list:
/// `all` (every type), `num` (all but bool), `int` (integers), `float` (floating point).
///
/// - `map x, a => body`: `body` makes an array of the same element type, re-wrapped;
/// - `with x, a => body`: `body` is the result as is;
/// - `each x, a => body`: like `with`, without the failure arm (for `all`, which is exhaustive);
/// - `vec xs, v => body`: `xs` is a `Vec<Arr>` that must share one element type; `v` is the
///   `Vec<ArrayD<T>>`, and `body` is the result.
///
/// Element types outside the list make the enclosing function return `Fail::Unsupported`.
macro_rules! dispatch {
    (all, $($rest:tt)*) => {
        $crate::array::dispatch!(@list [Bool bool, U8 u8, I8 i8, U16 u16, I16 i16, I32 i32,
            I64 i64, U32 u32, U64 u64, F16 half::f16, BF16 half::bf16, F32 f32, F64 f64],
            $($rest)*)
    };
    (num, $($rest:tt)*) => {
        $crate::array::dispatch!(@list [U8 u8, I8 i8, U16 u16, I16 i16, I32 i32, I64 i64,
            U32 u32, U64 u64, F16 half::f16, BF16 half::bf16, F32 f32, F64 f64], $($rest)*)
    };
    (int, $($rest:tt)*) => {
        $crate::array::dispatch!(@list [U8 u8, I8 i8, U16 u16, I16 i16, I32 i32, I64 i64,
            U32 u32, U64 u64], $($rest)*)
    };
    (float, $($rest:tt)*) => {
        $crate::array::dispatch!(@list [F16 half::f16, BF16 half::bf16, F32 f32, F64 f64],
            $($rest)*)
    };
    (@list [$($var:ident $t:ty),*], map $x:expr, $a:ident => $body:expr) => {
        match $x {
            $($crate::array::Arr::$var($a) => $crate::array::Arr::$var($body),)*
            #[allow(unreachable_patterns)]
            _ => return Err($crate::Fail::Unsupported),
        }
    };
    // `each` is `with` without the fallback arm: with `all` it is exhaustive and cannot fail.
    (@list [$($var:ident $t:ty),*], each $x:expr, $a:ident => $body:expr) => {
        match $x {
            $($crate::array::Arr::$var($a) => $body,)*
        }
    };
    (@list [$($var:ident $t:ty),*], with $x:expr, $a:ident => $body:expr) => {
        match $x {
            $($crate::array::Arr::$var($a) => $body,)*
            #[allow(unreachable_patterns)]
            _ => return Err($crate::Fail::Unsupported),
        }
    };
    (@list [$($var:ident $t:ty),*], vec $xs:expr, $v:ident => $body:expr) => {{
        let xs: Vec<$crate::array::Arr> = $xs;
        match xs.first() {
            $(Some($crate::array::Arr::$var(_)) => {
                let $v = xs
                    .into_iter()
                    .map(|a| match a {
                        $crate::array::Arr::$var(x) => Ok(x),
                        other => Err($crate::Fail::Invalid(format!(
                            "inputs differ in element type ({:?} and {:?})",
                            <$t as $crate::array::Elem>::DT,
                            other.dtype()
                        ))),
                    })
                    .collect::<$crate::R<Vec<ndarray::ArrayD<$t>>>>()?;
                $body
            })*
            #[allow(unreachable_patterns)]
            _ => return Err($crate::Fail::Unsupported),
        }
    }};
}
pub(crate) use dispatch;

impl Arr {
    pub fn dtype(&self) -> DataType {
        fn dt<T: Elem>(_: &ArrayD<T>) -> DataType {
            T::DT
        }
        dispatch!(all, each self, a => dt(a))
    }

    pub fn shape(&self) -> &[usize] {
        dispatch!(all, each self, a => a.shape())
    }

    pub fn len(&self) -> usize {
        self.shape().iter().product()
    }

    pub fn is_float(&self) -> bool {
        matches!(self, Arr::F16(_) | Arr::BF16(_) | Arr::F32(_) | Arr::F64(_))
    }

    pub fn is_int(&self) -> bool {
        !self.is_float() && !matches!(self, Arr::Bool(_))
    }

    /// Every element, widened, in row-major order.
    pub fn widened(&self) -> Vec<W> {
        fn go<T: Elem>(a: &ArrayD<T>) -> Vec<W> {
            a.iter().map(|x| x.to_w()).collect()
        }
        dispatch!(all, each self, a => go(a))
    }

    /// The elements of an integer tensor as i64 (shape and axes inputs).
    pub fn to_i64s(&self) -> R<Vec<i64>> {
        if !self.is_int() {
            return Err(Fail::Invalid(format!(
                "expected an integer tensor, got {:?}",
                self.dtype()
            )));
        }
        self.widened()
            .into_iter()
            .map(|w| match w {
                W::I(i) => i64::try_from(i).map_err(|_| Fail::Unsupported),
                _ => Err(Fail::Unsupported),
            })
            .collect()
    }

    /// An array of element type `dt` with `shape`, filled from widened values.
    pub fn from_widened(dt: DataType, shape: &[usize], vals: &[W]) -> R<Arr> {
        fn go<T: Elem>(shape: &[usize], vals: &[W]) -> R<ArrayD<T>> {
            let v: Vec<T> = vals.iter().map(|&w| T::from_w(w)).collect();
            from_vec(shape, v)
        }
        Ok(match dt {
            DataType::BOOL => Arr::Bool(go(shape, vals)?),
            DataType::UINT8 => Arr::U8(go(shape, vals)?),
            DataType::INT8 => Arr::I8(go(shape, vals)?),
            DataType::UINT16 => Arr::U16(go(shape, vals)?),
            DataType::INT16 => Arr::I16(go(shape, vals)?),
            DataType::INT32 => Arr::I32(go(shape, vals)?),
            DataType::INT64 => Arr::I64(go(shape, vals)?),
            DataType::UINT32 => Arr::U32(go(shape, vals)?),
            DataType::UINT64 => Arr::U64(go(shape, vals)?),
            DataType::FLOAT16 => Arr::F16(go(shape, vals)?),
            DataType::BFLOAT16 => Arr::BF16(go(shape, vals)?),
            DataType::FLOAT => Arr::F32(go(shape, vals)?),
            DataType::DOUBLE => Arr::F64(go(shape, vals)?),
            _ => return Err(Fail::Unsupported),
        })
    }

    /// Converts every element to `dt` (ONNX Cast for the types ferry folds).
    pub fn cast(&self, dt: DataType) -> R<Arr> {
        if self.dtype() == dt {
            return Ok(self.clone());
        }
        let shape = self.shape().to_vec();
        Arr::from_widened(dt, &shape, &self.widened())
    }

    pub fn i64s(shape: &[usize], v: Vec<i64>) -> R<Arr> {
        Ok(Arr::I64(from_vec(shape, v)?))
    }
}

/// An array of `shape` from row-major elements.
pub(crate) fn from_vec<T>(shape: &[usize], v: Vec<T>) -> R<ArrayD<T>> {
    ArrayD::from_shape_vec(IxDyn(shape), v)
        .map_err(|e| Fail::Invalid(format!("internal shape mismatch: {e}")))
}

/// The same elements in row-major order under another shape (same element count).
pub(crate) fn reshaped<T: Clone>(a: &ArrayD<T>, shape: &[usize]) -> R<ArrayD<T>> {
    from_vec(shape, a.iter().cloned().collect())
}

/// Decodes an IR tensor, refusing tensors over `max_elements`.
pub(crate) fn decode(t: &Tensor, max_elements: u64) -> R<Arr> {
    let dt = t.dtype.ok_or_else(|| Fail::Invalid("tensor without an element type".into()))?;
    let count = t
        .element_count()
        .ok_or_else(|| Fail::Invalid(format!("tensor dims {:?} are invalid", t.dims)))?;
    if count > max_elements {
        return Err(Fail::Unsupported);
    }
    let shape: Vec<usize> = t.dims.iter().map(|&d| d as usize).collect();
    fn go<T: Elem>(b: &[u8], count: usize, shape: &[usize]) -> R<ArrayD<T>> {
        let need = count * T::SIZE;
        if b.len() != need {
            return Err(Fail::Invalid(format!(
                "tensor holds {} bytes, its dims need {need}",
                b.len()
            )));
        }
        from_vec(shape, b.chunks_exact(T::SIZE).map(T::read).collect())
    }
    let known = matches!(
        dt,
        DataType::BOOL
            | DataType::UINT8
            | DataType::INT8
            | DataType::UINT16
            | DataType::INT16
            | DataType::INT32
            | DataType::INT64
            | DataType::UINT32
            | DataType::UINT64
            | DataType::FLOAT16
            | DataType::BFLOAT16
            | DataType::FLOAT
            | DataType::DOUBLE
    );
    if !known {
        return Err(Fail::Unsupported);
    }
    let bytes = t.le_bytes().map_err(Fail::Invalid)?;
    let n = count as usize;
    Ok(match dt {
        DataType::BOOL => Arr::Bool(go(&bytes, n, &shape)?),
        DataType::UINT8 => Arr::U8(go(&bytes, n, &shape)?),
        DataType::INT8 => Arr::I8(go(&bytes, n, &shape)?),
        DataType::UINT16 => Arr::U16(go(&bytes, n, &shape)?),
        DataType::INT16 => Arr::I16(go(&bytes, n, &shape)?),
        DataType::INT32 => Arr::I32(go(&bytes, n, &shape)?),
        DataType::INT64 => Arr::I64(go(&bytes, n, &shape)?),
        DataType::UINT32 => Arr::U32(go(&bytes, n, &shape)?),
        DataType::UINT64 => Arr::U64(go(&bytes, n, &shape)?),
        DataType::FLOAT16 => Arr::F16(go(&bytes, n, &shape)?),
        DataType::BFLOAT16 => Arr::BF16(go(&bytes, n, &shape)?),
        DataType::FLOAT => Arr::F32(go(&bytes, n, &shape)?),
        DataType::DOUBLE => Arr::F64(go(&bytes, n, &shape)?),
        _ => return Err(Fail::Unsupported),
    })
}

/// Encodes an array as an unnamed IR tensor with raw little-endian data.
pub(crate) fn encode(a: &Arr) -> Tensor {
    fn go<T: Elem>(a: &ArrayD<T>) -> (DataType, Vec<i64>, Bytes) {
        let mut out = Vec::with_capacity(a.len() * T::SIZE);
        for &x in a.iter() {
            x.write(&mut out);
        }
        (T::DT, a.shape().iter().map(|&d| d as i64).collect(), Bytes::from(out))
    }
    let (dt, dims, data) = dispatch!(all, each a, a => go(a));
    let mut t = Tensor::from_raw("", dt, dims, data);
    t.name = None;
    t
}
