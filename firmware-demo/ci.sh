#!/usr/bin/env bash
# CI for the firmware demo (called by the repository's .ci/run). Installs what it
# needs, then checks:
#   1. the exported blob regenerates byte for byte (export --check);
#   2. the pass run exits 0, and its decoded log holds the before/after accuracies
#      of both schedules (shifted test set, and upright held-out digits: the
#      forgetting check), equal (with the weight checksums) to model/expected.txt,
#      which the host computed: host and device agree bit for bit;
#   3. flash and RAM are within budget;
#   4. the force-fail build exits 1 and the force-panic build exits 3.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
data="${ONECYCLE_DATA:-$root/data}"
log="$(mktemp -d)"
trap 'rm -rf "$log"' EXIT
fail() { echo "firmware-demo ci: FAIL: $*" >&2; exit 1; }
step() { echo "== firmware-demo ci: $*"; }

step "tools"
if ! command -v qemu-system-arm >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-system-arm >/dev/null
fi
rustup target add thumbv7em-none-eabihf >/dev/null 2>&1 || true
command -v defmt-print >/dev/null || cargo install defmt-print --locked

step "MNIST and the exported blob"
(cd "$root" && cargo run --quiet --release -p onecycle-finetune --bin export -- --data-dir "$data" --check) \
    || fail "model/blob.bin or model/expected.txt does not regenerate identically: run the export tool and commit"

cd "$here"
expect() { grep -E "^$1=" model/expected.txt | cut -d= -f2; }

step "pass run"
set +e
cargo run --release 2>&1 | tee "$log/pass.txt"
rc=${PIPESTATUS[0]}
set -e
[ "$rc" -eq 0 ] || fail "pass run exited $rc, expected 0"
result="$(grep -E '^RESULT ' "$log/pass.txt")" || fail "no RESULT line in the decoded log"
n="$(expect n_test)"
for want in "pretrained $(expect pretrained_correct)/$n" \
            "1cycle $(expect onecycle_correct)/$n" "checksum $(expect onecycle_checksum)" \
            "constant $(expect constant_correct)/$n" "checksum $(expect constant_checksum)"; do
    grep -qF -- "$want" <<<"$result" || fail "log's RESULT lacks '$want' (host expectation): $result"
done
grep -qE '^INFO +pre-trained: shifted test accuracy' "$log/pass.txt" || fail "no pre-trained accuracy line"
grep -qE '^INFO +1cycle: after [0-9]+ steps: shifted test accuracy' "$log/pass.txt" || fail "no 1cycle after line"
grep -qE '^INFO +constant: after [0-9]+ steps: shifted test accuracy' "$log/pass.txt" || fail "no constant after line"
grep -qE 'schedule cost per step' "$log/pass.txt" || fail "no schedule cost line"
upright="$(grep -E '^UPRIGHT ' "$log/pass.txt")" || fail "no UPRIGHT (forgetting check) line"
ns="$(expect n_source)"
for want in "pretrained $(expect source_pretrained_correct)/$ns" \
            "1cycle $(expect source_onecycle_correct)/$ns" "constant $(expect source_constant_correct)/$ns"; do
    grep -qF -- "$want" <<<"$upright" || fail "log's UPRIGHT lacks '$want' (host expectation): $upright"
done
grep -qE '^INFO +1cycle: after [0-9]+ steps: upright held-out accuracy' "$log/pass.txt" || fail "no 1cycle forgetting-check line"

step "budget"
mem="$(grep -E '^MEMORY ' "$log/pass.txt")" || fail "no MEMORY line"
read -r flash flash_max ram ram_max < <(sed -E 's/^MEMORY flash ([0-9]+) B of ([0-9]+) B \| RAM ([0-9]+) B of ([0-9]+) B.*/\1 \2 \3 \4/' <<<"$mem")
[ "$flash_max" -eq 262144 ] && [ "$ram_max" -eq 65536 ] || fail "budgets changed: $mem"
[ "$flash" -le "$flash_max" ] || fail "flash $flash > $flash_max"
[ "$ram" -le "$ram_max" ] || fail "RAM $ram > $ram_max"
echo "flash $flash / $flash_max B, RAM $ram / $ram_max B"

step "forced failure"
set +e
cargo run --release --features force-fail >"$log/fail.txt" 2>&1
rc=$?
set -e
[ "$rc" -eq 1 ] || { cat "$log/fail.txt"; fail "force-fail run exited $rc, expected 1"; }
grep -q '^VERDICT FAIL' "$log/fail.txt" || fail "force-fail log lacks VERDICT FAIL"

step "forced panic"
set +e
cargo run --release --features force-panic >"$log/panic.txt" 2>&1
rc=$?
set -e
[ "$rc" -eq 3 ] || { cat "$log/panic.txt"; fail "force-panic run exited $rc, expected 3"; }
grep -q 'forced panic' "$log/panic.txt" || fail "force-panic log lacks the panic message"

step "OK"
