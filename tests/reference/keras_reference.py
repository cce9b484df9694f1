"""Keras 3 twins of the tfjs model zoo (lib/models/zoo.ts), for the speed comparison of
`deno task bench --vs keras` (lib/bench/bench_vs.ts) and the parameter-count test
(tests/bench_test.ts).

Every model has the architecture of its zoo namesake and of its PyTorch twin in
torch_reference.py: the same layers, kernel sizes, strides, channels, activations,
BatchNorm/Dropout placement and hence the same trainable parameter count (checked before any
timing). Layout is Keras' NHWC, as tfjs'. PyTorch paddings map to Keras' "same"/"valid" with the
same output sizes (e.g. a stride-2 3x3 convolution with padding 1 on 28x28 gives 14x14 either
way), so the arithmetic is the same.

Training is what a Keras user writes: `model.compile(Adam(1e-3), "mse")` with Keras' defaults
(on the TensorFlow backend a compiled `tf.function` train step without XLA; `setup` answers
`jit_compile`), then one `train_on_batch(x, x)` per batch.

Run with a Python that has `tensorflow-cpu` and `keras` (the project's `.venv`, where
`deno task bench --vs keras` installs them):

  .venv/bin/python tests/reference/keras_reference.py --params
      prints {"model": trainable_params, ...} for every model as one JSON line.
  .venv/bin/python tests/reference/keras_reference.py --serve [--threads N] [--inter-op-threads M]
      answers one JSON command per stdin line with one JSON line on stdout; the commands are
      those of torch_reference.py (info, setup, train, infer, quit).
"""
import argparse
import json
import math
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # no start-up banner on stderr
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402


def mlp_hidden_sizes(n_layers, btl_size):
    """As torch_reference.py (JavaScript's Math.round: halves up)."""
    step = (784 - btl_size) / n_layers
    return [math.floor(784 - (i + 1) * step + 0.5) for i in range(n_layers - 1)]


def builders(keras):
    L = keras.layers

    def autoencoder(input_shape, encoder_layers, decoder_layers):
        x = keras.Input(input_shape)
        code = x
        for layer in encoder_layers:
            code = layer(code)
        encoder = keras.Model(x, code, name="encoder")
        y = keras.Input(code.shape[1:])
        out = y
        for layer in decoder_layers:
            out = layer(out)
        decoder = keras.Model(y, out, name="decoder")
        return keras.Model(x, decoder(encoder(x)), name="autoencoder"), encoder

    def cnn_bilinear():
        enc = []
        for c in (24, 48, 96):
            enc += [L.Conv2D(c, 3, padding="same", activation="relu"), L.MaxPooling2D(2)]
        enc += [L.Flatten(), L.Dense(256)]
        dec = [L.Dense(864, activation="relu"), L.Reshape((3, 3, 96))]
        for c in (48, 24, 12):
            dec.append(L.Conv2DTranspose(c, 3, strides=2, padding="same", activation="relu"))
        dec += [L.Resizing(28, 28, interpolation="bilinear"), L.Conv2D(1, 3, padding="same")]
        return autoencoder((28, 28, 1), enc, dec)

    def conv_bottleneck(latent, decoder):
        enc = [
            L.Conv2D(8, 3, strides=2, padding="same", activation="relu"),
            L.Conv2D(16, 3, strides=2, padding="same"), L.BatchNormalization(), L.ReLU(),
            L.Conv2D(32, 3, strides=2, padding="valid", activation="relu"),
            L.Flatten(), L.Dense(128, activation="relu"), L.Dense(latent),
        ]
        dec = [L.Dense(128, activation="relu"), L.Dense(288, activation="relu"),
               L.Reshape((3, 3, 32))]
        stages = [(16, 7, "valid"), (8, 14, "same"), (1, 28, "same")]
        for i, (c, size, padding) in enumerate(stages):
            if decoder == "transpose":
                dec.append(L.Conv2DTranspose(c, 3, strides=2, padding=padding))
            else:
                dec += [L.Resizing(size, size, interpolation=decoder),
                        L.Conv2D(c, 3, padding="same")]
            last = i == len(stages) - 1
            dec += [L.Activation("sigmoid")] if last else [L.BatchNormalization(), L.ReLU()]
        return autoencoder((28, 28, 1), enc, dec)

    def mlp_blocks(n_layers, use_dropout):
        sizes = mlp_hidden_sizes(n_layers, 2)

        def block(units):
            reg = L.Dropout(0.3) if use_dropout else L.BatchNormalization()
            return [L.Dense(units, activation="relu"), reg]

        enc = [layer for s in sizes for layer in block(s)] + [L.Dense(2)]
        dec = [layer for s in reversed(sizes) for layer in block(s)] + [L.Dense(784)]
        return autoencoder((784,), enc, dec)

    def dense_code(code_relu):
        enc = [L.Dense(256, activation="relu"), L.Dense(64, activation="relu"),
               L.Dense(2, activation="relu" if code_relu else None)]
        dec = [L.Dense(64, activation="relu"), L.Dense(256, activation="relu"),
               L.Dense(784, activation="relu")]
        return autoencoder((784,), enc, dec)

    def dense_64():
        enc = [L.Dense(784, activation="relu"), L.Dense(64, activation="relu")]
        dec = [L.Dense(784, activation="sigmoid")]
        return autoencoder((784,), enc, dec)

    def conv_upsampling():
        enc = []
        for c in (128, 64, 16, 16):
            enc += [L.Conv2D(c, 3, padding="same", activation="relu"),
                    L.MaxPooling2D(2, padding="same")]
        enc.append(L.Flatten())
        dec = [L.Reshape((2, 2, 16))]
        for c, padding in ((16, "same"), (16, "same"), (64, "same"), (128, "valid")):
            dec += [L.Conv2D(c, 3, padding=padding, activation="relu"), L.UpSampling2D(2)]
        dec.append(L.Conv2D(1, 3, padding="same", activation="sigmoid"))
        return autoencoder((28, 28, 1), enc, dec)

    # name -> (builder, input kind), as torch_reference.py's ZOO.
    return {
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


def build(keras, zoo, name, seed=0):
    if name not in zoo:
        raise ValueError(f"unknown model {name!r}; valid: {', '.join(zoo)}")
    keras.utils.set_random_seed(seed)
    builder, kind = zoo[name]
    model, encoder = builder()
    shape = (2, 28, 28, 1) if kind == "image" else (2, 784)
    y = model(np.zeros(shape, np.float32), training=False)
    if tuple(y.shape) != shape:
        raise ValueError(f"{name}: output shape {tuple(y.shape)} != input {shape}")
    return model, encoder, kind


def trainable_params(model):
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


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
    return (data.astype(np.float32) / 255.0).reshape(count, rows * cols)


class Session:
    """One model, its optimiser and the data batches, driven by `serve` commands."""

    def __init__(self, keras, zoo):
        self.keras, self.zoo, self.model = keras, zoo, None

    def setup(self, cmd):
        self.name = cmd["model"]
        self.model, self.encoder, self.kind = build(self.keras, self.zoo, self.name,
                                                    cmd.get("seed", 0))
        self.batch_size = int(cmd["batch_size"])
        pool = int(cmd["pool"])
        images = read_idx_images(cmd["images"], self.batch_size * pool)
        self.shape = (-1, 28, 28, 1) if self.kind == "image" else (-1, 784)
        self.batches = [images[i * self.batch_size:(i + 1) * self.batch_size].reshape(self.shape)
                        for i in range(pool)]
        self.model.compile(optimizer=self.keras.optimizers.Adam(1e-3), loss="mse")
        self.next = 0
        # Keras' default on the TensorFlow backend resolves to no XLA; reported, not changed.
        return {"model": self.name, "params": trainable_params(self.model),
                "jit_compile": bool(self.model.jit_compile)}

    def train(self, cmd):
        """`batches` timed `train_on_batch` calls (forward, MSE, backward, Adam)."""
        times, loss_value = [], None
        for _ in range(int(cmd["batches"])):
            x = self.batches[self.next % len(self.batches)]
            self.next += 1
            t0 = time.perf_counter()
            loss = self.model.train_on_batch(x, x)  # returns a Python float: step finished
            times.append(time.perf_counter() - t0)
            loss_value = float(loss)
        return {"seconds": times, "last_loss": loss_value}

    def infer(self, cmd):
        """Encoder outputs for `n` MNIST images in batches of `batch_size` (inference mode)."""
        n, bs = int(cmd["n"]), int(cmd["batch_size"])
        images = read_idx_images(cmd["images"], n).reshape(self.shape)
        t0 = time.perf_counter()
        total = 0.0
        for i in range(0, n, bs):
            total += float(np.sum(self.encoder.predict_on_batch(images[i:i + bs])))
        return {"seconds": time.perf_counter() - t0, "checksum": total}


def serve(threads, inter_op_threads=1):
    """Command loop, as torch_reference.py's `serve`.

    One inter-op thread by default, as this project's native backend runs (its context is
    created with inter_op_parallelism_threads 1): ops one at a time, each with `threads` intra-op
    threads. The Keras `fit` twin (keras_cnn_bilinear_fit.py) ran cnn-bilinear at 65.8 and 75.2
    s/epoch so, against 67.4 and 97.1 with TensorFlow's default (lib/bench/README.md, "The report's waiting, and Keras's threads").
    0 keeps TensorFlow's choice.
    """
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    if inter_op_threads:
        tf.config.threading.set_inter_op_parallelism_threads(inter_op_threads)
    import keras
    zoo = builders(keras)
    session = Session(keras, zoo)
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
                out = {"framework": "keras", "version": keras.__version__,
                       "backend": f"tensorflow {tf.__version__}",
                       "threads": tf.config.threading.get_intra_op_parallelism_threads(),
                       "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
                       "python": sys.version.split()[0],
                       "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default (on)")}
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
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow intra-op threads")
    parser.add_argument("--inter-op-threads", type=int, default=1,
                        help="TensorFlow inter-op threads (default 1, as the native backend; 0: TensorFlow's choice)")
    args = parser.parse_args()
    if args.params:
        import keras
        zoo = builders(keras)
        print(json.dumps({name: trainable_params(build(keras, zoo, name)[0]) for name in zoo}))
    elif args.serve:
        serve(args.threads, args.inter_op_threads)
    else:
        parser.error("give --params or --serve")


if __name__ == "__main__":
    main()
