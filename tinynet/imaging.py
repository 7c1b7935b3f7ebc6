"""Turn a picture of a digit into an MNIST-like 28x28 image, with NumPy and matplotlib only.

MNIST digits were prepared this way (LeCun et al.): the digit is light on a dark
background, its bounding box is scaled to fit a 20x20 box keeping the aspect ratio (with
anti-aliasing, so edges are grey), and it is placed in a 28x28 image so that its centre of
mass is at the centre. A model trained on MNIST only recognises digits prepared the same way.
"""

from __future__ import annotations

import os

import numpy as np

from tinynet.checks import int_at_least, real_array

#: Where MNIST puts a digit's centre of mass, in pixel indices (row, column) of 28x28.
CENTRE = 14.0
#: Pixels darker than this fraction of the digit's brightest pixel count as background.
INK_THRESHOLD = 0.2
#: Differences in grey level up to this (half a step of an 8-bit image) are not ink: an image
#: whose pixels all lie this close to the background is blank.
MIN_CONTRAST = 0.5 / 255


def load_grey(path: str | os.PathLike) -> np.ndarray:
    """Read an image file (PNG; JPEG too when Pillow is installed) as grey levels in [0, 1].

    Shapes: (H, W) from grey, (H, W, 3) RGB or (H, W, 4) RGBA files. Transparent pixels
    count as white paper. Raises ValueError when the file is not a readable image, the
    system's OSError (FileNotFoundError, PermissionError, ...) when it cannot be opened, and
    TypeError when ``path`` is not a str or a path object.
    """
    from matplotlib import image as mpimg  # imported here: only this function needs it

    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"load_grey: path must be a str or a pathlib.Path, got {path!r}")

    try:
        raw = np.asarray(mpimg.imread(path))
    except OSError as e:
        if e.errno is not None:  # the system's own error (no such file, permission denied),
            raise                # not Pillow's OSError for data it cannot decode
        raise ValueError(f"{path}: not a readable image ({e})") from e
    except Exception as e:  # matplotlib/Pillow raise many types for a bad file
        raise ValueError(f"{path}: not a readable image ({e})") from e
    # matplotlib reads PNG as floats in [0, 1], and other formats (through Pillow) as the
    # file's integers: 0..255, or 0..65535 for 16-bit files.
    if raw.dtype.kind in "iu":
        img = raw / float(np.iinfo(raw.dtype).max)
    else:
        img = raw.astype(np.float64)
    if img.ndim == 3 and img.shape[2] == 4:  # composite over white paper
        rgb, alpha = img[..., :3], img[..., 3:]
        img = rgb * alpha + (1 - alpha)
    if img.ndim == 3:
        img = img[..., :3] @ np.array([0.299, 0.587, 0.114])  # ITU-R 601 luma
    if img.ndim != 2 or img.size == 0:
        raise ValueError(f"{path}: expected a grey or colour image, got an array of shape "
                         f"{img.shape}")
    return img


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
    return _area_matrix(img.shape[0], height) @ img @ _area_matrix(img.shape[1], width).T


def _area_matrix(n_in: int, n_out: int) -> np.ndarray:
    # Output pixel i covers [i * s, (i + 1) * s) in input coordinates, s = n_in / n_out.
    s = n_in / n_out
    lo = np.arange(n_out)[:, None] * s
    j = np.arange(n_in)[None, :]
    overlap = np.clip(np.minimum(lo + s, j + 1) - np.maximum(lo, j), 0, None)  # (n_out, n_in)
    return overlap / s


def prepare_digit(grey: np.ndarray) -> np.ndarray:
    """Prepare a grey image (H, W) of one digit as MNIST did; uint8 (28, 28).

    ``grey`` holds finite grey levels, normally in [0, 1] (as :func:`load_grey` returns), on
    a uniform background of any brightness.

    1. Polarity: MNIST digits are light on dark. The border is mostly background, so its
       median is the paper's level; the ink is whichever extreme of the image lies farther
       from that level (dark ink on light paper is inverted).
    2. Background to 0 and the strongest ink to 1; faint noise below INK_THRESHOLD dropped.
    3. Crop to the ink's bounding box, scale it to fit 20x20 keeping the aspect ratio, then
       stretch it so that its brightest pixel is 1 (255), as in every MNIST digit.
    4. Paste into 28x28 with the centre of mass at the centre (14, 14).

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

    ink = _ink(grey)  # (H, W) in [0, 1]: 0 is paper, 1 the strongest ink
    ink[ink < INK_THRESHOLD] = 0

    rows, cols = np.nonzero(ink)
    ink = ink[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    h, w = ink.shape
    scale = 20 / max(h, w)
    digit = area_resize(ink, max(1, round(h * scale)), max(1, round(w * scale)))
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


def _ink(grey: np.ndarray) -> np.ndarray:
    """How much ink each pixel of a finite grey image (H, W) holds, as (H, W) in [0, 1].

    The paper's level is the border's median: it is robust to a digit touching the border.
    The polarity is decided relative to the image itself, not to a fixed 0.5, so that black
    ink on grey paper of brightness 0.4 is found as well as white chalk on a 0.6 board: the
    ink is the extreme (darkest or lightest pixel) farther from the paper's level.
    """
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    paper = float(np.median(border))
    lo, hi = float(grey.min()), float(grey.max())
    above, below = hi - paper, paper - lo  # how far light ink, or dark ink, would reach
    if max(above, below) <= MIN_CONTRAST:
        raise ValueError(f"prepare_digit: the image is blank: expected a digit that differs "
                         f"from the background, got grey levels from {lo:.4g} to {hi:.4g} "
                         "only (no contrast, so no ink to tell from the paper)")
    if abs(above - below) <= MIN_CONTRAST:
        raise ValueError(f"prepare_digit: cannot tell the ink from the paper: expected one "
                         f"digit on a uniform background, got a border of median level "
                         f"{paper:.4g} with pixels as far above it ({hi:.4g}) as below it "
                         f"({lo:.4g})")
    ink = grey - paper if above > below else paper - grey
    return np.clip(ink / max(above, below), 0, 1)
