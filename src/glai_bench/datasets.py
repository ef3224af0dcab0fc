"""Ready-to-train offline data: (train, val, test) splits of bundled and packaged datasets."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from glai_bench.fashion_mnist import load_fashion_mnist

Pair = tuple[torch.Tensor, torch.Tensor]


@dataclass
class Splits:
    """Train/validation/test ``(X, y)`` tensors of one classification task."""

    name: str
    train: Pair
    val: Pair
    test: Pair

    @property
    def in_features(self) -> int:
        return self.train[0].shape[1]

    @property
    def classes(self) -> int:
        return int(max(int(part[1].max()) for part in (self.train, self.val, self.test))) + 1


def split_off(x: torch.Tensor, y: torch.Tensor, count: int, seed: int) -> tuple[Pair, Pair]:
    """A random ``count`` samples split off: ``((x, y) rest, (x, y) split)``."""
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    rest, split = order[count:], order[:count]
    return (x[rest], y[rest]), (x[split], y[split])


def feature_statistics(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-feature mean and scale (standard deviation, at least 1e-3) of (n, features)."""
    return features.mean(0), features.std(0).clamp_min(1e-3)


def standardized(splits: Splits) -> Splits:
    """Each feature scaled to zero mean and unit variance on the training split."""
    mean, scale = feature_statistics(splits.train[0])

    def scaled(pair: Pair) -> Pair:
        return (pair[0] - mean) / scale, pair[1]

    return Splits(splits.name, scaled(splits.train), scaled(splits.val), scaled(splits.test))


def digits_splits(seed: int = 0) -> Splits:
    """scikit-learn's bundled 8x8 digits (1,797 images): 1,077 train, 360 val, 360 test."""
    from sklearn.datasets import load_digits

    features, labels = load_digits(return_X_y=True)
    x = torch.tensor(features, dtype=torch.float32) / 16.0
    y = torch.tensor(labels)
    rest, test = split_off(x, y, 360, seed)
    train, val = split_off(*rest, 360, seed + 1)
    return Splits("digits", train, val, test)


def fashion_mnist_pixel_splits(
    root: str | os.PathLike | None = None,
    train_size: int | None = None,
    val_size: int = 10_000,
    test_size: int | None = None,
    seed: int = 0,
) -> Splits:
    """Fashion-MNIST raw pixels, standardised: validation split off the training set.

    Args:
        root: directory of the IDX files (see :func:`glai_bench.fashion_mnist.load_fashion_mnist`).
        train_size: training samples kept after the validation split (default: all 50,000).
        val_size: validation samples taken from the official training set.
        test_size: test samples kept (default: all 10,000).
        seed: seed of the random splits and subsets.
    """
    images, labels = load_fashion_mnist("train", root)
    x = images.reshape(len(images), -1).float() / 255
    train, val = split_off(x, labels, val_size, seed)
    if train_size is not None:
        train = split_off(*train, train_size, seed + 1)[1]
    test_images, test_labels = load_fashion_mnist("test", root)
    test = (test_images.reshape(len(test_images), -1).float() / 255, test_labels)
    if test_size is not None:
        test = split_off(*test, test_size, seed + 2)[1]
    return standardized(Splits("fashion-mnist pixels", train, val, test))
