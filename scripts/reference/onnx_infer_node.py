#!/usr/bin/env python3
# Requires: onnx==1.23.2 (pinned in scripts/requirements-testdata.txt)
#
# Which ONNX backend node tests onnx's own shape inference recovers, the way ferry's test
# (crates/ferry-infer/tests/node_suite.rs) measures it: erase the type of every graph output,
# run onnx.shape_inference.infer_shapes(strict_mode=False, data_prop=True), and count the case
# as recovered when every output gets back its recorded element type (recursively, for
# sequences, maps and optionals) and, where a shape was recorded, the same rank and every
# recorded numeric dimension.
#
#   py="$(scripts/testdata-venv.sh)"
#   "$py" scripts/reference/onnx_infer_node.py ../shared/corpus/onnx-conformance
#
# Writes testdata/reference/onnx_infer_node_recovered.txt (one "folder/case" per line, sorted)
# and prints the counts.

from __future__ import annotations

import os
import sys

import onnx
from onnx import shape_inference

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "testdata", "reference", "onnx_infer_node_recovered.txt")
FOLDERS = ["node", "node-onnx1.23.2-new"]


def recovered(want: onnx.TypeProto, got: onnx.TypeProto) -> bool:
    kind = want.WhichOneof("value")
    if kind is None:
        return True
    if got.WhichOneof("value") != kind:
        return False
    if kind in ("tensor_type", "sparse_tensor_type"):
        w, g = getattr(want, kind), getattr(got, kind)
        if w.elem_type != g.elem_type:
            return False
        if w.HasField("shape"):
            if not g.HasField("shape") or len(w.shape.dim) != len(g.shape.dim):
                return False
            for dw, dg in zip(w.shape.dim, g.shape.dim):
                if dw.HasField("dim_value") and (not dg.HasField("dim_value") or dg.dim_value != dw.dim_value):
                    return False
        return True
    if kind == "sequence_type":
        return recovered(want.sequence_type.elem_type, got.sequence_type.elem_type)
    if kind == "optional_type":
        return recovered(want.optional_type.elem_type, got.optional_type.elem_type)
    if kind == "map_type":
        return want.map_type.key_type == got.map_type.key_type and recovered(
            want.map_type.value_type, got.map_type.value_type
        )
    return True


def main() -> int:
    root = sys.argv[1]
    ok, total = [], 0
    for folder in FOLDERS:
        base = os.path.join(root, folder)
        for case in sorted(os.listdir(base)):
            path = os.path.join(base, case, "model.onnx")
            if not os.path.exists(path):
                continue
            total += 1
            m = onnx.load(path)
            want = [o.type for o in m.graph.output]
            want = [onnx.TypeProto.FromString(t.SerializeToString()) for t in want]
            for o in m.graph.output:
                o.ClearField("type")
            try:
                inferred = shape_inference.infer_shapes(m, strict_mode=False, data_prop=True)
            except Exception:
                continue
            got = [o.type for o in inferred.graph.output]
            if len(got) == len(want) and all(recovered(w, g) for w, g in zip(want, got)):
                ok.append(f"{folder}/{case}")
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write("".join(c + "\n" for c in ok))
    print(f"onnx recovers {len(ok)} of {total} node cases")
    return 0


if __name__ == "__main__":
    sys.exit(main())
