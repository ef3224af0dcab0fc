"""Structure monitor: how much the activation patterns still change, and when to freeze."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import torch
from torch import nn

from glai.guards import check_non_negative_int, check_positive_int
from glai.nn.path_distance import path_distance
from glai.nn.patterns import activation_patterns
from glai.nn.switching import glai_blocks

MEASURES = ("pattern", "path")
"""The changes the stable signal can read: the share of flipped mask bits, or the path
distance (:func:`glai.path_distance`) between consecutive checks."""


@dataclass(frozen=True)
class SwitchRule:
    """When the structural phase ends: the settings of :class:`StructureMonitor`'s rule, and
    the size of the probe that :func:`glai.fit` draws for it."""

    threshold: float = field(
        default=0.15, metadata={"help": "stable: the change below this fraction of its peak"}
    )
    patience: int = field(default=2, metadata={"help": "stable checks in a row to switch"})
    max_structural_epochs: int = field(
        default=20,
        metadata={
            "help": "switch after this many structural epochs (once min_structural_steps; "
            "0 with min_structural_steps 0: before the first epoch, gates from the untrained "
            "structure)"
        },
    )
    relative: bool = field(
        default=True, metadata={"help": "threshold relative to the peak change per step"}
    )
    probe_size: int = field(
        default=1024, metadata={"help": "training inputs drawn to compare activation patterns"}
    )
    min_structural_steps: int = field(
        default=200,
        metadata={"help": "optimiser steps the structure takes before the epoch cap can fire"},
    )
    switch_on_plateau: bool = field(
        default=True,
        metadata={"help": "also switch once the validation loss stops improving (patience)"},
    )
    measure: str = field(
        default="pattern",
        metadata={
            "help": "the change the stable signal reads: pattern (share of flipped mask bits) "
            "or path (path distance)",
            "choices": MEASURES,
        },
    )

    def __post_init__(self) -> None:
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, (int, float)):
            raise TypeError(f"threshold must be a number, got {self.threshold!r}")
        if not 0 <= self.threshold <= 1:
            raise ValueError(f"threshold must be a fraction in [0, 1], got {self.threshold!r}")
        check_positive_int(self.patience, "patience")
        check_non_negative_int(self.max_structural_epochs, "max_structural_epochs")
        check_positive_int(self.probe_size, "probe_size")
        check_non_negative_int(self.min_structural_steps, "min_structural_steps")
        for name in ("relative", "switch_on_plateau"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be a bool, got {getattr(self, name)!r}")
        if self.measure not in MEASURES:
            raise ValueError(f"measure must be one of {', '.join(MEASURES)}, got {self.measure!r}")


class StructureCheck(NamedTuple):
    """One measurement of structural change since the previous check.

    Attributes:
        pattern_change: fraction of mask bits on the probe set that flipped, all layers.
        layer_changes: the same fraction per hidden layer.
        weight_change: ``||w_t - w_{t-1}|| / ||w_{t-1}||`` over the monitored weights.
        steps: optimiser steps since the previous check, or ``None`` when the caller did
            not say.
        val_loss: the validation loss the caller passed, or ``None``.
        path_distance: :func:`glai.path_distance` between the patterns of this check and
            the previous one, averaged over the probe set (``None`` only in checks restored
            from a checkpoint written before it was measured).
    """

    pattern_change: float
    layer_changes: tuple[float, ...]
    weight_change: float
    steps: int | None = None
    val_loss: float | None = None
    path_distance: float | None = None

    def change(self, measure: str = "pattern") -> float:
        """The change that ``measure`` names: ``pattern_change`` or ``path_distance``."""
        return self.path_distance if measure == "path" else self.pattern_change

    def rate(self, measure: str = "pattern") -> float:
        """The change per optimiser step (per check when the steps are not known)."""
        return self.change(measure) / (self.steps or 1)


def _monitored_weights(model: nn.Module) -> torch.Tensor:
    """The weights whose change is measured: the GLAI blocks' structures if the model
    holds any, else every parameter, flattened into one vector."""
    sources = [block.structure for block in glai_blocks(model).values()] or [model]
    return torch.cat(
        [parameter.detach().flatten() for source in sources for parameter in source.parameters()]
    )


class StructureMonitor:
    """Watch the activation patterns settle and decide when to freeze the structure.

    Shaped like an early-stopping callback: :meth:`on_train_begin` takes the reference
    patterns; each :meth:`check` (what :meth:`on_epoch_end` calls, and what
    :func:`glai.fit` calls after every structural epoch on the monitor it was given)
    measures, on a fixed probe set, three changes since the previous check: the share of
    flipped mask bits (``pattern_change``, per unit, so wide layers weigh most), the
    :func:`glai.path_distance` between the two checks' patterns (over paths, so flips
    compound across layers), and the relative weight change. :attr:`should_switch`
    becomes true when one of three things happens:

    - **stable**: the change the rule's ``measure`` names (pattern change by default,
      path distance with ``measure="path"``) per optimiser step stays below the
      threshold for ``patience`` consecutive checks;
    - **plateau** (``switch_on_plateau``, when checks are given the validation loss): the
      validation loss has not improved on its best for ``patience`` consecutive checks,
      so more structural training no longer helps;
    - **cap**: ``max_structural_epochs`` checks have been made and the structure has had
      at least ``min_structural_steps`` optimiser steps (on a small set with few steps
      per epoch the cap waits for the steps). A cap of 0 checks and 0 steps fires before
      any check (``StructureMonitor.after(0)``): :func:`glai.fit` then freezes the structure
      before the first epoch.

    Works on any ReLU network, not only GLAI, and on networks holding GLAI blocks (it then
    watches the blocks' structures).

    In a loop of your own, :meth:`on_train_begin` is optional: the first :meth:`check`
    of a monitor that has not begun takes the reference (as :meth:`on_train_begin` would,
    with the monitor's own probe) and returns ``None``; :attr:`should_switch` is false
    until a check has measured something (unless the cap is 0). Tell each check how many
    optimiser steps were taken since the last one, and the validation loss if there is
    one::

        monitor = StructureMonitor(probe=x[:1024])
        for epoch in range(epochs):
            steps = train_one_epoch(model)
            if not model.frozen:
                monitor.check(model, steps=steps, val_loss=validate(model))  # first: None
                if monitor.should_switch:
                    glai.freeze_structures(model)

    To record how a structure settles without switching anything (a plain
    :class:`glai.MLP`, for one's own convergence plot), call :meth:`check` after every
    epoch of one's own loop and ignore :attr:`should_switch`; or give :func:`glai.fit`
    ``monitor=StructureMonitor.after(n)``: the MLP's first ``n`` epochs train at the
    structural rate with every check in :attr:`checks_` and in the history's
    ``pattern_change``, ``path_distance`` and ``weight_change`` columns, then its final
    phase follows with nothing frozen (a rule that never fires would never end ``fit``'s
    structural phase).

    Without ``steps`` the relative rule compares changes per check, and the cap fires
    after ``max_structural_epochs`` checks (the steps it would wait for are not known).

    By default the threshold is relative to the largest change per step seen so far: with
    a constant learning rate the change falls from its early peak to a floor set by
    gradient noise (units near their boundary keep flipping), and that floor's level
    depends on the data, the learning rate and the batch size, while the drop from the
    peak does not. Measured per step, the rule does not depend on how often it is checked.
    ``relative=False`` compares each check's change with ``threshold`` itself.

    Args:
        probe: (n_probe, in_features) inputs on which patterns are compared; when ``None``,
            :func:`glai.fit` draws one from the training inputs.
        rule: the :class:`SwitchRule` (default: its defaults). Its ``probe_size`` is not
            read here: without a probe, :func:`glai.fit` draws its own config's
            ``probe_size`` training inputs.

    Attributes:
        checks_: the :class:`StructureCheck` of every check since :meth:`on_train_begin`.
    """

    def __init__(self, probe: torch.Tensor | None = None, rule: SwitchRule | None = None) -> None:
        if rule is not None and not isinstance(rule, SwitchRule):
            raise TypeError(f"rule must be a SwitchRule, got {type(rule).__name__}")
        self.probe = probe
        self.rule = rule if rule is not None else SwitchRule()
        self.checks_: list[StructureCheck] = []
        self._patterns: tuple[torch.Tensor, ...] | None = None  # None: not begun

    @classmethod
    def after(cls, epochs: int, probe: torch.Tensor | None = None) -> StructureMonitor:
        """A monitor that switches after exactly ``epochs`` checks, whatever it measures
        (for controls and experiments that fix the switch epoch). ``after(0)`` switches
        before any check: :func:`glai.fit` freezes the structure before the first epoch,
        so the paths train under the gates of the untrained structure (the GaLU control)."""
        check_non_negative_int(epochs, "epochs")
        rule = SwitchRule(
            threshold=0.0,
            patience=epochs + 1,  # never stable for long enough
            max_structural_epochs=epochs,
            min_structural_steps=0,
            switch_on_plateau=False,
        )
        return cls(probe, rule)

    def on_train_begin(self, model: nn.Module, probe: torch.Tensor | None = None) -> None:
        """Reset the state and take the reference patterns and weights.

        Args:
            model: the monitored network.
            probe: the probe set to use when the monitor was built without one.
        """
        self.probe_ = self.probe if self.probe is not None else probe
        if self.probe_ is None:
            raise ValueError("StructureMonitor needs a probe set: pass probe=(n, in_features)")
        self.checks_: list[StructureCheck] = []
        self._patterns = activation_patterns(model, self.probe_)
        self._weights = _monitored_weights(model)

    def check(
        self, model: nn.Module, steps: int | None = None, val_loss: float | None = None
    ) -> StructureCheck | None:
        """Measure the change since the previous check and make this one the reference.

        Args:
            model: the monitored network.
            steps: optimiser steps taken since the previous check (``None``: not known).
            val_loss: the validation loss now, for the plateau rule (``None``: none).

        On a monitor that has not begun, take the reference patterns and weights instead
        (:meth:`on_train_begin` with the monitor's own probe) and return ``None``.
        """
        if self._patterns is None:
            self.on_train_begin(model)
            return None
        if steps is not None:
            check_positive_int(steps, "steps")
        patterns = activation_patterns(model, self.probe_)
        flipped = [int((new != old).sum()) for new, old in zip(patterns, self._patterns)]
        sizes = [pattern.numel() for pattern in patterns]
        weights = _monitored_weights(model)
        reference = float(self._weights.norm())
        change = float((weights - self._weights).norm())
        result = StructureCheck(
            pattern_change=sum(flipped) / sum(sizes),
            layer_changes=tuple(f / s for f, s in zip(flipped, sizes)),
            weight_change=change / reference if reference > 0 else math.inf,
            steps=None if steps is None else int(steps),
            val_loss=None if val_loss is None else float(val_loss),
            path_distance=float(path_distance(self._patterns, patterns)),
        )
        self._patterns, self._weights = patterns, weights
        self.checks_.append(result)
        return result

    def on_epoch_end(self, model: nn.Module, record: object = None) -> None:
        """Check, with the validation loss of ``record`` (a :class:`glai.EpochRecord`) if
        it has one (the epoch's steps are not known here)."""
        self.check(model, val_loss=getattr(record, "val_loss", None))

    def state_dict(self) -> dict:
        """Everything needed to continue monitoring after a restart (see :func:`glai.fit`)."""
        if self._patterns is None:
            raise RuntimeError(
                "the monitor has not begun: call on_train_begin(model, probe) or check(model)"
            )
        return {
            "probe": self.probe_,
            "checks": [list(check) for check in self.checks_],
            "patterns": list(self._patterns),
            "weights": self._weights,
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.probe_ = state["probe"]
        self.checks_ = [
            StructureCheck(change, tuple(layers), *rest)
            for change, layers, *rest in state["checks"]
        ]
        self._patterns = tuple(state["patterns"])
        self._weights = state["weights"]

    @property
    def stable_checks(self) -> int:
        """Consecutive latest checks whose change (the rule's ``measure``) is below the
        threshold."""
        rule, count, peak = self.rule, 0, 0.0
        for check in self.checks_:
            change, rate = check.change(rule.measure), check.rate(rule.measure)
            peak = max(peak, rate)
            limit = rule.threshold * peak if rule.relative else rule.threshold
            value = rate if rule.relative else change
            count = count + 1 if value < limit or change == 0 else 0
        return count

    @property
    def stale_checks(self) -> int:
        """Consecutive latest checks whose validation loss is not below the best before
        them (0 when the checks carry no validation loss)."""
        count, best = 0, math.inf
        for check in self.checks_:
            if check.val_loss is None:
                count = 0
            elif check.val_loss < best:
                count, best = 0, check.val_loss
            else:
                count += 1
        return count

    @property
    def should_switch(self) -> bool:
        """Whether the switch rule has fired at the latest check (before any check only
        for a cap of 0 checks and 0 steps)."""
        rule, checks = self.rule, self.checks_
        steps = [check.steps for check in checks]
        enough_steps = None in steps or sum(steps) >= rule.min_structural_steps
        return (
            self.stable_checks >= rule.patience
            or (rule.switch_on_plateau and self.stale_checks >= rule.patience)
            or (len(checks) >= rule.max_structural_epochs and enough_steps)
        )
