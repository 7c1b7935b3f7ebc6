"""Initialisers: shapes, dtypes, the variance each is designed for, names and seeds."""

import functools
import re
import types

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import SETTINGS, seeds

from tinynet import init
from tinynet.layers import Conv2D, Dense

#: (name, variance as a function of (fan_in, fan_out)) for the random initialisers.
VARIANCES = {
    "glorot_uniform": lambda fi, fo: 2 / (fi + fo),
    "glorot_normal": lambda fi, fo: 2 / (fi + fo),
    "xavier_uniform": lambda fi, fo: 2 / (fi + fo),
    "xavier_normal": lambda fi, fo: 2 / (fi + fo),
    "he_uniform": lambda fi, fo: 2 / fi,
    "he_normal": lambda fi, fo: 2 / fi,
    "normal": lambda fi, fo: 1.0,
}

#: Large draws: (fan_in, fan_out) of a Dense kernel, and a 3x3 convolution kernel.
LARGE_SHAPES = [(400, 100), (3, 3, 32, 64)]


def fans_of(shape):
    receptive_field = int(np.prod(shape[:-2]))
    return shape[-2] * receptive_field, shape[-1] * receptive_field


@pytest.mark.parametrize("shape", LARGE_SHAPES)
@pytest.mark.parametrize("name", sorted(VARIANCES))
def test_variance_is_as_designed(name, shape):
    W = init.get(name)(shape, np.random.default_rng(0), np.float64)
    n = W.size  # 40000 or 18432 draws
    target = VARIANCES[name](*fans_of(shape))
    # The sample variance's relative standard deviation is sqrt(2 / n) (< 0.011 here) for a
    # normal, less for a uniform: 10% is a generous bound; the mean is within 6 sd of 0.
    assert abs(W.var() / target - 1) < 0.1
    assert abs(W.mean()) < 6 * np.sqrt(target / n)
    if "uniform" in name:
        limit = np.sqrt(3 * target)  # U(-a, a) has variance a^2 / 3
        assert np.abs(W).max() <= limit and np.abs(W).max() > 0.99 * limit


def test_parametrised_normal_and_constant():
    rng = np.random.default_rng(1)
    W = init.normal(std=0.5, mean=2.0)((300, 200), rng, np.float64)
    assert abs(W.std() / 0.5 - 1) < 0.05 and abs(W.mean() - 2.0) < 0.01
    np.testing.assert_array_equal(init.constant(3.5)((2, 3), rng, np.float32),
                                  np.full((2, 3), 3.5, np.float32))
    np.testing.assert_array_equal(init.get("zeros")((4,), rng, np.float32), np.zeros(4))
    np.testing.assert_array_equal(init.get("ones")((4, 2), rng, np.float32), np.ones((4, 2)))


@pytest.mark.parametrize("name", sorted(init.INITIALIZERS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@SETTINGS
@given(shape=st.tuples(st.integers(1, 6), st.integers(1, 6)), seed=seeds())
def test_shape_dtype_and_seed(name, dtype, shape, seed):
    fn = init.get(name)
    a = fn(shape, np.random.default_rng(seed), dtype)
    b = fn(shape, np.random.default_rng(seed), dtype)
    assert a.shape == shape and a.dtype == dtype
    assert np.all(np.isfinite(a))
    np.testing.assert_array_equal(a, b)  # same seed, same values


@pytest.mark.parametrize("name", sorted(VARIANCES))
def test_different_seeds_give_different_values(name):
    fn = init.get(name)
    a = fn((10, 10), np.random.default_rng(0), np.float32)
    b = fn((10, 10), np.random.default_rng(1), np.float32)
    assert not np.array_equal(a, b)


def test_by_name_and_by_callable_in_a_layer():
    calls = []

    def mine(shape, rng, dtype):
        calls.append(shape)
        return np.full(shape, 0.25, dtype=dtype)

    assert init.get(mine) is mine
    layer = Dense(3, 2, W_init=mine, b_init=init.constant(-1.0), dtype=np.float64)
    assert calls == [(3, 2)]
    np.testing.assert_array_equal(layer.params["W"], np.full((3, 2), 0.25))
    np.testing.assert_array_equal(layer.params["b"], [-1.0, -1.0])
    assert layer.params["W"].dtype == np.float64
    he = Dense(500, 300, W_init="he_normal", rng=np.random.default_rng(2))
    assert abs(he.params["W"].var() / (2 / 500) - 1) < 0.1


@pytest.mark.parametrize("bad", ["glorot", "He_Normal", "", 3, None, ["he_normal"]])
def test_unknown_initialiser_is_refused(bad):
    with pytest.raises(ValueError, match=re.escape(
            "initializer must be a callable or one of ['glorot_normal', 'glorot_uniform', "
            "'he_normal', 'he_uniform', 'normal', 'ones', 'xavier_normal', 'xavier_uniform', "
            f"'zeros'], got {bad!r}")):  # alphabetical, easy to scan
        init.get(bad)
    with pytest.raises(ValueError, match=r"^Dense: W_init must be"):
        Dense(2, 3, W_init=bad)
    with pytest.raises(ValueError, match=r"^Conv2D: b_init must be"):
        Conv2D(1, 2, 2, b_init=bad)


def test_initialisers_made_from_arguments_show_them_in_their_repr():
    # repr() reads __qualname__: without it, each would read
    # <function normal.<locals>.init ...>.
    assert repr(init.normal(0.5)).startswith("<function normal(std=0.5, mean=0.0) at ")
    assert repr(init.constant(2)).startswith("<function constant(2.0) at ")


@pytest.mark.parametrize("std", [-1.0, np.nan, np.inf, "1", None, True])
def test_a_std_that_is_not_a_finite_number_at_least_0_is_refused(std):
    with pytest.raises(ValueError, match=r"^normal: std must be a number in \[0.0, inf\), got "):
        init.normal(std=std)


@pytest.mark.parametrize("value", [np.nan, np.inf, "1", None, True, [1.0, 2.0]])
def test_a_mean_or_constant_that_is_not_a_finite_number_is_refused(value):
    # Unchecked, None and NaN would fill the weights with NaN, "0" would fail at the first
    # draw.
    with pytest.raises(ValueError, match=r"^normal: mean must be a finite number, got "):
        init.normal(1.0, mean=value)
    with pytest.raises(ValueError, match=r"^constant: value must be a finite number, got "):
        init.constant(value)


@pytest.mark.parametrize("returns", [
    lambda shape: np.zeros((1,)),  # broadcasts in x @ W + b: a silently wrong layer
    lambda shape: np.zeros((*shape, 1)),
    lambda shape: np.zeros(shape, dtype=complex),
])
def test_a_callable_initialiser_of_the_wrong_shape_or_kind_is_refused(returns):
    with pytest.raises(ValueError, match=r"^Dense: b_init must return real numbers of shape "
                                         r"\(2,\), got an array of shape"):
        Dense(3, 2, b_init=lambda shape, rng, dtype: returns(shape))
    with pytest.raises(ValueError, match=r"^Conv2D: W_init must return real numbers of shape "
                                         r"\(2, 2, 1, 3\), got an array of shape"):
        Conv2D(1, 3, 2, W_init=lambda shape, rng, dtype: returns(shape))


@pytest.mark.parametrize("make, dtype, found", [
    (lambda: init.constant(1e39), np.float32, "inf at [0]"),  # beyond float32's 3.4e38
    (lambda: init.normal(1e30), np.float16, "at [0]"),  # float16 ends at 65504
    (lambda: lambda shape, rng, dtype: np.full(shape, 1e300), np.float32, "1e+300 at [0]"),
    (lambda: lambda shape, rng, dtype: np.where(np.arange(shape[0]) == 1, np.nan, 0.0),
     np.float64, "nan at [1]"),
])
def test_an_initialiser_whose_values_are_not_finite_in_the_layers_dtype_is_refused(
        make, dtype, found):
    # Without the check, the layer holds inf or NaN, and the first fit stops as if the
    # learning rate had diverged.
    with np.errstate(all="raise"), pytest.raises(ValueError) as info:
        Dense(3, 2, b_init=make(), dtype=dtype)
    message = str(info.value)
    assert message.startswith(f"Dense: b_init must return finite numbers that "
                              f"{np.dtype(dtype)} holds, got "), message
    assert message.endswith(found), message


@pytest.mark.parametrize("fn", [lambda shape, dtype=None: np.zeros(shape),  # Keras's
                                lambda shape: np.zeros(shape)])
def test_an_initialiser_that_does_not_take_shape_rng_dtype_is_refused_by_name(fn):
    # Python's own error, "<lambda>() takes from 1 to 2 positional arguments but 3 were
    # given", would name neither the argument nor the signature wanted.
    with pytest.raises(TypeError, match=r"^Conv2D: W_init must take \(shape, rng, dtype\), "
                                        r"as tinynet.init's initialisers do \(Keras's take "
                                        r"\(shape, dtype\)\), got <lambda>\(shape"):
        Conv2D(1, 3, 2, W_init=fn)


@pytest.mark.parametrize("fn, named, hint", [
    (np.zeros, "numpy.zeros", "the name 'zeros'"), (np.ones, "numpy.ones", "the name 'ones'"),
    (np.random.randn, "numpy.random.randn", "a function such as lambda shape, rng, dtype: "),
    (np.random.default_rng(0).normal, "numpy.random._generator.normal", "a function such as "),
])
def test_a_numpy_function_as_an_initialiser_is_refused_with_what_to_use(fn, named, hint):
    # np.zeros(shape, dtype, order) takes three arguments: given (shape, rng, dtype), NumPy
    # would fail with "Cannot interpret 'Generator(PCG64) at 0x...' as a data type".
    with pytest.raises(TypeError, match=rf"^Dense: W_init must take \(shape, rng, dtype\), as "
                                        rf"tinynet.init's initialisers do, got NumPy's "
                                        rf"{re.escape(named)}: use {re.escape(hint)}"):
        Dense(3, 2, W_init=fn)


def test_a_method_of_a_numpy_generator_without_a_module_is_refused_too():
    # NumPy 1.x's np.random.randn and Generator.normal have __module__ None: such a method is
    # known by the generator it belongs to.
    def randn(self, *shape):
        return np.zeros(shape)

    randn.__module__ = None
    method = types.MethodType(randn, np.random.RandomState(0))
    with pytest.raises(TypeError, match=r"got NumPy's numpy\.random\.mtrand\.randn: use a "
                                        r"function such as lambda shape, rng, dtype: "):
        Dense(3, 2, W_init=method)


def test_an_adapter_made_with_functools_wraps_is_read_as_itself():
    # inspect.signature follows __wrapped__ by default: the Keras initialiser's (shape,
    # dtype) would be read, and the adapter that takes (shape, rng, dtype) refused.
    def keras_style(shape, dtype=None):
        return np.full(shape, 0.5)

    @functools.wraps(keras_style)
    def adapter(shape, rng, dtype):
        return keras_style(shape, dtype)

    np.testing.assert_array_equal(Dense(2, 3, W_init=adapter).params["W"], np.full((2, 3), 0.5))


def test_an_initialiser_whose_signature_cannot_be_read_is_called_as_it_is():
    # As some builtins: inspect.signature raises ValueError ("no signature found").
    class Opaque:
        @property
        def __signature__(self):
            raise ValueError("no signature found")

        def __call__(self, shape, rng, dtype):
            return np.full(shape, 0.5)

    np.testing.assert_array_equal(Dense(2, 3, W_init=Opaque()).params["W"], np.full((2, 3), 0.5))


def test_a_callable_initialiser_that_ignores_dtype_gets_the_layers_dtype():
    # rng.normal draws float64: kept as is, it would make a float32 layer compute in
    # float64.
    layer = Dense(3, 2, W_init=lambda shape, rng, dtype: rng.normal(0, 0.1, shape))
    assert layer.params["W"].dtype == np.float32
    assert layer.forward(np.ones((1, 3), np.float32)).dtype == np.float32


def test_fans():
    assert init.fans((7, 5)) == (7, 5)
    assert init.fans((3, 3, 4, 8)) == (3 * 3 * 4, 3 * 3 * 8)
    assert init.fans((6,)) == (6, 6)
    assert init.fans(()) == (1, 1)  # a scalar is one number in and out, as in Keras
    assert init.fans([7, 5]) == (7, 5)  # a list, as Keras takes it
    assert init.glorot_uniform([3, 4], np.random.default_rng(0)).shape == (3, 4)
    for name in ("glorot_uniform", "he_normal"):
        assert np.isfinite(init.get(name)((), np.random.default_rng(0), np.float32))


RANDOM = ["glorot_uniform", "glorot_normal", "he_uniform", "he_normal"]


@pytest.mark.parametrize("shape", [(0, 3), (3, 0), None, 3, (3.0, 2), (-1, 2), (True, 2)])
@pytest.mark.parametrize("name", RANDOM)
def test_a_shape_without_fans_is_refused_by_name(name, shape):
    # Unchecked, (0, 3) would divide by a fan of 0 (ZeroDivisionError), None and 3 would
    # fail on len().
    with pytest.raises(ValueError, match=rf"^{name}: shape must be a tuple of ints >= 1, got "):
        getattr(init, name)(shape, np.random.default_rng(0))


@pytest.mark.parametrize("rng", [0, "seed", np.random.RandomState(0)])
@pytest.mark.parametrize("name", [*RANDOM, "normal"])
def test_an_rng_that_is_not_a_generator_is_refused_by_name(name, rng):
    # Before: AttributeError: 'int' object has no attribute 'uniform'.
    with pytest.raises(TypeError, match=rf"^{name}: rng must be a numpy.random.Generator"):
        init.get(name)((3, 2), rng, np.float32)


@pytest.mark.parametrize("name", [*RANDOM, "normal"])
def test_no_rng_draws_from_a_fresh_generator_as_a_layer_does(name):
    W = init.get(name)((30, 20), None, np.float32)
    assert W.shape == (30, 20) and W.dtype == np.float32 and W.std() > 0


@pytest.mark.parametrize("make", [lambda: init.constant(3.5), lambda: init.normal(0.5, 1.0)],
                         ids=["constant", "normal"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_parametrised_initialisers_give_the_dtype_asked_for(make, dtype):
    # Called directly, as a layer's own code may: not cast afterwards by a layer.
    W = make()((3, 4), np.random.default_rng(0), dtype)
    assert W.shape == (3, 4) and W.dtype == dtype


def test_a_callable_initialiser_may_return_bools_cast_to_the_layers_dtype():
    # A random 0/1 mask (rng.random(shape) < p) is real numbers too.
    mask = np.array([[True, False], [False, True], [True, True]])
    layer = Dense(3, 2, W_init=lambda shape, rng, dtype: mask)
    assert layer.params["W"].dtype == np.float32
    np.testing.assert_array_equal(layer.params["W"], mask.astype(np.float32))
