"""Path distance: how far apart two ReLU networks' sets of active paths are, per input."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from glai.nn.patterns import activation_patterns

REDUCTIONS = ("mean", "sum", "none")

Patterns = Sequence[torch.Tensor]


def path_distance(
    a: nn.Module | Patterns,
    b: nn.Module | Patterns,
    x: torch.Tensor | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """Jaccard distance between the sets of active input-to-output paths of two networks.

    A path ``i -> j_1 -> ... -> j_L -> k`` runs from an input through one unit of each
    hidden layer to an output; it is active for ``x`` when every unit on it fires. For
    dense layers the active paths form a product set, ``|P(x)| = d * prod_l |a_l(x)| * K``,
    and two networks with patterns ``a``, ``a'`` share ``d * prod_l |a_l & a'_l| * K`` of
    them, so the distance ``1 - |P & P'| / |P | P'|`` depends only on the per-layer counts
    (the input and output factors cancel). It is computed from their logarithms: no path is
    enumerated, and products over many wide layers do not overflow. An input on which
    neither network has an active path is at distance 0; one on which they share none but
    one has some, at 1. Paths that start at a bias are left out.

    Per-unit flips compound across layers: 5% of the units flipped in each of 3 layers move
    about 14% of the paths, and a flip in a narrow layer weighs more than one in a wide one.

    Args:
        a: a ReLU network that :func:`glai.activation_patterns` reads (a
            :class:`glai.MLP`; a :class:`glai.GLAI`, whose structure is compared; any
            network of ``nn.ReLU`` layers), or its patterns: one bool tensor
            ``(batch, ..., width_l)`` per hidden layer.
        b: the same for the other network, of the same hidden widths.
        x: (batch, in_features) inputs, needed when ``a`` or ``b`` is a network.
        reduction: ``"mean"`` or ``"sum"`` over the inputs, or ``"none"``.

    Returns:
        float64: the distance per input, ``(batch, ...)``, for ``"none"``; a scalar
        otherwise. Each value is in [0, 1].

    Raises:
        ValueError: different depths or widths, no input, an unknown ``reduction``, ``x``
            missing for a network or given for two sets of masks.
        TypeError: ``a`` or ``b`` is neither a network nor a sequence of bool tensors.

    For networks that are not a chain of dense ReLU layers (several GLAI blocks, per-token
    patterns), the recorded pattern layers are taken as such a chain.
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {', '.join(REDUCTIONS)}, got {reduction!r}")
    networks = isinstance(a, nn.Module) or isinstance(b, nn.Module)
    if networks and x is None:
        raise ValueError("x is needed to compare networks: pass the inputs (batch, in_features)")
    if not networks and x is not None:
        raise ValueError("x is read only to compute a network's patterns; a and b are masks")
    patterns_a, patterns_b = _patterns(a, x, "a"), _patterns(b, x, "b")
    _check_same_layers(patterns_a, patterns_b)
    distances = _distances(patterns_a, patterns_b)
    if reduction == "none":
        return distances
    return distances.mean() if reduction == "mean" else distances.sum()


def _distances(patterns_a: Patterns, patterns_b: Patterns) -> torch.Tensor:
    """The path distance per input, (batch, ...), from the per-layer counts.

    With ``A = |P|``, ``B = |P'|`` and ``C = |P & P'|``, the distance is ``s / (1 + s)``
    for ``s = (A / C - 1) + (B / C - 1)``, that is ``sigmoid(log s)``; ``log(A / C)`` is
    a sum over layers of log counts, and ``log(A / C - 1)`` comes from ``expm1`` without
    cancellation.
    """
    log_a = sum(_log_count(pattern) for pattern in patterns_a)
    log_b = sum(_log_count(pattern) for pattern in patterns_b)
    log_shared = sum(_log_count(pa & pb) for pa, pb in zip(patterns_a, patterns_b))
    log_s = torch.logaddexp(_log_expm1(log_a - log_shared), _log_expm1(log_b - log_shared))
    no_shared = torch.isneginf(log_shared)  # then 1, or 0 where neither has a path
    some_path = ~(torch.isneginf(log_a) & torch.isneginf(log_b))
    return torch.where(no_shared, some_path.double(), torch.sigmoid(log_s))


def _log_count(pattern: torch.Tensor) -> torch.Tensor:
    """log of the number of active units, (batch, ...) float64 (-inf where none fire)."""
    return pattern.sum(-1, dtype=torch.float64).log()


def _log_expm1(t: torch.Tensor) -> torch.Tensor:
    """``log(exp(t) - 1)`` for ``t >= 0``, accurate for small ``t`` and finite for large."""
    return t + torch.log(-torch.expm1(-t))


def _patterns(side: nn.Module | Patterns, x: torch.Tensor | None, name: str) -> Patterns:
    if isinstance(side, nn.Module):
        return activation_patterns(side, x)
    if isinstance(side, Sequence) and all(isinstance(p, torch.Tensor) for p in side):
        return side
    raise TypeError(
        f"{name} must be a ReLU network or a sequence of bool masks (one per hidden layer), "
        f"got {type(side).__name__}"
    )


def _check_same_layers(patterns_a: Patterns, patterns_b: Patterns) -> None:
    """Raise unless both hold bool masks of one leading shape, layer by layer the same
    widths, with at least one layer and one input."""
    if not patterns_a or len(patterns_a) != len(patterns_b):
        raise ValueError(
            f"path distance compares networks of the same hidden layers (at least one); got "
            f"{len(patterns_a)} and {len(patterns_b)} layers"
        )
    leading = tuple(patterns_a[0].shape[:-1])
    for layer, (pa, pb) in enumerate(zip(patterns_a, patterns_b)):
        for name, pattern in (("a", pa), ("b", pb)):
            if pattern.dtype != torch.bool or pattern.ndim < 2:
                raise TypeError(
                    f"layer {layer} of {name} must be a bool tensor (batch, ..., width), got "
                    f"{pattern.dtype} of shape {tuple(pattern.shape)}"
                )
            if tuple(pattern.shape[:-1]) != leading:
                raise ValueError(
                    f"layer {layer} of {name} covers inputs of shape "
                    f"{tuple(pattern.shape[:-1])}, layer 0 of a covers {leading}"
                )
        if pa.shape[-1] != pb.shape[-1]:
            raise ValueError(
                f"hidden layer {layer} has {pa.shape[-1]} units in a and {pb.shape[-1]} in b: "
                "path distance compares networks of the same hidden widths"
            )
    if not patterns_a[0].shape[:-1].numel():
        raise ValueError("path distance needs at least one input, got masks of no input")
