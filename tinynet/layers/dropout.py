"""Inverted dropout. Derivation: docs/layers.md#dropout."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinynet.checks import flag, generator, number_in
from tinynet.layers.base import Layer, checked_dy, float_input


class Dropout(Layer):
    """While training, zero each entry with probability ``rate`` and scale the rest by
    ``1 / (1 - rate)``; when not training, the identity.

    The scaling ("inverted" dropout) keeps the expected value of every entry unchanged,
    E[y] = (1 - rate) * x / (1 - rate) = x, so nothing needs rescaling at test time.

    With the mask m (entries 0 or 1 / (1 - rate)), ``y = x * m`` and ``dx = dy * m``;
    x, m, y, dy and dx all have one shape, any shape. The mask is drawn from ``self.rng``,
    which :class:`tinynet.Sequential` sets from its seed. Derivation: docs/layers.md#dropout.

    Args:
        rate: the probability of dropping an entry, in [0, 1).
        rng: Generator for the masks when the layer is used on its own.
    """

    def __init__(self, rate: float, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        self.rate = number_in("Dropout: rate", rate, 0, 1)
        self.rng: np.random.Generator = generator("Dropout", rng)  # never None: it draws masks

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """x (N, ...) -> y = x * m while training, else x; of x's shape."""
        x = float_input(x, self)  # integers become floats, to be scaled by 1 / (1 - rate)
        if not flag(training, "training", self) or self.rate == 0:
            self._save(mask=None, shape=x.shape, dtype=x.dtype)
            return x
        # Each of x's entries is kept with probability 1 - rate: (N, ...), x's shape.
        keep = self.rng.random(x.shape) >= self.rate
        # m: 0 or 1 / (1 - rate), in x's dtype (a Python float never changes an array's dtype)
        mask = keep.astype(x.dtype) / (1 - self.rate)
        self._save(mask=mask, shape=x.shape, dtype=x.dtype)
        return x * mask  # (N, ...)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dy (N, ...) -> dx = dy * m (a copy of dy when not training), of x's shape."""
        mask, shape, dtype = self._load("mask", "shape", "dtype")
        dy = checked_dy(self, dy, shape, dtype)
        return dy.copy() if mask is None else dy * mask  # a new array, never dy itself

    def get_config(self) -> dict[str, Any]:
        return {"rate": self.rate}
