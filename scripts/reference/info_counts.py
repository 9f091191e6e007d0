#!/usr/bin/env python3
"""Reference numbers for ferry's `info`-style counts, computed with onnx itself.

How to run (from the repository root; any cwd works):

    py="$(scripts/testdata-venv.sh)"          # venv with onnx==1.23.2, numpy
    "$py" scripts/reference/info_counts.py     # writes testdata/reference/info_counts.json

Options:
    --corpus DIR   corpus root (default: $FERRY_CORPUS, else <repo>/../shared/corpus);
                   models are read from DIR/models/, never copied
    --out FILE     output path (default: testdata/reference/info_counts.json)
    --check        do not write; exit 1 if FILE differs from what would be written

Models covered: every *.onnx under testdata/onnx/ (recursively, keyed by
path relative to the repo root, e.g. "testdata/onnx/mlp.onnx") and the
corpus models in CORPUS_MODELS (keyed "corpus:<file name>"). A missing
corpus model is an error.

Every model is loaded with onnx.load(path, load_external_data=False), so
sizes come from dims, never from data. Per model the JSON holds:

    ir_version                 ModelProto.ir_version
    opset_imports              {domain: version}; the empty domain is written "ai.onnx"
    producer_name              ModelProto.producer_name
    nodes_top                  len(graph.node)
    nodes_total                nodes of the main graph plus, recursively, of every
                               subgraph held in a GRAPH or GRAPHS attribute of those
                               nodes (function bodies and training_info not counted)
    functions                  len(model.functions)
    op_histogram               {"domain::op_type": count} over top-level nodes; empty
                               domain written "ai.onnx"
    initializers               len(graph.initializer) (dense, top-level graph)
    sparse_initializers        len(graph.sparse_initializer)
    parameters                 sum of product(dims) over the top-level dense
                               initializers plus product(dims) of each top-level
                               sparse initializer (its dense shape); a scalar is 1
    inputs_non_initializer     graph inputs whose name is not a (dense or sparse)
                               top-level initializer
    outputs                    len(graph.output)
    external_data_files        sorted unique `location`s of tensors stored externally,
                               searched in the main graph and all its subgraphs:
                               initializers, sparse initializers (values, indices),
                               TENSOR/TENSORS/SPARSE_TENSOR(S) attributes

The output is pretty-printed JSON with sorted keys and a trailing newline.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections import Counter

import onnx
from onnx import AttributeProto, GraphProto, TensorProto

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TESTDATA = os.path.join(REPO, "testdata", "onnx")
DEFAULT_OUT = os.path.join(REPO, "testdata", "reference", "info_counts.json")

CORPUS_MODELS = [
    "pt_mlp.torchscript.op13.onnx",
    "pt_transformer.dynamo.op18.onnx",
    "silero-vad__silero_vad.onnx",  # subgraphs (If)
    "skl_random_forest_classifier_zipmap.onnx",
    "pt_mlp_wide.dynamo.op18.onnx",  # external data
    "rapidocr-onnxruntime__ch_PP-OCRv4_det_infer.onnx",
    "magika__standard_v3_3_model.onnx",
]


def domain_name(domain: str) -> str:
    return domain if domain else "ai.onnx"


def subgraphs(node: onnx.NodeProto):
    for attr in node.attribute:
        if attr.type == AttributeProto.GRAPH:
            yield attr.g
        elif attr.type == AttributeProto.GRAPHS:
            yield from attr.graphs


def count_nodes(graph: GraphProto) -> int:
    total = 0
    stack = [graph]
    while stack:
        g = stack.pop()
        total += len(g.node)
        for node in g.node:
            stack.extend(subgraphs(node))
    return total


def tensors_of_graph(graph: GraphProto):
    """Every TensorProto reachable from a graph and its subgraphs."""
    stack = [graph]
    while stack:
        g = stack.pop()
        yield from g.initializer
        for sp in g.sparse_initializer:
            yield sp.values
            yield sp.indices
        for node in g.node:
            for attr in node.attribute:
                if attr.type == AttributeProto.TENSOR:
                    yield attr.t
                elif attr.type == AttributeProto.TENSORS:
                    yield from attr.tensors
                elif attr.type == AttributeProto.SPARSE_TENSOR:
                    yield attr.sparse_tensor.values
                    yield attr.sparse_tensor.indices
                elif attr.type == AttributeProto.SPARSE_TENSORS:
                    for sp in attr.sparse_tensors:
                        yield sp.values
                        yield sp.indices
            stack.extend(subgraphs(node))


def external_locations(graph: GraphProto) -> list[str]:
    locs = set()
    for t in tensors_of_graph(graph):
        if t.data_location == TensorProto.EXTERNAL:
            for entry in t.external_data:
                if entry.key == "location":
                    locs.add(entry.value)
    return sorted(locs)


def info(path: str) -> dict:
    model = onnx.load(path, load_external_data=False)
    g = model.graph
    opsets: dict[str, int] = {}
    for imp in model.opset_import:
        key = domain_name(imp.domain)
        if key in opsets:
            raise SystemExit(f"{path}: opset domain {key!r} imported twice")
        opsets[key] = imp.version
    hist = Counter(f"{domain_name(n.domain)}::{n.op_type}" for n in g.node)
    init_names = {t.name for t in g.initializer} | {s.values.name for s in g.sparse_initializer}
    params = sum(math.prod(t.dims) for t in g.initializer)
    params += sum(math.prod(s.dims) for s in g.sparse_initializer)
    return {
        "ir_version": model.ir_version,
        "opset_imports": opsets,
        "producer_name": model.producer_name,
        "nodes_top": len(g.node),
        "nodes_total": count_nodes(g),
        "functions": len(model.functions),
        "op_histogram": dict(hist),
        "initializers": len(g.initializer),
        "sparse_initializers": len(g.sparse_initializer),
        "parameters": params,
        "inputs_non_initializer": sum(1 for i in g.input if i.name not in init_names),
        "outputs": len(g.output),
        "external_data_files": external_locations(g),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default_corpus = os.environ.get("FERRY_CORPUS") or os.path.join(REPO, "..", "shared", "corpus")
    ap.add_argument("--corpus", default=default_corpus)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()

    result: dict[str, dict] = {}
    for root, dirs, files in os.walk(TESTDATA):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(".onnx"):
                path = os.path.join(root, name)
                key = os.path.relpath(path, REPO).replace(os.sep, "/")
                result[key] = info(path)

    models_dir = os.path.join(args.corpus, "models")
    missing = [m for m in CORPUS_MODELS if not os.path.isfile(os.path.join(models_dir, m))]
    if missing:
        print(f"error: corpus models not found in {models_dir}: {', '.join(missing)}", file=sys.stderr)
        return 2
    for name in CORPUS_MODELS:
        result[f"corpus:{name}"] = info(os.path.join(models_dir, name))

    text = json.dumps(result, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if args.check:
        try:
            with open(args.out, encoding="utf-8") as f:
                same = f.read() == text
        except FileNotFoundError:
            same = False
        print(f"{args.out}: {'up to date' if same else 'DIFFERS'}")
        return 0 if same else 1
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"onnx {onnx.__version__}: wrote {len(result)} models to {os.path.relpath(args.out, REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
