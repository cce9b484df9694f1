#!/usr/bin/python3
"""PyTorch twins of the tfjs model zoo (lib/models/zoo.ts), for the speed comparison of
`deno task bench --vs torch` (lib/bench/bench_vs.ts) and the parameter-count test
(tests/bench_test.ts).

Every model here has the identical architecture of its zoo namesake: the same layers, kernel
sizes, strides, paddings, channels, activations, BatchNorm/Dropout placement and hence the same
trainable parameter count (checked by the tests). Layout is PyTorch's NCHW, so flatten/reshape
orders differ from tfjs' NHWC by a fixed permutation, which changes no cost.

Run with Debian's Python (python3-torch lives there, not in the pyenv python on PATH):

  /usr/bin/python3 tests/reference/torch_reference.py --params
      prints {"model": trainable_params, ...} for every model as one JSON line.
  /usr/bin/python3 tests/reference/torch_reference.py --serve [--threads N]
      answers one JSON command per stdin line with one JSON line on stdout (see `serve`),
      so the caller can alternate tfjs and torch timings in one run.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F


def mlp_hidden_sizes(n_layers, btl_size):
    """Hidden sizes between 784 and the bottleneck (lib/models/mlp_blocks.ts mlpHiddenSizes).
    JavaScript's Math.round rounds halves up, Python's round to even: use floor(x + 0.5)."""
    step = (784 - btl_size) / n_layers
    return [math.floor(784 - (i + 1) * step + 0.5) for i in range(n_layers - 1)]


class Autoencoder(nn.Module):
    """Encoder + decoder, like lib/models/autoencoder.ts composeAutoencoder."""

    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    def forward(self, x):
        return self.decoder(self.encoder(x))


class Resize(nn.Module):
    """F.interpolate to a fixed size (align_corners=False), as lib/models/resize_layer.ts."""

    def __init__(self, size, mode):
        super().__init__()
        self.size = size
        self.mode = mode

    def forward(self, x):
        if self.mode == "bilinear":
            return F.interpolate(x, size=self.size, mode="bilinear", align_corners=False)
        return F.interpolate(x, size=self.size, mode="nearest")


def cnn_bilinear():
    """Write-up 000 (lib/models/cnn_bilinear.ts)."""
    enc = []
    cin = 1
    for c in (24, 48, 96):
        enc += [nn.Conv2d(cin, c, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2, 2)]
        cin = c
    enc += [nn.Flatten(), nn.Linear(864, 256)]
    dec = [nn.Linear(256, 864), nn.ReLU(), nn.Unflatten(1, (96, 3, 3))]
    cin = 96
    for c in (48, 24, 12):
        dec += [nn.ConvTranspose2d(cin, c, 3, 2, 1, output_padding=1), nn.ReLU()]
        cin = c
    dec += [Resize((28, 28), "bilinear"), nn.Conv2d(12, 1, 3, 1, 1)]
    return Autoencoder(nn.Sequential(*enc), nn.Sequential(*dec))


def conv_bottleneck(latent, decoder):
    """Write-up 001 (lib/models/conv_bottleneck.ts), decoder 'transpose'/'nearest'/'bilinear'."""
    enc = nn.Sequential(
        nn.Conv2d(1, 8, 3, 2, 1), nn.ReLU(),
        nn.Conv2d(8, 16, 3, 2, 1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Conv2d(16, 32, 3, 2, 0), nn.ReLU(),
        nn.Flatten(), nn.Linear(288, 128), nn.ReLU(), nn.Linear(128, latent))
    dec = [nn.Linear(latent, 128), nn.ReLU(), nn.Linear(128, 288), nn.ReLU(),
           nn.Unflatten(1, (32, 3, 3))]
    stages = [(16, 7, 0, 0), (8, 14, 1, 1), (1, 28, 1, 1)]
    cin = 32
    for i, (c, size, pad, out_pad) in enumerate(stages):
        if decoder == "transpose":
            dec.append(nn.ConvTranspose2d(cin, c, 3, 2, pad, output_padding=out_pad))
        else:
            dec += [Resize((size, size), decoder), nn.Conv2d(cin, c, 3, 1, 1)]
        dec += [nn.BatchNorm2d(c), nn.ReLU()] if i < len(stages) - 1 else [nn.Sigmoid()]
        cin = c
    return Autoencoder(enc, nn.Sequential(*dec))


def mlp_blocks(n_layers, use_dropout):
    """Write-up 002 (lib/models/mlp_blocks.ts), bottleneck 2."""
    sizes = mlp_hidden_sizes(n_layers, 2)

    def block(i, o):
        reg = nn.Dropout(0.3) if use_dropout else nn.BatchNorm1d(o)
        return [nn.Linear(i, o), nn.ReLU(), reg]

    enc, prev = [], 784
    for s in sizes:
        enc += block(prev, s)
        prev = s
    enc.append(nn.Linear(prev, 2))
    dec, prev = [], 2
    for s in reversed(sizes):
        dec += block(prev, s)
        prev = s
    dec.append(nn.Linear(prev, 784))
    return Autoencoder(nn.Sequential(*enc), nn.Sequential(*dec))


def dense_code(code_relu):
    """Write-up 003 (lib/models/dense_code.ts): 784-256-64-2-64-256-784, ReLU output."""
    enc = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 64), nn.ReLU(),
                        nn.Linear(64, 2), *([nn.ReLU()] if code_relu else []))
    dec = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 256), nn.ReLU(),
                        nn.Linear(256, 784), nn.ReLU())
    return Autoencoder(enc, dec)


def dense_64():
    """Write-up 004 dense (lib/models/dense64.ts)."""
    enc = nn.Sequential(nn.Linear(784, 784), nn.ReLU(), nn.Linear(784, 64), nn.ReLU())
    dec = nn.Sequential(nn.Linear(64, 784), nn.Sigmoid())
    return Autoencoder(enc, dec)


def conv_upsampling():
    """Write-up 004 conv (lib/models/conv_upsampling.ts): Keras 'same' convs and max pools
    (ceil_mode pools 7 -> 4 exactly like Keras' 'same' pooling), nearest x2 upsampling."""
    enc, cin = [], 1
    for c in (128, 64, 16, 16):
        enc += [nn.Conv2d(cin, c, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2, 2, ceil_mode=True)]
        cin = c
    enc.append(nn.Flatten())
    dec = [nn.Unflatten(1, (16, 2, 2))]
    for c, pad in ((16, 1), (16, 1), (64, 1), (128, 0)):
        dec += [nn.Conv2d(cin, c, 3, 1, pad), nn.ReLU(), nn.Upsample(scale_factor=2)]
        cin = c
    dec += [nn.Conv2d(128, 1, 3, 1, 1), nn.Sigmoid()]
    return Autoencoder(nn.Sequential(*enc), nn.Sequential(*dec))


# name -> (builder, input kind): "image" is [N, 1, 28, 28], "flat" is [N, 784].
ZOO = {
    "cnn-bilinear": (cnn_bilinear, "image"),
    "conv-bottleneck-d2": (lambda: conv_bottleneck(2, "transpose"), "image"),
    "conv-transpose-d16": (lambda: conv_bottleneck(16, "transpose"), "image"),
    "conv-upsample-nearest-d16": (lambda: conv_bottleneck(16, "nearest"), "image"),
    "conv-upsample-bilinear-d16": (lambda: conv_bottleneck(16, "bilinear"), "image"),
    "mlp-bn-10": (lambda: mlp_blocks(10, False), "flat"),
    "mlp-dropout-5": (lambda: mlp_blocks(5, True), "flat"),
    "dense-relu-code": (lambda: dense_code(True), "flat"),
    "dense-linear-code": (lambda: dense_code(False), "flat"),
    "dense-64": (dense_64, "flat"),
    "conv-upsampling": (conv_upsampling, "image"),
}


def build(name, seed=0):
    if name not in ZOO:
        raise ValueError(f"unknown model {name!r}; valid: {', '.join(ZOO)}")
    torch.manual_seed(seed)
    builder, kind = ZOO[name]
    model = builder()
    # Shape check: a model that does not map 28x28 back to 28x28 is not the zoo's.
    x = torch.zeros((2, 1, 28, 28) if kind == "image" else (2, 784))
    model.eval()
    with torch.no_grad():
        y = model(x)
    if tuple(y.shape) != tuple(x.shape):
        raise ValueError(f"{name}: output shape {tuple(y.shape)} != input {tuple(x.shape)}")
    return model, kind


def trainable_params(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def read_idx_images(path, count):
    """First `count` images of an IDX3 file as float32 in [0, 1], shape [count, 784]."""
    with open(path, "rb") as f:
        header = np.frombuffer(f.read(16), dtype=">u4")
        if header[0] != 2051:
            raise ValueError(f"{path}: not an IDX3 image file (magic {header[0]})")
        n, rows, cols = int(header[1]), int(header[2]), int(header[3])
        if count > n:
            raise ValueError(f"{path}: asked for {count} images, file has {n}")
        data = np.frombuffer(f.read(count * rows * cols), dtype=np.uint8)
    return torch.from_numpy(data.astype(np.float32) / 255.0).reshape(count, rows * cols)


def blas_info():
    """The BLAS torch calls (from its build config and the loaded libblas)."""
    config = torch.__config__.show()
    keys = ("BLAS_INFO", "LAPACK_INFO", "USE_MKLDNN", "USE_OPENMP")
    settings = [kv.strip().split(" ")[-1] for kv in config.replace("\n", ",").split(",")]
    lines = [kv for kv in settings if kv.split("=")[0] in keys]
    loaded = []
    try:
        with open("/proc/self/maps") as f:
            for ln in f:
                path = ln.split()[-1]
                if ("blas" in path or "mkl" in path) and path not in loaded:
                    loaded.append(path)
    except OSError:
        pass
    return {"config": lines, "loaded": loaded}


class Session:
    """One model, its Adam optimiser and the data batches, driven by `serve` commands."""

    def __init__(self):
        self.model = None

    def setup(self, cmd):
        self.name = cmd["model"]
        self.model, self.kind = build(self.name, cmd.get("seed", 0))
        self.batch_size = int(cmd["batch_size"])
        pool = int(cmd["pool"])
        images = read_idx_images(cmd["images"], self.batch_size * pool)
        shape = (-1, 1, 28, 28) if self.kind == "image" else (-1, 784)
        self.batches = [images[i * self.batch_size:(i + 1) * self.batch_size].reshape(shape)
                        for i in range(pool)]
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.next = 0
        return {"model": self.name, "params": trainable_params(self.model)}

    def train(self, cmd):
        """`batches` timed training steps (forward, MSE, backward, Adam) in train mode."""
        self.model.train()
        # None, not NaN, when no batch ran: json.dumps writes NaN, which is not JSON.
        times, loss_value = [], None
        for _ in range(int(cmd["batches"])):
            x = self.batches[self.next % len(self.batches)]
            self.next += 1
            t0 = time.perf_counter()
            self.optimizer.zero_grad(set_to_none=True)
            loss = F.mse_loss(self.model(x), x)
            loss.backward()
            self.optimizer.step()
            loss_value = loss.item()
            times.append(time.perf_counter() - t0)
        return {"seconds": times, "last_loss": loss_value}

    def infer(self, cmd):
        """Encoder outputs for `n` MNIST images in batches of `batch_size`, eval mode."""
        n, bs = int(cmd["n"]), int(cmd["batch_size"])
        images = read_idx_images(cmd["images"], n)
        if self.kind == "image":
            images = images.reshape(-1, 1, 28, 28)
        self.model.eval()
        with torch.no_grad():
            t0 = time.perf_counter()
            total = 0.0
            for i in range(0, n, bs):
                total += float(self.model.encoder(images[i:i + bs]).sum())
            seconds = time.perf_counter() - t0
        return {"seconds": seconds, "checksum": total}


def serve(threads):
    """Command loop: one JSON object per line in, one per line out. Commands:
    {"cmd": "info"}; {"cmd": "setup", "model", "batch_size", "pool", "images", "seed"?};
    {"cmd": "train", "batches"}; {"cmd": "infer", "n", "batch_size", "images"};
    {"cmd": "quit"}. Errors answer {"error": message} and the loop goes on."""
    torch.set_num_threads(threads)
    session = Session()
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            cmd = json.loads(line)
            op = cmd.get("cmd")
            if op == "quit":
                break
            if op == "info":
                out = {"torch": torch.__version__, "threads": torch.get_num_threads(),
                       "interop_threads": torch.get_num_interop_threads(),
                       "python": sys.version.split()[0], "blas": blas_info(),
                       "env": {k: os.environ.get(k) for k in
                               ("OMP_WAIT_POLICY", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}}
            elif op == "setup":
                out = session.setup(cmd)
            elif op in ("train", "infer"):
                if session.model is None:
                    raise ValueError(f"'{op}' before 'setup'")
                out = session.train(cmd) if op == "train" else session.infer(cmd)
            else:
                raise ValueError(f"unknown command {op!r}; expected info, setup, train, infer, quit")
        except Exception as err:  # report and keep serving
            out = {"error": f"{type(err).__name__}: {err}"}
        print(json.dumps(out), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--params", action="store_true", help="print parameter counts as JSON")
    parser.add_argument("--serve", action="store_true", help="answer JSON commands on stdin")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    args = parser.parse_args()
    if args.params:
        print(json.dumps({name: trainable_params(build(name)[0]) for name in ZOO}))
    elif args.serve:
        serve(args.threads)
    else:
        parser.error("give --params or --serve")


if __name__ == "__main__":
    main()
