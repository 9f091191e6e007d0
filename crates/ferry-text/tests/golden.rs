//! ferry parses every snippet of `tests/golden/` to the same model onnx's parser builds.
//!
//! `scripts/reference/text_golden.py` parsed each `NAME.onnxtxt` with `onnx.parser` (onnx
//! 1.23.2) and wrote a summary of the `ModelProto` to `NAME.json`; this test summarizes ferry's
//! IR the same way (the format is described in the script) and compares. With `FERRY_PYTHON`
//! set it also re-runs the script with `--check`, so the expectations cannot drift from onnx.

mod common;

use ferry_ir::{
    AttrValue, Attribute, DeclSite, DimValue, Function, Graph, Initializer, Model, OpsetImport,
    Tensor, TensorData, Type, TypeKind,
};
use serde_json::{Value as J, json};
use std::path::PathBuf;

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn num(f: f64) -> J {
    if f.is_nan() {
        json!(if f.is_sign_negative() { "-nan" } else { "nan" })
    } else if f.is_infinite() {
        json!(if f > 0.0 { "inf" } else { "-inf" })
    } else {
        json!(f)
    }
}

fn ty(t: &Type) -> J {
    let shaped = |t: &ferry_ir::TensorType| -> J {
        match &t.shape {
            None => J::Null,
            Some(s) => s
                .dims
                .iter()
                .map(|d| match &d.value {
                    DimValue::Known(n) => json!(n),
                    DimValue::Symbol(s) => json!(s),
                    DimValue::Unknown => J::Null,
                })
                .collect(),
        }
    };
    let boxed = |t: &Option<Box<Type>>| t.as_deref().map_or(J::Null, ty);
    match &t.kind {
        None => J::Null,
        Some(TypeKind::Tensor(tt)) => json!({"tensor": tt.elem.map(|e| e.0), "shape": shaped(tt)}),
        Some(TypeKind::SparseTensor(tt)) => {
            json!({"sparse_tensor": tt.elem.map(|e| e.0), "shape": shaped(tt)})
        }
        Some(TypeKind::Sequence(e)) => json!({"seq": boxed(e)}),
        Some(TypeKind::Optional(e)) => json!({"optional": boxed(e)}),
        Some(TypeKind::Map { key, value }) => json!({"map": [key.map(|k| k.0), boxed(value)]}),
        Some(TypeKind::Opaque { domain, name }) => json!({"opaque": [domain, name]}),
    }
}

fn decls(g: &Graph, site: DeclSite) -> J {
    let ids = match site {
        DeclSite::Input => g.inputs(),
        DeclSite::Output => g.outputs(),
        DeclSite::ValueInfo => g.value_info(),
    };
    ids.iter()
        .enumerate()
        .map(|(i, &v)| {
            let info = g.decl_override(site, i).unwrap_or(&g.value(v).info);
            json!([g.value(v).name, info.ty.as_ref().map_or(J::Null, ty)])
        })
        .collect()
}

fn tensor(t: &Tensor) -> J {
    let data = match &t.data {
        TensorData::External(e) => {
            json!({"external": e.entries.iter().map(|e| json!([e.key, e.value])).collect::<Vec<_>>()})
        }
        TensorData::String(v) => json!({"strings": v
            .iter()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect::<Vec<_>>()}),
        _ => {
            let bytes = t.le_bytes().expect("tensor bytes");
            json!(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
        }
    };
    json!({"name": t.name.clone().unwrap_or_default(), "dtype": t.dtype.map(|d| d.0), "dims": t.dims, "data": data})
}

fn attr(a: &Attribute) -> J {
    let value = match &a.value {
        // An empty list (onnx: the list type with no elements); a reference has no value.
        AttrValue::Empty
            if a.ref_attr_name.is_none()
                && a.declared.is_some_and(|d| matches!(d, 6..=10 | 12 | 14)) =>
        {
            json!([])
        }
        AttrValue::Empty => J::Null,
        AttrValue::Float(f) => num(f64::from(*f)),
        AttrValue::Int(i) => json!(i),
        AttrValue::String(s) => json!(String::from_utf8_lossy(s)),
        AttrValue::Tensor(t) => tensor(t),
        AttrValue::Graph(g) => graph(g),
        AttrValue::Type(t) => ty(t),
        AttrValue::Floats(v) => v.iter().map(|&f| num(f64::from(f))).collect(),
        AttrValue::Ints(v) => json!(v),
        AttrValue::Strings(v) => v.iter().map(|s| json!(String::from_utf8_lossy(s))).collect(),
        other => panic!("no golden form for {other:?}"),
    };
    let code = a.declared.unwrap_or(0);
    json!({"name": a.name, "type": code, "ref": a.ref_attr_name, "value": value})
}

fn nodes(g: &Graph) -> J {
    let name = |v: &Option<ferry_ir::ValueId>| v.map_or(String::new(), |v| g.value(v).name.clone());
    g.nodes()
        .map(|(_, n)| {
            json!({
                "name": n.name,
                "op_type": n.op_type,
                "domain": n.domain.as_deref().unwrap_or(""),
                "overload": n.overload.as_deref().unwrap_or(""),
                "inputs": n.inputs().iter().map(name).collect::<Vec<_>>(),
                "outputs": n.outputs().iter().map(name).collect::<Vec<_>>(),
                "attributes": n.attributes.iter().map(attr).collect::<Vec<_>>(),
            })
        })
        .collect()
}

fn graph(g: &Graph) -> J {
    let inits: Vec<J> = g
        .initializers()
        .iter()
        .filter_map(|&v| match &g.value(v).initializer {
            Some(Initializer::Dense(t)) => Some(tensor(t)),
            _ => None,
        })
        .collect();
    json!({
        "name": g.name.as_deref().unwrap_or(""),
        "inputs": decls(g, DeclSite::Input),
        "outputs": decls(g, DeclSite::Output),
        "value_info": decls(g, DeclSite::ValueInfo),
        "initializers": inits,
        "nodes": nodes(g),
    })
}

fn opsets(v: &[OpsetImport]) -> J {
    v.iter().map(|o| json!([o.domain.as_deref().unwrap_or(""), o.version.unwrap_or(0)])).collect()
}

fn function(f: &Function) -> J {
    let names = |ids: &[ferry_ir::ValueId]| {
        ids.iter().map(|&v| f.body.value(v).name.clone()).collect::<Vec<_>>()
    };
    json!({
        "name": f.name.as_deref().unwrap_or(""),
        "domain": f.domain,
        "overload": f.overload,
        "doc_string": f.doc_string,
        "opset_import": opsets(&f.opset_imports),
        "attributes": f.attributes,
        "attribute_defaults": f.attribute_defaults.iter().map(attr).collect::<Vec<_>>(),
        "inputs": names(f.body.inputs()),
        "outputs": names(f.body.outputs()),
        "value_info": decls(&f.body, DeclSite::ValueInfo),
        "nodes": nodes(&f.body),
    })
}

fn model(m: &Model) -> J {
    json!({
        "ir_version": m.ir_version,
        "opset_import": opsets(&m.opset_imports),
        "producer_name": m.producer_name,
        "producer_version": m.producer_version,
        "domain": m.domain,
        "model_version": m.model_version,
        "doc_string": m.doc_string,
        "metadata_props": m.metadata_props.iter().map(|e| json!([e.key, e.value])).collect::<Vec<_>>(),
        "graph": graph(m.graph.as_ref().expect("a graph")),
        "functions": m.functions.iter().map(function).collect::<Vec<_>>(),
    })
}

/// The first path where two JSON values differ.
fn first_diff(path: &str, a: &J, b: &J) -> Option<String> {
    match (a, b) {
        (J::Object(x), J::Object(y)) => {
            let keys: std::collections::BTreeSet<_> = x.keys().chain(y.keys()).collect();
            keys.into_iter().find_map(|k| {
                first_diff(
                    &format!("{path}.{k}"),
                    x.get(k).unwrap_or(&J::Null),
                    y.get(k).unwrap_or(&J::Null),
                )
            })
        }
        (J::Array(x), J::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (s, t))| first_diff(&format!("{path}[{i}]"), s, t)),
        _ if a == b => None,
        _ => Some(format!("{path}: ferry {a} vs onnx {b}")),
    }
}

#[test]
fn snippets_parse_like_onnx() {
    let dir = golden_dir();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/golden")
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.strip_suffix(".onnxtxt").map(str::to_string))
        .collect();
    names.sort();
    assert!(names.len() >= 30, "only {} snippets", names.len());
    let mut failures = Vec::new();
    for name in &names {
        let text = std::fs::read_to_string(dir.join(format!("{name}.onnxtxt"))).expect("snippet");
        let want: J = serde_json::from_str(
            &std::fs::read_to_string(dir.join(format!("{name}.json"))).expect("golden json"),
        )
        .expect("golden json parses");
        let got = match ferry_text::parse_model(&text) {
            Ok(m) => model(&m),
            Err(e) => {
                failures.push(format!("{name}: ferry does not parse it: {e:#}"));
                continue;
            }
        };
        if let Some(d) = first_diff("model", &got, &want) {
            failures.push(format!("{name}: {d}"));
        }
    }
    println!(
        "{} of {} snippets parse to what onnx.parser builds",
        names.len() - failures.len(),
        names.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Each snippet also prints and parses back to the same model.
#[test]
fn snippets_round_trip() {
    let dir = golden_dir();
    for e in std::fs::read_dir(&dir).expect("tests/golden").flatten() {
        let path = e.path();
        if path.extension().is_none_or(|x| x != "onnxtxt") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("snippet");
        let m = ferry_text::parse_model(&text).expect("parses");
        let printed = ferry_text::print_model(&m);
        let again = ferry_text::parse_model(&printed).unwrap_or_else(|e| {
            panic!("{}: printed text does not parse: {e:#}\n{printed}", path.display())
        });
        if let Err(d) = common::compare::models(&m, &again) {
            panic!("{}: {d}\n{printed}", path.display());
        }
        assert_eq!(ferry_text::print_model(&again), printed, "{}", path.display());
    }
}

#[test]
fn golden_files_match_onnx() {
    let Some(python) = std::env::var_os("FERRY_PYTHON") else {
        assert!(
            std::env::var_os("FERRY_REQUIRE_PYTHON").is_none(),
            "FERRY_PYTHON must point at a python with onnx (scripts/testdata-venv.sh)"
        );
        println!("skipped: FERRY_PYTHON is not set (scripts/test.sh sets it)");
        return;
    };
    let script = common::repo_root().join("scripts/reference/text_golden.py");
    let out = std::process::Command::new(python)
        .arg(&script)
        .arg("--check")
        .output()
        .expect("run text_golden.py");
    assert!(
        out.status.success(),
        "the golden files disagree with onnx's parser:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
