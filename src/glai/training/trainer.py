"""Two-phase training: structure until its patterns settle, then the paths alone."""

from __future__ import annotations

import copy
import logging
import os
import time
import warnings
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from glai.nn.block import GLAI
from glai.nn.monitor import StructureMonitor
from glai.training.callbacks import Callback
from glai.training.checkpoint import read_checkpoint, write_checkpoint
from glai.training.config import FitConfig
from glai.training.distributed import (
    is_main_process,
)
from glai.training.fit_data import Data, FitData, as_fit_data, check_fit_data
from glai.training.history import EpochRecord, History
from glai.training.run import (
    LossFunction,
    MetricFunction,
    OptimizerFactory,
    Phases,
    TrainingRun,
    run_identity,
)

logger = logging.getLogger(__name__)


_OPTIMIZERS: dict[str, OptimizerFactory] = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": lambda params, lr, weight_decay: torch.optim.SGD(
        params, lr, momentum=0.9, weight_decay=weight_decay
    ),
}
_SCHEDULES = ("constant", "cosine")
_QUANTITATIVE = ("full", "rowspace")


def fit(
    model: nn.Module,
    train: Data,
    val: Data | None = None,
    config: FitConfig | None = None,
    *,
    loss: str | LossFunction = "cross_entropy",
    metric: str | MetricFunction | None = None,
    monitor: StructureMonitor | None = None,
    callbacks: Sequence[Callback] = (),
    checkpoint_dir: str | os.PathLike | None = None,
    resume: bool = False,
    **overrides: Any,
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
        lr: learning rate of the final phase; ``None`` takes ``structural_lr / 10`` after a
            structural phase or for a frozen GLAI (the paths start from a trained network;
            on the benchmark's head and pixels settings this was the only variant within
            0.3 points of the equal-width MLP on both, see BENCHMARKS.md), and
            ``structural_lr`` for single-phase training. Small data sets, where the
            structure settles before the network fits, may want ``structural_lr``.
        schedule: ``"cosine"`` (decay to 0 over ``epochs``) or ``"constant"``.
        quantitative: how the quantitative phase trains the paths. ``"full"``: every path
            weight, on the inputs. ``"rowspace"``: the training inputs are multiplied once by
            the first path layer ``W'_1`` and that layer then learns only within the span
            of its rows (``W'_1 <- M W'_1``, ``M`` square, the identity at first), so no
            step reads the inputs: the first layer costs ``width_1`` instead of
            ``in_features`` multiplications per unit and sample (weight decay acts on
            ``M``). Needs tensor training data, and pays only when the first hidden layer
            is narrower than the input; see BENCHMARKS.md for what it saves and costs.
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
    config = (config or FitConfig()).replace(**overrides)
    epochs, batch_size, lr = config.epochs, config.batch_size, config.lr
    structural_lr, schedule, quantitative = (
        config.structural_lr,
        config.schedule,
        config.quantitative,
    )
    weight_decay, early_stopping, seed = config.weight_decay, config.early_stopping, config.seed
    device, progress, probe_size = config.device, config.progress, config.switch.probe_size
    optimizer = config.optimizer
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
    if quantitative == "rowspace" and not (is_glai and train_data.fixed):
        raise ValueError(
            "quantitative='rowspace' trains a GLAI's paths on cached products of fixed "
            "inputs: it needs a GLAI and (X, y) tensors (or a TensorDataset) as train"
        )
    if quantitative == "rowspace" and model.hidden_features[0] >= model.in_features:
        warnings.warn(
            f"quantitative='rowspace' is no cheaper than 'full' when the first hidden layer "
            f"({model.hidden_features[0]} units) is as wide as the input "
            f"({model.in_features} features); it pays when it is narrower",
            stacklevel=2,
        )
    if monitor is None and is_glai and not model.frozen:
        rule = config.switch
        monitor = StructureMonitor(
            threshold=rule.threshold,
            patience=rule.patience,
            max_structural_epochs=rule.max_structural_epochs,
            relative=rule.relative,
        )
    if monitor is not None:
        if is_glai and model.frozen:
            raise ValueError("the GLAI is already frozen: train it without a monitor")
        monitor = copy.copy(monitor)
        if monitor.probe is None:
            monitor.probe = train_data.sample_inputs(probe_size, generator)
        monitor.probe = monitor.probe.to(device)

    if lr is None:
        lr = structural_lr / 10 if monitor is not None or is_glai else structural_lr
    phases = Phases(make_optimizer, structural_lr, lr, weight_decay, schedule, epochs)
    run = TrainingRun(
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
        dtype,
        quantitative,
    )
    signature = run_identity(
        model,
        len(train_data),
        batch_size,
        epochs,
        structural_lr,
        lr,
        schedule,
        weight_decay,
        quantitative,
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
