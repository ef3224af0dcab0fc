"""The one atomic, durable file writer behind every file glai writes.

A file is written under a temporary name in its own directory, flushed and fsynced,
renamed over the target with :func:`os.replace`, and the directory is fsynced so that the
rename survives a crash too. A reader therefore sees the old file or the new one, never
half of one. This module imports nothing from glai, so any module may use it.
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomic(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> None:
    """Write a file atomically and durably: ``write`` fills a temporary file, which then
    replaces ``path``.

    The temporary file, ``.{name}.tmp-{random}`` next to ``path`` (so concurrent writers
    never share one), is created like ``open(path, "wb")`` would create ``path``: mode
    ``0o666`` less the umask. It is flushed and fsynced, renamed over ``path``, and the
    directory is fsynced. On any exception (``KeyboardInterrupt`` included) the temporary
    file is removed, the previous ``path`` is left untouched, and the exception is raised.

    Args:
        path: the file to write; its directory must exist.
        write: writes the whole content to the binary file object it is given (what it
            returns is ignored).

    Raises:
        FileNotFoundError: the directory of ``path`` does not exist.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp-{secrets.token_hex(8)}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        descriptor = os.open(temporary, flags, 0o666)  # the umask applies, as for open()
    except FileNotFoundError:
        message = f"no directory {path.parent} to write into"
        raise FileNotFoundError(errno.ENOENT, message, str(path)) from None
    try:
        with os.fdopen(descriptor, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        _replace_durably(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def replace_atomic(temporary: str | os.PathLike, path: str | os.PathLike) -> None:
    """Durably rename a file written elsewhere (e.g. a memory-mapped array) onto ``path``.

    ``temporary`` is fsynced, renamed over ``path`` and the directory fsynced. It must be
    in the same directory as ``path``. On failure it is left where it is (the caller may
    resume from it).

    Args:
        temporary: the finished file.
        path: its final name.
    """
    with open(temporary, "rb+") as handle:
        os.fsync(handle.fileno())
    _replace_durably(Path(temporary), Path(path))


def _replace_durably(temporary: Path, path: Path) -> None:
    """``os.replace`` then fsync of the directory, so that the rename itself is on disk."""
    os.replace(temporary, path)
    if os.name != "posix":  # directories cannot be opened (nor fsynced) on Windows
        return
    descriptor = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
