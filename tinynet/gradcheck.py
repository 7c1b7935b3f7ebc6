"""Numerical gradients: the test every backward pass must pass. See docs/gradcheck.md.

The derivative of f at x is approximated by the central difference

    df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / 2h

whose error is O(h^2) (the one-sided difference's is O(h)). In float64 with h = 1e-6 it
agrees with a correct analytic gradient to about 1e-8 relative error or better.

A layer's output is an array, not a number, so we check the scalar ``f(x) = sum(y * dy)``
for a *random* upstream gradient ``dy``: its gradient is exactly what ``backward(dy)``
returns, and a random ``dy`` (unlike all ones) catches errors that a symmetric one hides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: A correct float64 backward pass scores well below this relative error.
TOLERANCE = 1e-6
#: The relative error's floor: two gradients that are both ~0 agree.
FLOOR = 1e-8


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray,
                       eps: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of the scalar function ``f`` at ``x``; shape of ``x``.

    ``x`` is perturbed in place, one entry at a time, and restored: ``f`` may read ``x``
    itself (as a layer reads its own parameters). Use float64: in float32 the rounding
    error of f, about 1e-7 |f| / h, swamps the derivative.
    """
    grad = np.zeros(x.shape, dtype=np.float64)
    flat_x, flat_grad = x.reshape(-1), grad.reshape(-1)
    if not np.shares_memory(flat_x, x):
        raise ValueError("numerical_gradient: x must be contiguous, to be perturbed in place")
    # BEGIN SOLUTION gradcheck
    # HINT: flat_grad[i] = (f at x_i + eps - f at x_i - eps) / (2 eps), then restore x_i
    for i in range(flat_x.size):
        saved = flat_x[i]
        flat_x[i] = saved + eps
        f_plus = f(x)
        flat_x[i] = saved - eps
        f_minus = f(x)
        flat_x[i] = saved
        flat_grad[i] = (f_plus - f_minus) / (2 * eps)
    # END SOLUTION
    return grad


def relative_error(analytic: np.ndarray, numeric: np.ndarray,
                   floor: float = FLOOR) -> tuple[float, tuple[int, ...]]:
    """The relative error of two gradients, and the index of the worst entry.

    The error is ``||a - n|| / max(floor, ||a|| + ||n||)`` over the whole array: entries
    that are ~0 in both do not blow it up (an entry-wise ratio would divide rounding noise
    by ~0). The worst index, ``argmax |a - n|``, tells where to look when it fails.
    """
    analytic, numeric = np.asarray(analytic, np.float64), np.asarray(numeric, np.float64)
    if analytic.shape != numeric.shape:
        raise ValueError(f"relative_error: analytic gradient has shape {analytic.shape}, "
                         f"numerical {numeric.shape}")
    if analytic.size == 0:
        return 0.0, ()
    # BEGIN SOLUTION gradcheck
    # HINT: return ||a - n|| / max(floor, ||a|| + ||n||) and the index of the largest |a - n|
    diff = np.abs(analytic - numeric)
    scale = max(floor, float(np.linalg.norm(analytic) + np.linalg.norm(numeric)))
    worst = np.unravel_index(int(np.argmax(diff)), diff.shape)
    return float(np.linalg.norm(diff) / scale), tuple(int(i) for i in worst)
    # END SOLUTION


@dataclass
class GradCheckResult:
    """The outcome of a check: ``errors[name]`` is the relative error of each gradient
    (``"x"`` for the input, parameter names otherwise); ``worst`` names the largest."""

    errors: dict[str, float]
    worst_index: dict[str, tuple[int, ...]]
    tolerance: float = TOLERANCE

    @property
    def worst(self) -> tuple[str, float]:
        name = max(self.errors, key=self.errors.get)
        return name, self.errors[name]

    @property
    def max_error(self) -> float:
        return max(self.errors.values())

    @property
    def passed(self) -> bool:
        return self.max_error < self.tolerance

    def __str__(self) -> str:
        name, err = self.worst
        verdict = "passed" if self.passed else "FAILED"
        return (f"gradient check {verdict}: worst relative error {err:.2e} in d{name} at index "
                f"{self.worst_index[name]} (tolerance {self.tolerance:.0e}); "
                + ", ".join(f"d{k}: {v:.1e}" for k, v in self.errors.items()))


def check_layer(layer, x: np.ndarray, training: bool = False, seed: int = 0,
                eps: float = 1e-6, tolerance: float = TOLERANCE) -> GradCheckResult:
    """Compare ``layer.backward`` with numerical gradients, for ``x`` and every parameter.

    Build the layer in float64 (``dtype=np.float64``) and pass a float64 ``x``. The random
    upstream gradient ``dy`` and any random numbers the layer draws (Dropout's mask) come
    from ``seed``, redrawn identically before every forward, so f is a fixed function.
    """
    x = np.array(x, dtype=np.float64)  # our own copy, perturbed in place

    def forward(inp: np.ndarray) -> np.ndarray:
        if layer.rng is not None:
            layer.rng = np.random.default_rng(seed)
        return layer.forward(inp, training=training)

    y = forward(x)
    dy = np.random.default_rng(seed + 1).standard_normal(y.shape)

    def f(_: np.ndarray) -> float:
        return float(np.sum(forward(x) * dy))

    forward(x)
    dx = layer.backward(dy.copy())
    analytic = {"x": dx, **{k: g.copy() for k, g in layer.grads.items()}}
    numeric = {"x": numerical_gradient(f, x, eps)}
    for name, p in layer.params.items():
        numeric[name] = numerical_gradient(f, p, eps)
    return _result(analytic, numeric, tolerance)


def check_model(model, loss, x: np.ndarray, y: np.ndarray, eps: float = 1e-6,
                tolerance: float = TOLERANCE) -> GradCheckResult:
    """Compare a whole model's backward pass through ``loss`` with numerical gradients.

    ``model`` is a :class:`tinynet.Sequential` (float64 layers), ``loss`` a tinynet loss,
    (x, y) a small batch. Checks dL/dx and every parameter of every layer (named
    ``"<layer index>.<param>"``).
    """
    x = np.array(x, dtype=np.float64)

    def f(_: np.ndarray) -> float:
        return loss.forward(model.forward(x, training=False), y)

    f(x)
    dx = model.backward(loss.backward())
    analytic = {"x": dx}
    numeric = {"x": numerical_gradient(f, x, eps)}
    for i, layer in enumerate(model.layers):
        for name in layer.params:
            analytic[f"{i}.{name}"] = layer.grads[name].copy()
    # Only now: numerical_gradient runs forward again, which overwrites what backward kept.
    for i, layer in enumerate(model.layers):
        for name, p in layer.params.items():
            numeric[f"{i}.{name}"] = numerical_gradient(f, p, eps)
    return _result(analytic, numeric, tolerance)


def _result(analytic: dict[str, np.ndarray], numeric: dict[str, np.ndarray],
            tolerance: float) -> GradCheckResult:
    errors, worst = {}, {}
    for name in analytic:
        errors[name], worst[name] = relative_error(analytic[name], numeric[name])
    return GradCheckResult(errors, worst, tolerance)
