"""Benchmark data: Fashion-MNIST through a frozen EfficientNet-Lite0, cached once."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import torch

from glai.io.features import extract_features
from glai_bench.backbones import EfficientNetLite0Features, random_views
from glai_bench.datasets import Splits, split_off, standardized
from glai_bench.fashion_mnist import load_fashion_mnist

RESOLUTION = 64
CACHE_VARIABLE = "GLAI_CACHE"


def cache_dir(path: str | os.PathLike | None = None) -> Path:
    """Where features are cached: ``path``, else ``$GLAI_CACHE``, else ``~/.cache/glai``."""
    return Path(path or os.environ.get(CACHE_VARIABLE) or Path.home() / ".cache" / "glai")


@functools.cache
def backbone() -> EfficientNetLite0Features:
    """The frozen backbone, built once per process."""
    return EfficientNetLite0Features(RESOLUTION)


def cached_features(images: torch.Tensor, name: str, cache: Path, progress: bool) -> torch.Tensor:
    """Backbone features of ``images``, cached in ``cache`` as ``<name>-lite0-64px.npy``."""
    return extract_features(
        backbone(),
        images,
        cache / f"{name}-lite0-{RESOLUTION}px.npy",
        key=f"EfficientNet-Lite0, {RESOLUTION}px bilinear, [-1, 1], global average pool",
        progress=progress,
    )


def fashion_images(
    split: str, limit: int | None, root: str | os.PathLike | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``limit`` (all if ``None``) Fashion-MNIST images and labels of ``split``."""
    images, labels = load_fashion_mnist(split, root)
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    return images, labels


def feature_splits(
    cache: Path,
    train_limit: int | None = None,
    test_limit: int | None = None,
    val_size: int = 10_000,
    root: str | os.PathLike | None = None,
    progress: bool = False,
    standardize: bool = True,
) -> Splits:
    """Backbone features of Fashion-MNIST: train/val split off the official training set.

    Features are standardised with the training split's statistics (unless
    ``standardize`` is false).

    Args:
        cache: feature cache directory.
        train_limit: use only the first images of the official training set.
        test_limit: use only the first images of the test set.
        val_size: validation images split off (at random, seed 0) the training images.
        root: Fashion-MNIST directory.
        progress: progress bars while extracting.
    """
    images, labels = fashion_images("train", train_limit, root)
    features = cached_features(images, f"fashion-train-{len(images)}", cache, progress)
    test_images, test_labels = fashion_images("test", test_limit, root)
    test = cached_features(test_images, f"fashion-test-{len(test_images)}", cache, progress)
    train, val = split_off(features, labels, val_size, seed=0)
    splits = Splits("fashion-mnist features", train, val, (test, test_labels))
    return standardized(splits) if standardize else splits


def view_features(
    cache: Path,
    count: int,
    views: int = 2,
    seed: int = 0,
    root: str | os.PathLike | None = None,
    progress: bool = False,
) -> torch.Tensor:
    """Features of ``views`` augmented views of the first ``count`` training images.

    Returns:
        (count, views, 1280) float32.
    """
    images, _ = fashion_images("train", count, root)
    per_view = []
    for view in range(views):
        generator = torch.Generator().manual_seed(1000 * seed + view)
        augmented = random_views(images, generator)
        per_view.append(
            cached_features(
                augmented, f"fashion-train-{count}-view{view}-seed{seed}", cache, progress
            )
        )
    return torch.stack(per_view, 1)
