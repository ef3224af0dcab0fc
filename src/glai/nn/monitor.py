"""Structure monitor: how much the activation patterns still change, and when to freeze."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import torch
from torch import nn

from glai.guards import check_positive_int
from glai.nn.switching import glai_blocks, unwrapped


@dataclass(frozen=True)
class SwitchRule:
    """When the structural phase ends: the settings of :class:`StructureMonitor`'s rule, and
    the size of the probe that :func:`glai.fit` draws for it."""

    threshold: float = field(
        default=0.15, metadata={"help": "stable: pattern change below this fraction of its peak"}
    )
    patience: int = field(default=2, metadata={"help": "stable checks in a row to switch"})
    max_structural_epochs: int = field(
        default=20,
        metadata={"help": "switch after this many structural epochs (once min_structural_steps)"},
    )
    relative: bool = field(
        default=True, metadata={"help": "threshold relative to the peak pattern change"}
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

    def __post_init__(self) -> None:
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, (int, float)):
            raise TypeError(f"threshold must be a number, got {self.threshold!r}")
        if not 0 <= self.threshold <= 1:
            raise ValueError(f"threshold must be a fraction in [0, 1], got {self.threshold!r}")
        check_positive_int(self.patience, "patience")
        check_positive_int(self.max_structural_epochs, "max_structural_epochs")
        check_positive_int(self.probe_size, "probe_size")
        check_positive_int(self.min_structural_steps, "min_structural_steps")
        for name in ("relative", "switch_on_plateau"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be a bool, got {getattr(self, name)!r}")


_DEFAULT_RULE = SwitchRule()


class StructureCheck(NamedTuple):
    """One measurement of structural change since the previous check.

    Attributes:
        pattern_change: fraction of mask bits on the probe set that flipped, all layers.
        layer_changes: the same fraction per hidden layer.
        weight_change: ``||w_t - w_{t-1}|| / ||w_{t-1}||`` over the monitored weights.
        steps: optimiser steps since the previous check, or ``None`` when the caller did
            not say.
        val_loss: the validation loss the caller passed, or ``None``.
    """

    pattern_change: float
    layer_changes: tuple[float, ...]
    weight_change: float
    steps: int | None = None
    val_loss: float | None = None

    @property
    def rate(self) -> float:
        """Pattern change per optimiser step (per check when the steps are not known)."""
        return self.pattern_change / (self.steps or 1)


@torch.no_grad()
def activation_patterns(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Boolean activation patterns of a ReLU network on ``x``, one per ReLU layer.

    For a :class:`glai.GLAI` (any model with a ``masks`` method) these are its masks. For
    a network that holds GLAI blocks they are the blocks' masks on the inputs each block
    receives in one forward pass in eval mode (blocks in ``named_modules`` order; other
    ReLUs of the network are not recorded). For any other network they are the outputs
    of every ``nn.ReLU`` module in that pass, in call order.

    Args:
        model: a GLAI, a network holding GLAI blocks, or any network whose nonlinearities
            are ``nn.ReLU`` modules (``torch.compile`` wrappers are looked through).
        x: (batch, in_features).

    Returns:
        One (batch, width) bool tensor per ReLU layer (layers with leading dimensions
        ``(batch, ..., width)`` flattened to ``(batch, units)``, except for a GLAI itself).
    """
    model = unwrapped(model)
    masks = getattr(model, "masks", None)
    if callable(masks):
        return tuple(masks(x))
    blocks = list(glai_blocks(model).values())
    if blocks:
        captured: list[list[torch.Tensor]] = [[] for _ in blocks]
        handles = [
            block.register_forward_pre_hook(
                lambda block, inputs, found=found: found.extend(block.masks(inputs[0]))
            )
            for block, found in zip(blocks, captured)
        ]
    else:
        relus = [module for module in model.modules() if isinstance(module, nn.ReLU)]
        if not relus:
            raise TypeError(f"{type(model).__name__} has no nn.ReLU module to monitor")
        outputs: list[torch.Tensor] = []
        captured = [outputs]
        handles = [
            relu.register_forward_hook(lambda module, inputs, output: outputs.append(output > 0))
            for relu in relus
        ]
    was_training = model.training
    try:
        model.eval()
        model(x)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return tuple(mask.flatten(1) for found in captured for mask in found)


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
    measures the pattern change on a fixed probe set. :attr:`should_switch` becomes true
    when one of three things happens:

    - **stable**: the pattern change per optimiser step stays below the threshold for
      ``patience`` consecutive checks;
    - **plateau** (``switch_on_plateau``, when checks are given the validation loss): the
      validation loss has not improved on its best for ``patience`` consecutive checks,
      so more structural training no longer helps;
    - **cap**: ``max_structural_epochs`` checks have been made and the structure has had
      at least ``min_structural_steps`` optimiser steps (on a small set with few steps
      per epoch the cap waits for the steps).

    Works on any ReLU network, not only GLAI, and on networks holding GLAI blocks (it then
    watches the blocks' structures).

    In a loop of your own, :meth:`on_train_begin` is optional: the first :meth:`check`
    of a monitor that has not begun takes the reference (as :meth:`on_train_begin` would,
    with the monitor's own probe) and returns ``None``; :attr:`should_switch` is false
    until a check has measured something. Tell each check how many optimiser steps were
    taken since the last one, and the validation loss if there is one::

        monitor = StructureMonitor(probe=x[:1024])
        for epoch in range(epochs):
            steps = train_one_epoch(model)
            if not model.frozen:
                monitor.check(model, steps=steps, val_loss=validate(model))  # first: None
                if monitor.should_switch:
                    glai.freeze_structures(model)

    Without ``steps`` the relative rule compares pattern changes per check, and the cap
    fires after ``max_structural_epochs`` checks (the steps it would wait for are not
    known).

    By default the threshold is relative to the largest change per step seen so far: with
    a constant learning rate the change falls from its early peak to a floor set by
    gradient noise (units near their boundary keep flipping), and that floor's level
    depends on the data, the learning rate and the batch size, while the drop from the
    peak does not. Measured per step, the rule does not depend on how often it is checked.
    ``relative=False`` compares each check's pattern change with ``threshold`` itself.

    Args:
        probe: (n_probe, in_features) inputs on which patterns are compared; when ``None``,
            :func:`glai.fit` draws one from the training inputs.
        threshold: a check is stable when its change per step is below ``threshold`` times
            the largest change per step so far (or its change below ``threshold`` if not
            ``relative``).
        patience: consecutive stable checks, or checks without a better validation loss,
            needed to switch.
        max_structural_epochs: switch after this many checks whatever the change, once
            the structure has had ``min_structural_steps`` optimiser steps.
        relative: whether ``threshold`` is a fraction of the peak change per step.
        min_structural_steps: optimiser steps before the cap can fire.
        switch_on_plateau: whether a validation loss that stops improving switches.

    Attributes:
        checks_: the :class:`StructureCheck` of every check since :meth:`on_train_begin`.
    """

    def __init__(
        self,
        probe: torch.Tensor | None = None,
        threshold: float = _DEFAULT_RULE.threshold,
        patience: int = _DEFAULT_RULE.patience,
        max_structural_epochs: int = _DEFAULT_RULE.max_structural_epochs,
        relative: bool = _DEFAULT_RULE.relative,
        min_structural_steps: int = _DEFAULT_RULE.min_structural_steps,
        switch_on_plateau: bool = _DEFAULT_RULE.switch_on_plateau,
    ) -> None:
        self.probe = probe
        self.rule = SwitchRule(
            threshold=threshold,
            patience=patience,
            max_structural_epochs=max_structural_epochs,
            relative=relative,
            min_structural_steps=min_structural_steps,
            switch_on_plateau=switch_on_plateau,
        )
        self.checks_: list[StructureCheck] = []
        self._patterns: tuple[torch.Tensor, ...] | None = None  # None: not begun

    @classmethod
    def from_rule(cls, rule: SwitchRule) -> StructureMonitor:
        """A monitor applying ``rule`` (with no probe of its own)."""
        return cls(
            threshold=rule.threshold,
            patience=rule.patience,
            max_structural_epochs=rule.max_structural_epochs,
            relative=rule.relative,
            min_structural_steps=rule.min_structural_steps,
            switch_on_plateau=rule.switch_on_plateau,
        )

    @classmethod
    def after(cls, epochs: int, probe: torch.Tensor | None = None) -> StructureMonitor:
        """A monitor that switches after exactly ``epochs`` checks, whatever it measures
        (for controls and experiments that fix the switch epoch)."""
        check_positive_int(epochs, "epochs")
        return cls(
            probe,
            threshold=0.0,
            patience=epochs + 1,  # never stable for long enough
            max_structural_epochs=epochs,
            min_structural_steps=1,
            switch_on_plateau=False,
        )

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
        """Consecutive latest checks whose change is below the threshold."""
        rule, count, peak = self.rule, 0, 0.0
        for check in self.checks_:
            peak = max(peak, check.rate)
            limit = rule.threshold * peak if rule.relative else rule.threshold
            value = check.rate if rule.relative else check.pattern_change
            count = count + 1 if value < limit or check.pattern_change == 0 else 0
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
        """Whether the switch rule has fired at the latest check."""
        rule, checks = self.rule, self.checks_
        steps = [check.steps for check in checks]
        enough_steps = None in steps or sum(steps) >= rule.min_structural_steps
        return (
            self.stable_checks >= rule.patience
            or (rule.switch_on_plateau and self.stale_checks >= rule.patience)
            or (len(checks) >= rule.max_structural_epochs and enough_steps)
        )
