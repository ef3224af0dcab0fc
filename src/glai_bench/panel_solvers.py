"""``glai bench panel-solvers``: which final-phase solver the defaults should use.

The small tasks of the panel's choosing half (defaults are chosen there and judged on the
checking half), once per solver configuration, with every torch model of the
panel trained under that same configuration: GLAI, the equal-parameter and equal-width
MLPs, and the control (the equal-width MLP in GLAI's two phases, switching where GLAI did,
nothing frozen). A gain that the control shares comes from the solver, not from freezing.
"""

from __future__ import annotations

import dataclasses
import os
import statistics
from pathlib import Path

from tqdm.auto import tqdm

from glai_bench.panel import splits
from glai_bench.panel_data import CLASSIFICATION
from glai_bench.panel_halves import CHOOSING, selected_tasks
from glai_bench.panel_models import GLAI_DEFAULTS, torch_models
from glai_bench.panel_tasks import LoadContext, PanelBudget, load_task
from glai_bench.protocol import environment, write_report

SOLVERS = {
    "L-BFGS from the ridge output layer (default)": {},
    "L-BFGS from the structural output layer": {"output_start": "structural"},
    "Adam at a tenth of the structural rate": {"solver": "minibatch"},
    "Adam at a tenth of the structural rate, constant": {
        "solver": "minibatch",
        "schedule": "constant",
    },
    "Adam at the structural rate": {"solver": "minibatch", "lr": 1e-3},
}
"""The configurations compared: fit settings applied to every torch model (under Adam the
default output start is the structural one)."""


def run_solver_study(
    budget: PanelBudget, cache: Path, out: Path, root: str | os.PathLike | None, progress: bool
) -> dict:
    """Run every configuration of :data:`SOLVERS` on the small tasks of the panel's
    choosing half; writes ``panel-solvers.json`` and ``panel-solvers.md`` into ``out``."""
    budget = dataclasses.replace(budget, small_only=True, half=CHOOSING)
    context = LoadContext(budget, cache, root, progress)
    rows = []
    for spec in tqdm(selected_tasks(budget), disable=not progress, desc="panel-solvers"):
        task = load_task(spec, context)
        for solver, settings in SOLVERS.items():
            results = []
            for split in splits(task, budget):
                results += torch_models(split, {**budget.overrides, **settings})
            for model in dict.fromkeys(r.model for r in results):
                runs = [r for r in results if r.model == model]
                rows.append(
                    {
                        "task": task.name,
                        "kind": task.kind,
                        "solver": solver,
                        "model": model,
                        "test_mean": statistics.fmean(r.test_metric for r in runs),
                        "seconds": statistics.fmean(r.seconds for r in runs),
                    }
                )
    result = {"setting": "panel-solvers", "environment": environment(), "rows": rows}
    result["table"] = markdown(rows)
    write_report(out, "panel-solvers", result, result["table"])
    return result


def markdown(rows: list[dict]) -> str:
    """One table per task: a row per model, a column pair (test metric, seconds) per solver."""
    lines: list[str] = []
    for task in dict.fromkeys(r["task"] for r in rows):
        mine = [r for r in rows if r["task"] == task]
        unit = "accuracy %" if mine[0]["kind"] == CLASSIFICATION else "R²"
        header = " | ".join(f"{solver}: {unit}, s" for solver in SOLVERS)
        lines += [f"### {task}", "", f"| model | {header} |", "|---|" + "---:|" * len(SOLVERS)]
        for model in dict.fromkeys(r["model"] for r in mine):
            cells = []
            for solver in SOLVERS:
                (row,) = [r for r in mine if r["model"] == model and r["solver"] == solver]
                scale = 100 if row["kind"] == CLASSIFICATION else 1
                digits = 2 if row["kind"] == CLASSIFICATION else 4
                cells.append(f"{scale * row['test_mean']:.{digits}f}, {row['seconds']:.2f}")
            label = "GLAI" if model == GLAI_DEFAULTS else model  # under the column's solver
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
