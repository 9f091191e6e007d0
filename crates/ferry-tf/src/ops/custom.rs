//! TensorFlow attributes as ONNX attributes, for ops kept as custom nodes
//! (`allow_custom_ops`). Internal attributes (`_class`, `_output_shapes`...) are left out; types
//! are written as TensorFlow's `DataType` numbers, shapes as their dims (-1 unknown).

use crate::flatten::TfNode;
use crate::proto::attr_value::Value as AV;
use ferry_ir::{AttrValue, Attribute};

pub fn attributes(n: &TfNode) -> Vec<Attribute> {
    let mut out = Vec::new();
    for (name, a) in &n.attrs {
        if name.starts_with('_') {
            continue;
        }
        let v = match &a.value {
            Some(AV::S(s)) => AttrValue::String(s.clone()),
            Some(AV::I(i)) => AttrValue::Int(*i),
            Some(AV::F(f)) => AttrValue::Float(*f),
            Some(AV::B(b)) => AttrValue::Int(i64::from(*b)),
            Some(AV::Type(t)) => AttrValue::Int(i64::from(*t)),
            Some(AV::Shape(s)) => {
                AttrValue::Ints(crate::tensor::shape_dims(Some(s)).unwrap_or_default())
            }
            Some(AV::Tensor(t)) => match crate::tensor::to_ir(t, name, &n.name) {
                Ok(t) => AttrValue::Tensor(Box::new(t)),
                Err(_) => continue,
            },
            Some(AV::Func(f)) => AttrValue::String(bytes::Bytes::from(f.name.clone())),
            Some(AV::Placeholder(p)) => AttrValue::String(bytes::Bytes::from(p.clone())),
            Some(AV::List(l)) => {
                if !l.i.is_empty() {
                    AttrValue::Ints(l.i.clone())
                } else if !l.f.is_empty() {
                    AttrValue::Floats(l.f.clone())
                } else if !l.s.is_empty() {
                    AttrValue::Strings(l.s.clone())
                } else if !l.r#type.is_empty() {
                    AttrValue::Ints(l.r#type.iter().map(|&t| i64::from(t)).collect())
                } else if !l.b.is_empty() {
                    AttrValue::Ints(l.b.iter().map(|&b| i64::from(b)).collect())
                } else {
                    continue;
                }
            }
            None => continue,
        };
        out.push(Attribute::new(name.clone(), v));
    }
    out
}
