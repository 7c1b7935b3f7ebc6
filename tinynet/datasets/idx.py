"""The IDX file format: n-dimensional arrays, plain or gzipped. Described in docs/data.md.

Layout, every number big-endian::

    offset  size     meaning
    0       2        0x00 0x00
    2       1        element type code (see TYPES)
    3       1        number of dimensions, ndim
    4       4*ndim   the size of each dimension, an unsigned 32-bit integer
    4+4*ndim         the elements, in C order (last index fastest)

The reader trusts nothing it has not checked. A header is only a promise: it can claim
2^32 x 2^32 x 2^32 elements in a 20-byte file, and a 10 kB gzip stream can inflate to 10 MB.
So the payload is read (or inflated) in bounded pieces, never more than the header promises
plus one byte, and never allocated from the header's numbers: memory grows with the bytes
that are really there, so it is bounded by what the file could hold.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import os
import struct
import zlib
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np

from tinynet.atomic import write_atomic
from tinynet.checks import as_array, described, is_int_at_least, not_a_folder

#: IDX element type code -> the big-endian dtype it stores.
TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),  # unsigned byte
    0x09: np.dtype(">i1"),  # signed byte
    0x0B: np.dtype(">i2"),  # short
    0x0C: np.dtype(">i4"),  # int
    0x0D: np.dtype(">f4"),  # float
    0x0E: np.dtype(">f8"),  # double
}
TYPE_NAMES = {
    0x08: "unsigned byte",
    0x09: "signed byte",
    0x0B: "short",
    0x0C: "int",
    0x0D: "float",
    0x0E: "double",
}
# The same table read the other way, keyed by the native dtype: what write_idx accepts.
_CODES = {dtype.newbyteorder("="): code for code, dtype in TYPES.items()}

GZIP_MAGIC = b"\x1f\x8b"
# Bytes read from a file, or inflated from a gzip stream, in one step. Big enough that the
# Python overhead per step is nothing next to the copying, small enough to be a bounded cost.
CHUNK = 1 << 18
# wbits for zlib: 16 + the largest window means "a gzip member: header, deflate data, and a
# trailer whose CRC-32 and length zlib checks".
_GZIP_WBITS = 16 + zlib.MAX_WBITS

# What a file that is not IDX at all most often is: what a failed download leaves behind.
_SIGNATURES = [
    (b"<!doctype html", "an HTML page"),
    (b"<html", "an HTML page"),
    (b"<head", "an HTML page"),
    (b"<?xml", "an XML document (a server's error message?)"),
    (b"<", "an HTML or XML page"),
    (b"{", "a JSON document (a server's error message?)"),
    (b"\x89png\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"gif8", "a GIF image"),
    (b"pk\x03\x04", "a zip archive"),
    (b"bzh", "a bzip2 archive"),
    (b"\xfd7zxz", "an xz archive"),
]


class IDXFormatError(ValueError):
    """A file is not valid IDX: the message names the file, what was expected and what was
    found."""


class _Stream(Protocol):
    def read(self, n: int) -> bytes: ...


#: A binary file object, as read_idx reads and write_idx writes it: open(path, "rb"),
#: io.BytesIO, gzip.open(path) and the like (IO[bytes] alone leaves out gzip's files).
BinaryFile = IO[bytes] | io.BufferedIOBase


def _looks_like(head: bytes) -> str:
    """A phrase saying what ``head``, the first bytes of a non-IDX file, looks like, or ''."""
    start = head.lstrip(b" \t\r\n\xef\xbb\xbf").lower()  # a UTF-8 BOM or blank lines first
    for signature, what in _SIGNATURES:
        if start.startswith(signature):
            return what
    if head.startswith(b"BM"):
        return "a BMP image"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "a WebP image"
    if head and all(32 <= b < 127 or b in b"\t\r\n" for b in head):
        return "text"
    return ""


def _hex(data: bytes) -> str:
    return " ".join(f"{b:02x}" for b in data) if data else "nothing"


def _read_some(f: BinaryFile, n: int, name: str) -> bytes:
    """Up to ``min(n, CHUNK)`` bytes of ``f``; b'' only at the end of the file."""
    data = f.read(min(n, CHUNK))
    if isinstance(data, str):
        raise TypeError(f"{name}: opened in text mode; open it in binary mode ('rb')")
    return bytes(data) if data is not None else b""


class _PlainStream:
    """The bytes of an uncompressed file, after the ``head`` already read from it."""

    def __init__(self, f: BinaryFile, head: bytes, name: str) -> None:
        self._f, self._head, self._name = f, head, name

    def read(self, n: int) -> bytes:
        """Up to ``n`` bytes (fewer is not the end); b'' only at the end of the file."""
        if self._head:
            piece, self._head = self._head[:n], self._head[n:]
            return piece
        return _read_some(self._f, n, self._name)


class _GzipStream:
    """The inflated bytes of a gzip file, inflated piece by piece and never more than asked.

    ``zlib.decompressobj().decompress(data, max_length)`` returns at most ``max_length`` bytes
    and keeps the input it did not get to in ``unconsumed_tail``: that bound is what stops a
    gzip bomb. Several gzip members one after another (``cat a.gz b.gz``) are one stream, as
    for ``gzip`` itself, and zero bytes after a member are skipped.
    """

    def __init__(self, f: BinaryFile, head: bytes, name: str) -> None:
        self._f, self._name = f, name
        self._pending = head  # compressed bytes read from the file but not yet inflated
        self._inflater = zlib.decompressobj(_GZIP_WBITS)
        self._members = 1
        self._file_ended = False

    def _refill(self) -> None:
        if not self._pending and not self._file_ended:
            self._pending = _read_some(self._f, CHUNK, self._name)
            self._file_ended = not self._pending

    def _skip_zero_padding(self) -> None:
        # Zero bytes after a member are padding (a tape's blocks were filled with them),
        # skipped as the gzip program and Python's gzip module skip them.
        while True:
            self._refill()
            self._pending = self._pending.lstrip(b"\x00")
            if self._pending or self._file_ended:
                return

    def read(self, n: int) -> bytes:
        """Up to ``n`` inflated bytes (fewer is not the end); b'' only at the stream's end."""
        while True:
            if self._inflater.eof:
                self._skip_zero_padding()
                if not self._pending:
                    return b""  # the last member ended at the end of the file (or padding)
                self._inflater = zlib.decompressobj(_GZIP_WBITS)
                self._members += 1
            self._refill()
            # At the end of the file _pending is b'', and that call still matters: zlib may
            # hold inflated bytes it had no room for in the previous call.
            try:
                piece = self._inflater.decompress(self._pending, min(n, CHUNK))
            except zlib.error as error:
                where = "" if self._members == 1 else f" (in gzip member {self._members})"
                raise IDXFormatError(
                    f"{self._name}: corrupt gzip stream{where}: zlib says {error}; expected a "
                    "valid gzip stream (the file is damaged, or has data after its gzip end)"
                ) from None
            if self._inflater.eof:
                self._pending = self._inflater.unused_data
            else:
                self._pending = self._inflater.unconsumed_tail
            if piece:
                return piece
            if self._file_ended and not self._pending and not self._inflater.eof:
                raise IDXFormatError(
                    f"{self._name}: truncated gzip stream: expected more compressed data "
                    "before the end of the gzip stream, found the end of the file "
                    "(an interrupted download or copy?)"
                )


def _read_exact(stream: _Stream, n: int) -> bytes:
    """``n`` bytes of ``stream``, or fewer only if it ends first."""
    pieces, got = [], 0
    while got < n:
        piece = stream.read(n - got)
        if not piece:
            break
        pieces.append(piece)
        got += len(piece)
    return b"".join(pieces)


def _describe_shape(dims: tuple[int, ...], code: int) -> str:
    size = TYPES[code].itemsize
    return f"shape {dims} of {TYPE_NAMES[code]} ({size} byte{'s' if size > 1 else ''} each)"


def _read(f: BinaryFile, name: str, hasher: Any | None) -> np.ndarray:
    """Parse one IDX file from the binary file ``f``; feed its uncompressed bytes to hasher."""
    first = _read_exact(_PlainStream(f, b"", name), 2)
    if first == GZIP_MAGIC:
        stream: _Stream = _GzipStream(f, first, name)
        where = "the gzip stream inflates to"
    else:
        stream = _PlainStream(f, first, name)
        where = "the file holds"

    magic = _read_exact(stream, 4)
    if not magic:
        what = "an empty file (0 bytes)" if first != GZIP_MAGIC else "an empty gzip stream"
        raise IDXFormatError(
            f"{name}: expected an IDX file, which starts with the 4 bytes "
            f"00 00 <type> <ndim>, found {what}"
        )
    if len(magic) < 4 and b"\x00\x00".startswith(magic[:2]):
        # 1 to 3 bytes that begin as IDX does (00 00 <type>): a header cut short.
        raise IDXFormatError(
            f"{name}: header cut short: expected the 4 bytes 00 00 <type> <ndim>, found only "
            f"{_hex(magic)}"
        )
    if len(magic) < 4 or magic[:2] != b"\x00\x00":
        head = magic + _read_exact(stream, 60)
        looks = _looks_like(head)
        hint = ""
        if looks:
            hint = f"; it looks like {looks}, not IDX"
            if looks != "text":
                hint += " (that is what a failed download leaves behind)"
        raise IDXFormatError(
            f"{name}: not an IDX file: expected the magic bytes 00 00 <type> <ndim>, "
            f"found {_hex(magic)}{hint}"
        )
    # BEGIN SOLUTION idx-header
    # HINT: code, ndim = bytes 2 and 3 of magic: the element type code, the number of dimensions
    code, ndim = magic[2], magic[3]
    # END SOLUTION
    if code not in TYPES:
        known = ", ".join(f"0x{c:02X} ({TYPE_NAMES[c]})" for c in TYPES)
        raise IDXFormatError(
            f"{name}: unknown IDX element type code: expected one of {known}, "
            f"found 0x{code:02X} (byte 2 of the header)"
        )
    raw_dims = _read_exact(stream, 4 * ndim)
    if len(raw_dims) < 4 * ndim:
        raise IDXFormatError(
            f"{name}: dimension list cut short: the header says {ndim} dimensions, "
            f"expected {4 * ndim} bytes of sizes after the 4-byte magic, found "
            f"{len(raw_dims)} ({where} {4 + len(raw_dims)} bytes in all)"
        )
    # BEGIN SOLUTION idx-header
    # HINT: dims = the ndim sizes in raw_dims, a tuple of big-endian unsigned 32-bit ints
    dims = struct.unpack(f">{ndim}I", raw_dims)
    # END SOLUTION
    dtype = TYPES[code]
    # A Python int, so 2^32 x 2^32 x 2^32 is just a big number: nothing is allocated from it.
    nbytes = math.prod(dims) * dtype.itemsize

    payload = bytearray()  # grows with the bytes really read, never from nbytes
    while len(payload) < nbytes:
        piece = stream.read(nbytes - len(payload))
        if not piece:
            break
        payload += piece
    if len(payload) < nbytes:
        raise IDXFormatError(
            f"{name}: payload shorter than the header says: {_describe_shape(dims, code)} "
            f"needs {nbytes} bytes after the {4 + 4 * ndim}-byte header, found "
            f"{len(payload)} (a truncated file, or a header with wrong sizes)"
        )
    if stream.read(1):
        raise IDXFormatError(
            f"{name}: payload longer than the header says: {_describe_shape(dims, code)} "
            f"needs {nbytes} bytes after the {4 + 4 * ndim}-byte header, found more "
            f"({where} at least {4 + 4 * ndim + nbytes + 1} bytes); stopped reading there"
        )

    if hasher is not None:
        hasher.update(magic)
        hasher.update(raw_dims)
        hasher.update(payload)
    array = np.frombuffer(payload, dtype=dtype)  # a view: payload is not copied
    if not dtype.isnative:
        # Swap the bytes where they are, then read them as native numbers: no second copy.
        array.byteswap(inplace=True)
        array = array.view(dtype.newbyteorder("="))
    try:
        return array.reshape(dims)
    except ValueError as error:  # NumPy's limits: at most 64 dimensions, sizes below 2^63
        raise IDXFormatError(
            f"{name}: expected a shape NumPy can hold, found {_describe_shape(dims, code)} "
            f"({error})"
        ) from None


def _source_name(source: Any) -> str:
    name = getattr(source, "name", None)  # what open() was given, for a real file
    if isinstance(name, str | os.PathLike):
        return os.fspath(name)
    return f"<{type(source).__name__}>"


def read_idx_sha256(
    source: str | os.PathLike | BinaryFile, name: str | None = None
) -> tuple[np.ndarray, str]:
    """Like :func:`read_idx`, and also the SHA-256 (hex) of the uncompressed IDX bytes.

    Hashing while reading costs one pass over bytes already in memory, not a second read.
    ``name`` is what error messages call the source (by default its path or file name).
    """
    hasher = hashlib.sha256()
    return _open_and_read(source, hasher, name), hasher.hexdigest()


def read_idx(source: str | os.PathLike | BinaryFile) -> np.ndarray:
    """Read an IDX file into an array.

    Args:
        source: a path, or a binary file object open for reading (read to its end). Gzipped
            files are recognised by their first two bytes (1f 8b), whatever their name.

    Returns:
        An array of the shape the header gives (any number of dimensions, ``d1 x ... x dn``)
        and the native-endian dtype of its element type: uint8, int8, int16, int32, float32
        or float64. It is writable and shares its memory with nothing else.

    Raises:
        IDXFormatError: the file is not valid IDX; the message names the file, what was
            expected and what was found. Nothing is allocated from the header's sizes, so a
            lying header or a gzip bomb costs at most what the file really holds.
        FileNotFoundError: no file at ``source``.
        TypeError: ``source`` is neither a path nor a file object, or is open in text mode.
    """
    return _open_and_read(source, None)


def _open_and_read(
    source: str | os.PathLike | BinaryFile, hasher: Any | None, name: str | None = None
) -> np.ndarray:
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as f:
            return _read(f, name or os.fspath(source), hasher)
    if not hasattr(source, "read"):
        raise TypeError(
            f"read_idx: source must be a path or a binary file object, got {type(source).__name__}"
        )
    if isinstance(source, io.TextIOBase):  # its first read would decode bytes as UTF-8
        raise TypeError(f"read_idx: {_source_name(source)}: opened in text mode; open it in "
                        "binary mode ('rb')")
    return _read(source, name or _source_name(source), hasher)


def write_idx(
    target: str | os.PathLike | BinaryFile,
    array: np.ndarray,
    compress: bool | None = None,
    compresslevel: int = 6,
) -> None:
    """Write an array as an IDX file, gzipped if asked.

    Args:
        target: a path, or a binary file object open for writing. A path is written through a
            temporary file in the same folder and renamed into place, so it never holds half
            a file.
        array: any shape with at most 255 dimensions, each below 2^32, and dtype uint8, int8,
            int16, int32, float32 or float64 (either byte order: IDX stores big-endian).
        compress: gzip the file; by default, when ``target`` is a path ending in ``.gz``
            (or ``.GZ``).
        compresslevel: gzip's level, 1 (fast) to 9 (small).

    Raises:
        ValueError: the dtype has no IDX element type, the shape does not fit a header,
            ``compresslevel`` is not an int from 1 to 9, or a ``target`` path names a folder.
        TypeError: ``target`` is neither a path nor a file object with ``write``, or is a
            file open in text mode, or ``compress`` is not True, False or None.
        FileNotFoundError: the folder of a ``target`` path does not exist.
    """
    if not isinstance(target, str | os.PathLike) and not hasattr(target, "write"):
        raise TypeError(f"write_idx: target must be a path or a binary file object, got "
                        f"{target!r}")
    if isinstance(target, io.TextIOBase):
        raise TypeError(f"write_idx: {_source_name(target)}: opened in text mode; open it in "
                        "binary mode ('wb')")
    # A truthy string such as "no" would otherwise gzip the file.
    # NumPy's bool counts (np.True_, as a comparison of arrays gives it).
    if compress is not None and not isinstance(compress, bool | np.bool_):
        raise TypeError(f"write_idx: compress must be True, False or None, got {compress!r}")
    if not is_int_at_least(compresslevel, 1) or compresslevel > 9:
        raise ValueError(f"write_idx: compresslevel must be an int from 1 to 9, got "
                         f"{compresslevel!r}")
    given = array
    array = as_array(array, "array", "write_idx", "an array of numbers")
    if not isinstance(given, np.ndarray) and array.dtype.kind not in "biufc":
        # None, a str, a list of them: no numbers to convert (complex ones are named below)
        raise ValueError(f"write_idx: array must be an array of numbers, got {described(given)}")
    native = array.dtype.newbyteorder("=")
    if native not in _CODES:
        allowed = ", ".join(str(d) for d in _CODES)
        fix = ("array.astype(np.int32)" if isinstance(given, np.ndarray)
               else "np.asarray(array, dtype=np.int32)")  # a list has no astype
        raise ValueError(
            f"write_idx: array dtype must be one of {allowed} (the IDX element types), got "
            f"{array.dtype}; convert it first, e.g. {fix}"
        )
    if array.ndim > 255 or any(d >= 2**32 for d in array.shape):
        raise ValueError(
            "write_idx: array shape must have at most 255 dimensions, each below 2^32, "
            f"got {array.shape}"
        )
    header = struct.pack(f">BBBB{array.ndim}I", 0, 0, _CODES[native], array.ndim, *array.shape)
    big = np.ascontiguousarray(array, dtype=native.newbyteorder(">"))
    payload = big.reshape(-1).view(np.uint8).data  # the bytes, C order, without copying

    if isinstance(target, str | os.PathLike):
        # "out/" would be written as a file named out: Path() drops the trailing "/".
        not_a_folder("write_idx: target", os.fsdecode(target), "train-images-idx3-ubyte.gz")
        path = Path(target)
        if compress is None:
            compress = path.suffix.lower() == ".gz"

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as f:
                _write(f, header, payload, compress, compresslevel)

        write_atomic(path, write)  # a missing folder: FileNotFoundError naming path
    else:
        _write(target, header, payload, bool(compress), compresslevel)


def _write(
    f: BinaryFile, header: bytes, payload: memoryview, compress: bool, compresslevel: int
) -> None:
    if compress:
        # mtime=0 and no file name in the gzip header (like gzip -n): the same array always
        # gives the same bytes, so checksums of .gz files are reproducible.
        with gzip.GzipFile(
            filename="", mode="wb", fileobj=f, compresslevel=compresslevel, mtime=0
        ) as gz:
            gz.write(header)
            gz.write(payload)
    else:
        f.write(header)
        f.write(payload)
