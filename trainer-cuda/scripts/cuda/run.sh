#!/usr/bin/env bash
# Launcher of a CUDA bundle made by trainer-cuda/scripts/build-cuda.sh.
#
#   run.sh onecycle ARGS...      the release `onecycle` binary
#   run.sh throughput ARGS...    the throughput bench
#   run.sh test NAME ARGS...     a test binary (NAME from `run.sh --list`), libtest arguments
#   run.sh --libs                where each needed library resolves, then `ldd` of onecycle
#   run.sh --list                the programs and test binaries in the bundle
#
# The binaries need libcuda.so.1 (the driver) and the CUDA runtime libraries listed in NEEDED.txt
# (libcublas.so.13, libnvrtc.so.13, ...). Those are looked up, first found wins, in:
#   $ONECYCLE_CUDA_LIB_DIRS (colon-separated), <bundle>/lib,
#   the site-packages of $ONECYCLE_PYTHON / python3 / python: nvidia/cu13/lib, nvidia/*/lib,
#   torch/lib (the CUDA wheels that come with PyTorch),
#   /usr/local/cuda*/lib64, /usr/local/cuda*/targets/x86_64-linux/lib, /usr/lib/x86_64-linux-gnu,
# and prepended to LD_LIBRARY_PATH. Nothing is downloaded. <bundle>/lib/*.xz (build-cuda.sh
# --with-nvrtc) are unpacked there first.
# dfdx compiles a few kernels at run time with NVRTC and looks for their headers in two
# directories of the build machine (BAKED_PATHS.txt); where missing, they are linked to the
# copies in the bundle (ONECYCLE_NO_BAKED_LINKS=1 turns that off).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

die() {
    echo "run.sh: $*" >&2
    exit 127
}

candidate_dirs() {
    local d py sp
    if [ -n "${ONECYCLE_CUDA_LIB_DIRS:-}" ]; then
        tr ':' '\n' <<<"$ONECYCLE_CUDA_LIB_DIRS"
    fi
    echo "$here/lib"
    for py in "${ONECYCLE_PYTHON:-}" python3 python; do
        [ -n "$py" ] && command -v "$py" >/dev/null 2>&1 || continue
        while IFS= read -r sp; do
            [ -d "$sp" ] || continue
            for d in "$sp"/nvidia/cu13/lib "$sp"/nvidia/*/lib "$sp"/torch/lib; do
                [ -d "$d" ] && echo "$d"
            done
        done < <("$py" -c 'import site, sys
paths = list(getattr(site, "getsitepackages", lambda: [])())
paths.append(site.getusersitepackages())
paths += [p for p in sys.path if p.endswith(("site-packages", "dist-packages"))]
print("\n".join(dict.fromkeys(paths)))' 2>/dev/null || true)
    done
    for d in /usr/local/cuda/lib64 /usr/local/cuda-13*/lib64 /usr/local/cuda*/targets/x86_64-linux/lib \
        /usr/lib/x86_64-linux-gnu /usr/lib64; do
        [ -d "$d" ] && echo "$d"
    done
    return 0
}

# Prints "lib<TAB>dir" for every CUDA library in NEEDED.txt (dir empty when not found).
resolve_libs() {
    local lib d found
    local -a dirs
    mapfile -t dirs < <(candidate_dirs)
    while IFS= read -r lib; do
        [ -n "$lib" ] || continue
        found=""
        if [ "$lib" = libcuda.so.1 ]; then
            # The driver's library: whatever the dynamic loader finds by itself, else the list.
            found="$({ ldconfig -p || /sbin/ldconfig -p; } 2>/dev/null |
                awk -v l="$lib" '$1 == l && /x86-64/ { print $NF; exit }' || true)"
            found="${found%/*}"
            [ -z "$found" ] || found="$found (system)"
        fi
        if [ -z "$found" ]; then
            for d in "${dirs[@]}"; do
                if [ -e "$d/$lib" ]; then
                    found="$d"
                    break
                fi
            done
        fi
        printf '%s\t%s\n' "$lib" "$found"
    done <"$here/NEEDED.txt"
}

# <bundle>/lib/*.xz (build-cuda.sh --with-nvrtc): unpacked once, next to themselves.
unpack_libs() {
    local f
    for f in "$here"/lib/*.xz; do
        [ -f "$f" ] && [ ! -f "${f%.xz}" ] || continue
        if command -v xz >/dev/null; then
            xz -dc "$f" >"${f%.xz}.tmp.$$"
        else
            python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' \
                "$f" >"${f%.xz}.tmp.$$"
        fi || die "cannot unpack $f (no xz, no python3, or the bundle is read-only)"
        mv "${f%.xz}.tmp.$$" "${f%.xz}"
    done
}

setup_env() {
    local lib dir missing="" extra="" resolved
    unpack_libs
    resolved="$(resolve_libs)" || die "cannot search for the CUDA libraries"
    [ "$(grep -c . <<<"$resolved")" = "$(grep -c . "$here/NEEDED.txt")" ] || die "library search ended early"
    while IFS=$'\t' read -r lib dir; do
        case "$dir" in
            "") missing="$missing $lib" ;;
            *" (system)") ;; # the dynamic loader finds it by itself
            *) case ":$extra:" in *":$dir:"*) ;; *) extra="${extra:+$extra:}$dir" ;; esac ;;
        esac
    done <<<"$resolved"
    if [ -n "$missing" ]; then
        die "missing CUDA libraries:$missing. Install the NVIDIA driver (libcuda.so.1) and the CUDA 13" \
            "wheels that hold the others (pip install nvidia-cublas nvidia-cuda-nvrtc, as PyTorch does)," \
            "or set ONECYCLE_CUDA_LIB_DIRS to the directories that hold them"
    fi
    export LD_LIBRARY_PATH="$extra${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
}

# dfdx compiles a few kernels (reshape, concat, stack, to_dtype) at run time with NVRTC, with
# include directories of the build machine baked in. Where those are missing here, link them to
# the copies in the bundle (skip with ONECYCLE_NO_BAKED_LINKS=1).
link_baked_paths() {
    local path rel first
    [ -f "$here/BAKED_PATHS.txt" ] && [ -z "${ONECYCLE_NO_BAKED_LINKS:-}" ] || return 0
    while IFS=$'\t' read -r path rel; do
        [ -n "$path" ] || continue
        first="$(ls "$here/$rel" | head -1)"
        [ -e "$path/$first" ] && continue
        if [ -L "$path" ] || [ ! -e "$path" ]; then
            if mkdir -p "$(dirname "$path")" 2>/dev/null && ln -sfn "$here/$rel" "$path" 2>/dev/null; then
                continue
            fi
        fi
        echo "run.sh: warning: cannot provide $path (kernels NVRTC compiles at run time will fail);" \
            "make it a link to $here/$rel" >&2
    done <"$here/BAKED_PATHS.txt"
}

[ -f "$here/NEEDED.txt" ] || die "no NEEDED.txt next to run.sh: is this a bundle made by build-cuda.sh?"
[ "$#" -ge 1 ] || die "usage: run.sh onecycle|throughput|test NAME|--libs|--list [ARGS...]"

cmd="$1"
shift
case "$cmd" in
    --list)
        ls "$here/bin"
        ls "$here/tests" 2>/dev/null | sed 's/^/test /'
        ;;
    --libs)
        unpack_libs
        resolve_libs | awk -F'\t' '{ printf "%-22s %s\n", $1, ($2 == "" ? "NOT FOUND" : $2) }'
        setup_env
        echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
        link_baked_paths
        cat "$here/BAKED_PATHS.txt" 2>/dev/null | while IFS=$'\t' read -r p r; do echo "baked: $p -> $(readlink -f "$p" || echo missing)"; done
        ldd "$here/bin/onecycle"
        ;;
    test)
        [ "$#" -ge 1 ] || die "usage: run.sh test NAME [libtest args]; names: $(ls "$here/tests" | tr '\n' ' ')"
        name="$1"
        shift
        [ -x "$here/tests/$name" ] || die "no test binary '$name'; names: $(ls "$here/tests" | tr '\n' ' ')"
        setup_env
        link_baked_paths
        exec "$here/tests/$name" "$@"
        ;;
    *)
        [ -x "$here/bin/$cmd" ] || die "no program '$cmd' in the bundle; programs: $(ls "$here/bin" | tr '\n' ' ')"
        setup_env
        link_baked_paths
        exec "$here/bin/$cmd" "$@"
        ;;
esac
