"""The state of one training run: phases, optimiser, schedule, caches, best weights.

:func:`glai.fit` drives a :class:`TrainingRun`; everything a checkpoint must hold to
continue the run lives here.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from glai.nn.block import GLAI
from glai.nn.mask_cache import MaskCache
from glai.nn.monitor import StructureMonitor
from glai.training.distributed import (
    data_parallel,
    gather_rows,
    shard_indices,
    sum_over_processes,
    world,
)
from glai.training.fit_data import FitData
from glai.training.history import EpochRecord, History
from glai.training.row_space import RowSpacePaths

LossFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
MetricFunction = Callable[[torch.Tensor, torch.Tensor], float]
OptimizerFactory = Callable[..., torch.optim.Optimizer]


@dataclass
class Phases:
    """How each phase starts: its optimiser, learning rate and schedule."""

    make_optimizer: OptimizerFactory
    structural_lr: float
    lr: float
    weight_decay: float
    schedule: str
    epochs: int

    def start(self, run: TrainingRun, phase: str) -> None:
        if phase == "structural":
            run.start_phase(
                self.make_optimizer, self.structural_lr, self.weight_decay, "constant", None
            )
        else:
            run.start_phase(
                self.make_optimizer, self.lr, self.weight_decay, self.schedule, self.epochs
            )


def run_identity(
    model: nn.Module,
    samples: int,
    batch_size: int,
    epochs: int,
    structural_lr: float,
    lr: float,
    schedule: str,
    weight_decay: float,
    quantitative: str,
) -> dict:
    """What a checkpoint must agree with to be resumed by this call."""
    return {
        "model": type(model).__name__,
        "shapes": {name: list(t.shape) for name, t in model.state_dict().items()},
        "samples": samples,
        "batch_size": batch_size,
        "epochs": epochs,
        "structural_lr": structural_lr,
        "lr": lr,
        "schedule": schedule,
        "weight_decay": weight_decay,
        "quantitative": quantitative,
    }


class TrainingRun:
    """The whole state of one training run: data, phase, optimiser, schedule, mask caches,
    monitor, history and best weights; :meth:`state_dict` is what a checkpoint holds."""

    def __init__(
        self,
        model: nn.Module,
        train: FitData,
        val: FitData | None,
        loss_function: LossFunction,
        metric_function: MetricFunction | None,
        batch_size: int,
        generator: torch.Generator,
        device: torch.device,
        history: History,
        monitor: StructureMonitor | None,
        dtype: torch.dtype,
        quantitative: str = "full",
    ) -> None:
        self.model, self.train, self.val = model, train, val
        self.loss_function, self.metric_function = loss_function, metric_function
        self.batch_size, self.generator, self.device = batch_size, generator, device
        self.history, self.monitor = history, monitor
        self.best = BestWeights(history.greater_is_better)
        self.dtype = dtype
        self.quantitative = quantitative
        self.train_masks: MaskCache | None = None
        self.val_masks: MaskCache | None = None
        self.row_space: RowSpacePaths | None = None
        self.projected: FitData | None = None  # the training inputs in row-space form
        self.phase = ""
        self.phase_epochs = 0
        self.finished = False
        self.shard = world()
        self.start = time.perf_counter()

    def begin(self, phases: Phases, is_glai: bool) -> None:
        """Start a new run: structural if there is a monitor, else the final phase."""
        if self.monitor is not None:
            self.phase = "structural"
            self.monitor.on_train_begin(self.model)
        else:
            self.phase = "quantitative" if is_glai else "train"
            if is_glai:
                self.prepare_quantitative()
        phases.start(self, self.phase)

    def switch(
        self,
        record: EpochRecord,
        phases: Phases,
        is_glai: bool,
        checkpoint_dir: str | os.PathLike | None,
    ) -> None:
        """End the structural phase after ``record``'s epoch."""
        self.history.switch_epoch = record.epoch
        if is_glai:
            self.model.freeze_structure()
            self.prepare_quantitative(checkpoint_dir)
        self.phase, self.phase_epochs = "quantitative", 0
        phases.start(self, self.phase)
        self.best.update(record, self.model)

    def state_dict(self, signature: dict) -> dict:
        return {
            "signature": signature,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler else None,
            "generator": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "phase": self.phase,
            "phase_epochs": self.phase_epochs,
            "finished": self.finished,
            "history": self.history.to_dict(),
            "best": self.best.state_dict(),
            "monitor": self.monitor.state_dict() if self.phase == "structural" else None,
            "row_space": self.row_space.state_dict() if self.row_space is not None else None,
            "seconds": time.perf_counter() - self.start,
        }

    def restore(
        self, state: dict, signature: dict, phases: Phases, checkpoint_dir: str | os.PathLike
    ) -> None:
        """Continue from a checkpoint written by an identical call."""
        for key, value in signature.items():
            if state["signature"].get(key) != value:
                raise ValueError(
                    f"checkpoint in {checkpoint_dir} was written by a different run ({key}: "
                    f"{state['signature'].get(key)!r} there, {value!r} here)"
                )
        self.model.load_state_dict(state["model"])
        self.phase, self.phase_epochs = state["phase"], state["phase_epochs"]
        self.finished = state["finished"]
        self.history = History.from_dict(state["history"])
        self.best.load_state_dict(state["best"])
        if state["monitor"] is not None:
            self.monitor.load_state_dict(state["monitor"])
        if isinstance(self.model, GLAI) and self.model.frozen:
            self.prepare_quantitative(checkpoint_dir, state.get("row_space"))
        phases.start(self, self.phase)
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        self.start = time.perf_counter() - state["seconds"]

    def start_phase(
        self,
        make_optimizer: OptimizerFactory,
        lr: float,
        weight_decay: float,
        schedule: str,
        epochs: int | None,
    ) -> None:
        trained = self.row_space if self.row_space is not None else self.model
        parameters = [p for p in trained.parameters() if p.requires_grad]
        self.optimizer = make_optimizer(parameters, lr=lr, weight_decay=weight_decay)
        self.forward_model = data_parallel(trained)  # anew: the trainable set changed
        self.scheduler = None
        if schedule == "cosine":
            steps = epochs * math.ceil(len(self.train) / self.batch_size)
            self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, steps)

    def prepare_quantitative(
        self, directory: str | os.PathLike | None = None, row_space: dict | None = None
    ) -> None:
        """Cache the frozen structure's masks of every fixed input set (with a checkpoint
        ``directory``, keep them there or read them back from there) and, for row-space
        training, the projected training inputs (``row_space``: its checkpointed state)."""
        first_products = None
        if self.quantitative == "rowspace":
            self.row_space = RowSpacePaths(self.model)
            if row_space is not None:
                self.row_space.load_state_dict(row_space)
            projected = self.row_space.project(self.train.inputs)
            self.projected = FitData(projected, self.train.targets)
            if torch.equal(self.row_space.basis, self.model.structure[0].weight):
                first_products = projected  # at the switch: the structure's own products
        if self.train.fixed:
            self.train_masks = mask_cache_for(
                self.model, self.train, directory, "train", first_products
            )
        if self.val is not None and self.val.fixed:
            self.val_masks = mask_cache_for(self.model, self.val, directory, "val")

    def train_epoch(self) -> tuple[float, int | None]:
        """One pass over the training data: (mean loss, first step whose loss was not
        finite, or None). Losses stay on the device until the end of the epoch."""
        self.model.train()
        model = self.forward_model
        losses = []
        data = self.projected if self.projected is not None else self.train
        batches = data.batches(
            self.batch_size,
            True,
            self.generator,
            self.device,
            self.train_masks,
            self.dtype,
            self.shard,
        )
        for x, y, masks in batches:
            self.optimizer.zero_grad(set_to_none=True)
            output = model(x) if masks is None else model(x, masks=masks)
            loss = self.loss_function(output, y)
            loss.backward()
            self.optimizer.step()
            if self.scheduler is not None:
                self.scheduler.step()
            losses.append(loss.detach() * len(y))
        if self.row_space is not None:
            self.row_space.fold(self.model)
        totals = sum_over_processes(torch.stack(losses))  # per step, over all processes
        finite = torch.isfinite(totals)
        if not bool(finite.all()):
            return math.nan, int((~finite).nonzero()[0]) + 1
        return float(totals.sum()) / len(self.train), None

    @torch.no_grad()
    def evaluate(self) -> tuple[float | None, float | None]:
        """Validation loss and metric over the whole validation set."""
        if self.val is None:
            return None, None
        self.model.eval()
        outputs, targets = [], []
        batches = self.val.batches(4096, False, None, self.device, self.val_masks, self.dtype)
        for x, y, masks in batches:
            outputs.append(self.model(x) if masks is None else self.model(x, masks=masks))
            targets.append(y)
        output, target = torch.cat(outputs), torch.cat(targets)
        val_loss = float(self.loss_function(output, target))
        if self.metric_function is None:
            return val_loss, val_loss
        return val_loss, float(self.metric_function(output, target))


class BestWeights:
    """Best validation epoch so far, and a copy of its weights."""

    def __init__(self, greater_is_better: bool) -> None:
        self.greater_is_better = greater_is_better
        self.epoch: int | None = None
        self.value: float | None = None
        self.state: dict[str, torch.Tensor] | None = None
        self.stale_epochs = 0

    def update(self, record: EpochRecord, model: nn.Module) -> None:
        value = record.val_metric
        if value is None:
            return
        better = self.value is None or (
            value > self.value if self.greater_is_better else value < self.value
        )
        if better:
            self.epoch, self.value, self.stale_epochs = record.epoch, value, 0
            self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            self.stale_epochs += 1

    def state_dict(self) -> dict:
        return {
            "epoch": self.epoch,
            "value": self.value,
            "state": self.state,
            "stale_epochs": self.stale_epochs,
        }

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.value = state["epoch"], state["value"]
        self.state, self.stale_epochs = state["state"], state["stale_epochs"]


def mask_cache_for(
    model: GLAI,
    data: FitData,
    directory: str | os.PathLike | None,
    name: str,
    first_products: torch.Tensor | None = None,
) -> MaskCache:
    """The mask cache of ``data``: read from ``directory`` if it holds one, else built (and
    kept there when a directory is given), from ``first_products`` if given (see
    :meth:`MaskCache.build`). With several processes each builds the masks of its
    ``DistributedSampler`` shard and the shards are gathered."""
    if world()[1] > 1:
        indices = shard_indices(len(data))
        local = MaskCache.build(model, data.inputs[indices.to(data.inputs.device)])
        packed = [gather_rows(layer, indices.to(layer.device), len(data)) for layer in local.packed]
        return MaskCache(packed, local.widths, local.sample_shape)
    path = Path(directory) / f"masks-{name}.pt" if directory is not None else None
    if path is not None and path.is_file():
        cache = MaskCache.load(path)
        if len(cache) == len(data):
            return cache.to(data.inputs.device)
    cache = MaskCache.build(model, data.inputs, first_products=first_products)
    if path is not None:
        cache.save(path)
    return cache
