#!/usr/bin/python3
"""The PyTorch twin of examples/fashion_mnist.c: the same CNN, the same
initial weights, the same batches, the same AdamW, printing each step's loss
and time (--log-losses: step, loss, wall ms, process CPU ms) so that the two runs can be put side by side.

    fashion_mnist_torch.py [--init FILE] [--order FILE] [--epochs 3] [--batch 64]
                           [--threads N] [--limit N] [--test-limit N] [--steps N] [--eval]
                           [--lr 1e-3] [--no-dropout] [--log-losses FILE] [--data DIR]
                           [--check-steps DIR]

--init reads the weights nabla wrote with --export-init (nb_module_save's
state file, docs/state-format.md); --order reads the batch order
nabla wrote with --export-order (one line of row indices per epoch). Without
them the weights are PyTorch's own initialisation and the order
torch.randperm's. --check-steps DIR does not train: each step's loss is
computed at the weights nabla had before that step (nabla's --export-steps
DIR), which checks the function along nabla's trajectory without the
step-to-step amplification of rounding differences. Runs with Debian's /usr/bin/python3 and python3-torch.
"""
import argparse
import gzip
import struct
import sys
import time
import zlib

import numpy as np
import torch
import torch.nn as nn

MEAN, STD = 0.2860, 0.3530   # NB_FASHION_MNIST_MEAN / _STD (include/nabla/data.h)


def read_idx(path, ndim):
    """An IDX uint8 file (gzip or plain), its header checked against its size."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08 or data[3] != ndim:
        sys.exit(f"{path}: not a {ndim}-D uint8 IDX file")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    if len(data) != 4 + 4 * ndim + int(np.prod(dims)):
        sys.exit(f"{path}: the header's sizes {dims} do not match the data")
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_images(path):
    # The same float32 operations in the same order as nb_idx_load_images.
    x = torch.from_numpy(read_idx(path, 3).copy()).float()
    return ((x / 255) - MEAN).div(STD).unsqueeze(1)


def load_labels(path):
    return torch.from_numpy(read_idx(path, 1).astype(np.int64))


def make_model(dropout_p):
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Dropout(dropout_p), nn.Linear(128, 10))


def read_nabla_state(path):
    """nabla's state file (nb_module_save; docs/state-format.md): magic
    "nablasd\\0", u32 version 1, u32 count, then per entry u32 name length,
    the name, u32 dtype (0 float32, 1 float64, 2 int64), u32 ndim, i64
    sizes, the little-endian values; a CRC-32 of everything before it last."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 20 or data[:8] != b"nablasd\0":
        sys.exit(f"{path}: not a nabla state file")
    version, count = struct.unpack_from("<II", data, 8)
    if version != 1:
        sys.exit(f"{path}: format version {version}; this reader knows version 1")
    if zlib.crc32(data[:-4]) != struct.unpack_from("<I", data, len(data) - 4)[0]:
        sys.exit(f"{path}: checksum mismatch (corrupt file)")
    pos, state = 16, {}
    dtypes = {0: np.float32, 1: np.float64, 2: np.int64}
    for _ in range(count):
        (n,) = struct.unpack_from("<I", data, pos)
        name = data[pos + 4:pos + 4 + n].decode()
        dt, nd = struct.unpack_from("<II", data, pos + 4 + n)
        pos += 12 + n
        shape = struct.unpack_from("<" + "q" * nd, data, pos)
        pos += 8 * nd
        dtype = np.dtype(dtypes[dt]).newbyteorder("<")
        numel = int(np.prod(shape)) if nd else 1
        arr = np.frombuffer(data, dtype, numel, pos).astype(dtypes[dt]).reshape(shape)
        state[name] = torch.from_numpy(arr.copy())
        pos += numel * dtype.itemsize
    if pos != len(data) - 4:
        sys.exit(f"{path}: {len(data) - 4 - pos} unexpected bytes before the checksum")
    return state


def load_nabla_state(model, path):
    model.load_state_dict(read_nabla_state(path), strict=True)


def accuracy(model, x, y, dtype):
    model.eval()
    correct = 0
    with torch.no_grad():
        for s in range(0, len(x), 1000):
            correct += (model(x[s:s + 1000].to(dtype)).argmax(1) == y[s:s + 1000]).sum().item()
    model.train()
    return correct / len(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--init"), ap.add_argument("--order"), ap.add_argument("--log-losses")
    ap.add_argument("--epochs", type=int, default=3), ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=0), ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--test-limit", type=int, default=0), ap.add_argument("--steps", type=int, default=0)
    ap.add_argument("--lr", type=float, default=1e-3), ap.add_argument("--no-dropout", action="store_true")
    ap.add_argument("--seed", type=int, default=1), ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--eval", action="store_true", help="test accuracy after each epoch also with --steps")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--check-steps", help="DIR of nabla's --export-steps: each step's loss at nabla's weights")
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float32",
                    help="train in this precision (model.double() after the initial weights, each batch converted), "
                         "as nabla's --dtype")
    ap.add_argument("--perturb-ulp", action="store_true",
                    help="move one weight (the last layer's first) up by one ulp before training: "
                         "how far a single rounding difference carries")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    xtr = load_images(f"{a.data}/train-images-idx3-ubyte.gz")
    ytr = load_labels(f"{a.data}/train-labels-idx1-ubyte.gz")
    xte = load_images(f"{a.data}/t10k-images-idx3-ubyte.gz")
    yte = load_labels(f"{a.data}/t10k-labels-idx1-ubyte.gz")
    if a.limit:
        xtr, ytr = xtr[:a.limit], ytr[:a.limit]
    if a.test_limit:
        xte, yte = xte[:a.test_limit], yte[:a.test_limit]

    model = make_model(0.0 if a.no_dropout else 0.25)
    if a.init:
        load_nabla_state(model, a.init)
    if a.perturb_ulp:
        with torch.no_grad():
            w = list(model.parameters())[-2].view(-1)
            w[0] = torch.nextafter(w[0], torch.tensor(float("inf")))
    dtype = torch.float64 if a.dtype == "float64" else torch.float32
    model.to(dtype)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    orders = [list(map(int, line.split())) for line in open(a.order)] if a.order else []
    log = open(a.log_losses, "w") if a.log_losses else None
    n, nb = len(xtr), (len(xtr) + a.batch - 1) // a.batch
    total = min(a.steps, nb * a.epochs) if a.steps else nb * a.epochs
    print(f"fashion_mnist_torch: {n} training images, {len(xte)} test, batch {a.batch}, {total} steps, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads", flush=True)
    step, t_start = 0, time.perf_counter()
    for e in range(a.epochs):
        if step >= total:
            break
        order = torch.tensor(orders[e]) if e < len(orders) else torch.randperm(n)
        t_epoch, images, done = time.perf_counter(), 0, 0
        for b in range(nb):
            if step >= total:
                break
            idx = order[b * a.batch:(b + 1) * a.batch]
            t0, c0 = time.perf_counter(), time.process_time()
            xb, yb = xtr.index_select(0, idx).to(dtype), ytr.index_select(0, idx)
            if a.check_steps:   # nabla's model before this step, no update of ours
                load_nabla_state(model, f"{a.check_steps}/step_{step}.nbst")
                with torch.no_grad():
                    loss = nn.functional.cross_entropy(model(xb), yb)
            else:
                opt.zero_grad(set_to_none=True)
                loss = nn.functional.cross_entropy(model(xb), yb)
                loss.backward()
                opt.step()
            dt, dc = time.perf_counter() - t0, time.process_time() - c0
            images += len(idx)
            done += 1
            if log:
                log.write(f"{step} {loss.item():.17g} {dt * 1e3:.6f} {dc * 1e3:.6f}\n")
            if not a.quiet and (step % 50 == 0 or step < 10):
                print(f"step {step} loss {loss.item():.6f} {dt * 1e3:.2f} ms", flush=True)
            step += 1
        el = time.perf_counter() - t_epoch
        msg = f"epoch {e + 1}/{a.epochs}: {done} steps in {el:.1f} s, {images / el:.0f} images/s"
        if not a.steps or a.eval:
            msg += f", test accuracy {100 * accuracy(model, xte, yte, dtype):.2f} %"
        print(msg, flush=True)
    secs = time.perf_counter() - t_start
    print(f"trained {step} steps in {secs:.1f} s: {step * a.batch / secs:.0f} images/s")


if __name__ == "__main__":
    main()
