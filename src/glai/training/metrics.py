"""Validation metrics: a value, its direction, and what "better" and "reaches" mean."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch

MetricFunction = Callable[[torch.Tensor, torch.Tensor], float]


def accuracy(output: torch.Tensor, target: torch.Tensor) -> float:
    """Share of rows whose arg-max output is the target class.

    Args:
        output: (n, classes) scores.
        target: (n,) class indices.
    """
    return float((output.argmax(1) == target).float().mean())


@dataclass(frozen=True)
class Metric:
    """A validation metric and its direction.

    Attributes:
        name: ``"accuracy"``, ``"loss"`` or a function's name.
        greater_is_better: the direction.
        function: ``(output, target) -> float``, or ``None`` for the validation loss.
    """

    name: str
    greater_is_better: bool
    function: MetricFunction | None = None

    def better(self, value: float, than: float | None) -> bool:
        """Whether ``value`` is strictly better than ``than`` (anything beats ``None``)."""
        return self.beats(value, than)

    def beats(self, value: float, than: float | None, tol: float = 0.0) -> bool:
        """Whether ``value`` is better than ``than`` by more than ``tol`` times ``|than|``
        (anything beats ``None``); the same for negative values (R², log-likelihoods)."""
        if than is None:
            return True
        margin = tol * abs(than)
        return value > than + margin if self.greater_is_better else value < than - margin

    def reaches(self, value: float, target: float) -> bool:
        """Whether ``value`` is at least as good as ``target``."""
        return value >= target if self.greater_is_better else value <= target

    def best(self, values: Iterable[float | None]) -> float | None:
        """The best of ``values`` (``None`` entries skipped; ``None`` if there are none)."""
        present = [value for value in values if value is not None]
        if not present:
            return None
        return max(present) if self.greater_is_better else min(present)

    def relaxed(self, target: float, fraction: float) -> float:
        """``target`` made easier by ``fraction`` of its size: 99% of an accuracy for
        ``fraction=0.01``, 101% of a loss, and for a negative R² of -0.5, -0.505."""
        margin = fraction * abs(target)
        return target - margin if self.greater_is_better else target + margin


LOSS = Metric("loss", False)
"""The validation loss as a metric."""


def metric_for(metric: str | MetricFunction | None, loss: object) -> Metric:
    """The :class:`Metric` named by :func:`glai.fit`'s ``metric`` argument.

    Args:
        metric: ``"accuracy"``, ``"loss"``, a function ``(output, target) -> float`` where
            higher is better, or ``None``: accuracy for cross-entropy, else the loss.
        loss: the loss argument of :func:`glai.fit`.
    """
    if metric is None:
        metric = "accuracy" if loss == "cross_entropy" else "loss"
    if metric == "accuracy":
        return Metric("accuracy", True, accuracy)
    if metric == "loss":
        return LOSS
    if callable(metric):
        return Metric(getattr(metric, "__name__", "metric"), True, metric)
    raise ValueError(f"metric must be 'accuracy', 'loss' or a callable, got {metric!r}")
