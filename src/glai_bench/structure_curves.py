"""How a structure settles during one run: the record of every epoch, the curves drawn
from it, when each curve reaches a share of its total change, and where a switch rule
would have fired.

Every curve is a *progress* curve over epochs ``0..B`` (``B``: the epoch whose weights
training kept, the run's convergence): 0 at initialisation, 1 at ``B``.

- ``path distance to final``: ``1 - d(t, B) / d(0, B)``, with ``d`` the
  :func:`glai.path_distance` between the probe patterns of two epochs;
- ``path distance to previous``, ``pattern change``, ``weight change``: the share of the
  run's summed per-epoch change (:class:`glai.StructureCheck`) made by epoch ``t``
  (monotone by construction);
- ``validation metric``: ``(v_t - v_0) / (v_B - v_0)``, with ``v_0`` the untrained
  network's.

A curve *reaches* ``q`` of its total change at the first epoch from which it stays at
``q`` or above up to ``B``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from glai.nn.monitor import StructureCheck, StructureMonitor, SwitchRule
from glai.nn.path_distance import path_distance
from glai.nn.patterns import activation_patterns
from glai.training.callbacks import Callback
from glai.training.history import EpochRecord, History

LEVELS = (0.9, 0.95, 0.99)
"""The shares of its total change at which each curve's epoch is reported."""

TO_FINAL = "path distance to final"
TO_PREVIOUS = "path distance to previous"
PATTERN = "pattern change"
WEIGHT = "weight change"
VALIDATION = "validation metric"
STRUCTURE_MEASURES = (TO_FINAL, TO_PREVIOUS, PATTERN, WEIGHT)
"""The structure's curves, each compared with :data:`VALIDATION`."""
SETTLED = TO_FINAL
"""The curve that says where the structure stands against its end state: the switch
verdict reads it."""

DEFAULT_RULE, PATH_RULE = "default rule", "rule on path distance"
"""The rules replayed on every recorded run: :func:`glai.fit`'s switch rule, and the same
rule reading the path distance (``measure="path"``)."""

Patterns = tuple[torch.Tensor, ...]


class StructureRecorder(Callback):
    """Record how a network's structure changes, epoch by epoch, without switching.

    A :class:`glai.StructureMonitor` checks the network after every epoch (its switch
    rule is never read); the probe patterns of every epoch, the untrained network's
    included, are kept so that distances to the final structure can be computed once the
    run has ended.

    Args:
        probe: (n_probe, ...) inputs on which patterns are compared.
        steps_per_epoch: optimiser steps in one epoch (what the monitor's rules read).

    Attributes:
        monitor: the monitor; its ``checks_`` hold one check per epoch.
        patterns: the probe patterns at initialisation and after every epoch.
    """

    def __init__(self, probe: torch.Tensor, steps_per_epoch: int) -> None:
        self.probe, self.steps_per_epoch = probe, steps_per_epoch
        self.monitor = StructureMonitor(probe)
        self.patterns: list[Patterns] = []

    def on_train_begin(self, model: nn.Module) -> None:
        self.monitor.on_train_begin(model)
        self.patterns = [activation_patterns(model, self.probe)]

    def on_epoch_end(self, model: nn.Module, record: EpochRecord) -> None:
        self.monitor.check(model, steps=self.steps_per_epoch, val_loss=record.val_loss)
        self.patterns.append(activation_patterns(model, self.probe))


@dataclass
class Recording:
    """One recorded run to convergence.

    Attributes:
        history: the run's :class:`glai.History`.
        checks: one :class:`glai.StructureCheck` per epoch.
        patterns: probe patterns at initialisation and after every epoch.
        initial_metric: the untrained network's validation metric.
    """

    history: History
    checks: list[StructureCheck]
    patterns: list[Patterns] = field(repr=False)
    initial_metric: float

    @property
    def converged(self) -> int:
        """``B``: the epoch whose weights training kept (the last one without validation)."""
        return self.history.best_epoch or len(self.history)


def curves(recording: Recording) -> dict[str, list[float | None]]:
    """Every progress curve of ``recording`` over epochs ``0..B`` (see the module);
    a curve whose total change is 0 is ``None`` at every epoch."""
    end = recording.converged
    checks = recording.checks[:end]
    to_final = distances_to_final(recording)
    metric = [recording.initial_metric, *recording.history.column("val_metric")[:end]]
    return {
        TO_FINAL: _share(to_final, to_final[0], 0.0),
        TO_PREVIOUS: _cumulative([c.path_distance for c in checks]),
        PATTERN: _cumulative([c.pattern_change for c in checks]),
        WEIGHT: _cumulative([c.weight_change for c in checks]),
        VALIDATION: _share(metric, metric[0], metric[-1]),
    }


def distances_to_final(recording: Recording) -> list[float]:
    """:func:`glai.path_distance` from each epoch's structure ``0..B`` to ``B``'s."""
    final = recording.patterns[recording.converged]
    return [float(path_distance(p, final)) for p in recording.patterns[: recording.converged + 1]]


def _share(values: Sequence[float], start: float, end: float) -> list[float | None]:
    """``(v - start) / (end - start)`` for every value (``None`` if ``end == start``)."""
    total = end - start
    if total == 0 or not math.isfinite(total):
        return [None] * len(values)
    return [(value - start) / total for value in values]


def _cumulative(changes: Sequence[float]) -> list[float | None]:
    """The share of the summed changes made by each epoch, from 0 at epoch 0."""
    sums = [0.0]
    for change in changes:
        sums.append(sums[-1] + change)
    return _share(sums, 0.0, sums[-1])


def reach_epoch(progress: Sequence[float | None], level: float) -> int | None:
    """The first epoch from which ``progress`` stays at ``level`` or above to the end
    (``None`` for a curve without change)."""
    if not progress or progress[0] is None:
        return None
    epoch = len(progress) - 1
    while epoch > 0 and progress[epoch - 1] >= level:
        epoch -= 1
    return epoch


def reach_table(progress_curves: dict[str, list[float | None]]) -> dict[str, dict[str, dict]]:
    """Per curve and level (``"90%"``...): the epoch it is reached and its share of the
    run (``None`` for a curve without change)."""
    table = {}
    for name, progress in progress_curves.items():
        run = len(progress) - 1
        table[name] = {}
        for level in LEVELS:
            epoch = reach_epoch(progress, level)
            share = None if epoch is None else (epoch / run if run else 1.0)
            table[name][f"{level:.0%}"] = {"epoch": epoch, "share": share}
    return table


@dataclass(frozen=True)
class Firing:
    """Where a switch rule fires on recorded checks: after ``epoch`` (``None``: never),
    and which of its clauses (``"stable"``, ``"plateau"`` or ``"cap"``)."""

    epoch: int | None
    reason: str | None


def replay(checks: Sequence[StructureCheck], rule: SwitchRule) -> Firing:
    """The first epoch after which ``rule`` would have switched, had it watched ``checks``
    (what a :class:`glai.StructureMonitor` with that rule decides check by check)."""
    monitor = StructureMonitor(rule=rule)
    for count in range(1, len(checks) + 1):
        monitor.checks_ = list(checks[:count])
        if monitor.should_switch:
            return Firing(count, _reason(monitor))
    return Firing(None, None)


def _reason(monitor: StructureMonitor) -> str:
    rule = monitor.rule
    if monitor.stable_checks >= rule.patience:
        return "stable"
    if rule.switch_on_plateau and monitor.stale_checks >= rule.patience:
        return "plateau"
    return "cap"


def switch_verdict(
    reach: dict[str, dict[str, dict]], switch_epoch: int | None, level: float = LEVELS[0]
) -> str:
    """Where a switch after ``switch_epoch`` lands against the curves: ``"early"`` before
    the structure reaches ``level`` of its change by :data:`SETTLED`, ``"late"`` once the
    validation metric has reached it (nothing left to save), ``"in the window"`` between
    the two; ``"never"`` without a switch, ``"undefined"`` for a curve without change."""
    key = f"{level:.0%}"
    settled, validated = reach[SETTLED][key]["epoch"], reach[VALIDATION][key]["epoch"]
    if switch_epoch is None:
        return "never"
    if settled is None or validated is None:
        return "undefined"
    if switch_epoch < settled:
        return "early"
    if switch_epoch >= validated:
        return "late"
    return "in the window"


def leads(reach: dict[str, dict[str, dict]], run: int) -> dict[str, dict[str, dict]]:
    """Per structure measure and level: how many epochs (and what share of the run of
    ``run`` epochs) before the validation metric the measure reaches that level; negative
    when it reaches it later, ``None`` where a curve has no change."""
    result = {}
    for measure in STRUCTURE_MEASURES:
        result[measure] = {}
        for key, cell in reach[measure].items():
            metric_epoch, epoch = reach[VALIDATION][key]["epoch"], cell["epoch"]
            if metric_epoch is None or epoch is None:
                result[measure][key] = {"epochs": None, "share": None}
                continue
            lead = metric_epoch - epoch
            result[measure][key] = {"epochs": lead, "share": lead / run if run else 0.0}
    return result
