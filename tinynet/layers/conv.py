"""The 2-D convolution, computed as im2col and one matrix product. Derivation: docs/conv.md."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from tinynet import init
from tinynet.checks import generator, int_at_least, is_int_at_least, other_library_message
from tinynet.layers.base import (
    Layer,
    as_float_array,
    checked_dy,
    float_dtype,
)

#: (top, bottom, left, right): rows added above and below, columns left and right.
Pads = tuple[int, int, int, int]


def to_pair(owner: str, name: str, value: Any, low: int) -> tuple[int, int]:
    """``value`` as (along H, along W): an int means the same for both; each must be >= low."""
    pair = tuple(value) if isinstance(value, tuple | list) else (value, value)
    if len(pair) != 2 or not all(is_int_at_least(v, low) for v in pair):
        raise ValueError(f"{owner}: {name} must be an int >= {low} or a pair of them, "
                         f"got {value!r}")
    return int(pair[0]), int(pair[1])


def pair_config(pair: tuple[int, int]) -> int | list[int]:
    """A pair as a JSON value: one int when both are equal, as the user most often wrote it."""
    return pair[0] if pair[0] == pair[1] else list(pair)


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """(before, after) padding of Keras's ``"same"`` along one axis of length ``size``.

    The output has ``ceil(size / stride)`` positions; the padding is the least that lets the
    last window fit, split evenly, the odd row or column going after (below, right).
    """
    out = -(-size // stride)  # ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def check_images(layer: Layer, x: np.ndarray, channels: int | None = None) -> None:
    """A clear ValueError unless ``x`` is a batch of channels-last images (N, H, W, C)."""
    expected = f"(N, H, W, {channels if channels is not None else 'C'})"
    if x.ndim != 4:
        hint = ""
        if x.ndim == 3:
            # (N, 28, 28) lacks the channel axis; (28, 28, 1), one image as predict(x[0])
            # gives it, lacks the batch axis. The channels, when known, tell them apart.
            channel = "add a channel axis: x.reshape(N, H, W, 1)"
            image = f"one image? add the batch axis: x[None], of shape {(1, *x.shape)}"
            if channels is None:
                # Images come with 1, 3 or 4 channels (grey, RGB, RGBA): a last axis longer
                # than 4, as (N, 28, 28) has, is a width, and no hint of one image is given.
                hint = f" ({channel}; or, {image})" if x.shape[2] <= 4 else f" ({channel})"
            elif x.shape[2] == channels:
                hint = f" ({image})"
            elif channels == 1:
                hint = f" ({channel})"
            # else grey images for a layer that takes colour ones: no reshape gives them the
            # channels, so no hint
        elif x.ndim == 2 and channels in (None, 1):
            # One grey image, (28, 28), or MNIST flattened, (N, 784). No sizes are named: a
            # model gives the layer a batch of x's rows, whose shape is not x's.
            hint = (" (one grey image? x.reshape(1, H, W, 1); or, images flattened? "
                    "x.reshape(-1, H, W, 1))")
        elif x.ndim == 1:  # one image flattened, (784,): a model gives the layer (32,)
            hint = f" (one image, flattened? x.reshape(1, H, W, {channels or 'C'}))"
        raise ValueError(f"{layer!r}: expected channels-last images of shape {expected}, "
                         f"got an array of shape {x.shape}{hint}")
    if channels is not None and x.shape[3] != channels:
        # PyTorch's images, (N, C, H, W), come with the channels second.
        hint = (" (channels first, as in PyTorch? move them last: x.transpose(0, 2, 3, 1))"
                if x.shape[1] == channels else "")
        raise ValueError(f"{layer!r}: expected input of shape {expected} with {channels} "
                         f"channel(s), got shape {x.shape} with {x.shape[3]}{hint}")


def im2col(xp: np.ndarray, out: np.ndarray, stride: tuple[int, int]) -> None:
    """Copy every window of the padded images ``xp`` (N, Hp, Wp, C) into ``out``, of shape
    (N, H_out, W_out, kh, kw, C): ``out[n, i, j, di, dj, c] = xp[n, i*sh + di, j*sw + dj, c]``.

    Reshaped to (N*H_out*W_out, kh*kw*C), ``out`` has one window per row. See docs/conv.md.
    """
    _, H_out, W_out, kh, kw, C = out.shape
    sh, sw = stride
    # BEGIN SOLUTION conv2d
    # HINT: out[n, i, j, di, dj, c] = xp[n, i*sh + di, j*sw + dj, c]: build that view of xp with
    # HINT: numpy.lib.stride_tricks.as_strided (strides (sN, sH*sh, sW*sw, sH, sW, sC)) and copy it
    # HINT: into out
    if C > 1:
        # windows is a view of xp, nothing copied: one step along i moves sh image rows in
        # memory, one step along di moves one row (and the same for j, dj along columns).
        sN, sH, sW, sC = xp.strides
        windows = as_strided(xp, shape=out.shape, strides=(sN, sH * sh, sW * sw, sH, sW, sC),
                             writeable=False)
        out[...] = windows  # the one copy
        return
    # Speed only: with one channel a window row is only kw numbers long, too short for a fast
    # copy. So the same out[n, i, j, di, dj, c] = xp[n, i*sh + di, j*sw + dj, c] is copied
    # one kernel position (di, dj) at a time, each copy a strided slice of whole image rows.
    for di in range(kh):
        for dj in range(kw):
            out[:, :, :, di, dj, :] = xp[:, di:di + sh * H_out:sh, dj:dj + sw * W_out:sw]
    # END SOLUTION


class Conv2D(Layer):
    """A 2-D convolution (strictly, cross-correlation, as in every framework) on
    channels-last images: each output pixel is a Dense layer applied to one window.

    Shapes: x (N, H, W, C_in), W (kh, kw, C_in, C_out), b (C_out,), y (N, H_out, W_out, C_out)
    with ``H_out = (H + top + bottom - kh) // sh + 1`` (and the same along W)::

        y[n, i, j, :] = sum over di, dj, c of xp[n, i*sh + di, j*sw + dj, c] * W[di, dj, c, :] + b

    where xp is x padded with zeros. Forward: im2col copies every window of xp into a row
    of ``cols`` (N*H_out*W_out, kh*kw*C_in), so the whole layer is one matrix product,
    ``y = cols @ W2 + b`` with ``W2 = W.reshape(kh*kw*C_in, C_out)``: a Dense layer on the
    windows. (The code appends a column of ones to cols and b as a last row to W2, so that
    the one product adds b, and backward's one product gives db along with dW.)

    Backward, with ``dy`` (N, H_out, W_out, C_out) read as ``dy2`` (N*H_out*W_out, C_out)::

        dW2   = cols.T @ dy2        (kh*kw*C_in, C_out), reshaped to W's shape as dW
        db    = dy2.sum(axis=0)     (C_out,)
        dcols = dy2 @ W2.T          (N*H_out*W_out, kh*kw*C_in): the gradient of each window
        dx    = each window's gradient added back where the window was read (col2im), then
                the padding cropped

    dcols and col2im are a loop over the kh*kw kernel positions (di, dj): position (di, dj)
    of every window at once is one strided slice of xp, and its columns of dcols are
    ``dy2 @ W[di, dj].T``; so each step is one small product and one array addition.
    Derivation: docs/conv.md#backward-derived.

    Args:
        in_channels: C_in.
        out_channels: C_out, the number of filters.
        kernel_size: kh = kw (an int) or (kh, kw).
        stride: sh = sw or (sh, sw), the step between windows.
        padding: zeros added around the image: an int or (pad_h, pad_w) on each side; ``"valid"``
            (none); or ``"same"`` as in Keras: the output has ``ceil(H / sh)`` rows and
            ``ceil(W / sw)`` columns, so with stride 1 it keeps H and W; the padding is the
            least that gives that, split evenly with any odd row or column below or right.
            The names are read in any case ("SAME").
            With stride > 1 it depends on the input size, so it is worked out in forward.
        W_init: initialiser of W; fans count the kh*kw window (see :mod:`tinynet.init`).
        b_init: initialiser of b.
        dtype: dtype of the parameters and of the computation (float64 for grad checks).
        rng: Generator for the initial weights when the layer is used on its own; a
            :class:`tinynet.Sequential` redraws them from its seed.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] | str = 0,
        W_init: str | init.Initializer = "glorot_uniform",
        b_init: str | init.Initializer = "zeros",
        dtype: np.dtype | type | str = np.float32,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self.in_channels = int_at_least("Conv2D: in_channels", in_channels, 1)
        self.out_channels = int_at_least("Conv2D: out_channels", out_channels, 1)
        self.kernel_size = to_pair("Conv2D", "kernel_size", kernel_size, low=1)
        self.stride = to_pair("Conv2D", "stride", stride, low=1)
        if isinstance(padding, str):
            named = padding.lower()  # in any case, as Keras reads it (TensorFlow's "SAME")
            if named not in ("valid", "same"):
                raise ValueError(f"Conv2D: padding must be an int >= 0, a pair of them, "
                                 f"'valid' or 'same', got {padding!r}")
            self.padding: tuple[int, int] | str = (0, 0) if named == "valid" else "same"
        else:
            self.padding = to_pair("Conv2D", "padding", padding, low=0)
        self.W_init, self.b_init = W_init, b_init
        self.dtype = float_dtype("Conv2D", dtype)
        self._buffers: dict[str, np.ndarray] = {}  # see _scratch
        self.init_params(generator("Conv2D", rng))

    @classmethod
    def _refuse_other_libraries(cls, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        super()._refuse_other_libraries(args, kwargs)
        # Keras's Conv2D(filters, kernel_size) infers the input's channels from the first
        # batch, so Conv2D(32, 3) is its whole call; to Python it lacks kernel_size, which
        # would read as if 3 were not a kernel size.
        if cls.__init__ is Conv2D.__init__ and not {"in_channels", "out_channels"} & kwargs.keys():
            keras = [*args, *([kwargs["kernel_size"]] if "kernel_size" in kwargs else [])]
            if len(keras) == 2:
                named = {k: f"{k}={v!r}" for k, v in kwargs.items()}
                given = ", ".join([*map(repr, args), *named.values()])
                ours = ", ".join(["1", *map(repr, keras),
                                  *(text for k, text in named.items() if k != "kernel_size")])
                raise TypeError(other_library_message(
                    cls, f"Conv2D({given})", "Keras's call, which infers the input's channels",
                    f"tinynet's Conv2D takes them first: Conv2D({ours}) for grey images"))

    def _scratch(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """An uninitialised array of ``shape``, the same one from call to call.

        Speed: cols is megabytes, and a fresh array that large comes from the operating
        system as new pages, each of which faults on first touch: that costs about as much
        as the copy into it. Only what no caller ever sees is reused this way (each
        forward's cols replaces the last one's, as backward needs only the last forward).
        """
        buffer = self._buffers.get(name)
        if buffer is None or buffer.shape != shape:
            buffer = self._buffers[name] = np.empty(shape, dtype=self.dtype)
        return buffer

    def init_params(self, rng: np.random.Generator) -> None:
        shape_W = (*self.kernel_size, self.in_channels, self.out_channels)
        self.params["W"] = init.draw(self.W_init, shape_W, rng, self.dtype, "Conv2D: W_init")
        self.params["b"] = init.draw(self.b_init, (self.out_channels,), rng, self.dtype,
                                     "Conv2D: b_init")

    def pads(self, H: int, W: int) -> Pads:
        """(top, bottom, left, right) zero padding for an input of H rows and W columns."""
        if isinstance(self.padding, str):  # "same", the only string kept
            return (*same_padding(H, self.kernel_size[0], self.stride[0]),
                    *same_padding(W, self.kernel_size[1], self.stride[1]))
        pad_h, pad_w = self.padding
        return pad_h, pad_h, pad_w, pad_w

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """x (N, H, W, C_in) -> y (N, H_out, W_out, C_out), with H_out = (H + pad_top +
        pad_bottom - kh) // sh + 1 (W_out likewise)."""
        x = as_float_array(x, self.dtype, "input", self)  # uint8 pixels become floats
        check_images(self, x, self.in_channels)
        N, H, W, C_in = x.shape  # W is the width here; the weights are self.params["W"]
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        top, bottom, left, right = self.pads(H, W)
        Hp, Wp = H + top + bottom, W + left + right
        if kh > Hp or kw > Wp:
            raise ValueError(
                f"{self!r}: the {kh}x{kw} kernel is larger than the padded input, "
                f"{Hp}x{Wp} (an input of {H}x{W} with padding top/bottom {top}/{bottom}, "
                f"left/right {left}/{right}); use a smaller kernel or more padding"
            )
        H_out, W_out = (Hp - kh) // sh + 1, (Wp - kw) // sw + 1

        # BEGIN SOLUTION conv2d
        # HINT: pad x with zeros to xp, im2col(xp, ...) into cols (M, K + 1) whose last column is
        # HINT: ones, y = cols @ [W reshaped (K, C_out); b]; save what backward needs, with
        # HINT: y_shape (N, H_out, W_out, C_out), which self._dy2 reads
        if top or bottom or left or right:
            xp = np.zeros((N, Hp, Wp, C_in), dtype=self.dtype)  # x framed by zeros
            xp[:, top:top + H, left:left + W, :] = x
        else:
            xp = x  # (N, Hp, Wp, C_in) either way

        # im2col: one row per window, cols[(n, i, j), (di, dj, c)] = xp[n, i*sh + di,
        # j*sw + dj, c], and a last column of ones. The bias is the weight of an input that
        # is always 1 (the "bias trick"): the one product below adds b as well, and
        # backward's one product gives db along with dW. (Adding b to y separately would
        # cost as much as the product itself, for a tall y of few columns.)
        M, K, C_out = N * H_out * W_out, kh * kw * C_in, self.out_channels
        cols = self._scratch("cols", (M, K + 1))
        cols[:, K] = 1
        im2col(xp, cols[:, :K].reshape(N, H_out, W_out, kh, kw, C_in), self.stride)

        # Wb, (K + 1, C_out): W2 = W reshaped (K, C_out) (docs/conv.md's name), with b
        # appended as its last row, [W2; b].
        Wb = np.concatenate([self.params["W"].reshape(K, C_out), self.params["b"][None]])
        # y = cols[:, :K] @ W2 + b, x's windows times W plus b, in one product:
        # (M, K + 1) @ (K + 1, C_out) -> (M, C_out)
        y = cols @ Wb
        self._save(cols=cols, x_shape=x.shape, pads=(top, bottom, left, right),
                   y_shape=(N, H_out, W_out, C_out))
        return y.reshape(N, H_out, W_out, C_out)
        # END SOLUTION

    def _dy2(self, dy: np.ndarray) -> np.ndarray:
        """``dy`` checked against the last output's shape, as (N*H_out*W_out, C_out)."""
        dy = checked_dy(self, dy, self._load("y_shape"), self.dtype)
        return dy.reshape(-1, self.out_channels)  # (M, C_out); a view of a C-ordered dy

    def backward_params(self, dy: np.ndarray) -> None:
        """Fill ``grads`` only, from dy (N, H_out, W_out, C_out): dW (kh, kw, C_in, C_out)
        and db (C_out,). Training calls this on a first layer, whose dx nobody uses."""
        dy2 = self._dy2(dy)  # (M, C_out)
        # BEGIN SOLUTION conv2d
        # HINT: dW and db in one product, cols.T @ dy2: its last row is db
        cols = self._load("cols")
        # dW2 = cols[:, :K].T @ dy2 and db = dy2.sum(axis=0) in one product, [dW2; db],
        # (K + 1, C_out): the ones column of cols makes its last row the sum of dy2's rows.
        dWb = cols.T @ dy2
        self.grads["W"] = dWb[:-1].reshape(self.params["W"].shape)  # (kh, kw, C_in, C_out)
        self.grads["b"] = dWb[-1]  # (C_out,)
        # END SOLUTION

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dy (N, H_out, W_out, C_out) -> dx (N, H, W, C_in); fills grads as backward_params
        does."""
        self.backward_params(dy)
        # BEGIN SOLUTION conv2d
        # HINT: dy2 = self._dy2(dy), (M, C_out); the shapes from what your forward saved. col2im:
        # HINT: for each kernel position (di, dj), add (dy2 @ W[di, dj].T) reshaped (N, H_out,
        # HINT: W_out, C_in) into the strided slice of the padded dx that it read; then crop the
        # HINT: padding
        x_shape, pads, y_shape = self._load("x_shape", "pads", "y_shape")
        dy2 = self._dy2(dy)  # (M, C_out)
        N, H, W, C_in = x_shape
        _, H_out, W_out, _ = y_shape
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        M = N * H_out * W_out

        # col2im. Kernel position (di, dj) read xp[n, i*sh + di, j*sw + dj, c] for every
        # window (n, i, j): a strided slice of xp, one pixel per window. The gradient through
        # that position is dy2 @ W[di, dj].T, (M, C_in); add it where the position read.
        # A pixel read by several windows (through several positions) gets the sum.
        top, bottom, left, right = pads
        # dL/dxp, (N, Hp, Wp, C_in) as xp: windows read the padding too
        dxp = np.zeros((N, H + top + bottom, W + left + right, C_in), dtype=self.dtype)
        # The columns (di, dj, :) of dcols, one kernel position at a time: (M, C_in).
        dcols_ij = np.empty((M, C_in), dtype=self.dtype)
        for di in range(kh):
            for dj in range(kw):
                np.matmul(dy2, self.params["W"][di, dj].T, out=dcols_ij)  # (M, C_in)
                # The slice: (N, H_out, W_out, C_in), one entry of dxp for each window.
                dxp[:, di:di + sh * H_out:sh, dj:dj + sw * W_out:sw, :] += (
                    dcols_ij.reshape(N, H_out, W_out, C_in))
        # The padding's zeros are constants, not inputs: their gradient is dropped.
        return dxp[:, top:top + H, left:left + W, :]  # (N, H, W, C_in)
        # END SOLUTION

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": pair_config(self.kernel_size),
            "stride": pair_config(self.stride),
            "padding": self.padding if isinstance(self.padding, str)
            else pair_config(self.padding),
        }
        # Only named initialisers can be written as JSON (see Dense.get_config).
        for key in ("W_init", "b_init"):
            if isinstance(getattr(self, key), str):
                config[key] = getattr(self, key)
        config["dtype"] = self.dtype.name
        return config
