"""Fashion-MNIST from its standard IDX ``.gz`` files (as Debian's package installs them)."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import torch

DEFAULT_ROOT = "/usr/share/datasets/fashion-mnist"
ROOT_VARIABLE = "GLAI_FASHION_MNIST"
_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def fashion_mnist_root(root: str | os.PathLike | None = None) -> Path:
    """The directory holding the files: ``root``, else ``$GLAI_FASHION_MNIST``, else Debian's."""
    return Path(root or os.environ.get(ROOT_VARIABLE) or DEFAULT_ROOT)


def fashion_mnist_available(root: str | os.PathLike | None = None) -> bool:
    """Whether all four files are present."""
    directory = fashion_mnist_root(root)
    return all((directory / name).is_file() for pair in _FILES.values() for name in pair)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (optionally gzipped) into an array of its declared shape."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            data = handle.read()
    except (OSError, EOFError) as error:
        raise ValueError(f"{path} is not a readable IDX file ({error})") from error
    if len(data) < 4 or data[:2] != b"\x00\x00" or data[2] != 0x08:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    if len(data) - offset != int(np.prod(shape)):
        raise ValueError(
            f"{path} is truncated: header says {shape}, data has {len(data) - offset} bytes"
        )
    return np.frombuffer(data, np.uint8, offset=offset).reshape(shape)


def load_fashion_mnist(
    split: str = "train", root: str | os.PathLike | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Fashion-MNIST images and labels.

    Args:
        split: ``"train"`` (60,000 images) or ``"test"`` (10,000).
        root: directory of the IDX files; defaults to ``$GLAI_FASHION_MNIST`` or
            ``/usr/share/datasets/fashion-mnist``.

    Returns:
        images (n, 28, 28) uint8 and labels (n,) int64.

    Raises:
        FileNotFoundError: the files are missing; the message says how to install them.
    """
    if split not in _FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    directory = fashion_mnist_root(root)
    images_name, labels_name = _FILES[split]
    if not (directory / images_name).is_file() or not (directory / labels_name).is_file():
        raise FileNotFoundError(
            f"Fashion-MNIST files not found in {directory}. Install them with "
            "'apt-get install dataset-fashion-mnist', or point --fashion-mnist (or "
            f"${ROOT_VARIABLE}) at a directory holding {images_name} and {labels_name}"
        )
    images = read_idx(directory / images_name)
    labels = read_idx(directory / labels_name)
    if len(images) != len(labels):
        raise ValueError(f"{directory}: {len(images)} images but {len(labels)} labels")
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))
