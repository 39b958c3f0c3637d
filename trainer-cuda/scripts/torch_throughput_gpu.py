#!/usr/bin/env python3
"""PyTorch training throughput on a GPU, for the img/s ratio against `throughput --device cuda`.

Usage: torch_throughput_gpu.py --model mnist-cnn --batch 128 [--steps 50] [--device cuda]
Same work as the Rust bench: synthetic inputs of the model's shape, SGD (lr 0.01, momentum 0.9),
cross-entropy; the models come from torch_throughput.py next to this file. Prints one Markdown
table row (same columns as the Rust bench) and, last, one JSON line. Not needed by tests or CI.
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_throughput import mlp, mnist_cnn, resnet_small  # noqa: E402

MODELS = {"mnist-cnn": (mnist_cnn, (1, 28, 28)), "mlp": (mlp, (1, 28, 28)),
          "resnet-small": (resnet_small, (3, 32, 32))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="mnist-cnn", choices=sorted(MODELS))
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--device", default="cuda")
    a = ap.parse_args()
    if a.batch < 1 or a.steps < 1:
        sys.exit("torch_throughput_gpu.py: --batch and --steps must be at least 1")
    dev = torch.device(a.device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        sys.exit("torch_throughput_gpu.py: torch sees no CUDA GPU; use --device cpu")
    torch.manual_seed(0)
    make, shape = MODELS[a.model]
    net = make(10).to(dev).train()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    x = (torch.rand((a.batch, *shape), device=dev) * 2 - 1)
    y = torch.randint(0, 10, (a.batch,), device=dev)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        return loss

    for _ in range(a.warmup):
        step()
    sync()
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    t0 = time.perf_counter()
    for _ in range(a.steps):
        loss = step()
    sync()
    secs = time.perf_counter() - t0
    ips = a.batch * a.steps / secs
    peak = torch.cuda.max_memory_allocated(dev) / 2**20 if dev.type == "cuda" else float("nan")
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    print("| impl | model | batch | steps | device | img/s | ms/step | peak GPU MiB | last loss |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(f"| torch {torch.__version__} | {a.model} | {a.batch} | {a.steps} | {name} | {ips:.0f} | "
          f"{secs * 1000 / a.steps:.2f} | {peak:.0f} | {loss.item():.4f} |")
    print(json.dumps({"impl": "torch", "torch": torch.__version__, "model": a.model, "batch": a.batch,
                      "steps": a.steps, "device": name, "img_per_s": ips,
                      "ms_per_step": secs * 1000 / a.steps, "peak_gpu_mib": peak}))


if __name__ == "__main__":
    main()
