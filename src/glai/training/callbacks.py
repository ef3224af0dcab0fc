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
    from glai.training.history import EpochRecord, History
    from glai.training.run import TrainingRun

logger = logging.getLogger(__name__)


class Callback:
    """Base class for :func:`glai.fit` callbacks; override the hooks you need.

    In each epoch the hooks come in this order: :meth:`on_epoch_end`, then (in the epoch
    that ends the structural phase) :meth:`on_switch`, then :meth:`on_epoch_complete`.
    """

    def on_train_begin(self, model: nn.Module) -> None:
        """Called once before the first epoch."""

    def on_epoch_end(self, model: nn.Module, record: EpochRecord) -> None:
        """Called after each epoch with that epoch's record."""

    def on_switch(self, model: nn.Module, epoch: int) -> None:
        """Called right after the structure is frozen, at the end of ``epoch``."""

    def on_epoch_complete(self, model: nn.Module, record: EpochRecord) -> None:
        """Called last in each epoch, when its state is final (after any switch)."""

    def on_train_end(self, model: nn.Module, history: History) -> None:
        """Called once after training, with the best weights restored."""


class ProgressBar(Callback):
    """A tqdm bar over epochs (when ``enabled``), and one log line per epoch."""

    def __init__(self, enabled: bool, initial: int = 0) -> None:
        self.bar = tqdm(disable=not enabled, desc="glai.fit", unit="epoch", initial=initial)

    def on_epoch_end(self, model: nn.Module, record: EpochRecord) -> None:
        summary = {"phase": str(record.phase), "loss": f"{record.train_loss:.4f}"}
        if record.val_metric is not None:
            summary["val"] = f"{record.val_metric:.4f}"
        if record.pattern_change is not None:
            summary["pattern_change"] = f"{record.pattern_change:.4f}"
        self.bar.set_postfix(summary)
        self.bar.update(1)
        logger.info("epoch %d %s", record.epoch, summary)

    def on_switch(self, model: nn.Module, epoch: int) -> None:
        logger.info("structure frozen after epoch %d", epoch)

    def on_train_end(self, model: nn.Module, history: History) -> None:
        self.bar.close()


class BestWeights(Callback):
    """Keep a copy of the weights of the best validation epoch of the final phase (the
    epoch of the switch included) and restore them when training ends; count the epochs
    since the last improvement by more than ``tol`` (what :class:`EarlyStopping` reads).

    Args:
        metric: the run's validation metric.
        on_loss: judge epochs by their validation loss instead of ``metric``.
        tol: an improvement resets the count only if it beats the value of the last one
            that did by this fraction of it (``0``: any improvement). The best weights
            follow every improvement.
    """

    def __init__(self, metric: Metric, on_loss: bool = False, tol: float = 0.0) -> None:
        self.metric = LOSS if on_loss else metric
        self.field = "val_loss" if on_loss else "val_metric"
        self.tol = tol
        self.epoch: int | None = None
        self.value: float | None = None
        self.state: dict[str, torch.Tensor] | None = None
        self.mark: float | None = None  # the value of the last improvement by tol
        self.stale_epochs = 0
        self._switched_at: int | None = None

    def on_switch(self, model: nn.Module, epoch: int) -> None:
        self._switched_at = epoch

    def on_epoch_complete(self, model: nn.Module, record: EpochRecord) -> None:
        final = record.phase is not Phase.STRUCTURAL or record.epoch == self._switched_at
        value = getattr(record, self.field)
        if not final or value is None:
            return
        if self.metric.better(value, self.value):
            self.epoch, self.value = record.epoch, value
            self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        mark = self.mark
        if mark is None or self.metric.better(value, self.metric.relaxed(mark, -self.tol)):
            self.mark, self.stale_epochs = value, 0
        else:
            self.stale_epochs += 1

    def on_train_end(self, model: nn.Module, history: History) -> None:
        if self.state is not None:
            model.load_state_dict(self.state)
            history.best_epoch = self.epoch

    def state_dict(self) -> dict:
        return {
            "epoch": self.epoch,
            "value": self.value,
            "state": self.state,
            "mark": self.mark,
            "stale_epochs": self.stale_epochs,
        }

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.value, self.state = state["epoch"], state["value"], state["state"]
        self.mark, self.stale_epochs = state["mark"], state["stale_epochs"]


class EarlyStopping(Callback):
    """Stop the run after ``patience`` final-phase epochs without an improvement (as
    ``best`` counts them: by more than its ``tol``)."""

    def __init__(self, run: TrainingRun, best: BestWeights, patience: int) -> None:
        self.run, self.best, self.patience = run, best, patience

    def on_epoch_complete(self, model: nn.Module, record: EpochRecord) -> None:
        if record.phase is not Phase.STRUCTURAL and self.best.stale_epochs >= self.patience:
            self.run.stopped = True


class Checkpointing(Callback):
    """Write the run's whole state to ``directory`` after every epoch (on the main
    process), so that :func:`glai.fit` with ``resume=True`` continues it."""

    def __init__(self, run: TrainingRun, best: BestWeights, directory: str | os.PathLike):
        self.run, self.best, self.directory = run, best, directory

    def on_epoch_complete(self, model: nn.Module, record: EpochRecord) -> None:
        if is_main_process():
            write_checkpoint(
                self.directory, {**self.run.state_dict(), "best": self.best.state_dict()}
            )
