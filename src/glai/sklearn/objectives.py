"""What the estimators minimise and score: their losses with sample weights, and R².

:func:`glai.fit` knows nothing of sample weights: a weighted fit passes each sample's weight
as the last column of its target (:func:`with_weights`), and the weighted losses here read
it back. Unweighted fits use ``glai.fit``'s own ``"cross_entropy"`` and ``"mse"``.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

from glai.training.metrics import MetricFunction


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


def without_weights(metric: MetricFunction, *, classes: bool) -> MetricFunction:
    """``metric``, unweighted, on targets that carry weights (:func:`with_weights`): it sees
    the class indices (``classes``) or the values, without the weights. The returned
    function keeps ``metric``'s name, which :class:`glai.History` records."""

    @functools.wraps(metric)
    def unweighted(output: torch.Tensor, target: torch.Tensor) -> float:
        return metric(output, target[:, 0].long() if classes else target[:, :-1])

    return unweighted


def r2(output: torch.Tensor, target: torch.Tensor) -> float:
    """Coefficient of determination, averaged over outputs as
    :func:`sklearn.metrics.r2_score` does; an output whose target is constant scores 1 when
    predicted exactly and 0 otherwise (``force_finite``)."""
    output = output.double()
    target = target.double().view_as(output)
    residual = (target - output).square().sum(0)
    total = (target - target.mean(0)).square().sum(0)
    scores = torch.where(total > 0, 1 - residual / total, (residual == 0).double())
    return float(scores.mean())
