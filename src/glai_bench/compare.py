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
from glai_bench.panel_data import CLASSIFICATION, CROSS_VALIDATION_LIMIT, PanelTask, classes
from glai_bench.panel_models import TORCH_MODELS, Fitted
from glai_bench.panel_report import task_table, verdict_line
from glai_bench.panel_tasks import PANEL_FULL
from glai_bench.plots import plot_accuracy_against_time
from glai_bench.protocol import environment, write_report

DEFAULT_FOLDS, DEFAULT_SEEDS = 5, 3
TEST_FRACTION = 0.2
REPORT = "compare"
PLOT = "compare-validation.png"


def user_task(
    name: str,
    features: np.ndarray,
    labels: np.ndarray,
    kind: str,
    columns: list[str] | None = None,
    text: Mapping[str, np.ndarray] | None = None,
) -> PanelTask:
    """A user's data as a panel task scored by cross-validation (see :func:`held_out`).

    Args:
        name: the task's label (the file's name).
        features: float32 (n, d) numeric columns (NaN: missing).
        labels: (n,) targets: any labels for classification, numbers for regression.
        kind: ``"classification"`` or ``"regression"``.
        columns: the names of the numeric columns (``None``: positional).
        text: categorical columns, name -> (n,) words; one-hot encoded on each training
            part, as the panel's tables are.

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
    return PanelTask(name, "user data", kind, data, targets, categorical=tuple(text or ()))


def held_out(task: PanelTask, seed: int = 0) -> PanelTask:
    """``task`` with a fixed test split of :data:`TEST_FRACTION` (stratified for classes
    when every class can be), for runs over seeds."""
    from sklearn.model_selection import train_test_split

    stratify = task.targets if task.kind == CLASSIFICATION else None
    try:
        parts = train_test_split(
            task.features,
            task.targets,
            test_size=TEST_FRACTION,
            random_state=seed,
            stratify=stratify,
        )
    except ValueError:  # a class too small to stratify
        parts = train_test_split(
            task.features, task.targets, test_size=TEST_FRACTION, random_state=seed
        )
    x_train, x_test, y_train, y_test = parts
    return dataclasses.replace(task, features=x_train, targets=y_train, test=(x_test, y_test))


def run_comparison(
    task: PanelTask,
    out: Path,
    folds: int | None = None,
    seeds: int | None = None,
    progress: bool = False,
) -> dict:
    """Run every model of the panel on ``task``; writes ``compare.json``, ``compare.md``
    and the validation-against-time plot (``compare-validation.png``) into ``out``.

    Args:
        task: from :func:`user_task`.
        out: the report's directory (made if missing).
        folds: score by this many cross-validation folds.
        seeds: instead, score on a fixed 20% test split, once per seed ``0..seeds-1``.
            Neither: 5 folds up to 3,000 samples, else 3 seeds, as the panel does.
        progress: a progress bar over the splits (on stderr).

    Returns:
        The report: ``protocol``, ``models`` (per model, as the panel's task summaries),
        ``verdict``, ``table`` (markdown) and ``plot`` (its path).
    """
    if folds is None and seeds is None:
        small = len(task.targets) <= CROSS_VALIDATION_LIMIT
        folds, seeds = (DEFAULT_FOLDS, None) if small else (None, DEFAULT_SEEDS)
    budget = dataclasses.replace(PANEL_FULL, folds=folds or DEFAULT_FOLDS)
    if folds is None:
        task = held_out(task)
        budget = dataclasses.replace(budget, seeds=tuple(range(seeds)))
    protocol = f"{folds}-fold cross-validation" if folds else f"a 20% test split, {seeds} seeds"
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
