"""MaxPool2D: forward against a loop over everything, gradients, the tie rule, the errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from strategies import distinct_values, examples, floats64

from tinynet.gradcheck import check_layer
from tinynet.layers.conv import Conv2D
from tinynet.layers.pooling import MaxPool2D

SETTINGS = settings(max_examples=examples(40), deadline=None)


def reference_pool(x, pool, stride):
    """The definition, window by window, with the tie rule: the first maximum in row-major
    window order wins. Returns y and, for each window, the (row, column) of its winner."""
    N, H, W, C = x.shape
    H_out, W_out = (H - pool[0]) // stride[0] + 1, (W - pool[1]) // stride[1] + 1
    y = np.zeros((N, H_out, W_out, C))
    winner = np.zeros((N, H_out, W_out, C, 2), dtype=int)
    for n in range(N):
        for i in range(H_out):
            for j in range(W_out):
                for c in range(C):
                    best = None
                    for di in range(pool[0]):
                        for dj in range(pool[1]):
                            r, s = i * stride[0] + di, j * stride[1] + dj
                            if best is None or x[n, r, s, c] > best:  # strict: first wins ties
                                best = x[n, r, s, c]
                                winner[n, i, j, c] = (r, s)
                    y[n, i, j, c] = best
    return y, winner


def reference_backward(x, dy, winner):
    dx = np.zeros_like(x)
    N, H_out, W_out, C = dy.shape
    for n in range(N):
        for i in range(H_out):
            for j in range(W_out):
                for c in range(C):
                    r, s = winner[n, i, j, c]
                    dx[n, r, s, c] += dy[n, i, j, c]
    return dx


@st.composite
def pool_cases(draw, max_size=7):
    """(pool, stride, input shape) with the pool no larger than the input."""
    H, W = draw(st.integers(1, max_size)), draw(st.integers(1, max_size))
    pool = (draw(st.integers(1, min(H, 4))), draw(st.integers(1, min(W, 4))))
    stride = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    shape = (draw(st.integers(1, 2)), H, W, draw(st.integers(1, 3)))
    return pool, stride, shape


@pytest.mark.part("maxpool2d")
@SETTINGS
@given(pool_cases(), st.integers(0, 2**32 - 1), st.booleans(), st.data())
def test_forward_and_backward_match_the_definition(case, seed, with_ties, data):
    pool, stride, shape = case
    rng = np.random.default_rng(seed)
    # Small integers make ties common; the reference breaks them by its own loop order.
    values = (hnp.arrays(np.float64, shape, elements=st.integers(0, 2).map(float))
              if with_ties else floats64(shape))
    x = data.draw(values, label="x")
    layer = MaxPool2D(pool, stride)
    y = layer.forward(x)
    expected, winner = reference_pool(x, pool, stride)
    np.testing.assert_array_equal(y, expected, err_msg="forward: y")
    dy = rng.standard_normal(y.shape)
    # The message says which pass is wrong: a student grading the part sees it first.
    np.testing.assert_allclose(layer.backward(dy), reference_backward(x, dy, winner),
                               rtol=1e-12, atol=1e-12,
                               err_msg="backward: dx (each window's dy goes to its first "
                                       "maximum in row-major order, the rest get 0)")


@pytest.mark.part("maxpool2d")
@SETTINGS
@given(pool_cases(), st.integers(0, 2**32 - 1), st.data())
def test_gradients_match_finite_differences(case, seed, data):
    pool, stride, shape = case
    x = data.draw(distinct_values(shape), label="x")
    result = check_layer(MaxPool2D(pool, stride), x, seed=seed % 1000)
    assert result.passed, str(result)


@pytest.mark.part("maxpool2d")
def test_a_worked_example():
    x = np.array([[1, 3, 2, 0],
                  [4, 2, 1, 5],
                  [0, 1, 7, 6],
                  [2, 2, 8, 1]], dtype=np.float32).reshape(1, 4, 4, 1)
    layer = MaxPool2D(2)
    y = layer.forward(x)
    np.testing.assert_array_equal(y[0, :, :, 0], [[4, 5], [2, 8]])
    dx = layer.backward(np.array([[10, 20], [30, 40]], dtype=np.float32).reshape(1, 2, 2, 1))
    # Each window's gradient lands on its maximum; the bottom-left window has a tie between
    # its 2s: the first in row-major order (row 3, column 0) takes it.
    np.testing.assert_array_equal(dx[0, :, :, 0], [[0, 0, 0, 0],
                                                   [10, 0, 0, 20],
                                                   [0, 0, 0, 0],
                                                   [30, 0, 40, 0]])


@pytest.mark.part("maxpool2d")
def test_ties_send_the_gradient_to_exactly_one_entry_the_first_in_row_major_order():
    # All-equal windows (as after a ReLU that zeroed a region), 3x3 pool, stride 3.
    x = np.zeros((2, 6, 6, 3), dtype=np.float32)
    layer = MaxPool2D(3)
    y = layer.forward(x)
    dy = np.arange(1, y.size + 1, dtype=np.float32).reshape(y.shape)
    dx = layer.backward(dy)
    # The whole gradient arrives, each window's to one entry only: its top-left corner.
    assert dx.sum() == dy.sum()
    assert np.count_nonzero(dx) == y.size
    np.testing.assert_array_equal(dx[:, ::3, ::3, :], dy)
    # A tie later in the window: the maximum at (0, 2) and (2, 0); (0, 2) comes first.
    x = np.zeros((1, 3, 3, 1), dtype=np.float32)
    x[0, 2, 0, 0] = x[0, 0, 2, 0] = 5
    dx = layer.backward(np.ones_like(layer.forward(x)))
    assert dx[0, 0, 2, 0] == 1 and dx.sum() == 1


@pytest.mark.part("maxpool2d")
def test_a_window_holding_nan_sends_its_gradient_to_no_number():
    # The window's maximum is NaN, which equals none of its entries: tinynet's backward sends
    # its gradient nowhere (the class docstring says why). Routing it to the first NaN, as
    # numpy.argmax picks it, is as sound, and a student's solution may do that; sending it to
    # a number of the window is wrong. The other windows are routed as ever.
    nan = np.nan
    x = np.array([[1, nan, 2, 0],
                  [nan, 2, 1, 5],
                  [9, 0, 7, 6],
                  [nan, 1, 8, 1]], dtype=np.float32).reshape(1, 4, 4, 1)
    layer = MaxPool2D(2)
    y = layer.forward(x)
    np.testing.assert_array_equal(y[0, :, :, 0], [[nan, 5], [nan, 8]])
    dx = layer.backward(np.array([[10, 20], [30, 40]], dtype=np.float32).reshape(1, 2, 2, 1))
    np.testing.assert_array_equal(dx[0, :2, 2:, 0], [[0, 0], [0, 20]])
    np.testing.assert_array_equal(dx[0, 2:, 2:, 0], [[0, 0], [40, 0]])
    first_nan = {(0, 0): (0, 1), (1, 0): (3, 0)}  # window -> its first NaN, row-major
    for (i, j), nan_at in first_nan.items():
        window = dx[0, 2 * i:2 * i + 2, 2 * j:2 * j + 2, 0]
        routed = np.zeros((2, 2), dtype=np.float32)
        routed[nan_at[0] - 2 * i, nan_at[1] - 2 * j] = 10 if i == 0 else 30
        assert (window == 0).all() or (window == routed).all(), window


@pytest.mark.part("maxpool2d")
def test_overlapping_windows_add_up_at_a_shared_maximum():
    # 3x3 pool, stride 1 on a 4x4 image whose maximum is in the middle of all four windows.
    x = np.zeros((1, 4, 4, 1))
    x[0, 1, 2, 0] = 9.0
    layer = MaxPool2D(3, stride=1)
    y = layer.forward(x)
    assert y.shape == (1, 2, 2, 1) and (y == 9).all()
    dx = layer.backward(np.array([1.0, 2.0, 3.0, 4.0]).reshape(1, 2, 2, 1))
    assert dx[0, 1, 2, 0] == 10.0 and dx.sum() == 10.0


@pytest.mark.part("maxpool2d")
def test_floor_output_size_leaves_the_last_row_without_gradient(monkeypatch):
    # Memory that np.empty and np.empty_like hand out holds whatever was there, often zeros:
    # made NaN here, a dx not zeroed where no window reaches fails every time, not by chance.
    def dirty(make):
        def made(*args, **kwargs):
            a = make(*args, **kwargs)
            if a.dtype.kind == "f":
                a.fill(np.nan)
            return a
        return made

    monkeypatch.setattr(np, "empty_like", dirty(np.empty_like))
    monkeypatch.setattr(np, "empty", dirty(np.empty))
    layer = MaxPool2D(2)
    x = np.random.default_rng(0).standard_normal((1, 5, 5, 2))
    y = layer.forward(x)
    assert y.shape == (1, 2, 2, 2)  # 5 // 2, as Keras's "valid"
    dx = layer.backward(np.ones_like(y))
    assert not dx[:, 4, :, :].any() and not dx[:, :, 4, :].any()


def test_stride_defaults_to_the_pool_size():
    assert MaxPool2D(3).stride == (3, 3)
    assert MaxPool2D((2, 3)).stride == (2, 3)
    assert MaxPool2D(2, stride=1).stride == (1, 1)
    assert MaxPool2D(2).forward(np.zeros((1, 26, 26, 28))).shape == (1, 13, 13, 28)


@pytest.mark.part("maxpool2d")
def test_keeps_float32_and_converts_integers():
    x = np.random.default_rng(0).integers(0, 256, (2, 4, 4, 1), dtype=np.uint8)
    layer = MaxPool2D(2)
    y = layer.forward(x)
    assert y.dtype == np.float32
    assert layer.backward(np.ones(y.shape)).dtype == np.float32
    assert MaxPool2D(2).forward(x.astype(np.float64)).dtype == np.float64


@pytest.mark.part("maxpool2d")
def test_backward_does_not_mutate_dy():
    rng = np.random.default_rng(3)
    layer = MaxPool2D(2, stride=1)
    y = layer.forward(rng.standard_normal((2, 5, 5, 3)))
    dy = rng.standard_normal(y.shape)
    saved = dy.copy()
    dx = layer.backward(dy)
    np.testing.assert_array_equal(dy, saved)
    assert not np.shares_memory(dx, dy)


@pytest.mark.part("maxpool2d")
def test_backward_before_forward_raises():
    with pytest.raises(RuntimeError, match="before forward"):
        MaxPool2D(2).backward(np.zeros((1, 2, 2, 1)))


@pytest.mark.part("maxpool2d")
def test_backward_with_the_wrong_shape_raises():
    layer = MaxPool2D(2)
    layer.forward(np.zeros((1, 4, 4, 1)))
    with pytest.raises(ValueError, match=r"\(1, 2, 2, 1\)"):
        layer.backward(np.zeros((1, 4, 4, 1)))


def test_a_pool_larger_than_the_input_raises():
    with pytest.raises(ValueError, match=r"the 3x3 pool is larger than the input, 2x5"):
        MaxPool2D(3).forward(np.zeros((1, 2, 5, 1)))
    with pytest.raises(ValueError, match=r"the 1x3 pool is larger than the input, 4x2"):
        MaxPool2D((1, 3)).forward(np.zeros((1, 4, 2, 1)))


@pytest.mark.parametrize("shape", [(4, 4), (1, 4, 4), (1, 1, 4, 4, 1)])
def test_an_input_that_is_not_4d_raises(shape):
    with pytest.raises(ValueError,
                       match=r"MaxPool2D.*channels-last images of shape \(N, H, W, C\)"):
        MaxPool2D(2).forward(np.zeros(shape))


def test_a_3d_input_gets_both_hints_when_the_channels_are_not_known():
    # MaxPool2D (or a RandomShift, first in a model) does not know the channels: (28, 28, 1)
    # may be one image without its batch axis or 28 images without their channel axis.
    with pytest.raises(ValueError, match=r"\(add a channel axis: x\.reshape\(N, H, W, 1\); "
                                         r"or, one image\? add the batch axis: x\[None\], of "
                                         r"shape \(1, 8, 8, 1\)\)$"):
        MaxPool2D(2).forward(np.zeros((8, 8, 1)))


def test_a_3d_input_whose_last_axis_is_too_long_for_channels_gets_the_channel_hint_alone():
    # (2, 28, 28): images have 1, 3 or 4 channels, so 28 is a width, and x[None] of shape
    # (1, 2, 28, 28) would be no fix.
    with pytest.raises(ValueError, match=r"got an array of shape \(2, 28, 28\) \(add a channel "
                                         r"axis: x\.reshape\(N, H, W, 1\)\)$"):
        MaxPool2D(2).forward(np.zeros((2, 28, 28)))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"pool_size": 0}, "pool_size must be an int >= 1 or a pair of them, got 0"),
    ({"pool_size": (2, 2, 2)}, r"pool_size must be .*got \(2, 2, 2\)"),
    ({"pool_size": 2.5}, "pool_size must be an int"),
    ({"pool_size": 2, "stride": 0}, "stride must be an int >= 1 or a pair of them, got 0"),
    ({"pool_size": 2, "stride": (1, "2")}, "stride must be an int"),
])
def test_bad_constructor_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=f"MaxPool2D: {message}"):
        MaxPool2D(**kwargs)


def test_config_is_json_and_rebuilds_the_layer():
    for layer in (MaxPool2D(2), MaxPool2D((2, 3), stride=1)):
        config = json.loads(json.dumps(layer.get_config()))
        rebuilt = MaxPool2D(**config)
        assert (rebuilt.pool_size, rebuilt.stride) == (layer.pool_size, layer.stride)


# A CNN, convolution and pooling together. Last in the maxpool2d part's tests, so that a
# student's grade names the failing pooling test above, not these, which only see its effect.
def bars(n, rng, size=8):
    """n noisy size x size images holding one bright bar: horizontal (label 0) or vertical
    (label 1), at a random row or column. Shapes (n, size, size, 1) and (n,)."""
    labels = rng.integers(0, 2, n)
    where = rng.integers(0, size, n)[:, None, None]
    lines = np.arange(size)
    horizontal = np.broadcast_to(lines[None, :, None] == where, (n, size, size))
    vertical = np.broadcast_to(lines[None, None, :] == where, (n, size, size))
    images = np.where(labels[:, None, None] == 0, horizontal, vertical).astype(np.float32)
    images += 0.5 * rng.random((n, size, size), dtype=np.float32)
    return images[..., None], labels


@pytest.mark.part("maxpool2d")
def test_a_tiny_cnn_learns_horizontal_versus_vertical_bars():
    import tinynet
    from tinynet.layers.reshape import Flatten

    rng = np.random.default_rng(0)
    x_train, y_train = bars(400, rng)
    x_test, y_test = bars(200, rng)
    model = tinynet.Sequential([
        Conv2D(1, 4, 3, padding="same"), tinynet.ReLU(), MaxPool2D(2),  # (N, 4, 4, 4)
        Flatten(), tinynet.Dense(4 * 4 * 4, 2), tinynet.Softmax(),
    ], seed=0)
    # Plain SGD, which is no homework part: with Adam (an earlier part), a wrong Adam
    # would fail this test too, and the grade would blame MaxPool2D.
    model.compile("sparse_categorical_crossentropy", tinynet.SGD(lr=0.1))
    _, before = model.evaluate(x_test, y_test)
    model.fit(x_train, y_train, epochs=8, batch_size=16, verbose=0)
    _, after = model.evaluate(x_test, y_test)
    assert before < 0.8  # the task is not solved by the initial weights
    assert after >= 0.97


@pytest.mark.part("maxpool2d")
def test_gradients_through_a_small_cnn_match_finite_differences():
    import tinynet
    from tinynet.gradcheck import check_model
    from tinynet.layers.reshape import Flatten

    f64 = np.float64
    model = tinynet.Sequential([
        Conv2D(2, 3, 3, padding="same", b_init="normal", dtype=f64), tinynet.Tanh(),
        MaxPool2D(2), Conv2D(3, 4, 2, stride=1, dtype=f64), tinynet.Tanh(),  # (N, 2, 2, 4)
        Flatten(), tinynet.Dense(16, 3, dtype=f64),
    ], seed=3)
    x = np.random.default_rng(3).standard_normal((2, 6, 6, 2))
    result = check_model(model, tinynet.CrossEntropy(from_logits=True), x, np.array([0, 2]))
    assert result.passed, str(result)
    assert {"x", "0.W", "0.b", "3.W", "3.b", "6.W", "6.b"} <= set(result.errors)
