"""Data sets: the IDX file format and MNIST, shipped with the package. See docs/data.md.

- :func:`read_idx` / :func:`write_idx`: n-dimensional arrays in IDX files, gzipped or not.
- :func:`load_mnist`: the 70,000 MNIST digits, from the copies inside the package.
- :func:`download_mnist`: fetch the MNIST files again from public mirrors, verified.
- :func:`one_hot`: labels (N,) -> rows (N, K).
"""

from tinynet.datasets.download import MIRRORS, DownloadError, download_mnist
from tinynet.datasets.idx import IDXFormatError, read_idx, write_idx
from tinynet.datasets.mnist import MNIST_SHA256, ChecksumError, load_mnist, one_hot

__all__ = [
    "MIRRORS",
    "MNIST_SHA256",
    "ChecksumError",
    "DownloadError",
    "IDXFormatError",
    "download_mnist",
    "load_mnist",
    "one_hot",
    "read_idx",
    "write_idx",
]
