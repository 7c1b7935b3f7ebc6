"""Conv2D: forward against a loop over everything, gradients against finite differences."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from strategies import check_resolvable, examples, floats64

from tinynet.layers.conv import Conv2D, same_padding
from tinynet.layers.pooling import MaxPool2D

# Hypothesis draws a few dozen small cases per test; no deadline, since a busy machine may
# take a while over one of them.
SETTINGS = settings(max_examples=examples(40), deadline=None)


def reference_conv(x, W, b, stride, pads):
    """The definition, one multiply-add at a time: no im2col, no matrix product."""
    N, H, Wd, C_in = x.shape
    kh, kw, _, C_out = W.shape
    top, bottom, left, right = pads
    xp = np.zeros((N, H + top + bottom, Wd + left + right, C_in))
    xp[:, top:top + H, left:left + Wd, :] = x
    H_out = (xp.shape[1] - kh) // stride[0] + 1
    W_out = (xp.shape[2] - kw) // stride[1] + 1
    y = np.zeros((N, H_out, W_out, C_out))
    for n in range(N):
        for i in range(H_out):
            for j in range(W_out):
                for o in range(C_out):
                    total = b[o]
                    for di in range(kh):
                        for dj in range(kw):
                            for c in range(C_in):
                                total += (xp[n, i * stride[0] + di, j * stride[1] + dj, c]
                                          * W[di, dj, c, o])
                    y[n, i, j, o] = total
    return y


@st.composite
def conv_cases(draw, max_size=7):
    """(layer arguments, input shape, padding as (top, bottom, left, right)) of a valid case."""
    C_in, C_out = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    padding = draw(st.one_of(st.sampled_from(["valid", "same"]), st.integers(0, 2),
                             st.tuples(st.integers(0, 2), st.integers(0, 2))))
    H, W = draw(st.integers(1, max_size)), draw(st.integers(1, max_size))
    if padding == "same":
        pads = (*same_padding(H, kh, sh), *same_padding(W, kw, sw))
    elif padding == "valid":
        pads = (0, 0, 0, 0)
    elif isinstance(padding, int):
        pads = (padding,) * 4
    else:
        pads = (padding[0], padding[0], padding[1], padding[1])
    # The kernel must fit in the padded input (that error has its own test).
    kh = min(kh, H + pads[0] + pads[1])
    kw = min(kw, W + pads[2] + pads[3])
    if padding == "same":  # the padding depends on the kernel: work it out again
        pads = (*same_padding(H, kh, sh), *same_padding(W, kw, sw))
    N = draw(st.integers(1, 2))
    args = {"in_channels": C_in, "out_channels": C_out, "kernel_size": (kh, kw),
            "stride": (sh, sw), "padding": padding}
    return args, (N, H, W, C_in), pads


@pytest.mark.part("conv2d")
@SETTINGS
@given(conv_cases(), st.integers(0, 2**32 - 1), st.data())
def test_forward_matches_the_definition(case, seed, data):
    args, shape, pads = case
    rng = np.random.default_rng(seed)
    layer = Conv2D(**args, b_init="normal", dtype=np.float64, rng=rng)
    x = data.draw(floats64(shape), label="x")
    y = layer.forward(x)
    expected = reference_conv(x, layer.params["W"], layer.params["b"], layer.stride, pads)
    assert y.shape == expected.shape
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.part("conv2d")
@settings(max_examples=examples(25), deadline=None)
@given(conv_cases(max_size=6), st.integers(0, 2**32 - 1), st.data())
def test_gradients_match_finite_differences(case, seed, data):
    args, shape, _ = case
    rng = np.random.default_rng(seed)
    layer = Conv2D(**args, b_init="normal", dtype=np.float64, rng=rng)
    x = data.draw(floats64(shape), label="x")
    # A small x under few outputs makes dW tiny next to the f the normal bias keeps: below
    # what central differences resolve (strategies.resolvable).
    result, resolvable = check_resolvable(layer, x, seed % 1000)
    assume(resolvable)
    assert result.passed, str(result)
    assert set(result.errors) == {"x", "W", "b"}


@pytest.mark.part("conv2d")
@pytest.mark.parametrize("args", [
    {"kernel_size": 3, "padding": (1, 2)},  # more padding left and right than top and bottom
    {"kernel_size": (3, 5), "padding": "same"},  # "same": 1 row above, 2 columns left
    {"kernel_size": 2, "stride": 2, "padding": (2, 0)},
], ids=["(1, 2)", "same-3x5", "(2, 0)-stride-2"])
def test_gradients_with_other_padding_for_rows_and_columns(args):
    # Always drawn, whatever hypothesis draws above: a dx cropped with the rows' padding
    # along the columns too (top:top + W for left:left + W) passes every padding that is
    # the same on all four sides.
    rng = np.random.default_rng(0)
    layer = Conv2D(2, 3, **args, b_init="normal", dtype=np.float64, rng=rng)
    x = rng.standard_normal((2, 5, 6, 2))
    result, resolvable = check_resolvable(layer, x, seed=0)
    assert resolvable and result.passed, str(result)


@pytest.mark.part("conv2d")
def test_a_worked_example():
    # A 3x3 image 1..9 and a 2x2 kernel of ones: each output is the sum of one 2x2 window.
    layer = Conv2D(1, 1, 2, W_init="ones", b_init="zeros")
    x = np.arange(1, 10, dtype=np.float32).reshape(1, 3, 3, 1)
    y = layer.forward(x)
    np.testing.assert_array_equal(y[0, :, :, 0], [[1 + 2 + 4 + 5, 2 + 3 + 5 + 6],
                                                  [4 + 5 + 7 + 8, 5 + 6 + 8 + 9]])
    # Backward of dy = 1 counts how many windows read each pixel: the centre is in all four.
    dx = layer.backward(np.ones_like(y))
    np.testing.assert_array_equal(dx[0, :, :, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    np.testing.assert_array_equal(layer.grads["b"], [4])


@pytest.mark.part("conv2d")
@pytest.mark.parametrize(("H", "kernel", "stride", "expected_H", "pads"), [
    (28, 3, 1, 28, (1, 1)),  # stride 1 keeps the size
    (28, 4, 1, 28, (1, 2)),  # an even kernel: the odd row goes below
    (28, 3, 2, 14, (0, 1)),  # stride 2: ceil(28 / 2) rows
    (7, 3, 2, 4, (1, 1)),
    (5, 1, 3, 2, (0, 0)),
    (2, 5, 1, 2, (2, 2)),  # a kernel larger than the input still fits once padded
])
def test_same_padding_is_keras_same(H, kernel, stride, expected_H, pads):
    layer = Conv2D(2, 3, kernel, stride=stride, padding="same")
    assert layer.pads(H, H) == (*pads, *pads)
    y = layer.forward(np.zeros((1, H, H, 2)))
    assert y.shape == (1, expected_H, expected_H, 3)


def test_same_padding_is_worked_out_per_axis():
    # A 1x3 kernel pads only the columns; with stride (1, 2), ceil(5 / 2) = 3 columns.
    layer = Conv2D(1, 1, (1, 3), stride=(1, 2), padding="same")
    assert layer.pads(5, 5) == (0, 0, 1, 1)
    assert layer.forward(np.zeros((1, 5, 5, 1))).shape == (1, 5, 3, 1)
    # Each axis by its own stride: 6 rows at stride 1 need 1 and 1, 6 columns at stride 2
    # only 1 on the right for 3 windows.
    assert Conv2D(1, 1, 3, stride=(1, 2), padding="same").pads(6, 6) == (1, 1, 0, 1)


@pytest.mark.part("conv2d")
def test_same_padding_of_a_wide_input_with_stride_2_pads_rows_and_columns_each_their_own():
    # 5 rows need 1 above and 1 below for ceil(5 / 2) = 3 outputs, 8 columns only 1 on the
    # right for 4. Padding the columns as the rows (1 and 1) gives the same 3x4 shape but
    # every window one column to the left: only the values tell.
    layer = Conv2D(1, 2, 3, stride=2, padding="same", b_init="normal", dtype=np.float64,
                   rng=np.random.default_rng(0))
    x = np.random.default_rng(1).normal(size=(1, 5, 8, 1))
    assert layer.pads(5, 8) == (1, 1, 0, 1)
    expected = reference_conv(x, layer.params["W"], layer.params["b"], (2, 2), (1, 1, 0, 1))
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.part("conv2d")
def test_float32_end_to_end_and_uint8_pixels():
    rng = np.random.default_rng(0)
    layer = Conv2D(1, 4, 3, padding=1, rng=rng)
    pixels = rng.integers(0, 256, size=(2, 6, 6, 1), dtype=np.uint8)
    y = layer.forward(pixels)
    # Computed as floats: uint8 arithmetic would wrap around at 256.
    np.testing.assert_allclose(y, layer.forward(pixels.astype(np.float32)), rtol=1e-6)
    assert y.dtype == np.float32
    dx = layer.backward(np.ones(y.shape, dtype=np.float64))  # a float64 dy is not upcast to
    assert dx.dtype == np.float32
    assert dx.shape == pixels.shape
    assert all(g.dtype == np.float32 for g in layer.grads.values())
    assert {k: g.shape for k, g in layer.grads.items()} == {
        k: p.shape for k, p in layer.params.items()}


@pytest.mark.part("conv2d")
@pytest.mark.parametrize("C_in", [1, 3])
def test_a_non_contiguous_input_gives_the_same_result(C_in):
    # im2col reads the input through its strides: a view (every other row, say) must work.
    rng = np.random.default_rng(2)
    layer = Conv2D(C_in, 2, 3, stride=(1, 2), padding="same", dtype=np.float64, rng=rng)
    big = rng.standard_normal((3, 12, 7, C_in))
    view = big[::2, ::2]  # (2, 6, 7, C_in), not contiguous
    np.testing.assert_allclose(layer.forward(view), layer.forward(np.ascontiguousarray(view)),
                               rtol=1e-12)


@pytest.mark.part("conv2d")
def test_backward_params_gives_the_same_gradients_without_dx():
    rng = np.random.default_rng(4)
    layer = Conv2D(2, 3, 3, padding=1, dtype=np.float64, rng=rng)
    y = layer.forward(rng.standard_normal((2, 5, 5, 2)))
    dy = rng.standard_normal(y.shape)
    layer.backward(dy)
    full = {k: g.copy() for k, g in layer.grads.items()}
    assert layer.backward_params(dy) is None
    for name in full:
        np.testing.assert_array_equal(layer.grads[name], full[name])


@pytest.mark.part("conv2d")
def test_backward_before_forward_raises():
    with pytest.raises(RuntimeError, match="before forward"):
        Conv2D(1, 2, 3).backward(np.zeros((1, 2, 2, 2)))
    with pytest.raises(RuntimeError, match="before forward"):
        Conv2D(1, 2, 3).backward_params(np.zeros((1, 2, 2, 2)))


@pytest.mark.part("conv2d")
def test_backward_with_the_wrong_shape_raises():
    layer = Conv2D(1, 2, 3)
    layer.forward(np.zeros((1, 5, 5, 1)))
    with pytest.raises(ValueError, match=r"\(1, 3, 3, 2\)"):
        layer.backward(np.zeros((1, 5, 5, 2)))


def test_a_kernel_larger_than_the_padded_input_raises():
    layer = Conv2D(1, 2, 5, padding=1)
    with pytest.raises(ValueError, match=r"5x5 kernel is larger than the padded input, 4x4"):
        layer.forward(np.zeros((1, 2, 2, 1)))


def test_a_kernel_wider_than_the_padded_input_raises():
    # Taller fits, wider does not: (W - kw) // sw + 1 would be 0 columns of output, an
    # empty array for the layers after it to fail on.
    layer = Conv2D(1, 2, (1, 5))
    with pytest.raises(ValueError, match=r"1x5 kernel is larger than the padded input, 4x4"):
        layer.forward(np.zeros((1, 4, 4, 1)))
    assert Conv2D(1, 2, (1, 5), padding=(0, 1)).forward(np.zeros((1, 4, 4, 1))).shape == (
        1, 4, 2, 2)


def test_a_kernel_taller_than_the_padded_input_raises():
    # Wider fits, taller does not: 0 rows of output.
    with pytest.raises(ValueError, match=r"5x1 kernel is larger than the padded input, 4x4"):
        Conv2D(1, 2, (5, 1)).forward(np.zeros((1, 4, 4, 1)))


def test_a_channel_mismatch_raises():
    layer = Conv2D(3, 2, 3)
    # No channel count second: no channels-first hint (the next test).
    with pytest.raises(ValueError, match=r"3 channel\(s\), got shape \(1, 8, 8, 1\) with 1$"):
        layer.forward(np.zeros((1, 8, 8, 1)))


def test_channels_first_images_get_the_transpose_hint():
    # PyTorch's MNIST batches are (N, 1, 28, 28); tinynet's Conv2D is channels-last.
    with pytest.raises(ValueError, match=r"got shape \(2, 1, 8, 8\) with 8 \(channels first, as "
                                         r"in PyTorch\? move them last: "
                                         r"x.transpose\(0, 2, 3, 1\)\)$"):
        Conv2D(1, 2, 3).forward(np.zeros((2, 1, 8, 8)))


@pytest.mark.parametrize("shape", [(8, 8), (1, 8, 8), (1, 1, 8, 8, 1)])
def test_an_input_that_is_not_4d_raises(shape):
    with pytest.raises(ValueError, match=r"channels-last images of shape \(N, H, W, 1\)"):
        Conv2D(1, 2, 3).forward(np.zeros(shape))


def test_a_3d_input_gets_a_hint():
    with pytest.raises(ValueError, match=r"reshape\(N, H, W, 1\)"):
        Conv2D(1, 2, 3).forward(np.zeros((4, 8, 8)))
    # Grey images for a layer of colour ones: a channel axis of 1 would be refused next.
    with pytest.raises(ValueError, match=r"shape \(N, H, W, 3\), got an array of shape "
                                         r"\(4, 8, 8\)$"):
        Conv2D(3, 2, 3).forward(np.zeros((4, 8, 8)))


@pytest.mark.parametrize("layer", [Conv2D(1, 2, 3), MaxPool2D(2)], ids=repr)
def test_a_2d_input_gets_the_hint_of_one_image_or_of_flattened_images(layer):
    # predict(x_test[0]) on (N, 28, 28) images, or MNIST flattened to (N, 784) given to a CNN.
    with pytest.raises(ValueError, match=r"got an array of shape \(28, 28\) \(one grey image\? "
                                         r"x\.reshape\(1, H, W, 1\); or, images flattened\? "
                                         r"x\.reshape\(-1, H, W, 1\)\)$"):
        layer.forward(np.zeros((28, 28)))


def test_a_1d_input_gets_the_hint_of_one_image_flattened():
    with pytest.raises(ValueError, match=r"got an array of shape \(32,\) \(one image, "
                                         r"flattened\? x\.reshape\(1, H, W, 3\)\)$"):
        Conv2D(3, 2, 3).forward(np.zeros(32))


def test_a_2d_input_to_a_layer_of_colour_images_gets_no_hint():
    # Grey for a layer of colour images: no reshape gives them their channels.
    with pytest.raises(ValueError, match=r"got an array of shape \(5, 784\)$"):
        Conv2D(3, 2, 3).forward(np.zeros((5, 784)))


def test_one_image_without_its_batch_axis_gets_the_batch_axis_hint():
    # model.predict(x_test[0]) on (N, 28, 28, 1) images: the channel axis is there, the batch
    # axis is missing, so "add a channel axis" would send the user the wrong way.
    with pytest.raises(ValueError, match=r"got an array of shape \(8, 8, 1\) \(one image\? "
                                         r"add the batch axis: x\[None\], of shape "
                                         r"\(1, 8, 8, 1\)\)$"):
        Conv2D(1, 2, 3).forward(np.zeros((8, 8, 1)))
    with pytest.raises(ValueError, match=r"\(one image\? .* \(1, 8, 8, 3\)\)$"):
        Conv2D(3, 2, 3).forward(np.zeros((8, 8, 3)))


def test_text_input_raises():
    with pytest.raises(ValueError, match="real numbers"):
        Conv2D(1, 2, 3).forward(np.full((1, 4, 4, 1), "a"))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"in_channels": 0}, "in_channels must be an int >= 1, got 0"),
    ({"out_channels": 2.0}, "out_channels must be an int >= 1, got 2.0"),
    ({"kernel_size": 0}, "kernel_size must be an int >= 1 or a pair of them, got 0"),
    ({"kernel_size": (3, 3, 3)}, r"kernel_size must be .*got \(3, 3, 3\)"),
    ({"stride": 0}, "stride must be an int >= 1"),
    ({"stride": True}, "stride must be an int >= 1"),
    ({"padding": -1}, r"padding must be an int >= 0 or a pair of them, got -1"),
    ({"padding": "full"}, "padding must be an int >= 0, a pair of them, 'valid' or 'same', "
                          "got 'full'"),
    ({"dtype": np.int32}, r"dtype must be a float dtype \(np.float32, np.float64 or its name\), "
                          "got int32"),
])
def test_bad_constructor_arguments_raise(kwargs, message):
    args = {"in_channels": 1, "out_channels": 2, "kernel_size": 3, **kwargs}
    with pytest.raises(ValueError, match=f"Conv2D: {message}"):
        Conv2D(**args)


def test_padding_names_are_read_in_any_case_as_keras_reads_them():
    assert Conv2D(1, 2, 3, padding="SAME").get_config()["padding"] == "same"
    assert Conv2D(1, 2, 3, padding="Valid").padding == (0, 0)


def test_config_is_json_and_rebuilds_the_layer():
    for layer in (Conv2D(3, 8, (3, 5), stride=2, padding="same", W_init="he_normal"),
                  Conv2D(1, 4, 3, padding=(1, 0), dtype=np.float64)):
        config = json.loads(json.dumps(layer.get_config()))
        rebuilt = Conv2D(**config)
        assert rebuilt.get_config() == layer.get_config()
        assert rebuilt.params["W"].shape == layer.params["W"].shape
        assert rebuilt.params["W"].dtype == layer.params["W"].dtype
    # A pair of equal sizes is written as one int, as it is most often given.
    assert Conv2D(1, 2, (3, 3), stride=[2, 2]).get_config()["kernel_size"] == 3
    assert Conv2D(1, 2, 3, stride=[2, 2]).get_config()["stride"] == 2


def test_initial_weights_come_from_the_generator():
    a = Conv2D(2, 3, 3, rng=np.random.default_rng(5)).params["W"]
    b = Conv2D(2, 3, 3, rng=np.random.default_rng(5)).params["W"]
    np.testing.assert_array_equal(a, b)
    assert a.shape == (3, 3, 2, 3)
    # Glorot counts the window: fan_in = 3*3*2, fan_out = 3*3*3, so |W| <= sqrt(6 / 45).
    assert np.abs(a).max() <= np.sqrt(6 / 45)


def test_summary_shows_the_shapes_of_r3():
    import tinynet
    from tinynet.layers.pooling import MaxPool2D
    from tinynet.layers.reshape import Flatten

    model = tinynet.Sequential([
        Conv2D(1, 28, 3), tinynet.ReLU(), MaxPool2D(2), Conv2D(28, 10, 4), tinynet.ReLU(),
        MaxPool2D(2), Flatten(), tinynet.Dense(250, 20), tinynet.ReLU(), tinynet.Dense(20, 10),
        tinynet.Softmax(),
    ], seed=0)
    lines = []
    model.summary(input_shape=(28, 28, 1), print_fn=lines.append)
    text = "\n".join(lines)
    for shape in ("(None, 26, 26, 28)", "(None, 13, 13, 28)", "(None, 10, 10, 10)",
                  "(None, 5, 5, 10)", "(None, 250)"):
        assert shape in text
    assert model.layers[0].num_params() == 3 * 3 * 1 * 28 + 28
    assert model.layers[3].num_params() == 4 * 4 * 28 * 10 + 10
