"""Make testdata/tf/v1_loop: small frozen GraphDefs with TensorFlow v1 control flow, and the
outputs TensorFlow computes for them.

ferry-tf rewrites v1 control flow (Enter/Exit/Switch/Merge/NextIteration/LoopCond frames and
v1 conds) into functional While/If before import (crates/ferry-tf/src/v1_control_flow.rs).
Each model here exercises one shape of it; the Rust tests (crates/ferry-tf/tests/
v1_control_flow.rs) lower it, import it, run it and compare with the outputs recorded here.

    py="$(scripts/tf/venv.sh)"
    "$py" scripts/tf/make_v1_loop_testdata.py                   # writes testdata/tf/v1_loop/
    "$py" scripts/tf/make_v1_loop_testdata.py --check DIR       # DIR/<name>.lowered.pb in TF
    "$py" scripts/tf/make_v1_loop_testdata.py --check-onnx DIR [CORPUS_MODELS]
                                                                # DIR/<name>.onnx in onnxruntime

Written per model NAME:
  NAME.pb          the GraphDef (constants only, no variables: nothing to freeze)
  NAME.io.npz      in_<placeholder> inputs and out_<k> outputs (TensorFlow's, on those inputs);
                   a model with several recorded cases has NAME.<case>.io.npz files instead
  manifest.json    per model: output tensor names, io files, how many While/If the lowering
                   must produce, what it covers

--check DIR runs TensorFlow on graphs that ferry lowered (the Rust tests write them when
FERRY_V1_LOWERED_DIR is set) and compares with the recorded outputs: it checks that the
lowering is valid TensorFlow with the same meaning, independently of ferry's own importer.

--check-onnx DIR runs the ONNX models ferry converted (the Rust tests write them when
FERRY_V1_ONNX_DIR is set) in onnxruntime and compares with the recorded outputs (rtol 1e-4).
The Rust tests run converted models in tract, which has no ONNX Loop; this covers the loops.
With CORPUS_MODELS (the shared corpus' models/ folder), DIR/tf_small_lstm.onnx is checked
against tf_small_lstm.io.npz too.
"""

import json
import os
import sys
import zlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.python.framework import convert_to_constants  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "..", "testdata", "tf", "v1_loop"))
RNG = np.random.default_rng(0)


def weights(*shape):
    return (RNG.standard_normal(shape) * 0.5).astype(np.float32)


def seed_for(name):
    """Each model draws from its own seeded generator, so adding a model changes no other."""
    global RNG
    RNG = np.random.default_rng(zlib.crc32(name.encode()))


def v1_graph(build):
    """Builds a graph with v1 control flow (Enter/Exit frames, TensorArrayV3)."""
    tf.compat.v1.disable_control_flow_v2()
    g = tf.Graph()
    with g.as_default():
        outputs = build()
    tf.compat.v1.enable_control_flow_v2()
    return g, [t.name for t in outputs]


# --- models ------------------------------------------------------------------------------


def while_basic():
    """A counted loop with a data-dependent trip count (input n), a loop-invariant matrix read
    from outside (an is_constant Enter) and two results."""
    w = weights(3, 3)

    def build():
        x = tf.compat.v1.placeholder(tf.float32, [2, 3], name="x")
        n = tf.compat.v1.placeholder(tf.int32, [], name="n")
        wc = tf.constant(w, name="w")

        def body(i, acc):
            step = tf.cast(i, tf.float32) * 0.25
            return i + 1, tf.tanh(tf.matmul(acc, wc) + x + step)

        i, acc = tf.compat.v1.while_loop(lambda i, acc: i < n, body, [tf.constant(0), tf.zeros([2, 3])], name="loop")
        return [tf.identity(acc, name="acc"), tf.identity(i, name="count")]

    feeds = {"x": weights(2, 3), "n": np.array(5, np.int32)}
    return build, feeds


def rnn_tensorarray(partial):
    """What dynamic_rnn builds: the input unstacked into a TensorArray (TensorArrayScatterV3),
    read at the time step, the outputs written to another TensorArray and stacked after the
    loop (TensorArrayGatherV3 over range(TensorArraySizeV3)). With `partial`, the batch size
    is unknown, so the element shapes are only partly known."""
    wx, wh, b = weights(3, 4), weights(4, 4), weights(4)
    steps, batch = 6, 2

    def build():
        x = tf.compat.v1.placeholder(tf.float32, [steps, None if partial else batch, 3], name="x")
        bdim = None if partial else batch
        inputs = tf.TensorArray(tf.float32, size=steps, element_shape=[bdim, 3], name="inputs").unstack(x)
        outputs = tf.TensorArray(tf.float32, size=steps, element_shape=[bdim, 4], name="outputs")
        h0 = tf.zeros(tf.stack([tf.shape(x)[1], 4]))

        def body(t, h, out):
            h = tf.tanh(tf.matmul(inputs.read(t), wx) + tf.matmul(h, wh) + b)
            return t + 1, h, out.write(t, h)

        _, h, out = tf.compat.v1.while_loop(lambda t, h, out: t < steps, body, [tf.constant(0), h0, outputs], name="rnn")
        return [tf.identity(out.stack(), name="sequence"), tf.identity(h, name="last")]

    feeds = {"x": weights(steps, batch, 3)}
    return build, feeds


def tensorarray_dynamic():
    """TensorArrays as hand-written TF1 loops make them: one with dynamic_size (it grows as it
    is written), one without element_shape (its shape comes from the TensorArrayGatherV3 that
    stacks it)."""

    def build():
        x = tf.compat.v1.placeholder(tf.float32, [4, 3], name="x")
        grow = tf.TensorArray(tf.float32, size=0, dynamic_size=True, name="grow")
        plain = tf.TensorArray(tf.float32, size=4, name="plain")

        def body(i, g, p):
            row = tf.gather(x, i)  # x[i] would be a StridedSlice with a loop-dependent begin
            return i + 1, g.write(i, tf.exp(row)), p.write(i, row * 2.0)

        _, g, p = tf.compat.v1.while_loop(lambda i, g, p: i < 4, body, [tf.constant(0), grow, plain], name="loop")
        return [tf.identity(g.stack(), name="grown"), tf.identity(p.stack(), name="plain_stacked"), tf.identity(g.size(), name="size")]

    feeds = {"x": weights(4, 3)}
    return build, feeds


def while_nested():
    """A loop inside a loop: the inner trip count depends on the outer counter, the inner body
    reads an outer loop value and a root constant."""
    w = weights(4)

    def build():
        x = tf.compat.v1.placeholder(tf.float32, [4], name="x")
        wc = tf.constant(w, name="w")

        def outer_body(i, acc):
            def inner_body(j, a):
                return j + 1, a * 0.5 + x * tf.cast(i + j, tf.float32) + wc

            _, acc = tf.compat.v1.while_loop(lambda j, a: j <= i, inner_body, [tf.constant(0), acc], name="inner")
            return i + 1, tf.sin(acc)

        _, acc = tf.compat.v1.while_loop(lambda i, a: i < 3, outer_body, [tf.constant(0), tf.zeros([4])], name="outer")
        return [tf.identity(acc, name="result")]

    feeds = {"x": weights(4)}
    return build, feeds


def cond_basic():
    """A v1 cond on an input flag with two results, one branch capturing a root constant and
    one passing an input through."""
    w = weights(3)

    def build():
        x = tf.compat.v1.placeholder(tf.float32, [3], name="x")
        flag = tf.compat.v1.placeholder(tf.bool, [], name="flag")
        wc = tf.constant(w, name="w")
        a, b = tf.compat.v1.cond(flag, lambda: (x * 2.0 + wc, tf.reduce_sum(x)), lambda: (x - 1.0, tf.reduce_max(x)), name="pick")
        return [tf.identity(a, name="a"), tf.identity(b, name="b")]

    cases = {
        "true": {"x": weights(3), "flag": np.array(True)},
        "false": {"x": weights(3), "flag": np.array(False)},
    }
    return build, cases


def cond_nested():
    """A cond inside the true branch of another cond."""

    def build():
        x = tf.compat.v1.placeholder(tf.float32, [3], name="x")
        s = tf.reduce_sum(x)
        y = tf.compat.v1.cond(
            s > 0.0,
            lambda: tf.compat.v1.cond(s > 1.0, lambda: x * 3.0, lambda: x + 3.0, name="inner"),
            lambda: tf.abs(x),
            name="outer",
        )
        return [tf.identity(y, name="y")]

    cases = {
        "big": {"x": np.array([1.0, 0.5, 0.25], np.float32)},
        "small": {"x": np.array([0.5, 0.25, 0.0], np.float32)},
        "negative": {"x": np.array([-1.0, 0.5, -0.25], np.float32)},
    }
    return build, cases


def cond_shared_pred():
    """Three v1 conds on one predicate: the second reads the first's result (so they cannot be
    one If), the third has constant-only branches (their nodes hang off the pivots by control
    edges)."""

    def build():
        x = tf.compat.v1.placeholder(tf.float32, [3], name="x")
        flag = tf.compat.v1.placeholder(tf.bool, [], name="flag")
        y1 = tf.compat.v1.cond(flag, lambda: x * 2.0, lambda: x + 1.0, name="first")
        y2 = tf.compat.v1.cond(flag, lambda: y1 * 3.0, lambda: tf.identity(x), name="second")
        z = tf.compat.v1.cond(flag, lambda: tf.constant(1.0), lambda: tf.constant(2.0), name="third")
        return [tf.identity(y2, name="y2"), tf.identity(z, name="z")]

    cases = {
        "true": {"x": weights(3), "flag": np.array(True)},
        "false": {"x": weights(3), "flag": np.array(False)},
    }
    return build, cases


def cond_in_loop():
    """A v1 cond inside a while-loop body, on the parity of the counter."""

    def build():
        x = tf.compat.v1.placeholder(tf.float32, [2], name="x")

        def body(i, acc):
            even = tf.equal(tf.math.floormod(i, 2), 0)
            acc = tf.compat.v1.cond(even, lambda: acc * 2.0, lambda: acc - x, name="step")
            return i + 1, acc

        _, acc = tf.compat.v1.while_loop(lambda i, a: i < 5, body, [tf.constant(0), x], name="loop")
        return [tf.identity(acc, name="acc")]

    feeds = {"x": np.array([1.5, -0.5], np.float32)}
    return build, feeds


def keras_gru_lowered():
    """A Keras GRU frozen the TF2 way: convert_variables_to_constants_v2 lowers its functional
    While into v1 frames whose loop values are TensorLists (TensorListFromTensor, GetItem,
    Reserve, SetItem, Stack), and leaves unconsumed `unused_control_flow_input*` placeholders."""
    import keras

    keras.utils.set_random_seed(7)
    model = keras.Sequential([keras.Input((5, 3), batch_size=1), keras.layers.GRU(4, return_sequences=True)])
    fn = tf.function(lambda x: model(x)).get_concrete_function(tf.TensorSpec([1, 5, 3], tf.float32, name="x"))
    frozen = convert_to_constants.convert_variables_to_constants_v2(fn)
    gd = frozen.graph.as_graph_def()
    outputs = [t.name for t in frozen.outputs]
    return gd, outputs, {"x": weights(1, 5, 3)}


# --- driver ------------------------------------------------------------------------------

MODELS = {
    "while_basic": (while_basic, 1, 0, "counted loop, data-dependent trip count, loop-invariant Enter"),
    "rnn_tensorarray": (lambda: rnn_tensorarray(False), 1, 0, "TensorArrayV3 scatter/read/write/gather/size, known element shapes"),
    "rnn_tensorarray_partial": (lambda: rnn_tensorarray(True), 1, 0, "as rnn_tensorarray with an unknown batch size: partly known element shapes"),
    "tensorarray_dynamic": (tensorarray_dynamic, 1, 0, "dynamic_size TensorArray; element shape only on the gather"),
    "while_nested": (while_nested, 2, 0, "nested frames, inner trip count from the outer counter"),
    "cond_basic": (cond_basic, 0, 1, "v1 cond with two results, captured constant"),
    "cond_nested": (cond_nested, 0, 2, "v1 cond inside a v1 cond branch"),
    "cond_in_loop": (cond_in_loop, 1, 1, "v1 cond inside a while body"),
    "cond_shared_pred": (cond_shared_pred, 0, 3, "three conds on one predicate, one feeding another; constant branches"),
}


def run(gd, outputs, feeds):
    g = tf.Graph()
    with g.as_default():
        tf.compat.v1.import_graph_def(gd, name="")
    with tf.compat.v1.Session(graph=g) as s:
        return s.run(outputs, {f"{k}:0": v for k, v in feeds.items()})


def save_io(path, feeds, results):
    arrays = {f"in_{k}": np.asarray(v) for k, v in feeds.items()}
    arrays.update({f"out_{i}": np.asarray(r) for i, r in enumerate(results)})
    np.savez(path, **arrays)


def make():
    os.makedirs(OUT, exist_ok=True)
    manifest = {}
    items = list(MODELS.items()) + [("keras_gru_lowered", (None, 1, 0, "TF2 functional While lowered by freezing: TensorList loop values"))]
    for name, (maker, whiles, ifs, covers) in items:
        seed_for(name)
        if maker is None:
            gd, outputs, feeds = keras_gru_lowered()
            cases = {"": feeds}
        else:
            build, feeds = maker()
            g, outputs = v1_graph(build)
            gd = g.as_graph_def()
            cases = feeds if all(isinstance(v, dict) for v in feeds.values()) else {"": feeds}
        with open(os.path.join(OUT, f"{name}.pb"), "wb") as f:
            f.write(gd.SerializeToString(deterministic=True))
        io_files = []
        for case, case_feeds in cases.items():
            results = run(gd, outputs, case_feeds)
            io = f"{name}.{case}.io.npz" if case else f"{name}.io.npz"
            save_io(os.path.join(OUT, io), case_feeds, results)
            io_files.append(io)
        ops = sorted({n.op for n in gd.node})
        manifest[name] = {"outputs": outputs, "io": io_files, "while": whiles, "if": ifs, "covers": covers, "ops": ops}
        print(f"{name}: {len(gd.node)} nodes, outputs {outputs}, {len(io_files)} case(s)")
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")


def check(lowered_dir):
    """Runs ferry-lowered graphs in TensorFlow against the recorded outputs."""
    with open(os.path.join(OUT, "manifest.json")) as f:
        manifest = json.load(f)
    failures = 0
    for name, entry in sorted(manifest.items()):
        path = os.path.join(lowered_dir, f"{name}.lowered.pb")
        if not os.path.exists(path):
            print(f"{name}: no lowered graph at {path}")
            failures += 1
            continue
        gd = tf.compat.v1.GraphDef()
        with open(path, "rb") as f:
            gd.ParseFromString(f.read())
        left = sorted({n.op for n in gd.node} & {"Enter", "Exit", "Switch", "Merge", "NextIteration", "LoopCond"})
        whiles = sum(n.op == "While" for n in gd.node) + sum(n.op == "While" for fn in gd.library.function for n in fn.node_def)
        ifs = sum(n.op == "If" for n in gd.node) + sum(n.op == "If" for fn in gd.library.function for n in fn.node_def)
        for io in entry["io"]:
            data = np.load(os.path.join(OUT, io))
            feeds = {k[3:]: data[k] for k in data.files if k.startswith("in_")}
            results = run(gd, entry["outputs"], feeds)
            worst = 0.0
            ok = True
            for i, r in enumerate(results):
                ref = data[f"out_{i}"]
                ok &= r.shape == ref.shape and np.allclose(r, ref, rtol=1e-4, atol=1e-6)
                if r.shape == ref.shape and r.size:
                    worst = max(worst, float(np.max(np.abs(r.astype(np.float64) - ref))))
            status = "ok" if ok and not left and whiles == entry["while"] and ifs == entry["if"] else "FAIL"
            failures += status != "ok"
            print(f"{name} [{io}]: {status}  While {whiles} If {ifs}  v1 ops left {left}  max |diff| {worst:.3g}")
    return failures


def close(got, want):
    """rtol 1e-4 plus 1e-6 absolute for values near zero, as the Rust tests compare."""
    if got.shape != want.shape:
        return False, float("inf")
    if want.dtype.kind in "biu":
        return bool(np.array_equal(got, want)), 0.0
    diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
    worst = float(diff.max()) if diff.size else 0.0
    return bool(np.all(diff <= 1e-6 + 1e-4 * np.abs(want.astype(np.float64)))), worst


def check_onnx(onnx_dir, corpus_models=None):
    """Runs ferry-converted ONNX models in onnxruntime against the recorded outputs."""
    import onnxruntime as ort

    with open(os.path.join(OUT, "manifest.json")) as f:
        manifest = json.load(f)
    jobs = [(name, os.path.join(OUT, io)) for name, entry in sorted(manifest.items()) for io in entry["io"]]
    if corpus_models:
        jobs.append(("tf_small_lstm", os.path.join(corpus_models, "tf_small_lstm.io.npz")))
    failures = 0
    for name, io in jobs:
        path = os.path.join(onnx_dir, f"{name}.onnx")
        if not os.path.exists(path):
            print(f"{name}: no converted model at {path}")
            failures += 1
            continue
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        data = np.load(io)
        feeds = {i.name: data[f"in_{i.name}"] for i in session.get_inputs()}
        results = session.run(None, feeds)
        outs = sorted((k for k in data.files if k.startswith("out_")), key=lambda k: int(k[4:]))
        ok = len(results) == len(outs)
        worst = 0.0
        for r, k in zip(results, outs):
            good, w = close(np.asarray(r), data[k])
            ok &= good
            worst = max(worst, w)
        failures += not ok
        loops = sum(n.op_type == "Loop" for n in _all_nodes(path))
        print(f"{name} [{os.path.basename(io)}]: {'ok' if ok else 'FAIL'}  Loop {loops}  max |diff| {worst:.3g}")
    return failures


def _all_nodes(path):
    import onnx

    def walk(g):
        for n in g.node:
            yield n
            for a in n.attribute:
                if a.type == onnx.AttributeProto.GRAPH:
                    yield from walk(a.g)

    return list(walk(onnx.load(path).graph))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        sys.exit(1 if check(sys.argv[2]) else 0)
    if len(sys.argv) in (3, 4) and sys.argv[1] == "--check-onnx":
        sys.exit(1 if check_onnx(sys.argv[2], sys.argv[3] if len(sys.argv) == 4 else None) else 0)
    if len(sys.argv) != 1:
        sys.exit(__doc__)
    make()
