"""Losses for the settings GLAI targets beyond classification."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def nt_xent(
    output: torch.Tensor, target: torch.Tensor | None = None, temperature: float = 0.5
) -> torch.Tensor:
    """SimCLR's normalised-temperature cross-entropy over views of the same samples.

    Each projected view is pulled towards the other views of its sample and pushed from
    every view of the other samples in the batch (cosine similarity over ``temperature``).
    With two views this is SimCLR's NT-Xent; with more, every other view of the sample
    counts as a positive and the loss is averaged over (anchor, positive) pairs.

    Args:
        output: (batch, views, dim) projections, views >= 2.
        target: ignored (present so that :func:`glai.fit` can call ``loss(output, y)``).
        temperature: softmax temperature.

    Returns:
        Scalar loss.
    """
    if output.ndim != 3 or output.shape[1] < 2:
        raise ValueError(
            f"nt_xent expects (batch, views >= 2, dim) projections, got {tuple(output.shape)}"
        )
    batch, views, _ = output.shape
    z = F.normalize(output, dim=-1).reshape(batch * views, -1)  # (B*V, D), sample-major
    similarity = z @ z.T / temperature  # (B*V, B*V)
    sample = torch.arange(batch, device=output.device).repeat_interleave(views)
    itself = torch.eye(batch * views, dtype=torch.bool, device=output.device)
    log_probability = similarity.masked_fill(itself, float("-inf")).log_softmax(dim=1)
    positive = (sample[:, None] == sample[None, :]) & ~itself
    return -log_probability[positive].mean()
