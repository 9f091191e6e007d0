#!/usr/bin/env bash
# Big-model measurements for the closing notes (issue "Models past 2 GB with flat memory"):
# wall time and peak RSS of `ferry info` and `ferry convert` on a ~3 GB external-data model and
# a ~1.6 GB inline model, next to `cat` from page cache and onnx.load, and a check that the
# converted model passes onnx's checker with byte-identical tensors.
#
#   scripts/bench_big_models.sh [WORKDIR]      (default /tmp/ferry-big; needs ~10 GB of disk)
#
# Models come from ../shared/anchors/gen_models.py (dense_ext_3GB, dense_inline_1p5GB); the
# anchors' venv (../shared/anchors/setup.sh) provides onnx for the reference side.
set -euo pipefail
here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd -- "${here}/.." && pwd)"
work="${1:-/tmp/ferry-big}"
anchors="${repo}/../shared/anchors"
venv="$("${anchors}/setup.sh" | tail -n 1)"
py="${venv}/bin/python"
mkdir -p "${work}"
[ -f "${work}/dense_ext_3GB.onnx" ] || "${py}" "${anchors}/gen_models.py" "${work}" dense_ext_3GB
[ -f "${work}/dense_inline_1p5GB.onnx" ] || "${py}" "${anchors}/gen_models.py" "${work}" dense_inline_1p5GB
(cd "${repo}" && cargo build --release -q -p ferry-cli)
ferry="${repo}/target/release/ferry"

measure() { # label, command...
    local label=$1; shift
    local best=""
    for _ in 1 2 3; do
        /usr/bin/time -f "%e %M" -o "${work}/t" "$@" > /dev/null 2> "${work}/err" || { echo "${label}: failed: $(tail -n 1 "${work}/err")"; return; }
        best="${best}$(cat "${work}/t")"$'\n'
    done
    printf '%-44s %s\n' "${label}" "$(printf '%s' "${best}" | sort -n | sed -n 2p | awk '{printf "wall %6.2f s  peak %8.1f MiB", $1, $2/1024}')"
}

ext="${work}/dense_ext_3GB.onnx"
data_bytes=$(stat -c %s "${ext}.data")
echo "external-data model: $(basename "${ext}") + $(( data_bytes / 1048576 )) MiB of data"
cat "${ext}" "${ext}.data" > /dev/null
measure "cat (page cache)" sh -c "cat '${ext}' '${ext}.data' > /dev/null"
measure "ferry info" "${ferry}" info "${ext}"
measure "ferry convert (same directory)" "${ferry}" convert "${ext}" "${work}/same_dir.onnx"
rm -rf "${work}/out"; mkdir -p "${work}/out"
measure "ferry convert --external-data (other dir)" "${ferry}" convert "${ext}" "${work}/out/model.onnx" --external-data weights.bin --align 65536
measure "cp + sync of the data (floor for a copy)" sh -c "cp '${ext}.data' '${work}/out/copy.bin' && sync"
rm -f "${work}/out/copy.bin"
"${py}" - "${ext}" "${work}/out/model.onnx" <<'PY'
import sys, onnx
from onnx import numpy_helper
onnx.checker.check_model(sys.argv[2], full_check=True)
a, b = onnx.load(sys.argv[1]), onnx.load(sys.argv[2])
same = all(numpy_helper.to_array(x).tobytes() == numpy_helper.to_array(y).tobytes()
           for x, y in zip(a.graph.initializer, b.graph.initializer))
print(f"onnx.checker.check_model(path, full_check=True): ok; {len(a.graph.initializer)} tensors byte-identical: {same}")
PY

inl="${work}/dense_inline_1p5GB.onnx"
echo "inline model: $(basename "${inl}") $(( $(stat -c %s "${inl}") / 1048576 )) MiB"
cat "${inl}" > /dev/null
measure "cat (page cache)" sh -c "cat '${inl}' > /dev/null"
measure "ferry info (load)" "${ferry}" info "${inl}"
measure "onnx.load" "${py}" -c "import onnx,sys; onnx.load(sys.argv[1])" "${inl}"
measure "ferry convert --external-data" "${ferry}" convert "${inl}" "${work}/out/inl.onnx" --external-data
