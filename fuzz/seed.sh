#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with seed inputs: every testdata/onnx/**/*.onnx, plus a small model
# whose two initializers live in `w.bin` (the data file the load_file target writes beside each
# input), so that external-data resolution is reachable from the start.
# Usage: fuzz/seed.sh   (from any directory; the corpus folders are gitignored)
set -euo pipefail

fuzz_dir="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd -- "${fuzz_dir}/.." && pwd)"

# ModelProto (ir 10, opset 21): initializers w (FLOAT[4], w.bin offset 64 length 16) and all
# (FLOAT[1024], the whole 4 KiB of w.bin), each -> Identity -> output.
w_bin_model='\x08\x0a\x42\x02\x10\x15\x3a\xa7\x01\x0a\x10\x0a\x01\x77\x12\x01\x79\x22\x08\x49\x64\x65\x6e\x74\x69\x74\x79\x0a\x12\x0a\x03\x61\x6c\x6c\x12\x01\x7a\x22\x08\x49\x64\x65\x6e\x74\x69\x74\x79\x12\x01\x67\x2a\x38\x08\x04\x10\x01\x42\x01\x77\x6a\x11\x0a\x08\x6c\x6f\x63\x61\x74\x69\x6f\x6e\x12\x05\x77\x2e\x62\x69\x6e\x6a\x0c\x0a\x06\x6f\x66\x66\x73\x65\x74\x12\x02\x36\x34\x6a\x0c\x0a\x06\x6c\x65\x6e\x67\x74\x68\x12\x02\x31\x36\x70\x01\x2a\x1f\x08\x80\x08\x10\x01\x42\x03\x61\x6c\x6c\x6a\x11\x0a\x08\x6c\x6f\x63\x61\x74\x69\x6f\x6e\x12\x05\x77\x2e\x62\x69\x6e\x70\x01\x62\x0f\x0a\x01\x79\x12\x0a\x0a\x08\x08\x01\x12\x04\x0a\x02\x08\x04\x62\x10\x0a\x01\x7a\x12\x0b\x0a\x09\x08\x01\x12\x05\x0a\x03\x08\x80\x08'

for target in load_bytes load_file; do
    out="${fuzz_dir}/corpus/${target}"
    mkdir -p "${out}"
    count=0
    while IFS= read -r -d '' f; do
        rel="${f#"${repo_root}/testdata/onnx/"}"
        cp "${f}" "${out}/testdata_${rel//\//_}"
        count=$((count + 1))
    done < <(find "${repo_root}/testdata/onnx" -name '*.onnx' -type f -print0 | sort -z)
    printf '%b' "${w_bin_model}" > "${out}/external_w_bin.onnx"
    echo "seed.sh: ${out}: ${count} testdata models + external_w_bin.onnx"
done
