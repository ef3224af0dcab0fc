"""Pruning: a smaller GLAI or MLP without the hidden units that carry the least."""

from __future__ import annotations

import copy
import numbers
from collections.abc import Callable, Sequence

import torch

from glai.nn.block import GLAI
from glai.nn.mlp import MLP
from glai.nn.path_norms import path_norms, value_layers

SCORES = ("path_norm", "data_path_norm", "weight")
"""What :func:`prune` ranks units by."""

SCOPES = ("layer", "global")
"""Where :func:`prune` ranks units: within each hidden layer, or across all of them."""


@torch.no_grad()
def prune(
    model: GLAI | MLP,
    fraction: float | Sequence[float],
    by: str = "path_norm",
    inputs: torch.Tensor | None = None,
    scope: str = "layer",
) -> GLAI | MLP:
    """A smaller copy of ``model`` without the hidden units that score lowest.

    Units are ranked by ``by``:

    - ``"path_norm"``: the data-free L1 path norm (:func:`glai.path_norms`);
    - ``"data_path_norm"``: the path mass flowing through each unit on ``inputs``
      (:func:`glai.path_norms` with inputs);
    - ``"weight"``: the L1 norm of the unit's incoming and outgoing weights (magnitude
      pruning, the usual control).

    Scores read the weights that carry the quantities: a frozen GLAI's paths, an unfrozen
    GLAI's structure, an MLP's own (norm layers folded in). A removed unit leaves the
    structure and the paths alike (with its BatchNorm statistics, which are per unit), so
    the pruned model's output on any input equals the original's with the removed units
    switched off (their outputs set to 0 in every network); a unit that carries nothing
    onwards is removed without changing any output. In a GLAI deeper than one hidden layer
    a removed unit of the structure no longer feeds the later structure layers, so their
    gates can change.

    Retraining: a frozen GLAI trains only its paths, so ``glai.fit(pruned, train, val)``
    retrains a pruned frozen GLAI with its structure kept bit for bit.

    Args:
        model: a :class:`glai.GLAI` (frozen or not) or a :class:`glai.MLP`.
        fraction: share of the hidden units to remove, in [0, 1): of each layer with
            ``scope="layer"`` (or one share per hidden layer), of all hidden units with
            ``scope="global"``. Each layer keeps at least one unit.
        by: ``"path_norm"``, ``"data_path_norm"`` or ``"weight"``.
        inputs: (n, in_features) inputs, for ``by="data_path_norm"`` only.
        scope: ``"layer"`` ranks units within each hidden layer; ``"global"`` ranks all
            hidden units together (path norms are comparable across layers: every path
            passes one unit of each).

    Returns:
        A new model of the same class (a copy whose units are removed by its
        ``remove_units``, as :func:`glai.fit`'s adaptive pruning removes them in place), in
        the same state (frozen or not, train or eval mode); ``model`` is unchanged.

    Raises:
        ValueError: a fraction outside [0, 1), per-layer fractions of the wrong count or
            with ``scope="global"``, an unknown ``by`` or ``scope``, ``inputs`` missing for
            ``"data_path_norm"`` or given for another score.
        TypeError: ``model`` is neither a GLAI nor an MLP.
    """
    if not isinstance(model, (GLAI, MLP)):
        raise TypeError(f"prune expects a glai.GLAI or glai.MLP, got {type(model).__name__}")
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}")
    scores = unit_scores(model, by, inputs)
    if scope == "layer":
        keep = _kept_per_layer(scores, _fractions(fraction, len(scores)))
    else:
        keep = _kept_globally(scores, _global_fraction(fraction))
    return _restricted(model, keep)


def unit_scores(
    model: GLAI | MLP, by: str = "path_norm", inputs: torch.Tensor | None = None
) -> list[torch.Tensor]:
    """The score of every hidden unit that :func:`prune` ranks by (see there).

    Returns:
        One tensor per hidden layer, each (width_l,).
    """
    if by not in SCORES:
        raise ValueError(f"by must be one of {', '.join(SCORES)}, got {by!r}")
    if by == "data_path_norm" and inputs is None:
        raise ValueError("by='data_path_norm' needs inputs: (n, in_features) samples")
    if by != "data_path_norm" and inputs is not None:
        raise ValueError(f"inputs are read only by by='data_path_norm', not by={by!r}")
    if by == "weight":
        weights = [weight.abs() for weight, _ in value_layers(model)]
        return [
            incoming.sum(1) + outgoing.sum(0) for incoming, outgoing in zip(weights, weights[1:])
        ]
    return path_norms(model, inputs)


def pruning_curve(
    model: GLAI | MLP,
    fractions: Sequence[float],
    evaluate: Callable[[GLAI | MLP], float],
    **options: object,
) -> list[float]:
    """``evaluate`` applied to a :func:`prune` of ``model`` at each fraction (``options``:
    :func:`prune`'s ``by``, ``inputs`` and ``scope``)."""
    return [evaluate(prune(model, fraction, **options)) for fraction in fractions]


def _kept_per_layer(scores: list[torch.Tensor], fractions: list[float]) -> list[torch.Tensor]:
    """The indices of each layer's highest-scoring units, ``round(share * width)`` fewer
    (at least one), in ascending order."""
    keep = []
    for layer_scores, share in zip(scores, fractions):
        count = max(1, len(layer_scores) - round(share * len(layer_scores)))
        ranked = torch.argsort(layer_scores, descending=True, stable=True)
        keep.append(torch.sort(ranked[:count]).values)
    return keep


def _kept_globally(scores: list[torch.Tensor], fraction: float) -> list[torch.Tensor]:
    """Remove the ``round(fraction * units)`` lowest-scoring units of all layers together,
    never a layer's best one (so each keeps at least one)."""
    protected = [torch.zeros(len(s), dtype=torch.bool, device=s.device) for s in scores]
    for layer_scores, best in zip(scores, protected):
        best[torch.argmax(layer_scores)] = True
    candidates = torch.cat(
        [s.double().masked_fill(b, torch.inf) for s, b in zip(scores, protected)]
    )
    total = len(candidates)
    removed = torch.zeros(total, dtype=torch.bool, device=candidates.device)
    count = min(round(fraction * total), total - len(scores))
    removed[torch.argsort(candidates, stable=True)[:count]] = True
    return [(~part).nonzero().flatten() for part in removed.split([len(s) for s in scores])]


def _fractions(fraction: float | Sequence[float], depth: int) -> list[float]:
    fractions = (
        list(fraction)
        if isinstance(fraction, Sequence) and not isinstance(fraction, str)
        else [fraction] * depth
    )
    if len(fractions) != depth:
        raise ValueError(f"give one fraction per hidden layer ({depth}), got {len(fractions)}")
    for share in fractions:
        _check_fraction(share)
    return fractions


def _global_fraction(fraction: float | Sequence[float]) -> float:
    if isinstance(fraction, Sequence) and not isinstance(fraction, str):
        raise ValueError(
            f"scope='global' takes one fraction of all hidden units, got {len(fraction)} fractions"
        )
    _check_fraction(fraction)
    return fraction


def _check_fraction(share: object) -> None:
    if isinstance(share, bool) or not (isinstance(share, numbers.Real) and 0 <= share < 1):
        raise ValueError(
            f"fraction must be in [0, 1): the share of hidden units to remove, got {share!r}"
        )


def _restricted(model: GLAI | MLP, keep: list[torch.Tensor]) -> GLAI | MLP:
    """A copy of ``model`` holding only the kept hidden units (see ``remove_units``)."""
    pruned = copy.deepcopy(model)
    pruned.remove_units(keep)
    return pruned
