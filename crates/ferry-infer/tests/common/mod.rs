//! Helpers shared by the inference tests.
#![allow(dead_code)]

use ferry_ir::{AttrValue, DimValue, Type, TypeKind};

/// `float[N,3]`-style text of a type; `elem[*]` when the rank is unknown. Dimensions nothing
/// determines (unknown, or the fresh `unk_ferry_N` symbols inference gives them) read as `?`.
pub fn type_text(t: &Type) -> String {
    let Some(TypeKind::Tensor(t)) = &t.kind else { return format!("{t:?}") };
    let elem = t.elem.map_or("?".to_string(), |e| e.to_string());
    match &t.shape {
        None => format!("{elem}[*]"),
        Some(s) => {
            let dims: Vec<String> = s.dims.iter().map(|d| dim_text(&d.value)).collect();
            format!("{elem}[{}]", dims.join(","))
        }
    }
}

pub fn dim_text(d: &DimValue) -> String {
    match d {
        DimValue::Known(n) => n.to_string(),
        DimValue::Symbol(p) if p.starts_with("unk_ferry_") => "?".into(),
        DimValue::Symbol(p) => p.clone(),
        DimValue::Unknown => "?".into(),
    }
}

pub fn ints(v: &[i64]) -> AttrValue {
    AttrValue::Ints(v.to_vec())
}

pub fn int(v: i64) -> AttrValue {
    AttrValue::Int(v)
}

pub fn string(s: &str) -> AttrValue {
    AttrValue::String(s.as_bytes().to_vec().into())
}
