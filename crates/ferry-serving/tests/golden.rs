//! Golden files (`testdata/serving/`) for every row of the datatype tables, dynamic dims,
//! batching and non-batching Triton configs, Seldon metadata, and every refusal. Models are
//! built here with the IR API, so no binary test data is needed. Every `config.pbtxt` is also
//! read back through Triton's schema.

mod common;

use common::{golden, n, parse_config, passthrough, sym, tensor};
use ferry_ir::{
    DataType, DimValue, Graph, Initializer, Model, Shape, Tensor, TensorType, Type, TypeKind,
    ValueInfo,
};
use ferry_serving::datatype::TABLE;
use ferry_serving::{ServeOptions, kserve, seldon, triton};
use std::fmt::Write as _;

fn opts() -> ServeOptions {
    ServeOptions::new("golden")
}

/// One tensor per element type that `name_of` names, called `t_<onnx name>`, shaped [2, 3].
fn one_per_type(name_of: impl Fn(DataType) -> bool) -> Model {
    let tensors: Vec<(String, Type)> = TABLE
        .iter()
        .filter(|r| name_of(r.onnx))
        .map(|r| {
            let name = format!("t_{}", r.onnx);
            (name, tensor(r.onnx, &[n(2), n(3)]))
        })
        .collect();
    let refs: Vec<(&str, Type)> = tensors.iter().map(|(n, t)| (n.as_str(), t.clone())).collect();
    passthrough(&refs)
}

#[test]
fn every_protocol_datatype_row() {
    let model = one_per_type(|d| TABLE.iter().any(|r| r.onnx == d && r.protocol.is_some()));
    let mut o = opts();
    o.allow_bf16 = true;
    let meta = kserve::model_metadata(&model, &o).unwrap();
    assert_eq!(meta.inputs.len(), 14, "13 protocol types + BF16");
    let got: Vec<(&str, &str)> =
        meta.inputs.iter().map(|t| (t.name.as_str(), t.datatype.as_str())).collect();
    for (name, dt) in [
        ("t_float", "FP32"),
        ("t_float16", "FP16"),
        ("t_double", "FP64"),
        ("t_string", "BYTES"),
        ("t_bool", "BOOL"),
        ("t_bfloat16", "BF16"),
        ("t_uint64", "UINT64"),
        ("t_int8", "INT8"),
    ] {
        assert!(got.contains(&(name, dt)), "{name} should be {dt}: {got:?}");
    }
    golden("kserve_datatypes.json", &meta.to_json());
}

#[test]
fn every_triton_datatype_row() {
    let model = one_per_type(|d| TABLE.iter().any(|r| r.onnx == d && r.triton.is_some()));
    let config = triton::model_config(&model, &opts(), 0).unwrap();
    let text = config.to_pbtxt();
    golden("triton_datatypes.pbtxt", &text);
    let parsed = parse_config(&text).unwrap();
    assert_eq!(parsed.inputs.len(), 14);
    for row in TABLE.iter().filter(|r| r.triton.is_some()) {
        let name = format!("t_{}", row.onnx);
        let t = parsed.inputs.iter().find(|t| t.name == name).unwrap();
        // The enumerator exists in Triton's schema under exactly the name ferry wrote.
        assert_eq!(Some(t.data_type.as_str()), row.triton, "{name}");
        assert_eq!(t.dims, vec![2, 3]);
    }
}

/// Every way a tensor can fail to have a name, in both formats.
#[test]
fn refusals() {
    let mut cases: Vec<(String, Type)> = TABLE
        .iter()
        .filter(|r| r.protocol.is_none() || r.triton.is_none() || r.onnx == DataType::BFLOAT16)
        .map(|r| (r.onnx.to_string(), tensor(r.onnx, &[sym("N"), n(2)])))
        .collect();
    cases.push(("code 99".into(), tensor(DataType(99), &[sym("N"), n(2)])));
    let seq_of_maps = Type {
        kind: Some(TypeKind::Sequence(Some(Box::new(Type {
            kind: Some(TypeKind::Map {
                key: Some(DataType::INT64),
                value: Some(Box::new(tensor(DataType::FLOAT, &[]))),
            }),
            denotation: None,
        })))),
        denotation: None,
    };
    cases.push(("ZipMap output".into(), seq_of_maps));
    let sparse = TensorType { elem: Some(DataType::FLOAT), shape: Some(Shape::new([n(4)])) };
    cases.push((
        "sparse".into(),
        Type { kind: Some(TypeKind::SparseTensor(sparse)), denotation: None },
    ));
    let optional = Type {
        kind: Some(TypeKind::Optional(Some(Box::new(tensor(DataType::FLOAT, &[n(1)]))))),
        denotation: None,
    };
    cases.push(("optional".into(), optional));
    cases.push(("no type".into(), Type::default()));
    let no_elem = TensorType { elem: None, shape: Some(Shape::new([n(1)])) };
    cases.push((
        "no element type".into(),
        Type { kind: Some(TypeKind::Tensor(no_elem)), denotation: None },
    ));
    let no_shape = TensorType { elem: Some(DataType::FLOAT), shape: None };
    cases.push((
        "unknown rank".into(),
        Type { kind: Some(TypeKind::Tensor(no_shape)), denotation: None },
    ));
    cases.push(("negative dim".into(), tensor(DataType::FLOAT, &[n(-3)])));
    cases.push(("dim -1 (any size)".into(), tensor(DataType::FLOAT, &[n(-1), n(3)])));
    cases.push(("rank 0".into(), tensor(DataType::FLOAT, &[])));
    cases.push(("fixed batch dim".into(), tensor(DataType::FLOAT, &[n(1), n(3)])));

    let mut report = String::new();
    for (case, ty) in &cases {
        let model = passthrough(&[("x", ty.clone())]);
        let kserve = kserve::model_metadata(&model, &opts()).map(|_| ()).map_err(|e| e.to_string());
        let t0 = triton::model_config(&model, &opts(), 0).map(|_| ()).map_err(|e| e.to_string());
        let t8 = triton::model_config(&model, &opts(), 8).map(|_| ()).map_err(|e| e.to_string());
        for (format, result) in [
            ("kserve-v2", &kserve),
            ("triton max_batch_size 0", &t0),
            ("triton max_batch_size 8", &t8),
        ] {
            let line = match result {
                Ok(()) => "accepted".to_string(),
                Err(e) => {
                    // The input is refused before the output, and the message names it.
                    assert!(e.starts_with("input 'x': "), "{case} / {format}: {e}");
                    e.clone()
                }
            };
            let _ = writeln!(report, "{case} | {format} | {line}");
        }
    }
    golden("refusals.txt", &report);
    // Spot checks of what the golden file must say.
    for (case, expect_kserve_ok, expect_t0_ok, expect_t8_ok) in [
        ("complex64", false, false, false),
        ("bfloat16", false, true, true),
        ("rank 0", true, false, false),
        ("fixed batch dim", true, true, false),
        ("dim -1 (any size)", true, true, true),
        ("ZipMap output", false, false, false),
    ] {
        let lines: Vec<&str> =
            report.lines().filter(|l| l.starts_with(&format!("{case} |"))).collect();
        assert_eq!(lines.len(), 3, "{case}");
        assert_eq!(lines[0].ends_with("| accepted"), expect_kserve_ok, "{}", lines[0]);
        assert_eq!(lines[1].ends_with("| accepted"), expect_t0_ok, "{}", lines[1]);
        assert_eq!(lines[2].ends_with("| accepted"), expect_t8_ok, "{}", lines[2]);
    }
}

/// Inputs and outputs with known, symbolic and unknown dims, and a scalar.
fn dynamic_model() -> Model {
    passthrough(&[
        ("image", tensor(DataType::FLOAT, &[sym("N"), n(3), DimValue::Unknown, n(224)])),
        ("ids", tensor(DataType::INT64, &[sym("batch")])),
        ("mask", tensor(DataType::BOOL, &[sym("batch"), sym("seq")])),
    ])
}

#[test]
fn dynamic_dims_are_minus_one() {
    let meta = kserve::model_metadata(&dynamic_model(), &opts()).unwrap();
    assert_eq!(meta.inputs[0].shape, vec![-1, 3, -1, 224]);
    golden("dynamic_dims.json", &meta.to_json());
    let mut scalar = passthrough(&[("s", tensor(DataType::FLOAT, &[]))]);
    scalar.producer_name = None;
    let meta = kserve::model_metadata(&scalar, &opts()).unwrap();
    assert_eq!(meta.inputs[0].shape, Vec::<i64>::new(), "rank 0 is shape []");
}

#[test]
fn triton_with_and_without_batching() {
    let model = dynamic_model();
    let batch = triton::model_config(&model, &opts(), 8).unwrap().to_pbtxt();
    golden("triton_batch.pbtxt", &batch);
    let parsed = parse_config(&batch).unwrap();
    assert_eq!(parsed.max_batch_size, 8);
    assert_eq!(parsed.name, "golden");
    assert_eq!(parsed.platform, "onnxruntime_onnx");
    // The batch dim is Triton's; a tensor that had only that dim becomes [1] reshaped to [].
    assert_eq!(parsed.inputs[0].dims, vec![3, -1, 224]);
    assert_eq!(parsed.inputs[0].reshape, None);
    assert_eq!(parsed.inputs[1].dims, vec![1]);
    assert_eq!(parsed.inputs[1].reshape, Some(vec![]));
    assert_eq!(parsed.inputs[2].dims, vec![-1]);
    assert_eq!(parsed.outputs[1].data_type, "TYPE_INT64");

    let flat = triton::model_config(&model, &opts(), 0).unwrap().to_pbtxt();
    golden("triton_nobatch.pbtxt", &flat);
    let parsed = parse_config(&flat).unwrap();
    assert_eq!(parsed.max_batch_size, 0);
    assert_eq!(parsed.inputs[0].dims, vec![-1, 3, -1, 224]);
    assert_eq!(parsed.inputs[1].dims, vec![-1]);
    assert_eq!(parsed.inputs[1].reshape, None);
}

/// A graph with a real input and an input that has an initializer (a default value).
fn model_with_initializer_input() -> Model {
    let mut g = Graph::new();
    let info = |t: Type| ValueInfo { ty: Some(t), ..ValueInfo::default() };
    let x = g.add_input("x", info(tensor(DataType::FLOAT, &[sym("N"), n(4)])));
    let w = g.add_input("w", info(tensor(DataType::FLOAT, &[n(4)])));
    let bytes = bytes::Bytes::from(vec![0u8; 16]);
    g.attach_initializer(
        w,
        Initializer::Dense(Tensor::from_raw("w", DataType::FLOAT, vec![4], bytes)),
    );
    let (_, outs) = g.add_node(ferry_ir::Node::new("Mul"), &[Some(x), Some(w)], &[Some("y")]);
    let y = outs[0].unwrap();
    g.value_mut(y).info.ty = Some(tensor(DataType::FLOAT, &[sym("N"), n(4)]));
    g.add_output(y);
    Model { graph: Some(g), ir_version: Some(8), ..Model::default() }
}

#[test]
fn initializer_inputs_are_left_out_unless_asked_for() {
    let model = model_with_initializer_input();
    let default = kserve::model_metadata(&model, &opts()).unwrap();
    assert_eq!(default.inputs.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["x"]);
    golden("initializer_inputs_default.json", &default.to_json());
    let mut o = opts();
    o.signature.include_initializer_inputs = true;
    let all = kserve::model_metadata(&model, &o).unwrap();
    assert_eq!(all.inputs.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["x", "w"]);
    golden("initializer_inputs_included.json", &all.to_json());
}

#[test]
fn seldon_metadata_yaml() {
    let mut o = opts();
    o.version = "3".into();
    let meta = kserve::model_metadata(&dynamic_model(), &o).unwrap();
    golden("seldon_metadata.yaml", &seldon::metadata_yaml(&meta));
}

#[test]
fn names_and_platform_are_options() {
    let mut o = ServeOptions::for_path(std::path::Path::new("models/resnet50.onnx"));
    assert_eq!(o.name, "resnet50");
    o.platform = "onnxruntime_onnx_custom".into();
    o.version = String::new();
    let meta = kserve::model_metadata(&dynamic_model(), &o).unwrap();
    assert_eq!(meta.platform, "onnxruntime_onnx_custom");
    assert!(meta.versions.is_empty());
    assert!(meta.properties.contains_key("ferry_version"));
    let bad = ServeOptions::new("a/b");
    let err = triton::model_config(&dynamic_model(), &bad, 0).unwrap_err().to_string();
    assert!(err.starts_with("model name 'a/b'"), "{err}");
}
