"""Path norms of hidden units: how much path weight runs through each one."""

from __future__ import annotations

import torch

from glai.guards import check_features
from glai.nn.block import GLAI
from glai.nn.mlp import MLP
from glai.nn.patterns import activation_patterns

Layers = list[tuple[torch.Tensor, torch.Tensor | None]]


def value_layers(model: GLAI | MLP) -> Layers:
    """(weight, bias) of the layers that carry the quantities: a frozen GLAI's paths; an
    unfrozen GLAI's structure, or an MLP, with norm layers folded in (as a switch would)."""
    if isinstance(model, GLAI) and model.frozen:
        return [(layer.weight.detach(), _detached(layer.bias)) for layer in model.paths]
    if isinstance(model, GLAI):
        return model.structure.affine_layers()
    if isinstance(model, MLP):
        return model.affine_layers()
    raise TypeError(f"expected a glai.GLAI or glai.MLP, got {type(model).__name__}")


@torch.no_grad()
def path_norms(model: GLAI | MLP, inputs: torch.Tensor | None = None) -> list[torch.Tensor]:
    """The L1 path norm of each hidden unit: the summed ``|path weight|`` through it.

    A path runs from an input (or a bias) through one unit per hidden layer to an output;
    its weight is the product of the weights along it.

    - **Data-free** (``inputs=None``): every input counts as 1 and every path as active.
      The sum over paths through unit ``j`` of layer ``l`` factorises as
      ``forward_l[j] * backward_l[j]``, where ``forward_l = |W_l| forward_{l-1} + |b_l|``
      (from ``forward_0 = 1``) sums the paths that reach the unit and
      ``backward_l = |W_{l+1}|^T backward_{l+1}`` (from ones at the outputs) those that
      leave it, so no path is enumerated.
    - **Data-aware** (``inputs`` given): the path mass that flows through the unit on
      those inputs, averaged over them: the ones at the inputs are replaced by ``|x|``,
      and only paths active for ``x`` count (every unit on them fires; the same products
      with each layer's sums gated by its pattern ``a_l(x)``). A unit that never fires
      on ``inputs`` scores 0. (Gonon, Brisebarre, Riccietti, Gribonval, "A path-norm
      toolkit for modern networks", ICLR 2024; pruning by path metrics, arXiv 2405.15006.)

    Paths that start at a bias count in both, with the bias as their first weight. The
    weights are a GLAI's paths once its structure is frozen, its structure's before (and
    an MLP's own), with BatchNorm layers folded in (their running statistics); the
    patterns are the structure's (:func:`glai.activation_patterns`).

    Args:
        model: a GLAI or an MLP.
        inputs: (n, in_features) inputs for the data-aware norm, or ``None``.

    Returns:
        One tensor per hidden layer, each (width_l,), in the model's dtype.
    """
    layers = value_layers(model)
    first = layers[0][0]
    if inputs is None:
        reach = torch.ones(1, model.in_features, dtype=first.dtype, device=first.device)
        patterns = [None] * (len(layers) - 1)
    else:
        check_features(inputs, model.in_features, first.dtype, "inputs", first.device)
        if inputs.ndim != 2:
            raise ValueError(
                f"inputs must have shape (n, {model.in_features}), got {tuple(inputs.shape)}"
            )
        reach = inputs.abs()  # (n, in_features)
        patterns = activation_patterns(model, inputs)
    reaching = []
    for (weight, bias), pattern in zip(layers[:-1], patterns):
        reach = reach @ weight.abs().t()  # (n, width_l): path mass arriving at each unit
        if bias is not None:
            reach = reach + bias.abs()
        if pattern is not None:
            reach = reach * pattern
        reaching.append(reach)
    leave = torch.ones(1, model.out_features, dtype=first.dtype, device=first.device)
    norms = []
    for (weight, _), reach, pattern in zip(
        reversed(layers[1:]), reversed(reaching), reversed(patterns)
    ):
        leave = leave @ weight.abs()  # (n, width_l): path weight from each unit onwards
        norms.append((reach * leave).mean(0))
        if pattern is not None:
            leave = leave * pattern  # paths from earlier layers pass only firing units
    return norms[::-1]


def _detached(tensor: torch.Tensor | None) -> torch.Tensor | None:
    return None if tensor is None else tensor.detach()
