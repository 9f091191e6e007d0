//! Deterministic synthetic ONNX models built with the ferry IR: the library behind the
//! `gen_models` example and the benchmarks in `benches/`.
//!
//! A generator returns a [`Synth`]: the model, with every weight still a description
//! ([`Weight`]: name, dims and a seeded fill). The same arguments always give the same bytes.
//!
//! ```no_run
//! use ferry_gen::{TransformerSpec, transformer};
//! let synth = transformer(&TransformerSpec::new(12), 0);
//! synth.write_inline("/tmp/tfm12.onnx".as_ref()).unwrap();
//! ```

mod builder;
mod models;
pub mod rng;
mod write;

pub use builder::{Builder, Fill, Synth, Weight, float, int, ints};
pub use models::{CnnSpec, TransformerSpec, cnn, transformer, weights};
pub use write::{EXTERNAL_ALIGN, Error, PROTO_LIMIT, Result, WriteReport};

#[cfg(test)]
mod tests {
    use super::*;
    use ferry::ir::{Initializer, TensorData};

    fn op_count(s: &Synth, op: &str) -> usize {
        s.graph().nodes().filter(|(_, n)| n.op_type == op).count()
    }

    #[test]
    fn transformer_has_99_nodes_per_layer() {
        let a = transformer(&TransformerSpec::new(2), 0);
        let b = transformer(&TransformerSpec::new(3), 0);
        assert_eq!(b.node_count() - a.node_count(), 99);
        assert_eq!(a.node_count(), 2 * 99 + 11);
        assert_eq!(op_count(&a, "Softmax"), 2);
        assert_eq!(op_count(&a, "Erf"), 2);
        a.graph().verify_links().unwrap();
    }

    #[test]
    fn cnn_has_about_five_nodes_per_block() {
        let s = cnn(&CnnSpec::new(64), 0);
        let per_block = (s.node_count() - 6) as f64 / 64.0;
        assert!((5.0..5.2).contains(&per_block), "{per_block}");
        assert_eq!(op_count(&s, "MaxPool"), 4);
        s.graph().verify_links().unwrap();
    }

    #[test]
    fn weights_reach_the_requested_size() {
        let s = weights(3, 256, 0);
        assert_eq!(s.weights.len(), 12);
        assert_eq!(s.payload_bytes(), 3 << 20);
    }

    #[test]
    fn generation_is_deterministic() {
        let a = transformer(&TransformerSpec::new(1), 7);
        let b = transformer(&TransformerSpec::new(1), 7);
        let c = transformer(&TransformerSpec::new(1), 8);
        let bytes = |s: &Synth| s.weights.iter().map(|w| w.bytes()).collect::<Vec<_>>();
        assert_eq!(bytes(&a), bytes(&b));
        assert_ne!(bytes(&a), bytes(&c));
        // Odd element counts end on half a random pair.
        let odd = Weight { dims: vec![3], ..a.weights[0].clone() };
        assert_eq!(odd.bytes().len(), 12);
    }

    #[test]
    fn streamed_file_matches_ferry_encoding() {
        let dir = tempfile::tempdir().unwrap();
        for synth in [transformer(&TransformerSpec::new(2), 1), cnn(&CnnSpec::new(3), 2)] {
            let path = dir.path().join("m.onnx");
            let report = synth.write_inline(&path).unwrap();
            let written = std::fs::read(&path).unwrap();
            assert_eq!(written.len() as u64, report.model_bytes);
            let expected = ferry::onnx::to_bytes(&synth.materialize()).unwrap();
            assert!(written == expected, "streamed bytes differ from to_bytes");
            ferry::onnx::load(&path).unwrap();
        }
    }

    #[test]
    fn external_data_is_aligned_and_loads() {
        let dir = tempfile::tempdir().unwrap();
        let synth = weights(1, 128, 3);
        let expected: Vec<_> = synth.weights.iter().map(|w| w.bytes()).collect();
        let path = dir.path().join("w.onnx");
        let report = synth.write_external(&path, "w.bin", 1024).unwrap();
        let (data, len) = report.data_file.unwrap();
        assert_eq!(std::fs::metadata(&data).unwrap().len(), len);
        let model = ferry::onnx::load(&path).unwrap();
        let g = model.graph.as_ref().unwrap();
        assert_eq!(g.initializers().len(), expected.len());
        for (v, want) in g.initializers().iter().zip(&expected) {
            let Some(Initializer::Dense(t)) = &g.value(*v).initializer else { panic!() };
            let TensorData::External(e) = &t.data else { panic!("not external") };
            let offset: u64 = e.get("offset").unwrap().parse().unwrap();
            assert_eq!(offset % EXTERNAL_ALIGN, 0);
            assert_eq!(&e.source.as_ref().unwrap().bytes().unwrap(), want);
        }
        let bad = weights(1, 128, 3).write_external(&path, "../w.bin", 0);
        assert!(bad.is_err());
    }

    #[test]
    fn inline_past_2_gib_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = weights(2048, 2048, 0).write_inline(&dir.path().join("big.onnx")).unwrap_err();
        assert!(err.to_string().contains("2 GiB"), "{err}");
        assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "left a file behind");
    }
}
