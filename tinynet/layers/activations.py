"""Element-wise activations and Softmax. Derivations: docs/activations.md, docs/softmax.md.

Each activation is applied to every entry of ``x`` independently, so ``y`` and ``dx`` have
the shape of ``x``, whatever it is, and backward is ``dx = dy * f'(x)`` (the chain rule
entry by entry). Softmax is the exception: it couples the entries of a row.
"""

from __future__ import annotations

import numpy as np

from tinynet.checks import real_array
from tinynet.layers.base import Layer, checked_dy, float_input


class ReLU(Layer):
    """``y = max(x, 0)``; ``dx = dy * (x > 0)``, so ReLU'(0) = 0 by convention.

    Derivation: docs/activations.md#relu.
    """

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """x (N, ...) -> y = max(x, 0), of x's shape."""
        x = float_input(x, self)
        # BEGIN SOLUTION relu
        # HINT: keep x for backward, self._save(x=x); y = max(x, 0) entry by entry (np.maximum,
        # HINT: which passes a NaN on, as docs/activations.md#relu says it must)
        self._save(x=x)
        # y = max(x, 0): the same as np.maximum(x, 0), written this way for speed. NumPy
        # vectorises maximum only when both operands step through memory; against the
        # scalar 0 it goes entry by entry, 3x slower. So x is compared with the zeros of one
        # sample, x.shape[1:], which broadcast along the batch axis.
        return np.maximum(x, np.zeros(x.shape[1:], dtype=x.dtype))  # (N, ...), x's shape
        # END SOLUTION

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dy (N, ...) -> dx = dy * (x > 0), both of x's shape."""
        x = self._load("x")
        dy = checked_dy(self, dy, x.shape, x.dtype)
        # BEGIN SOLUTION relu
        # HINT: dx = dy * (x > 0), a new array
        # A new array: never zero the caller's dy in place.
        return dy * (x > 0)  # (N, ...), x's shape
        # END SOLUTION


class Sigmoid(Layer):
    """``y = 1 / (1 + exp(-x))``; ``dx = dy * y * (1 - y)``.

    Computed without overflow: for x < 0, exp(-x) would overflow past x = -709 in float64
    (-88 in float32), so there we use the equal form exp(x) / (1 + exp(x)). Both forms are
    written with e = exp(-|x|) <= 1, which never overflows.

    Derivation: docs/activations.md#sigmoid.
    """

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """x (N, ...) -> y = 1 / (1 + exp(-x)), of x's shape."""
        x = float_input(x, self)
        # BEGIN SOLUTION sigmoid
        # HINT: keep y for backward, self._save(y=y); y = 1 / (1 + exp(-x)), written with
        # HINT: e = exp(-|x|) <= 1, which may underflow to 0: harmless, np.errstate(under='ignore')
        with np.errstate(under="ignore"):  # exp(-1e4) is 0: an exact, harmless underflow
            e = np.exp(-np.abs(x))  # (N, ...), x's shape, in [0, 1]
            y = np.where(x >= 0, 1 / (1 + e), e / (1 + e))  # (N, ...)
        self._save(y=y)
        return y
        # END SOLUTION

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dy (N, ...) -> dx = dy * y * (1 - y), both of x's shape."""
        y = self._load("y")
        dy = checked_dy(self, dy, y.shape, y.dtype)
        # BEGIN SOLUTION sigmoid
        # HINT: dx = dy * y * (1 - y), under np.errstate(under='ignore') (y may be tiny)
        with np.errstate(under="ignore"):  # y may be a tiny (subnormal) number: fine
            return dy * y * (1 - y)  # (N, ...)
        # END SOLUTION


class Tanh(Layer):
    """``y = tanh(x)``; ``dx = dy * (1 - y**2)``.

    Derivation: docs/activations.md#tanh.
    """

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """x (N, ...) -> y = tanh(x), of x's shape."""
        y = np.tanh(float_input(x, self))  # (N, ...)
        self._save(y=y)
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dy (N, ...) -> dx = dy * (1 - y**2), both of x's shape."""
        y = self._load("y")
        dy = checked_dy(self, dy, y.shape, y.dtype)
        with np.errstate(under="ignore"):  # y * y of a tiny y is 0: exact, harmless
            return dy * (1 - y * y)  # (N, ...)


def _scores(z: np.ndarray, name: str, owner: Layer | str) -> np.ndarray:
    """``z`` as an array of floats of shape (..., K) with K >= 1, or a ValueError naming
    ``owner`` and ``name``. Integers become float64 (float arrays are kept as they are):
    in uint8, ``z - max(z)`` would wrap around (0 - 255 = 1) and exp would give float16."""
    z = real_array(z, name, owner)
    if z.ndim == 0 or z.shape[-1] == 0:
        who = owner if isinstance(owner, str) else repr(owner)
        raise ValueError(f"{who}: {name} must have shape (..., K) with K >= 1 classes on its "
                         f"last axis, got shape {z.shape}")
    return z if z.dtype.kind == "f" else z.astype(np.float64)


def softmax(z: np.ndarray) -> np.ndarray:
    """Softmax over the last axis: ``exp(z) / sum(exp(z))`` per row; shape of ``z``, (..., K).

    Naively, exp(1000) overflows to inf and inf / inf is NaN. Softmax does not change when the
    same number is added to every entry of a row, so we subtract the row's maximum first:
    every exponent is then <= 0 (no overflow) and the largest is exp(0) = 1, so the
    denominator is at least 1 (no division by zero). See docs/softmax.md.

    ``z`` holds real numbers (integers are taken as float64) with K >= 1 on its last axis;
    anything else is a ValueError.
    """
    z = _scores(z, "z", "softmax")
    # BEGIN SOLUTION softmax-forward
    # HINT: e = exp(z - the row's max), then e / the row's sum, over the last axis; exp may
    # HINT: underflow to 0, exactly: harmless, np.errstate(under='ignore')
    # Entries far below the row's maximum underflow to 0, their true value to the last bit.
    with np.errstate(under="ignore"):
        # The max and the sum are per row, never over the whole batch: (..., 1) each,
        # broadcast over the row's K entries.
        e = np.exp(z - z.max(axis=-1, keepdims=True))  # (..., K)
        return e / e.sum(axis=-1, keepdims=True)  # (..., K), each row summing to 1
    # END SOLUTION


def log_softmax(z: np.ndarray) -> np.ndarray:
    """``log(softmax(z))`` over the last axis, computed stably as ``z - logsumexp(z)``.

    With m the row maximum, logsumexp(z) = m + log(sum(exp(z - m))); the sum is at least 1,
    so the log is finite, and so are the log-probabilities, even for logits of 1e4. Shapes
    and arguments as for :func:`softmax`. Derivation:
    docs/cross_entropy.md#from-logits-log-sum-exp.
    """
    z = _scores(z, "z", "log_softmax")
    # BEGIN SOLUTION cross-entropy
    # HINT: with m the row's max, log p = (z - m) - log(sum(exp(z - m))), over the last axis;
    # HINT: exp may underflow to 0: harmless, np.errstate(under='ignore')
    shifted = z - z.max(axis=-1, keepdims=True)  # (..., K), the row's max (..., 1) broadcast
    with np.errstate(under="ignore"):  # exp of a very negative entry is 0: harmless
        # log of each row's sum, (..., 1), broadcast over the row: (..., K)
        return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    # END SOLUTION


class Softmax(Layer):
    """Turns each row of scores (logits) into probabilities; softmax over the last axis.

    Shapes: x (N, K), y (N, K), rows of y sum to 1 (or (N, ..., K), over the last axis; a
    batch axis first, so x of shape (N,) is refused, not normalised over its samples).
    Integer scores become float32, as the other activations' inputs do; the function
    :func:`softmax` takes them as float64.

    Backward is the product of dy with the Jacobian J (J_ij = ds_i/dx_j), ``dy @ J``: a
    vector-Jacobian product, as every backward is (softmax's J is symmetric, so it is also
    ``J @ dy``). Within a row, with s = y, ds_i/dx_j = s_i (delta_ij - s_j), so

        dx_j = sum_i dy_i s_i (delta_ij - s_j) = s_j (dy_j - sum_i dy_i s_i)

    i.e. ``dx = s * (dy - sum(dy * s, axis=-1, keepdims=True))``: O(K) per row, no (K, K)
    Jacobian built.
    Derivation: docs/softmax.md#backward-a-vector-jacobian-product.

    Trained with :class:`tinynet.losses.CrossEntropy`, a model ending in Softmax hands the
    loss the logits instead (the fused, stable form); see :class:`tinynet.Sequential`.
    """

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """x (N, K) scores -> y (N, K) probabilities, each row summing to 1 (or (N, ..., K),
        over the last axis)."""
        x = _scores(float_input(x, self), "input", self)
        if x.ndim < 2:
            raise ValueError(f"{self!r}: input must have shape (N, K), a row of K scores for "
                             f"each of N samples, got shape {x.shape} (one sample is "
                             f"x[None], of shape (1, {x.shape[0]}))")
        y = softmax(x)  # (N, K), or (N, ..., K) as x
        self._save(y=y)
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dy (N, K) -> dx = s * (dy - sum_i dy_i s_i), (N, K), the sum per row, s = y (or
        (N, ..., K), over the last axis)."""
        s = self._load("y")
        dy = checked_dy(self, dy, s.shape, s.dtype)
        # BEGIN SOLUTION softmax-backward
        # HINT: dx = s * (dy - sum(dy * s)), the sum over each row, under
        # HINT: np.errstate(under='ignore') (s may hold tiny probabilities)
        with np.errstate(under="ignore"):  # s may hold tiny (subnormal) probabilities
            # sum_i dy_i s_i is one number per row, (..., 1), broadcast over its K entries:
            # dx (..., K), the shape of s.
            return s * (dy - (dy * s).sum(axis=-1, keepdims=True))
        # END SOLUTION
