"""download_mnist against mirrors served by a local HTTP server on 127.0.0.1: never the
internet. Small IDX files stand in for MNIST's, through the ``files`` checksum table."""

from __future__ import annotations

import gzip
import hashlib
import http.client
import http.server
import io
import os
import re
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from tinynet.datasets import MIRRORS, DownloadError, download_mnist, read_idx, write_idx
from tinynet.datasets import download as download_module

TIMEOUT = 0.5  # seconds download_mnist waits on the slow mirror
SERVER_LIFETIME = 60.0  # the server stops itself after this, whatever the tests do


def _idx_gz(array: np.ndarray) -> tuple[bytes, bytes]:
    """(gzipped IDX bytes, the uncompressed IDX bytes) of ``array``."""
    buffer = io.BytesIO()
    write_idx(buffer, array)
    plain = buffer.getvalue()
    return gzip.compress(plain, mtime=0), plain


RNG = np.random.default_rng(7)
IMAGES = RNG.integers(0, 256, (20, 28, 28), dtype=np.uint8)
LABELS = RNG.integers(0, 10, 20, dtype=np.uint8)
SERVED = {"images-idx3-ubyte.gz": _idx_gz(IMAGES), "labels-idx1-ubyte.gz": _idx_gz(LABELS)}
# The checksum table download_mnist checks against: of the uncompressed content.
FILES = {name: hashlib.sha256(plain).hexdigest() for name, (_, plain) in SERVED.items()}
ARRAYS = {"images-idx3-ubyte.gz": IMAGES, "labels-idx1-ubyte.gz": LABELS}
HTML = b"<!DOCTYPE html><html><body><h1>Sign in to the Wi-Fi</h1></body></html>"


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


class Mirrors(http.server.BaseHTTPRequestHandler):
    """Each first path segment is a mirror with its own way of failing (or not)."""

    requests: list[str]  # set per server: every path asked for

    def do_GET(self) -> None:  # the name http.server calls for a GET request
        self.requests.append(self.path)
        kind, _, name = self.path.strip("/").partition("/")
        if kind == "missing" or name not in SERVED:
            return self._send(404, b"<html>404 Not Found</html>", "text/html")
        gz, plain = SERVED[name]
        if kind == "good":
            self._send(200, gz, "application/octet-stream")
        elif kind == "plain":  # uncompressed content: still the same SHA-256
            self._send(200, plain, "application/octet-stream")
        elif kind == "html":  # a captive portal, honest about its type
            self._send(200, HTML, "text/html")
        elif kind == "html-as-binary":  # ... or not
            self._send(200, HTML, "application/octet-stream")
        elif kind == "corrupt":  # a bit flipped in transit: gzip's CRC-32 catches it
            self._send(200, _flip(gz, len(gz) // 2), "application/octet-stream")
        elif kind == "other":  # a valid IDX file, but not the one asked for
            other, _ = _idx_gz(np.zeros(3, np.uint8))
            self._send(200, other, "application/octet-stream")
        elif kind == "no-length":  # sent as it is made, its size not known ahead
            self._send(200, gz, "application/octet-stream", length="")
        elif kind == "short":  # the connection drops halfway
            self._send(200, gz[: len(gz) // 2], "application/octet-stream", length=len(gz))
        elif kind == "slow":  # answers only after the client has given up
            time.sleep(2 * TIMEOUT)
            self._send(200, gz, "application/octet-stream")
        else:
            self._send(500, b"Internal Server Error", "text/plain")

    def _send(self, status: int, body: bytes, content_type: str,
              length: int | str | None = None):
        """Send ``body``, said to be ``length`` bytes long (its length by default; "" for no
        Content-Length at all: the client then reads until the server closes)."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if length != "":
            self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass  # the client gave up first (the slow mirror)

    def log_message(self, *args) -> None:
        pass  # keep the test output clean


@pytest.fixture
def server():
    """Base URL of a local server; it serves until the test ends or SERVER_LIFETIME."""
    handler = type("Handler", (Mirrors,), {"requests": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    httpd.timeout = 0.05  # handle_request returns this often to look at the stop flag
    stop = threading.Event()
    deadline = time.monotonic() + SERVER_LIFETIME

    def serve() -> None:
        while not stop.is_set() and time.monotonic() < deadline:
            httpd.handle_request()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield base, handler.requests
    finally:
        stop.set()
        thread.join(timeout=5)
        httpd.server_close()


@pytest.fixture
def dead_mirror():
    """A URL on 127.0.0.1 where nothing listens: connections are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def _download(dest, mirrors, **kwargs):
    kwargs.setdefault("progress", False)
    return download_mnist(dest, mirrors=mirrors, files=FILES, timeout=TIMEOUT, **kwargs)


def _folder_mirror(folder: Path) -> str:
    """The URL of ``folder``, made to hold the served files: a mirror without a server."""
    folder.mkdir()
    for name, (gz, _) in SERVED.items():
        (folder / name).write_bytes(gz)
    return folder.as_uri()


def _assert_downloaded(dest, paths):
    assert [p.name for p in paths] == list(FILES)
    assert sorted(p.name for p in dest.iterdir()) == sorted(FILES)  # and no temporary file
    for name, array in ARRAYS.items():
        np.testing.assert_array_equal(read_idx(dest / name), array)


def _failing_urlopen(monkeypatch, error: Exception) -> list[str]:
    """Make urlopen raise ``error`` in this process, so that no connection is ever made;
    return the list of the URLs it is asked for, filled as the test runs."""
    tried = []

    def urlopen(request, timeout):
        tried.append(request.full_url)
        raise error

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    return tried


def test_a_good_mirror(server, tmp_path):
    base, requests = server
    calls = []
    paths = _download(
        tmp_path / "new" / "folder", [f"{base}/good"], progress=lambda *a: calls.append(a)
    )
    _assert_downloaded(tmp_path / "new" / "folder", paths)
    assert requests == [f"/good/{name}" for name in FILES]
    # The progress callback saw each file through to its full size.
    for name, (gz, _) in SERVED.items():
        seen = [(done, total) for url, done, total in calls if url == f"{base}/good/{name}"]
        assert seen[-1] == (len(gz), len(gz))
        assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_a_mirror_that_sends_no_size_ahead(server, tmp_path):
    # No Content-Length: the file is read to its end, checked by its checksum alone, and the
    # progress callback told that the total is unknown.
    base, _ = server
    calls = []
    paths = _download(tmp_path, [f"{base}/no-length"], progress=lambda *a: calls.append(a))
    _assert_downloaded(tmp_path, paths)
    assert calls and all(total is None for _, _, total in calls)


def test_a_dead_mirror_then_a_good_one(server, dead_mirror, tmp_path, capsys):
    base, _ = server
    paths = _download(tmp_path, [dead_mirror, f"{base}/good/"], progress=True)
    _assert_downloaded(tmp_path, paths)
    printed = capsys.readouterr().err
    assert f"{dead_mirror}images-idx3-ubyte.gz: could not connect" in printed
    assert "verified" in printed


@pytest.mark.parametrize("kind", ["html", "html-as-binary", "corrupt", "other", "short"])
def test_a_bad_mirror_then_a_good_one(server, tmp_path, kind):
    base, requests = server
    paths = _download(tmp_path, [f"{base}/{kind}", f"{base}/good"])
    _assert_downloaded(tmp_path, paths)
    assert requests == [f"/{k}/{name}" for name in FILES for k in (kind, "good")]


def test_uncompressed_content_passes_the_same_checksum(server, tmp_path):
    base, _ = server
    paths = _download(tmp_path, [f"{base}/plain"])
    _assert_downloaded(tmp_path, paths)


def test_all_mirrors_failing_says_what_each_did_and_leaves_nothing(
    server, dead_mirror, tmp_path
):
    base, _ = server
    kinds = ["html", "html-as-binary", "corrupt", "other", "short", "missing", "slow"]
    mirrors = [dead_mirror] + [f"{base}/{kind}/" for kind in kinds]
    with pytest.raises(DownloadError) as info:
        _download(tmp_path, mirrors)
    message = str(info.value)
    name = "images-idx3-ubyte.gz"
    expected = {
        dead_mirror: "could not connect",
        "html": "served an HTML page (Content-Type: text/html)",
        "html-as-binary": "the file received: not an IDX file: expected the magic bytes 00 00 "
        "<type> <ndim>, found 3c 21 44 4f; it looks like an HTML page",
        "corrupt": "the file received: corrupt gzip stream",
        "other": "checksum mismatch: expected the SHA-256 of the uncompressed content to be "
        + FILES[name],
        "short": f"wrong size: expected {len(SERVED[name][0])} bytes",
        "missing": "HTTP error 404 Not Found",
        "slow": f"timed out after {TIMEOUT} s",
    }
    lines = message.splitlines()
    for kind, reason in expected.items():
        url = (kind if kind == dead_mirror else f"{base}/{kind}/") + name
        assert any(line.strip().startswith(f"{url}: {reason}") for line in lines), (
            f"no line for {url}: {reason!r} in {message}"
        )
    assert f"no mirror delivered {name}" in message
    assert list(tmp_path.iterdir()) == []  # no file, no partial file


def test_a_mirror_sending_more_than_any_mnist_file_is_stopped(server, tmp_path, monkeypatch):
    # MAX_FILE_BYTES is 64 MiB; the good mirror's images file is some 15 kB.
    base, _ = server
    limit = len(SERVED["images-idx3-ubyte.gz"][0]) - 1
    monkeypatch.setattr(download_module, "MAX_FILE_BYTES", limit)
    with pytest.raises(DownloadError, match=rf"images-idx3-ubyte\.gz: sent more than {limit} "
                                            r"bytes, far more than any MNIST file; stopped"):
        _download(tmp_path, [f"{base}/good"])
    assert list(tmp_path.iterdir()) == []
    # A file of exactly the limit is not more than it.
    monkeypatch.setattr(download_module, "MAX_FILE_BYTES", limit + 1)
    _assert_downloaded(tmp_path, _download(tmp_path, [f"{base}/good"]))


@pytest.mark.parametrize("error, reason", [
    (urllib.error.URLError(TimeoutError("timed out")), f"timed out after {TIMEOUT} s"),
    (http.client.BadStatusLine("HTTP/9.9 200"), "BadStatusLine: "),  # not an HTTP server
    (ConnectionResetError(104, "Connection reset by peer"), "ConnectionResetError: "),
], ids=["connect-timeout", "bad-status-line", "reset"])
def test_each_failure_of_a_connection_is_reported_and_the_next_mirror_tried(
        tmp_path, monkeypatch, capsys, error, reason):
    tried = _failing_urlopen(monkeypatch, error)
    mirrors = ["http://first.invalid/", "http://second.invalid/"]
    with pytest.raises(DownloadError) as info:
        _download(tmp_path, mirrors)
    name = next(iter(FILES))
    assert tried == [m + name for m in mirrors]
    for mirror in mirrors:
        assert f"  {mirror}{name}: {reason}" in str(info.value)
    assert capsys.readouterr().err == ""  # progress=False: nothing printed


def test_only_progress_true_prints(tmp_path, monkeypatch, capsys):
    _failing_urlopen(monkeypatch, urllib.error.URLError(ConnectionRefusedError(
        111, "Connection refused")))
    name = next(iter(FILES))
    for progress in (False, lambda url, done, total: None):
        with pytest.raises(DownloadError):
            _download(tmp_path, ["http://mirror.invalid/"], progress=progress)
        assert capsys.readouterr().err == ""
    with pytest.raises(DownloadError):
        _download(tmp_path, ["http://mirror.invalid/"], progress=True)
    assert capsys.readouterr().err.splitlines() == [
        f"  http://mirror.invalid/{name}: could not connect ([Errno 111] Connection refused)"]


def test_progress_true_draws_a_line_per_file_and_false_prints_nothing(server, tmp_path, capsys):
    base, _ = server
    _download(tmp_path / "quiet", [f"{base}/good"], progress=False)
    assert capsys.readouterr().err == ""
    _download(tmp_path / "loud", [f"{base}/good"], progress=True)
    err = capsys.readouterr().err
    expected = ""
    for name, (gz, _) in SERVED.items():  # each file comes in one block: one redraw
        url = f"{base}/good/{name}"
        size = f"{len(gz) / 1e6:.1f} / {len(gz) / 1e6:.1f} MB"
        target = tmp_path / "loud" / name
        expected += f"\r  {url}: {size}\n{target}: downloaded from {url}, verified\n"
    assert err == expected


def test_the_progress_line_is_redrawn_only_when_its_numbers_change(capsys):
    printer = download_module._Printer()
    for done in range(0, 1001, 5):  # 201 blocks of a file of a known size
        printer.progress("u", done, 1000)
    for done in range(0, 3 * 2**20, 2**18):  # 12 blocks of 3 MiB of unknown size
        printer.progress("v", done, None)
    printer.say("a")  # ends the progress line first
    printer.say("b")
    err = capsys.readouterr().err
    assert err.count("\r  u: ") == 101  # once per whole percentage: 0% to 100%
    assert err.count("\r  v: ") == 3  # once per MiB, with the size it has
    assert err.endswith("\r  v: 2.1 MB\na\nb\n")  # 2 MiB, in MB


def test_a_file_that_cannot_be_read_is_fetched_again(server, tmp_path, monkeypatch):
    base, requests = server
    target = tmp_path / "labels-idx1-ubyte.gz"
    target.write_bytes(b"")
    read = download_module.read_idx_sha256

    def unreadable_target(path, name=None):
        if path == target:  # a file with no read permission, say (root may read anything)
            raise PermissionError(13, "Permission denied", str(path))
        return read(path, name)

    monkeypatch.setattr(download_module, "read_idx_sha256", unreadable_target)
    _assert_downloaded(tmp_path, _download(tmp_path, [f"{base}/good"]))
    assert "/good/labels-idx1-ubyte.gz" in requests


def test_a_verified_file_is_not_fetched_again_unless_forced(server, tmp_path):
    base, requests = server
    _download(tmp_path, [f"{base}/good"])
    requests.clear()
    _assert_downloaded(tmp_path, _download(tmp_path, [f"{base}/good"]))
    assert requests == []
    _download(tmp_path, [f"{base}/good"], force=True)
    assert len(requests) == len(FILES)


def test_a_damaged_file_is_replaced(server, tmp_path):
    base, requests = server
    (tmp_path / "labels-idx1-ubyte.gz").write_bytes(HTML)
    _assert_downloaded(tmp_path, _download(tmp_path, [f"{base}/good"]))
    assert "/good/labels-idx1-ubyte.gz" in requests


def test_a_failed_mirror_keeps_an_existing_file(server, tmp_path):
    # Nothing is written unless verified: a damaged file stays as it was, not half-replaced.
    base, _ = server
    (tmp_path / "images-idx3-ubyte.gz").write_bytes(HTML)
    with pytest.raises(DownloadError):
        _download(tmp_path, [f"{base}/corrupt"])
    assert [p.name for p in tmp_path.iterdir()] == ["images-idx3-ubyte.gz"]
    assert (tmp_path / "images-idx3-ubyte.gz").read_bytes() == HTML


def test_mirrors_must_be_a_list_of_urls(tmp_path):
    with pytest.raises(TypeError, match="mirrors must be a list of URLs"):
        download_mnist(tmp_path, mirrors="http://127.0.0.1:9/", files=FILES)
    with pytest.raises(TypeError, match="mirrors must be a list of URLs, got a bytes"):
        download_mnist(tmp_path, mirrors=b"http://127.0.0.1:9/", files=FILES)
    with pytest.raises(ValueError, match="at least one URL"):
        download_mnist(tmp_path, mirrors=[], files=FILES)


def test_mirrors_must_hold_url_strings(tmp_path):
    with pytest.raises(TypeError, match=r"mirrors must be a list of URLs .* PosixPath at index 0"):
        download_mnist(tmp_path, mirrors=[tmp_path], files=FILES)
    with pytest.raises(ValueError, match=r"mirrors\[1\] must be a URL .* got '/tmp/'"):
        download_mnist(tmp_path, mirrors=["http://127.0.0.1:9/", "/tmp/"], files=FILES)
    with pytest.raises(TypeError, match="mirrors must be a list of URLs, got a set"):
        download_mnist(tmp_path, mirrors={"http://127.0.0.1:9/"}, files=FILES)
    assert list(tmp_path.iterdir()) == []


def test_a_file_url_is_a_mirror(tmp_path):
    # Path.as_uri(), which the messages above suggest for a folder, does work.
    dest = tmp_path / "dest"
    _assert_downloaded(dest, _download(dest, [_folder_mirror(tmp_path / "mirror")]))


@pytest.mark.parametrize(("files", "error", "message"), [
    (list(FILES), TypeError, r"files must be a dict of file names to SHA-256 checksums"),
    ({"sub/a.gz": "0" * 64}, ValueError, r"files must be named by plain file names, .* "
                                         r"got 'sub/a\.gz'"),
    ({"..": "0" * 64}, ValueError, r"files must be named by plain file names"),
    # A folder on Windows, whichever system reads it.
    ({"sub\\a.gz": "0" * 64}, ValueError, r"files must be named by plain file names"),
    ({"C:a.gz": "0" * 64}, ValueError, r"files must be named by plain file names"),
    # No system takes a NUL; a blank name after the mirror's URL fetches the mirror's folder.
    ({"a\x00b.gz": "0" * 64}, ValueError, r"files must be named by plain file names"),
    ({" ": "0" * 64}, ValueError, r"files must be named by plain file names, .* got ' '$"),
    ({}, ValueError, r"files must name at least one file, got none"),
    ({"a.gz": "0" * 63}, ValueError, r"files\['a\.gz'\] must be a SHA-256 checksum, 64 hex "
                                     r"digits, got '0{63}'"),
])
def test_files_must_map_file_names_to_checksums(tmp_path, dead_mirror, files, error, message):
    # Checked up front: a name with a folder would fail on this machine, a wrong checksum
    # on every mirror, each reported as the mirrors failing.
    with pytest.raises(error, match="^download_mnist: " + message):
        download_mnist(tmp_path / "dest", mirrors=[dead_mirror], files=files)
    assert list(tmp_path.iterdir()) == []


def test_a_file_name_with_a_space_or_a_hash_is_fetched_by_its_quoted_url(tmp_path):
    # Unquoted, "#b" would be read as a fragment of the URL, and the mirror asked for "a ".
    gz, plain = SERVED["labels-idx1-ubyte.gz"]
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "a #b.gz").write_bytes(gz)
    paths = download_mnist(tmp_path / "dest", mirrors=[mirror.as_uri()],
                           files={"a #b.gz": hashlib.sha256(plain).hexdigest()}, progress=False)
    assert paths == [tmp_path / "dest" / "a #b.gz"]
    np.testing.assert_array_equal(read_idx(paths[0]), LABELS)


def test_a_checksum_in_capitals_is_the_same_checksum(tmp_path):
    capitals = {name: digest.upper() for name, digest in FILES.items()}
    paths = download_mnist(tmp_path / "dest", mirrors=[_folder_mirror(tmp_path / "mirror")],
                           files=capitals, progress=False)
    _assert_downloaded(tmp_path / "dest", paths)


@pytest.mark.parametrize("timeout", [-1, 0, 0.0, float("inf"), float("nan"), "30", True, None,
                                     10**400])
def test_timeout_must_be_a_positive_number(tmp_path, dead_mirror, timeout):
    # Checked up front: not reported as every mirror failing, which blames the network.
    with pytest.raises(ValueError, match=r"^download_mnist: timeout must be a number in "
                                         r"\(0\.0, inf\), got"):
        download_mnist(tmp_path, mirrors=[dead_mirror], files=FILES, timeout=timeout)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"force": "no"}, "force must be True or False, got 'no'"),
        ({"force": 1}, "force must be True or False, got 1"),
        ({"progress": "no"}, "progress must be True, False or a function, got 'no'"),
    ],
)
def test_flags_must_be_bools(tmp_path, dead_mirror, kwargs, message):
    with pytest.raises(TypeError, match=message):
        download_mnist(tmp_path, mirrors=[dead_mirror], files=FILES, **kwargs)


@pytest.mark.parametrize("dest", [None, 3, b"/tmp"])
def test_dest_must_be_a_str_or_a_path(dead_mirror, dest):
    with pytest.raises(TypeError, match=r"^download_mnist: dest must be a folder \(a str or a "
                                        r"pathlib.Path\), got "):
        download_mnist(dest, mirrors=[dead_mirror], files=FILES)


def test_dest_must_be_a_folder(tmp_path, dead_mirror):
    afile = tmp_path / "afile"
    afile.write_bytes(b"x")
    with pytest.raises(NotADirectoryError, match=r"dest must be a folder .*afile \(a file\)"):
        download_mnist(afile, mirrors=[dead_mirror], files=FILES)
    with pytest.raises(NotADirectoryError, match=r"got .*afile/sub \(.*afile is a file\)"):
        download_mnist(afile / "sub", mirrors=[dead_mirror], files=FILES)
    assert afile.read_bytes() == b"x"


def test_a_folder_or_a_pipe_where_a_file_goes_is_refused_before_fetching(tmp_path,
                                                                         dead_mirror):
    # Each would fail at every mirror, the failures blamed on the network.
    name, other = FILES
    (tmp_path / name).mkdir()
    os.mkfifo(tmp_path / other)
    for blocked, kind in ((name, "a folder"), (other, "a named pipe")):
        with pytest.raises(ValueError, match=rf"^download_mnist: {re.escape(str(tmp_path))}/"
                                             rf"{blocked} is {kind}, expected a file \(or "
                                             rf"nothing\) there for {blocked}$"):
            download_mnist(tmp_path, mirrors=[dead_mirror], files={blocked: FILES[blocked]})
    assert (tmp_path / name).is_dir() and (tmp_path / other).is_fifo()


def test_a_plain_copy_is_not_recognised_and_the_gz_is_fetched_beside_it(server, tmp_path):
    # What docs/data.md says: only a file under its name in `files` is skipped.
    base, requests = server
    for name, (_, plain) in SERVED.items():
        (tmp_path / name.removesuffix(".gz")).write_bytes(plain)
    paths = _download(tmp_path, [f"{base}/good"])
    assert requests == [f"/good/{name}" for name in FILES]
    assert [p.name for p in paths] == list(FILES)
    for name, (_, plain) in SERVED.items():
        assert (tmp_path / name.removesuffix(".gz")).read_bytes() == plain  # left alone


def test_the_default_mirrors_are_torchvisions_then_tensorflow_datasets():
    assert MIRRORS == (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    )
