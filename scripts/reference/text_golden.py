#!/usr/bin/env python3
"""Golden expectations for ferry's ONNX text parser, produced by onnx's own parser.

How to run (from anywhere):

    py="$(scripts/testdata-venv.sh)"               # venv with onnx==1.23.2
    "$py" scripts/reference/text_golden.py          # (re)write the .json files
    "$py" scripts/reference/text_golden.py --check  # exit 1 if a committed .json differs

For every snippet crates/ferry-text/tests/golden/NAME.onnxtxt this parses the text with
onnx.parser.parse_model and writes NAME.json beside it: a summary of the ModelProto onnx
built. The Rust test crates/ferry-text/tests/golden.rs parses the same text with ferry,
summarizes ferry's IR in the same form, and compares. The test also runs this script with
--check when FERRY_PYTHON is set (scripts/test.sh sets it), so the files cannot drift.

The summary (JSON):

    model   {ir_version, opset_import: [[domain, version]], producer_name, producer_version,
             domain, model_version, doc_string (each null when absent),
             metadata_props: [[key, value]], graph, functions: [function]}
    graph   {name, inputs, outputs, value_info: [[name, type]], initializers: [tensor],
             nodes: [node]}
    node    {name (null when absent), op_type, domain ("" when absent), overload ("" when
             absent), inputs: [name], outputs: [name], attributes: [attr]}
    attr    {name, type: AttributeProto.type code, ref: ref_attr_name or null, value}
             value: number | string | tensor | graph | type | list of those | null (a
             reference, or an empty list); NaN/infinities as "nan", "-nan", "inf", "-inf"
    tensor  {name ("" when absent), dtype, dims, data}: data is the hex of the elements as
             little-endian bytes (numpy_helper.to_array(t).tobytes()), or {"strings": [...]},
             or {"external": [[key, value]]}
    type    null (no type) | {"tensor": elem, "shape": null | [dim]} (dim: int, "symbol", or
             null for unknown) | {"sparse_tensor": ...} | {"seq": type} | {"optional": type}
             | {"map": [key elem, type]} | {"opaque": [domain or null, name or null]}
    function {name, domain, overload, doc_string (null when absent), opset_import,
             attributes: [name], attribute_defaults: [attr], inputs: [name], outputs: [name],
             value_info, nodes}
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys

import onnx
import onnx.parser
from onnx import AttributeProto as A
from onnx import TensorProto, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.normpath(os.path.join(HERE, "..", "..", "crates", "ferry-text", "tests", "golden"))


def opt(msg, field):
    return getattr(msg, field) if msg.HasField(field) else None


def num(f):
    if math.isnan(f):
        return "-nan" if math.copysign(1.0, f) < 0 else "nan"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    return f


def type_(t):
    which = t.WhichOneof("value")
    if which is None:
        return None

    def shaped(tt):
        if not tt.HasField("shape"):
            return None
        dims = []
        for d in tt.shape.dim:
            if d.HasField("dim_value"):
                dims.append(d.dim_value)
            elif d.HasField("dim_param"):
                dims.append(d.dim_param)
            else:
                dims.append(None)
        return dims

    if which == "tensor_type":
        return {"tensor": t.tensor_type.elem_type, "shape": shaped(t.tensor_type)}
    if which == "sparse_tensor_type":
        return {"sparse_tensor": t.sparse_tensor_type.elem_type, "shape": shaped(t.sparse_tensor_type)}
    if which == "sequence_type":
        return {"seq": type_(t.sequence_type.elem_type)}
    if which == "optional_type":
        return {"optional": type_(t.optional_type.elem_type)}
    if which == "map_type":
        return {"map": [t.map_type.key_type, type_(t.map_type.value_type)]}
    if which == "opaque_type":
        o = t.opaque_type
        return {"opaque": [opt(o, "domain"), opt(o, "name")]}
    raise ValueError(which)


def value_info(v):
    return [v.name, type_(v.type) if v.HasField("type") else None]


def tensor(t):
    if t.data_location == TensorProto.EXTERNAL:
        data = {"external": [[e.key, e.value] for e in t.external_data]}
    elif t.data_type == TensorProto.STRING:
        data = {"strings": [s.decode("utf-8") for s in t.string_data]}
    else:
        data = numpy_helper.to_array(t).tobytes().hex()
    return {"name": t.name, "dtype": t.data_type, "dims": list(t.dims), "data": data}


def attr(a):
    value = None
    if not a.HasField("ref_attr_name"):
        value = {
            A.FLOAT: lambda: num(a.f),
            A.INT: lambda: a.i,
            A.STRING: lambda: a.s.decode("utf-8"),
            A.TENSOR: lambda: tensor(a.t),
            A.GRAPH: lambda: graph(a.g),
            A.TYPE_PROTO: lambda: type_(a.tp),
            A.FLOATS: lambda: [num(f) for f in a.floats],
            A.INTS: lambda: list(a.ints),
            A.STRINGS: lambda: [s.decode("utf-8") for s in a.strings],
        }.get(a.type, lambda: None)()
    return {"name": a.name, "type": a.type, "ref": opt(a, "ref_attr_name"), "value": value}


def node(n):
    return {
        "name": opt(n, "name"),
        "op_type": n.op_type,
        "domain": n.domain,
        "overload": n.overload,
        "inputs": list(n.input),
        "outputs": list(n.output),
        "attributes": [attr(a) for a in n.attribute],
    }


def graph(g):
    return {
        "name": g.name,
        "inputs": [value_info(v) for v in g.input],
        "outputs": [value_info(v) for v in g.output],
        "value_info": [value_info(v) for v in g.value_info],
        "initializers": [tensor(t) for t in g.initializer],
        "nodes": [node(n) for n in g.node],
    }


def opsets(v):
    return [[o.domain, o.version] for o in v]


def function(f):
    return {
        "name": f.name,
        "domain": opt(f, "domain"),
        "overload": opt(f, "overload"),
        "doc_string": opt(f, "doc_string"),
        "opset_import": opsets(f.opset_import),
        "attributes": list(f.attribute),
        "attribute_defaults": [attr(a) for a in f.attribute_proto],
        "inputs": list(f.input),
        "outputs": list(f.output),
        "value_info": [value_info(v) for v in f.value_info],
        "nodes": [node(n) for n in f.node],
    }


def model(m):
    return {
        "ir_version": opt(m, "ir_version"),
        "opset_import": opsets(m.opset_import),
        "producer_name": opt(m, "producer_name"),
        "producer_version": opt(m, "producer_version"),
        "domain": opt(m, "domain"),
        "model_version": opt(m, "model_version"),
        "doc_string": opt(m, "doc_string"),
        "metadata_props": [[e.key, e.value] for e in m.metadata_props],
        "graph": graph(m.graph),
        "functions": [function(f) for f in m.functions],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare instead of writing")
    args = ap.parse_args()
    if onnx.__version__ != "1.23.2":
        print(f"warning: expected onnx 1.23.2, found {onnx.__version__}", file=sys.stderr)
    names = sorted(f[: -len(".onnxtxt")] for f in os.listdir(GOLDEN) if f.endswith(".onnxtxt"))
    stale = []
    for name in names:
        with open(os.path.join(GOLDEN, name + ".onnxtxt"), encoding="utf-8") as f:
            text = f.read()
        summary = model(onnx.parser.parse_model(text))
        out = json.dumps(summary, indent=1, ensure_ascii=False) + "\n"
        path = os.path.join(GOLDEN, name + ".json")
        if args.check:
            try:
                with open(path, encoding="utf-8") as f:
                    if f.read() != out:
                        stale.append(name)
            except FileNotFoundError:
                stale.append(name)
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(out)
    if stale:
        print("golden files differ from onnx's parse: " + ", ".join(stale), file=sys.stderr)
        return 1
    print(f"{len(names)} snippets {'checked' if args.check else 'written'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
