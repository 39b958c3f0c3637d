"""Prints PyTorch OneCycleLR reference values as Rust tables for tests/reference_pytorch.rs.

Provenance only (not run in CI): /work/pyref/bin/python gen_pytorch.py
The value training step k uses is the scheduler's after k calls to step().
"""
import warnings

import torch

warnings.filterwarnings("ignore")


def run(total_steps, **kw):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1, momentum=0.9)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, total_steps=total_steps, **kw)
    lrs, moms = [], []
    for _ in range(total_steps):
        g = opt.param_groups[0]
        lrs.append(g["lr"])
        moms.append(g["momentum"])
        opt.step()
        sched.step()
    return lrs, moms


def table(name, steps, values):
    print(f"const {name}: &[(u32, f64)] = &[")
    for k in steps:
        print(f"    ({k}, {values[k]!r}),")
    print("];")


print(f"// torch {torch.__version__}")
lrs, moms = run(10, max_lr=0.1)
table("PT_T10_LR", range(10), lrs)
table("PT_T10_MOM", range(10), moms)

lrs, _ = run(10, max_lr=25, final_div_factor=2)
table("PT_PUBLISHED_COS_LR", range(10), lrs)

sample = [0, 1, 2, 150, 298, 299, 300, 301, 500, 777, 998, 999]
lrs, moms = run(1000, max_lr=0.1)
table("PT_T1000_LR", sample, lrs)
table("PT_T1000_MOM", sample, moms)

lrs, moms = run(1000, max_lr=0.1, anneal_strategy="linear")
table("PT_T1000_LINEAR_LR", sample, lrs)

sample3 = [0, 5, 23, 24, 25, 30, 47, 48, 49, 70, 98, 99]
lrs, moms = run(100, max_lr=1.0, pct_start=0.25, three_phase=True)
table("PT_T100_3PH_LR", sample3, lrs)
table("PT_T100_3PH_MOM", sample3, moms)

lrs, moms = run(7, max_lr=0.5, pct_start=0.4, div_factor=10.0, final_div_factor=100.0,
                base_momentum=0.8, max_momentum=0.9)
table("PT_T7_CUSTOM_LR", range(7), lrs)
table("PT_T7_CUSTOM_MOM", range(7), moms)
