"""Row-space training of GLAI's paths: the first layer learns on cached input products.

After the switch the structure is fixed, and so is every input. The quantitative phase
can then stop reading the inputs: multiply them once by the first path layer,
``p = x B^T`` with ``B = W'_1`` at the start of the phase, and train ``W'_1 = M B`` through
a square matrix ``M`` (the identity at first) together with the other path layers. The
first layer's cost per step falls from ``in_features x width_1`` to ``width_1 x width_1``
multiplications per sample; the price is that ``W'_1`` can only move within the span of
its rows at the switch.
"""

from __future__ import annotations

import torch
from torch import nn

from glai.nn.block import GLAI, gated


class RowSpacePaths(nn.Module):
    """The trainable part of a frozen GLAI's paths in row-space form.

    Its parameters are ``mix`` (``M`` and the first layer's bias) and the path layers
    after the first, shared with ``model``; :meth:`fold` writes ``M B`` back into the
    model's first path layer, so that the model holds the trained network.

    Args:
        model: a frozen GLAI; its first path layer's current weight becomes the basis.
    """

    def __init__(self, model: GLAI) -> None:
        super().__init__()
        if not model.frozen:
            raise ValueError("row-space training needs a frozen GLAI (call freeze_structure)")
        first = model.paths[0]
        width = first.out_features
        self.register_buffer("basis", first.weight.detach().clone())  # (width_1, in)
        self.mix = nn.Linear(
            width, width, first.bias is not None, first.weight.device, first.weight.dtype
        )
        with torch.no_grad():
            self.mix.weight.copy_(torch.eye(width, dtype=first.weight.dtype))
            if first.bias is not None:
                self.mix.bias.copy_(first.bias)
        self.rest = nn.ModuleList(model.paths[1:])

    @torch.no_grad()
    def project(self, x: torch.Tensor) -> torch.Tensor:
        """The cached input of the phase: ``x B^T``, (n, width_1) for ``x`` (n, in)."""
        return x @ self.basis.T

    def forward(self, projected: torch.Tensor, masks: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """The model's output for the inputs whose :meth:`project` is ``projected``."""
        return gated(projected, [self.mix, *self.rest], masks)

    @torch.no_grad()
    def fold(self, model: GLAI) -> None:
        """Write ``W'_1 = M B`` and the first bias into ``model``'s first path layer."""
        first = model.paths[0]
        first.weight.copy_(self.mix.weight @ self.basis)
        if first.bias is not None:
            first.bias.copy_(self.mix.bias)
