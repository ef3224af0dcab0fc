"""The benchmark protocol: equal budgets, selection on validation, seeds side by side."""

from __future__ import annotations

import json
import os
import platform
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from glai.nn.block import GLAI
from glai.nn.mlp import MLP
from glai.nn.monitor import StructureMonitor
from glai.nn.parameters import matched_width
from glai_bench.comparison import (
    EQUAL_PARAMETERS,
    EQUAL_WIDTH,
    GLAI_NAME,
    Candidate,
    RunResult,
    markdown_table,
    run_candidates,
    summarize,
)
from glai_bench.datasets import Splits
from glai_bench.plots import plot_accuracy_against_time

SCHEDULE_ABLATION = "MLP, equal width, GLAI's two-phase schedule"
LINEAR_HEAD = "linear head"
GLAI_ROW_SPACE = "GLAI, row space"


def environment() -> dict:
    """The machine and software a result was measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
    }


def benchmark_candidates(
    in_features: int, mlp_hidden: int, out_features: int, options: Mapping[str, Any]
) -> list[Candidate]:
    """The six models of every setting: the paper's three, GLAI with row-space training, a
    linear head, and the equal-width MLP trained with GLAI's two-phase schedule (the
    schedule-only ablation)."""
    width = matched_width(in_features, mlp_hidden, out_features)
    base = dict(options)
    return [
        Candidate(EQUAL_PARAMETERS, lambda: MLP(in_features, mlp_hidden, out_features), base),
        Candidate(EQUAL_WIDTH, lambda: MLP(in_features, width, out_features), base),
        Candidate(
            SCHEDULE_ABLATION,
            lambda: MLP(in_features, width, out_features),
            {**base, "monitor": StructureMonitor()},
        ),
        Candidate(GLAI_NAME, lambda: GLAI(in_features, width, out_features), base),
        Candidate(
            GLAI_ROW_SPACE,
            lambda: GLAI(in_features, width, out_features),
            {**base, "quantitative": "row_space"},
        ),
        Candidate(LINEAR_HEAD, lambda: nn.Linear(in_features, out_features), base),
    ]


def is_two_phase(candidate: Candidate) -> bool:
    """Whether the candidate trains in two phases: a GLAI, or an MLP given a monitor."""
    return "monitor" in candidate.fit_options or isinstance(candidate.build(), GLAI)


def grid_for(candidate: Candidate, learning_rates: Sequence[float]) -> list[dict]:
    """The same budget for every model: two trainings per learning rate.

    A two-phase model (GLAI, or an MLP given a monitor) varies its second phase's learning
    rate (the first one's, or a tenth of it); a single-phase model varies its schedule
    (cosine or constant).
    """
    if is_two_phase(candidate):
        return [
            {"structural_lr": lr, "lr": lr * ratio} for lr in learning_rates for ratio in (1.0, 0.1)
        ]
    return [
        {"structural_lr": lr, "schedule": schedule}
        for lr in learning_rates
        for schedule in ("cosine", "constant")
    ]


@dataclass
class Selection:
    """The grid point chosen for one candidate, and every point's validation score."""

    candidate: str
    chosen: dict
    scores: list[dict]


def select(
    candidate: Candidate, grid: Sequence[Mapping[str, Any]], splits: Splits, seed: int
) -> Selection:
    """Train ``candidate`` once per grid point and keep the best validation metric.

    The score of a point is the validation metric of the weights training ends with (the
    best epoch, from the switch on for GLAI); the test split is never read.
    """
    scores, best = [], None
    for point in grid:
        _, history = candidate.train(splits.train, splits.val, seed, **point)
        score = {
            "options": dict(point),
            "val_metric": history.best_metric,
            "greater_is_better": history.greater_is_better,
        }
        scores.append(score)
        metric = history.direction
        if best is None or metric.better(score["val_metric"], best["val_metric"]):
            best = score  # the first of equally good points, as max() would keep
    return Selection(candidate.name, dict(best["options"]), scores)


def write_report(out: Path, name: str, result: dict, body: str) -> None:
    """Write ``<name>.json`` (``result``) and ``<name>.md`` (a ``## name`` heading, then
    ``body``) into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(result, indent=1, default=str))
    (out / f"{name}.md").write_text(f"## {name}\n\n{body}\n")


def run_setting(
    name: str,
    candidates: Sequence[Candidate],
    splits: Splits,
    learning_rates: Sequence[float],
    seeds: Sequence[int],
    out_dir: str | os.PathLike,
    evaluate: Callable[[nn.Module], float | Mapping[str, float]] | None = None,
    selection_seed: int = 0,
    notes: Sequence[str] = (),
    progress: bool = False,
    select_options: bool = True,
    reference: str = EQUAL_PARAMETERS,
) -> dict:
    """Select each candidate's options on validation (:func:`grid_for` the learning rates),
    then run all of them over ``seeds``.

    With ``select_options=False`` the candidates run with their own options as given (for
    comparing variants at fixed settings). Speedups are measured against ``reference``.

    Writes ``<name>.json`` (environment, selections, every run's history, summaries),
    ``<name>.md`` (the table) and ``<name>-accuracy.png`` into ``out_dir``.

    Returns:
        The JSON-ready result.
    """
    out = Path(out_dir)
    selections = [
        select(candidate, grid_for(candidate, learning_rates), splits, selection_seed)
        for candidate in tqdm(candidates, disable=not progress, desc=f"{name}: selection")
        if select_options
    ] or [Selection(candidate.name, {}, []) for candidate in candidates]
    chosen = [
        replace(candidate, fit_options={**candidate.fit_options, **selection.chosen})
        for candidate, selection in zip(candidates, selections)
    ]
    results = run_candidates(
        chosen, splits.train, splits.val, splits.test, seeds, evaluate=evaluate, progress=progress
    )
    summaries = summarize(results, reference=reference)
    table = markdown_table(summaries, metric=_test_metric_name(results), reference=reference)
    extra = _extra_metrics_table(results)
    result = {
        "setting": name,
        "environment": environment(),
        "data": {part: len(getattr(splits, part)[0]) for part in ("train", "val", "test")},
        "learning_rates": list(learning_rates) if select_options else None,
        "reference": reference,
        "seeds": list(seeds),
        "selections": [
            {"candidate": s.candidate, "chosen": s.chosen, "scores": s.scores} for s in selections
        ],
        "candidates": [{"name": c.name, "fit_options": _jsonable(c.fit_options)} for c in chosen],
        "summaries": [s.to_dict() for s in summaries],
        "runs": [r.to_dict() for r in results],
        "table": table,
        "extra_table": extra,
        "notes": list(notes),
    }
    write_report(
        out, name, result, "\n".join(notes) + "\n\n" + table + (f"\n\n{extra}" if extra else "")
    )
    histories = {c.name: [r.history for r in results if r.candidate == c.name] for c in chosen}
    plot_accuracy_against_time(histories, out / f"{name}-accuracy.png", f"{name}")
    return result


def _test_metric_name(results: Sequence[RunResult]) -> str:
    names = list(results[0].test_metrics) if results and results[0].test_metrics else []
    return f"test {names[0]}" if names else "test acc"


def _extra_metrics_table(results: Sequence[RunResult]) -> str:
    """Mean ± std of every secondary test metric, one row per candidate."""
    if not results or len(results[0].test_metrics) < 2:
        return ""
    names = list(results[0].test_metrics)[1:]
    lines = ["| model | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for candidate in dict.fromkeys(r.candidate for r in results):
        runs = [r for r in results if r.candidate == candidate]
        cells = []
        for metric in names:
            values = [r.test_metrics[metric] for r in runs]
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            cells.append(f"{100 * statistics.fmean(values):.2f} ± {100 * spread:.2f}")
        lines.append(f"| {candidate} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _jsonable(options: Mapping[str, Any]) -> dict:
    return {
        key: value if isinstance(value, (int, float, str, bool, type(None))) else repr(value)
        for key, value in options.items()
    }
