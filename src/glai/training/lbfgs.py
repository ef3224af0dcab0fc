"""The full-batch L-BFGS solver of the final phase (``solver="lbfgs"``).

Once a GLAI's structure is frozen and its masks are cached, no gate can flip: the loss of
the paths is smooth (and convex in each layer given the others), so a quasi-Newton method
with a line search converges in far fewer passes over the data than a first-order
minibatch optimiser, when the whole training set fits in one pass. scikit-learn's
``MLPClassifier(solver="lbfgs")`` makes the same choice for small data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence

import torch

from glai.training.fit_data import Batch

ITERATIONS_PER_EPOCH = 5
"""L-BFGS iterations between two validations (what one epoch of the phase is)."""

HISTORY_SIZE = 10
"""Curvature pairs L-BFGS keeps."""

AUTO_MAX_SAMPLES = 5_000
"""``solver="auto"`` uses L-BFGS up to this many training samples."""

CHUNK = 16_384
"""Rows per forward pass when the loss is evaluated over the whole training set."""


def make_lbfgs(parameters: Sequence[torch.nn.Parameter]) -> torch.optim.LBFGS:
    """The phase's optimiser: unit steps with a strong-Wolfe line search."""
    return torch.optim.LBFGS(
        parameters,
        lr=1.0,
        max_iter=ITERATIONS_PER_EPOCH,
        history_size=HISTORY_SIZE,
        line_search_fn="strong_wolfe",
    )


def lbfgs_epoch(
    optimizer: torch.optim.LBFGS,
    batches: Callable[[], Iterator[Batch]],
    step_loss: Callable[[torch.Tensor, torch.Tensor, tuple | None], torch.Tensor],
    samples: int,
    weight_decay: float,
) -> float:
    """One epoch of the phase: :data:`ITERATIONS_PER_EPOCH` L-BFGS iterations on the whole
    training set; returns the mean training loss at the start of the epoch (NaN if it was
    not finite: the caller stops).

    Args:
        optimizer: from :func:`make_lbfgs`.
        batches: a fresh pass over the training data in chunks of :data:`CHUNK` rows.
        step_loss: the mean loss of one chunk ``(x, y, masks)``.
        samples: training samples (chunk losses are weighted by their share).
        weight_decay: the L2 penalty ``weight_decay / 2 * ||w||^2`` added to the loss.
    """
    parameters = [p for group in optimizer.param_groups for p in group["params"]]
    data_losses: list[float] = []

    def closure() -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        total = torch.zeros((), dtype=torch.float64)
        for x, y, masks in batches():
            loss = step_loss(x, y, masks) * (len(y) / samples)
            loss.backward()
            total += float(loss.detach())
        data_losses.append(float(total))
        if weight_decay and math.isfinite(float(total)):
            penalty = weight_decay / 2 * sum(p.pow(2).sum() for p in parameters)
            penalty.backward()
            total += float(penalty.detach())
        return total

    optimizer.step(closure)
    return data_losses[0]
