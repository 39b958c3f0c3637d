#!/usr/bin/env python3
"""PyTorch CPU throughput of the same models, for comparison with the Rust `throughput` bench.

Usage: torch_throughput.py --model mnist-cnn --batch 128 --steps 50 [--threads 2]
Prints the same table columns as the Rust bench: training img/s, the matrix-multiply rate that
implies (same FLOP model: conv 2·c_out·c_in·k²·oh·ow, linear 2·fin·fout per image forward; a
training step adds the weight gradient and, except for a first conv, the input gradient),
evaluation img/s (eval mode, no_grad, batches of 256, loss and accuracy), PyTorch's own sgemm
rate (median of 5 products of two 2048×2048 f32 matrices) and peak RSS of the training.
Not needed by tests or CI; `speed_table.py` runs it alternately with the Rust bench.
"""
import argparse
import resource
import time

import torch
import torch.nn as nn

EVAL_BATCH = 256


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


def resnet_small(classes=10, channels=3):
    def stage(ci, c):
        return [nn.Conv2d(ci, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU(), Res(c)]
    return nn.Sequential(*stage(channels, 16), nn.MaxPool2d(2), *stage(16, 32), nn.MaxPool2d(2), *stage(32, 64),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, classes))


def train_flops_per_image(model, shape):
    """Training FLOPs per image under the bench's FLOP model (forward hooks give output sizes)."""
    counts = []

    def hook(m, _inp, out):
        if isinstance(m, nn.Conv2d):
            oh, ow = out.shape[2], out.shape[3]
            counts.append(2 * m.out_channels * m.in_channels * m.kernel_size[0] * m.kernel_size[1] * oh * ow)
        elif isinstance(m, nn.Linear):
            counts.append(2 * m.in_features * m.out_features)

    hooks = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, *shape))
    model.train(was_training)
    for h in hooks:
        h.remove()
    first_is_conv = isinstance(next(m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))), nn.Conv2d)
    return sum(3 * f for f in counts) - (counts[0] if first_is_conv else 0)


def sgemm_gflops(n=2048, runs=5):
    a = torch.rand(n, n) - 0.5
    b = torch.rand(n, n) - 0.5
    a @ b
    secs = []
    for _ in range(runs):
        t0 = time.perf_counter()
        a @ b
        secs.append(time.perf_counter() - t0)
    secs.sort()
    return 2 * n ** 3 / secs[len(secs) // 2] / 1e9


def eval_throughput(model, shape, n):
    x = torch.rand(n, *shape) * 2 - 1
    y = torch.randint(0, 10, (n,))
    model.eval()

    def once():
        loss, correct = 0.0, 0
        with torch.no_grad():
            for i in range(0, n, EVAL_BATCH):
                logits = model(x[i:i + EVAL_BATCH])
                loss += nn.functional.cross_entropy(logits, y[i:i + EVAL_BATCH], reduction="sum").item()
                correct += (logits.argmax(1) == y[i:i + EVAL_BATCH]).sum().item()
        return loss, correct

    once()
    t0 = time.perf_counter()
    once()
    secs = time.perf_counter() - t0
    model.train()
    return n / secs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="mnist-cnn", choices=["mnist-cnn", "mlp", "resnet-small", "resnet-mnist"])
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--eval-images", type=int, default=2560)
    ap.add_argument("--sgemm-size", type=int, default=2048)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = {"mnist-cnn": mnist_cnn, "mlp": mlp, "resnet-small": resnet_small,
             "resnet-mnist": lambda: resnet_small(channels=1)}[a.model]()
    shape = (3, 32, 32) if a.model == "resnet-small" else (1, 28, 28)
    flops = train_flops_per_image(model, shape)
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
    ips = a.batch * a.steps / secs
    eval_ips = f"{eval_throughput(model, shape, a.eval_images):.0f}" if a.eval_images > 0 else "n/a"
    sgemm = f"{sgemm_gflops(a.sgemm_size):.1f}" if a.sgemm_size > 0 else "n/a"
    print("| impl | model | batch | steps | threads | img/s | ms/step | GFLOP/s | eval img/s | "
          "sgemm GFLOP/s | peak RSS MiB | last loss |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    print(f"| pytorch {torch.__version__} | {a.model} | {a.batch} | {a.steps} | {a.threads} | "
          f"{ips:.0f} | {secs * 1000 / a.steps:.2f} | {ips * flops / 1e9:.1f} | {eval_ips} | {sgemm} | "
          f"{rss:.0f} | {loss:.4f} |")


if __name__ == "__main__":
    main()
