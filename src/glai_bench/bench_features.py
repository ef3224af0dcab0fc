"""Benchmark data through frozen pretrained backbones, cached once: images (Fashion-MNIST,
scikit-learn's digits) through EfficientNet-Lite0, texts through MiniLM."""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from glai.io.features import extract_features
from glai_bench.backbones import EfficientNetLite0Features, MiniLMSentenceEncoder, random_views
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


@functools.cache
def text_encoder() -> MiniLMSentenceEncoder:
    """The frozen sentence encoder, built once per process."""
    return MiniLMSentenceEncoder()


def cached_text_features(
    texts: Sequence[str], name: str, cache: Path, progress: bool
) -> torch.Tensor:
    """MiniLM sentence embeddings of ``texts``, cached in ``cache`` as ``<name>-minilm.npy``.

    Texts are encoded shortest first, so that each batch pads to a similar length; the
    cache holds them in that order and the result is in the order of ``texts``.

    Returns:
        (len(texts), 384) float32.
    """
    encoder = text_encoder()
    order = np.argsort([len(text) for text in texts], kind="stable")
    tokens = encoder.tokenize([texts[i] for i in order])
    features = extract_features(
        encoder,
        tokens,
        cache / f"{name}-minilm.npy",
        batch_size=64,
        key="all-MiniLM-L6-v2, mean pooled, unit norm, at most 256 tokens, shortest first",
        progress=progress,
    )
    restored = torch.empty_like(features)
    restored[torch.from_numpy(order)] = features
    return restored


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
