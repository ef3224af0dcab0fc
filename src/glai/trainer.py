"""Two-phase training: structure until its patterns settle, then the paths alone."""

from __future__ import annotations

import copy
import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from glai.block import GLAI
from glai.callbacks import Callback
from glai.checkpoint import read_checkpoint, write_checkpoint
from glai.data import Data, FitData, as_fit_data, check_fit_data
from glai.distributed import (
    data_parallel,
    gather_rows,
    is_main_process,
    shard_indices,
    sum_over_processes,
    world,
)
from glai.history import EpochRecord, History
from glai.mask_cache import MaskCache
from glai.monitor import StructureMonitor
from glai.validation import check_positive_int

logger = logging.getLogger(__name__)

LossFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
MetricFunction = Callable[[torch.Tensor, torch.Tensor], float]
OptimizerFactory = Callable[..., torch.optim.Optimizer]

_OPTIMIZERS: dict[str, OptimizerFactory] = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": lambda params, lr, weight_decay: torch.optim.SGD(
        params, lr, momentum=0.9, weight_decay=weight_decay
    ),
}
_SCHEDULES = ("constant", "cosine")


def fit(
    model: nn.Module,
    train: Data,
    val: Data | None = None,
    *,
    loss: str | LossFunction = "cross_entropy",
    metric: str | MetricFunction | None = None,
    epochs: int = 100,
    batch_size: int = 128,
    lr: float | None = None,
    schedule: str = "cosine",
    structural_lr: float = 1e-3,
    optimizer: str | OptimizerFactory = "adam",
    weight_decay: float = 0.0,
    monitor: StructureMonitor | None = None,
    probe_size: int = 1024,
    early_stopping: int | None = 10,
    callbacks: Sequence[Callback] = (),
    checkpoint_dir: str | os.PathLike | None = None,
    resume: bool = False,
    seed: int | None = None,
    device: torch.device | str | None = None,
    progress: bool = False,
) -> History:
    """Train a GLAI in two phases (or any model in one), with early stopping on validation.

    For a :class:`glai.GLAI` that is not yet frozen: the **structural phase** trains it as
    a ReLU MLP at ``structural_lr`` (constant) while ``monitor`` measures how much its
    activation patterns change; when the monitor's rule fires, the structure is frozen,
    the masks of fixed inputs are cached once, and the **quantitative phase** trains only
    the paths for at most ``epochs`` epochs at ``lr`` with ``schedule``. The weights of
    the best validation epoch (from the switch on) are restored at the end.

    Any other model (e.g. :class:`glai.MLP`) trains in one phase at ``lr`` with
    ``schedule``, or, when a ``monitor`` is given, with the same two-phase learning-rate
    schedule as GLAI but nothing frozen (the schedule-only ablation).

    Args:
        model: the network, trained in place.
        train: ``(X, y)`` tensors of shapes (n, in_features) and (n,) or (n, out), or a
            Dataset of ``(x, y)`` items. Tensors (and ``TensorDataset``) count as fixed
            inputs, whose masks are cached at the switch.
        val: validation data of the same form, used for the metric and early stopping.
        loss: ``"cross_entropy"``, ``"mse"``, or a function ``(output, target) -> loss``.
        metric: ``"accuracy"`` (default for cross-entropy), ``"loss"`` (validation loss,
            the default otherwise), or a function ``(output, target) -> float`` where
            higher is better.
        epochs: maximum epochs of the final phase (quantitative, or the only one).
        batch_size: training batch size.
        lr: learning rate of the final phase; ``None`` takes ``structural_lr``.
        schedule: ``"cosine"`` (decay to 0 over ``epochs``) or ``"constant"``.
        structural_lr: learning rate of the structural phase.
        optimizer: ``"adam"``, ``"adamw"``, ``"sgd"`` (momentum 0.9) or a factory
            ``(params, lr, weight_decay) -> Optimizer``; a fresh one starts each phase.
        weight_decay: weight decay passed to the optimiser.
        monitor: switch rule; defaults to ``StructureMonitor()`` for an unfrozen GLAI.
            Its probe, if not given, is ``probe_size`` training inputs drawn with ``seed``.
        probe_size: size of the probe set drawn when the monitor has none.
        early_stopping: stop the final phase after this many epochs without a better
            validation metric; ``None`` disables it.
        callbacks: :class:`glai.Callback` objects called during training.
        checkpoint_dir: write a checkpoint there after every epoch (atomically: a
            temporary file, flushed, then renamed), with the model, optimiser, schedule,
            monitor, phase, random states, history and best weights; the mask caches are
            kept there too.
        resume: continue from the checkpoint in ``checkpoint_dir`` if there is one; the
            result is the same as an uninterrupted run. A damaged checkpoint, or one
            written by a different run, raises ``ValueError`` instead of restarting.
        seed: seeds shuffling and probe sampling; ``None`` draws one from torch's RNG.
        device: device to train on; defaults to the model's.
        progress: show a progress bar over epochs.

    Returns:
        The :class:`glai.History` of the run.

    Raises:
        FloatingPointError: the training loss became NaN or infinite; the message names
            the phase, epoch and step, and the last checkpoint (of the epoch before) stays.
    """
    check_positive_int(epochs, "epochs")
    check_positive_int(batch_size, "batch_size")
    check_positive_int(probe_size, "probe_size")
    if early_stopping is not None:
        check_positive_int(early_stopping, "early_stopping")
    if schedule not in _SCHEDULES:
        raise ValueError(f"schedule must be one of {_SCHEDULES}, got {schedule!r}")
    make_optimizer = _optimizer_factory(optimizer)
    device = torch.device(device) if device is not None else _device_of(model)
    model.to(device)
    in_features, out_features, dtype = _signature_of(model)
    loss_function, classes = _loss_function(loss, out_features)
    metric_name, metric_function, greater = _metric_function(metric, loss, loss_function)

    train_data = _prepared(train, "train", in_features, dtype, classes, device)
    val_data = (
        _prepared(val, "val", in_features, dtype, classes, device) if val is not None else None
    )

    generator = torch.Generator()
    generator.manual_seed(seed if seed is not None else int(torch.randint(2**62, ())))

    is_glai = isinstance(model, GLAI)
    if monitor is None and is_glai and not model.frozen:
        monitor = StructureMonitor()
    if monitor is not None:
        if is_glai and model.frozen:
            raise ValueError("the GLAI is already frozen: train it without a monitor")
        monitor = copy.copy(monitor)
        if monitor.probe is None:
            monitor.probe = train_data.sample_inputs(probe_size, generator)
        monitor.probe = monitor.probe.to(device)

    if lr is None:
        lr = structural_lr
    phases = _Phases(make_optimizer, structural_lr, lr, weight_decay, schedule, epochs)
    run = _Run(
        model,
        train_data,
        val_data,
        loss_function,
        metric_function,
        batch_size,
        generator,
        device,
        History(metric_name, greater),
        monitor,
    )
    signature = _signature(
        model, len(train_data), batch_size, epochs, structural_lr, lr, schedule, weight_decay
    )
    state = read_checkpoint(checkpoint_dir) if checkpoint_dir is not None and resume else None
    if state is not None:
        run.restore(state, signature, phases, checkpoint_dir)
        logger.info("resumed from %s after epoch %d", checkpoint_dir, len(run.history))
    else:
        run.begin(phases, is_glai)
    for callback in callbacks:
        callback.on_train_begin(model)

    bar = tqdm(disable=not progress, desc="glai.fit", unit="epoch", initial=len(run.history))
    while not run.finished:
        run.phase_epochs += 1
        epoch = len(run.history) + 1
        train_loss, bad_step = run.train_epoch()
        if bad_step is not None:
            kept = f"; the checkpoint of epoch {epoch - 1} is kept" if checkpoint_dir else ""
            raise FloatingPointError(
                f"training loss became non-finite at step {bad_step} of epoch {epoch} "
                f"({run.phase} phase){kept}; lower the learning rate"
            )
        val_loss, val_metric = run.evaluate()
        check = run.monitor.check(model) if run.phase == "structural" else None
        record = EpochRecord(
            epoch=epoch,
            phase=run.phase,
            seconds=time.perf_counter() - run.start,
            train_loss=train_loss,
            val_metric=val_metric,
            val_loss=val_loss,
            lr=run.optimizer.param_groups[0]["lr"],
            pattern_change=check.pattern_change if check else None,
            layer_changes=check.layer_changes if check else None,
            weight_change=check.weight_change if check else None,
        )
        run.history.records.append(record)
        _report(bar, record)
        for callback in callbacks:
            callback.on_epoch_end(model, record)
        if run.phase == "structural":
            if run.monitor.should_switch:
                run.switch(record, phases, is_glai, checkpoint_dir)
                logger.info("structure frozen after epoch %d", record.epoch)
                for callback in callbacks:
                    callback.on_switch(model, record.epoch)
        else:
            run.best.update(record, model)
            run.finished = run.phase_epochs >= epochs or (
                early_stopping is not None and run.best.stale_epochs >= early_stopping
            )
        if checkpoint_dir is not None and is_main_process():
            write_checkpoint(checkpoint_dir, run.state_dict(signature))
    bar.close()
    history = run.history
    if run.best.state is not None:
        model.load_state_dict(run.best.state)
        history.best_epoch = run.best.epoch
    for callback in callbacks:
        callback.on_train_end(model, history)
    return history


@dataclass
class _Phases:
    """How each phase starts: its optimiser, learning rate and schedule."""

    make_optimizer: OptimizerFactory
    structural_lr: float
    lr: float
    weight_decay: float
    schedule: str
    epochs: int

    def start(self, run: _Run, phase: str) -> None:
        if phase == "structural":
            run.start_phase(
                self.make_optimizer, self.structural_lr, self.weight_decay, "constant", None
            )
        else:
            run.start_phase(
                self.make_optimizer, self.lr, self.weight_decay, self.schedule, self.epochs
            )


def _signature(
    model: nn.Module,
    samples: int,
    batch_size: int,
    epochs: int,
    structural_lr: float,
    lr: float,
    schedule: str,
    weight_decay: float,
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
    }


class _Run:
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
    ) -> None:
        self.model, self.train, self.val = model, train, val
        self.loss_function, self.metric_function = loss_function, metric_function
        self.batch_size, self.generator, self.device = batch_size, generator, device
        self.history, self.monitor = history, monitor
        self.best = _Best(history.greater_is_better)
        self.dtype = _signature_of(model)[2]
        self.train_masks: MaskCache | None = None
        self.val_masks: MaskCache | None = None
        self.phase = ""
        self.phase_epochs = 0
        self.finished = False
        self.shard = world()
        self.start = time.perf_counter()

    def begin(self, phases: _Phases, is_glai: bool) -> None:
        """Start a new run: structural if there is a monitor, else the final phase."""
        if self.monitor is not None:
            self.phase = "structural"
            self.monitor.on_train_begin(self.model)
        else:
            self.phase = "quantitative" if is_glai else "train"
            if is_glai:
                self.cache_masks()
        phases.start(self, self.phase)

    def switch(
        self,
        record: EpochRecord,
        phases: _Phases,
        is_glai: bool,
        checkpoint_dir: str | os.PathLike | None,
    ) -> None:
        """End the structural phase after ``record``'s epoch."""
        self.history.switch_epoch = record.epoch
        if is_glai:
            self.model.freeze_structure()
            self.cache_masks(checkpoint_dir)
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
            "seconds": time.perf_counter() - self.start,
        }

    def restore(
        self, state: dict, signature: dict, phases: _Phases, checkpoint_dir: str | os.PathLike
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
            self.cache_masks(checkpoint_dir)
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
        parameters = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = make_optimizer(parameters, lr=lr, weight_decay=weight_decay)
        self.forward_model = data_parallel(self.model)  # anew: the trainable set changed
        self.scheduler = None
        if schedule == "cosine":
            steps = epochs * math.ceil(len(self.train) / self.batch_size)
            self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, steps)

    def cache_masks(self, directory: str | os.PathLike | None = None) -> None:
        """Cache the frozen structure's masks of every fixed input set; with a checkpoint
        ``directory``, keep them there (or read them back from there)."""
        if self.train.fixed:
            self.train_masks = _masks(self.model, self.train, directory, "train")
        if self.val is not None and self.val.fixed:
            self.val_masks = _masks(self.model, self.val, directory, "val")

    def train_epoch(self) -> tuple[float, int | None]:
        """One pass over the training data: (mean loss, first step whose loss was not
        finite, or None). Losses stay on the device until the end of the epoch."""
        self.model.train()
        model = self.forward_model
        losses = []
        batches = self.train.batches(
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


class _Best:
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


def _masks(model: GLAI, data: FitData, directory: str | os.PathLike | None, name: str) -> MaskCache:
    """The mask cache of ``data``: read from ``directory`` if it holds one, else built (and
    kept there when a directory is given). With several processes each builds the masks
    of its ``DistributedSampler`` shard and the shards are gathered."""
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
    cache = MaskCache.build(model, data.inputs)
    if path is not None:
        cache.save(path)
    return cache


def _prepared(
    data: Data,
    name: str,
    in_features: int,
    dtype: torch.dtype,
    classes: int | None,
    device: torch.device,
) -> FitData:
    prepared = as_fit_data(data, name)
    check_fit_data(prepared, name, in_features, dtype, classes)
    if prepared.fixed and classes is not None:
        prepared.targets = prepared.targets.long()
    return prepared.to(device)


def _report(bar: tqdm, record: EpochRecord) -> None:
    summary = {"phase": record.phase, "loss": f"{record.train_loss:.4f}"}
    if record.val_metric is not None:
        summary["val"] = f"{record.val_metric:.4f}"
    if record.pattern_change is not None:
        summary["pattern_change"] = f"{record.pattern_change:.4f}"
    bar.set_postfix(summary)
    bar.update(1)
    logger.info("epoch %d %s", record.epoch, summary)


def _device_of(model: nn.Module) -> torch.device:
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


def _signature_of(model: nn.Module) -> tuple[int, int, torch.dtype]:
    """(in_features, out_features, dtype) of a GLAI, an MLP or any Linear-based network."""
    linears = [module for module in model.modules() if isinstance(module, nn.Linear)]
    if not linears:
        raise TypeError(f"fit needs a network with nn.Linear layers, got {type(model).__name__}")
    in_features = getattr(model, "in_features", linears[0].in_features)
    out_features = getattr(model, "out_features", linears[-1].out_features)
    return in_features, out_features, linears[0].weight.dtype


def _optimizer_factory(optimizer: str | OptimizerFactory) -> OptimizerFactory:
    if callable(optimizer):
        return optimizer
    if optimizer not in _OPTIMIZERS:
        raise ValueError(
            f"optimizer must be one of {sorted(_OPTIMIZERS)} or a callable, got {optimizer!r}"
        )
    return _OPTIMIZERS[optimizer]


def _loss_function(loss: str | LossFunction, out_features: int) -> tuple[LossFunction, int | None]:
    """The loss function and, for classification, the number of classes."""
    if loss == "cross_entropy":
        return F.cross_entropy, out_features
    if loss == "mse":
        return lambda output, target: F.mse_loss(output, target.view_as(output)), None
    if callable(loss):
        return loss, None
    raise ValueError(f"loss must be 'cross_entropy', 'mse' or a callable, got {loss!r}")


def _accuracy(output: torch.Tensor, target: torch.Tensor) -> float:
    return float((output.argmax(1) == target).float().mean())


def _metric_function(
    metric: str | MetricFunction | None, loss: object, loss_function: LossFunction
) -> tuple[str, MetricFunction | None, bool]:
    """(name, function or None for the validation loss, greater_is_better)."""
    if metric is None:
        metric = "accuracy" if loss == "cross_entropy" else "loss"
    if metric == "accuracy":
        return "accuracy", _accuracy, True
    if metric == "loss":
        return "loss", None, False
    if callable(metric):
        return getattr(metric, "__name__", "metric"), metric, True
    raise ValueError(f"metric must be 'accuracy', 'loss' or a callable, got {metric!r}")
