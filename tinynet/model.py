"""Sequential: a list of layers, trained by forward, loss, backward, step.

The loop that ``fit`` runs is four lines (numbered in ``Sequential._train_step``, which
:meth:`Sequential.train_step` runs once its arguments are checked); everything else here is
convenience around it: batching, shuffling, progress, history, validation.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import operator
import os
import secrets
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard, TypeVar

import numpy as np
from numpy.typing import ArrayLike

from tinynet import losses as losses_module
from tinynet import metrics as metrics_module
from tinynet import optim as optim_module
from tinynet.callbacks import Callback, History, ProgressBar
from tinynet.checks import (
    RefusesOtherLibraries,
    as_array,
    beyond,
    class_given,
    copy_into,
    described,
    flag,
    int_at_least,
    is_int_at_least,
    is_number,
    keywords_taken,
    no_attribute,
    number_in,
    other_library_message,
    real_array,
    targets_hint,
    too_large,
    unwrapped,
    user_stacklevel,
    verbose_level,
)
from tinynet.layers.activations import Softmax, softmax
from tinynet.layers.base import Layer, check_gradient, check_grads
from tinynet.layers.reshape import Flatten
from tinynet.losses import CrossEntropy, Loss
from tinynet.optim import Optimizer

#: Batch size of ``fit`` when none is given (or ``None``), Keras's.
FIT_BATCH_SIZE = 32
#: Batch size of ``predict`` and ``evaluate`` (and of fit's validation) when none is given
#: (or ``None``), Keras's. Larger batches gain an MLP little (R2 predicts the 10,000 test
#: images in 0.05 s in batches of 1,024, 0.09 s in batches of 32), and cost a CNN both
#: memory and time: im2col copies each window, so R3's batches of 1,024 took 0.5 GB and
#: 1.0 s, against 11 MB and 0.4 s, as the smaller copies stay in the processor's cache.
EVAL_BATCH_SIZE = 32

_TRAINING = ("a tinynet model is told at each call whether it trains (Dropout drops only "
             "then): model(x, training=True) to train, model(x) to evaluate; fit, evaluate "
             "and predict do so")
_NO_DEVICE = "tinynet runs in NumPy, on the CPU: there is nothing to move, leave it out"
_SAVE = ("model.save('model.npz') saves the weights with the rest of the model, and "
         "model.get_weights() gives copies of them")
_LOAD = ("tinynet.load_model('model.npz') loads a saved model, and model.set_weights(weights) "
         "copies weights into this one")
#: PyTorch's nn.Module methods that a training loop ported from PyTorch calls, and how
#: tinynet says the same.
PYTORCH_METHODS = {
    "train": _TRAINING,
    "eval": _TRAINING,
    "zero_grad": optim_module.PYTORCH_METHODS["zero_grad"],
    "state_dict": _SAVE,
    "load_state_dict": _LOAD,
    "to": _NO_DEVICE,
    "cuda": _NO_DEVICE,
}
#: Keras's Model methods that tinynet's Sequential does without, and how it says the same.
KERAS_METHODS = {
    "train_on_batch": "model.train_step(x, y) trains on one batch and returns its loss and "
                      "the model's outputs",
    "test_on_batch": "model.evaluate(x, y, batch_size=len(x))",
    "predict_on_batch": "model.predict(x, batch_size=len(x))",
    "get_layer": "model.layers[i] is the layer at index i",
    "pop": "model.layers.pop() takes out the last layer; compile again, for an optimiser "
           "of the layers left",
    "save_weights": _SAVE,
    "load_weights": _LOAD,
}

# Keys of the seed's independent random streams (numpy.random.SeedSequence spawn keys): the
# initial weights, the epochs of fit, the epochs of a fit on a model that has taken fewer
# steps than the epoch it starts at implies (see Sequential._epoch_generator), and the
# layers' draws until their first fit (a Dropout's masks in model(x, training=True)). Each
# epoch of fit gives the layers a stream of its own, and they keep the last epoch's after
# the fit (one refused before its first step puts the old one back); a layer added later is
# given the layers' stream.
_INIT_STREAM, _EPOCH_STREAM, _BEHIND_STREAM, _LAYER_STREAM = 0, 1, 2, 3

#: What training runs: the layers (all, or all but a final Softmax that the loss takes over),
#: the loss, and the optimiser that steps the layers (see Sequential._training_graph).
Graph = tuple[Sequence[Layer], Loss, Optimizer]


def _is_optimizer(value: object) -> bool:
    """Whether ``value`` is an Optimizer or one of the names compile takes for one."""
    return isinstance(value, Optimizer) or (isinstance(value, str)
                                            and value.lower() in optim_module.OPTIMIZERS)


def _named_metrics(metrics: Sequence[str | Callable] | str | Callable | None
                   ) -> list[tuple[str, Callable]]:
    """``(name, function)`` of each metric given to compile (a list of names or functions,
    one of them alone, or None for none), refusing two that would be logged as one."""
    if metrics is None:
        metrics = ()
    elif isinstance(metrics, str) or callable(metrics):
        metrics = (metrics,)  # "accuracy" is one metric, not the letters a, c, c, ...
    elif isinstance(metrics, Mapping):  # its keys would be taken for metric names
        raise ValueError(f"metrics must be a list of metric names or functions, got a dict "
                         f"{dict(metrics)!r} (Keras's metrics for each output): a tinynet "
                         f"model has one output, give the list for it")
    elif not isinstance(metrics, Iterable):
        raise TypeError(f"metrics must be a list of metric names or functions, got "
                        f"{metrics!r}")
    named = [metrics_module.get(m) for m in metrics]
    # Each value is logged under its name: two metrics of one name (two lambdas, or
    # "accuracy" twice) would be summed into one, and one named "loss" into the loss.
    seen = {"loss"}
    for name, _ in named:
        if name in seen:
            raise ValueError(f"metrics: two values would be logged as {name!r}" + (
                ", the loss's name" if name == "loss" else "") + "; give each metric "
                "function a name of its own (def f1(y_pred, y_true): ..., not a lambda)")
        seen.add(name)
    return named


def _batch_size(batch_size: object, default: int) -> int:
    """``batch_size`` as an int >= 1, ``default`` for None (Keras's way to ask for the
    default), or a ValueError naming it."""
    return default if batch_size is None else int_at_least("batch_size", batch_size, 1)


def _grads_fit(layer: Layer) -> bool:
    """Whether ``layer.grads`` holds an array of each parameter's shape and nothing else:
    the quick test of every step, before :func:`check_grads` says what is wrong."""
    return layer.grads.keys() == layer.params.keys() and all(
        isinstance(g, np.ndarray) and g.shape == layer.params[k].shape
        for k, g in layer.grads.items())


_T = TypeVar("_T")


def _computes_as(obj: object, cls: type[_T]) -> TypeGuard[_T]:
    """Whether ``obj`` is a ``cls`` that computes as ``cls`` does: not a subclass that
    overrides its forward or backward (label smoothing, a temperature), which the fused
    Softmax and cross-entropy would skip."""
    return isinstance(obj, cls) and all(getattr(type(obj), method) is getattr(cls, method)
                                        for method in ("forward", "backward"))


def _loss_value(loss: Loss, out: np.ndarray, y: np.ndarray) -> float:
    """``loss.forward(out, y)``, the batch's loss, as a float; a TypeError naming the loss
    unless it is one number. Keras's losses return one value per sample, which fit and
    evaluate then average: a loss of one's own written that way would make ``evaluate``
    return an array and ``fit`` fail in its check for divergence."""
    value = loss.forward(out, y)
    number = unwrapped(value)
    if is_number(number):  # inf and NaN too: fit reports a loss that diverged
        return float(number)
    got = (f"an array of shape {value.shape}" if isinstance(value, np.ndarray)
           else repr(value))
    raise TypeError(f"{type(loss).__name__}.forward must return the batch's loss, one number, "
                    f"got {got}: for one value per sample, return their mean (or, for a loss "
                    f"with reduction='sum', their sum)")


def _same_samples(x: np.ndarray, y: ArrayLike, x_name: str, y_name: str,
                  owner: str = "") -> np.ndarray:
    """``y`` as an array, or a ValueError (its message after ``owner``) unless it holds one
    target per sample of ``x``, and ``x`` a sample or more."""
    given = y
    y = as_array(y, f"{owner}{y_name}", what=f"an array of targets, one per sample of {x_name}")
    if y.ndim < 1 or len(y) != len(x):
        # A generator, a set or a str is no sequence of targets: NumPy makes it one object.
        got = (len(y) if y.ndim else "a scalar" if y.dtype.kind in "biufc"
               else f"a {type(given).__name__}")
        raise ValueError(f"{owner}{x_name} and {y_name} must hold the same number of samples, "
                         f"got {len(x)} and {got}")
    if len(x) == 0:
        raise ValueError(f"{owner}{x_name} must hold at least one sample, got shape {x.shape}")
    return y


def _restore_hyper_parameters(optimizer: Optimizer, kept: Mapping[str, Any]) -> None:
    """Set back the hyper-parameters of ``optimizer`` that differ from ``kept`` (a callback
    of a refused fit changed them), never in place of the error being raised.

    Each is set through the optimiser's checks, which may refuse one until another is back:
    SGD's nesterov=True needs its momentum back first, and momentum=0 needs nesterov off
    first. So those refused are tried again once the others are set, until none is left or
    none moves; a value refused to the end is left as the callback set it."""
    changed = [(name, value) for name, value in kept.items()
               if getattr(optimizer, name) != value]
    while changed:
        refused = []
        for name, value in changed:
            try:
                setattr(optimizer, name, value)
            except (ValueError, TypeError):
                refused.append((name, value))
        if len(refused) == len(changed):
            return
        changed = refused


def _takes_training(layer: Layer) -> bool:
    """Whether ``layer.forward`` can be called as ``forward(x, training=...)``, as the model
    calls it; True when its signature cannot be read (a builtin), which the call will tell."""
    try:
        parameters = inspect.signature(layer.forward).parameters.values()
    except (TypeError, ValueError):
        return True
    return any((p.name == "training" and p.kind != p.POSITIONAL_ONLY)
               or p.kind == p.VAR_KEYWORD for p in parameters)


def _used_twice(where: str, j: int, layer: Layer) -> str:
    return (f"{where} is layers[{j}], the same {layer!r} object: a layer keeps what its "
            f"backward needs, so each use needs its own (write {type(layer).__name__}() for "
            "each)")


def _callback_list(callbacks: Iterable[Callback] | Callback | None) -> list[Callback]:
    """fit's ``callbacks`` as a list: a list (or any iterable) of Callback objects, one of
    them alone (as Keras takes it), or None for none. A TypeError names what is not a
    Callback object, before any training: a class where an object was meant
    (``callbacks=[EarlyStopping]``) would otherwise fail inside fit with a message about
    ``set_model``'s arguments. A ValueError names a callback listed twice."""
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback):
        return [callbacks]
    if given := class_given("callbacks", callbacks, Callback, "a callback"):
        raise TypeError(given)
    if isinstance(callbacks, str | bytes) or not isinstance(callbacks, Iterable):
        raise TypeError(f"callbacks must be a list of Callback objects, got {callbacks!r}")
    callbacks = list(callbacks)
    first_at: dict[int, int] = {}  # id of each callback -> its first place in the list
    for i, cb in enumerate(callbacks):
        if not isinstance(cb, Callback):
            raise TypeError(class_given(f"callbacks[{i}]", cb, Callback, "a callback")
                            or f"callbacks[{i}] must be a Callback object (an instance of a "
                               f"subclass of tinynet.Callback), got {cb!r}")
        # Its hooks would run twice an epoch: an EarlyStopping would count each epoch twice.
        first = first_at.setdefault(id(cb), i)
        if first != i:
            raise ValueError(f"callbacks[{i}] is callbacks[{first}] again (the same "
                             f"{type(cb).__name__} object): list each callback once")
    return callbacks


@contextlib.contextmanager
def _refused_input(what: str, hint: str = "") -> Iterator[None]:
    """Begin a ValueError a layer raises with ``what`` it was given, the argument and its
    whole shape: the layer sees one sample or one batch of it, and knows neither. The
    layer's own error stays chained, with the line that raised it (a bug in a layer of
    one's own, say, rather than in the data). ``hint`` ends the message, unless the layer's
    own already names the batch axis (Dense does, given a batch that holds a whole sample)."""
    try:
        yield
    except ValueError as err:
        end = hint if "batch axis" not in str(err) else ""
        raise ValueError(f"with {what}: {err}{end}") from err


@contextlib.contextmanager
def _quiet_overflow() -> Iterator[None]:
    """Silence NumPy's overflow and invalid-value warnings, leaving its errors in force."""
    # Weights or outputs that grew past float32's range make the loss inf or NaN, which
    # fit reports in its own words (and train_step returns): NumPy's overflow warnings
    # would come first, from inside a layer or the loss, and say less. Only warnings:
    # np.seterr(over="raise"), set to find where a value overflows, stays in force.
    quiet: dict[str, Any] = {kind: "ignore" for kind in ("over", "invalid")
                             if np.geterr()[kind] == "warn"}
    with np.errstate(**quiet):
        yield


def _split_off(x: np.ndarray, y: np.ndarray, fraction: float
               ) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """(x_train, y_train, (x_val, y_val)): the last ``fraction`` of the samples held out,
    as Keras's ``validation_split`` does (views, nothing copied)."""
    N = len(x)
    split_at = math.floor(N * (1 - fraction))  # Keras's rounding
    if not 0 < split_at < N:
        raise ValueError(f"validation_split={fraction} of {N} sample(s) leaves "
                         f"{split_at} to train on and {N - split_at} to validate on; "
                         "each needs at least 1")
    return x[:split_at], y[:split_at], (x[split_at:], y[split_at:])


class Sequential(RefusesOtherLibraries):
    """A network that applies its layers one after another.

    Args:
        layers: the layers, first to last; or none (or None), to :meth:`add` them one by one.
        seed: an int that drives every random choice of the model: the initial weights
            (every layer's parameters are drawn afresh from it here, so a layer with
            parameters that belongs to another model is refused), the shuffling of each
            epoch and the dropout masks. The same seed gives the same weights, bit for bit,
            before and after training (after it, with the same number of BLAS threads, which
            round the matrix products alike). ``None`` draws a seed from the OS (kept in
            ``seed``).

    Shapes: ``x`` is (N, ...) with the shape the first layer expects; outputs are (N, K).

    Softmax and cross-entropy are fused. When the last layer is :class:`Softmax` and the
    loss is ``CrossEntropy(from_logits=False)``, training and ``evaluate`` skip the Softmax and
    hand its input, the logits, to ``CrossEntropy(from_logits=True)``: the same loss, computed
    with log-sum-exp, whose gradient ``(softmax(z) - y) / N`` (without the ``/ N`` for
    ``reduction="sum"``) stays finite for any finite logits. The two-step form does not: a
    probability that underflows to 0 has log -inf.
    ``predict`` still returns probabilities. See docs/cross_entropy.md. A subclass of either
    that overrides its ``forward`` or ``backward`` computes something of its own, which the
    fused form would skip: with one, training runs the two steps as written.
    """

    def __init__(self, layers: Iterable[Layer] | None = (), seed: int | None = None) -> None:
        if layers is None:  # Keras's default: none yet
            layers = ()
        if isinstance(layers, Layer | str) or not isinstance(layers, Iterable):
            raise TypeError(f"layers must be a list of layers, as in Sequential([Dense(784, "
                            f"10), Softmax()]), got {layers!r}")
        self.layers: list[Layer] = []
        for i, layer in enumerate(layers):
            self._check_new_layer(f"layers[{i}]", layer)
            self.layers.append(layer)
        if seed is None:
            seed = secrets.randbits(128)  # from the OS, as np.random.SeedSequence() draws it
        self.seed = int_at_least("seed", seed, 0)
        self.rng = self._generator(_INIT_STREAM)
        # A stream of its own: drawn from self.rng, a Dropout's masks before an add() would
        # change the weights the added layer gets.
        self._layer_rng = self._generator(_LAYER_STREAM)
        self._take(self.layers)
        self.loss: Loss | None = None
        self.optimizer: Optimizer | None = None
        self.metrics: list[tuple[str, Callable]] = []
        self.stop_training = False
        self.steps_trained = 0
        self.history: History | None = None
        self.input_shape: tuple[int, ...] | None = None
        self._shapes: list[tuple[int, ...]] = []  # see _forward
        #: JSON values saved with the model (``tinynet train`` records the input scaling).
        self.metadata: dict[str, Any] = {}

    def _check_new_layer(self, where: str, layer: object) -> None:
        """A ValueError naming ``where`` (``"layers[2]"``, say) unless ``layer`` can join
        the model after its present layers."""
        if not isinstance(layer, Layer):
            if isinstance(layer, Sequential):  # Keras's Sequential([model, Softmax()])
                raise ValueError(f"{where} is a Sequential, not a layer: tinynet's models do "
                                 "not nest. To add a Softmax to a model's outputs, apply "
                                 "tinynet.layers.softmax to its predict(x)")
            raise ValueError(class_given(where, layer, Layer, "a layer")
                             or f"{where} must be a tinynet Layer, got {layer!r}")
        if not _takes_training(layer):
            # PyTorch's forward(self, x): it would fail at the first call, inside predict or
            # fit, with "forward() got an unexpected keyword argument 'training'".
            raise ValueError(f"{where}, a {type(layer).__name__}, has forward"
                             f"{inspect.signature(layer.forward)}, expected forward(x, "
                             "training=False): the model tells each layer whether it trains "
                             "(Dropout drops only then), see docs/layers.md")
        missing = [name for name in ("params", "grads") if not hasattr(layer, name)]
        if missing:
            # A layer of one's own whose __init__ forgot super().__init__(), which makes them.
            raise ValueError(f"{where}, a {type(layer).__name__}, has no {' or '.join(missing)}:"
                             f" its __init__ must call super().__init__() first")
        # A layer keeps its last input for backward, so one object cannot serve twice.
        for j, earlier in enumerate(self.layers):
            if earlier is layer:
                raise ValueError(_used_twice(where, j, layer))
        # Its weights are drawn afresh (see _take), which for a layer of another model (the
        # Keras and PyTorch way to add a Softmax: Sequential(model.layers + [Softmax()]))
        # would erase what that model learnt.
        if layer.params and layer._in_a_model:
            raise ValueError(f"{where}, {layer!r}, already belongs to a model: a model "
                             "draws the weights of the layers it takes afresh from its seed, "
                             "which would erase what that model learnt. Build new layers "
                             "(and copy weights with set_weights(model.get_weights())), or "
                             "to add a Softmax to a model's outputs apply "
                             "tinynet.layers.softmax to its predict(x)")

    def _take(self, layers: Sequence[Layer]) -> None:
        """Draw the weights of ``layers`` from the model's seed, after those of the layers
        before them, and give them the Generator of the layers' stream (for a Dropout's
        masks), which they draw from until a fit gives them its epochs' Generators.

        Marked as the model's only once every check passed and every draw worked: the layers
        of a refused model stay free, and when an ``init_params`` of one's own raises, the
        model's Generator is put back, so that the next ``add`` draws what it would have."""
        state = self.rng.bit_generator.state
        try:
            for layer in layers:
                layer.init_params(self.rng)
        except BaseException:
            self.rng.bit_generator.state = state
            raise
        for layer in layers:
            layer.rng = self._layer_rng
            layer._in_a_model = True

    def add(self, layer: Layer) -> None:
        """Append ``layer`` to the model, as Keras's ``model.add`` does.

        Its weights are drawn from the model's seed after those of the layers before it, so
        ``Sequential(seed=s)`` followed by ``add(a)`` and ``add(b)`` builds the same model,
        weights included, as ``Sequential([a, b], seed=s)``. A layer that ``Sequential``
        would refuse is refused here too, and the model is left as it was.
        """
        self._check_new_layer("add: layer", layer)
        self._take([layer])
        self.layers.append(layer)

    def _generator(self, *key: int) -> np.random.Generator:
        """An independent Generator for one purpose (and epoch), derived from the seed and
        ``key`` alone, so that resuming at epoch k draws the same numbers as an uninterrupted
        run."""
        return np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=key))

    # ----------------------------------------------------------------------------- the math
    def forward(self, x: ArrayLike, training: bool = False) -> np.ndarray:
        """Apply every layer in turn: (N, ...) -> (N, K)."""
        training = flag(training, "training", "Sequential.forward")
        return self._forward(self.layers, self._as_input(x), training)

    def __call__(self, x: ArrayLike, training: bool = False) -> np.ndarray:
        """``model(x)`` is ``model.forward(x)``, (N, ...) -> (N, K), as Keras's and PyTorch's
        models are called: the whole of ``x`` at once, where :meth:`predict` goes batch by
        batch."""
        return self.forward(x, training=training)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """Backpropagate ``dy = dL/d(output)``, (N, K), through every layer, last first;
        fills each layer's ``grads`` and returns ``dL/dx``, of ``x``'s shape (N, ...)."""
        return self._backward(self.layers, dy)

    def _forward(self, layers: Sequence[Layer], x: np.ndarray, training: bool) -> np.ndarray:
        # The shape of each layer's input (that of its backward's dx), then of the output.
        self._shapes = []
        for i, layer in enumerate(layers):
            self._shapes.append(np.shape(x))
            x = layer.forward(x, training=training)
            if x is None:
                raise TypeError(f"{self._where(i)}: forward returned None, expected the "
                                "output y, an array (N, ...)")
        self._shapes.append(np.shape(x))
        return x

    def _shapes_for(self, layers: Sequence[Layer], dy: np.ndarray) -> list[tuple[int, ...]] | None:
        """The shapes of the last forward (see _forward), if it went through ``layers`` to an
        output of ``dy``'s shape; None after a forward of other layers or of another batch
        (the layers called one by one), which says nothing of the shapes of this backward."""
        shapes = self._shapes
        return shapes if len(shapes) == len(layers) + 1 and shapes[-1] == np.shape(dy) else None

    def _check_distinct(self, layers: Sequence[Layer]) -> None:
        """A ValueError for a layer object that ``layers`` holds twice, before any backward:
        the second use's forward overwrote what the first one's backward needs, so its
        gradients would be wrong. The constructor and ``add`` refuse one; this catches
        ``model.layers.append(...)`` and the like, which go round them."""
        first: dict[int, int] = {}
        for i, layer in enumerate(layers):
            j = first.setdefault(id(layer), i)
            if j != i:
                raise ValueError(_used_twice(f"layers[{i}]", j, layer))

    def _backward(self, layers: Sequence[Layer], dy: np.ndarray) -> np.ndarray:
        self._check_distinct(layers)
        shapes = self._shapes_for(layers, dy)
        for i in reversed(range(len(layers))):
            dy = layers[i].backward(dy)
            self._check_backward(layers, i, dy, shapes)
        return dy

    def _backward_params(self, layers: Sequence[Layer], dy: np.ndarray) -> None:
        """Backward for training. The data is not learnt, and neither is a frozen layer,
        so gradients stop at the first trainable layer with parameters: it computes its
        parameters' gradients only (no dL/dx), and the layers before it (a RandomShift, or
        a frozen base of transfer learning, say) are not visited."""
        self._check_distinct(layers)
        learnt = [i for i, layer in enumerate(layers) if layer.params and layer.trainable]
        if not learnt:
            return
        shapes = self._shapes_for(layers, dy)
        for i in reversed(range(learnt[0] + 1, len(layers))):
            dy = layers[i].backward(dy)
            self._check_backward(layers, i, dy, shapes)
        first = layers[learnt[0]]
        first.backward_params(dy)
        if not _grads_fit(first):
            check_grads(self._where(learnt[0]), first)

    # What each layer's backward gives is checked against the Layer contract as it comes
    # back: a dx of the wrong shape, or a gradient a layer of one's own forgot, would
    # otherwise be reported by the layer before it, or by the optimiser, as their own error.
    def _check_backward(self, layers: Sequence[Layer], i: int, dx: Any,
                        shapes: list[tuple[int, ...]] | None) -> None:
        """An error naming ``layers[i]`` unless its backward just filled its ``grads`` and
        returned a ``dx`` of its input's shape, ``shapes[i]`` (see :func:`check_grads` and
        :meth:`_shapes_for`)."""
        layer = layers[i]
        # Checked in a few microseconds a layer, every step; the messages (which name the
        # layer by its repr) are built only when something is wrong.
        if (isinstance(dx, np.ndarray) and (shapes is None or dx.shape == shapes[i])
                and _grads_fit(layer)):
            return
        where = self._where(i)
        expected = np.shape(dx) if shapes is None else shapes[i]
        check_gradient(where, "dx (what backward returned)", dx, expected, "its input x")
        check_grads(where, layer)

    def _where(self, i: int) -> str:
        """How an error names layer ``i``: ``layers[1] (Scale(D=3))``."""
        return f"layers[{i}] ({self.layers[i]!r})"

    def parameters(self) -> list[tuple[np.ndarray, np.ndarray | None]]:
        """``(param, grad)`` pairs of every layer, in layer order: what ``opt.step`` takes.

        Call it after ``backward``: each backward puts new gradient arrays in ``grads``
        (``None`` before the first backward).
        """
        return [(p, layer.grads.get(k)) for layer in self.layers for k, p in layer.params.items()]

    def trainable_parameters(self) -> list[tuple[np.ndarray, np.ndarray | None]]:
        """The ``(param, grad)`` pairs of :meth:`parameters` whose layer is ``trainable``:
        what training steps (a frozen layer's parameters stay as they are)."""
        return [(p, layer.grads.get(k)) for layer in self.layers if layer.trainable
                for k, p in layer.params.items()]

    @property
    def steps_trained(self) -> int:
        """The steps fit has taken on this model, across fit calls and compiles, saved with
        it: it names each epoch's random stream (see ``_epoch_generator``), so a fit resumed
        with ``initial_epoch`` shuffles as the uninterrupted run did. An int >= 0: setting
        it (to a saved model's count, for a resume by hand) checks that."""
        return self._steps_trained

    @steps_trained.setter
    def steps_trained(self, value: int) -> None:
        self._steps_trained = int_at_least("Sequential: steps_trained", value, 0)

    @property
    def trainable(self) -> bool:
        """Whether training would change a weight: some layer with parameters is trainable
        (True for a model with no parameters, none frozen); setting it sets every layer's
        ``trainable`` (``model.trainable = False`` freezes the whole model, as in Keras)."""
        return bool(self.trainable_parameters()) or not self.parameters()

    @trainable.setter
    def trainable(self, value: bool) -> None:
        value = flag(value, "trainable", "Sequential")
        for layer in self.layers:
            layer.trainable = value

    def count_params(self) -> int:
        """The number of parameters (weights and biases) of every layer: summary's total."""
        return sum(layer.num_params() for layer in self.layers)

    @property
    def weights(self) -> list[np.ndarray]:
        """Every parameter, in the order of :meth:`parameters`, each of its own shape (a
        Dense's W (D_in, D_out), then its b (D_out,)): the arrays themselves, which training
        updates in place (Keras's ``model.weights``, its variables). Writing into one changes
        the model; :meth:`get_weights` gives copies."""
        return [p for p, _ in self.parameters()]

    @property
    def trainable_weights(self) -> list[np.ndarray]:
        """The arrays of :attr:`weights` that training updates: those of the ``trainable``
        layers (Keras's ``model.trainable_weights``)."""
        return [p for p, _ in self.trainable_parameters()]

    def get_weights(self) -> list[np.ndarray]:
        """Copies of every parameter, in the order of :meth:`parameters`."""
        return [p.copy() for p in self.weights]

    def set_weights(self, weights: Iterable[ArrayLike]) -> None:
        """Copy ``weights`` (a list of arrays as from :meth:`get_weights`, or any iterable of
        them) into the parameters, in place, converted to their dtype.

        Raises ValueError, before any parameter changes, unless there is one array of real
        numbers per parameter, of its shape, none too large for its dtype (1e39 would be
        inf in float32); a TypeError for a dict (whose order is not the parameters'), a
        string, or one array of numbers (an object array of arrays, as ``np.save`` keeps
        a list of them, is taken)."""
        copy_into(self.weights, weights, "set_weights")

    @property
    def dtype(self) -> np.dtype:
        """The dtype of the parameters (float32 unless the layers were built otherwise), in
        which ``fit``, ``evaluate`` and ``predict`` hand ``x`` to the first layer. In a model
        whose layers were built with different dtypes, it is the first parameter's: each
        layer converts its input to its own dtype and computes in it, as Keras's layers do."""
        for p, _ in self.parameters():
            return p.dtype
        return np.dtype(np.float32)

    def _as_input(self, x: ArrayLike) -> np.ndarray:
        """``x`` in the model's float dtype: uint8 pixels are converted, never trained as
        integers. Converted batch by batch, so a large uint8 set is never copied whole."""
        return self._check_x(x, "x").astype(self.dtype, copy=False)

    # --------------------------------------------------------------------------- training
    def compile(self, loss: str | Loss, optimizer: str | Optimizer,
                metrics: Sequence[str | Callable] | str | Callable | None = ("accuracy",)
                ) -> None:
        """Choose the loss, the optimiser and the metrics that ``fit`` reports.

        Keras's names are accepted, in any case (``"MSE"``, ``"SGD"``): ``"sgd"``,
        ``"rmsprop"``, ``"adam"`` (Keras defaults), ``"mse"``, ``"categorical_crossentropy"``,
        ``"sparse_categorical_crossentropy"``.
        ``metrics`` is a list of names or functions, one of them alone, or None for none.
        The default, accuracy, wants class targets: a model that learns numbers (a
        regression) compiles with ``metrics=None`` or metrics of its own.

        Compiling again (after ``fit``, say) with a name or a new Optimizer starts the
        optimiser afresh: zero momentum and moments, step count 0. Passing the model's own
        ``model.optimizer`` keeps its state, as in Keras. An optimiser that has trained
        another model is refused (ValueError).
        """
        if _is_optimizer(loss) and not _is_optimizer(optimizer):
            raise ValueError(f"loss must be a Loss or a loss's name, got the optimiser {loss!r}: "
                             "tinynet's compile takes (loss, optimizer), Keras's (optimizer, "
                             "loss); name them, compile(loss=..., optimizer=...), which both "
                             "read the same way")
        loss = losses_module.get(loss)
        optimizer = optim_module.get(optimizer)
        self._check_own(optimizer, "optimizer")
        named = _named_metrics(metrics)
        # Warned before the model changes: under warnings as errors, the warning refuses the
        # compile, which then leaves the model as it was.
        if (self.layers and isinstance(self.layers[-1], Softmax)
                and isinstance(loss, CrossEntropy) and loss.from_logits):
            # Legal, and trains: but on softmax(softmax(z)), whose gradients are damped and
            # whose loss never nears 0. A common slip when porting PyTorch code; Keras warns too.
            warnings.warn("the model ends in Softmax, so its outputs are probabilities, but the "
                          "loss is CrossEntropy(from_logits=True), which applies softmax to them "
                          "again; use CrossEntropy() (training fuses it with the Softmax, "
                          "stably), or drop the final Softmax", UserWarning, stacklevel=2)
        # Set once all three are checked: a refused compile leaves the model as it was.
        self.loss, self.optimizer, self.metrics = loss, optimizer, named

    @property
    def fused_softmax(self) -> bool:
        """True when training skips the final Softmax for the stable fused loss (see class)."""
        return (bool(self.layers) and _computes_as(self.layers[-1], Softmax)
                and _computes_as(self.loss, CrossEntropy) and not self.loss.from_logits)

    def _training_graph(self, loss: Loss, optimizer: Optimizer) -> Graph:
        """The layers and loss that training runs (all of them, or the fused form), and the
        optimiser that steps them, from the model's compiled ``loss`` and ``optimizer``:
        made once by each fit, train_step and evaluate."""
        if self.fused_softmax:
            loss = CrossEntropy(from_logits=True, reduction=loss.reduction)
            return self.layers[:-1], loss, optimizer
        return self.layers, loss, optimizer

    def train_step(self, x: ArrayLike, y: ArrayLike) -> tuple[float, np.ndarray]:
        """One step of gradient descent on the batch (x, y); returns (loss, outputs).

        ``x`` (N, ...) and ``y`` (N,) labels or (N, K) rows, arrays or nested lists, as
        :meth:`fit` takes them; the outputs are (N, K).

        This is all of training: forward, loss, backward, optimiser step
        (``examples/manual_loop.py`` writes each one out; docs/layers.md has the contract
        each layer keeps). The outputs are those the loss saw: the logits, when the final
        Softmax is fused into the loss. A batch whose loss is NaN or infinite (NaN in ``x``,
        or weights that diverged) takes no step, without an error: the loss returned shows
        it, where ``fit`` stops with a FloatingPointError.
        Raises ValueError, before the step, for an optimiser that has trained another model,
        for an ``x`` without samples (the step would count, for nothing), and for targets
        that are not one per sample of ``x``. Other targets the loss refuses (a label past
        the outputs) are refused after the forward pass, whose dropout masks have then been
        drawn. (``fit`` checks them all before its first step, once; here every step would
        pay for those checks.)
        """
        loss, optimizer = self._require_compiled()
        self._check_own(optimizer, "train_step: the model's optimizer")
        graph = self._training_graph(loss, optimizer)
        x = self._as_input(x)  # taken as it is, NaN included (its loss is NaN: no step)
        # The slip y[:5], caught before the dropout masks are drawn; and no samples: nothing
        # to learn from, but the step would count (Adam's bias correction would move on).
        return self._train_step(graph, x, _same_samples(x, y, "x", "y", "train_step: "))

    def _train_step(self, graph: Graph, x: np.ndarray, y: np.ndarray
                    ) -> tuple[float, np.ndarray]:
        """:meth:`train_step` with ``graph``, the training graph, on an ``x`` already in the
        model's dtype, without its checks of the optimiser and of an ``x`` without samples,
        which fit makes once, before its batches (each holds a sample or more)."""
        # The four lines of training, numbered as examples/manual_loop.py writes them. The
        # layers are the model's, but for a final Softmax that the loss takes over (fused).
        layers, loss, optimizer = graph
        with _quiet_overflow():
            out = self._forward(layers, x, training=True)  # 1. forward: (N, K)
            value = _loss_value(loss, out, y)  # 2. loss: loss.forward(out, y)
        if not math.isfinite(value):
            return value, out  # fit reports it; no step is taken with a broken gradient
        # 3. backward: model.backward(loss.backward()), but stopping at the first layer
        # that learns, which fills its grads only (nothing uses its dL/dx).
        self._backward_params(layers, loss.backward())
        optimizer.step(self.trainable_parameters())  # 4. step: every param -= its update
        return value, out

    def fit(self, x: ArrayLike, y: ArrayLike, *, epochs: int = 1,
            batch_size: int | None = FIT_BATCH_SIZE,
            validation_data: tuple[ArrayLike, ArrayLike] | None = None, shuffle: bool = True,
            verbose: int | str = 1, callbacks: Sequence[Callback] | Callback | None = None,
            initial_epoch: int = 0, validation_split: float = 0.0) -> History:
        """Train for ``epochs`` passes over (x, y); return the :class:`History`.

        ``x`` is (N, ...), one sample per row of the first layer's input shape; ``y`` the N
        targets, (N,) class labels or (N, K) rows, as the loss takes them. Both are NumPy
        arrays or anything ``np.asarray`` takes (nested lists), as in Keras; so is
        ``validation_data``, a pair ``(x_val, y_val)`` of the same shapes. The arguments
        after ``y`` are given by name: Keras's ``fit(x, y, 128, 5)`` means batch size 128
        and 5 epochs, and in tinynet's order would train 128 epochs in batches of 5.

        Each epoch uses one permutation of the samples drawn from the model's seed (no
        sample twice, none missed; the last batch may be smaller). ``batch_size=None``
        is the default, 32, as in Keras. ``verbose``: 0 silent,
        1 (or ``"auto"``, Keras's default) a progress bar per epoch, 2 one line per epoch
        without a bar.
        ``initial_epoch`` resumes a run: epoch k shuffles and drops out exactly as it would
        have in an uninterrupted run (given that run's data and batch size: fit warns when
        the model's step count says otherwise), and the History goes on from the one saved
        with the checkpoint. Calling ``fit`` again continues training (the optimiser keeps its
        state) with new shuffles and dropout masks, and returns a new History
        (``initial_epoch=0``), as Keras does.

        ``validation_split``, a fraction in [0, 1), holds out the *last* samples of (x, y),
        taken before any shuffling, as the validation data of every epoch (as Keras does):
        they are never trained on. Give it or ``validation_data``, not both.

        The logged ``loss`` and ``val_loss`` are means per sample, whatever the loss's
        reduction, so that the two compare (with ``reduction="sum"``, :meth:`evaluate`
        returns the sum). Metrics see the model's outputs: probabilities when it ends in
        Softmax, although training runs the fused Softmax and cross-entropy on the logits.

        Only the layers that are ``trainable`` are stepped (see
        :meth:`trainable_parameters`).

        Raises ValueError before any step for data holding NaN, infinity or numbers too
        large for the model's dtype, for a callback listed twice, and for an optimiser that
        has trained another model; FloatingPointError, naming the epoch and
        batch, when the loss becomes NaN or infinite (the weights are left as they were
        before that batch).
        The metrics are tried on two samples first, of ``x`` and of the validation data, so
        that one that raises does so before any step. A fit refused before its first step (a
        callback that raises when training begins, say; a divergence at the first batch is no
        refusal) leaves the model's ``history``, ``input_shape``, optimiser hyper-parameters
        and layers' random streams as they were.
        """
        loss, optimizer = self._require_compiled()
        (x, y, epochs, batch_size, validation_data, verbose,
         initial_epoch) = self._check_fit_args(x, y, loss, optimizer, epochs, batch_size,
                                               validation_data, verbose, initial_epoch,
                                               validation_split)
        callbacks = _callback_list(callbacks)
        # A string is truthy: Keras 2's shuffle="batch" would be a full shuffle, silently.
        shuffle = flag(shuffle, "shuffle", "fit")
        history = self._history_to_continue(initial_epoch, epochs)
        graph = self._training_graph(loss, optimizer)
        if not self.trainable:
            # As Keras warns: legal (to log a frozen model's metrics), but rarely meant.
            warnings.warn("fit: every layer with parameters is frozen (trainable=False), so "
                          "training changes no weight", UserWarning, stacklevel=2)
        if self.metrics:
            # Training computes the metrics after each step: one that fails (a function of
            # the user's, say) would fail once the first step had changed the weights. Tried
            # here on two samples, it fails before any change; on two of the validation data
            # too, which the loss may take in another form (labels for one-hot targets) than
            # a metric does, and which is first evaluated after a whole epoch. (Weights that
            # overflowed warn of nothing here: fit names them at its first batch.)
            with _quiet_overflow():
                self._evaluate(graph, x[:2], y[:2], batch_size=2)
                if validation_data is not None:
                    self._evaluate(graph, validation_data[0][:2], validation_data[1][:2],
                                   batch_size=2)
        # Each batch counts its accuracy without checking it all again: _check_data checked
        # the targets, all of y at once, and the trial above the outputs' shape.
        batch_metrics = [(name, metrics_module.unchecked_accuracy
                          if fn is metrics_module.accuracy else fn)
                         for name, fn in self.metrics]
        steps = math.ceil(len(x) / batch_size)  # batches per epoch; the last may be smaller
        self._warn_of_resume(epochs, initial_epoch, steps, len(x), batch_size)
        # History first: a ModelCheckpoint saves model.history, which must hold the epoch.
        progress = ProgressBar(verbose)
        all_callbacks = [history, progress, *callbacks]
        logged = self._logged()
        if validation_data is not None:
            logged += [f"val_{name}" for name in logged]
        params = {"epochs": epochs, "steps": steps, "verbose": verbose,
                  "initial_epoch": initial_epoch, "metrics": logged}
        for cb in all_callbacks:
            cb.set_model(self)
            cb.set_params(params)
        # A fit refused before its first step (by a callback's on_train_begin, say: a
        # ModelCheckpoint's missing folder) leaves the model as it was: its History, of the
        # fits before or loaded with a checkpoint, was replaced by the new empty one.
        steps_before = self.steps_trained
        kept = self.history, self.stop_training, self.input_shape
        # Each epoch gives the layers its own stream: the one a refused fit drew is put back.
        kept_rngs = [(layer, layer.rng) for layer in self.layers if hasattr(layer, "rng")]
        # A LearningRateScheduler sets lr in on_epoch_begin, before the epoch's first step.
        kept_hyper = {k: getattr(optimizer, k) for k in optimizer.hyper_parameters}
        self.history = history
        self.stop_training = False
        self.input_shape = tuple(x.shape[1:])  # what summary() shows by default
        try:
            self._train(x, y, graph, epochs, initial_epoch, steps, batch_size, shuffle,
                        validation_data, all_callbacks, batch_metrics)
        except BaseException as error:
            # A divergence (FloatingPointError) is not a refusal: it is what training did,
            # and leaves the model at the batch that diverged, with that epoch's rate (which
            # its message names) and random streams, whether or not the batch was this fit's
            # first: a run resumed from a checkpoint ends as the run never saved does.
            if self.steps_trained == steps_before and not isinstance(error, FloatingPointError):
                self.history, self.stop_training, self.input_shape = kept
                for layer, rng in kept_rngs:  # those of the layers it had, were any taken out
                    layer.rng = rng
                _restore_hyper_parameters(optimizer, kept_hyper)
            progress.end_line()  # the error's message, printed next, on a line of its own
            raise
        return history

    def _non_finite_weights(self) -> int | None:
        """The index, in :meth:`get_weights`, of the first array that holds NaN or
        infinity; None when all are finite."""
        return next((i for i, w in enumerate(self.weights) if not np.isfinite(w).all()), None)

    def _divergence(self, what: str, lr: float) -> str:
        """fit's message when the loss became NaN or infinite (``what``, where), naming the
        first array of weights that holds NaN or infinity, if one does. The same whether
        the weights went so in this run or before it (set_weights, or a checkpoint saved
        after its last step diverged): a run resumed from that checkpoint must end as the
        uninterrupted one did."""
        bad = self._non_finite_weights()
        if bad is None:
            return (f"{what}: training diverged. Try a lower learning rate (now {lr:g}), or "
                    "check the inputs for NaN or inf (np.seterr(all='raise') stops where the "
                    "first one appears).")
        return (f"{what}: training diverged: the weights hold NaN or infinity (array {bad} of "
                f"get_weights()), from a step of this run or of the run that saved them, or "
                f"from set_weights. Try a lower learning rate (now {lr:g}), from finite "
                f"weights.")

    def _train(self, x: np.ndarray, y: np.ndarray, graph: Graph,
               epochs: int, initial_epoch: int, steps: int, batch_size: int, shuffle: bool,
               validation_data: tuple[np.ndarray, np.ndarray] | None,
               all_callbacks: list[Callback], batch_metrics: list[tuple[str, Callable]]
               ) -> None:
        """fit's loop over the epochs and their batches, once every argument is checked,
        running ``graph``, the training graph."""
        N = len(x)
        _, loss, optimizer = graph
        summed = loss.reduction == "sum"
        # Every hook gets its logs argument, None where there are none yet, as Keras passes
        # it: Keras code often declares it without a default, def on_train_begin(self, logs).
        for cb in all_callbacks:
            cb.on_train_begin(None)
        for epoch in range(initial_epoch, epochs):
            if self.stop_training:  # set at the end of the epoch before, or before the first
                break
            rng = self._epoch_generator(epoch, steps)
            for layer in self.layers:
                layer.rng = rng  # dropout masks, random shifts
            order = rng.permutation(N) if shuffle else np.arange(N)  # (N,): each sample once
            for cb in all_callbacks:
                cb.on_epoch_begin(epoch, None)
            # Sums over the epoch so far of the loss and of each metric, each batch's value
            # weighted by its size: divided by the samples seen, the running means per sample
            # that the logs hold (and Keras's progress bar shows).
            totals = dict.fromkeys(self._logged(), 0.0)
            seen = 0  # samples trained on in this epoch so far
            for batch in range(steps):
                for cb in all_callbacks:
                    cb.on_batch_begin(batch, None)
                idx = order[batch * batch_size:(batch + 1) * batch_size]  # (B,), B <= batch_size
                yb = y[idx]
                counted = optimizer.iterations
                try:  # forward, loss, backward, step
                    value, out = self._train_step(graph, self._as_input(x[idx]), yb)
                except BaseException:
                    # Stopped (by Ctrl-C) inside the optimiser's step, after it counted the
                    # step (Adam's t) and moved some of the weights: a step the model has
                    # taken, part of it, so it counts (and fit leaves the model as it is).
                    if optimizer.iterations != counted:
                        self.steps_trained += 1
                    raise
                if not math.isfinite(value):
                    raise FloatingPointError(self._divergence(
                        f"the loss became {value} at epoch {epoch + 1}, batch {batch + 1}/"
                        f"{steps}", optimizer.lr))
                self.steps_trained += 1
                seen += len(idx)
                self._add_batch(totals, value, out, yb, batch_metrics, summed)
                logs = {k: v / seen for k, v in totals.items()}
                for cb in all_callbacks:
                    cb.on_batch_end(batch, logs)
            # The epoch's logs, a new dict of fit's own values: the last batch's logs, which a
            # callback may keep, stay as they were when callbacks add their own values to the
            # epoch's, and what a callback wrote into them (a note) is not taken for the epoch's.
            logs = {k: v / seen for k, v in totals.items()}
            if validation_data is not None:
                val = self._evaluate(graph, *validation_data, batch_size=EVAL_BATCH_SIZE)
                if summed:  # per sample, as the training loss is, so the two compare
                    val["loss"] /= len(validation_data[0])
                logs.update({f"val_{k}": v for k, v in val.items()})
            for cb in all_callbacks:
                cb.on_epoch_end(epoch, logs)
        for cb in all_callbacks:
            cb.on_train_end(None)

    def _epoch_generator(self, epoch: int, steps: int) -> np.random.Generator:
        """The Generator of ``epoch``'s random numbers (its shuffle, dropout masks and random
        shifts) in a fit of ``steps`` batches an epoch.

        Each epoch draws from a stream of its own (a SeedSequence spawn key), named by the
        epoch and by how the model's step count compares with ``epoch * steps``, the steps a
        run trained from its start has taken when that epoch begins:

        - the same: a run from its start, or one resumed from a checkpoint (which saves the
          count). Both draw the same numbers, so the resumed run ends bit for bit as the
          uninterrupted one would have.
        - more: fit was called again after a run (compiled afresh or not). The surplus names
          a new stream, so that the second call does not replay the first one's shuffles and
          masks.
        - fewer: ``fit(initial_epoch=k)`` on a model that never trained those k epochs, or
          with another batch size. Streams of their own too: with the run's, a second such
          fit, whose count is then closer to (or at) ``epoch * steps``, would replay the
          first one's.
        """
        surplus = self.steps_trained - epoch * steps
        if surplus == 0:
            return self._generator(_EPOCH_STREAM, epoch)
        if surplus > 0:
            return self._generator(_EPOCH_STREAM, epoch, surplus)
        return self._generator(_BEHIND_STREAM, epoch, -surplus)

    def _warn_of_resume(self, epochs: int, initial_epoch: int, steps: int, N: int,
                        batch_size: int) -> None:
        """Warn of a ``fit(initial_epoch=k)`` that trains no epoch, or that resumes a run and
        cannot continue it bit for bit: one on a model whose History holds that run's epochs
        0 to k - 1 but whose step count differs from k epochs of ``steps`` (N samples in
        batches of batch_size: other data or another batch size), or on a model that never
        took a step (a resume by hand without the step count). Both draw other shuffles and
        masks than the run would have (see _epoch_generator). A History that does not end
        just before k is more training, numbered on (Keras's fine-tuning examples resume at
        its last epoch): no warning."""
        if not initial_epoch:
            return
        if epochs == initial_epoch:
            # PyTorch's loops count the epochs still to go: fit(epochs=1, initial_epoch=1)
            # meant as "one more".
            warnings.warn(f"fit(epochs={epochs}, initial_epoch={initial_epoch}) trains no "
                          f"epoch: epochs counts from the start of the whole run, as in "
                          f"Keras (one more epoch is epochs={epochs + 1})",
                          UserWarning, stacklevel=user_stacklevel())
            return
        ran = self.history.epoch if self.history is not None else []
        if ran == list(range(initial_epoch)) and self.steps_trained != initial_epoch * steps:
            warnings.warn(
                f"fit(initial_epoch={initial_epoch}) resumes a run that took "
                f"{self.steps_trained} training steps in its first "
                f"{f'{initial_epoch} epochs' if initial_epoch > 1 else 'epoch'}, where this "
                f"fit takes {initial_epoch * steps} ({steps} batches an epoch: {N} samples in "
                f"batches of {batch_size}), so it draws other shuffles and dropout masks than "
                f"the run would have. To continue the run bit for bit, give fit the run's data, "
                f"batch_size and validation_split (docs/training.md#checkpoints-and-resuming)",
                UserWarning, stacklevel=user_stacklevel())
        elif not ran and self.steps_trained == 0:
            warnings.warn(
                f"fit(initial_epoch={initial_epoch}) on a model that has taken no training "
                f"step draws other shuffles and dropout masks than epoch {initial_epoch + 1} "
                f"of a run from its start would: to resume such a run by hand, set "
                f"model.steps_trained to its count too "
                f"(docs/training.md#checkpoints-and-resuming)", UserWarning,
                stacklevel=user_stacklevel())

    def _history_to_continue(self, initial_epoch: int, epochs: int) -> History:
        """A new History for ``fit``: empty, or when resuming at ``initial_epoch`` the model's
        own (loaded with the checkpoint) up to that epoch. Refuses an ``initial_epoch`` past
        ``epochs`` or past the end of that History (it would skip epochs)."""
        if initial_epoch > epochs:
            raise ValueError(f"initial_epoch must be <= epochs, got initial_epoch="
                             f"{initial_epoch} and epochs={epochs}: epochs counts from the "
                             "start of the whole run, as in Keras")
        history = History()
        if not initial_epoch or self.history is None:
            return history
        done = self.history.epoch
        if done and initial_epoch > done[-1] + 1:
            raise ValueError(f"initial_epoch={initial_epoch} would skip epochs: the model's "
                             f"history ends with epoch {done[-1] + 1}, so resume with "
                             f"initial_epoch={done[-1] + 1} (or less, to redo epochs)")
        for i, epoch in enumerate(done):
            if epoch < initial_epoch:
                history.on_epoch_end(epoch, {key: values[i] for key, values
                                             in self.history.history.items()
                                             if i < len(values)})
        return history

    # ------------------------------------------------------------------------- inference
    def predict(self, x: ArrayLike, batch_size: int | None = EVAL_BATCH_SIZE,
                verbose: int | str = 0) -> np.ndarray:
        """The model's outputs for x, (N, ...) (an array or nested lists), as (N, K):
        probabilities when it ends in Softmax.

        ``batch_size`` changes only memory and speed, and the outputs in their last bits:
        the matrix products of another batch size may add in another order (``None``, as
        in Keras, is the default, 32: see :data:`EVAL_BATCH_SIZE`). ``verbose`` (``"auto"``,
        0, 1 or 2) is accepted so that Keras code runs; nothing is printed.
        """
        batch_size = _batch_size(batch_size, EVAL_BATCH_SIZE)
        verbose_level(verbose)
        x = self._check_x(x, "x", finite=True)
        self._check_batch_axis(x, "x")
        # The layers see one batch, and name its shape: said here where the 32 comes from.
        batches = f", in batches of {batch_size}" if len(x) > batch_size else ""
        with _refused_input(f"x of shape {x.shape}{batches}", self._flat_sample_hint(x, "x")):
            outs = [self.forward(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]
            # x holds no samples: its forward still checks its shape and gives outputs (0, K)
            out = np.concatenate(outs) if outs else self.forward(x)
        # Kept once the model has taken x: a shape it refused would break summary().
        self.input_shape = tuple(x.shape[1:])  # what summary() shows by default
        return out

    def evaluate(self, x: ArrayLike, y: ArrayLike,
                 batch_size: int | None = EVAL_BATCH_SIZE,
                 verbose: int | str = 0, return_dict: bool = False) -> Any:
        """``(loss, accuracy)`` on (x, y), then any further metrics: ``x`` (N, ...) and
        ``y`` (N,) labels or (N, K) rows, arrays or nested lists, as :meth:`fit` takes them.

        The loss is that of the whole set taken as one batch: the mean over the samples, or
        their sum for a loss with ``reduction="sum"``. Just the loss (a float) when the
        model was compiled with no metrics. With ``return_dict=True``, as in Keras, the
        values by name instead: ``{"loss": ..., "accuracy": ...}``, the names of the
        History's keys. ``batch_size`` is as for :meth:`predict`. ``verbose`` (``"auto"``,
        0, 1 or 2) is accepted so that Keras code runs; nothing is printed.

        Typed ``Any``: a float, a tuple of floats or a dict, as the metrics compiled decide,
        which a type checker cannot know; so ``loss, accuracy = model.evaluate(x, y)`` checks.
        """
        loss, optimizer = self._require_compiled()
        batch_size = _batch_size(batch_size, EVAL_BATCH_SIZE)
        verbose_level(verbose)
        return_dict = flag(return_dict, "return_dict", "evaluate")
        x, y = self._check_data(x, y, loss, "x", "y")
        logs = self._evaluate(self._training_graph(loss, optimizer), x, y, batch_size)
        self.input_shape = tuple(x.shape[1:])  # what summary() shows by default
        if return_dict:
            return logs
        values = tuple(logs.values())
        return values if len(values) > 1 else values[0]

    def _logged(self) -> list[str]:
        """The names of what fit logs for each epoch and evaluate returns: the loss, then
        each metric under the name compile was given."""
        return ["loss", *(name for name, _ in self.metrics)]

    def _metric_input(self, out: np.ndarray) -> np.ndarray:
        """What metrics see of the training graph's output ``out``: the model's own output,
        so probabilities, not the logits that the fused Softmax and loss train on."""
        return softmax(out) if self.fused_softmax else out

    def _add_batch(self, totals: dict[str, float], value: float, out: np.ndarray,
                   yb: np.ndarray, metrics: list[tuple[str, Callable]], summed: bool) -> None:
        """Add to ``totals`` a batch's loss ``value`` and each of ``metrics`` on its
        training-graph outputs ``out`` (B, K) and targets ``yb``, each as a sum over the
        batch; ``summed`` when the loss has ``reduction="sum"``."""
        B = len(yb)
        # The batch's mean loss times B is its sum; a summed loss (reduction="sum") already
        # is one. Each metric is a mean over the batch, so it too is times B.
        totals["loss"] += value if summed else value * B
        # Metrics see the model's outputs: probabilities, when training gave the fused loss
        # the logits (the softmax is only computed when a metric needs it).
        y_pred = self._metric_input(out) if metrics else out
        for name, fn in metrics:
            totals[name] += fn(y_pred, yb) * B

    def _evaluate(self, graph: Graph, x: np.ndarray, y: np.ndarray,
                  batch_size: int) -> dict[str, float]:
        """``{"loss": ..., metric name: ...}`` on (x, y), run ``batch_size`` samples at a
        time through ``graph``, the training graph, without training (no dropout)."""
        layers, loss, _ = graph
        totals = dict.fromkeys(self._logged(), 0.0)
        summed = loss.reduction == "sum"
        for i in range(0, len(x), batch_size):
            xb, yb = x[i:i + batch_size], y[i:i + batch_size]
            out = self._forward(layers, self._as_input(xb), training=False)
            self._add_batch(totals, _loss_value(loss, out, yb), out, yb, self.metrics, summed)
        # The loss of the whole set, as if it were one batch: a mean over all samples, or
        # with reduction="sum" their sum.
        return {k: v if (k == "loss" and summed) else v / len(x) for k, v in totals.items()}

    # ------------------------------------------------------------------------ validation
    def _check_own(self, optimizer: Optimizer, name: str) -> None:
        """Refuse an optimiser that has stepped (or been given the state of) parameters other
        than this model's: its step count and moments are another model's, Adam's bias
        correction would start at that model's step, and saving would record its count."""
        if not optimizer.has_state_only_for([p for p, _ in self.parameters()]):
            raise ValueError(f"{name}: {optimizer!r} has stepped parameters that are not this "
                             f"model's ({optimizer.iterations} steps): it trained another "
                             f"model, a layer was taken out (model.layers.pop()), or this "
                             f"model's parameter arrays were replaced since "
                             f"(layer.params[name] = array puts in a new one, where "
                             f"set_weights copies into the old). Give the model an optimiser "
                             f"of its own: {type(optimizer).__name__}(...)")

    def _require_compiled(self) -> tuple[Loss, Optimizer]:
        """The loss and the optimiser that compile set; refused when compile has not run,
        or when either was since replaced by something else."""
        if self.loss is None or self.optimizer is None:
            raise RuntimeError("the model is not compiled: call "
                               "model.compile(loss=..., optimizer=...) first")
        # Set by hand, model.optimizer = "sgd" would fail deep in training, on an attribute
        # a str lacks; compile is what reads names.
        for name, value, kind, expected in (("loss", self.loss, Loss, "a Loss"),
                                            ("optimizer", self.optimizer, Optimizer,
                                             "an Optimizer")):
            if not isinstance(value, kind):
                raise TypeError(f"model.{name} must be {expected}, got {value!r}: set it with "
                                f"model.compile(loss, optimizer), which takes names too")
        return self.loss, self.optimizer

    def _check_fit_args(self, x: ArrayLike, y: ArrayLike, loss: Loss, optimizer: Optimizer,
                        epochs: int, batch_size: int | None,
                        validation_data: tuple[ArrayLike, ArrayLike] | None,
                        verbose: int | str, initial_epoch: int, validation_split: float
                        ) -> tuple[np.ndarray, np.ndarray, int, int,
                                   tuple[np.ndarray, np.ndarray] | None, int, int]:
        """fit's arguments, refused before any training when wrong: ``(x, y, epochs,
        batch_size, validation_data, verbose, initial_epoch)``, with ``verbose`` as 0, 1 or 2
        and, for a ``validation_split``, its last samples moved from (x, y) to
        ``validation_data``. ``loss`` and ``optimizer`` are the model's, which compile set."""
        # Compiled into two models before either trained, it passed compile's check twice.
        self._check_own(optimizer, "fit: the model's optimizer")
        if not self.layers:
            # Sequential() whose add()s went elsewhere: with no layers the outputs are the
            # inputs, whose loss may be infinite, and fit would report a divergence.
            raise RuntimeError("fit: the model has no layers; give them to Sequential([...]) "
                               "or add them with model.add(layer)")
        epochs = int_at_least("epochs", epochs, 0)
        batch_size = _batch_size(batch_size, FIT_BATCH_SIZE)
        initial_epoch = int_at_least("initial_epoch", initial_epoch, 0)
        verbose = verbose_level(verbose)
        x, y = self._check_data(x, y, loss, "x", "y")
        validation_split = number_in("validation_split", validation_split, 0.0, 1.0)
        if validation_split:
            if validation_data is not None:
                raise ValueError(f"fit: got validation_split={validation_split} and "
                                 "validation_data, expected one of them")
            x, y, validation_data = _split_off(x, y, validation_split)
        elif validation_data is not None:
            if not isinstance(validation_data, tuple | list) or len(validation_data) != 2:
                raise ValueError(f"validation_data must be a pair (x_val, y_val), got "
                                 f"{described(validation_data)}")
            validation_data = self._check_data(*validation_data, loss, "validation_data[0]",
                                               "validation_data[1]")
        return x, y, epochs, batch_size, validation_data, verbose, initial_epoch

    def _check_x(self, x: ArrayLike, name: str, finite: bool = False) -> np.ndarray:
        """``x`` as an array of numbers with a batch axis, or a ValueError naming it; with
        ``finite``, also refused when it holds NaN or infinity, or numbers too large for the
        model's dtype, which would turn into infinities in it (a whole data set is checked
        once, so that no NaN turns into a silent wrong prediction)."""
        x = real_array(x, name, "Sequential")
        if x.ndim < 1:
            raise ValueError(f"{name} must have a batch axis, got a scalar")
        if not (finite and x.dtype.kind in "iuf" and x.size):
            return x
        if x.dtype.kind == "f":
            # x.min() and x.max() rather than np.isfinite(x).all(): no array as large as x is
            # made, and a NaN anywhere makes both NaN. Checked in x's dtype: a long double
            # beyond float64's range is finite, and inf only as a Python float.
            low, high = x.min(), x.max()
            if not (np.isfinite(low) and np.isfinite(high)):
                bad = np.flatnonzero(~np.isfinite(x.reshape(len(x), -1)).all(axis=1))[0]
                raise ValueError(f"{name} holds NaN or infinite values, the first in sample "
                                 f"{bad}")
            # 1e39 in float64 is inf in float32, and 1e400 in a long double inf in either
            overflows = beyond(float(low), float(high), self.dtype)
        else:  # integers: no NaN, and uint8 pixels convert without loss, unread
            overflows = too_large(x, self.dtype)
        if overflows:
            limit = float(np.finfo(self.dtype).max)
            flat = x.reshape(len(x), -1)
            bad = np.flatnonzero(((flat > limit) | (flat < -limit)).any(axis=1))[0]
            raise ValueError(f"{name} holds numbers too large for the model's {self.dtype} "
                             f"(beyond ±{limit:.4g}), the first in sample {bad}")
        return x

    def _check_batch_axis(self, x: np.ndarray, name: str) -> None:
        """Refuse one sample given without its batch axis, ``predict(x_test[0])``: its
        batches would be slices of the sample, and a layer would name a slice's shape,
        (32,) or (32, 1), and not the sample's."""
        one = self._sample_shape()
        if one is None:
            return
        if x.shape == one:
            fix = f"{name}[None], of shape {(1, *one)}"
        elif x.ndim <= len(one) and x.size == math.prod(one):
            # One sample's numbers with fewer axes than a batch has: MNIST's (28, 28) for
            # (28, 28, 1), or (784,) flattened. (With as many, x may be a batch: a model of
            # convolutions alone takes images of any size, and learnt one from the data.)
            fix = f"{name}.reshape{(1, *one)}"
        else:
            return
        raise ValueError(f"{name} of shape {x.shape} holds one sample (the model takes "
                         f"{(None, *one)}): add the batch axis: {fix}")

    def _check_data(self, x: ArrayLike, y: ArrayLike, loss: Loss, x_name: str,
                    y_name: str) -> tuple[np.ndarray, np.ndarray]:
        """Refuse, before any training, inputs and targets that do not fit the model and its
        ``loss``. The caller keeps the shape of one sample of ``x`` as ``input_shape``
        (which summary() shows) once it has checked everything else too: a refused call
        changes nothing."""
        x = self._check_x(x, x_name, finite=True)
        self._check_batch_axis(x, x_name)
        if y is None:
            raise ValueError(f"{y_name} is None: give the targets, one per sample of {x_name}")
        y = _same_samples(x, y, x_name, y_name)
        if y.dtype.kind == "f" or (y.dtype.kind in "iu" and not loss.takes_labels):
            # One-hot rows or regression targets, compared with the outputs in the model's
            # dtype: 100000 is inf in float16, be it written 100000 or 100000.0.
            self._check_x(y, y_name, finite=True)
        # One sample through the network checks every layer's input shape (each layer's
        # error names it) and tells the number of outputs K. Only the shape is used: weights
        # that overflowed (fit names them, at its first batch) warn of nothing here.
        with (_refused_input(f"{x_name} of shape {x.shape}, tried on its first sample",
                             self._flat_sample_hint(x, x_name)),
              _quiet_overflow()):
            out_shape = self.forward(x[:1]).shape
        if isinstance(loss, CrossEntropy):
            if len(out_shape) != 2:
                raise ValueError(f"cross-entropy needs outputs of shape (N, K), the model "
                                 f"gives {out_shape}")
            losses_module.check_targets(y, out_shape[1], y_name)
        elif not loss.takes_labels and y.shape[1:] != out_shape[1:]:
            # A regression's targets often come as (N,) for outputs (N, 1), and labels for
            # a loss that compares entry by entry (MSE, or one's own). Refused, not reshaped
            # by guess, with the hint the MSE loss gives for the same mistake.
            hint = targets_hint(y_name, y.shape, out_shape)
            if (y.ndim == 1 and y.dtype.kind in "iu"
                    and type(loss).__module__ != losses_module.__name__):
                labels = (f"if {type(loss).__name__} takes class labels, say so on its "
                          f"class: takes_labels = True")
                hint = f"{hint}; or, {labels}" if hint else f" ({labels})"
            raise ValueError(f"{y_name} must have shape (N, {', '.join(map(str, out_shape[1:]))})"
                             f" like the model's output, got {y.shape}{hint}")
        if len(out_shape) == 2 and any(fn is metrics_module.accuracy for _, fn in self.metrics):
            # All of y now, not batch by batch during training: a target that is no class
            # (a regression's, say) stops fit before its first step.
            metrics_module.check_classes(y, out_shape[1], y_name)
        return x, y

    def _flat_sample_hint(self, x: np.ndarray, name: str) -> str:
        """The end of the error when a model that begins with Flatten, and knows no sample's
        shape (a fresh one), refuses a 1-D ``x``: most often one sample given without its
        batch axis, ``predict(image.reshape(784))``. Flatten makes the batches of that
        "sample", (32,), into (32, 1), and the next layer names that shape; "" otherwise."""
        if x.ndim != 1 or self._sample_shape() is not None or not (
                self.layers and isinstance(self.layers[0], Flatten)):
            return ""
        return (f" ({name} of shape {x.shape} is read as {len(x)} samples of one number each; "
                f"one sample? give it a batch axis: {name}[None])")

    # --------------------------------------------------------------------------- summary
    def _sample_shape(self) -> tuple[int, ...] | None:
        """One sample's shape, when the model knows it: that of the data it last took, or
        what its first layer declares (Dense does), else None."""
        if self.input_shape is not None:
            return self.input_shape
        try:
            shape = getattr(self.layers[0], "input_shape", None) if self.layers else None
            return None if shape is None else tuple(operator.index(d) for d in shape)
        except Exception:  # a layer of one's own may declare anything (None in it), or raise
            return None

    def summary(self, input_shape: tuple[int, ...] | None = None,
                print_fn: Callable[[str], Any] | None = print) -> None:
        """Print each layer with its output shape and parameter count, and the total.

        ``input_shape`` is one sample's shape, e.g. (784,) or (28, 28, 1); by default the
        shape of the last data seen, or what the first layer declares (Dense does). Without
        any, the output shapes are shown as "?", and a last line says how to show them.
        ``print_fn`` takes the text (print, by default, or for None as in Keras).
        """
        if input_shape is not None and (
                not isinstance(input_shape, tuple | list)
                or not all(is_int_at_least(d, 1) for d in input_shape)):
            raise ValueError(f"summary: input_shape must be one sample's shape, a tuple of "
                             f"ints >= 1 such as (784,) or (28, 28, 1), got {input_shape!r}")
        if print_fn is None:  # Keras's default, which prints
            print_fn = print
        if not callable(print_fn):
            raise TypeError(f"summary: print_fn must be a function that takes the summary's "
                            f"text (print, by default), got {print_fn!r}")
        shape = self._sample_shape() if input_shape is None else input_shape
        outputs: list[tuple[int, ...]] | None = None  # one sample's shape after each layer
        if shape is not None:
            # One sample of zeros through the network: a layer that cannot take the shape
            # refuses it with an error that names the layer and the shapes. Each output's
            # shape is what the layer returned, so a layer of one's own is shown as it is.
            with _refused_input(f"summary's input_shape {tuple(shape)}"):
                self.forward(np.zeros((1, *shape), dtype=self.dtype))
            outputs = [s[1:] for s in self._shapes[1:]]
        rows = [("Layer (type)", "Output shape", "Param #")]
        for i, layer in enumerate(self.layers):
            name = type(layer).__name__
            shown = "(None, " + ", ".join(map(str, outputs[i])) + ")" if outputs else "?"
            rows.append((f"{name.lower()}_{i} ({name})", shown.replace(", )", ")"),
                         f"{layer.num_params():,}"))
        widths = [max(len(r[c]) for r in rows) + 3 for c in range(3)]
        rule = "=" * sum(widths)
        lines = [f"Model: Sequential (seed {self.seed})", rule]
        for j, r in enumerate(rows):
            lines.append(r[0].ljust(widths[0]) + r[1].ljust(widths[1]) + r[2].rjust(widths[2]))
            if j == 0:
                lines.append(rule)
        lines += [rule, f"Total params: {self.count_params():,}"]
        frozen = sum(layer.num_params() for layer in self.layers if not layer.trainable)
        if frozen:  # as Keras shows them (it always does; here only when some are frozen)
            lines += [f"Trainable params: {self.count_params() - frozen:,}",
                      f"Non-trainable params: {frozen:,}"]
        if self.layers and outputs is None:
            # Keras refuses to summarise a model that has not seen its input's shape; here
            # the table is printed all the same, and this line says how to fill in its "?".
            lines.append("Output shapes are shown once the model has seen data, or given one "
                         "sample's shape: summary(input_shape=(28, 28, 1)), say")
        print_fn("\n".join(lines))

    # ------------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike) -> Path:
        """Save the model to one ``.npz`` file (weights, architecture, optimiser state,
        history, metadata) and return its path (``.npz`` is appended when missing); see
        :func:`tinynet.load_model`."""
        from tinynet.io import save_model  # io imports this module

        return save_model(self, path)

    # Not part of the model: PyTorch's nn.Sequential(a, b, c), which takes its layers one by
    # one, and which Python would refuse as too many arguments, or, for two layers, take as
    # the list and the seed ("'Dense' object is not iterable"); see RefusesOtherLibraries.
    @classmethod
    def _refuse_other_libraries(cls, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        takes = keywords_taken(cls) if args and isinstance(args[0], Layer) else None
        if takes and takes[0] == "layers":  # not a class of one's own that takes a layer
            shown = [f"{type(a).__name__}({'...' if a.get_config() else ''})"
                     if isinstance(a, Layer) else repr(a) for a in args]
            # The layers go in the list; what follows them (a seed given by position), after.
            n = next((i for i, a in enumerate(args) if not isinstance(a, Layer)), len(args))
            example = ", ".join([f"[{', '.join(shown[:n])}]", *shown[n:],
                                 *(f"{k}={v!r}" for k, v in kwargs.items())])
            raise TypeError(other_library_message(
                cls, f"{cls.__name__}({', '.join(shown)})",
                "PyTorch's way to give layers, one by one",
                f"tinynet's takes one list of them: {cls.__name__}({example})"))

    # The same for the nn.Module methods a training loop ported from PyTorch calls
    # (model.train(), model.eval(), ...), and for Keras's (model.train_on_batch(x, y)),
    # which Python answers with a bare "no attribute".
    # For the run only: to a type checker a __getattr__ would make any name an attribute,
    # model.train() and a mistyped model.fitt(...) included, where it should report them.
    if not TYPE_CHECKING:
        def __getattr__(self, name: str) -> Any:  # called only for a name the model lacks
            raise no_attribute(self, name, PYTORCH_METHODS, KERAS_METHODS)

    def __repr__(self) -> str:
        return f"Sequential([{', '.join(map(repr, self.layers))}], seed={self.seed})"
