"""The panel split once into a choosing half and a checking half, and each half's summary.

Defaults are chosen on the choosing half only and judged on the checking half, so that a
default that fits the tasks it was chosen on cannot pass for one that generalises.

The rule (:func:`split_halves`), fixed before any default is chosen: sort every
registered task by (problem, input family, training size, name) and deal them in the
repeating order choosing, checking, checking, choosing. Each problem and family is then
shared between the halves within one task, and consecutive tasks of similar size go to
different halves, the smaller one alternately to each. A task added to the panel moves
others between halves: ``tests/bench/test_panel_halves.py`` pins the split, so that such a
change is made on purpose.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from glai_bench.panel_data import CLASSIFICATION, REGRESSION
from glai_bench.panel_tasks import SMALL_SIZE, TASKS, PanelBudget, TaskSpec

CHOOSING, CHECKING, BOTH = "choosing", "checking", "both"
HALVES = (CHOOSING, CHECKING)
_DEAL = (CHOOSING, CHECKING, CHECKING, CHOOSING)
SLOW_FIT = 1.0
"""Seconds: the time target's geometric mean counts the tasks where the equal-parameter
MLP's fit takes at least this long."""
FLOOR = {CLASSIFICATION: 0.003, REGRESSION: 0.005}
"""The accuracy floor: GLAI at most this far below the best MLP (accuracy, R²)."""
AUC_FLOOR = 0.005
"""The floor on a binary task's ROC AUC."""

RULE = (
    "tasks sorted by (problem, input family, training size, name), dealt in the repeating "
    "order choosing, checking, checking, choosing"
)


def split_halves(specs: Sequence[TaskSpec] = TASKS) -> dict[str, str]:
    """Task name -> ``"choosing"`` or ``"checking"``, by the module's rule.

    Args:
        specs: the tasks to split; the panel's halves are those of :data:`TASKS` (a
            subset of them would be split differently).
    """
    order = sorted(specs, key=lambda spec: (spec.problem, spec.family, spec.size, spec.name))
    return {spec.name: _DEAL[index % len(_DEAL)] for index, spec in enumerate(order)}


HALF_OF = split_halves()
"""The panel's split: task name -> half."""


def selected_tasks(budget: PanelBudget) -> list[TaskSpec]:
    """The registered tasks that a run of ``budget`` covers (its half, and only the small
    ones for ``small_only``), smallest first."""
    if budget.half not in (*HALVES, BOTH):
        raise ValueError(f"unknown half {budget.half!r}; choose from choosing, checking, both")
    return [
        spec
        for spec in TASKS
        if budget.half in (BOTH, HALF_OF[spec.name])
        and (not budget.small_only or spec.size <= SMALL_SIZE)
    ]


def half_summary(verdicts: Sequence[dict]) -> dict:
    """The targets' figures over the verdicts (:func:`glai_bench.panel.verdict`) of one
    half's tasks.

    Returns:
        ``tasks``; ``floor_met`` (tasks where GLAI meets the accuracy floor, and the AUC
        floor on binary tasks); ``fit_no_longer`` (tasks where GLAI's fit took no longer
        than the equal-parameter MLP's) and ``time_ratio`` (the geometric mean of GLAI's fit
        time over that MLP's); over the tasks where that MLP's fit takes
        :data:`SLOW_FIT` seconds or more: ``slow_tasks``, ``speedup`` (geometric mean of
        the speedup to that MLP's best validation value, over the tasks where GLAI reached
        it; ``None`` if none) and ``never`` (tasks where it did not).
    """
    slow = [v for v in verdicts if v["reference_seconds"] >= SLOW_FIT]
    reached = [v["speedup"] for v in slow if v["speedup"]]
    return {
        "tasks": len(verdicts),
        "floor_met": sum(v["floor_met"] for v in verdicts),
        "fit_no_longer": sum(v["time_ratio"] <= 1.0 for v in verdicts),
        "time_ratio": geometric_mean([v["time_ratio"] for v in verdicts]),
        "slow_tasks": len(slow),
        "speedup": geometric_mean(reached),
        "never": len(slow) - len(reached),
    }


def geometric_mean(values: Sequence[float]) -> float | None:
    """The geometric mean of positive ``values``; ``None`` for none."""
    if not values:
        return None
    return math.exp(statistics.fmean(math.log(value) for value in values))
