"""The state of one training run: its data, its plans, the phase, what trains, the history.

The :class:`glai.training.trainer.Trainer` drives a :class:`TrainingRun`. The pieces that
hold state each have their own ``state_dict`` (the monitor, the phase's solver, the
quantitative strategy, the random streams; the trainer's best weights and early stopping),
and a checkpoint is the set of them (:meth:`TrainingRun.state_dict` and the callbacks').
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator

import torch
from torch import nn

from glai.io.fingerprint import fingerprint
from glai.nn.block import GLAI
from glai.nn.mlp import MLP
from glai.nn.modes import evaluating, restore_modes, training_modes
from glai.nn.monitor import StructureCheck, StructureMonitor
from glai.nn.switching import freeze_structures, glai_blocks, unwrapped
from glai.training.adaptive_pruning import adaptive_pruning, sliced_solver_state
from glai.training.config import FitConfig, auto_batch_size
from glai.training.distributed import (
    data_parallel,
    gather_rows,
    shard_indices,
    sum_over_processes,
    world,
)
from glai.training.fit_data import Batch, FitData
from glai.training.history import EpochRecord, History, UnitRemoval
from glai.training.lbfgs import CHUNK
from glai.training.objective import Objective, mse
from glai.training.phase import Phase
from glai.training.plan import RIDGE, PhasePlan, RunShape, final_plan, structural_plan
from glai.training.quantitative import STRATEGIES, QuantitativeStrategy
from glai.training.random_states import RandomStates
from glai.training.ridge import ridge_output
from glai.training.solver import PhaseSolver

VALIDATION_BATCH = 4096


class TrainingRun:
    """One run of :func:`glai.fit`: the model, its data, the plan of each phase, the
    current phase and what trains in it.

    Args:
        model: the network, on ``device`` (it may be a ``torch.compile`` wrapper, and may
            hold GLAI blocks anywhere in its tree, or be one).
        config: the settings.
        objective: loss and metric.
        train, val: prepared data (``val`` may be ``None``).
        monitor: the switch rule's monitor, or ``None`` for a run without a structural phase.
        random: the run's random streams (its generator shuffles batches).
        dtype: the model's parameter dtype (cached masks come in it).
        device: where the model is; batches are moved there.
    """

    def __init__(
        self,
        model: nn.Module,
        config: FitConfig,
        objective: Objective,
        train: FitData,
        val: FitData | None,
        monitor: StructureMonitor | None,
        random: RandomStates,
        dtype: torch.dtype,
        device: torch.device,
    ) -> None:
        self.model, self.config, self.objective = model, config, objective
        self.module = unwrapped(model)  # what is saved, frozen and monitored
        self.train, self.val, self.monitor = train, val, monitor
        self.random, self.dtype, self.device = random, dtype, device
        self.batch_size = config.batch_size or auto_batch_size(len(train))
        self.shard = world()
        self.user_modes = training_modes(self.module)  # train mode only where the user had it
        self.initial_shapes = {k: list(t.shape) for k, t in self.module.state_dict().items()}
        self.pruning = adaptive_pruning(config, self.module, train, random.seed)
        self.shape = self._shape()
        self.plans = {self.shape.final_phase: final_plan(config, self.shape)}
        if monitor is not None:
            self.plans = {Phase.STRUCTURAL: structural_plan(config), **self.plans}
        self.history = History(
            objective.metric.name,
            objective.metric.greater_is_better,
            plans=[plan.to_dict() for plan in self.plans.values()],
        )
        self.phase = Phase.STRUCTURAL if monitor is not None else self.shape.final_phase
        self.phase_epochs = 0
        self.stopped = False
        self.epoch_steps = 0  # optimiser steps of the latest minibatch epoch
        self.strategy: QuantitativeStrategy | None = None
        self.solver: PhaseSolver | None = None
        self.forward_model: nn.Module = model
        self.start = time.perf_counter()

    def _shape(self) -> RunShape:
        has_blocks = bool(glai_blocks(self.module))
        switches = self.monitor is not None
        return RunShape(
            two_phase=switches or has_blocks,
            has_blocks=has_blocks,
            head=isinstance(self.module, (GLAI, MLP)),
            fixed_data=self.train.fixed,
            samples=len(self.train),
            processes=self.shard[1],
            named_loss=self.objective.classes is not None or self.objective.loss is mse,
            switches=switches,
            validates=self.val is not None,
        )

    @property
    def plan(self) -> PhasePlan:
        """The plan of the current phase."""
        return self.plans[self.phase]

    @property
    def finished(self) -> bool:
        """Whether the run used its ``epochs`` (both phases together) or was stopped."""
        return self.stopped or len(self.history) >= self.config.epochs

    @property
    def should_switch(self) -> bool:
        """Whether the structural phase ends now: the switch rule fired, or the budget
        of ``epochs`` leaves one epoch for the final phase (none if ``epochs`` is 1)."""
        if self.phase is not Phase.STRUCTURAL:
            return False
        return self.monitor.should_switch or len(self.history) >= max(self.config.epochs - 1, 1)

    def begin(
        self, directory: str | os.PathLike | None = None, probe: torch.Tensor | None = None
    ) -> None:
        """Start a new run in its first phase (``probe``: the monitor's, if it has none)."""
        if self.monitor is not None:
            self.monitor.on_train_begin(self.module, probe)
        elif self.shape.has_blocks:
            self._prepare_quantitative(directory)
        self._start_phase()

    def switch(self, epoch: int, directory: str | os.PathLike | None = None) -> None:
        """End the structural phase after ``epoch``: freeze the structure of every GLAI
        block, cache masks where the inputs are fixed, start the final phase."""
        self.history.switch_epoch = epoch
        if self.shape.has_blocks:
            freeze_structures(self.module)
            self._prepare_quantitative(directory)
        self.phase, self.phase_epochs = self.shape.final_phase, 0
        self._start_phase()

    def _start_phase(self) -> None:
        """A fresh solver, as the phase's plan says, over what trains in the phase."""
        trained = self._trained_module
        parameters = [p for p in trained.parameters() if p.requires_grad]
        epochs_left = self.config.epochs - (len(self.history) - self.phase_epochs)
        steps = epochs_left * math.ceil(len(self.train) / self.batch_size)
        self.solver = PhaseSolver(
            self.plan,
            parameters,
            self.config.optimizer_factory,
            steps,
            self.config.early_stopping_tol,
        )
        # anew: the trainable set changed; before the switch the paths take no part
        structural = self.phase is Phase.STRUCTURAL
        self.forward_model = data_parallel(
            trained, unused_parameters=structural and self.shape.has_blocks
        )

    def _prepare_quantitative(
        self, directory: str | os.PathLike | None, state: dict | None = None
    ) -> None:
        self.strategy = STRATEGIES[self.config.quantitative](self.model, self.train, self.val)
        self.strategy.prepare(directory, state)

    @property
    def _trained_module(self) -> nn.Module:
        return self.strategy.module if self.strategy is not None else self.model

    def train_epoch(self) -> tuple[float, int | None]:
        """One pass over the training data: (mean loss, first step whose loss was not
        finite, or None)."""
        if self.phase_epochs == 0 and self.plan.output_start == RIDGE:
            # after the switch, not at it: the switch epoch keeps the weights its
            # validation judged
            module = unwrapped(self._trained_module)
            ridge_output(module, self._full_passes, self.objective.classes, self.plan.weight_decay)
        self.phase_epochs += 1
        restore_modes(self.user_modes)
        if self.solver.full_batch:
            loss = self.solver.full_batch_epoch(self._full_passes, self._loss, len(self.train))
            self._end_epoch()
            return (loss, None) if math.isfinite(loss) else (math.nan, 1)
        losses = self._minibatch_epoch()
        self._end_epoch()
        totals = sum_over_processes(losses)  # per step, over all processes
        finite = torch.isfinite(totals)
        if not bool(finite.all()):
            return math.nan, int((~finite).nonzero()[0]) + 1
        return float(totals.sum()) / len(self.train), None

    def _end_epoch(self) -> None:
        if self.strategy is not None:
            self.strategy.end_epoch()

    def remove_weak_units(self, directory: str | os.PathLike | None = None) -> UnitRemoval | None:
        """Adaptive pruning after a quantitative epoch's training, before its validation:
        remove the units that stayed weak for ``prune_patience`` epochs, rebuild what
        depends on the model's shapes (see :mod:`glai.training.adaptive_pruning`), and
        record the removal in the history; ``None`` when nothing was removed."""
        if self.pruning is None or self.phase is not Phase.QUANTITATIVE:
            return None
        keep = self.pruning.check(self.module)
        if keep is None:
            return None
        removal = UnitRemoval.of(len(self.history) + 1, keep, self.module.hidden_features)
        solver_state = sliced_solver_state(self.solver, self.module, keep)
        self.module.remove_units(keep)
        self._prepare_quantitative(directory)  # a strategy and mask caches of the new shapes
        self._start_phase()
        if solver_state is not None:
            self.solver.load_state_dict(solver_state)
        self.history.removals.append(removal)
        return removal

    def _minibatch_epoch(self) -> torch.Tensor:
        """Every batch once, shuffled; the summed loss of each (kept on the device until
        the end of the epoch)."""
        strategy = self.strategy
        data = strategy.data if strategy is not None else self.train
        masks = strategy.train_masks if strategy is not None else None
        batches = data.batches(
            self.batch_size,
            True,
            self.random.generator,
            self.device,
            masks,
            self.dtype,
            self.shard,
        )
        losses = []
        for x, y, batch_masks in batches:
            loss = self._loss(x, y, batch_masks)
            self.solver.minibatch_step(loss)
            losses.append(loss.detach() * len(y))
        self.epoch_steps = len(losses)
        return torch.stack(losses)

    def _full_passes(self) -> Iterator[Batch]:
        """One pass over the whole training data of the current phase, in order, in chunks
        of :data:`CHUNK` rows (with the cached masks, if any)."""
        strategy = self.strategy
        data = strategy.data if strategy is not None else self.train
        masks = strategy.train_masks if strategy is not None else None
        return data.batches(CHUNK, False, None, self.device, masks, self.dtype)

    def _loss(
        self, x: torch.Tensor, y: torch.Tensor, masks: tuple[torch.Tensor, ...] | None
    ) -> torch.Tensor:
        """The mean loss of one batch."""
        output = self.forward_model(x) if masks is None else self.forward_model(x, masks=masks)
        return self.objective.loss(output, y)

    @torch.no_grad()
    def evaluate(self) -> tuple[float | None, float | None]:
        """Validation loss and metric over the whole validation set; under several
        processes each evaluates its ``DistributedSampler`` share and the outputs are
        gathered."""
        if self.val is None:
            return None, None
        val, count = self.val, len(self.val)
        index = shard_indices(count) if self.shard[1] > 1 else None
        if index is not None:
            val = val.subset(index)
        masks = self.strategy.val_masks if self.strategy is not None else None
        outputs, targets = [], []
        with evaluating(self.module):
            for x, y, batch_masks in val.batches(
                VALIDATION_BATCH, False, None, self.device, masks, self.dtype
            ):
                outputs.append(
                    self.model(x) if batch_masks is None else self.model(x, masks=batch_masks)
                )
                targets.append(y)
        output, target = torch.cat(outputs), torch.cat(targets)
        if index is not None:
            index = index.to(output.device)
            output, target = gather_rows(output, index, count), gather_rows(target, index, count)
        val_loss = float(self.objective.loss(output, target))
        function = self.objective.metric.function
        return val_loss, val_loss if function is None else float(function(output, target))

    def check_structure(self, val_loss: float | None) -> StructureCheck | None:
        """The monitor's measurement of this epoch's structural change (structural phase),
        told the epoch's optimiser steps and validation loss."""
        if self.phase is not Phase.STRUCTURAL:
            return None
        return self.monitor.check(self.module, self.epoch_steps, val_loss)

    def record(
        self,
        train_loss: float,
        val_loss: float | None,
        val_metric: float | None,
        check: StructureCheck | None,
    ) -> EpochRecord:
        """This epoch's :class:`EpochRecord`, appended to the history."""
        record = EpochRecord(
            epoch=len(self.history) + 1,
            phase=self.phase,
            seconds=time.perf_counter() - self.start,
            train_loss=train_loss,
            val_metric=val_metric,
            val_loss=val_loss,
            lr=self.solver.lr,
            pattern_change=check.pattern_change if check else None,
            layer_changes=check.layer_changes if check else None,
            weight_change=check.weight_change if check else None,
            path_distance=check.path_distance if check else None,
        )
        self.history.records.append(record)
        return record

    def end(self) -> None:
        """Leave every submodule in the mode the user left it (a frozen structure in
        eval mode)."""
        restore_modes(self.user_modes)

    def identity(self) -> dict:
        """What a checkpoint must agree with to be resumed by this run."""
        config, train, val = self.config, self.train, self.val
        parts = [data for data in (train, val) if data is not None and data.fixed]
        tensors = {id(t): t for data in parts for t in (data.inputs, data.targets)}
        rows = [data.rows for data in parts if data.rows is not None]
        data = fingerprint(*tensors.values(), *rows) if train.fixed else None
        pruning = ("prune_threshold", "prune_patience", "prune_by")
        return {
            "model": type(self.module).__name__,
            "shapes": self.initial_shapes,  # a resumed run replays the removals
            "samples": len(train),
            "data": data,
            "batch_size": self.batch_size,
            "epochs": config.epochs,
            "quantitative": config.quantitative,
            "plans": self.history.plans,
            "pruning": {k: getattr(config, k) for k in pruning} if self.pruning else None,
        }

    def state_dict(self) -> dict:
        """The run's progress and the state of each of its pieces."""
        structural = self.phase is Phase.STRUCTURAL
        return {
            "model": self.module.state_dict(),
            "phase": self.phase.value,
            "phase_epochs": self.phase_epochs,
            "stopped": self.stopped,
            "history": self.history.to_dict(),
            "seconds": time.perf_counter() - self.start,
            "solver": self.solver.state_dict(),
            "monitor": self.monitor.state_dict() if structural else None,
            "strategy": self.strategy.state_dict() if self.strategy is not None else None,
            "random": self.random.state_dict(),
            "pruning": self.pruning.state_dict() if self.pruning is not None else None,
        }

    def load_state_dict(self, state: dict, directory: str | os.PathLike) -> None:
        """Continue from what :meth:`state_dict` returned (its mask caches in
        ``directory``); the units the run removed are removed first."""
        self.history = History.from_dict(state["history"])
        for removal in self.history.removals:
            self.module.remove_units(removal.kept())
        self.module.load_state_dict(state["model"])
        self.phase, self.phase_epochs = Phase(state["phase"]), state["phase_epochs"]
        self.stopped = state["stopped"]
        if self.pruning is not None:
            self.pruning.load_state_dict(state["pruning"])
        if state["monitor"] is not None:
            self.monitor.load_state_dict(state["monitor"])
        if self.shape.has_blocks and self.phase is not Phase.STRUCTURAL:
            self._prepare_quantitative(directory, state["strategy"])
        self._start_phase()
        self.solver.load_state_dict(state["solver"])
        self.random.load_state_dict(state["random"])
        self.start = time.perf_counter() - state["seconds"]
