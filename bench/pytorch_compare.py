#!/usr/bin/env python3
"""Run optlab's standard workloads in optlab and in PyTorch, side by side.

The same workloads as `optlab bench`, with the same shapes, batch sizes,
optimizer (Adam, lr 0.001), epochs and sample counts:

  * training throughput of `optlab train` and of a PyTorch training loop
    on the same CSV file: the digits-sized MLP 64-128-64-10 at batch 64 and
    the MNIST-sized MLP 784-256-128-10 at batch 128. Both sides train on
    the same split (80% of the rows, less 10% for validation) and both
    evaluate the validation split after every epoch, as `optlab train` does;
  * single-sample latency and batch-256 throughput, float32 and int8
    (PyTorch: dynamic quantization), taken from `optlab bench --json`;
  * float32 GEMM at 512x512x512 on 1 and 2 threads.

Needs PyTorch (Debian: apt-get install python3-torch) and an optlab binary:

  go build -o /tmp/optlab . && python3 bench/pytorch_compare.py --optlab /tmp/optlab

The data is synthetic (Gaussian classes): speed depends on the shapes, not
on the values. Only the standard library and torch are used. Both sides'
inference timings include standardizing the input, as optlab's do.

Debian's python3-torch multiplies through whatever libblas.so.3 the system
selects: with only the reference BLAS installed PyTorch runs many times
slower, so install OpenBLAS first (apt-get install libopenblas0-pthread)
for a fair comparison. OpenBLAS then uses its own threads (one per core)
even with one PyTorch intra-op thread.
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

import torch

WORKLOADS = [
    # name, hidden sizes, features, batch, rows in the CSV
    ("64-128-64-10", (128, 64), 64, 64, 8000),
    ("784-256-128-10", (256, 128), 784, 128, 10000),
]


def write_csv(path, rows, features, seed):
    """Writes rows of `features` Gaussian values in 10 classes, label last."""
    rnd = random.Random(seed)
    centres = [[rnd.gauss(0, 1) for _ in range(features)] for _ in range(10)]
    with open(path, "w") as f:
        f.write(",".join(f"x{j}" for j in range(features)) + ",label\n")
        for i in range(rows):
            c = i % 10
            f.write(",".join(f"{v + rnd.gauss(0, 1):.4f}" for v in centres[c]))
            f.write(f",{c}\n")


def read_csv(path):
    with open(path) as f:
        next(f)
        rows = [line.rstrip("\n").split(",") for line in f]
    x = torch.tensor([[float(v) for v in r[:-1]] for r in rows], dtype=torch.float32)
    y = torch.tensor([int(r[-1]) for r in rows], dtype=torch.long)
    return x, y


def mlp(features, hidden):
    layers, n = [], features
    for h in hidden:
        layers += [torch.nn.Linear(n, h), torch.nn.ReLU()]
        n = h
    layers.append(torch.nn.Linear(n, 10))
    return torch.nn.Sequential(*layers)


def torch_train(x, y, hidden, batch, epochs):
    """Trains as optlab train does; returns training samples per second over
    the whole run (forward, backward, update, and validation per epoch)."""
    n = x.shape[0]
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(1))
    n_test = round(n * 0.2)
    rest = perm[n_test:]
    n_val = round(len(rest) * 0.1)
    val, train = rest[:n_val], rest[n_val:]
    xt, yt, xv = x[train], y[train], x[val]
    mean, std = xt.mean(0), xt.std(0).clamp_min(1e-6)
    xt, xv = (xt - mean) / std, (xv - mean) / std
    torch.manual_seed(1)
    model = mlp(x.shape[1], hidden)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(xt))
        for b in range(0, len(xt), batch):
            idx = order[b:b + batch]
            opt.zero_grad()
            loss_fn(model(xt[idx]), yt[idx]).backward()
            opt.step()
        with torch.no_grad():
            for b in range(0, len(xv), 256):
                model(xv[b:b + 256])
    return len(xt) * epochs / (time.perf_counter() - start)


def optlab_train(optlab, csv, hidden, batch, epochs):
    out = subprocess.run(
        [optlab, "train", "--data", csv, "--model", "mlp:" + ",".join(map(str, hidden)),
         "--batch", str(batch), "--epochs", str(epochs), "--opt", "adam", "--lr", "0.001", "--json"],
        check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["train_samples_per_sec"]


def latency_us(model, x, mean, std, reps=2000):
    """Median time of one sample, standardized then run, as optlab's
    MeasureSpeed times it."""
    times = []
    with torch.no_grad():
        for i in range(reps + reps // 5):
            s = x[i % len(x)].unsqueeze(0)
            t = time.perf_counter()
            model((s - mean) / std)
            if i >= reps // 5:
                times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6


def throughput(model, x, mean, std, batch=256, seconds=0.5):
    """Samples per second in standardized batches of 256."""
    xb = x[:batch]
    done, start = 0, time.perf_counter()
    with torch.no_grad():
        model((xb - mean) / std)
        while done == 0 or time.perf_counter() - start < seconds:
            model((xb - mean) / std)
            done += batch
    return done / (time.perf_counter() - start)


def gemm_gflops(threads, n=512, seconds=1.0):
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    reps, start = 0, time.perf_counter()
    while reps == 0 or time.perf_counter() - start < seconds:
        torch.mm(a, b)
        reps += 1
    torch.set_num_threads(old)
    return 2 * n ** 3 * reps / (time.perf_counter() - start) / 1e9


def ratio(a, b):
    return f"{a / b:.2f}x" if b else "-"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--optlab", default="optlab", help="the optlab binary (default: optlab on PATH)")
    p.add_argument("--epochs", type=int, default=5, help="training epochs per workload")
    p.add_argument("--threads", type=int, default=0,
                   help="PyTorch intra-op threads (default: PyTorch's own setting)")
    p.add_argument("--repeat", type=int, default=1,
                   help="run every measurement this many times on both sides and keep the best "
                        "(on a shared machine, the one least disturbed)")
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    a = p.parse_args()
    best = lambda f, better=max: better(f() for _ in range(max(a.repeat, 1)))
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    res = {"torch": torch.__version__, "torch_threads": torch.get_num_threads(), "train": [], "inference": [], "gemm": []}

    runs = [json.loads(subprocess.run([a.optlab, "bench", "--json", "--epochs", str(a.epochs)],
                                      check=True, capture_output=True, text=True).stdout)
            for _ in range(max(a.repeat, 1))]
    bench = runs[0]
    for i, inf in enumerate(bench["inference"]):  # the best of the runs, figure by figure
        inf["latency_us"] = min(r["inference"][i]["latency_us"] for r in runs)
        inf["throughput_sps"] = max(r["inference"][i]["throughput_sps"] for r in runs)
    for i, g in enumerate(bench["gemm"]):
        g["gflops"] = max(r["gemm"][i]["gflops"] for r in runs)
    res["optlab_cpu_features"], res["optlab_kernels"] = bench["cpu_features"], bench["kernels"]
    with tempfile.TemporaryDirectory() as tmp:
        for name, hidden, features, batch, rows in WORKLOADS:
            csv = os.path.join(tmp, f"{name}.csv")
            write_csv(csv, rows, features, seed=1)
            x, y = read_csv(csv)
            ours = best(lambda: optlab_train(a.optlab, csv, hidden, batch, a.epochs))
            theirs = best(lambda: torch_train(x, y, hidden, batch, a.epochs))
            res["train"].append({"name": name, "batch": batch, "epochs": a.epochs,
                                 "optlab_samples_per_sec": ours, "torch_samples_per_sec": theirs})
            model = mlp(features, hidden).eval()
            mean, std = x.mean(0), x.std(0).clamp_min(1e-6)
            q = torch.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
            for kind, m in (("float32", model), ("int8", q)):
                o = next(i for i in bench["inference"] if i["name"] == name and i["kind"] == kind)
                res["inference"].append({"name": name, "kind": kind,
                                         "optlab_latency_us": o["latency_us"],
                                         "torch_latency_us": best(lambda: latency_us(m, x[:512], mean, std), min),
                                         "optlab_throughput_sps": o["throughput_sps"],
                                         "torch_throughput_sps": best(lambda: throughput(m, x[:512], mean, std))})
    for g in bench["gemm"]:
        res["gemm"].append({"size": g["size"], "threads": g["threads"], "optlab_gflops": g["gflops"],
                            "torch_gflops": best(lambda: gemm_gflops(g["threads"], g["size"]))})

    if a.json:
        print(json.dumps(res))
        return
    print(f"PyTorch {res['torch']} ({res['torch_threads']} intra-op threads) vs optlab "
          f"(kernels: {bench['kernels']['float32_gemm']}, {bench['kernels']['int8_gemm']}); "
          f"best of {max(a.repeat, 1)}\n")
    print(f"{'training (Adam, optlab train vs PyTorch loop)':48} {'optlab':>12} {'PyTorch':>12} {'ratio':>7}")
    for t in res["train"]:
        print(f"{t['name'] + ' batch ' + str(t['batch']) + ', samples/s':48} {t['optlab_samples_per_sec']:12,.0f} "
              f"{t['torch_samples_per_sec']:12,.0f} {ratio(t['optlab_samples_per_sec'], t['torch_samples_per_sec']):>7}")
    print(f"\n{'inference':48} {'optlab':>12} {'PyTorch':>12} {'speedup':>7}")
    for i in res["inference"]:
        label = f"{i['name']} {i['kind']}"
        print(f"{label + ', latency µs':48} {i['optlab_latency_us']:12.2f} {i['torch_latency_us']:12.2f} "
              f"{ratio(i['torch_latency_us'], i['optlab_latency_us']):>7}")
        print(f"{label + ', batch-256 samples/s':48} {i['optlab_throughput_sps']:12,.0f} "
              f"{i['torch_throughput_sps']:12,.0f} {ratio(i['optlab_throughput_sps'], i['torch_throughput_sps']):>7}")
    print(f"\n{'GEMM float32':48} {'optlab':>12} {'PyTorch':>12} {'ratio':>7}")
    for g in res["gemm"]:
        print(f"{'%dx%dx%d, %d thread(s), GFLOP/s' % (g['size'], g['size'], g['size'], g['threads']):48} "
              f"{g['optlab_gflops']:12.1f} {g['torch_gflops']:12.1f} {ratio(g['optlab_gflops'], g['torch_gflops']):>7}")


if __name__ == "__main__":
    sys.exit(main())
