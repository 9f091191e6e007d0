//! Structural equality of two models, as the text round trip promises it: the same nodes (op
//! types, domains, names, inputs, outputs, attribute names and values), the same declarations
//! with their types, the same initializers (names, types, dims, bytes), the same functions.
//!
//! Presence is normalized where the syntax cannot tell "absent" from "empty": a node domain
//! or overload, a graph or tensor name, an opset domain, an attribute's declared type.
//! `Err` names the first difference with its path.

use ferry_ir::{
    AttrValue, Attribute, DataType, DeclSite, Function, Graph, Initializer, Model, OpsetImport,
    Tensor, TensorData, attr_type,
};

type R = Result<(), String>;

fn same<T: PartialEq + std::fmt::Debug>(path: &str, what: &str, a: T, b: T) -> R {
    if a == b { Ok(()) } else { Err(format!("{path}: {what} differs: {a:?} vs {b:?}")) }
}

fn opsets(v: &[OpsetImport]) -> Vec<(&str, i64)> {
    v.iter().map(|o| (o.domain.as_deref().unwrap_or(""), o.version.unwrap_or(0))).collect()
}

pub fn models(a: &Model, b: &Model) -> R {
    let p = "model";
    same(p, "ir_version", a.ir_version, b.ir_version)?;
    same(p, "opset_import", opsets(&a.opset_imports), opsets(&b.opset_imports))?;
    same(p, "producer_name", &a.producer_name, &b.producer_name)?;
    same(p, "producer_version", &a.producer_version, &b.producer_version)?;
    same(p, "domain", &a.domain, &b.domain)?;
    same(p, "model_version", a.model_version, b.model_version)?;
    same(p, "doc_string", &a.doc_string, &b.doc_string)?;
    same(p, "metadata_props", &a.metadata_props, &b.metadata_props)?;
    match (&a.graph, &b.graph) {
        (Some(ga), Some(gb)) => graphs("graph", ga, gb)?,
        (None, None) => {}
        _ => return Err("model: graph presence differs".into()),
    }
    same(p, "function count", a.functions.len(), b.functions.len())?;
    for (fa, fb) in a.functions.iter().zip(&b.functions) {
        functions(fa, fb)?;
    }
    Ok(())
}

fn functions(a: &Function, b: &Function) -> R {
    let p = format!("function {:?}", a.name);
    same(&p, "name", &a.name, &b.name)?;
    same(&p, "domain", &a.domain, &b.domain)?;
    same(&p, "overload", &a.overload, &b.overload)?;
    same(&p, "doc_string", &a.doc_string, &b.doc_string)?;
    same(&p, "opset_import", opsets(&a.opset_imports), opsets(&b.opset_imports))?;
    same(&p, "attributes", &a.attributes, &b.attributes)?;
    same(&p, "attribute default count", a.attribute_defaults.len(), b.attribute_defaults.len())?;
    for (x, y) in a.attribute_defaults.iter().zip(&b.attribute_defaults) {
        attributes(&p, x, y)?;
    }
    graphs(&p, &a.body, &b.body)
}

fn decls(p: &str, site: DeclSite, a: &Graph, b: &Graph) -> R {
    let list = |g: &Graph| -> Vec<(String, Option<ferry_ir::Type>)> {
        let ids = match site {
            DeclSite::Input => g.inputs(),
            DeclSite::Output => g.outputs(),
            DeclSite::ValueInfo => g.value_info(),
        };
        ids.iter()
            .enumerate()
            .map(|(i, &v)| {
                let info = g.decl_override(site, i).unwrap_or(&g.value(v).info);
                (g.value(v).name.clone(), info.ty.clone())
            })
            .collect()
    };
    same(p, &format!("{site:?} declarations"), list(a), list(b))
}

pub fn graphs(path: &str, a: &Graph, b: &Graph) -> R {
    let p = format!("{path} '{}'", a.name.as_deref().unwrap_or(""));
    same(&p, "name", a.name.as_deref().unwrap_or(""), b.name.as_deref().unwrap_or(""))?;
    decls(&p, DeclSite::Input, a, b)?;
    decls(&p, DeclSite::Output, a, b)?;
    decls(&p, DeclSite::ValueInfo, a, b)?;
    let inits = |g: &Graph| -> Vec<(String, Tensor)> {
        g.initializers()
            .iter()
            .filter_map(|&v| match &g.value(v).initializer {
                Some(Initializer::Dense(t)) => Some((g.value(v).name.clone(), t.clone())),
                _ => None,
            })
            .collect()
    };
    let (ia, ib) = (inits(a), inits(b));
    same(
        &p,
        "initializer names",
        ia.iter().map(|x| &x.0).collect::<Vec<_>>(),
        ib.iter().map(|x| &x.0).collect(),
    )?;
    for ((name, ta), (_, tb)) in ia.iter().zip(&ib) {
        tensors(&format!("{p} initializer '{name}'"), ta, tb)?;
    }
    same(
        &p,
        "sparse initializer count",
        a.sparse_initializers().len(),
        b.sparse_initializers().len(),
    )?;
    same(&p, "node count", a.node_count(), b.node_count())?;
    let vname = |g: &Graph, v: &Option<ferry_ir::ValueId>| {
        v.map_or(String::new(), |v| g.value(v).name.clone())
    };
    for ((_, na), (_, nb)) in a.nodes().zip(b.nodes()) {
        let np = format!("{p} node {}", na.label());
        same(&np, "op_type", &na.op_type, &nb.op_type)?;
        same(
            &np,
            "domain",
            na.domain.as_deref().unwrap_or(""),
            nb.domain.as_deref().unwrap_or(""),
        )?;
        same(
            &np,
            "overload",
            na.overload.as_deref().unwrap_or(""),
            nb.overload.as_deref().unwrap_or(""),
        )?;
        same(&np, "name", &na.name, &nb.name)?;
        let ins = |g: &Graph, n: &ferry_ir::Node| {
            n.inputs().iter().map(|v| vname(g, v)).collect::<Vec<_>>()
        };
        let outs = |g: &Graph, n: &ferry_ir::Node| {
            n.outputs().iter().map(|v| vname(g, v)).collect::<Vec<_>>()
        };
        let implicit = |g: &Graph, n: &ferry_ir::Node| {
            n.implicit_inputs().iter().map(|&v| g.value(v).name.clone()).collect::<Vec<_>>()
        };
        same(&np, "inputs", ins(a, na), ins(b, nb))?;
        same(&np, "outputs", outs(a, na), outs(b, nb))?;
        same(&np, "implicit inputs", implicit(a, na), implicit(b, nb))?;
        same(&np, "attribute count", na.attributes.len(), nb.attributes.len())?;
        for (x, y) in na.attributes.iter().zip(&nb.attributes) {
            attributes(&np, x, y)?;
        }
    }
    Ok(())
}

fn tensors(p: &str, a: &Tensor, b: &Tensor) -> R {
    same(p, "element type", a.dtype, b.dtype)?;
    same(p, "dims", &a.dims, &b.dims)?;
    match (&a.data, &b.data) {
        (TensorData::String(x), TensorData::String(y)) => same(p, "strings", x, y),
        (TensorData::External(x), TensorData::External(y)) => {
            same(p, "external data", &x.entries, &y.entries)
        }
        (TensorData::External(_), _) | (_, TensorData::External(_)) => {
            Err(format!("{p}: external vs inline"))
        }
        (TensorData::String(_), _) | (_, TensorData::String(_)) => {
            Err(format!("{p}: strings vs numbers"))
        }
        _ if matches!(a.dtype, Some(DataType::FLOAT6E2M3 | DataType::FLOAT6E3M2)) => {
            same(p, "6-bit elements", float6(a)?, float6(b)?)
        }
        _ => {
            let (x, y) = (a.le_bytes()?, b.le_bytes()?);
            if x == y {
                Ok(())
            } else {
                Err(format!("{p}: bytes differ ({} vs {} bytes)", x.len(), y.len()))
            }
        }
    }
}

/// 6-bit float codes, one per element: `raw_data` packs them low bits first, `int32_data` holds
/// one per entry (onnx 1.23's layout). `Tensor::le_bytes` does not pack the latter, so bytes
/// cannot be compared.
fn float6(t: &Tensor) -> Result<Vec<u8>, String> {
    let count = t.element_count().ok_or("bad dims")? as usize;
    match &t.data {
        TensorData::Int32(v) => Ok(v.iter().map(|&x| x as u8).collect()),
        TensorData::Raw(b) => Ok((0..count)
            .map(|i| {
                let bit = i * 6;
                let lo = u16::from(b.get(bit / 8).copied().unwrap_or(0));
                let hi = u16::from(b.get(bit / 8 + 1).copied().unwrap_or(0));
                ((((hi << 8) | lo) >> (bit % 8)) & 63) as u8
            })
            .collect()),
        TensorData::None => Ok(Vec::new()),
        other => Err(format!("6-bit floats in {other:?}")),
    }
}

fn declared(a: &Attribute) -> i32 {
    a.declared.filter(|&d| d != attr_type::UNDEFINED).unwrap_or(a.value.type_code())
}

fn attributes(path: &str, a: &Attribute, b: &Attribute) -> R {
    let p = format!("{path} attribute '{}'", a.name);
    same(&p, "name", &a.name, &b.name)?;
    same(&p, "ref_attr_name", &a.ref_attr_name, &b.ref_attr_name)?;
    same(&p, "type", declared(a), declared(b))?;
    let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
    let tensor_name = |t: &Tensor| t.name.clone().unwrap_or_default();
    match (&a.value, &b.value) {
        (AttrValue::Empty, AttrValue::Empty) => Ok(()),
        (AttrValue::Float(x), AttrValue::Float(y)) => same(&p, "float", x.to_bits(), y.to_bits()),
        (AttrValue::Int(x), AttrValue::Int(y)) => same(&p, "int", x, y),
        (AttrValue::String(x), AttrValue::String(y)) => same(&p, "string", x, y),
        (AttrValue::Floats(x), AttrValue::Floats(y)) => same(&p, "floats", bits(x), bits(y)),
        (AttrValue::Ints(x), AttrValue::Ints(y)) => same(&p, "ints", x, y),
        (AttrValue::Strings(x), AttrValue::Strings(y)) => same(&p, "strings", x, y),
        (AttrValue::Type(x), AttrValue::Type(y)) => same(&p, "type", x, y),
        (AttrValue::Types(x), AttrValue::Types(y)) => same(&p, "types", x, y),
        (AttrValue::Tensor(x), AttrValue::Tensor(y)) => {
            same(&p, "tensor name", tensor_name(x), tensor_name(y))?;
            tensors(&p, x, y)
        }
        (AttrValue::Tensors(x), AttrValue::Tensors(y)) => {
            same(&p, "tensor count", x.len(), y.len())?;
            x.iter().zip(y).try_for_each(|(s, t)| tensors(&p, s, t))
        }
        (AttrValue::Graph(x), AttrValue::Graph(y)) => graphs(&p, x, y),
        (AttrValue::Graphs(x), AttrValue::Graphs(y)) => {
            same(&p, "graph count", x.len(), y.len())?;
            x.iter().zip(y).try_for_each(|(s, t)| graphs(&p, s, t))
        }
        (x, y) => Err(format!("{p}: value kinds differ: {} vs {}", x.type_code(), y.type_code())),
    }
}
