#!/usr/bin/env bash
# The range test's suggestions over 10 seeds on MNIST and Fashion-MNIST (full training sets,
# one 400-step sweep at batch 128 (the default until the short sweeps), weight decay 5e-4 as the study), one JSON and one CSV per seed
# in docs/finder/spread/ (kept when present), then the median and spread of each rule.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --locked -p trainer-cuda
bin=target/release/onecycle
out=docs/finder/spread
for ds in mnist fashion-mnist; do
    for seed in 0 1 2 3 4 5 6 7 8 9; do
        f=$out/$ds-$seed
        [ -f "$f.json" ] && continue
        "$bin" find-lr --dataset "$ds" --seed "$seed" --weight-decay 5e-4 --device cpu --quiet \
            --sweeps 1 --sweep-batch-size 128 --steps 400 --start-lr 1e-5 --end-lr 10 \
            --format json --csv "$f.csv" --plot "$f.svg" > "$f.json.tmp"
        mv "$f.json.tmp" "$f.json"
    done
done
python3 docs/finder/spread.py "$out" "$bin"
