"""``glai compare``: the panel's comparison on a user's own data.

GLAI with its defaults against the equal-parameter and equal-width MLPs, the control (the
equal-width MLP in GLAI's two phases), scikit-learn's default MLP, a linear model and an
RBF kernel, over a few seeds or folds, exactly as the panel runs one of its tasks
(:mod:`glai_bench.panel`): features prepared on each training part (categorical columns
one-hot encoded), one untimed warm-up, the same verdict.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from glai_bench.panel import run_task, summarize_models, verdict, warm_up
from glai_bench.panel_data import (
    CLASSIFICATION,
    CROSS_VALIDATION_LIMIT,
    PanelTask,
    classes,
    scored,
)
from glai_bench.panel_models import TORCH_MODELS, Fitted
from glai_bench.panel_report import task_table, verdict_line
from glai_bench.panel_tasks import PANEL_FULL, PanelBudget
from glai_bench.plots import plot_accuracy_against_time
from glai_bench.protocol import environment, write_report

DEFAULT_FOLDS, DEFAULT_SEEDS = 5, 3
REPORT = "compare"
PLOT = "compare-validation.png"


def user_task(
    name: str,
    features: np.ndarray,
    labels: np.ndarray,
    kind: str,
    columns: list[str] | None = None,
    text: Mapping[str, np.ndarray] | None = None,
    folds: int | None = None,
    seeds: int | None = None,
) -> tuple[PanelTask, PanelBudget]:
    """A user's data as a panel task, and the budget that scores it by ``folds``-fold
    cross-validation or on a fixed 20% test split once per seed ``0..seeds-1``.

    Args:
        name: the task's label (the file's name).
        features: float32 (n, d) numeric columns (NaN: missing).
        labels: (n,) targets: any labels for classification, numbers for regression.
        kind: ``"classification"`` or ``"regression"``.
        columns: the names of the numeric columns (``None``: positional).
        text: categorical columns, name -> (n,) words; one-hot encoded on each training
            part, as the panel's tables are.
        folds: score by this many cross-validation folds.
        seeds: instead, score on a fixed 20% test split over this many seeds. Neither:
            5 folds up to 3,000 samples, else 3 seeds, as the panel does.

    Raises:
        ValueError: regression asked for on targets that are not numbers.
    """
    if kind == CLASSIFICATION:
        targets = classes(labels)
    else:
        try:
            targets = np.asarray(labels, dtype=np.float64)
        except ValueError:
            raise ValueError(
                f"{name}: regression needs numeric targets, got text such as {str(labels[0])!r} "
                "(use --task classification)"
            ) from None
    data: np.ndarray | pd.DataFrame = features
    if text:
        names = columns or [f"x{i}" for i in range(features.shape[1])]
        data = pd.DataFrame(features, columns=names).assign(**dict(text))
    if folds is None and seeds is None:
        small = len(targets) <= CROSS_VALIDATION_LIMIT
        folds, seeds = (DEFAULT_FOLDS, None) if small else (None, DEFAULT_SEEDS)
    task = scored(name, "user data", kind, data, targets, tuple(text or ()), folds is not None)
    budget = dataclasses.replace(
        PANEL_FULL, folds=folds or DEFAULT_FOLDS, seeds=tuple(range(seeds or DEFAULT_SEEDS))
    )
    return task, budget


def run_comparison(task: PanelTask, budget: PanelBudget, out: Path, progress: bool = False) -> dict:
    """Run every model of the panel on ``task`` as ``budget`` says (see
    :func:`user_task`); writes ``compare.json``, ``compare.md`` and the
    validation-against-time plot (``compare-validation.png``) into ``out``.

    Args:
        task: from :func:`user_task`.
        budget: from :func:`user_task`.
        out: the report's directory (made if missing).
        progress: a progress bar over the splits (on stderr).

    Returns:
        The report: ``protocol``, ``models`` (per model, as the panel's task summaries),
        ``verdict``, ``verdict_line``, ``table`` (markdown) and ``plot`` (its path).
    """
    protocol = (
        f"{budget.folds}-fold cross-validation"
        if task.test is None
        else f"a 20% test split, {len(budget.seeds)} seed(s)"
    )
    warm_up(task, budget)
    results, inputs = run_task(task, budget, progress)
    models = summarize_models(results)
    figures = verdict(task.kind, models)
    out.mkdir(parents=True, exist_ok=True)
    plot = out / PLOT
    plot_accuracy_against_time(_histories(results), plot, title=f"{task.name}: validation")
    samples = len(task.targets) + (len(task.test[1]) if task.test is not None else 0)
    header = (
        f"{task.name}: {task.kind}, {samples:,} samples, {inputs} inputs after preparation; "
        f"{protocol}."
    )
    table = "\n".join([header, "", *task_table({"kind": task.kind, "models": models})])
    result = {
        "task": task.name,
        "kind": task.kind,
        "protocol": protocol,
        "inputs": inputs,
        "environment": environment(),
        "models": models,
        "verdict": figures,
        "verdict_line": verdict_line(task.kind, figures),
        "plot": str(plot),
    }
    result["table"] = f"{table}\n\n{result['verdict_line']}"
    write_report(out, REPORT, result, result["table"])
    return result


def _histories(results: list[Fitted]) -> dict[str, list]:
    """The torch models' training histories, per model."""
    return {name: [r.history for r in results if r.model == name] for name in TORCH_MODELS}
