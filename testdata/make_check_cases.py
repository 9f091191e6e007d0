#!/usr/bin/env python3
# Requires: onnx==1.23.2 (pinned in scripts/requirements-testdata.txt)
#
# Writes testdata/check/: one small model per checker rule, each breaking exactly that rule,
# and testdata/check/expected.tsv (file <TAB> rule <TAB> substring of the message). The test
# crates/ferry-check/tests/rules.rs checks that ferry reports each. `valid.onnx` breaks nothing.
#
#   py="$(scripts/testdata-venv.sh)"
#   "$py" testdata/make_check_cases.py
#
# Built with onnx.helper and serialized directly: never through onnx's checker, since the
# point is to break its rules.

from __future__ import annotations

import os
import shutil

import numpy as np
from onnx import TensorProto as T
from onnx import helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "check")
cases: list[tuple[str, str, str]] = []


def vi(name, elem=T.FLOAT, shape=(2,)):
    return helper.make_tensor_value_info(name, elem, list(shape))


def model(nodes, inputs, outputs, inits=(), opset=21, ir=10, extra_opsets=()):
    g = helper.make_graph(list(nodes), "case", list(inputs), list(outputs), list(inits))
    ops = [helper.make_opsetid("", opset)] + list(extra_opsets)
    m = helper.make_model(g, opset_imports=ops, ir_version=ir)
    return m


def relu():
    return model([helper.make_node("Relu", ["x"], ["y"], name="r")], [vi("x")], [vi("y")])


def write(name, m, rule, text):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(m.SerializeToString())
    cases.append((name, rule, text))


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    write("valid.onnx", relu(), "", "")

    m = relu()
    m.ClearField("ir_version")
    write("ir_version_missing.onnx", m, "ir-version", "does not state its IR version")
    m = relu()
    m.ir_version = 99
    write("ir_version_too_new.onnx", m, "ir-version", "IR version 99 is outside the versions ferry knows")

    m = relu()
    m.ClearField("opset_import")
    write("no_opsets.onnx", m, "opset-import", "imports no operator sets")
    m = relu()
    m.opset_import.append(helper.make_opsetid("ai.onnx", 13))
    write("opset_conflict.onnx", m, "opset-import", "domain '' is imported at versions 21 and 13")

    m = model([helper.make_node("Normalizer", ["x"], ["y"], domain="ai.onnx.ml", norm="L2")], [vi("x", shape=(1, 2))], [vi("y", shape=(1, 2))])
    write("no_opset_import.onnx", m, "no-opset-import", "imports no opset for domain 'ai.onnx.ml'")

    m = model([helper.make_node("Frobnicate", ["x"], ["y"])], [vi("x")], [vi("y")])
    write("unknown_op.onnx", m, "unknown-op", "no operator Frobnicate is registered in domain ai.onnx")
    m = model([helper.make_node("Gelu", ["x"], ["y"])], [vi("x")], [vi("y")], opset=19)
    write("op_too_new.onnx", m, "unknown-op", "Gelu is not defined in ai.onnx opset 19 (it first appears in opset 20)")
    scales = numpy_helper.from_array(np.array([1.0, 2.0], dtype=np.float32), "scales")
    m = model([helper.make_node("Upsample", ["x", "scales"], ["y"])], [vi("x")], [vi("y", shape=(4,))], [scales], opset=10)
    write("deprecated_op.onnx", m, "deprecated-op", "Upsample is deprecated as of ai.onnx opset 10")

    m = model([helper.make_node("Relu", ["x", "x"], ["y"], name="r")], [vi("x")], [vi("y")])
    write("input_count.onnx", m, "input-count", "Relu takes 1 inputs at this opset, the node has 2")
    m = model([helper.make_node("Relu", ["x"], ["y", "z"], name="r")], [vi("x")], [vi("y")])
    write("output_count.onnx", m, "output-count", "Relu has 1 outputs at this opset, the node has 2")
    m = model([helper.make_node("Add", ["x", ""], ["y"], name="a")], [vi("x")], [vi("y")])
    write("missing_input.onnx", m, "missing-input", "input 1 ('B') of Add is required but the node leaves it empty")

    m = model([helper.make_node("Relu", ["x"], ["y"], name="r", alpha=0.1)], [vi("x")], [vi("y")])
    write("attribute_unknown.onnx", m, "attribute-unknown", "Relu has no attribute 'alpha' at this opset")
    m = model([helper.make_node("Softmax", ["x"], ["y"], name="s", axis=1.5)], [vi("x")], [vi("y")])
    write("attribute_type.onnx", m, "attribute-type", "attribute 'axis' of Softmax must be INT, found FLOAT")
    n = helper.make_node("Softmax", ["x"], ["y"], name="s", axis=1)
    n.attribute[0].type = 6  # FLOATS, while the value is an int
    write("attribute_declared_type.onnx", model([n], [vi("x")], [vi("y")]), "attribute-type", "declared as type FLOATS but holds a value of type INT")
    m = model([helper.make_node("Cast", ["x"], ["y"], name="c")], [vi("x")], [vi("y")])
    write("attribute_required.onnx", m, "attribute-required", "Cast requires attribute 'to'")
    n = helper.make_node("LeakyRelu", ["x"], ["y"], name="l")
    a = helper.make_attribute_ref("alpha", 1, doc_string="")
    a.ref_attr_name = "a"
    n.attribute.append(a)
    write("attribute_reference.onnx", model([n], [vi("x")], [vi("y")]), "attribute-reference", "refers to a function attribute outside a function body")

    m = model([helper.make_node("Sqrt", ["x"], ["y"], name="s")], [vi("x", T.INT64)], [vi("y", T.INT64)])
    write("type_not_allowed.onnx", m, "type-constraint", "input 0 ('X') of Sqrt has type tensor(int64), which type parameter T does not allow")
    m = model([helper.make_node("Add", ["x", "z"], ["y"], name="a")], [vi("x"), vi("z", T.DOUBLE)], [vi("y")])
    write("type_mismatch.onnx", m, "type-constraint", "inputs 0 and 1 of Add must share type parameter T, but are tensor(float) and tensor(double)")

    m = model([helper.make_node("Relu", ["nowhere"], ["y"], name="r")], [vi("x")], [vi("y")])
    write("undefined_value.onnx", m, "undefined-value", "reads 'nowhere', which nothing defines")
    m = model([helper.make_node("Neg", ["h"], ["y"], name="second"), helper.make_node("Relu", ["x"], ["h"], name="first")], [vi("x")], [vi("y")])
    write("topological_order.onnx", m, "topological-order", "reads 'h' before 'first' (Relu) computes it")
    m = model([helper.make_node("Relu", ["x"], ["y"], name="r")], [vi("x")], [vi("y"), vi("ghost")])
    write("output_not_produced.onnx", m, "output-not-produced", "graph output 'ghost' is not produced")
    m = model([helper.make_node("Relu", ["x"], ["y"], name="r")], [helper.make_value_info("x", helper.TypeProto())], [vi("y")])
    write("missing_type.onnx", m, "missing-type", "the type of graph input 'x' is empty")
    m = model([helper.make_node("Relu", ["x"], ["y"], name="r")], [vi("x")], [helper.make_tensor_value_info("y", T.UNDEFINED, None)])
    m.graph.output[0].type.tensor_type.ClearField("elem_type")
    write("missing_elem_type.onnx", m, "missing-type", "graph output 'y' has no element type")
    m = model([helper.make_node("Relu", ["x"], ["y"], name="r")], [vi("x")], [vi("y")])
    m.graph.input.append(vi(""))
    write("empty_name.onnx", m, "empty-name", "a graph input has an empty name")

    m = relu()
    m.ClearField("graph")
    write("missing_graph.onnx", m, "missing-graph", "the model has no graph")
    m = model([helper.make_node("", ["x"], ["y"], name="blank")], [vi("x")], [vi("y")])
    write("empty_op_type.onnx", m, "empty-op-type", "the node has no op_type")

    m = model([helper.make_node("Add", ["x", "z"], ["y"], name="a")], [vi("x", shape=(2,)), vi("z", shape=(3,))], [vi("y", shape=(3,))])
    write("shape_inference.onnx", m, "shape-inference", "shapes [2] and [3] cannot broadcast")
    m = model([helper.make_node("Relu", ["x"], ["y"], name="r")], [vi("x")], [vi("y", shape=(5,))])
    write("type_conflict.onnx", m, "type-conflict", "output 'y': dimension 0: inferred 2, declared 5")

    w = numpy_helper.from_array(np.ones(2, dtype=np.float32), "w")
    m = model([helper.make_node("Add", ["x", "w"], ["y"], name="a")], [vi("x")], [vi("y")], [w], opset=7, ir=3)
    write("ir3_initializer.onnx", m, "ir3-initializer-not-input", "initializer 'w' is not a graph input, which IR version 3 requires")
    m = model([helper.make_node("Relu", ["x"], ["y"], name="r")], [vi("x")], [vi("y")], [w])
    write("unused_initializer.onnx", m, "unused-initializer", "initializer 'w' is never used")

    with open(os.path.join(OUT, "expected.tsv"), "w") as f:
        f.write("# file\trule\tsubstring of the message (written by testdata/make_check_cases.py)\n")
        for name, rule, text in cases:
            f.write(f"{name}\t{rule}\t{text}\n")
    print(f"wrote {len(cases)} checker cases to {OUT}")


if __name__ == "__main__":
    main()
