"""Property tests of saving: for small random models (every layer type of tinynet's and a
layer of one's own, every optimiser and one of one's own with drawn hyper-parameters, some
set after it was built, both losses, with and without metrics), save and load_model give
back the same model, and a run saved after k epochs and resumed from the file ends bit for
bit where the run that was never saved ends.

test_io.py and test_resume.py check a few fixed models in detail; these draw the models, so
that a layer argument, a hyper-parameter or a state array that only some models have (a
Conv2D's pair stride, an SGD given momentum after it was built) cannot slip through.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st
from strategies import examples, floats64, image_shapes, matrix_shapes, one_hot, seeds, sizes

from tinynet.callbacks import Callback, LearningRateScheduler, ModelCheckpoint
from tinynet.io import load_model, model_json, save_model
from tinynet.layers import (
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    MaxPool2D,
    RandomShift,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from tinynet.layers.base import Layer
from tinynet.layers.conv import same_padding
from tinynet.losses import MSE, CrossEntropy
from tinynet.model import Sequential
from tinynet.optim import SGD, Adam, Optimizer, Range, RMSprop

#: Each example trains a model of a few dozen weights on a few samples for a few steps, and
#: saves and loads it: milliseconds. A few examples for each optimiser, so that the file
#: runs in a second or two.
SETTINGS = settings(max_examples=examples(10), deadline=None)

#: A spec is (class, keyword arguments): built afresh as often as a test needs the same model.
Spec = tuple[type, dict[str, Any]]

INITS = ["glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "zeros", "ones",
         "normal"]
DTYPES = ["float32", "float64", "float16", "longdouble"]
ELEMENTWISE = [ReLU, Sigmoid, Tanh]


# ------------------------------------------------------- parts of one's own, as docs/ has them
class PReLU(Layer):
    """y = x where x > 0, a * x elsewhere; a (D,) learnt, starting at alpha (docs/layers.md)."""

    def __init__(self, D: int, alpha: float = 0.25, dtype: str = "float32") -> None:
        super().__init__()
        self.D, self.alpha, self.dtype = D, alpha, np.dtype(dtype)
        self.params["a"] = np.full(D, alpha, dtype=self.dtype)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._save(x=x)
        return np.where(x > 0, x, self.params["a"] * x)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        x = self._load("x")
        self.grads["a"] = np.where(x > 0, 0, dy * x).sum(axis=0).astype(self.dtype)
        return np.where(x > 0, dy, self.params["a"] * dy)

    def get_config(self) -> dict[str, Any]:
        return {"D": self.D, "alpha": self.alpha, "dtype": self.dtype.name}


class Adagrad(Optimizer):
    """G += g**2; param -= lr * g / (sqrt(G) + eps) (docs/optimizers.md)."""

    state_names = ("G",)
    hyper_parameters: ClassVar[dict[str, Range]] = {**Optimizer.hyper_parameters,
                                                    "eps": (0.0, None, False)}

    def __init__(self, lr: float = 0.01, eps: float = 1e-7) -> None:
        super().__init__(lr)
        self.eps = eps

    def update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray],
               work: np.ndarray) -> None:
        state["G"] += grad**2
        param -= self.lr * grad / (np.sqrt(state["G"]) + self.eps)

    def get_config(self) -> dict[str, Any]:
        return {"lr": self.lr, "eps": self.eps}


def top_score(y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
    """A metric of one's own: the highest output of each sample."""
    return y_pred.max(axis=1)


CUSTOM = {"PReLU": PReLU, "Adagrad": Adagrad, "top_score": top_score}


# ---------------------------------------------------------------------------- strategies
@st.composite
def conv_spec(draw, shape: tuple[int, int, int]) -> tuple[Spec, tuple[int, int, int]]:
    """A Conv2D for images of ``shape`` (H, W, C) and the shape of its outputs."""
    H, W, C = shape
    kernel = draw(st.one_of(sizes(1, 3), st.tuples(sizes(1, 3), sizes(1, 3))))
    stride = draw(st.one_of(sizes(1, 2), st.tuples(sizes(1, 2), sizes(1, 2))))
    padding = draw(st.one_of(st.sampled_from(["same", "valid"]), st.integers(0, 1),
                             st.tuples(st.integers(0, 1), st.integers(0, 1))))
    kh, kw = kernel if isinstance(kernel, tuple) else (kernel, kernel)
    sh, sw = stride if isinstance(stride, tuple) else (stride, stride)
    if padding == "same":
        pads = (sum(same_padding(H, kh, sh)), sum(same_padding(W, kw, sw)))
    elif padding == "valid":
        pads = (0, 0)
    else:
        ph, pw = padding if isinstance(padding, tuple) else (padding, padding)
        pads = (2 * ph, 2 * pw)
    # A kernel larger than the padded image is refused: shrink it to fit.
    kh, kw = min(kh, H + pads[0]), min(kw, W + pads[1])
    if padding == "same":  # the padding depends on the kernel
        pads = (sum(same_padding(H, kh, sh)), sum(same_padding(W, kw, sw)))
    out = draw(sizes(1, 3))
    kwargs = {"in_channels": C, "out_channels": out, "kernel_size": (kh, kw), "stride": stride,
              "padding": padding, "W_init": draw(st.sampled_from(INITS)),
              "b_init": draw(st.sampled_from(INITS)), "dtype": draw(st.sampled_from(DTYPES))}
    H_out, W_out = (H + pads[0] - kh) // sh + 1, (W + pads[1] - kw) // sw + 1
    return (Conv2D, kwargs), (H_out, W_out, out)


@st.composite
def pool_spec(draw, shape: tuple[int, int, int]) -> tuple[Spec, tuple[int, int, int]]:
    """A MaxPool2D for images of ``shape`` (H, W, C) and the shape of its outputs."""
    H, W, C = shape
    ph, pw = draw(sizes(1, min(H, 2))), draw(sizes(1, min(W, 2)))
    stride = draw(st.one_of(st.none(), sizes(1, 2), st.tuples(sizes(1, 2), sizes(1, 2))))
    pool = ph if ph == pw and draw(st.booleans()) else (ph, pw)
    sh, sw = ((ph, pw) if stride is None
              else stride if isinstance(stride, tuple) else (stride, stride))
    return (MaxPool2D, {"pool_size": pool, "stride": stride}), ((H - ph) // sh + 1,
                                                                (W - pw) // sw + 1, C)


@st.composite
def elementwise_spec(draw) -> Spec:
    """An activation, or a Dropout: any shape in, the same shape out."""
    return draw(st.one_of(st.sampled_from([(cls, {}) for cls in ELEMENTWISE]),
                          st.floats(0.0, 0.5).map(lambda rate: (Dropout, {"rate": rate}))))


def prelu_spec(D: int) -> st.SearchStrategy[Spec]:
    """A PReLU of one's own for vectors (N, D), loaded through custom_objects."""
    return st.builds(lambda alpha, dtype: (PReLU, {"D": D, "alpha": alpha, "dtype": dtype}),
                     st.floats(0.0, 0.5), st.sampled_from(DTYPES))


@st.composite
def dense_spec(draw, D_in: int, D_out: int) -> Spec:
    """A Dense layer, with initialisers and a dtype drawn."""
    return (Dense, {"in_features": D_in, "out_features": D_out,
                    "W_init": draw(st.sampled_from(INITS)),
                    "b_init": draw(st.sampled_from(INITS)), "dtype": draw(st.sampled_from(DTYPES))})


@dataclass
class Case:
    """A drawn model, the data it trains on, and how it is compiled and trained."""

    layers: list[Spec]
    seed: int
    loss: Spec
    optimizer: Spec
    metrics: list[str | Callable]
    x: np.ndarray
    y: np.ndarray
    batch_size: int
    shuffle: bool
    #: the first samples as validation data (their val_ values are in the History), or not
    validate: bool
    #: None, or (schedule's kind, factor) for a LearningRateScheduler (see scheduler).
    schedule: tuple[str, float] | None
    #: hyper-parameters set on the optimiser after it was built (see optimizer_specs).
    changes: dict[str, Any]

    def build(self) -> Sequential:
        model = Sequential([cls(**kwargs) for cls, kwargs in self.layers], seed=self.seed)
        (loss, loss_args), (opt, opt_args) = self.loss, self.optimizer
        model.compile(loss(**loss_args), opt(**opt_args), self.metrics)
        return model

    def callbacks(self) -> list[Callback]:
        return [] if self.schedule is None else [scheduler(*self.schedule)]

    def fit(self, model: Sequential, epochs: int, initial_epoch: int = 0,
            callbacks: list[Callback] = ()) -> str | None:
        """Train ``model``; None, or the message of the FloatingPointError that stopped a run
        that diverged (a model of ones, a summed loss: it happens), at the same batch in a
        run that goes on exactly as another."""
        try:
            model.fit(self.x, self.y, epochs=epochs, initial_epoch=initial_epoch,
                      batch_size=self.batch_size, shuffle=self.shuffle, verbose=0,
                      validation_data=(self.x[:2], self.y[:2]) if self.validate else None,
                      callbacks=[*self.callbacks(), *callbacks])
        except FloatingPointError as err:
            return str(err)
        return None


def scheduler(kind: str, factor: float) -> LearningRateScheduler:
    """A schedule of the epoch alone, or one that scales the optimiser's present rate (so
    that the rate a resumed run starts from is the saved one)."""
    if kind == "epoch":
        return LearningRateScheduler(lambda epoch: 0.01 * factor**epoch)
    return LearningRateScheduler(lambda epoch, lr: lr * factor)


@st.composite
def optimizer_specs(draw, kind: type[Optimizer]) -> tuple[Spec, dict[str, Any]]:
    """An optimiser of class ``kind`` with drawn hyper-parameters, and those to set on it
    once it is built (as a callback or a user does), each with a value it accepts."""
    rates = st.floats(1e-4, 0.02)
    if kind is SGD:
        momentum = draw(st.sampled_from([0.0]) | st.floats(0.05, 0.95))
        args = {"lr": draw(rates), "momentum": momentum,
                "nesterov": momentum > 0 and draw(st.booleans()),
                "weight_decay": draw(st.sampled_from([0.0]) | st.floats(1e-4, 0.1))}
        later = {"momentum": st.sampled_from([0.0, 0.9]), "weight_decay": st.floats(0.0, 0.1)}
    elif kind is RMSprop:
        args = {"lr": draw(rates), "rho": draw(st.floats(0.0, 0.99)),
                "eps": draw(st.floats(1e-8, 1e-3))}
        later = {"rho": st.floats(0.0, 0.99), "eps": st.floats(1e-8, 1e-3)}
    elif kind is Adagrad:
        args = {"lr": draw(rates), "eps": draw(st.floats(1e-8, 1e-3))}
        later = {"eps": st.floats(1e-8, 1e-3)}
    else:
        args = {"lr": draw(rates), "beta1": draw(st.floats(0.0, 0.99)),
                "beta2": draw(st.floats(0.0, 0.999)), "eps": draw(st.floats(1e-8, 1e-3))}
        later = {"beta1": st.floats(0.0, 0.99), "beta2": st.floats(0.0, 0.999),
                 "eps": st.floats(1e-8, 1e-3)}
    later["lr"] = rates
    names = draw(st.lists(st.sampled_from(sorted(later)), unique=True, max_size=3))
    changes = {name: draw(later[name]) for name in names}
    if kind is SGD:
        # nesterov needs a momentum > 0: turned off before the momentum is set (to 0, it may
        # be), turned on after it.
        nesterov = changes.get("momentum", args["momentum"]) > 0 and draw(st.booleans())
        changes = {"nesterov": nesterov, **changes} if not nesterov else {**changes,
                                                                          "nesterov": True}
    return (kind, args), changes


@st.composite
def cases(draw, optimizer: type[Optimizer]) -> Case:
    """A small model, on images through convolutions or on vectors, and its data, trained
    by an ``optimizer``."""
    layers: list[Spec] = []
    if draw(st.booleans()):  # images (N, H, W, C)
        N, H, W, C = draw(image_shapes(max_side=5))
        N = max(N, draw(sizes(1, 5)))
        x = draw(floats64((N, H, W, C)))
        if draw(st.booleans()):
            layers.append((RandomShift, {"max_shift": draw(st.integers(0, 2))}))
        shape = (H, W, C)
        for _ in range(draw(st.integers(1, 2))):
            spec, shape = draw(conv_spec(shape))
            layers.append(spec)
            if draw(st.booleans()):
                layers.append(draw(elementwise_spec()))
            if draw(st.booleans()):
                spec, shape = draw(pool_spec(shape))
                layers.append(spec)
        layers.append((Flatten, {}))
        D = int(np.prod(shape))
    else:  # vectors (N, D)
        N, D = draw(matrix_shapes(max_rows=6, max_cols=4))
        x = draw(floats64((N, D)))
        if draw(st.booleans()):  # before the first layer that learns: not backpropagated
            layers.append(draw(elementwise_spec()))
    for _ in range(draw(st.integers(0, 1))):  # a hidden Dense layer
        hidden = draw(sizes(1, 4))
        layers.append(draw(dense_spec(D, hidden)))
        layers.append(draw(elementwise_spec() | prelu_spec(hidden)))
        D = hidden
    K = draw(sizes(2, 3))
    layers.append(draw(dense_spec(D, K)))

    labels = draw(st.lists(st.integers(0, K - 1), min_size=N, max_size=N))
    reduction = draw(st.sampled_from(["mean", "sum"]))
    if draw(st.booleans()):
        # Cross-entropy: of probabilities after a Softmax (fused in training), or of logits.
        from_logits = draw(st.booleans())
        if not from_logits:
            layers.append((Softmax, {}))
        loss = (CrossEntropy, {"from_logits": from_logits, "reduction": reduction})
        y = np.array(labels) if draw(st.booleans()) else one_hot(np.array(labels), K)
        metric_names = ["accuracy", "acc", "categorical_accuracy", "sparse_categorical_accuracy",
                        top_score]
    else:
        last = draw(st.sampled_from([None, Softmax, Sigmoid, Tanh]))
        if last is not None:
            layers.append((last, {}))
        loss = (MSE, {"reduction": reduction})
        y = one_hot(np.array(labels), K)
        metric_names = ["accuracy", "mae", "mean_absolute_error", top_score]
    metrics = draw(st.lists(st.sampled_from(metric_names), unique=True, max_size=2))
    if optimizer.square_states:  # they refuse float16 parameters (test_optim.py)
        layers = [(cls, {**args, "dtype": "float32"} if args.get("dtype") == "float16" else args)
                  for cls, args in layers]
    optimizer, changes = draw(optimizer_specs(optimizer))
    schedule = draw(st.none() | st.tuples(st.sampled_from(["epoch", "lr"]),
                                          st.floats(0.5, 1.0)))
    return Case(layers=layers, seed=draw(seeds()), loss=loss, optimizer=optimizer,
                metrics=metrics, x=x.astype(draw(st.sampled_from(DTYPES))), y=y,
                batch_size=draw(sizes(1, N)), shuffle=draw(st.booleans()),
                validate=draw(st.booleans()),
                schedule=schedule, changes=changes)


# ----------------------------------------------------------------------------- comparing
def public(obj: object) -> dict[str, Any]:
    """What a layer or loss is, read from its attributes rather than its get_config(): a
    value that get_config leaves out would be missing from both sides of a comparison of
    configs. Arrays, the random Generator and what forward keeps are left out."""
    return {k: v for k, v in vars(obj).items()
            if not k.startswith("_") and k not in ("params", "grads", "rng")}


def hyper_parameters(opt: Optimizer) -> dict[str, Any]:
    """Every hyper-parameter of ``opt`` with its type, the names of its state arrays and its
    step count."""
    values = {name: (type(getattr(opt, name)), getattr(opt, name))
              for name in opt.hyper_parameters}
    return {**values, "state_names": opt.state_names, "iterations": opt.iterations}


def assert_same_bits(a: list[np.ndarray], b: list[np.ndarray], what: str) -> None:
    assert len(a) == len(b), what
    for i, (u, v) in enumerate(zip(a, b, strict=True)):
        assert (u.dtype, u.shape) == (v.dtype, v.shape), f"{what} {i}"
        if u.dtype == np.longdouble and np.finfo(u.dtype).nmant == 63:
            # x87's 80 bits are stored in 16 bytes, 6 of them padding that nothing sets:
            # the same value, sign included, is the same number.
            assert np.array_equal(u, v, equal_nan=True), f"{what} {i} differs"
            assert np.array_equal(np.signbit(u), np.signbit(v)), f"{what} {i} differs"
        else:
            assert u.tobytes() == v.tobytes(), f"{what} {i} differs"


def optimizer_state(model: Sequential) -> list[np.ndarray]:
    """Every state array of the optimiser: parameter by parameter, each one's by name."""
    states = model.optimizer.get_state([p for p, _ in model.parameters()])
    return [state[name] for state in states for name in sorted(state)]


def summary(model: Sequential) -> str:
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    return "\n".join(lines)


def assert_same_model(loaded: Sequential, model: Sequential, x: np.ndarray) -> None:
    """``loaded`` is ``model``: the same outputs and weights to the bit, the same layers,
    compile and optimiser (hyper-parameters, state, step count), history and summary."""
    # Before predict, which sets input_shape on both (and so summary's shapes).
    assert (loaded.seed, loaded.steps_trained, loaded.input_shape) == (
        model.seed, model.steps_trained, model.input_shape)
    assert summary(loaded) == summary(model)
    assert_same_bits([loaded.predict(x)], [model.predict(x)], "predict")
    assert_same_bits(loaded.get_weights(), model.get_weights(), "weight")
    assert [(type(a), public(a)) for a in loaded.layers] == [
        (type(b), public(b)) for b in model.layers]
    assert [a.get_config() for a in loaded.layers] == [b.get_config() for b in model.layers]
    assert repr(loaded) == repr(model)
    assert (type(loaded.loss), public(loaded.loss)) == (type(model.loss), public(model.loss))
    assert [name for name, _ in loaded.metrics] == [name for name, _ in model.metrics]
    # a function of one's own is called through a wrapper (compile's), made anew by each
    assert [getattr(fn, "__wrapped__", fn) for _, fn in loaded.metrics] == [
        getattr(fn, "__wrapped__", fn) for _, fn in model.metrics]
    assert type(loaded.optimizer) is type(model.optimizer)
    assert hyper_parameters(loaded.optimizer) == hyper_parameters(model.optimizer)
    assert_same_bits(optimizer_state(loaded), optimizer_state(model), "optimizer state")
    # repr, not ==: a diverged epoch's NaN is equal to nothing, its repr to itself
    if model.history is None:
        assert loaded.history is None
    else:
        assert repr((loaded.history.epoch, loaded.history.history)) == repr(
            (model.history.epoch, model.history.history))
    # and the whole description the file holds, saved again, is the same text
    assert model_json(loaded, "loaded") == model_json(model, "model")


def apply_changes(model: Sequential, changes: dict[str, Any]) -> None:
    """Set hyper-parameters on the model's optimiser, in order, as a callback would."""
    for name, value in changes.items():
        setattr(model.optimizer, name, value)


# ---------------------------------------------------------------------------- properties
#: Each test runs for each optimiser: drawn among them, one (and its hyper-parameters) could
#: be missing from a run's few examples.
OPTIMIZERS = pytest.mark.parametrize("optimizer", [SGD, RMSprop, Adam, Adagrad],
                                     ids=lambda kind: kind.__name__)


@OPTIMIZERS
@SETTINGS
@given(data=st.data(), epochs=st.integers(0, 2), change=st.booleans())
def test_save_and_load_give_back_the_same_model(
        optimizer: type[Optimizer], data: st.DataObject, epochs: int, change: bool,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    case = data.draw(cases(optimizer), label="case")
    folder = tmp_path_factory.mktemp("roundtrip")  # one per example: tmp_path is per test
    with warnings.catch_warnings():
        # compile's warning for Softmax and from_logits, and NumPy's for a large output
        warnings.simplefilter("ignore")
        model = case.build()
        if case.fit(model, epochs) is not None:
            reject()  # diverged: what is saved then is not the point
        if change:  # set after training, as a user or a callback does
            apply_changes(model, case.changes)
        loaded = load_model(save_model(model, folder / "model"), CUSTOM)
        assert_same_model(loaded, model, case.x)
        # repr: the same NaN, should a large output make the loss one
        assert repr(loaded.evaluate(case.x, case.y)) == repr(model.evaluate(case.x, case.y))


@OPTIMIZERS
@SETTINGS
@given(data=st.data(), k=st.integers(1, 2), more=st.integers(1, 2),
       checkpoint=st.booleans(), change=st.booleans())
def test_a_run_resumed_from_its_file_ends_as_the_run_never_saved(
        optimizer: type[Optimizer], data: st.DataObject, k: int, more: int, checkpoint: bool,
        change: bool, tmp_path_factory: pytest.TempPathFactory) -> None:
    # Trained k epochs (saved then, by a ModelCheckpoint or by save_model), then both the
    # model itself and the one loaded from its file go on to epoch k + more; and so does a
    # run of k + more epochs from the start, which neither stops nor saves.
    case = data.draw(cases(optimizer), label="case")
    epochs = k + more
    folder = tmp_path_factory.mktemp("resume")  # one per example: tmp_path is per test
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = folder / f"e{k}.npz"
        model = case.build()
        if case.fit(model, k, callbacks=[ModelCheckpoint(str(folder / "e{epoch}.npz"))]
                    if checkpoint else []) is not None:
            reject()  # diverged before the save
        if change:  # after the k epochs, before the save: both runs go on with them
            apply_changes(model, case.changes)
        if change or not checkpoint:
            save_model(model, path)
        resumed = load_model(path, CUSTOM)
        # Each goes on to the end, or diverges at the same batch (and stops before it).
        ends = {case.fit(m, epochs, initial_epoch=k) for m in (model, resumed)}
        assert len(ends) == 1, ends
        steps = math.ceil(len(case.x) / case.batch_size)
        assert model.steps_trained == resumed.steps_trained
        assert ends != {None} or model.steps_trained == epochs * steps
        assert_same_model(resumed, model, case.x)
        # Stopping and going on changes nothing either (with no change half way).
        if not change:
            uninterrupted = case.build()
            assert case.fit(uninterrupted, epochs) in ends
            assert_same_model(uninterrupted, model, case.x)
