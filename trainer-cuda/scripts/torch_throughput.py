#!/usr/bin/env python3
"""PyTorch CPU training throughput of the same models, for comparison with `throughput`.

Usage: torch_throughput.py --model mnist-cnn --batch 128 --steps 50 [--threads 2]
Prints the same table columns as the Rust bench. Not needed by tests or CI.
"""
import argparse
import resource
import time

import torch
import torch.nn as nn


def mnist_cnn(classes=10):
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, classes))


def mlp(classes=10):
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                         nn.Linear(128, classes))


class Res(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU(),
                                  nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c))

    def forward(self, x):
        return torch.relu(self.body(x) + x)


def resnet_small(classes=10):
    def stage(ci, c):
        return [nn.Conv2d(ci, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU(), Res(c)]
    return nn.Sequential(*stage(3, 16), nn.MaxPool2d(2), *stage(16, 32), nn.MaxPool2d(2), *stage(32, 64),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, classes))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="mnist-cnn", choices=["mnist-cnn", "mlp", "resnet-small"])
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = {"mnist-cnn": mnist_cnn, "mlp": mlp, "resnet-small": resnet_small}[a.model]()
    shape = (3, 32, 32) if a.model == "resnet-small" else (1, 28, 28)
    x = torch.rand(a.batch, *shape) * 2 - 1
    y = torch.randint(0, 10, (a.batch,))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(a.warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        loss = step()
    secs = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("| impl | model | batch | steps | threads | img/s | ms/step | peak RSS MiB | last loss |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(f"| pytorch {torch.__version__} | {a.model} | {a.batch} | {a.steps} | {a.threads} | "
          f"{a.batch * a.steps / secs:.0f} | {secs * 1000 / a.steps:.2f} | {rss:.0f} | {loss:.4f} |")


if __name__ == "__main__":
    main()
