//! What inference knows about a value: its type (with symbolic shape) and, for small tensors,
//! its contents.
//!
//! Contents matter because shapes are computed by graphs: `Shape -> Gather -> Concat -> Reshape`
//! only yields a shape if the integers flowing through it are tracked. Integer contents are
//! tracked as [`Dim`]s, so a shape tensor can hold `[N, 3, 224, 224]` with `N` symbolic.

use crate::sym::{Dim, Expr};
use ferry_ir::{DataType, DimValue, Shape, TensorType, Type, TypeKind};

/// An inferred type.
#[derive(Clone, Debug, PartialEq)]
pub enum Ty {
    Tensor(TensorTy),
    Sparse(TensorTy),
    Seq(Option<Box<Ty>>),
    Optional(Option<Box<Ty>>),
    Map(Option<DataType>, Option<Box<Ty>>),
    /// Types inference does not reason about (opaque), carried as declared.
    Other(Type),
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct TensorTy {
    pub elem: Option<DataType>,
    /// `None`: rank unknown.
    pub shape: Option<Vec<Dim>>,
}

/// The elements of a small tensor, flattened in row-major order.
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    /// Integer and boolean tensors, as dimensions (so symbolic integers flow through).
    Int(Vec<Dim>),
    /// Floating-point tensors of any width, as f64.
    Float(Vec<f64>),
    Str(Vec<Vec<u8>>),
}

/// Contents of a tensor small enough to track (see [`MAX_TRACKED`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Konst {
    pub elem: DataType,
    pub dims: Vec<i64>,
    pub data: Data,
}

/// Tensors with more elements than this are not tracked by value.
/// Shape computations handle short vectors; decoding every large weight would only cost time.
pub const MAX_TRACKED: usize = 1 << 12;

/// The same for floating-point constants. Shape arithmetic meets floats only as short
/// vectors (Resize scales, a pad value, a shape cast to float and scaled); convolution and
/// normalization weights of a few thousand elements are common and are never shapes. Decoding
/// them cost a 20k-node CNN's inference 14 million elements.
pub const MAX_TRACKED_FLOAT: usize = 64;

/// Everything known about one value.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Fact {
    pub ty: Option<Ty>,
    pub value: Option<Konst>,
}

impl TensorTy {
    pub fn new(elem: DataType, shape: Vec<Dim>) -> TensorTy {
        TensorTy { elem: Some(elem), shape: Some(shape) }
    }

    pub fn rank(&self) -> Option<usize> {
        self.shape.as_ref().map(Vec::len)
    }
}

impl Ty {
    pub fn tensor(elem: DataType, shape: Vec<Dim>) -> Ty {
        Ty::Tensor(TensorTy::new(elem, shape))
    }

    pub fn as_tensor(&self) -> Option<&TensorTy> {
        match self {
            Ty::Tensor(t) => Some(t),
            _ => None,
        }
    }

    /// From the IR's declared type; `dim_param` strings are parsed as expressions.
    pub fn from_ir(t: &Type) -> Option<Ty> {
        let tensor = |tt: &TensorType| TensorTy {
            elem: tt.elem,
            shape: tt.shape.as_ref().map(|s| {
                s.dims
                    .iter()
                    .map(|d| match &d.value {
                        DimValue::Known(n) => Dim::known(*n),
                        DimValue::Symbol(p) => Dim::Expr(Expr::parse(p)),
                        DimValue::Unknown => Dim::Unknown,
                    })
                    .collect()
            }),
        };
        let inner = |t: &Option<Box<Type>>| t.as_ref().and_then(|t| Ty::from_ir(t)).map(Box::new);
        Some(match t.kind.as_ref()? {
            TypeKind::Tensor(tt) => Ty::Tensor(tensor(tt)),
            TypeKind::SparseTensor(tt) => Ty::Sparse(tensor(tt)),
            TypeKind::Sequence(e) => Ty::Seq(inner(e)),
            TypeKind::Optional(e) => Ty::Optional(inner(e)),
            TypeKind::Map { key, value } => Ty::Map(*key, inner(value)),
            TypeKind::Opaque { .. } => Ty::Other(t.clone()),
        })
    }

    /// To the IR: expressions become `dim_param` strings, unknown dims stay unknown.
    pub fn to_ir(&self) -> Type {
        let tensor = |t: &TensorTy| TensorType {
            elem: t.elem,
            shape: t.shape.as_ref().map(|dims| {
                Shape::new(dims.iter().map(|d| match d {
                    Dim::Expr(e) => match e.as_const() {
                        Some(n) => DimValue::Known(n),
                        None => DimValue::Symbol(e.to_string()),
                    },
                    Dim::Unknown => DimValue::Unknown,
                }))
            }),
        };
        let inner = |t: &Option<Box<Ty>>| t.as_ref().map(|t| Box::new(t.to_ir()));
        let kind = match self {
            Ty::Tensor(t) => TypeKind::Tensor(tensor(t)),
            Ty::Sparse(t) => TypeKind::SparseTensor(tensor(t)),
            Ty::Seq(e) => TypeKind::Sequence(inner(e)),
            Ty::Optional(e) => TypeKind::Optional(inner(e)),
            Ty::Map(k, v) => TypeKind::Map { key: *k, value: inner(v) },
            Ty::Other(t) => return t.clone(),
        };
        Type { kind: Some(kind), denotation: None }
    }
}

impl Konst {
    pub fn len(&self) -> usize {
        match &self.data {
            Data::Int(v) => v.len(),
            Data::Float(v) => v.len(),
            Data::Str(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The integers, when every element is a known number.
    pub fn ints(&self) -> Option<Vec<i64>> {
        match &self.data {
            Data::Int(v) => v.iter().map(Dim::as_const).collect(),
            Data::Float(v) => v.iter().map(|f| (f.fract() == 0.0).then_some(*f as i64)).collect(),
            Data::Str(_) => None,
        }
    }

    /// The integer elements as dimensions (possibly symbolic).
    pub fn dims_data(&self) -> Option<&[Dim]> {
        match &self.data {
            Data::Int(v) => Some(v),
            _ => None,
        }
    }

    pub fn ty(&self) -> Ty {
        Ty::tensor(self.elem, self.dims.iter().map(|&d| Dim::known(d)).collect())
    }

    /// A 1-D int64 tensor holding `dims` (what `Shape` produces).
    pub fn shape_vector(dims: Vec<Dim>) -> Konst {
        Konst { elem: DataType::INT64, dims: vec![dims.len() as i64], data: Data::Int(dims) }
    }

    pub fn scalar_int(elem: DataType, v: Dim) -> Konst {
        Konst { elem, dims: vec![], data: Data::Int(vec![v]) }
    }
}

impl Fact {
    pub fn of_type(ty: Ty) -> Fact {
        Fact { ty: Some(ty), value: None }
    }

    pub fn of_value(k: Konst) -> Fact {
        Fact { ty: Some(k.ty()), value: Some(k) }
    }

    pub fn tensor(&self) -> Option<&TensorTy> {
        self.ty.as_ref().and_then(Ty::as_tensor)
    }

    pub fn elem(&self) -> Option<DataType> {
        self.tensor().and_then(|t| t.elem)
    }

    pub fn shape(&self) -> Option<&[Dim]> {
        self.tensor().and_then(|t| t.shape.as_deref())
    }

    pub fn rank(&self) -> Option<usize> {
        self.shape().map(<[Dim]>::len)
    }
}
