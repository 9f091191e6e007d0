//! Inference against onnx's on every ONNX model of the shared corpus: for every main-graph
//! value onnx 1.23.2 gives a rank to (`testdata/reference/onnx_infer_corpus.json.gz`, from
//! `scripts/reference/onnx_infer_corpus.py`), ferry must give the same element type and a
//! shape that is equal or more specific. Values where ferry still falls short are pinned in
//! `testdata/reference/ferry_infer_corpus_misses.txt` (`FERRY_BLESS=1` rewrites it) so that
//! drift either way fails; the goal is an empty file.

use ferry_ir::{DimValue, TypeKind};
use std::collections::{BTreeSet, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[derive(PartialEq)]
enum Verdict {
    Equal,
    MoreSpecific,
    Short(String),
}

fn compare(want: &serde_json::Value, got: Option<&ferry_ir::Type>) -> Verdict {
    let elem = want[0].as_i64().unwrap_or(0);
    let dims = want[1].as_array().cloned().unwrap_or_default();
    let Some(TypeKind::Tensor(t)) = got.and_then(|t| t.kind.as_ref()) else {
        return Verdict::Short("no tensor type".into());
    };
    if t.elem.map(|e| i64::from(e.0)) != Some(elem) {
        return Verdict::Short(format!("element type {:?}, onnx {elem}", t.elem));
    }
    let Some(shape) = &t.shape else { return Verdict::Short("no shape".into()) };
    if shape.dims.len() != dims.len() {
        return Verdict::Short(format!("rank {}, onnx {}", shape.dims.len(), dims.len()));
    }
    let mut more = false;
    for (i, (w, g)) in dims.iter().zip(&shape.dims).enumerate() {
        match (w, &g.value) {
            (serde_json::Value::Number(n), DimValue::Known(k)) if n.as_i64() == Some(*k) => {}
            (serde_json::Value::Number(n), other) => {
                return Verdict::Short(format!("dim {i}: {other:?}, onnx {n}"));
            }
            (serde_json::Value::String(_), DimValue::Unknown) => {
                return Verdict::Short(format!("dim {i}: unknown, onnx has a symbol"));
            }
            (serde_json::Value::String(_), DimValue::Known(_)) => more = true,
            (serde_json::Value::String(_), DimValue::Symbol(_)) => {}
            (_, DimValue::Unknown) => {}
            (_, _) => more = true,
        }
    }
    if more { Verdict::MoreSpecific } else { Verdict::Equal }
}

#[test]
fn corpus_shapes_match_onnx() {
    let Some(corpus) = std::env::var_os("FERRY_CORPUS").map(PathBuf::from) else {
        println!("skipped: FERRY_CORPUS is not set");
        return;
    };
    let mut text = String::new();
    let f =
        std::fs::File::open(repo().join("testdata/reference/onnx_infer_corpus.json.gz")).unwrap();
    flate2::read::GzDecoder::new(f).read_to_string(&mut text).unwrap();
    let reference: HashMap<String, serde_json::Value> = serde_json::from_str(&text).unwrap();
    let (mut equal, mut more, mut models) = (0usize, 0usize, 0usize);
    let mut misses = BTreeSet::new();
    let mut keys: Vec<&String> = reference.keys().collect();
    keys.sort();
    for rel in keys {
        let Some(values) = reference[rel].get("values").and_then(|v| v.as_object()) else {
            continue;
        };
        let Ok(mut model) = ferry_onnx::load(corpus.join(rel)) else {
            misses.insert(format!("{rel}: does not load"));
            continue;
        };
        models += 1;
        ferry_infer::infer(&mut model);
        let Some(g) = model.graph.as_ref() else { continue };
        let by_name: HashMap<&str, ferry_ir::ValueId> =
            g.values().map(|(id, v)| (v.name.as_str(), id)).collect();
        for (name, want) in values {
            let got = by_name.get(name.as_str()).and_then(|&v| g.value(v).ty());
            match compare(want, got) {
                Verdict::Equal => equal += 1,
                Verdict::MoreSpecific => more += 1,
                Verdict::Short(why) => {
                    misses.insert(format!("{rel}\t{name}\t{why}"));
                }
            }
        }
    }
    println!(
        "corpus: {models} models, {} values compared: {equal} equal, {more} more specific than onnx, {} short",
        equal + more + misses.len(),
        misses.len()
    );
    let path = repo().join("testdata/reference/ferry_infer_corpus_misses.txt");
    if std::env::var_os("FERRY_BLESS").is_some() {
        std::fs::write(&path, misses.iter().map(|m| format!("{m}\n")).collect::<String>()).unwrap();
    }
    let pinned: BTreeSet<String> =
        std::fs::read_to_string(&path).unwrap_or_default().lines().map(str::to_string).collect();
    let new: Vec<_> = misses.difference(&pinned).take(20).collect();
    let fixed: Vec<_> = pinned.difference(&misses).take(20).collect();
    assert!(
        new.is_empty() && fixed.is_empty(),
        "corpus misses drifted (FERRY_BLESS=1 to accept):\n  new: {new:?}\n  fixed: {fixed:?}"
    );
}
