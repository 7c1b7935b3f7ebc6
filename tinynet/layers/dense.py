"""The fully connected layer. Derivation: docs/layers.md#dense."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinynet import init
from tinynet.checks import generator, int_at_least, other_library_message
from tinynet.layers.base import (
    Layer,
    as_float_array,
    checked_dy,
    float_dtype,
)


class Dense(Layer):
    """``y = x @ W + b``: every output is a weighted sum of every input.

    Shapes: x (N, D_in), W (D_in, D_out), b (D_out,), y (N, D_out).

    Backward, with ``dy = dL/dy`` of shape (N, D_out)::

        dW = x.T @ dy        (D_in, D_out)   each weight sums its effect over the batch
        db = dy.sum(axis=0)  (D_out,)        a sum, not a mean: the loss already averages
        dx = dy @ W.T        (N, D_in)

    Derivation: docs/layers.md#backward-derived.

    Args:
        in_features: D_in.
        out_features: D_out.
        W_init: initialiser of W (name or callable, see :mod:`tinynet.init`); Keras's default.
        b_init: initialiser of b; R1 uses ``"ones"``, R5 ``"normal"``.
        dtype: dtype of the parameters, and so of the computation (float64 for grad checks).
        rng: Generator for the initial weights when the layer is used on its own; a
            :class:`tinynet.Sequential` redraws them from its seed.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        W_init: str | init.Initializer = "glorot_uniform",
        b_init: str | init.Initializer = "zeros",
        dtype: np.dtype | type | str = np.float32,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self.in_features = int_at_least("Dense: in_features", in_features, 1)
        self.out_features = int_at_least("Dense: out_features", out_features, 1)
        self.W_init, self.b_init = W_init, b_init
        self.dtype = float_dtype("Dense", dtype)
        self.init_params(generator("Dense", rng))

    @classmethod
    def _refuse_other_libraries(cls, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        super()._refuse_other_libraries(args, kwargs)
        # Keras's Dense(units) gives the output size alone and infers the input's from the
        # first batch; Python's "missing argument 'out_features'" would not say which is which.
        if (cls.__init__ is Dense.__init__ and len(args) == 1
                and not {"in_features", "out_features"} & kwargs.keys()):
            given = ", ".join([repr(args[0]), *(f"{k}={v!r}" for k, v in kwargs.items())])
            raise TypeError(other_library_message(
                cls, f"Dense({given})", "Keras's call, which infers the input size",
                f"tinynet's Dense takes the sizes of its input and of its output: "
                f"Dense(784, {given}) for 784 numbers a sample"))

    def init_params(self, rng: np.random.Generator) -> None:
        shape_W = (self.in_features, self.out_features)
        self.params["W"] = init.draw(self.W_init, shape_W, rng, self.dtype, "Dense: W_init")
        self.params["b"] = init.draw(self.b_init, (self.out_features,), rng, self.dtype,
                                     "Dense: b_init")

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """x (N, D_in) -> y = x @ W + b, (N, D_out)."""
        x = self._x(x)  # (N, D_in)
        # BEGIN SOLUTION dense-forward
        # HINT: y = x @ W + b with W, b = self.params['W'], self.params['b']; keep x for
        # HINT: backward, self._save(x=x)
        self._save(x=x)
        return x @ self.params["W"] + self.params["b"]  # (N, D_out)
        # END SOLUTION

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dy (N, D_out) -> dx = dy @ W.T, (N, D_in); fills grads as backward_params does."""
        dy = self._dy(dy)  # (N, D_out)
        self.backward_params(dy)
        # BEGIN SOLUTION dense-backward
        # HINT: return dx = dy @ W.T, with W = self.params['W']
        return dy @ self.params["W"].T  # dx, (N, D_in)
        # END SOLUTION

    def backward_params(self, dy: np.ndarray) -> None:
        """Fill ``grads`` only, from dy (N, D_out): dW = x.T @ dy, (D_in, D_out), and db, dy
        summed over the batch, (D_out,). Training calls this on a first layer."""
        x = self._load("x")  # (N, D_in)
        # (N, D_out), checked here too: training calls backward_params alone on a first layer
        dy = self._dy(dy)
        # BEGIN SOLUTION dense-backward
        # HINT: set self.grads['W'] = x.T @ dy and self.grads['b'] = dy summed over the batch
        self.grads["W"] = x.T @ dy  # (D_in, D_out)
        self.grads["b"] = dy.sum(axis=0)  # (D_out,)
        # END SOLUTION

    def _x(self, x: np.ndarray) -> np.ndarray:
        """``x`` in the layer's dtype (uint8 pixels become floats: integers are never
        multiplied as integers), or a ValueError unless it has shape (N, D_in)."""
        x = as_float_array(x, self.dtype, "input", self)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            hint = " (add a Flatten() layer before it)" if x.ndim > 2 else ""
            if x.ndim == 1 and self.in_features == 1:  # N numbers, for a regression say
                hint = " (one number per sample? give them a feature axis: x.reshape(-1, 1))"
            elif x.size == self.in_features and (x.ndim <= 2 or len(x) != 1):
                # predict(x_test[0]), say, flat or as an image (28, 28, 1); (1, 28, 28) is a
                # batch of one image, which Flatten would turn into (1, 784)
                hint = f" (one sample? add the batch axis: x.reshape(1, {self.in_features}))"
            raise ValueError(
                f"{self!r}: expected input of shape (N, {self.in_features}), "
                f"got {x.shape}{hint}"
            )
        return x

    def _dy(self, dy: np.ndarray) -> np.ndarray:
        """``dy`` checked against the last output's shape, (N, D_out), in the layer's dtype
        (a float64 dy would upcast every product)."""
        return checked_dy(self, dy, (len(self._load("x")), self.out_features), self.dtype)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of one input sample, (D_in,)."""
        return (self.in_features,)

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"in_features": self.in_features,
                                  "out_features": self.out_features}
        # A callable initialiser cannot be written as JSON; a loaded model gets its weights
        # from the file anyway, so only named initialisers are recorded.
        for key in ("W_init", "b_init"):
            if isinstance(getattr(self, key), str):
                config[key] = getattr(self, key)
        config["dtype"] = self.dtype.name
        return config
