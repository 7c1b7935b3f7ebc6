"""Weight initialisers: functions ``init(shape, rng, dtype) -> array``.

Why they matter: a layer's output variance is ``fan_in * Var(W) * E[x**2]``, so every layer
turns its input's mean square ``E[x**2]`` into an output variance ``fan_in * Var(W)`` times
as large, and backward multiplies the gradient's by ``fan_out * Var(W)``. Glorot (for
tanh-like units, whose slope at 0 is 1) cannot make both 1 unless fan_in = fan_out, and
compromises with ``Var(W) = 2 / (fan_in + fan_out)``; He makes up for ReLU halving
``E[x**2]`` with ``Var(W) = 2 / fan_in``. Derivation: docs/layers.md#why-these-variances.

For a Dense kernel of shape (D_in, D_out), ``fan_in = D_in`` and ``fan_out = D_out``; for a
convolution kernel (kh, kw, C_in, C_out) both are multiplied by the receptive field kh * kw.

Initialisers are named by string (``"glorot_uniform"``, ``"he_normal"``, ``"zeros"``, ...)
or passed as callables; ``normal(std)`` and ``constant(value)`` make parametrised ones.
``rng`` is a ``numpy.random.Generator`` (None: a fresh one, as for a layer; anything else
is a TypeError).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from tinynet.checks import generator, is_int_at_least, number_in

__all__ = ["INITIALIZERS", "Initializer", "constant", "draw", "fans", "get", "glorot_normal",
           "glorot_uniform", "he_normal", "he_uniform", "normal", "ones", "zeros"]

#: An initialiser: ``(shape, rng, dtype) -> array``. The dtype is Any: layers pass an np.dtype,
#: users often a type (np.float64), and an initialiser of one's own may annotate either.
Initializer = Callable[[tuple[int, ...], np.random.Generator, Any], np.ndarray]


def fans(shape: tuple[int, ...], owner: str = "fans") -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight array of ``shape`` (see the module docstring), a
    tuple of ints >= 1: a ValueError naming ``owner`` otherwise (an empty array has no fans,
    and Glorot's and He's variances would divide by 0)."""
    if not isinstance(shape, tuple | list) or not all(is_int_at_least(d, 1) for d in shape):
        raise ValueError(f"{owner}: shape must be a tuple of ints >= 1, got {shape!r}")
    if len(shape) < 2:  # a vector (a bias) or a scalar: both fans are its size, as in Keras
        return (shape[0] if shape else 1,) * 2
    receptive_field = int(np.prod(shape[:-2]))
    return shape[-2] * receptive_field, shape[-1] * receptive_field


def glorot_uniform(shape: tuple[int, ...], rng: np.random.Generator | None,
                   dtype: np.dtype | type = np.float32) -> np.ndarray:
    """U(-a, a) with a = sqrt(6 / (fan_in + fan_out)), so Var(W) = 2 / (fan_in + fan_out)."""
    rng = generator("glorot_uniform", rng)
    fan_in, fan_out = fans(shape, "glorot_uniform")
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def glorot_normal(shape: tuple[int, ...], rng: np.random.Generator | None,
                  dtype: np.dtype | type = np.float32) -> np.ndarray:
    """N(0, 2 / (fan_in + fan_out))."""
    rng = generator("glorot_normal", rng)
    fan_in, fan_out = fans(shape, "glorot_normal")
    return (rng.standard_normal(shape) * np.sqrt(2.0 / (fan_in + fan_out))).astype(dtype)


def he_uniform(shape: tuple[int, ...], rng: np.random.Generator | None,
               dtype: np.dtype | type = np.float32) -> np.ndarray:
    """U(-a, a) with a = sqrt(6 / fan_in), so Var(W) = 2 / fan_in."""
    rng = generator("he_uniform", rng)
    fan_in, _ = fans(shape, "he_uniform")
    limit = np.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def he_normal(shape: tuple[int, ...], rng: np.random.Generator | None,
              dtype: np.dtype | type = np.float32) -> np.ndarray:
    """N(0, 2 / fan_in)."""
    rng = generator("he_normal", rng)
    fan_in, _ = fans(shape, "he_normal")
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(dtype)


def zeros(shape: tuple[int, ...], rng: np.random.Generator | None = None,
          dtype: np.dtype | type = np.float32) -> np.ndarray:
    """All zeros (the default bias)."""
    return np.zeros(shape, dtype=dtype)


def ones(shape: tuple[int, ...], rng: np.random.Generator | None = None,
         dtype: np.dtype | type = np.float32) -> np.ndarray:
    """All ones (R1's bias)."""
    return np.ones(shape, dtype=dtype)


def normal(std: float = 1.0, mean: float = 0.0) -> Initializer:
    """An initialiser drawing from N(mean, std**2); ``"normal"`` by name is N(0, 1).

    ``std`` is a finite number >= 0 and ``mean`` a finite number: anything else is a
    ValueError here, not NaN or infinite weights (or a TypeError) when a layer is built.
    """
    std = number_in("normal: std", std, 0.0)
    mean = number_in("normal: mean", mean, None)

    def init(shape: tuple[int, ...], rng: np.random.Generator | None,
             dtype: np.dtype | type = np.float32) -> np.ndarray:
        return (mean + std * generator("normal", rng).standard_normal(shape)).astype(dtype)

    # Both names: repr() shows the qualified one, as <function normal(std=1.0, ...)>.
    init.__name__ = init.__qualname__ = f"normal(std={std}, mean={mean})"
    return init


def constant(value: float) -> Initializer:
    """An initialiser filling every entry with ``value``, a finite number (ValueError
    otherwise: None or NaN would fill the weights with NaN)."""
    value = number_in("constant: value", value, None)

    def init(shape: tuple[int, ...], rng: np.random.Generator | None = None,
             dtype: np.dtype | type = np.float32) -> np.ndarray:
        return np.full(shape, value, dtype=dtype)

    init.__name__ = init.__qualname__ = f"constant({value})"
    return init


INITIALIZERS: dict[str, Initializer] = {
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "xavier_uniform": glorot_uniform,
    "xavier_normal": glorot_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "zeros": zeros,
    "ones": ones,
    "normal": normal(1.0),
}


def get(init: str | Initializer, name: str = "initializer") -> Initializer:
    """The initialiser named ``init`` (a key of ``INITIALIZERS``), or ``init`` if callable.

    ``name`` is what the ValueError for anything else calls the argument, as in
    ``"Dense: W_init"``.
    """
    if callable(init):
        return init
    if isinstance(init, str) and init in INITIALIZERS:
        return INITIALIZERS[init]
    raise ValueError(f"{name} must be a callable or one of {sorted(INITIALIZERS)}, got {init!r}")


def draw(init: str | Initializer, shape: tuple[int, ...], rng: np.random.Generator,
         dtype: np.dtype, name: str = "initializer") -> np.ndarray:
    """Initial values of ``shape`` and ``dtype`` from ``init`` (a name or a callable).

    A callable must take ``(shape, rng, dtype)`` (TypeError naming ``name`` otherwise:
    Keras's initialisers take ``(shape, dtype)``). Its result is checked: it must be real
    numbers of ``shape`` (ValueError naming ``name`` otherwise, instead of a parameter of
    the wrong shape that broadcasts), finite once cast to ``dtype`` (1e39 is inf in
    float32, and training would then stop as if the learning rate had diverged). It is
    cast so that one which ignores its ``dtype`` argument (``rng.normal`` draws float64)
    does not turn a float32 layer into a float64 one.
    """
    fn = get(init, name)
    _check_signature(fn, name)
    with np.errstate(over="ignore"):  # an overflow, in fn or in the cast, is named below
        value = np.asarray(fn(shape, rng, dtype))
        if value.shape != tuple(shape) or value.dtype.kind not in "biuf":
            raise ValueError(f"{name} must return real numbers of shape {tuple(shape)}, got "
                             f"an array of shape {value.shape} and dtype {value.dtype}")
        cast = value.astype(dtype, copy=False)
    bad = np.argwhere(~np.isfinite(cast))
    if len(bad):
        at = tuple(int(i) for i in bad[0])
        raise ValueError(f"{name} must return finite numbers that {np.dtype(dtype)} holds, "
                         f"got {value[at].item()!r} at {list(at)}")
    return cast


def _check_signature(fn: Callable[..., Any], name: str) -> None:
    """TypeError naming ``name`` unless ``fn`` can be called as ``fn(shape, rng, dtype)``:
    otherwise Python's error would name neither the argument nor the signature wanted. A
    callable whose signature cannot be read (some builtins) is called as it is."""
    # NumPy 1.x gives the methods of its generators (np.random.randn is one of a global
    # RandomState) no __module__: their object's class tells.
    owner = getattr(fn, "__self__", None)
    module = (getattr(fn, "__module__", None)
              or (type(owner).__module__ if owner is not None else None) or "")
    if module == "numpy" or module.startswith("numpy."):
        # np.zeros(shape, dtype, order) binds three arguments, and would take the Generator
        # for its dtype: NumPy's error would say "Cannot interpret 'Generator(PCG64)'".
        named = getattr(fn, "__name__", "?")
        hint = (f"the name {named!r}" if named in ("zeros", "ones")
                else "a function such as lambda shape, rng, dtype: rng.normal(0, 0.01, shape)")
        raise TypeError(f"{name} must take (shape, rng, dtype), as tinynet.init's "
                        f"initialisers do, got NumPy's {module}.{named}: use {hint}")
    try:
        # The function itself, not the one functools.wraps says it wraps: an adapter of
        # (shape, rng, dtype) around a Keras initialiser is called, not the initialiser.
        signature = inspect.signature(fn, follow_wrapped=False)
    except (TypeError, ValueError):
        return
    try:
        signature.bind((1,), None, None)
    except TypeError:
        raise TypeError(f"{name} must take (shape, rng, dtype), as tinynet.init's "
                        f"initialisers do (Keras's take (shape, dtype)), got "
                        f"{getattr(fn, '__name__', fn)!s}{signature}") from None
