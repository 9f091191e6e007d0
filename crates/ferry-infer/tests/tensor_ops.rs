//! Inference of the tensor-family operators (reductions, indexing, quantization, signal, losses,
//! strings) on tiny graphs built with the IR API, with symbolic dimensions: what each operator
//! makes of `N`, `2*T` and contents computed from shapes.

mod common;
use common::{int, ints, string};
use ferry_infer::infer;
use ferry_ir::{
    AttrValue, Attribute, DataType, DimValue, Graph, Initializer, Model, Node, OpsetImport, Tensor,
    TensorData, Type, ValueId, ValueInfo,
};

/// A graph under construction, with the opset it will be imported at.
struct G {
    g: Graph,
    opset: i64,
    fresh: usize,
}

fn dim(d: &str) -> DimValue {
    match d.parse::<i64>() {
        Ok(n) => DimValue::Known(n),
        Err(_) => DimValue::Symbol(d.to_string()),
    }
}

impl G {
    fn new(opset: i64) -> G {
        G { g: Graph::new(), opset, fresh: 0 }
    }

    /// A graph input `name` of type `elem[dims]` (dims: numbers or symbols).
    fn input(&mut self, name: &str, elem: DataType, dims: &[&str]) -> ValueId {
        let ty = Type::tensor(elem, dims.iter().map(|d| dim(d)));
        self.g.add_input(name, ValueInfo { ty: Some(ty), ..Default::default() })
    }

    /// A graph input of unknown contents holding a 1-D int64 tensor of length `n`.
    fn ints_input(&mut self, name: &str, n: i64) -> ValueId {
        self.input(name, DataType::INT64, &[&n.to_string()])
    }

    /// An int64 initializer.
    fn ints(&mut self, name: &str, dims: Vec<i64>, v: Vec<i64>) -> ValueId {
        let mut t = Tensor::from_raw(name, DataType::INT64, dims, Default::default());
        t.data = TensorData::Int64(v);
        self.g.add_initializer(name, Initializer::Dense(t))
    }

    fn floats(&mut self, name: &str, dims: Vec<i64>, v: Vec<f32>) -> ValueId {
        let mut t = Tensor::from_raw(name, DataType::FLOAT, dims, Default::default());
        t.data = TensorData::Float(v);
        self.g.add_initializer(name, Initializer::Dense(t))
    }

    /// Adds `op` reading `inputs` (None: omitted) with `n_out` outputs; returns the outputs.
    fn node(
        &mut self,
        op: &str,
        inputs: &[Option<ValueId>],
        n_out: usize,
        attrs: Vec<(&str, AttrValue)>,
    ) -> Vec<ValueId> {
        let mut node = Node::new(op);
        for (k, v) in attrs {
            node = node.with_attr(Attribute::new(k, v));
        }
        let names: Vec<String> = (0..n_out)
            .map(|_| {
                self.fresh += 1;
                format!("{op}_{}", self.fresh)
            })
            .collect();
        let outs: Vec<Option<&str>> = names.iter().map(|s| Some(s.as_str())).collect();
        let (_, outs) = self.g.add_node(node, inputs, &outs);
        outs.into_iter().map(|o| o.expect("named output")).collect()
    }

    /// Runs inference; returns the model (to read types from) and the diagnostics.
    fn infer(self) -> (Model, Vec<String>) {
        let mut m = Model {
            ir_version: Some(10),
            opset_imports: vec![OpsetImport { domain: None, version: Some(self.opset) }],
            graph: Some(self.g),
            ..Default::default()
        };
        let r = infer(&mut m);
        let diags = r.diagnostics.iter().map(ToString::to_string).collect();
        (m, diags)
    }
}

/// `float[N,3]`-style text of a value's inferred type; `-` when it has none.
fn ty(m: &Model, v: ValueId) -> String {
    let g = m.graph.as_ref().expect("graph");
    g.value(v).ty().map_or_else(|| "-".into(), common::type_text)
}

/// Axes as an input (opset 18) or an attribute (opset 11), keepdims on and off: the reduced
/// axes become 1 or go, and the symbolic ones that are not reduced stay.
#[test]
fn reductions_keep_or_drop_axes_by_version() {
    let mut g = G::new(18);
    let x = g.input("x", DataType::FLOAT, &["N", "C", "H"]);
    let axes = g.ints("axes", vec![1], vec![-2]);
    let kept = g.node("ReduceMean", &[Some(x), Some(axes)], 1, vec![])[0];
    let dropped = g.node("ReduceL2", &[Some(x), Some(axes)], 1, vec![("keepdims", int(0))])[0];
    let all = g.node("ReduceMax", &[Some(x)], 1, vec![("keepdims", int(0))])[0];
    let noop = g.node("ReduceLogSumExp", &[Some(x)], 1, vec![("noop_with_empty_axes", int(1))])[0];
    let unknown_axes = g.ints_input("ax", 2);
    let open =
        g.node("ReduceSum", &[Some(x), Some(unknown_axes)], 1, vec![("keepdims", int(0))])[0];
    let (m, d) = g.infer();
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(ty(&m, kept), "float[N,1,H]");
    assert_eq!(ty(&m, dropped), "float[N,H]");
    assert_eq!(ty(&m, all), "float[]");
    assert_eq!(ty(&m, noop), "float[N,C,H]");
    // Two axes of three are reduced, which ones is not known: only the rank is.
    assert_eq!(ty(&m, open), "float[?]");

    let mut g = G::new(11);
    let x = g.input("x", DataType::FLOAT, &["N", "C", "H"]);
    let y = g.node("ReduceSumSquare", &[Some(x)], 1, vec![("axes", ints(&[0, 2]))])[0];
    let s =
        g.node("ReduceSum", &[Some(x)], 1, vec![("axes", ints(&[-1])), ("keepdims", int(0))])[0];
    let (m, _) = g.infer();
    assert_eq!(ty(&m, y), "float[1,C,1]");
    assert_eq!(ty(&m, s), "float[N,C]");
}

/// `ReduceProd` over a shape vector is the element count, symbolic included: `Reshape` to it
/// flattens `[N,3,4]` into `[12*N]`.
#[test]
fn reduce_prod_of_a_shape_is_the_element_count() {
    let mut g = G::new(18);
    let x = g.input("x", DataType::FLOAT, &["N", "3", "4"]);
    let s = g.node("Shape", &[Some(x)], 1, vec![])[0];
    let count = g.node("ReduceProd", &[Some(s)], 1, vec![("keepdims", int(1))])[0];
    let flat = g.node("Reshape", &[Some(x), Some(count)], 1, vec![])[0];
    // [2,N] holds N+N elements: the sum of the dims of [N,N].
    let sq = g.input("sq", DataType::FLOAT, &["N", "N"]);
    let y = g.input("y", DataType::FLOAT, &["2", "N"]);
    let ss = g.node("Shape", &[Some(sq)], 1, vec![])[0];
    let sum = g.node("ReduceSum", &[Some(ss)], 1, vec![])[0];
    let by_sum = g.node("Reshape", &[Some(y), Some(sum)], 1, vec![])[0];
    let (m, d) = g.infer();
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(ty(&m, count), "int64[1]");
    assert_eq!(ty(&m, flat), "float[12*N]");
    assert_eq!(ty(&m, by_sum), "float[2*N]");
}

#[test]
fn arg_reductions_give_int64_indices() {
    let mut g = G::new(13);
    let x = g.input("x", DataType::FLOAT, &["N", "C"]);
    let a = g.node("ArgMax", &[Some(x)], 1, vec![("axis", int(-1)), ("keepdims", int(0))])[0];
    let b = g.node("ArgMin", &[Some(x)], 1, vec![("select_last_index", int(1))])[0];
    let (m, _) = g.infer();
    assert_eq!(ty(&m, a), "int64[N]");
    assert_eq!(ty(&m, b), "int64[1,C]");
}

/// Split by sizes (input since 13), by `num_outputs` with the smaller last chunk (18), and in
/// equal parts of a symbolic length that divides exactly.
#[test]
fn split_sizes_by_version() {
    let mut g = G::new(18);
    let x = g.input("x", DataType::FLOAT, &["7", "2*T"]);
    let uneven = g.node("Split", &[Some(x)], 3, vec![("num_outputs", int(3))]);
    let halves = g.node("Split", &[Some(x)], 2, vec![("axis", int(1)), ("num_outputs", int(2))]);
    let sizes = g.ints("sizes", vec![2], vec![3, 4]);
    let given = g.node("Split", &[Some(x), Some(sizes)], 2, vec![]);
    let (m, d) = g.infer();
    assert!(d.is_empty(), "{d:?}");
    let got: Vec<String> = uneven.iter().map(|&v| ty(&m, v)).collect();
    assert_eq!(got, ["float[3,2*T]", "float[3,2*T]", "float[1,2*T]"]);
    assert_eq!(ty(&m, halves[1]), "float[7,T]");
    assert_eq!(ty(&m, given[1]), "float[4,2*T]");

    // Before opset 18 the parts must be equal: 7 in 3 parts is an error.
    let mut g = G::new(13);
    let x = g.input("x", DataType::FLOAT, &["7"]);
    let parts = g.node("Split", &[Some(x)], 3, vec![]);
    let (m, d) = g.infer();
    assert_eq!(ty(&m, parts[0]), "-");
    assert!(d.iter().any(|e| e.contains("equal parts")), "{d:?}");
}

/// Pads read from contents (opset 18 with `axes`, opset 2 from the attribute) add to symbolic
/// dims; negative pads crop.
#[test]
fn pad_adds_pads_to_the_padded_axes() {
    let mut g = G::new(18);
    let x = g.input("x", DataType::FLOAT, &["N", "C", "W"]);
    let pads = g.ints("pads", vec![2], vec![1, 2]);
    let axes = g.ints("axes", vec![1], vec![-1]);
    let y = g.node("Pad", &[Some(x), Some(pads), None, Some(axes)], 1, vec![])[0];
    let all = g.ints("all", vec![6], vec![0, 0, -1, 0, 0, 0]);
    let z = g.node("Pad", &[Some(x), Some(all)], 1, vec![("mode", string("reflect"))])[0];
    let (m, d) = g.infer();
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(ty(&m, y), "float[N,C,W+3]");
    assert_eq!(ty(&m, z), "float[N,C,W-1]");

    let mut g = G::new(2);
    let x = g.input("x", DataType::FLOAT, &["2", "3"]);
    let y = g.node("Pad", &[Some(x)], 1, vec![("pads", ints(&[1, 0, 1, 2]))])[0];
    let (m, _) = g.infer();
    assert_eq!(ty(&m, y), "float[4,5]");
}

/// OneHot's depth and TopK's k come from contents, also when a shape computed them.
#[test]
fn depth_and_k_from_contents() {
    let mut g = G::new(13);
    let x = g.input("x", DataType::FLOAT, &["N", "C"]);
    let idx = g.input("idx", DataType::INT64, &["N"]);
    let s = g.node("Shape", &[Some(x)], 1, vec![])[0];
    let one = g.ints("one", vec![], vec![1]);
    let c = g.node("Gather", &[Some(s), Some(one)], 1, vec![])[0];
    let values = g.floats("values", vec![2], vec![0.0, 1.0]);
    let hot = g.node("OneHot", &[Some(idx), Some(c), Some(values)], 1, vec![])[0];
    let first = g.node("OneHot", &[Some(idx), Some(c), Some(values)], 1, vec![("axis", int(0))])[0];
    let k = g.ints("k", vec![1], vec![2]);
    let top = g.node("TopK", &[Some(x), Some(k)], 2, vec![]);
    let (m, d) = g.infer();
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(ty(&m, hot), "float[N,C]");
    assert_eq!(ty(&m, first), "float[C,N]");
    assert_eq!(ty(&m, top[0]), "float[N,2]");
    assert_eq!(ty(&m, top[1]), "int64[N,2]");
}

/// GatherND: `indices[:-1] + data[batch_dims + k:]`; GatherElements: the indices' shape.
#[test]
fn gathers() {
    let mut g = G::new(13);
    let data = g.input("data", DataType::FLOAT, &["B", "5", "6", "7"]);
    let idx = g.input("idx", DataType::INT64, &["B", "K", "2"]);
    let nd = g.node("GatherND", &[Some(data), Some(idx)], 1, vec![("batch_dims", int(1))])[0];
    let ix = g.input("ix", DataType::INT64, &["B", "1", "6", "7"]);
    let el = g.node("GatherElements", &[Some(data), Some(ix)], 1, vec![("axis", int(1))])[0];
    let (m, d) = g.infer();
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(ty(&m, nd), "float[B,K,7]");
    assert_eq!(ty(&m, el), "float[B,1,6,7]");
}

/// Unique of one element has one unique value; NonZero of known contents is fully known.
#[test]
fn unique_and_nonzero_when_counts_are_certain() {
    let mut g = G::new(11);
    let x = g.input("x", DataType::INT64, &["1"]);
    let u = g.node("Unique", &[Some(x)], 4, vec![]);
    let y = g.input("y", DataType::FLOAT, &["N", "4"]);
    let v = g.node("Unique", &[Some(y)], 4, vec![("axis", int(1))]);
    let c = g.ints("c", vec![2, 3], vec![0, 5, 0, 1, 0, 2]);
    let nz = g.node("NonZero", &[Some(c)], 1, vec![])[0];
    let (m, _) = g.infer();
    let got: Vec<String> = u.iter().map(|&v| ty(&m, v)).collect();
    assert_eq!(got, ["int64[1]", "int64[1]", "int64[1]", "int64[1]"]);
    assert_eq!(ty(&m, v[0]), "float[N,?]");
    assert_eq!(ty(&m, v[2]), "int64[4]");
    assert_eq!(ty(&m, nz), "int64[2,3]");
}

/// The one-sided DFT of a symbolic even length `2*T` has `T+1` bins; STFT counts its frames.
#[test]
fn dft_and_stft_lengths() {
    let mut g = G::new(20);
    let x = g.input("x", DataType::FLOAT, &["B", "2*T", "1"]);
    let rfft = g.node("DFT", &[Some(x)], 1, vec![("onesided", int(1))])[0];
    let ax = g.ints("ax", vec![], vec![1]);
    let n = g.ints("n", vec![], vec![16]);
    let full = g.node("DFT", &[Some(x), Some(n), Some(ax)], 1, vec![])[0];
    let sig = g.input("sig", DataType::FLOAT, &["1", "128", "1"]);
    let step = g.ints("step", vec![], vec![8]);
    let win = g.input("win", DataType::FLOAT, &["16"]);
    let st = g.node("STFT", &[Some(sig), Some(step), Some(win)], 1, vec![])[0];
    let (m, d) = g.infer();
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(ty(&m, rfft), "float[B,T+1,2]");
    assert_eq!(ty(&m, full), "float[B,16,2]");
    assert_eq!(ty(&m, st), "float[1,15,9,2]");

    // Opset 17: the axis is an attribute (default 1).
    let mut g = G::new(17);
    let x = g.input("x", DataType::FLOAT, &["B", "10", "2"]);
    let y = g.node("DFT", &[Some(x)], 1, vec![("inverse", int(1))])[0];
    let (m, _) = g.infer();
    assert_eq!(ty(&m, y), "float[B,10,2]");
}

#[test]
fn windows_and_mel_matrix() {
    let mut g = G::new(17);
    let size = g.ints("size", vec![], vec![10]);
    let w = g.node("HannWindow", &[Some(size)], 1, vec![("output_datatype", int(11))])[0];
    let bins = g.ints("bins", vec![], vec![8]);
    let len = g.ints("len", vec![], vec![16]);
    let rate = g.ints("rate", vec![], vec![8192]);
    let lo = g.floats("lo", vec![], vec![0.0]);
    let hi = g.floats("hi", vec![], vec![4096.0]);
    let mel = g.node(
        "MelWeightMatrix",
        &[Some(bins), Some(len), Some(rate), Some(lo), Some(hi)],
        1,
        vec![],
    )[0];
    let (m, _) = g.infer();
    assert_eq!(ty(&m, w), "double[10]");
    assert_eq!(ty(&m, mel), "float[9,8]");
}

/// The quantized type comes from the zero point, else `output_dtype`, else uint8; the
/// dequantized one from the scale (opset 19+) or is float (before).
#[test]
fn quantization_types() {
    let mut g = G::new(21);
    let x = g.input("x", DataType::FLOAT16, &["N", "8"]);
    let scale = g.input("s", DataType::FLOAT16, &[]);
    let zp = g.input("zp", DataType::INT8, &[]);
    let q = g.node("QuantizeLinear", &[Some(x), Some(scale), Some(zp)], 1, vec![])[0];
    let q8 = g.node("QuantizeLinear", &[Some(x), Some(scale)], 1, vec![])[0];
    let q4 = g.node(
        "QuantizeLinear",
        &[Some(x), Some(scale)],
        1,
        vec![("output_dtype", int(i64::from(DataType::INT4.0)))],
    )[0];
    let dq = g.node("DequantizeLinear", &[Some(q), Some(scale), Some(zp)], 1, vec![])[0];
    let dy = g.node("DynamicQuantizeLinear", &[Some(x)], 3, vec![]);
    let (m, d) = g.infer();
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(ty(&m, q), "int8[N,8]");
    assert_eq!(ty(&m, q8), "uint8[N,8]");
    assert_eq!(ty(&m, q4), "int4[N,8]");
    assert_eq!(ty(&m, dq), "float16[N,8]");
    assert_eq!(ty(&m, dy[0]), "uint8[N,8]");
    assert_eq!(ty(&m, dy[1]), "float[]");

    let mut g = G::new(13);
    let x = g.input("x", DataType::UINT8, &["N"]);
    let scale = g.input("s", DataType::FLOAT, &[]);
    let dq = g.node("DequantizeLinear", &[Some(x), Some(scale)], 1, vec![])[0];
    let (m, _) = g.infer();
    assert_eq!(ty(&m, dq), "float[N]");
}

/// Losses: the target's shape without reduction, a scalar with; SCE's log_prob is the scores'.
#[test]
fn losses() {
    let mut g = G::new(13);
    let x = g.input("x", DataType::FLOAT, &["N", "C", "D"]);
    let t = g.input("t", DataType::INT64, &["N", "D"]);
    let none = g.node(
        "NegativeLogLikelihoodLoss",
        &[Some(x), Some(t)],
        1,
        vec![("reduction", string("none"))],
    )[0];
    let mean = g.node("NegativeLogLikelihoodLoss", &[Some(x), Some(t)], 1, vec![])[0];
    let sce = g.node(
        "SoftmaxCrossEntropyLoss",
        &[Some(x), Some(t)],
        2,
        vec![("reduction", string("sum"))],
    );
    let bad_t = g.input("bad", DataType::INT64, &["N"]);
    let _ = g.node("NegativeLogLikelihoodLoss", &[Some(x), Some(bad_t)], 1, vec![]);
    let (m, d) = g.infer();
    assert_eq!(ty(&m, none), "float[N,D]");
    assert_eq!(ty(&m, mean), "float[]");
    assert_eq!(ty(&m, sce[0]), "float[]");
    assert_eq!(ty(&m, sce[1]), "float[N,C,D]");
    assert_eq!(d.len(), 1, "a target of the wrong rank is reported: {d:?}");
}

#[test]
fn strings() {
    let mut g = G::new(20);
    let x = g.input("x", DataType::STRING, &["N"]);
    let sp = g.node("StringSplit", &[Some(x)], 2, vec![]);
    let sep = g.input("sep", DataType::STRING, &[]);
    let cat = g.node("StringConcat", &[Some(x), Some(sep)], 1, vec![])[0];
    let re = g.node("RegexFullMatch", &[Some(x)], 1, vec![("pattern", string("a+"))])[0];
    let rows = g.input("rows", DataType::INT64, &["B", "L"]);
    let tf = g.node(
        "TfIdfVectorizer",
        &[Some(rows)],
        1,
        vec![
            ("mode", string("TF")),
            ("min_gram_length", int(1)),
            ("max_gram_length", int(1)),
            ("max_skip_count", int(0)),
            ("ngram_counts", ints(&[0])),
            ("ngram_indexes", ints(&[0, 3, 1])),
            ("pool_int64s", ints(&[2, 3, 5])),
        ],
    )[0];
    let c = g.input("c", DataType::STRING, &["1", "4"]);
    let norm =
        g.node("StringNormalizer", &[Some(c)], 1, vec![("case_change_action", string("LOWER"))])[0];
    let (m, d) = g.infer();
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(ty(&m, sp[0]), "string[N,?]");
    assert_eq!(ty(&m, sp[1]), "int64[N]");
    assert_eq!(ty(&m, cat), "string[N]");
    assert_eq!(ty(&m, re), "bool[N]");
    assert_eq!(ty(&m, tf), "float[B,4]");
    // No stopwords: nothing is dropped.
    assert_eq!(ty(&m, norm), "string[1,4]");
}

/// Same-shaped outputs and generators: their element type from `dtype` or the input.
#[test]
fn shape_preserving_and_generators() {
    let mut g = G::new(22);
    let x = g.input("x", DataType::FLOAT, &["N", "M"]);
    let tri = g.node("Trilu", &[Some(x)], 1, vec![])[0];
    let eye = g.node("EyeLike", &[Some(x)], 1, vec![("dtype", int(7))])[0];
    let bern = g.node("Bernoulli", &[Some(x)], 1, vec![])[0];
    let rnd = g.node("RandomUniform", &[], 1, vec![("shape", ints(&[2, 3]))])[0];
    let mult = g.node("Multinomial", &[Some(x)], 1, vec![("sample_size", int(5))])[0];
    let sq = g.input("sq", DataType::DOUBLE, &["B", "3", "3"]);
    let det = g.node("Det", &[Some(sq)], 1, vec![])[0];
    let (m, d) = g.infer();
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(ty(&m, tri), "float[N,M]");
    assert_eq!(ty(&m, eye), "int64[N,M]");
    assert_eq!(ty(&m, bern), "float[N,M]");
    assert_eq!(ty(&m, rnd), "float[2,3]");
    assert_eq!(ty(&m, mult), "int32[N,5]");
    assert_eq!(ty(&m, det), "double[B]");
}

/// Compress with a known condition selects as many as it has true entries.
#[test]
fn compress_counts_a_known_condition() {
    let mut g = G::new(11);
    let x = g.input("x", DataType::FLOAT, &["N", "3"]);
    let mut t = Tensor::from_raw("cond", DataType::BOOL, vec![3], vec![1u8, 0, 1].into());
    t.name = Some("cond".into());
    let cond = g.g.add_initializer("cond", Initializer::Dense(t));
    let y = g.node("Compress", &[Some(x), Some(cond)], 1, vec![("axis", int(1))])[0];
    let flat = g.node("Compress", &[Some(x), Some(cond)], 1, vec![])[0];
    let (m, _) = g.infer();
    assert_eq!(ty(&m, y), "float[N,2]");
    // Flattened, the condition covers the first 3 of 3*N elements, which may be more.
    assert_eq!(ty(&m, flat), "float[?]");
}

/// Splitting a shape vector splits its contents: the halves of `Shape([N,C,H,W])` reshape a
/// tensor to `[N,C]`; `CumSum` of known sizes gives the running offsets.
#[test]
fn split_and_cumsum_carry_shape_contents() {
    let mut g = G::new(18);
    let x = g.input("x", DataType::FLOAT, &["N", "C", "H", "W"]);
    let s = g.node("Shape", &[Some(x)], 1, vec![])[0];
    let halves = g.node("Split", &[Some(s)], 2, vec![("num_outputs", int(2))]);
    let y = g.input("y", DataType::FLOAT, &["C", "N"]);
    let r = g.node("Reshape", &[Some(y), Some(halves[0])], 1, vec![])[0];
    let sizes = g.ints("sizes", vec![3], vec![2, 3, 4]);
    let zero = g.ints("zero", vec![], vec![0]);
    let offsets = g.node("CumSum", &[Some(sizes), Some(zero)], 1, vec![("exclusive", int(1))])[0];
    // The offsets [0, 2, 5] as a shape: rank 3 with a zero-sized first axis.
    let shaped = g.node("ConstantOfShape", &[Some(offsets)], 1, vec![])[0];
    let (m, d) = g.infer();
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(ty(&m, halves[1]), "int64[2]");
    assert_eq!(ty(&m, r), "float[N,C]");
    assert_eq!(ty(&m, shaped), "float[0,2,5]");
}

/// Pads that are not known leave the padded axes open and the others as they were.
#[test]
fn pad_with_unknown_pads_keeps_the_other_axes() {
    let mut g = G::new(18);
    let x = g.input("x", DataType::FLOAT, &["N", "C", "W"]);
    let pads = g.ints_input("pads", 2);
    let axes = g.ints("axes", vec![1], vec![2]);
    let y = g.node("Pad", &[Some(x), Some(pads), None, Some(axes)], 1, vec![])[0];
    let all = g.ints_input("all", 6);
    let z = g.node("Pad", &[Some(x), Some(all)], 1, vec![])[0];
    let (m, _) = g.infer();
    assert_eq!(ty(&m, y), "float[N,C,?]");
    assert_eq!(ty(&m, z), "float[?,?,?]");
}

/// Contents flow through NonZero and a partial ReduceSum: the indices of the non-zeros of
/// `[[0,5,0],[1,0,2]]` are `[[0,1,1],[1,0,2]]`, their column sums `[1,1,3]`, which as a shape
/// make a `[1,1,3]` tensor. A ReduceMax over rows of known integers is known too.
#[test]
fn nonzero_and_partial_reduce_contents() {
    let mut g = G::new(13);
    let c = g.ints("c", vec![2, 3], vec![0, 5, 0, 1, 0, 2]);
    let nz = g.node("NonZero", &[Some(c)], 1, vec![])[0];
    let axes = g.ints("axes", vec![1], vec![0]);
    let sums = g.node("ReduceSum", &[Some(nz), Some(axes)], 1, vec![("keepdims", int(0))])[0];
    let t = g.node("ConstantOfShape", &[Some(sums)], 1, vec![])[0];
    let mx =
        g.node("ReduceMax", &[Some(c)], 1, vec![("axes", ints(&[1])), ("keepdims", int(0))])[0];
    let row_max = g.node("ConstantOfShape", &[Some(mx)], 1, vec![])[0];
    let (m, d) = g.infer();
    assert_eq!(ty(&m, sums), "int64[3]");
    assert_eq!(ty(&m, t), "float[1,1,3]");
    // The row maxima of the constant, [5, 2].
    assert_eq!(ty(&m, row_max), "float[5,2]");
    assert!(d.is_empty(), "{d:?}");
}

/// A shape vector concatenated from parts whose contents are unknown (but whose lengths are
/// known) still carries its known parts: `Concat(n, [4], m)` reshapes to `[?,4,?]`, as onnx's
/// data propagation gives (a 1-D tensor of known length is that many unknown numbers).
#[test]
fn concat_of_partly_unknown_shape_parts_keeps_the_known_ones() {
    let mut g = G::new(18);
    let y = g.input("y", DataType::FLOAT, &["a", "b", "c"]);
    let n = g.ints_input("n", 1);
    let four = g.ints("four", vec![1], vec![4]);
    let minus = g.ints("minus", vec![1], vec![-1]);
    let c = g.node("Concat", &[Some(n), Some(four), Some(n)], 1, vec![("axis", int(0))])[0];
    let r = g.node("Reshape", &[Some(y), Some(c)], 1, vec![])[0];
    // Unknown parts stay unknown: the -1 cannot be solved next to them.
    let c2 = g.node("Concat", &[Some(n), Some(minus)], 1, vec![("axis", int(0))])[0];
    let r2 = g.node("Reshape", &[Some(y), Some(c2)], 1, vec![])[0];
    // The known numbers also reach Expand.
    let x = g.input("x", DataType::FLOAT, &["1", "5"]);
    let e = g.node("Concat", &[Some(four), Some(n)], 1, vec![("axis", int(0))])[0];
    let ex = g.node("Expand", &[Some(x), Some(e)], 1, vec![])[0];
    let (m, d) = g.infer();
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(ty(&m, c), "int64[3]");
    assert_eq!(ty(&m, r), "float[?,4,?]");
    assert_eq!(ty(&m, r2), "float[?,?]");
    assert_eq!(ty(&m, ex), "float[4,5]");
}

/// Two unknown numbers are not known to be equal: `Equal` over the shapes of `[?,3]` and
/// `[?,3]` is `[?,1]`; a `Where` choosing by it between `[2,3]` and `[7,3]` gives `[?,3]`
/// (where the condition is unknown, only what both sides agree on is known).
#[test]
fn equal_of_unknown_shape_entries_is_unknown() {
    let mut g = G::new(18);
    let unknown_by_3 = || Type::tensor(DataType::FLOAT, [DimValue::Unknown, DimValue::Known(3)]);
    let x = g.g.add_input("x", ValueInfo { ty: Some(unknown_by_3()), ..Default::default() });
    let y = g.g.add_input("y", ValueInfo { ty: Some(unknown_by_3()), ..Default::default() });
    let sx = g.node("Shape", &[Some(x)], 1, vec![])[0];
    let sy = g.node("Shape", &[Some(y)], 1, vec![])[0];
    let eq = g.node("Equal", &[Some(sx), Some(sy)], 1, vec![])[0];
    let a = g.ints("a", vec![2], vec![2, 3]);
    let b = g.ints("b", vec![2], vec![7, 3]);
    let w = g.node("Where", &[Some(eq), Some(a), Some(b)], 1, vec![])[0];
    let z = g.node("ConstantOfShape", &[Some(w)], 1, vec![])[0];
    let (m, d) = g.infer();
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(ty(&m, z), "float[?,3]");
}
