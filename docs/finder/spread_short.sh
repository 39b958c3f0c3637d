#!/usr/bin/env bash
# The amendment of docs/finder/PROTOCOL.md: the short sweeps' combined edge over 10 seeds on
# MNIST and Fashion-MNIST (full training sets, weight decay 5e-4 as the study), one JSON and
# the curves per seed in docs/finder/spread-short/ (kept when present), then the spread.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --locked -p trainer-cuda
bin=target/release/onecycle
out=docs/finder/spread-short
mkdir -p "$out"
for ds in mnist fashion-mnist; do
    for seed in 0 1 2 3 4 5 6 7 8 9; do
        f=$out/$ds-$seed
        [ -f "$f.json" ] && continue
        "$bin" find-lr --dataset "$ds" --seed "$seed" --weight-decay 5e-4 --device cpu --quiet \
            --sweeps 3 --sweep-batch-size 32 --steps 80 --start-lr 1e-3 --end-lr 10 \
            --format json --csv "$f.csv" > "$f.json.tmp"
        mv "$f.json.tmp" "$f.json"
    done
done
python3 - "$out" <<'PY'
import glob, json, os, sys
out = sys.argv[1]
print("| data set | combined edge, median | max / min (3 sweeps) | max / min (sweep 1 alone) | median in-run spread |")
print("|---|---|---|---|---|")
for ds in ("mnist", "fashion-mnist"):
    docs = [json.load(open(f"{out}/{ds}-{s}.json")) for s in range(10)]
    med = lambda v: sorted(v)[(len(v) - 1) // 2]
    e = [d["edge"] for d in docs]
    one = [d["edges"][0] for d in docs]
    sp = [d["spread"] for d in docs]
    print(f"| {ds} | {med(e):.3g} | {max(e)/min(e):.2f}x | {max(one)/min(one):.2f}x | {med(sp):.2f}x |")
PY
