"""Output files of the command: checked before the work, errors naming the user's path."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def check_destination(path: str) -> None:
    """Raise a one-line error unless ``path`` could be written: its directory exists and it
    is not itself a directory. Called before training, so that a typo costs no time."""
    directory = Path(path).parent
    if not directory.is_dir():
        raise FileNotFoundError(f"cannot write {path}: the directory {directory} does not exist")
    if Path(path).is_dir():
        raise IsADirectoryError(f"cannot write {path}: it is a directory")


@contextmanager
def writing(path: str) -> Iterator[None]:
    """Turn an error while writing ``path`` into one that names ``path``, never the
    temporary file that it is written through."""
    try:
        yield
    except OSError as error:
        raise OSError(f"cannot write {path}: {error.strerror or error}") from error
