#!/usr/bin/env bash
# Builds trainer-cuda with `--features cuda`, on a machine with or without a GPU or CUDA toolkit.
#
#   trainer-cuda/scripts/build-cuda.sh            release bundle in <target>/cuda-bundle (default)
#   trainer-cuda/scripts/build-cuda.sh --check    CI check: build and link every target (debug)
#
# Options: --out DIR (bundle directory), --data DIR (MNIST dir to pack gzipped into the bundle;
# default ./data/mnist when it exists, `--data none` to skip), --no-tests (bundle without test
# binaries), --wheels (use the pip toolkit even where a system CUDA toolkit exists), --with-nvrtc
# (carry NVRTC 13.0 xz-compressed, +32 MB: for targets whose NVRTC is newer than their driver,
# e.g. NVRTC 13.2 writes PTX 9.2, which driver r580 rejects).
# Environment: CUDA_COMPUTE_CAP (default 90 when no GPU answers), ONECYCLE_CUDA_CACHE (default
# ~/.cache/onecycle-cuda), CARGO_TARGET_DIR, CARGO_BUILD_JOBS, PYTHON (default python3).
#
# What it fakes, only when missing:
# - a CUDA toolkit (nvcc, include/cuda.h, the libraries): the CUDA 13.0.2 wheels from PyPI, cached;
# - `nvidia-smi` (dfdx's build script asks it for the compute capability): scripts/cuda/nvidia-smi;
# - libcuda.so (the driver, needed at link time only): a stub whose every function returns
#   CUDA_ERROR_STUB_LIBRARY (34) (error strings say so), SONAME libcuda.so.1, in <toolkit>/lib64/stubs. It is never
#   bundled; at run time the binaries load the driver's libcuda.so.1.
# On a machine with nvcc, cuda.h and a working nvidia-smi it is a plain `cargo build --features cuda`.
set -euo pipefail

TOOLKIT_VERSION=13.0.2
# nvcc 13.0 writes PTX ISA 9.0, which driver r580 loads; later 13.x write newer PTX it rejects.
TOOLKIT_SPEC="cuda-toolkit[nvcc,nvvm,crt,cudart,cublas,nvrtc,cccl,curand]==$TOOLKIT_VERSION"

scripts="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$scripts/../.." && pwd)"
mode=bundle
out=""
data=""
tests=1
force_wheels=0
with_nvrtc=0
while [ "$#" -gt 0 ]; do
    case "$1" in
        --check) mode=check ;;
        --out) out="$2"; shift ;;
        --data) data="$2"; shift ;;
        --no-tests) tests=0 ;;
        --wheels) force_wheels=1 ;;
        --with-nvrtc) with_nvrtc=1 ;;
        -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "build-cuda.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done

case "$out" in "" | /*) ;; *) out="$PWD/$out" ;; esac # relative to the caller's directory
case "$data" in "" | none | /*) ;; *) data="$PWD/$data" ;; esac
cache="${ONECYCLE_CUDA_CACHE:-$HOME/.cache/onecycle-cuda}"
python="${PYTHON:-python3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
log() { printf '[build-cuda %5ss] %s\n' "$SECONDS" "$*" >&2; }
die() { echo "build-cuda.sh: $*" >&2; exit 1; }

has_toolkit() { # a root with include/cuda.h, as cudarc and dfdx look for it
    local r
    for r in "${CUDA_PATH:-}" "${CUDA_ROOT:-}" "${CUDA_TOOLKIT_ROOT_DIR:-}" /usr /usr/local/cuda /opt/cuda /usr/lib/cuda; do
        [ -n "$r" ] && [ -f "$r/include/cuda.h" ] && return 0
    done
    return 1
}

# --- 1. the toolkit -------------------------------------------------------------------------
# The cached toolkit: wheels in $cache/wheels-V, the nvidia/cu13 tree in $cache/cuda-V with
# unversioned library links; .complete marks a finished extraction (else it is redone).
fetch_wheel_toolkit() {
    local root="$cache/cuda-$TOOLKIT_VERSION" wheels="$cache/wheels-$TOOLKIT_VERSION"
    if [ -f "$root/.complete" ]; then
        log "CUDA $TOOLKIT_VERSION toolkit cached in $root"
    else
        command -v "$python" >/dev/null || die "no $python: install Python 3 with pip (needed to fetch the CUDA wheels), or a CUDA toolkit"
        command -v unzip >/dev/null || die "no unzip: install it (apt-get install unzip)"
        mkdir -p "$wheels"
        if ! ls "$wheels"/nvidia_cuda_nvcc-*.whl >/dev/null 2>&1 || [ ! -f "$wheels/.complete" ]; then
            log "downloading $TOOLKIT_SPEC (~0.7 GB) into $wheels"
            "$python" -m pip download --quiet --no-cache-dir --only-binary=:all: -d "$wheels" "$TOOLKIT_SPEC" \
                || die "pip could not download $TOOLKIT_SPEC; check the network, or install a CUDA toolkit"
            touch "$wheels/.complete"
        fi
        log "extracting the wheels"
        local tmp="$root.tmp.$$"
        rm -rf "$tmp" "$root"
        mkdir -p "$tmp"
        local w
        for w in "$wheels"/*.whl; do
            unzip -q -o "$w" 'nvidia/*' -d "$tmp" 2>/dev/null || [ "$?" -eq 11 ] || die "cannot unzip $w"
        done
        [ -x "$tmp/nvidia/cu13/bin/nvcc" ] || chmod +x "$tmp"/nvidia/cu13/bin/* "$tmp"/nvidia/cu13/nvvm/bin/* 2>/dev/null || true
        [ -f "$tmp/nvidia/cu13/include/cuda.h" ] || die "the wheels hold no nvidia/cu13/include/cuda.h; the layout changed?"
        mv "$tmp/nvidia/cu13" "$root"
        rm -rf "$tmp"
        # The wheels ship only versioned libraries; the linker wants lib<name>.so.
        local lib
        for lib in "$root"/lib/lib*.so.*; do
            local base="${lib##*/}"
            base="${base%%.so.*}.so"
            [ -e "$root/lib/$base" ] || ln -s "${lib##*/}" "$root/lib/$base"
        done
        touch "$root/.complete"
    fi
    toolkit="$root"
}

# The link-only libcuda stub, exporting every cu* function cudarc's driver bindings declare.
make_libcuda_stub() {
    local sys_rs="$1" dir="$toolkit/lib64/stubs"
    mkdir -p "$dir"
    local src="$dir/libcuda-stub.c.new"
    {
        echo "/* Link-only stand-in for libcuda.so.1, generated by build-cuda.sh from $sys_rs."
        echo "   Every entry point returns CUDA_ERROR_STUB_LIBRARY (34); never ship or load it. */"
        echo 'static const char msg[] = "link-only libcuda stub loaded: put the driver'"'"'s libcuda.so.1 first";'
        echo 'int cuGetErrorString(int e, const char **s) { (void)e; *s = msg; return 0; }'
        echo 'int cuGetErrorName(int e, const char **s) { (void)e; *s = "CUDA_ERROR_STUB_LIBRARY"; return 0; }'
        grep -oE 'pub fn cu[A-Za-z0-9_]+' "$sys_rs" | sed 's/^pub fn //' | sort -u |
            grep -vxE 'cuGetError(String|Name)' | sed 's/.*/int &(void) { return 34; }/'
    } >"$src"
    if ! cmp -s "$src" "$dir/libcuda-stub.c" || [ ! -f "$dir/libcuda.so" ]; then
        mv "$src" "$dir/libcuda-stub.c"
        cc -shared -fPIC -O1 -nostdlib -Wl,-soname,libcuda.so.1 -o "$dir/libcuda.so.tmp" "$dir/libcuda-stub.c" \
            || die "cannot build the libcuda stub with cc; install gcc"
        mv "$dir/libcuda.so.tmp" "$dir/libcuda.so"
        log "built the link-only libcuda stub ($(grep -c '^int ' "$dir/libcuda-stub.c") symbols)"
    else
        rm -f "$src"
    fi
}

# cudarc's driver bindings (sys.rs) of the cudarc that dfdx uses, from `cargo metadata`.
cudarc_sys_rs() {
    (cd "$repo" && cargo metadata --format-version 1 --features trainer-cuda/cuda 2>/dev/null) | "$python" -c '
import json, os, sys
m = json.load(sys.stdin)
pkgs = {p["id"]: p for p in m["packages"]}
dfdx = [n for n in m["resolve"]["nodes"] if pkgs[n["id"]]["name"] == "dfdx"]
for node in dfdx:
    for dep in node["deps"]:
        p = pkgs[dep["pkg"]]
        if p["name"] == "cudarc":
            print(os.path.join(os.path.dirname(p["manifest_path"]), "src", "driver", "sys.rs"))
            sys.exit(0)
sys.exit("dfdx with the cuda feature does not depend on cudarc?")'
}

toolkit=""
use_wheels=0
if [ "$force_wheels" = 1 ] || ! command -v nvcc >/dev/null || ! has_toolkit; then
    use_wheels=1
    fetch_wheel_toolkit
    (cd "$repo" && cargo fetch --quiet)
    sys_rs="$(cudarc_sys_rs)" || die "cannot locate cudarc's sources through cargo metadata"
    [ -f "$sys_rs" ] || die "cudarc's driver bindings not found at $sys_rs"
    make_libcuda_stub "$sys_rs"
    export PATH="$toolkit/bin:$PATH"
    export CUDA_ROOT="$toolkit" CUDA_PATH="$toolkit" CUDA_TOOLKIT_ROOT_DIR="$toolkit"
else
    log "using the system CUDA toolkit: $(command -v nvcc)"
fi

# dfdx's build script asks nvidia-smi for the compute capability before it reads
# CUDA_COMPUTE_CAP, so without a GPU a stand-in answers from CUDA_COMPUTE_CAP.
if ! nvidia-smi --query-gpu=compute_cap --format=csv >/dev/null 2>&1; then
    export CUDA_COMPUTE_CAP="${CUDA_COMPUTE_CAP:-90}"
    shim="$cache/shim-bin"
    mkdir -p "$shim"
    cp "$scripts/cuda/nvidia-smi" "$shim/nvidia-smi.tmp" && chmod +x "$shim/nvidia-smi.tmp"
    mv "$shim/nvidia-smi.tmp" "$shim/nvidia-smi"
    export PATH="$shim:$PATH"
    log "no GPU answers nvidia-smi: building for compute capability $CUDA_COMPUTE_CAP (CUDA_COMPUTE_CAP)"
fi
log "nvcc: $(nvcc --version | tail -1)"

# --- 2. NEEDED check --------------------------------------------------------------------------
# The dynamic libraries a binary needs, one per line.
needed_of() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\].*/\1/p'; }

# Fails unless the binary needs only glibc/libgcc, the driver and CUDA 13 libraries, and carries
# no RPATH/RUNPATH into this machine.
check_needed() {
    local bin="$1" lib bad=""
    while IFS= read -r lib; do
        case "$lib" in
            libc.so.6 | libm.so.6 | libgcc_s.so.1 | libpthread.so.0 | libdl.so.2 | librt.so.1 | ld-linux-x86-64.so.2) ;;
            libcuda.so.1 | libcublas.so.13 | libcublasLt.so.13 | libnvrtc.so.13 | libcurand.so.10) ;;
            *) [ "$use_wheels" = 0 ] || bad="$bad $lib" ;;
        esac
    done < <(needed_of "$bin")
    [ -z "$bad" ] || die "${bin##*/} needs unexpected libraries:$bad"
    if readelf -d "$bin" | grep -qE '\((RPATH|RUNPATH)\)'; then
        die "${bin##*/} has an RPATH/RUNPATH: $(readelf -d "$bin" | grep -E 'R(UN)?PATH')"
    fi
    needed_of "$bin" | grep -q '^libcuda.so.1$' || die "${bin##*/} does not need libcuda.so.1: built without --features cuda?"
}

glibc_floor() { objdump -T "$1" | grep -oE 'GLIBC_[0-9.]+' | sort -uV | tail -1; }

cd "$repo"
if [ "$mode" = check ]; then
    log "cargo build -p trainer-cuda --features cuda --all-targets"
    cargo build -p trainer-cuda --features cuda --all-targets
    bin="$CARGO_TARGET_DIR/debug/onecycle"
    check_needed "$bin"
    log "OK: compiled and linked; onecycle needs: $(needed_of "$bin" | tr '\n' ' ')"
    exit 0
fi

# --- 3. release bundle ------------------------------------------------------------------------
out="${out:-$CARGO_TARGET_DIR/cuda-bundle}"
log "cargo build --release -p trainer-cuda --features cuda --bins"
cargo build --release -p trainer-cuda --features cuda --bins
test_list="$CARGO_TARGET_DIR/cuda-tests.json"
if [ "$tests" = 1 ]; then
    log "cargo test --release -p trainer-cuda --features cuda --no-run"
    cargo test --release -p trainer-cuda --features cuda --no-run --message-format=json >"$test_list.tmp"
    mv "$test_list.tmp" "$test_list"
fi

tmp="$out.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp/bin" "$tmp/tests" "$tmp/baked"
for b in onecycle throughput; do
    [ -x "$CARGO_TARGET_DIR/release/$b" ] || continue
    # Debug info is left behind (symbols stay, for backtraces): it would be most of the size.
    objcopy --strip-debug "$CARGO_TARGET_DIR/release/$b" "$tmp/bin/$b"
done
if [ "$tests" = 1 ]; then
    # One executable per test target; named after the target (trainer_cuda = the unit tests).
    grep '"reason":"compiler-artifact"' "$test_list" | grep '"test":true' |
        grep -oE '"executable":"[^"]+"' | sed 's/"executable":"\(.*\)"/\1/' | while IFS= read -r exe; do
        name="${exe##*/}"
        name="${name%-*}"
        objcopy --strip-debug "$exe" "$tmp/tests/$name"
    done
fi
check_needed "$tmp/bin/onecycle"
needed_of "$tmp/bin/onecycle" | grep -vE '^(libc|libm|libgcc_s|libpthread|libdl|librt)\.so|^ld-linux' >"$tmp/NEEDED.txt"

# dfdx compiles some kernels at run time with NVRTC and bakes two absolute include directories
# of this machine into the binary: CUDA_INCLUDE_DIR (for cuda_fp16.h) and its OUT_DIR (for
# cuda_utils.cuh). The bundle carries both; run.sh links them into place where they are missing.
dfdx_out=""
for o in "$CARGO_TARGET_DIR"/release/build/dfdx-*/output; do
    grep -q '^cargo:rustc-env=CUDA_INCLUDE_DIR=' "$o" 2>/dev/null || continue
    cand="${o%/output}/out"
    if grep -qaF "$cand" "$tmp/bin/onecycle"; then dfdx_out="$cand"; fi
done
[ -n "$dfdx_out" ] || die "cannot find the OUT_DIR of dfdx baked into onecycle"
inc="$(sed -n 's/^cargo:rustc-env=CUDA_INCLUDE_DIR=//p' "${dfdx_out%/out}/output")"
mkdir -p "$tmp/baked/dfdx-out" "$tmp/baked/cuda-include"
cp "$dfdx_out"/*.cuh "$tmp/baked/dfdx-out/"
# cuda_fp16.h and what it includes from the toolkit, transitively (NVRTC brings the C++ headers).
"$python" - "$inc" "$tmp/baked/cuda-include" <<'EOF'
import os, re, shutil, sys
src, dst = sys.argv[1], sys.argv[2]
todo, seen = ["cuda_fp16.h", "cuda_bf16.h"], set()
while todo:
    h = todo.pop()
    p = os.path.join(src, h)
    if h in seen or not os.path.isfile(p):
        continue
    seen.add(h)
    os.makedirs(os.path.dirname(os.path.join(dst, h)), exist_ok=True)
    shutil.copy(p, os.path.join(dst, h))
    with open(p, errors="replace") as f:
        todo += re.findall(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', f.read(), re.M)
EOF
printf '%s\tbaked/cuda-include\n%s\tbaked/dfdx-out\n' "$inc" "$dfdx_out" >"$tmp/BAKED_PATHS.txt"

data="${data:-$repo/data/mnist}"
if [ "$data" != none ] && [ -d "$data" ]; then
    mkdir -p "$tmp/data/mnist"
    for f in "$data"/*-ubyte "$data"/*-ubyte.gz; do
        [ -f "$f" ] || continue
        case "$f" in
            *.gz) cp "$f" "$tmp/data/mnist/" ;;
            *) gzip -9 -c "$f" >"$tmp/data/mnist/${f##*/}.gz" ;;
        esac
    done
fi
if [ "$with_nvrtc" = 1 ]; then
    [ "$use_wheels" = 1 ] || die "--with-nvrtc needs the pip toolkit (add --wheels)"
    mkdir -p "$tmp/lib"
    for f in "$toolkit"/lib/libnvrtc.so.13 "$toolkit"/lib/libnvrtc-builtins.so.13.0; do
        log "packing ${f##*/} (xz)"
        xz -T0 -6 -c "$f" >"$tmp/lib/${f##*/}.xz"
    done
fi
cp "$scripts/cuda/run.sh" "$tmp/run.sh"
chmod +x "$tmp/run.sh"
{
    echo "built: $(date -u +%FT%TZ) on $(uname -srm)"
    echo "commit: $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown) (plus uncommitted changes if any)"
    echo "toolkit: $(nvcc --version | tail -1)$([ "$use_wheels" = 1 ] && echo " (pip wheels $TOOLKIT_VERSION)")"
    echo "compute capability: ${CUDA_COMPUTE_CAP:-from nvidia-smi}"
    echo "glibc needed: $(glibc_floor "$tmp/bin/onecycle")"
    echo "NEEDED (onecycle): $(needed_of "$tmp/bin/onecycle" | tr '\n' ' ')"
} >"$tmp/BUILD-INFO.txt"
rm -rf "$out"
mv "$tmp" "$out"
log "bundle: $out ($(du -sh "$out" | cut -f1)); $(ls "$out/tests" | wc -l) test binaries"
cat "$out/BUILD-INFO.txt" >&2
