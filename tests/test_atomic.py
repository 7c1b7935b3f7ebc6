"""write_atomic: a file is replaced whole or not at all."""

import errno
import os
import re
import signal
from pathlib import Path

import pytest

from tinynet.atomic import (
    cannot_create_files,
    closed_pipe,
    signals_held,
    stop_signals_raise,
    write_atomic,
)


def test_write_atomic_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "history.json"
    target.write_text("old")

    def interrupted(tmp: Path) -> None:
        tmp.write_text("{\"loss\": [0.1,")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, interrupted)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["history.json"]
    write_atomic(target, lambda tmp: tmp.write_text("new"))
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["history.json"]


def test_the_temporary_file_keeps_the_suffix_and_a_missing_folder_is_named(tmp_path):
    seen = []
    write_atomic(tmp_path / "curves.png", lambda tmp: (seen.append(tmp), tmp.write_bytes(b"x")))
    assert seen[0].suffix == ".png" and seen[0].parent == tmp_path  # matplotlib reads it
    with pytest.raises(FileNotFoundError, match=r"cannot write .*a\.json: no folder .*missing"):
        write_atomic(tmp_path / "missing" / "a.json", lambda tmp: tmp.write_text("{}"))


@pytest.mark.parametrize("number", [errno.ENOSPC, errno.EFBIG])
def test_a_full_disk_names_the_target(tmp_path, number):
    # The system's "No space left on device" names no file.
    def failing(number: int):
        def write(tmp: Path) -> None:
            tmp.write_bytes(b"half")
            raise OSError(number, os.strerror(number))
        return write

    with pytest.raises(OSError) as info:
        write_atomic(tmp_path / "model.npz", failing(number))
    assert (info.value.errno, info.value.filename) == (number, str(tmp_path / "model.npz"))
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(OSError) as info:  # another error that names no file: as it was
        write_atomic(tmp_path / "model.npz", failing(errno.EIO))
    assert info.value.filename is None


def test_a_full_disk_found_creating_or_flushing_the_file_names_the_target(tmp_path,
                                                                         monkeypatch):
    # No inode left: open() fails naming the temporary file; on NFS or under a quota the
    # flush can fail, naming none.
    def no_inode(tmp: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp))

    with pytest.raises(OSError) as info:
        write_atomic(tmp_path / "model.npz", no_inode)
    assert info.value.filename == str(tmp_path / "model.npz")

    def over_quota(fd: int) -> None:
        raise OSError(errno.EDQUOT, "Disk quota exceeded")

    monkeypatch.setattr("tinynet.atomic.os.fsync", over_quota)
    with pytest.raises(OSError) as info:
        write_atomic(tmp_path / "model.npz", lambda tmp: tmp.write_text("{}"))
    assert info.value.filename == str(tmp_path / "model.npz")
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_cannot_be_written_in_is_named_with_the_target_not_the_tmp(tmp_path):
    # As the kernel refuses it in a read-only folder (root may write anywhere, so the test
    # raises the same error itself): the temporary file's name meant nothing to the user.
    def refused(tmp: Path) -> None:
        raise PermissionError(13, "Permission denied", str(tmp))

    with pytest.raises(PermissionError) as info:
        write_atomic(tmp_path / "good.npz", refused)
    assert info.value.filename == str(tmp_path / "good.npz")
    assert f"cannot create files in the folder {str(tmp_path)!r}" in str(info.value)
    assert ".tmp" not in str(info.value) and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("mode", [0o600, 0o444, 0o640])
def test_a_replaced_file_keeps_its_permissions(tmp_path, mode):
    target = tmp_path / "model.npz"
    target.write_text("old")
    target.chmod(mode)  # else a private model would not stay private: a new file is 0644
    write_atomic(target, lambda tmp: tmp.write_text("new"))
    assert target.read_text() == "new" and target.stat().st_mode & 0o777 == mode


@pytest.fixture
def windows_rules(monkeypatch):
    """Windows's rules for the calls write_atomic makes, on this system: os.fsync needs a
    descriptor opened for writing, and a read-only file (no write bit for its owner) can be
    neither replaced nor removed."""
    fcntl = pytest.importorskip("fcntl")  # a POSIX system here, to play Windows on
    fsync, replace, unlink = os.fsync, os.replace, Path.unlink

    def read_only(path) -> bool:
        return Path(path).exists() and not Path(path).stat().st_mode & 0o200

    def windows_fsync(fd: int) -> None:
        if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDONLY:
            raise OSError(errno.EBADF, "Bad file descriptor")
        fsync(fd)

    def windows_replace(src, dst) -> None:
        if read_only(dst):
            raise PermissionError(13, "Access is denied", str(src), None, str(dst))
        replace(src, dst)

    def windows_unlink(self, missing_ok=False) -> None:
        if read_only(self):
            raise PermissionError(13, "Access is denied", str(self))
        unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr("tinynet.atomic._WINDOWS", True)
    monkeypatch.setattr("tinynet.atomic._RETRY_DELAYS", (0, 0, 0))  # tries, without the waits
    monkeypatch.setattr(os, "fsync", windows_fsync)
    monkeypatch.setattr(os, "replace", windows_replace)
    monkeypatch.setattr(Path, "unlink", windows_unlink)


def test_under_windows_rules_a_file_is_written_and_a_read_only_one_replaced(tmp_path,
                                                                            windows_rules):
    # A flush that opened the file to read, which Windows refuses, would let no model be
    # saved.
    target = tmp_path / "model.npz"
    write_atomic(target, lambda tmp: tmp.write_text("first"))
    target.chmod(0o444)
    write_atomic(target, lambda tmp: tmp.write_text("new"))
    assert target.read_text() == "new" and target.stat().st_mode & 0o777 == 0o444
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


@pytest.mark.parametrize("stop", [
    PermissionError(32, "The process cannot access the file because it is being used by "
                        "another process"),
    KeyboardInterrupt(),
], ids=["locked", "ctrl-c"])
def test_under_windows_rules_a_failed_replace_leaves_the_target_read_only_and_no_temporary_file(
        tmp_path, windows_rules, monkeypatch, stop):
    # The temporary file has the read-only target's mode: it must not stay behind, nor the
    # error that removing it raises replace the one that matters (a file locked by another
    # program). The target, made writable for the replace, gets its read-only mode back,
    # after Ctrl-C in the tries (1.5 s of waits) too.
    target = tmp_path / "model.npz"
    target.write_text("old")
    target.chmod(0o444)

    def refused(src, dst) -> None:
        raise stop

    monkeypatch.setattr(os, "replace", refused)
    with pytest.raises(type(stop)) as raised:
        write_atomic(target, lambda tmp: tmp.write_text("new"))
    # The error that stopped it, not one of cleaning up (Windows's refusal with a hint added)
    if isinstance(stop, KeyboardInterrupt):
        assert raised.value is stop
    else:
        assert str(raised.value).startswith(str(stop))
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]
    assert target.read_text() == "old" and target.stat().st_mode & 0o777 == 0o444


# "missing/.." names a folder too, though its folder does not exist (no "no folder" error).
@pytest.mark.parametrize("name", ["folder", ".", "", "missing/.."])
def test_a_folder_is_refused_before_anything_is_written(tmp_path, monkeypatch, name):
    # Without the check, the rename would fail with a message naming the temporary file.
    (tmp_path / "folder").mkdir()
    monkeypatch.chdir(tmp_path)
    written = []
    with pytest.raises(IsADirectoryError, match="folder") as info:
        write_atomic(name, written.append)
    assert ".tmp" not in str(info.value)
    assert written == [] and sorted(p.name for p in tmp_path.iterdir()) == ["folder"]


def test_a_named_pipe_or_a_link_to_one_is_refused_before_anything_is_written(tmp_path):
    # Renamed over, a named pipe (or a device: /dev/null, as root) would become a regular
    # file. os.mkfifo, unlike a device, needs no privilege.
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    (tmp_path / "link.npz").symlink_to(pipe)
    written = []
    for name, shown in (("pipe", "pipe"), ("link.npz", f"link.npz (a link to {pipe})")):
        message = (f"cannot write {tmp_path / shown}: it is a named pipe, not a regular "
                   "file, and writing it would replace it with one")
        with pytest.raises(OSError, match=f"^{re.escape(message)}$"):
            write_atomic(tmp_path / name, written.append)
    assert written == [] and pipe.is_fifo() and (tmp_path / "link.npz").is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.npz", "pipe"]


def test_a_link_is_followed_the_file_it_points_to_is_replaced_and_the_link_stays(tmp_path):
    # runs/latest.npz -> runs/v3/model.npz: saving to the link must update v3's model, as
    # open() would, not turn the link into a file of its own and leave v3's model stale.
    (tmp_path / "v3").mkdir()
    (tmp_path / "runs").mkdir()
    real = tmp_path / "v3" / "model.npz"
    real.write_text("old")
    link = tmp_path / "runs" / "latest.npz"
    link.symlink_to(Path("..") / "v3" / "model.npz")  # relative, as ln -s makes them
    seen = []
    assert write_atomic(link, lambda tmp: (seen.append(tmp), tmp.write_text("new"))) == link
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert real.read_text() == "new"
    assert seen[0].parent == real.parent and seen[0].suffix == ".npz"  # renamed within v3/
    assert sorted(p.name for p in (tmp_path / "v3").iterdir()) == ["model.npz"]
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["latest.npz"]


def test_a_dangling_link_gets_its_file_and_a_loop_of_links_is_refused(tmp_path):
    link = tmp_path / "latest.json"
    link.symlink_to("history.json")
    write_atomic(link, lambda tmp: tmp.write_text("{}"))
    assert link.is_symlink() and (tmp_path / "history.json").read_text() == "{}"

    (tmp_path / "a.json").symlink_to("b.json")
    (tmp_path / "b.json").symlink_to("a.json")
    written = []
    with pytest.raises(OSError, match=r"a\.json"):
        write_atomic(tmp_path / "a.json", written.append)
    assert written == [] and (tmp_path / "a.json").is_symlink()

    (tmp_path / "away.json").symlink_to(tmp_path / "missing" / "x.json")
    with pytest.raises(FileNotFoundError, match=r"away\.json \(a link to .*x\.json\): no "
                                                r"folder .*missing"):
        write_atomic(tmp_path / "away.json", written.append)
    assert written == []


def test_the_data_is_flushed_to_disk_before_the_rename_and_the_rename_after(tmp_path,
                                                                            monkeypatch):
    # Without the first fsync a crash just after the rename can leave the new name on an
    # empty or partial file; without the folder's, the rename itself can be lost.
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.fstat(fd).st_ino))
        real_fsync(fd)

    def replace(src, dst):
        events.append(("replace", os.fspath(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    target = tmp_path / "model.npz"
    write_atomic(target, lambda tmp: tmp.write_bytes(b"data"))
    # The file flushed is the temporary one, which the rename made the target.
    assert events == [("fsync", target.stat().st_ino), ("replace", str(target)),
                      ("fsync", tmp_path.stat().st_ino)]


def test_every_file_and_folder_opened_is_closed(tmp_path, monkeypatch):
    # The temporary file, and the folder on POSIX, are opened for their fsync: one left open
    # leaks a descriptor per save (a checkpoint each epoch of a long run), and Windows
    # refuses to rename or delete a file that is open.
    real_open, real_close = os.open, os.close
    opened, left_open = [], set()

    def open_and_track(path, flags, *args, **kwargs):
        fd = real_open(path, flags, *args, **kwargs)
        opened.append(path)
        left_open.add(fd)
        return fd

    def close_and_track(fd):
        left_open.discard(fd)
        real_close(fd)

    monkeypatch.setattr(os, "open", open_and_track)
    monkeypatch.setattr(os, "close", close_and_track)
    write_atomic(tmp_path / "a.json", lambda tmp: tmp.write_text("{}"))
    assert opened and left_open == set()


def test_each_write_uses_a_temporary_name_of_its_own(tmp_path):
    # Two processes saving the same file at once must not write into one temporary file.
    seen = []
    for _ in range(2):
        write_atomic(tmp_path / "a.json", lambda tmp: (seen.append(tmp), tmp.write_text("{}")))
    assert seen[0] != seen[1]
    assert all(p.name.startswith(".a.") and p.parent == tmp_path for p in seen)



@pytest.mark.parametrize("letter", ["a", "é"])  # 1 and 2 bytes in UTF-8
def test_a_name_as_long_as_the_system_takes_is_written_and_replaced(tmp_path, letter):
    # The temporary name, 18 characters longer than the file's, would be refused ("File
    # name too long", naming a file the caller never asked for).
    if hasattr(os, "pathconf"):
        room = os.pathconf(tmp_path, "PC_NAME_MAX")  # bytes in a name
    else:
        room = 259 - len(str(tmp_path)) - 1  # characters in a path: Windows's MAX_PATH
    target = tmp_path / (letter * ((room - 4) // len(letter.encode())) + ".npz")
    target.write_text("old")
    seen = []
    write_atomic(target, lambda tmp: (seen.append(tmp), tmp.write_text("new")))
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == [target.name]
    assert len(seen[0].name) == len(target.name)  # shortened by as much as it adds, no more
    assert seen[0].name.startswith("." + letter * 16) and seen[0].suffix == ".npz"


def test_a_short_name_stays_whole_in_the_temporary_name(tmp_path):
    # Shortened only when long, to no less than 16 characters: a temporary file left by a
    # killed process says whose it is.
    seen = []
    stem = "r3_cnn_best_loss"
    write_atomic(tmp_path / f"{stem}.npz", lambda tmp: (seen.append(tmp), tmp.write_text("")))
    assert seen[0].name.startswith(f".{stem}.")

def test_cannot_create_files_tries_and_leaves_nothing(tmp_path, refuse_files_in):
    assert cannot_create_files(tmp_path) is None
    assert list(tmp_path.iterdir()) == []
    assert cannot_create_files(tmp_path / "missing") == "no such file or directory"
    refuse_files_in(tmp_path)  # os.access still says yes, as on Windows
    assert os.access(tmp_path, os.W_OK)
    assert cannot_create_files(tmp_path) == "permission denied"
    refuse_files_in(tmp_path, errno.EROFS)
    assert cannot_create_files(tmp_path) == "read-only file system"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("windows", [True, False])
def test_a_replace_refused_for_a_moment_is_tried_again_on_windows_only(tmp_path, monkeypatch,
                                                                      windows):
    # Windows refuses to replace a file while a virus scanner or a sync client reads it;
    # it lets go within a moment. POSIX never refuses for that reason: no second try.
    target = tmp_path / "model.npz"
    target.write_text("old")
    replace, refusals = os.replace, [2]

    def busy_replace(src, dst):
        if refusals[0]:
            refusals[0] -= 1
            raise PermissionError(13, "Access is denied", str(src), None, str(dst))
        replace(src, dst)

    monkeypatch.setattr("tinynet.atomic._WINDOWS", windows)
    monkeypatch.setattr("tinynet.atomic._RETRY_DELAYS", (0, 0, 0))
    monkeypatch.setattr(os, "replace", busy_replace)
    if windows:
        write_atomic(target, lambda tmp: tmp.write_text("new"))
        assert target.read_text() == "new"
    else:
        with pytest.raises(PermissionError, match=r"^\[Errno 13\] Access is denied: "):
            write_atomic(target, lambda tmp: tmp.write_text("new"))
        assert target.read_text() == "old" and refusals == [1]
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_signals_held_delivers_the_first_signal_when_the_block_ends(ctrl_c_raises):
    done, terms = [], []
    before = signal.signal(signal.SIGTERM, lambda signum, frame: terms.append(signum))
    try:
        with pytest.raises(KeyboardInterrupt):
            with signals_held():
                signal.raise_signal(signal.SIGINT)  # Ctrl-C, held
                signal.raise_signal(signal.SIGTERM)  # after it: not delivered
                done.append("after")  # a signal not held would have stopped here
        assert done == ["after"] and terms == []
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back
    finally:
        signal.signal(signal.SIGTERM, before)


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="Windows has no SIGHUP")
def test_signals_held_leaves_an_ignored_signal_ignored(ctrl_c_raises):
    # nohup's SIGHUP: held and delivered after, it would end the process, or, arriving
    # first, stand for a Ctrl-C that comes after it.
    before = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with pytest.raises(KeyboardInterrupt):
            with signals_held():
                signal.raise_signal(signal.SIGHUP)
                signal.raise_signal(signal.SIGINT)
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, before)


@pytest.mark.parametrize("windows", [False, True])
def test_closed_pipe_is_a_broken_pipe_or_on_windows_an_einval_naming_no_file(windows,
                                                                               monkeypatch):
    monkeypatch.setattr("tinynet.atomic._WINDOWS", windows)
    assert closed_pipe(BrokenPipeError(errno.EPIPE, "Broken pipe"))
    assert closed_pipe(OSError(errno.EINVAL, "Invalid argument")) == windows
    # Any other error is reported, as it would be anywhere: one naming a file was not a pipe.
    assert not closed_pipe(OSError(errno.EINVAL, "Invalid argument", "m.npz"))
    assert not closed_pipe(OSError(errno.ENOSPC, "No space left on device"))
    assert not closed_pipe(ValueError("Invalid argument"))


def test_stop_signals_raise_takes_only_a_signal_left_at_its_default_and_puts_it_back():
    before = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        with stop_signals_raise():
            # kill's SIGTERM ends the program through SystemExit, so finally blocks clean up.
            with pytest.raises(SystemExit) as info:
                signal.raise_signal(signal.SIGTERM)
            assert info.value.code == 128 + signal.SIGTERM
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # put back

        # A program that calls tinynet keeps a handler of its own.
        def mine(signum, frame):
            pass

        signal.signal(signal.SIGTERM, mine)
        with stop_signals_raise():
            assert signal.getsignal(signal.SIGTERM) is mine
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, before)
