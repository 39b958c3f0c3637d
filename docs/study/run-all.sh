#!/usr/bin/env bash
# The committed regimes of docs/study/PROTOCOL.md, in order. Finished runs are kept in each
# regime's runs/ directory (commit them as they come), so this continues where it stopped.
set -euo pipefail
cd "$(dirname "$0")/../.."
# ONECYCLE_BIN runs a build you keep apart (say, a copy of the binary that made the committed
# records while the workspace moves on); by default the workspace's release build.
if [[ -n ${ONECYCLE_BIN:-} ]]; then
    bin=$ONECYCLE_BIN
else
    cargo build --release --locked -p trainer-cuda
    bin=target/release/onecycle
fi
common=(--val-size 5000 --weight-decay 5e-4 --batch-size 128 --families 1cycle,linear
        --looser-by-points 0.2 --device cpu)
p1=(--full --reference step@16,constant@16 --budgets 0.5,1,2,4,8,16 --seeds 3)
p2=(--train-limit 5000 --reference step@128,constant@128 --budgets 1,2,4,8,12,16,32,64,128 --seeds 5)
for regime in ${REGIMES:-p1-mnist p1-fashion-mnist p2-mnist p2-fashion-mnist}; do
    case $regime in
        p1-*) args=("${p1[@]}") ;;
        p2-*) args=("${p2[@]}") ;;
    esac
    "$bin" compare --dataset "${regime#p?-}" "${args[@]}" "${common[@]}" --out "docs/study/$regime"
done
