"""The optimiser of one phase, made from its plan: :class:`PhaseSolver`."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import torch

from glai.training.config import OptimizerFactory
from glai.training.fit_data import Batch
from glai.training.lbfgs import lbfgs_epoch, make_lbfgs
from glai.training.metrics import LOSS
from glai.training.plan import LBFGS, PLATEAU, PhasePlan

PLATEAU_FACTOR = 0.1
"""What the plateau schedule multiplies the rate by when the validation loss stalls."""

PLATEAU_PATIENCE = 2
"""Epochs without a better validation loss (by ``early_stopping_tol``) before it does."""


class PlateauDecay:
    """Divide the rate by 10 when the validation loss has not improved by ``tol`` of its
    size for :data:`PLATEAU_PATIENCE` epochs (``torch.optim.lr_scheduler.ReduceLROnPlateau``
    compares relative changes of negative losses the wrong way round; this does not).

    Args:
        optimizer: whose rate decays.
        tol: the relative improvement that counts.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, tol: float) -> None:
        self.optimizer, self.tol = optimizer, tol
        self.best: float | None = None
        self.stale = 0

    def step(self, val_loss: float) -> None:
        """Judge one epoch's validation loss."""
        if LOSS.beats(val_loss, self.best, self.tol):
            self.best, self.stale = val_loss, 0
            return
        self.stale += 1
        if self.stale >= PLATEAU_PATIENCE:
            for group in self.optimizer.param_groups:
                group["lr"] *= PLATEAU_FACTOR
            self.stale = 0

    def state_dict(self) -> dict:
        return {"best": self.best, "stale": self.stale}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.stale = state["best"], state["stale"]


class PhaseSolver:
    """The optimiser and schedule that train one phase, as its :class:`PhasePlan` says.

    Args:
        plan: the phase's plan.
        parameters: what trains in the phase.
        make_optimizer: the minibatch optimiser's factory ``(params, lr, weight_decay)``.
        steps: optimiser steps the phase may take at most (what a cosine schedule spans).
        tol: the relative improvement of the validation loss that a plateau schedule
            counts.
    """

    def __init__(
        self,
        plan: PhasePlan,
        parameters: Sequence[torch.nn.Parameter],
        make_optimizer: OptimizerFactory,
        steps: int,
        tol: float = 0.0,
    ) -> None:
        self.plan = plan
        self.scheduler: torch.optim.lr_scheduler.LRScheduler | None = None
        self.plateau: PlateauDecay | None = None
        if plan.solver == LBFGS:
            self.optimizer: torch.optim.Optimizer = make_lbfgs(parameters)
            return
        self.optimizer = make_optimizer(parameters, lr=plan.lr, weight_decay=plan.weight_decay)
        if plan.schedule == "cosine":
            self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
                self.optimizer, max(steps, 1)
            )
        elif plan.schedule == PLATEAU:
            self.plateau = PlateauDecay(self.optimizer, tol)

    @property
    def full_batch(self) -> bool:
        """Whether each epoch is one L-BFGS call on the whole training set."""
        return self.plan.solver == LBFGS

    @property
    def lr(self) -> float:
        """The current learning rate (1 for L-BFGS, whose line search scales its steps)."""
        return self.optimizer.param_groups[0]["lr"]

    def minibatch_step(self, loss: torch.Tensor) -> None:
        """Back-propagate one batch's ``loss`` and take one step (and one of the schedule)."""
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()

    def after_validation(self, val_loss: float | None) -> None:
        """Tell a plateau schedule the epoch's validation loss."""
        if self.plateau is not None and val_loss is not None:
            self.plateau.step(val_loss)

    def full_batch_epoch(
        self,
        batches: Callable[[], Iterator[Batch]],
        loss: Callable[[torch.Tensor, torch.Tensor, tuple | None], torch.Tensor],
        samples: int,
    ) -> float:
        """One L-BFGS epoch (see :func:`glai.training.lbfgs.lbfgs_epoch`)."""
        return lbfgs_epoch(self.optimizer, batches, loss, samples, self.plan.weight_decay)

    def state_dict(self) -> dict:
        schedule = self.scheduler or self.plateau
        return {
            "optimizer": self.optimizer.state_dict(),
            "schedule": schedule.state_dict() if schedule is not None else None,
        }

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        schedule = self.scheduler or self.plateau
        if schedule is not None:
            schedule.load_state_dict(state["schedule"])
