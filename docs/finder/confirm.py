"""Confirmation of the chosen rule on P1 (full MNIST, 2 epochs, seeds 0-2): docs/finder/PROTOCOL.md.

usage: confirm.py ONECYCLE_BINARY [OUT_NAME FIND_LR_FLAGS...]. For each seed: the range test on P1's training part (the
first 55,000 images, as the study's), then 1cycle at its `auto` and at its `valley` with P1's
recorded 2-epoch 1cycle command (--max-lr replaced), against that run's recorded accuracy.
Results in docs/finder/OUT_NAME/ (default `confirm`, with one 400-step sweep at batch 128;
`confirm-short` with the short sweeps' flags), kept when present.
"""
import json
import os
import subprocess
import sys
import tempfile

binary = sys.argv[1]
name = sys.argv[2] if len(sys.argv) > 2 else "confirm"
sweep = sys.argv[3:] or ["--sweeps", "1", "--sweep-batch-size", "128", "--steps", "400",
                         "--start-lr", "1e-5", "--end-lr", "10"]
here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, name)
os.makedirs(out, exist_ok=True)
p1 = json.load(open(os.path.join(here, "..", "study", "p1-mnist", "study.json")))
results_path = os.path.join(out, "results.json")
results = json.load(open(results_path)) if os.path.exists(results_path) else {}


def save():
    with open(results_path + ".tmp", "w") as f:
        json.dump(results, f, indent=1)
    os.replace(results_path + ".tmp", results_path)


for seed in (0, 1, 2):
    grid = next(r for r in p1["runs"]
                if r["family"] == "1cycle" and r["budget"] == 2.0 and r["seed"] == seed)
    rt = os.path.join(out, f"range-{seed}")
    if not os.path.exists(rt + ".json"):
        doc = subprocess.run([binary, "find-lr", "--dataset", "mnist", "--train-limit", "55000",
                              "--seed", str(seed), "--weight-decay", "5e-4", "--device", "cpu",
                              *sweep, "--quiet", "--format", "json", "--csv", rt + ".csv",
                              "--plot", rt + ".svg"],
                             check=True, capture_output=True, text=True).stdout
        with open(rt + ".json", "w") as f:
            f.write(doc)
    s = json.load(open(rt + ".json"))
    for rule in ("auto", "valley"):
        key = f"{rule} {seed}"
        if key in results:
            continue
        words = grid["command"].split()[1:]
        words[words.index("--max-lr") + 1] = repr(s[rule])
        with tempfile.TemporaryDirectory() as d:
            subprocess.run([binary, *words, "--quiet", "--out", d], check=True)
            acc = json.load(open(os.path.join(d, "metrics.json")))["evals"][-1]["acc"]
        results[key] = {"lr": s[rule], "acc": acc, "grid_lr": grid["lr"],
                        "grid_acc": grid["final_val_acc"]}
        save()
        print(f"seed {seed}: {rule} lr {s[rule]:.3g}: {100*acc:.2f}% (grid lr {grid['lr']}: "
              f"{100*grid['final_val_acc']:.2f}%)", flush=True)

print("| rule | lr per seed | validation % per seed | median shortfall vs grid (points) |")
print("|---|---|---|---|")
for rule in ("auto", "valley"):
    rows = [results[f"{rule} {s}"] for s in (0, 1, 2)]
    gaps = sorted(r["grid_acc"] - r["acc"] for r in rows)
    lrs = ", ".join(f"{r['lr']:.3g}" for r in rows)
    accs = ", ".join(f"{100 * r['acc']:.2f}" for r in rows)
    print(f"| {rule} | {lrs} | {accs} | {100 * gaps[1]:.2f} |")
