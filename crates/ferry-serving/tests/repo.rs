//! Writing a Triton model repository entry: layout, external data, and nothing written when the
//! model cannot be described.

mod common;

use common::{n, parse_config, passthrough, sym, tensor};
use ferry_ir::{DataType, Graph, Initializer, Model, Node, OpsetImport, Tensor, ValueInfo};
use ferry_onnx::{DataLayout, LoadOptions, SaveOptions};
use ferry_serving::{ServeOptions, repo};

/// `y = x * w` with a 4 KiB weight, so it can be stored as external data.
fn model_with_weight() -> Model {
    let mut g = Graph::new();
    let ty = tensor(DataType::FLOAT, &[sym("N"), n(1024)]);
    let x = g.add_input("x", ValueInfo { ty: Some(ty.clone()), ..ValueInfo::default() });
    let raw: Vec<u8> = (0..1024u32).flat_map(|i| (i as f32).to_le_bytes()).collect();
    let w = Tensor::from_raw("w", DataType::FLOAT, vec![1024], bytes::Bytes::from(raw));
    let w = g.add_initializer("w", Initializer::Dense(w));
    let (_, outs) = g.add_node(Node::new("Mul"), &[Some(x), Some(w)], &[Some("y")]);
    let y = outs[0].unwrap();
    g.value_mut(y).info.ty = Some(ty);
    g.add_output(y);
    Model {
        ir_version: Some(10),
        opset_imports: vec![OpsetImport { domain: Some(String::new()), version: Some(21) }],
        graph: Some(g),
        ..Model::default()
    }
}

#[test]
fn repository_layout_with_external_data() {
    let tmp = tempfile::tempdir().unwrap();
    // Store the weight externally first, as a converted large model would be.
    let src = tmp.path().join("src/mul.onnx");
    std::fs::create_dir_all(src.parent().unwrap()).unwrap();
    let layout = DataLayout::External { file: "mul.onnx.data".into(), threshold: 0, align: 64 };
    ferry_onnx::save_with(
        &ferry_check::validate(&model_with_weight()),
        &src,
        &SaveOptions { layout },
    )
    .unwrap();
    let model = ferry_onnx::load_with(&src, &LoadOptions::default()).unwrap().model;

    let repo_dir = tmp.path().join("models");
    let mut opts = ServeOptions::for_path(&src);
    opts.version = "7".into();
    let report =
        repo::write_repository(&ferry_check::validate(&model), &opts, 16, &repo_dir).unwrap();
    assert_eq!(report.config_path, repo_dir.join("mul/config.pbtxt"));
    assert_eq!(report.model_path, repo_dir.join("mul/7/model.onnx"));
    let data = repo_dir.join("mul/7/mul.onnx.data");
    assert!(data.is_file(), "external data copied beside the model");
    assert_eq!(report.data_files.len(), 1);

    let parsed = parse_config(&std::fs::read_to_string(&report.config_path).unwrap()).unwrap();
    assert_eq!(parsed.name, "mul");
    assert_eq!(parsed.max_batch_size, 16);
    assert_eq!(parsed.inputs[0].dims, vec![1024]);

    // The copy is the same model, weights included.
    let copy = ferry_onnx::load(&report.model_path).unwrap();
    let g = copy.graph.as_ref().unwrap();
    let w = g.find_value("w").unwrap();
    let Some(Initializer::Dense(t)) = &g.value(w).initializer else { panic!("w lost") };
    assert_eq!(t.le_bytes().unwrap().len(), 4096);
    assert_eq!(&t.le_bytes().unwrap()[4..8], &1.0f32.to_le_bytes());
}

#[test]
fn nothing_is_written_when_the_model_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let model = passthrough(&[("x", tensor(DataType::COMPLEX64, &[sym("N")]))]);
    let err = repo::write_repository(
        &ferry_check::validate(&model),
        &ServeOptions::new("c"),
        0,
        tmp.path(),
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("input 'x': element type complex64"), "{err}");
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);

    let ok = passthrough(&[("x", tensor(DataType::FLOAT, &[sym("N")]))]);
    let mut opts = ServeOptions::new("c");
    opts.version = "v2".into();
    let err =
        repo::write_repository(&ferry_check::validate(&ok), &opts, 0, tmp.path()).unwrap_err();
    assert!(err.to_string().starts_with("model version 'v2'"), "{err}");
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}
