#!/usr/bin/env bash
# Cargo runner: boots the firmware ELF in QEMU and decodes its defmt output.
# Exit code = the firmware's verdict: 0 pass, 1 fail, 3 panic/HardFault
# (124 when QEMU hangs past the timeout).
set -euo pipefail
elf="$1"
timeout="${QEMU_TIMEOUT:-300}"
command -v qemu-system-arm >/dev/null || { echo "qemu-system-arm missing: apt-get install -y qemu-system-arm" >&2; exit 2; }
command -v defmt-print >/dev/null || { echo "defmt-print missing: cargo install defmt-print --locked" >&2; exit 2; }
timeout "$timeout" qemu-system-arm \
    -machine mps2-an386 -cpu cortex-m4 \
    -nographic -monitor none -serial none \
    -semihosting-config enable=on,target=native \
    -icount shift=0 \
    -kernel "$elf" \
  | defmt-print -e "$elf"
