"""Train a two-layer network on MNIST with a training loop written by hand.

This is what ``model.fit`` does, with nothing hidden: for each mini-batch, a forward pass
through the layers, the loss, a backward pass through the layers in reverse, and one
optimiser step. Read it top to bottom.

    Dense 784 -> 128, ReLU, Dense 128 -> 10 (logits)
    loss:      CrossEntropy(from_logits=True), integer labels
    optimiser: SGD with momentum

Run it from the repository's root:

    python examples/manual_loop.py                # 5 epochs on the 60,000 training images
    python examples/manual_loop.py --quick        # 2,000 images, 1 epoch: about a second
    python examples/manual_loop.py --epochs 10 --seed 1

The derivations of every backward pass used here are in docs/ (layers.md, activations.md,
cross_entropy.md, optimizers.md).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from tinynet.datasets import load_mnist
from tinynet.layers import Dense, ReLU
from tinynet.losses import CrossEntropy
from tinynet.optim import SGD
from tinynet.reference import example_args

BATCH_SIZE = 64
LEARNING_RATE = 0.05
MOMENTUM = 0.9
EPOCHS = 5
QUICK_TRAIN_SIZE = 2000  # --quick trains on the first 2,000 images, for one epoch


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """--epochs, --seed and --quick, parsed and checked as every example's are (there is
    no --out: this loop saves nothing)."""
    return example_args(__doc__, epochs=EPOCHS, quick_epochs=1, argv=argv, out=False,
                        quick_help=f"train on {QUICK_TRAIN_SIZE} images only: a smoke test")


def main(argv: list[str] | None = None) -> float:
    args = parse_args(argv)
    # One seeded Generator for every random choice (initial weights, then the shuffling):
    # the same seed gives the same run.
    rng = np.random.default_rng(args.seed)

    # --- The data --------------------------------------------------------------------
    # uint8 images (N, 28, 28) with pixels 0..255, and integer labels (N,) in 0..9.
    (x_train, y_train), (x_test, y_test) = load_mnist()
    if args.quick:
        x_train, y_train = x_train[:QUICK_TRAIN_SIZE], y_train[:QUICK_TRAIN_SIZE]
    # Each image becomes a row of 784 floats in [0, 1]: x has shape (N, D) = (N, 784).
    x_train = x_train.reshape(len(x_train), -1).astype(np.float32) / 255
    x_test = x_test.reshape(len(x_test), -1).astype(np.float32) / 255
    N = len(x_train)
    print(f"training on {N} images, testing on {len(x_test)}; seed {args.seed}")

    # --- The model: a plain list of layers --------------------------------------------
    layers = [
        Dense(784, 128, rng=rng),  # W (784, 128), b (128,)
        ReLU(),
        Dense(128, 10, rng=rng),  # W (128, 10), b (10,): outputs are the logits z
    ]
    # The loss takes the logits z and applies softmax itself, stably (log-sum-exp);
    # its gradient is dz = (softmax(z) - one_hot(y)) / batch size.
    loss_fn = CrossEntropy(from_logits=True)
    optimizer = SGD(lr=LEARNING_RATE, momentum=MOMENTUM)

    def forward(x: np.ndarray, training: bool) -> np.ndarray:
        for layer in layers:
            x = layer.forward(x, training=training)
        return x

    def backward(dy: np.ndarray) -> np.ndarray:
        for layer in reversed(layers):  # last layer first: the chain rule
            dy = layer.backward(dy)
        # dL/dx of the first layer, the images' gradient: nothing learns from it. fit skips
        # its product (Layer.backward_params); here it is kept, for the loop's plainness.
        return dy

    # --- Training ----------------------------------------------------------------------
    for epoch in range(args.epochs):
        start = time.perf_counter()
        order = rng.permutation(N)  # every image once per epoch, in a new order
        total_loss = 0.0
        for first in range(0, N, BATCH_SIZE):
            idx = order[first:first + BATCH_SIZE]  # the last batch may be smaller
            x, y = x_train[idx], y_train[idx]  # a batch of B = len(idx) images, (B, 784)

            z = forward(x, training=True)  # 1. forward: logits, (B, 10)
            loss = loss_fn.forward(z, y)  # 2. loss: mean over the batch, a float
            # dL/dz = (softmax(z) - one_hot(y)) / B: docs/cross_entropy.md derives it.
            dz = loss_fn.backward()  # 3. backward: dL/dz, (B, 10) ...
            backward(dz)  # ... fills every layer's grads
            # 4. step (docs/optimizers.md): each parameter moves against its gradient, in
            # place. The grads are new arrays after each backward, so the pairs are
            # collected afresh every step.
            optimizer.step([(layer.params[name], layer.grads[name])
                            for layer in layers for name in layer.params])

            total_loss += loss * len(idx)
        seconds = time.perf_counter() - start
        print(f"epoch {epoch + 1}/{args.epochs} - loss: {total_loss / N:.4f} - {seconds:.2f}s")

    # --- Testing -------------------------------------------------------------------------
    # The predicted digit is the largest logit (softmax keeps the order, so no need for it).
    correct = 0
    for first in range(0, len(x_test), 1000):
        z = forward(x_test[first:first + 1000], training=False)
        correct += int(np.sum(z.argmax(axis=1) == y_test[first:first + 1000]))
    accuracy = correct / len(x_test)
    print(f"test accuracy: {accuracy:.4f}")
    return accuracy


if __name__ == "__main__":
    main()
