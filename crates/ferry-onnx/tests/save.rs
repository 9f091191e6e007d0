//! Writing: data layouts, atomicity, and the 2 GiB limit.

use ferry_onnx::{DataLayout, SaveOptions, proto};
use prost::Message;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn canonical(path: &Path) -> Vec<u8> {
    proto::ModelProto::decode(std::fs::read(path).unwrap().as_slice()).unwrap().encode_to_vec()
}

#[test]
fn external_layout_then_inline_gives_back_the_original() {
    let tmp = tempfile::tempdir().unwrap();
    let src = repo().join("testdata/onnx/mlp.onnx");
    let model = ferry_onnx::load(&src).unwrap();
    let ext = tmp.path().join("ext/mlp.onnx");
    let layout = DataLayout::External { file: "weights.data".into(), threshold: 64, align: 4096 };
    let report =
        ferry_onnx::save_with(&ferry_check::validate(&model), &ext, &SaveOptions { layout })
            .unwrap();
    assert_eq!(report.data_files.len(), 1);

    let reloaded = ferry_onnx::load(&ext).unwrap();
    let mut offsets = Vec::new();
    let mut small_inline = 0;
    reloaded.for_each_tensor(&mut |t| match &t.data {
        ferry_ir::TensorData::External(e) => {
            offsets.push(e.get("offset").unwrap().parse::<u64>().unwrap());
            assert_eq!(e.location(), Some("weights.data"));
        }
        _ => small_inline += 1,
    });
    assert!(offsets.len() >= 3, "{offsets:?}");
    assert!(offsets.iter().all(|o| o % 4096 == 0), "{offsets:?}");
    assert!(small_inline >= 1, "tensors under the threshold stay inline");

    // Every tensor's bytes survive.
    let mut before = Vec::new();
    model.for_each_tensor(&mut |t| before.push(t.le_bytes().unwrap()));
    let mut after = Vec::new();
    reloaded.for_each_tensor(&mut |t| after.push(t.le_bytes().unwrap()));
    assert_eq!(before, after);

    let back = tmp.path().join("inline.onnx");
    ferry_onnx::save_with(
        &ferry_check::validate(&reloaded),
        &back,
        &SaveOptions { layout: DataLayout::Inline },
    )
    .unwrap();
    assert!(
        canonical(&src) == canonical(&back),
        "external then inline must give back the original"
    );
}

#[test]
fn a_failed_write_leaves_the_previous_output_intact() {
    let tmp = tempfile::tempdir().unwrap();
    let src_dir = tmp.path().join("src");
    std::fs::create_dir_all(&src_dir).unwrap();
    for f in ["model.onnx", "weights.bin", "more.bin"] {
        std::fs::copy(repo().join("testdata/onnx/external").join(f), src_dir.join(f)).unwrap();
    }
    let model = ferry_onnx::load(src_dir.join("model.onnx")).unwrap();
    // The data disappears between load and save: writing must fail.
    std::fs::remove_file(src_dir.join("more.bin")).unwrap();

    let out_dir = tmp.path().join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    for f in ["model.onnx", "weights.bin", "more.bin"] {
        std::fs::write(out_dir.join(f), format!("previous {f}")).unwrap();
    }
    for layout in [
        DataLayout::Keep,
        DataLayout::Inline,
        DataLayout::External { file: "weights.bin".into(), threshold: 0, align: 64 },
    ] {
        let err = ferry_onnx::save_with(
            &ferry_check::validate(&model),
            out_dir.join("model.onnx"),
            &SaveOptions { layout: layout.clone() },
        );
        assert!(err.is_err(), "{layout:?} must fail");
        for f in ["model.onnx", "weights.bin", "more.bin"] {
            let now = std::fs::read_to_string(out_dir.join(f)).unwrap();
            assert_eq!(now, format!("previous {f}"), "{f} changed after a failed {layout:?} save");
        }
        let names: Vec<_> =
            std::fs::read_dir(&out_dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 3, "temporary files left behind: {names:?}");
    }
}

#[test]
fn a_symlink_at_the_target_is_replaced_not_written_through() {
    let tmp = tempfile::tempdir().unwrap();
    let victim = tmp.path().join("victim.txt");
    std::fs::write(&victim, "keep me").unwrap();
    let out = tmp.path().join("out.onnx");
    std::os::unix::fs::symlink(&victim, &out).unwrap();
    let model = ferry_onnx::load(repo().join("testdata/onnx/mlp.onnx")).unwrap();
    ferry_onnx::save(&ferry_check::validate(&model), &out).unwrap();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    assert!(!std::fs::symlink_metadata(&out).unwrap().file_type().is_symlink());
}

#[test]
fn models_past_two_gib_are_refused_inline() {
    let tmp = tempfile::tempdir().unwrap();
    // A sparse 2.1 GiB data file: no disk space or memory is used for its zeros.
    let len: u64 = (1 << 31) + (1 << 26);
    let f = std::fs::File::create(tmp.path().join("big.bin")).unwrap();
    f.set_len(len).unwrap();
    let t = proto::TensorProto {
        name: Some("w".into()),
        data_type: Some(2), // UINT8
        dims: vec![len as i64],
        data_location: Some(1),
        external_data: vec![proto::StringStringEntryProto {
            key: Some("location".into()),
            value: Some("big.bin".into()),
        }],
        ..Default::default()
    };
    let m = proto::ModelProto {
        ir_version: Some(10),
        graph: Some(proto::GraphProto { initializer: vec![t], ..Default::default() }),
        ..Default::default()
    };
    std::fs::write(tmp.path().join("big.onnx"), m.encode_to_vec()).unwrap();
    let model = ferry_onnx::load(tmp.path().join("big.onnx")).unwrap();
    let out = tmp.path().join("inline.onnx");
    let err = ferry_onnx::save_with(
        &ferry_check::validate(&model),
        &out,
        &SaveOptions { layout: DataLayout::Inline },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("past protobuf's limit of 2 GiB - 1"), "{err}");
    assert!(!out.exists());
}
