"""Preparing a user's digit picture the way MNIST's digits were prepared."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib import image as mpimg

from tinynet.datasets import load_mnist
from tinynet.imaging import CENTRE, area_resize, load_grey, prepare_digit


@pytest.fixture(scope="module")
def digits():
    (x_train, _), _ = load_mnist()
    return x_train[:100]


def test_an_mnist_digit_comes_back_almost_unchanged(digits):
    prepared = np.array([prepare_digit(d / 255) for d in digits]).astype(float)
    assert np.abs(prepared - digits).mean() < 4  # of 255: the same pictures, re-sampled


def test_polarity_scale_and_position_do_not_matter(digits):
    digit = digits[0] / 255
    reference = prepare_digit(digit).astype(float)
    big = np.ones((300, 250))
    big[40:40 + 28 * 6, 70:70 + 28 * 6] = 1 - np.kron(digit, np.ones((6, 6)))  # ink on paper
    assert np.abs(prepare_digit(big).astype(float) - reference).mean() < 6


def test_result_is_centred_by_mass_and_fits_20_by_20(digits):
    out = prepare_digit(np.kron(digits[3] / 255, np.ones((3, 5))))  # stretched
    assert out.shape == (28, 28) and out.dtype == np.uint8
    out = out.astype(float)
    rows, cols = np.nonzero(out)
    assert max(np.ptp(rows), np.ptp(cols)) + 1 <= 21
    total = out.sum()
    assert abs(out.sum(axis=1) @ np.arange(28) / total - CENTRE) <= 0.5
    assert abs(out.sum(axis=0) @ np.arange(28) / total - CENTRE) <= 0.5


@pytest.mark.parametrize("image", [np.zeros((30, 30)), np.ones((10, 12))])
def test_blank_image_is_refused(image):
    with pytest.raises(ValueError, match="blank"):
        prepare_digit(image)


def test_non_2d_input_is_refused():
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        prepare_digit(np.zeros((4, 4, 3)))


@settings(max_examples=30, deadline=None)
@given(h=st.integers(1, 40), w=st.integers(1, 40), oh=st.integers(1, 40), ow=st.integers(1, 40))
def test_area_resize_keeps_the_mean_brightness(h, w, oh, ow):
    img = np.random.default_rng(h * 41 + w).random((h, w))
    out = area_resize(img, oh, ow)
    assert out.shape == (oh, ow)
    np.testing.assert_allclose(out.mean(), img.mean(), rtol=1e-9)


def test_load_grey_reads_colour_and_transparent_pngs(tmp_path):
    rgb = np.zeros((8, 8, 3))
    rgb[..., 0] = 1.0  # pure red: luma 0.299
    mpimg.imsave(tmp_path / "red.png", rgb)
    np.testing.assert_allclose(load_grey(tmp_path / "red.png"), 0.299, atol=0.01)
    rgba = np.zeros((8, 8, 4))  # black but fully transparent: white paper shows
    mpimg.imsave(tmp_path / "clear.png", rgba)
    np.testing.assert_allclose(load_grey(tmp_path / "clear.png"), 1.0, atol=0.01)


def test_load_grey_refuses_a_file_that_is_not_an_image(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"<html>404</html>")
    with pytest.raises(ValueError, match="not a readable image"):
        load_grey(bad)
