#!/usr/bin/env bash
# Create (or reuse) the Python venv with TensorFlow, tf2onnx, onnx and onnxruntime for the
# TensorFlow frontend's reference scripts (scripts/tf/*.py), and print the venv's python path
# on stdout (everything else goes to stderr). Idempotent: the venv is rebuilt only when
# requirements.txt changed. When TensorFlow imports, `$venv/.ready` is touched so that other
# tools waiting for the venv can start.
#
#   py="$(scripts/tf/venv.sh)"
#   "$py" scripts/tf/make_tf_testdata.py
#
# Location: $FERRY_TF_VENV, default $HOME/.cache/ferry-tf-venv.
set -euo pipefail

script_dir="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
req="${script_dir}/requirements.txt"
venv="${FERRY_TF_VENV:-${HOME}/.cache/ferry-tf-venv}"
base_python="${PYTHON:-python3}"
py="${venv}/bin/python"
stamp="${venv}/.ferry-requirements"

want="$("${base_python}" -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "${req}")"

if [ -x "${py}" ] && [ -f "${stamp}" ] && [ "$(cat "${stamp}")" = "${want}" ] && [ -f "${venv}/.ready" ]; then
    echo "${py}"
    exit 0
fi

echo "tf-venv: setting up ${venv}" >&2
if [ ! -x "${py}" ]; then
    mkdir -p "$(dirname -- "${venv}")"
    "${base_python}" -m venv "${venv}" >&2
fi
"${py}" -m pip install --quiet --disable-pip-version-check -r "${req}" >&2
"${py}" -c 'import tensorflow as tf, tf2onnx, onnx, onnxruntime, numpy; print("tf-venv: tensorflow", tf.__version__, "tf2onnx", tf2onnx.__version__, "onnx", onnx.__version__, "onnxruntime", onnxruntime.__version__, "numpy", numpy.__version__)' >&2
printf '%s\n' "${want}" >"${stamp}"
touch "${venv}/.ready"
echo "${py}"
