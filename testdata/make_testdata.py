#!/usr/bin/env python3
# Requires: onnx==1.23.2, numpy (pinned in scripts/requirements-testdata.txt)
#
# Generates the small hand-made ONNX models in testdata/onnx/, one model per
# feature that ferry's IR must carry through a read/write round trip
# unchanged. The output is deterministic: fixed numpy seeds, no timestamps,
# fixed ir_version/opsets, so re-running it gives byte-identical files.
#
# Run from the repository root (any cwd works, paths come from this file):
#
#   py="$(scripts/testdata-venv.sh)"     # venv with the pinned packages
#   "$py" testdata/make_testdata.py
#
# It rewrites testdata/onnx/ (the *.onnx files, external/, README.md), then
# runs onnx.checker.check_model on every model that is meant to be valid and
# prints the result; it exits non-zero if one of those fails the checker or
# a file is 200 KB or larger.
#
# Models are built with onnx.helper and saved with onnx.save, except where
# onnx.save would do something of its own (external data: the .bin files and
# offsets are written here by hand, and the model is serialized directly).

from __future__ import annotations

import hashlib
import os
import re
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "onnx")
MAX_BYTES = 200 * 1024

# ONNX default domain (ai.onnx) opset used by most models, with its IR.
OPSET = 21
IR = 10

T = TensorProto


def opset(version: int = OPSET, domain: str = "") -> onnx.OperatorSetIdProto:
    return helper.make_opsetid(domain, version)


def f32(rng: np.random.RandomState, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


def tvi(name: str, elem: int, shape) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem, shape)


def save(model: onnx.ModelProto, rel: str) -> str:
    path = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    onnx.save(model, path)
    return path


def write_bytes(data: bytes, rel: str) -> str:
    path = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return path


# ---------------------------------------------------------------------------
# 1. mlp.onnx


def make_mlp() -> onnx.ModelProto:
    """3-layer MLP: MatMul/Add/Relu x2, MatMul/Add/Softmax; batch dim N."""
    rng = np.random.RandomState(1234)
    sizes = [32, 64, 64, 10]
    inits = []
    nodes = []
    cur = "input"
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        w = numpy_helper.from_array(f32(rng, a, b) * np.float32(1.0 / np.sqrt(a)), f"fc{i}.weight")
        bias = numpy_helper.from_array(f32(rng, b) * np.float32(0.1), f"fc{i}.bias")
        inits += [w, bias]
        nodes.append(helper.make_node("MatMul", [cur, w.name], [f"fc{i}.mm"], name=f"fc{i}/MatMul"))
        nodes.append(helper.make_node("Add", [f"fc{i}.mm", bias.name], [f"fc{i}.out"], name=f"fc{i}/Add"))
        cur = f"fc{i}.out"
        if i < len(sizes) - 2:
            nodes.append(helper.make_node("Relu", [cur], [f"act{i}"], name=f"act{i}/Relu"))
            cur = f"act{i}"
    nodes.append(helper.make_node("Softmax", [cur], ["probs"], name="softmax", axis=-1))
    graph = helper.make_graph(
        nodes,
        "mlp",
        [tvi("input", T.FLOAT, ["N", sizes[0]])],
        [tvi("probs", T.FLOAT, ["N", sizes[-1]])],
        initializer=inits,
    )
    return helper.make_model(
        graph, opset_imports=[opset()], ir_version=IR, producer_name="ferry-testdata", producer_version="1"
    )


# ---------------------------------------------------------------------------
# 2. if_outer_scope.onnx


def make_if_outer_scope() -> onnx.ModelProto:
    """If whose branches read outer-graph values (a node output and an initializer)."""
    then_g = helper.make_graph(
        [
            helper.make_node("Add", ["scaled", "x"], ["then_sum"], name="then/Add"),
            helper.make_node("Relu", ["then_sum"], ["then_out"], name="then/Relu"),
        ],
        "then_branch",
        [],
        [tvi("then_out", T.FLOAT, ["N", 4])],
    )
    else_g = helper.make_graph(
        [
            helper.make_node("Sub", ["scaled", "bias"], ["else_diff"], name="else/Sub"),
            helper.make_node("Neg", ["else_diff"], ["else_out"], name="else/Neg"),
        ],
        "else_branch",
        [],
        [tvi("else_out", T.FLOAT, ["N", 4])],
    )
    nodes = [
        helper.make_node("Mul", ["x", "scale"], ["scaled"], name="outer/Mul"),
        helper.make_node("If", ["cond"], ["y"], name="branch", then_branch=then_g, else_branch=else_g),
    ]
    graph = helper.make_graph(
        nodes,
        "if_outer_scope",
        [tvi("cond", T.BOOL, []), tvi("x", T.FLOAT, ["N", 4])],
        [tvi("y", T.FLOAT, ["N", 4])],
        initializer=[
            numpy_helper.from_array(np.array([2.0], dtype=np.float32), "scale"),
            numpy_helper.from_array(np.array([0.5, -0.5, 1.0, -1.0], dtype=np.float32), "bias"),
        ],
    )
    return helper.make_model(graph, opset_imports=[opset()], ir_version=IR, producer_name="ferry-testdata")


# ---------------------------------------------------------------------------
# 3. loop_scan.onnx


def make_loop_scan() -> onnx.ModelProto:
    """Loop (carried value + scan output, nested If in its body) and Scan."""
    # If nested inside the Loop body: reads the body's value (one level up)
    # and the top-level initializer "step" (two levels up).
    inner_then = helper.make_graph(
        [helper.make_node("Add", ["v_next", "step"], ["inner_then_out"], name="loop/if/then/Add")],
        "inner_then",
        [],
        [tvi("inner_then_out", T.FLOAT, [2])],
    )
    inner_else = helper.make_graph(
        [helper.make_node("Identity", ["v_next"], ["inner_else_out"], name="loop/if/else/Identity")],
        "inner_else",
        [],
        [tvi("inner_else_out", T.FLOAT, [2])],
    )
    loop_body = helper.make_graph(
        [
            helper.make_node("Add", ["v_in", "step"], ["v_next"], name="loop/Add"),
            helper.make_node("Greater", ["v_next", "zeros"], ["pos"], name="loop/Greater"),
            helper.make_node("Cast", ["pos"], ["pos_i"], name="loop/Cast", to=T.INT32),
            helper.make_node("ReduceMin", ["pos_i"], ["min_pos_i"], name="loop/ReduceMin", keepdims=0),
            helper.make_node("Cast", ["min_pos_i"], ["all_pos"], name="loop/Cast2", to=T.BOOL),
            helper.make_node(
                "If", ["all_pos"], ["v_out"], name="loop/If", then_branch=inner_then, else_branch=inner_else
            ),
            helper.make_node("Identity", ["cond_in"], ["cond_out"], name="loop/cond"),
            helper.make_node("Mul", ["v_out", "v_out"], ["sq"], name="loop/Square"),
        ],
        "loop_body",
        [tvi("iter", T.INT64, []), tvi("cond_in", T.BOOL, []), tvi("v_in", T.FLOAT, [2])],
        [tvi("cond_out", T.BOOL, []), tvi("v_out", T.FLOAT, [2]), tvi("sq", T.FLOAT, [2])],
    )
    scan_body = helper.make_graph(
        [
            helper.make_node("Add", ["s_in", "x_t"], ["s_out"], name="scan/Add"),
            helper.make_node("Mul", ["s_out", "x_t"], ["y_t"], name="scan/Mul"),
        ],
        "scan_body",
        [tvi("s_in", T.FLOAT, [2]), tvi("x_t", T.FLOAT, [2])],
        [tvi("s_out", T.FLOAT, [2]), tvi("y_t", T.FLOAT, [2])],
    )
    nodes = [
        helper.make_node("Loop", ["trip", "cond", "v0"], ["v_final", "v_all"], name="loop", body=loop_body),
        helper.make_node(
            "Scan", ["v_final", "seq"], ["s_final", "ys"], name="scan", body=scan_body, num_scan_inputs=1
        ),
    ]
    graph = helper.make_graph(
        nodes,
        "loop_scan",
        [
            tvi("trip", T.INT64, []),
            tvi("cond", T.BOOL, []),
            tvi("v0", T.FLOAT, [2]),
            tvi("seq", T.FLOAT, ["T", 2]),
        ],
        [
            tvi("v_final", T.FLOAT, [2]),
            tvi("v_all", T.FLOAT, ["M", 2]),
            tvi("s_final", T.FLOAT, [2]),
            tvi("ys", T.FLOAT, ["T", 2]),
        ],
        initializer=[
            numpy_helper.from_array(np.array([0.25, -0.75], dtype=np.float32), "step"),
            numpy_helper.from_array(np.zeros(2, dtype=np.float32), "zeros"),
        ],
    )
    return helper.make_model(graph, opset_imports=[opset()], ir_version=IR, producer_name="ferry-testdata")


# ---------------------------------------------------------------------------
# 4. functions.onnx

FN_DOMAIN = "com.ferry.fn"


def make_functions() -> onnx.ModelProto:
    """Model-local functions: attribute params (plain + with default) used via
    ref_attr_name, function value_info/doc/metadata, a function calling a
    function, an overloaded function, custom-domain opset import."""
    # ScaledAdd(A, B) = alpha * A + beta * B ; alpha defaults to 2.0, beta has no default.
    alpha_const = helper.make_node("Constant", [], ["alpha_c"], name="alpha")
    alpha_const.attribute.append(helper.make_attribute_ref("value_float", T.FLOAT, ref_attr_name="alpha"))
    beta_const = helper.make_node("Constant", [], ["beta_c"], name="beta")
    beta_const.attribute.append(helper.make_attribute_ref("value_float", T.FLOAT, ref_attr_name="beta"))
    scaled_add = helper.make_function(
        FN_DOMAIN,
        "ScaledAdd",
        ["A", "B"],
        ["C"],
        [
            alpha_const,
            beta_const,
            helper.make_node("Mul", ["A", "alpha_c"], ["a_scaled"], name="mul_a"),
            helper.make_node("Mul", ["B", "beta_c"], ["b_scaled"], name="mul_b"),
            helper.make_node("Add", ["a_scaled", "b_scaled"], ["C"], name="add"),
        ],
        [opset()],
        attributes=["beta"],
        attribute_protos=[helper.make_attribute("alpha", 2.0, doc_string="scale of A")],
        doc_string="C = alpha * A + beta * B",
        value_info=[tvi("a_scaled", T.FLOAT, ["N", 3]), tvi("b_scaled", T.FLOAT, ["N", 3])],
    )
    helper.set_metadata_props(scaled_add, {"origin": "make_testdata.py", "kind": "elementwise"})

    # Twice(X) = ScaledAdd(X, X, alpha=@k, beta=1.0): a function calling a function,
    # forwarding its own attribute with ref_attr_name on a call node.
    twice_call = helper.make_node("ScaledAdd", ["X", "X"], ["Y"], name="inner_call", domain=FN_DOMAIN, beta=1.0)
    twice_call.attribute.append(helper.make_attribute_ref("alpha", T.FLOAT, ref_attr_name="k"))
    twice = helper.make_function(
        FN_DOMAIN,
        "Twice",
        ["X"],
        ["Y"],
        [twice_call],
        [opset(), opset(1, FN_DOMAIN)],
        attributes=[],
        attribute_protos=[helper.make_attribute("k", 1.0)],
    )

    # Two functions with the same name/domain told apart by `overload`.
    def clip01(overload: str, lo: float, hi: float) -> onnx.FunctionProto:
        return helper.make_function(
            FN_DOMAIN,
            "Clamp",
            ["X"],
            ["Y"],
            [
                helper.make_node("Constant", [], ["lo"], value_float=lo),
                helper.make_node("Constant", [], ["hi"], value_float=hi),
                helper.make_node("Clip", ["X", "lo", "hi"], ["Y"]),
            ],
            [opset()],
            overload=overload,
        )

    nodes = [
        helper.make_node("ScaledAdd", ["a", "b"], ["s1"], name="call_with_alpha", domain=FN_DOMAIN, alpha=0.5, beta=3.0),
        helper.make_node("ScaledAdd", ["s1", "b"], ["s2"], name="call_default_alpha", domain=FN_DOMAIN, beta=-1.0),
        helper.make_node("Twice", ["s2"], ["s3"], name="call_twice", domain=FN_DOMAIN, k=2.0),
        helper.make_node("Clamp", ["s3"], ["y"], name="call_clamp_unit", domain=FN_DOMAIN, overload="unit"),
        helper.make_node("Clamp", ["s3"], ["z"], name="call_clamp_wide", domain=FN_DOMAIN, overload="wide"),
    ]
    graph = helper.make_graph(
        nodes,
        "functions",
        [tvi("a", T.FLOAT, ["N", 3]), tvi("b", T.FLOAT, ["N", 3])],
        [tvi("y", T.FLOAT, ["N", 3]), tvi("z", T.FLOAT, ["N", 3])],
    )
    return helper.make_model(
        graph,
        opset_imports=[opset(), opset(1, FN_DOMAIN)],
        ir_version=IR,
        producer_name="ferry-testdata",
        functions=[scaled_add, twice, clip01("unit", 0.0, 1.0), clip01("wide", -10.0, 10.0)],
    )


# ---------------------------------------------------------------------------
# 5. ml_and_custom.onnx


def make_ml_and_custom() -> onnx.ModelProto:
    """ai.onnx.ml ops (Normalizer, LinearClassifier, ZipMap) and an unknown
    com.example op carrying one attribute of every AttributeProto type."""
    rng = np.random.RandomState(55)
    sub = helper.make_graph(
        [helper.make_node("Neg", ["sub_in"], ["sub_out"], name="attr_graph/Neg")],
        "attr_graph",
        [tvi("sub_in", T.FLOAT, [1])],
        [tvi("sub_out", T.FLOAT, [1])],
    )
    sub2 = helper.make_graph(
        [helper.make_node("Abs", ["sub2_in"], ["sub2_out"], name="attr_graphs/Abs")],
        "attr_graphs_1",
        [tvi("sub2_in", T.INT64, [2])],
        [tvi("sub2_out", T.INT64, [2])],
    )

    def sparse(name: str, n: int) -> onnx.SparseTensorProto:
        vals = helper.make_tensor(name, T.FLOAT, [2], [1.5 * n, -2.5 * n])
        idx = helper.make_tensor(name + "_idx", T.INT64, [2], [1, 4 + n])
        return helper.make_sparse_tensor(vals, idx, [3, 4])

    attrs = {
        "a_float": 0.125,
        "a_int": -7,
        "a_string": "héllo",
        "a_tensor": helper.make_tensor("a_tensor", T.INT32, [2, 2], [1, 2, 3, 4]),
        "a_graph": sub,
        "a_floats": [1.0, -2.5, 3.25],
        "a_ints": [1, -2, 1 << 40],
        "a_strings": [b"x", b"", b"\xff\x00bytes"],
        "a_tensors": [
            numpy_helper.from_array(np.arange(3, dtype=np.float64), "t0"),
            helper.make_tensor("t1", T.STRING, [2], [b"a", b"bc"]),
        ],
        "a_sparse_tensor": sparse("sp", 0),
        "a_type_proto": helper.make_tensor_type_proto(T.FLOAT16, ["B", 3]),
    }
    frob = helper.make_node(
        "Frobnicate",
        ["x"],
        ["frob_out"],
        name="custom_frob",
        domain="com.example",
        doc_string="unknown op: must be kept as-is",
        **attrs,
    )
    # List kinds that make_attribute cannot infer from a Python value.
    frob.attribute.append(helper.make_attribute("a_graphs", [sub, sub2], attr_type=onnx.AttributeProto.GRAPHS))
    frob.attribute.append(
        helper.make_attribute("a_sparse_tensors", [sparse("sp1", 1), sparse("sp2", 2)], attr_type=onnx.AttributeProto.SPARSE_TENSORS)
    )
    frob.attribute.append(
        helper.make_attribute(
            "a_type_protos",
            [helper.make_sequence_type_proto(helper.make_tensor_type_proto(T.INT8, [None])), helper.make_tensor_type_proto(T.BOOL, [])],
            attr_type=onnx.AttributeProto.TYPE_PROTOS,
        )
    )
    frob.attribute.append(helper.make_attribute("a_empty_ints", [], attr_type=onnx.AttributeProto.INTS))

    coef = f32(rng, 3, 4).round(3).flatten().tolist()
    nodes = [
        helper.make_node("Normalizer", ["x"], ["xn"], name="normalize", domain="ai.onnx.ml", norm="L2"),
        helper.make_node(
            "LinearClassifier",
            ["xn"],
            ["label", "scores"],
            name="classify",
            domain="ai.onnx.ml",
            classlabels_strings=["cat", "dog", "eel"],
            coefficients=coef,
            intercepts=[0.1, -0.2, 0.05],
            post_transform="SOFTMAX",
        ),
        helper.make_node(
            "ZipMap", ["scores"], ["scores_map"], name="zipmap", domain="ai.onnx.ml", classlabels_strings=["cat", "dog", "eel"]
        ),
        frob,
        helper.make_node("Relu", ["frob_out"], ["frob_relu"], name="after_custom"),
    ]
    seq_map = helper.make_sequence_type_proto(helper.make_map_type_proto(T.STRING, helper.make_tensor_type_proto(T.FLOAT, [])))
    graph = helper.make_graph(
        nodes,
        "ml_and_custom",
        [tvi("x", T.FLOAT, ["N", 4])],
        [
            tvi("label", T.STRING, ["N"]),
            helper.make_value_info("scores_map", seq_map),
            tvi("frob_relu", T.FLOAT, ["N", 4]),
        ],
        value_info=[tvi("frob_out", T.FLOAT, ["N", 4]), tvi("scores", T.FLOAT, ["N", 3])],
    )
    return helper.make_model(
        graph,
        opset_imports=[opset(), opset(3, "ai.onnx.ml"), opset(1, "com.example")],
        ir_version=IR,
        producer_name="ferry-testdata",
    )


# ---------------------------------------------------------------------------
# 6. dtypes.onnx

# (dtype name, storage) -- "typed" = the TensorProto *_data field that onnx's
# helper picks for the type, "raw" = raw_data. Every typed field is used by at
# least one entry: float_data, int32_data, int64_data, double_data,
# uint64_data, string_data.
DTYPE_PLAN = [
    ("FLOAT", "typed"),  # float_data
    ("UINT8", "raw"),
    ("INT8", "typed"),  # int32_data
    ("UINT16", "raw"),
    ("INT16", "typed"),  # int32_data
    ("INT32", "typed"),  # int32_data
    ("INT64", "typed"),  # int64_data
    ("STRING", "typed"),  # string_data (strings cannot be raw)
    ("BOOL", "typed"),  # int32_data
    ("FLOAT16", "typed"),  # int32_data (bit patterns)
    ("DOUBLE", "typed"),  # double_data
    ("UINT32", "typed"),  # uint64_data
    ("UINT64", "typed"),  # uint64_data
    ("COMPLEX64", "typed"),  # float_data (re, im pairs)
    ("COMPLEX128", "raw"),
    ("BFLOAT16", "raw"),
    ("FLOAT8E4M3FN", "raw"),
    ("FLOAT8E4M3FNUZ", "typed"),  # int32_data
    ("FLOAT8E5M2", "raw"),
    ("FLOAT8E5M2FNUZ", "raw"),
    ("UINT4", "raw"),
    ("INT4", "typed"),  # int32_data, two per byte
    ("FLOAT4E2M1", "raw"),
    ("INT2", "raw"),
    ("UINT2", "typed"),  # int32_data, four per byte
    ("FLOAT8E8M0", "raw"),
    ("FLOAT6E2M3", "raw"),
    ("FLOAT6E3M2", "typed"),
]
# Extra edge cases on common types: raw copies of typed ones, a scalar, an
# empty tensor, odd element counts for the packed sub-byte types.
DTYPE_EXTRA = [
    ("FLOAT", "raw", [2, 3]),
    ("INT64", "raw", [5]),
    ("DOUBLE", "raw", [2]),
    ("INT32", "raw", [3]),
    ("FLOAT", "typed", []),  # scalar
    ("FLOAT", "raw", [2, 0]),  # empty
    ("INT4", "raw", [5]),  # odd count: last nibble is padding
    ("UINT2", "raw", [7]),  # 7 two-bit values in 2 bytes
    ("FLOAT16", "raw", [4]),
    ("BOOL", "raw", [3]),
]


def _dtype_values(dt: int, n: int, rng: np.random.RandomState):
    name = helper.tensor_dtype_to_string(dt)[len("TensorProto.") :]
    if dt == T.STRING:
        return np.array([f"s{i}-ü".encode() for i in range(n)], dtype=object)
    if dt == T.BOOL:
        return (np.arange(n) % 3 == 0)
    if dt in (T.COMPLEX64, T.COMPLEX128):
        np_t = helper.tensor_dtype_to_np_dtype(dt)
        return (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(np_t)
    m = re.fullmatch(r"(U?)INT(\d+)", name)
    if m:
        bits, signed = int(m.group(2)), not m.group(1)
        lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        vals = [lo, hi] + [int(v) for v in rng.randint(max(lo, -1000), min(hi, 1000) + 1, size=max(n - 2, 0))]
        return np.array(vals[:n], dtype=helper.tensor_dtype_to_np_dtype(dt))
    # floating types: small values that all formats can represent reasonably
    base = np.array([0.5, -1.0, 2.0, 0.25, -3.0, 1.5, 4.0, -0.5], dtype=np.float32)
    vals = np.resize(base, n)
    if dt == T.FLOAT8E8M0:  # exponent-only, positive powers of two
        vals = np.resize(np.array([0.5, 1.0, 2.0, 4.0, 0.25, 8.0], dtype=np.float32), n)
    if dt in (T.FLOAT, T.DOUBLE):
        vals = rng.standard_normal(n)
    return np.asarray(vals).astype(helper.tensor_dtype_to_np_dtype(dt))


def _dtype_tensor(tname: str, dt: int, dims, storage: str, rng) -> TensorProto:
    n = int(np.prod(dims)) if dims else 1
    vals = _dtype_values(dt, n, rng)
    if storage == "raw":
        return helper.make_tensor(tname, dt, dims, vals.reshape(dims) if dims else vals.reshape(()), raw=True)
    return helper.make_tensor(tname, dt, dims, vals.flatten().tolist() if dt != T.STRING else list(vals))


DTYPE_SKIPPED: list[str] = []


def make_dtypes() -> onnx.ModelProto:
    """One initializer per TensorProto data type, each -> Identity -> output."""
    rng = np.random.RandomState(7)
    inits, nodes, outputs = [], [], []
    entries = [(n, s, [2, 3]) for n, s in DTYPE_PLAN] + DTYPE_EXTRA
    seen: dict[str, int] = {}
    for name, storage, dims in entries:
        dt = getattr(T, name, None)
        label = f"{name.lower()}_{storage}"
        if dims != [2, 3]:
            label += "_scalar" if not dims else "_" + "x".join(str(d) for d in dims)
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            label += f"_{seen[label]}"
        if dt is None:
            DTYPE_SKIPPED.append(f"{name}: not in this onnx's TensorProto.DataType")
            continue
        try:
            t = _dtype_tensor(f"w_{label}", dt, dims, storage, rng)
        except Exception as e:  # noqa: BLE001 - report and go on
            DTYPE_SKIPPED.append(f"{name} ({storage}): helper cannot make it: {type(e).__name__}: {e}")
            continue
        inits.append(t)
        nodes.append(helper.make_node("Identity", [t.name], [f"out_{label}"], name=f"id_{label}"))
        outputs.append(tvi(f"out_{label}", dt, dims))
    graph = helper.make_graph(nodes, "dtypes", [], outputs, initializer=inits)
    # ai.onnx 28 / IR 14: the newest pair onnx 1.23.2 knows (needed for the
    # 2-bit and 6-bit float types).
    return helper.make_model(graph, opset_imports=[opset(28)], ir_version=14, producer_name="ferry-testdata")


# ---------------------------------------------------------------------------
# 7. sparse.onnx


def make_sparse() -> onnx.ModelProto:
    """sparse_initializer (linear and coordinate indices) + Constant(sparse_value)."""
    # linear (flattened) indices, shape [NNZ]
    sp_lin = helper.make_sparse_tensor(
        helper.make_tensor("sp_lin", T.FLOAT, [3], [1.0, 2.0, 3.0]),
        helper.make_tensor("sp_lin_indices", T.INT64, [3], [0, 7, 19]),
        [4, 5],
    )
    # coordinate indices, shape [NNZ, rank], values in raw_data
    sp_coo = helper.make_sparse_tensor(
        numpy_helper.from_array(np.array([-1.0, 0.5], dtype=np.float32), "sp_coo"),
        numpy_helper.from_array(np.array([[1, 1], [3, 4]], dtype=np.int64), "sp_coo_indices"),
        [4, 5],
    )
    const_sp = helper.make_sparse_tensor(
        helper.make_tensor("const_values", T.FLOAT, [2], [10.0, 20.0]),
        helper.make_tensor("const_indices", T.INT64, [2, 2], [0, 4, 2, 2]),
        [4, 5],
    )
    nodes = [
        helper.make_node("Constant", [], ["const_dense"], name="sparse_const", sparse_value=const_sp),
        helper.make_node("Add", ["x", "sp_lin"], ["t0"], name="add_lin"),
        helper.make_node("Add", ["t0", "sp_coo"], ["t1"], name="add_coo"),
        helper.make_node("Add", ["t1", "const_dense"], ["y"], name="add_const"),
    ]
    graph = helper.make_graph(
        nodes,
        "sparse",
        [tvi("x", T.FLOAT, [4, 5])],
        [tvi("y", T.FLOAT, [4, 5])],
        sparse_initializer=[sp_lin, sp_coo],
    )
    return helper.make_model(graph, opset_imports=[opset()], ir_version=IR, producer_name="ferry-testdata")


# ---------------------------------------------------------------------------
# 8. metadata.onnx


def make_metadata() -> onnx.ModelProto:
    """Docs, metadata_props everywhere, producer/model version, domain,
    value_info, denotations, quantization_annotation, training_info,
    ModelProto.configuration and NodeProto.device_configurations."""
    w = numpy_helper.from_array(np.array([[1.0, 0.5], [-0.5, 2.0]], dtype=np.float32), "W")
    w.doc_string = "weight tensor doc"
    helper.set_metadata_props(w, {"tensor.note": "initial weight"})
    scale = helper.make_tensor("y_scale", T.FLOAT, [], [0.05])
    zp = helper.make_tensor("y_zero_point", T.UINT8, [], [128])

    x_type = helper.make_tensor_type_proto(T.FLOAT, ["batch", 2])
    x_type.denotation = "TENSOR"
    x_type.tensor_type.shape.dim[0].denotation = "DATA_BATCH"
    x_type.tensor_type.shape.dim[1].denotation = "DATA_FEATURE"
    x = helper.make_value_info("X", x_type, doc_string="input features")
    helper.set_metadata_props(x, {"vi.source": "sensor-7"})

    mm = helper.make_node("MatMul", ["X", "W"], ["H"], name="matmul", doc_string="node doc: X @ W")
    helper.set_metadata_props(mm, {"node.tag": "dense", "node.empty": ""})
    cfg = mm.device_configurations.add()
    cfg.configuration_id = "two_gpus"
    cfg.pipeline_stage = 1
    spec = cfg.sharding_spec.add()
    spec.tensor_name = "X"
    spec.device.extend([0, 1])
    grp = spec.index_to_device_group_map.add()
    grp.key = 0
    grp.value.extend([0, 1])
    sdim = spec.sharded_dim.add()
    sdim.axis = 0
    simple = sdim.simple_sharding.add()
    simple.dim_param = "batch"
    simple.num_shards = 2
    simple2 = sdim.simple_sharding.add()
    simple2.dim_value = 8
    simple2.num_shards = 4

    relu = helper.make_node("Relu", ["H"], ["Y"], name="relu")

    h_vi = tvi("H", T.FLOAT, ["batch", 2])
    h_vi.doc_string = "hidden activations"
    graph = helper.make_graph(
        [mm, relu],
        "metadata",
        [x],
        [helper.make_tensor_value_info("Y", T.FLOAT, ["batch", 2], doc_string="output doc")],
        initializer=[w, scale, zp],
        doc_string="graph doc string",
        value_info=[h_vi],
    )
    helper.set_metadata_props(graph, {"graph.owner": "ferry", "graph.unicode": "日本語 ✓"})
    qa = graph.quantization_annotation.add()
    qa.tensor_name = "Y"
    for k, v in (("SCALE_TENSOR", "y_scale"), ("ZERO_POINT_TENSOR", "y_zero_point")):
        e = qa.quant_parameter_tensor_names.add()
        e.key = k
        e.value = v

    # training_info: initialization graph (produces a fresh W) bound to W, and
    # an algorithm graph (one SGD-like step) whose output updates W.
    init_g = helper.make_graph(
        [helper.make_node("RandomNormal", [], ["W_init"], name="init_w", shape=[2, 2], seed=3.0, scale=0.1)],
        "training_initialization",
        [],
        [tvi("W_init", T.FLOAT, [2, 2])],
    )
    algo_g = helper.make_graph(
        [
            helper.make_node("Mul", ["W", "lr"], ["W_step"], name="algo/Mul"),
            helper.make_node("Sub", ["W", "W_step"], ["W_new"], name="algo/Sub"),
        ],
        "training_algorithm",
        [],
        [tvi("W_new", T.FLOAT, [2, 2])],
        initializer=[helper.make_tensor("lr", T.FLOAT, [], [0.01])],
    )
    ti = helper.make_training_info(algo_g, [("W", "W_new")], init_g, [("W", "W_init")])

    model = helper.make_model(
        graph,
        opset_imports=[opset()],
        ir_version=IR,
        producer_name="ferry-testdata",
        producer_version="0.1.0",
        domain="com.ferry.testdata",
        model_version=42,
        doc_string="model doc string: covers every documentation/metadata slot",
    )
    model.ir_version = 11  # ModelProto.configuration appeared in IR 11
    model.training_info.append(ti)
    helper.set_model_props(model, {"author": "ferry", "license": "Apache-2.0", "empty": "", "ключ": "значение"})
    conf = model.configuration.add()
    conf.name = "two_gpus"
    conf.num_devices = 2
    conf.device.extend(["gpu:0", "gpu:1"])
    return model


# ---------------------------------------------------------------------------
# 9. unsorted.onnx


def make_unsorted() -> onnx.ModelProto:
    """A valid DAG whose nodes are stored out of topological order."""
    nodes = [
        helper.make_node("Softmax", ["h3"], ["y"], name="n4_softmax", axis=-1),
        helper.make_node("Add", ["h1", "h2"], ["h3"], name="n3_add"),
        helper.make_node("Relu", ["x"], ["h1"], name="n1_relu"),
        helper.make_node("Mul", ["x", "c"], ["h2"], name=""),  # unnamed node
        helper.make_node("Constant", [], ["c"], name="n0_const", value_float=3.0),
    ]
    graph = helper.make_graph(nodes, "unsorted", [tvi("x", T.FLOAT, ["N", 4])], [tvi("y", T.FLOAT, ["N", 4])])
    return helper.make_model(graph, opset_imports=[opset()], ir_version=IR, producer_name="ferry-testdata")


# ---------------------------------------------------------------------------
# 10. external/model.onnx + weights.bin + more.bin


def _external(t: TensorProto, location: str, offset: int, checksum: bool = False) -> tuple[TensorProto, bytes]:
    data = t.raw_data
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    entries = [("location", location), ("offset", str(offset)), ("length", str(len(data)))]
    if checksum:
        entries.append(("checksum", hashlib.sha1(data).hexdigest()))
    for k, v in entries:
        e = t.external_data.add()
        e.key = k
        e.value = v
    return t, data


def make_external() -> list[str]:
    """Tensors in two external files at explicit offsets/lengths, plus inline ones."""
    rng = np.random.RandomState(99)
    w1 = numpy_helper.from_array(f32(rng, 16, 32), "w1")  # 2048 bytes
    b1 = numpy_helper.from_array(f32(rng, 32), "b1")  # 128 bytes
    w2 = numpy_helper.from_array(f32(rng, 32, 4), "w2")  # 512 bytes
    shape = numpy_helper.from_array(np.array([-1, 2, 2], dtype=np.int64), "out_shape")  # 24 bytes
    b2 = numpy_helper.from_array(np.array([0.1, 0.2, 0.3, 0.4], dtype=np.float32), "b2")  # stays inline

    files: dict[str, bytearray] = {"weights.bin": bytearray(), "more.bin": bytearray()}

    def place(t: TensorProto, loc: str, align: int, checksum: bool = False) -> TensorProto:
        buf = files[loc]
        pad = (-len(buf)) % align
        buf.extend(b"\0" * pad)
        off = len(buf)
        t, data = _external(t, loc, off, checksum)
        buf.extend(data)
        return t

    inits = [
        place(w1, "weights.bin", 64),  # offset 0
        place(b1, "weights.bin", 4096),  # offset 4096: gap left in the file
        place(shape, "more.bin", 16),  # offset 0
        place(w2, "more.bin", 64, checksum=True),  # offset 64
        b2,
    ]
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h"], name="fc1/MatMul"),
        helper.make_node("Add", ["h", "b1"], ["h_b"], name="fc1/Add"),
        helper.make_node("Relu", ["h_b"], ["h_r"], name="relu"),
        helper.make_node("MatMul", ["h_r", "w2"], ["o"], name="fc2/MatMul"),
        helper.make_node("Add", ["o", "b2"], ["o_b"], name="fc2/Add"),
        helper.make_node("Reshape", ["o_b", "out_shape"], ["y"], name="reshape"),
    ]
    graph = helper.make_graph(
        nodes, "external", [tvi("x", T.FLOAT, ["N", 16])], [tvi("y", T.FLOAT, ["N", 2, 2])], initializer=inits
    )
    model = helper.make_model(graph, opset_imports=[opset()], ir_version=IR, producer_name="ferry-testdata")
    paths = [write_bytes(bytes(files[name]), f"external/{name}") for name in ("weights.bin", "more.bin")]
    # Serialize directly: onnx.save would try to (re)write external tensors.
    paths.insert(0, write_bytes(model.SerializeToString(), "external/model.onnx"))
    return paths


# ---------------------------------------------------------------------------
# 11. ir3_opset7.onnx


def make_ir3_opset7() -> onnx.ModelProto:
    """Old style: IR 3, opset 7, initializers repeated as graph inputs."""
    rng = np.random.RandomState(3)
    w = numpy_helper.from_array(f32(rng, 4, 3), "W")
    b = numpy_helper.from_array(f32(rng, 3), "B")
    nodes = [
        helper.make_node("Gemm", ["X", "W", "B"], ["G"], name="gemm"),
        helper.make_node("Relu", ["G"], ["Y"], name="relu"),
    ]
    graph = helper.make_graph(
        nodes,
        "ir3_opset7",
        [tvi("X", T.FLOAT, [1, 4]), tvi("W", T.FLOAT, [4, 3]), tvi("B", T.FLOAT, [3])],
        [tvi("Y", T.FLOAT, [1, 3])],
        initializer=[w, b],
    )
    return helper.make_model(
        graph, opset_imports=[opset(7)], ir_version=3, producer_name="ferry-testdata", producer_version="legacy"
    )


# ---------------------------------------------------------------------------
# 12. cycle.onnx (invalid on purpose)


def make_cycle() -> onnx.ModelProto:
    """Nodes cycle_a and cycle_b feed each other: a true cycle."""
    nodes = [
        helper.make_node("Add", ["x", "b_out"], ["a_out"], name="cycle_a"),
        helper.make_node("Relu", ["a_out"], ["b_out"], name="cycle_b"),
        helper.make_node("Identity", ["a_out"], ["y"], name="tail"),
    ]
    graph = helper.make_graph(nodes, "cycle", [tvi("x", T.FLOAT, [2])], [tvi("y", T.FLOAT, [2])])
    return helper.make_model(graph, opset_imports=[opset()], ir_version=IR, producer_name="ferry-testdata")


# ---------------------------------------------------------------------------
# types.onnx: non-tensor value types


def make_types() -> onnx.ModelProto:
    """Sequence, optional, map, sparse-tensor and opaque types in inputs,
    outputs and value_info."""
    seq_t = helper.make_tensor_sequence_value_info("seq", T.FLOAT, ["K"])
    opt_t = helper.make_value_info("opt", helper.make_optional_type_proto(helper.make_tensor_type_proto(T.INT64, [3])))
    opt_seq = helper.make_value_info(
        "opt_seq",
        helper.make_optional_type_proto(helper.make_sequence_type_proto(helper.make_tensor_type_proto(T.INT32, None))),
    )
    sparse_vi = helper.make_sparse_tensor_value_info("sp_out", T.FLOAT, [4, 4])
    opaque = onnx.TypeProto()
    opaque.opaque_type.domain = "com.example"
    opaque.opaque_type.name = "Handle"
    opaque_vi = helper.make_value_info("handle", opaque)
    map_vi = helper.make_value_info("map_out", helper.make_map_type_proto(T.INT64, helper.make_tensor_type_proto(T.DOUBLE, [])))
    nodes = [
        helper.make_node("SequenceLength", ["seq"], ["seq_len"], name="seq_len"),
        helper.make_node("OptionalHasElement", ["opt"], ["has_opt"], name="has_opt"),
        helper.make_node("OptionalHasElement", ["opt_seq"], ["has_opt_seq"], name="has_opt_seq"),
        helper.make_node("Optional", ["seq_len"], ["opt_len"], name="wrap"),
        helper.make_node("MakeHandle", ["seq_len"], ["handle"], name="make_handle", domain="com.example"),
        helper.make_node("ToSparse", ["handle"], ["sp_out"], name="to_sparse", domain="com.example"),
        helper.make_node("ToMap", ["handle"], ["map_out"], name="to_map", domain="com.example"),
    ]
    graph = helper.make_graph(
        nodes,
        "types",
        [seq_t, opt_t, opt_seq],
        [
            tvi("seq_len", T.INT64, []),
            tvi("has_opt", T.BOOL, []),
            tvi("has_opt_seq", T.BOOL, []),
            helper.make_value_info("opt_len", helper.make_optional_type_proto(helper.make_tensor_type_proto(T.INT64, []))),
            sparse_vi,
            map_vi,
        ],
        value_info=[opaque_vi],
    )
    return helper.make_model(
        graph, opset_imports=[opset(), opset(1, "com.example")], ir_version=IR, producer_name="ferry-testdata"
    )


# ---------------------------------------------------------------------------

# (file, builder, checker expected to pass, what it covers)
MODELS = [
    ("mlp.onnx", make_mlp, True, "3-layer MLP (MatMul/Add/Relu/Softmax), float32 raw_data weights (seed 1234), dynamic batch dim_param `N`"),
    ("if_outer_scope.onnx", make_if_outer_scope, True, "`If` with then/else subgraphs that read an outer node output and an outer initializer"),
    ("loop_scan.onnx", make_loop_scan, True, "`Loop` (carried value, scan output, `If` nested in its body reading two scopes up) and `Scan`"),
    ("functions.onnx", make_functions, True, "FunctionProtos: `attribute` + `attribute_proto` default, `ref_attr_name` in body and on a call node, value_info, doc/metadata, function calling a function, `overload`, custom-domain opset"),
    ("ml_and_custom.onnx", make_ml_and_custom, True, "ai.onnx.ml Normalizer/LinearClassifier/ZipMap (seq(map) output) and unknown `com.example::Frobnicate` with every attribute type (incl. graphs, sparse_tensors, type_protos, empty ints)"),
    ("dtypes.onnx", make_dtypes, True, "one initializer per TensorProto data type, raw_data and typed fields, scalar, empty, odd-length 4/2-bit, each -> Identity -> output"),
    ("sparse.onnx", make_sparse, True, "`sparse_initializer` (linear and COO indices) and `Constant` with `sparse_value`"),
    ("metadata.onnx", make_metadata, True, "doc_strings, metadata_props (model/graph/node/value_info/tensor), producer, domain, model_version, value_info, denotations, quantization_annotation, training_info, configuration, device_configurations"),
    ("types.onnx", make_types, True, "sequence, optional, optional(sequence), map, sparse-tensor and opaque value types"),
    ("unsorted.onnx", make_unsorted, False, "valid DAG stored out of topological order, one unnamed node (checker rejects: not sorted)"),
    ("external/model.onnx", make_external, True, "external data in `weights.bin` and `more.bin`, explicit offset/length, an alignment gap, a checksum, plus an inline tensor"),
    ("ir3_opset7.onnx", make_ir3_opset7, True, "IR 3 / opset 7, initializers also listed as graph inputs"),
    ("cycle.onnx", make_cycle, False, "invalid: nodes `cycle_a` and `cycle_b` form a cycle (for rejection tests)"),
]


def write_readme(rows) -> None:
    lines = [
        "# testdata/onnx",
        "",
        "Generated by `testdata/make_testdata.py` (onnx 1.23.2, numpy; pinned in",
        "`scripts/requirements-testdata.txt`). Do not edit by hand; regenerate with:",
        "",
        "```sh",
        'py="$(scripts/testdata-venv.sh)" && "$py" testdata/make_testdata.py',
        "```",
        "",
        "| file | made by | onnx checker | covers |",
        "|---|---|---|---|",
    ]
    for rel, fn, ok, desc, status in rows:
        lines.append(f"| `{rel}` | `{fn.__name__}()` | {status} | {desc} |")
    lines += [
        "",
        "`external/model.onnx` keeps its tensors in `external/weights.bin` and",
        "`external/more.bin`; the three files must stay together.",
    ]
    if DTYPE_SKIPPED:
        lines += ["", "Data types the installed onnx could not make (left out of `dtypes.onnx`):", ""]
        lines += [f"- {s}" for s in DTYPE_SKIPPED]
    with open(os.path.join(OUT, "README.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def main() -> int:
    print(f"onnx {onnx.__version__}, numpy {np.__version__}")
    if onnx.__version__ != "1.23.2":
        print(f"warning: expected onnx 1.23.2, output may differ", file=sys.stderr)
    os.makedirs(OUT, exist_ok=True)
    rows = []
    failures = 0
    for rel, fn, expect_valid, desc in MODELS:
        result = fn()
        if isinstance(result, onnx.ModelProto):
            paths = [save(result, rel)]
        else:
            paths = result
        path = paths[0]
        for p in paths:
            size = os.path.getsize(p)
            if size >= MAX_BYTES:
                print(f"ERROR {os.path.relpath(p, HERE)} is {size} bytes (limit {MAX_BYTES})")
                failures += 1
        try:
            onnx.checker.check_model(path)
            status = "passes"
            ok = True
        except onnx.checker.ValidationError as e:
            msg = " ".join(str(e).split())
            status = f"rejects: {msg[:160]}"
            ok = False
        sizes = ", ".join(f"{os.path.relpath(p, OUT)} {os.path.getsize(p)} B" for p in paths)
        if ok != expect_valid:
            failures += 1
            verdict = "UNEXPECTED"
        else:
            verdict = "ok"
        print(f"[{verdict}] {rel}: checker {status} ({sizes})")
        rows.append((rel, fn, expect_valid, desc, "passes" if ok else "rejects (expected)" if not expect_valid else "REJECTS"))
    for s in DTYPE_SKIPPED:
        print(f"note: dtypes.onnx skips {s}")
    write_readme(rows)
    print(f"wrote {len(MODELS)} models + README.md to {OUT}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
