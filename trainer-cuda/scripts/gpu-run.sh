#!/usr/bin/env bash
# The GPU session: runs a CUDA bundle (from build-cuda.sh) on a GPU machine without Rust or
# network, and writes every log and table under OUT_DIR.
#
#   trainer-cuda/scripts/gpu-run.sh OUT_DIR
#
# Steps, each under `timeout`, all within GPU_RUN_BUDGET_S (default 480 s):
#   info        nvidia-smi, the bundle's build info, where the CUDA libraries resolve
#   throughput  `throughput --model mnist-cnn --device cuda` at batch 128 and 1024
#   torch       the same model and batches in PyTorch on the same GPU (torch_throughput_gpu.py)
#   tests       every bundled test binary, filtered by GPU_TEST_FILTER (default cuda)
#   compare     `onecycle compare --dataset mnist --full --budgets COMPARE_BUDGETS (default
#               0.25,0.5,1) --seeds 1 --device cuda` (the study, one seed) on the bundled MNIST
# Then summary.md: each step's status and seconds, the throughput rows and the img/s ratios.
# Environment: BUNDLE (default <repo>/target/cuda-bundle), PYTHON (default python3),
# GPU_RUN_BUDGET_S, GPU_TEST_FILTER, COMPARE_BUDGETS, THROUGHPUT_STEPS (default 50).
# Exit status: 0 when every step passed, 1 otherwise (the logs are written either way).
set -uo pipefail

[ "$#" -eq 1 ] || { echo "usage: gpu-run.sh OUT_DIR" >&2; exit 2; }
scripts="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$scripts/../.." && pwd)"
bundle="${BUNDLE:-$repo/target/cuda-bundle}"
python="${PYTHON:-python3}"
budget="${GPU_RUN_BUDGET_S:-480}"
filter="${GPU_TEST_FILTER:-cuda}"
budgets="${COMPARE_BUDGETS:-0.25,0.5,1}"
steps="${THROUGHPUT_STEPS:-50}"
out="$1"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
[ -x "$bundle/run.sh" ] || { echo "gpu-run.sh: no bundle at $bundle: run build-cuda.sh and carry it (BUNDLE=...)" >&2; exit 2; }
run="$bundle/run.sh"
start=$SECONDS
failed=0
: >"$out/steps.tsv"

# step NAME CAP_SECONDS CMD...: runs CMD with stdout+stderr in NAME.log, bounded by CAP and by
# what is left of the budget (30 s kept back for the summary).
step() {
    local name="$1" cap="$2" left rc t0
    shift 2
    left=$((budget - (SECONDS - start) - 30))
    [ "$cap" -le "$left" ] || cap="$left"
    if [ "$cap" -lt 5 ]; then
        printf '%s\tskipped\t0\tbudget spent\n' "$name" >>"$out/steps.tsv"
        failed=1
        return 0
    fi
    t0=$SECONDS
    echo "== $name (up to ${cap}s): $*" >&2
    # bash -c so that the exported shell functions (info, run_tests) run under timeout too.
    timeout -k 10 "$cap" bash -c '"$@"' step "$@" >"$out/$name.log" 2>&1
    rc=$?
    local status=ok
    [ "$rc" -eq 0 ] || { status="failed rc=$rc"; failed=1; }
    [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && status="timed out after ${cap}s"
    printf '%s\t%s\t%s\t%s\n' "$name" "$status" "$((SECONDS - t0))" "$*" >>"$out/steps.tsv"
    echo "   $status in $((SECONDS - t0))s" >&2
    return 0
}

info() {
    nvidia-smi
    nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total --format=csv
    echo
    cat "$bundle/BUILD-INFO.txt"
    echo
    ldd --version | head -1
    "$run" --libs
    "$python" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))'
}
export bundle run python filter
export -f info
step info 60 info

for b in 128 1024; do
    step "throughput-b$b" 90 "$run" throughput --model mnist-cnn --batch "$b" --steps "$steps" --device cuda
    step "torch-b$b" 90 "$python" "$scripts/torch_throughput_gpu.py" --model mnist-cnn --batch "$b" --steps "$steps" --device cuda
done

run_tests() {
    local t rc=0
    for t in $("$run" --list | sed -n 's/^test //p'); do
        echo "### $t $filter"
        "$run" test "$t" "$filter" --test-threads=1 || rc=1
    done
    return "$rc"
}
export -f run_tests
step tests 180 run_tests

# MNIST: the bundle carries it gzipped; unpacked here so any loader reads it.
data="$out/.data"
if ls "$bundle"/data/mnist/*.gz >/dev/null 2>&1; then
    mkdir -p "$data/mnist"
    for f in "$bundle"/data/mnist/*.gz; do
        g="${f##*/}"
        gzip -dc "$f" >"$data/mnist/${g%.gz}"
    done
elif [ -d "$repo/data/mnist" ]; then
    data="$repo/data"
fi
step compare 300 "$run" onecycle compare --dataset mnist --full --budgets "$budgets" --seeds 1 --device cuda \
    --data-dir "$data" --out "$out/compare"
[ "$data" = "$out/.data" ] && rm -rf "$data"

# summary.md: step table, throughput rows, img/s ratios (Rust / PyTorch).
{
    echo "# gpu-run $(date -u +%FT%TZ), $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null)"
    echo
    echo "| step | status | seconds | command |"
    echo "|---|---|---|---|"
    sed 's/\t/ | /g; s/^/| /; s/$/ |/' "$out/steps.tsv"
    echo
    echo "## throughput (mnist-cnn, synthetic data)"
    echo
    cat "$out"/throughput-b*.log "$out"/torch-b*.log 2>/dev/null | grep -E '^\| (dfdx|torch)' || echo "(no rows)"
    echo
    for b in 128 1024; do
        r="$(grep -E '^\| dfdx' "$out/throughput-b$b.log" 2>/dev/null | awk -F'|' '{ gsub(/ /, "", $7); print $7 }' | tail -1)"
        p="$(grep -E '^\| torch' "$out/torch-b$b.log" 2>/dev/null | awk -F'|' '{ gsub(/ /, "", $7); print $7 }' | tail -1)"
        if [ -n "$r" ] && [ -n "$p" ]; then
            awk -v b="$b" -v r="$r" -v p="$p" 'BEGIN { printf "batch %s: dfdx %s img/s, torch %s img/s, ratio dfdx/torch %.3f\n\n", b, r, p, r / p }'
        else
            echo "batch $b: no ratio (dfdx '${r:-none}', torch '${p:-none}')"
            echo
        fi
    done
    echo "## tests ($filter)"
    echo
    grep -E '^### |^test result|FAILED|panicked' "$out/tests.log" 2>/dev/null | head -60
} >"$out/summary.md"
cat "$out/summary.md"
exit "$failed"
