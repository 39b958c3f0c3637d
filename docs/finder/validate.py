"""Runs the candidates of docs/finder/PROTOCOL.md against grid-tuned 1cycle and scores them.

usage: validate.py ONECYCLE_BINARY STUDY_DIR...   (each STUDY_DIR from `onecycle compare
--families 1cycle,1cycle-finder --out STUDY_DIR`). Every run is the study's recorded 1cycle
command with --max-lr, --epochs and --seed replaced; finished runs are kept in
STUDY_DIR/validation.json (written after each run), so it continues where it stopped.
"""
import json
import os
import subprocess
import sys
import tempfile

SEEDS = (0, 1, 2)
SELECT_BUDGETS = (1.0, 4.0)
ALL_BUDGETS = (0.5, 1.0, 2.0, 4.0)


def candidates(rng):
    s = dict(rng["suggestions"])
    return {
        "edge/10": rng["edge"] / 10, "edge/3": rng["edge"] / 3, "edge/30": rng["edge"] / 30,
        "valley": s["valley"], "minimum": s["minimum"], "slide": s["slide"], "steep": s["steep"],
    }


def set_flag(words, flag, value):
    i = words.index(flag)
    words[i + 1] = value


def train(binary, template, lr, budget, seed):
    words = template.split()[1:]
    set_flag(words, "--max-lr", repr(lr))
    set_flag(words, "--epochs", repr(budget))
    set_flag(words, "--seed", str(seed))
    with tempfile.TemporaryDirectory() as out:
        p = subprocess.run([binary, *words, "--quiet", "--out", out], capture_output=True, text=True)
        if p.returncode != 0:
            print(f"  failed ({p.stderr.strip().splitlines()[-1:]}): counted as 0", flush=True)
            return 0.0
        m = json.load(open(os.path.join(out, "metrics.json")))
    acc = m["evals"][-1]["acc"]
    return acc if acc == acc else 0.0


def median(v):
    v = sorted(v)
    return v[(len(v) - 1) // 2]


def main(binary, studies):
    summary = {}
    for study in studies:
        d = json.load(open(os.path.join(study, "study.json")))
        grid_lr = next(w["lr"] for w in d["winners"] if w["family"] == "1cycle")
        template = next(r["command"] for r in d["runs"] if r["family"] == "1cycle")
        ranges = {r["seed"]: r for r in d["ranges"]}
        cache_path = os.path.join(study, "validation.json")
        cache = json.load(open(cache_path)) if os.path.exists(cache_path) else {}
        plan = [("grid", grid_lr, b, s) for b in ALL_BUDGETS for s in SEEDS]
        for s in SEEDS:
            for name, lr in candidates(ranges[s]).items():
                budgets = ALL_BUDGETS if name == "edge/10" else SELECT_BUDGETS
                plan += [(name, lr, b, s) for b in budgets]
        for name, lr, b, s in plan:
            key = f"{name} {b} {s}"
            if key in cache:
                continue
            print(f"{study}: {name} lr {lr:.3g} {b} ep seed {s}", flush=True)
            cache[key] = {"lr": lr, "acc": train(binary, template, lr, b, s)}
            with open(cache_path + ".tmp", "w") as f:
                json.dump(cache, f, indent=1)
            os.replace(cache_path + ".tmp", cache_path)
        acc = lambda name, b: [cache[f"{name} {b} {s}"]["acc"] for s in SEEDS]
        for name in ["edge/10", "edge/3", "edge/30", "valley", "minimum", "slide", "steep"]:
            for b in SELECT_BUDGETS:
                gap = median([g - c for g, c in zip(acc("grid", b), acc(name, b))])
                summary.setdefault(name, []).append((study, b, gap))
        print(f"\n{study}: grid-tuned 1cycle (lr {grid_lr:.3g}) and edge/10 at every rung, "
              "final validation accuracy % per seed:")
        for b in ALL_BUDGETS:
            g, a = acc("grid", b), acc("edge/10", b)
            print(f"  {b} ep: grid {' '.join(f'{100*x:.2f}' for x in g)} | edge/10 "
                  f"{' '.join(f'{100*x:.2f}' for x in a)} | median shortfall "
                  f"{100*median([x - y for x, y in zip(g, a)]):.2f} points")

    print("\n| candidate | " + " | ".join(f"{os.path.basename(s)} {b:g} ep" for s, b, _ in summary["edge/10"])
          + " | mean shortfall (points) |")
    print("|---" * (len(summary["edge/10"]) + 2) + "|")
    for name, rows in sorted(summary.items(), key=lambda kv: sum(g for _, _, g in kv[1])):
        cells = " | ".join(f"{100*g:.2f}" for _, _, g in rows)
        print(f"| {name} | {cells} | {100*sum(g for _, _, g in rows)/len(rows):.2f} |")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
