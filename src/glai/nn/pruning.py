"""Path norms of hidden units, and pruning the units that carry the least."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from glai.nn.block import GLAI


def _value_layers(model: GLAI) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
    """(weight, bias) of the layers that carry the quantities: the paths once frozen, the
    structure before (its norm layers folded in, as the switch would fold them)."""
    if model.frozen:
        return [(layer.weight, layer.bias) for layer in model.paths]
    return model.structure.affine_layers()


@torch.no_grad()
def path_norms(model: GLAI) -> list[torch.Tensor]:
    """Sum of ``|path weight|`` over all paths through each hidden unit.

    A path runs from an input (or a bias) through one unit per hidden layer to an output;
    its weight is the product of the weights along it. The sum over paths through unit
    ``j`` of layer ``l`` factorises as ``forward_l[j] * backward_l[j]``, where
    ``forward_l = |W_l| forward_{l-1} + |b_l|`` (from ``forward_0 = 1``) sums the paths
    that reach the unit and ``backward_l = |W_{l+1}|^T backward_{l+1}`` (from ones at the
    outputs) those that leave it, so no path is enumerated. The weights are the paths'
    once the structure is frozen, the structure's before (with its BatchNorm layers
    folded in, in eval mode).

    Args:
        model: a GLAI.

    Returns:
        One float tensor per hidden layer, each (width_l,).
    """
    layers = _value_layers(model)
    first = layers[0][0]
    reach = torch.ones(model.in_features, dtype=first.dtype, device=first.device)
    reaching = []
    for weight, bias in layers[:-1]:
        reach = weight.abs() @ reach
        if bias is not None:
            reach = reach + bias.abs()
        reaching.append(reach)
    leave = torch.ones(model.out_features, dtype=reach.dtype, device=reach.device)
    norms = []
    for (weight, _), reach in zip(reversed(layers[1:]), reversed(reaching)):
        leave = weight.abs().t() @ leave
        norms.append(reach * leave)
    return norms[::-1]


@torch.no_grad()
def prune(model: GLAI, fraction: float | Sequence[float]) -> GLAI:
    """A smaller GLAI without the lowest-path-norm units of each hidden layer.

    In each hidden layer ``round(fraction * width)`` units with the smallest
    :func:`path_norms` are removed from structure and paths alike (at least one unit is
    kept), with its BatchNorm statistics when the structure has norm layers (they are
    per unit, so the kept units' are unchanged). A removed unit of the last hidden layer,
    or of any layer of a one-hidden-layer GLAI, changes no gate; in deeper layers its
    removal from the structure also removes its input to later structure layers, so their
    gates can change.

    Args:
        model: a GLAI, frozen or not.
        fraction: share of each hidden layer to remove, in [0, 1), or one share per
            hidden layer.

    Returns:
        A new GLAI in the same state (frozen or not); ``model`` is unchanged.
    """
    fractions = _fractions(fraction, len(model.hidden_features))
    keep = []
    for norms, share in zip(path_norms(model), fractions):
        count = max(1, len(norms) - round(share * len(norms)))
        keep.append(torch.sort(torch.topk(norms, count).indices).values)
    first = model.paths[0].weight
    pruned = GLAI(
        model.in_features,
        [len(k) for k in keep],
        model.out_features,
        model.bias,
        first.device,
        first.dtype,
        norm_layer=model.norm_layer,
    )
    for source, target in (
        (model.structure.linears, pruned.structure.linears),
        (list(model.paths), list(pruned.paths)),
    ):
        _copy_kept(source, target, keep)
    for old, new, kept in zip(model.structure.norms, pruned.structure.norms, keep):
        if old is not None:
            new.load_state_dict({name: _units(t, kept) for name, t in old.state_dict().items()})
    if model.frozen:
        pruned.switched.fill_(True)
        pruned._set_frozen(True)
    return pruned


def pruning_curve(
    model: GLAI, fractions: Sequence[float], evaluate: Callable[[GLAI], float]
) -> list[float]:
    """``evaluate`` applied to a :func:`prune` of ``model`` at each fraction."""
    return [evaluate(prune(model, fraction)) for fraction in fractions]


def _fractions(fraction: float | Sequence[float], depth: int) -> list[float]:
    fractions = (
        list(fraction)
        if isinstance(fraction, Sequence) and not isinstance(fraction, str)
        else [fraction] * depth
    )
    if len(fractions) != depth:
        raise ValueError(f"give one fraction per hidden layer ({depth}), got {len(fractions)}")
    for share in fractions:
        if isinstance(share, bool) or not (isinstance(share, (int, float)) and 0 <= share < 1):
            raise ValueError(f"fraction must be in [0, 1), got {share!r}")
    return fractions


def _copy_kept(source: list[nn.Linear], target: list[nn.Linear], keep: list[torch.Tensor]) -> None:
    """Copy the rows (units kept) and columns (inputs kept) of each layer."""
    inputs = None
    for layer, (old, new) in enumerate(zip(source, target)):
        outputs = keep[layer] if layer < len(keep) else None
        weight = old.weight
        if outputs is not None:
            weight = weight[outputs]
        if inputs is not None:
            weight = weight[:, inputs]
        new.weight.copy_(weight)
        if old.bias is not None:
            new.bias.copy_(old.bias if outputs is None else old.bias[outputs])
        inputs = outputs


def _units(tensor: torch.Tensor, kept: torch.Tensor) -> torch.Tensor:
    """The kept units of a per-unit norm tensor (a scalar, such as a counter, as it is)."""
    return tensor[kept] if tensor.ndim else tensor
