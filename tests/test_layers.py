"""The layer contract, and each layer's forward and backward pass."""

import importlib
import inspect
import json
import pkgutil
import re

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import (
    EXTREME,
    FEW,
    SETTINGS,
    away_from_kink,
    batch_shapes,
    check_resolvable,
    distinct_values,
    extreme_logits,
    floats64,
    image_shapes,
    matrix_shapes,
    seeds,
    sizes,
)

import tinynet.layers
from tinynet.gradcheck import check_layer
from tinynet.layers import (
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    Layer,
    MaxPool2D,
    RandomShift,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)


def make_dense(D: int, seed: int = 0) -> Dense:
    """A float64 Dense layer D -> 3 with non-zero biases (zeros would hide a wrong db)."""
    return Dense(D, 3, b_init="normal", dtype=np.float64, rng=np.random.default_rng(seed))


#: Every core layer, built for an input with D features (name -> factory).
LAYERS = {
    "Dense": make_dense,
    "ReLU": lambda D: ReLU(),
    "Sigmoid": lambda D: Sigmoid(),
    "Tanh": lambda D: Tanh(),
    "Softmax": lambda D: Softmax(),
    "Flatten": lambda D: Flatten(),
    "Dropout": lambda D: Dropout(0.5, rng=np.random.default_rng(0)),
}

#: The mark of the homework part that grades each layer's forward and backward
#: (docs/homework.md). Written out as part("<id>"): the grader reads a test file that cannot
#: be imported for these, to fail its parts.
LAYER_PARTS = {
    "Conv2D": pytest.mark.part("conv2d"),
    "Dense": pytest.mark.part("dense-backward"),
    "MaxPool2D": pytest.mark.part("maxpool2d"),
    "ReLU": pytest.mark.part("relu"),
    "Sigmoid": pytest.mark.part("sigmoid"),
    "Softmax": pytest.mark.part("softmax-backward"),
}


def graded(names: list[str]) -> list:
    """Layer names for ``parametrize``, each marked with the part that grades its layer, so
    that every check of a layer's contract counts towards its part, not only some."""
    return [pytest.param(n, marks=LAYER_PARTS[n]) if n in LAYER_PARTS else n for n in names]


#: The names of LAYERS in order, each marked with the homework part whose backward it grades.
GRADED_LAYERS = graded(sorted(LAYERS))


# ------------------------------------------------------------------------------ the contract
@pytest.mark.parametrize("name", GRADED_LAYERS)
@SETTINGS
@given(data=st.data())
def test_backward_never_writes_into_dy(name, data):
    x = data.draw(away_from_kink(matrix_shapes()))
    layer = LAYERS[name](x.shape[1])
    y = layer.forward(x, training=True)
    dy = data.draw(floats64(y.shape))
    original = dy.copy()
    dy.flags.writeable = False  # an in-place write would raise here
    dx = layer.backward(dy)
    np.testing.assert_array_equal(dy, original)
    assert dx.shape == x.shape
    # A new array: a caller may change dx without changing dy, and the other way round.
    assert not np.shares_memory(dx, dy)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_backward_before_forward_is_a_clear_error(name):
    layer = LAYERS[name](4)
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones((2, 3)))


def test_a_forward_that_saved_under_another_name_is_named_by_backward():
    # A student's ReLU forward keeps self._save(inputs=x): without the check, backward would
    # fail with a bare KeyError: 'x', and one that saved nothing would be told that forward
    # had not run.
    class Forgetful(ReLU):
        def forward(self, x, training=False):
            self._save(inputs=x)
            return np.maximum(x, 0)

    layer = Forgetful()
    layer.forward(np.ones((2, 3)))
    with pytest.raises(RuntimeError, match=r"^Forgetful.backward needs 'x', which forward did "
                                           r"not save: it saved 'inputs' \(self._save\(x=...\) "
                                           r"in forward\)$"):
        layer.backward(np.ones((2, 3)))
    with pytest.raises(RuntimeError, match=r"before forward, or after a forward that saved "
                                           r"nothing: .* with self._save\(x=...\)$"):
        ReLU().backward(np.ones((2, 3)))


@pytest.mark.parametrize("name", GRADED_LAYERS)
@SETTINGS
@given(data=st.data())
def test_backward_twice_gives_the_same_gradients(name, data):
    # grads are overwritten by each backward, never accumulated.
    x = data.draw(away_from_kink(matrix_shapes()))
    layer = LAYERS[name](x.shape[1])
    y = layer.forward(x, training=True)
    dy = data.draw(floats64(y.shape))
    dx1 = layer.backward(dy)
    grads1 = {k: g.copy() for k, g in layer.grads.items()}
    dx2 = layer.backward(dy)
    np.testing.assert_array_equal(dx2, dx1)
    assert layer.grads.keys() == grads1.keys() == layer.params.keys(), (
        f"{name}: backward filled grads {sorted(layer.grads)}, expected one for every "
        f"parameter, {sorted(layer.params)}")
    for k, g in layer.grads.items():
        np.testing.assert_array_equal(g, grads1[k])
        assert g.shape == layer.params[k].shape, (
            f"{name}: grads[{k!r}] has shape {g.shape}, expected {layer.params[k].shape}, "
            f"that of params[{k!r}]")


@pytest.mark.part("dense-backward")
@SETTINGS
@given(st.data())
def test_dense_grads_come_from_the_last_batch_only(data):
    D = data.draw(st.integers(1, 4))
    x1 = data.draw(floats64((data.draw(st.integers(1, 4)), D)))
    x2 = data.draw(floats64((data.draw(st.integers(1, 4)), D)))
    dy1, dy2 = data.draw(floats64((len(x1), 3))), data.draw(floats64((len(x2), 3)))
    layer, fresh = make_dense(D), make_dense(D)
    layer.forward(x1)
    layer.backward(dy1)
    layer.forward(x2)
    layer.backward(dy2)
    fresh.forward(x2)
    fresh.backward(dy2)
    for k in ("W", "b"):
        np.testing.assert_array_equal(layer.grads[k], fresh.grads[k])


# ------------------------------------------------------------------------ gradient checks
@pytest.mark.part("dense-backward")
@SETTINGS
@given(floats64(matrix_shapes()), st.integers(1, 4), seeds())
def test_dense_gradient_check(x, out_features, seed):
    layer = Dense(x.shape[1], out_features, b_init="normal", dtype=np.float64,
                  rng=np.random.default_rng(seed))
    # An x of zeros and small entries makes dW = x.T @ dy tiny next to the f the normal
    # bias keeps: below what central differences resolve (strategies.resolvable).
    result, resolvable = check_resolvable(layer, x, seed % 1000)
    assume(resolvable)
    assert set(result.errors) == {"x", "W", "b"}
    assert result.passed, str(result)


@pytest.mark.part("relu")
@SETTINGS
@given(away_from_kink(batch_shapes(min_dims=1)), seeds())
def test_relu_gradient_check(x, seed):
    result = check_layer(ReLU(), x, seed=seed % 1000)
    assert result.passed, str(result)


@pytest.mark.parametrize("layer_type", [pytest.param(Sigmoid, marks=pytest.mark.part("sigmoid")),
                                        Tanh])
@SETTINGS
@given(x=floats64(batch_shapes(min_dims=1)), seed=seeds())
def test_smooth_activation_gradient_check(layer_type, x, seed):
    result = check_layer(layer_type(), x, seed=seed % 1000)
    assert result.passed, str(result)


@SETTINGS
@given(floats64(batch_shapes(min_dims=2, max_dims=4)), seeds())
def test_flatten_gradient_check(x, seed):
    result = check_layer(Flatten(), x, seed=seed % 1000)
    assert result.passed, str(result)


@SETTINGS
@given(floats64(matrix_shapes(max_cols=6)), st.sampled_from([0.0, 0.2, 0.5, 0.9]), seeds())
def test_dropout_gradient_check_while_training(x, rate, seed):
    layer = Dropout(rate, rng=np.random.default_rng(seed))
    result = check_layer(layer, x, training=True, seed=seed % 1000)
    assert result.passed, str(result)


# --------------------------------------------------------------------------------- Dense
@pytest.mark.part("dense-forward")
@SETTINGS
@given(floats64(matrix_shapes()), seeds())
def test_dense_forward_is_x_at_W_plus_b(x, seed):
    layer = make_dense(x.shape[1], seed)
    W, b = layer.params["W"], layer.params["b"]
    np.testing.assert_allclose(layer.forward(x), x @ W + b, rtol=1e-12, atol=1e-12)
    assert W.shape == (x.shape[1], 3) and b.shape == (3,)


@pytest.mark.part("dense-forward")
def test_dense_forward_keeps_its_input_for_backward():
    # Without this check, a forward lacking self._save(x=x) would pass dense-forward and fail
    # dense-backward, with "backward was called before forward": the student would look for
    # the bug in backward.
    layer = make_dense(4, seed=0)
    x = np.arange(8, dtype=np.float64).reshape(2, 4)
    layer.forward(x)
    np.testing.assert_array_equal(layer._load("x"), x)


def test_dense_default_initialisation_is_glorot_uniform_and_zero_bias():
    D_in, D_out = 40, 30
    layer = Dense(D_in, D_out, rng=np.random.default_rng(1))
    limit = np.sqrt(6 / (D_in + D_out))
    W, b = layer.params["W"], layer.params["b"]
    assert W.dtype == np.float32 and b.dtype == np.float32
    assert np.all(np.abs(W) <= limit) and np.abs(W).max() > limit / 2
    np.testing.assert_array_equal(b, np.zeros(D_out, np.float32))
    np.testing.assert_array_equal(Dense(2, 3, b_init="ones").params["b"], np.ones(3))


@pytest.mark.part("dense-forward")
def test_dense_converts_integer_input_to_its_float_dtype():
    rng = np.random.default_rng(2)
    pixels = rng.integers(0, 256, size=(5, 4), dtype=np.uint8)
    layer = Dense(4, 2, rng=rng)
    y = layer.forward(pixels)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, layer.forward(pixels.astype(np.float32)), rtol=1e-6)
    # As integers, 255 * 255 would have wrapped around in uint8; as floats it does not.
    assert np.all(np.isfinite(y))


def test_dense_names_itself_and_the_shapes_on_a_wrong_input():
    layer = Dense(4, 2)
    # A batch of the wrong width gets no hint: neither Flatten nor a missing batch axis.
    with pytest.raises(ValueError, match=r"Dense\(in_features=4.*\(N, 4\).*\(5, 3\)$"):
        layer.forward(np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"\(N, 4\).*\(5, 2, 2\).*Flatten"):
        layer.forward(np.zeros((5, 2, 2)))
    with pytest.raises(ValueError, match="dtype"):
        layer.forward(np.array([["a", "b", "c", "d"]]))


@pytest.mark.part("dense-backward")
def test_a_float32_dense_keeps_float32_for_a_float64_dy():
    # A loss of one's own, or np.ones(y.shape), hands backward float64: dx and every
    # gradient stay in the layer's dtype (as Conv2D's, test_conv.py), equal to those of the
    # same dy in float32.
    rng = np.random.default_rng(3)
    layer = Dense(4, 3, b_init="normal", rng=rng)
    layer.forward(rng.standard_normal((5, 4)).astype(np.float32))
    dy = rng.standard_normal((5, 3))
    dx = layer.backward(dy)
    grads = {name: g.copy() for name, g in layer.grads.items()}  # backward may reuse them
    dtypes = {"dx": dx.dtype, **{f"d{name}": g.dtype for name, g in grads.items()}}
    assert all(d == np.float32 for d in dtypes.values()), (
        f"a float32 Dense given a float64 dy returned {dtypes}, expected float32 throughout "
        "(the layer's dtype)")
    np.testing.assert_allclose(dx, layer.backward(dy.astype(np.float32)), rtol=1e-6)
    for name, g in layer.grads.items():
        np.testing.assert_allclose(grads[name], g, rtol=1e-6)


@pytest.mark.parametrize("shape", [(4,), (2, 2)])
def test_dense_hints_at_the_batch_axis_of_one_sample(shape):
    # predict(x_test[0]): one flattened image (784,), or one image not flattened (28, 28).
    with pytest.raises(ValueError, match=rf"got {re.escape(str(shape))} \(one sample\? "
                                         r"add the batch axis: x\.reshape\(1, 4\)\)$"):
        Dense(4, 2).forward(np.zeros(shape))


@pytest.mark.parametrize("make", [lambda init: Dense(3, 2, W_init=init, b_init=init),
                                  lambda init: Conv2D(1, 2, 3, W_init=init, b_init=init)],
                         ids=["Dense", "Conv2D"])
def test_a_callable_initialiser_is_left_out_of_the_config(make):
    # A function cannot be written as JSON; a loaded model takes its weights from the file.
    def halves(shape, rng, dtype):
        return np.full(shape, 0.5, dtype=dtype)

    config = make(halves).get_config()
    assert "W_init" not in config and "b_init" not in config
    assert json.loads(json.dumps(config)) == config
    assert make("he_normal").get_config()["W_init"] == "he_normal"


@pytest.mark.parametrize("bad", [0, -1, 2.0, True, "3", None])
def test_dense_refuses_bad_sizes(bad):
    with pytest.raises(ValueError, match="in_features"):
        Dense(bad, 3)
    with pytest.raises(ValueError, match="out_features"):
        Dense(3, bad)


@pytest.mark.parametrize("make, match", [
    # Keras's MNIST programs, written from memory: each refused with tinynet's way to say it.
    (lambda: Dense(512, activation="relu", input_shape=(784,)),
     r"^Dense: activation='relu' is a Keras argument; in tinynet an activation is a layer of "
     r"its own, after this one: Dense\(784, 512\), ReLU\(\)$"),
    (lambda: Flatten(input_shape=(28, 28)),
     r"^Flatten: input_shape=\(28, 28\) is a Keras argument; tinynet's layers take no input "
     r"shape: .*Dense\(784, 512\) takes 784 numbers a sample"),
    (lambda: Dense(784, 10, input_dim=784), r"^Dense: input_dim=784 is a Keras argument; "),
    (lambda: Dense(units=10), r"^Dense: units=10 is a Keras argument; Dense takes the sizes of "
                              r"its input and of its output: Dense\(784, 512\)$"),
    (lambda: Conv2D(1, 32, 3, activation="relu"), r"^Conv2D: activation='relu' is a Keras "),
    (lambda: Conv2D(filters=32, kernel_size=3), r"^Conv2D: filters=32 is a Keras argument; "
                                                r"Conv2D takes .*: Conv2D\(1, 32, 3\)$"),
    (lambda: Conv2D(1, 32, 3, strides=2), r"^Conv2D: strides=2 is Keras's name; tinynet's is "
                                          r"stride, as in Conv2D\(..., stride=2\)$"),
    (lambda: MaxPool2D(2, strides=2), r"^MaxPool2D: strides=2 is Keras's name; .* stride=2"),
    (lambda: Dense(784, 10, kernel_initializer="he_normal"),
     r"^Dense: kernel_initializer='he_normal' is Keras's name; tinynet's is W_init, as in "
     r"Dense\(..., W_init='he_normal'\)$"),
    (lambda: Dense(784, 10, bias_initializer="ones"), r"tinynet's is b_init"),
    (lambda: Dense(784, 10, use_bias=False),
     r"^Dense: use_bias=False is a Keras argument; tinynet's Dense and Conv2D always learn a "
     r"bias b, .*docs/layers.md#a-layer-of-your-own$"),
    # Without the hint, these would fail with Python's bare "unexpected keyword argument".
    (lambda: Dense(784, 10, kernel_regularizer=0.01),
     r"^Dense: kernel_regularizer=0.01 is a Keras argument; tinynet's layers take no "
     r"regulariser: SGD\(lr, weight_decay=1e-4\) adds an L2 penalty on every parameter, and "
     r"Dropout\(rate\) is a layer of its own"),
    (lambda: Dense(784, 10, name="hidden"), r"^Dense: name='hidden' is a Keras argument; "
                                            r"tinynet's layers have no names"),
    (lambda: Dropout(0.5, seed=1), r"^Dropout: seed=1 is a Keras argument; .*Sequential\("
                                   r"layers, seed=0\) seeds$"),
    (lambda: Softmax(axis=-1), r"^Softmax: axis=-1 is a Keras argument; tinynet's Softmax "
                               r"works on the last axis"),
    (lambda: MaxPool2D(2, padding="same"), r"^MaxPool2D: padding='same' is a Keras argument; "
                                           r"of tinynet's layers only Conv2D pads its input; "
                                           r"MaxPool2D pools the windows that fit"),
    # Keras's calls by position, which leave the input's size to be inferred: to Python,
    # an argument is missing, and its message would not say which size is which.
    (lambda: Dense(64), r"^Dense: Dense\(64\) is Keras's call, which infers the input size; "
                        r"tinynet's Dense takes the sizes of its input and of its output: "
                        r"Dense\(784, 64\) for 784 numbers a sample$"),
    (lambda: Dense(64, dtype="float64"), r"^Dense: Dense\(64, dtype='float64'\) is Keras's "
                                         r"call, .*: Dense\(784, 64, dtype='float64'\) for "),
    (lambda: Conv2D(32, 3), r"^Conv2D: Conv2D\(32, 3\) is Keras's call, which infers the "
                            r"input's channels; tinynet's Conv2D takes them first: "
                            r"Conv2D\(1, 32, 3\) for grey images$"),
    (lambda: Conv2D(32, kernel_size=(3, 3), padding="same"),
     r"^Conv2D: Conv2D\(32, kernel_size=\(3, 3\), padding='same'\) is Keras's call, .*: "
     r"Conv2D\(1, 32, \(3, 3\), padding='same'\) for grey images$"),
], ids=["activation", "input_shape", "input_dim", "units", "conv-activation", "filters",
        "strides", "pool-strides", "kernel_initializer", "bias_initializer", "use_bias",
        "kernel_regularizer", "name", "dropout-seed", "softmax-axis", "pool-padding",
        "dense-units-only", "dense-units-and-dtype", "conv-filters-and-kernel",
        "conv-kernel-by-name"])
def test_keras_layer_arguments_are_refused_with_the_tinynet_way(make, match):
    with pytest.raises(TypeError, match=match):
        make()


def test_a_layer_of_ones_own_may_take_an_argument_of_a_keras_name():
    # Only arguments a layer does not take are refused: yours may take "activation".
    class DenseWithActivation(Dense):
        def __init__(self, in_features, out_features, activation=None):
            super().__init__(in_features, out_features)
            self.activation = activation

    class AnyArguments(Layer):
        def __init__(self, **kwargs):
            super().__init__()
            self.kwargs = kwargs

    # Nor a call that is Keras's only for Dense's and Conv2D's own arguments.
    class SquareDense(Dense):
        def __init__(self, size):
            super().__init__(size, size)

    class GreyConv2D(Conv2D):
        def __init__(self, out_channels, kernel_size):
            super().__init__(1, out_channels, kernel_size)

    assert DenseWithActivation(2, 3, activation="relu").activation == "relu"
    assert AnyArguments(units=3).kwargs == {"units": 3}
    assert SquareDense(3).params["W"].shape == (3, 3)
    assert GreyConv2D(4, 3).params["W"].shape == (3, 3, 1, 4)
    # Nor tinynet's own calls that name a size: they are not Keras's.
    assert Dense(784, out_features=10).params["W"].shape == (784, 10)
    assert Conv2D(1, out_channels=4, kernel_size=3).params["W"].shape == (3, 3, 1, 4)
    # Not an argument tinynet has a word for (it has no dilated convolution), in Keras's
    # name or PyTorch's: Python's own error says so.
    for name in ("dilation_rate", "dilation"):
        with pytest.raises(TypeError, match=f"unexpected keyword argument '{name}'"):
            Conv2D(1, 32, 3, **{name: 2})


@pytest.mark.parametrize("make, match", [
    # PyTorch's MNIST programs, written from memory: each refused with tinynet's way to say
    # it, in the words of the Keras refusals above.
    (lambda: MaxPool2D(kernel_size=2), r"^MaxPool2D: kernel_size=2 is PyTorch's name; "
                                       r"tinynet's is pool_size, as in "
                                       r"MaxPool2D\(\.\.\., pool_size=2\)$"),
    (lambda: Dropout(p=0.25), r"^Dropout: p=0.25 is PyTorch's name; tinynet's is rate, as in "
                              r"Dropout\(\.\.\., rate=0.25\)$"),
    (lambda: Dense(784, 10, bias=False),
     r"^Dense: bias=False is a PyTorch argument; tinynet's Dense and Conv2D always learn a "
     r"bias b, .*a layer of your own: docs/layers.md#a-layer-of-your-own$"),
    (lambda: Conv2D(1, 32, 3, bias=False), r"^Conv2D: bias=False is a PyTorch argument; "),
    (lambda: ReLU(inplace=True), r"^ReLU: inplace=True is a PyTorch argument; tinynet's layers "
                                 r"never write into their input .*: leave inplace out, as in "
                                 r"ReLU\(\) or Dropout\(0.5\)$"),
    (lambda: Dropout(0.5, inplace=False), r"^Dropout: inplace=False is a PyTorch argument; "),
    (lambda: Softmax(dim=1), r"^Softmax: dim=1 is a PyTorch argument; tinynet's Softmax works "
                             r"on the last axis, .*: Softmax\(\)$"),
], ids=["kernel_size", "p", "bias", "conv-bias", "inplace", "dropout-inplace", "dim"])
def test_pytorch_layer_arguments_are_refused_with_the_tinynet_way(make, match):
    with pytest.raises(TypeError, match=match):
        make()


def test_a_layers_repr_names_an_initialiser_given_as_a_function():
    # Left out of get_config (JSON holds no function): a repr that left it out too would read
    # as a layer with the default initialiser.
    def mine(shape, rng, dtype):
        return np.zeros(shape, dtype)

    assert repr(Dense(2, 3, W_init=tinynet.init.normal(0.05))) == (
        "Dense(in_features=2, out_features=3, b_init='zeros', dtype='float32', "
        "W_init=normal(std=0.05, mean=0.0))")
    assert repr(Conv2D(1, 2, 3, b_init=mine)).endswith(", dtype='float32', b_init=mine)")
    assert repr(Dense(2, 3)) == ("Dense(in_features=2, out_features=3, W_init='glorot_uniform', "
                                 "b_init='zeros', dtype='float32')")

    class Mine(Layer):  # keeps the function of the initialiser it records by name
        def __init__(self):
            super().__init__()
            self.W_init = tinynet.init.get("he_normal")

        def get_config(self):
            return {"W_init": "he_normal"}

    assert repr(Mine()) == "Mine(W_init='he_normal')"


def test_pytorch_layers_that_tinynet_writes_the_same_way_just_work():
    # nn.Linear(784, 10), nn.Conv2d(1, 32, 3, 1), nn.MaxPool2d(2), nn.Dropout(0.25),
    # nn.Flatten(): the same arguments, in the same order, under the same names.
    assert Dense(in_features=784, out_features=10).get_config()["out_features"] == 10
    conv = Conv2D(in_channels=1, out_channels=32, kernel_size=3, stride=1, padding=1)
    assert (conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
            conv.padding) == (1, 32, (3, 3), (1, 1), (1, 1))
    assert Conv2D(1, 32, 3, 1).stride == (1, 1)
    assert MaxPool2D(2, stride=2).pool_size == (2, 2)
    assert Dropout(0.25).rate == 0.25
    assert Flatten().forward(np.zeros((2, 1, 28, 28))).shape == (2, 784)


def test_a_pytorch_name_is_translated_only_for_a_layer_that_takes_tinynets_word():
    # Conv2D takes kernel_size itself; Dense takes no pool_size, so Python's error stands.
    assert Conv2D(1, 2, kernel_size=3).kernel_size == (3, 3)
    with pytest.raises(TypeError, match="unexpected keyword argument 'kernel_size'"):
        Dense(784, 10, kernel_size=3)

    class Gate(Layer):  # a layer of one's own may take PyTorch's names
        def __init__(self, p=0.5, bias=True, dim=-1):
            super().__init__()
            self.p, self.bias, self.dim = p, bias, dim

    assert vars(Gate(p=0.1, bias=False, dim=1)).items() >= {"p": 0.1, "bias": False,
                                                            "dim": 1}.items()


def test_a_keras_name_is_translated_only_for_a_layer_that_takes_tinynets_word():
    # Dense has no stride: "tinynet's is stride" would send a Keras user to an argument that
    # Dense does not take, so Python's own error stands.
    with pytest.raises(TypeError, match="unexpected keyword argument 'strides'") as refused:
        Dense(784, 10, strides=2)
    assert "stride," not in str(refused.value)


@pytest.mark.parametrize("dtype, shown", [
    (np.int32, "int32"),
    (None, "None"),  # NumPy would read None as float64, not as the float32 default
    ("floot32", "'floot32'"),
    (complex, "complex128"),
])
@pytest.mark.parametrize("make", [lambda dtype: Dense(2, 3, dtype=dtype),
                                  lambda dtype: Conv2D(1, 2, 2, dtype=dtype)],
                         ids=["Dense", "Conv2D"])
def test_a_dtype_that_is_not_a_float_dtype_is_refused_by_name(make, dtype, shown):
    with pytest.raises(ValueError, match=rf"(Dense|Conv2D): dtype must be a float dtype "
                                         rf"\(np.float32, np.float64 or its name\), got {shown}$"):
        make(dtype)


@pytest.mark.parametrize("rng", [0, "seed", np.random.RandomState(0), np.random])
@pytest.mark.parametrize("make", [
    lambda rng: Dense(2, 3, rng=rng),
    lambda rng: Conv2D(1, 2, 2, rng=rng),
    lambda rng: Dropout(0.5, rng=rng),
    lambda rng: RandomShift(1, rng=rng),
], ids=["Dense", "Conv2D", "Dropout", "RandomShift"])
def test_an_rng_that_is_not_a_generator_is_refused_by_name(make, rng):
    # Unchecked, Dropout and RandomShift would keep it and fail at the first training batch;
    # Dense and Conv2D would fail inside the initialiser with an AttributeError.
    with pytest.raises(TypeError, match=r"^(Dense|Conv2D|Dropout|RandomShift): rng must be "
                                        r"a numpy.random.Generator, .*got "):
        make(rng)


# ----------------------------------------------------------------------------- activations
@pytest.mark.part("relu")
@SETTINGS
@given(floats64(batch_shapes(min_dims=1)))
def test_relu_forward_and_its_derivative_at_zero(x):
    x[..., 0] = 0.0  # some exact zeros: ReLU'(0) = 0 by convention
    layer = ReLU()
    np.testing.assert_array_equal(layer.forward(x), np.where(x > 0, x, 0.0))
    dy = np.ones_like(x)
    dx = layer.backward(dy)
    np.testing.assert_array_equal(dx, (x > 0).astype(float))
    assert np.all(dx[..., 0] == 0)


@pytest.mark.part("relu")
def test_relu_passes_nan_on():
    # A layer below that diverged must show in the loss, not be hidden as ReLU's 0
    # (np.fmax, or np.where(x > 0, x, 0), would hide it; x * (x > 0) makes -inf NaN).
    x = np.array([[np.nan, -np.inf, np.inf, -1.0]], dtype=np.float32)
    np.testing.assert_array_equal(ReLU().forward(x), [[np.nan, 0, np.inf, 0]])


@pytest.mark.part("sigmoid")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@SETTINGS
@given(data=st.data())
def test_sigmoid_is_stable_for_extreme_inputs(dtype, data):
    x = data.draw(extreme_logits(batch_shapes(min_dims=1), dtype=dtype))
    dy = data.draw(floats64(x.shape)).astype(dtype)
    layer = Sigmoid()
    with np.errstate(all="raise"):  # no overflow, no invalid value, no underflow
        y = layer.forward(x)
        dx = layer.backward(dy)
    assert y.dtype == dtype
    assert np.all((y >= 0) & (y <= 1)) and np.all(np.isfinite(dx))
    # sigmoid(-x) = 1 - sigmoid(x), and it is monotonic.
    np.testing.assert_allclose(Sigmoid().forward(-x), 1 - y, atol=1e-6)
    order = np.argsort(x, axis=None, kind="stable")
    assert np.all(np.diff(y.ravel()[order]) >= 0)
    assert np.all(y[x == EXTREME] == 1) and np.all(y[x == -EXTREME] == 0)


@pytest.mark.part("sigmoid")
@SETTINGS
@given(floats64(batch_shapes(min_dims=1), -30, 30))
def test_sigmoid_and_tanh_match_their_formulas(x):
    np.testing.assert_allclose(Sigmoid().forward(x), 1 / (1 + np.exp(-x)), rtol=1e-12)
    np.testing.assert_allclose(Tanh().forward(x), np.tanh(x), rtol=1e-12)
    with np.errstate(all="raise"):
        np.testing.assert_array_equal(Tanh().forward(x * EXTREME), np.tanh(x * EXTREME))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tanh_backward_does_not_report_the_harmless_underflow_of_a_tiny_y(dtype):
    # tanh(x) = x for tiny x, and y * y underflows to 0 (below 1e-19 in float32): exactly
    # right, as Sigmoid's and Softmax's underflows are, and not an error under all="raise".
    x = np.array([1e-30, -1e-200, 0.5], dtype=dtype)  # y * y underflows in float32, float64
    layer = Tanh()
    with np.errstate(all="raise"):
        y = layer.forward(x)
        dx = layer.backward(np.ones_like(x))
    np.testing.assert_array_equal(dx, 1 - y * y)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", graded(["Sigmoid", "Softmax"]))
def test_sigmoid_and_softmax_backward_do_not_report_the_harmless_underflow_of_a_tiny_y(
        name, dtype):
    # y = sigmoid(-740) is subnormal in float64 (sigmoid(-100) in float32), as is a softmax
    # probability of a logit 740 below its row's maximum: dy * y underflows, exactly right,
    # and not an error under all="raise" (as Tanh's, above).
    low = -740.0 if dtype == np.float64 else -100.0
    layer, x = ((Sigmoid(), np.array([low, 3.0], dtype=dtype)) if name == "Sigmoid" else
                (Softmax(), np.array([[0.0, low]], dtype=dtype)))
    dy = np.full_like(x, 0.3)
    with np.errstate(all="raise"):
        y = layer.forward(x)
        dx = layer.backward(dy)
    assert 0 < y.min() < np.finfo(dtype).tiny  # subnormal, not 0: the case under test
    with np.errstate(under="ignore"):
        expected = (dy * y * (1 - y) if name == "Sigmoid"
                    else y * (dy - (dy * y).sum(axis=-1, keepdims=True)))
    # Up to rounding: y * (1 - y) * dy, or the Jacobian product, are as right, and may
    # differ in the last bit, or by a subnormal where this gives 0.
    info = np.finfo(dtype)
    np.testing.assert_allclose(dx, expected, rtol=4 * info.eps, atol=info.tiny)


# --------------------------------------------------------------------------------- Flatten
@SETTINGS
@given(floats64(batch_shapes(min_dims=1, max_dims=5)))
def test_flatten_reshapes_each_sample_and_back(x):
    layer = Flatten()
    y = layer.forward(x)
    assert y.shape == (x.shape[0], int(np.prod(x.shape[1:])))
    np.testing.assert_array_equal(y, x.reshape(len(x), -1))
    np.testing.assert_array_equal(layer.backward(y), x)


def test_flatten_refuses_an_input_without_a_batch_axis():
    with pytest.raises(ValueError, match=r"^Flatten: expected input with a batch axis, got "
                                         r"shape \(\)$"):
        Flatten().forward(np.float64(3.0))


# --------------------------------------------------------------------------------- Dropout
@SETTINGS
@given(floats64(batch_shapes(min_dims=1)), st.floats(0.0, 0.95))
def test_dropout_is_the_identity_when_not_training(x, rate):
    layer = Dropout(rate, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(layer.forward(x), x)
    np.testing.assert_array_equal(layer.forward(x, training=False), x)
    dy = np.ones_like(x)
    np.testing.assert_array_equal(layer.backward(dy), dy)


@SETTINGS
@given(seeds(), st.sampled_from([0.1, 0.3, 0.5, 0.8]))
def test_dropout_drops_at_its_rate_and_scales_the_rest(seed, rate):
    x = np.random.default_rng(seed).uniform(1, 2, size=(200, 100))  # no zeros of its own
    layer = Dropout(rate, rng=np.random.default_rng([seed, 1]))  # a stream apart from x's
    y = layer.forward(x, training=True)
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / (1 - rate), rtol=1e-12)
    # 20000 Bernoulli draws: the dropped fraction is within 6 standard deviations of rate.
    sd = np.sqrt(rate * (1 - rate) / x.size)
    assert abs((1 - kept.mean()) - rate) < 6 * sd
    # Inverted dropout keeps the expected value: E[y] = x. Given x, the entries of y are
    # independent with variance x**2 * rate / (1 - rate), so y.mean() is within 6 standard
    # deviations of x.mean(). (A fixed 5% bound would fail at rate 0.8, where one standard
    # deviation is already 1.4%.)
    sd_of_mean = np.sqrt(np.sum(x**2) * rate / (1 - rate)) / x.size
    assert abs(y.mean() - x.mean()) < 6 * sd_of_mean
    # Backward lets the gradient through exactly where the input went through.
    dy = np.random.default_rng(seed + 1).standard_normal(x.shape)
    np.testing.assert_allclose(layer.backward(dy), dy * y / x, rtol=1e-12)


def test_dropout_masks_follow_the_generator():
    x = np.ones((20, 20))
    a = Dropout(0.5, rng=np.random.default_rng(7)).forward(x, training=True)
    b = Dropout(0.5, rng=np.random.default_rng(7)).forward(x, training=True)
    c = Dropout(0.5, rng=np.random.default_rng(8)).forward(x, training=True)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_dropout_at_rate_0_draws_no_numbers():
    # In a model, every Dropout draws from the model's one generator: a Dropout(0.0) that
    # drew a mask of all ones would change the masks of the Dropouts after it.
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(Dropout(0.0, rng=rng).forward(x, training=True), x)
    assert rng.bit_generator.state == state


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5, True, "0.5", None, np.float32(1.0)])
def test_dropout_refuses_a_bad_rate(rate):
    with pytest.raises(ValueError, match="rate"):
        Dropout(rate)


def test_dropout_takes_a_numpy_rate_and_integer_input():
    layer = Dropout(np.float32(0.5), rng=np.random.default_rng(0))
    y = layer.forward(np.full((50, 40), 3), training=True)  # ints: scaled as floats
    assert y.dtype == np.float32 and set(np.unique(y)) == {0.0, 6.0}


#: The layers that compute (Flatten only reshapes, whatever the dtype).
COMPUTING = sorted(set(LAYERS) - {"Flatten"})


@pytest.mark.parametrize("name", COMPUTING)
def test_integers_and_booleans_are_taken_as_floats(name):
    layer = LAYERS[name](4)
    ints = np.array([[0, 1, 2, 3], [3, 2, 1, 0]])
    np.testing.assert_allclose(layer.forward(ints), layer.forward(ints.astype(np.float32)),
                               rtol=1e-6)
    assert layer.forward(ints > 1).dtype.kind == "f"


#: The layers without parameters that compute: they work in the dtype of their input.
ELEMENTWISE = sorted(set(COMPUTING) - {"Dense"})


@pytest.mark.parametrize("name", graded(ELEMENTWISE))
def test_a_float32_input_keeps_float32_for_a_float64_dy(name):
    # As Dense's (above): integers are taken as float32, a float32 input gives a float32
    # output, and a float64 dy (np.ones(y.shape), a loss of one's own) a float32 dx, equal
    # to that of the same dy in float32, not an upcast of every later product.
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 4)).astype(np.float32)
    layer = LAYERS[name](4)
    assert layer.forward(np.arange(12).reshape(3, 4)).dtype == np.float32
    y = layer.forward(x, training=True)
    dy = rng.standard_normal(y.shape)
    dx = layer.backward(dy)
    assert y.dtype == dx.dtype == np.float32
    np.testing.assert_allclose(dx, layer.backward(dy.astype(np.float32)), rtol=1e-6)


@pytest.mark.parametrize("name", COMPUTING)
@pytest.mark.parametrize("dtype", [object, complex, str])
def test_an_input_that_is_not_real_numbers_is_refused_by_name(name, dtype):
    with pytest.raises(ValueError, match=r"input must hold real numbers .*got dtype"):
        LAYERS[name](4).forward(np.ones((2, 4)).astype(dtype))


def test_flatten_keeps_an_empty_batch():
    layer = Flatten()
    assert layer.forward(np.zeros((0, 3, 2))).shape == (0, 6)
    assert layer.backward(np.zeros((0, 6))).shape == (0, 3, 2)


def test_dense_backward_refuses_a_dy_of_the_wrong_shape():
    layer = Dense(4, 3, rng=np.random.default_rng(0))
    layer.forward(np.ones((5, 4)))
    for call in (layer.backward, layer.backward_params):
        with pytest.raises(ValueError, match=r"dy must have the shape of the last output, "
                                             r"\(5, 3\), got \(5, 4\)"):
            call(np.ones((5, 4)))


# ------------------------------------------------------------------------ every layer class
@st.composite
def dense_case(draw):
    x = draw(floats64(matrix_shapes()))
    return make_dense(x.shape[1], draw(seeds())), x


@st.composite
def conv_case(draw):
    N, H, W, C = draw(image_shapes())
    layer = Conv2D(C, draw(sizes(1, 2)), draw(sizes(1, min(H, W))), stride=draw(sizes(1, 2)),
                   padding=draw(st.sampled_from(["valid", "same", 1])), b_init="normal",
                   dtype=np.float64, rng=np.random.default_rng(draw(seeds())))
    return layer, draw(floats64((N, H, W, C)))


@st.composite
def pool_case(draw):
    N, H, W, C = draw(image_shapes())
    layer = MaxPool2D(draw(sizes(1, min(H, W, 3))), stride=draw(sizes(1, 3)))
    return layer, draw(distinct_values((N, H, W, C)))


@st.composite
def shift_case(draw):
    layer = RandomShift(draw(st.integers(0, 3)), rng=np.random.default_rng(draw(seeds())))
    return layer, draw(floats64(image_shapes()))


def plain_case(make, values=floats64, shapes=None):
    """A layer without constructor arguments that matter, on any input of ``shapes`` (by
    default a batch of any number of axes)."""
    shapes = batch_shapes(min_dims=1) if shapes is None else shapes
    return values(shapes).map(lambda x: (make(), x))


#: A strategy of (float64 layer, input it takes) for every Layer class in tinynet.layers.
#: test_every_layer_class_has_a_case keeps it complete: a new layer needs an entry here, and
#: gets the gradient check and the in-place checks below.
ALL_LAYERS = {
    "Conv2D": conv_case(),
    "Dense": dense_case(),
    "Dropout": st.tuples(st.sampled_from([0.0, 0.3, 0.7]), seeds(), floats64(batch_shapes(
        min_dims=1))).map(lambda a: (Dropout(a[0], rng=np.random.default_rng(a[1])), a[2])),
    "Flatten": plain_case(Flatten),
    "MaxPool2D": pool_case(),
    "RandomShift": shift_case(),
    "ReLU": plain_case(ReLU, away_from_kink),
    "Sigmoid": plain_case(Sigmoid),
    "Softmax": plain_case(Softmax, shapes=matrix_shapes(max_cols=6)),
    "Tanh": plain_case(Tanh),
}


def layer_classes() -> set[str]:
    """The names of every Layer subclass defined in a module of tinynet/layers/."""
    names = set()
    for info in pkgutil.iter_modules(tinynet.layers.__path__):
        module = importlib.import_module(f"tinynet.layers.{info.name}")
        for name, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, Layer) and obj is not Layer and obj.__module__ == module.__name__:
                names.add(name)
    return names


def test_every_layer_class_has_a_case():
    assert layer_classes() == set(ALL_LAYERS)


@pytest.mark.parametrize("training", [False, True], ids=["inference", "training"])
@pytest.mark.parametrize("name", graded(sorted(ALL_LAYERS)))
@FEW
@given(data=st.data())
def test_every_layer_passes_the_gradient_check(name, training, data):
    layer, x = data.draw(ALL_LAYERS[name])
    seed = data.draw(st.integers(0, 999))
    # Softmax on a row of logits far apart, a Dense or Conv2D on an x of zeros and small
    # entries: gradients below what central differences resolve (strategies.resolvable).
    result, resolvable = check_resolvable(layer, x, seed, training)
    assume(resolvable)
    assert set(result.errors) == {"x", *layer.params}
    assert result.passed, str(result)


@pytest.mark.parametrize("training", [False, True], ids=["inference", "training"])
@pytest.mark.parametrize("name", graded(sorted(ALL_LAYERS)))
@FEW
@given(data=st.data())
def test_no_layer_writes_into_its_input_or_dy(name, training, data):
    layer, x = data.draw(ALL_LAYERS[name])
    x_before = x.copy()
    x.flags.writeable = False  # a write into x, in forward or later in backward, raises
    y = layer.forward(x, training=training)
    dy = data.draw(floats64(y.shape))
    dy_before = dy.copy()
    dy.flags.writeable = False
    dx = layer.backward(dy)
    layer.backward_params(dy)  # Dense and Conv2D have their own
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(dy, dy_before)
    assert dx.shape == x.shape
    assert not np.shares_memory(dx, dy)  # a caller may change one without the other


#: One concrete (layer, input) per Layer class, for the checks of arguments below.
EXAMPLES = {
    "Conv2D": lambda: (Conv2D(1, 2, 2, dtype=np.float64, rng=np.random.default_rng(0)),
                       np.ones((2, 3, 3, 1))),
    "Dense": lambda: (make_dense(4), np.ones((2, 4))),
    "Dropout": lambda: (Dropout(0.5, rng=np.random.default_rng(0)), np.ones((2, 4))),
    "Flatten": lambda: (Flatten(), np.ones((2, 2, 2))),
    "MaxPool2D": lambda: (MaxPool2D(2), np.arange(2 * 4 * 4.0).reshape(2, 4, 4, 1)),
    "RandomShift": lambda: (RandomShift(1, rng=np.random.default_rng(0)), np.ones((2, 3, 3, 1))),
    "ReLU": lambda: (ReLU(), np.ones((2, 4))),
    "Sigmoid": lambda: (Sigmoid(), np.ones((2, 4))),
    "Softmax": lambda: (Softmax(), np.ones((2, 4))),
    "Tanh": lambda: (Tanh(), np.ones((2, 4))),
}


def test_every_layer_class_has_an_example():
    assert layer_classes() == set(EXAMPLES)


@pytest.mark.parametrize("training", [False, True], ids=["inference", "training"])
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_backward_refuses_a_dy_that_would_broadcast(name, training):
    # A dy of one sample for a batch of two broadcasts in NumPy's products: the gradient
    # would come out of the wrong shape or silently wrong instead of as an error.
    layer, x = EXAMPLES[name]()
    y = layer.forward(x, training=training)
    with pytest.raises(ValueError, match=rf"{name}\(.*dy must have the shape of the last "
                                         rf"output, \({y.shape[0]}, .*got \(1, "):
        layer.backward(np.ones((1, *y.shape[1:])))


@pytest.mark.parametrize("dtype", [complex, str, object])
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_backward_refuses_a_dy_that_is_not_real_numbers(name, dtype):
    layer, x = EXAMPLES[name]()
    y = layer.forward(x, training=True)
    with pytest.raises(ValueError, match=rf"{name}\(.*dy must hold real numbers .*got dtype"):
        layer.backward(np.ones(y.shape).astype(dtype))


@pytest.mark.parametrize("name", sorted(set(EXAMPLES) - {"Flatten"}))
def test_a_ragged_input_is_refused_by_name(name):
    # Flatten is left out: it only reshapes, whatever the array holds.
    layer, _ = EXAMPLES[name]()
    with pytest.raises(ValueError, match=rf"{name}\(.*input must be an array of real numbers"):
        layer.forward([[1.0, 2.0], [3.0]])


@pytest.mark.parametrize("dtype", [complex, str, object])
def test_random_shift_refuses_images_that_are_not_real_numbers(dtype):
    # Unchecked, it would pass them through (complex images would come out shifted and
    # complex).
    with pytest.raises(ValueError, match=r"^RandomShift\(max_shift=1\): input must hold real "
                                         r"numbers .*got dtype"):
        RandomShift(1).forward(np.ones((2, 3, 3, 1)).astype(dtype), training=True)


@pytest.mark.parametrize("training", ["no", "yes", 0, None])
@pytest.mark.parametrize("name", ["Dropout", "RandomShift"])
def test_layers_that_train_differently_want_a_bool(name, training):
    # bool("no") is True: taken as a bool, Dropout would drop entries and RandomShift shift
    # at inference.
    layer, x = EXAMPLES[name]()
    with pytest.raises(TypeError, match=rf"^{name}\(.*\): training must be True or False, "
                                        rf"got {training!r}$"):
        layer.forward(x, training=training)


def test_random_shift_keeps_uint8_pixels():
    pixels = np.arange(18, dtype=np.uint8).reshape(2, 3, 3, 1)
    assert RandomShift(1, rng=np.random.default_rng(0)).forward(pixels, True).dtype == np.uint8


def test_training_steps_build_no_layer_repr(monkeypatch):
    # A layer's repr formats its whole config (about 10 microseconds for a Dense): the checks
    # that run in every forward and backward must build it only for the error they raise.
    calls = []

    def counted_repr(self):
        calls.append(type(self).__name__)
        return f"{type(self).__name__}(...)"

    monkeypatch.setattr(Layer, "__repr__", counted_repr)
    rng = np.random.default_rng(0)
    layers = [Conv2D(1, 2, 3, rng=rng), ReLU(), Flatten(), Dense(8, 3, rng=rng),
              Dropout(0.5, rng=rng), Sigmoid(), Tanh(), Softmax()]
    x = rng.random((2, 4, 4, 1)).astype(np.float32)
    for layer in layers:
        x = layer.forward(x, training=True)
    dy = np.ones_like(x)
    for layer in reversed(layers):
        dy = layer.backward(dy)
    assert dy.shape == (2, 4, 4, 1)
    assert calls == []
    with pytest.raises(ValueError, match=r"Dense\(\.\.\.\): input must hold real numbers"):
        layers[3].forward(np.full((2, 8), "a"))
    assert calls == ["Dense"]
