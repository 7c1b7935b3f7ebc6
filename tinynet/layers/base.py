"""The contract every layer obeys. Derivations: docs/layers.md."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from tinynet.checks import (
    RefusesOtherLibraries,
    copy_into,
    flag,
    keywords_taken,
    other_library_message,
    other_name_message,
    real_array,
)


class Layer(RefusesOtherLibraries):
    """One step of a network: a function with a forward pass and a backward pass.

    The contract (every tinynet layer obeys it, and so should yours):

    - ``forward(x, training=False) -> y`` computes the output and keeps on the layer whatever
      ``backward`` will need (usually the input or the output).
    - ``backward(dy) -> dx`` takes the gradient of the loss with respect to the layer's last
      output, ``dy = dL/dy`` (same shape as ``y``), and returns ``dx = dL/dx`` (same shape as
      ``x``). It also fills ``grads[name] = dL/dparams[name]`` for every parameter.
    - ``grads`` are *overwritten* by each ``backward``, never accumulated: one forward, one
      backward, one optimiser step.
    - ``backward`` returns new arrays and never writes into ``dy``: a caller (a training
      loop that logs it, say) may read it again.
    - ``params`` and ``grads`` have the same keys and shapes, so an optimiser can walk any model
      without knowing the layer types.

    A layer of your own calls ``super().__init__()`` first, and returns its constructor's
    arguments from :meth:`get_config` (for its repr and for saving); one whose parameters
    start random draws them in :meth:`init_params`. Example: docs/layers.md#a-layer-of-your-own.

    Attributes:
        params: name -> parameter array, updated in place by optimisers.
        grads: name -> gradient of the loss with respect to that parameter.
        rng: the ``numpy.random.Generator`` a layer that draws random numbers (Dropout,
            RandomShift) uses; :class:`tinynet.Sequential` sets it from its seed.
        trainable: whether training updates ``params`` (True); False freezes the layer.
    """

    # Set by the Sequential that takes the layer: its weights are then that model's, which
    # another model taking it would draw afresh.
    _in_a_model: bool = False

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.rng: np.random.Generator | None = None
        self._saved: dict[str, Any] = {}

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Compute the output ``y`` of the layer for the input ``x``: (N, ...) -> (N, ...),
        one output per sample."""
        raise NotImplementedError(f"{type(self).__name__} has no forward: a layer overrides "
                                  "forward(x, training=False) -> y "
                                  "(docs/layers.md#a-layer-of-your-own)")

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """Return ``dx = dL/dx``, of ``x``'s shape, given ``dy = dL/dy``, of ``y``'s shape;
        fill ``grads``, each of its parameter's shape."""
        raise NotImplementedError(f"{type(self).__name__} has no backward: a layer overrides "
                                  "backward(dy) -> dx, which also fills grads[name] for every "
                                  "params[name] (docs/layers.md#a-layer-of-your-own)")

    def backward_params(self, dy: np.ndarray) -> None:
        """Fill ``grads`` (each of its parameter's shape) from ``dy = dL/dy``, of ``y``'s
        shape, for when nobody needs ``dL/dx``.

        The first trainable layer with parameters is such a case: what comes before it is
        the data, layers without parameters or frozen ones, none of it learnt. Training
        calls this on that layer instead of ``backward``, and visits no layer before it;
        Dense and Conv2D override it to skip the input-gradient product, a third of their
        work.
        """
        self.backward(dy)

    def init_params(self, rng: np.random.Generator) -> None:
        """Draw the parameters afresh from ``rng``. Layers without parameters do nothing."""

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, as JSON values, that rebuild this layer: saving writes
        them, loading calls ``type(self)(**config)``. Empty by default: a layer whose
        ``__init__`` takes arguments returns them."""
        return {}

    def num_params(self) -> int:
        """The number of scalar parameters (the summary's ``Param #``)."""
        return sum(p.size for p in self.params.values())

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the parameters, in the order of ``params``, each of its parameter's
        shape: ``[W (D_in, D_out), b (D_out,)]`` for a Dense, ``[]`` for a layer without any
        (Keras's ``layer.get_weights()``)."""
        return [p.copy() for p in self.params.values()]

    def set_weights(self, weights: Iterable[ArrayLike]) -> None:
        """Copy ``weights``, arrays of the shapes :meth:`get_weights` gives, in its order,
        into the parameters, in place, converted to their dtype; errors as for
        ``Sequential.set_weights``, before any parameter changes. A layer not yet in a model
        gets new weights when it joins one (``Sequential`` draws every layer's from its
        seed): set them after."""
        copy_into(list(self.params.values()), weights, f"{type(self).__name__}.set_weights")

    # A property, not an attribute set in __init__: a layer of one's own that forgets
    # super().__init__() still has it, and a value that is not True or False is refused
    # (the string "False" is truthy).
    @property
    def trainable(self) -> bool:
        """Whether training (``fit``, ``train_step``) updates this layer's parameters. Set
        it False to freeze them (Keras's ``layer.trainable = False``): no step moves its
        parameters. The backward pass still runs through the layer to reach trainable
        layers before it; when there are none, it stops before the layer."""
        return bool(self.__dict__.get("_trainable", True))

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = flag(value, "trainable", type(self).__name__)

    # Forward keeps what backward needs here, so that backward before forward is a clear
    # error instead of an AttributeError deep inside the math.
    def _save(self, **values: Any) -> None:
        self._saved = values

    def _load(self, *names: str) -> Any:
        if not self._saved:
            # Nothing saved: no forward yet, or (writing a layer) a forward without _save.
            raise RuntimeError(
                f"{type(self).__name__}.backward was called before forward, or after a "
                "forward that saved nothing: run forward on a batch first; it keeps what "
                f"backward needs with self._save({', '.join(n + '=...' for n in names)})"
            )
        missing = [name for name in names if name not in self._saved]
        if missing:
            raise RuntimeError(
                f"{type(self).__name__}.backward needs {', '.join(map(repr, missing))}, which "
                f"forward did not save: it saved {', '.join(map(repr, self._saved))} "
                f"(self._save({missing[0]}=...) in forward)"
            )
        values = tuple(self._saved[name] for name in names)
        return values[0] if len(values) == 1 else values

    def __repr__(self) -> str:
        config = self.get_config()
        args = [f"{k}={v!r}" for k, v in config.items()]
        # An initialiser given as a function (Dense's, Conv2D's) is left out of the config,
        # which must be JSON, yet it made the weights: shown by name, normal(std=0.05, ...).
        args += [f"{k}={getattr(v, '__name__', v)}" for k in ("W_init", "b_init")
                 if k not in config and callable(v := getattr(self, k, None))]
        return f"{type(self).__name__}({', '.join(args)})"

    # Not part of the layer's math: Keras's and PyTorch's layer arguments (activation=...,
    # bias=...), refused saying how tinynet says them rather than with Python's bare
    # "unexpected keyword argument"; see RefusesOtherLibraries.
    @classmethod
    def _refuse_other_libraries(cls, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        _refuse_other_libraries_arguments(cls, kwargs)


_NO_INPUT_SHAPE = ("tinynet's layers take no input shape: the first layer's own sizes say "
                   "what it takes (Dense(784, 512) takes 784 numbers a sample, Flatten() any "
                   "shape), and model.summary(input_shape=(28, 28)) shows the shapes")

_NO_BIAS = ("tinynet's Dense and Conv2D always learn a bias b, which starts at 0 "
            "(b_init='zeros'); a layer without one is a layer of your own: "
            "docs/layers.md#a-layer-of-your-own")

#: Keras's layer arguments that tinynet does without, and how tinynet says the same.
KERAS_ARGUMENTS = {
    "activation": "in tinynet an activation is a layer of its own, after this one: "
                  "Dense(784, 512), ReLU()",
    "input_shape": _NO_INPUT_SHAPE,
    "input_dim": _NO_INPUT_SHAPE,
    "units": "Dense takes the sizes of its input and of its output: Dense(784, 512)",
    "filters": "Conv2D takes its input and output channels and the kernel size: "
               "Conv2D(1, 32, 3)",
    "use_bias": _NO_BIAS,
    **dict.fromkeys(
        ("kernel_regularizer", "bias_regularizer", "activity_regularizer"),
        "tinynet's layers take no regulariser: SGD(lr, weight_decay=1e-4) adds an L2 penalty "
        "on every parameter, and Dropout(rate) is a layer of its own "
        "(docs/optimizers.md, docs/layers.md#dropout)"),
    "name": "tinynet's layers have no names: a layer is known by its place, model.layers[i]",
    "seed": "a layer draws its random numbers from the model's generator, which "
            "Sequential(layers, seed=0) seeds",
    "axis": "tinynet's Softmax works on the last axis, that of the K classes of outputs "
            "(N, K): Softmax()",
    "padding": "of tinynet's layers only Conv2D pads its input; MaxPool2D pools the windows "
               "that fit, as Keras's padding='valid' (its default) does",
}
#: Keras's names of layer arguments that tinynet names otherwise.
KERAS_NAMES = {"strides": "stride", "kernel_initializer": "W_init",
               "bias_initializer": "b_init"}

#: PyTorch's layer arguments (torch.nn's) that tinynet does without, and how tinynet says
#: the same.
PYTORCH_ARGUMENTS = {
    "bias": _NO_BIAS,
    "inplace": "tinynet's layers never write into their input (a backward may need it): "
               "leave inplace out, as in ReLU() or Dropout(0.5)",
    "dim": "tinynet's Softmax works on the last axis, that of the K classes of outputs "
           "(N, K), which PyTorch calls dim=1: Softmax()",
}
#: PyTorch's names of layer arguments that tinynet names as Keras does.
PYTORCH_NAMES = {"kernel_size": "pool_size", "p": "rate"}

#: Whose layer arguments are refused with tinynet's way to say them: (library, the
#: arguments tinynet does without, the names it spells otherwise).
OTHER_LIBRARIES = (("Keras", KERAS_ARGUMENTS, KERAS_NAMES),
                   ("PyTorch", PYTORCH_ARGUMENTS, PYTORCH_NAMES))


def _refuse_other_libraries_arguments(cls: type[Layer], kwargs: dict[str, Any]) -> None:
    """A TypeError for the first of ``kwargs`` that is one of Keras's or PyTorch's layer
    arguments and that ``cls.__init__`` does not take, saying how tinynet says it. Other
    arguments are left to Python's own error."""
    known = [name for name in kwargs
             if any(name in arguments or name in names for _, arguments, names in OTHER_LIBRARIES)]
    if not known:
        return
    takes = keywords_taken(cls)
    if takes is None:
        return
    for name in known:
        if name in takes:
            continue
        given = f"{name}={kwargs[name]!r}"
        for whose, arguments, names in OTHER_LIBRARIES:
            if name in arguments:
                raise TypeError(other_library_message(cls, given, f"a {whose} argument",
                                                      arguments[name]))
            if names.get(name) in takes:  # only a name this layer takes under tinynet's
                right = names[name]
                raise TypeError(other_name_message(cls, given, right, f"{cls.__name__}(..., "
                                                   f"{right}={kwargs[name]!r})", whose))


def as_float_array(x: np.ndarray, dtype: np.dtype, name: str, layer: Layer) -> np.ndarray:
    """``x`` as an array of ``dtype``; a clear ValueError when it holds no numbers.

    Integers (uint8 pixels, say) are converted, never multiplied as integers; booleans too.
    A copy is made only when the dtype differs.
    """
    return real_array(x, name, layer).astype(dtype, copy=False)


def checked_dy(layer: Layer, dy: np.ndarray, shape: tuple[int, ...],
               dtype: np.dtype | None) -> np.ndarray:
    """``dy`` as an array of ``dtype`` (its own dtype when ``dtype`` is None), or a
    ValueError naming ``layer`` unless it has ``shape``, that of the layer's last output,
    and holds real numbers. (In the parameters' dtype: a float64 dy would upcast every
    product of a float32 layer.) The shape is compared, not broadcast: a dy of shape (1, K)
    for a batch of N would otherwise give a gradient of the wrong size, or a silently
    wrong one. The checks cost O(1), nothing is scanned; a dy of another dtype is copied."""
    dy = np.asarray(dy)
    if dy.shape != shape:
        raise ValueError(f"{layer!r}: dy must have the shape of the last output, {shape}, "
                         f"got {dy.shape}")
    dy = real_array(dy, "dy", layer)
    return dy if dtype is None else dy.astype(dtype, copy=False)


def check_gradient(where: str, what: str, value: Any, shape: tuple[int, ...],
                   like: str) -> np.ndarray:
    """``value``, a gradient a backward pass produced, as an array; a TypeError naming
    ``where`` and ``what`` when it is None or holds no numbers, a ValueError when its shape
    is not ``shape``, that of the array ``like`` names (a gradient has the shape of what it
    is the gradient of)."""
    if value is None:
        raise TypeError(f"{where}: {what} is None, expected an array of shape {shape} "
                        f"(the shape of {like})")
    try:
        array = np.asarray(value)
    except ValueError:  # ragged, as (dx, grads) is: NumPy's message would name neither
        array = None
    if array is None or array.dtype.kind not in "biuf":
        dtype = "" if array is None else f" of dtype {array.dtype}"
        raise TypeError(f"{where}: {what} must be an array of numbers of shape {shape}, got "
                        f"{type(value).__name__}{dtype}")
    if array.shape != shape:
        raise ValueError(f"{where}: {what} has shape {array.shape}, expected {shape}, the "
                         f"shape of {like}")
    return array


def check_grads(where: str, layer: Layer) -> None:
    """After a backward, an error naming ``where`` (the layer) and the parameter unless
    ``layer.grads`` holds a gradient of ``params[name]``'s shape for every parameter and no
    other key: the contract an optimiser relies on when it walks (param, grad) pairs
    without knowing the layer. See :func:`check_gradient` for the errors."""
    extra = [k for k in layer.grads if k not in layer.params]
    if extra:
        raise ValueError(f"{where}: backward filled grads[{extra[0]!r}], but params has no "
                         f"{extra[0]!r} (params: {sorted(layer.params)}): grads and params "
                         "must have the same keys")
    for name, p in layer.params.items():
        if name not in layer.grads:
            raise ValueError(f"{where}: backward did not fill grads[{name!r}], expected the "
                             f"gradient of params[{name!r}], an array of shape {p.shape} "
                             "(backward must fill grads[name] for every parameter)")
        check_gradient(where, f"grads[{name!r}]", layer.grads[name], p.shape,
                       f"params[{name!r}]")


def float_dtype(owner: str, dtype: np.dtype | type | str) -> np.dtype:
    """``dtype`` as a NumPy dtype in this machine's byte order; a ValueError unless it is a
    float type (a layer's parameters are learnt by small steps, which integers cannot take).
    None is refused: NumPy reads it as float64, not as the float32 default."""
    expected = f"{owner}: dtype must be a float dtype (np.float32, np.float64 or its name)"
    if dtype is None:
        raise ValueError(f"{expected}, got None")
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"{expected}, got {dtype!r}") from None
    if dtype.kind != "f":
        raise ValueError(f"{expected}, got {dtype}")
    # In this machine's byte order: a saved model records the dtype by its name, which has
    # none, so a big-endian '>f4' would be saved as 'float32' and its arrays then refused.
    return dtype.newbyteorder("=")


def float_input(x: np.ndarray, layer: Layer) -> np.ndarray:
    """``x`` as an array of floats: a float array as it is (float64 stays float64, for
    gradient checks), integers and booleans converted to float32, anything else refused
    with :func:`real_array`'s ValueError."""
    x = real_array(x, "input", layer)
    return x if x.dtype.kind == "f" else x.astype(np.float32)

