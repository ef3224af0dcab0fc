"""``glai bench panel``: GLAI with its defaults on real tasks, against what a user would
pick instead (scikit-learn's MLP, a linear model, an RBF kernel) and the torch MLPs of
the paper's comparison trained by the same ``fit``.

Nothing is tuned per task: every model runs with its defaults. Small sets are scored by
5-fold cross-validation, larger ones on a fixed test split over several seeds.
"""

from __future__ import annotations

import dataclasses
import math
import os
import statistics
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from glai_bench import panel_data
from glai_bench.panel_data import CLASSIFICATION, PanelTask
from glai_bench.panel_models import (
    EQUAL_PARAMETERS,
    GLAI_DEFAULTS,
    SKLEARN_MLP,
    TORCH_MODELS,
    Fitted,
    Split,
    sklearn_models,
    torch_models,
)
from glai_bench.protocol import environment, write_report

FLOOR = {CLASSIFICATION: 0.003, panel_data.REGRESSION: 0.005}  # accuracy points, R²


@dataclass(frozen=True)
class PanelBudget:
    """How much of each task a run uses."""

    size_limit: int | None  # at most this many training (and test) samples per task
    folds: int
    seeds: tuple[int, ...]
    episodes: int
    fashion_subset: int
    fashion_full: int | None  # None: all 60,000 training images
    fashion_test: int
    feature_train: int
    feature_test: int
    overrides: dict = field(default_factory=dict)  # fit settings (quick: fewer epochs)
    small_only: bool = False  # only the tasks of up to 5,000 training samples


PANEL_FULL = PanelBudget(None, 5, (0, 1, 2), 20, 5_000, None, 10_000, 20_000, 10_000)
PANEL_SMALL = dataclasses.replace(PANEL_FULL, small_only=True)
PANEL_QUICK = PanelBudget(
    300,
    2,
    (0,),
    2,
    600,
    1_200,
    300,
    2_500,
    1_000,
    {"epochs": 3, "max_structural_epochs": 2, "min_structural_steps": 1},
)


def panel_tasks(
    budget: PanelBudget, cache: Path, root: str | os.PathLike | None, progress: bool
) -> list[PanelTask]:
    """The panel, smallest first."""
    tasks = [
        panel_data.digits_episodes(budget.episodes),
        *panel_data.sklearn_tasks(),
        panel_data.caravan(),
    ]
    if budget.small_only:
        return tasks
    tasks += [
        panel_data.fashion_pixels(budget.fashion_subset, budget.fashion_test, root),
        panel_data.fashion_features(
            budget.feature_train, budget.feature_test, cache, root, progress
        ),
        panel_data.diamonds(),
        panel_data.fashion_pixels(budget.fashion_full, budget.fashion_test, root),
    ]
    if budget.size_limit is not None:
        tasks = [panel_data.subsample(task, budget.size_limit) for task in tasks]
    return tasks


def splits(task: PanelTask, budget: PanelBudget) -> Iterator[Split]:
    """Cross-validation folds of a small task, its fixed split once per seed, or its
    few-shot episodes."""
    from sklearn.model_selection import KFold, StratifiedKFold

    for seed, episode in enumerate(task.episodes):
        yield Split(task.kind, *episode, seed)
    if task.episodes:
        return
    if task.test is not None:
        for seed in budget.seeds:
            yield Split(task.kind, task.features, task.targets, *task.test, seed)
        return
    folding = StratifiedKFold if task.kind == CLASSIFICATION else KFold
    folds = folding(budget.folds, shuffle=True, random_state=0)
    for seed, (train, test) in enumerate(folds.split(task.features, task.targets)):
        x, y = task.features, task.targets
        yield Split(task.kind, x[train], y[train], x[test], y[test], seed)


def run_task(task: PanelTask, budget: PanelBudget) -> list[Fitted]:
    """Every model on every split of ``task``."""
    results = []
    for split in splits(task, budget):
        results += torch_models(split, budget.overrides)
        results += sklearn_models(split)
    return results


def warm_up(task: PanelTask, budget: PanelBudget) -> None:
    """Train every model once, untimed, on one split of ``task`` for one epoch, so that
    the first timed run pays no one-time costs (thread pools, allocator, first calls)."""
    split = next(splits(task, budget))
    torch_models(
        split,
        {**budget.overrides, "epochs": 1, "max_structural_epochs": 1, "min_structural_steps": 1},
    )
    sklearn_models(split)


def summarize_task(task: PanelTask, results: Sequence[Fitted]) -> dict:
    """Per model: test metric mean and std, fit seconds, and for the torch models their
    epochs and switch epochs, the time to the equal-parameter MLP's best validation value
    and the speedup against it."""
    reference = {r.seed: r.history for r in results if r.model == EQUAL_PARAMETERS}
    models = {}
    for name in dict.fromkeys(r.model for r in results):
        runs = [r for r in results if r.model == name]
        tests = [r.test_metric for r in runs]
        row = {
            "test_mean": statistics.fmean(tests),
            "test_std": statistics.stdev(tests) if len(tests) > 1 else 0.0,
            "seconds": statistics.fmean(r.seconds for r in runs),
        }
        if name in TORCH_MODELS:
            row["epochs"] = [len(r.history) for r in runs]
            row["switch_epochs"] = [r.history.switch_epoch for r in runs]
            row.update(_time_to_reference(runs, reference))
        models[name] = row
    return {
        "task": task.name,
        "source": task.source,
        "kind": task.kind,
        "train_size": task.train_size,
        "features": task.features.shape[1],
        "models": models,
        "verdict": _verdict(task.kind, models),
    }


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


def _verdict(kind: str, models: dict) -> dict:
    """GLAI against the better of scikit-learn's MLP and the equal-parameter MLP."""
    glai, reference = models[GLAI_DEFAULTS], models[EQUAL_PARAMETERS]
    best = max(models[SKLEARN_MLP]["test_mean"], reference["test_mean"])
    gap = glai["test_mean"] - best
    return {
        "gap_to_best_mlp": gap,
        "accuracy_floor_met": gap >= -FLOOR[kind],
        "time_ratio": glai["seconds"] / reference["seconds"],
        "speedup": glai.get("speedup"),
    }


def run_panel(
    budget: PanelBudget,
    cache: Path,
    out: Path,
    root: str | os.PathLike | None,
    progress: bool,
    name: str = "panel",
) -> dict:
    """Run the panel; writes ``<name>.json`` and ``<name>.md`` into ``out``, rewritten
    after every task (a long run that stops keeps the tasks it finished)."""
    summaries = []
    tasks = panel_tasks(budget, cache, root, progress)
    warm_up(tasks[0], budget)
    for task in tqdm(tasks, disable=not progress, desc="panel"):
        summaries.append(summarize_task(task, run_task(task, budget)))
        result = {"setting": name, "environment": environment(), "tasks": summaries}
        result["table"] = markdown(summaries)
        write_report(out, name, result, result["table"])
    return result


def markdown(summaries: Sequence[dict]) -> str:
    """The verdict table, then one table per task."""
    lines = [
        "| task | n train | features | GLAI − best MLP | floor met | GLAI / MLP time | "
        "speedup to MLP's best val |",
        "|---|---:|---:|---:|---|---:|---:|",
    ]
    for s in summaries:
        v = s["verdict"]
        speedup = f"{v['speedup']:.2f}x" if v["speedup"] else "never"
        floor = "yes" if v["accuracy_floor_met"] else "no"
        lines.append(
            f"| {s['task']} | {s['train_size']:,} | {s['features']} "
            f"| {_points(s['kind'], v['gap_to_best_mlp'])} | {floor} "
            f"| {v['time_ratio']:.2f} | {speedup} |"
        )
    speedups = [s["verdict"]["speedup"] for s in summaries if s["verdict"]["speedup"]]
    if speedups:
        mean = math.exp(statistics.fmean(math.log(x) for x in speedups))
        lines += ["", f"Geometric mean speedup over {len(speedups)} tasks: {mean:.2f}x."]
    for s in summaries:
        lines += ["", f"### {s['task']} ({s['source']})", "", *_task_table(s)]
    return "\n".join(lines)


def _task_table(summary: dict) -> list[str]:
    metric = "test accuracy (%)" if summary["kind"] == CLASSIFICATION else "test R²"
    lines = [
        f"| model | {metric} | fit time (s) | epochs (switch) | time to MLP's best val (s) "
        "| speedup |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, row in summary["models"].items():
        value = _metric_text(summary["kind"], row["test_mean"], row["test_std"])
        time_text, speedup = _reference_cells(row)
        lines.append(
            f"| {name} | {value} | {row['seconds']:.2f} | {_epochs_cell(row)} | {time_text} "
            f"| {speedup} |"
        )
    return lines


def _epochs_cell(row: dict) -> str:
    """Mean epochs, and the mean switch epoch of two-phase runs ("" for a model trained
    outside ``fit``)."""
    if "epochs" not in row:
        return ""
    text = f"{statistics.fmean(row['epochs']):.1f}"
    switches = [epoch for epoch in row["switch_epochs"] if epoch is not None]
    return f"{text} ({statistics.fmean(switches):.1f})" if switches else text


def _reference_cells(row: dict) -> tuple[str, str]:
    """Time to the reference's best validation value and the speedup ("" for a model
    without a validation curve, "never" when no split reached it)."""
    times = row.get("time_to_reference")
    if times is None:
        return "", ""
    reached = [t for t in times if t < math.inf]
    if not reached:
        return "never", "never"
    return f"{statistics.fmean(reached):.2f} ({len(reached)}/{len(times)})", (
        f"{row['speedup']:.2f}x"
    )


def _metric_text(kind: str, mean: float, std: float) -> str:
    if kind == CLASSIFICATION:
        return f"{100 * mean:.2f} ± {100 * std:.2f}"
    return f"{mean:.4f} ± {std:.4f}"


def _points(kind: str, gap: float) -> str:
    return f"{100 * gap:+.2f} points" if kind == CLASSIFICATION else f"{gap:+.4f} R²"
