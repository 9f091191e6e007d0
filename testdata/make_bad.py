#!/usr/bin/env python3
# Requires: onnx==1.23.2 (pinned in scripts/requirements-testdata.txt)
#
# Writes testdata/bad/: small crafted ONNX files that ferry must refuse, each with the error
# text it must produce, listed in testdata/bad/expected.tsv (file <TAB> substring of the error).
# crates/ferry-onnx/tests/bad_input.rs loads every file and checks the message; that test also
# builds the cases git cannot carry (symlinks and hard links) at run time.
#
#   py="$(scripts/testdata-venv.sh)"
#   "$py" testdata/make_bad.py
#
# The protobufs are assembled with onnx's message classes directly, never through the checker,
# since every one of them is invalid on purpose. Output is deterministic.

from __future__ import annotations

import os
import shutil

import onnx
from onnx import TensorProto, helper

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "bad")
T = TensorProto

cases: list[tuple[str, str]] = []


def model(nodes, inputs=(), outputs=(), inits=(), functions=(), opset=21, ir=10, sparse=()):
    g = helper.make_graph(list(nodes), "bad", list(inputs), list(outputs), list(inits))
    g.sparse_initializer.extend(sparse)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], ir_version=ir)
    m.producer_name = "ferry-make-bad"
    m.functions.extend(functions)
    return m


def vi(name, shape=(4,), elem=T.FLOAT):
    return helper.make_tensor_value_info(name, elem, list(shape))


def identity_model(tensor: TensorProto, dims=(4,), elem=T.FLOAT):
    return model(
        [helper.make_node("Identity", [tensor.name], ["y"], name="id")],
        outputs=[vi("y", dims, elem)],
        inits=[tensor],
    )


def raw_tensor(name, dims, data_type, raw: bytes):
    t = TensorProto(name=name, data_type=data_type)
    t.dims.extend(dims)
    t.raw_data = raw
    return t


def external_tensor(name, entries, dims=(4,), flag=True):
    t = TensorProto(name=name, data_type=T.FLOAT)
    t.dims.extend(dims)
    if flag:
        t.data_location = TensorProto.EXTERNAL
    for k, v in entries:
        e = t.external_data.add()
        e.key = k
        e.value = v
    return t


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def ld(field: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return varint(field << 3 | 2) + varint(len(payload)) + payload


def nested_if_model(levels: int) -> bytes:
    """A model whose graph holds an If whose then-branch holds an If ... `levels` deep."""
    def graph(depth: int) -> bytes:
        out = f"o{depth}"
        head = helper.make_graph([], f"g{depth}", [], [vi(out)]).SerializeToString()
        if depth == 0:
            node = helper.make_node("Identity", ["x"], [out]).SerializeToString()
        else:
            attr = helper.make_attribute("then_branch", helper.make_graph([], "t", [], []))
            attr.ClearField("g")
            then_attr = attr.SerializeToString() + ld(6, graph(depth - 1))
            leaf = helper.make_graph([helper.make_node("Identity", ["x"], [out])], f"e{depth}", [], [vi(out)])
            else_attr = helper.make_attribute("else_branch", leaf).SerializeToString()
            node = helper.make_node("If", ["c"], [out]).SerializeToString() + ld(5, then_attr) + ld(5, else_attr)
        return head + ld(1, node)
    m = model([], [vi("c", (), T.BOOL), vi("x")], [vi("o%d" % levels)])
    m.graph.ClearField("name")
    return m.SerializeToString() + ld(7, graph(levels))


def write(name: str, m: onnx.ModelProto | bytes, expected: str):
    path = os.path.join(OUT, name)
    data = m if isinstance(m, bytes) else m.SerializeToString()
    with open(path, "wb") as f:
        f.write(data)
    cases.append((name, expected))


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    # A 16-byte data file that the external-data cases point at.
    with open(os.path.join(OUT, "data16.bin"), "wb") as f:
        f.write(bytes(range(16)))

    # --- external data: where the bytes are ---
    loc_msg = "must be a relative path of plain names"
    write("ext_parent_dir.onnx", identity_model(external_tensor("w", [("location", "../onnx/external/weights.bin")])), loc_msg)
    write("ext_absolute.onnx", identity_model(external_tensor("w", [("location", "/etc/passwd")])), loc_msg)
    write("ext_dot_component.onnx", identity_model(external_tensor("w", [("location", "./data16.bin")])), loc_msg)
    write("ext_nested_parent.onnx", identity_model(external_tensor("w", [("location", "sub/../../x.bin")])), loc_msg)
    write("ext_no_location.onnx", identity_model(external_tensor("w", [("offset", "0")])), "no 'location' entry")
    write("ext_missing_file.onnx", identity_model(external_tensor("w", [("location", "absent.bin")])), "absent.bin: No such file")
    write("ext_past_end.onnx", identity_model(external_tensor("w", [("location", "data16.bin"), ("offset", "8"), ("length", "16")])), "offset 8 + length 16 = 24 is past the end of data16.bin (16 bytes)")
    write("ext_offset_overflow.onnx", identity_model(external_tensor("w", [("location", "data16.bin"), ("offset", "18446744073709551615"), ("length", "16")])), "overflows")
    write("ext_bad_offset.onnx", identity_model(external_tensor("w", [("location", "data16.bin"), ("offset", "-4")])), "'offset' is not a non-negative integer: '-4'")
    write("ext_length_vs_dims.onnx", identity_model(external_tensor("w", [("location", "data16.bin"), ("length", "8")])), "4 elements of FLOAT need 16 bytes of external data, found 8")
    write("ext_not_flagged.onnx", identity_model(external_tensor("w", [("location", "data16.bin")], flag=False)), "has external_data entries but data_location is not EXTERNAL")
    # Symlinks, committed as such (git keeps them): the final component, and a parent directory
    # pointing out of testdata/bad/. Hard links cannot be committed (a clone makes two files);
    # crates/ferry-onnx/tests/bad_input.rs builds that case at run time.
    os.symlink("data16.bin", os.path.join(OUT, "link_to_data16.bin"))
    write("ext_symlink_final.onnx", identity_model(external_tensor("w", [("location", "link_to_data16.bin")])), "link_to_data16.bin is a symbolic link")
    os.symlink(os.path.join("..", "onnx", "external"), os.path.join(OUT, "escape"))
    write("ext_symlink_parent.onnx", identity_model(external_tensor("w", [("location", "escape/weights.bin")])), "escape is a symbolic link")
    st = TensorProto(name="s", data_type=T.STRING)
    st.dims.extend([1])
    st.data_location = TensorProto.EXTERNAL
    e = st.external_data.add()
    e.key, e.value = "location", "data16.bin"
    write("ext_string.onnx", identity_model(st, (1,), T.STRING), "string tensors cannot be stored as external data")

    # --- sizes that disagree with dims ---
    write("raw_too_short.onnx", identity_model(raw_tensor("w", [4], T.FLOAT, bytes(8))), "tensor 'w': 4 elements of FLOAT need 16 bytes of raw_data, found 8")
    write("raw_too_long.onnx", identity_model(raw_tensor("w", [4], T.FLOAT, bytes(20))), "tensor 'w': 4 elements of FLOAT need 16 bytes of raw_data, found 20")
    t = TensorProto(name="w", data_type=T.FLOAT)
    t.dims.extend([4])
    t.float_data.extend([1.0, 2.0, 3.0])
    write("typed_too_short.onnx", identity_model(t), "dims [4] of FLOAT need 4 entries in float_data, found 3")
    t = TensorProto(name="w", data_type=T.INT64)
    t.dims.extend([2])
    t.int64_data.extend([1, 2, 3])
    write("typed_too_long.onnx", identity_model(t, (2,), T.INT64), "dims [2] of INT64 need 2 entries in int64_data, found 3")
    t = TensorProto(name="w", data_type=T.FLOAT)
    t.dims.extend([2])
    t.int64_data.extend([1, 2])
    write("typed_wrong_field.onnx", identity_model(t, (2,)), "int64_data cannot hold elements of type FLOAT")
    write("negative_dim.onnx", identity_model(raw_tensor("w", [-1, 4], T.FLOAT, bytes(16))), "tensor 'w': dim 0 is negative (-1)")
    write("dims_overflow.onnx", identity_model(raw_tensor("w", [1 << 40, 1 << 40], T.FLOAT, bytes(16))), "the element count of dims [1099511627776, 1099511627776] overflows")
    write("bytes_overflow.onnx", identity_model(raw_tensor("w", [1 << 62, 4], T.FLOAT, bytes(16))), "overflows")
    write("no_data.onnx", identity_model(raw_tensor("w", [4], T.FLOAT, b"")), "need 16 bytes of raw_data, found 0")
    t = TensorProto(name="w", data_type=T.FLOAT)
    t.dims.extend([4])
    write("no_data_field.onnx", identity_model(t), "dims [4] promise 4 elements but it has no data")
    write("string_in_raw.onnx", identity_model(raw_tensor("w", [1], T.STRING, b"abc"), (1,), T.STRING), "string tensors cannot be stored in raw_data")
    t = raw_tensor("w", [4], T.FLOAT, bytes(16))
    t.float_data.extend([1.0, 2.0, 3.0, 4.0])
    write("two_data_fields.onnx", identity_model(t), "stores its data in more than one field (raw_data, float_data)")

    # --- attributes ---
    a = helper.make_attribute("alpha", 0.5)
    a.i = 3
    n = helper.make_node("LeakyRelu", ["x"], ["y"], name="lrelu")
    n.attribute.append(a)
    write("attr_two_values.onnx", model([n], [vi("x")], [vi("y")]), "attribute 'alpha' sets more than one value field")

    # --- names and structure ---
    nodes = [
        helper.make_node("Relu", ["x"], ["y"], name="first"),
        helper.make_node("Neg", ["x"], ["y"], name="second"),
    ]
    write("duplicate_output.onnx", model(nodes, [vi("x")], [vi("y")]), "value 'y' is defined more than once (again as an output of node 'second' (Neg))")
    # Duplicate names and a cycle together: the duplicate is reported, before any cycle check.
    nodes = [
        helper.make_node("Relu", ["b"], ["a"], name="n1"),
        helper.make_node("Neg", ["a"], ["b"], name="n2"),
        helper.make_node("Abs", ["x"], ["a"], name="n3"),
    ]
    write("duplicate_and_cycle.onnx", model(nodes, [vi("x")], [vi("a")]), "value 'a' is defined more than once")
    w1 = raw_tensor("w", [4], T.FLOAT, bytes(16))
    w2 = raw_tensor("w", [4], T.FLOAT, bytes(16))
    write("duplicate_initializer.onnx", model([helper.make_node("Identity", ["w"], ["y"])], outputs=[vi("y")], inits=[w1, w2]), "initializer 'w' is defined more than once")
    write("duplicate_input.onnx", model([helper.make_node("Identity", ["x"], ["y"])], [vi("x"), vi("x")], [vi("y")]), "graph input 'x' is defined more than once")
    nodes = [
        helper.make_node("Relu", ["b"], ["a"], name="loop_a"),
        helper.make_node("Neg", ["a"], ["b"], name="loop_b"),
    ]
    write("cycle.onnx", model(nodes, [vi("x")], [vi("a")]), "the graph has a cycle through 'loop_a' (Relu) -> 'loop_b' (Neg)")

    # If nodes nested 33 deep, one more than ferry's limit of 32. Python's protobuf refuses to
    # build messages this deep, so the bytes are assembled by hand, field by field. At this depth
    # the protobuf nesting passes 100 levels, where the decoder itself stops (before ferry's own
    # subgraph-depth check, which guards `import` of in-memory protos; a Rust test covers that).
    write("deep_nesting.onnx", nested_if_model(33), "ModelProto.graph: recursion limit reached")
    # 30 levels is deep but legal: it must load.
    write("deep_but_fine.onnx", nested_if_model(30), "")

    # Model-local functions that call each other.
    f = helper.make_function("local", "f", ["x"], ["y"], [helper.make_node("g", ["x"], ["y"], domain="local")], [helper.make_opsetid("local", 1)])
    g = helper.make_function("local", "g", ["x"], ["y"], [helper.make_node("f", ["x"], ["y"], domain="local")], [helper.make_opsetid("local", 1)])
    m = model([helper.make_node("f", ["x"], ["y"], domain="local")], [vi("x")], [vi("y")], functions=[f, g])
    m.opset_import.append(helper.make_opsetid("local", 1))
    write("recursive_functions.onnx", m, "model-local functions call each other in a cycle: f -> g -> f")

    # --- bytes that are not a model ---
    good = identity_model(raw_tensor("w", [4], T.FLOAT, bytes(16))).SerializeToString()
    write("truncated.onnx", good[: len(good) // 2], "is not a valid ONNX protobuf")
    write("garbage.onnx", b"\xff" * 64, "is not a valid ONNX protobuf")
    # A length prefix claiming 2^62 bytes for ModelProto.graph (field 7).
    write("huge_length.onnx", b"\x3a" + bytes([0x80] * 8) + b"\x40", "is not a valid ONNX protobuf")

    with open(os.path.join(OUT, "expected.tsv"), "w") as fh:
        fh.write("# file\tsubstring of the error ferry must report (written by testdata/make_bad.py)\n")
        for name, msg in cases:
            fh.write(f"{name}\t{msg}\n")
    print(f"wrote {len(cases)} bad models to {OUT}")


if __name__ == "__main__":
    main()
