"""R5: softmax regression written low-level: x @ W + b, summed cross-entropy, 1000 steps.

The TensorFlow-1 tutorial's program: W and b drawn from a standard normal, the loss summed
(not averaged) over each batch of 100, plain gradient descent with lr 0.01 for 1000
iterations, the loss recorded at every iteration and plotted. No fit(): the loop over the
batches is here, and each of its steps, model.train_step, is a forward pass, the loss, a
backward pass and an update (examples/manual_loop.py writes those four out by hand).
Run: python examples/r5_low_level.py [--epochs 1] [--seed 0] [--quick] [--out runs]
(--epochs repeats the 1000 iterations; --quick runs 100 on a subset)
"""

import numpy as np

from tinynet import SGD, CrossEntropy, Dense, Sequential, Softmax
from tinynet.datasets import load_mnist
from tinynet.plot import plot_loss
from tinynet.reference import example_args, quick_subset


def main() -> None:
    # Its --epochs and --quick count iterations, not fit's epochs: their help says so.
    args = example_args(__doc__, epochs=1, outputs=["r5_loss.png"],
                        epochs_help="rounds of 1000 iterations of 100 images (default 1; 1000 "
                                    "iterations are 1 2/3 passes over the training images)",
                        quick_help="a few seconds: 100 iterations per round, on 2,000 "
                                   "training and 1,000 test images")
    data = load_mnist()
    (x_train, y_train), (x_test, y_test) = quick_subset(data) if args.quick else data
    iterations = (100 if args.quick else 1000) * args.epochs
    batch_size = 100

    x_train = x_train.reshape(len(x_train), 784).astype("float32") / 255
    x_test = x_test.reshape(len(x_test), 784).astype("float32") / 255

    # y = softmax(x @ W + b), W (784, 10) and b (10,) from a standard normal.
    model = Sequential([Dense(784, 10, W_init="normal", b_init="normal"), Softmax()],
                       seed=args.seed)
    loss = CrossEntropy(reduction="sum")
    model.compile(loss=loss, optimizer=SGD(lr=0.01), metrics=["accuracy"])

    # Batches are taken in order from a shuffled copy, reshuffled after each pass over the
    # data, as the tutorial's next_batch(100) does.
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(x_train))
    losses = []
    position = 0
    for step in range(iterations):
        if position + batch_size > len(order):
            order, position = rng.permutation(len(x_train)), 0
        batch = order[position:position + batch_size]
        position += batch_size
        # One step: forward, loss, backward, update (Sequential fuses the final Softmax and
        # the cross-entropy so that the loss stays finite: see docs/cross_entropy.md).
        value, _ = model.train_step(x_train[batch], y_train[batch])
        if not np.isfinite(value):
            raise FloatingPointError(f"the loss became {value} at iteration {step + 1}")
        losses.append(value)
        if (step + 1) % 100 == 0:
            print(f"iteration {step + 1}/{iterations}: loss {value:.2f}")

    test_loss, test_accuracy = model.evaluate(x_test, y_test)
    # Summed over every test image: per 100 images, it compares with the iterations' losses.
    print(f"test loss: {test_loss:.1f} (summed over the {len(x_test)} test images; "
          f"{test_loss * batch_size / len(x_test):.2f} per {batch_size})")
    print(f"test accuracy: {test_accuracy:.4f}")
    plot_loss(losses, path=args.out / "r5_loss.png", xlabel="iteration")
    print(f"saved r5_loss.png in {args.out}/")


if __name__ == "__main__":
    main()
