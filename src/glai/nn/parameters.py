"""Parameter accounting for the paper's fair comparison (equal total parameters)."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from glai.guards import as_widths, check_positive_int


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of scalar parameters of ``model``.

    For a :class:`glai.GLAI` this counts structure and paths together, as the paper's
    equal-parameter comparison does.

    Args:
        model: any module.
        trainable_only: count only parameters that require gradients (for a GLAI
            before the switch: structure and paths, since the paths require gradients
            from the start; after it: the paths).
    """
    return sum(
        parameter.numel()
        for parameter in model.parameters()
        if parameter.requires_grad or not trainable_only
    )


def mlp_parameter_count(
    in_features: int, hidden_features: int | Sequence[int], out_features: int, bias: bool = True
) -> int:
    """Number of scalar parameters of a ReLU MLP of these widths, without building it."""
    widths = [in_features, *as_widths(hidden_features), out_features]
    return sum((fan_in + bias) * fan_out for fan_in, fan_out in zip(widths, widths[1:]))


def matched_width(
    in_features: int,
    mlp_hidden_features: int | Sequence[int],
    out_features: int,
    bias: bool = True,
) -> int | list[int]:
    """GLAI hidden widths whose total parameters (structure + paths) match an MLP's.

    All widths are scaled by one factor (the paper's width reduction, about 1/2 for wide
    inputs), then each width is nudged by one unit while that brings the total closer.

    Args:
        in_features: input size of both models.
        mlp_hidden_features: the MLP's hidden width or widths.
        out_features: output size of both models.
        bias: whether the layers have biases.

    Returns:
        An int if ``mlp_hidden_features`` is an int, else a list of the same depth.
    """
    check_positive_int(in_features, "in_features")
    check_positive_int(out_features, "out_features")
    widths = as_widths(mlp_hidden_features, "mlp_hidden_features")
    target = mlp_parameter_count(in_features, widths, out_features, bias)

    def glai_parameters(candidate: list[int]) -> int:
        return 2 * mlp_parameter_count(in_features, candidate, out_features, bias)

    def scaled(factor: float) -> list[int]:
        return [max(1, round(factor * width)) for width in widths]

    low, high = 0.0, 1.0
    for _ in range(60):
        middle = (low + high) / 2
        if glai_parameters(scaled(middle)) < target:
            low = middle
        else:
            high = middle
    best = min((scaled(low), scaled(high)), key=lambda c: abs(glai_parameters(c) - target))
    improved = True
    while improved:
        improved = False
        for layer in range(len(best)):
            for step in (-1, 1):
                candidate = list(best)
                candidate[layer] += step
                if candidate[layer] >= 1 and abs(glai_parameters(candidate) - target) < abs(
                    glai_parameters(best) - target
                ):
                    best, improved = candidate, True
    return best[0] if isinstance(mlp_hidden_features, int) else best
