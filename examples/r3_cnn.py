"""R3: a small convolutional network on MNIST: raw pixels, sparse cross-entropy, Adam.

Conv2D 28 filters 3x3 with ReLU, max-pool 2x2, Conv2D 10 filters 4x4 with ReLU, max-pool 2x2,
then Dense 250->20 with ReLU and Dense 20->10 with softmax: 10,000 parameters. Images go in
as raw 0..255 pixels of shape (N, 28, 28, 1) (channels last), labels as integers. The test
set is the validation data of every epoch; the curves and the model are saved under --out.
Run: python examples/r3_cnn.py [--epochs 10] [--seed 0] [--quick] [--out runs]
"""

from tinynet import (
    Adam,
    Conv2D,
    Dense,
    Flatten,
    MaxPool2D,
    ReLU,
    Sequential,
    Softmax,
    load_model,
)
from tinynet.datasets import load_mnist
from tinynet.plot import plot_history
from tinynet.reference import PROGRAMS, example_args, quick_subset


def main() -> None:
    args = example_args(__doc__, epochs=10, quick_epochs=3,  # raw pixels: a slow start
                        outputs=["r3_curves.png", "r3_cnn.npz"])
    data = load_mnist()
    (x_train, y_train), (x_test, y_test) = quick_subset(data) if args.quick else data

    # (N, 28, 28) -> (N, 28, 28, 1): one channel of grey. The pixels stay 0..255, as in the
    # reference (the layers compute in float32; uint8 is converted, never used as integers).
    x_train = x_train.reshape(-1, 28, 28, 1)
    x_test = x_test.reshape(-1, 28, 28, 1)

    model = Sequential([
        Conv2D(1, 28, kernel_size=3), ReLU(),   # (N, 26, 26, 28)
        MaxPool2D(2),                           # (N, 13, 13, 28)
        Conv2D(28, 10, kernel_size=4), ReLU(),  # (N, 10, 10, 10)
        MaxPool2D(2),                           # (N, 5, 5, 10)
        Flatten(),                              # (N, 250)
        Dense(250, 20), ReLU(),
        Dense(20, 10), Softmax(),
    ], seed=args.seed)
    model.compile(optimizer=Adam(lr=0.001), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.summary(input_shape=(28, 28, 1))

    history = model.fit(x_train, y_train, epochs=args.epochs, batch_size=32,
                        validation_data=(x_test, y_test))
    loss, accuracy = model.evaluate(x_test, y_test)
    print(f"test loss: {loss:.4f}")
    print(f"test accuracy: {accuracy:.4f}")

    plot_history(history, path=args.out / "r3_curves.png")
    # Record the input scaling (raw pixels, (28, 28, 1)) as `tinynet train --model r3` does,
    # so that `tinynet evaluate` and `tinynet predict` prepare images as done above.
    model.metadata = PROGRAMS["r3"].metadata()
    path = model.save(args.out / "r3_cnn.npz")
    same = (load_model(path).predict(x_test[:100]) == model.predict(x_test[:100])).all()
    print(f"saved r3_curves.png, {path.name} in {args.out}/; reloaded predictions identical: "
          f"{same}")


if __name__ == "__main__":
    main()
