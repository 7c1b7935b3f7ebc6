"""Leaving nothing half-done: a file written so that it is never seen half-written (a
temporary file, then a rename), and the signals that stop a program turned into an
exception, so that its clean-up runs as for Ctrl-C."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import stat
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


def write_atomic(target: str | os.PathLike, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` to write a temporary file beside ``target``, flush it to disk, then
    rename it over ``target``; return ``target`` as a Path.

    A rename within one folder is atomic: readers see the old file or the new one, never a
    half-written one, and a run interrupted while writing (even by Ctrl-C) leaves the old
    file as it was. The temporary file is removed if anything fails. Its name is unique (two
    processes writing the same file never collide), keeps ``target``'s suffix, from which
    writers such as matplotlib take the format, and is no longer than ``target``'s name when
    that is long (so a name the system takes for ``target`` is taken for it too).

    A ``target`` that is a symbolic link is followed, as ``open(target, "w")`` follows it:
    the file it points to is replaced (created, if missing), and the link stays a link. The
    temporary file is written beside that file, so that the rename stays within its folder.

    A ``target`` that exists keeps its permissions (its mode bits): it is replaced by a new
    file, which would otherwise get the default mode of new files. A read-only ``target`` is
    replaced too (the folder's permission decides, as on POSIX), on Windows as well. Windows
    also refuses to replace a file that another program has open: the rename is tried again
    for a moment (a virus scanner lets go), then refused with a PermissionError that says so.

    Raises FileNotFoundError, naming ``target``, when its folder does not exist,
    IsADirectoryError when ``target`` is a folder, and OSError when it is a device, a named
    pipe or a socket (which a rename would replace), before anything is written;
    PermissionError, naming ``target``, when its folder cannot be written in.
    """
    target = Path(target)
    if target.name in ("", ".", ".."):  # "", ".", "/": the rename would fail, naming tmp
        raise IsADirectoryError(f"cannot write {str(target)!r}: expected a file name, got a "
                                "folder")
    if target.is_dir():
        raise IsADirectoryError(f"cannot write {target}: it is a folder, expected a file")
    real = _followed(target)
    if real.is_symlink():  # realpath stops in a loop of links, where open() fails too
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(target))
    link = f" (a link to {real})" if real != target else ""
    folder = real.parent
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot write {target}{link}: no folder {folder}")
    special = not_a_file(real)  # a folder is refused above, as IsADirectoryError
    if special:
        # The rename would put a regular file in its place: /dev/null, written as root,
        # would stop being the system's null device.
        raise OSError(f"cannot write {target}{link}: it is {special}, not a regular file, "
                      "and writing it would replace it with one")
    # The suffix is target's: the name the caller gave says the format (matplotlib reads it).
    token = f".{uuid.uuid4().hex[:12]}.tmp{target.suffix}"
    # A long stem is shortened (down to 16 characters) so that the temporary name is no
    # longer than the file's: the file's name fits the system's limits (255 bytes on POSIX,
    # a path of 259 characters on Windows), which a name 18 characters longer may not.
    keep = max(16, len(real.name) - len(token) - 1)
    tmp = folder / f".{real.stem[:keep]}{token}"
    read_only = None  # the mode of a read-only target made writable for Windows, to put back
    try:
        try:
            write(tmp)
        except PermissionError as err:
            if err.filename != str(tmp):
                raise
            # A folder we may not write in: named as open(target, "w") would name it, not
            # by the temporary file the caller never asked for.
            raise PermissionError(err.errno, f"{err.strerror} (cannot create files in the "
                                             f"folder {str(folder)!r})", str(target)) from None
        # Opened for writing: Windows flushes only such a handle (FlushFileBuffers), and
        # refuses os.fsync on one opened to read.
        fd = os.open(tmp, os.O_RDWR | getattr(os, "O_BINARY", 0))
        try:
            os.fsync(fd)  # the data is on disk before the rename makes it visible
        finally:
            os.close(fd)
        if real.exists():  # a new file, not a new mode: a private (0600) model stays private
            mode = stat.S_IMODE(os.stat(real).st_mode)
            os.chmod(tmp, mode)
            if _WINDOWS and not mode & stat.S_IWRITE:
                # Windows will not replace a read-only file, as POSIX does in a folder that
                # may be written in; the new file has the attribute, copied just above.
                os.chmod(real, stat.S_IWRITE)
                read_only = mode
        _replace(tmp, real)
    except BaseException as err:  # Ctrl-C too, in the tries of a replace on Windows
        _remove(tmp)
        if read_only is not None:  # not replaced (a file another program holds open, say)
            with contextlib.suppress(OSError):
                os.chmod(real, read_only)
        if isinstance(err, OSError) and err.errno in _FULL and err.filename in (None, str(tmp)):
            # A full disk names no file, or the temporary one ("No space left on device",
            # from a write, the flush, or the file's creation when no inode is left): named
            # by the file the caller asked for.
            raise OSError(err.errno, err.strerror, str(target)) from err
        raise
    _fsync_folder(folder)
    return target


def not_a_file(path: str | os.PathLike) -> str | None:
    """What ``path`` (a link followed) is, when it exists but is not a regular file: "a
    folder", "a character device", "a block device", "a named pipe" or "a socket", none of
    which :func:`write_atomic` replaces; None otherwise (nothing there, or a file). For the
    checks made before long work whose results will be written there."""
    try:
        mode = os.stat(path).st_mode
    except OSError:  # no such file: written as a new one
        return None
    kinds = ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a named pipe"),
             (stat.S_ISSOCK, "a socket"))
    return next((kind for is_kind, kind in kinds if is_kind(mode)), None)


def _followed(target: Path) -> Path:
    """The file :func:`write_atomic` replaces for ``target``: the one a symbolic link points
    to. Renamed over the link, the new file would replace the link itself, and the file it
    pointed to (another run's model, a shared copy) would silently keep the old content."""
    return Path(os.path.realpath(target)) if target.is_symlink() else target


def target_folder(target: str | os.PathLike) -> Path:
    """The folder :func:`write_atomic` writes ``target`` in, which :func:`cannot_create_files`
    should be asked about: ``target``'s own, or, when it is a symbolic link, the folder of the
    file it points to."""
    return _followed(Path(target)).parent


def cannot_create_files(folder: str | os.PathLike) -> str | None:
    """Why no file can be created in ``folder`` ("permission denied", "read-only file
    system", ...), or None when one can. Asked before long work whose results
    :func:`write_atomic` will save there, so that a folder that refuses them fails before the
    work rather than after it.

    It creates an empty file there and removes it: only trying tells. ``os.access(folder,
    os.W_OK)`` reads, on Windows, only the folder's read-only attribute, which Windows
    ignores for folders; it said yes to a folder only an administrator may write in
    (C:\\Program Files), which a training run then found only when saving its model.
    """
    probe = Path(folder) / f".tinynet-probe.{uuid.uuid4().hex[:12]}.tmp"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    except OSError as err:
        return (err.strerror or "cannot create a file").lower()
    os.close(fd)
    _remove(probe)
    return None


#: Seconds to wait before each new try of a replace that Windows refused: 1.55 s in all.
_RETRY_DELAYS = (0.05, 0.1, 0.2, 0.4, 0.8)


def _replace(tmp: Path, real: Path) -> None:
    """``os.replace(tmp, real)``, tried again for a moment on Windows, which refuses it
    while another program has ``real`` open: a virus scanner or a sync client (OneDrive)
    reading the last version, for a moment; a notebook's ``np.load``, until it is closed.
    (POSIX replaces a file whoever has it open: those readers keep the old one.)"""
    for delay in _RETRY_DELAYS if _WINDOWS else ():
        try:
            os.replace(tmp, real)
            return
        except PermissionError:
            time.sleep(delay)
    try:
        os.replace(tmp, real)
    except PermissionError as err:
        if not _WINDOWS:
            raise
        raise PermissionError(err.errno, f"{err.strerror} (is {real.name} open in another "
                              "program? close it there, or write to another name)",
                              err.filename, None, err.filename2) from None


#: The errors of a write that found no room: a full disk, a quota, a file size limit.
_FULL = {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}

#: Windows has one mode bit, read-only, and will neither replace nor remove such a file.
_WINDOWS = os.name == "nt"


def _remove(tmp: Path) -> None:
    """Remove the temporary file, if there is one, also when it has a read-only target's
    mode (which Windows will not remove until the mode is writable again)."""
    try:
        tmp.unlink(missing_ok=True)
    except PermissionError:
        with contextlib.suppress(OSError):  # never in place of the error being raised
            os.chmod(tmp, stat.S_IWRITE)
            tmp.unlink()


def _fsync_folder(folder: Path) -> None:
    """Flush the rename itself to disk (POSIX; Windows cannot open folders)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse it; the data itself was already flushed
    finally:
        os.close(fd)


def error_message(error: BaseException) -> str:
    """The one line that reports ``error``, for ``tinynet`` and the examples: an OSError
    from the system, which str() shows as "[Errno 13] Permission denied: 'model.npz'", as
    "model.npz: permission denied", and one that names no file ("[Errno 28] No space left on
    device") by its reason alone."""
    if isinstance(error, OSError) and error.strerror:
        reason = error.strerror[:1].lower() + error.strerror[1:]
        if error.filename is None:
            return reason
        if error.filename2 is not None:  # a rename: say which file was being written
            return f"cannot write {_name(error.filename2)}: {reason}"
        return f"{_name(error.filename)}: {reason}"
    return str(error)


def closed_pipe(error: BaseException) -> bool:
    """Whether ``error`` is a write to a pipe whose reader has gone (``tinynet homework list |
    head -1``): a BrokenPipeError, or on Windows, which reports it as an OSError EINVAL
    ("Invalid argument") naming no file, that."""
    return isinstance(error, BrokenPipeError) or (
        _WINDOWS and isinstance(error, OSError) and error.errno == errno.EINVAL
        and error.filename is None)


def _name(filename: object) -> str:
    return os.fsdecode(filename) if isinstance(filename, str | bytes | os.PathLike) \
        else str(filename)


def raise_on_stop_signals() -> dict[int, Any]:
    """From now on, SIGTERM and SIGHUP (``kill``, ``timeout``, a cancelled CI job, an IDE's
    stop button, a closed terminal) raise SystemExit(128 + the signal) in this process
    instead of ending it at once, so that ``finally``, ``except BaseException`` and
    ``atexit`` clean up on the way out, as they do for Ctrl-C: ``tinynet train`` and the
    example scripts remove the folders they made, and ``homework grade`` kills the tests'
    session, which does not get these signals (an endless test would run on for ever).

    Only a signal left at its default is taken over (``nohup`` ignores SIGHUP, and a program
    that calls tinynet may have handlers of its own), and only from the main thread, the one
    Python runs handlers in. Returns the handlers replaced, by signal number.
    """
    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    taken = {}
    if threading.current_thread() is threading.main_thread():
        for name in ("SIGTERM", "SIGHUP"):
            number = getattr(signal, name, None)  # Windows has no SIGHUP
            if number is not None and signal.getsignal(number) is signal.SIG_DFL:
                taken[number] = signal.signal(number, stop)
    return taken


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT), SIGTERM and SIGHUP within the block: the first that arrives is
    delivered when the block ends, to the handler it would have had. For a few renames that
    must all happen or none, a signal between two of them would leave a mix of old files
    and new.

    Only in the main thread, where Python runs handlers; a signal that is ignored (``nohup``'s
    SIGHUP) stays ignored, one whose handler was not set from Python (``getsignal`` gives
    None) is left alone, and one left at its default still ends the process, after the
    block.
    """
    held: list[int] = []
    replaced: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for name in ("SIGINT", "SIGTERM", "SIGHUP"):
            number = getattr(signal, name, None)
            if number is None:  # Windows has no SIGHUP
                continue
            handler = signal.getsignal(number)
            if handler is not None and handler is not signal.SIG_IGN:
                replaced[number] = signal.signal(number, lambda signum, _: held.append(signum))
    try:
        yield
    finally:
        for number, handler in replaced.items():
            signal.signal(number, handler)
        if held:
            signal.raise_signal(held[0])


@contextlib.contextmanager
def stop_signals_raise() -> Iterator[None]:
    """:func:`raise_on_stop_signals` within the block; the handlers are put back after it."""
    taken = raise_on_stop_signals()
    try:
        yield
    finally:
        for number, handler in taken.items():
            signal.signal(number, handler)
