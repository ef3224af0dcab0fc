"""``glai bench panel``: GLAI with its defaults on real tasks, against what a user would
pick instead (scikit-learn's MLP, a linear model, an RBF kernel) and the torch MLPs of
the paper's comparison trained by the same ``fit``.

Nothing is tuned per task: every model runs with its defaults, on features prepared on
each training part as a user's pipeline would. Small sets are scored by 5-fold
cross-validation, larger ones on a fixed test split over several seeds. The tasks are
split once into a choosing and a checking half (:mod:`glai_bench.panel_halves`); a run
covers one half or both, and its report shows the split and each half's summary.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import statistics
from collections.abc import Iterator, Sequence
from pathlib import Path

from tqdm.auto import tqdm

from glai_bench.panel_data import CLASSIFICATION, PanelTask, rows
from glai_bench.panel_halves import (
    AUC_FLOOR,
    BOTH,
    FLOOR,
    HALF_OF,
    HALVES,
    RULE,
    half_summary,
    selected_tasks,
)
from glai_bench.panel_models import (
    CONTROL,
    EQUAL_PARAMETERS,
    GLAI_DEFAULTS,
    SKLEARN_MLP,
    TORCH_MODELS,
    Fitted,
    Split,
    sklearn_models,
    torch_models,
)
from glai_bench.panel_report import markdown
from glai_bench.panel_tasks import LoadContext, PanelBudget, TaskSpec, load_task
from glai_bench.preparation import prepare
from glai_bench.protocol import environment, write_report


def splits(task: PanelTask, budget: PanelBudget) -> Iterator[Split]:
    """Cross-validation folds of a small task, its fixed split once per seed, or its
    few-shot episodes (at most ``budget.split_limit`` of them); features prepared on each
    training part."""
    return itertools.islice(_all_splits(task, budget), budget.split_limit)


def _all_splits(task: PanelTask, budget: PanelBudget) -> Iterator[Split]:
    from sklearn.model_selection import KFold, StratifiedKFold

    def split(x_train, y_train, x_test, y_test, seed: int) -> Split:
        x_train, x_test = prepare(x_train, x_test, task.categorical)
        return Split(task.kind, x_train, y_train, x_test, y_test, seed)

    for seed, episode in enumerate(task.episodes):
        yield split(*episode, seed)
    if task.episodes:
        return
    if task.test is not None:
        prepared = split(task.features, task.targets, *task.test, 0)
        for seed in budget.seeds:
            yield dataclasses.replace(prepared, seed=seed)
        return
    folding = StratifiedKFold if task.kind == CLASSIFICATION else KFold
    folds = folding(budget.folds, shuffle=True, random_state=0)
    x, y = task.features, task.targets
    for seed, (train, test) in enumerate(folds.split(x, y)):
        yield split(rows(x, train), y[train], rows(x, test), y[test], seed)


def run_task(
    task: PanelTask, budget: PanelBudget, progress: bool = False
) -> tuple[list[Fitted], int]:
    """Every model on every split of ``task`` (a progress bar over the splits if
    ``progress``).

    Returns:
        The fitted runs, and the number of inputs the models got (after preparation).
    """
    results, inputs = [], 0
    for split in tqdm(splits(task, budget), disable=not progress, desc=task.name, unit="split"):
        results += torch_models(split, budget.overrides)
        results += sklearn_models(split)
        inputs = split.x_train.shape[1]
    return results, inputs


def warm_up(task: PanelTask, budget: PanelBudget) -> None:
    """Train every model once, untimed, on one split of ``task`` for one epoch per phase,
    so that the first timed run pays no one-time costs (thread pools, allocator, first
    calls)."""
    split = next(splits(task, budget))
    torch_models(
        split,
        {**budget.overrides, "epochs": 2, "max_structural_epochs": 1, "min_structural_steps": 1},
    )
    sklearn_models(split)


def summarize_task(spec: TaskSpec, task: PanelTask, results: Sequence[Fitted], inputs: int) -> dict:
    """The task's description, :func:`summarize_models` and :func:`verdict`, of GLAI and,
    where it was trained, of the control (``control_verdict``)."""
    models = summarize_models(results)
    summary = {
        "task": task.name,
        "source": task.source,
        "kind": task.kind,
        "family": spec.family,
        "problem": spec.problem,
        "half": HALF_OF[spec.name],
        "train_size": task.train_size,
        "features": inputs,
        "models": models,
        "verdict": verdict(task.kind, models),
    }
    if CONTROL in models:
        summary["control_verdict"] = verdict(task.kind, models, CONTROL)
    return summary


def summarize_models(results: Sequence[Fitted]) -> dict[str, dict]:
    """Per model: test metric (and ROC AUC on a binary task) mean and std, fit seconds,
    and for the torch models their epochs and switch epochs, the time to the
    equal-parameter MLP's best validation value and the speedup against it."""
    reference = {r.seed: r.history for r in results if r.model == EQUAL_PARAMETERS}
    models = {}
    for name in dict.fromkeys(r.model for r in results):
        runs = [r for r in results if r.model == name]
        row = {**_mean_and_std("test", [r.test_metric for r in runs])}
        aucs = [r.test_auc for r in runs if r.test_auc is not None]
        if aucs:
            row.update(_mean_and_std("auc", aucs))
        row["seconds"] = statistics.fmean(r.seconds for r in runs)
        if name in TORCH_MODELS:
            row["epochs"] = [len(r.history) for r in runs]
            row["switch_epochs"] = [r.history.switch_epoch for r in runs]
            row.update(_time_to_reference(runs, reference))
        models[name] = row
    return models


def _mean_and_std(prefix: str, values: Sequence[float]) -> dict[str, float]:
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return {f"{prefix}_mean": statistics.fmean(values), f"{prefix}_std": std}


def _time_to_reference(runs: Sequence[Fitted], reference: dict) -> dict:
    times, speedups = [], []
    for run in runs:
        target_history = reference[run.seed]
        target = target_history.peak_metric
        times.append(run.history.time_to(target))
        speedups.append(target_history.time_to(target) / times[-1])
    reached = [s for s in speedups if 0 < s < math.inf]
    geometric = math.exp(statistics.fmean(math.log(s) for s in reached)) if reached else None
    return {"time_to_reference": times, "speedup": geometric, "reached": len(reached)}


def verdict(kind: str, models: dict, judged: str = GLAI_DEFAULTS) -> dict:
    """The model ``judged`` (GLAI, or the control) against the better of scikit-learn's MLP
    and the equal-parameter MLP: the metric's floor, and on a binary task the ROC AUC's
    too; its fit time and speedup against that MLP's."""
    glai, reference = models[judged], models[EQUAL_PARAMETERS]
    sklearn_mlp = models[SKLEARN_MLP]
    gap = glai["test_mean"] - max(sklearn_mlp["test_mean"], reference["test_mean"])
    figures = {
        "gap_to_best_mlp": gap,
        "accuracy_floor_met": gap >= -FLOOR[kind],
        "time_ratio": glai["seconds"] / reference["seconds"],
        "reference_seconds": reference["seconds"],
        "speedup": glai.get("speedup"),
    }
    if "auc_mean" in glai:
        auc_gap = glai["auc_mean"] - max(sklearn_mlp["auc_mean"], reference["auc_mean"])
        figures.update(auc_gap_to_best_mlp=auc_gap, auc_floor_met=auc_gap >= -AUC_FLOOR)
    figures["floor_met"] = figures["accuracy_floor_met"] and figures.get("auc_floor_met", True)
    return figures


def run_panel(
    budget: PanelBudget,
    cache: Path,
    out: Path,
    root: str | os.PathLike | None,
    progress: bool,
    name: str = "panel",
) -> dict:
    """Run the panel's tasks of ``budget`` (its half, or both); writes ``<name>.json``
    and ``<name>.md`` into ``out`` (``<name>-<half>`` for one half), rewritten after every
    task (a long run that stops keeps the tasks it finished).

    Tasks are loaded one at a time, so that embeddings are computed (once, then cached)
    only when their task is reached.
    """
    name = report_name(name, budget.half)
    context = LoadContext(budget, cache, root, progress)
    summaries: list[dict] = []
    result: dict = {}
    for index, spec in enumerate(tqdm(selected_tasks(budget), disable=not progress, desc=name)):
        task = load_task(spec, context)
        if index == 0:
            warm_up(task, budget)
        summaries.append(summarize_task(spec, task, *run_task(task, budget)))
        result = panel_result(name, summaries)
        write_report(out, name, result, result["table"])
    return result


def report_name(name: str, half: str) -> str:
    """The report's file name (no suffix) of the setting ``name`` run on ``half``."""
    return name if half == BOTH else f"{name}-{half}"


def panel_result(name: str, summaries: Sequence[dict]) -> dict:
    """The report of the tasks summarised so far: the split, each half's summary, every
    task's summary, and the markdown of it all."""
    halves = {
        half: half_summary([s["verdict"] for s in summaries if s["half"] == half])
        for half in HALVES
        if any(s["half"] == half for s in summaries)
    }
    control = {
        half: half_summary([s["control_verdict"] for s in summaries if s["half"] == half])
        for half in halves
        if all("control_verdict" in s for s in summaries)
    }
    result = {
        "setting": name,
        "environment": environment(),
        "split": {"rule": RULE, "halves": HALF_OF},
        "halves": halves,
        "control_halves": control,
        "tasks": list(summaries),
    }
    result["table"] = markdown(result)
    return result
