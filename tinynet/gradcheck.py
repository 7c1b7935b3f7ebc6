"""Numerical gradients: the test every backward pass must pass. See docs/gradcheck.md.

The derivative of f at x is approximated by the central difference

    df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / (2h)

whose error is O(h^2) (the one-sided difference's is O(h)). In float64 with h = 1e-6 (the
argument ``eps`` below) it agrees with a correct analytic gradient to a relative error of
1e-11 to 1e-9 (docs/gradcheck.md#expected-sizes), far below :data:`TOLERANCE`.

A layer's output is an array, not a number, so we check the scalar ``f(x) = sum(y * dy)``
for a *random* upstream gradient ``dy``: its gradient is exactly what ``backward(dy)``
returns, and a random ``dy`` (unlike all ones) catches errors that a symmetric one hides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinynet import losses as losses_module
from tinynet.checks import class_given, flag, int_at_least, number_in, real_array
from tinynet.layers.base import Layer, check_gradient, check_grads
from tinynet.losses import Loss

__all__ = ["FLOOR", "TOLERANCE", "GradCheckResult", "check_layer", "check_model",
           "factor_note", "numerical_gradient", "relative_error"]

#: A correct float64 backward pass scores well below this relative error.
TOLERANCE = 1e-6
#: The relative error's floor: two gradients that are both ~0 agree.
FLOOR = 1e-8


def _check_eps(owner: str, eps: float) -> float:
    """``eps`` as a float, > 0 and finite: 0 would divide by zero, a negative or NaN step
    gives a meaningless quotient (1e-6 suits float64)."""
    return number_in(f"{owner}: eps", eps, 0.0, low_inclusive=False)


def _check_tolerance(owner: str, tolerance: float) -> float:
    """``tolerance`` as a float, > 0 and finite: with 0, a negative number or NaN no check
    could pass, and a string would fail only when ``passed`` is read."""
    return number_in(f"{owner}: tolerance", tolerance, 0.0, low_inclusive=False)


def _scalar_function(f: Callable[[np.ndarray], float],
                     name: str) -> Callable[[np.ndarray], float]:
    """``f``, checked to be callable, wrapped so that a value that is not one real number (an
    array, None) is a ValueError naming the function instead of a NumPy error about setting
    an array element with a sequence."""
    if not callable(f):
        raise TypeError(f"numerical_gradient: f must be a function of {name} that returns a "
                        f"number, got {f!r}")

    def scalar(x: np.ndarray) -> float:
        value = f(x)
        # One real number, Python's or NumPy's (np.sum gives a NumPy scalar); not a bool,
        # whose dtype's kind is "b".
        if np.ndim(value) != 0 or np.asarray(value).dtype.kind not in "iuf":
            raise ValueError(f"numerical_gradient: f must return one real number (the loss), "
                             f"got {value!r:.80}")
        return value

    return scalar


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray,
                       eps: float = 1e-6, *, name: str = "x") -> np.ndarray:
    """Central-difference gradient of the scalar function ``f`` at ``x``; shape of ``x``.

    ``x`` is perturbed in place, one entry at a time, and restored (also when ``f`` raises):
    ``f`` may read ``x`` itself (as a layer reads its own parameters). Any memory layout
    works (a transposed or sliced view too): entries are nudged through indices into ``x``
    itself. Use float64: in float32 the rounding error of f, about 1e-7 |f| / h, swamps the
    derivative. ``name`` is what error messages call ``x``.

    Raises TypeError unless ``x`` is a NumPy array and ``f`` a function, ValueError if ``x``
    is not a writeable float array (an integer entry cannot move by eps: ``1 + 1e-6`` is
    stored as 1), if ``eps`` is not a finite number > 0, or if ``f`` returns anything but
    one real number.
    """
    eps = _check_eps("numerical_gradient", eps)
    f = _scalar_function(f, name)
    if not isinstance(x, np.ndarray):
        raise TypeError(f"numerical_gradient: {name} must be a NumPy array (it is perturbed "
                        f"in place), got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise ValueError(f"numerical_gradient: {name} must be a float array (float64 for a "
                         f"gradient check), got dtype {x.dtype}: its entries cannot be nudged "
                         f"by eps={eps:g} (convert it with .astype(np.float64))")
    if not x.flags.writeable:
        raise ValueError(f"numerical_gradient: {name} is read-only, but it must be perturbed "
                         "in place (make it writeable, or pass a writeable copy)")
    grad = np.zeros(x.shape, dtype=np.float64)
    original = x.copy()  # put back if f raises: x may be a layer's live parameter
    try:
        # BEGIN SOLUTION gradcheck
        # HINT: for each index i in np.ndindex(x.shape), nudge x[i] in place: grad[i] = (f(x)
        # HINT: with x[i] + eps, minus f(x) with x[i] - eps) / (2 * eps); then put x[i] back
        # The central difference of the module's docstring, with eps for its h. Index x
        # itself, not a flattened copy: x.reshape(-1) of a non-contiguous x (a transposed or
        # Fortran-ordered parameter) is a copy, whose nudges f would never see.
        for i in np.ndindex(x.shape):
            saved = x[i]
            x[i] = saved + eps
            f_plus = f(x)
            x[i] = saved - eps
            f_minus = f(x)
            x[i] = saved
            grad[i] = (f_plus - f_minus) / (2 * eps)
        # END SOLUTION
    except BaseException:
        x[...] = original
        raise
    return grad


def relative_error(analytic: np.ndarray, numeric: np.ndarray,
                   floor: float = FLOOR) -> tuple[float, tuple[int, ...]]:
    """The relative error of two gradients, and the index of the worst entry.

    The error is ``||a - n|| / max(floor, ||a|| + ||n||)`` over the whole array: entries
    that are ~0 in both do not blow it up (an entry-wise ratio would divide rounding noise
    by ~0). The worst index, ``argmax |a - n|``, tells where to look when it fails.

    Shapes: ``analytic`` and ``numeric`` alike, any shape, real numbers; ``floor`` a finite
    number > 0 (with 0, two zero gradients would divide 0 by 0). ValueError otherwise.
    """
    floor = number_in("relative_error: floor", floor, 0.0, low_inclusive=False)
    analytic = real_array(analytic, "analytic", "relative_error").astype(np.float64)
    numeric = real_array(numeric, "numeric", "relative_error").astype(np.float64)
    if analytic.shape != numeric.shape:
        raise ValueError(f"relative_error: numeric must have analytic's shape "
                         f"{analytic.shape}, got {numeric.shape}")
    if analytic.size == 0:
        return 0.0, ()
    # BEGIN SOLUTION gradcheck
    # HINT: return ||analytic - numeric|| / max(floor, ||analytic|| + ||numeric||), the norms
    # HINT: by np.linalg.norm, and the index of the largest |analytic - numeric|, a tuple of ints
    diff = np.abs(analytic - numeric)
    scale = max(floor, float(np.linalg.norm(analytic) + np.linalg.norm(numeric)))
    worst = np.unravel_index(int(np.argmax(diff)), diff.shape)
    return float(np.linalg.norm(diff) / scale), tuple(int(i) for i in worst)
    # END SOLUTION


@dataclass
class GradCheckResult:
    """The outcome of a check: ``errors[name]`` is the relative error of each gradient
    (``"x"`` for the input, parameter names otherwise); ``worst`` names the largest; ``note``
    says why a right backward may fail (a float32 layer), and ``str()`` shows it on failure.
    As a truth value the result is ``passed`` (``assert check_layer(layer, x)``); as a
    number, ``float(result)``, it is ``max_error``.

    ``analytic[name]`` and ``numeric[name]`` are the two gradients compared, float64 arrays
    of the shape of what they differentiate: set side by side, they often show the bug (a
    ratio of 2 everywhere, a sign, a transposed block)."""

    errors: dict[str, float]
    worst_index: dict[str, tuple[int, ...]]
    tolerance: float = TOLERANCE
    #: Said after a failed verdict: why the check may fail a right backward (float32).
    note: str = ""
    # Not compared by ==, which would ask an array for one truth value.
    analytic: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)
    numeric: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    @property
    def worst(self) -> tuple[str, float]:
        """The gradient with the largest relative error, and that error: ``("W", 3e-9)``."""
        return max(self.errors.items(), key=lambda item: item[1])

    @property
    def max_error(self) -> float:
        """The largest relative error of any gradient checked."""
        return max(self.errors.values())

    @property
    def passed(self) -> bool:
        """Whether every relative error is below ``tolerance``."""
        return self.max_error < self.tolerance

    def __bool__(self) -> bool:
        # ``assert check_layer(layer, x)`` reads as "the check passed", and must mean it: a
        # dataclass is otherwise always true, and that assert would pass a wrong backward.
        # (bool(): errors of NumPy's floats, a relative_error of one's own, give np.bool_.)
        return bool(self.passed)

    def __float__(self) -> float:
        """``max_error``: a check read as a number is its largest relative error."""
        return float(self.max_error)

    def __str__(self) -> str:
        name, err = self.worst
        verdict = "passed" if self.passed else "FAILED"
        # What a failed check says of its cause comes first: a grade, or a terminal, may cut
        # a long line, and the errors per gradient say less.
        notes = [] if self.passed else [n for n in (self._factor(name), self.note) if n]
        return (f"gradient check {verdict}: " + "".join(f"{n}; " for n in notes)
                + f"worst relative error {err:.2e} in d{name} at index "
                f"{self.worst_index[name]} (tolerance {self.tolerance:.0e}); "
                + ", ".join(f"d{k}: {v:.1e}" for k, v in self.errors.items()))

    def _factor(self, name: str) -> str:
        analytic, numeric = self.analytic.get(name), self.numeric.get(name)
        if analytic is None or numeric is None:
            return ""
        return factor_note(f"d{name}", analytic, numeric)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # What IPython and Jupyter show for a check left as a cell's last line: the verdict
        # that print() shows, not the dataclass's fields.
        printer.text(str(self))


def factor_note(name: str, analytic: np.ndarray, numeric: np.ndarray) -> str:
    """A note when the gradient ``analytic`` (called ``name``) is ``numeric``, the numerical
    one, times a constant k other than 1, entry for entry (to 0.1%): the commonest bugs make
    exactly that, a 1/N left out or added (k = N or 1/N), a term counted twice (2), a sign
    (-1); or when it is 0 throughout. "" otherwise. Both arrays of one shape."""
    if not np.any(numeric):
        return ""
    if not np.any(analytic):
        return f"{name} is 0 throughout, and the numerical gradient is not"
    k = float(np.sum(analytic * numeric) / np.sum(numeric * numeric))  # least squares
    if abs(k - 1) < 1e-2 or not np.allclose(analytic, k * numeric, rtol=1e-3,
                                            atol=1e-3 * abs(k) * np.abs(numeric).max()):
        return ""
    return (f"{name} is {k:.4g} times the numerical gradient throughout: a factor such as "
            "1/N or 2, or a sign?")


def _precision_note(what: str, *arrays: np.ndarray) -> str:
    """A note for a check of ``what`` (a layer, a model) whose ``arrays`` (its output and
    parameters) hold floats narrower than float64: their rounding, about 1e-7 of |f| in
    float32, divided by 2 eps, makes errors near 1e-2 of a right backward (gradcheck.md)."""
    if any(a.dtype.kind == "f" and a.dtype.itemsize < 8 for a in arrays):
        return (f"the {what} computes in float32, whose rounding alone fails the check: "
                f"build {'it' if what == 'layer' else 'its layers'} with dtype=np.float64")
    return ""


def _checked_x(owner: str, x: Any) -> np.ndarray:
    """A float64 copy of ``x`` to nudge, or a ValueError naming ``owner`` unless it holds
    real, finite numbers, at least one: no numbers would pass a check that checks nothing,
    and a NaN would fail it as if the backward pass were wrong."""
    # As float64, but only from real numbers (a complex x would lose its imaginary part with
    # a warning, strings of digits would be parsed).
    x = np.array(real_array(x, "x", owner), dtype=np.float64)
    if x.size == 0:
        raise ValueError(f"{owner}: x must hold at least one number, got shape {x.shape}: a "
                         "check of no numbers checks nothing")
    bad = int(np.count_nonzero(~np.isfinite(x)))
    if bad:
        raise ValueError(f"{owner}: x must hold finite numbers, got {bad} NaN or infinite "
                         "values")
    return x


def _describe(layer: Any) -> str:
    """How messages name a layer: its repr for a tinynet Layer (the constructor arguments),
    the class name for anything else (whose repr may be an address)."""
    return repr(layer) if isinstance(layer, Layer) else type(layer).__name__


def _require_layer(owner: str, layer: Any, where: str = "layer") -> None:
    """A TypeError naming ``where`` unless ``layer`` is a layer instance (a class has the
    methods, but unbound: its forward would fail on a missing ``self``)."""
    # Any class, not only Layer's subclasses: a layer need only have the methods.
    if given := class_given(f"{owner}: {where}", layer, object, "a layer"):
        raise TypeError(given)
    missing = [a for a in ("forward", "backward", "params", "grads") if not hasattr(layer, a)]
    if missing:
        raise TypeError(f"{owner}: {where} must be a layer (with forward, backward, params "
                        f"and grads, see tinynet.layers.Layer), got {type(layer).__name__}, "
                        f"which has no {', '.join(missing)}")


def _check_params(where: str, layer: Any) -> None:
    """An error naming ``where`` and the parameter unless every ``params`` entry is a
    writeable float array (the numerical gradient nudges it in place by eps): TypeError for
    a non-array, ValueError for another dtype or a read-only array."""
    for name, p in layer.params.items():
        if not isinstance(p, np.ndarray):
            raise TypeError(f"{where}: params[{name!r}] must be a NumPy array, got "
                            f"{type(p).__name__}")
        if p.dtype.kind != "f":
            raise ValueError(f"{where}: params[{name!r}] has dtype {p.dtype}, expected a float "
                             "dtype (float64 for a gradient check): its entries cannot be nudged "
                             "by eps, nor learnt by small steps")
        if not p.flags.writeable:
            raise ValueError(f"{where}: params[{name!r}] is read-only, but the check nudges "
                             "it in place")


def _as_gradient(where: str, what: str, value: Any, shape: tuple[int, ...],
                 like: str) -> np.ndarray:
    """``value``, a gradient a backward pass produced, checked by
    :func:`tinynet.layers.base.check_gradient` and copied as float64."""
    # A copy: a later forward (of the numerical gradient) may overwrite what backward kept.
    return np.array(check_gradient(where, what, value, shape, like), dtype=np.float64)


def _param_gradients(where: str, layer: Any) -> dict[str, np.ndarray]:
    """Copies of ``layer.grads`` after a backward, one per parameter, in ``params`` order.

    The Layer contract: backward fills ``grads[name]`` for every parameter, of its shape,
    and ``grads`` has no other key. Checking only the keys found in ``grads`` would pass a
    backward that forgot a parameter, so a missing, extra or misshapen gradient is an error
    naming the layer (``where``) and the parameter (:func:`tinynet.layers.base.check_grads`).
    """
    check_grads(where, layer)
    return {name: np.array(layer.grads[name], dtype=np.float64) for name in layer.params}


def check_layer(layer: Layer, x: np.ndarray, training: bool = False, seed: int = 0,
                eps: float = 1e-6, tolerance: float = TOLERANCE) -> GradCheckResult:
    """Compare ``layer.backward`` with numerical gradients, for ``x`` and every parameter.

    ``layer`` is an instance (``ReLU()``, not ``ReLU``) and ``x`` a batch of its input,
    shape (N, ...). Build the layer in float64 (``dtype=np.float64``) and pass a float64
    ``x``. The random upstream gradient ``dy`` (the shape of the output) and any random
    numbers the layer draws (Dropout's mask) come from ``seed``, redrawn identically before
    every forward, so f is a fixed function; the layer gets its own Generator back after.

    Every parameter in ``params`` is checked. A backward that breaks the Layer contract is
    an error naming the layer and what was expected: TypeError when it returns None (or
    ``grads[name]`` is None), ValueError when ``dx`` or a ``grads`` entry has the wrong
    shape, or ``grads`` misses a parameter or has a key ``params`` lacks. A TypeError too
    for a layer class, a ValueError for a non-float parameter, an ``x`` that is not real
    numbers (finite, at least one), an ``eps`` or ``tolerance`` that is not a finite number
    > 0, or a ``seed`` that is not an int >= 0; a TypeError for a ``training`` that is not
    True or False.
    """
    owner = "check_layer"
    _require_layer(owner, layer)
    eps = _check_eps(owner, eps)
    tolerance = _check_tolerance(owner, tolerance)
    seed = int_at_least(f"{owner}: seed", seed, 0)
    training = flag(training, "training", owner)
    where = f"{owner}: {_describe(layer)}"
    _check_params(where, layer)
    x = _checked_x(owner, x)  # our own copy, perturbed in place
    rng = getattr(layer, "rng", None)  # the layer's own, put back at the end
    try:
        return _check_layer(where, layer, x, eps, tolerance, seed, training)
    finally:
        if rng is not None:
            layer.rng = rng


def _check_layer(where: str, layer: Layer, x: np.ndarray, eps: float, tolerance: float,
                 seed: int, training: bool) -> GradCheckResult:
    """check_layer's comparison, once its arguments are checked."""

    def forward(inp: np.ndarray) -> np.ndarray:
        if getattr(layer, "rng", None) is not None:
            layer.rng = np.random.default_rng(seed)
        return layer.forward(inp, training=training)

    y = forward(x)
    dy = np.random.default_rng(seed + 1).standard_normal(np.shape(y))

    # f(x) = sum(y * dy). It ignores its argument: numerical_gradient nudges x, or a
    # parameter the layer reads from params, in place, and f sees the nudge through them.
    def f(_: np.ndarray) -> float:
        return float(np.sum(forward(x) * dy))

    dx = layer.backward(dy.copy())  # of the forward that gave y
    if dx is None:
        raise TypeError(f"{where}: backward returned None, expected dL/dx, an array of shape "
                        f"{x.shape} (the shape of x)")
    analytic = {"x": _as_gradient(where, "dx (what backward returned)", dx, x.shape, "x")}
    analytic.update(_param_gradients(where, layer))
    numeric = {"x": numerical_gradient(f, x, eps)}
    for name, p in layer.params.items():
        numeric[name] = numerical_gradient(f, p, eps, name=f"params[{name!r}]")
    return _result(analytic, numeric, tolerance,
                   _precision_note("layer", np.asarray(y), *layer.params.values()))


def _get_loss(owner: str, loss: str | Loss) -> Loss:
    """``loss`` as a Loss, accepting Keras's names as ``Sequential.compile`` does."""
    try:
        return losses_module.get(loss)
    except ValueError as error:
        raise ValueError(f"{owner}: {error}") from None


def check_model(model: Any, loss: str | Loss, x: np.ndarray, y: np.ndarray,
                eps: float = 1e-6, tolerance: float = TOLERANCE) -> GradCheckResult:
    """Compare a whole model's backward pass through ``loss`` with numerical gradients.

    ``model`` is a :class:`tinynet.Sequential` (float64 layers); ``loss`` a tinynet loss or
    one of the names ``Sequential.compile`` takes (``"categorical_crossentropy"``, ...);
    (x, y) a small batch, x of shape (N, ...) and y the targets the loss expects. Checks
    dL/dx and every parameter of every layer (named ``"<layer index>.<param>"``). A layer
    that breaks the Layer contract is an error naming it, as in :func:`check_layer`; so is
    an ``x`` that is not real numbers (finite, at least one), or an ``eps`` or ``tolerance``
    that is not a finite number > 0 (ValueError).
    """
    owner = "check_model"
    if given := class_given(f"{owner}: model", model, object, "a model", "([...])"):
        raise TypeError(given)
    if not hasattr(model, "layers"):
        raise TypeError(f"{owner}: model must be a Sequential (with layers), got "
                        f"{type(model).__name__}")
    loss = _get_loss(owner, loss)
    eps = _check_eps(owner, eps)
    tolerance = _check_tolerance(owner, tolerance)
    layers = list(model.layers)
    where = [f"{owner}: layer {i} ({_describe(layer)})" for i, layer in enumerate(layers)]
    for i, layer in enumerate(layers):
        _require_layer(owner, layer, f"layer {i}")
        _check_params(where[i], layer)
    x = _checked_x(owner, x)

    # The loss; like check_layer's f, it reads x and the parameters, nudged in place.
    def f(_: np.ndarray) -> float:
        return loss.forward(model.forward(x, training=False), y)

    out = model.forward(x, training=False)  # f(x), in two steps: out's dtype is the note's
    loss.forward(out, y)
    note = _precision_note("model", np.asarray(out),
                           *(p for layer in layers for p in layer.params.values()))
    # Sequential.backward checks each layer's dx and grads as they come back: a layer that
    # breaks the contract is named, not the layer before it, which would report the dy it is
    # given as its own error.
    grad = model.backward(loss.backward())
    analytic = {"x": _as_gradient(owner, "dx (what the first layer's backward returned)",
                                  grad, x.shape, "x")}
    for i, layer in enumerate(layers):
        for name, g in _param_gradients(where[i], layer).items():
            analytic[f"{i}.{name}"] = g
    # Only now: numerical_gradient runs forward again, which overwrites what backward kept.
    numeric = {"x": numerical_gradient(f, x, eps)}
    for i, layer in enumerate(layers):
        for name, p in layer.params.items():
            numeric[f"{i}.{name}"] = numerical_gradient(f, p, eps, name=f"layer {i} {name!r}")
    return _result(analytic, numeric, tolerance, note)


def _result(analytic: dict[str, np.ndarray], numeric: dict[str, np.ndarray],
            tolerance: float, note: str = "") -> GradCheckResult:
    """The relative error of every gradient; ``analytic`` and ``numeric`` have the same keys."""
    errors, worst = {}, {}
    for name in numeric:
        errors[name], worst[name] = relative_error(analytic[name], numeric[name])
    return GradCheckResult(errors, worst, tolerance, note, analytic, numeric)
