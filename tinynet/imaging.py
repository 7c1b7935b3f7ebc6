"""Turn a picture of a digit into an MNIST-like 28x28 image, with NumPy and matplotlib only.

MNIST digits were prepared this way (LeCun et al.): the digit is light on a dark
background, its bounding box is scaled to fit a 20x20 box keeping the aspect ratio (with
anti-aliasing, so edges are grey), and it is placed in a 28x28 image so that its centre of
mass is at the centre. A model trained on MNIST only recognises digits prepared the same way.
A phone photo of a digit on paper adds what MNIST's scans did not have (uneven lighting,
noise, specks, ruled lines): :func:`prepare_digit` takes them away first.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from tinynet.checks import int_at_least, real_array

#: Where MNIST puts a digit's centre of mass, in pixel indices (row, column) of 28x28.
CENTRE = 14.0
#: Pixels darker than this fraction of the digit's brightest pixel count as background.
INK_THRESHOLD = 0.2
#: The digit's extent (its blobs, its bounding box) is where its ink is at least this
#: fraction of its strongest: fainter marks across the page, such as ruled lines (a fifth to
#: a third of a pen's contrast), are not the digit, though they are ink.
DIGIT_THRESHOLD = 0.35
#: Pictures are first averaged down to at most this many pixels a side.
WORK_SIZE = 256
#: The paper's level is measured in a grid of this many blocks along the longer side...
PAPER_BLOCKS = 32
#: ... and what differs from it as the ink does (darker, for dark ink) but is narrower than
#: this many blocks (9/32 of the picture) is ink; broader changes are the lighting. Odd, so
#: that a window of blocks has a centre.
PAPER_WINDOW = 9
#: Blobs of ink are told apart in a grid of this many cells along the longer side.
BLOB_CELLS = 32
#: A blob of ink at least this fraction of the picture long in one direction (its whole
#: length, but for a few pixels), and at most PAPER_WINDOW / PAPER_BLOCKS of it wide in the
#: other, is a band across the picture (the edge of the desk beside the page, a scanner's
#: border), not the digit.
EDGE_SPAN = 0.97
#: A blob holding less than this fraction of the largest blob's ink is a speck, not the digit.
SPECK_FRACTION = 0.05
#: The digit is the blob holding the most ink of at least this fraction of the strongest in
#: the picture, which may be a black speck beside a pencil digit: a pencil reflecting 0.7 of
#: the light on paper reflecting 0.9 has 0.22 of a black speck's contrast, below
#: DIGIT_THRESHOLD but above this (down to a pencil reflecting about 0.8 of the light).
FAINT_THRESHOLD = 0.1
#: The digit's strongest ink is the level reached by its strongest pixels, this fraction of
#: its blob's ink pixels (a stroke's core has many, a black speck beside a stroke few)...
TOP_FRACTION = 0.02
#: ... when its single strongest pixel is more than this many times that level: the ink of
#: a stroke is even, so that pixel is a black speck. Otherwise it is that pixel (for a pen
#: digit in benchmarks/photo_digits.py, at most 1.2 times that level, 1.95 with all of its
#: defects at once; there the scales of the two ways read as well).
SPECK_CONTRAST = 2
#: Differences in grey level up to this (half a step of an 8-bit image) are not ink: an image
#: whose pixels all lie this close to the background is blank.
MIN_CONTRAST = 0.5 / 255
#: The most pixels load_grey reads: Pillow's own limit (Image.MAX_IMAGE_PIXELS), past which
#: it warns of a decompression bomb. Preparing a digit from an RGBA PNG takes about 30 bytes
#: a pixel at its peak (16 as matplotlib reads it): 2.7 GB at this limit.
MAX_PIXELS = 89_478_485


def load_grey(path: str | os.PathLike) -> np.ndarray:
    """Read an image file (any format Pillow reads: PNG, JPEG, GIF, BMP, TIFF, WebP, told
    apart by their contents) as grey levels in [0, 1].

    A file of float grey levels (a 32-bit TIFF) is read as its values, which should lie in
    [0, 1].

    Shapes: (H, W) from grey, (H, W, 3) RGB or (H, W, 4) RGBA files, turned as the file's
    EXIF orientation says (as image viewers show it: a phone stores a portrait photo
    sideways, (W, H), with orientation 6). Transparent pixels count as white paper, or as
    black behind a drawing in one light colour on a transparent canvas (a white digit).
    Raises ValueError when the file is empty, not a readable image or an image of more than
    :data:`MAX_PIXELS` pixels (checked before decoding), the system's OSError
    (FileNotFoundError, PermissionError, ...) when it cannot be opened, and TypeError when
    ``path`` is not a str or a path object.
    """
    # Imported here: only this function needs them. matplotlib reads images with Pillow.
    from matplotlib import image as mpimg
    from PIL import Image

    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"load_grey: path must be a str or a pathlib.Path, got {path!r}")

    if os.path.isfile(path) and os.path.getsize(path) == 0:
        raise ValueError(f"{path}: not a readable image (the file is empty: an interrupted "
                         "copy?)")
    try:
        # The size, from the header alone, before anything is decoded. matplotlib reads a
        # PNG past Pillow's check for decompression bombs: a white 20000x20000 PNG, a file
        # of 438 KB, took 6 GB of memory. Pillow refuses (DecompressionBombError) past twice
        # its limit, and warns past it; this refuses at the limit, in one line.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                found = image.format  # from the file's contents, whatever its name
                orientation = _orientation(image)
                floats = image.mode == "F"
        if width * height > MAX_PIXELS:
            raise Image.DecompressionBombError(
                f"{width}x{height} is {width * height:,} pixels, more than the "
                f"{MAX_PIXELS:,} that are read: scale it down first")
        if floats:
            # Grey levels stored as 32-bit floats (a TIFF): matplotlib would cut each to an
            # 8-bit integer, and levels in [0, 1] would all be 0, a blank image.
            with Image.open(path) as image:
                raw: np.ndarray = np.asarray(image, dtype=np.float32)
        else:
            # matplotlib picks its reader by the file's extension unless told the format: a
            # JPEG named .png was "not a PNG file".
            raw = np.asarray(mpimg.imread(os.fspath(path), format=found.lower() if found else None))
    except Image.DecompressionBombError as e:
        raise ValueError(f"{path}: too large an image ({e})") from None
    except OSError as e:
        if e.errno is not None:  # the system's own error (no such file, permission denied),
            raise                # not Pillow's OSError for data it cannot decode
        raise ValueError(f"{path}: not a readable image ({e})") from e
    except Exception as e:  # matplotlib/Pillow raise many types for a bad file
        raise ValueError(f"{path}: not a readable image ({e})") from e
    # matplotlib reads PNG as floats in [0, 1], and other formats (through Pillow) as the
    # file's integers: 0..255, or 0..65535 for 16-bit files; a float file is as stored.
    # Grey is computed in float32 and one channel at a time: a photo's pixels are many, and
    # whole-image float64 temporaries took 100 bytes a pixel of an RGBA file.
    scale = 1 / np.iinfo(raw.dtype).max if raw.dtype.kind in "iu" else 1.0
    if raw.ndim == 3 and raw.shape[2] in (3, 4) and raw.size:
        # ITU-R 601 luma, scaled to [0, 1].
        grey = raw[..., 0] * np.float32(0.299 * scale)
        grey += raw[..., 1] * np.float32(0.587 * scale)
        grey += raw[..., 2] * np.float32(0.114 * scale)
        if raw.shape[2] == 4:
            # Composited over paper of grey level p, a * rgb + (1 - a) * p per channel; the
            # luma's weights sum to 1, so its luma is a * grey + (1 - a) * p = a (grey - p) + p.
            alpha = raw[..., 3] * np.float32(scale)
            paper = _paper_behind(grey, alpha)
            grey -= paper
            grey *= alpha
            grey += paper
        img = grey
    else:
        img = raw * np.float32(scale) if scale != 1.0 else raw
    if img.ndim != 2 or img.size == 0:
        raise ValueError(f"{path}: expected a grey or colour image, got an array of shape "
                         f"{img.shape}")
    return _UPRIGHT[orientation](img).astype(np.float64)


def _paper_behind(grey: np.ndarray, alpha: np.ndarray) -> float:
    """The grey level that shows through transparent pixels, for grey levels and alpha
    (H, W): white paper, unless the picture is a drawing in one light colour on a
    transparent canvas (a white digit, whose strokes' edges are in the alpha channel):
    then black."""
    # The opaque pixels (alpha >= 0.5: fainter edges may hold any colour, a browser's
    # canvas stores them premultiplied) are a drawing's strokes when they cover less than
    # half the picture; a page with a transparent surround covers most of it.
    opaque = alpha >= 0.5
    if not 0 < np.count_nonzero(opaque) < opaque.size / 2:
        return 1.0
    low = grey.min(where=opaque, initial=np.inf)
    high = grey.max(where=opaque, initial=-np.inf)
    # Within a tenth of the grey scale counts as one colour: the ink and paper of a small
    # patch of page differ by more (a light pencil's by about 0.2).
    return 0.0 if high - low <= 0.1 and low + high > 1 else 1.0


# EXIF's orientation tag, 1 to 8: how to turn the stored pixels, (H, W), to show them as
# the camera was held. A phone stores a portrait photo sideways with tag 6, and every
# viewer turns it; matplotlib reads the pixels as stored. (np.rot90 turns anticlockwise.)
_UPRIGHT: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    1: lambda img: img,
    2: lambda img: img[:, ::-1],  # mirrored left to right
    3: lambda img: img[::-1, ::-1],  # upside down
    4: lambda img: img[::-1],  # mirrored top to bottom
    5: lambda img: img.T,  # mirrored along the diagonal
    6: lambda img: np.rot90(img, -1),  # turned a quarter anticlockwise: turn it back
    7: lambda img: img[::-1, ::-1].T,  # mirrored along the other diagonal
    8: lambda img: np.rot90(img, 1),  # turned a quarter clockwise
}


def _orientation(image: Any) -> int:
    """The EXIF orientation of an open Pillow image, 1 (as stored) when it has none. A
    damaged tag is no reason to refuse a picture whose pixels read: taken as 1."""
    try:
        orientation = image.getexif().get(0x0112, 1)
    except Exception:  # Pillow raises many types for a damaged EXIF block
        return 1
    return orientation if orientation in _UPRIGHT else 1


#: The longest side :func:`area_resize` takes in one matrix product; a longer one is taken
#: in slices of this length, so that each area matrix stays within 16 MB when the output is
#: at most 256 pixels a side (8,192 x 256 float64), as :func:`prepare_digit` asks for.
AREA_SLICE = 8_192


def area_resize(img: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize (H, W) -> (height, width) by area averaging: each output pixel is the mean of
    the input area it covers, which is what anti-aliased downscaling means.

    Written as two matrix products, ``A_rows @ img @ A_cols.T``, where ``A[i, j]`` is the
    fraction of output pixel i's interval covered by input pixel j. ``img`` holds real
    numbers; ``height`` and ``width`` are ints >= 1 (ValueError otherwise).
    """
    img = real_array(img, "img", "area_resize")
    if img.ndim != 2:
        raise ValueError(f"area_resize: img must have shape (H, W), got {img.shape}")
    height = int_at_least("area_resize: height", height, 1)
    width = int_at_least("area_resize: width", width, 1)
    # A_rows @ img @ A_cols.T, written as A_cols @ (A_rows @ img).T transposed, so that each
    # product is _area_rows's: a slice of a long side at a time, as a whole A for a side of
    # 5,000,000 pixels (a thin line of an image) would take gigabytes.
    return _area_rows(_area_rows(img, height).T, width).T


def _area_rows(img: np.ndarray, n_out: int) -> np.ndarray:
    # A @ img, (n_out, W), with A (n_out, H) the area matrix of img's H rows, summed over
    # slices of AREA_SLICE rows: A[:, slice] @ img[slice].
    n_in = img.shape[0]
    out = np.zeros((n_out, img.shape[1]))
    for start in range(0, n_in, AREA_SLICE):
        stop = min(start + AREA_SLICE, n_in)
        out += _area_matrix(n_in, n_out, start, stop) @ img[start:stop]
    return out


def _area_matrix(n_in: int, n_out: int, start: int = 0, stop: int | None = None) -> np.ndarray:
    # Output pixel i covers [i * s, (i + 1) * s) in input coordinates, s = n_in / n_out:
    # A[i, j], the share of it that input pixel j covers, for j from start to stop (all).
    s = n_in / n_out
    lo = np.arange(n_out)[:, None] * s
    j = np.arange(start, n_in if stop is None else stop)[None, :]
    overlap = np.clip(np.minimum(lo + s, j + 1) - np.maximum(lo, j), 0, None)  # (n_out, len(j))
    return overlap / s


def prepare_digit(grey: np.ndarray) -> np.ndarray:
    """Prepare a grey image (H, W) of one digit as MNIST did; uint8 (28, 28).

    ``grey`` holds finite grey levels, normally in [0, 1] (as :func:`load_grey` returns;
    larger ones, 0..255 say, are first scaled down into [-1, 1] by a power of two): a
    digit on paper of any brightness, which may vary across the picture as the lighting of
    a photo does (a gradient, a vignette, a soft shadow).

    1. Shrink: a photo has millions of pixels, but the digit ends up in 20x20. Averaging the
       picture down to at most WORK_SIZE pixels a side loses nothing that the result keeps
       (while the digit spans more than a tenth of the picture), averages the sensor's
       noise away, and makes the next steps cheap.
    2. Polarity: MNIST digits are light on dark. The border is mostly paper, so its median
       is the paper's typical level; the ink is whichever extreme of the image lies farther
       from it (dark ink on light paper is inverted).
    3. Paper to 0: the paper's level under each pixel is estimated from the paper around
       it (:func:`_paper_level`) and taken away, so that uneven lighting is not taken for
       ink (:func:`_ink`). The strongest ink is scaled to 1. Long thin bands of ink beside
       the middle of the picture, the edge of the desk beside the page, are taken away
       (:func:`_off_the_edges`).
    4. The digit's ink to 1: the digit is the blob that holds the most ink, counting ink
       as faint as FAINT_THRESHOLD (a light pencil digit holds more than black specks
       beside it); its own strongest ink, not a black speck's, is scaled to 1
       (:func:`_digit_scale`), and stronger ink (the black specks) is cut down to 1.
    5. Specks (dust, dots, noise): blobs of ink that hold less than SPECK_FRACTION of the
       ink of the largest blob are dropped (:func:`_not_specks`), and faint ink below
       INK_THRESHOLD is dropped.
    6. Crop to the bounding box of the ink of at least DIGIT_THRESHOLD (a ruled line is
       fainter), scale it to fit 20x20 keeping the aspect ratio, then stretch it so that
       its brightest pixel is 1 (255), as in every MNIST digit.
    7. Paste into 28x28 with the centre of mass at the centre (14, 14).

    Raises ValueError for a shape other than (H, W), values that are not real numbers
    (complex, strings), NaN or infinite values, an image with no contrast ("blank"), or one
    whose ink cannot be told from its paper.
    """
    grey = real_array(grey, "grey", "prepare_digit").astype(np.float64)
    if grey.ndim != 2 or min(grey.shape) < 1:
        raise ValueError(f"prepare_digit: expected a grey image (H, W), got shape {grey.shape}")
    finite = np.isfinite(grey)
    if not finite.all():
        row, col = np.argwhere(~finite)[0]
        raise ValueError(f"prepare_digit: expected finite grey levels, got "
                         f"{np.count_nonzero(~finite)} NaN or infinite value(s), the first "
                         f"{grey[row, col]} at row {row}, column {col}")
    # Levels past [-1, 1] (0..255, a float TIFF's 1e308) are brought within it by a power
    # of two, 2**exponent, which is exact: differences and ratios of levels near 1e308 would
    # overflow, and half a step of 0..255 is then MIN_CONTRAST, as it is in [0, 1].
    largest = np.abs(grey).max()
    exponent = math.frexp(largest)[1] if largest > 1 else 0  # largest = m 2**e, 1/2 <= m < 1
    grey = np.ldexp(grey, -exponent)

    if max(grey.shape) > WORK_SIZE:  # 1. (area averaging, as the fit into 20x20 does later)
        grey = area_resize(grey, *_fit(grey.shape, WORK_SIZE))

    ink = _ink(grey, exponent)  # 2. and 3.: (H, W) in [0, 1], 0 is paper, 1 the strongest ink
    ink = _off_the_edges(ink)
    # 4. Cut down to 1, black specks weigh in step 5 by their size, as specks of the digit's
    # own ink would, not by how much darker than the digit they are.
    ink = np.minimum(ink / _digit_scale(ink), 1)
    ink = np.where(_not_specks(ink), ink, 0)  # 5.
    # Most often 1 already; not when the digit's strongest pixel was in a piece that holds
    # too little ink to count (then the digit's strongest kept ink becomes 1).
    ink = ink / ink.max()  # > 0: the largest blob holds ink of at least DIGIT_THRESHOLD
    rows, cols = np.nonzero(ink >= DIGIT_THRESHOLD)  # 6.
    ink[ink < INK_THRESHOLD] = 0
    ink = ink[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    digit = area_resize(ink, *_fit(ink.shape, 20))
    # Area averaging dims a stroke that is thin next to the picture: each output pixel is
    # the mean of ~150x150 pixels of a 7 drawn in 3-px lines on 4000x4000, which then peaked
    # at 11/255, a ghost the model had never seen (and read as a 5). MNIST's digits all peak
    # at 254 or 255, so stretch the brightest pixel to 1. This is done before centring, in
    # MNIST's order (its grey levels come from the size normalisation; centring only moves
    # them): the centre of mass does not change with the scale, and the digit's brightness
    # does not depend on where it lands in 28x28.
    digit = digit / digit.max()  # > 0: the crop keeps at least one pixel of ink 1

    # Centre of mass of the 20x20-fitted digit, moved to (14, 14) of the 28x28 canvas.
    total = digit.sum()
    com_r = (digit.sum(axis=1) @ np.arange(digit.shape[0])) / total
    com_c = (digit.sum(axis=0) @ np.arange(digit.shape[1])) / total
    top, left = round(CENTRE - com_r), round(CENTRE - com_c)
    canvas = np.zeros((28 + 2 * 28, 28 + 2 * 28))  # margins so any shift fits, then crop
    canvas[28 + top:28 + top + digit.shape[0], 28 + left:28 + left + digit.shape[1]] = digit
    out = canvas[28:56, 28:56]
    return np.round(np.clip(out, 0, 1) * 255).astype(np.uint8)


def _fit(shape: tuple[int, int], n: int) -> tuple[int, int]:
    """(rows, columns) of a picture of ``shape`` (H, W) resized so that its longer side is
    ``n``, keeping the aspect ratio, with at least one of each."""
    h, w = shape
    f = n / max(h, w)
    return max(1, round(h * f)), max(1, round(w * f))


def _ink(grey: np.ndarray, exponent: int = 0) -> np.ndarray:
    """How much ink each pixel of a finite grey image (H, W) holds, as (H, W) in [0, 1].
    Its errors name grey levels times ``2**exponent``, as prepare_digit was given them.

    The polarity is decided relative to the image itself, not to a fixed 0.5, so that black
    ink on grey paper of brightness 0.4 is found as well as white chalk on a 0.6 board: the
    border's median is the paper's typical level (robust to a digit touching the border),
    and the ink is the extreme (darkest or lightest pixel) farther from it. The ink is then
    measured against the paper's level around each pixel, not against that one typical
    level: across a photo the lighting varies by more than the ink's contrast in a shadow.
    """
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    typical = float(np.median(border))  # the paper's typical level
    lo, hi = float(grey.min()), float(grey.max())
    above, below = hi - typical, typical - lo  # how far light ink, or dark ink, would reach

    def given(level: float) -> str:
        return f"{math.ldexp(level, exponent):.4g}"

    if max(above, below) <= MIN_CONTRAST:
        raise ValueError(f"prepare_digit: the image is blank: expected a digit that differs "
                         f"from the background, got grey levels from {given(lo)} to {given(hi)} "
                         "only (no contrast, so no ink to tell from the paper; grey levels "
                         "run from 0, black, to 1, white)")
    if abs(above - below) <= MIN_CONTRAST:
        raise ValueError(f"prepare_digit: cannot tell the ink from the paper: expected one "
                         f"digit on paper, got a border of median level "
                         f"{given(typical)} with pixels as far above it ({given(hi)}) as below "
                         f"it ({given(lo)}); grey levels run from 0, black, to 1, white")
    light = grey if above > below else -grey  # the ink is the high side of `light`
    paper = _paper_level(light)
    ink = np.clip(light - paper, 0, None)
    if above <= below:
        # Dark ink on light paper, as in a photo: each pixel's grey is the light falling
        # there times what the page reflects, so where a shadow halves the light, the ink's
        # contrast with the paper is halved too. Divided by the paper's level (-paper, the
        # light reaching it), the ink reads as the fraction of the light it absorbs: the
        # same in a shadow as in full light. (Never by less than MIN_CONTRAST, so never by
        # 0. Light ink on a dark ground keeps the difference: a ground near black says
        # little about the light.)
        ink = ink / np.maximum(-paper, MIN_CONTRAST)
    top = float(ink.max())
    if top <= MIN_CONTRAST:
        raise ValueError(f"prepare_digit: the image is blank: expected a digit that differs "
                         f"from the paper around it, got only changes broader than "
                         f"{PAPER_WINDOW}/{PAPER_BLOCKS} of the picture, which are lighting "
                         "(no ink to tell from the paper)")
    return ink / top


def _paper_level(light: np.ndarray) -> np.ndarray:
    """The paper's level (H, W) under each pixel of an image (H, W) whose ink is light.

    The image is averaged down to a grid of blocks, PAPER_BLOCKS along its longer side
    (which averages noise away too). Ink is what is higher than the paper around it and
    narrower than PAPER_WINDOW blocks; it is taken away by a grey-level *opening*:

    - each block takes the lowest level (the most paper-like) among the PAPER_WINDOW x
      PAPER_WINDOW blocks around it: a stroke narrower than the window disappears, since
      every window over it also holds paper; but a broad region on the ink's side of the
      paper (the shaded part of a page, darker like the ink) shrinks by half a window;
    - then each block takes the highest of those levels around it, which grows that region
      back to its edges: a gradient, a vignette, a shadow's straight edge, all broader than
      the window, are followed exactly, while the ink, gone in the first step, stays gone.

    Past the grid's edges, the grid is extended by point reflection (2 x edge - mirror
    image), which continues a slope instead of flattening it: a vignette darkening towards
    the corners is followed into them. The grid is then interpolated bilinearly back to
    (H, W), so that the estimate has no steps between blocks.
    """
    h, w = light.shape
    # Blocks down and across, never more than the pixels.
    n_r, n_c = _fit(light.shape, min(PAPER_BLOCKS, max(h, w)))
    blocks = area_resize(light, n_r, n_c)
    paper = _around(_around(blocks, np.min), np.max)
    return _linear_matrix(n_r, h) @ paper @ _linear_matrix(n_c, w).T


def _around(grid: np.ndarray, reduce: Callable[..., np.ndarray]) -> np.ndarray:
    # reduce (np.min or np.max) over the PAPER_WINDOW x PAPER_WINDOW blocks centred on each
    # block of the grid (n_r, n_c), extended past its edges by point reflection.
    k = PAPER_WINDOW
    extended = np.pad(grid, k // 2, mode="reflect", reflect_type="odd")
    return reduce(sliding_window_view(extended, (k, k)), axis=(2, 3))


def _linear_matrix(n_in: int, n_out: int) -> np.ndarray:
    # Linear interpolation from n_in block centres to n_out pixel centres, as a matrix
    # (n_out, n_in), like _area_matrix: pixel i's centre lies at x = (i + 0.5) * n_in / n_out
    # - 0.5 in block units, between blocks floor(x) and floor(x) + 1, weighted 1 - frac(x)
    # and frac(x). Beyond the first and last block centres, x is clipped: the outer half
    # blocks take their block's level.
    x = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    left = np.minimum(np.floor(x).astype(int), max(n_in - 2, 0))
    frac = x - left
    m = np.zeros((n_out, n_in))
    m[np.arange(n_out), left] = 1 - frac
    m[np.arange(n_out), np.minimum(left + 1, n_in - 1)] += frac  # frac is 0 when n_in is 1
    return m


def _off_the_edges(ink: np.ndarray) -> np.ndarray:
    """``ink`` (H, W) in [0, 1] without the blobs (:func:`_ink_blobs`) that are long thin
    bands beside the middle of the picture: their ink (of at least FAINT_THRESHOLD) runs
    the picture's whole length, EDGE_SPAN of it, in one direction, is at most
    PAPER_WINDOW / PAPER_BLOCKS of it wide in the other, and clear of its middle fifth
    there. Such are the edge of the desk beside a page (a narrow strip of desk is all ink;
    along a wide one, the paper level follows the desk and leaves the line of its edge), a
    scanner's border, a ruled line near the top. They would otherwise weigh most and be
    taken for the digit, and their extent for the digit's bounding box. A digit on a page is
    shorter; one cropped tight in its height is as wide as the picture, or, a 1, crosses
    the middle. Where no ink of at least FAINT_THRESHOLD would be left, ``ink`` as it is: a
    digit taken for a band would leave only its faint edges, or noise, to be stretched."""
    blobs, cells, _ = _ink_blobs(ink, FAINT_THRESHOLD)
    ids = np.where(ink >= FAINT_THRESHOLD, blobs[cells], 0).ravel()  # each ink pixel's blob
    count = blobs.max() + 1
    edges = np.zeros(count, dtype=bool)
    rows, cols = np.indices(ink.shape)
    height, width = ink.shape
    for along, across, n_along, n_across in ((rows, cols, height, width),
                                             (cols, rows, width, height)):
        (low_along, high_along), (low, high) = (_extent(ids, index.ravel(), count)
                                                for index in (along, across))
        edges |= ((high_along - low_along + 1 >= EDGE_SPAN * n_along)
                  & (high - low + 1 <= n_across * PAPER_WINDOW / PAPER_BLOCKS)
                  & ((high + 1 <= 0.4 * n_across) | (low >= 0.6 * n_across)))
    edges[0] = False  # the pixels of no blob, or fainter than FAINT_THRESHOLD
    if not edges.any():
        return ink
    kept = np.where(edges[blobs][cells], 0.0, ink)
    return kept / kept.max() if kept.max() >= FAINT_THRESHOLD else ink


def _extent(ids: np.ndarray, index: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The lowest and highest ``index`` (n,) of each of ``count`` blobs, by the blob ``ids``
    (n,) of the same pixels: two (count,) arrays."""
    low, high = np.full(count, index.max() + 1), np.full(count, -1)
    np.minimum.at(low, ids, index)
    np.maximum.at(high, ids, index)
    return low, high


def _digit_scale(ink: np.ndarray) -> float:
    """The digit's strongest ink, in (0, 1], in ``ink`` (H, W) in [0, 1] whose strongest is 1.

    ``ink`` is scaled by its strongest pixel, which may be a black speck beside a pencil
    digit; then the pencil's strokes lie below DIGIT_THRESHOLD, form no blob, and the specks
    would be taken for the digit. But the digit holds far more ink than any speck, even
    when it is fainter (a pencil digit reflecting 0.7 of the light, dozens of times the ink
    of a black speck of dust). So the blobs (:func:`_ink_blobs`) of the ink of at least the
    lower FAINT_THRESHOLD are weighed: the one holding the most ink is the digit (with what
    touches it: ruled lines, noise, specks in the cells next to a stroke).

    Its strongest pixel is the scale, unless it is more than SPECK_CONTRAST times as strong
    as the level that the blob's strongest pixels reach (in TOP_FRACTION of its ink pixels):
    the ink of a stroke is even, so that pixel is a black speck next to a light stroke, and
    the level of the strongest pixels is the scale. When the digit's blob holds the picture's
    strongest pixel and its strokes are even, as in most pictures, the scale is 1.
    """
    blobs, cells, ink_per_blob = _ink_blobs(ink, FAINT_THRESHOLD)
    # The ink pixels of the heaviest blob; argmax > 0, since blob 0 (cells without ink)
    # holds none, and the pixel of ink 1 is an ink pixel.
    digit = ink[(blobs[cells] == ink_per_blob.argmax()) & (ink >= FAINT_THRESHOLD)]
    strongest, top = float(digit.max()), float(np.quantile(digit, 1 - TOP_FRACTION))
    return strongest if strongest <= SPECK_CONTRAST * top else top


def _not_specks(ink: np.ndarray) -> np.ndarray:
    """Where the digit is: (H, W) bools, False on the specks of ``ink`` (H, W) in [0, 1].

    The ink is the pixels of at least DIGIT_THRESHOLD of the digit's strongest (1, once
    :func:`_digit_scale` has scaled it); of its blobs (:func:`_ink_blobs`), one that holds
    less than SPECK_FRACTION of the ink of the largest one (the digit, or its largest piece)
    is a speck of dust, a dot, or noise. (A black speck counts as a speck of the digit's own
    ink of the same size: its ink was cut down to the digit's strongest.) True on the cells
    of the other blobs and on the cells next to them, where the faint edges of the strokes
    are.
    """
    blobs, cells, ink_per_blob = _ink_blobs(ink, DIGIT_THRESHOLD)
    digit = (blobs > 0) & (ink_per_blob[blobs] >= SPECK_FRACTION * ink_per_blob.max())
    near = np.any(sliding_window_view(np.pad(digit, 1), (3, 3)), axis=(2, 3))  # and around
    return near[cells]


def _ink_blobs(ink: np.ndarray, threshold: float
               ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], np.ndarray]:
    """The blobs of the pixels of ``ink`` (H, W) of at least ``threshold``, cell by cell.

    They are told apart in a grid of BLOB_CELLS cells along the longer side: a cell is
    inked if any of its pixels is, and inked cells that touch (by a side or a corner) form
    one blob, so a stroke broken by a gap narrower than a cell stays one blob. Returns the
    grid (n_r, n_c) of ints, 0 or the cell's blob; ``cells``, a pair of index arrays such
    that ``grid[cells]`` (H, W) is the blob of each pixel's cell; and the ink of at least
    ``threshold`` that each blob holds, indexed by blob (blob 0, the cells without ink,
    holds none).
    """
    h, w = ink.shape
    inked = ink >= threshold
    n_r, n_c = _fit(ink.shape, min(BLOB_CELLS, max(h, w)))  # never more than the pixels
    blobs = _blobs(area_resize(inked, n_r, n_c) > 0)  # (n_r, n_c): 0 or the cell's blob
    # Pixel (i, j) lies in cell (i * n_r // h, j * n_c // w).
    cells = (np.arange(h) * n_r // h)[:, None], np.arange(w) * n_c // w
    ink_per_blob = np.bincount(blobs[cells].ravel(), weights=np.where(inked, ink, 0).ravel())
    return blobs, cells, ink_per_blob


def _blobs(mask: np.ndarray) -> np.ndarray:
    """Number the blobs of a boolean image (h, w): (h, w) ints, 0 off the mask and one
    positive number per blob of pixels that touch by a side or a corner."""
    h, w = mask.shape
    labels = np.where(mask, np.arange(1, h * w + 1).reshape(h, w), 0)  # each its own
    while True:
        # Each pixel of the mask takes the largest number among itself and its 8
        # neighbours: a blob's largest number spreads by one pixel a round, until the
        # whole blob holds it and nothing changes.
        spread = sliding_window_view(np.pad(labels, 1), (3, 3)).max(axis=(2, 3))
        spread = np.where(mask, spread, 0)
        if np.array_equal(spread, labels):
            return labels
        labels = spread
