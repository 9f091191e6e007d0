"""Time `ferry convert` against tf2onnx on the corpus TensorFlow models (whole process, wall
clock, median of several runs) and count Transposes in the Keras CNN after `ferry optimize`
against tf2onnx's output; print the Markdown table of benches/results/tf_convert_vs_tf2onnx.md.

    py="$(scripts/tf/venv.sh)"
    cargo build --release -p ferry-cli
    "$py" scripts/tf/bench_vs_tf2onnx.py [--keras-apps] > benches/results/tf_convert_vs_tf2onnx.md

With --keras-apps it also freezes Keras application nets (MobileNetV2, EfficientNetB0,
ResNet50; weights=None, seeded) into a temporary directory and compares on them too.
"""

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import onnx
import tf2onnx

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FERRY = os.environ.get("FERRY_BIN", os.path.join(REPO, "target", "release", "ferry"))
CORPUS = os.environ.get("FERRY_CORPUS", os.path.join(REPO, "..", "shared", "corpus"))
MODELS = os.path.join(CORPUS, "models")
CASES = [
    ("tf_small_cnn.frozen.pb", ["--graphdef"], "x:0", "Identity:0"),
    ("tf_small_transformer_tanhgelu.frozen.pb", ["--graphdef"], "x:0", "Identity:0"),
    ("tf_small_lstm.frozen.pb", ["--graphdef"], "x:0", "Identity:0"),
    ("tf_small_cnn.savedmodel", ["--saved-model"], None, None),
]
FERRY_RUNS, TF2ONNX_RUNS = 11, 3


def wall(cmd, runs):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, text=True)
        times.append(time.perf_counter() - t)
        if p.returncode != 0:
            sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr[-2000:]}")
    return statistics.median(times)


def transposes(path):
    return sum(1 for n in onnx.load(path).graph.node if n.op_type == "Transpose")


def short(cmd, tmp):
    """The command as a reader would type it: repository-relative paths, `python`, `out.onnx`."""
    words = []
    for c in cmd:
        if c == sys.executable:
            words.append("python")
        elif c.startswith(tmp):
            words.append(os.path.basename(c))
        elif os.path.exists(c):
            words.append(os.path.relpath(c, REPO))
        else:
            words.append(c)
    return " ".join(words)


KERAS_APPS = [("MobileNetV2", (1, 96, 96, 3)), ("EfficientNetB0", (1, 64, 64, 3)),
              ("ResNet50", (1, 64, 64, 3))]


def freeze_keras_apps(d):
    """Frozen GraphDefs of Keras application nets (random weights): (file, input, output)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    keras.utils.set_random_seed(11)
    out = []
    for name, shape in KERAS_APPS:
        model = getattr(keras.applications, name)(input_shape=shape[1:], weights=None, classes=10)
        f = tf.function(lambda x, m=model: m(x)).get_concrete_function(
            tf.TensorSpec(shape, tf.float32, name="x"))
        gd = convert_variables_to_constants_v2(f).graph.as_graph_def()
        path = os.path.join(d, f"{name}.frozen.pb")
        with open(path, "wb") as fh:
            fh.write(gd.SerializeToString())
        out.append((path, "x:0", "Identity:0"))
    return out


def compare_apps(d):
    rows = []
    for path, inp, out in freeze_keras_apps(d):
        f_out, t_out = os.path.join(d, "ferry.onnx"), os.path.join(d, "tf2onnx.onnx")
        opt = os.path.join(d, "ferry.opt.onnx")
        ft = wall([FERRY, "convert", path, f_out], 5)
        tt = wall([sys.executable, "-m", "tf2onnx.convert", "--graphdef", path, "--output", t_out,
                   "--opset", "17", "--inputs", inp, "--outputs", out], 1)
        subprocess.run([FERRY, "optimize", f_out, opt], check=True, capture_output=True)
        size = os.path.getsize(path)
        rows.append((os.path.basename(path), size, ft, tt, transposes(f_out), transposes(opt),
                     transposes(t_out)))
    return rows


def main():
    apps = []
    if "--keras-apps" in sys.argv:
        with tempfile.TemporaryDirectory() as d:
            apps = compare_apps(d)
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for name, flag, inp, out in CASES:
            model = os.path.join(MODELS, name)
            f_out, t_out = os.path.join(d, "ferry.onnx"), os.path.join(d, "tf2onnx.onnx")
            ferry_cmd = [FERRY, "convert", model, f_out]
            t_cmd = [sys.executable, "-m", "tf2onnx.convert", *flag, model, "--output", t_out,
                     "--opset", "17"]
            if inp:
                t_cmd += ["--inputs", inp, "--outputs", out]
            ft = wall(ferry_cmd, FERRY_RUNS)
            tt = wall(t_cmd, TF2ONNX_RUNS)
            rows.append((name, ft, tt, short(ferry_cmd, d), short(t_cmd, d)))
        cnn = os.path.join(MODELS, "tf_small_cnn.frozen.pb")
        conv, opt = os.path.join(d, "cnn.onnx"), os.path.join(d, "cnn.opt.onnx")
        subprocess.run([FERRY, "convert", cnn, conv], check=True, capture_output=True)
        subprocess.run([FERRY, "optimize", conv, opt], check=True, capture_output=True)
        counts = (transposes(conv), transposes(opt),
                  transposes(os.path.join(MODELS, "tf_small_cnn.tf2onnx.onnx")))

    print("# `ferry convert` vs tf2onnx on the corpus TensorFlow models\n")
    print(f"Made by `scripts/tf/bench_vs_tf2onnx.py` (tf2onnx {tf2onnx.__version__}, "
          f"{platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} cores). Whole process, wall clock: median of {FERRY_RUNS} runs "
          f"for ferry (release build), {TF2ONNX_RUNS} for tf2onnx (which imports TensorFlow).\n")
    print("| model | ferry convert | tf2onnx | speedup |")
    print("|---|---:|---:|---:|")
    for name, ft, tt, _, _ in rows:
        print(f"| `{name}` | {ft * 1e3:.1f} ms | {tt:.2f} s | {tt / ft:.0f}x |")
    print("\nMost of tf2onnx's time is starting Python and importing TensorFlow, which a user "
          "of tf2onnx pays on every conversion; ferry's times include its own full check "
          "(`ferry_check::validate`, with shape inference) and the atomic write.")
    print("\nCommands (from the repository root, corpus at `../shared/corpus`):\n")
    print("```")
    for _, _, _, fc, tc in rows:
        print(fc)
        print(tc)
    print("```\n")
    print("## Transposes in the Keras CNN (`tf_small_cnn.frozen.pb`)\n")
    print("| ferry convert | ferry convert + ferry optimize | tf2onnx (corpus `tf_small_cnn.tf2onnx.onnx`) |")
    print("|---:|---:|---:|")
    print(f"| {counts[0]} | {counts[1]} | {counts[2]} |")
    print("\nferry keeps NHWC tensors channels-first inside the conv stack (element-wise ops, "
          "BiasAdd, pooling and the final global mean work on either layout), so the only "
          "Transpose is the one into the first convolution.")
    if apps:
        print("\n## Keras application nets (not in the corpus; `--keras-apps`)\n")
        print("Frozen from `keras.applications` with `weights=None` (seeded) by the script; "
              "ferry: median of 5 runs, tf2onnx: one run. Transposes: ferry convert / "
              "after ferry optimize / tf2onnx.\n")
        print("| model | .pb size | ferry convert | tf2onnx | speedup | Transposes (ferry / optimized / tf2onnx) |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, size, ft, tt, a, b, c in apps:
            print(f"| `{name}` | {size / 1e6:.1f} MB | {ft * 1e3:.0f} ms | {tt:.1f} s | "
                  f"{tt / ft:.0f}x | {a} / {b} / {c} |")


if __name__ == "__main__":
    main()
