"""Training callbacks: hooks called by :func:`glai.fit`, and the built-in ones (progress,
best weights, early stopping, checkpoints) that the trainer adds around the user's."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

import torch
from torch import nn
from tqdm.auto import tqdm

from glai.training.checkpoint import write_checkpoint
from glai.training.distributed import is_main_process
from glai.training.metrics import LOSS, Metric
from glai.training.phase import Phase

if TYPE_CHECKING:
    from glai.training.history import EpochRecord, History, UnitRemoval
    from glai.training.run import TrainingRun

logger = logging.getLogger(__name__)


class Callback:
    """Base class for :func:`glai.fit` callbacks; override the hooks you need.

    In each epoch the hooks come in this order: (in an epoch where adaptive pruning
    removed units, after its training) :meth:`on_units_removed`, :meth:`on_epoch_end`,
    then (in the epoch that ends the structural phase) :meth:`on_switch`, then
    :meth:`on_epoch_complete`.
    """

    def on_train_begin(self, model: nn.Module) -> None:
        """Called once before the first epoch."""

    def on_units_removed(self, model: nn.Module, removal: UnitRemoval) -> None:
        """Called when adaptive pruning has removed hidden units of ``model`` (in place:
        its layers are new objects), after the epoch's training, before its validation."""

    def on_epoch_end(self, model: nn.Module, record: EpochRecord) -> None:
        """Called after each epoch with that epoch's record."""

    def on_switch(self, model: nn.Module, epoch: int) -> None:
        """Called right after the structure is frozen, at the end of ``epoch``."""

    def on_epoch_complete(self, model: nn.Module, record: EpochRecord) -> None:
        """Called last in each epoch, when its state is final (after any switch)."""

    def on_train_end(self, model: nn.Module, history: History) -> None:
        """Called once after training, with the best weights restored."""


class ProgressBar(Callback):
    """A tqdm bar over epochs (when ``enabled``), one log line per epoch, and the plan of
    each phase as it starts."""

    def __init__(self, enabled: bool, run: TrainingRun) -> None:
        self.run = run
        initial = len(run.history)
        self.bar = tqdm(disable=not enabled, desc="glai.fit", unit="epoch", initial=initial)

    def on_train_begin(self, model: nn.Module) -> None:
        self._announce()

    def on_epoch_end(self, model: nn.Module, record: EpochRecord) -> None:
        plan = self.run.plans[Phase(record.phase)]
        summary = {"phase": str(record.phase), "plan": plan.brief()}
        summary["loss"] = f"{record.train_loss:.4f}"
        if record.val_metric is not None:
            summary["val"] = f"{record.val_metric:.4f}"
        if record.pattern_change is not None:
            summary["pattern_change"] = f"{record.pattern_change:.4f}"
        self.bar.set_postfix(summary)
        self.bar.update(1)
        logger.info("epoch %d %s", record.epoch, summary)

    def on_switch(self, model: nn.Module, epoch: int) -> None:
        logger.info("structure frozen after epoch %d", epoch)
        self._announce()

    def on_units_removed(self, model: nn.Module, removal: UnitRemoval) -> None:
        logger.info(
            "epoch %d: adaptive pruning removed %d hidden units (per layer %s); widths now %s",
            removal.epoch,
            sum(len(units) for units in removal.removed),
            [len(units) for units in removal.removed],
            list(removal.hidden_features),
        )

    def _announce(self) -> None:
        plan = self.run.plan
        logger.info("%s (%s)", plan.describe(), "; ".join(plan.reasons))

    def on_train_end(self, model: nn.Module, history: History) -> None:
        self.bar.close()


class ValidationWatcher(Callback):
    """Reads the validation value that judges epochs (loss or metric) from the switch
    epoch on: the base of :class:`BestWeights` and :class:`EarlyStopping`.

    Args:
        metric: the run's validation metric.
        on_loss: judge epochs by their validation loss instead of ``metric``.
    """

    def __init__(self, metric: Metric, on_loss: bool = False) -> None:
        self.metric = LOSS if on_loss else metric
        self.field = "val_loss" if on_loss else "val_metric"
        self.switched_at: int | None = None

    def on_switch(self, model: nn.Module, epoch: int) -> None:
        self.switched_at = epoch

    def judged(self, record: EpochRecord) -> float | None:
        """The record's value, if it is an epoch of the final phase (or the switch epoch)
        with one; else ``None``."""
        final = record.phase is not Phase.STRUCTURAL or record.epoch == self.switched_at
        return getattr(record, self.field) if final else None


class BestWeights(ValidationWatcher):
    """Keep a copy of the weights of the best validation epoch of the final phase (the
    epoch of the switch included) and restore them when training ends. A run without a
    structural phase counts the weights it was handed as epoch 0 (:meth:`consider_start`),
    so retraining a trained model never ends worse on validation. When adaptive pruning
    removes units, the best is taken anew among the epochs from then on (the removal's own
    included): the weights restored have the model's final shapes."""

    def __init__(self, metric: Metric, on_loss: bool = False) -> None:
        super().__init__(metric, on_loss)
        self.epoch: int | None = None
        self.value: float | None = None
        self.state: dict[str, torch.Tensor] | None = None

    def on_epoch_complete(self, model: nn.Module, record: EpochRecord) -> None:
        value = self.judged(record)
        if value is not None and self.metric.better(value, self.value):
            self._keep(model, record.epoch, value)

    def consider_start(
        self, model: nn.Module, val_loss: float, val_metric: float, history: History
    ) -> None:
        """Take the weights ``model`` has before its first epoch as epoch 0, of validation
        loss and metric ``val_loss`` and ``val_metric`` (recorded in ``history``)."""
        history.start_metric = val_metric
        self._keep(model, 0, val_loss if self.field == "val_loss" else val_metric)

    def _keep(self, model: nn.Module, epoch: int, value: float) -> None:
        self.epoch, self.value = epoch, value
        self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}

    def on_units_removed(self, model: nn.Module, removal: UnitRemoval) -> None:
        self.epoch = self.value = self.state = None

    def on_train_end(self, model: nn.Module, history: History) -> None:
        if self.state is not None:
            model.load_state_dict(self.state)
            history.best_epoch = self.epoch

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "value": self.value, "state": self.state}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.value, self.state = state["epoch"], state["value"], state["state"]


class EarlyStopping(ValidationWatcher):
    """Stop the run after ``patience`` final-phase epochs without an improvement by more
    than ``tol`` of the value of the last one that counted (``0``: any improvement).

    Args:
        run: the run to stop.
        metric, on_loss: see :class:`ValidationWatcher`.
        patience: epochs without such an improvement before stopping.
        tol: the relative improvement that restarts the count.
    """

    def __init__(
        self, run: TrainingRun, metric: Metric, on_loss: bool, patience: int, tol: float
    ) -> None:
        super().__init__(metric, on_loss)
        self.run, self.patience, self.tol = run, patience, tol
        self.mark: float | None = None  # the value of the last improvement by tol
        self.stale_epochs = 0

    def on_epoch_complete(self, model: nn.Module, record: EpochRecord) -> None:
        value = self.judged(record)
        if value is None:
            return
        if self.metric.beats(value, self.mark, self.tol):
            self.mark, self.stale_epochs = value, 0
        else:
            self.stale_epochs += 1
        if record.phase is not Phase.STRUCTURAL and self.stale_epochs >= self.patience:
            self.run.stopped = True

    def state_dict(self) -> dict:
        return {"mark": self.mark, "stale_epochs": self.stale_epochs}

    def load_state_dict(self, state: dict) -> None:
        self.mark, self.stale_epochs = state["mark"], state["stale_epochs"]


class Checkpointing(Callback):
    """Write the run's whole state to ``directory`` after every epoch (on the main
    process), so that :func:`glai.fit` with ``resume=True`` continues it: the run's
    pieces and every callback in ``stateful`` by name."""

    def __init__(
        self, run: TrainingRun, stateful: dict[str, Callback], directory: str | os.PathLike
    ) -> None:
        self.run, self.stateful, self.directory = run, stateful, directory

    def on_epoch_complete(self, model: nn.Module, record: EpochRecord) -> None:
        if is_main_process():
            pieces = {name: part.state_dict() for name, part in self.stateful.items()}
            state = {"identity": self.run.identity(), "run": self.run.state_dict(), **pieces}
            write_checkpoint(self.directory, state)
