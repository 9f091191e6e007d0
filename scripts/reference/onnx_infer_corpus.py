#!/usr/bin/env python3
# Requires: onnx==1.23.2 (pinned in scripts/requirements-testdata.txt)
#
# Reference shapes from onnx's own inference for every ONNX model of the shared corpus:
# onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=True), then, for every
# value of the main graph that ends up with a rank (graph inputs, outputs and value_info), its
# element type and dims (numbers, dim_param strings, or null for unnamed dims).
#
#   py="$(scripts/testdata-venv.sh)"
#   "$py" scripts/reference/onnx_infer_corpus.py ../shared/corpus
#
# Writes testdata/reference/onnx_infer_corpus.json.gz, read by
# crates/ferry-infer/tests/corpus_shapes.rs. Models whose inference raises are recorded with
# "error" and no values.

from __future__ import annotations

import gzip
import json
import os
import sys

import onnx
from onnx import shape_inference

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "testdata", "reference", "onnx_infer_corpus.json.gz")


def dims(t: onnx.TypeProto):
    if t.WhichOneof("value") != "tensor_type":
        return None
    tt = t.tensor_type
    if not tt.HasField("shape"):
        return None
    out = []
    for d in tt.shape.dim:
        if d.HasField("dim_value"):
            out.append(d.dim_value)
        elif d.HasField("dim_param"):
            out.append(d.dim_param)
        else:
            out.append(None)
    return [tt.elem_type, out]


def main() -> int:
    corpus = sys.argv[1]
    records = {}
    paths = []
    for dirpath, _, files in os.walk(corpus):
        for f in files:
            if f.endswith(".onnx"):
                paths.append(os.path.join(dirpath, f))
    for path in sorted(paths):
        rel = os.path.relpath(path, corpus)
        try:
            m = onnx.load(path, load_external_data=False)
            inferred = shape_inference.infer_shapes(m, strict_mode=False, data_prop=True)
        except Exception as e:  # noqa: BLE001 - recorded, not hidden
            records[rel] = {"error": str(e)[:200]}
            continue
        values = {}
        g = inferred.graph
        for vi in list(g.input) + list(g.output) + list(g.value_info):
            d = dims(vi.type)
            if d is not None and vi.name not in values:
                values[vi.name] = d
        records[rel] = {"values": values}
    with gzip.open(OUT, "wt") as f:
        json.dump(records, f, sort_keys=True, separators=(",", ":"))
    n = sum(len(r.get("values", {})) for r in records.values())
    print(f"{len(records)} models, {n} values with a rank -> {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
