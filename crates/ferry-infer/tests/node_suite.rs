//! Inference against the ONNX backend node tests: with every graph output's type erased,
//! inference must give back the recorded element type and every recorded numeric dimension.
//!
//! ferry must recover every case onnx 1.23.2's own inference recovers
//! (`testdata/reference/onnx_infer_node_recovered.txt`, from
//! `scripts/reference/onnx_infer_node.py`), and its misses are pinned in
//! `testdata/reference/ferry_infer_node_misses.txt`, so that drift either way fails.
//! `FERRY_BLESS=1` rewrites the misses file.

use ferry_ir::{Type, TypeKind};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn recovered(want: &Type, got: Option<&Type>) -> bool {
    let Some(wk) = &want.kind else { return true };
    let Some(got) = got.and_then(|g| g.kind.as_ref()) else { return false };
    match (wk, got) {
        (TypeKind::Tensor(w), TypeKind::Tensor(g))
        | (TypeKind::SparseTensor(w), TypeKind::SparseTensor(g)) => {
            if w.elem != g.elem {
                return false;
            }
            match (&w.shape, &g.shape) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(ws), Some(gs)) => {
                    ws.dims.len() == gs.dims.len()
                        && ws.dims.iter().zip(&gs.dims).all(|(a, b)| match a.value {
                            ferry_ir::DimValue::Known(n) => b.value == ferry_ir::DimValue::Known(n),
                            _ => true,
                        })
                }
            }
        }
        (TypeKind::Sequence(w), TypeKind::Sequence(g))
        | (TypeKind::Optional(w), TypeKind::Optional(g)) => match w {
            None => true,
            Some(w) => recovered(w, g.as_deref()),
        },
        (TypeKind::Map { key: wk, value: wv }, TypeKind::Map { key: gk, value: gv }) => {
            wk == gk && wv.as_ref().is_none_or(|w| recovered(w, gv.as_deref()))
        }
        _ => false,
    }
}

fn case_recovered(path: &Path) -> bool {
    let Ok(mut model) = ferry_onnx::load(path) else { return false };
    let Some(g) = model.graph.as_mut() else { return false };
    let outputs: Vec<_> = g.outputs().to_vec();
    let want: Vec<Option<Type>> = outputs.iter().map(|&v| g.value_mut(v).info.ty.take()).collect();
    ferry_infer::infer(&mut model);
    let g = model.graph.as_ref().unwrap_or_else(|| unreachable!());
    outputs.iter().zip(&want).all(|(&v, w)| match w {
        None => true,
        Some(w) => recovered(w, g.value(v).ty()),
    })
}

#[test]
fn node_suite_recovery() {
    let Some(corpus) = std::env::var_os("FERRY_CORPUS").map(PathBuf::from) else {
        println!("skipped: FERRY_CORPUS is not set");
        return;
    };
    let root = corpus.join("onnx-conformance");
    let mut ours = BTreeSet::new();
    let mut all = BTreeSet::new();
    for folder in ["node", "node-onnx1.23.2-new"] {
        let mut cases: Vec<_> = std::fs::read_dir(root.join(folder))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        cases.sort();
        for case in cases {
            let path = root.join(folder).join(&case).join("model.onnx");
            if !path.exists() {
                continue;
            }
            let key = format!("{folder}/{}", case.to_string_lossy());
            if case_recovered(&path) {
                ours.insert(key.clone());
            }
            all.insert(key);
        }
    }
    let read = |p: &str| -> BTreeSet<String> {
        std::fs::read_to_string(repo().join(p))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    };
    let onnx = read("testdata/reference/onnx_infer_node_recovered.txt");
    let misses: BTreeSet<String> = all.difference(&ours).cloned().collect();
    let misses_path = repo().join("testdata/reference/ferry_infer_node_misses.txt");
    if std::env::var_os("FERRY_BLESS").is_some() {
        let text: String = misses.iter().map(|m| format!("{m}\n")).collect();
        std::fs::write(&misses_path, text).unwrap();
    }
    let pinned = read("testdata/reference/ferry_infer_node_misses.txt");
    let more_than_onnx = ours.difference(&onnx).count();
    let onnx_only: Vec<_> = onnx.difference(&ours).collect();
    println!(
        "ferry recovers {} of {} node cases (onnx: {}; ferry recovers {} onnx does not; {} onnx recovers and ferry does not)",
        ours.len(),
        all.len(),
        onnx.len(),
        more_than_onnx,
        onnx_only.len()
    );
    let newly_missed: Vec<_> = misses.difference(&pinned).collect();
    let newly_recovered: Vec<_> = pinned.difference(&misses).collect();
    assert!(
        newly_missed.is_empty() && newly_recovered.is_empty(),
        "misses drifted from testdata/reference/ferry_infer_node_misses.txt (FERRY_BLESS=1 to accept):\n  now missed: {newly_missed:?}\n  now recovered: {newly_recovered:?}"
    );
}
