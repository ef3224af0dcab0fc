"""Atomic training checkpoints: write, and read back with clear errors."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import torch

from glai.io.atomic import write_atomic

FORMAT = "glai-checkpoint-2"
"""The format tag (version 2: a set of pieces, each with its own state)."""
FILE_NAME = "checkpoint.pt"


def checkpoint_path(directory: str | os.PathLike) -> Path:
    return Path(directory) / FILE_NAME


def check_unused(directory: str | os.PathLike) -> None:
    """Refuse a checkpoint directory that holds an earlier run's files, for a run that
    does not resume: its checkpoint or mask caches are never mixed into a new run.

    Raises:
        FileExistsError: ``directory`` holds a checkpoint or a mask cache.
        NotADirectoryError: ``directory`` is a file.
    """
    path = Path(directory)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"checkpoint_dir {path} is a file, not a directory")
    if not path.is_dir():
        return
    found = sorted(p.name for p in path.iterdir() if p.name == FILE_NAME or _is_mask_file(p))
    if found:
        raise FileExistsError(
            f"checkpoint_dir {path} holds {', '.join(found)} from an earlier run: pass "
            "resume=True to continue that run, or write into another (or an empty) directory"
        )


def _is_mask_file(path: Path) -> bool:
    return path.name.startswith("masks-") and path.suffix == ".pt"


def write_checkpoint(directory: str | os.PathLike, state: dict) -> None:
    """Write ``state`` to ``directory`` (created if missing) so that a crash at any moment
    leaves the previous checkpoint intact (:func:`glai.io.atomic.write_atomic`)."""
    path = checkpoint_path(directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda handle: torch.save({"format": FORMAT, **state}, handle))


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
    tag = state.get("format") if isinstance(state, dict) else None
    if tag != FORMAT:
        found = repr(tag) if isinstance(state, dict) else f"a {type(state).__name__}"
        raise ValueError(
            f"{path} is not a glai checkpoint: expected format tag {FORMAT!r}, found "
            f"{found}; delete it to train from scratch"
        )
    return state
