"""A closed-form start for the output layer at the switch (``output_start="ridge"``).

Once the structure is frozen, the hidden features that reach the output layer depend only
on the layers before it, and for a squared loss the best output layer given them is a
ridge regression: one pass over the training data and a solve. For cross-entropy the same
solve on centred one-hot targets gives logits of the right sign and rank, a start the
final phase refines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch import nn

from glai.training.fit_data import Batch


@torch.no_grad()
def ridge_output(
    module: nn.Module,
    batches: Callable[[], Iterator[Batch]],
    classes: int | None,
    penalty: float,
) -> nn.Linear:
    """Set the output layer of ``module`` to the ridge solution on its own inputs.

    The output layer is the last ``nn.Linear`` that a forward pass calls whose weight
    trains. Its bias, if any, is fitted and not penalised.

    Args:
        module: the network as the final phase trains it (a :class:`glai.GLAI` after the
            switch, an MLP, a row-space strategy's module), not a ``torch.compile``
            wrapper (its hooks would not run); called as ``module(x)``, or
            ``module(x, masks=masks)`` with cached masks.
        batches: a fresh pass over the training data, ``(x, y, masks)``.
        classes: the number of classes for cross-entropy targets (class indices, fitted
            as centred one-hot rows), or ``None`` for regression targets.
        penalty: the ridge penalty ``lambda`` on the mean squared error.

    Returns:
        The layer that was set.
    """
    was_training = module.training
    module.eval()  # no dropout, no BatchNorm statistics updated by these passes
    try:
        layer = _output_layer(module, next(batches()))
        gram, rhs, samples = _normal_equations(module, layer, batches, classes)
    finally:
        module.train(was_training)
    regulariser = torch.eye(len(gram), dtype=gram.dtype, device=gram.device) * penalty * samples
    if layer.bias is not None:
        regulariser[-1, -1] = 0
    # the jitter keeps the solve defined when penalty is 0 and features are collinear
    jitter = 1e-8 * gram.diagonal().mean() * torch.eye(len(gram), dtype=gram.dtype)
    solution = torch.linalg.solve(gram + regulariser + jitter.to(gram.device), rhs)
    layer.weight.copy_(solution[: layer.in_features].T.to(layer.weight))
    if layer.bias is not None:
        layer.bias.copy_(solution[-1].to(layer.bias))
    return layer


def _normal_equations(
    module: nn.Module, layer: nn.Linear, batches: Callable[[], Iterator[Batch]], classes
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """``(F^T F, F^T Y, n)`` over the training data, ``F`` the layer's inputs (with a
    column of ones for its bias) and ``Y`` the targets, in float64."""
    gram = rhs = None
    samples = 0
    for x, y, masks in batches():
        features = _inputs_of(module, layer, x, masks).double()
        if len(features) != len(y):
            raise TypeError(
                "output_start='ridge' needs one output row per sample: the output layer "
                f"received {len(features)} rows for {len(y)} samples"
            )
        if layer.bias is not None:
            features = torch.cat([features, features.new_ones(len(features), 1)], 1)
        targets = _targets(y, classes, layer.out_features).to(features)
        gram = features.T @ features if gram is None else gram + features.T @ features
        rhs = features.T @ targets if rhs is None else rhs + features.T @ targets
        samples += len(x)
    return gram, rhs, samples


def _forward(module: nn.Module, x: torch.Tensor, masks: tuple | None) -> torch.Tensor:
    return module(x) if masks is None else module(x, masks=masks)


def _output_layer(module: nn.Module, batch: Batch) -> nn.Linear:
    """The last ``nn.Linear`` called in a forward pass whose weight trains."""
    called: list[nn.Linear] = []
    hooks = [
        linear.register_forward_hook(lambda layer, inputs, output: called.append(layer))
        for linear in module.modules()
        if isinstance(linear, nn.Linear) and linear.weight.requires_grad
    ]
    try:
        x, _, masks = batch
        _forward(module, x, masks)
    finally:
        for hook in hooks:
            hook.remove()
    if not called:
        raise TypeError(
            f"output_start='ridge' found no trainable nn.Linear that {type(module).__name__} calls"
        )
    return called[-1]


def _inputs_of(module: nn.Module, layer: nn.Linear, x: torch.Tensor, masks) -> torch.Tensor:
    """What ``layer`` receives when the network runs on ``x``, flattened to rows."""
    found: list[torch.Tensor] = []
    hook = layer.register_forward_pre_hook(lambda module, inputs: found.append(inputs[0]))
    try:
        _forward(module, x, masks)
    finally:
        hook.remove()
    return found[-1].reshape(-1, layer.in_features)


def _targets(y: torch.Tensor, classes: int | None, outputs: int) -> torch.Tensor:
    if classes is None:
        return y.reshape(len(y), outputs)
    onehot = torch.nn.functional.one_hot(y.long(), classes).double()
    return onehot - 1.0 / classes
