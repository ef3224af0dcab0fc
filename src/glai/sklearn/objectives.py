"""What the estimators minimise and score: losses and metrics with sample weights, and R².

:func:`glai.fit` knows nothing of sample weights: a weighted fit passes each sample's weight
as the last column of its target (:func:`with_weights`), and the weighted losses and
metrics here read it back. Unweighted fits use ``glai.fit``'s own ``"cross_entropy"`` and
``"mse"``, with :func:`glai.training.metrics.accuracy` and :func:`r2`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def with_weights(targets: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``targets`` ((n,) class indices or (n, outputs) values) with ``weights`` (n,) as a
    last column: (n, columns + 1) float32."""
    return torch.column_stack([targets.float(), weights.float()])


def weighted_cross_entropy(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of weight × cross-entropy; ``target`` rows are (class, weight)."""
    classes, weights = target[:, 0].long(), target[:, 1]
    return (F.cross_entropy(output, classes, reduction="none") * weights).mean()


def weighted_mse(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over the batch and outputs of weight × squared error; ``target`` rows are
    (values..., weight)."""
    values, weights = target[:, :-1], target[:, -1:]
    return ((output - values.view_as(output)).square() * weights).mean()


def weighted_accuracy(output: torch.Tensor, target: torch.Tensor) -> float:
    """Share of the weight on rows whose arg-max output is their class; ``target`` rows are
    (class, weight). :class:`glai.History` records it as ``accuracy``."""
    classes, weights = target[:, 0].long(), target[:, 1].double()
    hits = (output.argmax(1) == classes).double()
    return float((weights * hits).sum() / weights.sum())


def weighted_r2(output: torch.Tensor, target: torch.Tensor) -> float:
    """:func:`r2` with sample weights; ``target`` rows are (values..., weight).
    :class:`glai.History` records it as ``r2``."""
    return r2(output, target[:, :-1], target[:, -1])


weighted_accuracy.__name__ = "accuracy"  # the name a fit's history records
weighted_r2.__name__ = "r2"


def r2(output: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None = None) -> float:
    """Coefficient of determination, averaged over outputs as
    :func:`sklearn.metrics.r2_score` does (with ``weights`` (n,) as its ``sample_weight``);
    an output whose target is constant scores 1 when predicted exactly and 0 otherwise
    (``force_finite``)."""
    output = output.double()
    target = target.double().view_as(output)
    if weights is None:
        weights = torch.ones(len(target), dtype=torch.float64)
    weights = weights.double().view(-1, *[1] * (output.ndim - 1))
    mean = (weights * target).sum(0) / weights.sum()
    residual = (weights * (target - output).square()).sum(0)
    total = (weights * (target - mean).square()).sum(0)
    scores = torch.where(total > 0, 1 - residual / total, (residual == 0).double())
    return float(scores.mean())
