//! Node attributes.
//!
//! An attribute keeps the `type` discriminator exactly as the file wrote it (`declared`, absent in
//! IR version 1 files) apart from the value, and the value is whichever field was set. Well-formed
//! files set exactly one; keeping the two apart reproduces odd files exactly and leaves the
//! judgement to the checker.

use crate::{Graph, SparseTensor, Tensor, Type};
use bytes::Bytes;

/// Attributes are not `PartialEq`: comparing graph-valued attributes needs graph isomorphism,
/// which callers that care implement.
#[derive(Clone, Debug)]
pub struct Attribute {
    pub name: String,
    /// Inside a function body: the name of the function's attribute this one takes its value from.
    pub ref_attr_name: Option<String>,
    pub doc_string: Option<String>,
    /// The ONNX `AttributeType` code as written, if any.
    pub declared: Option<i32>,
    pub value: AttrValue,
}

#[derive(Clone, Debug)]
pub enum AttrValue {
    /// No value field set (a reference attribute, or an empty list).
    Empty,
    Float(f32),
    Int(i64),
    String(Bytes),
    Tensor(Box<Tensor>),
    Graph(Box<Graph>),
    SparseTensor(Box<SparseTensor>),
    Type(Box<Type>),
    Floats(Vec<f32>),
    Ints(Vec<i64>),
    Strings(Vec<Bytes>),
    Tensors(Vec<Tensor>),
    Graphs(Vec<Graph>),
    SparseTensors(Vec<SparseTensor>),
    Types(Vec<Type>),
}

/// ONNX `AttributeType` codes.
pub mod attr_type {
    pub const UNDEFINED: i32 = 0;
    pub const FLOAT: i32 = 1;
    pub const INT: i32 = 2;
    pub const STRING: i32 = 3;
    pub const TENSOR: i32 = 4;
    pub const GRAPH: i32 = 5;
    pub const FLOATS: i32 = 6;
    pub const INTS: i32 = 7;
    pub const STRINGS: i32 = 8;
    pub const TENSORS: i32 = 9;
    pub const GRAPHS: i32 = 10;
    pub const SPARSE_TENSOR: i32 = 11;
    pub const SPARSE_TENSORS: i32 = 12;
    pub const TYPE_PROTO: i32 = 13;
    pub const TYPE_PROTOS: i32 = 14;
}

impl Attribute {
    pub fn new(name: impl Into<String>, value: AttrValue) -> Attribute {
        let declared = value.type_code();
        Attribute {
            name: name.into(),
            ref_attr_name: None,
            doc_string: None,
            declared: Some(declared),
            value,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self.value {
            AttrValue::Int(i) => Some(i),
            _ => None,
        }
    }

    pub fn as_float(&self) -> Option<f32> {
        match self.value {
            AttrValue::Float(f) => Some(f),
            _ => None,
        }
    }

    pub fn as_ints(&self) -> Option<&[i64]> {
        match &self.value {
            AttrValue::Ints(v) => Some(v),
            AttrValue::Empty if self.declared == Some(attr_type::INTS) => Some(&[]),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            AttrValue::String(s) => std::str::from_utf8(s).ok(),
            _ => None,
        }
    }

    pub fn as_tensor(&self) -> Option<&Tensor> {
        match &self.value {
            AttrValue::Tensor(t) => Some(t),
            _ => None,
        }
    }
}

impl AttrValue {
    /// The ONNX `AttributeType` code of this value (`UNDEFINED` for `Empty`).
    pub fn type_code(&self) -> i32 {
        use attr_type::*;
        match self {
            AttrValue::Empty => UNDEFINED,
            AttrValue::Float(_) => FLOAT,
            AttrValue::Int(_) => INT,
            AttrValue::String(_) => STRING,
            AttrValue::Tensor(_) => TENSOR,
            AttrValue::Graph(_) => GRAPH,
            AttrValue::SparseTensor(_) => SPARSE_TENSOR,
            AttrValue::Type(_) => TYPE_PROTO,
            AttrValue::Floats(_) => FLOATS,
            AttrValue::Ints(_) => INTS,
            AttrValue::Strings(_) => STRINGS,
            AttrValue::Tensors(_) => TENSORS,
            AttrValue::Graphs(_) => GRAPHS,
            AttrValue::SparseTensors(_) => SPARSE_TENSORS,
            AttrValue::Types(_) => TYPE_PROTOS,
        }
    }

    /// Subgraphs held by this value, in order.
    pub fn graphs(&self) -> &[Graph] {
        match self {
            AttrValue::Graph(g) => std::slice::from_ref(g.as_ref()),
            AttrValue::Graphs(gs) => gs,
            _ => &[],
        }
    }

    pub fn graphs_mut(&mut self) -> &mut [Graph] {
        match self {
            AttrValue::Graph(g) => std::slice::from_mut(g.as_mut()),
            AttrValue::Graphs(gs) => gs,
            _ => &mut [],
        }
    }
}
