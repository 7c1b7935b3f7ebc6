"""Max pooling: each output is the largest entry of a window. Derivation: docs/conv.md."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from tinynet.layers.base import Layer, checked_dy, float_input
from tinynet.layers.conv import check_images, pair_config, to_pair


class MaxPool2D(Layer):
    """The maximum of each ph x pw window, channel by channel, on channels-last images.

    Shapes: x (N, H, W, C), y (N, H_out, W_out, C) with ``H_out = (H - ph) // sh + 1`` (and
    the same along W): windows that would run past the edge are dropped, as Keras's
    ``"valid"`` does, so a 2x2 pool turns 13 rows into 6 and the last row gets no gradient::

        y[n, i, j, c] = max over di < ph, dj < pw of x[n, i*sh + di, j*sw + dj, c]

    Backward: the maximum moves with the one entry that attains it and ignores the others,
    so each window's gradient ``dy[n, i, j, c]`` goes to exactly that entry of x, and the
    rest of the window gets 0. Windows that overlap (stride < pool) add up at a shared entry.

    Tie rule: when several entries of a window share the maximum (common after ReLU, where
    whole windows are 0), the gradient goes to the *first* of them in row-major window order
    (smallest di, then smallest dj), as ``numpy.argmax`` would pick. Sending ``dy`` whole to
    each tied entry would count it several times; splitting it among them would also be
    valid, but is a different convention. See docs/conv.md#how-max-pool-routes-gradients.

    NaN: a window holding NaN has the maximum NaN (``np.maximum`` propagates it), which
    equals no entry, so the window's gradient goes nowhere: dx is 0 across it. The output is
    NaN there already, and so is the loss (``fit`` stops on it). Sending the gradient to the
    first NaN instead, as ``numpy.argmax`` would pick it, would cost every backward a search
    for NaN, about 2% of its time, for inputs that have already gone wrong.

    Both passes loop over the ph*pw positions (di, dj) of the window, never over pixels:
    position (di, dj) of every window at once is one strided slice of x.

    Args:
        pool_size: ph = pw (an int) or (ph, pw).
        stride: sh = sw or (sh, sw); ``None`` (the default) means the pool size, so the
            windows tile the image without overlap.
    """

    def __init__(self, pool_size: int | tuple[int, int] = 2,
                 stride: int | tuple[int, int] | None = None) -> None:
        super().__init__()
        self.pool_size = to_pair("MaxPool2D", "pool_size", pool_size, low=1)
        self.stride = self.pool_size if stride is None else to_pair(
            "MaxPool2D", "stride", stride, low=1)

    def _positions(self, x: np.ndarray, H_out: int, W_out: int) -> Iterator[np.ndarray]:
        """Yield the slice of ``x`` holding entry (di, dj) of every window, (N, H_out, W_out,
        C), for each (di, dj) in row-major order (the order of the tie rule)."""
        (ph, pw), (sh, sw) = self.pool_size, self.stride
        for di in range(ph):
            for dj in range(pw):
                yield x[:, di:di + sh * H_out:sh, dj:dj + sw * W_out:sw, :]

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """x (N, H, W, C) -> y (N, H_out, W_out, C), each window's maximum."""
        x = float_input(x, self)  # integers and booleans: compare and route gradients as floats
        check_images(self, x)
        N, H, W, C = x.shape
        (ph, pw), (sh, sw) = self.pool_size, self.stride
        if ph > H or pw > W:
            raise ValueError(f"{self!r}: the {ph}x{pw} pool is larger than the input, "
                             f"{H}x{W} (input shape {x.shape})")
        H_out, W_out = (H - ph) // sh + 1, (W - pw) // sw + 1
        # BEGIN SOLUTION maxpool2d
        # HINT: y is the running np.maximum of the ph*pw slices self._positions(x, H_out, W_out);
        # HINT: save x and y for backward
        positions = self._positions(x, H_out, W_out)
        # (N, H_out, W_out, C). A copy, since the running maximum is written into y: a view
        # would write it into x, which backward compares y with.
        y = next(positions).copy()
        for view in positions:
            np.maximum(y, view, out=y)
        self._save(x=x, y=y)
        return y
        # END SOLUTION

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dy (N, H_out, W_out, C) -> dx (N, H, W, C): each window's dy to its first maximum."""
        x, y = self._load("x", "y")
        dy = checked_dy(self, dy, y.shape, x.dtype)
        # BEGIN SOLUTION maxpool2d
        # HINT: for each window position in row-major order, the entries equal to y that no earlier
        # HINT: position took get dy; the others 0 (the tie rule)
        # The plain form (docs/conv.md#how-max-pool-routes-gradients), which the lines below
        # compute, with two speed-ups (no zeroing, no temporary) where the windows allow:
        #     dx = zeros; unrouted = all True
        #     for each window position, in row-major order:
        #         wins = (x_view == y) & unrouted; unrouted ^= wins; dx_view += dy * wins
        (ph, pw), (sh, sw) = self.pool_size, self.stride
        _, H, W, _ = x.shape
        _, H_out, W_out, _ = y.shape
        overlapping = sh < ph or sw < pw  # then an entry of x may win several windows
        # When the windows tile x exactly (R3's 26x26 into 13x13), the loop below writes
        # every entry of dx once, so dx need not be zeroed first.
        tiles = (sh, sw) == (ph, pw) and (H_out * ph, W_out * pw) == (H, W)
        dx = np.empty_like(x) if tiles else np.zeros_like(x)  # (N, H, W, C)
        # Windows whose gradient has no entry yet: (N, H_out, W_out, C), one per window.
        unrouted = np.ones(y.shape, dtype=bool)
        for x_view, dx_view in zip(self._positions(x, H_out, W_out),
                                   self._positions(dx, H_out, W_out), strict=True):
            # The tie rule: this entry takes the window's gradient if it equals the maximum
            # and no earlier entry (in row-major order) already took it.
            wins = np.equal(x_view, y)  # (N, H_out, W_out, C), as x_view, y and dy
            wins &= unrouted
            unrouted ^= wins  # wins is a subset of unrouted: those windows are now routed
            if overlapping:
                dx_view += dy * wins
            else:
                # Without overlap no other position writes these entries of dx, so assigning
                # them, dx_view = dy * wins (in place, no temporary), gives what += would on 0.
                np.multiply(dy, wins, out=dx_view)
        return dx
        # END SOLUTION

    def get_config(self) -> dict[str, Any]:
        return {"pool_size": pair_config(self.pool_size), "stride": pair_config(self.stride)}
