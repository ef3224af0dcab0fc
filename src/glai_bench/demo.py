"""The main job: GLAI against its two MLP baselines on offline data, with plots."""

from __future__ import annotations

import logging
import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from glai.nn.block import GLAI
from glai.nn.pruning import pruning_curve
from glai_bench.comparison import (
    EQUAL_PARAMETERS,
    GLAI_NAME,
    accuracy,
    markdown_table,
    run_candidates,
    standard_candidates,
    summarize,
)
from glai_bench.datasets import Splits, digits_splits, fashion_mnist_pixel_splits
from glai_bench.fashion_mnist import fashion_mnist_available
from glai_bench.plots import plot_accuracy_against_time, plot_pruning, plot_structure_change

logger = logging.getLogger(__name__)

PRUNE_FRACTIONS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


@dataclass
class DemoTask:
    """One data set of the demo and the reference MLP's hidden width."""

    splits: Splits
    mlp_width: int


def demo_tasks(
    fashion_root: str | os.PathLike | None = None, quick: bool = False
) -> list[DemoTask]:
    """Digits always; Fashion-MNIST pixels (a 20,000-image training subset) when present."""
    tasks = [DemoTask(digits_splits(), 128)]
    if fashion_mnist_available(fashion_root):
        size = 4_000 if quick else 20_000
        splits = fashion_mnist_pixel_splits(
            fashion_root, train_size=size, val_size=size // 4, test_size=size // 2
        )
        tasks.append(DemoTask(splits, 256))
    else:
        logger.info("Fashion-MNIST not found: the demo runs on digits only")
    return tasks


def run_demo(
    out_dir: str | os.PathLike,
    seeds: Sequence[int] = (0, 1, 2),
    fashion_root: str | os.PathLike | None = None,
    quick: bool = False,
    progress: bool = False,
) -> str:
    """Train the equal-parameter MLP, the equal-width MLP and GLAI side by side.

    Writes ``demo.md`` (the tables) and per task ``<task>-accuracy.png``,
    ``<task>-structure.png`` and ``<task>-pruning.png`` into ``out_dir``.

    Args:
        out_dir: directory for the report and plots (created if needed).
        seeds: one run per model per seed, interleaved by seed.
        fashion_root: Fashion-MNIST directory (see
            :func:`glai_bench.fashion_mnist.fashion_mnist_root`).
        quick: smaller data and fewer epochs, for tests.
        progress: show progress bars.

    Returns:
        The markdown report.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    options = {"epochs": 10, "early_stopping": 3} if quick else {}
    sections = [
        "# glai demo",
        "",
        f"Machine: {platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} threads, torch {torch.__version__}. Seeds: {list(seeds)}.",
        "Time to MVA: wall-clock seconds until validation accuracy first reaches the "
        "equal-parameter MLP's maximum validation accuracy (MVA) of the same seed, GLAI's "
        "structural phase and mask caching included; speedup: that MLP's time divided by "
        "the model's (geometric mean over seeds, 95% interval).",
    ]
    for task in demo_tasks(fashion_root, quick):
        sections += _run_task(task, out, seeds, options, progress)
    report = "\n".join(sections) + "\n"
    (out / "demo.md").write_text(report)
    return report


def _run_task(
    task: DemoTask, out: Path, seeds: Sequence[int], options: dict, progress: bool
) -> list[str]:
    """Train, tabulate and plot one task; returns its report lines."""
    splits = task.splits
    slug = splits.name.split()[0]
    candidates = standard_candidates(splits.in_features, task.mlp_width, splits.classes, options)
    results = run_candidates(
        candidates, splits.train, splits.val, splits.test, seeds, progress=progress
    )
    runs = {
        name: [r.history for r in results if r.candidate == name]
        for name in dict.fromkeys(r.candidate for r in results)
    }
    plot_accuracy_against_time(
        runs, out / f"{slug}-accuracy.png", f"{splits.name}: validation accuracy against time"
    )
    first_glai = next(r for r in results if r.candidate == GLAI_NAME)
    plot_structure_change(
        first_glai.history,
        out / f"{slug}-structure.png",
        f"{splits.name}: structure settles before the weights",
    )
    glai_model: GLAI = first_glai.model
    curve = pruning_curve(glai_model, PRUNE_FRACTIONS, lambda model: accuracy(model, splits.test))
    plot_pruning(
        PRUNE_FRACTIONS,
        {GLAI_NAME: curve},
        out / f"{slug}-pruning.png",
        f"{splits.name}: pruning GLAI by path norm",
    )
    return [
        "",
        f"## {splits.name}",
        "",
        f"{len(splits.train[0]):,} train, {len(splits.val[0]):,} validation, "
        f"{len(splits.test[0]):,} test samples; MLP hidden width {task.mlp_width}.",
        "",
        markdown_table(summarize(results, reference=EQUAL_PARAMETERS)),
        "",
        f"![accuracy against time]({slug}-accuracy.png)",
        f"![structural change]({slug}-structure.png)",
        f"![pruning by path norm]({slug}-pruning.png)",
    ]
