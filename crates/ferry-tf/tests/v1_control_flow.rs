//! v1 control flow end to end: models TensorFlow made (`testdata/tf/v1_loop`, by
//! `scripts/tf/make_v1_loop_testdata.py`, and the corpus LSTM) are lowered to functional
//! While/If, converted to ONNX and compared with the outputs TensorFlow recorded (rtol 1e-4).
//!
//! tract runs the converted models here, but tract has no ONNX `Loop`; models with loops are
//! run by onnxruntime in the committed script instead:
//!
//! ```sh
//! FERRY_V1_ONNX_DIR=/tmp/v1 FERRY_V1_LOWERED_DIR=/tmp/v1 cargo test -p ferry-tf --test v1_control_flow
//! py="$(scripts/tf/venv.sh)"
//! "$py" scripts/tf/make_v1_loop_testdata.py --check-onnx /tmp/v1 "$FERRY_CORPUS/models"
//! "$py" scripts/tf/make_v1_loop_testdata.py --check /tmp/v1   # lowered GraphDefs in TensorFlow
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ferry_tf::proto::GraphDef;
use ferry_tf::v1_control_flow::lower_v1_control_flow;
use prost::Message;
use tract_onnx::prelude::*;

fn testdata() -> PathBuf {
    ferry_testkit::repo_root().join("testdata/tf/v1_loop")
}

struct Case {
    name: String,
    outputs: Vec<String>,
    io: Vec<String>,
    whiles: usize,
    ifs: usize,
}

fn manifest() -> Vec<Case> {
    let text = std::fs::read_to_string(testdata().join("manifest.json")).expect("manifest.json");
    let json: serde_json::Value = serde_json::from_str(&text).expect("manifest is JSON");
    let obj = json.as_object().expect("manifest is an object");
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .expect("a list")
            .iter()
            .map(|s| s.as_str().expect("a string").to_string())
            .collect()
    };
    let count = |v: &serde_json::Value| v.as_u64().expect("a count") as usize;
    let cases: Vec<Case> = obj
        .iter()
        .map(|(name, e)| Case {
            name: name.clone(),
            outputs: strings(&e["outputs"]),
            io: strings(&e["io"]),
            whiles: count(&e["while"]),
            ifs: count(&e["if"]),
        })
        .collect();
    assert!(cases.len() >= 8, "manifest lists {} models", cases.len());
    cases
}

fn read_graph(path: &Path) -> GraphDef {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    GraphDef::decode(bytes.as_slice()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const V1_OPS: [&str; 6] = ["Enter", "Exit", "Switch", "Merge", "NextIteration", "LoopCond"];

/// (While nodes, If nodes, v1 ops left) over the graph and its library.
fn census(g: &GraphDef) -> (usize, usize, Vec<String>) {
    let lib = g.library.iter().flat_map(|l| &l.function).flat_map(|f| &f.node_def);
    let all: Vec<_> = g.node.iter().chain(lib).collect();
    let whiles = all.iter().filter(|n| n.op == "While").count();
    let ifs = all.iter().filter(|n| n.op == "If").count();
    let left =
        all.iter().filter(|n| V1_OPS.contains(&n.op.as_str())).map(|n| n.name.clone()).collect();
    (whiles, ifs, left)
}

#[test]
fn testdata_lowers_to_functional_control_flow() {
    let out_dir = std::env::var_os("FERRY_V1_LOWERED_DIR").map(PathBuf::from);
    for case in manifest() {
        let mut g = read_graph(&testdata().join(format!("{}.pb", case.name)));
        let before = census(&g);
        assert!(
            !before.2.is_empty() || case.name.starts_with("keras"),
            "{}: no v1 control flow to lower",
            case.name
        );
        let report = lower_v1_control_flow(&mut g).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let (whiles, ifs, left) = census(&g);
        assert!(left.is_empty(), "{}: v1 nodes left: {left:?}", case.name);
        assert_eq!((whiles, ifs), (case.whiles, case.ifs), "{}: While/If count", case.name);
        assert_eq!(report.loops.len(), case.whiles, "{}: report", case.name);
        assert_eq!(report.conds.len(), case.ifs, "{}: report", case.name);
        // Lowering a lowered graph finds nothing more to do.
        let mut again = g.clone();
        let second = lower_v1_control_flow(&mut again).expect("relowering");
        assert!(second.is_empty(), "{}: second lowering did {second:?}", case.name);
        if let Some(dir) = &out_dir {
            std::fs::create_dir_all(dir).expect("FERRY_V1_LOWERED_DIR");
            std::fs::write(dir.join(format!("{}.lowered.pb", case.name)), g.encode_to_vec())
                .expect("write");
        }
    }
}

#[test]
fn testdata_converts_and_matches_tensorflow() {
    let mut failures = Vec::new();
    let mut compared = 0;
    for case in manifest() {
        let g = read_graph(&testdata().join(format!("{}.pb", case.name)));
        for io in &case.io {
            let data = npz::read(&testdata().join(io));
            match convert_and_compare(&g, &case.name, &case.outputs, &data) {
                Ok(Outcome::Compared) => compared += 1,
                Ok(Outcome::HasLoop) => {}
                Err(e) => failures.push(format!("{} [{io}]: {e}", case.name)),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The conds (no loop) are run by tract: 5 recorded cases.
    assert!(compared >= 5, "only {compared} cases ran in tract");
}

#[test]
fn corpus_lstm_converts() {
    let Some(corpus) = ferry_testkit::corpus_dir() else {
        eprintln!("FERRY_CORPUS unset: skipping the corpus LSTM");
        return;
    };
    let models = corpus.join("models");
    let g = read_graph(&models.join("tf_small_lstm.frozen.pb"));
    let data = npz::read(&models.join("tf_small_lstm.io.npz"));
    let mut lowered = g.clone();
    let report = lower_v1_control_flow(&mut lowered).expect("lowering the corpus LSTM");
    assert_eq!(report.loops.len(), 2, "two LSTM layers, two loops");
    assert_eq!(report.list_ops, 10, "per layer: FromTensor, GetItem, Reserve, SetItem, Stack");
    assert!(
        report.removed_placeholders.len() > 10,
        "the unused_control_flow_input placeholders go"
    );
    // The outputs are the graph's sinks; as a converter user would, name none.
    let outcome = convert_and_compare(&g, "tf_small_lstm", &[], &data)
        .unwrap_or_else(|e| panic!("tf_small_lstm: {e}"));
    assert_eq!(outcome, Outcome::HasLoop, "the LSTM converts to ONNX Loops");
}

#[derive(Debug, PartialEq)]
enum Outcome {
    /// Run in tract and equal to TensorFlow's outputs.
    Compared,
    /// Converted, but has an ONNX Loop, which tract cannot run (see the module comment).
    HasLoop,
}

/// Converts (the converter lowers v1 control flow itself), runs in tract, compares.
fn convert_and_compare(
    g: &GraphDef,
    name: &str,
    outputs: &[String],
    data: &BTreeMap<String, npz::Array>,
) -> Result<Outcome, String> {
    let inputs: Vec<(&str, &npz::Array)> =
        data.iter().filter_map(|(k, v)| k.strip_prefix("in_").map(|n| (n, v))).collect();
    let opts = ferry_tf::Options {
        inputs: inputs
            .iter()
            .map(|(n, a)| ferry_tf::InputSpec {
                tensor: n.to_string(),
                shape: Some(a.shape.iter().map(|&d| d as i64).collect()),
                name: None,
            })
            .collect(),
        outputs: outputs
            .iter()
            .map(|t| ferry_tf::OutputSpec { tensor: t.clone(), name: None })
            .collect(),
        ..Default::default()
    };
    let model = ferry_tf::convert(g, &opts).map_err(|e| format!("convert: {e}"))?;
    let bytes = ferry_onnx::to_bytes(&model).map_err(|e| format!("export: {e}"))?;
    if let Some(dir) = std::env::var_os("FERRY_V1_ONNX_DIR") {
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        std::fs::write(Path::new(&dir).join(format!("{name}.onnx")), &bytes)
            .map_err(|e| e.to_string())?;
    }
    let mut loops = 0;
    model.visit_graphs(&mut |_, graph| {
        loops += graph.nodes().filter(|(_, n)| n.op_type == "Loop").count();
    });
    if loops > 0 {
        return Ok(Outcome::HasLoop);
    }
    let mut plan = tract_onnx::onnx()
        .model_for_read(&mut bytes.as_slice())
        .map_err(|e| format!("tract load: {e:?}"))?;
    let mut feeds = TVec::new();
    for (i, (name, a)) in inputs.iter().enumerate() {
        let t = a.to_tract().map_err(|e| format!("input {name}: {e}"))?;
        plan = plan
            .with_input_fact(i, InferenceFact::from(t.clone()))
            .map_err(|e| format!("tract fact: {e:?}"))?;
        feeds.push(t.into_tvalue());
    }
    let runnable = plan
        .into_optimized()
        .and_then(|m| m.into_runnable())
        .map_err(|e| format!("tract optimize: {e:?}"))?;
    let results = runnable.run(feeds).map_err(|e| format!("tract run: {e:?}"))?;
    let expected: Vec<&npz::Array> = (0..).map_while(|i| data.get(&format!("out_{i}"))).collect();
    if results.len() != expected.len() {
        return Err(format!("{} outputs, TensorFlow recorded {}", results.len(), expected.len()));
    }
    for (k, (got, want)) in results.iter().zip(expected).enumerate() {
        want.compare(got).map_err(|e| format!("output {k}: {e}"))?;
    }
    Ok(Outcome::Compared)
}

/// A reader for NumPy's `.npz` (a zip of `.npy` files, stored uncompressed by `np.savez`).
mod npz {
    use std::collections::BTreeMap;
    use std::path::Path;
    use tract_onnx::prelude::*;

    pub struct Array {
        pub descr: String,
        pub shape: Vec<usize>,
        pub data: Vec<u8>,
    }

    fn u16le(b: &[u8], at: usize) -> usize {
        usize::from(u16::from_le_bytes([b[at], b[at + 1]]))
    }

    fn u32le(b: &[u8], at: usize) -> u64 {
        u64::from(u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]))
    }

    fn u64le(b: &[u8], at: usize) -> u64 {
        u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
    }

    /// Walks the local file headers; zip64 sizes (numpy forces zip64) come from the extra field.
    pub fn read(path: &Path) -> BTreeMap<String, Array> {
        let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut out = BTreeMap::new();
        let mut at = 0usize;
        while at + 30 <= b.len() && u32le(&b, at) == 0x0403_4b50 {
            let method = u16le(&b, at + 8);
            assert_eq!(method, 0, "{}: compressed member (np.savez stores)", path.display());
            let mut size = u32le(&b, at + 18);
            let name_len = u16le(&b, at + 26);
            let extra_len = u16le(&b, at + 28);
            let name = String::from_utf8_lossy(&b[at + 30..at + 30 + name_len]).into_owned();
            let extra = &b[at + 30 + name_len..at + 30 + name_len + extra_len];
            if size == 0xFFFF_FFFF {
                let mut e = 0;
                while e + 4 <= extra.len() {
                    let (id, len) = (u16le(extra, e), u16le(extra, e + 2));
                    if id == 1 {
                        // Zip64: uncompressed size, then compressed size.
                        size = u64le(extra, e + 4 + 8);
                    }
                    e += 4 + len;
                }
            }
            let start = at + 30 + name_len + extra_len;
            let end = start + usize::try_from(size).expect("size");
            let key = name.trim_end_matches(".npy").to_string();
            out.insert(key, npy(&b[start..end], &name));
            at = end;
        }
        assert!(!out.is_empty(), "{}: no arrays", path.display());
        out
    }

    fn npy(b: &[u8], name: &str) -> Array {
        assert_eq!(&b[..6], b"\x93NUMPY", "{name}: not .npy");
        let (len, start) = if b[6] == 1 { (u16le(b, 8), 10) } else { (u32le(b, 8) as usize, 12) };
        let header = String::from_utf8_lossy(&b[start..start + len]).into_owned();
        let field = |key: &str| -> String {
            let i = header.find(key).unwrap_or_else(|| panic!("{name}: no {key} in {header}"));
            header[i + key.len()..].trim_start_matches([':', ' ', '\'']).to_string()
        };
        let descr = field("'descr'").split('\'').next().unwrap_or("").to_string();
        assert!(field("'fortran_order'").starts_with("False"), "{name}: Fortran order");
        let shape_text = field("'shape'");
        let inner = shape_text.trim_start_matches('(').split(')').next().unwrap_or("");
        let shape = inner
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().expect("dim"))
            .collect();
        Array { descr, shape, data: b[start + len..].to_vec() }
    }

    impl Array {
        pub fn to_tract(&self) -> Result<Tensor, String> {
            let shape = &self.shape;
            let t = match self.descr.as_str() {
                "<f4" => Tensor::from_shape(shape, &self.values::<4, f32>(f32::from_le_bytes)),
                "<f8" => Tensor::from_shape(shape, &self.values::<8, f64>(f64::from_le_bytes)),
                "<i4" => Tensor::from_shape(shape, &self.values::<4, i32>(i32::from_le_bytes)),
                "<i8" => Tensor::from_shape(shape, &self.values::<8, i64>(i64::from_le_bytes)),
                "|b1" => Tensor::from_shape(
                    shape,
                    &self.data.iter().map(|&x| x != 0).collect::<Vec<bool>>(),
                ),
                other => return Err(format!("dtype {other}")),
            };
            t.map_err(|e| format!("{e:?}"))
        }

        fn values<const N: usize, T>(&self, f: fn([u8; N]) -> T) -> Vec<T> {
            self.data.chunks_exact(N).map(|c| f(c.try_into().expect("chunk"))).collect()
        }

        /// Equal shape, and values within rtol 1e-4 (plus 1e-6 absolute, for values near 0).
        pub fn compare(&self, got: &TValue) -> Result<(), String> {
            let want = self.to_tract()?;
            if got.shape() != want.shape() {
                return Err(format!("shape {:?}, TensorFlow {:?}", got.shape(), want.shape()));
            }
            let as_f64 = |t: &Tensor| -> Result<Vec<f64>, String> {
                let c = t.cast_to::<f64>().map_err(|e| format!("{e:?}"))?;
                let c = c.try_as_plain_ram().map_err(|e| format!("{e:?}"))?;
                Ok(c.as_slice::<f64>().map_err(|e| format!("{e:?}"))?.to_vec())
            };
            let (g, w) = (as_f64(got)?, as_f64(&want)?);
            let mut worst = (0.0f64, 0usize);
            for (i, (a, b)) in g.iter().zip(&w).enumerate() {
                let excess = (a - b).abs() - (1e-6 + 1e-4 * b.abs());
                if excess > worst.0 || a.is_nan() != b.is_nan() {
                    worst = (excess.max(f64::MIN_POSITIVE), i);
                }
            }
            if worst.0 > 0.0 {
                let i = worst.1;
                return Err(format!("element {i}: {} vs TensorFlow's {}", g[i], w[i]));
            }
            Ok(())
        }
    }
}
