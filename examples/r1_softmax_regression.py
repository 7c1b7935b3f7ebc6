"""R1: softmax regression on MNIST, trained with MSE on one-hot labels and SGD (lr 0.2).

The smallest model that reads digits: one Dense layer from the 784 pixels to 10 scores, and
a softmax that turns the scores into probabilities. It reaches about 92% test accuracy.
Run: python examples/r1_softmax_regression.py [--epochs 10] [--seed 0] [--quick] [--out runs]
"""

from tinynet import SGD, Dense, Sequential, Softmax
from tinynet.datasets import load_mnist, one_hot
from tinynet.plot import plot_history
from tinynet.reference import example_args, quick_subset


def main() -> None:
    args = example_args(__doc__, epochs=10, quick_epochs=5,  # MSE on softmax starts slowly
                        outputs=["r1_curves.png"])
    data = load_mnist()
    (x_train, y_train), (x_test, y_test) = quick_subset(data) if args.quick else data

    # Pixels 0..255 -> 0..1, each 28x28 image flattened to a vector of 784.
    x_train = x_train.reshape(len(x_train), 784).astype("float32") / 255
    x_test = x_test.reshape(len(x_test), 784).astype("float32") / 255
    # MSE compares the 10 probabilities with one-hot rows: 3 -> [0 0 0 1 0 0 0 0 0 0].
    y_train, y_test = one_hot(y_train, 10), one_hot(y_test, 10)

    model = Sequential([
        Dense(784, 10, b_init="ones"),  # biases initialised to 1, as in the reference
        Softmax(),
    ], seed=args.seed)
    model.compile(loss="mse", optimizer=SGD(lr=0.2), metrics=["accuracy"])
    model.summary()

    # The test set as validation data only draws a test curve beside the training one, as
    # `tinynet train` does: nothing in training reads it.
    history = model.fit(x_train, y_train, epochs=args.epochs, batch_size=32,
                        validation_data=(x_test, y_test))
    loss, accuracy = model.evaluate(x_test, y_test)
    print(f"test loss: {loss:.4f}")
    print(f"test accuracy: {accuracy:.4f}")
    plot_history(history, path=args.out / "r1_curves.png")
    print(f"saved r1_curves.png in {args.out}/")


if __name__ == "__main__":
    main()
