//! Value types: tensors with symbolic shapes, sequences, maps, optionals, opaque types.
//!
//! Every field the ONNX format can leave out is an `Option` here, so "absent" and "present but
//! empty" stay distinct (a tensor type with no shape means "rank unknown"; one with an empty shape
//! means "scalar"). That is also what makes import then export lossless.

use crate::DataType;
use std::fmt;

/// The type of a value.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Type {
    pub kind: Option<TypeKind>,
    /// ONNX type denotation (`IMAGE`, `AUDIO`, ...), kept verbatim.
    pub denotation: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TypeKind {
    Tensor(TensorType),
    SparseTensor(TensorType),
    Sequence(Option<Box<Type>>),
    Map { key: Option<DataType>, value: Option<Box<Type>> },
    Optional(Option<Box<Type>>),
    Opaque { domain: Option<String>, name: Option<String> },
}

/// Element type and shape of a (dense or sparse) tensor; either may be unknown.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct TensorType {
    pub elem: Option<DataType>,
    /// `None`: rank unknown. `Some(vec![])`: a scalar.
    pub shape: Option<Shape>,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Shape {
    pub dims: Vec<Dim>,
}

/// One dimension: a known size, a named symbol, or nothing known.
#[derive(Clone, Debug, PartialEq)]
pub struct Dim {
    pub value: DimValue,
    pub denotation: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum DimValue {
    Known(i64),
    Symbol(String),
    Unknown,
}

impl Type {
    pub fn tensor(elem: DataType, dims: impl IntoIterator<Item = DimValue>) -> Type {
        Type {
            kind: Some(TypeKind::Tensor(TensorType {
                elem: Some(elem),
                shape: Some(Shape::new(dims)),
            })),
            denotation: None,
        }
    }

    /// The tensor part of a dense tensor type.
    pub fn as_tensor(&self) -> Option<&TensorType> {
        match &self.kind {
            Some(TypeKind::Tensor(t)) => Some(t),
            _ => None,
        }
    }
}

impl Shape {
    pub fn new(dims: impl IntoIterator<Item = DimValue>) -> Shape {
        Shape { dims: dims.into_iter().map(|value| Dim { value, denotation: None }).collect() }
    }

    pub fn rank(&self) -> usize {
        self.dims.len()
    }

    /// The sizes when every dim is a known number.
    pub fn known(&self) -> Option<Vec<i64>> {
        self.dims
            .iter()
            .map(|d| match d.value {
                DimValue::Known(n) => Some(n),
                _ => None,
            })
            .collect()
    }
}

impl fmt::Display for DimValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DimValue::Known(n) => write!(f, "{n}"),
            DimValue::Symbol(s) => f.write_str(s),
            DimValue::Unknown => f.write_str("?"),
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, d) in self.dims.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}", d.value)?;
        }
        f.write_str("]")
    }
}

/// Renders types the way the ONNX text format does: `float[N,3]`, `seq(int64[?])`,
/// `map(string, float)`.
impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn elem(f: &mut fmt::Formatter<'_>, e: Option<DataType>) -> fmt::Result {
            match e {
                Some(e) => write!(f, "{e}"),
                None => f.write_str("?"),
            }
        }
        fn inner(f: &mut fmt::Formatter<'_>, t: &Option<Box<Type>>) -> fmt::Result {
            match t {
                Some(t) => write!(f, "{t}"),
                None => f.write_str("?"),
            }
        }
        match &self.kind {
            None => f.write_str("?"),
            Some(TypeKind::Tensor(t)) | Some(TypeKind::SparseTensor(t)) => {
                if matches!(self.kind, Some(TypeKind::SparseTensor(_))) {
                    f.write_str("sparse_tensor(")?;
                }
                elem(f, t.elem)?;
                if let Some(s) = &t.shape {
                    write!(f, "{s}")?;
                }
                if matches!(self.kind, Some(TypeKind::SparseTensor(_))) {
                    f.write_str(")")?;
                }
                Ok(())
            }
            Some(TypeKind::Sequence(t)) => {
                f.write_str("seq(")?;
                inner(f, t)?;
                f.write_str(")")
            }
            Some(TypeKind::Optional(t)) => {
                f.write_str("optional(")?;
                inner(f, t)?;
                f.write_str(")")
            }
            Some(TypeKind::Map { key, value }) => {
                f.write_str("map(")?;
                elem(f, *key)?;
                f.write_str(", ")?;
                inner(f, value)?;
                f.write_str(")")
            }
            Some(TypeKind::Opaque { domain, name }) => write!(
                f,
                "opaque({}, {})",
                domain.as_deref().unwrap_or(""),
                name.as_deref().unwrap_or("")
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display() {
        let t = Type::tensor(
            DataType::FLOAT,
            [DimValue::Symbol("N".into()), DimValue::Known(3), DimValue::Unknown],
        );
        assert_eq!(t.to_string(), "float[N,3,?]");
        let m = Type {
            kind: Some(TypeKind::Map {
                key: Some(DataType::STRING),
                value: Some(Box::new(Type::tensor(DataType::FLOAT, []))),
            }),
            denotation: None,
        };
        assert_eq!(m.to_string(), "map(string, float[])");
        assert_eq!(Type::default().to_string(), "?");
    }
}
