"""Mask cache files: a :class:`glai.MaskCache` written atomically and read back."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import torch

from glai.io.atomic import write_atomic
from glai.nn.mask_cache import MaskCache

FORMAT = "glai-masks-2"
"""The format tag of mask cache files (version 2 records the cache's fingerprint)."""


def save_masks(cache: MaskCache, path: str | os.PathLike) -> None:
    """Write ``cache`` (its packed masks and fingerprint) to ``path``, tagged
    :data:`FORMAT`, atomically (:func:`glai.io.atomic.write_atomic`; the directory is
    created if missing)."""
    state = {
        "format": FORMAT,
        "packed": [layer.cpu() for layer in cache.packed],
        "widths": list(cache.widths),
        "sample_shape": list(cache.sample_shape),
        "fingerprint": cache.fingerprint,
    }
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda handle: torch.save(state, handle))


def load_masks(path: str | os.PathLike, mmap: bool = False) -> MaskCache:
    """Read a cache written by :func:`save_masks`; with ``mmap`` the packed masks stay in
    the file and are read as batches ask for them.

    Raises:
        ValueError: the file is unreadable, or its format tag is not :data:`FORMAT`.
    """
    try:
        state = torch.load(path, weights_only=True, mmap=mmap)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError) as error:
        raise ValueError(f"{path} is not a readable glai mask cache ({error})") from error
    tag = state.get("format") if isinstance(state, dict) else None
    if tag != FORMAT:
        found = repr(tag) if isinstance(state, dict) else f"a {type(state).__name__}"
        raise ValueError(
            f"{path} is not a glai mask cache: expected format tag {FORMAT!r}, found {found}"
        )
    try:
        return MaskCache(
            state["packed"], state["widths"], tuple(state["sample_shape"]), state["fingerprint"]
        )
    except (KeyError, TypeError) as error:
        raise ValueError(f"{path} is not a readable glai mask cache ({error})") from error
