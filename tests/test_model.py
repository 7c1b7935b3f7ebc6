"""Sequential: training, reproducibility, stability, input validation and the Keras-like API."""

import ast
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import FEW, RefuseToBegin, one_hot, resolvable, seeds, sizes

import tinynet
from tinynet.gradcheck import TOLERANCE, numerical_gradient, relative_error
from tinynet.layers import (
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    Layer,
    MaxPool2D,
    RandomShift,
    ReLU,
    Softmax,
    Tanh,
)
from tinynet.losses import MSE, CrossEntropy
from tinynet.model import Sequential
from tinynet.optim import SGD, Adam, Optimizer, RMSprop


def blobs(seed: int, n: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian blobs in 2-D, 5.7 standard deviations apart: linearly separable."""
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % 2)
    centres = np.array([[-2.0, -2.0], [2.0, 2.0]])
    x = centres[y] + 0.5 * rng.standard_normal((n, 2))
    return x.astype(np.float32), y


def xor(seed: int, n: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Four clusters at (+-1, +-1), labelled by the sign of x0 * x1: not linearly separable."""
    rng = np.random.default_rng(seed)
    corners = rng.choice([-1.0, 1.0], size=(n, 2))
    x = corners + 0.15 * rng.standard_normal((n, 2))
    return x.astype(np.float32), (corners[:, 0] * corners[:, 1] > 0).astype(np.int64)


def mlp(seed: int, hidden: int = 8, dropout: float = 0.0) -> Sequential:
    layers = [Dense(2, hidden), ReLU(), Dense(hidden, 2), Softmax()]
    if dropout:
        layers.insert(2, Dropout(dropout))
    return Sequential(layers, seed=seed)


# --------------------------------------------------------------------------------- learning
@FEW
@given(seeds())
def test_learns_two_blobs_to_full_training_accuracy(seed):
    x, y = blobs(seed)
    model = mlp(seed)
    model.compile(CrossEntropy(), SGD(0.1))
    history = model.fit(x, y, epochs=20, batch_size=16, verbose=0)
    loss, accuracy = model.evaluate(x, y)
    assert accuracy == 1.0
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert loss == pytest.approx(CrossEntropy().forward(model.predict(x), y), rel=1e-4)


def test_learns_xor_to_full_training_accuracy():
    x, y = xor(0)
    model = Sequential([Dense(2, 16), Tanh(), Dense(16, 2), Softmax()], seed=0)
    model.compile("sparse_categorical_crossentropy", Adam(0.05))
    model.fit(x, y, epochs=60, batch_size=16, verbose=0)
    assert model.evaluate(x, y)[1] == 1.0
    assert np.mean(model.predict(x).argmax(axis=1) == y) == 1.0


# -------------------------------------------------------------------------- reproducibility
def train(seed: int, x: np.ndarray, y: np.ndarray, epochs: int = 3) -> Sequential:
    model = mlp(seed, dropout=0.3)  # dropout masks and shuffling both come from the seed
    model.compile(CrossEntropy(), SGD(0.05, momentum=0.9))
    model.fit(x, y, epochs=epochs, batch_size=8, verbose=0)
    return model


def test_same_seed_gives_bitwise_identical_weights():
    x, y = blobs(1)
    a, b = train(7, x, y), train(7, x, y)
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        assert wa.tobytes() == wb.tobytes()
    c = train(8, x, y)
    assert not all(np.array_equal(wa, wc)
                   for wa, wc in zip(a.get_weights(), c.get_weights(), strict=True))


def test_the_seed_decides_the_initial_weights():
    a, b, c = mlp(3), mlp(3), mlp(4)
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])


def test_the_seed_decides_every_weight_whatever_generators_the_layers_were_built_with():
    def cnn(seed: int, layer_seed: int) -> Sequential:
        rng = np.random.default_rng(layer_seed)
        normal = {"b_init": "normal", "rng": rng}  # zero biases would agree for any seed
        return Sequential([Conv2D(1, 2, 3, **normal), ReLU(), MaxPool2D(2), Flatten(),
                           Dense(8, 3, **normal), Softmax()], seed=seed)

    a, b, c = cnn(3, layer_seed=0), cnn(3, layer_seed=1), cnn(4, layer_seed=0)
    for wa, wb, wc in zip(a.get_weights(), b.get_weights(), c.get_weights(), strict=True):
        assert wa.tobytes() == wb.tobytes()
        assert not np.array_equal(wa, wc)


def test_nothing_draws_from_numpys_global_random_state():
    # Every random number comes from a seeded Generator: building layers with their own
    # default Generators, a model with and without a seed, training with Dropout and
    # RandomShift, predicting, all leave np.random's global state where it was.
    before = np.random.get_state()  # noqa: NPY002 (the legacy state is what is checked)
    x, y = blobs(9, n=32)
    Dense(2, 3), Conv2D(1, 2, 3), Dropout(0.5), RandomShift(1)
    Sequential([Dense(2, 2)])
    model = Sequential([Dense(2, 8), ReLU(), Dropout(0.5), Dense(8, 2), Softmax()], seed=0)
    model.compile(CrossEntropy(), SGD(0.1))
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    model.predict(x)
    images = np.random.default_rng(0).random((8, 4, 4, 1))
    cnn = Sequential([RandomShift(1), Flatten(), Dense(16, 2), Softmax()], seed=1)
    cnn.compile("sparse_categorical_crossentropy", "adam")
    cnn.fit(images, y[:8], epochs=1, batch_size=4, verbose=0)
    after = np.random.get_state()  # noqa: NPY002
    assert before[0] == after[0] and before[2:] == after[2:]
    np.testing.assert_array_equal(before[1], after[1])


#: The only names of numpy.random that tinynet may use: a Generator and how to seed one.
GENERATOR_API = {"default_rng", "Generator", "SeedSequence"}


def test_tinynet_source_never_uses_the_global_random_state():
    # The runtime test above sees only the paths it runs; this reads every module.
    found = []
    for path in sorted(Path(tinynet.__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            where = f"{path.name}:{getattr(node, 'lineno', '?')}"
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
                    and node.value.attr == "random" and isinstance(node.value.value, ast.Name)
                    and node.value.value.id in ("np", "numpy")
                    and node.attr not in GENERATOR_API):
                found.append(f"{where} np.random.{node.attr}")
            elif isinstance(node, ast.Import):
                found += [f"{where} import {a.name}" for a in node.names
                          if a.name in ("random", "numpy.random")]
            elif isinstance(node, ast.ImportFrom):
                if node.module == "random" or (node.module == "numpy.random" and any(
                        a.name not in GENERATOR_API for a in node.names)):
                    found.append(f"{where} from {node.module} import ...")
                elif node.module == "numpy" and any(a.name == "random" for a in node.names):
                    found.append(f"{where} from numpy import random")
    assert found == []


# ---------------------------------------------------------------------- training's gradients
class GradientRecorder(Optimizer):
    """Takes no step: keeps copies of the gradients that train_step hands the optimiser."""

    def __init__(self) -> None:
        super().__init__(lr=1.0)
        self.seen: list[np.ndarray] = []

    def step(self, pairs) -> None:
        self.seen = [grad.copy() for _, grad in pairs]


@pytest.mark.parametrize("loss", ["ce-mean", "ce-sum", "mse"])
@pytest.mark.parametrize("kind", ["mlp", "cnn", "frozen", "dropout"])
@FEW
@given(seed=seeds(), data=st.data())
def test_training_gradients_match_finite_differences_of_the_models_loss(kind, loss, seed, data):
    # train_step runs the fused form (the layers before Softmax, then cross-entropy from
    # logits) and stops backward at the first layer with parameters. Its gradients must be
    # those of the loss the user wrote: the whole model's probabilities, then the loss. A
    # frozen layer between two that learn is not stepped, but backward goes through it.
    # Dropout trains with a mask: the same one in the step and in every f below (its
    # Generator drawn afresh from one seed each time), so f is the loss the step saw.
    rng = np.random.default_rng(seed)
    N, K = data.draw(sizes(1, 4)), data.draw(sizes(2, 4))
    f64 = {"dtype": np.float64, "b_init": "normal"}
    if kind in ("mlp", "frozen", "dropout"):
        D = data.draw(sizes(1, 4))
        x = rng.standard_normal((N, D))
        layers = [Dense(D, 4, **f64), Tanh(), Dense(4, K, **f64), Softmax()]
        if kind == "frozen":
            layers[2:2] = [Dense(4, 4, **f64), Tanh()]
            layers[2].trainable = False
        if kind == "dropout":
            layers.insert(2, Dropout(0.5))
    else:
        H, W, C = data.draw(sizes(2, 5)), data.draw(sizes(2, 5)), data.draw(sizes(1, 2))
        x = rng.standard_normal((N, H, W, C))
        layers = [Conv2D(C, 2, 3, padding="same", **f64), Tanh(), MaxPool2D(2), Flatten(),
                  Dense(2 * (H // 2) * (W // 2), K, **f64), Softmax()]
    model = Sequential(layers, seed=seed)
    if kind == "cnn":
        # The max of a pooling window has no derivative where its two largest entries tie.
        # Nudging a conv weight by eps moves every entry by at most max|x| eps (a bias by
        # eps; Tanh' <= 1), so two entries closer than 2 eps max(1, max|x|) may swap winners
        # between f(p + eps) and f(p - eps). Random pixels do not rule that out: seed 4110
        # drew a window holding 0.59177311 and 0.59177267 (relative error 0.29).
        pooled = layers[1].forward(layers[0].forward(x))[:, :H // 2 * 2, :W // 2 * 2]
        windows = pooled.reshape(N, H // 2, 2, W // 2, 2, 2).transpose(0, 1, 3, 5, 2, 4)
        top_two = np.sort(windows.reshape(*windows.shape[:4], 4), axis=-1)[..., -2:]
        assume(np.min(top_two[..., 1] - top_two[..., 0]) > 2e-6 * max(1, np.abs(x).max()))
    labels = rng.integers(0, K, N)
    if loss == "mse":
        y, reference = one_hot(labels, K), MSE()
    else:
        y = data.draw(st.sampled_from([labels, one_hot(labels, K)]))
        reference = CrossEntropy(reduction=loss.removeprefix("ce-"))
    recorder = GradientRecorder()
    model.compile(type(reference)(**reference.get_config()), recorder)
    assert model.fused_softmax == (loss != "mse")
    training = kind == "dropout"

    def same_masks():
        for layer in model.layers:
            if isinstance(layer, Dropout):
                layer.rng = np.random.default_rng(seed)

    same_masks()
    value, _ = model.train_step(x, y)

    def f(_):
        same_masks()
        return reference.forward(model.forward(x, training=training), y)

    assert value == pytest.approx(f(x), rel=1e-9, abs=1e-12)
    params = [p for p, _ in model.trainable_parameters()]
    assert len(recorder.seen) == len(params) == len(model.parameters()) - 2 * (kind == "frozen")
    # A gradient far below the loss is lost in the rounding error of central differences,
    # about 1e-10 of the loss (an x of 1e-4 into Dense(1, 4), say); the log of a probability
    # near 1 is rounded to about 1e-16 however small the loss: 1 per row for cross-entropy
    # (strategies.resolvable).
    rows = {"ce-mean": 1, "ce-sum": N, "mse": 0}[loss]
    numeric = [numerical_gradient(f, p) for p in params]
    assume(resolvable(value + rows, *numeric))
    for i, (analytic, numerical) in enumerate(zip(recorder.seen, numeric, strict=True)):
        error, where = relative_error(analytic, numerical)
        assert error < TOLERANCE, f"parameter {i}: relative error {error:.1e} at {where}"


class SmoothedCrossEntropy(CrossEntropy):
    """Cross-entropy against labels smoothed towards the uniform distribution."""

    def forward(self, p, labels):
        K = p.shape[1]
        return super().forward(p, one_hot(labels, K) * 0.5 + 0.5 / K)


class TemperedSoftmax(Softmax):
    """softmax(z / 5)."""

    def forward(self, x, training=False):
        return super().forward(np.asarray(x) / 5, training)

    def backward(self, dy):
        return super().backward(dy) / 5


@pytest.mark.parametrize("last, loss", [(Softmax, SmoothedCrossEntropy),
                                        (TemperedSoftmax, CrossEntropy)])
def test_a_subclass_of_softmax_or_cross_entropy_is_not_fused_away(last, loss):
    # Fused by isinstance, both would be replaced by the plain fused form in fit and evaluate:
    # the smoothing or the temperature would silently never be trained on, nor evaluated.
    x, y = blobs(0)
    model = Sequential([Dense(2, 3), last()], seed=0)
    model.compile(loss(), SGD(0.1))
    assert not model.fused_softmax
    # One that only renames keeps the stable fused form.
    named = Sequential([Dense(2, 3), type("Named", (Softmax,), {})()], seed=0)
    named.compile(type("NamedCE", (CrossEntropy,), {})(), SGD(0.1))
    assert named.fused_softmax
    expected = loss().forward(model.predict(x), y)
    assert model.evaluate(x, y, return_dict=True)["loss"] == pytest.approx(expected, rel=1e-5)
    value, _ = model.train_step(x, y)
    assert value == pytest.approx(expected, rel=1e-5)



# ------------------------------------------------------------------------------- stability
def test_softmax_model_with_cross_entropy_stays_finite_for_logits_of_1e4():
    x = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=np.float32)
    y = np.array([1, 0, 2, 0])  # the first and fourth are missed by ~2e4
    model = Sequential([Dense(2, 3), Softmax()], seed=0)
    model.layers[0].params["W"][...] = [[1e4, -1e4, 0.0], [0.0, 0.0, 1e4]]
    logits = model.layers[0].forward(x)
    assert np.abs(logits).max() >= 1e4  # forced to the extreme
    model.compile(CrossEntropy(), SGD(1e-6))
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        expected = -(logits - np.logaddexp.reduce(logits.astype(np.float64), axis=1,
                                                  keepdims=True))[np.arange(4), y].mean()
        loss, _ = model.evaluate(x, y)
        history = model.fit(x, y, epochs=2, batch_size=2, verbose=0)
        probabilities = model.predict(x)
    assert np.isfinite(loss) and loss == pytest.approx(expected, rel=1e-5)
    assert loss > 1e3  # the honest cost of a 2e4 miss, not a clamped log(1e-7)
    assert np.all(np.isfinite(history.history["loss"]))
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())
    assert np.all(np.isfinite(probabilities))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_in_the_data_is_refused_before_anything_runs(bad):
    x, y = blobs(2, n=64)
    x[37, 1] = bad
    x[50, 0] = bad  # a later one too: the message names the first
    model = compiled()
    before = model.get_weights()
    for call in (lambda: model.fit(x, y, verbose=0), lambda: model.evaluate(x, y),
                 lambda: model.predict(x)):
        with pytest.raises(ValueError, match=r"^x holds NaN or infinite values, the first in "
                                             r"sample 37$"):
            call()
    with pytest.raises(ValueError, match=r"validation_data\[0\] holds NaN .* sample 37"):
        model.fit(x[:8], y[:8], validation_data=(x, y), verbose=0)
    targets = one_hot(y, 2).astype(np.float32)
    targets[5, 0] = bad
    with pytest.raises(ValueError, match=r"^y holds NaN or infinite values, the first in "
                                         r"sample 5$"):
        model.fit(np.zeros((64, 2), np.float32), targets, verbose=0)
    for w, w0 in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(w, w0)


@pytest.mark.parametrize("bad", [1e39, -1e300])
def test_numbers_too_large_for_float32_are_refused_before_anything_runs(bad):
    # Finite in float64, they become inf in the model's float32: unrefused, predict would give
    # NaN with only NumPy's warnings, and fit would blame the NaN or inf it had checked the
    # inputs for.
    x, y = blobs(2, n=64)
    x = x.astype(np.float64)
    x[12, 1] = bad
    model = compiled()
    before = model.get_weights()
    for call in (lambda: model.fit(x, y, verbose=0), lambda: model.evaluate(x, y),
                 lambda: model.predict(x)):
        with pytest.raises(ValueError, match=r"^x holds numbers too large for the model's "
                                             r"float32 \(beyond ±3.403e\+38\), the first in "
                                             r"sample 12$"):
            call()
    for w, w0 in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(w, w0)
    x[12, 1] = 3e38  # large, but a float32: taken
    assert model.predict(x).shape == (64, 2)


def test_long_doubles_beyond_float64_are_refused_as_too_large_not_as_infinite():
    # Finite as long doubles, inf as Python floats: taken for NaN or inf, they would send
    # the search for the first such sample to find none, and raise IndexError.
    x = np.zeros((3, 2), np.longdouble)
    x[1, 0] = np.longdouble("1e400")
    y = np.eye(2, dtype=np.longdouble)[[0, 1, 0]]
    model = compiled()
    with pytest.raises(ValueError, match=r"^x holds numbers too large for the model's float32 "
                                         r"\(beyond ±3.403e\+38\), the first in sample 1$"):
        model.predict(x)
    x[1, 0] = 0
    y[2, 1] = -np.longdouble("1e400")
    with pytest.raises(ValueError, match=r"^y holds numbers too large .*, the first in sample 2$"):
        model.fit(x, y, verbose=0)


def test_integers_too_large_for_a_float16_model_are_refused_as_floats_are():
    # A check of float data only would let 70000 as an int become inf in float16 while
    # 70000.0 is refused. set_weights checks both too.
    model = Sequential([Dense(2, 2, dtype=np.float16)], seed=0)
    for x in (np.array([[1, 70000]]), np.array([[1.0, -70000.0]])):
        with pytest.raises(ValueError, match=r"^x holds numbers too large for the model's "
                                             r"float16 \(beyond ±6.55e\+04\), the first "
                                             r"in sample 0$"):
            model.predict(x)
    assert model.predict(np.array([[1, 60000]])).shape == (1, 2)  # within float16: taken


def test_integer_regression_targets_too_large_for_a_float16_model_are_refused():
    # MSE compares them with the outputs in float16, where 70000 is inf: fit would stop as
    # if the learning rate had diverged. Class labels are indices, never cast.
    model = Sequential([Dense(2, 1, dtype=np.float16)], seed=0)
    model.compile("mse", SGD(0.01), metrics=None)
    x = np.ones((3, 2))
    for y in (np.array([[1], [70000], [1]]), np.array([[1.0], [70000.0], [1.0]])):
        with pytest.raises(ValueError, match=r"^y holds numbers too large for the model's "
                                             r"float16 \(beyond ±6.55e\+04\), the first "
                                             r"in sample 1$"):
            model.fit(x, y, verbose=0)
    assert model.steps_trained == 0


def test_float32_data_in_a_float64_model_raises_no_warning():
    # A check for numbers too large for float64 that cast float64's limit down to float32
    # would overflow with a RuntimeWarning on every predict, evaluate and fit: an error
    # under -W error, as in many test suites.
    x, y = blobs(0)
    model = Sequential([Dense(2, 2, dtype=np.float64), Softmax()], seed=0)
    model.compile(CrossEntropy(), SGD(0.1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(x, y, epochs=1, verbose=0)
        model.evaluate(x.astype(np.float16), y)
        assert model.predict(x).dtype == np.float64


def test_a_step_whose_loss_is_nan_is_not_taken():
    x, y = blobs(2, n=16)
    x[3, 0] = np.nan  # train_step takes a batch as it is: the loss comes out NaN
    model = compiled()
    before = model.get_weights()
    value, _ = model.train_step(x, y)
    assert np.isnan(value)
    for w, w0 in zip(model.get_weights(), before, strict=True):  # no step with a NaN gradient
        np.testing.assert_array_equal(w, w0)


def test_cross_entropy_on_outputs_that_are_not_probabilities_says_so():
    model = Sequential([Dense(2, 3)], seed=0)  # logits, but the loss expects probabilities
    model.compile(CrossEntropy(), SGD(0.1))
    x, y = blobs(0, n=16)
    for call in (lambda: model.fit(x, y, verbose=0), lambda: model.evaluate(x, y)):
        with pytest.raises(ValueError, match=r"y_pred must hold probabilities in \[0, 1\], "
                                             r"got values from .*Softmax.*from_logits=True"):
            call()


def test_cross_entropy_on_outputs_that_are_not_rows_says_so_before_any_step():
    # A convolutional model without Flatten and Dense gives (N, H, W, C) outputs: the
    # targets are checked against rows of K classes, which these are not.
    model = Sequential([Conv2D(1, 2, 1)], seed=0)  # (N, 3, 3, 1) -> (N, 3, 3, 2)
    model.compile(CrossEntropy(from_logits=True), SGD(0.1), metrics=None)
    x, y = np.zeros((4, 3, 3, 1), np.float32), np.zeros(4, int)
    for call in (lambda: model.fit(x, y, verbose=0), lambda: model.evaluate(x, y)):
        with pytest.raises(ValueError, match=r"^cross-entropy needs outputs of shape \(N, K\), "
                                             r"the model gives \(1, 3, 3, 2\)$"):
            call()
    assert model.steps_trained == 0


@pytest.mark.parametrize("lr, shown", [(1e30, "1e+30"), (1e10, "1e+10")])
def test_an_absurd_learning_rate_stops_training_with_a_hint(lr, shown):
    # Written one way whatever the rate: Python's own repr gives 1e+30 but 10000000000.0.
    x, y = blobs(3)
    model = Sequential([Dense(2, 8), ReLU(), Dense(8, 2)], seed=0)
    model.compile(MSE(), SGD(lr))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(FloatingPointError,
                           match=r"(inf|nan) at epoch \d+, batch \d+/4.*lower learning "
                                 rf"rate \(now {re.escape(shown)}\)"):
            model.fit(x, one_hot(y, 2, np.float32), epochs=20, batch_size=16, verbose=0)


def test_a_diverged_fit_names_the_epoch_and_batch_counting_from_1():
    # A weight turned to NaN before batch 3 of epoch 2 (0-based: epoch 1, batch 2) makes
    # that batch's loss NaN: fit stops there, naming it as the progress bar counts, from 1,
    # without taking its step.
    class BreakBeforeEpoch2Batch3(tinynet.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_batch_begin(self, batch, logs=None):
            if (self.epoch, batch) == (1, 2):
                self.model.layers[0].params["W"][0, 0] = np.nan

    x, y = blobs(0)
    model = compiled()
    with pytest.raises(FloatingPointError, match=r"^the loss became nan at epoch 2, batch 3/4: "
                                                 r"training diverged: the weights hold NaN or "
                                                 r"infinity \(array 0 of get_weights\(\)\), "
                                                 r"from a step .* Try a lower learning rate "
                                                 r"\(now 0\.1\), from finite weights\.$"):
        model.fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=[BreakBeforeEpoch2Batch3()])
    assert model.steps_trained == 4 + 2 and model.optimizer.iterations == 6


def test_a_fit_of_weights_that_hold_nan_names_them_in_its_divergence():
    # set_weights takes NaN, as load_model loads a model saved after its training diverged:
    # the first batch's loss is NaN, and the message names the weights, not only the rate.
    x, y = blobs(0)
    model = compiled()
    model.set_weights([w if i != 2 else np.full_like(w, np.nan)
                       for i, w in enumerate(model.get_weights())])
    with pytest.raises(FloatingPointError, match=r"^the loss became nan at epoch 1, batch 1/4: "
                                                 r"training diverged: the weights hold NaN or "
                                                 r"infinity \(array 2 of get_weights\(\)\), "
                                                 r"from a step of this run or of the run that "
                                                 r"saved them, or from set_weights\."):
        model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert model.steps_trained == 0 and model.optimizer.iterations == 0


@pytest.mark.filterwarnings("error")
def test_a_run_that_diverges_stops_with_fits_message_and_no_numpy_warning():
    # A learning rate far too high: the weights grow by orders of magnitude a step, until
    # the outputs or their squares pass float32's largest, 3.4e38.
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((64, 4)), rng.standard_normal((64, 1))
    model = Sequential([Dense(4, 16), ReLU(), Dense(16, 1)], seed=0)
    model.compile(MSE(), SGD(10.0), metrics=None)
    with pytest.raises(FloatingPointError, match=r"^the loss became (inf|nan) at epoch \d+, "
                                                 r"batch \d/2: training diverged.*np\.seterr"):
        model.fit(x, y, epochs=5, verbose=0)
    # np.seterr(all="raise"), which that message suggests, stops at the overflow itself.
    model = Sequential([Dense(4, 16), ReLU(), Dense(16, 1)], seed=0)
    model.compile(MSE(), SGD(10.0), metrics=None)
    with np.errstate(all="raise"), pytest.raises(FloatingPointError, match=r"^overflow"):
        model.fit(x, y, epochs=5, verbose=0)


# ---------------------------------------------------------------------------- bad inputs
def compiled(seed: int = 0) -> Sequential:
    model = mlp(seed)
    model.compile(CrossEntropy(), SGD(0.1))
    return model


REAL = r"Sequential: x must hold real numbers \(bool, int, uint or float\), got dtype"


@pytest.mark.parametrize("x, y, message", [
    (np.zeros((10, 3)), np.zeros(10, int), r"Dense\(in_features=2.*\(N, 2\), got \(\d+, 3\)"),
    (np.zeros((10, 2, 1)), np.zeros(10, int), r"Dense\(in_features=2.*Flatten"),
    (np.zeros((10, 2)), np.full(10, 2), r"y: labels must be in \[0, 2\).*got 2"),
    (np.zeros((10, 2)), np.full(10, -1), r"y: labels must be in \[0, 2\).*got -1"),
    (np.zeros((10, 2)), np.zeros(9, int), r"x and y .*same number of samples, got 10 and 9"),
    (np.zeros((10, 2)), np.zeros((10, 3)), r"y: expected one-hot rows of shape \(N, 2\), "
                                           r"got \(10, 3\)$"),
    (np.zeros((10, 2)), np.zeros((10, 1), int), r"got \(10, 1\) \(labels in a column\? "
                                                r"pass them as integers of shape \(N,\): "
                                                r"y.ravel\(\)\)"),
    (np.zeros((10, 2)), np.zeros(10), r"y: .*integer dtype, got float64"),
    (np.zeros((10, 2)), np.array(["a"] * 10), r"y: .*integer dtype, got <U1"),
    (np.zeros((10, 2), dtype=object), np.zeros(10, int), f"{REAL} object"),
    (np.full((10, 2), "1.0"), np.zeros(10, int), f"{REAL} <U3"),
    (np.zeros((10, 2), dtype=complex), np.zeros(10, int), f"{REAL} complex128"),
    ([[0.0, 1.0], [2.0]], np.zeros(2, int), r"Sequential: x must be an array of real numbers, "
                                            r"got a list that is not one \(.+\)$"),  # and why
    (np.zeros((0, 2)), np.zeros(0, int), r"^x must hold at least one sample, got shape \(0, 2\)$"),
    # A scalar has no len(): Python's TypeError would name neither x nor y.
    (np.float32(0.5), np.zeros(1, int), r"^x must have a batch axis, got a scalar$"),
    (np.zeros((10, 2)), np.int64(0), r"x and y must hold the same number of samples, got 10 "
                                     r"and a scalar$"),
    (np.zeros((10, 2)), None, r"^y is None: give the targets, one per sample of x$"),
    # Not NumPy's "inhomogeneous shape" alone, which names no argument.
    (np.zeros((3, 2)), [[1, 0], [0], [0, 1]], r"^y must be an array of targets, one per "
                                              r"sample of x, got a list that is not one \(.+\)$"),
    # No sequence of targets, which NumPy takes for one object: not "a scalar".
    *[(np.zeros((3, 2)), y, rf"^x and y must hold the same number of samples, got 3 and a "
                            rf"{name}$")
      for y, name in (((i for i in range(3)), "generator"), ({0, 1}, "set"), ("011", "str"))],
])
def test_bad_data_is_refused_naming_what_and_why(x, y, message):
    model = compiled()
    before = model.get_weights()
    for call in (lambda: model.fit(x, y, verbose=0), lambda: model.evaluate(x, y)):
        with pytest.raises(ValueError, match=message):
            call()
    for w, w0 in zip(model.get_weights(), before, strict=True):  # refused before training
        np.testing.assert_array_equal(w, w0)


def test_bad_validation_data_is_refused_by_name():
    x, y = blobs(0, n=16)
    model = compiled()
    with pytest.raises(ValueError, match=r"validation_data\[0\] and validation_data\[1\]"):
        model.fit(x, y, validation_data=(x, y[:5]), verbose=0)
    with pytest.raises(ValueError, match=r"validation_data\[1\]: labels must be in \[0, 2\)"):
        model.fit(x, y, validation_data=(x, y + 1), verbose=0)
    # Keras's (x_val, y_val, val_sample_weights), and an array of two samples, which would
    # unpack into a "pair" of one sample each: neither is the pair tinynet takes.
    for not_a_pair, got in (((x,), "a tuple of 1 item"),
                            ((x, y, np.ones(16)), "a tuple of 3 items"),
                            (x[:2], r"an array of shape \(2, 2\)"),
                            ({"x": x, "y": y}, "a value of type dict")):
        with pytest.raises(ValueError, match=r"^validation_data must be a pair \(x_val, y_val\), "
                                             f"got {got}$"):
            model.fit(x, y, validation_data=not_a_pair, verbose=0)


def test_mse_targets_of_the_wrong_shape_are_refused():
    model = Sequential([Dense(2, 3)], seed=0)
    model.compile(MSE(), SGD(0.1))
    hint = r"\(labels\? one-hot encode them: tinynet\.datasets\.one_hot\(y, 3\)\)$"
    with pytest.raises(ValueError, match=r"y must have shape \(N, 3\).*got \(10,\) " + hint):
        model.fit(np.zeros((10, 2)), np.zeros(10), verbose=0)


def test_regression_targets_of_shape_n_for_one_output_are_refused_with_the_reshape_hint():
    # Keras code gives a regression's targets as (N,); the model's outputs are (N, 1). Not
    # reshaped by guess: refused, with the hint the MSE loss gives.
    model = Sequential([Dense(2, 1)], seed=0)
    model.compile("mse", SGD(0.1), metrics=None)
    x, y = np.zeros((10, 2)), np.zeros(10)
    with pytest.raises(ValueError, match=r"^y must have shape \(N, 1\) like the model's output, "
                                         r"got \(10,\) \(one target per sample: "
                                         r"y\.reshape\(-1, 1\)\)$"):
        model.fit(x, y, verbose=0)
    with pytest.raises(ValueError, match=r"validation_data\[1\]\.reshape\(-1, 1\)"):
        model.fit(x, y.reshape(-1, 1), validation_data=(x, y), verbose=0)
    with pytest.raises(ValueError, match=r"y\.reshape\(-1, 1\)"):
        model.evaluate(x, y)
    assert len(model.fit(x, y.reshape(-1, 1), verbose=0).history["loss"]) == 1


def test_predict_names_the_layer_on_a_wrong_shape():
    with pytest.raises(ValueError, match=r"Dense\(in_features=2.*\(N, 2\)"):
        mlp(0).predict(np.zeros((4, 5)))
    with pytest.raises(ValueError, match="dtype complex"):
        mlp(0).predict(np.zeros((4, 2), dtype=complex))


@pytest.mark.parametrize("kwargs, name", [
    ({"epochs": -1}, "epochs"), ({"epochs": 1.5}, "epochs"), ({"batch_size": 0}, "batch_size"),
    ({"batch_size": "32"}, "batch_size"), ({"verbose": 3}, "verbose"),
    ({"verbose": "silent"}, "verbose"), ({"initial_epoch": -1}, "initial_epoch"),
    ({"initial_epoch": 0.5}, "initial_epoch"),
])
def test_bad_fit_arguments_are_refused_by_name(kwargs, name):
    x, y = blobs(0, n=8)
    with pytest.raises(ValueError, match=rf"{name} must be .*got"):
        compiled().fit(x, y, **{"verbose": 0, **kwargs})


@pytest.mark.parametrize("shuffle", ["batch", None, 1])
def test_fit_refuses_a_shuffle_that_is_not_true_or_false(shuffle):
    # Keras 2's shuffle="batch" (shuffle within batch-sized chunks) would be taken, silently,
    # for a full shuffle; None or 1 for False or True.
    x, y = blobs(0, n=8)
    with pytest.raises(TypeError, match=rf"fit: shuffle must be True or False, got {shuffle!r}"):
        compiled().fit(x, y, shuffle=shuffle, verbose=0)


def test_fit_and_evaluate_before_compile_are_clear_errors():
    x, y = blobs(0, n=8)
    for call in (lambda m: m.fit(x, y, verbose=0), lambda m: m.evaluate(x, y)):
        with pytest.raises(RuntimeError, match=r"compile"):
            call(mlp(0))


def test_uint8_input_is_trained_as_floats():
    rng = np.random.default_rng(4)
    pixels = rng.integers(0, 256, size=(40, 2), dtype=np.uint8)
    y = (pixels[:, 0] > pixels[:, 1]).astype(np.int64)
    models = []
    for x in (pixels, pixels.astype(np.float32)):
        # Dropout first: it sees the input before any Dense layer could convert it.
        model = Sequential([Dropout(0.2), Dense(2, 8), ReLU(), Dense(8, 2), Softmax()], seed=5)
        model.compile(CrossEntropy(), SGD(1e-4))
        history = model.fit(x, y, epochs=2, batch_size=8, verbose=0)
        models.append((model, history))
    (a, ha), (b, hb) = models
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert ha.history == hb.history
    np.testing.assert_array_equal(a.predict(pixels), b.predict(pixels.astype(np.float32)))
    assert a.predict(pixels).dtype == np.float32


def test_a_model_without_parameters_computes_in_float32_too():
    # Its dtype is float32, as the layers' default, and x is converted to it: a ReLU alone
    # would otherwise give back uint8 pixels as integers, or float64 data as float64.
    model = Sequential([ReLU()], seed=0)
    assert model.dtype == np.float32
    pixels = np.array([[0, 255], [7, 128]], np.uint8)
    out = model.predict(pixels)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, pixels.astype(np.float32))
    assert model.predict(np.array([[-1.5, 2.0]])).dtype == np.float32


@pytest.mark.parametrize("first, last", [(np.float64, np.float32), (np.float32, np.float64)])
def test_a_model_of_layers_of_two_dtypes_computes_each_layer_in_its_own(first, last):
    # As Keras's layers do: each converts its input. model.dtype, the first parameter's, is
    # the dtype x is handed to the first layer in; training keeps each parameter's dtype.
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 3)), rng.integers(0, 2, size=16)
    model = Sequential([Dense(3, 4, dtype=first), ReLU(), Dense(4, 2, dtype=last), Softmax()],
                       seed=0)
    assert model.dtype == first
    model.compile(CrossEntropy(), Adam())
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert [p.dtype for p, _ in model.parameters()] == [first, first, last, last]
    assert model.layers[0].grads["W"].dtype == first
    assert model.layers[2].grads["W"].dtype == last
    assert model.predict(x).dtype == last

# ------------------------------------------------------------------------------- shuffling
class RowRecorder(Layer):
    """The identity, recording which samples (column 0 holds their index) it trains on, and
    with ``inference=True`` those it predicts for too."""

    def __init__(self, inference: bool = False) -> None:
        super().__init__()
        self.inference = inference
        self.batches: list[np.ndarray] = []

    def forward(self, x, training=False):
        if training or self.inference:
            self.batches.append(x[:, 0].astype(np.int64))
        self._save(n=len(x))
        return x

    def backward(self, dy):
        self._load("n")
        return dy.copy()


@pytest.mark.parametrize("shuffle", [True, False])
def test_each_epoch_is_one_permutation_of_the_samples(shuffle):
    N, batch_size, epochs = 37, 8, 3
    rng = np.random.default_rng(0)
    x = np.column_stack([np.arange(N), rng.standard_normal(N)]).astype(np.float32)
    y = rng.integers(0, 2, N)
    recorder = RowRecorder()
    model = Sequential([recorder, Dense(2, 2), Softmax()], seed=0)
    model.compile(CrossEntropy(), SGD(1e-3))
    model.fit(x, y, epochs=epochs, batch_size=batch_size, shuffle=shuffle, verbose=0)
    steps = -(-N // batch_size)
    assert len(recorder.batches) == epochs * steps
    sizes = [len(b) for b in recorder.batches[:steps]]
    assert sizes == [batch_size] * (steps - 1) + [N - batch_size * (steps - 1)]  # last used
    orders = [np.concatenate(recorder.batches[e * steps:(e + 1) * steps])
              for e in range(epochs)]
    for order in orders:
        np.testing.assert_array_equal(np.sort(order), np.arange(N))  # each sample once
    if shuffle:
        assert not np.array_equal(orders[0], np.arange(N))
        assert not np.array_equal(orders[0], orders[1])  # a new permutation each epoch
        assert not np.array_equal(orders[1], orders[2])
        # Samples are shuffled, not just the order of fixed batches: batches mix.
        first = recorder.batches[0]
        assert not np.array_equal(np.sort(first), np.arange(first.min(), first.min() + batch_size))
    else:
        for order in orders:
            np.testing.assert_array_equal(order, np.arange(N))


def test_a_run_from_its_start_shuffles_epoch_e_by_the_stream_of_seed_and_e():
    # The results the README reports come from such runs: a later change to how fit names
    # its streams must not change them. Epoch e shuffles with the Generator of the
    # SeedSequence (seed, spawn_key=(1, e)), 1 naming the per-epoch streams.
    N, batch_size, epochs, seed = 37, 8, 3, 5
    x = np.column_stack([np.arange(N), np.ones(N)]).astype(np.float32)
    recorder = RowRecorder()
    model = Sequential([recorder, Dense(2, 2), Softmax()], seed=seed)
    model.compile(CrossEntropy(), SGD(1e-3))
    model.fit(x, np.arange(N) % 2, epochs=epochs, batch_size=batch_size, verbose=0)
    steps = -(-N // batch_size)
    for e in range(epochs):
        order = np.concatenate(recorder.batches[e * steps:(e + 1) * steps])
        stream = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1, e)))
        np.testing.assert_array_equal(order, stream.permutation(N))


def _shuffles_and_masks(calls: int, **fit_kwargs) -> tuple[list, list]:
    """The batch order and the dropout mask of each of ``calls`` one-batch-epoch fits of one
    model, each called with ``fit_kwargs``."""
    N = 16
    x = np.column_stack([np.arange(N), np.ones(N)]).astype(np.float32)
    y = np.arange(N) % 2
    recorder, dropout = RowRecorder(), Dropout(0.5)
    model = Sequential([recorder, dropout, Dense(2, 2), Softmax()], seed=0)
    model.compile(CrossEntropy(), SGD(1e-3))
    masks = []
    for _ in range(calls):
        model.fit(x, y, batch_size=N, verbose=0, **fit_kwargs)
        masks.append(dropout._load("mask"))
    return recorder.batches, masks


def test_a_second_fit_draws_new_shuffles_and_dropout_masks():
    # fit(epochs=1) called in a loop (to evaluate between epochs, say) must not replay the
    # first epoch's permutation and dropout masks every time: that is not training on
    # shuffled data. The random numbers follow the run, not the count of fit calls.
    (first, second), masks = _shuffles_and_masks(2, epochs=1)
    np.testing.assert_array_equal(np.sort(second), np.arange(16))  # still a permutation
    assert not np.array_equal(first, second)
    assert not np.array_equal(masks[0], masks[1])


def test_fits_that_start_past_the_epochs_a_model_trained_draw_new_shuffles_and_masks():
    # fit(initial_epoch=1) on a fresh model (its weights set by hand, say) has taken fewer
    # steps than epoch 1 implies. Were such counts all to fall back to the stream of a run
    # from its start, calling it again (a notebook cell run twice) would replay the same
    # shuffle and dropout masks: its count would be 1 * steps, exactly that run's.
    with pytest.warns(UserWarning, match="on a model that has taken no training step"):
        batches, masks = _shuffles_and_masks(3, epochs=3, initial_epoch=2)
    for i, j in ((0, 1), (0, 2), (1, 2)):
        assert not np.array_equal(batches[i], batches[j])
        assert not np.array_equal(masks[i], masks[j])


def test_a_fit_after_compiling_afresh_draws_new_shuffles():
    # Recompiling (a lower learning rate, say) starts the optimiser's step count again;
    # the model's own count still tells fit that this is not a run from its start.
    N = 16
    x = np.column_stack([np.arange(N), np.ones(N)]).astype(np.float32)
    recorder = RowRecorder()
    model = Sequential([recorder, Dense(2, 2), Softmax()], seed=0)
    for lr in (0.1, 0.01):
        model.compile(CrossEntropy(), SGD(lr))
        model.fit(x, np.arange(N) % 2, epochs=1, batch_size=N, verbose=0)
    first, second = recorder.batches
    assert not np.array_equal(first, second)
    assert model.steps_trained == 2 and model.optimizer.iterations == 1


def test_a_fit_ahead_of_its_epoch_and_one_behind_it_draw_shuffles_of_their_own():
    # Redoing epoch 1 of a model that trained 2 epochs is 2 steps ahead of a run from its
    # start; fit(initial_epoch=1) on a fresh model is 2 steps behind it. Each names a stream
    # of its own: with one for both, each would replay the other's shuffle (and masks).
    N, batch_size = 16, 8  # 2 steps an epoch
    x = np.column_stack([np.arange(N), np.ones(N)]).astype(np.float32)
    y = np.arange(N) % 2
    orders = []
    for epochs_before in (2, 0):
        recorder = RowRecorder()
        model = Sequential([recorder, Dense(2, 2), Softmax()], seed=0)
        model.compile(CrossEntropy(), SGD(1e-3))
        if epochs_before:
            model.fit(x, y, epochs=epochs_before, batch_size=batch_size, verbose=0)
        recorder.batches.clear()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the fresh model's: resumed by hand?
            model.fit(x, y, epochs=2, initial_epoch=1, batch_size=batch_size, verbose=0)
        orders.append(np.concatenate(recorder.batches))
    ahead, behind = orders
    from_start = np.random.default_rng(np.random.SeedSequence(0, spawn_key=(1, 1)))
    run = from_start.permutation(N)  # epoch 1 of a run from its start
    for a, b in ((ahead, behind), (ahead, run), (behind, run)):
        assert not np.array_equal(a, b)


# --------------------------------------------------------------------- history, evaluate...
def test_history_has_keras_keys_and_one_value_per_epoch():
    x, y = blobs(5)
    x_val, y_val = blobs(6, n=20)
    model = compiled()
    history = model.fit(x, y, epochs=3, batch_size=16, validation_data=(x_val, y_val),
                        verbose=0)
    assert model.history is history
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 3 for v in history.history.values())
    assert history.epoch == [0, 1, 2]
    # Validation runs after the epoch's training: the last one is what evaluate says now.
    val_loss, val_accuracy = model.evaluate(x_val, y_val)
    assert history.history["val_loss"][-1] == pytest.approx(val_loss, rel=1e-6)
    assert history.history["val_accuracy"][-1] == val_accuracy
    no_val = compiled().fit(x, y, epochs=2, verbose=0)
    assert set(no_val.history) == {"loss", "accuracy"}


class KeepBatchLogs(tinynet.callbacks.Callback):
    """Keeps each batch's logs, and a copy of them as they were at the batch's end."""

    def __init__(self):
        super().__init__()
        self.kept, self.copies = [], []

    def on_batch_end(self, batch, logs=None):
        self.kept.append(logs)
        self.copies.append(dict(logs))


def test_the_last_batchs_logs_are_not_changed_by_the_epochs_end():
    # A callback that keeps every batch's logs (to plot a per-batch curve, say) must find
    # the last batch's as they were: the epoch's validation values go into a new dict.
    x, y = blobs(5, n=32)
    keep = KeepBatchLogs()
    compiled().fit(x, y, epochs=1, batch_size=16, validation_data=(x, y), verbose=0,
                   callbacks=[keep])
    assert len(keep.kept) == 2
    for logs, copy in zip(keep.kept, keep.copies, strict=True):
        assert logs == copy and set(logs) == {"loss", "accuracy"}


def test_the_last_batchs_logs_are_not_changed_by_a_callback_without_validation_data():
    # With no validation data to add, the epoch's logs must still be a dict of their own: a
    # value a callback adds to them (Keras's way to log a metric) is not the batch's.
    class AddToEpochLogs(tinynet.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["extra"] = 1.0

    x, y = blobs(5, n=32)
    keep = KeepBatchLogs()
    compiled().fit(x, y, epochs=1, batch_size=16, verbose=0,
                   callbacks=[keep, AddToEpochLogs()])
    assert [set(logs) for logs in keep.kept] == [{"loss", "accuracy"}] * 2


def test_evaluate_returns_loss_and_accuracy_and_predict_probabilities():
    x, y = blobs(7, n=50)
    model = compiled()
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    result = model.evaluate(x, y)
    assert isinstance(result, tuple) and len(result) == 2
    loss, accuracy = result
    p = model.predict(x)
    assert p.shape == (50, 2)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)
    assert np.all((p >= 0) & (p <= 1))
    assert loss == pytest.approx(CrossEntropy().forward(p.astype(np.float64), y), rel=1e-5)
    assert accuracy == pytest.approx(np.mean(p.argmax(axis=1) == y))
    np.testing.assert_allclose(model.predict(x, batch_size=7), p, rtol=1e-6)
    model.compile(CrossEntropy(), SGD(0.1), metrics=())
    assert model.evaluate(x, y) == pytest.approx(loss)


def test_nested_lists_are_taken_as_the_arrays_they_make():
    # As Keras's: fit, evaluate, predict, train_step and model(x) take what np.asarray
    # takes (their type hints say ArrayLike, so a type checker lets lists through too).
    x, y = [[0.0, 1.0], [1.0, 0.5], [0.2, 0.3]], [1, 0, 1]
    results = []
    for as_given in (lambda v: v, np.asarray):
        model = Sequential([Dense(2, 2), Softmax()], seed=0)
        model.compile("sparse_categorical_crossentropy", "sgd")
        model.fit(as_given(x), as_given(y), batch_size=2, shuffle=False, verbose=0,
                  validation_data=(as_given(x), as_given(y)))
        model.train_step(as_given(x), as_given(y))
        results.append([*model.evaluate(as_given(x), as_given(y)), model.predict(as_given(x)),
                        model(as_given(x)), *model.get_weights()])
    for from_lists, from_arrays in zip(*results, strict=True):
        np.testing.assert_array_equal(from_lists, from_arrays)


def test_summary_lists_layers_shapes_and_parameter_counts():
    model = Sequential([Flatten(), Dense(12, 8), ReLU(), Dropout(0.5), Dense(8, 3), Softmax()],
                       seed=0)
    lines = []
    model.summary(input_shape=(3, 4), print_fn=lines.append)
    text = "\n".join(lines)
    rows = [line for line in text.splitlines() if "(" in line and "Layer (type)" not in line
            and "seed" not in line]
    names = ["Flatten", "Dense", "ReLU", "Dropout", "Dense", "Softmax"]
    shapes = ["(None, 12)", "(None, 8)", "(None, 8)", "(None, 8)", "(None, 3)", "(None, 3)"]
    counts = [0, 12 * 8 + 8, 0, 0, 8 * 3 + 3, 0]
    assert len(rows) == len(names)
    for row, name, shape, count in zip(rows, names, shapes, counts, strict=True):
        assert f"({name})" in row and shape in row
        assert row.split()[-1] == f"{count:,}"
    assert f"Total params: {sum(counts):,}" in text
    assert sum(counts) == sum(p.size for p, _ in model.parameters())


def test_summary_defaults_to_the_first_dense_layers_input():
    lines = []
    Sequential([Dense(784, 512), ReLU(), Dense(512, 10)], seed=0).summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "(None, 512)" in text and "(None, 10)" in text
    assert f"Total params: {784 * 512 + 512 + 512 * 10 + 10:,}" in text


def test_data_the_model_refused_leaves_the_input_shape_that_summary_and_save_use():
    # A refused fit or predict that kept the shape it refused as the model's input shape
    # would make the next summary() fail on it, and a saved model record it for tinynet's CLI.
    model = Sequential([Dense(4, 3), Softmax()], seed=0)
    model.compile(CrossEntropy(), SGD(0.1))
    model.predict(np.zeros((2, 4)))
    for call in (lambda: model.fit(np.zeros((2, 2, 2)), np.zeros(2, int), verbose=0),
                 lambda: model.evaluate(np.zeros((2, 5)), np.zeros(2, int)),
                 lambda: model.predict(np.zeros((2, 6))),
                 lambda: model.predict(np.zeros((0, 6)))):  # no samples, still the shape
        with pytest.raises(ValueError, match=r"expected input of shape \(N, 4\)"):
            call()
        assert model.input_shape == (4,)
    lines = []
    model.summary(print_fn=lines.append)
    assert "(None, 3)" in lines[0]


def test_a_refused_fit_or_evaluate_leaves_the_input_shape_even_when_the_model_took_x():
    # A shape kept as soon as the model had taken x, before the targets, the validation
    # data and fit's other arguments are checked, would be changed by a refused call.
    model = Sequential([Flatten(), Dense(4, 3), Softmax()], seed=0)
    model.compile(CrossEntropy(), SGD(0.1))
    x, labels, no_label = np.zeros((2, 2, 2)), np.zeros(2, int), np.full(2, 3)  # 3 classes
    for call in (lambda: model.fit(x, no_label, verbose=0),
                 lambda: model.fit(x, labels, verbose=0, validation_data=(x, no_label)),
                 lambda: model.fit(x, labels, verbose=0, shuffle="batch"),
                 lambda: model.fit(x, labels, verbose=0, callbacks=[RefuseToBegin()]),
                 lambda: model.evaluate(x, no_label)):
        with pytest.raises((ValueError, TypeError)):
            call()
        assert model.input_shape is None
    model.evaluate(x, labels)
    assert model.input_shape == (2, 2)
    model.fit(np.zeros((2, 4)), labels, verbose=0)
    assert model.input_shape == (4,)


def test_data_of_the_wrong_shape_is_named_with_its_whole_shape():
    # The layer sees one sample (fit checks x[:1]) or one batch: its message alone would say
    # "got (1, 5)" for an x of shape (300, 5), and never which argument it was.
    model = Sequential([Dense(2, 3), Softmax()], seed=0)
    model.compile(CrossEntropy(), SGD(0.1))
    x, y = np.zeros((300, 2)), np.zeros(300, int)
    with pytest.raises(ValueError, match=r"^with x of shape \(300, 5\), tried on its first "
                                         r"sample: "
                                         r"Dense\(.*\): expected input of shape \(N, 2\), got "
                                         r"\(1, 5\)$"):
        model.fit(np.zeros((300, 5)), y, verbose=0)
    with pytest.raises(ValueError, match=r"^with validation_data\[0\] of shape \(300, 1\), "
                                         r"tried on its first sample: "):
        model.fit(x, y, verbose=0, validation_data=(x[:, :1], y))
    with pytest.raises(ValueError, match=r"^with x of shape \(2000, 3\), in batches of 1024: "
                                         r"Dense\(.*\): expected input of shape \(N, 2\), got "
                                         r"\(1024, 3\)$") as raised:
        model.predict(np.zeros((2000, 3)), batch_size=1024)
    # The layer's own error is kept, with its traceback: a bug in a layer of one's own
    # shows the line that raised it.
    assert str(raised.value.__cause__).startswith("Dense(")
    with pytest.raises(ValueError, match=r"^with x of shape \(5, 3\): Dense\(.*\(5, 3\)$"):
        model.predict(np.zeros((5, 3)))  # one batch: its shape is x's


def test_numbers_without_a_feature_axis_get_the_reshape_that_fits_them():
    # Not x.reshape(1, 1), one sample, for 50 numbers; and the hint comes in predict too.
    model = Sequential([Dense(1, 1)], seed=0)
    model.compile("mse", SGD(0.1), metrics=None)
    xs = np.linspace(0, 1, 50)
    for call in (lambda: model.fit(xs, 2 * xs, verbose=0), lambda: model.predict(xs)):
        with pytest.raises(ValueError, match=r"\(one number per sample\? give them a feature "
                                             r"axis: x\.reshape\(-1, 1\)\)$"):
            call()
    model.fit(xs.reshape(-1, 1), 2 * xs.reshape(-1, 1), verbose=0)


def test_one_sample_without_a_batch_axis_gets_the_batch_axis_hint():
    # predict(x_test[0]): cut into batches of 32, the layer would name a slice's (32,).
    model = compiled()
    one = np.zeros(2)
    hint = (r"^x of shape \(2,\) holds one sample \(the model takes \(None, 2\)\): add the "
            r"batch axis: x\[None\], of shape \(1, 2\)$")
    for call in (lambda: model.predict(one), lambda: model.evaluate(one, np.zeros(2, int)),
                 lambda: model.fit(one, np.zeros(2, int), verbose=0)):
        with pytest.raises(ValueError, match=hint):
            call()
    assert model.predict(one[None]).shape == (1, 2)


def test_one_sample_of_a_model_that_begins_with_flatten_gets_the_hint_once_it_has_seen_data():
    # Flatten declares no input shape: the shape of the data the model took tells it. The
    # Dense after it would have named (32, 1), a slice of the one sample flattened.
    model = Sequential([Flatten(), Dense(4, 2)], seed=0)
    model.predict(np.zeros((3, 2, 2)))
    for x, fix in [(np.zeros((2, 2)), r"x\[None\], of shape \(1, 2, 2\)"),
                   (np.zeros(4), r"x\.reshape\(1, 2, 2\)")]:
        with pytest.raises(ValueError, match=rf"holds one sample \(the model takes \(None, 2, "
                                             rf"2\)\): add the batch axis: {fix}$"):
            model.predict(x)


@pytest.mark.parametrize("shape", [(4, 4), (16,), (1, 16)])
def test_one_sample_with_fewer_axes_than_a_batch_gets_the_reshape_hint(shape):
    # MNIST's (28, 28) for a CNN trained on (28, 28, 1), or one flattened: cut into batches,
    # the convolution would name a slice's shape, (4, 4).
    model = Sequential([Conv2D(1, 2, 3), Flatten(), Dense(8, 2)], seed=0)
    model.predict(np.zeros((3, 4, 4, 1)))
    with pytest.raises(ValueError, match=rf"^x of shape {re.escape(str(shape))} holds one "
                                         r"sample \(the model takes \(None, 4, 4, 1\)\): add "
                                         r"the batch axis: x\.reshape\(1, 4, 4, 1\)$"):
        model.predict(np.zeros(shape))


def test_one_sample_flattened_to_a_model_that_does_not_know_its_shape_gets_a_hint():
    # A fresh model beginning with Flatten knows no sample's shape: (784,) is read as 784
    # samples, and Dense names a batch of them, (32, 1), not the sample.
    model = Sequential([Flatten(), Dense(64, 2), Softmax()], seed=0)
    model.compile("sparse_categorical_crossentropy", "sgd")
    hint = (r"\(x of shape \(64,\) is read as 64 samples of one number each; one sample\? "
            r"give it a batch axis: x\[None\]\)$")
    with pytest.raises(ValueError, match=r"^with x of shape \(64,\), in batches of 32: Dense"
                                         r".*got \(32, 1\) " + hint):
        model.predict(np.zeros(64))
    with pytest.raises(ValueError, match=r"^with x of shape \(64,\), tried on its first "
                                         r"sample: Dense.*got \(1, 1\) " + hint):
        model.fit(np.zeros(64), np.zeros(64, dtype=int), verbose=0)
    with pytest.raises(ValueError, match=hint):
        model.evaluate(np.zeros(64), np.zeros(64, dtype=int))
    # Samples that are 2-D or more name no such hint; a batch that holds the whole sample,
    # Dense recognises, and its own hint is not said twice.
    with pytest.raises(ValueError, match=r"got \(2, 9\)$"):
        model.predict(np.zeros((2, 3, 3)))
    with pytest.raises(ValueError, match=r"got \(64, 1\) \(one sample\? add the batch axis: "
                                         r"x\.reshape\(1, 64\)\)$"):
        model.predict(np.zeros(64), batch_size=64)
    # A model that knows a sample's shape, or begins with a layer that may take numbers one
    # per sample, is given no such hint: x[None] would not be what it takes.
    with pytest.raises(ValueError, match=r"got \(32,\)$"):
        Sequential([Dense(3, 1)], seed=0).predict(np.zeros(100))
    with pytest.raises(ValueError, match=r"got \(32,\)$"):
        Sequential([ReLU(), Dense(3, 1)], seed=0).predict(np.zeros(100))
    model.predict(np.zeros((2, 8, 8)))  # now the model knows a sample: 100 numbers are none
    with pytest.raises(ValueError, match=r"got \(32, 1\)$"):
        model.predict(np.zeros(100))


def test_a_batch_of_images_of_another_size_is_no_sample_to_a_model_of_convolutions_alone():
    # Such a model takes images of any size: the shape it learnt from its last data is one
    # of many, and a batch whose size is one sample's is a batch all the same.
    model = Sequential([Conv2D(1, 2, 3, padding="same"), ReLU()], seed=0)
    model.predict(np.zeros((3, 8, 8, 1)))
    assert model.predict(np.zeros((4, 4, 4, 1))).shape == (4, 4, 4, 2)
    assert model.predict(np.zeros((2, 4, 8, 1))).shape == (2, 4, 8, 2)


def test_an_image_given_to_a_dense_layer_gets_the_batch_axis_hint_not_flatten():
    # (4, 4, 1) is one sample for Dense(16): a Flatten layer would make it 4 samples of 4.
    model = Sequential([Dense(16, 2)], seed=0)
    with pytest.raises(ValueError, match=r"got \(4, 4, 1\) \(one sample\? add the batch axis: "
                                         r"x\.reshape\(1, 16\)\)$"):
        model.predict(np.zeros((4, 4, 1)))
    # (1, 4, 4) is a batch of one image: that one needs the Flatten layer.
    with pytest.raises(ValueError, match=r"got \(1, 4, 4\) \(add a Flatten\(\) layer before "
                                         r"it\)$"):
        model.predict(np.zeros((1, 4, 4)))


class DeclaresOddly(Layer):
    """A layer of one's own whose input_shape is not a tuple of ints: an array, or a
    property that raises until the layer has seen data."""

    def __init__(self, input_shape=None):
        super().__init__()
        self.declared = input_shape

    @property
    def input_shape(self):
        if self.declared is None:
            raise RuntimeError("not built yet")
        return self.declared

    def forward(self, x, training=False):
        return x

    def backward(self, dy):
        return dy


def test_a_first_layer_that_declares_its_input_shape_oddly_is_read_or_passed_over():
    # An array of ints is read as the shape it holds (its == with a tuple is ambiguous).
    model = Sequential([DeclaresOddly(np.array([2, 2])), Flatten(), Dense(4, 2)], seed=0)
    with pytest.raises(ValueError, match=r"^x of shape \(4,\) holds one sample \(the model "
                                         r"takes \(None, 2, 2\)\)"):
        model.predict(np.zeros(4))
    # A property that raises is passed over: neither predict nor summary fails on it.
    model = Sequential([DeclaresOddly(), Flatten(), Dense(4, 2)], seed=0)
    lines = []
    model.summary(print_fn=lines.append)
    assert " ? " in lines[0]
    assert model.predict(np.zeros((3, 2, 2))).shape == (3, 2)


def test_regression_targets_as_long_as_the_inputs_are_wide_are_not_one_sample():
    # y of shape (N,) is N targets even when N is the first layer's width.
    model = Sequential([Dense(3, 1)], seed=0)
    model.compile("mse", SGD(0.1), metrics=None)
    with pytest.raises(ValueError, match=r"y must have shape \(N, 1\)"):
        model.fit(np.zeros((3, 3)), np.zeros(3), verbose=0)


def test_summary_refuses_an_input_shape_the_model_cannot_take():
    with pytest.raises(ValueError, match=r"^with summary's input_shape \(5,\): "
                                         r"Dense\(in_features=12.*\(N, 12\), got "
                                         r"\(1, 5\)"):
        Sequential([Dense(12, 3)], seed=0).summary(input_shape=(5,))
    with pytest.raises(ValueError, match=r"Flatten"):
        Sequential([Dense(784, 3)], seed=0).summary(input_shape=(28, 28, 1))
    # A scalar per sample, (), is a shape too: tried, not taken for "no shape given".
    with pytest.raises(ValueError, match=r"^with summary's input_shape \(\): Dense"):
        Sequential([Dense(784, 3)], seed=0).summary(input_shape=())


def test_summary_says_how_to_show_the_shapes_it_cannot_tell():
    # A model that begins with Conv2D or Flatten fixes no input shape until it sees data.
    model = Sequential([Conv2D(1, 2, 3), ReLU(), Flatten(), Dense(8, 3)], seed=0)
    lines = []
    model.summary(print_fn=lines.append)
    assert lines[0].count(" ? ") == 4
    assert lines[0].endswith("\nOutput shapes are shown once the model has seen data, or given "
                             "one sample's shape: summary(input_shape=(28, 28, 1)), say")
    lines.clear()
    model.summary(input_shape=(4, 4, 1), print_fn=lines.append)
    assert "(None, 2, 2, 2)" in lines[0] and "Output shapes" not in lines[0]


def test_summary_shows_the_input_shape_it_is_given_before_the_one_of_the_data_seen():
    # The data seen is only the default: summary(input_shape=...) asks for another shape.
    model = Sequential([ReLU(), Flatten(), Dense(4, 2)], seed=0)
    model.predict(np.zeros((3, 2, 2), np.float32))
    seen, given = [], []
    model.summary(print_fn=seen.append)
    model.summary(input_shape=(4,), print_fn=given.append)
    relu_row = [line for line in seen[0].splitlines() if "(ReLU)" in line]
    assert "(None, 2, 2)" in relu_row[0]
    relu_row = [line for line in given[0].splitlines() if "(ReLU)" in line]
    assert "(None, 4)" in relu_row[0]


def test_summary_shows_question_marks_for_a_first_layer_of_unknown_input_size():
    # A layer of one's own may declare an input_shape with None for a size it does not fix,
    # as Keras writes one: no sample of that shape can be made to find the output shapes.
    class AnyWidth(Layer):
        input_shape = (None,)

        def forward(self, x, training=False):
            return x

    lines = []
    Sequential([AnyWidth()], seed=0).summary(print_fn=lines.append)
    assert lines[0].count(" ? ") == 1 and "Output shapes are shown once" in lines[0]


def test_summary_of_an_empty_model_has_no_rows_and_no_parameters():
    lines = []
    Sequential([], seed=0).summary(print_fn=lines.append)
    assert "Total params: 0" in lines[0] and "(None" not in lines[0]
    # No row shows "?", so no line says how to fill one in.
    assert "Output shapes" not in lines[0]


def mean_confidence(y_pred, y_true):
    """A metric function of one's own: the mean of each sample's largest probability."""
    return float(y_pred.max(axis=1).mean())


@pytest.mark.parametrize("metrics, names", [
    (None, []), ("accuracy", ["accuracy"]), (["acc"], ["acc"]), ((), []),
    (mean_confidence, ["mean_confidence"]),  # one function alone, as one name alone
])
def test_compile_takes_one_metric_a_list_or_none(metrics, names):
    model = mlp(0)
    model.compile(CrossEntropy(), SGD(0.1), metrics=metrics)
    assert [name for name, _ in model.metrics] == names


def test_compile_refuses_a_dict_of_metrics_whose_keys_it_would_take_for_names():
    # Keras's metrics for each output, {"output": "accuracy"}: read as a list, it would be
    # refused as "got 'output'", the key, which says nothing of the dict.
    model = mlp(0)
    with pytest.raises(ValueError, match=r"^metrics must be a list of metric names or "
                                         r"functions, got a dict \{'out': 'accuracy'\} "):
        model.compile(CrossEntropy(), SGD(0.1), metrics={"out": "accuracy"})
    assert model.loss is None


@pytest.mark.parametrize("metrics", [3, 0.5])
def test_compile_refuses_metrics_that_are_neither_a_list_nor_a_metric(metrics):
    model = mlp(0)
    with pytest.raises(TypeError, match=rf"^metrics must be a list of metric names or "
                                        rf"functions, got {metrics}$"):
        model.compile(CrossEntropy(), SGD(0.1), metrics=metrics)
    assert model.loss is None


def _metric_named_loss():
    def loss(y_pred, y_true):
        return 7.0

    return loss


@pytest.mark.parametrize("metrics", [
    ["accuracy", "accuracy"],
    [lambda y_pred, y_true: 0.25, lambda y_pred, y_true: 0.5],
    [_metric_named_loss()],
], ids=["accuracy twice", "two lambdas", "named loss"])
def test_compile_refuses_metrics_logged_under_one_name(metrics):
    # Their values would be summed into one logged value (or into the loss), silently.
    model = mlp(0)
    with pytest.raises(ValueError, match="would be logged as"):
        model.compile(CrossEntropy(), SGD(0.1), metrics=metrics)
    assert model.loss is None and model.metrics == []  # refused before anything changed


@pytest.mark.parametrize("ends_in_softmax", [True, False])
@pytest.mark.parametrize("from_logits", [True, False])
def test_compile_warns_of_softmax_applied_twice(ends_in_softmax, from_logits):
    # Only a final Softmax with a loss that applies softmax again is the slip warned of.
    layers = [Dense(2, 3), *([Softmax()] if ends_in_softmax else [])]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Sequential(layers, seed=0).compile(CrossEntropy(from_logits=from_logits), SGD(0.1))
    messages = [str(w.message) for w in caught]
    if ends_in_softmax and from_logits:
        assert len(messages) == 1 and "applies softmax to them again" in messages[0]
    else:
        assert messages == []


def test_a_softmax_applied_twice_refused_under_warnings_as_errors_leaves_the_model_uncompiled():
    # As pytest's filterwarnings = error makes it: compiled before the warning, the model
    # would be left compiled all the same.
    model = Sequential([Dense(2, 3), Softmax()], seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UserWarning, match="applies softmax to them again"):
            model.compile(CrossEntropy(from_logits=True), SGD(0.1))
    assert model.loss is None and model.optimizer is None


def test_a_final_softmax_with_a_loss_on_logits_trains_as_built():
    # The slip warned of is legal, and runs as written: softmax applied to the probabilities
    # again. Only CrossEntropy() (from_logits=False) is fused with the final Softmax.
    x, y = blobs(0, n=16)
    model = mlp(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.compile(CrossEntropy(from_logits=True), SGD(0.1))
    assert not model.fused_softmax
    loss, _ = model.evaluate(x, y)
    twice = CrossEntropy(from_logits=True).forward(model.predict(x), y)
    assert loss == pytest.approx(twice, rel=1e-6)


def test_validation_split_holds_out_the_last_samples_before_shuffling():
    # As Keras: the last 25% of 64 samples (16) are the validation data of every epoch and
    # never trained on, so the run equals one given them as validation_data.
    x, y = blobs(4)
    recorder = RowRecorder()
    rows = np.column_stack([np.arange(64), x[:, 1]]).astype(np.float32)
    split = Sequential([recorder, Dense(2, 2), Softmax()], seed=0)
    split.compile(CrossEntropy(), SGD(0.1))
    by_split = split.fit(rows, y, epochs=2, batch_size=8, verbose=0, validation_split=0.25)
    trained = np.concatenate(recorder.batches)
    np.testing.assert_array_equal(np.sort(trained[:48]), np.arange(48))
    assert trained.max() == 47  # not one of the last 16
    paired = Sequential([RowRecorder(), Dense(2, 2), Softmax()], seed=0)
    paired.compile(CrossEntropy(), SGD(0.1))
    by_pair = paired.fit(rows[:48], y[:48], epochs=2, batch_size=8, verbose=0,
                        validation_data=(rows[48:], y[48:]))
    assert by_split.history == by_pair.history
    assert set(by_split.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}


def test_validation_split_rounds_the_samples_trained_on_down_as_keras_does():
    # 10 samples, 25% held out: 7.5 to train on, rounded down to 7 (Keras's
    # int(N * (1 - split))), so 3 are validated. Rounding to nearest would train on 8.
    recorder = RowRecorder()
    model = Sequential([recorder, Dense(2, 2), Softmax()], seed=0)
    model.compile(CrossEntropy(), SGD(0.1))
    rows = np.column_stack([np.arange(10), np.ones(10)]).astype(np.float32)
    model.fit(rows, np.arange(10) % 2, batch_size=10, verbose=0, validation_split=0.25)
    np.testing.assert_array_equal(np.sort(recorder.batches[0]), np.arange(7))


@pytest.mark.parametrize("n, kwargs, message", [
    (64, {"validation_split": 1.0}, r"validation_split must be a number in \[0.0, 1.0\), got 1.0"),
    (64, {"validation_split": -0.1}, r"validation_split must be a number in \[0.0, 1.0\)"),
    (64, {"validation_split": "0.2"}, r"validation_split must be a number"),
    (1, {"validation_split": 0.5}, r"validation_split=0.5 of 1 sample\(s\) leaves 0 to train "
                                   r"on and 1 to validate on; each needs at least 1"),
    (64, {"validation_split": 1e-17}, r"leaves 64 to train on and 0 to validate on"),
    (64, {"validation_split": 0.2, "validation_data": ([[0, 0]], [0])},
     r"^fit: got validation_split=0.2 and validation_data, expected one of them$"),
])
def test_validation_split_refuses_what_it_cannot_split(n, kwargs, message):
    x, y = blobs(4)
    with pytest.raises(ValueError, match=message):
        compiled().fit(x[:n], y[:n], verbose=0, **kwargs)


@pytest.mark.parametrize("method", ["evaluate", "predict"])
def test_evaluate_and_predict_take_keras_verbose(method, capsys):
    x, y = blobs(4)
    model = compiled()
    args = (x, y) if method == "evaluate" else (x,)
    quiet = getattr(model, method)(*args)
    for verbose in (0, 1, 2, "auto"):
        np.testing.assert_array_equal(getattr(model, method)(*args, verbose=verbose), quiet)
    assert capsys.readouterr().out == ""
    for bad in (3, 2.0, "1"):
        with pytest.raises(ValueError, match=rf"verbose must be 'auto', 0, 1 or 2, got "
                                             rf"{re.escape(repr(bad))}$"):
            getattr(model, method)(*args, verbose=bad)


def test_fit_takes_keras_default_verbose_auto_as_a_progress_bar(capsys):
    # Keras's fit defaults to verbose="auto", so code written for it passes that.
    class Params(tinynet.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.verbose = self.params["verbose"]

    x, y = blobs(4, n=16)
    seen = Params()
    compiled().fit(x, y, epochs=2, batch_size=8, verbose="auto", callbacks=[seen])
    out = capsys.readouterr().out.splitlines()
    assert seen.verbose == 1
    assert out[0::2] == ["Epoch 1/2", "Epoch 2/2"]  # not a terminal: one bar line per epoch
    assert all(line.startswith("2/2 [==============================] - ") for line in out[1::2])


def keras_order(t, p):
    """Keras's argument order, under names that do not say so (compile refuses a y_true
    first): p.argmax(axis=1) on labels fails."""
    return float(np.mean(p.argmax(axis=1) == t))


def one_sample_only(y_pred, y_true):
    """Written for one sample at a time: .item() of a batch of two fails."""
    return float(y_true.item() == y_pred.argmax())


@pytest.mark.parametrize("metric", [keras_order, one_sample_only])
def test_a_metric_that_fails_fails_before_the_first_step_changes_anything(metric):
    # The trial runs on two samples, not one: a metric that only fails on a batch of several
    # (one_sample_only) would pass a one-sample trial and fail after the first step.
    x, y = blobs(4)
    model = mlp(0)
    model.compile(CrossEntropy(), SGD(0.1), metrics=[metric])
    assert_fit_refused_before_any_step(model, metric.__name__, x, y)


def test_a_metric_that_fails_on_the_validation_data_fails_before_the_first_step():
    # The loss takes labels for one-hot targets; a metric may not, and the validation data
    # is first evaluated after a whole epoch has trained.
    x, y = blobs(4)
    model = mlp(0)
    model.compile(CrossEntropy(), SGD(0.1), metrics=["accuracy", "mae"])
    assert_fit_refused_before_any_step(
        model, r"^mean_absolute_error: y_true must have the shape", x,
        one_hot(y, 2, np.float32), validation_data=(x, y))


class StopInsideTheStep(Adam):
    """Adam that stops (as Ctrl-C would) in the middle of its ``stop_at``-th step, after
    updating ``moved`` of the parameters."""

    def __init__(self, stop_at: int, moved: int) -> None:
        super().__init__()
        self.stop_at, self.moved, self.updated = stop_at, moved, 0

    def update(self, param, grad, state, work):
        if self.iterations == self.stop_at and self.updated == self.moved:
            raise KeyboardInterrupt
        super().update(param, grad, state, work)
        self.updated = self.updated + 1 if self.iterations == self.stop_at else 0


@pytest.mark.parametrize("moved", [0, 2])
@pytest.mark.parametrize("stop_at", [1, 3])  # 1: the fit has taken no whole step
def test_a_fit_stopped_inside_a_step_counts_it_and_keeps_its_history(stop_at, moved):
    # The optimiser has counted the step (Adam's t) and may have moved some weights: the
    # model has taken it, so fit must not put back the History and the random streams of
    # before, as it does for a fit refused before its first step.
    x, y = blobs(4)
    model = mlp(0)
    model.compile(CrossEntropy(), StopInsideTheStep(stop_at=stop_at, moved=moved))
    before = model.history
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert model.steps_trained == model.optimizer.iterations == stop_at
    assert model.history is not before and model.history.epoch == []


def test_a_fit_stopped_between_steps_counts_its_own_steps_only():
    # The optimiser's count moves with steps that are not the fit's (a callback's own
    # train_step, or set_state): only a step fit stopped inside counts beyond its own.
    class CountElsewhereThenStop(tinynet.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.model.train_step(*blobs(5, n=4))
            params = [p for p, _ in self.model.parameters()]
            self.model.optimizer.set_state(params, self.model.optimizer.get_state(params), 1000)

        def on_batch_begin(self, batch, logs=None):
            if batch == 2:
                raise KeyboardInterrupt

    x, y = blobs(4)
    model = mlp(0)
    model.compile(CrossEntropy(), Adam())
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[CountElsewhereThenStop()])
    assert model.steps_trained == 2 and model.optimizer.iterations == 1002


def test_steps_trained_is_an_int_at_least_0():
    # Set by hand for a resume (docs/training.md): a float or a string there would fail
    # deep inside fit, and a negative count would be saved to a file load_model refuses.
    model = mlp(0)
    for bad in (2.0, "3", -1, None, True):
        with pytest.raises(ValueError, match=rf"^Sequential: steps_trained must be an int "
                                             rf">= 0, got {re.escape(repr(bad))}$"):
            model.steps_trained = bad
        assert model.steps_trained == 0
    model.steps_trained = np.int64(7)
    assert model.steps_trained == 7 and type(model.steps_trained) is int


def assert_fit_refused_before_any_step(model, match, x, y, **kwargs) -> None:
    """``model.fit(x, y, ...)`` raises a ValueError matching ``match``, and neither the
    weights nor the step counts have changed."""
    before = [p.copy() for p, _ in model.parameters()]
    with pytest.raises(ValueError, match=match):
        model.fit(x, y, epochs=1, batch_size=8, verbose=0, **kwargs)
    assert model.steps_trained == 0 and model.optimizer.iterations == 0
    for p, (q, _) in zip(before, model.parameters(), strict=True):
        np.testing.assert_array_equal(q, p)


def test_train_step_refuses_a_batch_without_samples():
    # Nothing to learn, yet the step would count: Adam's bias correction would move on.
    x, y = blobs(4)
    model = mlp(0)
    model.compile(CrossEntropy(), Adam())
    with pytest.raises(ValueError, match=r"^train_step: x must hold at least one sample, got "
                                         r"shape \(0, 2\)$"):
        model.train_step(x[:0], y[:0])
    assert model.optimizer.iterations == 0


def test_train_step_refuses_targets_of_another_length_before_dropout_draws():
    # Refused by the loss after the forward pass, the step would have drawn dropout masks:
    # the next good step would then train on other masks than without the refused call.
    x, y = blobs(4, n=16)
    a, b = (Sequential([Dense(2, 8), ReLU(), Dropout(0.5), Dense(8, 4), Softmax()], seed=3)
            for _ in range(2))
    for model in (a, b):
        model.compile("crossentropy", "adam")
    for wrong, got in ((y[:5], "5"), (y[0], "a scalar")):
        with pytest.raises(ValueError, match=r"^train_step: x and y must hold the same number "
                                             rf"of samples, got 16 and {got}$"):
            a.train_step(x, wrong)
    a.train_step(x, y)
    b.train_step(x, y)
    assert all(np.array_equal(wa, wb) for wa, wb in zip(a.get_weights(), b.get_weights(),
                                                        strict=True))


@pytest.mark.parametrize("loss, optimizer", [("adam", "sparse_categorical_crossentropy"),
                                             (Adam(), CrossEntropy()), ("SGD", "mse")])
def test_compile_in_keras_order_says_tinynets_order(loss, optimizer):
    with pytest.raises(ValueError, match=r"got the optimiser .*: tinynet's compile takes "
                                         r"\(loss, optimizer\), Keras's \(optimizer, loss\)"):
        mlp(0).compile(loss, optimizer)


@pytest.mark.parametrize("attribute, name, expected", [("optimizer", "sgd", "an Optimizer"),
                                                       ("loss", "mse", "a Loss")])
def test_a_name_assigned_by_hand_in_place_of_a_loss_or_optimiser_is_refused(attribute, name,
                                                                             expected):
    # Without the check: AttributeError: 'str' object has no attribute 'has_state_only_for'.
    x, y = blobs(4)
    model = compiled()
    setattr(model, attribute, name)
    with pytest.raises(TypeError, match=rf"^model\.{attribute} must be {expected}, got "
                                        rf"'{name}': set it with model\.compile"):
        model.fit(x, y, verbose=0)


def test_fit_takes_the_arguments_after_y_by_name():
    # Keras's fit(x, y, 128, 5) is batch size 128 and 5 epochs; taken in tinynet's order
    # (epochs, batch_size) it would train 128 epochs in batches of 5, silently.
    x, y = blobs(4)
    model = compiled()
    with pytest.raises(TypeError, match=r"fit\(\) takes 3 positional arguments but 5"):
        model.fit(x, y, 128, 5)
    assert model.steps_trained == 0


def test_two_optimisers_are_refused_as_an_unknown_loss_not_as_keras_order():
    # Keras's order is an optimiser where the loss goes *and* no optimiser where the
    # optimiser goes; here neither is a loss, and a hint to swap them would mislead.
    with pytest.raises(ValueError, match=r"^loss must be a Loss or one of \[.*\], got 'adam'$"):
        mlp(0).compile("adam", "sgd")


# ------------------------------------------------------------------------- Keras's names
@pytest.mark.parametrize("optimizer, optimizer_type",
                         [("sgd", SGD), ("rmsprop", RMSprop), ("adam", Adam)])
@pytest.mark.parametrize("loss", ["mse", "categorical_crossentropy",
                                  "sparse_categorical_crossentropy"])
def test_keras_names_in_compile(optimizer, optimizer_type, loss):
    x, y = blobs(8)
    targets = y if loss.startswith("sparse") else one_hot(y, 2, np.float32)
    model = mlp(0)
    model.compile(loss, optimizer)
    assert isinstance(model.optimizer, optimizer_type)
    assert isinstance(model.loss, MSE if loss == "mse" else CrossEntropy)
    history = model.fit(x, targets, epochs=4, batch_size=8, verbose=0)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]


def test_loss_names_in_any_case_as_optimiser_names():
    # compile(loss="MSE", optimizer="SGD"): loss names read in lower case only would refuse
    # it for its loss only.
    model = mlp(0)
    model.compile(loss="MSE", optimizer="SGD")
    assert isinstance(model.loss, MSE) and isinstance(model.optimizer, SGD)
    model.compile(loss="Sparse_Categorical_Crossentropy", optimizer="Adam")
    assert isinstance(model.loss, CrossEntropy) and isinstance(model.optimizer, Adam)


@pytest.mark.parametrize("kwargs", [
    {"loss": "hinge", "optimizer": "sgd"},
    {"loss": "mse", "optimizer": "adagrad"},
    {"loss": "mse", "optimizer": "sgd", "metrics": ["f1"]},
])
def test_unknown_names_in_compile_are_refused(kwargs):
    with pytest.raises(ValueError, match="must be"):
        mlp(0).compile(**kwargs)


def test_a_frozen_layer_keeps_its_parameters_while_the_others_train():
    # Were layer.trainable = False an attribute nothing reads, fit would move the "frozen"
    # weights.
    x, y = blobs(0)
    model = mlp(0)
    model.compile(CrossEntropy(), Adam(0.01))
    model.layers[0].trainable = False
    before = model.get_weights()
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    after = model.get_weights()
    for i in (0, 1):  # the first Dense's W and b
        np.testing.assert_array_equal(after[i], before[i])
    for i in (2, 3):  # the second's trained
        assert not np.array_equal(after[i], before[i])
    assert model.trainable and [p for p, _ in model.trainable_parameters()] == [
        p for p, _ in model.parameters()][2:]
    # The whole model, as in Keras: nothing moves, and summary counts what is frozen.
    model.trainable = False
    assert not model.trainable and not any(layer.trainable for layer in model.layers)
    frozen = model.get_weights()
    with pytest.warns(UserWarning, match=r"^fit: every layer with parameters is frozen "
                                         r"\(trainable=False\), so training changes no weight$"):
        model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    for w, w0 in zip(model.get_weights(), frozen, strict=True):
        np.testing.assert_array_equal(w, w0)
    lines = []
    model.summary(print_fn=lines.append)
    assert lines[0].endswith("Total params: 42\nTrainable params: 0\nNon-trainable params: 42")
    model.layers[2].trainable = True
    lines.clear()
    model.summary(print_fn=lines.append)
    assert lines[0].endswith("Trainable params: 18\nNon-trainable params: 24")
    # Its layers with parameters frozen, a model whose ReLU is trainable trains nothing: one
    # that counted the ReLU would say it is trainable while fit warns that every layer is
    # frozen.
    model.layers[2].trainable = False
    model.layers[1].trainable = True  # the ReLU
    assert not model.trainable


def test_the_backward_pass_stops_at_the_first_trainable_layer():
    # A frozen base needs no gradient: neither its parameters' nor its input's. Training
    # that still ran its backward would pay for a dW that no step uses.
    x, y = blobs(0)
    model = Sequential([Dense(2, 8), ReLU(), Dense(8, 8), ReLU(), Dense(8, 2), Softmax()],
                       seed=0)
    model.compile(CrossEntropy(), Adam(0.01))
    for layer in model.layers[:2]:
        layer.trainable = False

    def not_called(dy):
        raise AssertionError("backward ran through the frozen base")

    def dx_not_computed(dy):
        raise AssertionError("the first trainable layer computed its unused dx")

    for layer in model.layers[:2]:
        layer.backward = layer.backward_params = not_called
    # Of the first layer that learns, only its parameters' gradients: its dx, a third of
    # its backward's work, would go to the frozen base, which uses none.
    model.layers[2].backward = dx_not_computed
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    del model.layers[2].backward
    # Between two trainable layers a frozen one still passes the gradient on.
    for layer in model.layers[:2]:
        del layer.backward, layer.backward_params  # the classes' own again
    model.layers[0].trainable = True
    model.layers[2].trainable = False
    before = model.get_weights()
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    after = model.get_weights()
    assert not np.array_equal(after[0], before[0])
    np.testing.assert_array_equal(after[2], before[2])


@pytest.mark.parametrize("value", ["False", 0, None])
def test_trainable_must_be_true_or_false(value):
    # The string "False" is truthy: it would have left the layer training.
    with pytest.raises(TypeError, match=rf"^Dense: trainable must be True or False, got "
                                        rf"{re.escape(repr(value))}$"):
        Dense(2, 3).trainable = value
    model = mlp(0)
    with pytest.raises(TypeError, match=r"^Sequential: trainable must be True or False"):
        model.trainable = value
    assert all(layer.trainable for layer in model.layers)


def test_an_optimiser_that_trained_another_model_is_refused(tmp_path):
    # Shared, it would start the second model's Adam at the first model's step 201, and the
    # second model's file would record steps it never took.
    x, y = blobs(0)
    opt = Adam(0.01)
    first = mlp(0)
    first.compile(CrossEntropy(), opt)
    first.fit(x, y, epochs=2, batch_size=16, verbose=0)
    second = mlp(1)
    with pytest.raises(ValueError, match=r"^optimizer: Adam\(.*\) has stepped parameters "
                                         r"that are not this model's \(8 steps\): it trained "
                                         r"another model, .* Give the model an optimiser of "
                                         r"its own: Adam\(\.\.\.\)$"):
        second.compile(CrossEntropy(), opt)
    assert second.optimizer is None
    first.compile(CrossEntropy(), opt)  # its own model's: kept, as before
    second.compile(CrossEntropy(), Adam(0.01))
    # Compiled into both before either trained: refused when the second begins to.
    shared = Adam(0.01)
    a, b = mlp(0), mlp(1)
    a.compile(CrossEntropy(), shared)
    b.compile(CrossEntropy(), shared)
    a.fit(x, y, epochs=1, batch_size=16, verbose=0)
    before = b.get_weights()
    with pytest.raises(ValueError, match=r"^fit: the model's optimizer: Adam\(.*\) has "
                                         r"stepped parameters that are not this model's "
                                         r"\(4 steps\)"):
        b.fit(x, y, epochs=1, batch_size=16, verbose=0)
    # train_step, fit's one step, which a loop of one's own calls: only fit checked.
    with pytest.raises(ValueError, match=r"^train_step: the model's optimizer: Adam\(.*\) "
                                         r"has stepped parameters that are not this model's"):
        b.train_step(x[:16], y[:16])
    assert all(np.array_equal(u, v) for u, v in zip(before, b.get_weights(), strict=True))
    # Saving an untrained model reads its optimiser's state without making one up: the
    # optimiser has trained nothing, and may still go to another model.
    fresh = Adam(0.01)
    a.compile(CrossEntropy(), fresh)
    a.save(tmp_path / "a.npz")
    b.compile(CrossEntropy(), fresh)


def test_compiling_again_starts_a_new_optimiser_afresh_and_keeps_the_same_one():
    x, y = blobs(2, n=32)
    model = compiled()
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    own = model.optimizer
    model.compile(CrossEntropy(), own)
    assert model.optimizer is own and own.iterations == 4
    model.compile(CrossEntropy(), SGD(0.1, momentum=0.9))
    assert model.optimizer.iterations == 0
    velocities = model.optimizer.get_state([p for p, _ in model.parameters()])
    assert all(not v["velocity"].any() for v in velocities)


def test_layers_must_be_layers():
    with pytest.raises(ValueError, match=r"layers\[1\]"):
        Sequential([Dense(2, 2), "relu"])


def test_a_layer_used_twice_is_refused():
    # A layer keeps the input of its last forward for backward: used twice in one model
    # (one ReLU() object for every activation, say), the first use's backward would read
    # the second use's input and compute wrong gradients without any error.
    relu = ReLU()
    with pytest.raises(ValueError, match=r"layers\[3\] is layers\[1\].*ReLU\(\) for each"):
        Sequential([Dense(4, 8), relu, Dense(8, 8), relu, Dense(8, 3)])


def test_a_layer_put_in_twice_by_hand_is_refused_before_any_gradient():
    # model.layers is a plain list: an append goes round the constructor's and add's check,
    # and the layer's first use would compute its gradients from the second use's input.
    x, y = blobs(0)
    model = Sequential([Dense(2, 4), ReLU(), Dense(4, 4)], seed=0)
    model.layers += [model.layers[1], Dense(4, 2)]
    model.compile(CrossEntropy(from_logits=True), SGD(0.1))
    weights = model.get_weights()
    message = r"^layers\[3\] is layers\[1\], the same ReLU\(\) object: .*ReLU\(\) for each\)$"
    with pytest.raises(ValueError, match=message):
        model.fit(x, y, epochs=1, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), weights, strict=True))
    with pytest.raises(ValueError, match=message):
        model.backward(np.ones_like(model.forward(x[:3])))
    assert model.predict(x[:3]).shape == (3, 2)  # forward alone computes what it should


def test_a_layer_of_another_model_is_refused_instead_of_erasing_its_weights():
    # Sequential(model.layers + [Softmax()]), as Keras's Sequential([model, Softmax()]) or
    # PyTorch's nn.Sequential(*model, nn.Softmax(1)): a new model that drew the layers'
    # weights afresh from its seed would erase what the trained model had learnt, without a
    # word.
    x, y = blobs(0)
    trained = Sequential([Dense(2, 8), ReLU(), Dense(8, 2)], seed=0)
    trained.compile(CrossEntropy(from_logits=True), SGD(0.1))
    trained.fit(x, y, epochs=2, verbose=0)
    weights = trained.get_weights()
    with pytest.raises(ValueError, match=r"layers\[0\], Dense\(in_features=2, .*\), "
                                         r"already belongs to a model: .*erase what that "
                                         r"model learnt"):
        Sequential([*trained.layers, Softmax()], seed=1)
    for w, w0 in zip(trained.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(w, w0)
    # Layers without parameters have nothing to erase: a ReLU may serve in two models.
    relu = trained.layers[1]
    Sequential([Dense(2, 8), relu, Dense(8, 2)], seed=0)
    # A model refused (here for its seed) takes no layer: they are still free to use.
    layers = [Dense(2, 2)]
    with pytest.raises(ValueError, match="seed must be an int >= 0"):
        Sequential(layers, seed=-1)
    Sequential(layers, seed=0)


@pytest.mark.parametrize("layers", [Dense(2, 3), 5, "abc"], ids=["a layer", "int", "str"])
def test_sequential_refuses_layers_that_are_no_list_of_layers(layers):
    # A layer alone by keyword (layers=Dense(2, 3)) or a number: "'Dense' object is not
    # iterable"; a string, taken letter by letter: "layers[0] must be a tinynet Layer".
    with pytest.raises(TypeError, match=r"^layers must be a list of layers, as in "
                                        r"Sequential\(\[Dense\(784, 10\), Softmax\(\)\]\), "
                                        rf"got {re.escape(repr(layers))}$"):
        Sequential(layers=layers)


def test_sequential_of_none_is_a_model_without_layers_yet_as_in_keras():
    model = Sequential(None, seed=0)
    model.add(Dense(2, 3))
    assert len(model.layers) == 1


def test_add_builds_the_model_that_a_list_of_the_same_layers_builds():
    # Keras's way: model = Sequential(); model.add(...). The weights come from the seed in
    # layer order, whichever way the model was built.
    listed = Sequential([Dense(2, 8), ReLU(), Dense(8, 3), Softmax()], seed=5)
    added = Sequential(seed=5)
    for layer in (Dense(2, 8), ReLU()):
        added.add(layer)
    added.add(Dense(8, 3))
    added.add(Softmax())
    assert [type(layer) for layer in added.layers] == [type(layer) for layer in listed.layers]
    for w, w_listed in zip(added.get_weights(), listed.get_weights(), strict=True):
        np.testing.assert_array_equal(w, w_listed)
    x, y = blobs(1)
    for model in (listed, added):
        model.compile(CrossEntropy(), SGD(0.1))
    np.testing.assert_array_equal(added.fit(x, y, epochs=2, verbose=0).history["loss"],
                                  listed.fit(x, y, epochs=2, verbose=0).history["loss"])


def test_dropout_masks_drawn_before_an_add_leave_the_added_layers_weights_as_the_seed_gives():
    # Drawn from the stream the weights come from, the masks of a model(x, training=True)
    # before add() would change the weights of the layer added.
    x = np.ones((4, 2), np.float32)
    models = [Sequential([Dense(2, 4), Dropout(0.5)], seed=0) for _ in range(2)]
    masks = [models[0](x, training=True), models[0](x, training=True)]
    assert not np.array_equal(*masks)  # two draws
    for model in models:
        model.add(Dense(4, 3))
    for w, w0 in zip(models[0].get_weights(), models[1].get_weights(), strict=True):
        np.testing.assert_array_equal(w, w0)
    # The masks outside fit follow the seed too.
    again = Sequential([Dense(2, 4), Dropout(0.5)], seed=0)
    np.testing.assert_array_equal(again(x, training=True), masks[0])


def test_add_refuses_what_sequential_refuses_and_leaves_the_model_as_it_was():
    model = Sequential([Dense(2, 4), ReLU()], seed=0)
    other = Sequential([Dense(4, 2)], seed=0)
    for layer, match in [("relu", r"add: layer must be a tinynet Layer, got 'relu'"),
                         (model.layers[1], r"add: layer is layers\[1\], the same ReLU\(\)"),
                         # add draws the layer's weights too: no "new Sequential" here.
                         (other.layers[0], r"add: layer, Dense\(.*\), already belongs to a "
                                           r"model: a model draws the weights of the layers "
                                           r"it takes afresh from its seed"),
                         (other, r"add: layer is a Sequential, not a layer")]:
        with pytest.raises(ValueError, match=match):
            model.add(layer)
        assert len(model.layers) == 2


class DrawsThenFails(Layer):
    """A layer of one's own whose init_params draws its first parameter, then raises
    ``error`` (Ctrl-C, a KeyboardInterrupt, while a large layer draws)."""

    def __init__(self, error=ValueError):
        super().__init__()
        self.params = {"w": np.zeros(2, np.float32), "b": np.zeros(2, np.float32)}
        self.error = error

    def init_params(self, rng):
        self.params["w"] = rng.standard_normal(2).astype(np.float32)
        raise self.error("init_params: no initialiser for b")

    def forward(self, x, training=False):
        return x


@pytest.mark.parametrize("error", [ValueError, KeyboardInterrupt])
def test_an_init_params_that_fails_leaves_the_layers_free_and_the_models_draws_as_they_were(
        error):
    # Left marked as the model's, the layers before the failing one would be refused, in a
    # model rebuilt with a fixed layer, as layers of another model. And an add that had drawn
    # from the model's Generator would make the next add draw other weights than
    # Sequential([...]) does.
    dense = Dense(2, 3)
    with pytest.raises(error, match="no initialiser for b"):
        Sequential([dense, ReLU(), DrawsThenFails(error)], seed=0)
    Sequential([dense, ReLU()], seed=0)  # still free
    model = Sequential([Dense(2, 3)], seed=4)
    with pytest.raises(error, match="no initialiser for b"):
        model.add(DrawsThenFails(error))
    assert len(model.layers) == 1
    model.add(Dense(3, 2))
    listed = Sequential([Dense(2, 3), Dense(3, 2)], seed=4)
    for w, w_listed in zip(model.get_weights(), listed.get_weights(), strict=True):
        np.testing.assert_array_equal(w, w_listed)


def test_fit_refuses_a_model_without_layers_before_reporting_a_divergence():
    # The outputs of no layers are the inputs: pixels in [0, 1] read as probabilities, some
    # 0, would give an infinite loss, and fit would say that training had diverged.
    model = Sequential([], seed=0)
    model.compile(CrossEntropy(), SGD(0.1))
    x = np.zeros((4, 3), np.float32)
    x[:, 0] = 1
    with pytest.raises(RuntimeError, match=r"^fit: the model has no layers; give them to "
                                           r"Sequential\(\[...\]\) or add them with "
                                           r"model.add\(layer\)$"):
        model.fit(x, np.array([0, 1, 2, 0]), verbose=0)


def test_a_model_in_a_model_is_refused_with_the_tinynet_way_to_add_a_softmax():
    # Keras's Sequential([model, Softmax()]) turns a model of logits into one of probabilities.
    logits = Sequential([Dense(2, 3)], seed=0)
    with pytest.raises(ValueError, match=r"layers\[0\] is a Sequential, not a layer: tinynet's "
                                         r"models do not nest. .*tinynet.layers.softmax"):
        Sequential([logits, Softmax()])


def test_dropout_outside_fit_draws_its_masks_from_the_models_seed():
    # model(x, training=True) drops the same units for the same seed, whether the model was
    # given its layers or add()ed them: the model hands each layer it takes its Generator.
    x = np.ones((6, 10), np.float32)
    listed = [Sequential([Dense(10, 10), Dropout(0.5)], seed=3) for _ in range(2)]
    added = Sequential(seed=3)
    added.add(Dense(10, 10))
    added.add(Dropout(0.5))
    first, again, by_add = (model(x, training=True) for model in (*listed, added))
    assert (first == 0).any() and (first != 0).any()
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first, by_add)


def test_a_model_is_called_as_keras_and_pytorch_models_are():
    x, y = blobs(2, n=8)
    model = mlp(0, dropout=0.5)
    np.testing.assert_array_equal(model(x), model.forward(x))
    np.testing.assert_array_equal(model(x), model.predict(x))
    # training=True runs the dropout, as forward's does.
    assert not np.array_equal(model(x, training=True), model(x))
    with pytest.raises(TypeError, match="training must be True or False"):
        model(x, training="yes")


@pytest.mark.parametrize("make, message", [
    # PyTorch's nn.Sequential takes its layers one by one: Python alone would refuse three as
    # too many arguments, and take two as the list and the seed ("'Dense' object is not
    # iterable").
    (lambda: Sequential(Dense(784, 10), Softmax()),
     r"^Sequential: Sequential\(Dense\(\.\.\.\), Softmax\(\)\) is PyTorch's way to give "
     r"layers, one by one; tinynet's takes one list of them: "
     r"Sequential\(\[Dense\(\.\.\.\), Softmax\(\)\]\)$"),
    (lambda: Sequential(Flatten(), Dense(784, 10), ReLU(), seed=0),
     r"^Sequential: Sequential\(Flatten\(\), Dense\(\.\.\.\), ReLU\(\)\) is PyTorch's .*: "
     r"Sequential\(\[Flatten\(\), Dense\(\.\.\.\), ReLU\(\)\], seed=0\)$"),
    (lambda: Sequential(Dense(784, 10)), r"^Sequential: Sequential\(Dense\(\.\.\.\)\) is "),
    # A seed given by position goes after the list, where Sequential takes it: in the list
    # it would be refused as a layer.
    (lambda: Sequential(Dense(784, 10), Softmax(), 0),
     r"^Sequential: Sequential\(Dense\(\.\.\.\), Softmax\(\), 0\) is PyTorch's .*: "
     r"Sequential\(\[Dense\(\.\.\.\), Softmax\(\)\], 0\)$"),
], ids=["two", "three-and-seed", "one", "two-and-seed-by-position"])
def test_layers_given_one_by_one_as_pytorch_does_are_refused_with_the_list(make, message):
    with pytest.raises(TypeError, match=message):
        make()


def test_a_model_class_of_ones_own_may_take_a_layer_first():
    class WithHead(Sequential):
        def __init__(self, head, seed=0):
            super().__init__([Dense(4, 3), head], seed=seed)

    assert isinstance(WithHead(ReLU()).layers[1], ReLU)


@pytest.mark.parametrize("method, message", [
    ("train", r"^Sequential: train is a PyTorch method; a tinynet model is told at each call "
              r"whether it trains .*: model\(x, training=True\) to train, model\(x\) to "
              r"evaluate; fit, evaluate and predict do so$"),
    ("eval", r"^Sequential: eval is a PyTorch method; .*model\(x\) to evaluate"),
    ("zero_grad", r"^Sequential: zero_grad is a PyTorch method; tinynet's backward overwrites "
                  r"every gradient, .*then optimizer\.step\(model\.parameters\(\)\)$"),
    ("state_dict", r"^Sequential: state_dict is a PyTorch method; model\.save\('model\.npz'\) "
                   r"saves the weights .*model\.get_weights\(\)"),
    ("load_state_dict", r"^Sequential: load_state_dict is a PyTorch method; "
                        r"tinynet\.load_model\('model\.npz'\) .*model\.set_weights"),
    ("to", r"^Sequential: to is a PyTorch method; tinynet runs in NumPy, on the CPU: there is "
           r"nothing to move, leave it out$"),
    ("cuda", r"^Sequential: cuda is a PyTorch method; tinynet runs in NumPy"),
], ids=["train", "eval", "zero_grad", "state_dict", "load_state_dict", "to", "cuda"])
def test_pytorch_model_methods_are_refused_with_the_tinynet_way(method, message):
    model = Sequential([Dense(4, 2)], seed=0)
    with pytest.raises(AttributeError, match=message):
        getattr(model, method)
    # any other missing name gets Python's own error
    with pytest.raises(AttributeError, match=r"^'Sequential' object has no attribute 'fc1'$"):
        model.fc1  # noqa: B018


@pytest.mark.parametrize("method, way", [
    ("train_on_batch", r"model\.train_step\(x, y\) trains on one batch and returns its loss "
                       r"and the model's outputs$"),
    ("test_on_batch", r"model\.evaluate\(x, y, batch_size=len\(x\)\)$"),
    ("predict_on_batch", r"model\.predict\(x, batch_size=len\(x\)\)$"),
    ("get_layer", r"model\.layers\[i\] is the layer at index i$"),
    ("pop", r"model\.layers\.pop\(\) takes out the last layer; compile again, for an "
            r"optimiser of the layers left$"),
    ("save_weights", r"model\.save\('model\.npz'\) saves the weights .*get_weights\(\)"),
    ("load_weights", r"tinynet\.load_model\('model\.npz'\) .*model\.set_weights"),
])
def test_keras_model_methods_are_refused_with_the_tinynet_way(method, way):
    model = Sequential([Dense(4, 2), Softmax()], seed=0)
    with pytest.raises(AttributeError, match=rf"^Sequential: {method} is a Keras method; {way}"):
        getattr(model, method)


def test_the_tinynet_ways_of_keras_model_methods_do_what_they_did(tmp_path):
    model = Sequential([Dense(4, 2), Softmax()], seed=0)
    model.compile(CrossEntropy(), SGD(0.1))
    x, y = np.ones((3, 4), dtype=np.float32), np.array([0, 1, 1])
    loss, out = model.train_step(x, y)
    assert isinstance(loss, float) and out.shape == (3, 2)
    assert model.evaluate(x, y, batch_size=len(x))[0] == pytest.approx(
        CrossEntropy().forward(model.predict(x), y))
    assert model.predict(x, batch_size=len(x)).shape == (3, 2)
    other = Sequential([Dense(4, 2), Softmax()], seed=1)  # weights of its own
    assert not np.array_equal(other.predict(x), model.predict(x))
    other.set_weights(tinynet.load_model(model.save(tmp_path / "model.npz")).get_weights())
    np.testing.assert_array_equal(other.predict(x), model.predict(x))


def test_a_model_class_of_ones_own_may_have_a_method_of_a_pytorch_name():
    class Trainable(Sequential):
        def train(self):
            return "mine"

    assert Trainable([Dense(4, 2)], seed=0).train() == "mine"


def test_batch_size_none_is_the_default_as_in_keras():
    # Keras takes batch_size=None for its default, 32, in fit, predict and evaluate alike.
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((2100, 2)).astype(np.float32), rng.integers(0, 2, 2100)
    recorder = RowRecorder(inference=True)
    model = Sequential([recorder, Dense(2, 2), Softmax()], seed=0)
    model.compile(CrossEntropy(), SGD(0.1))
    model.fit(x[:70], y[:70], batch_size=None, verbose=0)
    assert [len(b) for b in recorder.batches[-3:]] == [32, 32, 6]
    assert tinynet.model.FIT_BATCH_SIZE == 32
    recorder.batches.clear()
    model.predict(x, batch_size=None)
    assert [len(b) for b in recorder.batches[-3:]] == [32, 32, 20]
    assert len(recorder.batches) == 66
    recorder.batches.clear()
    model.evaluate(x, y, batch_size=None)
    assert [len(b) for b in recorder.batches[-3:]] == [32, 32, 20]
    assert tinynet.model.EVAL_BATCH_SIZE == 32
    with pytest.raises(ValueError, match="batch_size must be an int >= 1, got 0"):
        model.predict(x, batch_size=0)


def test_logged_losses_are_per_sample_for_a_summed_loss_too():
    # With a tiny learning rate the weights barely move in an epoch, so the training loss
    # (a running mean per sample) and val_loss on the same data must agree.
    x, y = blobs(0, n=64)
    model = mlp(0)
    model.compile(CrossEntropy(reduction="sum"), SGD(1e-9))
    history = model.fit(x, y, epochs=1, batch_size=16, validation_data=(x, y), verbose=0)
    loss, val_loss = history.history["loss"][0], history.history["val_loss"][0]
    assert loss == pytest.approx(val_loss, rel=1e-5)
    total, accuracy = model.evaluate(x, y)  # evaluate keeps the loss's own reduction: the sum
    assert total == pytest.approx(64 * val_loss, rel=1e-5)
    # Only the loss is summed: the metrics stay means (a sum would be 759.0 for 0.759).
    assert 0 <= accuracy <= 1 and accuracy == history.history["val_accuracy"][0]
    assert model.evaluate(x, y, return_dict=True)["accuracy"] == accuracy
    assert accuracy == pytest.approx(np.mean(model.predict(x).argmax(1) == y))
    # Per validation sample, whatever the number of training samples.
    history = model.fit(x, y, epochs=1, batch_size=16, validation_data=(x[:16], y[:16]),
                        verbose=0)
    total, _ = model.evaluate(x[:16], y[:16])
    assert history.history["val_loss"][0] == pytest.approx(total / 16, rel=1e-6)


def fraction_of_ones(y_pred, y_true):
    """A metric of the labels alone: its value over any set of samples is known in advance."""
    return float(np.mean(y_true == 1))


def test_logged_metrics_are_means_per_sample_when_batches_differ_in_size():
    # 5 samples in batches of 4 and 1: the epoch's value is the mean over the 5 samples, 1/5,
    # as Keras logs it. A mean of the two batches' values would give 1/8 or 1/2 (the lone
    # sample weighing as much as the other four), the last batch's value alone 0 or 1.
    x, _ = blobs(0, n=5)
    y = np.array([0, 0, 0, 0, 1])
    model = mlp(0)
    model.compile(CrossEntropy(), SGD(0.1), metrics=[fraction_of_ones])
    keep = KeepBatchLogs()
    history = model.fit(x, y, epochs=3, batch_size=4, verbose=0, callbacks=[keep])
    assert history.history["fraction_of_ones"] == pytest.approx([1 / 5] * 3)
    # A batch's logs hold the running mean per sample too: after the last (lone) batch, the
    # epoch's 1/5, not the mean of the two batches' values.
    last_batches = [logs["fraction_of_ones"] for logs in keep.copies[1::2]]
    assert last_batches == pytest.approx([1 / 5] * 3)
    assert model.evaluate(x, y, batch_size=4)[1] == pytest.approx(1 / 5)


def test_a_fit_after_a_stopped_one_runs_all_its_epochs():
    class StopNow(tinynet.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = True

    x, y = blobs(0, n=16)
    model = compiled()
    assert model.fit(x, y, epochs=5, verbose=0, callbacks=[StopNow()]).epoch == [0]
    assert model.fit(x, y, epochs=3, verbose=0).epoch == [0, 1, 2]


def test_metrics_see_probabilities_when_training_fuses_softmax():
    def mean_top(y_pred, y_true):
        return float(y_pred.max(axis=1).mean())  # the mean confidence: needs probabilities

    x, y = blobs(0, n=64)
    model = mlp(0)
    model.compile(CrossEntropy(), SGD(1e-9), metrics=[mean_top])
    history = model.fit(x, y, epochs=1, batch_size=64, shuffle=False, verbose=0)
    expected = mean_top(model.predict(x), y)
    assert history.history["mean_top"][0] == pytest.approx(expected, rel=1e-4)
    assert model.evaluate(x, y)[1] == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("shape", [28, "784", (28, 0), (2.5,), (True,)])
def test_summary_refuses_an_input_shape_that_is_not_a_shape(shape):
    with pytest.raises(ValueError, match=r"summary: input_shape must be one sample's shape"):
        Sequential([Dense(784, 3)], seed=0).summary(input_shape=shape)


@pytest.mark.parametrize("print_fn", ["print", 3])
def test_summary_refuses_a_print_fn_that_is_not_a_function(print_fn, capsys):
    with pytest.raises(TypeError, match=rf"^summary: print_fn must be a function that takes "
                                        rf"the summary's text \(print, by default\), got "
                                        rf"{print_fn!r}$"):
        Sequential([Dense(784, 3)], seed=0).summary(print_fn=print_fn)
    assert capsys.readouterr().out == ""
    # None is Keras's default, print.
    Sequential([Dense(784, 3)], seed=0).summary(print_fn=None)
    assert "Dense" in capsys.readouterr().out


@pytest.mark.parametrize("training", ["no", 1, None])
def test_forward_wants_a_bool_for_training(training):
    # A model with no Dropout would have taken "no" for True without a word.
    model = Sequential([Dense(3, 2, rng=np.random.default_rng(0))])
    with pytest.raises(TypeError, match=rf"^Sequential.forward: training must be True or "
                                        rf"False, got {training!r}$"):
        model.forward(np.ones((1, 3)), training=training)


def test_fit_refuses_regression_targets_for_accuracy_before_any_step():
    # y has 0/1 targets first, so the metric tried on two samples passes; fit must still
    # stop before training, not in its second batch with the weights changed.
    model = Sequential([Dense(2, 1, rng=np.random.default_rng(0))])
    model.compile("mse", SGD(lr=0.1))  # the default metrics: accuracy
    x, y = np.ones((8, 2)), np.array([[0.0], [1.0], [2.5], [0.3], [1.0], [0.0], [4.0], [1.0]])
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"^accuracy: y labels must be 0 or 1 for a single "
                                         r"output column .*got 2.5 at index 2; accuracy, "
                                         r"compile's default metric, counts classes: for "
                                         r"regression targets, compile with metrics=None"):
        model.fit(x, y, batch_size=2, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))
    with pytest.raises(ValueError, match=r"^accuracy: validation_data\[1\] labels"):
        model.fit(x[:2], y[:2], validation_data=(x, y), verbose=0)
    model.compile("mse", SGD(lr=0.1), metrics=None)
    assert len(model.fit(x, y, batch_size=2, verbose=0).history["loss"]) == 1


def test_fit_refuses_accuracy_of_outputs_that_are_not_rows_naming_the_metric():
    # The targets are checked as classes only for (N, K) outputs: of (N, H, W, C) outputs
    # their "K" would be H, and the check would fail on a reshape, naming neither y nor
    # accuracy.
    model = Sequential([Conv2D(1, 2, 1)], seed=0)  # (N, 3, 3, 1) -> (N, 3, 3, 2)
    model.compile("mse", SGD(0.1))  # the default metrics: accuracy
    x, y = np.zeros((4, 3, 3, 1), np.float32), np.zeros((4, 3, 3, 2), np.float32)
    with pytest.raises(ValueError, match=r"^accuracy: expected y_pred of shape \(N, K\)"):
        model.fit(x, y, verbose=0)
    assert model.steps_trained == 0


def test_a_metric_is_logged_under_the_name_it_was_given():
    # Keras 2 code compiles with metrics=["acc"] and plots history.history["val_acc"].
    model = mlp(0)
    model.compile(CrossEntropy(), SGD(0.1), metrics=["acc"])
    x, y = np.random.default_rng(0).normal(size=(8, 2)), np.arange(8) % 2
    history = model.fit(x, y, validation_data=(x, y), verbose=0)
    assert sorted(history.history) == ["acc", "loss", "val_acc", "val_loss"]


@pytest.mark.parametrize("targets", ["labels", "one-hot"])
def test_fit_checks_the_targets_for_accuracy_once_not_in_every_batch(monkeypatch, targets):
    # fit checks all of y before training; checked again in every batch, one-hot rows would
    # cost a fifth of a softmax regression's training step (R1's). The count may not grow with
    # the number of batches.
    from tinynet import metrics

    calls = []
    check = metrics.check_classes
    monkeypatch.setattr(metrics, "check_classes",
                        lambda *args, **kwargs: calls.append(1) or check(*args, **kwargs))
    x, y = blobs(0, n=16)
    if targets == "one-hot":
        y = np.eye(2, dtype=np.float32)[y]
    counts = []
    for batch_size in (16, 1):
        calls.clear()
        history = compiled().fit(x, y, epochs=2, batch_size=batch_size, verbose=0)
        assert np.isfinite(history.history["accuracy"]).all()
        counts.append(len(calls))
    assert counts[0] == counts[1], counts


def test_targets_that_are_no_numbers_are_refused_by_name_for_accuracy():
    # fit checks y for accuracy before the loss sees it: unchecked, strings would fail there
    # with NumPy's "ufunc 'less' did not contain a loop", which names neither y nor what it
    # should hold.
    model = Sequential([Dense(2, 1)], seed=0)
    model.compile("mse", SGD(0.1))  # the default metrics: accuracy
    x, y = np.zeros((4, 2)), np.array([["a"], ["b"], ["a"], ["b"]])
    for call in (lambda: model.fit(x, y, verbose=0), lambda: model.evaluate(x, y)):
        with pytest.raises(ValueError, match=r"^accuracy: y must hold real numbers \(bool, "
                                             r"int, uint or float\), got dtype <U1$"):
            call()


def test_evaluate_returns_a_dict_by_name_when_asked_as_keras_does():
    model = compiled()
    model.compile(CrossEntropy(), SGD(0.1), metrics=["acc"])
    x, y = np.random.default_rng(0).normal(size=(10, 2)), np.arange(10) % 2
    loss, acc = model.evaluate(x, y)
    assert model.evaluate(x, y, return_dict=True) == {"loss": loss, "acc": acc}
    model.compile(CrossEntropy(), SGD(0.1), metrics=None)
    assert model.evaluate(x, y, return_dict=True) == {"loss": loss}
    with pytest.raises(TypeError, match=r"^evaluate: return_dict must be True or False, "
                                        r"got 'yes'$"):
        model.evaluate(x, y, return_dict="yes")


def test_count_params_is_the_total_that_summary_prints():
    model = Sequential([Dense(784, 512), ReLU(), Dense(512, 10), Softmax()], seed=0)
    assert model.count_params() == 784 * 512 + 512 + 512 * 10 + 10 == 407_050
    lines = []
    model.summary(input_shape=(784,), print_fn=lines.append)
    assert "Total params: 407,050" in "\n".join(lines)


def test_the_logged_loss_weighs_each_batch_by_its_size():
    # 5 samples in batches of 4 and 1, and an optimiser that takes no step: the epoch's loss
    # is the mean over the 5 samples, that of the model's outputs, as Keras logs it. Weighing
    # the lone sample as a batch of 4 would give (4 l_a + 4 l_b) / 5; the mean of the two
    # batches' losses, (l_a + l_b) / 2.
    x, y = blobs(0, n=5)
    model = mlp(0)
    model.compile(CrossEntropy(), GradientRecorder(), metrics=None)
    history = model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    p = model.predict(x).astype(np.float64)
    expected = -np.log(p[np.arange(5), y]).mean()
    assert history.history["loss"] == pytest.approx([expected] * 2, rel=1e-5)


def test_set_weights_refuses_a_wrong_count_or_shape_by_name():
    # A bias row (8,) in place of W (2, 8) would broadcast into it, silently, and a list one
    # short would fail inside zip with a message that names neither set_weights nor counts.
    model = mlp(0)
    weights = model.get_weights()
    assert [w.shape for w in weights] == [(2, 8), (8,), (8, 2), (2,)]
    with pytest.raises(ValueError, match=r"^set_weights: weights must hold 4 arrays, one per "
                                         r"parameter, got 3$"):
        model.set_weights(weights[:3])
    with pytest.raises(ValueError, match=r"^set_weights: weights\[0\] must have shape \(2, 8\), "
                                         r"got \(8,\)$"):
        model.set_weights([weights[1], *weights[1:]])
    model.set_weights([np.full_like(w, i) for i, w in enumerate(weights)])
    assert [float(w.mean()) for w in model.get_weights()] == [0.0, 1.0, 2.0, 3.0]


def test_set_weights_takes_any_iterable_of_arrays_but_not_a_dict():
    # A set_weights that took len() would fail on a generator with "object of type
    # 'generator' has no len()"; one that iterated would read a dict of arrays as its keys,
    # "weights[0] must hold real numbers ... got dtype <U1".
    model = mlp(0)
    weights = [w + 1 for w in model.get_weights()]
    model.set_weights(w for w in weights)
    for w, expected in zip(model.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(w, expected)
    with pytest.raises(TypeError, match=r"^set_weights: weights must be a list of arrays, one "
                                        r"per parameter in the order of get_weights\(\), got "
                                        r"a value of type dict$"):
        model.set_weights(dict(zip("abcd", weights, strict=True)))
    with pytest.raises(TypeError, match=r"got an array of shape \(2, 8\)$"):
        model.set_weights(weights[0])
    with pytest.raises(TypeError, match=r"got None$"):  # not Python's "not iterable"
        model.set_weights(None)
    # np.load of one pickled list gives a 0-d object array: not NumPy's "iteration over a
    # 0-d array".
    with pytest.raises(TypeError, match=r"got an array of shape \(\)$"):
        model.set_weights(np.array(None, dtype=object))
    # Keras users keep weights as np.save(path, np.array(get_weights(), dtype=object)).
    kept = np.empty(len(weights), dtype=object)
    kept[:] = [w * 2 for w in weights]
    model.set_weights(kept)
    assert float(model.get_weights()[1][0]) == 2 * float(weights[1][0])


def test_a_layers_get_and_set_weights_are_keras_ones_in_the_order_of_params():
    # Keras's layer.get_weights(): [W, b] as copies, and set_weights checked as the model's,
    # its errors naming the layer.
    model = mlp(0)
    dense, relu = model.layers[0], model.layers[1]
    W, b = dense.get_weights()
    assert W.shape == (2, 8) and b.shape == (8,) and relu.get_weights() == []
    W += 1  # a copy: the layer's own W is unchanged
    assert not np.array_equal(dense.params["W"], W)
    dense.set_weights([W.astype(np.float64), b])
    np.testing.assert_array_equal(dense.params["W"], W)
    assert dense.params["W"].dtype == np.float32  # converted, in place
    assert dense.params["W"] is model.parameters()[0][0]
    with pytest.raises(ValueError, match=r"^Dense.set_weights: weights\[0\] must have shape "
                                         r"\(2, 8\), got \(8, 2\)$"):
        dense.set_weights([W.T, b + 1])
    np.testing.assert_array_equal(dense.params["b"], b)  # nothing half-written
    relu.set_weights([])
    with pytest.raises(ValueError, match=r"^ReLU.set_weights: weights must hold 0 arrays, one "
                                         r"per parameter, got 1$"):
        relu.set_weights([W])


def test_model_weights_are_the_parameters_themselves_as_keras_variables_are():
    # Keras's model.weights and model.trainable_weights, which code ported from Keras reads;
    # they were a bare AttributeError. The arrays themselves, so they follow training.
    model = mlp(0)
    model.compile("sparse_categorical_crossentropy", "sgd")
    x, y = blobs(1, n=32)
    weights = model.weights
    assert [w.shape for w in weights] == [(2, 8), (8,), (8, 2), (2,)]
    assert all(w is p for w, (p, _) in zip(weights, model.parameters(), strict=True))
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    for w, copy in zip(weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(w, copy)  # still the model's: the steps moved them
    model.layers[0].trainable = False
    assert [w.shape for w in model.trainable_weights] == [(8, 2), (2,)]
    assert model.trainable_weights[0] is model.layers[2].params["W"]


class Unread(np.ndarray):
    """An array whose minimum and maximum may not be asked for: a scan of it fails."""

    def min(self, *args, **kwargs):
        raise AssertionError("scanned")

    max = min


@pytest.mark.parametrize("dtype, to", [(np.float32, np.float32), (np.uint8, np.float32),
                                       (np.float16, np.float32), (np.int8, np.float16)])
def test_the_range_check_does_not_read_what_converts_without_loss(dtype, to):
    # load_model's weights and uint8 pixels convert exactly: their scan, a pass over every
    # weight (and over every image of each fit and predict), is wasted, and a refactoring
    # could bring it back unseen.
    a = np.ones((50, 4), dtype=dtype).view(Unread)
    assert not tinynet.checks.too_large(a, np.dtype(to))
    with pytest.raises(AssertionError, match="scanned"):  # float64 to float32 is read
        tinynet.checks.too_large(a.astype(np.float64).view(Unread), np.dtype(np.float32))


def test_set_weights_refuses_numbers_too_large_for_the_parameters_dtype():
    # Unchecked, 1e300 would become inf in float32 with only NumPy's overflow warning; fit and
    # predict refuse the same numbers in x.
    model = mlp(0)
    before = model.get_weights()
    weights = [w.astype(np.float64) for w in before]
    weights[2][1, 1] = -1e300
    with pytest.raises(ValueError, match=r"^set_weights: weights\[2\] holds numbers too large "
                                         r"for the parameter's float32, expected \|w\| <= "
                                         r"3.403e\+38, got 1e\+300$"):
        model.set_weights(weights)
    for w, w0 in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(w, w0)
    # Infinities and NaN are no conversion's doing: a diverged model's weights load as saved.
    weights[2][1, 1] = -np.inf
    weights[2][0, 0] = np.nan
    model.set_weights(weights)
    assert model.get_weights()[2][1, 1] == -np.inf and np.isnan(model.get_weights()[2][0, 0])
    weights[2][1, 0] = 1e300  # beside them, still found
    # The largest finite number is the one reported, not the NaN or the infinity.
    with pytest.raises(ValueError, match=r"^set_weights: weights\[2\] holds numbers too large "
                                         r"for the parameter's float32, expected \|w\| <= "
                                         r"3.403e\+38, got 1e\+300$"):
        model.set_weights(weights)


def test_a_refused_set_weights_changes_no_parameter():
    # The first array fits, the second does not: neither is copied in.
    model = mlp(0)
    before = model.get_weights()
    zeros = [np.zeros_like(w) for w in before]
    # Of the right shape too: unchecked, strings would fail once the first array had been
    # copied in, and complex numbers would be copied in without their imaginary parts.
    for bad in (np.zeros(5), np.array(["a", "b"]), np.full(zeros[1].shape, "a"),
                zeros[1] + 1j):
        with pytest.raises(ValueError, match=r"^set_weights: weights\[1\] must"):
            model.set_weights([zeros[0], bad, *zeros[2:]])
        for w, b in zip(model.get_weights(), before, strict=True):
            np.testing.assert_array_equal(w, b)
