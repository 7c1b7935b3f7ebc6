"""MNIST: 70,000 handwritten digits, shipped in the package. Described in docs/data.md.

The database is by Yann LeCun, Corinna Cortes and Christopher J.C. Burges, distributed under
CC BY-SA 3.0. The four gzipped IDX files live in ``tinynet/datasets/data/`` so that training
works offline on a fresh machine; :func:`tinynet.datasets.download_mnist` fetches them again.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tinynet.checks import flag, int_at_least
from tinynet.datasets.idx import read_idx, read_idx_sha256

#: The folder of the copies shipped inside the package.
DATA_DIR = Path(__file__).resolve().parent / "data"

#: File name on the mirrors -> SHA-256 (hex) of its *uncompressed* IDX bytes. The checksum
#: is of the content, not of the .gz, so it holds for a plain copy, a gzipped one, and a
#: copy gzipped by another program or at another level alike.
MNIST_SHA256: dict[str, str] = {
    "train-images-idx3-ubyte.gz": (
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"
    ),
    "train-labels-idx1-ubyte.gz": (
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"
    ),
    "t10k-images-idx3-ubyte.gz": (
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"
    ),
}

# The order load_mnist returns them in: (x_train, y_train), (x_test, y_test).
_ORDER = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


class ChecksumError(ValueError):
    """A file is valid IDX but not the expected content: it is damaged or is other data."""


def _candidates(stem: str) -> list[str]:
    # The names MNIST copies go by: LeCun's site and the mirrors, gzipped or not, and the
    # "train-images.idx3-ubyte" spelling of some re-distributions (Kaggle's, for one).
    dotted = stem.replace("-idx", ".idx")
    return [f"{stem}.gz", stem, f"{dotted}.gz", dotted]


def _find(folder: Path, stem: str) -> Path:
    for name in _candidates(stem):
        if (folder / name).is_file():
            return folder / name
    tried = ", ".join(_candidates(stem))
    raise FileNotFoundError(
        f"load_mnist: no MNIST file {stem!r} in {folder}: expected one of {tried}. "
        f"Fetch the four files with tinynet.datasets.download_mnist({str(folder)!r}), or call "
        "load_mnist() without a path to use the copies shipped with tinynet"
    )


def _restore_hint(folder: Path) -> str:
    if folder == DATA_DIR:
        # Not "pip install tinynet": by that name a package index holds another project, and
        # reinstalling an editable install would keep the same damaged files.
        return (
            "check it out again in a clone (git checkout -- tinynet/datasets/data), or "
            "reinstall tinynet from the clone or wheel it was installed from (pip install "
            "--force-reinstall --no-deps PATH), or fetch a fresh copy with "
            "tinynet.datasets.download_mnist(folder) and load it with load_mnist(folder)"
        )
    return f"fetch a fresh copy with tinynet.datasets.download_mnist({str(folder)!r})"


def load_mnist(
    path: str | os.PathLike | None = None, verify: bool = True
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load the MNIST database: ``(x_train, y_train), (x_test, y_test)``.

    Shapes, all uint8: x_train (60000, 28, 28), y_train (60000,), x_test (10000, 28, 28),
    y_test (10000,). Pixels are 0 (background) to 255 (ink); labels are the digits 0 to 9.

    Args:
        path: a folder holding the four IDX files under their usual names
            (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
            ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``), gzipped (``.gz``) or
            not. By default, the copies shipped inside the package.
        verify: check the SHA-256 of each file's uncompressed content against
            :data:`MNIST_SHA256`. On by default: the hash is computed on bytes already in
            memory while they are read, and costs about 30 ms of the ~0.2 s a load takes
            (inflating the gzip streams is the rest), a small price for knowing the data is
            MNIST and intact. gzip's own CRC-32 only catches accidental damage, not a
            different file under the same name. Pass ``False`` to load other data in
            MNIST's layout (Fashion-MNIST uses the same file names).

    Raises:
        FileNotFoundError: a file is missing from ``path``.
        IDXFormatError: a file is not valid IDX (the message names it).
        ChecksumError: with ``verify``, a file's content is not MNIST's; the message names the
            file and how to restore it.
        ValueError: without ``verify``, the arrays are not images and labels that match.
        TypeError: ``path`` is not a str, a path object or None, or ``verify`` is not True
            or False.
    """
    if path is not None and not isinstance(path, str | os.PathLike):
        raise TypeError(f"load_mnist: path must be a folder (a str or a pathlib.Path) or None, "
                        f"got {path!r}")
    verify = flag(verify, "verify", "load_mnist")  # "no" would turn verification on
    folder = DATA_DIR if path is None else Path(path)
    if not folder.is_dir():
        raise NotADirectoryError(
            f"load_mnist: path must be a folder holding the four MNIST files, got {folder} "
            f"({'a file' if folder.exists() else 'nothing there'})"
        )
    arrays = []
    for stem in _ORDER:
        file = _find(folder, stem)
        if not verify:
            arrays.append(read_idx(file))
            continue
        array, digest = read_idx_sha256(file)
        expected = MNIST_SHA256[f"{stem}.gz"]
        if digest != expected:
            raise ChecksumError(
                f"{file}: damaged, or not MNIST's {stem}: expected the SHA-256 of its "
                f"uncompressed content to be {expected}, found {digest}. To restore it, "
                f"{_restore_hint(folder)}. To load other data in MNIST's layout, pass "
                "verify=False"
            )
        arrays.append(array)
    x_train, y_train, x_test, y_test = arrays
    if not verify:
        # With verify the checksums already pin the exact shapes; without it, check that
        # what was read can be used as images and labels at all.
        for part, x, y in (("train", x_train, y_train), ("t10k", x_test, y_test)):
            if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
                raise ValueError(
                    f"load_mnist: {folder}: expected {part} images (N, H, W) and labels (N,) "
                    f"with the same N, found shapes {x.shape} and {y.shape}"
                )
    return (x_train, y_train), (x_test, y_test)


def one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """One row per label, all zeros but a 1 in the label's column.

    Args:
        labels: (N,) integers in ``[0, num_classes)``.
        num_classes: K, the number of columns.

    Returns:
        (N, K) float32, with ``out[i, labels[i]] = 1``.

    Raises:
        ValueError: labels that are not a 1-D array of integers, a label out of range, or a
            ``num_classes`` that is not a positive int.
    """
    num_classes = int_at_least("one_hot: num_classes", num_classes, 1)
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"one_hot: labels must be 1-D, shape (N,), got shape {labels.shape}")
    if labels.size == 0:
        labels = labels.astype(np.intp)  # np.asarray([]) is float64, yet holds no bad label
    if labels.dtype.kind not in "iu":
        raise ValueError(
            f"one_hot: labels must be integers, got dtype {labels.dtype} "
            "(if they are whole numbers, convert them: labels.astype(int))"
        )
    bad = (labels < 0) | (labels >= num_classes)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"one_hot: labels must be in [0, {num_classes}) for num_classes={num_classes}, "
            f"got {labels[i]} at index {i}"
        )
    out = np.zeros((len(labels), num_classes), dtype=np.float32)
    out[np.arange(len(labels)), labels] = 1.0
    return out


if not TYPE_CHECKING:  # to a type checker a __getattr__ would make any name an attribute
    def __getattr__(name: str) -> Any:
        """Keras's ``mnist.load_data()`` (``from keras.datasets import mnist``), written from
        memory, gets tinynet's way rather than a bare AttributeError."""
        if name == "load_data":
            raise AttributeError("module 'tinynet.datasets.mnist' has no attribute "
                                 "'load_data', Keras's name: tinynet.datasets.load_mnist() "
                                 "returns the same ((x_train, y_train), (x_test, y_test)), "
                                 "uint8 images (N, 28, 28) and labels (N,)")
        raise AttributeError(f"module 'tinynet.datasets.mnist' has no attribute {name!r}")
