"""Flatten: images to vectors, so a Dense layer can follow a convolution."""

from __future__ import annotations

import numpy as np

from tinynet.layers.base import Layer, checked_dy


class Flatten(Layer):
    """Reshape each sample to a vector: (N, d1, d2, ...) -> (N, d1 * d2 * ...).

    Nothing is computed, so backward only reshapes ``dy`` back to the input's shape.
    See docs/layers.md#dense: a Flatten goes before a Dense that takes images.
    """

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """x (N, d1, d2, ...) -> y (N, d1 * d2 * ...), the same numbers."""
        x = np.asarray(x)
        if x.ndim < 1:
            raise ValueError(f"Flatten: expected input with a batch axis, got shape {x.shape}")
        self._save(shape=x.shape)
        # The size of a sample, spelled out: reshape(N, -1) cannot infer it when N is 0.
        return x.reshape(x.shape[0], int(np.prod(x.shape[1:])))  # (N, d1 * d2 * ...)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dy (N, d1 * d2 * ...) -> dx (N, d1, d2, ...), the same numbers."""
        shape = self._load("shape")
        dy = checked_dy(self, dy, (shape[0], int(np.prod(shape[1:]))), None)
        # A copy, not a view of dy: backward returns new arrays (the contract in base.py).
        return dy.reshape(shape).copy()  # (N, d1, d2, ...)
