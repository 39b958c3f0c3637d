"""Prints baseline-schedule reference values as Rust tables for tests/reference_baseline.rs.

Provenance only (not run in CI): /work/pyref/bin/python gen_baseline.py
"""
import warnings

import jax

jax.config.update("jax_enable_x64", True)
import optax  # noqa: E402
import torch  # noqa: E402

warnings.filterwarnings("ignore")


def table(name, pairs):
    print(f"const {name}: &[(u32, f64)] = &[")
    for k, v in pairs:
        print(f"    ({k}, {float(v)!r}),")
    print("];")


print(f"// optax {optax.__version__} (x64), torch {torch.__version__}")
steps = [0, 1, 5, 9, 10, 11, 37, 55, 99, 100, 200]
s = optax.warmup_cosine_decay_schedule(init_value=0.01, peak_value=0.1, warmup_steps=10,
                                       decay_steps=100, end_value=1e-4)
table("OX_WARMUP_COSINE", [(k, s(k)) for k in steps])

p = torch.nn.Parameter(torch.zeros(1))
opt = torch.optim.SGD([p], lr=0.1)
sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[3, 6, 8], gamma=0.3)
vals = []
for k in range(12):
    vals.append((k, opt.param_groups[0]["lr"]))
    opt.step()
    sched.step()
table("PT_MULTISTEP", vals)

opt = torch.optim.SGD([p], lr=0.1)
sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)
vals = []
for k in range(30):
    vals.append((k, opt.param_groups[0]["lr"]))
    opt.step()
    sched.step()
table("PT_EXPONENTIAL", [vals[k] for k in (0, 1, 2, 10, 29)])
