"""Every training setting and its default, written once: :class:`FitConfig`.

:func:`glai.fit` takes a ``FitConfig`` (or its fields as keyword arguments); the
scikit-learn estimators take the same fields as their parameters and the ``glai fit``
command has one flag per field, all generated from the dataclasses below, so every
surface offers the same options with the same defaults. The switch rule is a nested part,
:class:`glai.nn.monitor.SwitchRule`, whose fields are also accepted flat (``threshold=0.3``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch

from glai.guards import check_positive_int
from glai.nn.monitor import SwitchRule
from glai.nn.pruning import SCORES as PRUNE_SCORES
from glai.training.quantitative import STRATEGIES

OptimizerFactory = Callable[..., torch.optim.Optimizer]

OPTIMIZERS: dict[str, OptimizerFactory] = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": lambda params, lr, weight_decay: torch.optim.SGD(
        params, lr, momentum=0.9, weight_decay=weight_decay
    ),
}
SCHEDULES = ("constant", "cosine", "plateau")
SOLVERS = ("auto", "minibatch", "lbfgs")
OUTPUT_STARTS = ("auto", "ridge", "structural")
STOPPING_CRITERIA = ("loss", "metric")
QUANTITATIVE_MODES = tuple(STRATEGIES)


def _about(help: str, choices: tuple | None = None) -> dict:
    """A field's metadata: the text and the choices that the CLI shows."""
    return {"help": help, "choices": choices}


@dataclass(frozen=True)
class FitConfig:
    """The settings of :func:`glai.fit`; every default of the library's training lives here.

    Attributes:
        epochs: maximum epochs of the whole run, both phases together (as
            ``max_iter`` in scikit-learn). The structural phase ends at the latest when
            one epoch of the budget is left (a budget of 1 trains one structural epoch and
            switches); the history says which phase ran how many epochs, by which solver
            (:meth:`glai.History.phases`).
        batch_size: training batch size; ``None`` (the default) takes
            :func:`auto_batch_size` of the training data: 128, or less on small data so
            that every epoch has at least 10 optimiser steps.
        lr: learning rate of the final phase; ``None`` takes ``structural_lr / 10`` after
            a structural phase or for a frozen GLAI (the paths start from a trained
            network), and ``structural_lr`` for single-phase training or with
            ``schedule="plateau"`` (which divides it by 10 on a validation plateau).
        structural_lr: learning rate of the structural phase (constant).
        schedule: final-phase schedule: ``"cosine"`` (to 0 over the epochs left of the
            budget when the phase starts), ``"plateau"`` (divided by 10 whenever the
            validation loss has not improved by ``early_stopping_tol`` for 2 epochs;
            constant without validation data) or
            ``"constant"``.
        quantitative: how the paths train after the switch, a name from
            :data:`glai.training.quantitative.STRATEGIES`: ``"full"`` (every path weight,
            on the inputs) or ``"row_space"`` (the inputs multiplied once by the first path
            layer, which then learns within the span of its rows; needs tensor data and
            pays when the first hidden layer is narrower than the input).
        solver: how the final phase after a structural phase (or of a frozen GLAI)
            optimises: ``"minibatch"`` (``optimizer`` on shuffled batches, at ``lr`` with
            ``schedule``), ``"lbfgs"`` (full-batch L-BFGS with a strong-Wolfe line search,
            :data:`glai.training.lbfgs.ITERATIONS_PER_EPOCH` iterations per epoch; needs
            tensor data and one process), or ``"auto"`` (the default): L-BFGS for a
            :class:`glai.GLAI` (or a :class:`glai.MLP` control) on tensor data of at most
            :data:`glai.training.lbfgs.AUTO_MAX_SAMPLES` training samples after a
            structural phase, else minibatch. A model trained in one phase, or a network
            holding GLAI blocks, uses L-BFGS only when asked by name.
        output_start: what the output layer starts the final phase from after a switch:
            ``"ridge"``, its ridge solution (penalty ``weight_decay``) on the inputs it
            receives from the frozen network (the exact optimum of that layer for
            ``loss="mse"``, a fit to centred one-hot targets for cross-entropy; needs one
            of those two losses); ``"structural"``, the weights the structural phase
            left; or ``"auto"`` (the default): ridge where the final phase trains by
            L-BFGS (see ``solver``) with cross-entropy or mse, else structural. (Under
            Adam at a tenth of the rate, a cross-entropy head started from ridge logits,
            which are small, took longer to fit and ended less accurate on the panel.)
        optimizer: ``"adam"``, ``"adamw"``, ``"sgd"`` (momentum 0.9) or a factory
            ``(params, lr, weight_decay) -> Optimizer``; a fresh one starts each minibatch
            phase.
        weight_decay: L2 penalty on the trained weights: passed to the optimiser, and
            added to L-BFGS's loss as ``weight_decay / 2 * ||w||^2`` (the same gradient).
        early_stopping: stop the final phase after this many epochs without a better
            validation value (see ``early_stopping_on``); ``None`` disables it.
        early_stopping_on: the validation value that picks the best epoch (whose weights
            are restored) and stops early: ``"loss"`` (the default: smooth, so it keeps
            improving while the model does, even on a few dozen validation samples) or
            ``"metric"`` (the run's metric, e.g. accuracy, which plateaus on small
            validation sets and stops training early).
        early_stopping_tol: an epoch restarts early stopping's count only if its value
            beats the last one that did by this fraction of it (1% by default: a phase
            whose validation loss creeps down by a fraction of a percent per epoch stops
            instead of running all ``epochs``); the best weights follow every
            improvement. ``0`` counts any improvement.
        validation_fraction: when no validation data are given, the share of the training
            data held out for validation and early stopping (stratified by class where it
            can be); ``0`` trains on everything, for all ``epochs``.
        prune_threshold: adaptive pruning, off by default (``None``). Set to a number in
            (0, 1), it removes hidden units of a :class:`glai.GLAI` while its paths
            train: after each quantitative epoch's training (before its validation),
            every hidden unit is scored by ``prune_by``, and a unit whose score has been
            below ``prune_threshold`` times the largest score of its layer for
            ``prune_patience`` consecutive epochs is removed, in place, from the
            structure and the paths (so each layer keeps at least its best unit). The
            model ends smaller without a separate pruning step; the history's
            ``removals`` say what went when (see :mod:`glai.training.adaptive_pruning`
            for what the run rebuilds). Only for a GLAI trained by itself, not a
            network around GLAI blocks.
        prune_patience: consecutive quantitative epochs a unit's score must stay below
            the threshold before it is removed.
        prune_by: what adaptive pruning scores units by (see :func:`glai.prune`):
            ``"data_path_norm"`` (the default: the path mass that flows through the unit
            on ``probe_size`` training inputs drawn once with ``seed``, so a unit that
            does not fire on the data scores 0), ``"path_norm"`` (data-free, each input
            counted as 1) or ``"weight"`` (the L1 norm of its path weights in and out).
        switch: the switch rule, :class:`SwitchRule`.
        seed: seeds shuffling and probe sampling (and, where glai builds the model, its
            initial weights); ``None`` draws one from torch's generator.
        device: device to train on; ``None`` keeps the model's.
        progress: show a progress bar over epochs.
    """

    epochs: int = field(default=100, metadata=_about("maximum epochs, both phases together"))
    batch_size: int | None = field(
        default=None, metadata=_about("training batch size (none: 128, less on small data)")
    )
    lr: float | None = field(
        default=None,
        metadata=_about(
            "final-phase learning rate (default: structural / 10 after a structural "
            "phase; structural with schedule plateau)"
        ),
    )
    structural_lr: float = field(default=1e-3, metadata=_about("structural-phase learning rate"))
    schedule: str = field(
        default="cosine", metadata=_about("final-phase learning-rate schedule", SCHEDULES)
    )
    quantitative: str = field(
        default="full", metadata=_about("how the paths train after the switch", QUANTITATIVE_MODES)
    )
    solver: str = field(
        default="auto",
        metadata=_about("final-phase solver (auto: L-BFGS on small tensor data)", SOLVERS),
    )
    output_start: str = field(
        default="auto",
        metadata=_about(
            "output layer after a switch (auto: ridge before L-BFGS, with cross-entropy or mse)",
            OUTPUT_STARTS,
        ),
    )
    optimizer: str | OptimizerFactory = field(
        default="adam", metadata=_about("minibatch optimiser", tuple(OPTIMIZERS))
    )
    weight_decay: float = field(default=1e-3, metadata=_about("L2 penalty on the weights"))
    early_stopping: int | None = field(
        default=10,
        metadata=_about("epochs without validation improvement before stopping (none: never)"),
    )
    early_stopping_on: str = field(
        default="loss",
        metadata=_about("validation value for best weights and stopping", STOPPING_CRITERIA),
    )
    early_stopping_tol: float = field(
        default=1e-2,
        metadata=_about("relative improvement that restarts early stopping's count"),
    )
    validation_fraction: float = field(
        default=0.1, metadata=_about("share held out for validation when no val is given")
    )
    prune_threshold: float | None = field(
        default=None,
        metadata=_about(
            "adaptive pruning: remove units whose score stays below this share of their "
            "layer's largest (none: off)"
        ),
    )
    prune_patience: int = field(
        default=3, metadata=_about("epochs a unit's score must stay below the threshold")
    )
    prune_by: str = field(
        default="data_path_norm", metadata=_about("what adaptive pruning scores by", PRUNE_SCORES)
    )
    switch: SwitchRule = field(default_factory=SwitchRule)
    seed: int | None = field(
        default=None, metadata=_about("seed of weights, shuffling and probe (none: random)")
    )
    device: str | None = field(
        default=None, metadata=_about("torch device to train on (default: the model's)")
    )
    progress: bool = field(default=False, metadata=_about("show a progress bar"))

    def __post_init__(self) -> None:
        check_positive_int(self.epochs, "epochs")
        if self.batch_size is not None:
            check_positive_int(self.batch_size, "batch_size")
        if self.early_stopping is not None:
            check_positive_int(self.early_stopping, "early_stopping")
        for name in ("structural_lr", "weight_decay") + (("lr",) if self.lr is not None else ()):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{name} must be a non-negative number, got {value!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.quantitative not in QUANTITATIVE_MODES:
            raise ValueError(
                f"quantitative must be one of {QUANTITATIVE_MODES}, got {self.quantitative!r}"
            )
        if self.solver not in SOLVERS:
            raise ValueError(f"solver must be one of {SOLVERS}, got {self.solver!r}")
        if self.output_start not in OUTPUT_STARTS:
            raise ValueError(
                f"output_start must be one of {OUTPUT_STARTS}, got {self.output_start!r}"
            )
        if self.early_stopping_on not in STOPPING_CRITERIA:
            raise ValueError(
                f"early_stopping_on must be one of {STOPPING_CRITERIA}, "
                f"got {self.early_stopping_on!r}"
            )
        if not callable(self.optimizer) and self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"optimizer must be one of {sorted(OPTIMIZERS)} or a callable, "
                f"got {self.optimizer!r}"
            )
        if self.seed is not None and (isinstance(self.seed, bool) or not _is_int(self.seed)):
            raise TypeError(f"seed must be an int or None, got {self.seed!r}")
        tol = self.early_stopping_tol
        if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 <= tol < 1:
            raise ValueError(f"early_stopping_tol must be a number in [0, 1), got {tol!r}")
        fraction = self.validation_fraction
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)):
            raise TypeError(f"validation_fraction must be a number, got {fraction!r}")
        if not 0 <= fraction < 1:
            raise ValueError(f"validation_fraction must be in [0, 1), got {fraction!r}")
        if not isinstance(self.progress, bool):
            raise TypeError(f"progress must be a bool, got {self.progress!r}")
        if self.device is not None and not isinstance(self.device, (str, torch.device)):
            raise TypeError(f"device must be a str, a torch.device or None, got {self.device!r}")
        if not isinstance(self.switch, SwitchRule):
            raise TypeError(f"switch must be a SwitchRule, got {type(self.switch).__name__}")
        _check_pruning(self)

    def replace(self, **overrides: Any) -> FitConfig:
        """A copy with ``overrides`` applied; switch-rule fields may be given flat."""
        unknown = set(overrides) - set(flat_defaults()) - {"switch"}
        if unknown:
            raise TypeError(
                f"unknown training setting(s): {', '.join(sorted(unknown))}; "
                f"settings are: {', '.join(flat_defaults())}"
            )
        switch_names = {f.name for f in dataclasses.fields(SwitchRule)}
        nested = {k: v for k, v in overrides.items() if k in switch_names}
        top = {k: _plain(v) for k, v in overrides.items() if k not in switch_names}
        switch = top.pop("switch", self.switch)
        if nested:
            switch = dataclasses.replace(switch, **{k: _plain(v) for k, v in nested.items()})
        return dataclasses.replace(self, switch=switch, **top)

    def flat(self) -> dict[str, Any]:
        """Every setting by its flat name (the switch rule's fields inline)."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        switch = values.pop("switch")
        return {**values, **dataclasses.asdict(switch)}

    @property
    def optimizer_factory(self) -> OptimizerFactory:
        return self.optimizer if callable(self.optimizer) else OPTIMIZERS[self.optimizer]


DEFAULT_HIDDEN_FEATURES = 128
"""The hidden width of the GLAI that the estimators and ``glai fit`` build."""

AUTO_BATCH_SIZE = 128
MIN_STEPS_PER_EPOCH = 10


def auto_batch_size(samples: int) -> int:
    """The default batch size for ``samples`` training samples: 128, or fewer so that an
    epoch has at least 10 optimiser steps (on 120 samples: 12)."""
    return max(1, min(AUTO_BATCH_SIZE, math.ceil(samples / MIN_STEPS_PER_EPOCH)))


def flat_fields() -> Iterator[dataclasses.Field]:
    """The fields of :class:`FitConfig` with :class:`SwitchRule`'s inline, in order."""
    for item in dataclasses.fields(FitConfig):
        if item.name == "switch":
            yield from dataclasses.fields(SwitchRule)
        else:
            yield item


def flat_defaults() -> dict[str, Any]:
    """Every setting's flat name and default."""
    return FitConfig().flat()


def _check_pruning(config: FitConfig) -> None:
    """Raise unless the adaptive-pruning settings are valid."""
    threshold = config.prune_threshold
    if threshold is not None and (
        isinstance(threshold, bool) or not isinstance(threshold, (int, float))
    ):
        raise TypeError(f"prune_threshold must be a number or None, got {threshold!r}")
    if threshold is not None and not 0 < threshold < 1:
        raise ValueError(
            "prune_threshold must be in (0, 1): the share of the largest score of a layer "
            f"below which its units are removed, got {threshold!r}"
        )
    check_positive_int(config.prune_patience, "prune_patience")
    if config.prune_by not in PRUNE_SCORES:
        raise ValueError(f"prune_by must be one of {PRUNE_SCORES}, got {config.prune_by!r}")


def _is_int(value: object) -> bool:
    return isinstance(value, int) or (hasattr(value, "__index__") and not isinstance(value, float))


def _plain(value: Any) -> Any:
    """numpy scalars (as a parameter grid gives them) as Python numbers."""
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "ndim", None) == 0:
        return item()
    return value
