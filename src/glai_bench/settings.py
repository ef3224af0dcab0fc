"""The supervised-head, raw-pixel and self-supervised projection-head settings."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from glai.nn.losses import nt_xent
from glai_bench.bench_features import feature_splits, view_features
from glai_bench.datasets import (
    Splits,
    fashion_mnist_pixel_splits,
    feature_statistics,
    split_off,
    standardized,
)
from glai_bench.protocol import benchmark_candidates, run_setting


@dataclass(frozen=True)
class Budget:
    """How much of the data and of the protocol a run uses (full, or quick for tests)."""

    train_limit: int | None  # official training images used (None: all 60,000)
    test_limit: int | None
    val_size: int
    ssl_images: int
    mlp_hidden: int
    learning_rates: tuple[float, ...]
    seeds: tuple[int, ...]
    epochs: int
    early_stopping: int
    episodes: int
    selection_episodes: int


FULL = Budget(
    train_limit=None,
    test_limit=None,
    val_size=10_000,
    ssl_images=10_000,
    mlp_hidden=512,
    learning_rates=(3e-4, 1e-3, 3e-3),
    seeds=(1, 2, 3),
    epochs=30,
    early_stopping=5,
    episodes=500,
    selection_episodes=100,
)
QUICK = Budget(
    train_limit=2_500,
    test_limit=1_000,
    val_size=500,
    ssl_images=1_500,
    mlp_hidden=128,
    learning_rates=(1e-3,),
    seeds=(1,),
    epochs=8,
    early_stopping=3,
    episodes=20,
    selection_episodes=5,
)


def _options(budget: Budget) -> dict:
    return {"epochs": budget.epochs, "early_stopping": budget.early_stopping, "batch_size": 256}


def run_head(
    budget: Budget, cache: Path, out: Path, root: str | os.PathLike | None, progress: bool
) -> dict:
    """Supervised classification head on frozen EfficientNet-Lite0 features."""
    splits = feature_splits(
        cache, budget.train_limit, budget.test_limit, budget.val_size, root, progress
    )
    candidates = benchmark_candidates(
        splits.in_features, budget.mlp_hidden, splits.classes, _options(budget)
    )
    return run_setting(
        "head",
        candidates,
        splits,
        budget.learning_rates,
        budget.seeds,
        out,
        notes=[_describe(splits, budget.mlp_hidden)],
        progress=progress,
    )


def run_pixels(
    budget: Budget, cache: Path, out: Path, root: str | os.PathLike | None, progress: bool
) -> dict:
    """Classification of raw Fashion-MNIST pixels, no backbone."""
    train_size = None if budget.train_limit is None else budget.train_limit - budget.val_size
    splits = fashion_mnist_pixel_splits(
        root, train_size=train_size, val_size=budget.val_size, test_size=budget.test_limit
    )
    hidden = budget.mlp_hidden // 2
    candidates = benchmark_candidates(splits.in_features, hidden, splits.classes, _options(budget))
    return run_setting(
        "pixels",
        candidates,
        splits,
        budget.learning_rates,
        budget.seeds,
        out,
        notes=[_describe(splits, hidden)],
        progress=progress,
    )


@dataclass
class ProjectionData:
    """The self-supervised setting's data.

    Attributes:
        splits: training and validation pairs of ``(views, zeros)``, views of shape
            (n, 2, 1280) standardised as the clean features; the clean test features and
            labels as the test pair.
        probe_train: clean training features and labels, for :meth:`scores`.
    """

    splits: Splits
    probe_train: tuple[torch.Tensor, torch.Tensor]

    def scores(self, model: nn.Module) -> dict[str, float]:
        """:func:`representation_scores` of ``model``'s projections on the test images."""
        return representation_scores(model, self.probe_train, self.splits.test)

    @torch.no_grad()
    def knn_accuracy(self, model: nn.Module) -> float:
        """The kNN accuracy of :meth:`scores` alone (no linear probe to fit); ``model``
        is left in eval mode."""
        model.eval()
        train, test = self.probe_train, self.splits.test
        projected = [(torch.nn.functional.normalize(model(x), dim=1), y) for x, y in (train, test)]
        return nearest_neighbour_accuracy(*projected)


def projection_data(
    budget: Budget, cache: Path, root: str | os.PathLike | None, progress: bool
) -> ProjectionData:
    """Features of two augmented views of ``budget.ssl_images`` Fashion-MNIST training
    images (a fifth held out for validation), and the clean features that score the
    projections."""
    raw_clean = feature_splits(
        cache,
        budget.train_limit,
        budget.test_limit,
        budget.val_size,
        root,
        progress,
        standardize=False,
    )
    clean = standardized(raw_clean)
    mean, scale = feature_statistics(raw_clean.train[0])
    raw = view_features(cache, budget.ssl_images, views=2, root=root, progress=progress)
    views = (raw - mean) / scale  # the clean features' standardisation
    dummy = torch.zeros(len(views))
    train, val = split_off(views, dummy, len(views) // 5, seed=0)
    probe_train = (clean.train[0][:10_000], clean.train[1][:10_000])
    return ProjectionData(Splits("ssl", train, val, clean.test), probe_train)


def run_ssl(
    budget: Budget, cache: Path, out: Path, root: str | os.PathLike | None, progress: bool
) -> dict:
    """SimCLR projection head on precomputed features of two augmented views per image.

    The heads are trained with NT-Xent (validation NT-Xent drives early stopping and time
    to target); the learned projection of clean images is scored by 20-nearest-neighbour
    (cosine) and linear-probe accuracy, fitted on training images and tested on the test
    split (:func:`projection_data`).
    """
    data = projection_data(budget, cache, root, progress)
    splits = data.splits
    train, val = splits.train, splits.val
    options = {**_options(budget), "loss": nt_xent, "metric": "loss"}
    candidates = benchmark_candidates(train[0].shape[-1], budget.mlp_hidden, 128, options)
    note = (
        f"{len(train[0]):,} training and {len(val[0]):,} validation images, two augmented "
        f"views each; projection 1280 -> {budget.mlp_hidden} -> 128 (reference MLP); "
        "time to target: validation NT-Xent reaching the equal-parameter MLP's best. "
        "Test scores on the projections of clean images."
    )
    return run_setting(
        "ssl",
        candidates,
        splits,
        budget.learning_rates,
        budget.seeds,
        out,
        evaluate=data.scores,
        notes=[note],
        progress=progress,
    )


@torch.no_grad()
def representation_scores(
    model: nn.Module,
    train: tuple[torch.Tensor, torch.Tensor],
    test: tuple[torch.Tensor, torch.Tensor],
    neighbours: int = 20,
) -> dict[str, float]:
    """kNN (cosine, majority of ``neighbours``) and linear-probe accuracy of projections."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    model.eval()
    train_z = torch.nn.functional.normalize(model(train[0]), dim=1)
    test_z = torch.nn.functional.normalize(model(test[0]), dim=1)
    knn = nearest_neighbour_accuracy((train_z, train[1]), (test_z, test[1]), neighbours)
    scaler = StandardScaler().fit(train_z.numpy())
    probe = LogisticRegression(max_iter=500).fit(
        scaler.transform(train_z.numpy()), train[1].numpy()
    )
    linear = float(np.mean(probe.predict(scaler.transform(test_z.numpy())) == test[1].numpy()))
    return {"kNN accuracy": knn, "linear-probe accuracy": linear}


def nearest_neighbour_accuracy(
    train: tuple[torch.Tensor, torch.Tensor],
    test: tuple[torch.Tensor, torch.Tensor],
    neighbours: int = 20,
) -> float:
    """Share of the test projections whose ``neighbours`` nearest training projections
    (by dot product: cosine for unit vectors) vote most often for their label.

    Args:
        train: (n, dim) unit projections and (n,) labels.
        test: (m, dim) unit projections and (m,) labels.
        neighbours: the number of voters.
    """
    votes = []
    for chunk in test[0].split(2048):
        nearest = (chunk @ train[0].T).topk(neighbours, dim=1).indices
        votes.append(torch.mode(train[1][nearest], dim=1).values)
    return float((torch.cat(votes) == test[1]).float().mean())


def _describe(splits: Splits, mlp_hidden: int) -> str:
    return (
        f"{len(splits.train[0]):,} train, {len(splits.val[0]):,} validation, "
        f"{len(splits.test[0]):,} test samples, {splits.in_features} features; "
        f"reference MLP hidden width {mlp_hidden}."
    )
