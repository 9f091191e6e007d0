#!/usr/bin/env python3
"""Numeric check of ferry's fusion and merging passes (fuse_bn_into_conv,
fuse_matmul_add_into_gemm, fuse_add_bias_into_conv, fuse_mul_into_conv, fuse_add_bias_into_gemm,
fuse_mul_into_gemm, fuse_consecutive_squeezes/unsqueezes/reshapes/slices/concats,
eliminate_reshape_around_elementwise) with onnxruntime.

Builds small float32 models with onnx.helper and random weights (fixed seed): Conv+BN (with and
without a Conv bias, 1-D and 2-D, grouped and strided), ConvTranspose+BN (group 1, 2 and 3, with
and without bias), MatMul+Add (bias [N], [1,N], [M,N], bias first), Conv/ConvTranspose + a
per-channel Add or Mul (grouped, depthwise, single number, constant first), Gemm + Add (with and
without C, beta, transposes) and Gemm + Mul (one number, one per column), and chains of
Squeeze/Unsqueeze/Reshape/Slice/Concat (negative axes, opset 11 attributes), and a Reshape
there and back around element-wise nodes. Each is optimized with
`ferry optimize --passes <the pass>`; the script checks that the pass rewrote it (the fused op
count dropped) and that onnxruntime (graph optimizations off) gives the same outputs before and
after on random inputs within rtol 1e-4 / atol 1e-5.

Usage (onnx, onnxruntime, numpy; /work/shared/anchors/setup.sh prints a venv):
    python scripts/check_fusions_ort.py [--ferry target/release/ferry] [--keep DIR]
Exit status 1 when any case differs, is not rewritten, or `ferry optimize` fails.
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

RTOL, ATOL = 1e-4, 1e-5
OPSET = 17


def init(name, arr):
    return numpy_helper.from_array(np.asarray(arr, dtype=np.float32), name)


def model(nodes, inputs, outputs, inits):
    g = helper.make_graph(nodes, "g", inputs, outputs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)])
    m.ir_version = 8
    onnx.checker.check_model(m, full_check=True)
    return m


def out_info(name, rank):
    """A float output of known rank and unknown dims."""
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, [None] * rank)


def bn_params(rng, c, prefix="bn"):
    return [
        init(f"{prefix}_scale", rng.uniform(0.5, 2.0, c)),
        init(f"{prefix}_bias", rng.standard_normal(c)),
        init(f"{prefix}_mean", rng.standard_normal(c)),
        init(f"{prefix}_var", rng.uniform(0.1, 3.0, c)),
    ]


def conv_bn(rng, *, c_in, c_out, group, k, spatial, bias, stride=1):
    shape = [1, c_in] + [7] * spatial
    w = rng.standard_normal([c_out, c_in // group] + [k] * spatial)
    inits = [init("W", w)] + bn_params(rng, c_out)
    conv_in = ["X", "W"]
    if bias:
        inits.append(init("B", rng.standard_normal(c_out)))
        conv_in.append("B")
    nodes = [
        helper.make_node("Conv", conv_in, ["C"], group=group, strides=[stride] * spatial),
        helper.make_node(
            "BatchNormalization",
            ["C", "bn_scale", "bn_bias", "bn_mean", "bn_var"],
            ["Y"],
            epsilon=1e-3,
        ),
        helper.make_node("Relu", ["Y"], ["R"]),
    ]
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, shape)
    r = out_info("R", 2 + spatial)
    return model(nodes, [x], [r], inits), {"X": shape}


def convt_bn(rng, *, c_in, c_out, group, k, bias, stride=2, bn_output=True):
    shape = [1, c_in, 5, 6]
    w = rng.standard_normal([c_in, c_out // group, k, k])
    inits = [init("W", w)] + bn_params(rng, c_out)
    conv_in = ["X", "W"]
    if bias:
        inits.append(init("B", rng.standard_normal(c_out)))
        conv_in.append("B")
    nodes = [
        helper.make_node("ConvTranspose", conv_in, ["C"], group=group, strides=[stride, stride]),
        helper.make_node(
            "BatchNormalization", ["C", "bn_scale", "bn_bias", "bn_mean", "bn_var"], ["Y"]
        ),
    ]
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, shape)
    y = out_info("Y", 4)
    return model(nodes, [x], [y], inits), {"X": shape}


def matmul_add(rng, *, m, k, n, c_shape, bias_first=False):
    shape = [m, k]
    inits = [init("B", rng.standard_normal([k, n])), init("C", rng.standard_normal(c_shape))]
    add_in = ["C", "M"] if bias_first else ["M", "C"]
    nodes = [
        helper.make_node("MatMul", ["X", "B"], ["M"]),
        helper.make_node("Add", add_in, ["Y"]),
    ]
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, shape)
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [m, n])
    return model(nodes, [x], [y], inits), {"X": shape}


def conv_affine(rng, *, op, c_in, c_out, group, k, bias, const_shape, kind, const_first=False):
    """Conv/ConvTranspose followed by an Add ("add") or Mul ("mul") of a constant."""
    shape = [1, c_in, 6, 5]
    if op == "Conv":
        w = rng.standard_normal([c_out, c_in // group, k, k])
    else:
        w = rng.standard_normal([c_in, c_out // group, k, k])
    inits = [init("W", w), init("K", rng.uniform(0.5, 2.0, const_shape))]
    conv_in = ["X", "W"]
    if bias:
        inits.append(init("B", rng.standard_normal(c_out)))
        conv_in.append("B")
    binary = ["K", "C"] if const_first else ["C", "K"]
    nodes = [
        helper.make_node(op, conv_in, ["C"], group=group),
        helper.make_node("Add" if kind == "add" else "Mul", binary, ["Y"]),
    ]
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, shape)
    return model(nodes, [x], [out_info("Y", 4)], inits), {"X": shape}


def gemm_affine(rng, *, m, k, n, kind, const_shape, c_shape=None, trans_b=0, alpha=1.0, beta=1.0):
    """Gemm followed by an Add ("add") or Mul ("mul") of a constant."""
    b = rng.standard_normal([n, k] if trans_b else [k, n])
    inits = [init("B", b), init("K", rng.uniform(0.5, 2.0, const_shape))]
    gemm_in = ["X", "B"]
    if c_shape is not None:
        inits.append(init("C", rng.standard_normal(c_shape)))
        gemm_in.append("C")
    nodes = [
        helper.make_node("Gemm", gemm_in, ["G"], transB=trans_b, alpha=alpha, beta=beta),
        helper.make_node("Add" if kind == "add" else "Mul", ["G", "K"], ["Y"]),
    ]
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [m, k])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [m, n])
    return model(nodes, [x], [y], inits), {"X": [m, k]}


def ints(name, values):
    return numpy_helper.from_array(np.asarray(values, dtype=np.int64), name)


def chain(shape, nodes, inits, out_rank, opset=OPSET):
    """A chain of shape operations on X ending in Y (a Relu first, so no pass sees X's type)."""
    g = helper.make_graph(
        [helper.make_node("Relu", ["X"], ["X0"])] + nodes,
        "g",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, shape)],
        [out_info("Y", out_rank)],
        inits,
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8 if opset >= 13 else 6
    onnx.checker.check_model(m, full_check=True)
    return m, {"X": shape}


def matmul_add_inferred(rng, *, m, k, n):
    """MatMul of a Relu output (no declared type: its rank comes from inference) plus a bias."""
    inits = [init("B", rng.standard_normal([k, n])), init("C", rng.standard_normal([n]))]
    nodes = [
        helper.make_node("Relu", ["X"], ["R"]),
        helper.make_node("MatMul", ["R", "B"], ["M"]),
        helper.make_node("Add", ["M", "C"], ["Y"]),
    ]
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [m, k])
    return model(nodes, [x], [out_info("Y", 2)], inits), {"X": [m, k]}


def cases(rng):
    bn = "fuse_bn_into_conv"
    gemm = "fuse_matmul_add_into_gemm"
    yield "conv2d+bn", bn, "BatchNormalization", conv_bn(
        rng, c_in=3, c_out=8, group=1, k=3, spatial=2, bias=True
    )
    yield "conv2d(no bias)+bn", bn, "BatchNormalization", conv_bn(
        rng, c_in=4, c_out=6, group=1, k=3, spatial=2, bias=False, stride=2
    )
    yield "conv2d(group 2)+bn", bn, "BatchNormalization", conv_bn(
        rng, c_in=4, c_out=6, group=2, k=3, spatial=2, bias=True
    )
    yield "conv2d(depthwise)+bn", bn, "BatchNormalization", conv_bn(
        rng, c_in=5, c_out=5, group=5, k=3, spatial=2, bias=False
    )
    yield "conv1d+bn", bn, "BatchNormalization", conv_bn(
        rng, c_in=3, c_out=4, group=1, k=3, spatial=1, bias=True
    )
    yield "convT+bn", bn, "BatchNormalization", convt_bn(
        rng, c_in=3, c_out=4, group=1, k=3, bias=True
    )
    yield "convT(no bias)+bn", bn, "BatchNormalization", convt_bn(
        rng, c_in=3, c_out=5, group=1, k=2, bias=False
    )
    yield "convT(group 2)+bn", bn, "BatchNormalization", convt_bn(
        rng, c_in=4, c_out=6, group=2, k=3, bias=True
    )
    yield "convT(group 3, no bias)+bn", bn, "BatchNormalization", convt_bn(
        rng, c_in=6, c_out=9, group=3, k=2, bias=False
    )
    yield "matmul+add [N]", gemm, "MatMul", matmul_add(rng, m=5, k=7, n=3, c_shape=[3])
    yield "matmul+add [1,N] bias first", gemm, "MatMul", matmul_add(
        rng, m=5, k=7, n=3, c_shape=[1, 3], bias_first=True
    )
    yield "matmul+add [M,N]", gemm, "MatMul", matmul_add(rng, m=4, k=6, n=2, c_shape=[4, 2])
    yield "matmul+add [M,1]", gemm, "MatMul", matmul_add(rng, m=4, k=6, n=2, c_shape=[4, 1])
    yield "matmul(relu)+add, rank inferred", gemm, "MatMul", matmul_add_inferred(rng, m=3, k=5, n=4)
    add_conv, mul_conv = "fuse_add_bias_into_conv", "fuse_mul_into_conv"
    yield "conv+add [1,C,1,1]", add_conv, "Add", conv_affine(
        rng, op="Conv", c_in=3, c_out=4, group=1, k=3, bias=False, const_shape=[1, 4, 1, 1], kind="add"
    )
    yield "conv(bias)+add [C,1,1] first", add_conv, "Add", conv_affine(
        rng, op="Conv", c_in=4, c_out=6, group=2, k=3, bias=True, const_shape=[6, 1, 1], kind="add",
        const_first=True,
    )
    yield "convT(group 2)+add [1]", add_conv, "Add", conv_affine(
        rng, op="ConvTranspose", c_in=4, c_out=6, group=2, k=2, bias=True, const_shape=[1], kind="add"
    )
    yield "conv(bias)+mul [1,C,1,1]", mul_conv, "Mul", conv_affine(
        rng, op="Conv", c_in=3, c_out=5, group=1, k=3, bias=True, const_shape=[1, 5, 1, 1], kind="mul"
    )
    yield "conv(depthwise)+mul [C,1,1]", mul_conv, "Mul", conv_affine(
        rng, op="Conv", c_in=4, c_out=4, group=4, k=3, bias=False, const_shape=[4, 1, 1], kind="mul"
    )
    yield "convT(group 3)+mul [1,C,1,1] first", mul_conv, "Mul", conv_affine(
        rng, op="ConvTranspose", c_in=6, c_out=9, group=3, k=2, bias=True, const_shape=[1, 9, 1, 1],
        kind="mul", const_first=True,
    )
    yield "convT+mul scalar", mul_conv, "Mul", conv_affine(
        rng, op="ConvTranspose", c_in=3, c_out=4, group=1, k=3, bias=False, const_shape=[], kind="mul"
    )
    add_gemm, mul_gemm = "fuse_add_bias_into_gemm", "fuse_mul_into_gemm"
    yield "gemm+add [N]", add_gemm, "Add", gemm_affine(
        rng, m=4, k=5, n=3, kind="add", const_shape=[3], beta=0.5
    )
    yield "gemm(C, beta, transB)+add [M,N]", add_gemm, "Add", gemm_affine(
        rng, m=4, k=5, n=3, kind="add", const_shape=[4, 3], c_shape=[3], trans_b=1, beta=2.0
    )
    yield "gemm(C [M,1])+add [M,N]", add_gemm, "Add", gemm_affine(
        rng, m=4, k=5, n=3, kind="add", const_shape=[4, 3], c_shape=[4, 1]
    )
    yield "gemm(C, alpha)+mul scalar", mul_gemm, "Mul", gemm_affine(
        rng, m=4, k=5, n=3, kind="mul", const_shape=[1], c_shape=[3], alpha=0.5, beta=3.0
    )
    yield "gemm(C, transB)+mul [N]", mul_gemm, "Mul", gemm_affine(
        rng, m=4, k=5, n=3, kind="mul", const_shape=[3], c_shape=[1, 3], trans_b=1
    )
    yield "gemm+mul [1,N]", mul_gemm, "Mul", gemm_affine(
        rng, m=4, k=5, n=3, kind="mul", const_shape=[1, 3]
    )
    mk = helper.make_node
    yield "squeeze(squeeze) negative axes", "fuse_consecutive_squeezes", "Squeeze", chain(
        [1, 3, 1, 4, 1],
        [mk("Squeeze", ["X0", "a"], ["T"]), mk("Squeeze", ["T", "b"], ["Y"])],
        [ints("a", [-1]), ints("b", [0])],
        3,
    )
    yield "squeeze(squeeze) opset 11", "fuse_consecutive_squeezes", "Squeeze", chain(
        [2, 1, 3, 1],
        [mk("Squeeze", ["X0"], ["T"], axes=[1]), mk("Squeeze", ["T"], ["Y"], axes=[2])],
        [],
        2,
        opset=11,
    )
    yield "unsqueeze(unsqueeze)", "fuse_consecutive_unsqueezes", "Unsqueeze", chain(
        [3, 4],
        [mk("Unsqueeze", ["X0", "a"], ["T"]), mk("Unsqueeze", ["T", "b"], ["Y"])],
        [ints("a", [1]), ints("b", [0, 3])],
        5,
    )
    yield "squeeze(unsqueeze) cancel", "fuse_consecutive_unsqueezes", "Squeeze", chain(
        [3, 4],
        [mk("Unsqueeze", ["X0", "a"], ["T"]), mk("Squeeze", ["T", "a"], ["S"]), mk("Neg", ["S"], ["Y"])],
        [ints("a", [1])],
        2,
    )
    yield "reshape(reshape) with 0", "fuse_consecutive_reshapes", "Reshape", chain(
        [2, 3, 4],
        [mk("Reshape", ["X0", "s1"], ["T"]), mk("Reshape", ["T", "s2"], ["Y"])],
        [ints("s1", [6, 4]), ints("s2", [0, 2, 2])],
        3,
    )
    yield "reshape(flatten)", "fuse_consecutive_reshapes", "Flatten", chain(
        [2, 3, 4],
        [mk("Flatten", ["X0"], ["T"], axis=2), mk("Reshape", ["T", "s2"], ["Y"])],
        [ints("s2", [4, -1])],
        2,
    )
    yield "unsqueeze(reshape)", "fuse_consecutive_reshapes", "Unsqueeze", chain(
        [2, 3, 4],
        [mk("Reshape", ["X0", "s1"], ["T"]), mk("Unsqueeze", ["T", "a"], ["Y"])],
        [ints("s1", [0, -1]), ints("a", [3, 2])],
        4,
    )
    yield "flatten(reshape)", "fuse_consecutive_reshapes", "Flatten", chain(
        [2, 3, 4],
        [mk("Reshape", ["X0", "s1"], ["T"]), mk("Flatten", ["T"], ["Y"], axis=2)],
        [ints("s1", [4, -1, 2])],
        2,
    )
    yield "reshape, element-wise, reshape back", "eliminate_reshape_around_elementwise", "Reshape", chain(
        [6, 4],
        [
            mk("Reshape", ["X0", "s1"], ["R"]),
            mk("Pow", ["R", "three"], ["P"]),
            mk("Mul", ["P", "c"], ["M"]),
            mk("Add", ["R", "M"], ["S"]),
            mk("Tanh", ["S"], ["T"]),
            mk("Mul", ["T", "R"], ["G"]),
            mk("Reshape", ["G", "s2"], ["Y"]),
        ],
        [ints("s1", [1, 6, 4]), ints("s2", [6, 4]), init("three", 3.0), init("c", [[0.044715]])],
        2,
    )
    yield "slice(slice) same and other axes", "fuse_consecutive_slices", "Slice", chain(
        [6, 7, 8],
        [
            mk("Slice", ["X0", "b1", "e1", "a1"], ["T"]),
            mk("Slice", ["T", "b2", "e2", "a2", "s2"], ["Y"]),
        ],
        [ints("b1", [1, 2]), ints("e1", [6, 100]), ints("a1", [0, 2]),
         ints("b2", [1, 0, 1]), ints("e2", [3, 7, 100]), ints("a2", [0, 1, 2]), ints("s2", [1, 2, 1])],
        3,
    )
    yield "slice(slice) opset 9", "fuse_consecutive_slices", "Slice", chain(
        [6, 7],
        [
            mk("Slice", ["X0"], ["T"], starts=[1], ends=[5], axes=[1]),
            mk("Slice", ["T"], ["Y"], starts=[2, 0], ends=[9, 3], axes=[1, 0]),
        ],
        [],
        2,
        opset=9,
    )
    yield "concat(concat)", "fuse_consecutive_concats", "Concat", chain(
        [2, 3],
        [
            mk("Neg", ["X0"], ["N"]),
            mk("Concat", ["X0", "N"], ["T"], axis=-1),
            mk("Concat", ["N", "T", "X0"], ["Y"], axis=1),
        ],
        [],
        2,
    )


def session(path):
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.log_severity_level = 3
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def count(path, op):
    return sum(1 for n in onnx.load(path).graph.node if n.op_type == op)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ferry", default="target/release/ferry")
    ap.add_argument("--keep", help="write the models here instead of a temporary directory")
    ap.add_argument("-n", type=int, default=3, help="random inputs per case")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = args.keep or tmp
        os.makedirs(out_dir, exist_ok=True)
        for name, pass_name, fused_op, (m, shapes) in cases(rng):
            stem = name.replace(" ", "_").replace("+", "_").replace("(", "").replace(")", "")
            stem = stem.replace(",", "").replace("[", "").replace("]", "")
            src = os.path.join(out_dir, f"{stem}.onnx")
            dst = os.path.join(out_dir, f"{stem}.opt.onnx")
            onnx.save(m, src)
            r = subprocess.run(
                [args.ferry, "optimize", "--passes", pass_name, src, dst],
                capture_output=True,
                text=True,
            )
            if r.returncode != 0:
                print(f"FAIL  {name}: ferry optimize: {r.stderr.strip()}")
                failures += 1
                continue
            before, after = count(src, fused_op), count(dst, fused_op)
            if after >= before:
                print(f"FAIL  {name}: not rewritten ({fused_op} {before} -> {after})")
                failures += 1
                continue
            a, b = session(src), session(dst)
            worst = 0.0
            ok = True
            for _ in range(args.n):
                feeds = {k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}
                for o, x, y in zip(a.get_outputs(), a.run(None, feeds), b.run(None, feeds)):
                    if x.shape != y.shape or not np.allclose(x, y, rtol=RTOL, atol=ATOL):
                        ok = False
                    if x.shape == y.shape:
                        err = np.abs(x - y) / (ATOL + RTOL * np.abs(y))
                        worst = max(worst, float(err.max(initial=0.0)))
            status = "ok   " if ok else "FAIL "
            failures += not ok
            print(
                f"{status} {name}: {fused_op} {before} -> {after}, "
                f"max |diff| / (atol + rtol*|ref|) = {worst:.3g}"
            )
    print(f"{failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
