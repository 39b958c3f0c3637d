"""The amendment of docs/finder/PROTOCOL.md: short sweeps combined, edge / D for D in
{10, 15, 20, 30}, against grid-tuned 1cycle.

usage: validate_short.py ONECYCLE_BINARY STUDY_DIR...   (the STUDY_DIRs validate.py scored).
Per seed, `onecycle find-lr` runs the short sweeps on the regime's training split (the
study's 1cycle command's data, model, optimiser and weight decay; the sweep's own batch,
steps and range) and its JSON goes to STUDY_DIR/short-sweeps/seed-S.json; every training
run is the study's recorded 1cycle command with --max-lr, --epochs and --seed replaced,
kept in STUDY_DIR/validation-short.json (written after each run). The grid-tuned runs are
validate.py's, read from STUDY_DIR/validation.json.
"""
import json
import os
import subprocess
import sys

from validate import ALL_BUDGETS, SEEDS, SELECT_BUDGETS, median, train

DIVISORS = (10, 15, 20, 30)
SWEEP = ["--sweeps", "3", "--sweep-batch-size", "32", "--steps", "80", "--start-lr", "1e-3",
         "--end-lr", "10"]
# The flags of the recorded training command that find-lr shares (data, model, optimiser).
SHARED = ("--dataset", "--model", "--optimizer", "--weight-decay", "--device", "--train-limit")


def short_edge(binary, template, study, seed):
    path = os.path.join(study, "short-sweeps", f"seed-{seed}.json")
    if not os.path.exists(path):
        words = template.split()[1:]
        flags = []
        for flag in SHARED:
            if flag in words:
                flags += [flag, words[words.index(flag) + 1]]
        os.makedirs(os.path.dirname(path), exist_ok=True)
        got = subprocess.run(
            [binary, "find-lr", *flags, *SWEEP, "--seed", str(seed), "--quiet", "--format",
             "json", "--csv", path[:-5] + ".csv"],
            check=True, capture_output=True, text=True).stdout
        with open(path + ".tmp", "w") as f:
            f.write(got)
        os.replace(path + ".tmp", path)
    return json.load(open(path))


def main(binary, studies):
    summary = {}
    for study in studies:
        d = json.load(open(os.path.join(study, "study.json")))
        template = next(r["command"] for r in d["runs"] if r["family"] == "1cycle")
        grid = json.load(open(os.path.join(study, "validation.json")))
        cache_path = os.path.join(study, "validation-short.json")
        cache = json.load(open(cache_path)) if os.path.exists(cache_path) else {}
        edges = {s: short_edge(binary, template, study, s) for s in SEEDS}
        for s in SEEDS:
            print(f"{study}: seed {s}: edges {edges[s]['edges']} -> median {edges[s]['edge']:.3g}"
                  f", spread {edges[s]['spread']:.2f}x", flush=True)
        for b in ALL_BUDGETS:
            for dv in DIVISORS:
                for s in SEEDS:
                    key = f"short/{dv} {b} {s}"
                    if key in cache:
                        continue
                    lr = edges[s]["edge"] / dv
                    print(f"{study}: short/{dv} lr {lr:.3g} {b} ep seed {s}", flush=True)
                    cache[key] = {"lr": lr, "acc": train(binary, template, lr, b, s)}
                    with open(cache_path + ".tmp", "w") as f:
                        json.dump(cache, f, indent=1)
                    os.replace(cache_path + ".tmp", cache_path)
        acc = lambda c, name, b: [c[f"{name} {b} {s}"]["acc"] for s in SEEDS]
        for dv in DIVISORS:
            name = f"short/{dv}"
            for b in ALL_BUDGETS:
                gap = median([g - c for g, c in zip(acc(grid, "grid", b), acc(cache, name, b))])
                summary.setdefault(name, []).append((study, b, gap))
    print("\n| candidate | " + " | ".join(f"{os.path.basename(s)} {b:g} ep"
                                          for s, b, _ in summary["short/10"])
          + " | mean shortfall at 1 and 4 ep (points) |")
    print("|---" * (len(summary["short/10"]) + 2) + "|")
    select = lambda rows: [g for _, b, g in rows if b in SELECT_BUDGETS]
    for name, rows in sorted(summary.items(), key=lambda kv: sum(select(kv[1]))):
        cells = " | ".join(f"{100*g:.2f}" for _, _, g in rows)
        print(f"| {name} | {cells} | {100*sum(select(rows))/len(select(rows)):.2f} |")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
