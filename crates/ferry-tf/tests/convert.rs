//! TensorFlow models converted by ferry-tf, checked by ferry's checker and run in tract against
//! the outputs TensorFlow recorded (rtol 1e-4, atol 1e-5).
//!
//! - `testdata/tf/` (made by `scripts/tf/make_tf_testdata.py`): frozen graphs covering the op
//!   table and a SavedModel;
//! - the shared corpus (`FERRY_CORPUS`; skipped when unset): every `tf_*.frozen.pb` and
//!   `tf_*.savedmodel`.
//!
//! tract 0.21 has no ONNX `Loop`: models with a loop are converted and checked here and run
//! against TensorFlow itself in onnxruntime by `scripts/tf/check_tf_convert.py`.
//! Plus: unsupported ops reported all at once, custom-domain fallback, and hostile inputs.

#[path = "support/npz.rs"]
mod npz;

use ferry_tf::{Options, proto};
use prost::Message;
use std::path::{Path, PathBuf};
use tract_onnx::prelude::*;

fn testdata() -> PathBuf {
    ferry_testkit::repo_root().join("testdata/tf")
}

fn sidecar(model: &Path) -> PathBuf {
    let name = model.file_name().unwrap_or_default().to_string_lossy().into_owned();
    let base = [".frozen.pb", ".savedmodel", ".pb"]
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .unwrap_or(&name)
        .to_string();
    model.with_file_name(format!("{base}.io.npz"))
}

/// Outputs tract computes differently from the ONNX reference implementation (so not compared
/// here): (model file, output index, why). onnx.reference and onnxruntime agree with
/// TensorFlow on them (`scripts/tf/check_tf_convert.py`).
const TRACT_DIFFERS: &[(&str, usize, &str)] = &[(
    "resize.pb",
    0,
    "tract 0.21's linear Resize with half_pixel coordinates does not clamp below 0 at the border",
)];

fn has_loop(model: &ferry_ir::Model) -> bool {
    let mut found = false;
    model.visit_graphs(&mut |_, g| found |= g.nodes().any(|(_, n)| n.op_type == "Loop"));
    found
}

/// Converts `path`, checks it, runs it when tract can, compares with the sidecar. Returns
/// whether it ran.
fn check(path: &Path) -> Result<bool, String> {
    let model = ferry_tf::load(path, "serving_default", &Options::default())
        .map_err(|e| format!("convert: {e}"))?;
    let validated = ferry_check::validate(&model);
    let errors: Vec<String> = validated.report().errors().map(|e| e.to_string()).collect();
    if !errors.is_empty() {
        return Err(format!("ferry check: {}", errors.join("; ")));
    }
    if has_loop(&model) {
        return Ok(false);
    }
    let io = npz::read(&sidecar(path))?;
    let bytes = ferry_onnx::to_bytes(&model).map_err(|e| format!("export: {e}"))?;
    let mut plan = tract_onnx::onnx()
        .model_for_read(&mut bytes.as_slice())
        .map_err(|e| format!("tract load: {e:?}"))?;
    let graph = model.graph.as_ref().ok_or("no graph")?;
    let mut feeds = TVec::new();
    for (i, &v) in graph.inputs().iter().enumerate() {
        let name = &graph.value(v).name;
        let a = io.get(&format!("in_{name}")).ok_or(format!("no in_{name} recorded"))?;
        let t = match a.descr.as_str() {
            "<f4" => {
                let vals: Vec<f32> = a.to_f64()?.iter().map(|&x| x as f32).collect();
                Tensor::from_shape(&a.shape, &vals)
            }
            "<i4" => {
                let vals: Vec<i32> = a.to_f64()?.iter().map(|&x| x as i32).collect();
                Tensor::from_shape(&a.shape, &vals)
            }
            d => return Err(format!("input dtype {d}")),
        }
        .map_err(|e| format!("{e:?}"))?;
        plan = plan
            .with_input_fact(i, InferenceFact::from(t.clone()))
            .map_err(|e| format!("{e:?}"))?;
        feeds.push(t.into_tvalue());
    }
    let runnable = plan
        .into_optimized()
        .and_then(|m| m.into_runnable())
        .map_err(|e| format!("tract: {e:?}"))?;
    let outs = runnable.run(feeds).map_err(|e| format!("tract run: {e:?}"))?;
    let file = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
    for (k, got) in outs.iter().enumerate() {
        if let Some((_, _, why)) = TRACT_DIFFERS.iter().find(|(f, o, _)| *f == file && *o == k) {
            eprintln!("{file} out_{k}: not compared: {why}");
            continue;
        }
        let want = io.get(&format!("out_{k}")).ok_or(format!("no out_{k}"))?;
        let got = got.cast_to::<f64>().map_err(|e| format!("{e:?}"))?;
        let got_shape: Vec<usize> = got.shape().to_vec();
        if got_shape != want.shape {
            return Err(format!("out_{k}: shape {got_shape:?}, TensorFlow {:?}", want.shape));
        }
        let got = got.try_as_plain_ram().map_err(|e| format!("{e:?}"))?;
        let got = got.as_slice::<f64>().map_err(|e| format!("{e:?}"))?;
        for (i, (g, w)) in got.iter().zip(want.to_f64()?).enumerate() {
            if (g - w).abs() > 1e-5 + 1e-4 * w.abs() {
                return Err(format!("out_{k}[{i}]: {g} vs TensorFlow's {w}"));
            }
        }
    }
    Ok(true)
}

fn models_in(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| {
        let n = p.file_name().unwrap_or_default().to_string_lossy().into_owned();
        n.starts_with(prefix) && (n.ends_with(".pb") || n.ends_with(".savedmodel"))
    });
    v.sort();
    v
}

fn check_all(models: &[PathBuf]) -> (usize, usize) {
    let mut failures = Vec::new();
    let mut ran = 0;
    for m in models {
        match check(m) {
            Ok(true) => ran += 1,
            Ok(false) => eprintln!("{}: has a Loop, converted and checked only", m.display()),
            Err(e) => failures.push(format!("{}: {e}", m.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    (models.len(), ran)
}

#[test]
fn testdata_models_match_tensorflow() {
    let models = models_in(&testdata(), "");
    assert_eq!(models.len(), 7, "{models:?}");
    let (total, ran) = check_all(&models);
    // conv_net, index_ops, resize, tensor_ops, small_module run; control_flow and keras_rnn
    // have Loops.
    assert_eq!((total, ran), (7, 5));
}

#[test]
fn corpus_models_match_tensorflow() {
    let Some(corpus) = ferry_testkit::corpus_dir() else {
        eprintln!("FERRY_CORPUS unset: skipping the corpus TensorFlow models");
        return;
    };
    let models = models_in(&corpus.join("models"), "tf_");
    assert_eq!(models.len(), 4, "{models:?}");
    let (_, ran) = check_all(&models);
    assert_eq!(ran, 3, "the CNN (frozen and SavedModel) and the transformer run in tract");
}

/// An NHWC conv net keeps its NHWC input and needs one Transpose (into the first conv): slices,
/// pads, concatenations, pooling and depth/space moves stay channels-first, the global mean
/// gives [N, C] directly, and the keepdims max ([N, 1, 1, C]) goes back with a Reshape.
#[test]
fn cnn_layout_needs_few_transposes() {
    let model = ferry_tf::load(&testdata().join("conv_net.pb"), "", &Options::default()).unwrap();
    let g = model.graph.as_ref().unwrap();
    let count = |op: &str| g.nodes().filter(|(_, n)| n.op_type == op).count();
    assert_eq!(count("Conv"), 3);
    assert_eq!(count("ConvTranspose"), 1);
    assert_eq!(count("Transpose"), 1);
    let nchw = Options { inputs_as_nchw: vec!["x".into()], ..Options::default() };
    let model = ferry_tf::load(&testdata().join("conv_net.pb"), "", &nchw).unwrap();
    let g = model.graph.as_ref().unwrap();
    let ty = g.value(g.inputs()[0]).info.ty.as_ref().unwrap().to_string();
    assert_eq!(ty, "float[1,4,16,16]");
    assert_eq!(g.nodes().filter(|(_, n)| n.op_type == "Transpose").count(), 0);
}

fn node(name: &str, op: &str, inputs: &[&str]) -> proto::NodeDef {
    let mut n = proto::NodeDef { name: name.into(), op: op.into(), ..Default::default() };
    n.input = inputs.iter().map(|s| s.to_string()).collect();
    n.attr.insert("T".into(), proto::AttrValue { value: Some(proto::attr_value::Value::Type(1)) });
    n
}

fn placeholder() -> proto::NodeDef {
    let mut p = node("x", "Placeholder", &[]);
    p.attr.insert(
        "dtype".into(),
        proto::AttrValue { value: Some(proto::attr_value::Value::Type(1)) },
    );
    p
}

/// A graph with several ops ferry has no rule for fails once, listing every op type with its
/// count and node names.
#[test]
fn unsupported_ops_are_listed_together() {
    let g = proto::GraphDef {
        node: vec![
            placeholder(),
            node("a", "FancyOp", &["x"]),
            node("b", "Relu", &["a"]),
            node("c", "FancyOp", &["b"]),
            node("d", "OtherOp", &["c", "x"]),
            node("e", "ThirdOp", &["d:1"]),
        ],
        ..Default::default()
    };
    let err = ferry_tf::convert(&g, &Options::default()).unwrap_err();
    let ferry_tf::Error::Unsupported(list) = &err else { panic!("{err}") };
    assert_eq!(
        list.ops,
        vec![
            ("FancyOp".to_string(), vec!["a".to_string(), "c".to_string()]),
            ("OtherOp".to_string(), vec!["d".to_string()]),
            ("ThirdOp".to_string(), vec!["e".to_string()]),
        ]
    );
    let text = err.to_string();
    assert!(text.contains("3 unsupported") && text.contains("FancyOp x2: a, c"), "{text}");

    // With allow_custom_ops they stay, in ferry's custom domain, with their attributes.
    let opts = Options { allow_custom_ops: true, ..Options::default() };
    let model = ferry_tf::convert(&g, &opts).unwrap();
    let graph = model.graph.as_ref().unwrap();
    let custom: Vec<_> =
        graph.nodes().filter(|(_, n)| n.canonical_domain() == "ai.ferry.tf").collect();
    assert_eq!(custom.len(), 4);
    let d = custom.iter().find(|(_, n)| n.op_type == "OtherOp").unwrap().1;
    assert_eq!(d.outputs().len(), 2, "e reads d:1");
    assert!(d.attr("T").is_some());
    assert!(model.opset_imports.iter().any(|o| o.domain.as_deref() == Some("ai.ferry.tf")));
}

fn temp_copy(src: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let dst = dir.path().join("m.savedmodel");
    let mut stack = vec![(src.to_path_buf(), dst)];
    while let Some((s, d)) = stack.pop() {
        std::fs::create_dir_all(&d).unwrap();
        for e in std::fs::read_dir(&s).unwrap().flatten() {
            let to = d.join(e.file_name());
            if e.path().is_dir() {
                stack.push((e.path(), to));
            } else {
                std::fs::copy(e.path(), to).unwrap();
            }
        }
    }
    dir
}

/// Broken files are errors that say what and where, never panics.
#[test]
fn hostile_inputs_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(testdata().join("conv_net.pb")).unwrap();
    // Truncated GraphDef: every prefix either decodes to a (partial) graph that converts or
    // fails, or fails to decode; none panics.
    for cut in (1..bytes.len()).step_by(97) {
        let p = dir.path().join("cut.pb");
        std::fs::write(&p, &bytes[..cut]).unwrap();
        let _ = ferry_tf::load(&p, "", &Options::default());
    }
    let p = dir.path().join("cut.pb");
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    let err = ferry_tf::load(&p, "", &Options::default()).unwrap_err().to_string();
    assert!(err.contains("cut.pb"), "{err}");

    // A constant whose tensor_content does not match its shape.
    let mut g = proto::GraphDef::decode(bytes.as_slice()).unwrap();
    let c = g
        .node
        .iter_mut()
        .find(|n| n.op == "Const" && matches!(n.attr.get("value").and_then(|a| a.value.as_ref()), Some(proto::attr_value::Value::Tensor(t)) if t.tensor_content.len() > 16))
        .unwrap();
    let name = c.name.clone();
    if let Some(proto::attr_value::Value::Tensor(t)) =
        c.attr.get_mut("value").and_then(|a| a.value.as_mut())
    {
        t.tensor_content = t.tensor_content.slice(..t.tensor_content.len() - 4);
    }
    let err = ferry_tf::convert(&g, &Options::default()).unwrap_err().to_string();
    assert!(err.contains(&name) && err.contains("tensor_content"), "{err}");

    // A constant claiming 2^40 elements from one splat value.
    let mut big = proto::GraphDef::decode(bytes.as_slice()).unwrap();
    let mut k = node("huge", "Const", &[]);
    let t = proto::TensorProto {
        dtype: 1,
        tensor_shape: Some(proto::TensorShapeProto {
            dim: vec![proto::tensor_shape_proto::Dim { size: 1 << 40, name: String::new() }],
            unknown_rank: false,
        }),
        float_val: vec![1.0],
        ..Default::default()
    };
    k.attr.insert(
        "value".into(),
        proto::AttrValue { value: Some(proto::attr_value::Value::Tensor(t)) },
    );
    big.node.push(k);
    big.node.push(node("use_huge", "Relu", &["huge"]));
    let opts = Options {
        outputs: vec![ferry_tf::OutputSpec { tensor: "use_huge".into(), name: None }],
        ..Options::default()
    };
    let err = ferry_tf::convert(&big, &opts).unwrap_err().to_string();
    assert!(err.contains("huge") && err.contains("limit"), "{err}");

    // A checkpoint whose data shard is shorter than an entry's offset + size.
    let sm = temp_copy(&testdata().join("small_module.savedmodel"));
    let root = sm.path().join("m.savedmodel");
    let shard = root.join("variables/variables.data-00000-of-00001");
    let data = std::fs::read(&shard).unwrap();
    std::fs::write(&shard, &data[..data.len() / 3]).unwrap();
    let err =
        ferry_tf::load(&root, "serving_default", &Options::default()).unwrap_err().to_string();
    assert!(
        err.contains("variables.data-00000-of-00001") && err.contains("outside the shard"),
        "{err}"
    );

    // A corrupted value: the CRC32C in the index catches it.
    let sm = temp_copy(&testdata().join("small_module.savedmodel"));
    let root = sm.path().join("m.savedmodel");
    let shard = root.join("variables/variables.data-00000-of-00001");
    let mut data = std::fs::read(&shard).unwrap();
    let last = data.len() - 1;
    data[last] ^= 0x55;
    std::fs::write(&shard, &data).unwrap();
    let err =
        ferry_tf::load(&root, "serving_default", &Options::default()).unwrap_err().to_string();
    assert!(err.contains("checksum"), "{err}");

    // A truncated index.
    let sm = temp_copy(&testdata().join("small_module.savedmodel"));
    let root = sm.path().join("m.savedmodel");
    let index = root.join("variables/variables.index");
    let data = std::fs::read(&index).unwrap();
    std::fs::write(&index, &data[..data.len() - 20]).unwrap();
    let err =
        ferry_tf::load(&root, "serving_default", &Options::default()).unwrap_err().to_string();
    assert!(err.contains("variables.index"), "{err}");

    // An unknown signature names the ones there are.
    let err =
        ferry_tf::load(&testdata().join("small_module.savedmodel"), "nope", &Options::default())
            .unwrap_err()
            .to_string();
    assert!(err.contains("nope") && err.contains("serving_default"), "{err}");
}

/// Deterministic byte mutations of real files (frozen graphs, the SavedModel's graph, its
/// checkpoint index): every outcome is a model or an error, never a panic. `FERRY_TF_MUTATIONS`
/// sets the rounds per file (default 150) for longer local runs.
#[test]
fn mutated_files_never_panic() {
    let rounds: usize =
        std::env::var("FERRY_TF_MUTATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(150);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let dir = tempfile::tempdir().unwrap();
    for name in ["conv_net.pb", "tensor_ops.pb", "control_flow.pb"] {
        let original = std::fs::read(testdata().join(name)).unwrap();
        let p = dir.path().join(name);
        for _ in 0..rounds {
            let mut bytes = original.clone();
            for _ in 0..1 + next() % 4 {
                let i = (next() % bytes.len() as u64) as usize;
                bytes[i] = next() as u8;
            }
            std::fs::write(&p, &bytes).unwrap();
            let _ = ferry_tf::load(&p, "", &Options::default());
        }
    }
    for file in ["saved_model.pb", "variables/variables.index"] {
        let sm = temp_copy(&testdata().join("small_module.savedmodel"));
        let root = sm.path().join("m.savedmodel");
        let original = std::fs::read(root.join(file)).unwrap();
        for _ in 0..rounds {
            let mut bytes = original.clone();
            for _ in 0..1 + next() % 4 {
                let i = (next() % bytes.len() as u64) as usize;
                bytes[i] = next() as u8;
            }
            std::fs::write(root.join(file), &bytes).unwrap();
            let _ = ferry_tf::load(&root, "serving_default", &Options::default());
        }
    }
}
