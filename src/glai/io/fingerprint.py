"""Fingerprints: what a cached file was made from, so that it is never used for another.

(Feature caches keep the fingerprint they were first written with, in
:mod:`glai.io.features`, so that existing caches stay valid.)
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import torch

_CHUNK_BYTES = 1 << 26
"""Bytes hashed at a time (a memory-mapped tensor is read in chunks of this size)."""


def fingerprint(*parts: str | torch.Tensor | Mapping[str, torch.Tensor]) -> str:
    """SHA-256 of strings, tensors and named tensors (a ``state_dict``), in order.

    A tensor counts with its shape, dtype and every value (read a chunk at a time, so a
    memory-mapped tensor is never loaded whole); a mapping with its names, sorted.

    Returns:
        The hex digest.
    """
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, str):
            digest.update(b"s" + part.encode())
        elif isinstance(part, torch.Tensor):
            _update(digest, part)
        else:
            for name, tensor in sorted(part.items()):
                digest.update(b"n" + name.encode())
                _update(digest, tensor)
    return digest.hexdigest()


def _update(digest: hashlib._Hash, tensor: torch.Tensor) -> None:
    digest.update(f"t{tuple(tensor.shape)}{tensor.dtype}".encode())
    flat = tensor.detach().reshape(-1)
    step = max(1, _CHUNK_BYTES // max(flat.element_size(), 1))
    for start in range(0, len(flat), step):
        chunk = flat[start : start + step].cpu().contiguous()
        digest.update(chunk.view(torch.uint8).numpy().tobytes())
