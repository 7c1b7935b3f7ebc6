"""Writing a file so that it is never seen half-written: a temporary file, then a rename."""

from __future__ import annotations

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

    Raises FileNotFoundError, naming ``target``, when its folder does not exist, and
    IsADirectoryError when ``target`` is a folder, before anything is written.
    """
    target = Path(target)
    if target.name in ("", ".", ".."):  # "", ".", "/": the rename would fail, naming tmp
        raise IsADirectoryError(f"cannot write {str(target)!r}: expected a file name, got a "
                                "folder")
    if target.is_dir():
        raise IsADirectoryError(f"cannot write {target}: it is a folder, expected a file")
    folder = target.parent
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot write {target}: no folder {folder}")
    tmp = folder / f".{target.stem}.{uuid.uuid4().hex[:12]}.tmp{target.suffix}"
    try:
        write(tmp)
        fd = os.open(tmp, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        try:
            os.fsync(fd)  # the data is on disk before the rename makes it visible
        finally:
            os.close(fd)
        os.replace(tmp, target)
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
