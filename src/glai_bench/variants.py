"""Quantitative-phase variants of GLAI against the equal-width MLP, at fixed settings."""

from __future__ import annotations

import os
from pathlib import Path

from glai.nn.block import GLAI
from glai.nn.mlp import MLP
from glai.nn.monitor import StructureMonitor
from glai.nn.parameters import matched_width
from glai_bench.bench_features import feature_splits
from glai_bench.comparison import EQUAL_WIDTH, Candidate
from glai_bench.datasets import Splits, fashion_mnist_pixel_splits
from glai_bench.protocol import run_setting
from glai_bench.settings import Budget

LR = 1e-3


def variant_candidates(splits: Splits, mlp_hidden: int, options: dict) -> list[Candidate]:
    """GLAI's variants, the equal-width MLP, and that MLP with the early switches'
    two-phase schedules (to separate freezing from scheduling)."""
    width = matched_width(splits.in_features, mlp_hidden, splits.classes)
    n, c = splits.in_features, splits.classes
    base = {**options, "structural_lr": LR}

    def glai() -> GLAI:
        return GLAI(n, width, c)

    def mlp() -> MLP:
        return MLP(n, width, c)

    def after(epochs: int) -> dict:
        """Switch after ``epochs`` structural epochs, then a tenth of the rate."""
        monitor = StructureMonitor.after(epochs)
        return {**base, "monitor": monitor, "lr": LR / 10}

    row_space = {"quantitative": "row_space"}
    return [
        Candidate(EQUAL_WIDTH, mlp, base),
        Candidate("MLP, equal width, switch after 4 epochs, lr/10", mlp, after(4)),
        Candidate("MLP, equal width, switch after 2 epochs, lr/10", mlp, after(2)),
        Candidate("GLAI, quantitative lr = structural lr", glai, {**base, "lr": LR}),
        Candidate("GLAI, quantitative lr x3", glai, {**base, "lr": 3 * LR}),
        Candidate("GLAI, quantitative lr /10", glai, {**base, "lr": LR / 10}),
        Candidate("GLAI, switch after 4 epochs, lr/10", glai, after(4)),
        Candidate("GLAI, switch after 2 epochs, lr/10", glai, after(2)),
        Candidate("GLAI, row space, lr/10", glai, {**base, "lr": LR / 10, **row_space}),
        Candidate("GLAI, switch after 2 epochs, row space, lr/10", glai, after(2) | row_space),
    ]


def run_variants(
    budget: Budget, cache: Path, out: Path, root: str | os.PathLike | None, progress: bool
) -> dict:
    """The variants on the ``head`` and ``pixels`` data, each against the equal-width MLP."""
    options = {"epochs": budget.epochs, "early_stopping": budget.early_stopping, "batch_size": 256}
    head = feature_splits(
        cache, budget.train_limit, budget.test_limit, budget.val_size, root, progress
    )
    train_size = None if budget.train_limit is None else budget.train_limit - budget.val_size
    pixels = fashion_mnist_pixel_splits(
        root, train_size=train_size, val_size=budget.val_size, test_size=budget.test_limit
    )
    results = {}
    for name, splits, hidden in (
        ("variants-head", head, budget.mlp_hidden),
        ("variants-pixels", pixels, budget.mlp_hidden // 2),
    ):
        note = (
            f"Learning rate {LR}, no selection; MLP hidden width "
            f"{matched_width(splits.in_features, hidden, splits.classes)} for all models; "
            "speedups against the equal-width MLP."
        )
        results[name] = run_setting(
            name,
            variant_candidates(splits, hidden, options),
            splits,
            (),
            budget.seeds,
            out,
            notes=[note],
            progress=progress,
            select_options=False,
            reference=EQUAL_WIDTH,
        )
    (out / "variants.md").write_text(
        "\n\n".join((out / f"{name}.md").read_text().strip() for name in results) + "\n"
    )
    return {"settings": list(results)}
