"""Training callbacks: hooks called by :func:`glai.fit`, each doing nothing by default."""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import nn

if TYPE_CHECKING:
    from glai.training.history import EpochRecord, History


class Callback:
    """Base class for :func:`glai.fit` callbacks; override the hooks you need."""

    def on_train_begin(self, model: nn.Module) -> None:
        """Called once before the first epoch."""

    def on_epoch_end(self, model: nn.Module, record: EpochRecord) -> None:
        """Called after each epoch with that epoch's record."""

    def on_switch(self, model: nn.Module, epoch: int) -> None:
        """Called right after the structure is frozen, at the end of ``epoch``."""

    def on_train_end(self, model: nn.Module, history: History) -> None:
        """Called once after training, with the best weights restored."""
