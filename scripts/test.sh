#!/usr/bin/env bash
# The project's single test command: scripts/test.sh [extra cargo test args]
#
# 1. fetches the pinned ONNX conformance cases (scripts/fetch-conformance.sh),
# 2. exports for the Rust tests:
#      FERRY_CONFORMANCE_DIR=<repo>/.conformance/onnx-1.22.0
#      FERRY_REQUIRE_CONFORMANCE=1   (tests fail, not skip, if the cases are missing)
#      FERRY_CORPUS=<repo>/../shared/corpus   (only if that folder exists)
#      FERRY_PYTHON=<venv python with onnx==1.23.2> (scripts/testdata-venv.sh), FERRY_REQUIRE_PYTHON=1
# 3. runs cargo test --workspace --release "$@" (release: the round-trip
#    tests read thousands of models).
# Works from any directory.
set -euo pipefail

script_dir="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd -- "${script_dir}/.." && pwd)"
cd "${repo_root}"

bash "${script_dir}/fetch-conformance.sh"

export FERRY_CONFORMANCE_DIR="${repo_root}/.conformance/onnx-1.22.0"
export FERRY_REQUIRE_CONFORMANCE=1
corpus="${repo_root}/../shared/corpus"
if [ -d "${corpus}" ]; then
    FERRY_CORPUS="$(cd -- "${corpus}" && pwd)"
    export FERRY_CORPUS
    echo "test.sh: FERRY_CORPUS=${FERRY_CORPUS}"
else
    unset FERRY_CORPUS
    echo "test.sh: no corpus at ${corpus}; FERRY_CORPUS left unset"
fi
echo "test.sh: FERRY_CONFORMANCE_DIR=${FERRY_CONFORMANCE_DIR}"

# A Python with the pinned onnx, for the tests that compare committed tables with their
# generators (e.g. the operator schema table).
FERRY_PYTHON="$(bash "${script_dir}/testdata-venv.sh")"
export FERRY_PYTHON
export FERRY_REQUIRE_PYTHON=1
echo "test.sh: FERRY_PYTHON=${FERRY_PYTHON}"

# With no arguments: run every test binary even if one fails (so one run shows every
# failure), and show what passing tests print (the round-trip and agreement counts).
if [ "$#" -eq 0 ]; then
    set -- --no-fail-fast -- --show-output
fi
exec cargo test --workspace --release "$@"
