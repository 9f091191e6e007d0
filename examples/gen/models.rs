//! The model families: a transformer encoder, a residual CNN and a weight-heavy MatMul chain.

use crate::builder::{Builder, Fill, Synth, float, int, ints};
use ferry::ir::{DataType, DimValue, Type, ValueId, ValueInfo};

/// Shape of a generated transformer encoder.
#[derive(Clone, Copy, Debug)]
pub struct TransformerSpec {
    pub layers: usize,
    pub hidden: i64,
    pub heads: i64,
    pub ffn: i64,
}

impl TransformerSpec {
    pub fn new(layers: usize) -> TransformerSpec {
        TransformerSpec { layers, hidden: 256, heads: 4, ffn: 1024 }
    }
}

fn float_tensor(dims: impl IntoIterator<Item = DimValue>) -> ValueInfo {
    ValueInfo { ty: Some(Type::tensor(DataType::FLOAT, dims)), ..Default::default() }
}

fn sym(s: &str) -> DimValue {
    DimValue::Symbol(s.into())
}

/// Names the graph output `name` and declares its type.
fn set_output(b: &mut Builder, v: ValueId, name: &str, info: ValueInfo) {
    let value = b.graph.value_mut(v);
    value.name = name.to_string();
    value.info = info;
    b.graph.add_output(v);
}

/// Layer normalization over the last axis in the decomposed form older PyTorch exports use
/// (11 nodes).
fn layer_norm(b: &mut Builder, scope: &str, param: &str, x: ValueId, hidden: i64) -> ValueId {
    let mean = b.op(scope, "ReduceMean", &[x], vec![ints("axes", &[-1]), int("keepdims", 1)]);
    let d = b.op(scope, "Sub", &[x, mean], vec![]);
    let two = b.const_f32(scope, 2.0);
    let sq = b.op(scope, "Pow", &[d, two], vec![]);
    let var = b.op(scope, "ReduceMean", &[sq], vec![ints("axes", &[-1]), int("keepdims", 1)]);
    let eps = b.const_f32(scope, 1e-5);
    let ve = b.op(scope, "Add", &[var, eps], vec![]);
    let sd = b.op(scope, "Sqrt", &[ve], vec![]);
    let n = b.op(scope, "Div", &[d, sd], vec![]);
    let gamma = b.weight(&format!("{param}.weight"), &[hidden], Fill::Const(1.0));
    let beta = b.weight(&format!("{param}.bias"), &[hidden], Fill::Const(0.0));
    let m = b.op(scope, "Mul", &[n, gamma], vec![]);
    b.op(scope, "Add", &[m, beta], vec![])
}

/// Constants shared by the shape arithmetic of one layer.
struct ShapeConsts {
    idx0: ValueId,
    idx1: ValueId,
    axes0: ValueId,
}

/// `x.size(i)` as a 1-element int64 tensor: Shape, Gather, Unsqueeze.
fn dim(b: &mut Builder, scope: &str, x: ValueId, idx: ValueId, c: &ShapeConsts) -> ValueId {
    let s = b.op(scope, "Shape", &[x], vec![]);
    let g = b.op(scope, "Gather", &[s, idx], vec![int("axis", 0)]);
    b.op(scope, "Unsqueeze", &[g, c.axes0], vec![])
}

/// Input projection and split into heads (13 nodes): `[N,S,H]` to `[N,heads,S,hd]` (or
/// `[N,heads,hd,S]` with `perm` `[0,2,3,1]`, for keys).
#[allow(clippy::too_many_arguments)]
fn project_heads(
    b: &mut Builder,
    scope: &str,
    param: &str,
    x: ValueId,
    spec: &TransformerSpec,
    c: &ShapeConsts,
    perm: &[i64],
) -> ValueId {
    let t = b.linear(scope, param, x, spec.hidden, spec.hidden, true);
    let n = dim(b, scope, t, c.idx0, c);
    let s = dim(b, scope, t, c.idx1, c);
    let heads = b.const_i64(scope, &[1], &[spec.heads]);
    let hd = b.const_i64(scope, &[1], &[spec.hidden / spec.heads]);
    let shape = b.op(scope, "Concat", &[n, s, heads, hd], vec![int("axis", 0)]);
    let r = b.op(scope, "Reshape", &[t, shape], vec![]);
    b.op(scope, "Transpose", &[r], vec![ints("perm", perm)])
}

/// A pre-norm transformer encoder: 99 nodes per layer, plus a final layer norm (11 nodes).
/// Input `x: float[N,S,hidden]`, output `y` of the same type. Opset 17.
pub fn transformer(spec: &TransformerSpec, seed: u64) -> Synth {
    assert!(spec.heads > 0 && spec.hidden % spec.heads == 0, "hidden must divide into heads");
    let h = spec.hidden;
    let mut b = Builder::new(seed);
    let io = || float_tensor([sym("N"), sym("S"), DimValue::Known(h)]);
    let mut x = b.graph.add_input("x", io());
    for l in 0..spec.layers {
        let p = format!("/layers.{l}");
        let w = format!("layers.{l}");
        let c = ShapeConsts {
            idx0: b.const_i64(&p, &[], &[0]),
            idx1: b.const_i64(&p, &[], &[1]),
            axes0: b.const_i64(&p, &[1], &[0]),
        };
        // Attention block.
        let res = x;
        let hn = layer_norm(&mut b, &format!("{p}/ln1"), &format!("{w}.ln1"), x, h);
        let a = format!("{p}/attn");
        let q = project_heads(
            &mut b,
            &format!("{a}/q"),
            &format!("{w}.attn.q"),
            hn,
            spec,
            &c,
            &[0, 2, 1, 3],
        );
        let k = project_heads(
            &mut b,
            &format!("{a}/k"),
            &format!("{w}.attn.k"),
            hn,
            spec,
            &c,
            &[0, 2, 3, 1],
        );
        let v = project_heads(
            &mut b,
            &format!("{a}/v"),
            &format!("{w}.attn.v"),
            hn,
            spec,
            &c,
            &[0, 2, 1, 3],
        );
        // scale = sqrt(head_dim), computed from the shape as Hugging Face exports do.
        let qs = b.op(&a, "Shape", &[q], vec![]);
        let last = b.const_i64(&a, &[], &[-1]);
        let hd = b.op(&a, "Gather", &[qs, last], vec![int("axis", 0)]);
        let hdf = b.op(&a, "Cast", &[hd], vec![int("to", i64::from(DataType::FLOAT.0))]);
        let scale = b.op(&a, "Sqrt", &[hdf], vec![]);
        let scores = b.op(&a, "MatMul", &[q, k], vec![]);
        let scores = b.op(&a, "Div", &[scores, scale], vec![]);
        let probs = b.op(&a, "Softmax", &[scores], vec![int("axis", -1)]);
        let ctx = b.op(&a, "MatMul", &[probs, v], vec![]);
        let ctx = b.op(&a, "Transpose", &[ctx], vec![ints("perm", &[0, 2, 1, 3])]);
        let n = dim(&mut b, &a, ctx, c.idx0, &c);
        let s = dim(&mut b, &a, ctx, c.idx1, &c);
        let hc = b.const_i64(&a, &[1], &[h]);
        let shape = b.op(&a, "Concat", &[n, s, hc], vec![int("axis", 0)]);
        let ctx = b.op(&a, "Reshape", &[ctx, shape], vec![]);
        let o = b.linear(&format!("{a}/o"), &format!("{w}.attn.o"), ctx, h, h, true);
        x = b.op(&p, "Add", &[o, res], vec![]);
        // Feed-forward block with Gelu in its erf form.
        let res = x;
        let hn = layer_norm(&mut b, &format!("{p}/ln2"), &format!("{w}.ln2"), x, h);
        let f = format!("{p}/ffn");
        let up = b.linear(&format!("{f}/up"), &format!("{w}.ffn.up"), hn, h, spec.ffn, true);
        let g = format!("{f}/gelu");
        let r2 = b.const_f32(&g, std::f32::consts::SQRT_2);
        let t = b.op(&g, "Div", &[up, r2], vec![]);
        let t = b.op(&g, "Erf", &[t], vec![]);
        let one = b.const_f32(&g, 1.0);
        let t = b.op(&g, "Add", &[t, one], vec![]);
        let t = b.op(&g, "Mul", &[up, t], vec![]);
        let half = b.const_f32(&g, 0.5);
        let act = b.op(&g, "Mul", &[t, half], vec![]);
        let down = b.linear(&format!("{f}/down"), &format!("{w}.ffn.down"), act, spec.ffn, h, true);
        x = b.op(&p, "Add", &[down, res], vec![]);
    }
    let y = layer_norm(&mut b, "/ln_f", "ln_f", x, h);
    set_output(&mut b, y, "y", io());
    b.finish(&format!("transformer_L{}", spec.layers), 17)
}

/// Shape of a generated CNN.
#[derive(Clone, Copy, Debug)]
pub struct CnnSpec {
    pub blocks: usize,
    pub channels: i64,
    /// Height and width of the input image.
    pub size: i64,
    pub classes: i64,
}

impl CnnSpec {
    pub fn new(blocks: usize) -> CnnSpec {
        CnnSpec { blocks, channels: 16, size: 32, classes: 10 }
    }
}

/// 3x3 Conv (same padding, no bias) then BatchNormalization.
fn conv_bn(
    b: &mut Builder,
    scope: &str,
    param: &str,
    x: ValueId,
    c_in: i64,
    c_out: i64,
    gain: f32,
) -> ValueId {
    let scale = gain * (6.0 / (c_in * 9) as f32).sqrt();
    let w = b.weight(&format!("{param}.weight"), &[c_out, c_in, 3, 3], Fill::Uniform(scale));
    let conv_attrs =
        vec![ints("kernel_shape", &[3, 3]), ints("pads", &[1, 1, 1, 1]), ints("strides", &[1, 1])];
    let y = b.op(scope, "Conv", &[x, w], conv_attrs);
    let bn = format!("{param}.bn");
    let gamma = b.weight(&format!("{bn}.weight"), &[c_out], Fill::Const(1.0));
    let beta = b.weight(&format!("{bn}.bias"), &[c_out], Fill::Const(0.0));
    let mean = b.weight(&format!("{bn}.running_mean"), &[c_out], Fill::Const(0.0));
    let var = b.weight(&format!("{bn}.running_var"), &[c_out], Fill::Const(1.0));
    b.op(scope, "BatchNormalization", &[y, gamma, beta, mean, var], vec![float("epsilon", 1e-5)])
}

/// A ResNet-like CNN: a stem, then blocks alternating between plain (Conv, BatchNormalization,
/// Relu: 3 nodes) and residual (two Conv/BatchNormalization, Add, two Relu: 7 nodes), with a
/// MaxPool (3x3, stride 1) after every 16th block: about 5 nodes per block. Ends in
/// GlobalAveragePool, Flatten, Gemm. Input `x: float[N,3,size,size]`, output `logits:
/// float[N,classes]`. Opset 17.
pub fn cnn(spec: &CnnSpec, seed: u64) -> Synth {
    let c = spec.channels;
    let mut b = Builder::new(seed);
    let input = float_tensor([
        sym("N"),
        DimValue::Known(3),
        DimValue::Known(spec.size),
        DimValue::Known(spec.size),
    ]);
    let x = b.graph.add_input("x", input);
    let h = conv_bn(&mut b, "/stem", "stem", x, 3, c, 1.0);
    let mut x = b.op("/stem", "Relu", &[h], vec![]);
    for i in 0..spec.blocks {
        let p = format!("/blocks.{i}");
        let w = format!("blocks.{i}");
        let h = conv_bn(&mut b, &p, &format!("{w}.conv0"), x, c, c, 1.0);
        let h = b.op(&p, "Relu", &[h], vec![]);
        x = if i % 2 == 0 {
            h
        } else {
            // A small gain on the last conv keeps thousands of residual sums finite.
            let h = conv_bn(&mut b, &p, &format!("{w}.conv1"), h, c, c, 0.1);
            let s = b.op(&p, "Add", &[h, x], vec![]);
            b.op(&p, "Relu", &[s], vec![])
        };
        if i % 16 == 15 {
            let attrs = vec![
                ints("kernel_shape", &[3, 3]),
                ints("pads", &[1, 1, 1, 1]),
                ints("strides", &[1, 1]),
            ];
            x = b.op(&p, "MaxPool", &[x], attrs);
        }
    }
    let pooled = b.op("/head", "GlobalAveragePool", &[x], vec![]);
    let flat = b.op("/head", "Flatten", &[pooled], vec![int("axis", 1)]);
    let scale = (3.0 / c as f32).sqrt();
    let fc = b.weight("fc.weight", &[spec.classes, c], Fill::Uniform(scale));
    let bias = b.weight("fc.bias", &[spec.classes], Fill::Uniform(0.02));
    let logits = b.op("/head", "Gemm", &[flat, fc, bias], vec![int("transB", 1)]);
    set_output(&mut b, logits, "logits", float_tensor([sym("N"), DimValue::Known(spec.classes)]));
    b.finish(&format!("cnn_{}", spec.blocks), 17)
}

/// A chain of MatMul with square float32 `[dim, dim]` weights, as many as it takes to reach
/// `mbytes` MiB of weights. Input `x: float[N,dim]`, output `y: float[N,dim]`. Opset 17.
pub fn weights(mbytes: u64, dim: i64, seed: u64) -> Synth {
    let per = (dim * dim * 4) as u64;
    let count = (mbytes << 20).div_ceil(per).max(1);
    let mut b = Builder::new(seed);
    let io = || float_tensor([sym("N"), DimValue::Known(dim)]);
    let mut x = b.graph.add_input("x", io());
    for i in 0..count {
        x = b.linear(&format!("/fc{i}"), &format!("fc{i}"), x, dim, dim, false);
    }
    set_output(&mut b, x, "y", io());
    b.finish(&format!("matmul_chain_{count}x{dim}"), 17)
}
