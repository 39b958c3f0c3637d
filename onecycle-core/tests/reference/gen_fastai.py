"""Prints fastai fit_one_cycle reference values as Rust tables for tests/reference_fastai.rs.

Provenance only (not run in CI): /work/pyref/bin/python gen_fastai.py
fit_one_cycle schedules lr with combined_cos(pct_start, lr_max/div, lr_max, lr_max/div_final)
and momentum with combined_cos(pct_start, *moms), evaluated at batch i of N at position i/N.
fastai keeps the phase fractions in a float32 tensor, so the progress through a
phase is rounded to float32 (about 1e-7 of the phase's value range).
Past the end (position > 1) fastai extrapolates the last cosine; this crate clamps,
so no such positions are printed.
"""
import fastai
import torch
from fastai.callback.schedule import combined_cos


def table(name, sched, total, steps):
    print(f"const {name}: &[(u32, f64)] = &[")
    for k in steps:
        print(f"    ({k}, {float(sched(k / total))!r}),")
    print("];")


print(f"// fastai {fastai.__version__}, torch {torch.__version__}")
lr_max, div, div_final, pct = 1e-3, 25.0, 1e5, 0.25
lr = combined_cos(pct, lr_max / div, lr_max, lr_max / div_final)
mom = combined_cos(pct, 0.95, 0.85, 0.95)
table("FA_T10_LR", lr, 10, range(11))
table("FA_T10_MOM", mom, 10, range(11))
sample = range(8)
table("FA_T7_LR", lr, 7, sample)
table("FA_T7_MOM", mom, 7, sample)
sample = [0, 1, 100, 249, 250, 251, 600, 998, 999, 1000]
table("FA_T1000_LR", lr, 1000, sample)
table("FA_T1000_MOM", mom, 1000, sample)
