"""Median and spread (max/min) over seeds of each range-test rule, from spread.sh's files.

`auto` and `edge` missing from a JSON (recorded before they existed) are read off its CSV
by `onecycle find-lr --from-csv`, which reads the raw losses as the live test does.
"""
import glob
import json
import os
import subprocess
import sys

out, binary = sys.argv[1], sys.argv[2]
rules = ["auto", "edge", "valley", "slide", "minimum", "steep"]
table = {}
for path in sorted(glob.glob(os.path.join(out, "*.json"))):
    ds, seed = os.path.basename(path)[:-5].rsplit("-", 1)
    doc = json.load(open(path))
    if doc.get("auto") is None:
        csv = path[:-5] + ".csv"
        got = subprocess.run([binary, "find-lr", "--from-csv", csv, "--format", "json"],
                             check=True, capture_output=True, text=True).stdout
        doc.update({k: json.loads(got)[k] for k in ("auto", "edge")})
    table.setdefault(ds, {})[int(seed)] = doc
print("| data set | rule | median lr | max / min over seeds | per seed |")
print("|---|---|---|---|---|")
for ds, seeds in table.items():
    for rule in rules:
        v = [seeds[s][rule] for s in sorted(seeds)]
        med = sorted(v)[(len(v) - 1) // 2]
        cells = " ".join(f"{x:.2g}" for x in v)
        print(f"| {ds} ({len(v)} seeds) | {rule} | {med:.3g} | {max(v) / min(v):.1f}× | {cells} |")
