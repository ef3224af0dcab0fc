"""What a run minimises and how it is judged: the loss, the metric, the classes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from glai.training.metrics import Metric, MetricFunction, metric_for

LossFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Objective:
    """The loss, the validation metric, and for classification the number of classes.

    Attributes:
        loss: ``(output, target) -> loss``.
        metric: the validation :class:`Metric`.
        classes: number of classes for cross-entropy (targets are checked against it),
            ``None`` otherwise.
    """

    loss: LossFunction
    metric: Metric
    classes: int | None

    @classmethod
    def of(
        cls, loss: str | LossFunction, metric: str | MetricFunction | None, out_features: int
    ) -> Objective:
        """The objective named by :func:`glai.fit`'s ``loss`` and ``metric`` arguments.

        Args:
            loss: ``"cross_entropy"``, ``"mse"`` or a function ``(output, target) -> loss``.
            metric: see :func:`glai.training.metrics.metric_for`.
            out_features: the model's output size (the classes of cross-entropy).
        """
        if loss == "cross_entropy":
            function, classes = F.cross_entropy, out_features
        elif loss == "mse":
            function, classes = mse, None
        elif callable(loss):
            function, classes = loss, None
        else:
            raise ValueError(f"loss must be 'cross_entropy', 'mse' or a callable, got {loss!r}")
        return cls(function, metric_for(metric, loss), classes)


def mse(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The mean squared error of ``loss="mse"`` (targets shaped like the output)."""
    return F.mse_loss(output, target.view_as(output))
