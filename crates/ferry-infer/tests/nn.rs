//! Inference of the neural-network operators (matrix products, convolutions, pooling,
//! normalizations, attention, recurrent layers, image ops) on tiny graphs built with the IR
//! API, with symbolic dimensions: the window arithmetic must keep `H` as an expression
//! (`floor((H-1)/2)+1`, exactly `H` where padding preserves it), batch dimensions must
//! broadcast, and numbers must come out as ONNX computes them.

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

    fn x(&mut self, name: &str, dims: &[&str]) -> ValueId {
        self.input(name, DataType::FLOAT, dims)
    }

    /// An int64 initializer.
    fn ints(&mut self, name: &str, v: Vec<i64>) -> ValueId {
        let mut t =
            Tensor::from_raw(name, DataType::INT64, vec![v.len() as i64], Default::default());
        t.data = TensorData::Int64(v);
        self.g.add_initializer(name, Initializer::Dense(t))
    }

    fn floats(&mut self, name: &str, v: Vec<f32>) -> ValueId {
        let mut t =
            Tensor::from_raw(name, DataType::FLOAT, vec![v.len() as i64], Default::default());
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
        self.node_in("", op, inputs, n_out, attrs)
    }

    fn node_in(
        &mut self,
        domain: &str,
        op: &str,
        inputs: &[Option<ValueId>],
        n_out: usize,
        attrs: Vec<(&str, AttrValue)>,
    ) -> Vec<ValueId> {
        let mut node = Node::new(op);
        if !domain.is_empty() {
            node.domain = Some(domain.to_string());
        }
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
            opset_imports: vec![
                OpsetImport { domain: None, version: Some(self.opset) },
                OpsetImport { domain: Some("ai.onnx.preview".into()), version: Some(1) },
            ],
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

/// The element type's name as `ty` prints it.
fn f32s() -> String {
    DataType::FLOAT.to_string()
}

/// Stride 2 with padding 1 and a 3x3 kernel over a symbolic image keeps the floor expression;
/// stride 1 with "same" explicit padding gives back exactly `H`; `SAME_UPPER` with stride 2 is
/// `ceil(H/2)`; numbers follow ONNX (dilation widens the kernel).
#[test]
fn conv_output_sizes_are_expressions_over_symbols() {
    let mut g = G::new(17);
    let x = g.x("x", &["N", "3", "H", "W"]);
    let w = g.x("w", &["16", "3", "3", "3"]);
    let strided = g.node(
        "Conv",
        &[Some(x), Some(w)],
        1,
        vec![("strides", ints(&[2, 2])), ("pads", ints(&[1, 1, 1, 1]))],
    )[0];
    let same = g.node("Conv", &[Some(x), Some(w)], 1, vec![("pads", ints(&[1, 1, 1, 1]))])[0];
    let auto = g.node(
        "Conv",
        &[Some(x), Some(w)],
        1,
        vec![("auto_pad", string("SAME_UPPER")), ("strides", ints(&[2, 2]))],
    )[0];
    let fixed = g.x("fixed", &["1", "3", "10", "9"]);
    let dilated = g.node(
        "Conv",
        &[Some(fixed), Some(w)],
        1,
        vec![("dilations", ints(&[2, 3])), ("strides", ints(&[1, 2]))],
    )[0];
    let (m, d) = g.infer();
    assert!(d.is_empty(), "{d:?}");
    let f = f32s();
    assert_eq!(ty(&m, strided), format!("{f}[N,16,floor((H-1)/2)+1,floor((W-1)/2)+1]"));
    assert_eq!(ty(&m, same), format!("{f}[N,16,H,W]"));
    assert_eq!(ty(&m, auto), format!("{f}[N,16,ceil((H)/2),ceil((W)/2)]"));
    // Effective kernels 5 and 7: (10-5)/1+1 = 6, (9-7)/2+1 = 2.
    assert_eq!(ty(&m, dilated), format!("{f}[1,16,6,2]"));
}

/// A weight whose input channels contradict nothing still fixes the output channels; a
/// weight of a different rank than the input is reported.
#[test]
fn conv_rejects_a_weight_of_another_rank() {
    let mut g = G::new(17);
    let x = g.x("x", &["N", "3", "H", "W"]);
    let w = g.x("w", &["16", "3", "3"]);
    let y = g.node("Conv", &[Some(x), Some(w)], 1, vec![("strides", ints(&[2, 2]))])[0];
    let (m, d) = g.infer();
    assert_eq!(ty(&m, y), "-");
    assert_eq!(d.len(), 1, "{d:?}");
    assert!(d[0].contains("differ in rank"), "{d:?}");
}

/// The transposed convolution grows the image: `(H-1)*2 + 3 - 2 + 1 = 2*H`; its channels are
/// the weight's second dimension times `group` (4 groups: 8, one group: 2); `output_shape`
/// wins over the formula; `SAME` padding makes it `in * stride`.
#[test]
fn conv_transpose_doubles_symbolic_sizes() {
    let mut g = G::new(17);
    let x = g.x("x", &["N", "8", "H", "W"]);
    let w = g.x("w", &["8", "2", "3", "3"]);
    let up = g.node(
        "ConvTranspose",
        &[Some(x), Some(w)],
        1,
        vec![
            ("strides", ints(&[2, 2])),
            ("pads", ints(&[1, 1, 1, 1])),
            ("output_padding", ints(&[1, 1])),
            ("group", int(4)),
        ],
    )[0];
    let shaped = g.node(
        "ConvTranspose",
        &[Some(x), Some(w)],
        1,
        vec![("strides", ints(&[3, 2])), ("output_shape", ints(&[10, 8]))],
    )[0];
    // SAME is `in * stride` even where the kernel is narrower than the stride.
    let narrow = g.x("narrow", &["8", "2", "2", "1"]);
    let same = g.node(
        "ConvTranspose",
        &[Some(x), Some(narrow)],
        1,
        vec![("strides", ints(&[3, 2])), ("auto_pad", string("SAME_UPPER"))],
    )[0];
    let (m, d) = g.infer();
    assert!(d.is_empty(), "{d:?}");
    let f = f32s();
    assert_eq!(ty(&m, up), format!("{f}[N,8,2*H,2*W]"));
    assert_eq!(ty(&m, same), format!("{f}[N,2,3*H,2*W]"));
    assert_eq!(ty(&m, shaped), format!("{f}[N,2,10,8]"));
}

/// Ceil mode adds the partial last window (32 -> 16 instead of 15), except where that window
/// would start in the end padding; `Indices` are int64 of the same shape.
#[test]
fn max_pool_ceil_mode_and_indices() {
    let mut g = G::new(12);
    let x = g.x("x", &["1", "C", "32", "H"]);
    let floor = g.node(
        "MaxPool",
        &[Some(x)],
        2,
        vec![("kernel_shape", ints(&[3, 3])), ("strides", ints(&[2, 2]))],
    );
    let ceil = g.node(
        "MaxPool",
        &[Some(x)],
        1,
        vec![("kernel_shape", ints(&[3, 3])), ("strides", ints(&[2, 1])), ("ceil_mode", int(1))],
    )[0];
    // 5 + 0 + 2 - 2 = 5 -> ceil(5/3)+1 = 3, but the third window starts at 6 >= 5: 2.
    let y = g.x("y", &["1", "1", "5"]);
    let edge = g.node(
        "AveragePool",
        &[Some(y)],
        1,
        vec![
            ("kernel_shape", ints(&[2])),
            ("strides", ints(&[3])),
            ("pads", ints(&[0, 2])),
            ("ceil_mode", int(1)),
        ],
    )[0];
    let global = g.node("GlobalAveragePool", &[Some(x)], 1, vec![])[0];
    let (m, d) = g.infer();
    assert!(d.is_empty(), "{d:?}");
    let f = f32s();
    assert_eq!(ty(&m, floor[0]), format!("{f}[1,C,15,floor((H-3)/2)+1]"));
    assert_eq!(ty(&m, floor[1]), "int64[1,C,15,floor((H-3)/2)+1]");
    assert_eq!(ty(&m, ceil), format!("{f}[1,C,16,H-2]"));
    assert_eq!(ty(&m, edge), format!("{f}[1,1,2]"));
    assert_eq!(ty(&m, global), format!("{f}[1,C,1,1]"));
}

/// Batch dimensions broadcast (`[B,1,M,K] @ [H,K,N]`), 1-D operands lose their axis, and
/// inner dimensions that differ are reported.
#[test]
fn matmul_broadcasts_batch_dimensions() {
    let mut g = G::new(17);
    let a = g.x("a", &["B", "1", "M", "64"]);
    let b = g.x("b", &["H", "64", "N"]);
    let v = g.x("v", &["64"]);
    let bad = g.x("bad", &["32", "N"]);
    let batched = g.node("MatMul", &[Some(a), Some(b)], 1, vec![])[0];
    let vec_mat = g.node("MatMul", &[Some(v), Some(b)], 1, vec![])[0];
    let mat_vec = g.node("MatMul", &[Some(a), Some(v)], 1, vec![])[0];
    let dot = g.node("MatMul", &[Some(v), Some(v)], 1, vec![])[0];
    let wrong = g.node("MatMul", &[Some(a), Some(bad)], 1, vec![])[0];
    let (m, d) = g.infer();
    let f = f32s();
    assert_eq!(ty(&m, batched), format!("{f}[B,H,M,N]"));
    assert_eq!(ty(&m, vec_mat), format!("{f}[H,N]"));
    assert_eq!(ty(&m, mat_vec), format!("{f}[B,1,M]"));
    assert_eq!(ty(&m, dot), format!("{f}[]"));
    assert_eq!(ty(&m, wrong), "-");
    assert_eq!(d.len(), 1, "{d:?}");
    assert!(d[0].contains("inner dimensions"), "{d:?}");
}

/// `Gemm` transposes before multiplying; the integer forms produce int32 and the quantized
/// one takes its output type from `y_zero_point`.
#[test]
fn gemm_and_integer_products() {
    let mut g = G::new(21);
    let a = g.x("a", &["K", "M"]);
    let b = g.x("b", &["N", "K"]);
    let y = g.node("Gemm", &[Some(a), Some(b)], 1, vec![("transA", int(1)), ("transB", int(1))])[0];
    let qa = g.input("qa", DataType::UINT8, &["S", "4", "8"]);
    let qb = g.input("qb", DataType::UINT8, &["8", "3"]);
    let zp = g.input("zp", DataType::INT8, &[]);
    let sc = g.x("sc", &[]);
    let i32s = g.node("MatMulInteger", &[Some(qa), Some(qb)], 1, vec![])[0];
    let q = g.node(
        "QLinearMatMul",
        &[Some(qa), Some(sc), Some(zp), Some(qb), Some(sc), Some(zp), Some(sc), Some(zp)],
        1,
        vec![],
    )[0];
    let (m, d) = g.infer();
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(ty(&m, y), format!("{}[M,N]", f32s()));
    assert_eq!(ty(&m, i32s), "int32[S,4,3]");
    assert_eq!(ty(&m, q), "int8[S,4,3]");
}

/// Explicit and implicit outputs, repeated labels (a diagonal), and ellipses that broadcast.
#[test]
fn einsum_equations() {
    let mut g = G::new(12);
    let a = g.x("a", &["B", "I", "J"]);
    let b = g.x("b", &["B", "J", "K"]);
    let sq = g.x("sq", &["B", "5", "5"]);
    let e1 = g.x("e1", &["2", "1", "I", "J"]);
    let e2 = g.x("e2", &["T", "J", "K"]);
    let eq = |s: &str| ("equation", string(s));
    let bmm = g.node("Einsum", &[Some(a), Some(b)], 1, vec![eq("bij, bjk -> bik")])[0];
    let implicit = g.node("Einsum", &[Some(a), Some(b)], 1, vec![eq("bij,bjk")])[0];
    let diag = g.node("Einsum", &[Some(sq)], 1, vec![eq("bii->bi")])[0];
    let ell = g.node("Einsum", &[Some(e1), Some(e2)], 1, vec![eq("...ij,...jk->...ik")])[0];
    let (m, d) = g.infer();
    assert!(d.is_empty(), "{d:?}");
    let f = f32s();
    assert_eq!(ty(&m, bmm), format!("{f}[B,I,K]"));
    // Labels appearing once, alphabetically: i and k (b and j are summed).
    assert_eq!(ty(&m, implicit), format!("{f}[I,K]"));
    assert_eq!(ty(&m, diag), format!("{f}[B,5]"));
    assert_eq!(ty(&m, ell), format!("{f}[2,T,I,K]"));
}

/// Packed 3-D inputs are unpacked by the head counts; the caches grow by the past length and
/// the QK output spans the whole sequence.
#[test]
fn attention_with_packed_heads_and_cache() {
    let mut g = G::new(24);
    let q = g.x("q", &["B", "S", "64"]);
    let k = g.x("k", &["B", "S", "32"]);
    let v = g.x("v", &["B", "S", "48"]);
    let pk = g.x("pk", &["B", "2", "P", "16"]);
    let pv = g.x("pv", &["B", "2", "P", "24"]);
    let outs = g.node(
        "Attention",
        &[Some(q), Some(k), Some(v), None, Some(pk), Some(pv)],
        4,
        vec![("q_num_heads", int(4)), ("kv_num_heads", int(2))],
    );
    let q4 = g.x("q4", &["B", "8", "L", "16"]);
    let k4 = g.x("k4", &["B", "8", "S", "16"]);
    let v4 = g.x("v4", &["B", "8", "S", "32"]);
    let flex =
        g.node_in("ai.onnx.preview", "FlexAttention", &[Some(q4), Some(k4), Some(v4)], 1, vec![])
            [0];
    let (m, d) = g.infer();
    assert!(d.is_empty(), "{d:?}");
    let f = f32s();
    assert_eq!(ty(&m, outs[0]), format!("{f}[B,S,96]"));
    assert_eq!(ty(&m, outs[1]), format!("{f}[B,2,P+S,16]"));
    assert_eq!(ty(&m, outs[2]), format!("{f}[B,2,P+S,24]"));
    assert_eq!(ty(&m, outs[3]), format!("{f}[B,4,S,P+S]"));
    assert_eq!(ty(&m, flex), format!("{f}[B,8,L,32]"));
}

/// A packed hidden size that the head count does not divide is an invalid node.
#[test]
fn attention_rejects_indivisible_heads() {
    let mut g = G::new(23);
    let q = g.x("q", &["B", "S", "30"]);
    let y = g.node(
        "Attention",
        &[Some(q), Some(q), Some(q)],
        1,
        vec![("q_num_heads", int(4)), ("kv_num_heads", int(4))],
    )[0];
    let (m, d) = g.infer();
    assert_eq!(ty(&m, y), "-");
    assert_eq!(d.len(), 1, "{d:?}");
    assert!(d[0].contains("not a multiple"), "{d:?}");
}

/// The recurrent state of `LinearAttention` is per key/value head; the carry of
/// `CausalConvWithState` is one shorter than the kernel.
#[test]
fn linear_attention_and_causal_conv_states() {
    let mut g = G::new(27);
    let q = g.x("q", &["B", "T", "32"]);
    let k = g.x("k", &["B", "T", "16"]);
    let v = g.x("v", &["B", "T", "24"]);
    let la = g.node(
        "LinearAttention",
        &[Some(q), Some(k), Some(v)],
        2,
        vec![("q_num_heads", int(4)), ("kv_num_heads", int(2)), ("update_rule", string("linear"))],
    );
    let x = g.x("x", &["B", "C", "L"]);
    let w = g.x("w", &["C", "1", "4"]);
    let cc = g.node("CausalConvWithState", &[Some(x), Some(w)], 2, vec![])[0..2].to_vec();
    let (m, d) = g.infer();
    assert!(d.is_empty(), "{d:?}");
    let f = f32s();
    assert_eq!(ty(&m, la[0]), format!("{f}[B,T,48]"));
    assert_eq!(ty(&m, la[1]), format!("{f}[B,2,8,12]"));
    assert_eq!(ty(&m, cc[0]), format!("{f}[B,C,L]"));
    assert_eq!(ty(&m, cc[1]), format!("{f}[B,C,3]"));
}

/// Batch-first layout moves the batch to the front of every output; bidirectional makes two
/// directions; the hidden size comes from the attribute.
#[test]
fn lstm_layouts() {
    let mut g = G::new(14);
    let x = g.x("x", &["B", "T", "10"]);
    let w = g.x("w", &["2", "28", "10"]);
    let r = g.x("r", &["2", "28", "7"]);
    let outs = g.node(
        "LSTM",
        &[Some(x), Some(w), Some(r)],
        3,
        vec![("hidden_size", int(7)), ("layout", int(1)), ("direction", string("bidirectional"))],
    );
    let xs = g.x("xs", &["T", "B", "10"]);
    let w1 = g.x("w1", &["1", "21", "10"]);
    let r1 = g.x("r1", &["1", "21", "7"]);
    // No hidden_size attribute: taken from R's last dimension.
    let gru = g.node("GRU", &[Some(xs), Some(w1), Some(r1)], 2, vec![]);
    let (m, d) = g.infer();
    assert!(d.is_empty(), "{d:?}");
    let f = f32s();
    assert_eq!(ty(&m, outs[0]), format!("{f}[B,T,2,7]"));
    assert_eq!(ty(&m, outs[1]), format!("{f}[B,2,7]"));
    assert_eq!(ty(&m, outs[2]), format!("{f}[B,2,7]"));
    assert_eq!(ty(&m, gru[0]), format!("{f}[T,1,B,7]"));
    assert_eq!(ty(&m, gru[1]), format!("{f}[1,B,7]"));
}

/// `LayerNormalization`'s statistics keep the axes before `axis` and are 1 after, typed by
/// `stash_type`; `BatchNormalization` in training mode returns `[C]` statistics.
#[test]
fn normalization_statistics() {
    let mut g = G::new(17);
    let x = g.input("x", DataType::FLOAT16, &["N", "S", "D"]);
    let scale = g.input("scale", DataType::FLOAT16, &["D"]);
    let ln = g.node("LayerNormalization", &[Some(x), Some(scale)], 3, vec![("axis", int(-1))]);
    let img = g.x("img", &["N", "C", "H", "W"]);
    let c = g.x("c", &["C"]);
    let bn = g.node(
        "BatchNormalization",
        &[Some(img), Some(c), Some(c), Some(c), Some(c)],
        3,
        vec![("training_mode", int(1))],
    );
    let (m, d) = g.infer();
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(ty(&m, ln[0]), "float16[N,S,D]");
    assert_eq!(ty(&m, ln[1]), format!("{}[N,S,1]", f32s()));
    assert_eq!(ty(&m, ln[2]), format!("{}[N,S,1]", f32s()));
    assert_eq!(ty(&m, bn[0]), format!("{}[N,C,H,W]", f32s()));
    assert_eq!(ty(&m, bn[1]), format!("{}[C]", f32s()));
}

/// Constant scales multiply symbolic sizes when whole (`2*H`) and are computed in single
/// precision for numbers; sizes computed by `Shape` arithmetic flow in; `axes` restricts
/// which dimensions change; unknown scales leave the changed dimensions unknown.
#[test]
fn resize_by_scales_and_sizes() {
    let mut g = G::new(19);
    let x = g.x("x", &["N", "3", "H", "5"]);
    let scales = g.floats("scales", vec![1.0, 1.0, 2.0, 0.6]);
    let by_scale = g.node("Resize", &[Some(x), None, Some(scales)], 1, vec![])[0];
    let like = g.x("like", &["M", "K"]);
    let shape = g.node("Shape", &[Some(like)], 1, vec![])[0];
    let by_size =
        g.node("Resize", &[Some(x), None, None, Some(shape)], 1, vec![("axes", ints(&[3, 2]))])[0];
    let runtime = g.x("runtime", &["4"]);
    let open = g.node("Resize", &[Some(x), None, Some(runtime)], 1, vec![])[0];
    let (m, d) = g.infer();
    assert!(d.is_empty(), "{d:?}");
    let f = f32s();
    assert_eq!(ty(&m, by_scale), format!("{f}[N,3,2*H,3]"));
    assert_eq!(ty(&m, by_size), format!("{f}[N,3,K,M]"));
    assert_eq!(ty(&m, open), format!("{f}[?,?,?,?]"));
}

/// `keep_aspect_ratio_policy` rescales all resized axes by one factor: for a 4x4 input and
/// sizes 1x3, `not_larger` takes 1/4 (-> 1x1) and `not_smaller` 3/4 (-> 3x3).
#[test]
fn resize_keeps_aspect_ratio() {
    let mut g = G::new(18);
    let x = g.x("x", &["1", "1", "4", "4"]);
    let sizes = g.ints("sizes", vec![1, 3]);
    let attrs = |p: &str| vec![("axes", ints(&[2, 3])), ("keep_aspect_ratio_policy", string(p))];
    let small = g.node("Resize", &[Some(x), None, None, Some(sizes)], 1, attrs("not_larger"))[0];
    let large = g.node("Resize", &[Some(x), None, None, Some(sizes)], 1, attrs("not_smaller"))[0];
    let (m, d) = g.infer();
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(ty(&m, small), format!("{}[1,1,1,1]", f32s()));
    assert_eq!(ty(&m, large), format!("{}[1,1,3,3]", f32s()));
}

/// Block rearrangements trade channels for space exactly, symbols included.
#[test]
fn depth_and_space_blocks() {
    let mut g = G::new(13);
    let x = g.x("x", &["N", "12", "H", "W"]);
    let d2s = g.node("DepthToSpace", &[Some(x)], 1, vec![("blocksize", int(2))])[0];
    let s2d = g.node("SpaceToDepth", &[Some(d2s)], 1, vec![("blocksize", int(2))])[0];
    let grid = g.x("grid", &["N", "Ho", "Wo", "2"]);
    let gs = g.node("GridSample", &[Some(x), Some(grid)], 1, vec![])[0];
    let (m, d) = g.infer();
    assert!(d.is_empty(), "{d:?}");
    let f = f32s();
    assert_eq!(ty(&m, d2s), format!("{f}[N,3,2*H,2*W]"));
    assert_eq!(ty(&m, s2d), format!("{f}[N,12,H,W]"));
    assert_eq!(ty(&m, gs), format!("{f}[N,12,Ho,Wo]"));
}
