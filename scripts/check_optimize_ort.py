#!/usr/bin/env python3
"""Numeric sanity check of `ferry optimize` with onnxruntime (until ferry checks numerics itself).

For each model: `ferry optimize MODEL OUT`, then onnxruntime runs the original and OUT on the same
random inputs (N runs, fixed seed; dynamic dims set to --dim) with ORT's own graph optimizations
off, and every output is compared with rtol/atol. A model onnxruntime cannot run, or whose inputs
cannot be made up, is reported as "not checked: <reason>", never as a pass.

Usage (onnxruntime and numpy in the interpreter; /work/shared/anchors/setup.sh prints a venv):
    python scripts/check_optimize_ort.py [--ferry target/release/ferry] [-n 3] [--dim 1]
        [--input-shape NAME:1,3,320,320] MODEL.onnx...
Exit status 1 when any model's outputs differ or `ferry optimize` fails.
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnxruntime as ort

TYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(float16)": np.float16,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(int8)": np.int8,
    "tensor(uint8)": np.uint8,
    "tensor(bool)": np.bool_,
}


def session(path):
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.log_severity_level = 3
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def make_inputs(sess, rng, dim, pinned):
    feeds = {}
    for i in sess.get_inputs():
        if i.type not in TYPES:
            raise ValueError(f"input {i.name} has type {i.type}")
        shape = pinned.get(i.name) or [d if isinstance(d, int) and d >= 0 else dim for d in i.shape]
        dt = TYPES[i.type]
        if dt == np.bool_:
            feeds[i.name] = rng.random(shape) < 0.5
        elif np.issubdtype(dt, np.integer):
            feeds[i.name] = rng.integers(0, 2, size=shape).astype(dt)
        else:
            feeds[i.name] = rng.standard_normal(shape).astype(dt)
    return feeds


def compare(a, b, rtol, atol):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return f"shape/type {a.shape} {a.dtype} vs {b.shape} {b.dtype}"
    if a.dtype.kind in "fc":
        same_nan = np.isnan(a) == np.isnan(b)
        close = np.isclose(a, b, rtol=rtol, atol=atol) | (np.isnan(a) & np.isnan(b))
        if not (same_nan.all() and close.all()):
            return f"max abs diff {np.nanmax(np.abs(a.astype(np.float64) - b)):.3g}"
        return None
    return None if np.array_equal(a, b) else "values differ"


def check(model, ferry, runs, rtol, atol, dim, pinned, tmp):
    out = os.path.join(tmp, os.path.basename(model))
    r = subprocess.run([ferry, "optimize", model, out], capture_output=True, text=True)
    if r.returncode != 0:
        return "FAIL", f"ferry optimize: {r.stderr.strip()[:200]}"
    try:
        s1 = session(model)
    except Exception as e:  # onnxruntime refuses the original: nothing to compare against
        return "not checked", f"onnxruntime cannot load the original: {str(e)[:120]}"
    try:
        s2 = session(out)
    except Exception as e:
        return "FAIL", f"onnxruntime cannot load the result: {str(e)[:160]}"
    rng = np.random.default_rng(0)
    names = [o.name for o in s1.get_outputs()]
    if names != [o.name for o in s2.get_outputs()]:
        return "FAIL", "output names differ"
    for run in range(runs):
        try:
            feeds = make_inputs(s1, rng, dim, pinned)
            want = s1.run(None, feeds)
        except Exception as e:
            return "not checked", f"original does not run on random inputs: {str(e)[:120]}"
        try:
            got = s2.run(None, feeds)
        except Exception as e:
            return "FAIL", f"result does not run where the original does: {str(e)[:160]}"
        for name, a, b in zip(names, want, got):
            why = compare(a, b, rtol, atol)
            if why:
                return "FAIL", f"run {run}: output {name}: {why}"
    return "ok", f"{runs} runs, {len(names)} outputs agree"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--ferry", default="target/release/ferry")
    ap.add_argument("-n", "--runs", type=int, default=3)
    ap.add_argument("--rtol", type=float, default=1e-4)
    ap.add_argument("--atol", type=float, default=1e-5)
    ap.add_argument("--dim", type=int, default=1, help="value for dynamic dims")
    ap.add_argument(
        "--input-shape",
        action="append",
        default=[],
        metavar="NAME:D1,D2",
        help="shape of one input (repeatable); other dynamic dims get --dim",
    )
    args = ap.parse_args()
    pinned = {}
    for spec in args.input_shape:
        name, dims = spec.rsplit(":", 1)
        pinned[name] = [int(d) for d in dims.split(",") if d]
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for m in args.models:
            status, why = check(m, args.ferry, args.runs, args.rtol, args.atol, args.dim, pinned, tmp)
            failed += status == "FAIL"
            print(f"{status:12} {os.path.basename(m)}: {why}", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
