"""What :func:`glai.fit` records: one row per epoch, the switch, and units removed."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

import torch

from glai.training.metrics import Metric
from glai.training.phase import Phase
from glai.training.plan import PhasePlan


@dataclass(frozen=True)
class EpochRecord:
    """One epoch of training.

    Attributes:
        epoch: 1-based epoch number, counted across both phases.
        phase: the :class:`Phase`: ``"structural"`` (structure trains),
            ``"quantitative"`` (structure frozen, paths train) or ``"train"`` (a model
            trained in one phase).
        seconds: wall-clock seconds since training started, at the end of this epoch,
            including everything done so far (switch, mask caches, validation).
        train_loss: mean training loss over the epoch's batches.
        val_metric: validation metric (see :attr:`History.metric`), ``None`` without
            validation data.
        val_loss: validation loss, ``None`` without validation data.
        lr: learning rate at the end of the epoch.
        pattern_change: fraction of probe mask bits that flipped since the previous epoch
            (structural epochs only).
        layer_changes: the same per hidden layer.
        weight_change: relative change of the structure's weights since the previous epoch.
        path_distance: :func:`glai.path_distance` between the probe's patterns at the end
            of this epoch and the previous one (structural epochs only; ``None`` in
            histories written before it was measured).
    """

    epoch: int
    phase: Phase
    seconds: float
    train_loss: float
    val_metric: float | None
    val_loss: float | None
    lr: float
    pattern_change: float | None = None
    layer_changes: tuple[float, ...] | None = None
    weight_change: float | None = None
    path_distance: float | None = None


@dataclass(frozen=True)
class UnitRemoval:
    """Hidden units that adaptive pruning (``prune_threshold``) removed.

    Attributes:
        epoch: the epoch after whose training they were removed (its validation, and
            every later epoch, saw the smaller model).
        removed: per hidden layer, the indices of the removed units, numbered as in the
            model just before this removal.
        hidden_features: the hidden widths after it.
    """

    epoch: int
    removed: tuple[tuple[int, ...], ...]
    hidden_features: tuple[int, ...]

    @classmethod
    def of(cls, epoch: int, keep: list[torch.Tensor], widths: list[int]) -> UnitRemoval:
        """The removal that keeps the units ``keep`` of layers of widths ``widths``."""
        removed = []
        for kept, width in zip(keep, widths):
            dropped = torch.ones(width, dtype=torch.bool)
            dropped[kept.cpu()] = False
            removed.append(tuple(dropped.nonzero().flatten().tolist()))
        return cls(epoch, tuple(removed), tuple(len(kept) for kept in keep))

    def kept(self) -> list[torch.Tensor]:
        """The indices of the units kept, per hidden layer (what ``remove_units`` takes)."""
        keep = []
        for removed, width in zip(self.removed, self.hidden_features):
            kept = torch.ones(width + len(removed), dtype=torch.bool)
            kept[list(removed)] = False
            keep.append(kept.nonzero().flatten())
        return keep

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return {
            "epoch": self.epoch,
            "removed": [list(units) for units in self.removed],
            "hidden_features": list(self.hidden_features),
        }

    @classmethod
    def from_dict(cls, data: dict) -> UnitRemoval:
        """Inverse of :meth:`to_dict`."""
        removed = tuple(tuple(units) for units in data["removed"])
        return cls(data["epoch"], removed, tuple(data["hidden_features"]))


@dataclass
class History:
    """Per-epoch records of one :func:`glai.fit` run.

    Attributes:
        metric: name of the validation metric (``"accuracy"``, ``"loss"`` or a function's).
        greater_is_better: direction of the metric.
        records: one :class:`EpochRecord` per epoch.
        switch_epoch: the last structural epoch (the structure was frozen at its end); 0
            when it was frozen before the first epoch (``StructureMonitor.after(0)``);
            ``None`` when no switch happened during this run.
        best_epoch: epoch whose weights were restored at the end (best validation loss,
            or metric, as ``early_stopping_on`` says), or ``None`` without validation data;
            0 when the weights ``fit`` was handed were kept (a run without a structural
            phase counts them as a candidate, so it never ends worse on validation).
        start_metric: validation metric of the weights ``fit`` was handed, when they
            were a candidate for the best (a run without a structural phase).
        plans: the plan of each phase of the run, in order, as dicts
            (:meth:`glai.training.plan.PhasePlan.to_dict`: solver, optimiser, rate,
            schedule, output start and why each was chosen).
        removals: the hidden units adaptive pruning removed, one :class:`UnitRemoval`
            per epoch that removed some (empty without ``prune_threshold``).
    """

    metric: str
    greater_is_better: bool
    records: list[EpochRecord] = field(default_factory=list)
    switch_epoch: int | None = None
    best_epoch: int | None = None
    plans: list[dict] = field(default_factory=list)
    removals: list[UnitRemoval] = field(default_factory=list)
    start_metric: float | None = None

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[EpochRecord]:
        return iter(self.records)

    def __getitem__(self, index: int) -> EpochRecord:
        return self.records[index]

    def column(self, name: str) -> list:
        """One field of every record, e.g. ``history.column("val_metric")``."""
        return [getattr(record, name) for record in self.records]

    @property
    def direction(self) -> Metric:
        """The metric's name and direction (what "better" and "reaches" mean)."""
        return Metric(self.metric, self.greater_is_better)

    @property
    def best_metric(self) -> float | None:
        """Validation metric of :attr:`best_epoch`."""
        if self.best_epoch is None:
            return None
        if self.best_epoch == 0:
            return self.start_metric
        return self.records[self.best_epoch - 1].val_metric

    @property
    def peak_metric(self) -> float | None:
        """Best validation metric over every epoch of the run, whatever its phase."""
        return self.direction.best(record.val_metric for record in self.records)

    def time_to(self, target: float) -> float:
        """Seconds until the validation metric first reached ``target`` (``inf`` if never)."""
        for record in self.records:
            if record.val_metric is not None and self.reaches(record.val_metric, target):
                return record.seconds
        return math.inf

    def reaches(self, value: float, target: float) -> bool:
        """Whether ``value`` is at least as good as ``target`` for this metric."""
        return self.direction.reaches(value, target)

    def phases(self) -> list[dict]:
        """Per phase that ran: its name, epochs, solver, plan line and the reason for each
        choice, e.g. ``{"phase": "quantitative", "epochs": 12, "solver": "lbfgs",
        "plan": "...", "reasons": [...]}``."""
        counts = Counter(Phase(record.phase).value for record in self.records)
        summary = []
        for plan in self.plans:
            if counts[plan["phase"]]:
                line = PhasePlan.from_dict(plan).describe()
                summary.append(
                    {
                        "phase": plan["phase"],
                        "epochs": counts[plan["phase"]],
                        "solver": plan["solver"],
                        "plan": line,
                        "reasons": list(plan["reasons"]),
                    }
                )
        return summary

    @classmethod
    def from_dict(cls, data: dict) -> History:
        """Inverse of :meth:`to_dict`."""
        records = [
            EpochRecord(
                **{
                    **record,
                    "phase": Phase(record["phase"]),
                    "layer_changes": _tuple_or_none(record["layer_changes"]),
                }
            )
            for record in data["records"]
        ]
        return cls(
            data["metric"],
            data["greater_is_better"],
            records,
            data["switch_epoch"],
            data["best_epoch"],
            data.get("plans", []),  # histories written before plans were recorded
            [UnitRemoval.from_dict(removal) for removal in data.get("removals", [])],
            data.get("start_metric"),  # histories written before it was recorded
        )

    def to_dict(self) -> dict:
        """A JSON-ready dict of the whole history."""
        return {
            "metric": self.metric,
            "greater_is_better": self.greater_is_better,
            "switch_epoch": self.switch_epoch,
            "best_epoch": self.best_epoch,
            "plans": self.plans,
            "removals": [removal.to_dict() for removal in self.removals],
            "start_metric": self.start_metric,
            "records": [{**asdict(r), "phase": Phase(r.phase).value} for r in self.records],
        }


def _tuple_or_none(values: list | None) -> tuple | None:
    return None if values is None else tuple(values)
