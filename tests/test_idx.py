"""The IDX reader and writer: round trips, exact bytes, and every kind of malformed file."""

from __future__ import annotations

import gzip
import io
import struct
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from strategies import examples

from tinynet.datasets import IDXFormatError, read_idx, write_idx
from tinynet.datasets.idx import CHUNK, TYPES, read_idx_sha256

DATA = Path(__file__).resolve().parents[1] / "tinynet" / "datasets" / "data"
NATIVE_DTYPES = [dtype.newbyteorder("=") for dtype in TYPES.values()]
# deflate cannot compress better than 1032:1, so a gzip file of n bytes holds at most
# 1032 n bytes of content: the most a reader could ever need to hold for it.
DEFLATE_MAX_RATIO = 1032
# What reading costs beside the payload: a block read from the file, zlib's window and
# state, Python's own small objects. Far below what allocating from a lying header costs.
OVERHEAD = 4 * CHUNK

PROPERTY = settings(
    max_examples=examples(60), deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def idx_bytes(code: int, dims: tuple[int, ...], payload: bytes) -> bytes:
    """An IDX file assembled by hand, independent of write_idx."""
    return struct.pack(f">BBBB{len(dims)}I", 0, 0, code, len(dims), *dims) + payload


def read_bytes(data: bytes) -> np.ndarray:
    return read_idx(io.BytesIO(data))


# ----------------------------------------------------------------------------- round trip
dtypes = st.sampled_from(NATIVE_DTYPES).flatmap(
    # Either byte order in memory: the writer must turn both into big-endian on disk.
    lambda dtype: st.sampled_from([dtype, dtype.newbyteorder(">"), dtype.newbyteorder("<")])
)
shapes = hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5)


@pytest.mark.part("idx-header")
@PROPERTY
@given(
    array=dtypes.flatmap(lambda dtype: hnp.arrays(dtype, shapes)),
    compress=st.booleans(),
    via_path=st.booleans(),
)
def test_round_trip(tmp_path_factory, array, compress, via_path):
    if via_path:
        # No .gz in the name: a gzipped file must be recognised by its magic bytes.
        path = tmp_path_factory.mktemp("rt") / "array.idx"
        write_idx(path, array, compress=compress)
        assert (path.read_bytes()[:2] == b"\x1f\x8b") == compress
        back = read_idx(path)
    else:
        buffer = io.BytesIO()
        write_idx(buffer, array, compress=compress)
        buffer.seek(0)
        back = read_idx(buffer)
    assert back.dtype == array.dtype.newbyteorder("=")
    assert back.dtype.isnative
    assert back.shape == array.shape
    # Bit for bit (NaN payloads and -0.0 included), compared in one byte order.
    assert back.tobytes() == array.astype(back.dtype).tobytes()
    assert back.flags.writeable


def test_gz_suffix_compresses_by_default(tmp_path):
    array = np.arange(6, dtype=np.int32).reshape(2, 3)
    write_idx(tmp_path / "a.idx.gz", array)
    write_idx(tmp_path / "a.idx", array)
    assert (tmp_path / "a.idx.gz").read_bytes()[:2] == b"\x1f\x8b"
    assert (tmp_path / "a.idx").read_bytes()[:4] == b"\x00\x00\x0c\x02"
    plain = (tmp_path / "a.idx").read_bytes()
    assert gzip.decompress((tmp_path / "a.idx.gz").read_bytes()) == plain
    # A gzipped file read without its .gz name is still recognised (by its magic bytes).
    (tmp_path / "renamed").write_bytes((tmp_path / "a.idx.gz").read_bytes())
    np.testing.assert_array_equal(read_idx(tmp_path / "renamed"), array)


def test_gzip_output_is_reproducible():
    array = np.arange(100, dtype=np.float64)
    first, second = io.BytesIO(), io.BytesIO()
    write_idx(first, array, compress=True)
    write_idx(second, array, compress=True)
    assert first.getvalue() == second.getvalue()
    assert first.getvalue()[4:8] == b"\x00\x00\x00\x00"  # the gzip header's mtime


def test_gzip_file_written_by_path_is_reproducible(tmp_path):
    # Written through a temporary file: its name must not go into the gzip header (gzip
    # stores the name of the file object it writes to unless told another), or each write
    # of the same array would give other bytes, and another checksum.
    array = np.arange(100, dtype=np.int16).reshape(10, 10)
    write_idx(tmp_path / "a.idx.gz", array)
    first = (tmp_path / "a.idx.gz").read_bytes()
    write_idx(tmp_path / "a.idx.gz", array)
    assert (tmp_path / "a.idx.gz").read_bytes() == first
    assert first[3] == 0  # the gzip header's flags: no file name, no comment, nothing extra
    assert first[4:8] == b"\x00\x00\x00\x00"  # and no modification time


# --------------------------------------------------------------------- exact bytes on disk
def test_writer_bytes_are_big_endian_idx():
    buffer = io.BytesIO()
    write_idx(buffer, np.array([[1, 2, 3], [4, 5, -6]], dtype=np.int16))
    assert buffer.getvalue() == (
        b"\x00\x00\x0b\x02"  # magic: type 0x0B (short), 2 dimensions
        b"\x00\x00\x00\x02\x00\x00\x00\x03"  # 2 x 3
        b"\x00\x01\x00\x02\x00\x03\x00\x04\x00\x05\xff\xfa"  # C order, big-endian
    )


@pytest.mark.part("idx-header")
@pytest.mark.parametrize(
    ("code", "payload", "expected"),
    [
        (0x08, b"\x00\x7f\xff", np.array([0, 127, 255], np.uint8)),
        (0x09, b"\x00\x7f\xff", np.array([0, 127, -1], np.int8)),
        (0x0B, b"\x00\x01\x80\x00\xff\xff", np.array([1, -32768, -1], np.int16)),
        (0x0C, b"\x00\x00\x01\x00\x80\x00\x00\x00\xff\xff\xff\xfe",
         np.array([256, -(2**31), -2], np.int32)),
        (0x0D, b"\x3f\xc0\x00\x00\xc0\x00\x00\x00\x7f\x80\x00\x00",
         np.array([1.5, -2.0, np.inf], np.float32)),
        (0x0E, b"\x3f\xf8\x00\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x00\x00\x00\x00"
               b"\x00\x00\x00\x00\x00\x00\x00\x01",
         np.array([1.5, -2.0, 5e-324], np.float64)),
    ],
)
def test_reader_decodes_each_element_type(code, payload, expected):
    array = read_bytes(idx_bytes(code, (3,), payload))
    assert array.dtype == expected.dtype and array.dtype.isnative
    np.testing.assert_array_equal(array, expected)


@pytest.mark.part("idx-header")
def test_reader_keeps_shape_and_c_order():
    array = read_bytes(idx_bytes(0x08, (2, 1, 3), bytes(range(6))))
    np.testing.assert_array_equal(array, np.arange(6, dtype=np.uint8).reshape(2, 1, 3))


@pytest.mark.part("idx-header")
def test_zero_dimensions_is_a_scalar():
    assert read_bytes(idx_bytes(0x08, (), b"\x07")).shape == ()
    buffer = io.BytesIO()
    write_idx(buffer, np.float32(2.5))
    buffer.seek(0)
    assert read_idx(buffer) == np.float32(2.5)


def test_several_gzip_members_are_one_stream():
    # `cat a.gz b.gz` is a valid gzip file whose content is the two contents one after another.
    data = idx_bytes(0x08, (4,), b"\x01\x02\x03\x04")
    for cut in (2, 6):  # a member that ends inside the header, or inside the sizes
        array = read_bytes(gzip.compress(data[:cut]) + gzip.compress(data[cut:]))
        np.testing.assert_array_equal(array, [1, 2, 3, 4])


def test_zero_padding_after_a_gzip_member_is_skipped_as_gzip_skips_it():
    # A tape's blocks were filled with zeros: `gzip -d` and Python's gzip module read such a
    # file as its members alone; bytes that are not zeros are still refused.
    data = idx_bytes(0x08, (4,), b"\x01\x02\x03\x04")
    members = gzip.compress(data[:6]) + gzip.compress(data[6:])
    for padded in (members + bytes(3 * CHUNK + 5),
                   gzip.compress(data[:6]) + bytes(7) + gzip.compress(data[6:]) + bytes(1)):
        assert gzip.decompress(padded) == data
        np.testing.assert_array_equal(read_bytes(padded), [1, 2, 3, 4])
    with pytest.raises(IDXFormatError, match=r"corrupt gzip stream \(in gzip member 3\)"):
        read_bytes(members + bytes(4) + b"not gzip")


def test_sha256_is_of_the_uncompressed_bytes():
    import hashlib

    data = idx_bytes(0x08, (3,), b"abc")
    _, plain = read_idx_sha256(io.BytesIO(data))
    _, gzipped = read_idx_sha256(io.BytesIO(gzip.compress(data)))
    assert plain == gzipped == hashlib.sha256(data).hexdigest()


@pytest.mark.part("idx-header")
def test_real_labels_file_read_from_an_open_file():
    with open(DATA / "t10k-labels-idx1-ubyte.gz", "rb") as f:
        labels = read_idx(f)
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    assert labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


# ------------------------------------------------------------------------- writer errors
@pytest.mark.parametrize("dtype", [np.int64, np.uint16, np.bool_, np.complex64, np.float16])
def test_writer_rejects_dtypes_without_an_idx_type(tmp_path, dtype):
    with pytest.raises(ValueError, match=rf"dtype must be one of .*got {np.dtype(dtype)}"):
        write_idx(tmp_path / "x.idx", np.zeros(3, dtype=dtype))
    assert list(tmp_path.iterdir()) == []  # nothing written, not even a temporary file


@pytest.mark.parametrize("array, message", [
    # A list has no astype: the advice is the conversion that a list has.
    ([1, 2, 3], r"dtype must be one of .*got int64; convert it first, e\.g\. "
                r"np\.asarray\(array, dtype=np\.int32\)$"),
    ([1 + 2j, 3j], r"dtype must be one of .*got complex128; convert it first"),  # the reason
    (None, r"^write_idx: array must be an array of numbers, got None$"),
    (["1", "2"], r"^write_idx: array must be an array of numbers, got a list of 2 items$"),
    ("label", r"^write_idx: array must be an array of numbers, got a value of type str$"),
    ([[1, 2], [3]], r"^write_idx: array must be an array of numbers, got a list that is not "
                    r"one \(.+\)$"),
])
def test_writer_refuses_what_is_no_array_of_numbers_naming_it(tmp_path, array, message):
    with pytest.raises(ValueError, match=message):
        write_idx(tmp_path / "x.idx", array)
    assert list(tmp_path.iterdir()) == []


def test_writer_rejects_a_dimension_too_large_for_the_header():
    with pytest.raises(ValueError, match=r"each below 2\^32, got \(0, 4294967296\)"):
        write_idx(io.BytesIO(), np.zeros((0, 2**32), dtype=np.uint8))


@pytest.mark.parametrize("level", [0, 10, 2.5, True, "6"])
def test_writer_refuses_a_bad_compresslevel_before_writing(tmp_path, level):
    with pytest.raises(ValueError, match=r"compresslevel must be an int from 1 to 9"):
        write_idx(tmp_path / "a.idx.gz", np.zeros(3, np.uint8), compresslevel=level)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("via_path", [False, True])
def test_writer_compresses_at_the_level_asked_for(tmp_path, via_path):
    # Words drawn at random: level 1 packs them less tightly than 6, the default, and 6
    # less tightly than 9 (measured: about 3450, 2200 and 2170 bytes of deflate).
    words = np.random.default_rng(0).choice([b"zero", b"one", b"two", b"three", b"four"], 4000)
    array = np.frombuffer(b" ".join(words), np.uint8)
    sizes = []
    for level in (1, 9, np.int64(9)):  # 1 and 9 are the ends of the range; NumPy's ints too
        if via_path:
            write_idx(tmp_path / "a.idx.gz", array, compresslevel=level)
            data = (tmp_path / "a.idx.gz").read_bytes()
        else:
            buffer = io.BytesIO()
            write_idx(buffer, array, compress=True, compresslevel=level)
            data = buffer.getvalue()
        assert np.array_equal(read_bytes(data), array)
        sizes.append(len(data))
    assert sizes[0] > sizes[1] == sizes[2]


@pytest.mark.parametrize("compress", ["no", "yes", 0, 1])
def test_writer_refuses_a_compress_that_is_not_a_bool_before_writing(tmp_path, compress):
    # bool("no") is True: taken as a bool, it would gzip the file against what the caller
    # wrote.
    with pytest.raises(TypeError, match=f"^write_idx: compress must be True, False or None, "
                                        f"got {compress!r}$"):
        write_idx(tmp_path / "a.idx", np.zeros(3, np.uint8), compress=compress)
    assert list(tmp_path.iterdir()) == []


def test_writer_names_the_target_it_cannot_write(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"cannot write .*a\.idx: no folder .*missing"):
        write_idx(tmp_path / "missing" / "a.idx", np.zeros(3, np.uint8))
    with pytest.raises(TypeError, match=r"target must be a path or a binary file object, "
                                        r"got None"):
        write_idx(None, np.zeros(3, np.uint8))


def test_writer_refuses_a_folder_as_target(tmp_path):
    # Path() drops the trailing "/": "out/" would be written as a file named out.
    for target in (f"{tmp_path}/out/", tmp_path):
        with pytest.raises(ValueError, match=r"^write_idx: target must name a file, got the "
                                             r"folder .*\(to save in it: "):
            write_idx(target, np.zeros(3, np.uint8))
    with pytest.raises(ValueError, match=r"^write_idx: target must name a file, got ''$"):
        write_idx("", np.zeros(3, np.uint8))
    assert list(tmp_path.iterdir()) == []


def test_writer_gzips_a_path_ending_in_gz_in_either_case(tmp_path):
    write_idx(tmp_path / "a.GZ", np.arange(3, dtype=np.uint8))
    assert (tmp_path / "a.GZ").read_bytes()[:2] == b"\x1f\x8b"  # gzip's magic bytes
    np.testing.assert_array_equal(read_idx(tmp_path / "a.GZ"), np.arange(3))


def test_writer_leaves_no_temporary_file(tmp_path):
    write_idx(tmp_path / "x.idx.gz", np.ones((2, 2), np.float32))
    assert [p.name for p in tmp_path.iterdir()] == ["x.idx.gz"]


def test_reader_rejects_text_mode_files(tmp_path):
    write_idx(tmp_path / "x.idx", np.ones(2, np.uint8))
    with open(tmp_path / "x.idx") as f, pytest.raises(TypeError, match="binary mode"):
        read_idx(f)


def test_text_mode_files_are_refused_before_any_byte_is_decoded(tmp_path):
    # ones as float32 are 3f 80 00 00: not UTF-8, so a text file's first read fails on them
    write_idx(tmp_path / "x.idx", np.ones(2, np.float32))
    with open(tmp_path / "x.idx") as f, pytest.raises(TypeError, match=r"x\.idx: opened in "
                                                                       r"text mode"):
        read_idx(f)
    with open(tmp_path / "y.idx", "w") as f, pytest.raises(TypeError, match=r"y\.idx: opened "
                                                                            r"in text mode"):
        write_idx(f, np.ones(2, np.float32))


# ------------------------------------------------------------------- the malformed corpus
GOOD = idx_bytes(0x0B, (2, 3), bytes(range(12)))
GOOD_GZ = gzip.compress(GOOD)
DEFLATE_START = 10  # a gzip member's header is 10 bytes, then the deflate data


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


# One file per failure, and words its message must hold: what was expected, what was found.
CORPUS = {
    "empty": (b"", ["empty file (0 bytes)", "00 00 <type> <ndim>"]),
    "html page": (
        b"<!DOCTYPE html>\n<html><body>404 Not Found</body></html>",
        ["not an IDX file", "found 3c 21 44 4f", "HTML page", "failed download"],
    ),
    "xml error": (
        b'<?xml version="1.0"?><Error><Code>AccessDenied</Code></Error>',
        ["not an IDX file", "XML document"],
    ),
    "png image": (b"\x89PNG\r\n\x1a\n" + bytes(30), ["not an IDX file", "PNG image"]),
    "jpeg image": (b"\xff\xd8\xff\xe0" + bytes(30), ["not an IDX file", "JPEG image"]),
    "bmp image": (b"BM" + bytes(30), ["not an IDX file", "found 42 4d 00 00", "BMP image"]),
    "html after a bom and blank lines": (
        b"\xef\xbb\xbf\r\n\n  <HTML><body>Error</body></HTML>",
        ["not an IDX file", "HTML page"],
    ),
    "wrong magic": (
        b"\x01\x00" + GOOD[2:],
        ["expected the magic bytes 00 00", "found 01 00 0b 02"],
    ),
    # It begins as IDX does: cut short, not "not an IDX file".
    "cut inside magic": (b"\x00\x00\x08", ["header cut short", "expected the 4 bytes",
                                          "found only 00 00 08"]),
    "cut after one byte": (b"\x00", ["header cut short", "found only 00"]),
    "two bytes, not as IDX begins": (b"\x00\x01", ["not an IDX file", "found 00 01"]),
    "second magic byte not 0": (
        b"\x00\x01" + GOOD[2:],
        ["expected the magic bytes 00 00", "found 00 01 0b 02"],
    ),
    "unknown type code": (
        idx_bytes(0x0A, (3,), b"abc"),
        ["unknown IDX element type code", "0x08 (unsigned byte)", "found 0x0A"],
    ),
    "dimension list cut short": (
        GOOD[:9],
        ["dimension list cut short", "2 dimensions", "expected 8 bytes", "found 5",
         "(the file holds 9 bytes in all)"],
    ),
    "dimension list one byte short": (
        GOOD[:11],
        ["dimension list cut short", "expected 8 bytes", "found 7"],
    ),
    "payload shorter": (
        GOOD[:-1],
        ["payload shorter", "shape (2, 3) of short", "needs 12 bytes", "found 11"],
    ),
    "payload longer": (GOOD + b"\x00", ["payload longer", "needs 12 bytes", "at least 25"]),
    "lying header": (
        idx_bytes(0x08, (2**32 - 1,) * 3, b"abc"),
        ["payload shorter", "(4294967295, 4294967295, 4294967295)",
         "of unsigned byte (1 byte each)", "found 3"],
    ),
    # zlib's max_length is a C ssize_t: a piece asked for as all 2^96 promised bytes would
    # be an OverflowError, not this message.
    "gzipped lying header": (
        gzip.compress(idx_bytes(0x08, (2**32 - 1,) * 3, b"abc")),
        ["payload shorter", "found 3"],
    ),
    "shape numpy cannot hold": (
        idx_bytes(0x08, (1,) * 65, b"a"),
        ["expected a shape NumPy can hold", "64"],
    ),
    "corrupt gzip": (
        _flip(GOOD_GZ, DEFLATE_START + 2),
        ["corrupt gzip stream", "zlib says"],
    ),
    "bad gzip checksum": (
        _flip(GOOD_GZ, len(GOOD_GZ) - 6),  # a byte of the CRC-32 in the trailer
        ["corrupt gzip stream", "incorrect data check"],
    ),
    "truncated gzip": (GOOD_GZ[:-5], ["truncated gzip stream", "found the end of the file"]),
    "gzip cut in its header": (GOOD_GZ[:4], ["truncated gzip stream"]),
    # (Zero bytes after it are padding, and skipped.)
    "garbage after gzip": (GOOD_GZ + b"\x01\x02", ["corrupt gzip stream", "member 2"]),
    "empty gzip stream": (gzip.compress(b""), ["empty gzip stream"]),
    "gzipped html": (gzip.compress(b"<html><body>Error</body></html>"), ["HTML page"]),
    "gzip longer than header": (
        gzip.compress(GOOD + b"\x00" * 1000),
        ["payload longer", "the gzip stream inflates to at least 25 bytes"],
    ),
    "gzip shorter than header": (gzip.compress(GOOD[:-2]), ["payload shorter", "found 10"]),
}


@pytest.mark.part("idx-header")
@pytest.mark.parametrize("case", list(CORPUS))
def test_malformed_file_raises_a_clear_idx_format_error(tmp_path, case):
    data, words = CORPUS[case]
    path = tmp_path / "damaged.idx"
    path.write_bytes(data)
    with pytest.raises(IDXFormatError) as info:
        read_idx(path)
    message = str(info.value)
    assert message.startswith(str(path))  # it names the file
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    assert isinstance(info.value, ValueError)


def test_file_objects_are_named_in_messages():
    with pytest.raises(IDXFormatError, match=r"^<BytesIO>: .*empty file"):
        read_idx(io.BytesIO(b""))


def test_a_file_whose_name_is_a_path_object_is_named_by_it(tmp_path):
    # io.FileIO(Path) keeps the Path itself as the file's name (open() makes it a str).
    path = tmp_path / "empty.idx"
    path.write_bytes(b"")
    with io.FileIO(path) as f, pytest.raises(IDXFormatError) as info:
        read_idx(f)
    assert str(info.value).startswith(f"{path}: ")


def test_the_name_given_for_a_file_object_is_used_in_messages():
    with pytest.raises(IDXFormatError, match=r"^the upload: .*empty file"):
        read_idx_sha256(io.BytesIO(b""), name="the upload")


@pytest.mark.parametrize("source", [3, b"\x00\x00\x08\x01\x00\x00\x00\x00", None])
def test_a_source_that_is_neither_a_path_nor_a_file_is_a_type_error(source):
    with pytest.raises(TypeError, match="source must be a path or a binary file object"):
        read_idx(source)


class _Reader:
    """A file object of no io class: ``data`` in reads of the sizes asked for, then
    ``then`` (b'' is the end of a file)."""

    def __init__(self, data: bytes | str, then: bytes | None = b"") -> None:
        self._data, self._then = data, then

    def read(self, n: int) -> bytes | str | None:
        if not self._data:
            return self._then
        piece, self._data = self._data[:n], self._data[n:]
        return piece


def test_a_file_object_that_reads_str_is_refused_as_text_mode():
    with pytest.raises(TypeError, match=r"^<_Reader>: opened in text mode"):
        read_idx(_Reader("\x00\x00\x08\x00"))


def test_a_file_object_whose_read_returns_none_has_ended():
    # None is what a non-blocking stream returns with no data ready: read_idx does not wait.
    data = b"\x00\x00\x08\x01\x00\x00\x00\x02\x07"
    with pytest.raises(IDXFormatError, match=r"^<_Reader>: .*payload shorter.*found 1"):
        read_idx(_Reader(data, then=None))


def test_one_corrupt_gzip_member_is_not_numbered():
    # "(in gzip member 1)" would suggest a file of several members.
    with pytest.raises(IDXFormatError, match="corrupt gzip stream") as info:
        read_bytes(CORPUS["corrupt gzip"][0])
    assert "member" not in str(info.value)


# What the first bytes of a file that is not IDX make it look like: only what they show.
@pytest.mark.parametrize(("data", "hint"), [
    (b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(20), "; it looks like a WebP image, not IDX "
                                                 "(that is what a failed download leaves "
                                                 "behind)"),
    (b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(20), None),  # RIFF holds sound too
    # Text: the hint of a failed download is kept for the pages and images that one leaves.
    (b"Access denied\r\n", "; it looks like text, not IDX"),
    (b"Access denied\x7f", None),  # DEL is a control character, not text
    (bytes(range(1, 40)), None),  # nothing it looks like: no hint at all
])
def test_a_non_idx_file_is_said_to_look_like_what_it_shows(data, hint):
    with pytest.raises(IDXFormatError, match="not an IDX file") as info:
        read_bytes(data)
    message = str(info.value)
    if hint is None:
        assert "looks like" not in message
    else:
        assert message.endswith(hint)


def test_gzip_bomb_is_stopped_early():
    # A header promising 12 bytes, then 50 MB of zeros that deflate packs into about 50 kB.
    deflater = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    bomb = deflater.compress(GOOD) + deflater.compress(bytes(50 * 2**20)) + deflater.flush()
    assert len(bomb) < 100_000
    tracemalloc.start()
    try:
        with pytest.raises(IDXFormatError, match="payload longer"):
            read_bytes(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < len(bomb) + OVERHEAD  # stopped after one piece, not after 50 MB


@pytest.mark.part("idx-header")
def test_lying_header_allocates_nothing_from_its_sizes():
    data = idx_bytes(0x0E, (2**20, 2**20), bytes(64))  # promises 8 TiB
    for source in (data, gzip.compress(data)):
        tracemalloc.start()
        try:
            with pytest.raises(IDXFormatError, match="payload shorter"):
                read_bytes(source)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < OVERHEAD


# ------------------------------------------------------ mutated headers and truncations
BASES = {
    "plain": idx_bytes(0x0B, (3, 4), bytes(range(24))),
    "gzip": gzip.compress(idx_bytes(0x0B, (3, 4), bytes(range(24)))),
}


def _possible_size(data: bytes) -> int:
    """The most content a file of these bytes could hold."""
    return len(data) * (DEFLATE_MAX_RATIO if data[:2] == b"\x1f\x8b" else 1)


def _read_within_bounds(data: bytes) -> None:
    """Read ``data``: only IDXFormatError may come out, and memory stays within its size."""
    tracemalloc.start()
    try:
        try:
            array = read_bytes(data)
        except IDXFormatError:
            array = None
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= _possible_size(data) + OVERHEAD
    if array is not None:
        assert array.nbytes <= _possible_size(data)


@pytest.mark.part("idx-header")
@settings(max_examples=examples(150), deadline=None)
@given(
    base=st.sampled_from(["plain", "gzip"]),
    edits=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 255)), min_size=1, max_size=4),
    compress_after=st.booleans(),
)
# A header whose first size claims ~100 MB: reading must not allocate from it.
@example(base="plain", edits=[(4, 0x06), (5, 0x00)], compress_after=False)
@example(base="plain", edits=[(4, 0x06), (5, 0x00)], compress_after=True)
@example(base="plain", edits=[(3, 0xFF)], compress_after=False)
def test_mutated_headers_only_raise_idx_format_error(base, edits, compress_after):
    data = bytearray(BASES[base])
    for at, value in edits:
        if at < len(data):
            data[at] = value
    # Mutating the plain bytes then gzipping them reaches the IDX header behind a valid
    # gzip stream; mutating the gzip bytes reaches zlib's checks.
    _read_within_bounds(gzip.compress(bytes(data)) if compress_after else bytes(data))


@pytest.mark.part("idx-header")
@settings(max_examples=examples(80), deadline=None)
@given(base=st.sampled_from(["plain", "gzip"]), data=st.data())
def test_truncations_and_appendages_only_raise_idx_format_error(base, data):
    original = BASES[base]
    cut = data.draw(st.integers(0, len(original)), label="cut")
    tail = data.draw(st.binary(max_size=8), label="tail")
    mangled = original[:cut] + tail
    # A plain file of another length contradicts its header, unless the cut went into the
    # 12-byte header and the tail made a new, valid one (00 00 0B 00 00 00 is the scalar 0,
    # an int16; dimensions (3, 0) need no data); a gzip file of another length is cut short
    # or has bytes after its end.
    header_kept = base == "gzip" or cut >= 12
    if len(mangled) != len(original) and header_kept:
        with pytest.raises(IDXFormatError):
            read_bytes(mangled)
    _read_within_bounds(mangled)


@pytest.mark.parametrize("compress", [np.True_, np.False_])
def test_write_idx_takes_numpy_bools_for_compress(tmp_path, compress):
    # np.True_ is what a comparison of arrays gives; it is a bool as much as True is.
    data = np.arange(6, dtype=np.uint8).reshape(2, 3)
    path = tmp_path / "a.idx"
    write_idx(path, data, compress=compress)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == bool(compress)  # gzip's magic number
    assert np.array_equal(read_idx(path), data)
