//! Element-wise operators with numpy broadcasting: arithmetic (Add, Sub, Mul, Div, Mod, Pow,
//! Min, Max, Sum, Mean), unary math (Neg, Abs, Sqrt, Reciprocal, Exp, Log, Floor, Ceil),
//! comparisons (Equal, Less, Greater, LessOrEqual, GreaterOrEqual), logic (And, Or, Xor, Not)
//! and Where.

use crate::array::{Arr, Elem, W, dispatch};
use crate::movement::FromTyped;
use crate::{Cx, Fail, R, invalid};
use half::{bf16, f16};
use ndarray::{ArrayD, IxDyn, Zip};

/// Arithmetic on one element type. Integers wrap; a division by zero is `None`.
pub(crate) trait Num: Elem {
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    fn div(self, o: Self) -> Option<Self>;
    /// `fmod`: the sign of the dividend (C fmod); otherwise the sign of the divisor.
    fn rem(self, o: Self, fmod: bool) -> Option<Self>;
    fn neg(self) -> Self;
    fn abs(self) -> Self;
    /// Smaller / larger; a NaN operand wins (numpy's minimum/maximum).
    fn min_(self, o: Self) -> Self;
    fn max_(self, o: Self) -> Self;
    fn zero() -> Self;
    fn one() -> Self;
    /// The identity of max and min reductions.
    fn lowest() -> Self;
    fn highest() -> Self;
    fn from_usize(n: usize) -> Self;
}

macro_rules! int_num {
    ($($t:ty, $signed:expr);*) => {$(
        impl Num for $t {
            fn add(self, o: Self) -> Self { self.wrapping_add(o) }
            fn sub(self, o: Self) -> Self { self.wrapping_sub(o) }
            fn mul(self, o: Self) -> Self { self.wrapping_mul(o) }
            fn div(self, o: Self) -> Option<Self> {
                if o == 0 { None } else { Some(self.wrapping_div(o)) }
            }
            fn rem(self, o: Self, fmod: bool) -> Option<Self> {
                if o == 0 {
                    return None;
                }
                let r = self.wrapping_rem(o);
                #[allow(unused_comparisons)]
                let differ = (r < 0) != (o < 0);
                Some(if !fmod && r != 0 && differ { r.wrapping_add(o) } else { r })
            }
            fn neg(self) -> Self { (0 as $t).wrapping_sub(self) }
            fn abs(self) -> Self {
                #[allow(unused_comparisons)]
                let negative = self < 0;
                if negative { self.neg() } else { self }
            }
            fn min_(self, o: Self) -> Self { if o < self { o } else { self } }
            fn max_(self, o: Self) -> Self { if o > self { o } else { self } }
            fn zero() -> Self { 0 }
            fn one() -> Self { 1 }
            fn lowest() -> Self { <$t>::MIN }
            fn highest() -> Self { <$t>::MAX }
            fn from_usize(n: usize) -> Self { n as $t }
        }
    )*};
}
int_num!(u8, false; i8, true; u16, false; i16, true; i32, true; i64, true; u32, false;
    u64, false);

/// Floats compute in a wider native type (`f32` for the 16-bit ones) and round once.
macro_rules! float_num {
    ($($t:ty, $w:ty, $to:expr, $from:expr);*) => {$(
        impl Num for $t {
            fn add(self, o: Self) -> Self { bin::<$t, $w>(self, o, $to, $from, |a, b| a + b) }
            fn sub(self, o: Self) -> Self { bin::<$t, $w>(self, o, $to, $from, |a, b| a - b) }
            fn mul(self, o: Self) -> Self { bin::<$t, $w>(self, o, $to, $from, |a, b| a * b) }
            fn div(self, o: Self) -> Option<Self> {
                Some(bin::<$t, $w>(self, o, $to, $from, |a, b| a / b))
            }
            fn rem(self, o: Self, fmod: bool) -> Option<Self> {
                Some(bin::<$t, $w>(self, o, $to, $from, |a, b| {
                    let r = a % b;
                    if !fmod && r != 0.0 && (r < 0.0) != (b < 0.0) { r + b } else { r }
                }))
            }
            fn neg(self) -> Self { -self }
            fn abs(self) -> Self { let to: fn($t) -> $w = $to; let from: fn($w) -> $t = $from; from(to(self).abs()) }
            fn min_(self, o: Self) -> Self {
                if self.is_nan() || o.is_nan() { <$t>::NAN } else if o < self { o } else { self }
            }
            fn max_(self, o: Self) -> Self {
                if self.is_nan() || o.is_nan() { <$t>::NAN } else if o > self { o } else { self }
            }
            fn zero() -> Self { <$t>::from_w(W::F(0.0)) }
            fn one() -> Self { <$t>::from_w(W::F(1.0)) }
            fn lowest() -> Self { <$t>::NEG_INFINITY }
            fn highest() -> Self { <$t>::INFINITY }
            fn from_usize(n: usize) -> Self { <$t>::from_w(W::F(n as f64)) }
        }
    )*};
}

fn bin<T, Wd>(a: T, b: T, to: fn(T) -> Wd, from: fn(Wd) -> T, f: impl Fn(Wd, Wd) -> Wd) -> T {
    from(f(to(a), to(b)))
}

float_num!(
    f32, f32, |x| x, |x| x;
    f64, f64, |x| x, |x| x;
    f16, f32, f16::to_f32, f16::from_f32;
    bf16, f32, bf16::to_f32, bf16::from_f32
);

pub(crate) fn run(cx: &Cx) -> R<Vec<Arr>> {
    let op = cx.op();
    let out = match op {
        "Add" | "Sub" | "Mul" | "Div" | "Mod" => {
            let (a, b) = (cx.arr(0)?, cx.arr(1)?);
            let fmod = cx.attr_int_or("fmod", 0)? != 0;
            let shape = broadcast_shapes(&[a.shape(), b.shape()])?;
            cx.check_shape(&shape)?;
            dispatch!(num, vec vec![a, b], v => arith(op, &v[0], &v[1], &shape, fmod)?)
        }
        "Max" | "Min" | "Sum" | "Mean" => variadic(cx)?,
        "Pow" => pow(cx)?,
        "Neg" | "Abs" => {
            let a = cx.arr(0)?;
            let neg = op == "Neg";
            dispatch!(num, map a, x => x.mapv(|v| if neg { v.neg() } else { v.abs() }))
        }
        "Sqrt" | "Reciprocal" | "Exp" | "Log" | "Floor" | "Ceil" => {
            let f: fn(f64) -> f64 = match op {
                "Sqrt" => f64::sqrt,
                "Reciprocal" => |x| 1.0 / x,
                "Exp" => f64::exp,
                "Log" => f64::ln,
                "Floor" => f64::floor,
                _ => f64::ceil,
            };
            let a = cx.arr(0)?;
            dispatch!(float, map a, x => x.mapv(|v| unary(v, f)))
        }
        "Equal" | "Less" | "Greater" | "LessOrEqual" | "GreaterOrEqual" => {
            let (a, b) = (cx.arr(0)?, cx.arr(1)?);
            let shape = broadcast_shapes(&[a.shape(), b.shape()])?;
            cx.check_shape(&shape)?;
            let f = |x: std::cmp::Ordering| -> bool {
                use std::cmp::Ordering::*;
                match op {
                    "Equal" => x == Equal,
                    "Less" => x == Less,
                    "Greater" => x == Greater,
                    "LessOrEqual" => x != Greater,
                    _ => x != Less,
                }
            };
            Arr::Bool(dispatch!(all, vec vec![a, b], v => zip2(&v[0], &v[1], &shape, |x, y| {
                // A NaN compares false with everything, equal to nothing.
                x.partial_cmp(&y).is_some_and(f)
            })?))
        }
        "And" | "Or" | "Xor" => {
            let (Arr::Bool(a), Arr::Bool(b)) = (cx.arr(0)?, cx.arr(1)?) else {
                return invalid("inputs must be bool");
            };
            let shape = broadcast_shapes(&[a.shape(), b.shape()])?;
            cx.check_shape(&shape)?;
            Arr::Bool(zip2(&a, &b, &shape, |x, y| match op {
                "And" => x && y,
                "Or" => x || y,
                _ => x != y,
            })?)
        }
        "Not" => match cx.arr(0)? {
            Arr::Bool(a) => Arr::Bool(a.mapv(|x| !x)),
            _ => return invalid("input must be bool"),
        },
        "Where" => {
            let Arr::Bool(c) = cx.arr(0)? else { return invalid("condition must be bool") };
            let (x, y) = (cx.arr(1)?, cx.arr(2)?);
            let shape = broadcast_shapes(&[c.shape(), x.shape(), y.shape()])?;
            cx.check_shape(&shape)?;
            let c = c.broadcast(IxDyn(&shape)).ok_or(Fail::Unsupported)?.to_owned();
            dispatch!(all, vec vec![x, y], v => {
                let sel = zip2(&v[0], &v[1], &shape, |a, b| (a, b))?;
                let mut out = Vec::with_capacity(sel.len());
                for (&(a, b), &k) in sel.iter().zip(c.iter()) {
                    out.push(if k { a } else { b });
                }
                crate::movement::wrap(crate::array::from_vec(&shape, out)?)
            })
        }
        _ => return Err(Fail::Unsupported),
    };
    Ok(vec![out])
}

fn unary<T: Elem>(v: T, f: fn(f64) -> f64) -> T {
    match v.to_w() {
        W::F(x) => T::from_w(W::F(f(x))),
        w => T::from_w(w),
    }
}

/// The numpy broadcast of several shapes.
pub(crate) fn broadcast_shapes(shapes: &[&[usize]]) -> R<Vec<usize>> {
    let rank = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out = vec![1usize; rank];
    for s in shapes {
        let off = rank - s.len();
        for (i, &d) in s.iter().enumerate() {
            let o = &mut out[off + i];
            if *o == 1 {
                *o = d;
            } else if d != 1 && d != *o {
                return invalid(format!("shapes {shapes:?} do not broadcast"));
            }
        }
    }
    Ok(out)
}

/// Applies `f` to the broadcast pairs of `a` and `b`.
pub(crate) fn zip2<A: Clone, B: Clone, O>(
    a: &ArrayD<A>,
    b: &ArrayD<B>,
    shape: &[usize],
    mut f: impl FnMut(A, B) -> O,
) -> R<ArrayD<O>> {
    let av =
        a.broadcast(IxDyn(shape)).ok_or_else(|| Fail::Invalid("shapes do not broadcast".into()))?;
    let bv =
        b.broadcast(IxDyn(shape)).ok_or_else(|| Fail::Invalid("shapes do not broadcast".into()))?;
    let mut out = Vec::with_capacity(av.len());
    Zip::from(&av).and(&bv).for_each(|x, y| out.push(f(x.clone(), y.clone())));
    crate::array::from_vec(shape, out)
}

fn arith<T: Num>(op: &str, a: &ArrayD<T>, b: &ArrayD<T>, shape: &[usize], fmod: bool) -> R<Arr>
where
    Arr: FromTyped<T>,
{
    let mut zero_div = false;
    let out = zip2(a, b, shape, |x, y| match op {
        "Add" => x.add(y),
        "Sub" => x.sub(y),
        "Mul" => x.mul(y),
        "Div" => x.div(y).unwrap_or_else(|| {
            zero_div = true;
            T::zero()
        }),
        _ => x.rem(y, fmod).unwrap_or_else(|| {
            zero_div = true;
            T::zero()
        }),
    })?;
    if zero_div {
        // Integer division by zero is undefined; leave it to the runtime.
        return Err(Fail::Unsupported);
    }
    Ok(crate::movement::wrap(out))
}

fn variadic(cx: &Cx) -> R<Arr> {
    let op = cx.op();
    let mut arrs = Vec::with_capacity(cx.n_inputs());
    for i in 0..cx.n_inputs() {
        arrs.push(cx.arr(i)?);
    }
    if arrs.is_empty() {
        return invalid("no inputs");
    }
    let shapes: Vec<&[usize]> = arrs.iter().map(|a| a.shape()).collect();
    let shape = broadcast_shapes(&shapes)?;
    cx.check_shape(&shape)?;
    let n = arrs.len();
    Ok(dispatch!(num, vec arrs, v => {
        let mut acc = v[0].broadcast(IxDyn(&shape)).ok_or(Fail::Unsupported)?.to_owned();
        for x in &v[1..] {
            acc = zip2(&acc, x, &shape, |p, q| match op {
                "Max" => p.max_(q),
                "Min" => p.min_(q),
                _ => p.add(q),
            })?;
        }
        if op == "Mean" {
            let d = Num::from_usize(n);
            acc = acc.mapv(|p| p.div(d).unwrap_or(p));
        }
        crate::movement::wrap(acc)
    }))
}

fn pow(cx: &Cx) -> R<Arr> {
    let (a, b) = (cx.arr(0)?, cx.arr(1)?);
    let shape = broadcast_shapes(&[a.shape(), b.shape()])?;
    cx.check_shape(&shape)?;
    if a.is_int() && b.is_int() {
        let e = b.cast(ferry_ir::DataType::INT64)?;
        let Arr::I64(e) = e else { return Err(Fail::Unsupported) };
        if e.iter().any(|&x| x < 0) {
            return Err(Fail::Unsupported);
        }
        return Ok(dispatch!(int, map a, x => zip2(&x, &e, &shape, |p, q| {
            let mut r = Num::one();
            let mut base = p;
            let mut k = q as u64;
            while k > 0 {
                if k & 1 == 1 {
                    r = Num::mul(r, base);
                }
                base = Num::mul(base, base);
                k >>= 1;
            }
            r
        })?));
    }
    if !(a.is_float() || a.is_int()) || !(b.is_float() || b.is_int()) {
        return Err(Fail::Unsupported);
    }
    let Arr::F64(e) = b.cast(ferry_ir::DataType::DOUBLE)? else { return Err(Fail::Unsupported) };
    Ok(dispatch!(num, map a, x => zip2(&x, &e, &shape, |p, q| {
        Elem::from_w(W::F(Elem::to_w(p).as_f64().powf(q)))
    })?))
}

impl W {
    fn as_f64(self) -> f64 {
        match self {
            W::I(i) => i as f64,
            W::F(f) => f,
            W::B(b) => f64::from(u8::from(b)),
        }
    }
}
