"""Fetch the MNIST files again from public mirrors: verified, and written atomically.

tinynet ships MNIST inside the package, so this is only needed to restore a damaged copy or
to fill a folder of one's own. Standard library only (urllib). See docs/data.md.
"""

from __future__ import annotations

import http.client
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from tinynet.atomic import not_a_file, write_atomic
from tinynet.checks import flag, number_in
from tinynet.datasets.idx import CHUNK, IDXFormatError, read_idx_sha256
from tinynet.datasets.mnist import MNIST_SHA256

#: Where the files are fetched from, in this order: the S3 mirror that torchvision uses, then
#: the Google Cloud mirror that TensorFlow Datasets uses. LeCun's own site has refused
#: automated downloads for years, so it is not in the list.
MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

#: The largest MNIST .gz is 9.9 MB; a mirror sending more than this for one file is not
#: sending MNIST, and is stopped rather than allowed to fill the disk.
MAX_FILE_BYTES = 64 * 2**20

#: progress(url, bytes_received, total_bytes_or_None), called after each block received.
ProgressCallback = Callable[[str, int, int | None], None]


class DownloadError(OSError):
    """No mirror delivered a file; the message lists what each mirror did."""


class _MirrorFailed(ValueError):
    """One mirror did not deliver a good file; the message says how."""


class _Printer:
    """Progress on stderr: one line per file kept up to date, and messages between them."""

    def __init__(self) -> None:
        self._step: tuple[str, int] | None = None
        self._open = False  # a progress line without its newline yet

    def progress(self, url: str, done: int, total: int | None) -> None:
        # Redraw only when the whole percentage (or, with no size known, the MiB) changes.
        step = (url, done * 100 // total if total else done >> 20)
        if step == self._step:
            return
        self._step = step
        size = f"{done / 1e6:.1f} / {total / 1e6:.1f} MB" if total else f"{done / 1e6:.1f} MB"
        print(f"\r  {url}: {size}", end="", file=sys.stderr, flush=True)
        self._open = True

    def say(self, message: str) -> None:
        print(("\n" if self._open else "") + message, file=sys.stderr, flush=True)
        self._open = False


def _quiet(message: str) -> None:
    pass


def _fetch(url: str, partial: Path, timeout: float, on_bytes: ProgressCallback | None) -> None:
    """Save what ``url`` serves into ``partial``; raise on any sign it is not the file."""
    request = urllib.request.Request(url, headers={"User-Agent": "tinynet"})
    with urllib.request.urlopen(request, timeout=timeout) as response, open(partial, "wb") as out:
        if response.headers.get_content_type() == "text/html":
            raise _MirrorFailed("served an HTML page (Content-Type: text/html), not the file")
        length = response.headers.get("Content-Length", "")
        total = int(length) if length.isdigit() else None
        done = 0
        while chunk := response.read(CHUNK):
            done += len(chunk)
            if done > MAX_FILE_BYTES:
                raise _MirrorFailed(
                    f"sent more than {MAX_FILE_BYTES} bytes, far more than any MNIST file; stopped"
                )
            out.write(chunk)
            if on_bytes is not None:
                on_bytes(url, done, total)
    # http.client returns short reads quietly when a connection drops mid-file.
    if total is not None and done != total:
        raise _MirrorFailed(
            f"wrong size: expected {total} bytes (its Content-Length), received {done}"
        )


def _check(partial: Path, sha256: str) -> None:
    """Raise unless ``partial`` is IDX whose uncompressed content has this SHA-256."""
    try:
        _, digest = read_idx_sha256(partial, name="the file received")
    except IDXFormatError as error:
        raise _MirrorFailed(str(error)) from None
    if digest != sha256:
        raise _MirrorFailed(
            f"checksum mismatch: expected the SHA-256 of the uncompressed content to be "
            f"{sha256}, found {digest}"
        )


def _reason(error: BaseException, timeout: float) -> str:
    """What went wrong with one mirror, in a few words."""
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP error {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        if isinstance(error.reason, TimeoutError):
            return f"timed out after {timeout} s"
        return f"could not connect ({error.reason})"
    if isinstance(error, TimeoutError):
        return f"timed out after {timeout} s without data"
    if isinstance(error, _MirrorFailed):
        return str(error)
    return f"{type(error).__name__}: {error}"


def _is_verified(path: Path, sha256: str) -> bool:
    try:
        return read_idx_sha256(path)[1] == sha256
    except (OSError, IDXFormatError):
        return False


def download_mnist(
    dest: str | os.PathLike,
    mirrors: Sequence[str] = MIRRORS,
    files: Mapping[str, str] = MNIST_SHA256,
    *,
    timeout: float = 30.0,
    force: bool = False,
    progress: bool | ProgressCallback = True,
) -> list[Path]:
    """Download the MNIST files into the folder ``dest``, each one verified.

    For each file, the mirrors are tried in order; a mirror is abandoned for the next on any
    failure: an HTTP error, no connection, a timeout, an HTML page, a wrong size, data that
    is not IDX, or a SHA-256 mismatch. A file is received into a temporary file in ``dest``
    and renamed to its name only once verified, so ``dest`` never holds a partial or
    unverified file. A file already in ``dest`` under its name in ``files`` and verified is
    not fetched again; a copy under another name (a plain, un-gzipped one, say) is not looked
    for, so the file is fetched beside it.

    Args:
        dest: the folder to fill (created if need be); then ``load_mnist(dest)`` reads it.
        mirrors: base URLs; a file's URL is the base followed by its name.
        files: file name -> SHA-256 (hex) of its uncompressed IDX content; MNIST's four.
        timeout: seconds a connection or a read may wait before the mirror is abandoned.
        force: fetch even the files already present and verified.
        progress: ``True`` prints progress and each mirror's failures on stderr; ``False``
            is silent; a callable is called as ``progress(url, bytes_received, total_bytes)``
            after each block (``total_bytes`` is None when the server does not say it), and
            nothing is printed.

    Returns:
        The paths of the files, in the order of ``files``.

    Raises:
        DownloadError: every mirror failed for a file; the message lists what each did. Files
            verified before that one stay in ``dest``.
        NotADirectoryError: ``dest`` is a file, or lies under one.
        TypeError: ``dest`` is not a str or a path object, ``mirrors`` is not a list of
            strings, ``files`` is not a dict, or ``force`` or ``progress`` is not what is
            documented above.
        ValueError: ``mirrors`` is empty or holds a string that is not a URL, ``files``
            holds a name that is not a plain file name or a checksum that is not 64 hex
            digits (in either case), or ``timeout`` is not a finite number > 0.
    """
    # Every argument is checked before the network is touched: a bad one would otherwise
    # surface as each mirror failing, and the message would blame the network.
    if not isinstance(dest, str | os.PathLike):
        raise TypeError(f"download_mnist: dest must be a folder (a str or a pathlib.Path), got "
                        f"{dest!r}")
    if isinstance(mirrors, str | bytes) or not isinstance(mirrors, Sequence):
        raise TypeError(
            f"download_mnist: mirrors must be a list of URLs, got a {type(mirrors).__name__}: "
            f"{mirrors!r}"
        )
    if not mirrors:
        raise ValueError("download_mnist: mirrors must name at least one URL, got none")
    for i, mirror in enumerate(mirrors):
        if not isinstance(mirror, str):
            raise TypeError(
                f"download_mnist: mirrors must be a list of URLs (str), got a "
                f"{type(mirror).__name__} at index {i}: {mirror!r} (for a folder, pass "
                "Path(folder).as_uri())"
            )
        if not urllib.parse.urlsplit(mirror).scheme:
            raise ValueError(
                f"download_mnist: mirrors[{i}] must be a URL such as 'https://host/mnist/', "
                f"got {mirror!r} (for a folder, pass Path(folder).as_uri())"
            )
    # A name with a folder in it would fail locally, and a checksum in capitals never match
    # hashlib's: each reported as every mirror failing.
    if not isinstance(files, Mapping):
        raise TypeError(f"download_mnist: files must be a dict of file names to SHA-256 "
                        f"checksums, got {files!r}")
    if not files:
        raise ValueError("download_mnist: files must name at least one file, got none")
    for name, digest in files.items():
        # A file name alone, on any system: not "sub/a.gz", "sub\\a.gz", "C:a.gz", "..", "";
        # nor one that no system takes (a NUL, or control characters) or that names nothing
        # (blank: " " after the mirror's URL is the mirror's folder).
        if not (isinstance(name, str) and name.strip() not in ("", ".", "..")
                and not set(name) & set("/\\:") and name.isprintable()):
            raise ValueError(f"download_mnist: files must be named by plain file names, "
                             f"such as 'train-images-idx3-ubyte.gz', got {name!r}")
        if not (isinstance(digest, str) and re.fullmatch(r"[0-9a-fA-F]{64}", digest)):
            raise ValueError(f"download_mnist: files[{name!r}] must be a SHA-256 checksum, "
                             f"64 hex digits, got {digest!r}")
    files = {name: digest.lower() for name, digest in files.items()}
    # urllib reads timeout=0 as "non-blocking", not as "no wait": seconds > 0.
    timeout = number_in("download_mnist: timeout", timeout, 0.0, low_inclusive=False)
    force = flag(force, "force", "download_mnist")
    # A truthy string such as "no" would otherwise print progress.
    if not isinstance(progress, bool) and not callable(progress):
        raise TypeError(
            f"download_mnist: progress must be True, False or a function, got {progress!r}"
        )
    dest = Path(dest)
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        # mkdir names neither the argument nor which part of the path is in the way.
        blocker = next((p for p in (dest, *dest.parents) if p.is_file()), dest)
        where = "a file" if blocker == dest else f"{blocker} is a file"
        raise NotADirectoryError(
            f"download_mnist: dest must be a folder (created if missing), got {dest} ({where})"
        ) from None
    # A folder or a device where a file is to go would fail at every mirror, each failure
    # blamed on the network.
    for name in files:
        kind = not_a_file(dest / name)
        if kind:
            raise ValueError(f"download_mnist: {dest / name} is {kind}, expected a file (or "
                             f"nothing) there for {name}")
    printer = _Printer()
    say = printer.say if progress is True else _quiet
    on_bytes = progress if callable(progress) else (printer.progress if progress else None)

    paths = []
    for name, sha256 in files.items():
        target = dest / name
        if not force and target.is_file() and _is_verified(target, sha256):
            say(f"{target}: already there, verified")
            paths.append(target)
            continue
        failures = []
        for mirror in mirrors:
            url = mirror if mirror.endswith("/") else mirror + "/"
            # Quoted: "a b.gz" as a%20b.gz, and a "#" or "?" in a name not read as URL syntax.
            url += urllib.parse.quote(name)

            def fetch(tmp: Path, url: str = url, sha256: str = sha256) -> None:
                _fetch(url, tmp, timeout, on_bytes)
                _check(tmp, sha256)  # raises: a file that fails it never takes target's name

            try:
                write_atomic(target, fetch)
            except (OSError, ValueError, http.client.HTTPException) as error:
                failures.append(f"{url}: {_reason(error, timeout)}")
                say(f"  {failures[-1]}")
                continue
            say(f"{target}: downloaded from {url}, verified")
            paths.append(target)
            break
        else:
            tried = "\n".join(f"  {line}" for line in failures)
            raise DownloadError(
                f"download_mnist: no mirror delivered {name}:\n{tried}\n"
                f"{target} was not written. Check the network connection (urllib honours "
                "the https_proxy variable) or pass other mirrors=[...]; load_mnist() without "
                "a path still works from the copies shipped with tinynet"
            )
    return paths
