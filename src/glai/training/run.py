"""The state of one training run: phase, optimiser, schedule, strategy, history.

The :class:`glai.training.trainer.Trainer` drives a :class:`TrainingRun`; everything a
checkpoint must hold to continue the run lives here or in the trainer's callbacks.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator

import torch
from torch import nn

from glai.nn.block import GLAI
from glai.nn.mlp import MLP
from glai.nn.monitor import StructureCheck, StructureMonitor
from glai.nn.switching import freeze_structures, glai_blocks, unwrapped
from glai.training.config import FitConfig, auto_batch_size
from glai.training.distributed import data_parallel, sum_over_processes, world
from glai.training.fit_data import Batch, FitData
from glai.training.history import EpochRecord, History
from glai.training.lbfgs import AUTO_MAX_SAMPLES, CHUNK, lbfgs_epoch, make_lbfgs
from glai.training.objective import Objective, mse
from glai.training.phase import Phase
from glai.training.quantitative import STRATEGIES, QuantitativeStrategy
from glai.training.ridge import ridge_output

VALIDATION_BATCH = 4096


class TrainingRun:
    """One run of :func:`glai.fit`: the model, its data, the current phase and what trains
    in it; :meth:`state_dict` is what a checkpoint holds.

    Args:
        model: the network, on ``device`` (it may be a ``torch.compile`` wrapper, and may
            hold GLAI blocks anywhere in its tree, or be one).
        config: the settings.
        objective: loss and metric.
        train, val: prepared data (``val`` may be ``None``).
        monitor: the switch rule's monitor, or ``None`` for a run without a structural phase.
        generator: shuffles batches.
        dtype: the model's parameter dtype (cached masks come in it).
        device: where the model is; batches of datasets are moved there.
        seed: the run's seed (``generator``'s), kept in checkpoints so that a resumed run
            draws the same validation split.
    """

    def __init__(
        self,
        model: nn.Module,
        config: FitConfig,
        objective: Objective,
        train: FitData,
        val: FitData | None,
        monitor: StructureMonitor | None,
        generator: torch.Generator,
        dtype: torch.dtype,
        device: torch.device,
        seed: int | None = None,
    ) -> None:
        self.model, self.config, self.objective = model, config, objective
        self.module = unwrapped(model)  # what is saved, frozen and monitored
        self.train, self.val, self.monitor = train, val, monitor
        self.generator, self.dtype, self.device = generator, dtype, device
        self.batch_size = config.batch_size or auto_batch_size(len(train))
        self.has_blocks = bool(glai_blocks(model))
        self.history = History(objective.metric.name, objective.metric.greater_is_better)
        self.strategy: QuantitativeStrategy | None = None
        self.phase = Phase.STRUCTURAL if monitor is not None else self._final_phase
        self.phase_epochs = 0
        self.stopped = False
        self.epoch_steps = 0  # optimiser steps of the latest minibatch epoch
        self.optimizer: torch.optim.Optimizer | None = None
        self.scheduler: torch.optim.lr_scheduler.LRScheduler | None = None
        self.forward_model: nn.Module = model
        self.seed = seed
        self.shard = world()
        self.final_solver = self._final_solver()
        self.ridge_start = self._ridge_start()
        self.start = time.perf_counter()

    def _final_solver(self) -> str:
        """``"lbfgs"`` or ``"minibatch"``: how the final phase optimises (see
        :attr:`FitConfig.solver`)."""
        solver, train = self.config.solver, self.train
        single_process = self.shard[1] == 1
        if solver == "auto":
            after_structure = self.monitor is not None or self.has_blocks
            head = isinstance(self.module, (GLAI, MLP))  # not a whole network around blocks
            small = train.fixed and len(train) <= AUTO_MAX_SAMPLES and single_process
            return "lbfgs" if after_structure and head and small else "minibatch"
        if solver == "lbfgs" and not (train.fixed and single_process):
            raise ValueError(
                "solver='lbfgs' evaluates the loss on the whole training set at every step: "
                "it needs (X, y) tensors (or a TensorDataset) as train, and one process; "
                "use solver='minibatch'"
            )
        return solver

    def _ridge_start(self) -> bool:
        """Whether the final phase after a switch starts from the ridge output layer (see
        :attr:`FitConfig.output_start`)."""
        start = self.config.output_start
        named_loss = self.objective.classes is not None or self.objective.loss is mse
        if start == "auto":  # L-BFGS rescales a ridge start at once; Adam at lr/10 does not
            return named_loss and self.final_solver == "lbfgs"
        if start == "ridge" and not named_loss:
            raise ValueError(
                "output_start='ridge' fits the output layer to the targets: it needs "
                "loss='cross_entropy' or loss='mse', not a loss function of one's own"
            )
        return start == "ridge"

    @property
    def lbfgs(self) -> bool:
        """Whether the current phase trains by full-batch L-BFGS."""
        return self.phase is not Phase.STRUCTURAL and self.final_solver == "lbfgs"

    @property
    def _final_phase(self) -> Phase:
        return Phase.QUANTITATIVE if self.has_blocks else Phase.TRAIN

    @property
    def final_lr(self) -> float:
        """The final phase's learning rate: the configured one, or its default (a tenth of
        the structural rate after a structural phase or for a GLAI)."""
        if self.config.lr is not None:
            return self.config.lr
        two_phase = self.monitor is not None or self.has_blocks
        return self.config.structural_lr / 10 if two_phase else self.config.structural_lr

    @property
    def finished(self) -> bool:
        """Whether the final phase used its epochs or a callback stopped it."""
        final = self.phase is not Phase.STRUCTURAL
        return self.stopped or (final and self.phase_epochs >= self.config.epochs)

    def begin(
        self, directory: str | os.PathLike | None = None, probe: torch.Tensor | None = None
    ) -> None:
        """Start a new run in its first phase (``probe``: the monitor's, if it has none)."""
        if self.monitor is not None:
            self.monitor.on_train_begin(self.module, probe)
        elif self.has_blocks:
            self._prepare_quantitative(directory)
        self.start_phase()

    def switch(self, epoch: int, directory: str | os.PathLike | None = None) -> None:
        """End the structural phase after ``epoch``: freeze the structure of every GLAI
        block, cache masks where the inputs are fixed, start the quantitative phase."""
        self.history.switch_epoch = epoch
        if self.has_blocks:
            freeze_structures(self.module)
            self._prepare_quantitative(directory)
        self.phase, self.phase_epochs = Phase.QUANTITATIVE, 0
        self.start_phase()

    def start_phase(self) -> None:
        """A fresh optimiser (and schedule) over what trains in the current phase."""
        trained = self.strategy.module if self.strategy is not None else self.model
        parameters = [p for p in trained.parameters() if p.requires_grad]
        structural = self.phase is Phase.STRUCTURAL
        lr = self.config.structural_lr if structural else self.final_lr
        make_optimizer = self.config.optimizer_factory
        if self.lbfgs:
            self.optimizer = make_lbfgs(parameters)
        else:
            self.optimizer = make_optimizer(
                parameters, lr=lr, weight_decay=self.config.weight_decay
            )
        # anew: the trainable set changed; before the switch the paths take no part
        self.forward_model = data_parallel(
            trained, unused_parameters=structural and self.has_blocks
        )
        self.scheduler = None
        if not structural and not self.lbfgs and self.config.schedule == "cosine":
            steps = self.config.epochs * math.ceil(len(self.train) / self.batch_size)
            self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, steps)

    def _prepare_quantitative(
        self, directory: str | os.PathLike | None, state: dict | None = None
    ) -> None:
        self.strategy = STRATEGIES[self.config.quantitative](self.model, self.train, self.val)
        self.strategy.prepare(directory, state)

    def train_epoch(self) -> tuple[float, int | None]:
        """One pass over the training data: (mean loss, first step whose loss was not
        finite, or None). Losses stay on the device until the end of the epoch."""
        if self.ridge_start and self.phase_epochs == 0 and self.history.switch_epoch is not None:
            # the first epoch after a switch starts from the ridge output layer (not the
            # switch itself: the switch epoch's weights are the ones its validation judged)
            trained = self.strategy.module if self.strategy is not None else self.model
            penalty = self.config.weight_decay
            classes = self.objective.classes
            ridge_output(unwrapped(trained), self._full_passes, classes, penalty)
        self.phase_epochs += 1
        self.module.train()
        strategy = self.strategy
        data = strategy.data if strategy is not None else self.train
        if self.lbfgs:
            loss = lbfgs_epoch(
                self.optimizer,
                self._full_passes,
                self._loss,
                len(data),
                self.config.weight_decay,
            )
            if strategy is not None:
                strategy.end_epoch()
            return (loss, None) if math.isfinite(loss) else (math.nan, 1)
        masks = strategy.train_masks if strategy is not None else None
        batches = data.batches(
            self.batch_size, True, self.generator, self.device, masks, self.dtype, self.shard
        )
        losses = [self._train_step(x, y, batch_masks) for x, y, batch_masks in batches]
        self.epoch_steps = len(losses)
        if strategy is not None:
            strategy.end_epoch()
        totals = sum_over_processes(torch.stack(losses))  # per step, over all processes
        finite = torch.isfinite(totals)
        if not bool(finite.all()):
            return math.nan, int((~finite).nonzero()[0]) + 1
        return float(totals.sum()) / len(self.train), None

    def _train_step(
        self, x: torch.Tensor, y: torch.Tensor, masks: tuple[torch.Tensor, ...] | None
    ) -> torch.Tensor:
        """One optimiser step; returns the batch's summed loss (on the device)."""
        self.optimizer.zero_grad(set_to_none=True)
        loss = self._loss(x, y, masks)
        loss.backward()
        self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()
        return loss.detach() * len(y)

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
        """Validation loss and metric over the whole validation set."""
        if self.val is None:
            return None, None
        self.module.eval()
        masks = self.strategy.val_masks if self.strategy is not None else None
        outputs, targets = [], []
        for x, y, batch_masks in self.val.batches(
            VALIDATION_BATCH, False, None, self.device, masks, self.dtype
        ):
            outputs.append(
                self.model(x) if batch_masks is None else self.model(x, masks=batch_masks)
            )
            targets.append(y)
        output, target = torch.cat(outputs), torch.cat(targets)
        val_loss = float(self.objective.loss(output, target))
        function = self.objective.metric.function
        return val_loss, val_loss if function is None else float(function(output, target))

    def check_structure(self, val_loss: float | None) -> StructureCheck | None:
        """The monitor's measurement of this epoch's structural change (structural phase),
        told the epoch's optimiser steps and validation loss."""
        if self.phase is not Phase.STRUCTURAL:
            return None
        return self.monitor.check(self.module, self.epoch_steps, val_loss)

    def identity(self) -> dict:
        """What a checkpoint must agree with to be resumed by this run."""
        config = self.config
        return {
            "model": type(self.module).__name__,
            "shapes": {name: list(t.shape) for name, t in self.module.state_dict().items()},
            "samples": len(self.train),
            "batch_size": self.batch_size,
            "epochs": config.epochs,
            "structural_lr": config.structural_lr,
            "lr": self.final_lr,
            "schedule": config.schedule,
            "weight_decay": config.weight_decay,
            "quantitative": config.quantitative,
            "solver": self.final_solver,
            "ridge_start": self.ridge_start,
        }

    def state_dict(self) -> dict:
        structural = self.phase is Phase.STRUCTURAL
        return {
            "signature": self.identity(),
            "seed": self.seed,
            "model": self.module.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler else None,
            "generator": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "phase": self.phase.value,
            "phase_epochs": self.phase_epochs,
            "stopped": self.stopped,
            "history": self.history.to_dict(),
            "monitor": self.monitor.state_dict() if structural else None,
            "quantitative": self.strategy.state_dict() if self.strategy is not None else None,
            "seconds": time.perf_counter() - self.start,
        }

    def restore(self, state: dict, directory: str | os.PathLike) -> None:
        """Continue from a checkpoint in ``directory`` written by an identical run."""
        for key, value in self.identity().items():
            if state["signature"].get(key) != value:
                raise ValueError(
                    f"checkpoint in {directory} was written by a different run ({key}: "
                    f"{state['signature'].get(key)!r} there, {value!r} here)"
                )
        self.module.load_state_dict(state["model"])
        self.phase, self.phase_epochs = Phase(state["phase"]), state["phase_epochs"]
        self.stopped = state["stopped"]
        self.history = History.from_dict(state["history"])
        if state["monitor"] is not None:
            self.monitor.load_state_dict(state["monitor"])
        if self.has_blocks and self.phase is not Phase.STRUCTURAL:
            self._prepare_quantitative(directory, state["quantitative"])
        self.start_phase()
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        self.start = time.perf_counter() - state["seconds"]

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
            lr=self.optimizer.param_groups[0]["lr"],
            pattern_change=check.pattern_change if check else None,
            layer_changes=check.layer_changes if check else None,
            weight_change=check.weight_change if check else None,
            path_distance=check.path_distance if check else None,
        )
        self.history.records.append(record)
        return record
