use super::*;

// ------------------------------------------------------------------------------------------------
// Crafted cases: sizes taken from the file must not turn into allocations.

/// Growth limit for the crafted cases that are small files.
pub(crate) const SMALL: usize = 64 << 20;

pub(crate) fn vi(name: &str, dims: &[i64]) -> proto::ValueInfoProto {
    use proto::tensor_shape_proto::{Dimension, dimension::Value as D};
    proto::ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(proto::TypeProto {
            value: Some(proto::type_proto::Value::TensorType(proto::type_proto::Tensor {
                elem_type: Some(1),
                shape: Some(proto::TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|&d| Dimension { value: Some(D::DimValue(d)), denotation: None })
                        .collect(),
                }),
            })),
            denotation: None,
        }),
        ..Default::default()
    }
}

pub(crate) fn model_with(graph: proto::GraphProto) -> proto::ModelProto {
    proto::ModelProto {
        ir_version: Some(10),
        opset_import: vec![proto::OperatorSetIdProto { domain: None, version: Some(21) }],
        graph: Some(graph),
        ..Default::default()
    }
}

/// Loads from memory and, when `dir` is given, from `dir/model.onnx`; checks no panic and bounded
/// growth; returns the results' `Ok`-ness (memory, file).
pub(crate) fn load_measured(
    what: &str,
    bytes: &[u8],
    dir: Option<&Path>,
    limit: usize,
) -> (Result<(), String>, Option<Result<(), String>>) {
    let base = alloc_count::start();
    let r = capture(|| {
        let r =
            ferry_onnx::load_bytes(Bytes::copy_from_slice(bytes), None, &LoadOptions::default());
        r.map(|l| {
            let out = ferry_onnx::to_bytes(&l.model).expect("to_bytes");
            let _ = ferry_onnx::to_proto(&l.model);
            if let Some(d) = lossless_problem(&Bytes::copy_from_slice(bytes), &l.model) {
                println!("{what}: round trip not lossless: {d}");
            }
            out.len()
        })
        .map_err(|e| e.to_string())
    });
    let mem = match r {
        Ok(r) => r.map(|_| ()),
        Err(p) => panic!("{what}: load_bytes panicked: {} at {}", p.message, p.location),
    };
    let file = dir.map(|d| {
        let path = d.join("model.onnx");
        let _ = std::fs::remove_file(&path);
        std::fs::write(&path, bytes).unwrap();
        match capture(|| ferry_onnx::load(&path).map(|m| ferry_onnx::to_bytes(&m).map(|_| ()))) {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(e))) | Ok(Err(e)) => Err(e.to_string()),
            Err(p) => panic!("{what}: load panicked: {} at {}", p.message, p.location),
        }
    });
    let growth = alloc_count::growth(base);
    println!("{what}: memory {mem:?}, file {file:?}, heap growth {} KiB", growth >> 10);
    assert!(growth <= limit, "{what}: the heap grew by {growth} bytes");
    (mem, file)
}

#[test]
pub(crate) fn huge_dims_do_not_allocate() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("w.bin"), [0u8; 16]).unwrap();
    let t = |name: &str, dims: &[i64]| proto::TensorProto {
        name: Some(name.into()),
        data_type: Some(1),
        dims: dims.to_vec(),
        raw_data: Some(Bytes::from_static(&[0, 0, 128, 63])),
        ..Default::default()
    };
    let e40 = 1i64 << 40;
    let ext = |name: &str, dims: &[i64], entries: &[(&str, &str)]| proto::TensorProto {
        name: Some(name.into()),
        data_type: Some(1),
        dims: dims.to_vec(),
        data_location: Some(1),
        external_data: entries
            .iter()
            .map(|(k, v)| proto::StringStringEntryProto {
                key: Some(k.to_string()),
                value: Some(v.to_string()),
            })
            .collect(),
        ..Default::default()
    };
    let dense = |tensors: Vec<proto::TensorProto>| {
        let outputs = tensors.iter().map(|t| vi(t.name.as_deref().unwrap(), &t.dims)).collect();
        model_with(proto::GraphProto {
            name: Some("g".into()),
            initializer: tensors,
            output: outputs,
            ..Default::default()
        })
        .encode_to_vec()
    };
    // Raw data of 4 bytes, dims claiming 2^80 elements: kept verbatim, nothing sized from dims.
    let m = dense(vec![t("big", &[e40, e40])]);
    // Either kept verbatim or refused (the element count overflows); never sized from dims.
    let _ = load_measured("dims [2^40, 2^40]", &m, Some(dir.path()), SMALL);
    let m = dense(vec![
        t("max", &[i64::MAX, i64::MAX, 2]),
        t("min", &[i64::MIN]),
        t("neg", &[-1, 0, -7]),
    ]);
    let _ = load_measured("dims i64::MAX/MIN/negative", &m, Some(dir.path()), SMALL);

    // The same tensor as a Constant attribute and inside a sparse initializer.
    let attr = proto::AttributeProto {
        name: Some("value".into()),
        r#type: Some(4),
        t: Some(t("c", &[e40, e40])),
        ..Default::default()
    };
    let node = proto::NodeProto {
        output: vec!["c".into()],
        op_type: Some("Constant".into()),
        attribute: vec![attr],
        ..Default::default()
    };
    let sparse = proto::SparseTensorProto {
        values: Some(t("s", &[e40])),
        indices: Some(proto::TensorProto {
            name: Some("s_idx".into()),
            data_type: Some(7),
            dims: vec![e40, 2],
            int64_data: vec![0, 0],
            ..Default::default()
        }),
        dims: vec![e40, e40],
    };
    let m = model_with(proto::GraphProto {
        node: vec![node],
        sparse_initializer: vec![sparse],
        output: vec![vi("c", &[e40, e40]), vi("s", &[e40, e40])],
        ..Default::default()
    })
    .encode_to_vec();
    let _ = load_measured("Constant + sparse with huge dims", &m, Some(dir.path()), SMALL);

    // External data: lengths and offsets past the 16-byte file, or overflowing, are refused.
    for (what, entries, ok) in [
        ("external, the whole file", vec![("location", "w.bin")], true),
        ("external, length 2^40", vec![("location", "w.bin"), ("length", "1099511627776")], false),
        (
            "external, length 2^64-1",
            vec![("location", "w.bin"), ("length", "18446744073709551615")],
            false,
        ),
        (
            "external, offset 2^64-1 + length 2",
            vec![("location", "w.bin"), ("offset", "18446744073709551615"), ("length", "2")],
            false,
        ),
        (
            "external, offset 2^63",
            vec![("location", "w.bin"), ("offset", "9223372036854775808")],
            false,
        ),
        (
            "external, length 2^64",
            vec![("location", "w.bin"), ("length", "18446744073709551616")],
            false,
        ),
    ] {
        let m = dense(vec![ext("e", &[4], &entries)]);
        let (mem, file) = load_measured(what, &m, Some(dir.path()), SMALL);
        assert!(mem.is_err(), "{what}: external data from memory must be refused");
        assert_eq!(file.as_ref().unwrap().is_ok(), ok, "{what}: {file:?}");
    }
}

#[test]
pub(crate) fn huge_lengths_do_not_allocate() {
    let dir = tempfile::tempdir().unwrap();
    let v = |x: u64| {
        let mut b = Vec::new();
        put_varint(&mut b, x);
        b
    };
    let key = |num: u64, wire: u64| v((num << 3) | wire);
    let cat = |parts: &[&[u8]]| parts.concat();
    // `field` of wire type 2 holding `inner` with a correct length.
    let wrap = |num: u64, inner: &[u8]| cat(&[&key(num, 2), &v(inner.len() as u64), inner]);
    let claim = |num: u64, len: u64, tail: &[u8]| cat(&[&key(num, 2), &v(len), tail]);
    let e62 = 1u64 << 62;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("ModelProto.graph claims 2^62 bytes", claim(7, e62, b"abc")),
        ("ModelProto.producer_name claims 2^62 bytes", claim(2, e62, b"abc")),
        ("ModelProto.graph claims u64::MAX bytes", claim(7, u64::MAX, b"")),
        ("ModelProto.graph claims 0xFFFFFFFF bytes", claim(7, 0xffff_ffff, b"\x0a\x00")),
        ("GraphProto.node claims 2^62 bytes", wrap(7, &claim(1, e62, b"x"))),
        (
            "TensorProto.raw_data claims 2^62 bytes",
            wrap(7, &wrap(5, &cat(&[&key(2, 0), &v(1), &claim(9, e62, &[0; 8])]))),
        ),
        ("TensorProto.dims (packed) claims 2^62 bytes", wrap(7, &wrap(5, &claim(1, e62, &[1; 8])))),
        (
            "TensorProto.float_data (packed) claims 0xFFFFFFF0 bytes",
            wrap(7, &wrap(5, &claim(4, 0xffff_fff0, &[0; 8]))),
        ),
        (
            "TensorProto.string_data element claims 2^62 bytes",
            wrap(7, &wrap(5, &claim(6, e62, b"s"))),
        ),
        ("AttributeProto.g claims 2^62 bytes", wrap(7, &wrap(1, &wrap(5, &claim(6, e62, b""))))),
        ("an 11-byte varint length", cat(&[&key(7, 2), &[0xff; 10], &[0x01]])),
        ("a 10-byte varint length with high bits", cat(&[&key(7, 2), &[0xff; 9], &[0x7f]])),
    ];
    for (what, bytes) in cases {
        let (mem, file) = load_measured(what, &bytes, Some(dir.path()), SMALL);
        assert!(mem.is_err(), "{what}: expected a decode error");
        assert!(file.unwrap().is_err(), "{what}: expected a decode error");
    }
}

#[test]
pub(crate) fn a_million_empty_nodes_load_in_reasonable_time() {
    let n = 1_000_000;
    let m = model_with(proto::GraphProto {
        node: vec![proto::NodeProto::default(); n],
        ..Default::default()
    })
    .encode_to_vec();
    let base = alloc_count::start();
    let t0 = Instant::now();
    let loaded = ferry_onnx::load_bytes(Bytes::from(m), None, &LoadOptions::default()).unwrap();
    let load_time = t0.elapsed();
    assert_eq!(loaded.model.graph.as_ref().unwrap().node_count(), n);
    let t1 = Instant::now();
    let out = ferry_onnx::to_bytes(&loaded.model).unwrap();
    let export_time = t1.elapsed();
    let growth = alloc_count::growth(base);
    println!(
        "10^6 empty nodes: load {load_time:?}, export {export_time:?} ({} bytes), heap growth {} MiB",
        out.len(),
        growth >> 20
    );
    // Generous: about a second in release on the 2-core machine; minutes would mean a quadratic.
    assert!(load_time < Duration::from_secs(30), "loading took {load_time:?}");
    assert!(export_time < Duration::from_secs(30), "exporting took {export_time:?}");
    assert!(growth < 4 << 30, "the heap grew by {growth} bytes");
}

/// A subgraph reading many distinct names of its enclosing graph: each becomes a capture in the
/// subgraph and an implicit input of the node. Loading must stay roughly linear in the count
/// (it once was quadratic: 40k captures took 10 s). Judged by how time grows from 10k to 40k
/// captures, not by absolute time: linear work grows about 4x, quadratic 16x.
#[test]
pub(crate) fn many_captures_load_in_reasonable_time() {
    let model = |k: usize| {
        let names: Vec<String> = (0..k).map(|i| format!("v{i}")).collect();
        let body = proto::GraphProto {
            name: Some("then".into()),
            node: vec![proto::NodeProto {
                input: names.clone(),
                output: vec!["y".into()],
                op_type: Some("Sum".into()),
                ..Default::default()
            }],
            output: vec![vi("y", &[1])],
            ..Default::default()
        };
        let node = proto::NodeProto {
            input: vec!["cond".into()],
            output: vec!["out".into()],
            op_type: Some("If".into()),
            attribute: vec![
                proto::AttributeProto {
                    name: Some("then_branch".into()),
                    r#type: Some(5),
                    g: Some(body.clone()),
                    ..Default::default()
                },
                proto::AttributeProto {
                    name: Some("else_branch".into()),
                    r#type: Some(5),
                    g: Some(body),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let mut input: Vec<_> = names.iter().map(|n| vi(n, &[1])).collect();
        input.push(vi("cond", &[]));
        model_with(proto::GraphProto {
            name: Some("g".into()),
            node: vec![node],
            input,
            output: vec![vi("out", &[1])],
            ..Default::default()
        })
        .encode_to_vec()
    };
    let mut times = Vec::new();
    for k in [10_000, 20_000, 40_000] {
        let m = model(k);
        let t0 = Instant::now();
        let loaded = ferry_onnx::load_bytes(Bytes::from(m.clone()), None, &LoadOptions::default());
        let t = t0.elapsed();
        let loaded = loaded.unwrap();
        let g = loaded.model.graph.as_ref().unwrap();
        let (id, _) = g.nodes().next().unwrap();
        assert_eq!(g.node(id).implicit_inputs().len(), k);
        println!("{k} captures ({} KiB file): load {t:?}", m.len() >> 10);
        times.push(t);
    }
    let (small, large) = (times[0].as_secs_f64(), times[2].as_secs_f64());
    assert!(large < 10.0 * small + 0.5, "10k captures took {small:.3} s but 40k took {large:.3} s");
}
