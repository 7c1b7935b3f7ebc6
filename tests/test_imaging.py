"""Preparing a user's digit picture the way MNIST's digits were prepared."""

import importlib.util
import itertools
import re
import struct
import warnings
import zlib
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib import image as mpimg
from strategies import examples

from tinynet import Dense, Sequential, Softmax, imaging
from tinynet.datasets import load_mnist
from tinynet.imaging import (
    CENTRE,
    FAINT_THRESHOLD,
    WORK_SIZE,
    _linear_matrix,
    area_resize,
    load_grey,
    prepare_digit,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def digits():
    (x_train, _), _ = load_mnist()
    return x_train[:100]


def test_an_mnist_digit_comes_back_almost_unchanged(digits):
    prepared = np.array([prepare_digit(d / 255) for d in digits]).astype(float)
    assert np.abs(prepared - digits).mean() < 4  # of 255: the same pictures, re-sampled
    assert (prepared.max(axis=(1, 2)) == 255).all()  # as MNIST's, which peak at 254 or 255


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


def _draw_lines(shape: tuple[int, int], points: list[tuple[float, float]]) -> np.ndarray:
    """White paper (H, W) with black 1-px straight lines joining ``points`` (row, column)."""
    paper = np.ones(shape)
    pts = np.asarray(points, dtype=float)
    for a, b in itertools.pairwise(pts):
        t = np.linspace(0, 1, int(2 * np.abs(b - a).max()) + 2)[:, None]  # < 1 px apart
        rows, cols = np.round(a + t * (b - a)).astype(int).T
        paper[rows, cols] = 0
    return paper


def test_thin_strokes_on_a_large_image_are_stretched_to_full_brightness():
    # A 7 in 1-px lines on 1200x1200: each 28x28 pixel averages ~50x50 of them, so the
    # stroke covers 1/50 of it. Without stretching it peaks at 14/255, a ghost.
    s = 1200 / 8
    seven = _draw_lines((1200, 1200), [(s, 2 * s), (s, 6 * s), (7 * s, 3 * s)])
    out = prepare_digit(seven)
    assert out.max() == 255
    assert np.count_nonzero(out >= 64) >= 25  # the whole stroke shows, not just one pixel


@pytest.mark.parametrize("gap, kept", [(0.15, False), (0.2, True), (0.25, True)])
def test_ink_at_the_thresholds_is_kept(gap, kept):
    # Light ink on a black ground: the paper's level is 0 and the strongest ink 1, so each
    # pixel's ink is its grey level, exactly. Two strokes, 20 and 17 pixels long, of ink 1 and
    # 0.35: ink of at least DIGIT_THRESHOLD (0.35) is the digit's, so the 0.35 stroke is a
    # blob of its own and inside the digit's extent. Between them, ink `gap`: every pixel
    # there lies in a blob cell (80 / 32 = 2.5 pixels) next to a stroke's, where the faint
    # edges of strokes are kept, but ink fainter than INK_THRESHOLD (0.2) is dropped. The
    # digit is 15x20: fitted into 20x20 it is not resampled, and each level comes out as
    # itself times 255, rounded.
    picture = np.zeros((80, 80))
    picture[30:34, 30:50] = 1.0
    picture[34:40, 30:47] = gap
    picture[40:45, 30:47] = 0.35
    levels = {255: 4 * 20, round(0.35 * 255): 5 * 17}
    if kept:
        levels[round(gap * 255)] = 6 * 17
    levels[0] = 28 * 28 - sum(levels.values())
    values, counts = np.unique(prepare_digit(picture), return_counts=True)
    assert dict(zip(values.tolist(), counts.tolist(), strict=True)) == levels


@pytest.mark.parametrize(("shape", "at", "scale"), [((600, 200), (200, 30), 5),
                                              ((WORK_SIZE + 1, 100), (80, 8), 3)])
def test_a_large_picture_is_first_averaged_down_to_work_size(digits, shape, at, scale):
    # With noise, only its longer side over WORK_SIZE (by one pixel, too). Preparing it is
    # preparing its copy averaged down to WORK_SIZE pixels on that side, keeping the aspect
    # ratio.
    noise = np.random.default_rng(0).normal(0, 0.05, shape)
    photo = _photo(digits[0] / 255, shape=shape, at=at, scale=scale) + noise
    shrunk = area_resize(photo, WORK_SIZE, round(shape[1] * WORK_SIZE / shape[0]))
    np.testing.assert_array_equal(prepare_digit(photo), prepare_digit(shrunk))


def test_the_paper_level_between_blocks_is_interpolated_and_held_past_the_end_ones():
    # 2 blocks to 8 pixels: block centres at pixels 1.5 and 5.5. Beyond them, the outer
    # blocks' levels hold; a slope carried on past them would overshoot the paper.
    np.testing.assert_allclose(_linear_matrix(2, 8) @ [0.0, 1.0],
                               [0, 0, 0.125, 0.375, 0.625, 0.875, 1, 1])


@pytest.mark.parametrize("across", [False, True], ids=["down", "across"])
def test_a_1_drawn_as_a_1_pixel_line_on_a_narrow_strip(across):
    # A line 60 pixels long and 1 wide, on a strip of paper 3 pixels wide (one block of the
    # paper's level across): fitted into 20x20 it is 20x1, not 20x0, each pixel the mean of
    # 3 of the line's, and its centre of mass lands on the centre column.
    strip = _draw_lines((80, 3), [(10, 1), (69, 1)])
    out = prepare_digit(strip.T).T if across else prepare_digit(strip)
    rows, cols = np.nonzero(out)
    assert (out[rows, cols] == 255).all()
    assert rows.tolist() == list(range(rows[0], rows[0] + 20))
    assert set(cols.tolist()) == {round(CENTRE)}


def test_a_picture_one_pixel_wide_or_high():
    # Its whole picture is its border, first and last column (or row) the same pixels.
    strip = np.ones((80, 1))
    strip[30:50] = 0
    for picture in (strip, strip.T):
        out = prepare_digit(picture)
        assert np.count_nonzero(out) == np.count_nonzero(out == 255) == 20


def test_the_paper_is_the_borders_median_level_not_its_mean():
    # A shadow along the left edge pulls the border's mean down towards the dark ink, so
    # that from the mean a glare spot lighter than the paper would reach farther, and be
    # taken for light ink; the median stays the paper's level.
    page = np.full((60, 60), 0.6)
    page[:, 0:2] = 0
    page[10:50, 30:34] = 0
    glare = page.copy()
    glare[40:44, 50:54] = 1
    np.testing.assert_array_equal(prepare_digit(glare), prepare_digit(page))


def test_strokes_along_the_top_and_bottom_edges_are_not_the_paper():
    # A Z cropped to its strokes: its top and bottom rows are all ink, but the paper's level
    # is the median of the whole border, which its sides make the paper's. It comes out as
    # the same Z with a margin of paper around it.
    z = [(0, 0), (0, 29), (59, 0), (59, 29)]
    margin = _draw_lines((100, 70), [(row + 20, col + 20) for row, col in z])
    np.testing.assert_array_equal(prepare_digit(_draw_lines((60, 30), z)), prepare_digit(margin))


def test_in_a_small_picture_the_paper_is_measured_pixel_by_pixel():
    # 20x20 has fewer pixels than PAPER_BLOCKS: each pixel is a block, so a stroke 8 pixels
    # wide is narrower than the 9 blocks of PAPER_WINDOW: ink, not lighting. It is 14 tall:
    # fitted into 20x20, a solid block of 20 x round(8 * 20 / 14).
    picture = np.ones((20, 20))
    picture[3:17, 6:14] = 0
    out = prepare_digit(picture)
    assert np.count_nonzero(out) == np.count_nonzero(out == 255) == 20 * round(8 * 20 / 14)


def test_grey_levels_of_ints_or_bools_are_read_as_numbers(digits):
    # Dark ink is found by negating the grey levels: not in the picture's own dtype, in
    # which uint8 levels wrap around (-255 is 1) and bools cannot be negated.
    ink = digits[0] >= 128
    for picture in (~ink, 255 - digits[0]):
        np.testing.assert_array_equal(prepare_digit(picture),
                                      prepare_digit(picture.astype(float)))


def test_dark_ink_on_paper_at_level_0_is_its_difference_from_the_paper(digits):
    # Dark ink is measured as the fraction of the paper's light it absorbs; paper at 0 (grey
    # levels with the paper's level taken away) gives no light to divide by, and the ink is
    # its difference from the paper, as for light ink on a black ground.
    for digit in digits[:3] / 255:
        np.testing.assert_array_equal(prepare_digit(-digit), prepare_digit(digit))


@pytest.mark.parametrize("paper, ink", [(0.5, 0.0), (0.45, 0.0), (0.4, 0.0), (0.3, 0.05),
                                        (0.55, 1.0), (0.7, 0.95), (0.9, 0.1)])
def test_a_digit_on_paper_of_any_brightness_is_found(digits, paper, ink):
    digit = digits[0] / 255
    reference = prepare_digit(digit).astype(float)
    big = np.full((300, 250), paper)
    big[40:40 + 28 * 6, 70:70 + 28 * 6] = paper + (ink - paper) * np.kron(digit, np.ones((6, 6)))
    assert np.abs(prepare_digit(big).astype(float) - reference).mean() < 6


def _photo(digit: np.ndarray, lighting=1.0, shape=(300, 250), at=(40, 70), scale=6,
           ink_level=0.1):
    """What a camera sees of an MNIST digit (28, 28) in [0, 1] written ``scale`` times larger
    in black ink (reflecting ``ink_level`` of the light; a pencil's is about 0.5) on white
    paper (0.9), its top-left corner at ``at``: what each pixel reflects times the light
    falling on it, ``lighting`` (H, W)."""
    ink = np.zeros(shape)
    size = 28 * scale
    ink[at[0]:at[0] + size, at[1]:at[1] + size] = np.kron(digit, np.ones((scale, scale)))
    return (0.9 - (0.9 - ink_level) * ink) * lighting


def _difference(prepared: np.ndarray, reference: np.ndarray) -> float:
    """Mean absolute difference (of 255) between two prepared digits, at the best shift of
    at most one pixel each way: the centring rounds the centre of mass to whole pixels, so
    the same digit whose centre falls near a half pixel can land one pixel over."""
    prepared, reference = prepared.astype(float), reference.astype(float)
    return min(np.abs(np.roll(prepared, (dr, dc), axis=(0, 1)) - reference).mean()
               for dr in (-1, 0, 1) for dc in (-1, 0, 1))


_ROWS, _COLS = np.mgrid[0:300, 0:250] / 300  # each pixel's position, in picture heights
LIGHTING = {  # the light falling on a 300x250 page, 1 at most
    "a gradient": 1 - 0.4 * _COLS / _COLS.max(),  # paper from 0.9 on the left to 0.54
    "a diagonal gradient": 1 - 0.2 * (_ROWS + _COLS),
    "a vignette": 1 - 0.7 * ((_ROWS - 0.5) ** 2 + (_COLS - 0.42) ** 2),  # corners 0.7
    "a soft shadow": 1 - 0.35 / (1 + np.exp(-(_COLS - 0.55) / 0.03)),  # across the digit
}


@pytest.mark.parametrize("lighting", LIGHTING)
def test_uneven_lighting_is_not_taken_for_ink(digits, lighting):
    # Taken as one level for the whole picture, the border's median, the paper's darker side
    # would be ink, and the crop would take most of the picture (mean differences of 18 to
    # 36 of 255). Dark ink is also measured against the light it gets, so that its strokes
    # in a shadow come out as bright as the others.
    for digit in digits[:3] / 255:
        prepared = prepare_digit(_photo(digit, LIGHTING[lighting]))
        assert _difference(prepared, prepare_digit(digit)) < 6


def test_chalk_on_a_board_under_uneven_lighting(digits):
    digit = digits[0] / 255
    board = 1 - _photo(digit) * LIGHTING["a diagonal gradient"]  # light on dark, and dimmer
    assert _difference(prepare_digit(board), prepare_digit(digit)) < 6


def test_noise_of_a_large_photo_is_averaged_away(digits):
    # A 1000x800 photo with sensor noise of standard deviation 0.1: each pixel of the
    # 256-pixel working picture averages 16 of it, which divides the noise by 4. Unaveraged,
    # the noise would be ink where it passes 0.2 of the ink's contrast, all over the picture.
    digit = digits[0] / 255
    noise = np.random.default_rng(0).normal(0, 0.1, (1000, 800))
    photo = _photo(digit, shape=(1000, 800), at=(150, 64), scale=24) + noise
    assert _difference(prepare_digit(photo), prepare_digit(digit)) < 6


def _specks(photo: np.ndarray, level: float, count=15) -> np.ndarray:
    """``photo`` (300, 250) of _photo with ``count`` dots of grey ``level`` and radius 2, all
    25 pixels or more from the digit's box (dust; the dot of a pen put down)."""
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[0:300, 0:250]
    photo = photo.copy()
    while count:
        r, c = rng.integers(0, 300), rng.integers(0, 250)
        if not (15 <= r < 233 and 45 <= c < 263):  # the box is rows 40-207, columns 70-237
            photo[(rows - r) ** 2 + (cols - c) ** 2 <= 4] = level
            count -= 1
    return photo


@pytest.mark.parametrize("ruled", [False, True], ids=["plain", "ruled"])
def test_specks_away_from_the_digit_are_dropped(digits, ruled):
    # Kept as ink, they would be taken in by the crop, and the digit would come out small and
    # off centre (mean differences of 25 to 45 of 255). On a ruled page, the lines (fainter
    # than DIGIT_THRESHOLD) do not join the specks on them to the digit's blob.
    lines = np.where(np.arange(300)[:, None] % 24 < 2, 0.75, 1.0) if ruled else 1.0
    for digit in digits[:3] / 255:
        page = _photo(digit) * lines
        np.testing.assert_array_equal(prepare_digit(_specks(page, 0.1)), prepare_digit(page))


@pytest.mark.parametrize("rows, full, half", [(6, 3 * 2, 0), (3, 1 * 2, 2), (2, 1 * 2, 0)])
def test_a_digit_in_two_pieces_keeps_the_smaller_one(rows, full, half):
    # Light ink on a dark ground: a digit written in two strokes that do not touch, 40x4 and
    # rows x 4, 10 pixels (4 blob cells) apart. The smaller holds 15%, 7.5% or (2 rows)
    # exactly SPECK_FRACTION (5%) of the ink of the larger: part of the digit, not a speck.
    # The digit is 40x18, halved to 20x9: its pieces are 20x2 and (rows / 2) x 2, an odd
    # row's half a row at half the level.
    picture = np.zeros((80, 80))
    picture[10:50, 10:14] = 1
    picture[10:10 + rows, 24:28] = 1
    out = prepare_digit(picture)
    assert np.count_nonzero(out == 255) == 20 * 2 + full
    assert np.count_nonzero(out) == 20 * 2 + full + half


def test_a_piece_in_the_top_left_corner_counts_as_anywhere_else():
    # Blob cells are numbered from 1 up, the top-left one too: numbered 0, as the cells
    # without ink are, a piece there would be lost.
    picture = np.zeros((80, 80))
    picture[0:2, 0:2] = 1
    picture[20:50, 20:22] = 1
    moved = np.zeros((80, 80))
    moved[5:80, 5:80] = picture[0:75, 0:75]
    np.testing.assert_array_equal(prepare_digit(picture), prepare_digit(moved))


def test_a_pale_smudge_with_more_pixels_but_less_ink_is_not_the_digit():
    # The digit is the blob holding the most ink, not the most pixels: a 1 of 30x4 pixels of
    # ink 1 (120), beside a smudge of 15x15 pixels of ink 0.15 (34), which stays a smudge.
    one = np.zeros((80, 80))
    one[20:50, 20:24] = 1.0
    smudged = one.copy()
    smudged[30:45, 45:60] = 0.15
    np.testing.assert_array_equal(prepare_digit(smudged), prepare_digit(one))


def test_a_speck_that_is_dropped_does_not_set_the_scale_of_the_ink():
    # Light ink on a dark ground: a pencil stroke (0.55) that fades at its end (0.3), and a
    # black dot (1) joined to it by a faint smear (0.15), in its blob of faint ink. The dot
    # is the strongest ink but holds too little to be more than a speck: once it is dropped,
    # the stroke's ink is scaled to 1 again, and the fading end (0.3 / 0.55 of it) is part
    # of the digit, as without the dot.
    stroke = np.zeros((80, 80))
    stroke[20:60, 20:24] = 0.55
    stroke[60:62, 20:24] = 0.3
    dotted = stroke.copy()
    dotted[38:40, 24:34] = 0.15
    dotted[38:40, 34:36] = 1.0
    np.testing.assert_array_equal(prepare_digit(dotted), prepare_digit(stroke))


def test_a_speck_darker_than_the_ink_does_not_thin_a_pencil_digit(digits):
    # Were black specks to set the scale of the ink (1), the pencil's strokes (0.45) would
    # lose their edges to the threshold; the digit's own ink is scaled to 1 once the specks
    # are gone.
    for digit in digits[:3] / 255:
        pencil = _photo(digit, ink_level=0.5)
        np.testing.assert_array_equal(prepare_digit(_specks(pencil, 0.0)),
                                      prepare_digit(pencil))


@pytest.mark.parametrize("ink_level", [0.7, 0.8])
def test_a_light_pencil_digit_beside_black_specks_is_found(digits, ink_level):
    # A pencil reflecting 0.7 of the light has 0.22 of a black speck's contrast (0.8: 0.11).
    # Were the specks to set the scale of the ink, the pencil's strokes would lie below
    # DIGIT_THRESHOLD and form no blob: the digit would be dropped and the specks prepared in
    # its place (mean differences of 30 to 40 of 255). The digit is the blob that holds
    # the most ink, counting ink as faint as FAINT_THRESHOLD (0.1), and its own strongest
    # ink is 1.
    for digit in digits[:3] / 255:
        pencil = _photo(digit, ink_level=ink_level)
        prepared = prepare_digit(_specks(pencil, 0.0))
        np.testing.assert_array_equal(prepared, prepare_digit(pencil))
        assert _difference(prepared, prepare_digit(digit)) < 6  # the digit, as if in pen


def _box(prepared: np.ndarray) -> np.ndarray:
    """The bounding box (top, bottom, left, right) of the ink of at least half of 255 of a
    prepared digit (28, 28)."""
    rows, cols = np.nonzero(prepared >= 128)
    return np.array([rows.min(), rows.max(), cols.min(), cols.max()])


def test_ink_of_exactly_the_faint_threshold_is_weighed():
    # "At least FAINT_THRESHOLD": a pale square of exactly 0.1 is weighed as one of a hair
    # more is (its ink, 160, is more than the stroke's 40: it is the digit).
    picture = np.zeros((200, 200))
    picture[20:30, 20:24] = 1
    picture[100:140, 100:140] = FAINT_THRESHOLD
    above = picture.copy()
    above[100:140, 100:140] += 1e-9
    np.testing.assert_array_equal(prepare_digit(picture), prepare_digit(above))


@pytest.mark.parametrize("speck, is_the_scale", [(1.0, True), (1.0 + 1e-9, False),
                                                  (1.25, False)])  # 2, 2+ and 2.5 times
def test_a_pixel_more_than_speck_contrast_times_the_strokes_level_is_a_speck(speck,
                                                                              is_the_scale):
    # A stroke of 0.5 beside one pixel: up to SPECK_CONTRAST (2) times the stroke's level,
    # that pixel is the digit's strongest ink, the scale, as it is at 1 - 1e-9; past it, it
    # is a black speck, the stroke's level is the scale, and the pixel is cut down to it:
    # prepared as a pixel of the stroke's own level.
    def prepared(level):
        picture = np.zeros((80, 80))
        picture[10:60, 20:24] = 0.5
        picture[35, 24] = level
        return prepare_digit(picture)

    assert not np.array_equal(prepared(1 - 1e-9), prepared(0.5))  # the two cases differ
    expected = prepared(1 - 1e-9) if is_the_scale else prepared(0.5)
    np.testing.assert_array_equal(prepared(speck), expected)


def test_a_black_speck_beside_a_light_pencil_stroke_does_not_set_the_scale(digits):
    # A black dot 4 pixels left of a stroke lies in the cells next to it, so in the digit's
    # blob: taken as the digit's strongest ink, it would leave the pencil's strokes (0.22 of
    # it) too faint to be the digit, and the dot would be prepared alone. The ink of a stroke
    # is even: a pixel more than SPECK_CONTRAST (2) times as strong as the level its blob's
    # strongest 2% of pixels reach is not the digit's, and that level is the digit's
    # strongest ink.
    for digit in digits[:3] / 255:
        pencil = _photo(digit, ink_level=0.7)
        strokes = pencil < 0.8  # the ink of at least half strength: paper 0.9, pencil 0.7
        row = np.nonzero(strokes.any(axis=1))[0].mean().astype(int)  # across the middle
        centre = row, np.nonzero(strokes[row])[0].min() - 4 - 2  # its edge 4 px from ink
        rows, cols = np.mgrid[0:300, 0:250]
        speck = np.where((rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 <= 4, 0.0, pencil)
        prepared, clean = prepare_digit(speck), prepare_digit(pencil)
        # The same extent, to a pixel (the scale differs a little, and the dot may lie
        # past the strokes' extent), and the same digit, with a dot beside it.
        assert np.abs(_box(prepared) - _box(clean)).max() <= 1
        assert _difference(prepared, clean) < 6


@pytest.mark.parametrize("tilt", [0, 3])
def test_ruled_lines_are_not_the_digit(digits, tilt):
    # Light ruled lines every 24 pixels, tilted by `tilt` degrees, absorbing a quarter of
    # the light (the ink absorbs 0.89): they cross the digit, so by connection alone they
    # would join its blob and the crop would take the page's width. The digit's extent is
    # where its ink is at least DIGIT_THRESHOLD (0.35) of its strongest: the lines (0.28) are
    # not.
    rows, cols = np.mgrid[0:300, 0:250]
    lines = np.where((rows + np.tan(np.radians(tilt)) * cols) % 24 < 2, 0.75, 1.0)
    for digit in digits[:3] / 255:
        plain = prepare_digit(_photo(digit))
        assert _difference(prepare_digit(_photo(digit) * lines), plain) < 6


@pytest.mark.parametrize("desk", [
    (slice(None), slice(0, 12)),  # a strip of desk along the left side: all of it ink
    (slice(None), slice(0, 60)),  # a wide one: the paper level follows it, but not its edge
    (slice(280, None), slice(None)),  # along the bottom
], ids=["left-narrow", "left-wide", "bottom"])
def test_the_desk_beside_the_page_is_not_the_digit(digits, desk):
    # The page does not fill the photo: darker than the paper, the desk (or a scanner's
    # border) holds more ink than the digit, and would become "the digit", with the whole
    # height of the picture as its bounding box.
    for digit in digits[:3] / 255:
        page = _photo(digit)
        plain = prepare_digit(page)
        page[desk] = 0.3
        assert _difference(prepare_digit(page), plain) < 6


@pytest.mark.parametrize("crop", ["tight", "tight-rows"])
def test_a_digit_cropped_tight_is_not_taken_for_an_edge(digits, crop):
    # It runs along the picture's sides (a 7's bar along the top), but it is as wide as the
    # picture, or, cropped tight in its rows only (a 1 as tall as the picture, and narrow),
    # it crosses the middle.
    for digit in digits[:10] / 255:
        rows, cols = np.nonzero(digit > 0.1)
        width = slice(cols.min(), cols.max() + 1) if crop == "tight" else slice(None)
        cut = digit[rows.min():rows.max() + 1, width]
        photo = 0.9 - 0.8 * np.kron(cut, np.ones((6, 6)))
        ink = imaging._ink(photo)
        np.testing.assert_array_equal(imaging._off_the_edges(ink), ink)


@pytest.mark.parametrize("shape", [(240, 320), (200, 400), (320, 240)],
                         ids=["4:3", "2:1", "portrait"])
@pytest.mark.parametrize("fill", [0.88, 0.94])
def test_a_tall_digit_beside_the_middle_is_not_taken_for_an_edge(digits, shape, fill):
    # A 1 most of the picture tall, near a side, is long, thin and clear of the middle
    # too: only a band the picture's whole length is an edge. (Measured by the cells of
    # the blob grid, a cell inked by any of its pixels, a 1 of 82% of a 4:3 photo would be
    # taken away, and its faint edges stretched into "the digit".)
    one = digits[8] / 255  # a 1, upright: 20 pixels tall, 4 wide
    rows, cols = np.nonzero(one > 0.1)
    one = one[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    height, width = shape
    h = int(fill * height)
    w = round(one.shape[1] * h / one.shape[0])
    photo = np.full(shape, 0.9)
    top, left = (height - h) // 2, width // 20
    photo[top:top + h, left:left + w] -= 0.8 * imaging.area_resize(one, h, w)
    photo += np.random.default_rng(0).normal(0, 0.01, shape)  # a little sensor noise
    photo[height // 2:height // 2 + 4, width // 2:width // 2 + 4] = 0.5  # a speck, left
    ink = imaging._ink(photo)  # if the 1 were taken away
    np.testing.assert_array_equal(imaging._off_the_edges(ink), ink)


def test_the_scale_is_the_level_of_the_strokes_strongest_pixels_not_of_most_of_them():
    # A pencil stroke pressed harder along its middle, beside a black speck: the speck does
    # not set the scale (it would thin the stroke), the core does, in a tenth of the
    # stroke's pixels. The rest of the stroke stays lighter than the core, as drawn.
    photo = np.full((100, 100), 1.0)
    photo[20:80, 45:55] = 0.8
    photo[20:80, 50:51] = 0.7  # the core
    photo[50:52, 56:58] = 0.0  # a black speck
    out = prepare_digit(photo)
    assert out.max() == 255
    assert np.median(out[out > 0]) < 240


@pytest.mark.parametrize("band, speck", [(slice(47, 53), True), (slice(5, 10), False)],
                         ids=["across-the-middle", "all-the-ink"])
def test_a_band_across_the_middle_or_that_is_all_the_ink_is_kept(band, speck):
    # A 1 cropped tight to its height, as tall as the picture: in its middle it is no desk
    # edge (the speck would become the digit); near a side, with no other ink, taking it
    # away would leave nothing but noise to stretch into a digit.
    photo = np.full((100, 100), 0.9)
    photo[:, band] = 0.1
    if speck:
        photo[20:23, 10:13] = 0.1
    ink = imaging._ink(photo)
    np.testing.assert_array_equal(imaging._off_the_edges(ink), ink)


def test_blobs_are_pixels_that_touch_by_a_side_or_a_corner():
    # A stroke drawn at 45 degrees, one pixel thick, touches only by corners: one blob.
    diagonal = imaging._blobs(np.eye(5, dtype=bool))
    assert len(np.unique(diagonal[np.eye(5, dtype=bool)])) == 1
    assert (diagonal[~np.eye(5, dtype=bool)] == 0).all()
    apart = np.zeros((3, 5), dtype=bool)
    apart[1, [0, 2, 4]] = True  # a gap of one pixel between each
    labels = imaging._blobs(apart)[1, [0, 2, 4]]
    assert len(set(labels)) == 3 and (labels > 0).all()


def photo_benchmark():
    """benchmarks/photo_digits.py, imported as a module (it is not in a package)."""
    spec = importlib.util.spec_from_file_location("photo_digits",
                                                  ROOT / "benchmarks" / "photo_digits.py")
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    return benchmark


def test_the_photo_benchmark_runs(tmp_path, capsys):
    # benchmarks/photo_digits.py measured the accuracies that docs/tutorial.md gives: here on
    # 2 digits, 2 conditions and an untrained model, only to see that it still runs.
    benchmark = photo_benchmark()
    Sequential([Dense(784, 10), Softmax()], seed=0).save(tmp_path / "model.npz")
    assert benchmark.main([str(tmp_path / "model.npz"), "--count", "2", "--only",
                           "clean photo,ruled lines", "--show", str(tmp_path / "show")]) == 0
    rows = re.findall(r"^\| (\S.*?) +\| +[\d.]+% \|", capsys.readouterr().out, flags=re.M)
    assert rows == ["MNIST digits as they are", "MNIST digits, prepared", "clean photo",
                    "ruled lines"]
    assert sorted(p.name for p in (tmp_path / "show").iterdir()) == ["clean_photo.png",
                                                                      "ruled_lines.png"]


@pytest.mark.parametrize("args, message", [
    (["{model}", "--count", "0"], r"argument --count: expected an int from 1 to 10000, "
                                  r"got '0'"),
    (["{model}", "--count", "-5"], r"argument --count: expected an int from 1 to 10000, "
                                   r"got '-5'"),
    (["{model}", "--show", "{file}"], r"--show: expected a folder to write in, got the file"),
    # The model is read first: no --show folder is made for a run that cannot start.
    (["{tmp}/no_model.npz", "--show", "{tmp}/a/b"], r"error: .*no_model\.npz"),
])
def test_the_photo_benchmark_refuses_bad_options_before_any_work(tmp_path, capsys, args,
                                                                 message):
    # --count 0 would end in a ZeroDivisionError, -5 would read 9,995 digits (images[:-5]), and
    # a --show that is a file would fail once the first condition's photos were drawn.
    benchmark = photo_benchmark()
    Sequential([Dense(784, 10), Softmax()], seed=0).save(tmp_path / "model.npz")
    (tmp_path / "notes.txt").write_text("")
    args = [a.format(model=tmp_path / "model.npz", file=tmp_path / "notes.txt", tmp=tmp_path)
            for a in args]
    with pytest.raises(SystemExit) as raised:
        benchmark.main(args)
    assert raised.value.code == 2
    assert re.search(message, capsys.readouterr().err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz", "notes.txt"]


def test_the_photo_benchmark_refuses_a_folder_named_as_one_of_its_images_before_any_work(
        tmp_path, capsys, monkeypatch):
    # It would fail with a traceback once that condition's photos were drawn.
    benchmark = photo_benchmark()
    Sequential([Dense(784, 10), Softmax()], seed=0).save(tmp_path / "model.npz")
    (tmp_path / "show" / "blur.png").mkdir(parents=True)
    monkeypatch.setattr(benchmark, "render", lambda *args: pytest.fail("drew a photo"))
    with pytest.raises(SystemExit) as raised:
        benchmark.main([str(tmp_path / "model.npz"), "--count", "5", "--show",
                        str(tmp_path / "show")])
    assert raised.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].endswith(
        f"--show: {tmp_path / 'show' / 'blur.png'} is a folder, expected a file (or nothing) "
        "there for blur.png")


@pytest.mark.parametrize("image", [np.zeros((30, 30)), np.ones((10, 12)),
                                   np.full((20, 20), 0.5), np.full((9, 7), 0.4),
                                   np.pad([[0.5 / 255]], 5),  # half a step of 8 bits
                                   # Levels past 1 are halved until within [0, 1]: this
                                   # step of 0.003 is then 0.0015, under half a step.
                                   1.5 - np.pad([[0.003]], 5)])
def test_blank_image_is_refused(image):
    # It says what the levels it names mean: "from 1 to 1" alone would read as nearly black.
    with pytest.raises(ValueError, match=r"blank.*no ink to tell from the paper; grey levels "
                                         r"run from 0, black, to 1, white\)$"):
        prepare_digit(image)


@pytest.mark.parametrize("scale, shift", [(255, 0), (1e308, 0), (-1e308, 0), (1e308, -1e308),
                                          (-255, 200)])
def test_levels_of_any_size_give_the_same_digit(digits, scale, shift):
    # Differences and ratios of levels near 1e308 would overflow (NumPy's error, after its
    # overflow warnings); levels past [-1, 1] are brought within it first.
    picture = np.where(digits[0] >= 128, 1.0, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scaled = prepare_digit(picture * scale + shift)
    np.testing.assert_array_equal(scaled, prepare_digit(picture))


def test_levels_of_0_to_255_are_blank_as_8_bits_are_and_named_as_given():
    # Half a step of 0..255 is no ink (it is in [0, 1], test_blank_image_is_refused), and
    # the error names the levels the caller gave, not the ones scaled down.
    with pytest.raises(ValueError, match=r"got grey levels from 200 to 200\.5 only"):
        prepare_digit(200 + np.pad([[0.5]], 5))
    with pytest.raises(ValueError, match=r"a border of median level 1e\+300 with pixels as far "
                                         r"above it \(3e\+300\) as below it \(-1e\+300\)"):
        prepare_digit(np.pad([[3e300, -1e300]], 5, constant_values=1e300))
    assert np.count_nonzero(prepare_digit(200 + np.pad([[1.0]], 5))) == 20 * 20


def test_one_step_of_an_8_bit_image_is_ink():
    # Differences up to MIN_CONTRAST, half a step, are not ink; a whole step is. A square of
    # 3x3 fitted into 20x20 is a solid 20x20 block.
    out = prepare_digit(np.pad(np.full((3, 3), 1 / 255), 8))
    assert np.count_nonzero(out) == np.count_nonzero(out == 255) == 20 * 20


def test_blank_paper_under_a_soft_shadow_is_refused():
    # Without a digit, all that differs from the paper is the edge of the shadow, broader
    # than PAPER_WINDOW blocks: lighting, not ink.
    shadow = 1 - 0.35 / (1 + np.exp(-(_COLS - 0.4) / 0.1))
    with pytest.raises(ValueError, match=r"blank: .*changes broader than 9/32 of the "
                                         r"picture, which are lighting"):
        prepare_digit(0.9 * shadow)


def test_an_image_whose_ink_cannot_be_told_from_its_paper_is_refused():
    halves = np.zeros((20, 20))
    halves[:, 10:] = 1  # the border is half black, half white: either could be the paper
    with pytest.raises(ValueError, match=r"cannot tell the ink from the paper: .*\(0\); grey "
                                         r"levels run from 0, black, to 1, white$"):
        prepare_digit(halves)
    # Nor when one side reaches farther by less than half a step of an 8-bit image.
    speck = np.full((20, 20), 0.5)
    speck[5, 5], speck[10, 10] = 0.0, 1 - 0.25 / 255
    with pytest.raises(ValueError, match="cannot tell the ink from the paper"):
        prepare_digit(speck)
    # ... or by exactly half a step: 1/255 above the paper, 0.5/255 below
    tie = np.zeros((20, 20))
    tie[5, 5], tie[10, 10] = 1 / 255, -0.5 / 255
    with pytest.raises(ValueError, match="cannot tell the ink from the paper"):
        prepare_digit(tie)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_are_refused(digits, bad):
    image = digits[0] / 255
    image[3, 5] = bad
    with pytest.raises(ValueError, match=r"expected finite grey levels, got 1 NaN or "
                                         r"infinite value\(s\), the first .* at row 3, "
                                         r"column 5"):
        prepare_digit(image)


def test_the_first_of_several_non_finite_values_is_named(digits):
    image = digits[0] / 255
    image[10, 2], image[3, 5] = np.inf, np.nan  # row by row, (3, 5) comes first
    with pytest.raises(ValueError, match=r"got 2 NaN or infinite value\(s\), the first nan at "
                                         r"row 3, column 5"):
        prepare_digit(image)


@pytest.mark.parametrize("image", [np.zeros((4, 4, 3)), np.zeros(5), np.zeros((0, 5))])
def test_non_2d_or_empty_input_is_refused(image):
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        prepare_digit(image)


@pytest.mark.parametrize("dtype", [complex, str, object])
def test_grey_levels_that_are_not_real_numbers_are_refused(digits, dtype):
    # Unrefused, complex levels would lose their imaginary part with only a warning, and
    # strings would be parsed.
    with pytest.raises(ValueError, match=r"^prepare_digit: grey must hold real numbers .*got "
                                         r"dtype"):
        prepare_digit((digits[0] / 255).astype(dtype))


@pytest.mark.parametrize("args, match", [
    ((np.ones((4, 4)), 0, 2), r"height must be an int >= 1, got 0"),  # ZeroDivisionError
    ((np.ones((4, 4)), 2.5, 2), r"height must be an int >= 1, got 2.5"),  # 3 rows
    ((np.ones((4, 4)), 2, -1), r"width must be an int >= 1, got -1"),  # 0 columns
    ((np.ones(4), 2, 2), r"img must have shape \(H, W\), got \(4,\)"),  # IndexError
    ((np.ones((4, 4), complex), 2, 2), r"img must hold real numbers"),
])
def test_area_resize_refuses_bad_arguments(args, match):
    with pytest.raises(ValueError, match=f"^area_resize: {match}"):
        area_resize(*args)


def test_area_resize_takes_a_list():
    np.testing.assert_allclose(area_resize([[0.0, 1.0], [1.0, 0.0]], 1, 1), [[0.5]])


@settings(max_examples=examples(30), deadline=None)
@given(h=st.integers(1, 40), w=st.integers(1, 40), oh=st.integers(1, 40), ow=st.integers(1, 40))
def test_area_resize_keeps_the_mean_brightness(h, w, oh, ow):
    img = np.random.default_rng(h * 41 + w).random((h, w))
    out = area_resize(img, oh, ow)
    assert out.shape == (oh, ow)
    np.testing.assert_allclose(out.mean(), img.mean(), rtol=1e-9)


@settings(max_examples=examples(30), deadline=None)
@given(h=st.integers(1, 40), w=st.integers(1, 40), oh=st.integers(1, 40), ow=st.integers(1, 40),
       slice_=st.integers(1, 40))
def test_area_resize_of_a_long_side_in_slices_is_the_same_resize(h, w, oh, ow, slice_):
    # A side longer than AREA_SLICE is taken a slice at a time (a 1 x 5,000,000 image would
    # need an area matrix of gigabytes): the sums of the slices' products are the product.
    img = np.random.default_rng(h * 41 + w).random((h, w))
    whole = imaging._area_matrix(h, oh) @ img @ imaging._area_matrix(w, ow).T
    with mock.patch.object(imaging, "AREA_SLICE", slice_):
        np.testing.assert_allclose(area_resize(img, oh, ow), whole, rtol=1e-12, atol=1e-15)


def test_load_grey_reads_colour_and_transparent_pngs(tmp_path):
    rgb = np.zeros((8, 8, 3))
    rgb[..., 0] = 1.0  # pure red: luma 0.299
    mpimg.imsave(tmp_path / "red.png", rgb)
    np.testing.assert_allclose(load_grey(tmp_path / "red.png"), 0.299, atol=0.01)
    rgba = np.zeros((8, 8, 4))  # black but fully transparent: white paper shows
    mpimg.imsave(tmp_path / "clear.png", rgba)
    np.testing.assert_allclose(load_grey(tmp_path / "clear.png"), 1.0, atol=0.01)


def _drawn(stroke: np.ndarray, colour) -> np.ndarray:
    """RGBA (H, W, 4) of ``stroke`` (H, W), in [0, 1], drawn in ``colour`` on a transparent
    canvas, which stores its empty pixels as (0, 0, 0, 0)."""
    rgba = np.zeros((*stroke.shape, 4))
    rgba[stroke > 0, :3] = colour
    rgba[..., 3] = stroke
    return rgba


# White and yellow: over white paper alone, white would be blank and yellow faint (0.11 of
# contrast). Black and red: a dark drawing keeps its white paper.
@pytest.mark.parametrize("colour", [(1, 1, 1), (1, 1, 0), (0, 0, 0), (0.8, 0.2, 0.2)])
def test_a_digit_drawn_on_a_transparent_canvas_reads_in_any_colour(tmp_path, digits, colour):
    stroke = np.kron(digits[0] / 255, np.ones((3, 3)))
    mpimg.imsave(tmp_path / "drawn.png", _drawn(stroke, colour))
    np.testing.assert_array_equal(prepare_digit(load_grey(tmp_path / "drawn.png")),
                                  prepare_digit(digits[0] / 255))


def test_the_faint_edges_of_a_drawing_do_not_decide_its_paper(tmp_path, digits):
    # A browser's canvas stores the colours of its faintest pixels premultiplied, far from
    # the stroke's: light grey (0.8) strokes whose edges, at alpha 0.1, run from 0.7 to 1.
    rgba = _drawn(np.kron(digits[0] / 255, np.ones((3, 3))), (0.8, 0.8, 0.8))
    edges = (rgba[..., 3] > 0) & (rgba[..., 3] < 0.5)
    rgba[edges, 3] = 0.1
    rgba[edges, :3] = np.random.default_rng(0).uniform(0.7, 1, (np.count_nonzero(edges), 1))
    mpimg.imsave(tmp_path / "drawn.png", rgba)
    assert load_grey(tmp_path / "drawn.png")[0, 0] == 0.0  # black paper


@pytest.mark.parametrize("stroke", [0.1, 0.86, None])  # black, faint pencil, none
def test_a_page_with_a_transparent_surround_keeps_white_paper_behind_it(tmp_path, stroke):
    # Light paper (0.92) covering most of the picture, its corners transparent: black there
    # would be ink, the page's outline read as the digit (or a blank card as one).
    rgba = np.full((12, 12, 4), 0.92)
    rgba[..., 3] = 1
    if stroke is not None:
        rgba[3:9, 5:7, :3] = stroke
    rgba[:3, :3, 3] = 0
    mpimg.imsave(tmp_path / "page.png", rgba)
    np.testing.assert_allclose(load_grey(tmp_path / "page.png")[:3, :3], 1.0)


@pytest.mark.parametrize("stroke", [0.1, 0.75], ids=["dark", "light-pencil"])
def test_a_small_piece_of_page_on_a_transparent_canvas_keeps_white_paper(tmp_path, stroke):
    # Less than half the picture is opaque, but it holds paper and ink, not one colour:
    # black around it would be read as ink. A light pencil differs from the paper by less
    # than a fifth of the grey scale.
    rgba = np.zeros((20, 20, 4))
    rgba[6:14, 6:14] = 0.92
    rgba[6:14, 6:14, 3] = 1
    rgba[7:13, 9:11, :3] = stroke
    mpimg.imsave(tmp_path / "piece.png", rgba)
    np.testing.assert_allclose(load_grey(tmp_path / "piece.png")[0], 1.0)


def test_load_grey_reads_an_rgb_png_without_alpha(tmp_path):
    # matplotlib's imsave writes RGBA; Pillow writes this one as RGB, read as (8, 8, 3).
    from PIL import Image

    green = np.zeros((8, 8, 3), np.uint8)
    green[..., 1] = 255  # luma 0.587
    Image.fromarray(green).save(tmp_path / "green.png")
    np.testing.assert_allclose(load_grey(tmp_path / "green.png"), 0.587)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_load_grey_scales_8_and_16_bit_files_by_their_own_range(tmp_path, dtype):
    # A TIFF reaches matplotlib through Pillow as the file's integers: 0..255 or 0..65535.
    from PIL import Image

    top = np.iinfo(dtype).max
    pixels = np.full((6, 6), top, dtype=dtype)
    pixels[2:4, 2:4] = top // 5  # grey ink on white paper
    Image.fromarray(pixels).save(tmp_path / "grey.tif")
    grey = load_grey(tmp_path / "grey.tif")
    assert grey.max() == 1.0
    np.testing.assert_allclose(grey[2:4, 2:4], (top // 5) / top)


def test_load_grey_reads_a_float_file_as_its_values(tmp_path):
    # Through matplotlib, Pillow's 32-bit float mode is cut to 8-bit integers: levels in
    # [0, 1] would all be 0, and the digit "a blank image".
    from PIL import Image

    pixels = np.full((6, 6), 0.9, np.float32)
    pixels[2:4, 2:4] = 0.3
    Image.fromarray(pixels, "F").save(tmp_path / "grey.tif")
    np.testing.assert_allclose(load_grey(tmp_path / "grey.tif"), pixels, rtol=1e-7)


@pytest.mark.parametrize("misnamed", ["digit.png", "digit.jpg.txt"])
def test_load_grey_reads_a_file_by_its_contents_not_its_name(tmp_path, misnamed):
    # matplotlib chooses its reader by the extension: read by it, a JPEG named .png would be
    # "not a readable image (not a PNG file)", although Pillow reads it.
    from PIL import Image

    pixels = np.full((16, 16, 3), 255, dtype=np.uint8)
    pixels[4:12, 6:10] = 30  # a dark stroke
    Image.fromarray(pixels).save(tmp_path / "digit.jpg")
    (tmp_path / misnamed).write_bytes((tmp_path / "digit.jpg").read_bytes())
    expected = load_grey(tmp_path / "digit.jpg")
    assert expected[8, 8] < 0.2 and expected[0, 0] > 0.9
    np.testing.assert_array_equal(load_grey(tmp_path / misnamed), expected)


@pytest.mark.parametrize("orientation", range(1, 10))
@pytest.mark.parametrize("fmt", ["png", "jpeg"])
def test_load_grey_turns_a_picture_as_its_exif_orientation_says(tmp_path, orientation, fmt):
    # A phone stores a portrait photo sideways, with tag 6: read as stored, a 2 would come
    # out on its side, and be read as a 7. Pillow's exif_transpose is what viewers show; a
    # value outside 1 to 8 is taken as 1, as stored.
    from PIL import Image, ImageOps

    pixels = np.random.default_rng(orientation).integers(0, 256, (5, 7), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"photo.{fmt}"
    Image.fromarray(pixels, "L").save(path, exif=exif.tobytes(), quality=100)
    with Image.open(path) as image:
        shown = np.asarray(ImageOps.exif_transpose(image) if orientation < 9 else image)
    grey = load_grey(path)
    assert grey.shape == shown.shape == ((7, 5) if orientation in (5, 6, 7, 8) else (5, 7))
    np.testing.assert_allclose(grey, shown / 255, atol=1e-6)


def test_load_grey_of_colour_equals_the_luma_composited_over_white(tmp_path):
    # Computed a channel at a time in float32 (a whole-image float64 RGBA would take 100
    # bytes a pixel): the same grey as a * luma(rgb) + (1 - a) in float64.
    rgba = np.random.default_rng(0).integers(0, 256, (9, 7, 4), dtype=np.uint8)
    mpimg.imsave(tmp_path / "rgba.png", rgba)
    values = rgba / 255
    alpha = values[..., 3]
    expected = alpha * (values[..., :3] @ [0.299, 0.587, 0.114]) + (1 - alpha)
    grey = load_grey(tmp_path / "rgba.png")
    assert grey.dtype == np.float64
    np.testing.assert_allclose(grey, expected, atol=1e-6)


@pytest.mark.parametrize("path", [None, 3, b"digit.png"])
def test_load_grey_path_must_be_a_str_or_a_path(path):
    # Not "None: not a readable image ()" for None.
    with pytest.raises(TypeError, match=r"^load_grey: path must be a str or a pathlib.Path"):
        load_grey(path)


def test_load_grey_refuses_a_file_that_is_not_an_image(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"<html>404</html>")
    with pytest.raises(ValueError, match="not a readable image"):
        load_grey(bad)


def test_load_grey_passes_on_the_systems_errors(tmp_path, monkeypatch):
    # "permission denied" is not "not a readable image": only Pillow's decoding errors are.
    def denied(path, format=None):
        raise PermissionError(13, "Permission denied", str(path))

    locked = tmp_path / "locked.png"
    mpimg.imsave(locked, np.zeros((4, 4)), cmap="gray")
    monkeypatch.setattr(mpimg, "imread", denied)
    with pytest.raises(PermissionError):
        load_grey(locked)
    with pytest.raises(FileNotFoundError):
        load_grey(tmp_path / "missing.png")


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG file that declares ``width`` x ``height`` grey pixels and holds none: enough
    for a reader that checks the size before decoding, and no more."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))
    return path


# A white 20000x20000 PNG is a file of 438 KB; matplotlib would read it, past Pillow's check
# for decompression bombs, into 6 GB of floats. 9460x9459 is just past Pillow's limit, where
# it only warns; 20000x20000 past twice that, where Pillow refuses it itself.
@pytest.mark.parametrize("width, height", [(9460, 9459), (20000, 20000)])
def test_load_grey_refuses_an_image_too_large_before_decoding_it(tmp_path, width, height):
    path = png_header_only(tmp_path / "huge.png", width, height)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nor Pillow's DecompressionBombWarning
        with pytest.raises(ValueError) as info:
            load_grey(path)
    message = str(info.value)
    assert message.startswith(f"{path}: too large an image ("), message
    assert f"{width * height:,} pixels" in message or f"{width * height} pixels" in message
    assert "\n" not in message


def test_load_grey_reads_an_image_of_exactly_the_most_pixels(tmp_path, monkeypatch):
    """The check lets through what fits: here the limit is lowered to a small image's size."""
    path = tmp_path / "digit.png"
    mpimg.imsave(path, np.zeros((30, 20)), cmap="gray")
    monkeypatch.setattr("tinynet.imaging.MAX_PIXELS", 600)
    assert load_grey(path).shape == (30, 20)
    monkeypatch.setattr("tinynet.imaging.MAX_PIXELS", 599)
    with pytest.raises(ValueError, match=r"too large an image \(20x30 is 600 pixels, more "
                                         r"than the 599 that are read: scale it down first\)"):
        load_grey(path)


def test_load_grey_says_an_empty_file_is_empty(tmp_path):
    """As load_model does; Pillow alone would say only that it could not identify the
    image."""
    empty = tmp_path / "digit.png"
    empty.write_bytes(b"")
    with pytest.raises(ValueError) as info:
        load_grey(empty)
    assert str(info.value) == (f"{empty}: not a readable image (the file is empty: an "
                               "interrupted copy?)")
