"""Check ferry's TensorFlow conversions against TensorFlow itself.

For each TensorFlow model (frozen .pb or SavedModel directory) given, or every one under the
corpus (FERRY_CORPUS, default ../shared/corpus) and testdata/tf/: convert it with `ferry convert`,
check the result with onnx.checker, run it in onnxruntime on the recorded inputs
(`<model>.io.npz`: `in_<name>`, `out_K`), run the original in TensorFlow on the same inputs, and
compare both ways (rtol 1e-4, atol 1e-5). Prints one line per model; exits non-zero on any
mismatch.

    py="$(scripts/tf/venv.sh)"
    cargo build --release -p ferry-cli
    "$py" scripts/tf/check_tf_convert.py [MODEL ...]
"""

import glob
import os
import subprocess
import sys
import tempfile

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import tensorflow as tf  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FERRY = os.environ.get("FERRY_BIN", os.path.join(REPO, "target", "release", "ferry"))
RTOL, ATOL = 1e-4, 1e-5


def sidecar(model):
    base = model
    for suffix in (".frozen.pb", ".savedmodel", ".pb"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            break
    return base + ".io.npz"


def run_tf(model, feeds):
    """TensorFlow's outputs, in the order of the ONNX model's outputs."""
    if os.path.isdir(model):
        loaded = tf.saved_model.load(model)
        fn = loaded.signatures["serving_default"]
        res = fn(**{k: tf.constant(v) for k, v in feeds.items()})
        return [res[k].numpy() for k in sorted(res)]
    gd = tf.compat.v1.GraphDef()
    with open(model, "rb") as f:
        gd.ParseFromString(f.read())
    consumed = {i.lstrip("^").split(":")[0] for n in gd.node for i in n.input}
    silent = {"NoOp", "Const", "Placeholder", "Assert", "SaveV2", "AssignVariableOp"}
    sinks = [n.name for n in gd.node if n.name not in consumed and n.op not in silent]
    with tf.Graph().as_default() as g:
        tf.compat.v1.import_graph_def(gd, name="")
        with tf.compat.v1.Session(graph=g) as s:
            return s.run([f"{n}:0" for n in sinks], {f"{k}:0": v for k, v in feeds.items()})


def check(model):
    npz = sidecar(model)
    if not os.path.exists(npz):
        return f"SKIP {model}: no {os.path.basename(npz)}", True
    io = np.load(npz)
    feeds = {k[3:]: io[k] for k in io.files if k.startswith("in_")}
    expected = [io[f"out_{i}"] for i in range(len([k for k in io.files if k.startswith("out_")]))]
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "m.onnx")
        p = subprocess.run([FERRY, "convert", model, out], capture_output=True, text=True)
        if p.returncode != 0:
            return f"FAIL {model}: ferry convert: {p.stderr.strip()}", False
        m = onnx.load(out)
        onnx.checker.check_model(m, full_check=True)
        sess = ort.InferenceSession(out, providers=["CPUExecutionProvider"])
        names = [i.name for i in sess.get_inputs()]
        got = sess.run(None, {n: feeds[n] for n in names})
    ok = True
    msgs = []
    reference = run_tf(model, feeds)
    for i, g in enumerate(got):
        for what, ref in (("recorded", expected[i] if i < len(expected) else None), ("tensorflow", reference[i])):
            if ref is None:
                continue
            if g.shape != ref.shape or not np.allclose(g, ref, rtol=RTOL, atol=ATOL):
                ok = False
                diff = np.max(np.abs(g.astype(np.float64) - ref)) if g.shape == ref.shape else "shape"
                msgs.append(f"out_{i} vs {what}: max diff {diff}")
            else:
                diff = float(np.max(np.abs(g.astype(np.float64) - ref))) if g.size else 0.0
                msgs.append(f"out_{i} vs {what}: max |diff| {diff:.2e}")
    return ("ok   " if ok else "FAIL ") + f"{model}: onnx.checker ok; " + "; ".join(msgs), ok


def main():
    models = sys.argv[1:]
    if not models:
        corpus = os.environ.get("FERRY_CORPUS", os.path.join(REPO, "..", "shared", "corpus"))
        models = sorted(glob.glob(os.path.join(corpus, "models", "tf_*.frozen.pb")))
        models += sorted(glob.glob(os.path.join(corpus, "models", "tf_*.savedmodel")))
        models += sorted(glob.glob(os.path.join(REPO, "testdata", "tf", "*.pb")))
        models += sorted(glob.glob(os.path.join(REPO, "testdata", "tf", "*.savedmodel")))
    all_ok = True
    for m in models:
        line, ok = check(m)
        print(line, flush=True)
        all_ok &= ok
    sys.exit(0 if all_ok else 1)


if __name__ == "__main__":
    main()
