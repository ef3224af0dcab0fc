"""Run a frozen backbone once over a data set and cache its features on disk."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from glai.io.atomic import replace_atomic, write_atomic

logger = logging.getLogger(__name__)

CACHE_FORMAT = "glai-features-1"


@dataclass(frozen=True)
class _CacheFiles:
    """The files of one feature cache, all next to the ``.npy`` array."""

    array: Path

    @property
    def meta(self) -> Path:
        """``<array>.json``: the finished cache's format tag and fingerprint."""
        return self.array.with_name(self.array.name + ".json")

    @property
    def partial(self) -> Path:
        """``<array>.partial``: the array while it is being written."""
        return self.array.with_name(self.array.name + ".partial")

    @property
    def partial_meta(self) -> Path:
        """``<array>.partial.json``: how many rows of the partial array are written."""
        return self.array.with_name(self.array.name + ".partial.json")


def _fingerprint(backbone: object, first: torch.Tensor, count: int, key: str) -> str:
    """What the cache depends on: the backbone's weights (if a module), the number of
    samples and the first batch of the data, and the caller's key."""
    digest = hashlib.sha256()
    digest.update(f"{key}|{count}|{tuple(first.shape)}|{first.dtype}".encode())
    digest.update(first.detach().cpu().contiguous().numpy().tobytes())
    state = backbone.state_dict() if isinstance(backbone, torch.nn.Module) else {}
    for name, tensor in sorted(state.items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().view(-1).float().numpy().tobytes())
    return digest.hexdigest()


def _write_json(path: Path, data: dict) -> None:
    write_atomic(path, lambda handle: handle.write(json.dumps(data).encode()))


def _read_meta(path: Path) -> dict | None:
    """The metadata object in ``path``; ``None`` if it is missing or damaged, or if its
    format tag is not :data:`CACHE_FORMAT` (then a warning names the file and the tag)."""
    try:
        meta = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(meta, dict):
        return None
    if meta.get("format") != CACHE_FORMAT:
        logger.warning(
            "feature cache metadata %s has format tag %r, expected %r; rebuilding the cache",
            path,
            meta.get("format"),
            CACHE_FORMAT,
        )
        return None
    return meta


def _inputs_of(batch: object) -> torch.Tensor:
    return batch[0] if isinstance(batch, (tuple, list)) else batch


@torch.inference_mode()
def extract_features(
    backbone: Callable[[torch.Tensor], torch.Tensor],
    data: torch.Tensor | Dataset,
    cache_path: str | os.PathLike,
    *,
    batch_size: int = 256,
    key: str = "",
    device: torch.device | str | None = None,
    mmap: bool = False,
    progress: bool = False,
) -> torch.Tensor:
    """Features of every sample of ``data`` through a frozen ``backbone``, cached on disk.

    The first call writes ``cache_path`` (a ``.npy`` array) and ``cache_path.json`` (its
    fingerprint); later calls with the same backbone weights, data and ``key`` just load
    it. Writing goes to ``cache_path.partial`` with its progress saved after every batch,
    so an interrupted extraction resumes where it stopped; the finished file appears by
    an atomic rename, so a reader never sees half a cache. A cache whose fingerprint does
    not match (other weights, other data, other key), or that is damaged, is rebuilt.
    Both JSON files carry the format tag :data:`CACHE_FORMAT`, checked when they are read
    back: as features are only a cache, one with a foreign tag (a finished cache or the
    progress of a partial one) is not an error but is rebuilt from scratch, with a
    logged warning naming the JSON file and the tag it holds.

    Args:
        backbone: maps a batch of inputs to (batch, n_features) features; an
            ``nn.Module`` is put in eval mode.
        data: a tensor of inputs, or a Dataset whose items are ``x`` or ``(x, ...)``;
            read in order.
        cache_path: the ``.npy`` file to write or read.
        batch_size: samples per backbone call.
        key: anything else the features depend on (e.g. the preprocessing), kept in the
            fingerprint.
        device: where to run the backbone (default: where its parameters are).
        mmap: return a read-only tensor mapped from the file instead of loading it, for
            data larger than memory (:func:`glai.fit` streams batches from it).
        progress: show a progress bar.

    Returns:
        (n_samples, n_features) float32 features, in ``data``'s order.
    """
    files = _CacheFiles(Path(cache_path))
    files.array.parent.mkdir(parents=True, exist_ok=True)
    device = _prepare_backbone(backbone, device)
    batches = DataLoader(data, batch_size=batch_size) if isinstance(data, Dataset) else None
    count = len(data)
    first = _inputs_of(next(iter(batches))) if batches else data[:batch_size]
    fingerprint = _fingerprint(backbone, first, count, key)
    cached = _load_finished(files, fingerprint, count, mmap)
    if cached is not None:
        return cached
    source = batches if batches is not None else data.split(batch_size)
    _extract_remaining(backbone, source, device, files, fingerprint, count, progress)
    _finish(files, fingerprint, count, key)
    return load_features(files.array, mmap)


def _prepare_backbone(
    backbone: Callable[[torch.Tensor], torch.Tensor], device: torch.device | str | None
) -> torch.device | str | None:
    """Put an ``nn.Module`` backbone in eval mode.

    Returns:
        ``device``, or where the module's parameters are if it is ``None``.
    """
    if isinstance(backbone, torch.nn.Module):
        backbone.eval()
        if device is None:
            device = next(backbone.parameters()).device
    return device


def _load_finished(
    files: _CacheFiles, fingerprint: str, count: int, mmap: bool
) -> torch.Tensor | None:
    """The finished cache, if its format tag and fingerprint match and it is whole.

    Otherwise logs why it is rebuilt (if it exists) and removes its metadata, so that no
    stale fingerprint outlives the rebuild.

    Returns:
        The features as :func:`load_features` gives them, or ``None``: rebuild them.
    """
    finished = _read_meta(files.meta)
    if finished and finished.get("fingerprint") == fingerprint and finished.get("complete"):
        try:
            features = np.load(files.array, mmap_mode="r")
            if features.shape[0] == count:
                return load_features(files.array, mmap)
        except (OSError, ValueError):
            pass
        logger.warning("feature cache %s is damaged; rebuilding it", files.array)
    elif finished:
        logger.warning(
            "feature cache %s was made from other weights or data; rebuilding", files.array
        )
    files.meta.unlink(missing_ok=True)
    return None


def _open_partial(files: _CacheFiles, fingerprint: str, count: int) -> tuple[np.memmap | None, int]:
    """The partial array an interrupted extraction with this fingerprint left behind.

    Returns:
        The array opened for writing and the number of rows already in it, or
        ``(None, 0)`` to start from scratch.
    """
    state = _read_meta(files.partial_meta)
    if state and state.get("fingerprint") == fingerprint and files.partial.is_file():
        try:
            features = np.lib.format.open_memmap(files.partial, mode="r+")
            done = int(state["rows_done"])
            logger.info("resuming feature extraction at sample %d of %d", done, count)
            return features, done
        except (OSError, ValueError, KeyError):
            pass
    return None, 0


def _extract_remaining(
    backbone: Callable[[torch.Tensor], torch.Tensor],
    source: Iterable[object],
    device: torch.device | str | None,
    files: _CacheFiles,
    fingerprint: str,
    count: int,
    progress: bool,
) -> None:
    """Write the features of the batches not yet in the partial array into it.

    Resumes the partial array if :func:`_open_partial` finds one, else creates it at the
    first batch; after every batch the array is flushed and its progress saved.
    """
    features, done = _open_partial(files, fingerprint, count)
    bar = tqdm(total=count, initial=done, disable=not progress, desc="features", unit="img")
    position = 0
    for batch in source:
        inputs = _inputs_of(batch)
        if position + len(inputs) <= done:
            position += len(inputs)
            continue
        output = backbone(inputs.to(device) if device is not None else inputs)
        output = output.float().cpu().numpy()
        if features is None:
            features = np.lib.format.open_memmap(
                files.partial, mode="w+", dtype=np.float32, shape=(count, output.shape[1])
            )
        skip = max(0, done - position)
        features[position + skip : position + len(inputs)] = output[skip:]
        position += len(inputs)
        features.flush()
        progress_made = {"format": CACHE_FORMAT, "fingerprint": fingerprint, "rows_done": position}
        _write_json(files.partial_meta, progress_made)
        bar.update(len(inputs) - skip)
    bar.close()


def _finish(files: _CacheFiles, fingerprint: str, count: int, key: str) -> None:
    """Atomically rename the partial array onto the cache; record its fingerprint."""
    replace_atomic(files.partial, files.array)
    _write_json(
        files.meta,
        {
            "format": CACHE_FORMAT,
            "fingerprint": fingerprint,
            "complete": True,
            "rows": count,
            "key": key,
        },
    )
    files.partial_meta.unlink(missing_ok=True)


def load_features(path: str | os.PathLike, mmap: bool = False) -> torch.Tensor:
    """A ``.npy`` feature array as a tensor: in memory, or mapped read-only from the file."""
    if not mmap:
        return torch.from_numpy(np.load(path))
    with warnings.catch_warnings():  # the mapping is read-only; nothing here writes to it
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(np.load(path, mmap_mode="r"))
