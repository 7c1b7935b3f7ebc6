"""R2: a two-layer perceptron on MNIST, cross-entropy and RMSprop (Keras's first example).

Dense 784->512 with ReLU, then Dense 512->10 with softmax; 5 epochs of batches of 128.
Keras reports 98.87% training and 97.83% test accuracy: the gap is the first sight of
over-fitting. docs/tutorial.md walks through this file line by line.
Run: python examples/r2_mlp.py [--epochs 5] [--seed 0] [--quick] [--out runs]
"""

import numpy as np

from tinynet import Dense, ReLU, RMSprop, Sequential, Softmax
from tinynet.datasets import load_mnist, one_hot
from tinynet.plot import plot_digits, plot_history
from tinynet.reference import example_args, quick_subset


def main() -> None:
    args = example_args(__doc__, epochs=5, outputs=["r2_curves.png", "r2_digits.png"])
    data = load_mnist()
    (train_images, train_labels), (test_images, test_labels) = (
        quick_subset(data) if args.quick else data)
    print("training images:", train_images.shape, train_images.dtype)  # (60000, 28, 28) uint8
    print("first labels:", train_labels[:4])  # 5 0 4 1

    train_images = train_images.reshape(len(train_images), 28 * 28).astype("float32") / 255
    test_images = test_images.reshape(len(test_images), 28 * 28).astype("float32") / 255
    train_targets, test_targets = one_hot(train_labels, 10), one_hot(test_labels, 10)

    model = Sequential([
        Dense(784, 512), ReLU(),
        Dense(512, 10), Softmax(),
    ], seed=args.seed)
    model.compile(optimizer=RMSprop(lr=0.001, rho=0.9, eps=1e-7),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    model.summary()

    history = model.fit(train_images, train_targets, epochs=args.epochs, batch_size=128)
    _, train_accuracy = model.evaluate(train_images, train_targets)
    test_loss, test_accuracy = model.evaluate(test_images, test_targets)
    # Keras's 98.87% is the last epoch's running mean, the progress bar's accuracy, taken
    # while the weights still changed; evaluate measures the trained network, a little higher.
    print(f"train accuracy: {history.history['accuracy'][-1]:.4f} during the last epoch, "
          f"{train_accuracy:.4f} after it (the gap to test is over-fitting)")
    print(f"test loss: {test_loss:.4f}")
    print(f"test accuracy: {test_accuracy:.4f}")

    # One probability vector per image; argmax is the digit.
    probabilities = model.predict(train_images[:4])
    print("predicted digits of the first four training images:", probabilities.argmax(axis=1))
    print("each row sums to 1:", np.allclose(probabilities.sum(axis=1), 1))

    plot_history(history, path=args.out / "r2_curves.png")
    plot_digits(test_images[:20].reshape(-1, 28, 28), test_labels[:20],
                predictions=model.predict(test_images[:20]).argmax(axis=1),
                path=args.out / "r2_digits.png")
    print(f"saved r2_curves.png, r2_digits.png in {args.out}/")


if __name__ == "__main__":
    main()
