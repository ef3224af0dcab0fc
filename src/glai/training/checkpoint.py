"""Atomic training checkpoints: write, and read back with clear errors."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import torch

FORMAT = "glai-checkpoint-1"
FILE_NAME = "checkpoint.pt"


def checkpoint_path(directory: str | os.PathLike) -> Path:
    return Path(directory) / FILE_NAME


def write_checkpoint(directory: str | os.PathLike, state: dict) -> None:
    """Write ``state`` so that a crash at any moment leaves the previous checkpoint intact:
    a temporary file is written and flushed to disk, then renamed over the old one."""
    path = checkpoint_path(directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("wb") as handle:
        torch.save({"format": FORMAT, **state}, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    descriptor = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(descriptor)  # make the rename itself durable
    finally:
        os.close(descriptor)


def read_checkpoint(directory: str | os.PathLike) -> dict | None:
    """The checkpoint in ``directory``, or ``None`` if there is none.

    Raises:
        ValueError: the file is truncated, damaged, or not a glai checkpoint; it is never
            silently ignored.
    """
    path = checkpoint_path(directory)
    if not path.exists():
        return None
    try:
        state = torch.load(path, weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError, ValueError, OSError) as error:
        raise ValueError(
            f"checkpoint {path} is damaged or truncated ({str(error).splitlines()[0]}); "
            "delete it to train from scratch"
        ) from error
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{path} is not a glai checkpoint; delete it to train from scratch")
    return state
