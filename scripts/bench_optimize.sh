#!/usr/bin/env bash
# Whole-process timings of `ferry optimize` that back the optimizer's speed claims (issue 5),
# written as markdown to benches/results/optimize_scaling.md:
#
#  1. scaling: generated transformers of ~1k, 10k, 20k, 50k and 100k nodes and a ~20k-node CNN;
#     `ferry optimize` with its defaults (the numeric check of the rewritten regions) and with
#     `--check 0` (median of RUNS whole processes, /usr/bin/time), `--check 0` with
#     RAYON_NUM_THREADS=1, and `--check-whole` (one run); µs per node; `--json` runs for node
#     counts, the check's scope, the in-process pipeline time and the three most expensive passes;
#  2. anchors: ../shared/anchors/compare.sh on the three largest ONNX models of the corpus (by
#     file size) and on the 50k-node transformer, onnxsim and onnxslim each in its own call with
#     ferry (default flags, numeric check on) timed in the same call, so each ratio comes from
#     one call.
#
#   scripts/bench_optimize.sh [--quick] [OUT.md]
#
# --quick: 1k and 10k transformers, 1k CNN, one run each, compare.sh on the smallest of the
#          three corpus models only; writes /tmp/optimize_scaling.quick.md unless OUT is given.
# Environment: RUNS (default 3), ANCHOR_TIMEOUT seconds per compare.sh call (default 1200),
#   CHECK_TIMEOUT seconds for the --check-whole run (default 900), FERRY_BIN (a built
#   `ferry` to measure instead of building target/release/ferry), WORKDIR (default: a fresh
#   temporary directory, removed at the end; needs ~1 GB).
#
# Generated models: `gen_models transformer --layers L --hidden 64 --ffn 256` (99 nodes per
# layer + 11; small hidden and ffn sizes keep 100k nodes at ~200 MiB) and `gen_models cnn`.
# The benches/optimize.rs criterion bench uses the same shapes in-process.
set -euo pipefail
here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd -- "${here}/.." && pwd)"
anchors="${repo}/../shared/anchors"
corpus="${repo}/../shared/corpus/models"

quick=0
if [ "${1:-}" = "--quick" ]; then quick=1; shift; fi
if [ "${quick}" = 1 ]; then
    out="${1:-/tmp/optimize_scaling.quick.md}"
    runs="${RUNS:-1}"
else
    out="${1:-${repo}/benches/results/optimize_scaling.md}"
    runs="${RUNS:-3}"
fi
anchor_timeout="${ANCHOR_TIMEOUT:-1200}"
check_timeout="${CHECK_TIMEOUT:-900}"

cd "${repo}"
if [ -n "${FERRY_BIN:-}" ]; then
    ferry="${FERRY_BIN}"
else
    cargo build --release -q -p ferry-cli
    ferry="${repo}/target/release/ferry"
fi
cargo build --release -q -p ferry-examples --example gen_models
gen="${repo}/target/release/examples/gen_models"
if [ -n "${WORKDIR:-}" ]; then
    work="${WORKDIR}"; mkdir -p "${work}"
else
    work="$(mktemp -d)"; trap 'rm -rf "${work}"' EXIT
fi

commit="$(git -C "${repo}" rev-parse --short=12 HEAD)"
dirty="$(git -C "${repo}" status --porcelain --untracked-files=no -- crates Cargo.toml Cargo.lock | awk '{print $2}' | tr '\n' ' ')"
started="$(date -u '+%Y-%m-%d %H:%M UTC')"
load_start="$(cut -d' ' -f1-3 /proc/loadavg)"

# median of stdin's numbers
median() { sort -g | awk '{v[NR]=$1} END {if (NR) print v[int((NR+1)/2)]; else print "-"}'; }

# measure LIMIT_S COMMAND... -> "WALL_S RSS_MIB" (medians of ${runs} runs), "timeout" or "fail"
measure() {
    local limit=$1; shift
    local walls="" rsses="" w m rc
    for _ in $(seq "${runs}"); do
        if timeout --kill-after=10 "${limit}" /usr/bin/time -f "%e %M" -o "${work}/time" "$@" > "${work}/log" 2>&1; then
            read -r w m < "${work}/time"
            walls+="${w}"$'\n'; rsses+="${m}"$'\n'
        else
            rc=$?
            if [ "${rc}" = 124 ] || [ "${rc}" = 137 ]; then echo "timeout"; else echo "fail"; fi
            echo "  ($* -> exit ${rc}: $(tail -n 1 "${work}/log"))" >&2
            return 0
        fi
    done
    printf '%s %s\n' "$(printf '%s' "${walls}" | median)" \
        "$(printf '%s' "${rsses}" | median | awk '{printf "%.0f", $1/1024}')"
}

# us_per_node SECONDS NODES
us_per_node() { awk -v s="$1" -v n="$2" 'BEGIN { if (s ~ /^[0-9.]+$/ && n > 0) printf "%.1f", s * 1e6 / n; else print "-" }'; }
# ratio A B -> A/B to one decimal, or "-"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.1f", a / b; else print "-" }'; }

# The models of the scaling table: name, generator arguments.
if [ "${quick}" = 1 ]; then
    series=("tfm_1k transformer --layers 10" "tfm_10k transformer --layers 101" "cnn_1k cnn --blocks 196")
else
    series=("tfm_1k transformer --layers 10" "tfm_10k transformer --layers 101"
            "tfm_20k transformer --layers 202" "tfm_50k transformer --layers 505"
            "tfm_100k transformer --layers 1010" "cnn_20k cnn --blocks 3950")
fi
for entry in "${series[@]}"; do
    read -r name kind args <<< "${entry}"
    extra=()
    [ "${kind}" = transformer ] && extra=(--hidden 64 --ffn 256)
    # shellcheck disable=SC2086
    "${gen}" "${kind}" ${args} "${extra[@]}" "${work}/${name}.onnx" >&2
done

passes="$("${ferry}" optimize --list-passes | wc -l)"
scaling_rows=""
declare -A wall_of
json_run() { # path -> json of one --check 0 --json run (also warms the page cache), or {}
    "${ferry}" optimize --check 0 --json "$1" "${work}/json_out.onnx" 2> "${work}/json_err" || {
        echo "  ferry optimize --json $1 failed: $(tail -n 1 "${work}/json_err")" >&2
        echo '{}'
    }
}
for entry in "${series[@]}"; do
    read -r name _ <<< "${entry}"
    model="${work}/${name}.onnx"
    echo "scaling: ${name}" >&2
    # The in-process pipeline time: median over ${runs} --json runs (the passes, the last run).
    pipes=""
    for _ in $(seq "${runs}"); do
        js="$(json_run "${model}")"
        pipes+="$(jq -r '[.passes[]?.time_ms] | add // empty' <<< "${js}")"$'\n'
    done
    pipe_ms="$(printf '%s' "${pipes}" | grep . | median | awk '{ if ($1 ~ /^[0-9.]+$/) printf "%.0f", $1; else print "-" }')"
    nodes="$(jq -r '.nodes.before // "-"' <<< "${js}")"
    after="$(jq -r '.nodes.after // "-"' <<< "${js}")"
    top3="$(jq -r '[.passes[]? | {name, time_ms}] | sort_by(-.time_ms) | .[:3] | map("\(.name) \(.time_ms | floor)") | join(", ")' <<< "${js}")"
    rounds="$(jq -r '.rounds // "-"' <<< "${js}")"
    scope="$("${ferry}" optimize --json "${model}" "${work}/o.onnx" 2> /dev/null | jq -r '.check | if .scope.whole == false then "\(.scope.checked_values) of \(.scope.rewritten_values) (\(.scope.kinds) kinds), \(.time_ms | floor) ms" else "whole, \(.time_ms // 0 | floor) ms" end' || echo "-")"
    read -r wd rssd <<< "$(measure 600 "${ferry}" optimize "${model}" "${work}/o.onnx")"
    read -r w0 rss0 <<< "$(measure 600 "${ferry}" optimize --check 0 "${model}" "${work}/o.onnx")"
    read -r w1 _ <<< "$(RAYON_NUM_THREADS=1 measure 600 "${ferry}" optimize --check 0 "${model}" "${work}/o.onnx")"
    read -r wc _ <<< "$(runs=1 measure "${check_timeout}" "${ferry}" optimize --check-whole "${model}" "${work}/o.onnx")"
    [ "${wc}" = timeout ] && wc="> ${check_timeout}"
    wall_of[${name}]="${wd}"
    scaling_rows+="| ${name} | ${nodes} | ${after} | ${rounds} | ${pipe_ms} | $(us_per_node "$(awk -v m="${pipe_ms}" 'BEGIN{print m/1000}')" "${nodes}") | ${wd} | $(us_per_node "${wd}" "${nodes}") | ${rssd:-} | ${scope} | ${w0} | $(us_per_node "${w0}" "${nodes}") | ${w1} | $(ratio "${w1}" "${w0}") | ${rss0:-} | ${wc} | ${top3} |"$'\n'
done

# Flatness along the transformer series (whole process and in-process pipeline).
# flatness MIN_NODES: max/min µs per node over the transformers of at least MIN_NODES nodes
# (awk fields: $7 pipeline µs/node, $9 default-flags µs/node, $13 --check 0 µs/node)
flatness() {
    printf '%s' "${scaling_rows}" | awk -F' *\\| *' -v lo="$1" '$2 ~ /^tfm_/ && $3 >= lo && $9 ~ /^[0-9.]+$/ && $13 ~ /^[0-9.]+$/ {
        p = $7; w = $9; z = $13; if (p > pmax) pmax = p; if (pmin == "" || p < pmin) pmin = p
        if (w > wmax) wmax = w; if (wmin == "" || w < wmin) wmin = w
        if (z > zmax) zmax = z; if (zmin == "" || z < zmin) zmin = z; n++ }
        END { if (n > 1 && pmin > 0 && wmin > 0 && zmin > 0) printf "pipeline %.2f, whole process with the default check %.2f, with --check 0 %.2f", pmax / pmin, wmax / wmin, zmax / zmin; else print "-" }'
}
flat="max/min µs per node across the transformer series: $(flatness 0); from 10k nodes up: $(flatness 10000)"

# The 20k-node models against the 1-second target.
twenty=""
for n in tfm_20k cnn_20k; do
    if [ -n "${wall_of[${n}]:-}" ]; then twenty+="${twenty:+, }${n} ${wall_of[${n}]} s"; fi
done

# Anchors: one compare.sh call per anchor, ferry (default flags) timed in the same call.
mapfile -t largest < <(ls -S "${corpus}"/*.onnx | head -n 3)
if [ "${quick}" = 1 ]; then
    compare_models=("${largest[2]}")
else
    compare_models=("${largest[@]}" "${work}/tfm_50k.onnx")
fi
anchor_rows=""
raw=""
field() { # compare.sh output, label, field name -> value after the field name
    awk -v l="$2" -v f="$3" '$1 == l { for (i = 2; i < NF; i++) if ($i == f) { print $(i + 1); exit } }' <<< "$1"
}
for model in "${compare_models[@]}"; do
    base="$(basename "${model}" .onnx)"
    echo "anchors: ${base}" >&2
    js="$(json_run "${model}")"
    nodes="$(jq -r '.nodes.before // "-"' <<< "${js}")"
    fnodes="$(jq -r '.nodes.after // "-"' <<< "${js}")"
    # If the first call times out before ferry's turn, ferry's time from the scaling table.
    ferry_wall="${wall_of[${base}]:-}"
    model_runs="${runs}"
    # A run of an anchor on a generated 50k-node model takes minutes: one run each.
    case "${base}" in tfm_*) model_runs=1 ;; esac
    cells=""
    for anchor in onnxsim onnxslim; do
        set +e
        res="$(RUNS="${model_runs}" timeout --kill-after=30 "${anchor_timeout}" "${anchors}/compare.sh" "${model}" "${anchor}" \
            -- "${ferry}" optimize {} "${work}/cmp_out.onnx" 2>&1)"
        rc=$?
        set -e
        raw+="\$ RUNS=${model_runs} compare.sh ${base}.onnx ${anchor} -- ferry optimize {} OUT   (exit ${rc})"$'\n'"${res}"$'\n\n'
        a_wall="$(field "${res}" "${anchor}" wall)"
        a_nodes="$(field "${res}" "${anchor}" nodes_after)"
        f_wall="$(field "${res}" yours wall)"
        if [ "${rc}" = 124 ] || [ "${rc}" = 137 ]; then
            a_wall="> ${anchor_timeout} (timeout)"; a_nodes="-"
            r="> $(ratio "${anchor_timeout}" "${f_wall:-${ferry_wall}}")"
        elif [ -z "${a_wall}" ]; then
            a_wall="failed"; a_nodes="-"; r="-"
        else
            r="$(ratio "${a_wall}" "${f_wall}")"
        fi
        [ -n "${f_wall}" ] && ferry_wall="${f_wall}"
        cells+="| ${a_nodes:--} | ${a_wall} | ${f_wall:--} | ${r} "
    done
    anchor_rows+="| ${base} | ${nodes} | ${fnodes} ${cells}|"$'\n'
done

load_end="$(cut -d' ' -f1-3 /proc/loadavg)"
tmp_out="$(mktemp "${out}.XXXXXX")"
{
    echo "# ferry optimize: scaling with node count, and speed against onnxsim and onnxslim"
    echo
    echo "Generated by \`scripts/bench_optimize.sh$( [ "${quick}" = 1 ] && echo " --quick")\` on ${started}, measuring commit \`${commit}\`"
    if [ -n "${dirty}" ]; then
        echo "with uncommitted changes in the working tree (other work in progress) in: ${dirty}"
    fi
    echo "($(basename "${ferry}") built from that tree; ${passes} passes in the default pipeline)."
    echo
    echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/^Mem:/ {print $2}') GiB RAM,"
    echo "**shared with other builds and noisy** (load average ${load_start} at the start, ${load_end} at the end):"
    echo "compare ratios measured in one call rather than absolute seconds across runs."
    echo "Times are whole processes (\`/usr/bin/time\`, page cache warm), median of ${runs} runs."
    echo
    echo "## Scaling with node count"
    echo
    echo "Generated models: \`gen_models transformer --layers L --hidden 64 --ffn 256\`, \`gen_models cnn --blocks 3950\`."
    echo "*pipeline ms*: the passes alone, in-process (sum of the per-pass times of a \`--json\` run, median of ${runs});"
    echo "*default s*: \`ferry optimize IN OUT\` (load, passes, validation, the numeric check of the rewritten"
    echo "regions in tract, save); *check scope*: rewritten values run of all, kinds of rewrite, and the check's"
    echo "in-process time; *check 0 s*: the same with \`--check 0\`; *1 thread s*: that with"
    echo "\`RAYON_NUM_THREADS=1\`, *speedup* = 1 thread / all threads; *whole check s*: \`--check-whole\`"
    echo "(both whole models run in tract; one run). Pass times in ms, from the last \`--json\` run."
    echo
    echo "| model | nodes | after | rounds | pipeline ms | pipeline µs/node | default s | µs/node | peak MiB | check scope | check 0 s | µs/node | 1 thread s | speedup | check 0 peak MiB | whole check s | most expensive passes (ms) |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    printf '%s' "${scaling_rows}"
    echo
    echo "${flat}."
    echo "(At 1k nodes a run takes tens of milliseconds, the size of the shared machine's scheduling noise.)"
    echo "20k-node models with the default flags (numeric check on), whole process: ${twenty:-not measured (--quick)} (target: under 1 s)."
    echo
    echo "## Against onnxsim and onnxslim"
    echo
    echo "\`../shared/anchors/compare.sh MODEL ANCHOR -- ferry optimize {} OUT\` (ferry's defaults: numeric check on), one call per"
    echo "anchor, so each *x* (anchor wall / ferry wall) compares times taken in one call. Anchors load,"
    echo "simplify and save in Python (onnxsim: \`onnxsim.simplify\`, no check; onnxslim: \`onnxslim.slim\`)."
    echo "The three largest ONNX models of the corpus by file size, and the 50k-node transformer"
    echo "(one run per tool there; timeout ${anchor_timeout} s per call). Nodes include subgraphs."
    echo "Targets: x at least 10 against onnxsim and 5 against onnxslim."
    echo
    echo "| model | nodes | ferry nodes | onnxsim nodes | onnxsim s | ferry s | x | onnxslim nodes | onnxslim s | ferry s | x |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|"
    printf '%s' "${anchor_rows}"
    echo
    echo "<details><summary>compare.sh output</summary>"
    echo
    echo '```'
    printf '%s' "${raw}"
    echo '```'
    echo
    echo "</details>"
} > "${tmp_out}"
mv "${tmp_out}" "${out}"
echo "wrote ${out}" >&2
