"""Data augmentation as a layer: random shifts of the training images.

Forward and backward: docs/layers.md#randomshift.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinynet.checks import flag, generator, int_at_least, real_array
from tinynet.layers.base import Layer, checked_dy
from tinynet.layers.conv import check_images


def shift_images(x: np.ndarray, offsets: np.ndarray, max_shift: int) -> np.ndarray:
    """Shift each image of ``x`` (N, H, W, C) by its own offset, filling with zeros.

    ``offsets`` (N, 2) holds (rows, columns) in [-max_shift, max_shift]:
    ``y[n, i, j] = x[n, i + offsets[n, 0], j + offsets[n, 1]]``, or 0 outside the image.
    One gather from the zero-padded batch, no loop over images.
    """
    N, H, W, _ = x.shape
    s = max_shift
    xp = np.pad(x, ((0, 0), (s, s), (s, s), (0, 0)))  # (N, H + 2s, W + 2s, C)
    rows = (offsets[:, 0, None] + s) + np.arange(H)  # (N, H): the rows of xp each image reads
    cols = (offsets[:, 1, None] + s) + np.arange(W)  # (N, W)
    # y[n, i, j] = xp[n, rows[n, i], cols[n, j]]: the three indices broadcast to (N, H, W)
    return xp[np.arange(N)[:, None, None], rows[:, :, None], cols[:, None, :]]  # (N, H, W, C)


class RandomShift(Layer):
    """While training, move each image by a random whole number of pixels, up to
    ``max_shift`` in each direction (zeros come in at the edges); otherwise the identity.

    A digit shifted by a pixel or two is still the same digit, so every epoch shows the
    network images it has not seen, which curbs over-fitting. Put it first in the model,
    where it augments the input images. The shifts are drawn from ``self.rng``, which a
    :class:`tinynet.Sequential` sets from its seed, so they follow the seed.

    Shapes: x and y (N, H, W, C). With y[n, i, j] = x[n, i + d_n, j + e_n], backward moves
    the gradient back: dx[n, k, l] = dy[n, k - d_n, l - e_n] (0 where that is outside).

    Args:
        max_shift: the largest shift in pixels, an int >= 0.
        rng: Generator for the shifts when the layer is used on its own.
    """

    def __init__(self, max_shift: int, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        self.max_shift = int_at_least("RandomShift: max_shift", max_shift, 0)
        self.rng: np.random.Generator = generator("RandomShift", rng)  # never None: it shifts

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """x (N, H, W, C) -> y (N, H, W, C), each image shifted while training, else x."""
        x = real_array(x, "input", self)  # of any real dtype: uint8 pixels stay uint8
        check_images(self, x)
        if not flag(training, "training", self) or self.max_shift == 0:
            self._save(offsets=None, shape=x.shape)
            return x
        # (N, 2): each image's shift, rows then columns, in [-max_shift, max_shift]
        offsets = self.rng.integers(-self.max_shift, self.max_shift, size=(len(x), 2),
                                    endpoint=True)
        self._save(offsets=offsets, shape=x.shape)
        return shift_images(x, offsets, self.max_shift)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dy (N, H, W, C) -> dx (N, H, W, C), each image shifted back (a copy of dy
        when not training)."""
        offsets, shape = self._load("offsets", "shape")
        dy = checked_dy(self, dy, shape, None)
        if offsets is None:
            return dy.copy()
        return shift_images(dy, -offsets, self.max_shift)

    def get_config(self) -> dict[str, Any]:
        return {"max_shift": self.max_shift}
