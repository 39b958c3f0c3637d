#!/usr/bin/env python3
"""Side-by-side CPU throughput: the Rust `throughput` bench and `torch_throughput.py`, run
alternately (ours, PyTorch, ours, PyTorch, ...) so that both see the same machine load, with
the medians printed as one Markdown table.

Usage (from the workspace root, after `cargo build --release -p trainer-cuda --bin throughput`,
with PyTorch installed in the Python that runs this script):

    python trainer-cuda/scripts/speed_table.py --rounds 3 --models mnist-cnn,mlp,resnet-small

The machine's sgemm rate is the higher of the two medians (the Rust bench measures the `gemm`
crate's 2048² product, the PyTorch bench its own), and each side's training rate is quoted as a
share of it. Both benches use the same FLOP model (see `src/bin/throughput.rs`).
"""
import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
COLUMNS = ["impl", "model", "batch", "steps", "threads", "img/s", "ms/step", "GFLOP/s", "eval img/s",
           "sgemm GFLOP/s", "peak RSS MiB", "last loss"]


def row_of(output):
    """The bench's table row as a dict (the third line starting with '|')."""
    rows = [line for line in output.splitlines() if line.startswith("|")]
    cells = [c.strip() for c in rows[2].strip("|").split("|")]
    return dict(zip(COLUMNS, cells))


def run(cmd, threads):
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return row_of(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--models", default="mnist-cnn")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bin", default="target/release/throughput")
    a = ap.parse_args()
    common = ["--batch", str(a.batch), "--steps", str(a.steps)]
    print(f"| model | implementation | train img/s (median of {a.rounds}; all) | ms/step | GFLOP/s | "
          "share of the machine's sgemm | eval img/s | own sgemm GFLOP/s | peak RSS MiB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for model in a.models.split(","):
        ours, torch = [], []
        for _ in range(a.rounds):
            ours.append(run([a.bin, "--model", model, *common], a.threads))
            torch.append(run([sys.executable, str(HERE / "torch_throughput.py"), "--model", model,
                              "--threads", str(a.threads), *common], a.threads))

        def med(rows, col):
            return statistics.median(float(r[col]) for r in rows)

        machine = max(med(ours, "sgemm GFLOP/s"), med(torch, "sgemm GFLOP/s"))
        for rows in (ours, torch):
            every = ", ".join(r["img/s"] for r in rows)
            print(f"| {model} | {rows[0]['impl']} | {med(rows, 'img/s'):.0f} ({every}) | "
                  f"{med(rows, 'ms/step'):.2f} | {med(rows, 'GFLOP/s'):.1f} | "
                  f"{100 * med(rows, 'GFLOP/s') / machine:.0f}% of {machine:.0f} | "
                  f"{med(rows, 'eval img/s'):.0f} | {med(rows, 'sgemm GFLOP/s'):.1f} | "
                  f"{med(rows, 'peak RSS MiB'):.0f} |")
        ratios = [float(o["img/s"]) / float(t["img/s"]) for o, t in zip(ours, torch)]
        eval_ratios = [float(o["eval img/s"]) / float(t["eval img/s"]) for o, t in zip(ours, torch)]
        print(f"| {model} | ratio ours / PyTorch, per round | training "
              f"{', '.join(f'{r:.2f}' for r in ratios)} (median {statistics.median(ratios):.2f}x); "
              f"evaluation median {statistics.median(eval_ratios):.2f}x | | | | | | |")


if __name__ == "__main__":
    main()
