"""Writing a file so that it is never seen half-written: a temporary file, then a rename."""

from __future__ import annotations

import errno
import os
import uuid
from collections.abc import Callable
from pathlib import Path


def write_atomic(target: str | os.PathLike, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` to write a temporary file beside ``target``, flush it to disk, then
    rename it over ``target``; return ``target`` as a Path.

    A rename within one folder is atomic: readers see the old file or the new one, never a
    half-written one, and a run interrupted while writing (even by Ctrl-C) leaves the old
    file as it was. The temporary file is removed if anything fails. Its name is unique (two
    processes writing the same file never collide) and keeps ``target``'s suffix, from
    which writers such as matplotlib take the format.

    A ``target`` that is a symbolic link is followed, as ``open(target, "w")`` follows it:
    the file it points to is replaced (created, if missing), and the link stays a link. The
    temporary file is written beside that file, so that the rename stays within its folder.

    Raises FileNotFoundError, naming ``target``, when its folder does not exist, and
    IsADirectoryError when ``target`` is a folder, before anything is written.
    """
    target = Path(target)
    if target.name in ("", ".", ".."):  # "", ".", "/": the rename would fail, naming tmp
        raise IsADirectoryError(f"cannot write {str(target)!r}: expected a file name, got a "
                                "folder")
    if target.is_dir():
        raise IsADirectoryError(f"cannot write {target}: it is a folder, expected a file")
    # Renamed over a link, the new file would replace the link itself, and the file it
    # pointed to (another run's model, a shared copy) would silently keep the old content.
    real = Path(os.path.realpath(target)) if target.is_symlink() else target
    if real.is_symlink():  # realpath stops in a loop of links, where open() fails too
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(target))
    folder = real.parent
    if not folder.is_dir():
        link = f" (a link to {real})" if real != target else ""
        raise FileNotFoundError(f"cannot write {target}{link}: no folder {folder}")
    # The suffix is target's: the name the caller gave says the format (matplotlib reads it).
    tmp = folder / f".{real.stem}.{uuid.uuid4().hex[:12]}.tmp{target.suffix}"
    try:
        write(tmp)
        fd = os.open(tmp, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        try:
            os.fsync(fd)  # the data is on disk before the rename makes it visible
        finally:
            os.close(fd)
        os.replace(tmp, real)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(folder)
    return target


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
