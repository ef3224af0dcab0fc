"""How each phase trains, decided once: :class:`PhasePlan`.

The settings of :class:`glai.training.FitConfig` leave choices open (``solver="auto"``,
``lr=None``, ``output_start="auto"``) whose answer depends on the model and the data.
They are resolved here, once, before the run starts, into one small frozen plan per phase
that says what was chosen and why; the run reads only its plans, the history keeps them,
the progress line and ``glai inspect`` show them. A setting that the chosen plan does
not use is reported (a warning), never silently dropped.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

from glai.training.config import FitConfig
from glai.training.lbfgs import AUTO_MAX_SAMPLES
from glai.training.phase import Phase

LBFGS, MINIBATCH = "lbfgs", "minibatch"
PLATEAU = "plateau"
RIDGE, STRUCTURAL = "ridge", "structural"


@dataclass(frozen=True)
class PhasePlan:
    """How one phase trains.

    Attributes:
        phase: the :class:`Phase` it plans.
        solver: ``"minibatch"`` (an optimiser on shuffled batches) or ``"lbfgs"``
            (full-batch L-BFGS with a line search).
        optimizer: the minibatch optimiser's name (``"lbfgs"`` for L-BFGS).
        lr: the learning rate (``None`` for L-BFGS, whose line search sets the steps).
        schedule: ``"constant"``, ``"cosine"`` or ``"plateau"`` (``"line search"`` for
            L-BFGS).
        output_start: ``"ridge"`` when the output layer starts the phase from its ridge
            solution, ``"structural"`` when it keeps the weights it has.
        weight_decay: the L2 penalty on the trained weights.
        reasons: why each choice left open by the settings was made, one line each.
    """

    phase: Phase
    solver: str
    optimizer: str
    lr: float | None
    schedule: str
    output_start: str
    weight_decay: float
    reasons: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line: ``quantitative: L-BFGS (line search), output layer from ridge``."""
        if self.solver == LBFGS:
            how = "L-BFGS (line search)"
        else:
            how = f"{self.optimizer} at lr {self.lr:g}, {self.schedule}"
        start = ", output layer from ridge" if self.output_start == RIDGE else ""
        return f"{self.phase}: {how}{start}, weight decay {self.weight_decay:g}"

    def brief(self) -> str:
        """A few words for a progress bar: ``lbfgs`` or ``adam 1e-04 cosine``."""
        if self.solver == LBFGS:
            return LBFGS
        return f"{self.optimizer} {self.lr:.0e} {self.schedule}"

    def to_dict(self) -> dict:
        """A JSON-ready dict (what histories and checkpoints keep)."""
        return {**asdict(self), "phase": self.phase.value, "reasons": list(self.reasons)}

    @classmethod
    def from_dict(cls, data: dict) -> PhasePlan:
        """Inverse of :meth:`to_dict`."""
        return cls(**{**data, "phase": Phase(data["phase"]), "reasons": tuple(data["reasons"])})


@dataclass(frozen=True)
class RunShape:
    """What the plans depend on besides the settings.

    Attributes:
        two_phase: the run trains a structure first (a GLAI, or a model with a monitor)
            or the model holds frozen GLAI blocks: the final phase starts from a trained
            network.
        has_blocks: the model holds GLAI blocks (its final phase is quantitative).
        head: the model is a GLAI or an MLP itself, not a larger network around blocks.
        fixed_data: the training data are tensors (a full pass is cheap to repeat).
        samples: training samples.
        processes: data-parallel processes.
        named_loss: the loss is ``"cross_entropy"`` or ``"mse"`` (a ridge start fits it).
        switches: the run has a structural phase that ends with a switch.
        validates: the run has validation data.
    """

    two_phase: bool
    has_blocks: bool
    head: bool
    fixed_data: bool
    samples: int
    processes: int
    named_loss: bool
    switches: bool
    validates: bool = True

    @property
    def final_phase(self) -> Phase:
        """Quantitative after a switch or for GLAI blocks; else the only phase."""
        return Phase.QUANTITATIVE if self.has_blocks or self.switches else Phase.TRAIN


def optimizer_name(config: FitConfig) -> str:
    optimizer = config.optimizer
    return optimizer if isinstance(optimizer, str) else getattr(optimizer, "__name__", "custom")


def structural_plan(config: FitConfig) -> PhasePlan:
    """The structural phase: the minibatch optimiser at ``structural_lr``, constant."""
    return PhasePlan(
        Phase.STRUCTURAL,
        MINIBATCH,
        optimizer_name(config),
        config.structural_lr,
        "constant",
        STRUCTURAL,
        config.weight_decay,
        ("structural phases train at a constant rate until the switch rule fires",),
    )


def final_plan(config: FitConfig, shape: RunShape) -> PhasePlan:
    """The final phase (quantitative, or the only one), with the reason for each choice;
    warns about a setting the plan leaves unused.

    Raises:
        ValueError: a setting asks for what the run cannot do (L-BFGS on a dataset or
            under several processes, a ridge start with a loss of one's own).
    """
    solver, solver_reason = _solver(config, shape)
    start, start_reason = _output_start(config, shape, solver)
    lr, schedule, lr_reason = None, "line search", "L-BFGS's line search sets its steps"
    if solver == MINIBATCH:
        lr, lr_reason = _lr(config, shape)
        schedule = config.schedule
        if schedule == PLATEAU and not shape.validates:
            schedule, lr_reason = "constant", f"{lr_reason}; constant: no validation data"
    plan = PhasePlan(
        shape.final_phase,
        solver,
        LBFGS if solver == LBFGS else optimizer_name(config),
        lr,
        schedule,
        start,
        config.weight_decay,
        (solver_reason, start_reason, lr_reason),
    )
    _warn_unused(config, plan, shape)
    return plan


def _solver(config: FitConfig, shape: RunShape) -> tuple[str, str]:
    single = shape.processes == 1
    if config.solver == LBFGS and not (shape.fixed_data and single):
        raise ValueError(
            "solver='lbfgs' evaluates the loss on the whole training set at every step: "
            "it needs (X, y) tensors (or a TensorDataset) as train, and one process; "
            "use solver='minibatch'"
        )
    if config.solver != "auto":
        return config.solver, f"solver={config.solver!r} was asked for"
    if not (shape.two_phase and shape.head):
        return MINIBATCH, "auto: L-BFGS only follows a structural phase, on a GLAI or MLP head"
    if not (shape.fixed_data and single):
        return MINIBATCH, "auto: L-BFGS needs tensor data and one process"
    if shape.samples > AUTO_MAX_SAMPLES:
        return MINIBATCH, f"auto: {shape.samples:,} samples, over L-BFGS's {AUTO_MAX_SAMPLES:,}"
    return LBFGS, f"auto: {shape.samples:,} tensor samples, at most {AUTO_MAX_SAMPLES:,}"


def _output_start(config: FitConfig, shape: RunShape, solver: str) -> tuple[str, str]:
    start = config.output_start
    if start == RIDGE and not shape.named_loss:
        raise ValueError(
            "output_start='ridge' fits the output layer to the targets: it needs "
            "loss='cross_entropy' or loss='mse', not a loss function of one's own"
        )
    if start == RIDGE and not shape.switches:
        warnings.warn(
            "output_start='ridge' applies after a switch in the same run; this run has no "
            "structural phase, so the output layer keeps its weights",
            UserWarning,
            stacklevel=_CALLER,
        )
        return STRUCTURAL, "output_start='ridge' ignored: no switch in this run"
    if start != "auto":
        return start, f"output_start={start!r} was asked for"
    if shape.switches and shape.named_loss and solver == LBFGS:
        return RIDGE, "auto: a ridge start before L-BFGS, which rescales it at once"
    return STRUCTURAL, "auto: the ridge start is used only before L-BFGS after a switch"


def _lr(config: FitConfig, shape: RunShape) -> tuple[float, str]:
    if config.lr is not None:
        return config.lr, f"lr={config.lr:g} was asked for"
    if shape.two_phase and config.schedule != PLATEAU:
        lr = config.structural_lr / 10
        return lr, f"default: structural_lr / 10 = {lr:g}, the paths start from a trained net"
    if shape.two_phase:
        return config.structural_lr, (
            f"default: structural_lr = {config.structural_lr:g}, continued and divided by 10 "
            "on a validation plateau"
        )
    return config.structural_lr, f"default: structural_lr = {config.structural_lr:g}"


def _warn_unused(config: FitConfig, plan: PhasePlan, shape: RunShape) -> None:
    """Warn about minibatch settings given for a final phase that L-BFGS trains."""
    if plan.solver != LBFGS:
        return
    defaults = FitConfig()
    names = ["lr", "schedule"] + ([] if shape.switches else ["optimizer"])
    unused = [name for name in names if getattr(config, name) != getattr(defaults, name)]
    if unused:
        warnings.warn(
            f"{', '.join(unused)} set, but the {plan.phase} phase trains by full-batch "
            f"L-BFGS ({plan.reasons[0]}), which does not use "
            f"{'it' if len(unused) == 1 else 'them'}; pass solver='minibatch' to use "
            f"{'it' if len(unused) == 1 else 'them'}",
            UserWarning,
            stacklevel=_CALLER,
        )


_CALLER = 7
"""Stack levels from these warnings up to the caller of :func:`glai.fit`."""
