"""``glai bench prune``: test metric, parameters and inference time against the share of
hidden units removed, for GLAI and the equal-parameter MLP pruned by path norms (and the
MLP by weight magnitude), without and with retraining, against an MLP of the pruned width
trained from scratch (the control a user would pick).

On each task (a head on one of the panel's tasks, :func:`glai_bench.study_tasks.head_task`)
GLAI and the equal-parameter MLP are trained by :func:`glai.fit` with its defaults. Each is
then pruned at every share (:func:`glai.prune`, per layer); a pruned model is scored, then
retrained by :func:`glai.fit` with the same settings (a pruned GLAI is frozen, so only its
paths train; the pruned MLP trains whole) and scored again. The MLPs of the pruned widths
are trained from scratch with the same settings.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from glai.nn.modes import evaluating
from glai.nn.parameters import count_parameters
from glai.nn.pruning import prune
from glai.training.trainer import fit
from glai_bench.comparison import inference_ms_per_1k
from glai_bench.panel_tasks import PANEL_FULL, PANEL_QUICK, LoadContext, PanelBudget
from glai_bench.plots import plot_metric_against_parameters
from glai_bench.protocol import environment, write_report
from glai_bench.prune_report import (
    GLAI_MODEL,
    MLP_MODEL,
    PRUNED_BY,
    SCRATCH,
    half_targets,
    markdown,
    row_name,
)
from glai_bench.settings import QUICK, Budget
from glai_bench.study_tasks import StudyTask, head_task, warm_up_on

FRACTIONS = (0.0, 0.25, 0.5, 0.75, 0.9)
"""Shares of the hidden units removed."""

ADAPTIVE_PRUNING: dict[str, dict[str, Any]] = {
    "GLAI, adaptive pruning at 5%": {"prune_threshold": 0.05},
    "GLAI, adaptive pruning at 20%": {"prune_threshold": 0.2},
}
"""Rows of GLAI pruned while it trains: a row's name and the :func:`glai.fit` settings
that turn adaptive pruning on (units whose data path norm stays below that share of
their layer's largest for ``prune_patience`` epochs), each row run by
:func:`adaptive_row`."""


@dataclass(frozen=True)
class PruneBudget:
    """What a run of the study covers.

    Attributes:
        panel: how the panel's tasks are loaded (the first split of each is used).
        tasks: the panel's tasks studied.
        fractions: the shares of hidden units removed (0 first: the unpruned models).
        overrides: :func:`glai.fit` settings of every training (the library's defaults
            if empty).
        score_inputs: training inputs on which the data-aware path norm is computed.
        timing_repeats: calls timed for inference (median).
    """

    panel: PanelBudget
    tasks: tuple[str, ...]
    fractions: tuple[float, ...] = FRACTIONS
    overrides: dict = field(default_factory=dict)
    score_inputs: int = 1024
    timing_repeats: int = 5


PRUNE_TASKS = ("breast cancer", "digits", "ames", "reviews", "fashion EfficientNet-Lite0", "wages")
"""Binary and multiclass classification, regression; 455 to 22,524 training samples."""

PRUNE_FULL = PruneBudget(dataclasses.replace(PANEL_FULL, split_limit=1), PRUNE_TASKS)
PRUNE_QUICK = PruneBudget(
    dataclasses.replace(PANEL_QUICK, split_limit=1),
    tuple(name for name in PRUNE_TASKS if name != "reviews"),  # no sentence encoder to load
    overrides={"epochs": 2},
    score_inputs=64,
    timing_repeats=1,
)


@dataclass
class Point:
    """One model at one size: its hidden widths, parameters, test metric, inference
    milliseconds per 1,000 test inputs, and the seconds it trained or retrained
    (``None`` for a model pruned and not retrained)."""

    fraction: float
    hidden: list[int]
    parameters: int
    test: float
    inference_ms: float
    seconds: float | None = None


def point(
    task: StudyTask, model: nn.Module, fraction: float, repeats: int, seconds: float | None
) -> Point:
    """``model`` measured on ``task``'s test inputs (in eval mode, every submodule's mode
    restored after)."""
    with evaluating(model):
        test = task.score(model)
        inference = inference_ms_per_1k(model, task.test_inputs, repeats)
    hidden = list(model.hidden_features)
    return Point(fraction, hidden, count_parameters(model), test, inference, seconds)


def trained(task: StudyTask, model: nn.Module, options: dict[str, Any]) -> float:
    """Train ``model`` on ``task`` by :func:`glai.fit`; returns the fit's seconds."""
    history = fit(model, task.train, task.val, seed=task.seed, **options)
    return history[-1].seconds


def from_scratch(
    task: StudyTask, widths: list[int], options: dict[str, Any]
) -> tuple[nn.Module, float]:
    """An MLP of hidden ``widths`` trained from scratch, and its training seconds."""
    torch.manual_seed(task.seed)
    model = task.build_mlp(widths)
    return model, trained(task, model, options)


def adaptive_row(
    task: StudyTask, options: dict[str, Any], settings: dict[str, Any], repeats: int
) -> Point:
    """GLAI of ``task`` trained by :func:`glai.fit` with ``settings`` on top of
    ``options`` (adaptive pruning): one point, at the share of hidden units it ends
    without."""
    torch.manual_seed(task.seed)
    model = task.build_glai()
    units = sum(model.hidden_features)
    seconds = trained(task, model, {**options, **settings})
    removed = 1 - sum(model.hidden_features) / units
    return point(task, model, removed, repeats, seconds)


def prune_task(task: StudyTask, budget: PruneBudget) -> dict[str, Any]:
    """Every row of the study on ``task``."""
    options = {**task.fit_options, **budget.overrides}
    inputs = task.training_inputs(budget.score_inputs)
    torch.manual_seed(task.seed)
    models = {GLAI_MODEL: task.build_glai()}
    torch.manual_seed(task.seed)
    models[MLP_MODEL] = task.build_mlp(task.equal_parameter_width)
    training = {name: trained(task, model, options) for name, model in models.items()}
    rows: dict[str, list[Point]] = {}
    for fraction in budget.fractions:
        for name, model in models.items():
            widths = None
            for by in PRUNED_BY[name]:
                start = time.perf_counter()
                pruned = prune(
                    model, fraction, by=by, inputs=inputs if by == "data_path_norm" else None
                )
                pruning = time.perf_counter() - start
                widths = pruned.hidden_features
                rows.setdefault(row_name(name, by, False), []).append(
                    point(task, pruned, fraction, budget.timing_repeats, None)
                )
                seconds = pruning + trained(task, pruned, options)
                rows.setdefault(row_name(name, by, True), []).append(
                    point(task, pruned, fraction, budget.timing_repeats, seconds)
                )
            scratch, seconds = from_scratch(task, widths, options)
            rows.setdefault(SCRATCH[name], []).append(
                point(task, scratch, fraction, budget.timing_repeats, seconds)
            )
    adaptive = {
        name: adaptive_row(task, options, settings, budget.timing_repeats)
        for name, settings in ADAPTIVE_PRUNING.items()
    }
    summary = {
        "task": task.name,
        "problem": task.problem,
        "metric": task.metric,
        "train_size": task.train_size,
        "widths": {"glai": task.glai_width, "equal_parameters": task.equal_parameter_width},
        "unpruned": {
            name: dataclasses.asdict(point(task, model, 0.0, budget.timing_repeats, training[name]))
            for name, model in models.items()
        },
        "rows": {name: [dataclasses.asdict(p) for p in points] for name, points in rows.items()},
        "adaptive": {name: dataclasses.asdict(p) for name, p in adaptive.items()},
    }
    summary["targets"] = half_targets(summary)
    return summary


def run_prune(
    budget: Budget, cache: Path, out: Path, root: str | os.PathLike | None, progress: bool
) -> dict:
    """Run the study (:data:`PRUNE_QUICK` for the quick budget, else :data:`PRUNE_FULL`);
    writes ``prune.json``, ``prune.md`` and one plot of the test metric against the
    parameters per task into ``out``, rewritten after every task."""
    plan = PRUNE_QUICK if budget is QUICK else PRUNE_FULL
    out.mkdir(parents=True, exist_ok=True)
    summaries: list[dict] = []
    result: dict = {}
    tasks = _tasks(plan, cache, root, progress)
    for index, task in enumerate(tqdm(tasks, disable=not progress, desc="prune")):
        if index == 0:
            warm_up_on(task, {**task.fit_options, **plan.overrides})
        summary = prune_task(task, plan)
        summary["figure"] = f"prune-{task.slug}.png"
        series = {
            name: ([p["parameters"] for p in points], [p["test"] for p in points])
            for name, points in summary["rows"].items()
        }
        for name, p in summary["adaptive"].items():
            series[name] = ([p["parameters"]], [p["test"]])
        unretrained = [name for name in series if name.startswith(tuple(PRUNED_BY))]
        unretrained = [name for name in unretrained if not name.endswith(", retrained")]
        plot_metric_against_parameters(
            series, out / summary["figure"], task.name, f"test {task.metric}", unretrained
        )
        summaries.append(summary)
        result = {
            "setting": "prune",
            "environment": environment(),
            "budget": {
                "fractions": list(plan.fractions),
                "overrides": plan.overrides,
                "score_inputs": plan.score_inputs,
            },
            "tasks": summaries,
        }
        result["table"] = markdown(summaries)
        write_report(out, "prune", result, result["table"])
    return result


def _tasks(
    budget: PruneBudget, cache: Path, root: str | os.PathLike | None, progress: bool
) -> Iterator[StudyTask]:
    context = LoadContext(budget.panel, cache, root, progress)
    for name in budget.tasks:
        yield head_task(name, context)
