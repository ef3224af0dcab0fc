"""``glai bench panel-defaults``: the evidence behind each constant of the defaults.

For every constant a default holds (the final phase's rate and schedule, the weight
decay, the early-stopping tolerance, the size up to which L-BFGS trains the final phase,
the hidden width), a *study* trains the panel's torch models under each alternative value,
everything else at the library's defaults: GLAI, the equal-parameter MLP and the control
(the equal-width MLP in GLAI's two phases). Each alternative is judged as the panel judges
the defaults, against the better of scikit-learn's default MLP and the equal-parameter MLP
trained under the same alternative. Run on the choosing half, the studies are the
evidence a default is chosen on (:func:`choose`, a rule fixed in code); run on the
checking half, they are its verdict.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from tqdm.auto import tqdm

from glai_bench.panel import report_name, splits, summarize_task
from glai_bench.panel_halves import HALVES, RULE, half_summary, selected_tasks
from glai_bench.panel_models import (
    EQUAL_PARAMETERS,
    GLAI_DEFAULTS,
    SKLEARN_MLP,
    sklearn_models,
    torch_models,
)
from glai_bench.panel_tasks import LoadContext, PanelBudget, load_task
from glai_bench.protocol import environment, write_report

STUDY_MODELS = (GLAI_DEFAULTS, EQUAL_PARAMETERS)
"""The torch models each alternative trains: those the verdict reads. The control and the
equal-width MLP take no part in a choice; the panel run with the chosen defaults trains
them (``glai bench panel``), so every mechanism chosen here is also given to the control
as a row there."""

STUDIES: dict[str, dict[str, dict]] = {
    "final solver": {
        "L-BFGS up to 5,000 samples": {"solver": "auto"},
        "minibatch always": {"solver": "minibatch"},
    },
    "final rate": {
        "a tenth of the structural rate, cosine": {"schedule": "cosine", "lr": None},
        "the structural rate, divided by 10 on a plateau": {"schedule": "plateau", "lr": None},
    },
    "weight decay": {
        "0": {"weight_decay": 0.0},
        "1e-4": {"weight_decay": 1e-4},
        "1e-3": {"weight_decay": 1e-3},
    },
    "early-stopping tolerance": {
        "0": {"early_stopping_tol": 0.0},
        "1%": {"early_stopping_tol": 0.01},
    },
}
"""Each study: alternative name -> the fit settings that make it (on top of the
library's defaults for everything else)."""


def run_study(
    budget: PanelBudget,
    cache: Path,
    out: Path,
    root: str | os.PathLike | None,
    progress: bool,
    studies: dict[str, dict[str, dict]] | None = None,
) -> dict:
    """The studies in turn on the tasks of ``budget`` (its half, or both); writes
    ``panel-defaults[-<half>].json`` and ``.md`` into ``out`` after every study.

    On the choosing half the studies build on each other: each runs its alternatives on
    top of the values the studies before it chose (:func:`choose`), starting from the
    library's defaults; elsewhere every study varies its constant around the library's
    defaults. An alternative whose settings equal one already run on a task reuses its
    runs.
    """
    studies = STUDIES if studies is None else studies
    name = report_name("panel-defaults", budget.half)
    context = LoadContext(budget, cache, root, progress)
    tasks = [(spec, load_task(spec, context)) for spec in selected_tasks(budget)]
    prepared = {spec.name: list(splits(task, budget)) for spec, task in tasks}
    reference = {
        spec.name: [r for s in prepared[spec.name] for r in sklearn_models(s, (SKLEARN_MLP,))]
        for spec, _ in tasks
    }
    runs: dict[tuple, list] = {}
    chosen: dict = {}
    summaries: dict[str, dict[str, list[dict]]] = {}
    result: dict = {}
    for study, alternatives in studies.items():
        summaries[study] = {}
        for alternative, settings in alternatives.items():
            overrides = {**budget.overrides, **chosen, **settings}
            summaries[study][alternative] = [
                _task_summary(spec, task, prepared, reference, runs, overrides)
                for spec, task in tqdm(tasks, disable=not progress, desc=f"{study}: {alternative}")
            ]
        result = study_result(name, summaries)
        picked = result["studies"][study]["chosen"]
        if picked is not None:
            chosen.update(alternatives[picked])
        write_report(out, name, result, result["table"])
    return result


def _task_summary(spec, task, prepared, reference, runs, overrides: dict) -> dict:
    """The panel's summary of ``task`` under ``overrides`` (runs shared between equal
    settings)."""
    key = (spec.name, tuple(sorted(overrides.items())))
    if key not in runs:
        runs[key] = [
            r for s in prepared[spec.name] for r in torch_models(s, overrides, STUDY_MODELS)
        ]
    inputs = prepared[spec.name][0].x_train.shape[1]
    return summarize_task(spec, task, [*runs[key], *reference[spec.name]], inputs)


def choose(halves: dict[str, dict]) -> str:
    """The alternative the choosing half picks: the most tasks with the floor met, then
    the best mean gap to the best MLP, then the shortest fit time against the
    equal-parameter MLP (geometric mean)."""
    return max(
        halves,
        key=lambda alternative: (
            halves[alternative]["floor_met"],
            halves[alternative]["mean_gap"],
            -(halves[alternative]["time_ratio"] or 0.0),
        ),
    )


def study_result(name: str, summaries: dict[str, dict[str, list[dict]]]) -> dict:
    """Per study and half: each alternative's figures, and the alternative chosen on the
    choosing half."""
    studies = {}
    for study, alternatives in summaries.items():
        per_half = {}
        for half in HALVES:
            figures = {
                alternative: _figures([s for s in tasks if s["half"] == half])
                for alternative, tasks in alternatives.items()
            }
            if all(f["tasks"] for f in figures.values()):
                per_half[half] = figures
        chosen = choose(per_half["choosing"]) if "choosing" in per_half else None
        studies[study] = {"halves": per_half, "chosen": chosen, "tasks": alternatives}
    result = {
        "setting": name,
        "environment": environment(),
        "split": {"rule": RULE},
        "studies": studies,
    }
    result["table"] = markdown(studies)
    return result


def _figures(tasks: Sequence[dict]) -> dict:
    """A half's summary (:func:`half_summary`) and the mean gap to the best MLP."""
    figures = half_summary([task["verdict"] for task in tasks]) if tasks else {"tasks": 0}
    gaps = [task["verdict"]["gap_to_best_mlp"] for task in tasks]
    figures["mean_gap"] = sum(gaps) / len(gaps) if gaps else 0.0
    return figures


def markdown(studies: dict) -> str:
    """Per study: each half's figures per alternative, the choice, then per task GLAI's
    gap to the best MLP and its fit time against the equal-parameter MLP."""
    lines: list[str] = []
    for study, content in studies.items():
        lines += [f"### {study}", ""]
        if content["chosen"] is not None:
            lines += [f"Chosen on the choosing half: **{content['chosen']}**.", ""]
        lines += [
            "| half | alternative | floor met | mean gap to best MLP | GLAI / MLP fit time "
            "| speedup to MLP's best val |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for half, figures in content["halves"].items():
            for alternative, row in figures.items():
                speedup = f"{row['speedup']:.2f}x" if row.get("speedup") else "never"
                lines.append(
                    f"| {half} | {alternative} | {row['floor_met']}/{row['tasks']} "
                    f"| {100 * row['mean_gap']:+.2f} | {row['time_ratio']:.2f} | {speedup} |"
                )
        lines += ["", *_task_table(content["tasks"]), ""]
    return "\n".join(lines).rstrip() + "\n"


def _task_table(alternatives: dict[str, list[dict]]) -> list[str]:
    names = list(alternatives)
    header = " | ".join(f"{name}: gap, time" for name in names)
    lines = [f"| task | half | {header} |", "|---|---|" + "---:|" * len(names)]
    for index, first in enumerate(alternatives[names[0]]):
        cells = []
        for name in names:
            verdict = alternatives[name][index]["verdict"]
            cells.append(f"{100 * verdict['gap_to_best_mlp']:+.2f}, {verdict['time_ratio']:.2f}")
        lines.append(f"| {first['task']} | {first['half']} | " + " | ".join(cells) + " |")
    return lines
