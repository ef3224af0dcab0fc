"""Two-phase training: structure until its patterns settle, then the paths alone."""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from glai.nn.block import GLAI
from glai.nn.mlp import MLP
from glai.nn.modes import evaluating
from glai.nn.monitor import StructureMonitor
from glai.nn.switching import glai_blocks, unwrapped
from glai.training.callbacks import (
    BestWeights,
    Callback,
    Checkpointing,
    EarlyStopping,
    ProgressBar,
)
from glai.training.checkpoint import check_unused, read_checkpoint
from glai.training.config import FitConfig
from glai.training.fit_data import (
    MIN_VALIDATION,
    Data,
    FitData,
    prepare_data,
    split_validation,
)
from glai.training.history import EpochRecord, History
from glai.training.metrics import MetricFunction
from glai.training.objective import LossFunction, Objective
from glai.training.quantitative import STRATEGIES
from glai.training.random_states import RandomStates
from glai.training.run import TrainingRun

logger = logging.getLogger(__name__)


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

    For an unfrozen :class:`glai.GLAI`: the **structural phase** trains it as a ReLU MLP at
    ``structural_lr`` while ``monitor`` measures how its activation patterns change; when
    the switch rule fires, the structure is frozen, fixed inputs' masks are cached, and the
    **quantitative phase** trains the paths with the ``solver`` (full-batch L-BFGS on small
    tensor data, else ``optimizer`` at ``lr`` with ``schedule``). ``epochs`` bounds both
    phases together; the best validation epoch's weights are restored at the end (a run
    without a structural phase counts the weights it was handed as epoch 0). Each
    phase is planned once (:class:`glai.training.plan.PhasePlan`, in ``history.plans``);
    a setting the plan does not use is warned about. Submodules keep their train/eval
    mode. ``prune_threshold`` (off by default) removes weak hidden units of a GLAI during
    its quantitative phase (:mod:`glai.training.adaptive_pruning`).

    Any other model trains in one phase at ``lr`` with ``schedule``, or with a ``monitor``
    in GLAI's two phases with nothing frozen (the control of schedule and solver).

    Args:
        model: the network, trained in place.
        train: ``(X, y)`` tensors of shapes (n, in_features) and (n,) or (n, out), or a
            Dataset of ``(x, y)`` items. Tensors (and ``TensorDataset``) count as fixed
            inputs, whose masks are cached at the switch.
        val: validation data of the same form, used for the metric and early stopping.
        config: the settings (:class:`glai.training.FitConfig`); its defaults if ``None``.
        loss: ``"cross_entropy"``, ``"mse"``, or a function ``(output, target) -> loss``.
        metric: ``"accuracy"`` (default for cross-entropy), ``"loss"`` (validation loss,
            the default otherwise), or a function ``(output, target) -> float`` where
            higher is better.
        monitor: the structure monitor; by default one built from ``config.switch``
            for an unfrozen GLAI. Its probe, if it has none, is ``probe_size`` training
            inputs drawn with ``seed``; its ``checks_`` record every structural epoch.
        callbacks: :class:`glai.Callback` objects called during training.
        checkpoint_dir: write a checkpoint there after every epoch (atomically; created
            when first needed): every stateful piece of the run, and the mask caches, each
            with the fingerprint of the structure and data it was computed from.
        resume: continue from the checkpoint in ``checkpoint_dir`` if there is one; the
            result is the same as an uninterrupted run (give the model as it was when the
            run began: units that adaptive pruning removed are removed again, then the
            state is loaded). A damaged checkpoint, or one written by a different run
            (other model, data or settings), raises ``ValueError`` instead of restarting.
            Without ``resume``, a directory holding an earlier run's files is refused
            (``FileExistsError``).
        **overrides: fields of :class:`~glai.training.FitConfig` (``epochs``, ``lr``,
            ``quantitative``, ``seed``, ...; the switch rule's ``threshold``,
            ``patience``, ... flat), applied on top of ``config``.

    Returns:
        The :class:`glai.History` of the run.

    Raises:
        FloatingPointError: the training loss became NaN or infinite; the message names
            the phase, epoch and step, and the last checkpoint (of the epoch before) stays.
    """
    config = (config or FitConfig()).replace(**overrides)
    trainer = Trainer(model, config, Objective.of(loss, metric, _signature_of(model)[1]))
    return trainer.fit(train, val, monitor, callbacks, checkpoint_dir, resume)


class Trainer:
    """Trains one model with one configuration: ``fit -> fit_loop -> run_single_epoch``.

    Args:
        model: the network, trained in place.
        config: the settings.
        objective: loss and metric.
    """

    def __init__(self, model: nn.Module, config: FitConfig, objective: Objective) -> None:
        self.model, self.config, self.objective = model, config, objective
        self.device = torch.device(config.device) if config.device else _device_of(model)
        self.callbacks: list[Callback] = []

    def fit(
        self,
        train: Data,
        val: Data | None = None,
        monitor: StructureMonitor | None = None,
        callbacks: Sequence[Callback] = (),
        checkpoint_dir: str | os.PathLike | None = None,
        resume: bool = False,
    ) -> History:
        """Train on ``train`` (validating on ``val``); see :func:`glai.fit`."""
        run, state = self.start(train, val, monitor, checkpoint_dir, resume)
        self.callbacks = self._callbacks(run, callbacks, checkpoint_dir, state)
        try:
            self._notify("on_train_begin", self.model)
            self.fit_loop(run, checkpoint_dir)
            self._notify("on_train_end", self.model, run.history)
        finally:
            run.end()
        return run.history

    def start(
        self,
        train: Data,
        val: Data | None,
        monitor: StructureMonitor | None,
        checkpoint_dir: str | os.PathLike | None,
        resume: bool,
    ) -> tuple[TrainingRun, dict | None]:
        """Check and place the data, pick the monitor, and begin (or resume) the run;
        returns it and the checkpoint it resumed from (``None`` for a new run)."""
        if checkpoint_dir is not None and not resume:
            check_unused(checkpoint_dir)
        self.model.to(self.device)
        in_features, _, dtype = _signature_of(self.model)
        classes = self.objective.classes
        train_data = prepare_data(train, "train", in_features, dtype, classes, self.device)
        if in_features is None:  # a network of the user's: try it on two training rows
            _check_runs_on(self.model, train_data)
        state = read_checkpoint(checkpoint_dir) if checkpoint_dir is not None and resume else None
        seed = self.config.seed
        if seed is None:  # a resumed run keeps the seed (and so the split) it started with
            seed = state["run"]["random"]["seed"] if state else int(torch.randint(2**62, ()))
        random = RandomStates(seed)
        if val is not None:
            val_data = prepare_data(val, "val", in_features, dtype, classes, self.device)
        else:
            train_data, val_data = self._split(train_data, random.generator)
        STRATEGIES[self.config.quantitative].check(self.model, train_data)
        monitor, probe = self._monitor(monitor, train_data, random.generator)
        run = TrainingRun(
            self.model,
            self.config,
            self.objective,
            train_data,
            val_data,
            monitor,
            random,
            dtype,
            self.device,
        )
        if state is None:
            run.begin(checkpoint_dir, probe)
            return run, None
        _check_identity(state["identity"], run.identity(), checkpoint_dir)
        run.load_state_dict(state["run"], checkpoint_dir)
        logger.info("resumed from %s after epoch %d", checkpoint_dir, len(run.history))
        return run, state

    def _callbacks(
        self,
        run: TrainingRun,
        callbacks: Sequence[Callback],
        checkpoint_dir: str | os.PathLike | None,
        state: dict | None,
    ) -> list[Callback]:
        """The progress bar, the user's callbacks, then best weights, early stopping and
        checkpointing (their states restored from ``state`` when resuming)."""
        config, metric = self.config, self.objective.metric
        on_loss = config.early_stopping_on == "loss"
        stateful: dict[str, Callback] = {"best": BestWeights(metric, on_loss)}
        if config.early_stopping is not None:
            stateful["early_stopping"] = EarlyStopping(
                run, metric, on_loss, config.early_stopping, config.early_stopping_tol
            )
        for name, callback in stateful.items():
            if state is not None:
                callback.load_state_dict(state[name])
            callback.switched_at = run.history.switch_epoch
        if state is None and run.monitor is None and run.val is not None:
            stateful["best"].consider_start(run.model, *run.evaluate(), run.history)
        result = [ProgressBar(config.progress, run), *callbacks, *stateful.values()]
        if checkpoint_dir is not None:
            result.append(Checkpointing(run, stateful, checkpoint_dir))
        return result

    def _split(self, train: FitData, generator: torch.Generator) -> tuple[FitData, FitData | None]:
        """Hold out ``validation_fraction`` of ``train`` for validation (see
        :func:`split_validation`); warn when the data are too few to validate on."""
        fraction = self.config.validation_fraction
        if fraction == 0:
            return train, None
        train_part, val_part = split_validation(train, fraction, self.objective.classes, generator)
        if val_part is None:
            warnings.warn(
                f"{len(train)} training samples are too few to hold out a validation split "
                f"(validation_fraction={fraction} gives {round(fraction * len(train))}, or "
                "fewer once every class keeps a training sample; at least "
                f"{MIN_VALIDATION} are needed): training on all of them for all "
                f"{self.config.epochs} epochs without early stopping; pass val= to "
                "validate, or validation_fraction=0 to silence this",
                stacklevel=5,  # the caller of glai.fit
            )
        return train_part, val_part

    def _monitor(
        self, monitor: StructureMonitor | None, train: Any, generator: torch.Generator
    ) -> tuple[StructureMonitor | None, torch.Tensor | None]:
        """The monitor of the switch rule (``None`` for a frozen GLAI or a plain model
        without one) and its probe: its own, or ``probe_size`` inputs drawn from ``train``."""
        frozen = {block.frozen for block in glai_blocks(self.model).values()}
        if frozen == {True, False}:
            raise ValueError(
                "some GLAI blocks of the model are frozen and some are not: freeze them all "
                "(glai.freeze_structures) or none, so that one switch serves them all"
            )
        if monitor is None and frozen == {False}:
            monitor = StructureMonitor(rule=self.config.switch)
        if monitor is None:
            return None, None
        if frozen == {True}:
            raise ValueError("the GLAI is already frozen: train it without a monitor")
        probe = monitor.probe
        if probe is None:
            probe = train.sample_inputs(self.config.switch.probe_size, generator)
        return monitor, probe.to(self.device)

    def fit_loop(self, run: TrainingRun, checkpoint_dir: str | os.PathLike | None) -> None:
        """Epochs until the run ends: train, evaluate, maybe switch, callbacks.

        A rule that fires before any check (``StructureMonitor.after(0)``) switches before
        the first epoch (switch epoch 0): the paths train under the untrained gates.
        """
        if not run.history.records and run.should_switch:
            self._switch(run, 0, checkpoint_dir)
        while not run.finished:
            record = self.run_single_epoch(run, checkpoint_dir)
            self._notify("on_epoch_end", self.model, record)
            if run.should_switch:
                self._switch(run, record.epoch, checkpoint_dir)
            self._notify("on_epoch_complete", self.model, record)

    def _switch(
        self, run: TrainingRun, epoch: int, checkpoint_dir: str | os.PathLike | None
    ) -> None:
        """Freeze after ``epoch`` (0: before the first) and tell the callbacks."""
        run.switch(epoch, checkpoint_dir)
        self._notify("on_switch", self.model, epoch)

    def run_single_epoch(
        self, run: TrainingRun, checkpoint_dir: str | os.PathLike | None = None
    ) -> EpochRecord:
        """Train one epoch, remove weak units (adaptive pruning), validate, measure the
        structure; returns the epoch's record."""
        train_loss, bad_step = run.train_epoch()
        if bad_step is not None:
            epoch = len(run.history) + 1
            kept = f"; the checkpoint of epoch {epoch - 1} is kept" if checkpoint_dir else ""
            raise FloatingPointError(
                f"training loss became non-finite at step {bad_step} of epoch {epoch} "
                f"({run.phase} phase){kept}; lower the learning rate"
            )
        removal = run.remove_weak_units(checkpoint_dir)
        if removal is not None:
            self._notify("on_units_removed", self.model, removal)
        val_loss, val_metric = run.evaluate()
        run.solver.after_validation(val_loss)
        return run.record(train_loss, val_loss, val_metric, run.check_structure(val_loss))

    def _notify(self, hook: str, *arguments: Any) -> None:
        """Call ``hook`` on every callback that has it (callbacks need not subclass
        :class:`Callback`)."""
        for callback in self.callbacks:
            method = getattr(callback, hook, None)
            if method is not None:
                method(*arguments)


def _check_identity(saved: dict, current: dict, directory: str | os.PathLike) -> None:
    """Refuse a checkpoint written by a run with other settings, model or data."""
    for key, value in current.items():
        if saved.get(key) != value:
            shown = "(other data)" if key == "data" else f"{saved.get(key)!r} there, {value!r} here"
            raise ValueError(
                f"checkpoint in {directory} was written by a different run ({key}: {shown}); "
                "resume with the same model, data and settings, or write into another "
                "directory"
            )


@torch.no_grad()
def _check_runs_on(model: nn.Module, train: FitData) -> None:
    """Run ``model`` on the first two training inputs (in eval mode, modes restored), so
    that inputs of the wrong shape are refused before training with a clear message."""
    if train.fixed:
        first = train.inputs[train.rows[:2] if train.rows is not None else slice(0, 2)]
    else:
        first = torch.stack(
            [torch.as_tensor(train.dataset[i][0]) for i in range(min(2, len(train)))]
        )
    device = _device_of(model)
    try:
        with evaluating(model):
            model(first.to(device))
    except (RuntimeError, ValueError, TypeError, IndexError) as error:
        raise ValueError(
            f"the model cannot run on the training inputs (shape {tuple(first.shape[1:])} per "
            f"sample): {str(error).splitlines()[0]}"
        ) from error


def _device_of(model: nn.Module) -> torch.device:
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


def _signature_of(model: nn.Module) -> tuple[int | None, int, torch.dtype]:
    """(in_features, out_features, dtype) of a network with ``nn.Linear`` layers.

    ``in_features`` is ``None`` (inputs not checked) unless the model is a GLAI or an MLP:
    another network's first ``Linear`` need not be where its inputs go.
    """
    model = unwrapped(model)
    linears = [module for module in model.modules() if isinstance(module, nn.Linear)]
    if not linears:
        raise TypeError(f"fit needs a network with nn.Linear layers, got {type(model).__name__}")
    in_features = model.in_features if isinstance(model, (GLAI, MLP)) else None
    out_features = getattr(model, "out_features", linears[-1].out_features)
    return in_features, out_features, linears[0].weight.dtype
