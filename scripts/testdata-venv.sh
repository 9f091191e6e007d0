#!/usr/bin/env bash
# Create (or reuse) the Python venv for the testdata generator and the
# reference scripts, with the pinned packages of
# scripts/requirements-testdata.txt, and print the venv's python path on
# stdout (everything else goes to stderr). Idempotent: the venv is rebuilt
# only when the requirements file changed.
#
#   py="$(scripts/testdata-venv.sh)"
#   "$py" testdata/make_testdata.py
#
# Location: $FERRY_TESTDATA_VENV, default $HOME/.cache/ferry-testdata-venv.
set -euo pipefail

script_dir="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
req="${script_dir}/requirements-testdata.txt"
venv="${FERRY_TESTDATA_VENV:-${HOME}/.cache/ferry-testdata-venv}"
base_python="${PYTHON:-python3}"
py="${venv}/bin/python"
stamp="${venv}/.ferry-requirements"

want="$("${base_python}" -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "${req}")"

if [ -x "${py}" ] && [ -f "${stamp}" ] && [ "$(cat "${stamp}")" = "${want}" ]; then
    echo "${py}"
    exit 0
fi

echo "testdata-venv: setting up ${venv}" >&2
if [ ! -x "${py}" ]; then
    mkdir -p "$(dirname -- "${venv}")"
    "${base_python}" -m venv "${venv}" >&2
fi
"${py}" -m pip install --quiet --disable-pip-version-check -r "${req}" >&2
"${py}" -c 'import onnx, numpy; print("testdata-venv: onnx", onnx.__version__, "numpy", numpy.__version__)' >&2
printf '%s\n' "${want}" >"${stamp}"
echo "${py}"
